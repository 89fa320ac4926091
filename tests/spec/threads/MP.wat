;; SPDX-License-Identifier: Apache-2.0
;; Message passing (plain accesses): t1 writes data (0) then a flag (4);
;; t2 reads the flag (kept at 32), then the data (kept at 28).
;; Two agents on one shared memory (test_threads_litmus runs "t1" and "t2"
;; on two threads, each in its own instance); each stores what it read at
;; 24 (t1) or 32 (t2) for the host to check.
(module
  (import "env" "mem" (memory 1 1 shared))
  (func (export "t1")
    (local $r i32)
    (local.set $r (i32.const 0))
    (i32.store (i32.const 0) (i32.const 42))
    (i32.store (i32.const 4) (i32.const 1))
    (i32.store (i32.const 24) (local.get $r)))
  (func (export "t2")
    (local $r i32)
    (local.set $r (i32.load (i32.const 4)))
    (i32.store (i32.const 28) (i32.load (i32.const 0)))
    (i32.store (i32.const 32) (local.get $r))))
