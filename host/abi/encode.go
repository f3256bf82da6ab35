package abi

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/splicehq/splice/host/internal/jsonscan"
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
	dst = AppendString(dst, in.Op)
	dst = append(dst, `,"key":`...)
	dst = AppendString(dst, in.Key)
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
		dst = AppendString(dst, r.Method)
		dst = append(dst, `,"path":`...)
		dst = AppendString(dst, r.Path)
		if len(r.Headers) > 0 {
			dst = append(dst, `,"headers":`...)
			dst = appendValues(dst, r.Headers)
		}
		if len(r.Query) > 0 {
			dst = append(dst, `,"query":`...)
			dst = appendValues(dst, r.Query)
		}
		dst = append(dst, `,"body":`...)
		dst = AppendString(dst, r.Body)
		dst = append(dst, '}')
	}
	if in.WebhookURL != "" {
		dst = append(dst, `,"webhookUrl":`...)
		dst = AppendString(dst, in.WebhookURL)
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
		dst = AppendString(dst, k)
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
			dst = AppendString(dst, v)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// plain marks the bytes that encoding/json writes as they are in a string: printable ASCII but
// the quote, the backslash and the HTML characters <, > and &.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// AppendString appends s to dst as a JSON string, escaped as encoding/json escapes it: control
// characters, the quote, the backslash, <, >, &, U+2028 and U+2029 escaped, each byte that is not
// part of valid UTF-8 replaced by U+FFFD, everything else as it is. FuzzAppendString checks it
// against json.Marshal byte for byte.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
