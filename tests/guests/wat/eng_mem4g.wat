;; Grows its memory to the wasm32 maximum (65536 pages, 4 GiB) and touches
;; the last byte.
(module
  (memory (export "memory") 1 65536)
  (func (export "grow") (result i32)
    (memory.grow (i32.const 65535)))
  (func (export "size") (result i32)
    (memory.size))
  (func (export "touch") (result i32)
    (i32.store8 (i32.const -1) (i32.const 42))
    (i32.load8_u (i32.const -1))))
