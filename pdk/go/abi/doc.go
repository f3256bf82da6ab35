// Package abi is the low-level guest side of the Splice connector ABI: the
// Extism imports of "extism:host/env" and Splice's fast path and outbound
// HTTP of "extism:host/user", wrapped in a handful of functions that move
// whole Go values (see ../../ABI.md, the authority on every function used
// here).
//
// Most connectors never import abi: package pdk re-exports these functions and
// adds the manifest, the JSON envelopes and the dispatch of the describe,
// auth, trigger, action and transform exports. Import abi directly only for a
// module that must not carry pdk's exports, such as the conformance guest,
// whose own describe would clash with pdk's.
//
// Every function here is meant to be called from inside an export (a
// //go:wasmexport function) while the host is running it. A Go module runs one
// export at a time, so none of them needs a lock; they are not safe to call
// from goroutines that outlive the export.
//
// # Why the fast path is remembered
//
// splice_input_read, splice_output_write and splice_error_write return -1 on
// a host that does not support them (Extism's own Go SDK). The answer cannot
// change for the life of an instance, so the first -1 switches the package to
// the plain Extism ABI for good and later calls skip the failed host call.
//
// # Why blocks are freed the way they are
//
// Extism memory belongs to the host and ownership of a block is implicit per
// function. abi follows the reference engine (Extism's Go SDK) and the
// official PDKs: log_*, var_get (key) and var_set (key and value) take
// ownership of the blocks they are given, so abi never frees those; config_get
// leaves its key to the guest, so abi frees it; the blocks that config_get and
// var_get return are freed once copied into Go memory; the blocks given to
// output_set and error_set belong to the host; splice_http leaves both its
// request and its response block to the guest, so abi frees both. The host
// also resets Extism memory before every call, so a block lost to a trap
// cannot accumulate.
//
// # Notes
//
// On any GOOS other than wasip1 (for example under `go test` on a
// developer's machine) the functions are stubs: Input returns nil, Output and
// SetError discard their argument, Config reports every key unset, Log
// discards, VarGet/VarSet use an in-process map, and HTTP answers like a
// host with no broker (nil, false). This keeps code that calls them testable
// natively.
package abi

import "strconv"

// Level is a log level, ordered like Extism's get_log_level: LevelTrace (0)
// is the most verbose, LevelError (4) the least.
type Level int32

// The log levels accepted by Log.
const (
	LevelTrace Level = 0
	LevelDebug Level = 1
	LevelInfo  Level = 2
	LevelWarn  Level = 3
	LevelError Level = 4
)

// String returns the lowercase name of the level ("trace" ... "error"), or
// "level(N)" for any other value.
func (l Level) String() string {
	switch l {
	case LevelTrace:
		return "trace"
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}
