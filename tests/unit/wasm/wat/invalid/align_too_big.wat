;; expect: alignment must not be larger than natural (2^1), got 2^2
(module (memory 1) (func (drop (i32.load16_u align=4 (i32.const 0)))))
