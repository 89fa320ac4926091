;; expect: element section, offset 0x
;; expect: type mismatch: externref segment for a funcref table
(module (table 1 funcref) (elem (table 0) (i32.const 0) externref (ref.null extern)))
