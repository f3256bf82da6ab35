;; no_output: a guest whose `run` succeeds without setting any output.
;; Exports: memory, run () -> i32.
;; Expected outcome: invalid_output (an empty output is not a JSON document).
(module
  (memory (export "memory") 1)
  (func $run (export "run") (result i32)
    (i32.const 0)))
