;; SPDX-License-Identifier: Apache-2.0
;; call_indirect traps: index past the table, a null element, a type
;; mismatch (also when only the results differ); a good call still works
;; after each, and a trap deep in an indirect call unwinds the whole call.
(module
  (type $ii (func (param i32) (result i32)))
  (type $i_l (func (param i32) (result i64)))
  (table 4 funcref)
  (elem (i32.const 0) $inc $wide $boom)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $wide (type $i_l) (i64.extend_i32_u (local.get 0)))
  (func $boom (type $ii) (call_indirect (type $ii) (local.get 0) (i32.const 3)))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0)))
  (func (export "call_l") (param i32 i32) (result i64)
    (call_indirect (type $i_l) (local.get 1) (local.get 0))))

(assert_return (invoke "call" (i32.const 0) (i32.const 41)) (i32.const 42))
(assert_trap (invoke "call" (i32.const 4) (i32.const 0)) "undefined element")
(assert_trap (invoke "call" (i32.const -1) (i32.const 0)) "undefined element")
(assert_trap (invoke "call" (i32.const 3) (i32.const 0)) "uninitialized element")
(assert_trap (invoke "call" (i32.const 1) (i32.const 0)) "indirect call type mismatch")
(assert_trap (invoke "call_l" (i32.const 0) (i32.const 0)) "indirect call type mismatch")
(assert_return (invoke "call_l" (i32.const 1) (i32.const -1)) (i64.const 0xffffffff))
(assert_trap (invoke "call" (i32.const 2) (i32.const 0)) "uninitialized element")
(assert_return (invoke "call" (i32.const 0) (i32.const -1)) (i32.const 0))
