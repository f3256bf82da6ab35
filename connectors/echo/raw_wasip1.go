//go:build wasip1

package main

//lint:file-ignore U1000 the host calls these through //go:wasmexport, which staticcheck does not see

import pdk "github.com/splicehq/splice/pdk/go"

// Raw exports for benchmarks, beside pdk's envelope exports. They take and
// give bytes, not the JSON envelopes of the connector contract.

// noop returns 0 and does nothing else: the cost of a call into the module.
//
//go:wasmexport noop
func noop() int32 { return 0 }

// echoRaw outputs its input unchanged through the fast path: the cost of
// moving bytes in and out.
//
//go:wasmexport echo_raw
func echoRaw() int32 {
	pdk.Output(pdk.Input())
	return 0
}
