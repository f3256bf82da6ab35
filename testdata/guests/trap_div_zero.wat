;; trap_div_zero: a guest whose `run` divides an i32 by zero (i32.div_s).
;; Exports: memory, run () -> i32.
;; The divisor comes from a mutable global so it is not a constant the
;; compiler could see, though wasm traps either way.
;; Expected outcome: trap (integer divide by zero).
(module
  (memory (export "memory") 1)
  (global $zero (mut i32) (i32.const 0))
  (func $run (export "run") (result i32)
    (i32.div_s (i32.const 42) (global.get $zero))))
