// Package pdk is the Go PDK for Splice connectors: a connector author
// declares the connector (its manifest and one typed handler per trigger,
// action and transform) and registers it; pdk generates the describe export
// from the declaration and dispatches the auth, trigger, action and transform
// exports, following the JSON envelopes of the product contract
// (shared/DESIGN.md, "Connector contract") and the guest ABI (../ABI.md).
//
// A connector is a main package built with the standard Go toolchain as a
// WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o app.wasm .
//
// It imports pdk, calls Register from an init function, and has an empty
// main:
//
//	func init() { pdk.Register(pdk.Connector{AppKey: "hello", ...}) }
//
//	func main() {}
//
// Handlers are plain Go functions adapted by the generic Handle (actions and
// transforms) and HandleTrigger (triggers): the PDK decodes the envelope's
// params or input into the handler's parameter type and encodes its result
// into the envelope's output. A handler error becomes the call's error text
// (the export returns 1), as does an unknown key, input that does not decode,
// and a panic in a handler, which the PDK recovers.
//
// Fetch (and its helpers GetJSON and PostJSON) makes outbound HTTP calls
// through the host's broker, splice_http (../ABI.md, "Outbound HTTP"): the
// host checks the URL against the manifest's hosts and injects the
// credential, which the connector never sees. Any status is a Response; a
// refusal or a failed exchange is an *HTTPError.
//
// Connector.Call runs any export natively, so handlers are tested with plain
// go test; only the Wasm imports are behind the wasip1 build tag.
//
// The low-level functions (Input, Output, SetError, Config, Log, VarGet,
// VarSet) are the ones of package abi, re-exported here so that a connector
// can add raw exports of its own beside pdk's.
//
// # Concurrency
//
// A Go Wasm module runs one export at a time. Register is meant for init
// functions; Connector values are read-only once registered. Nothing in pdk is
// safe for use by goroutines that outlive the export that started them.
//
// # Why init and not main
//
// With -buildmode=c-shared the module's _initialize export runs the package
// initializers but never calls main.main, so main is too late: the
// declaration must be made from an init function (or a package-level
// variable initializer). The rule against init side effects in the host's
// house style does not apply to guests, where init is the only hook there is.
//
// # Why the exports live in pdk and the ABI in a sub-package
//
// //go:wasmexport is allowed in any package, not only main, and the linker
// exports every such function of every linked package. So pdk itself carries
// the describe, auth, trigger, action and transform exports, and a connector
// gets them by importing pdk, with nothing to write. The linker also refuses
// two exports of the same name, so a module that needs its own describe (the
// conformance guest) cannot import pdk; it imports the low-level package abi,
// which has no exports.
//
// # Why envelopes are scanned by hand
//
// encoding/json decodes through reflection, which costs about ten times more
// in a Go Wasm module than natively: decoding the small action envelope with
// json.Unmarshal took most of an action's time in the guest. So the PDK
// checks the input once with json.Valid (a plain scanner) and slices the
// envelope's top-level members itself; only the handler's own params go
// through encoding/json, and not even those when the handler takes a
// json.RawMessage (an Out of json.RawMessage is likewise checked and copied
// into the output without reflection). Member names match exactly, not
// case-insensitively as encoding/json would.
//
// The documents of splice_http, by contrast, go through encoding/json: an
// exchange costs a network round trip, beside which reflection over a small
// struct does not show, and the plain decoder gives unknown members and
// malformed documents their usual, tested treatment.
//
// # Why schemas are strings
//
// InputSchema, OutputSchema and PayloadSchema are JSON Schema documents the
// author writes by hand (usually a raw string literal). The Schema type is a
// string so that a literal assigns to it without conversion; the PDK checks
// that each is a JSON object and copies it into the manifest verbatim
// (compacted). An empty Schema means {} (any value).
package pdk
