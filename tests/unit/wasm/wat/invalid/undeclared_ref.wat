;; expect: undeclared function reference 0
(module (func (drop (ref.func 0))))
