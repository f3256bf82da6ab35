// Command go is the conformance guest of Splice's Go PDK: the raw
// conformance exports of pdk/ABI.md ("Conformance"), checked by
// ../cases.json, written with the PDK's low-level functions. It imports
// package abi rather than pdk because pdk carries its own describe export,
// which would clash with this one. abi tries Splice's fast path first and
// falls back to the plain Extism ABI, so the guest exercises both.
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o conformance.wasm .
package main

//lint:file-ignore U1000 the host calls these through //go:wasmexport, which staticcheck does not see

import (
	"strconv"

	"github.com/splicehq/splice/pdk/go/abi"
)

const manifest = `{"appKey":"conformance","name":"Conformance","version":"1.0.0",` +
	`"auth":{"type":"none"},"hosts":[],"triggers":[],"actions":[],"transforms":[]}`

// main is required by package main but never runs in a c-shared (reactor) build.
func main() {}

// describe outputs the manifest.
//
//go:wasmexport describe
func describe() int32 {
	abi.Output([]byte(manifest))
	return 0
}

// noop returns 0 and sets no output.
//
//go:wasmexport noop
func noop() int32 { return 0 }

// echo outputs the input bytes unchanged.
//
//go:wasmexport echo
func echo() int32 {
	abi.Output(abi.Input())
	return 0
}

// upper outputs the input with ASCII a-z turned to A-Z.
//
//go:wasmexport upper
func upper() int32 {
	b := abi.Input()
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	abi.Output(b)
	return 0
}

// fail sets an error and returns 1.
//
//go:wasmexport fail
func fail() int32 {
	abi.SetError("conformance: failed on purpose")
	return 1
}

// config outputs config "greeting", or null when unset.
//
//go:wasmexport config
func config() int32 {
	v, ok := abi.Config("greeting")
	if !ok {
		v = "null"
	}
	abi.Output([]byte(v))
	return 0
}

// log logs a line at info level and outputs {}.
//
//go:wasmexport log
func log() int32 {
	abi.Log(abi.LevelInfo, "conformance log line")
	abi.Output([]byte("{}"))
	return 0
}

// vars counts its calls on this instance in var "count".
//
//go:wasmexport vars
func vars() int32 {
	n, _ := strconv.Atoi(string(abi.VarGet("count")))
	n++
	s := strconv.Itoa(n)
	abi.VarSet("count", []byte(s))
	abi.Output([]byte(`{"count":` + s + `}`))
	return 0
}
