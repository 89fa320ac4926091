;; SPDX-License-Identifier: Apache-2.0
;; i8x16.swizzle: indices >= 16 (including 0x80 and 0xff, whose top bit
;; x86's pshufb reads as "zero" and 16..127, which it would wrap) give 0;
;; shuffle picks from both operands.
(module
  (func (export "swz") (param v128 v128) (result v128) (i8x16.swizzle (local.get 0) (local.get 1)))
  (func (export "shuf") (param v128 v128) (result v128)
    (i8x16.shuffle 31 0 16 15 30 1 17 14 29 2 18 13 28 3 19 12 (local.get 0) (local.get 1))))

(assert_return
  (invoke "swz" (v128.const i8x16 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25)
                (v128.const i8x16 0 15 16 17 31 32 127 128 129 255 240 1 8 0x70 0x8f 7))
  (v128.const i8x16 10 25 0 0 0 0 0 0 0 0 0 11 18 0 0 17))
(assert_return
  (invoke "swz" (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
                (v128.const i8x16 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0))
  (v128.const i8x16 16 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1))
(assert_return
  (invoke "shuf" (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
                 (v128.const i8x16 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31))
  (v128.const i8x16 31 0 16 15 30 1 17 14 29 2 18 13 28 3 19 12))
