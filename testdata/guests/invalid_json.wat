;; invalid_json: a guest whose `run` outputs the 5 bytes `{"a":`, a truncated
;; JSON document.
;; Exports: memory, run () -> i32.
;; Imports: extism:host/env alloc, store_u8, output_set.
;; Expected outcome: invalid_output.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"a\":")

  (func $run (export "run") (result i32)
    (local $block i64) (local $i i32)
    (local.set $block (call $alloc (i64.const 5)))
    (loop $copy
      (call $store_u8
        (i64.add (local.get $block) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (i32.const 5))))
    (call $output_set (local.get $block) (i64.const 5))
    (i32.const 0)))
