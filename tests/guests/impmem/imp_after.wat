;; A memory import with a small maximum after a function, a table and a
;; global import: the memory strategy is read past them (the module is
;; refused at load, for the table and global imports).
(module
  (import "env" "f" (func (param i32) (result i32)))
  (import "env" "t" (table 2 8 funcref))
  (import "env" "g" (global i32))
  (import "env" "memory" (memory 1 2))
  (func (export "size") (result i32) (memory.size)))
