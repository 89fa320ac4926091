;; expect: type mismatch: select operands i32 and i64
(module (func (drop (select (i32.const 1) (i64.const 2) (i32.const 1)))))
