;; call_tree: a guest that burns CPU in a loop-FREE exponential call tree.
;; Exports: memory, run () -> i32.
;; Imports: extism:host/env input_length, input_load_u8, alloc, store_u8, output_set.
;; `run` reads its input as an ASCII decimal number n (every byte '0'..'9' is a
;; digit, any other byte is skipped, so `24`, `"24"` and ` 24\n` all mean 24;
;; empty input means 0), then calls $f(n), where
;;   f(n) = if n == 0 return; else f(n-1); f(n-1)
;; i.e. 2^(n+1)-1 calls. $f contains no `loop` instruction: wazero checks its
;; close-on-context-done flag only at loop back-edges (both the compiler and
;; the interpreter; measured below), so a deadline is not noticed until the
;; tree finishes -- this guest tests how the host bounds CPU in that gap. (The digit
;; parsing uses a loop; it runs before the tree.) Afterwards `run` outputs `{}`.
;; Expected outcome: timeout when the tree outlasts the call deadline (the call
;; must end with kind timeout, never success, however late wazero notices);
;; a small n (e.g. 0..20) succeeds with output `{}`.
;;
;; Measured wall time of `run` (wazero v1.12.0, WithCloseOnContextDone(true),
;; no deadline, this machine: 2 cores, Go 1.26; median of 3 runs):
;;   compiler:     n=24: 0.09 s   n=26: 0.38 s   n=28: 1.44 s
;;   interpreter:  n=20: 0.20 s   n=22: 0.77 s   n=24: 3.0 s
;; Each +1 doubles it. With a 50 ms context deadline, n=28 (compiler) still ran
;; for 1.46 s and n=24 (interpreter) for 3.05 s before returning "module closed
;; with context deadline exceeded": the deadline is only seen after the tree.
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)

  ;; f(n): no loop, two recursive calls per level.
  (func $f (param $n i32)
    (if (i32.eqz (local.get $n)) (then (return)))
    (call $f (i32.sub (local.get $n) (i32.const 1)))
    (call $f (i32.sub (local.get $n) (i32.const 1))))

  (func $run (export "run") (result i32)
    (local $len i64) (local $i i64) (local $c i32) (local $n i32) (local $out i64)
    ;; parse the decimal digits of the input
    (local.set $len (call $input_length))
    (block $parsed
      (loop $digits
        (br_if $parsed (i64.ge_u (local.get $i) (local.get $len)))
        (local.set $c (i32.sub (call $input_load_u8 (local.get $i)) (i32.const 48)))
        (if (i32.lt_u (local.get $c) (i32.const 10))
          (then
            (local.set $n
              (i32.add (i32.mul (local.get $n) (i32.const 10)) (local.get $c)))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $digits)))
    ;; the loop-free tree
    (call $f (local.get $n))
    ;; output {}
    (local.set $out (call $alloc (i64.const 2)))
    (call $store_u8 (local.get $out) (i32.const 123))                        ;; {
    (call $store_u8 (i64.add (local.get $out) (i64.const 1)) (i32.const 125)) ;; }
    (call $output_set (local.get $out) (i64.const 2))
    (i32.const 0)))
