;; expect: table.copy from a externref table to a funcref table
(module (table 1 funcref) (table 1 externref)
  (func (table.copy 0 1 (i32.const 0) (i32.const 0) (i32.const 0))))
