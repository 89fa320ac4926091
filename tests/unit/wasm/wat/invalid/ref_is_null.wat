;; expect: ref.is_null of i32
(module (func (drop (ref.is_null (i32.const 0)))))
