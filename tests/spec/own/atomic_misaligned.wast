;; SPDX-License-Identifier: Apache-2.0
;; Atomic accesses at addresses not aligned to their width trap (even in
;; bounds), for every width; byte accesses are always aligned; the offset
;; counts in the effective address.
(module
  (memory 1 1 shared)
  (func (export "l16") (param i32) (result i32) (i32.atomic.load16_u (local.get 0)))
  (func (export "l32") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "l64") (param i32) (result i64) (i64.atomic.load (local.get 0)))
  (func (export "l64o") (param i32) (result i64) (i64.atomic.load offset=4 (local.get 0)))
  (func (export "l8") (param i32) (result i32) (i32.atomic.load8_u (local.get 0)))
  (func (export "s32") (param i32) (i32.atomic.store (local.get 0) (i32.const 1)))
  (func (export "s16") (param i32) (i64.atomic.store16 (local.get 0) (i64.const 1)))
  (func (export "S32") (param i32) (i64.atomic.store32 (local.get 0) (i64.const 1)))
  (func (export "rmw32") (param i32) (result i32) (i32.atomic.rmw.add (local.get 0) (i32.const 1)))
  (func (export "rmw16") (param i32) (result i32) (i32.atomic.rmw16.xchg_u (local.get 0) (i32.const 1)))
  (func (export "rmw64") (param i32) (result i64) (i64.atomic.rmw.or (local.get 0) (i64.const 1)))
  (func (export "rmw8") (param i32) (result i32) (i32.atomic.rmw8.sub_u (local.get 0) (i32.const 1)))
  (func (export "cx32") (param i32) (result i32) (i32.atomic.rmw.cmpxchg (local.get 0) (i32.const 0) (i32.const 1)))
  (func (export "cx64") (param i32) (result i64) (i64.atomic.rmw32.cmpxchg_u (local.get 0) (i64.const 0) (i64.const 1))))

(assert_trap (invoke "l16" (i32.const 1)) "unaligned atomic")
(assert_trap (invoke "l32" (i32.const 2)) "unaligned atomic")
(assert_trap (invoke "l64" (i32.const 4)) "unaligned atomic")
(assert_trap (invoke "l64o" (i32.const 0)) "unaligned atomic")
(assert_return (invoke "l64o" (i32.const 4)) (i64.const 0))
(assert_return (invoke "l8" (i32.const 3)) (i32.const 0))
(assert_trap (invoke "s32" (i32.const 1)) "unaligned atomic")
(assert_trap (invoke "s16" (i32.const 3)) "unaligned atomic")
(assert_trap (invoke "S32" (i32.const 6)) "unaligned atomic")
(assert_trap (invoke "rmw32" (i32.const 3)) "unaligned atomic")
(assert_trap (invoke "rmw16" (i32.const 5)) "unaligned atomic")
(assert_trap (invoke "rmw64" (i32.const 12)) "unaligned atomic")
(assert_return (invoke "rmw8" (i32.const 7)) (i32.const 0))
(assert_trap (invoke "cx32" (i32.const 2)) "unaligned atomic")
(assert_trap (invoke "cx64" (i32.const 2)) "unaligned atomic")
;; a trapping access wrote nothing
(assert_return (invoke "l64" (i32.const 0)) (i64.const 0xff00000000000000))
(assert_return (invoke "l32" (i32.const 12)) (i32.const 0))
