;; flags: --enable-threads
;; expect: atomic alignment must be natural (2^2), got 2^1
(module (memory 1 1 shared) (func (drop (i32.atomic.load align=2 (i32.const 0)))))
