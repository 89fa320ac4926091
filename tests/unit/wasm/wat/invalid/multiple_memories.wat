;; flags: --enable-multi-memory
;; expect: multiple memories
(module (memory 1) (memory 1))
