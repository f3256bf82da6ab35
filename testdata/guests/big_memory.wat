;; big_memory: a module that declares a 2000-page (125 MiB) minimum memory.
;; Exports: memory (min 2000 pages), run () -> i32 (returns 0).
;; Expected outcome: memory_limit (the policy is 64 MiB; the host must refuse
;; the module at compile/instantiate time, before `run` executes).
(module
  (memory (export "memory") 2000)
  (func $run (export "run") (result i32)
    (i32.const 0)))
