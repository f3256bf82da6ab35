;; conformance: the reference plain-Extism conformance guest (see pdk/ABI.md, "Conformance").
;; It uses ONLY `extism:host/env` functions (no `extism:host/user` fast path), so it runs
;; unmodified on Extism's Go SDK and on Splice's engine, and every case in cases.json
;; (except the host-side ones) must pass on both.
;;
;; Exports (all () -> i32, 0 = success), plus memory (1 page):
;;   describe  outputs the manifest JSON kept in the data segment at 0x000 (140 bytes)
;;   noop      returns 0, sets no output
;;   echo      outputs the input unchanged (any length, 0 and 64 KiB+ included): copies the
;;             input into a fresh Extism block, 8 bytes at a time with input_load_u64 +
;;             store_u64, the tail with input_load_u8 + store_u8, then output_set
;;   upper     outputs the input with ASCII a-z turned to A-Z (byte by byte)
;;   fail      error_set("conformance: failed on purpose"), returns 1 -> guest_error
;;   config    config_get("greeting"); outputs the value block (length via `length`),
;;             or the 4 bytes `null` when config_get returns 0 (unset)
;;   log       log_info("conformance log line"), outputs `{}`
;;   vars      var_get("count") (0 = absent = 0, else a decimal string), adds 1,
;;             var_set("count", decimal), outputs `{"count":N}`
;;
;; Block ownership follows Extism: var_get and var_set take ownership of (free) the key and
;; value blocks passed to them, so the guest passes a fresh key block to each call and
;; never reuses or frees them. The block var_get returns belongs to the guest, which frees
;; it after parsing. Every other block is left to the per-call reset of Extism memory.
;;
;; Expected outcomes: the `want` of each case in testdata/conformance/cases.json.
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))

  (memory (export "memory") 1)

  ;; Guest memory layout:
  ;;   0x000 manifest (140)          0x100 fail message (30)   0x140 "greeting" (8)
  ;;   0x150 "null" (4)              0x160 log line (20)       0x180 "{}" (2)
  ;;   0x190 "count" (5)             0x1A0 "{\"count\":" (9)
  ;;   0x200-0x23F digit scratch     0x300-0x33F vars output scratch
  (data (i32.const 0x000) "{\"appKey\":\"conformance\",\"name\":\"Conformance\",\"version\":\"1.0.0\",\"auth\":{\"type\":\"none\"},\"hosts\":[],\"triggers\":[],\"actions\":[],\"transforms\":[]}")
  (data (i32.const 0x100) "conformance: failed on purpose")
  (data (i32.const 0x140) "greeting")
  (data (i32.const 0x150) "null")
  (data (i32.const 0x160) "conformance log line")
  (data (i32.const 0x180) "{}")
  (data (i32.const 0x190) "count")
  (data (i32.const 0x1A0) "{\"count\":")

  ;; Copy guest memory [ptr, ptr+len) into a new Extism block (alloc + store_u8).
  ;; Returns the block's offset, 0 when len is 0.
  (func $block_from_mem (param $ptr i32) (param $len i32) (result i64)
    (local $off i64) (local $i i32)
    (if (i32.eqz (local.get $len)) (then (return (i64.const 0))))
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $len))))
    (loop $copy
      (call $store_u8
        (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (local.get $len))))
    (local.get $off))

  ;; Set this call's output to a copy of guest memory [ptr, ptr+len).
  (func $output_mem (param $ptr i32) (param $len i32)
    (call $output_set
      (call $block_from_mem (local.get $ptr) (local.get $len))
      (i64.extend_i32_u (local.get $len))))

  (func $describe (export "describe") (result i32)
    (call $output_mem (i32.const 0x000) (i32.const 140))
    (i32.const 0))

  (func $noop (export "noop") (result i32)
    (i32.const 0))

  (func $echo (export "echo") (result i32)
    (local $n i64) (local $off i64) (local $i i64)
    (local.set $n (call $input_length))
    (local.set $off (call $alloc (local.get $n)))
    ;; whole 8-byte words
    (block $words_done
      (loop $words
        (br_if $words_done
          (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $n)))
        (call $store_u64
          (i64.add (local.get $off) (local.get $i))
          (call $input_load_u64 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 8)))
        (br $words)))
    ;; the 0-7 byte tail
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i64.ge_u (local.get $i) (local.get $n)))
        (call $store_u8
          (i64.add (local.get $off) (local.get $i))
          (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $tail)))
    (call $output_set (local.get $off) (local.get $n))
    (i32.const 0))

  (func $upper (export "upper") (result i32)
    (local $n i64) (local $off i64) (local $i i64) (local $c i32)
    (local.set $n (call $input_length))
    (local.set $off (call $alloc (local.get $n)))
    (block $done
      (loop $bytes
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (local.set $c (call $input_load_u8 (local.get $i)))
        ;; 'a' (97) .. 'z' (122) -> subtract 32
        (if (i32.lt_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 26))
          (then (local.set $c (i32.sub (local.get $c) (i32.const 32)))))
        (call $store_u8 (i64.add (local.get $off) (local.get $i)) (local.get $c))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $bytes)))
    (call $output_set (local.get $off) (local.get $n))
    (i32.const 0))

  (func $fail (export "fail") (result i32)
    (call $error_set (call $block_from_mem (i32.const 0x100) (i32.const 30)))
    (i32.const 1))

  (func $config (export "config") (result i32)
    (local $v i64)
    (local.set $v (call $config_get (call $block_from_mem (i32.const 0x140) (i32.const 8))))
    (if (i64.eqz (local.get $v))
      (then (call $output_mem (i32.const 0x150) (i32.const 4)))
      (else (call $output_set (local.get $v) (call $length (local.get $v)))))
    (i32.const 0))

  (func $log (export "log") (result i32)
    (call $log_info (call $block_from_mem (i32.const 0x160) (i32.const 20)))
    (call $output_mem (i32.const 0x180) (i32.const 2))
    (i32.const 0))

  (func $vars (export "vars") (result i32)
    (local $v i64) (local $len i64) (local $i i64) (local $c i32)
    (local $n i64) (local $p i32) (local $dl i32)
    ;; read the current count (absent = 0); non-digit bytes are ignored
    (local.set $v (call $var_get (call $block_from_mem (i32.const 0x190) (i32.const 5))))
    (if (i64.ne (local.get $v) (i64.const 0))
      (then
        (local.set $len (call $length (local.get $v)))
        (block $parsed
          (loop $digits
            (br_if $parsed (i64.ge_u (local.get $i) (local.get $len)))
            (local.set $c (i32.sub (call $load_u8 (i64.add (local.get $v) (local.get $i))) (i32.const 48)))
            (if (i32.lt_u (local.get $c) (i32.const 10))
              (then
                (local.set $n
                  (i64.add (i64.mul (local.get $n) (i64.const 10))
                           (i64.extend_i32_u (local.get $c))))))
            (local.set $i (i64.add (local.get $i) (i64.const 1)))
            (br $digits)))
        (call $free (local.get $v))))
    (local.set $n (i64.add (local.get $n) (i64.const 1)))
    ;; format n in decimal, right-aligned, ending at 0x240
    (local.set $p (i32.const 0x240))
    (loop $fmt
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $fmt (i64.ne (local.get $n) (i64.const 0))))
    (local.set $dl (i32.sub (i32.const 0x240) (local.get $p)))
    ;; store it (fresh key block: var_get took ownership of the first one)
    (call $var_set
      (call $block_from_mem (i32.const 0x190) (i32.const 5))
      (call $block_from_mem (local.get $p) (local.get $dl)))
    ;; output {"count":N}
    (memory.copy (i32.const 0x300) (i32.const 0x1A0) (i32.const 9))
    (memory.copy (i32.const 0x309) (local.get $p) (local.get $dl))
    (i32.store8 (i32.add (i32.const 0x309) (local.get $dl)) (i32.const 125)) ;; '}'
    (call $output_mem (i32.const 0x300) (i32.add (local.get $dl) (i32.const 10)))
    (i32.const 0))
)
