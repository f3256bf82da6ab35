;; trap_oob: a guest whose `run` loads an i32 at address 0xFFFFFFF0, far outside
;; its 1-page (64 KiB) linear memory.
;; Exports: memory, run () -> i32.
;; Expected outcome: trap (out of bounds memory access).
(module
  (memory (export "memory") 1)
  (func $run (export "run") (result i32)
    (i32.load (i32.const 0xFFFFFFF0))))
