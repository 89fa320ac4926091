;; SPDX-License-Identifier: Apache-2.0
;; Atomics on an unshared memory: loads, stores, read-modify-writes,
;; cmpxchg and fences behave as on a shared one; notify wakes nobody (0);
;; wait traps.
(module
  (memory 1)
  (func (export "rmw") (result i32)
    (i32.atomic.store (i32.const 8) (i32.const 40))
    (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 2)))
    (atomic.fence)
    (i32.atomic.load (i32.const 8)))
  (func (export "cx") (result i64)
    (drop (i64.atomic.rmw.cmpxchg (i32.const 16) (i64.const 0) (i64.const -5)))
    (i64.atomic.load (i32.const 16)))
  (func (export "notify") (result i32)
    (memory.atomic.notify (i32.const 8) (i32.const 1)))
  (func (export "notify_unaligned") (result i32)
    (memory.atomic.notify (i32.const 9) (i32.const 1)))
  (func (export "wait32") (result i32)
    (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const 0)))
  (func (export "wait64") (result i32)
    (memory.atomic.wait64 (i32.const 16) (i64.const 0) (i64.const 0)))
  (func (export "misaligned") (result i32)
    (i32.atomic.load (i32.const 1))))

(assert_return (invoke "rmw") (i32.const 42))
(assert_return (invoke "cx") (i64.const -5))
(assert_return (invoke "notify") (i32.const 0))
(assert_trap (invoke "notify_unaligned") "unaligned atomic")
(assert_trap (invoke "wait32") "expected shared memory")
(assert_trap (invoke "wait64") "expected shared memory")
(assert_trap (invoke "misaligned") "unaligned atomic")
