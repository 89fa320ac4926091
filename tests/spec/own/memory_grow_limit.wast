;; SPDX-License-Identifier: Apache-2.0
;; memory.grow up to the declared maximum and past it (-1, size kept),
;; grow by 0, the last byte after a grow, accesses straddling the end;
;; a memory with no maximum cannot pass 65536 pages.
(module
  (memory 1 3)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "ld8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "ld32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "st8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))

(assert_trap (invoke "ld8" (i32.const 65536)) "out of bounds memory access")
(assert_trap (invoke "ld32" (i32.const 65533)) "out of bounds memory access")
(assert_return (invoke "grow" (i32.const 0)) (i32.const 1))
(assert_return (invoke "grow" (i32.const 1)) (i32.const 1))
(assert_return (invoke "ld8" (i32.const 131071)) (i32.const 0))
(invoke "st8" (i32.const 131071) (i32.const 0x99))
(assert_return (invoke "ld8" (i32.const 131071)) (i32.const 0x99))
(assert_trap (invoke "ld32" (i32.const 131069)) "out of bounds memory access")
(assert_return (invoke "grow" (i32.const 2)) (i32.const -1))
(assert_return (invoke "size") (i32.const 2))
(assert_return (invoke "grow" (i32.const -1)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 1)) (i32.const 2))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "size") (i32.const 3))
(assert_return (invoke "ld32" (i32.const 196604)) (i32.const 0))
(assert_trap (invoke "ld8" (i32.const 196608)) "out of bounds memory access")

(module
  (memory 0)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "ld8") (param i32) (result i32) (i32.load8_u (local.get 0))))
(assert_trap (invoke "ld8" (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "grow" (i32.const 65537)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 0x80000000)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 1)) (i32.const 0))
(assert_return (invoke "ld8" (i32.const 65535)) (i32.const 0))

(module
  (memory 1 2 shared)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))
(assert_return (invoke "grow" (i32.const 1)) (i32.const 1))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "size") (i32.const 2))
