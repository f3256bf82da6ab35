//go:build wasip1

package abi

import (
	"encoding/binary"
	"unsafe"
)

// Extism imports ("extism:host/env"), with the types of ../../ABI.md.

//go:wasmimport extism:host/env input_length
func extismInputLength() uint64

//go:wasmimport extism:host/env input_load_u8
func extismInputLoadU8(i uint64) uint32

//go:wasmimport extism:host/env input_load_u64
func extismInputLoadU64(i uint64) uint64

//go:wasmimport extism:host/env alloc
func extismAlloc(n uint64) uint64

//go:wasmimport extism:host/env free
func extismFree(off uint64)

//go:wasmimport extism:host/env length
func extismLength(off uint64) uint64

//go:wasmimport extism:host/env load_u8
func extismLoadU8(off uint64) uint32

//go:wasmimport extism:host/env load_u64
func extismLoadU64(off uint64) uint64

//go:wasmimport extism:host/env store_u8
func extismStoreU8(off uint64, v uint32)

//go:wasmimport extism:host/env store_u64
func extismStoreU64(off uint64, v uint64)

//go:wasmimport extism:host/env output_set
func extismOutputSet(off uint64, n uint64)

//go:wasmimport extism:host/env error_set
func extismErrorSet(off uint64)

//go:wasmimport extism:host/env config_get
func extismConfigGet(key uint64) uint64

//go:wasmimport extism:host/env var_get
func extismVarGet(key uint64) uint64

//go:wasmimport extism:host/env var_set
func extismVarSet(key uint64, value uint64)

//go:wasmimport extism:host/env log_trace
func extismLogTrace(msg uint64)

//go:wasmimport extism:host/env log_debug
func extismLogDebug(msg uint64)

//go:wasmimport extism:host/env log_info
func extismLogInfo(msg uint64)

//go:wasmimport extism:host/env log_warn
func extismLogWarn(msg uint64)

//go:wasmimport extism:host/env log_error
func extismLogError(msg uint64)

//go:wasmimport extism:host/env get_log_level
func extismGetLogLevel() int32

// Splice's fast path ("extism:host/user"); each returns -1 when unsupported.

//go:wasmimport extism:host/user splice_input_read
func spliceInputRead(p unsafe.Pointer, n int32) int32

//go:wasmimport extism:host/user splice_output_write
func spliceOutputWrite(p unsafe.Pointer, n int32) int32

//go:wasmimport extism:host/user splice_error_write
func spliceErrorWrite(p unsafe.Pointer, n int32) int32

// Splice's outbound HTTP ("extism:host/user"); 0 when the call has no broker.
// The linker keeps the import only in modules that reach HTTP.

//go:wasmimport extism:host/user splice_http
func spliceHTTP(req uint64) uint64

// slow is set by the first -1 from a fast-path function; from then on only
// the plain Extism ABI is used (see "Why the fast path is remembered").
var slow bool

// Input returns this call's input, a fresh slice the caller owns. It copies
// the input in one host call (splice_input_read) and falls back to
// input_load_u64 for every 8 bytes and input_load_u8 for the tail.
func Input() []byte {
	n := int(extismInputLength())
	if n == 0 {
		return []byte{}
	}
	b := make([]byte, n)
	if !slow {
		if r := spliceInputRead(unsafe.Pointer(&b[0]), int32(n)); r >= 0 {
			return b[:r]
		}
		slow = true
	}
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], extismInputLoadU64(uint64(i)))
	}
	for ; i < n; i++ {
		b[i] = byte(extismInputLoadU8(uint64(i)))
	}
	return b
}

// Output makes b this call's output. It hands b over in one host call
// (splice_output_write) and falls back to copying b into a fresh Extism block
// with store_u64/store_u8 and output_set. The host copies b before the export
// returns, so b may be reused afterwards.
func Output(b []byte) {
	if !slow {
		if spliceOutputWrite(unsafe.Pointer(unsafe.SliceData(b)), int32(len(b))) >= 0 {
			return
		}
		slow = true
	}
	extismOutputSet(toBlock(b), uint64(len(b)))
}

// SetError makes msg this call's error message; the export should then
// return a non-zero value. It uses splice_error_write and falls back to an
// Extism block and error_set. An empty msg sets no error on the reference
// engine, so callers should always pass some text.
func SetError(msg string) {
	b := unsafe.Slice(unsafe.StringData(msg), len(msg))
	if !slow {
		if spliceErrorWrite(unsafe.Pointer(unsafe.SliceData(b)), int32(len(b))) >= 0 {
			return
		}
		slow = true
	}
	extismErrorSet(toBlock(b))
}

// Config returns the value of the host configuration key and whether it is
// set (config_get).
func Config(key string) (string, bool) {
	k := toBlock(unsafe.Slice(unsafe.StringData(key), len(key)))
	v := extismConfigGet(k)
	if k != 0 {
		extismFree(k) // config_get leaves the key to the guest
	}
	if v == 0 {
		return "", false
	}
	b := fromBlock(v)
	return unsafe.String(unsafe.SliceData(b), len(b)), true
}

// Log sends msg to the host's log at level (log_trace ... log_error). It does
// nothing, and allocates nothing, when the host's get_log_level is above
// level.
func Log(level Level, msg string) {
	if int32(level) < extismGetLogLevel() {
		return
	}
	m := toBlock(unsafe.Slice(unsafe.StringData(msg), len(msg)))
	switch {
	case level <= LevelTrace:
		extismLogTrace(m)
	case level == LevelDebug:
		extismLogDebug(m)
	case level == LevelInfo:
		extismLogInfo(m)
	case level == LevelWarn:
		extismLogWarn(m)
	default:
		extismLogError(m)
	}
}

// VarGet returns the value of the per-instance variable name, or nil when it
// is unset (var_get). Variables live as long as the instance and are capped in
// bytes by the host.
func VarGet(name string) []byte {
	v := extismVarGet(toBlock(unsafe.Slice(unsafe.StringData(name), len(name))))
	if v == 0 {
		return nil
	}
	return fromBlock(v)
}

// VarSet stores value under the per-instance variable name (var_set). A nil
// or empty value deletes the variable.
func VarSet(name string, value []byte) {
	k := toBlock(unsafe.Slice(unsafe.StringData(name), len(name)))
	var v uint64
	if len(value) > 0 {
		v = toBlock(value)
	}
	extismVarSet(k, v)
}

// HTTP hands the request document req to the host's HTTP broker
// (splice_http) and returns the response document, a fresh slice the caller
// owns, and true; or nil and false when the host answers 0 (no broker for this
// call). The request block is freed after the call and the response block once
// copied. A result that is not a block (length 0) gives an empty response and
// is not freed, so a misbehaving host yields a decode error, not a trap.
func HTTP(req []byte) ([]byte, bool) {
	off := toBlock(req)
	res := spliceHTTP(off)
	if off != 0 {
		extismFree(off)
	}
	if res == 0 {
		return nil, false
	}
	if extismLength(res) == 0 {
		return []byte{}, true
	}
	return fromBlock(res), true
}

//go:wasmimport extism:host/env http_request
func extismHTTPRequest(req uint64, body uint64) uint64

//go:wasmimport extism:host/env http_status_code
func extismHTTPStatusCode() int32

//go:wasmimport extism:host/env http_headers
func extismHTTPHeaders() uint64

// ExtismHTTPRequest sends a request with Extism's own http_request: req is Extism's request
// document ({"url", "method", "headers"}) and body the request body. It returns the status, the
// response headers as a JSON object (nil when the host gives none) and the body. Connectors use
// Fetch (splice_http) instead, which carries credentials and reports errors; this exists so that
// the host's service of http_request can be tested from a guest.
func ExtismHTTPRequest(req, body []byte) (status int, headers, respBody []byte) {
	r, b := toBlock(req), toBlock(body)
	res := extismHTTPRequest(r, b)
	for _, off := range []uint64{r, b} {
		if off != 0 {
			extismFree(off)
		}
	}
	if res != 0 && extismLength(res) > 0 {
		respBody = fromBlock(res)
	}
	if h := extismHTTPHeaders(); h != 0 && extismLength(h) > 0 {
		headers = fromBlock(h)
	}
	return int(extismHTTPStatusCode()), headers, respBody
}

// toBlock copies b into a fresh Extism block and returns its offset (0 when b
// is empty).
func toBlock(b []byte) uint64 {
	n := len(b)
	off := extismAlloc(uint64(n))
	if off == 0 {
		return 0
	}
	i := 0
	for ; i+8 <= n; i += 8 {
		extismStoreU64(off+uint64(i), binary.LittleEndian.Uint64(b[i:]))
	}
	for ; i < n; i++ {
		extismStoreU8(off+uint64(i), uint32(b[i]))
	}
	return off
}

// fromBlock copies the Extism block at off into a fresh Go slice and frees
// the block.
func fromBlock(off uint64) []byte {
	n := int(extismLength(off))
	b := make([]byte, n)
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], extismLoadU64(off+uint64(i)))
	}
	for ; i < n; i++ {
		b[i] = byte(extismLoadU8(off + uint64(i)))
	}
	extismFree(off)
	return b
}
