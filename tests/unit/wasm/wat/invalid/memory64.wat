;; flags: --enable-memory64
;; expect: memory64 is not supported
(module (memory i64 1))
