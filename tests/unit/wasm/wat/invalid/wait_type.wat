;; flags: --enable-threads
;; expect: type mismatch: expected i64, got i32
(module (memory 1 1 shared)
  (func (drop (memory.atomic.wait64 (i32.const 0) (i32.const 0) (i64.const 0)))))
