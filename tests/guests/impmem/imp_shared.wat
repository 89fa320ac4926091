;; Imports a shared memory (as wasi-threads modules do): atomics on it, and
;; thread instances that reach the very same memory.
(module
  (import "env" "memory" (memory 1 4 shared))
  (func (export "add") (param i32 i32) (result i32)
    (i32.atomic.rmw.add (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32)
    (i32.atomic.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))
