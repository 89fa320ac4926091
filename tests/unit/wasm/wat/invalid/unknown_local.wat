;; expect: unknown local 3
(module (func (param i32) (local f32) (drop (local.get 3))))
