;; Imports its memory, which Granary's shim does not support.
(module
  (import "env" "memory" (memory 1))
  (func (export "f") (result i32) (i32.load (i32.const 0))))
