;; expect: call_indirect through a externref table
(module (type (func)) (table 1 externref) (func (call_indirect (type 0) (i32.const 0))))
