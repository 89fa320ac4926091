;; Imports its memory from "env" under another field name.
(module
  (import "env" "mem" (memory 2 20))
  (func (export "size") (result i32) (memory.size)))
