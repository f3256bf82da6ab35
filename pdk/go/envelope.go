package pdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// members checks that input is one valid JSON object and calls fn with each
// top-level member: key is the key's text when it has no escapes (else its
// decoded value), val the member's raw JSON value. Later duplicates are
// reported after earlier ones, so "last wins" as with encoding/json.
func members(export string, input []byte, fn func(key string, val []byte) error) error {
	if !json.Valid(input) {
		var v any
		err := json.Unmarshal(input, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return fmt.Errorf("pdk: %s: decode input: %w", export, err)
	}
	i := skipSpace(input, 0)
	if input[i] != '{' {
		return fmt.Errorf("pdk: %s: decode input: not a JSON object", export)
	}
	i++
	for {
		i = skipSpace(input, i)
		switch input[i] {
		case '}':
			return nil
		case ',':
			i++
			continue
		}
		end := skipString(input, i)
		key, err := unquote(input[i:end])
		if err != nil {
			return fmt.Errorf("pdk: %s: decode input: %w", export, err)
		}
		i = skipSpace(input, end) + 1 // past ':'
		i = skipSpace(input, i)
		vend := skipValue(input, i)
		if err := fn(key, input[i:vend]); err != nil {
			return fmt.Errorf("pdk: %s: decode input: %w", export, err)
		}
		i = vend
	}
}

// stringMember decodes a member that must be a JSON string or null.
func stringMember(key string, val []byte) (string, error) {
	switch {
	case string(val) == "null":
		return "", nil
	case val[0] != '"':
		return "", fmt.Errorf("%s must be a string", key)
	}
	return unquote(val)
}

// rawMember returns a member's raw value, or nil for null, so that an absent
// and a null member read the same.
func rawMember(val []byte) json.RawMessage {
	if string(val) == "null" {
		return nil
	}
	return val
}

// unquote decodes a JSON string token, without reflection when it has no
// escapes and is valid UTF-8 (encoding/json replaces invalid bytes).
func unquote(tok []byte) (string, error) {
	if bytes.IndexByte(tok, '\\') < 0 && utf8.Valid(tok) {
		return string(tok[1 : len(tok)-1]), nil
	}
	var s string
	err := json.Unmarshal(tok, &s)
	return s, err
}

// The skip functions assume valid JSON (members checks it first).

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string token at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// outputEnvelope returns {"output": v}. A json.RawMessage is checked and
// copied in without reflection.
func outputEnvelope(v any) ([]byte, error) {
	const head, tail = `{"output":`, `}`
	if raw, ok := v.(json.RawMessage); ok {
		if len(raw) == 0 {
			raw = json.RawMessage("null")
		}
		if !json.Valid(raw) {
			return nil, errors.New("json.RawMessage output is not valid JSON")
		}
		out := make([]byte, 0, len(head)+len(raw)+len(tail))
		return append(append(append(out, head...), raw...), tail...), nil
	}
	b, err := marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(head)+len(b)+len(tail))
	return append(append(append(out, head...), b...), tail...), nil
}
