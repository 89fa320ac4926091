;; flags: --enable-threads
;; expect: memory section, offset 0x
;; expect: shared memory must have maximum
(module (memory 1 shared))
