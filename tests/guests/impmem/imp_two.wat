;; Imports a memory and defines another: refused (one memory).
(module
  (import "env" "memory" (memory 1))
  (memory 1)
  (func (export "size") (result i32) (memory.size)))
