;; alloc_bomb: a guest that allocates Extism memory forever.
;; Exports: memory, run () -> i32.
;; Imports: extism:host/env alloc.
;; `run` calls alloc(1048576) (1 MiB) in an endless loop and never frees a
;; block, so Extism (host-side) memory grows without bound.
;; Expected outcome: memory_limit.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (memory (export "memory") 1)
  (func $run (export "run") (result i32)
    (loop $more
      (drop (call $alloc (i64.const 1048576)))
      (br $more))
    (i32.const 0)))
