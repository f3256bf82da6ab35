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
//   - Time: wazero's WithCloseOnContextDone stops a guest at its next loop back-edge once its module
//     is closed. One watchdog goroutine per Runtime closes a call's module at its deadline.
//   - Output and logs are checked by the host functions before any byte is copied.
//
// # The loop-free call tree gap
//
// wazero checks for a closed module only at loop back-edges (in wazevo's frontend), so a guest that
// runs a deep loop-free call tree keeps its thread after its deadline: testdata/guests/call_tree.wat
// with n=26 runs ~0.4 s whatever the deadline. The sandbox bounds the damage: MaxConcurrentCalls
// bounds the threads such guests can hold, and a call still running at twice its deadline (seen by
// the watchdog, or measured when it returns) quarantines its Module: later calls fail at once with
// KindQuarantined, without running guest code, until the module is loaded again.
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
// Measured on this repository's benchmarks (make bench; 2-core machine, same run for both engines):
//
//	FIGURES
//
// # Notes
//
// Compiled code is cached by wazero, in memory and, with Options.CacheDir, on disk, so a module is
// compiled once per content, not once per environment or consumer. Go guests (GOOS=wasip1, c-shared)
// need WASI, which both engines provide, and at least 64 pages of memory.
package sandbox
