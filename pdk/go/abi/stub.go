//go:build !wasip1

package abi

// This file lets code that calls abi build and run natively (go test on a
// developer's machine); see the package Notes.

import "sync"

// vars holds the variables of VarGet and VarSet; mu makes them safe for the
// parallel tests of a native build.
var (
	mu   sync.Mutex
	vars = map[string][]byte{}
)

// Input returns nil: there is no host outside wasip1.
func Input() []byte { return nil }

// Output discards b: there is no host outside wasip1.
func Output(b []byte) {}

// SetError discards msg: there is no host outside wasip1.
func SetError(msg string) {}

// Config reports every key unset: there is no host outside wasip1.
func Config(key string) (string, bool) { return "", false }

// Log discards msg: there is no host outside wasip1.
func Log(level Level, msg string) {}

// HTTP returns nil and false, the answer of a host with no HTTP broker: there
// is no host outside wasip1.
func HTTP(req []byte) ([]byte, bool) { return nil, false }

// ExtismHTTPRequest answers nothing outside Wasm: status 0, no headers, no body.
func ExtismHTTPRequest(req, body []byte) (status int, headers, respBody []byte) { return 0, nil, nil }

// VarGet returns the value VarSet last stored under name in this process, or
// nil.
func VarGet(name string) []byte {
	mu.Lock()
	defer mu.Unlock()
	return vars[name]
}

// VarSet stores a copy of value under name in this process; a nil or empty
// value deletes it.
func VarSet(name string, value []byte) {
	mu.Lock()
	defer mu.Unlock()
	if len(value) == 0 {
		delete(vars, name)
		return
	}
	vars[name] = append([]byte(nil), value...)
}
