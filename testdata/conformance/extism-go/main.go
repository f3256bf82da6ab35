// Command extism-go is the conformance guest built with the official Extism
// Go PDK (github.com/extism/go-pdk) and standard Go's wasip1 reactor mode
// (-buildmode=c-shared, //go:wasmexport). It proves that a plugin built with
// an official PDK runs unmodified on Splice: it uses only the Extism ABI, never
// Splice's fast path. The exports are the raw conformance exports of
// pdk/ABI.md, checked by ../cases.json.
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o conformance.wasm .
package main

import (
	"strconv"

	"github.com/extism/go-pdk"
)

const manifest = `{"appKey":"conformance","name":"Conformance","version":"1.0.0",` +
	`"auth":{"type":"none"},"hosts":[],"triggers":[],"actions":[],"transforms":[]}`

// main is required by package main but never runs in a c-shared (reactor) build.
func main() {}

//go:wasmexport describe
func describe() int32 {
	pdk.OutputString(manifest)
	return 0
}

// noop returns 0 and sets no output.
//
//go:wasmexport noop
func noop() int32 {
	return 0
}

// echo outputs the input bytes unchanged.
//
//go:wasmexport echo
func echo() int32 {
	pdk.Output(pdk.Input())
	return 0
}

// upper outputs the input with ASCII a-z turned to A-Z.
//
//go:wasmexport upper
func upper() int32 {
	b := pdk.Input()
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	pdk.Output(b)
	return 0
}

//go:wasmexport fail
func fail() int32 {
	pdk.SetErrorString("conformance: failed on purpose")
	return 1
}

// config outputs config "greeting", or null when unset.
//
//go:wasmexport config
func config() int32 {
	v, ok := pdk.GetConfig("greeting")
	if !ok {
		v = "null"
	}
	pdk.OutputString(v)
	return 0
}

//go:wasmexport log
func log() int32 {
	pdk.Log(pdk.LogInfo, "conformance log line")
	pdk.OutputString("{}")
	return 0
}

// vars counts its calls in var "count" (a decimal string).
//
//go:wasmexport vars
func vars() int32 {
	n, _ := strconv.Atoi(string(pdk.GetVar("count")))
	n++
	s := strconv.Itoa(n)
	pdk.SetVar("count", []byte(s))
	pdk.OutputString(`{"count":` + s + `}`)
	return 0
}
