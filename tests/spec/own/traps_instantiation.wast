;; SPDX-License-Identifier: Apache-2.0
;; Traps during instantiation: a start function that traps, an element
;; segment or a data segment out of bounds. Segments are applied in order
;; before start, so what an earlier segment wrote into an imported memory
;; or table stays after the failure.
(module $M
  (memory (export "mem") 1)
  (table $t (export "tab") 2 funcref)
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "has") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0)))))
(register "M" $M)

(assert_trap
  (module
    (memory (import "M" "mem") 1)
    (data (i32.const 10) "\2a")
    (func $start (i32.store8 (i32.const 11) (i32.const 7)) (unreachable))
    (start $start))
  "unreachable")
(assert_return (invoke $M "peek" (i32.const 10)) (i32.const 42))
(assert_return (invoke $M "peek" (i32.const 11)) (i32.const 7))

(assert_trap
  (module
    (memory (import "M" "mem") 1)
    (data (i32.const 20) "\01\02")
    (data (i32.const 65535) "\03\04")
    (func $start (i32.store8 (i32.const 21) (i32.const 9)))
    (start $start))
  "out of bounds memory access")
(assert_return (invoke $M "peek" (i32.const 20)) (i32.const 1))
(assert_return (invoke $M "peek" (i32.const 21)) (i32.const 2))
(assert_return (invoke $M "peek" (i32.const 65535)) (i32.const 0))

(assert_trap
  (module
    (table (import "M" "tab") 2 funcref)
    (func $f)
    (elem (i32.const 0) $f)
    (elem (i32.const 1) $f $f))
  "out of bounds table access")
(assert_return (invoke $M "has" (i32.const 0)) (i32.const 0))
(assert_return (invoke $M "has" (i32.const 1)) (i32.const 1))

(assert_trap
  (module
    (func $start (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))))
    (start $start))
  "integer overflow")
