;; expect: select without a type needs numeric or vector operands, got funcref
(module (func (result funcref)
  (select (ref.null func) (ref.null func) (i32.const 1))))
