;; recurse_forever: a guest whose `run` recurses without bound.
;; Exports: memory, run () -> i32.
;; `run` calls $down, which calls itself unconditionally (no loop anywhere), so
;; the call stack grows until the engine's stack limit is hit.
;; Expected outcome: trap (stack overflow / call stack exhausted).
(module
  (memory (export "memory") 1)
  (func $down (param $n i64) (result i64)
    ;; pass an argument and add to the result so the call is not a tail call
    (i64.add
      (call $down (i64.add (local.get $n) (i64.const 1)))
      (i64.const 1)))
  (func $run (export "run") (result i32)
    (drop (call $down (i64.const 0)))
    (i32.const 0)))
