;; noop: a well-behaved canary guest.
;; Exports: memory, run () -> i32, echo_json () -> i32.
;; Imports: extism:host/env alloc, store_u8, output_set.
;;   run        returns 0 without setting output
;;   echo_json  outputs `{}` and returns 0
;; Expected outcome: echo_json succeeds with output `{}`. `run` succeeds as far
;; as the guest is concerned (exit 0, no output; where the host requires a JSON
;; output that is invalid_output, as with no_output.wasm). Used as the
;; known-good module: loads, instantiates and runs quickly on any engine.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)

  (func $run (export "run") (result i32)
    (i32.const 0))

  (func $echo_json (export "echo_json") (result i32)
    (local $out i64)
    (local.set $out (call $alloc (i64.const 2)))
    (call $store_u8 (local.get $out) (i32.const 123))                        ;; {
    (call $store_u8 (i64.add (local.get $out) (i64.const 1)) (i32.const 125)) ;; }
    (call $output_set (local.get $out) (i64.const 2))
    (i32.const 0)))
