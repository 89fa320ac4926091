;; SPDX-License-Identifier: Apache-2.0
;; Wait and notify across threads (test_threads_litmus): "waiter" waits on
;; cell 0 (expected 0, no timeout) and must be woken (0); "notifier" checks
;; that a notify of count 0 wakes nobody, then notifies 1 until it has
;; woken someone, and returns how many tries that took.
(module
  (import "env" "mem" (memory 1 1 shared))
  (func (export "waiter") (result i32)
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
  (func (export "notify0") (result i32)
    (memory.atomic.notify (i32.const 0) (i32.const 0)))
  (func (export "notifier") (result i32)
    (local $n i32)
    (loop $again
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $again
        (i32.ne (memory.atomic.notify (i32.const 0) (i32.const 1))
                (i32.const 1))))
    (local.get $n)))
