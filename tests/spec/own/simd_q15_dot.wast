;; SPDX-License-Identifier: Apache-2.0
;; i16x8.q15mulr_sat_s rounds (x*y + 0x4000) >> 15 and saturates the one
;; overflowing case (-32768 * -32768); i32x4.dot_i16x8_s wraps when both
;; products are (-32768)^2.
(module
  (func (export "q15") (param v128 v128) (result v128) (i16x8.q15mulr_sat_s (local.get 0) (local.get 1)))
  (func (export "dot") (param v128 v128) (result v128) (i32x4.dot_i16x8_s (local.get 0) (local.get 1))))

(assert_return (invoke "q15" (v128.const i16x8 -32768 -32768 32767 16384 -16384 1 -1 100)
                             (v128.const i16x8 -32768 32767 32767 16384 16384 16384 16384 -200))
  (v128.const i16x8 32767 -32767 32766 8192 -8192 1 0 -1))
(assert_return (invoke "q15" (v128.const i16x8 3 -3 0 0x4000 -1 -1 2 -2)
                             (v128.const i16x8 0x4000 0x4000 -32768 -32768 -32768 32767 0x2000 0x2000))
  (v128.const i16x8 2 -1 0 -16384 1 -1 1 0))
(assert_return (invoke "dot" (v128.const i16x8 -32768 -32768 1 2 -1 32767 0 0)
                             (v128.const i16x8 -32768 -32768 3 4 32767 32767 5 6))
  (v128.const i32x4 0x80000000 11 1073643522 0))
