;; flags: --enable-exceptions
;; expect: exception handling is not supported
(module (func (try (do nop) (catch_all))))
