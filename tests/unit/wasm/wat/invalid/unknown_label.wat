;; expect: unknown label 2
(module (func (block (br 2))))
