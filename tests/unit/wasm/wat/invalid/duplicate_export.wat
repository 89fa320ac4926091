;; expect: export section, offset 0x
;; expect: duplicate export name "f"
(module (func) (export "f" (func 0)) (export "f" (func 0)))
