;; Element segments are initialised from index tables in winit.c: a module
;; with no functions whose segment holds only nulls, mixed nulls and
;; functions, and a passive segment used by table.init.
(module
  (table $t 2 externref)
  (elem (table $t) (i32.const 0) externref (ref.null extern))
  (func (export "get") (param i32) (result externref)
    (table.get $t (local.get 0))))
(assert_return (invoke "get" (i32.const 0)) (ref.null extern))

(module
  (type $r (func (result i32)))
  (table $t 4 funcref)
  (func $a (result i32) (i32.const 10))
  (func $b (result i32) (i32.const 20))
  (elem (table $t) (i32.const 0) funcref (ref.func $a) (ref.null func)
        (ref.func $b))
  (elem $p funcref (ref.func $b) (ref.null func))
  (func (export "call") (param i32) (result i32)
    (call_indirect $t (type $r) (local.get 0)))
  (func (export "init") (table.init $t $p (i32.const 2) (i32.const 0)
                                     (i32.const 2))))
(assert_return (invoke "call" (i32.const 0)) (i32.const 10))
(assert_trap (invoke "call" (i32.const 1)) "uninitialized element")
(assert_return (invoke "call" (i32.const 2)) (i32.const 20))
(assert_trap (invoke "call" (i32.const 3)) "uninitialized element")
(invoke "init")
(assert_return (invoke "call" (i32.const 2)) (i32.const 20))
(assert_trap (invoke "call" (i32.const 3)) "uninitialized element")
