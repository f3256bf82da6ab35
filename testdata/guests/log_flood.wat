;; log_flood: a guest that tries to log 1,000,000 lines of 1024 bytes (~1 GiB).
;; Exports: memory, run () -> i32.
;; Imports: extism:host/env alloc, store_u64, store_u8, log_info, output_set.
;; `run` loops 1,000,000 times: alloc a 1024-byte Extism block, fill it with
;; 'a' (128 x store_u64 of 0x6161616161616161), log_info(block). Then it
;; outputs `{}`.
;; A fresh block per line because Extism's log_* functions take ownership of
;; (free) the message block (Extism's Go SDK does); logging the same block again
;; would be a use-after-free, which Splice's engine may rightly end as trap. The
;; guest never frees a block itself, so on a host whose log_* does not free, it
;; leaks exactly as many bytes as it has logged: the log limit must be hit
;; long before the 64 MiB memory limit.
;; Expected outcome: log_too_large (the host must end the call once the log
;; budget is exceeded, not buffer ~1 GiB, and not return success).
;; Reference engine (Extism Go SDK v1.7.1, no log limit): logs all 1,000,000
;; lines of 1024 'a's and outputs `{}` after ~32 s on this machine, so with a
;; deadline it gives timeout there.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)

  (func $run (export "run") (result i32)
    (local $line i64) (local $block i64) (local $i i64) (local $out i64)
    (loop $flood
      (local.set $block (call $alloc (i64.const 1024)))
      (local.set $i (i64.const 0))
      (loop $fill
        (call $store_u64 (i64.add (local.get $block) (local.get $i))
                         (i64.const 0x6161616161616161)) ;; "aaaaaaaa"
        (local.set $i (i64.add (local.get $i) (i64.const 8)))
        (br_if $fill (i64.lt_u (local.get $i) (i64.const 1024))))
      (call $log_info (local.get $block))
      (local.set $line (i64.add (local.get $line) (i64.const 1)))
      (br_if $flood (i64.lt_u (local.get $line) (i64.const 1000000))))
    (local.set $out (call $alloc (i64.const 2)))
    (call $store_u8 (local.get $out) (i32.const 123))                        ;; {
    (call $store_u8 (i64.add (local.get $out) (i64.const 1)) (i32.const 125)) ;; }
    (call $output_set (local.get $out) (i64.const 2))
    (i32.const 0)))
