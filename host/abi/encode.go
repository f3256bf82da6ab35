package abi

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/splicehq/splice/host/internal/jsonscan"
	"github.com/splicehq/splice/host/internal/jsonw"
)

// AppendTriggerInput appends in as JSON to dst: the document json.Marshal makes of it, byte for
// byte, but for the whitespace of Params and State, which it copies as written instead of
// compacting them. A webhook's trigger input is mostly its body, a JSON string: written here with
// one copy per run of plain bytes instead of encoding/json's reflection and byte-by-byte escaping
// (BenchmarkAppendTriggerInput). FuzzAppendTriggerInput checks it against json.Marshal.
//
// # Errors
//
// Params or State that are not one JSON value, as json.Marshal refuses them.
func AppendTriggerInput(dst []byte, in *TriggerInput) ([]byte, error) {
	for _, raw := range [...]struct {
		name string
		v    json.RawMessage
	}{{"params", in.Params}, {"state", in.State}} {
		if len(raw.v) > 0 && !jsonscan.Valid(raw.v) {
			return dst, fmt.Errorf("abi: trigger input: %s is not one JSON value", raw.name)
		}
	}
	if r := in.Request; r != nil {
		// Room for it all, escapes aside, so that dst grows once.
		n := 128 + len(in.Op) + len(in.Key) + len(in.Params) + len(in.State) + len(r.Method) + len(r.Path) + len(r.Body)
		for _, m := range [...]map[string][]string{r.Headers, r.Query} {
			for k, vs := range m {
				n += len(k) + 8
				for _, v := range vs {
					n += len(v) + 3
				}
			}
		}
		dst = slices.Grow(dst, n+n/16)
	}
	dst = append(dst, `{"op":`...)
	dst = jsonw.String(dst, in.Op)
	dst = append(dst, `,"key":`...)
	dst = jsonw.String(dst, in.Key)
	if len(in.Params) > 0 {
		dst = append(dst, `,"params":`...)
		dst = append(dst, in.Params...)
	}
	if len(in.State) > 0 {
		dst = append(dst, `,"state":`...)
		dst = append(dst, in.State...)
	}
	if r := in.Request; r != nil {
		dst = append(dst, `,"request":{"method":`...)
		dst = jsonw.String(dst, r.Method)
		dst = append(dst, `,"path":`...)
		dst = jsonw.String(dst, r.Path)
		if len(r.Headers) > 0 {
			dst = append(dst, `,"headers":`...)
			dst = appendValues(dst, r.Headers)
		}
		if len(r.Query) > 0 {
			dst = append(dst, `,"query":`...)
			dst = appendValues(dst, r.Query)
		}
		dst = append(dst, `,"body":`...)
		dst = jsonw.String(dst, r.Body)
		dst = append(dst, '}')
	}
	if in.WebhookURL != "" {
		dst = append(dst, `,"webhookUrl":`...)
		dst = jsonw.String(dst, in.WebhookURL)
	}
	return append(dst, '}'), nil
}

// appendValues appends m as json.Marshal does: keys sorted, a nil list as null.
func appendValues(dst []byte, m map[string][]string) []byte {
	dst = append(dst, '{')
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonw.String(dst, k)
		dst = append(dst, ':')
		vs := m[k]
		if vs == nil {
			dst = append(dst, "null"...)
			continue
		}
		dst = append(dst, '[')
		for j, v := range vs {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = jsonw.String(dst, v)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}
