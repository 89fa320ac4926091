;; SPDX-License-Identifier: Apache-2.0
;; table.grow to the maximum and past it, table.fill and overlapping
;; table.copy in both directions, table.get/set out of bounds.
(module
  (table $t 2 5 funcref)
  (func $a (result i32) (i32.const 1))
  (func $b (result i32) (i32.const 2))
  (table $src 2 funcref)
  (elem (table $src) (i32.const 0) func $a $b)
  (func (export "grow") (param i32) (result i32) (table.grow $t (table.get $src (i32.const 0)) (local.get 0)))
  (func (export "size") (result i32) (table.size $t))
  (func (export "fillb") (param i32 i32) (table.fill $t (local.get 0) (table.get $src (i32.const 1)) (local.get 1)))
  (func (export "copy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "setnull") (param i32) (table.set $t (local.get 0) (ref.null func)))
  (func (export "call") (param i32) (result i32) (call_indirect $t (result i32) (local.get 0)))
  (func (export "isnull") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0)))))

(assert_return (invoke "isnull" (i32.const 1)) (i32.const 1))
(assert_trap (invoke "isnull" (i32.const 2)) "out of bounds table access")
(assert_return (invoke "grow" (i32.const 2)) (i32.const 2))
(assert_return (invoke "call" (i32.const 3)) (i32.const 1))
(assert_return (invoke "grow" (i32.const 2)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 1)) (i32.const 4))
(assert_return (invoke "size") (i32.const 5))
(invoke "fillb" (i32.const 0) (i32.const 2))
(assert_trap (invoke "fillb" (i32.const 4) (i32.const 2)) "out of bounds table access")
(assert_return (invoke "call" (i32.const 4)) (i32.const 1))
;; 0:b 1:b 2:a 3:a 4:a -> copy(1, 0, 3) -> 0:b 1:b 2:b 3:a 4:a
(invoke "copy" (i32.const 1) (i32.const 0) (i32.const 3))
(assert_return (invoke "call" (i32.const 3)) (i32.const 1))
(assert_return (invoke "call" (i32.const 2)) (i32.const 2))
(invoke "setnull" (i32.const 0))
;; copy(0, 2, 3) -> 0:b 1:a 2:a
(invoke "copy" (i32.const 0) (i32.const 2) (i32.const 3))
(assert_return (invoke "call" (i32.const 0)) (i32.const 2))
(assert_return (invoke "call" (i32.const 1)) (i32.const 1))
(assert_trap (invoke "copy" (i32.const 3) (i32.const 0) (i32.const 3)) "out of bounds table access")
(assert_trap (invoke "setnull" (i32.const 5)) "out of bounds table access")
(assert_return (invoke "call" (i32.const 3)) (i32.const 1))
