;; trap_unreachable: a guest whose `run` executes `unreachable`.
;; Exports: memory, run () -> i32.
;; Expected outcome: trap.
(module
  (memory (export "memory") 1)
  (func $run (export "run") (result i32)
    (unreachable)))
