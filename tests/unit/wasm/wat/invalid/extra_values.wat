;; expect: 1 extra value(s) at end of block
(module (func (block (i32.const 1) (i32.const 2) (drop))))
