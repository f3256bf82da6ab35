;; output_big: a guest that declares outputs larger than any output limit.
;; Exports: memory, and (all () -> i32, returning 0 if the host lets them):
;;   run   alloc a 16-byte Extism block, then output_set(block, 104857600): the
;;         declared length (100 MiB) is far beyond the block and the limit
;;   fast  splice_output_write(0, 104857600): 100 MiB of a 64 KiB guest memory
;;   real  alloc an Extism block of 4194304 bytes (4 MiB), write the 8 bytes
;;         `"xxxxxx"` at its start with store_u8 (the rest stays as allocated),
;;         output_set(block, 4194304)
;; Imports: extism:host/env alloc, store_u8, output_set;
;;          extism:host/user splice_output_write.
;; Expected outcome: output_too_large for all three. The host must check the
;; declared length against the output limit before reading any bytes (so `run`
;; and `fast` are output_too_large, not trap). For `real` the test sets an
;; output limit of 1 MiB; there the block is genuine, so only the limit fails it.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/user" "splice_output_write" (func $splice_output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\"xxxxxx\"")

  (func $run (export "run") (result i32)
    (call $output_set (call $alloc (i64.const 16)) (i64.const 104857600))
    (i32.const 0))

  (func $fast (export "fast") (result i32)
    (drop (call $splice_output_write (i32.const 0) (i32.const 104857600)))
    (i32.const 0))

  (func $real (export "real") (result i32)
    (local $block i64) (local $i i32)
    (local.set $block (call $alloc (i64.const 4194304)))
    (loop $fill
      (call $store_u8
        (i64.add (local.get $block) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 8))))
    (call $output_set (local.get $block) (i64.const 4194304))
    (i32.const 0)))
