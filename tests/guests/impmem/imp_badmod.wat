;; Imports its memory from a module other than "env": refused.
(module
  (import "js" "mem" (memory 1))
  (func (export "size") (result i32) (memory.size)))
