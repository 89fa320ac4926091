;; SPDX-License-Identifier: Apache-2.0
;; Test guest (reactor) for host functions on a memory that grows meanwhile:
;; a thread grows the shared memory by one page 32 times while the main
;; thread calls granary input_read (which checks the guest pointer against
;; the memory's size) until the grower is done, then output_write; returns
;; the memory's size in pages (33). The main thread only polls a guest
;; atomic, so nothing the host sees orders its size checks after the grows.
;; Memory: 0 the grower's done flag, 100 the input byte.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "granary" "input_read" (func $input (param i32 i32 i32) (result i32)))
  (import "granary" "output_write" (func $output (param i32 i32) (result i32)))
  (memory (export "memory") 1 64 shared)

  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (local $i i32)
    (block $out
      (loop $again
        (br_if $out (i32.ge_u (local.get $i) (i32.const 32)))
        (drop (memory.grow (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (i32.atomic.store (i32.const 0) (i32.const 1)))

  (func (export "granary_main") (result i32)
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0))
      (then (return (i32.const -1))))
    (block $out
      (loop $again
        (if (i32.ne (call $input (i32.const 100) (i32.const 1) (i32.const 0))
                    (i32.const 1))
          (then (return (i32.const -2))))
        (br_if $out (i32.atomic.load (i32.const 0)))
        (br $again)))
    (if (i32.ne (call $output (i32.const 100) (i32.const 1)) (i32.const 0))
      (then (return (i32.const -3))))
    (memory.size)))
