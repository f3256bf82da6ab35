;; bad_pointer: a guest that hands the host pointers outside any memory.
;; Exports: memory (1 page), and (all () -> i32, returning 0 if the host lets them):
;;   load       load_u64(0xFFFFFFFF0000)            Extism offset far past Extism memory
;;   store      store_u64(0xFFFFFFFF0000, 0x4141414141414141)
;;   output     output_set(0xdeadbeef, 10)          no block there
;;   fast       splice_output_write(0x7ffffff0, 1000)  far outside 64 KiB guest memory
;;   fast_read  splice_input_read(0xfffffff0, 100)  ptr is -16 as i32 / 4 GiB-16 unsigned
;;   error      error_set(0x123456789)              no block there
;; Imports: extism:host/env load_u64, store_u64, output_set, error_set;
;;          extism:host/user splice_output_write, splice_input_read.
;; Expected outcome: trap for every export (never a host panic or a read of
;; host memory; if the host ignored the bad pointer, `load`/`store`/`fast_read`
;; would end up as invalid_output instead, because none of them sets output).
(module
  (import "extism:host/env" "load_u64" (func $load_u64 (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/user" "splice_output_write" (func $splice_output_write (param i32 i32) (result i32)))
  (import "extism:host/user" "splice_input_read" (func $splice_input_read (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  (func (export "load") (result i32)
    (drop (call $load_u64 (i64.const 0xFFFFFFFF0000)))
    (i32.const 0))

  (func (export "store") (result i32)
    (call $store_u64 (i64.const 0xFFFFFFFF0000) (i64.const 0x4141414141414141))
    (i32.const 0))

  (func (export "output") (result i32)
    (call $output_set (i64.const 0xdeadbeef) (i64.const 10))
    (i32.const 0))

  (func (export "fast") (result i32)
    (drop (call $splice_output_write (i32.const 0x7ffffff0) (i32.const 1000)))
    (i32.const 0))

  (func (export "fast_read") (result i32)
    (drop (call $splice_input_read (i32.const 0xfffffff0) (i32.const 100)))
    (i32.const 0))

  (func (export "error") (result i32)
    (call $error_set (i64.const 0x123456789))
    (i32.const 0)))
