;; bad_manifest: a guest whose `describe` outputs a manifest that is JSON but not a valid
;; manifest (appKey with a space, version not semver, a host with a scheme).
;; Exports: memory, describe () -> i32.
;; Imports: extism:host/env alloc, store_u8, output_set.
;; Expected outcome: the connector loader refuses it with a validation error.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"appKey\":\"Bad Key\",\"name\":\"x\",\"version\":\"1\",\"auth\":{\"type\":\"none\"},\"hosts\":[\"http://x\"]}")

  (func $describe (export "describe") (result i32)
    (local $block i64) (local $i i32)
    (local.set $block (call $alloc (i64.const 89)))
    (loop $copy
      (call $store_u8
        (i64.add (local.get $block) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (i32.const 89))))
    (call $output_set (local.get $block) (i64.const 89))
    (i32.const 0)))
