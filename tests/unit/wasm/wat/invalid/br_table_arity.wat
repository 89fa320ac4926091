;; expect: br_table label 0 has arity 0, the default 1
(module (func (result i32)
  (block (result i32) (block (br_table 0 1 (i32.const 0) (i32.const 0))))
  ))
