;; Imports a non-shared memory with a small maximum (3 pages): explicit
;; bounds checks and a reservation of the maximum, as for a defined one.
(module
  (import "env" "memory" (memory 1 3))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (data (i32.const 8) "\07\00\00\00"))
