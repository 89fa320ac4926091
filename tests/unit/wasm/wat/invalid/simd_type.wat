;; expect: type mismatch: expected v128, got i32
(module (func (result v128) (i8x16.abs (i32.const 0))))
