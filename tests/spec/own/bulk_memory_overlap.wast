;; SPDX-License-Identifier: Apache-2.0
;; memory.copy with overlapping ranges in both directions (memmove
;; semantics), zero-length copies and fills at the very end (allowed) and
;; past it (trap), and out-of-bounds copies, fills and inits that trap
;; before writing anything.
(module
  (memory 1)
  (data (i32.const 0) "0123456789")
  (data $p "abcdef")
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (memory.init $p (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $p))
  (func (export "ld") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "b") (param i32) (result i32) (i32.load8_u (local.get 0))))

;; forward overlap: dst > src
(invoke "copy" (i32.const 2) (i32.const 0) (i32.const 6))
(assert_return (invoke "ld" (i32.const 0)) (i64.const 0x3534333231303130))
(assert_return (invoke "b" (i32.const 8)) (i32.const 0x38))
;; backward overlap: dst < src
(invoke "copy" (i32.const 0) (i32.const 3) (i32.const 7))
(assert_return (invoke "ld" (i32.const 0)) (i64.const 0x3539383534333231))
(assert_return (invoke "b" (i32.const 7)) (i32.const 0x35))
(invoke "copy" (i32.const 65536) (i32.const 0) (i32.const 0))
(invoke "copy" (i32.const 0) (i32.const 65536) (i32.const 0))
(assert_trap (invoke "copy" (i32.const 65537) (i32.const 0) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 65537) (i32.const 0)) "out of bounds memory access")
;; a copy that would run past the end writes nothing
(invoke "fill" (i32.const 65530) (i32.const 0x11) (i32.const 6))
(assert_trap (invoke "copy" (i32.const 65530) (i32.const 0) (i32.const 7)) "out of bounds memory access")
(assert_return (invoke "b" (i32.const 65530)) (i32.const 0x11))
(assert_trap (invoke "copy" (i32.const 0) (i32.const 65530) (i32.const 7)) "out of bounds memory access")
(assert_return (invoke "b" (i32.const 0)) (i32.const 0x31))
(assert_trap (invoke "copy" (i32.const 0) (i32.const 0) (i32.const -1)) "out of bounds memory access")
;; fill
(invoke "fill" (i32.const 65536) (i32.const 0xff) (i32.const 0))
(assert_trap (invoke "fill" (i32.const 65535) (i32.const 0x22) (i32.const 2)) "out of bounds memory access")
(assert_return (invoke "b" (i32.const 65535)) (i32.const 0x11))
(invoke "fill" (i32.const 1) (i32.const 0x1234) (i32.const 2))
(assert_return (invoke "ld" (i32.const 0)) (i64.const 0x3539383534343431))
;; init from a passive segment; past the segment or memory traps; after
;; data.drop only zero-length inits at offset 0 succeed
(invoke "init" (i32.const 100) (i32.const 2) (i32.const 4))
(assert_return (invoke "ld" (i32.const 100)) (i64.const 0x66656463))
(assert_trap (invoke "init" (i32.const 200) (i32.const 2) (i32.const 5)) "out of bounds memory access")
(assert_return (invoke "b" (i32.const 200)) (i32.const 0))
(assert_trap (invoke "init" (i32.const 65535) (i32.const 0) (i32.const 2)) "out of bounds memory access")
(invoke "init" (i32.const 0) (i32.const 6) (i32.const 0))
(invoke "drop")
(invoke "init" (i32.const 0) (i32.const 0) (i32.const 0))
(assert_trap (invoke "init" (i32.const 0) (i32.const 0) (i32.const 1)) "out of bounds memory access")
