;; expect: global section, offset 0x
;; expect: constant expression required
(module (global i32 (i32.add (i32.const 1) (i32.const 2))))
