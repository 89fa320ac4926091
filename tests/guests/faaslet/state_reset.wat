;; SPDX-License-Identifier: Apache-2.0
;; Test guest (reactor): every call mutates a global, a table entry, the
;; table size and memory, and reports what it saw first. After a reset to
;; the snapshot each call must see the initial state: result 11.
(module
  (import "granary" "output_write" (func $out (param i32 i32) (result i32)))
  (type $ret (func (result i32)))
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (table $t 1 10 funcref)
  (elem (i32.const 0) $one)
  (elem declare func $two)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func (export "granary_main") (result i32)
    (local $r i32)
    (local.set $r
      (i32.add
        (i32.add
          (i32.mul (global.get $g) (i32.const 100))
          (i32.mul (table.size $t) (i32.const 10)))
        (i32.add
          (call_indirect (type $ret) (i32.const 0))
          (i32.load (i32.const 64)))))
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (table.set $t (i32.const 0) (ref.func $two))
    (drop (table.grow $t (ref.func $two) (i32.const 1)))
    (i32.store (i32.const 64) (i32.const 1000))
    (i32.store (i32.const 0) (local.get $r))
    (drop (call $out (i32.const 0) (i32.const 4)))
    (local.get $r)))
