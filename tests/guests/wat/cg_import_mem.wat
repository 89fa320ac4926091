;; Imports its memory from a module other than "env", which Granary refuses
;; (a memory imported from "env" is created by the host).
(module
  (import "js" "memory" (memory 1))
  (func (export "f") (result i32) (i32.load (i32.const 0))))
