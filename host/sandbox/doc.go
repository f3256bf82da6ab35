// Package sandbox runs connector code: WebAssembly modules that speak the Extism ABI (pdk/ABI.md),
// on wazero, within hard limits on memory, time, output and logs.
//
// It owns compiling modules, lending instances, running calls and classifying their failures. It
// leaves the meaning of the exports (manifests, envelopes) to package connector, and outbound HTTP
// to the broker, which a later change hands to calls.
//
// # Use
//
//	rt, _ := sandbox.New(ctx, sandbox.Options{})              // once per process
//	m, _ := rt.Compile(ctx, wasm, sandbox.ModuleOptions{...})  // once per connector version and environment
//	res, err := m.Call(ctx, sandbox.CallOptions{Consumer: "c1", Export: "action", Input: in})
//
// Runtime, Module and Call are safe for concurrent use. A Module lends each call an instance from a
// pool kept per consumer: an instance serves one call at a time and never two consumers. The pool
// holds at most Options.MaxInstances live instances across the Runtime and closes the least recently
// used idle one when it needs room. Options.MaxConcurrentCalls bounds the calls running at once.
//
// # Limits and failures
//
// Each Module has effective Limits (the environment's policy clamped by the manifest's request, see
// Limits.Clamp). A call that breaches one, or traps, ends with a *Error whose Kind says what happened
// (timeout, memory_limit, trap, output_too_large, log_too_large, guest_error, missing_export,
// invalid_output, quarantined, invalid_module); its instance is then closed, never reused (except
// after guest_error and missing_export, which leave the instance sound). The host and other calls
// carry on: every hostile guest in testdata/guests has a test proving it.
//
//   - Memory: linear memory is backed by a per-instance allocator (wazero's experimental
//     MemoryAllocator) that refuses to grow past the limit and records the refusal, so the failure
//     that follows is reported as memory_limit rather than as the trap the guest hits next. A module
//     that declares more memory than the limit is refused by Compile, before wazero allocates it.
//     Extism memory (alloc) has the same limit, separately.
//   - Time: Compile instruments every module with fuel checkpoints (instrument.go): a global is
//     decremented at every function entry and loop header, and every 65536 ticks the guest calls
//     the host's splice_yield, which ends the call once its deadline has passed or its context has
//     ended. Start and initialization functions run under the same rule. WASI sleeps never sleep
//     past the deadline. One watchdog goroutine per Runtime cancels each call's context at its
//     deadline, for host functions that block.
//   - Output and logs are checked by the host functions before any byte is copied.
//
// # Why fuel checkpoints, not WithCloseOnContextDone
//
// wazero's own way to stop a guest, WithCloseOnContextDone, checks for a closed module only at loop
// back-edges, and does it by exiting from native code to Go on every iteration: a 16 Ki-iteration
// loop takes ~20 us without it and ~430 us with it (BenchmarkInstrumentedLoop), and every call pays
// a goroutine. It also misses loop-free code: testdata/guests/call_tree.wat (an exponential call
// tree without loops) ran ~0.4 s at n=26 whatever its deadline. Checkpoints at function entries and
// loop headers cost a global decrement and a branch (~25 us for the same loop), need no goroutine,
// and stop the call tree at its deadline (TestLoopFreeCallTreeStopsAtDeadline).
//
// Defence in depth stays: MaxConcurrentCalls bounds the threads guests hold, and a call still
// running at twice its deadline (a host function that does not return, say) quarantines its Module:
// later calls fail at once with KindQuarantined, without running guest code, until it is loaded
// again. The rewriter also shields wazero: CompileModule allocates from vector counts it has not yet
// checked against the input (a 30-byte module made it allocate 14 GB), and instrument checks every
// count first; the reference engine runs it as a validator for that reason.
//
// # Why Splice has its own engine
//
// Extism's Go SDK (the reference engine here, Options.Engine = "extism") runs Extism's kernel, a
// second Wasm module that owns Extism memory. Every host function the guest calls is a Go function
// that looks up and calls an export of the kernel (ExportedFunction per call), input and output cross
// 8 bytes per host call, and each call allocates ~84 KB. Splice's engine implements the
// extism:host/env functions directly in Go: Extism memory is a Go byte slice (arena.go), the input is
// read in place, and Splice's PDKs copy whole buffers with one host call (the fast path of
// pdk/ABI.md; the reference engine answers -1 and the PDKs fall back, so one module runs on both).
// Plugins built with the official Extism PDKs run unmodified: the conformance guest built with
// github.com/extism/go-pdk passes the same cases as Splice's own, on both engines.
//
// Measured by this package's benchmarks in one run (make bench: -count=6, medians; a 2-core AMD EPYC
// VM, noisy: ±10-40%). C guest = connectors/text, Go guest = connectors/echo and connectors/json.
//
//	benchmark                       splice      extism (go-sdk)   ratio
//	Noop, C guest                   467 ns      27.4 us           59x    (65 B/op vs 82 KiB/op)
//	Noop, Go guest                  412 ns      25.2 us           61x
//	Transform1KiB, C guest          15.0 us     189 us            12.6x
//	Transform1KiB, Go guest         325 us      1.41 ms           4.3x
//	Echo1MiB, C guest (fast path)   208 us      39.7 ms           191x
//	Echo1MiB, Go guest (fast path)  341 us      49.8 ms           146x
//	Acquire pooled                  48-59 ns    48 ns
//	Acquire fresh, C guest          101 us      289 us            2.9x
//	Acquire fresh, Go guest         6.5 ms      3.7 ms            (ours runs the Go runtime's _initialize; the SDK defers it to the first call)
//
//	floor (plain wazero): noop call 21 ns, 491 ns with WithCloseOnContextDone; copy 1 MiB into guest memory 42 us
//	compile, new Runtime: C guest 8.2 ms cold, 1.0 ms warm (CacheDir); Go guest 1.21 s cold, 59 ms warm
//	16 Ki-iteration loop: 428 us with WithCloseOnContextDone, 23 us instrumented, 17 us uninterruptible
//
// # Notes
//
// Compiled code is cached by wazero, in memory and, with Options.CacheDir, on disk, so a module is
// compiled once per content, not once per environment or consumer. Two compiles of the same bytes
// never overlap (compilelock.go: wazero hands out a module read from its file cache before it can
// be instantiated, issue 2547). Go guests (GOOS=wasip1, c-shared)
// need WASI, which both engines provide, and at least 64 pages of memory.
package sandbox
