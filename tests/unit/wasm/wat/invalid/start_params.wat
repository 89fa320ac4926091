;; expect: start function must have type [] -> []
(module (func (param i32)) (start 0))
