;; SPDX-License-Identifier: Apache-2.0
;; wait/notify on one thread: a value that differs gives "not-equal" (1)
;; at once, even with no timeout; an equal value with a timeout (0 ns,
;; 1 ms) gives "timed-out" (2); notify with no waiter returns 0 whatever
;; the count; misaligned and out-of-bounds addresses trap.
(module
  (memory 1 1 shared)
  (data (i32.const 8) "\05\00\00\00\00\00\00\00\07\00\00\00\00\00\00\00")
  (func (export "w32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "w64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "w32o") (result i32)
    (memory.atomic.wait32 offset=8 (i32.const 0) (i32.const 5) (i64.const 0)))
  (func (export "n") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1))))

(assert_return (invoke "w32" (i32.const 8) (i32.const 4) (i64.const -1)) (i32.const 1))
(assert_return (invoke "w32" (i32.const 8) (i32.const 5) (i64.const 0)) (i32.const 2))
(assert_return (invoke "w32" (i32.const 8) (i32.const 5) (i64.const 1000000)) (i32.const 2))
(assert_return (invoke "w32o") (i32.const 2))
;; the full 64 bits are compared
(assert_return (invoke "w64" (i32.const 16) (i64.const 0x100000007) (i64.const -1)) (i32.const 1))
(assert_return (invoke "w64" (i32.const 16) (i64.const 7) (i64.const 0)) (i32.const 2))
(assert_return (invoke "w64" (i32.const 16) (i64.const 7) (i64.const 2000000)) (i32.const 2))
;; wait32 compares 32 bits only
(assert_return (invoke "w32" (i32.const 16) (i32.const 7) (i64.const 0)) (i32.const 2))
(assert_return (invoke "n" (i32.const 8) (i32.const 0)) (i32.const 0))
(assert_return (invoke "n" (i32.const 8) (i32.const -1)) (i32.const 0))
(assert_trap (invoke "w32" (i32.const 10) (i32.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke "w64" (i32.const 12) (i64.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke "n" (i32.const 6) (i32.const 1)) "unaligned atomic")
(assert_trap (invoke "w32" (i32.const 65536) (i32.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "w64" (i32.const 65536) (i64.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "n" (i32.const 65536) (i32.const 1)) "out of bounds memory access")
