;; Imports its memory with no maximum (guard pages): a data segment lands
;; in the host-created memory, which grows and bounds-checks as a defined
;; one does.
(module
  (import "env" "memory" (memory 1))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (result i32)
    (i32.store (local.get 0) (local.get 1))
    (i32.const 0))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (data (i32.const 16) "\2a\00\00\00"))
