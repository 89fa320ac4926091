;; expect: code section, function 3, offset 0x
;; expect: type mismatch: expected i32, got f64
(module
  (import "env" "f" (func))
  (func) (func)
  (func (result i32) (f64.const 1)))
