;; SPDX-License-Identifier: Apache-2.0
;; Test guest (reactor) for guest threads (wasi-threads ABI). The input is
;; "<mode><n>": mode letter, thread count digit. Memory: 0 counter,
;; 16 threads done, 20 wait flag, 24 started, 32 waiter's result, 36 second
;; result, 40 a flag nobody sets, 100 input.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "granary" "thread_limit" (func $limit (result i32)))
  (import "granary" "input_read" (func $input (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1 shared)

  ;; Blocks until n threads have finished.
  (func $join (param $n i32)
    (local $d i32)
    (block $out
      (loop $again
        (local.set $d (i32.atomic.load (i32.const 16)))
        (br_if $out (i32.ge_u (local.get $d) (local.get $n)))
        (drop (memory.atomic.wait32 (i32.const 16) (local.get $d) (i64.const -1)))
        (br $again))))

  (func $finish
    (drop (i32.atomic.rmw.add (i32.const 16) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 16) (i32.const -1))))

  ;; Waits for a flag that is never set (until the call is ended).
  (func $wait_forever
    (loop $again
      (drop (memory.atomic.wait32 (i32.const 40) (i32.const 0) (i64.const -1)))
      (br $again)))

  (func $spin_forever
    (loop $again
      (br_if $again (i32.eqz (i32.atomic.load (i32.const 40))))))

  (func $spawn_n (param $n i32) (param $mode i32) (result i32)
    (local $i i32)
    (local $t i32)
    (block $out
      (loop $again
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $t (call $spawn (local.get $mode)))
        (if (i32.le_s (local.get $t) (i32.const 0))
          (then (return (local.get $t))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (i32.const 0))

  (func (export "wasi_thread_start") (param $tid i32) (param $mode i32)
    (local $i i32)
    (drop (i32.atomic.rmw.add (i32.const 24) (i32.const 1)))
    ;; 'a': add 1 to the counter 20000 times
    (if (i32.eq (local.get $mode) (i32.const 97))
      (then
        (block $out
          (loop $again
            (br_if $out (i32.ge_u (local.get $i) (i32.const 20000)))
            (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $again)))))
    ;; 'w': one wait, woken by the main thread's notify
    (if (i32.eq (local.get $mode) (i32.const 119))
      (then
        (i32.atomic.store (i32.const 32)
          (memory.atomic.wait32 (i32.const 20) (i32.const 0) (i64.const -1)))))
    ;; 't': a wait that times out after 10 ms
    (if (i32.eq (local.get $mode) (i32.const 116))
      (then
        (i32.atomic.store (i32.const 36)
          (memory.atomic.wait32 (i32.const 20) (i32.const 0)
                                (i64.const 10000000)))))
    ;; 'x': thread 2 traps (or 1 when alone), the others wait
    (if (i32.eq (local.get $mode) (i32.const 120))
      (then
        (if (i32.eq (local.get $tid)
                    (select (i32.const 2) (i32.const 1)
                            (i32.ge_u (i32.load8_u (i32.const 101))
                                      (i32.const 50))))
          (then unreachable))
        (call $wait_forever)))
    ;; 'e': thread 1 exits with status 7, the others wait
    (if (i32.eq (local.get $mode) (i32.const 101))
      (then
        (if (i32.eq (local.get $tid) (i32.const 1))
          (then (call $exit (i32.const 7))))
        (call $wait_forever)))
    ;; 's' and 'm': spin; 'W': wait forever
    (if (i32.or (i32.eq (local.get $mode) (i32.const 115))
                (i32.eq (local.get $mode) (i32.const 109)))
      (then (call $spin_forever)))
    (if (i32.eq (local.get $mode) (i32.const 87))
      (then (call $wait_forever)))
    (call $finish))

  (func (export "granary_main") (result i32)
    (local $mode i32)
    (local $n i32)
    (local $r i32)
    ;; A reset Faaslet starts from the snapshot: nothing left of a call.
    (if (i32.or (i32.or (i32.load (i32.const 0)) (i32.load (i32.const 16)))
                (i32.load (i32.const 24)))
      (then (return (i32.const -100))))
    (drop (call $input (i32.const 100) (i32.const 2) (i32.const 0)))
    (local.set $mode (i32.load8_u (i32.const 100)))
    (local.set $n (i32.sub (i32.load8_u (i32.const 101)) (i32.const 48)))
    (if (i32.eq (local.get $mode) (i32.const 108)) ;; 'l'
      (then (return (call $limit))))
    (if (i32.eq (local.get $mode) (i32.const 119)) ;; 'w'
      (then
        (local.set $r (call $spawn_n (i32.const 1) (local.get $mode)))
        (if (local.get $r) (then (return (local.get $r))))
        ;; Notify until the waiter was in the queue and got woken.
        (loop $again
          (br_if $again
            (i32.eqz (memory.atomic.notify (i32.const 20) (i32.const 1)))))
        (call $join (i32.const 1))
        (return (i32.add (i32.const 1000) (i32.atomic.load (i32.const 32))))))
    (if (i32.eq (local.get $mode) (i32.const 116)) ;; 't'
      (then
        (local.set $r (call $spawn_n (i32.const 1) (local.get $mode)))
        (if (local.get $r) (then (return (local.get $r))))
        (local.set $r
          (memory.atomic.wait32 (i32.const 20) (i32.const 0)
                                (i64.const 10000000)))
        (call $join (i32.const 1))
        (return (i32.add (i32.mul (local.get $r) (i32.const 10))
                         (i32.atomic.load (i32.const 36))))))
    (local.set $r (call $spawn_n (local.get $n) (local.get $mode)))
    (if (local.get $r) (then (return (local.get $r))))
    (if (i32.eq (local.get $mode) (i32.const 109)) ;; 'm': return at once
      (then (return (i32.const 5))))
    (if (i32.eq (local.get $mode) (i32.const 115)) ;; 's': spin too
      (then (call $spin_forever)))
    (call $join (local.get $n))
    (i32.atomic.load (i32.const 0))))
