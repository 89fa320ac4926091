;; SPDX-License-Identifier: Apache-2.0
;; Multi-value: blocks, loops and ifs with parameters and several results,
;; br/br_if/br_table carrying several values, functions returning three
;; values through call and call_indirect, and a loop that carries its
;; state in its parameters.
(module
  (type $t3 (func (param i32) (result i32 i64 f64)))
  (table 1 funcref)
  (elem (i32.const 0) $three)
  (func $three (type $t3) (local.get 0) (i64.extend_i32_s (local.get 0)) (f64.convert_i32_s (local.get 0)))
  (func (export "call3") (param i32) (result i32 i64 f64) (call $three (local.get 0)))
  (func (export "ind3") (param i32) (result i32 i64 f64) (call_indirect (type $t3) (local.get 0) (i32.const 0)))
  (func (export "swap") (param i32 i32) (result i32 i32)
    (local.get 0) (local.get 1)
    (block (param i32 i32) (result i32 i32)
      (local.set 0) (local.set 1) (local.get 0) (local.get 1)))
  (func (export "if2") (param i32) (result i32 i32)
    (i32.const 10) (i32.const 20)
    (if (param i32 i32) (result i32 i32) (local.get 0)
      (then (i32.add) (i32.const 1))
      (else (i32.sub) (i32.const 2))))
  (func (export "br2") (param i32) (result i32 i64)
    (block $b (result i32 i64)
      (i32.const 1) (i64.const 2)
      (br_if $b (local.get 0))
      (drop) (drop)
      (i32.const 3) (i64.const 4)))
  (func (export "table2") (param i32) (result i32 i32)
    (block $a (result i32 i32)
      (block $b (result i32 i32)
        (i32.const 7) (i32.const 8)
        (br_table $a $b $a (local.get 0)))
      (i32.add) (i32.const 0)))
  ;; sum 1..n with the loop's parameters as its state: (i, acc)
  (func (export "sum") (param i32) (result i32)
    (i32.const 1) (i32.const 0)
    (loop $l (param i32 i32) (result i32 i32)
      (local.set 0 (i32.sub (local.get 0) (i32.const 0)))
      (block (param i32 i32) (result i32 i32)
        ;; acc += i; i += 1
        (call $step))
      (br_if $l (call $more (local.get 0))))
    (local.set 0) (drop) (local.get 0))
  (global $lim (mut i32) (i32.const 0))
  (func $step (param i32 i32) (result i32 i32)
    (i32.add (local.get 0) (i32.const 1)) (i32.add (local.get 1) (local.get 0))
    (global.set $lim (local.get 0)))
  (func $more (param i32) (result i32) (i32.lt_u (global.get $lim) (local.get 0))))

(assert_return (invoke "call3" (i32.const -2)) (i32.const -2) (i64.const -2) (f64.const -2))
(assert_return (invoke "ind3" (i32.const 5)) (i32.const 5) (i64.const 5) (f64.const 5))
(assert_return (invoke "swap" (i32.const 1) (i32.const 2)) (i32.const 2) (i32.const 1))
(assert_return (invoke "if2" (i32.const 1)) (i32.const 30) (i32.const 1))
(assert_return (invoke "if2" (i32.const 0)) (i32.const -10) (i32.const 2))
(assert_return (invoke "br2" (i32.const 1)) (i32.const 1) (i64.const 2))
(assert_return (invoke "br2" (i32.const 0)) (i32.const 3) (i64.const 4))
(assert_return (invoke "table2" (i32.const 0)) (i32.const 7) (i32.const 8))
(assert_return (invoke "table2" (i32.const 1)) (i32.const 15) (i32.const 0))
(assert_return (invoke "table2" (i32.const 9)) (i32.const 7) (i32.const 8))
(assert_return (invoke "sum" (i32.const 10)) (i32.const 55))

;; A function whose body pushes nothing before it ends in unreachable code,
;; with more results than anything on its stack: the code generator's
;; stack was sized by the deepest push and overflowed at the function's
;; end (heap corruption in func.wast). The traps are asserted through
;; one-result callers: wast2json 1.0.32 writes the "expected" list of an
;; assert_trap on a multi-result function without commas.
(module
  (func $none8 (export "none8") (result i32 i32 i32 i32 i64 i64 f64 f64) (unreachable))
  (func $ret8 (export "ret8") (param i32) (result i32 i32 i32 i32 i32 i32 i32 i32)
    (if (local.get 0) (then (unreachable)))
    (return (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
            (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8)))
  (func (export "first_none8") (result i32)
    (call $none8) (drop) (drop) (drop) (drop) (drop) (drop) (drop))
  (func (export "first_ret8") (param i32) (result i32)
    (call $ret8 (local.get 0)) (drop) (drop) (drop) (drop) (drop) (drop) (drop)))
(assert_trap (invoke "first_none8") "unreachable")
(assert_trap (invoke "first_ret8" (i32.const 1)) "unreachable")
(assert_return (invoke "ret8" (i32.const 0))
  (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
  (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8))
