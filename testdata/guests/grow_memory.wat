;; grow_memory: a guest that grows its linear memory until growth fails.
;; Exports: memory (1 page, no declared maximum), run () -> i32.
;; `run` executes `memory.grow 1` in a loop until it returns -1 (the host's
;; memory cap refused it), then executes `unreachable`.
;; Expected outcome: memory_limit (the host must report the refused growth as
;; memory_limit, not as a plain trap, even though the guest then traps).
(module
  (memory (export "memory") 1)
  (func $run (export "run") (result i32)
    (loop $grow
      (br_if $grow
        (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (unreachable)))
