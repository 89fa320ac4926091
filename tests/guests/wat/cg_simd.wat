;; Valid wasm that wasm2c 1.0.32 cannot translate (SIMD): must be rejected
;; with a clear error and leave nothing in the cache.
(module
  (memory 1)
  (func (export "f") (param i32) (result i32)
    (i32x4.extract_lane 0
      (i32x4.add (v128.load (local.get 0)) (v128.load (local.get 0))))))
