;; expect: unknown data segment 1
(module (memory 1) (data "a") (func (data.drop 1)))
