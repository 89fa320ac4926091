;; Sign extension and non-trapping float-to-int.
(module
  (func (export "f") (param i32 i64 f32 f64) (result i64)
    (drop (i32.extend8_s (local.get 0)))
    (drop (i32.extend16_s (local.get 0)))
    (drop (i32.trunc_sat_f32_s (local.get 2)))
    (drop (i32.trunc_sat_f64_u (local.get 3)))
    (drop (i64.trunc_sat_f32_u (local.get 2)))
    (drop (i64.extend32_s (local.get 1)))
    (i64.trunc_sat_f64_s (local.get 3)))
)
