;; loop_forever: a guest whose `run` never returns.
;; Exports: memory, run () -> i32.
;; `run` spins in a `loop` whose back-edge `br` is taken unconditionally, so it
;; never returns on its own and never calls the host.
;; Expected outcome: timeout (the host must interrupt the call at its deadline;
;; the loop back-edge is where wazero checks for cancellation).
(module
  (memory (export "memory") 1)
  (func $run (export "run") (result i32)
    (loop $spin
      (br $spin))
    (i32.const 0)))
