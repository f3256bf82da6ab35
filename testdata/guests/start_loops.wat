;; start_loops: a module whose start function loops forever.
;; Exports: memory, run () -> i32 (returns 0; never reached).
;; The `(start $f)` function spins in a `loop` during instantiation, so the
;; module never finishes instantiating.
;; Expected outcome: timeout (while instantiating; the host must bound
;; instantiation with the call deadline too).
(module
  (memory (export "memory") 1)
  (func $f
    (loop $spin
      (br $spin)))
  (start $f)
  (func $run (export "run") (result i32)
    (i32.const 0)))
