;; SPDX-License-Identifier: Apache-2.0
;; Saturating float-to-int lane conversions: NaN -> 0, out of range ->
;; the nearest bound, truncation toward zero; the f64x2 forms zero the
;; upper two lanes.
(module
  (func (export "s4") (param v128) (result v128) (i32x4.trunc_sat_f32x4_s (local.get 0)))
  (func (export "u4") (param v128) (result v128) (i32x4.trunc_sat_f32x4_u (local.get 0)))
  (func (export "s2") (param v128) (result v128) (i32x4.trunc_sat_f64x2_s_zero (local.get 0)))
  (func (export "u2") (param v128) (result v128) (i32x4.trunc_sat_f64x2_u_zero (local.get 0)))
  (func (export "cvt_u") (param v128) (result v128) (f32x4.convert_i32x4_u (local.get 0)))
  (func (export "cvt_lo") (param v128) (result v128) (f64x2.convert_low_i32x4_u (local.get 0))))

(assert_return (invoke "s4" (v128.const f32x4 nan -nan inf -inf)) (v128.const i32x4 0 0 0x7fffffff 0x80000000))
(assert_return (invoke "s4" (v128.const f32x4 2147483520 2147483648 -2147483648 -2147483904))
  (v128.const i32x4 2147483520 0x7fffffff 0x80000000 0x80000000))
(assert_return (invoke "s4" (v128.const f32x4 -1.9 1.9 -0.5 0x1p-149)) (v128.const i32x4 -1 1 0 0))
(assert_return (invoke "u4" (v128.const f32x4 nan -1 inf 4294967040)) (v128.const i32x4 0 0 0xffffffff 4294967040))
(assert_return (invoke "u4" (v128.const f32x4 4294967296 -0.9 2.9 -inf)) (v128.const i32x4 0xffffffff 0 2 0))
(assert_return (invoke "s2" (v128.const f64x2 -2147483648.9 2147483647.9)) (v128.const i32x4 0x80000000 0x7fffffff 0 0))
(assert_return (invoke "s2" (v128.const f64x2 -2147483649 nan)) (v128.const i32x4 0x80000000 0 0 0))
(assert_return (invoke "u2" (v128.const f64x2 4294967295.9 -0.99)) (v128.const i32x4 0xffffffff 0 0 0))
(assert_return (invoke "u2" (v128.const f64x2 4294967296 -inf)) (v128.const i32x4 0xffffffff 0 0 0))
(assert_return (invoke "cvt_u" (v128.const i32x4 0xffffffff 0x80000000 1 0x7fffffff))
  (v128.const f32x4 4294967296 2147483648 1 2147483648))
(assert_return (invoke "cvt_lo" (v128.const i32x4 0xffffffff 0x80000000 1 2))
  (v128.const f64x2 4294967295 2147483648))
