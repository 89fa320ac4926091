;; The polymorphic stack after unreachable/br/return.
(module
  (func (result i32) (unreachable) (i32.add) )
  (func (result i32) (block (result i32) (br 0 (i32.const 1)) (i32.add)) )
  (func (result f32) (unreachable) (select) (drop) (f32.const 0))
  (func (result i64) (return (i64.const 1)) (br_table 0 0))
  (func (param i32) (result i32)
    (block (result i32) (unreachable) (br_if 0) ))
  (func (block (br 0) (drop) (drop) (i32.const 0) (drop)))
  (func (result v128) (unreachable) (i8x16.extract_lane_s 3) (drop) (v128.const i64x2 0 0))
)
