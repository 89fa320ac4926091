;; expect: unknown global 1
(module (global i32 (i32.const 0)) (func (drop (global.get 1))))
