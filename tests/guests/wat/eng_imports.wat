;; Two imports the host does not know and one it knows with another type.
(module
  (import "env" "nope1" (func (param i32)))
  (import "env" "nope2" (func (result i64)))
  (import "env" "known" (func (param i32 i64) (result f64)))
  (func (export "f")))
