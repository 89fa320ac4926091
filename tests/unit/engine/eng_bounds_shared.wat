;; Guest of test_bounds: a shared memory another thread grows while a
;; function that holds the old size in a local waits for it.
(module
  (memory (export "memory") 1 4 shared)
  ;; Waits until the word at 0 is non-zero, then loads from the second
  ;; page, which did not exist when the call began.
  (func (export "wait_then_load") (result i32)
    (loop $l
      (br_if $l (i32.eqz (i32.atomic.load (i32.const 0)))))
    (i32.load (i32.const 65536))))
