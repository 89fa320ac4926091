;; expect: memory size must be at most 65536 pages
(module (memory 65537))
