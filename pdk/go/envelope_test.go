package pdk

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzMembers checks the hand-written envelope scanner against
// encoding/json: for any input it accepts, the members it reports are those
// encoding/json decodes into a map (last duplicate wins).
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{"key":"a","params":{"x":"}{\"]["},"n":[1,{"a":[]}],"b":true,"z":null}`,
		` { "k\u0065y" : "v" , "key":"w" } `,
		`{}`, `[]`, `"s"`, `{"a":1,}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		got := map[string]json.RawMessage{}
		err := members("x", input, func(key string, val []byte) error {
			got[key] = val
			return nil
		})
		var want map[string]json.RawMessage
		wantErr := json.Unmarshal(input, &want)
		if wantErr == nil && want == nil {
			wantErr = errNotRegistered // input was null: not an object
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("members(%q) error = %v, encoding/json error = %v", input, err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("members(%q) = %q, want %q", input, got, want)
		}
		for k, w := range want {
			var a, b bytes.Buffer
			json.Compact(&a, got[k])
			json.Compact(&b, w)
			if a.String() != b.String() {
				t.Fatalf("members(%q)[%q] = %q, want %q", input, k, got[k], w)
			}
		}
	})
}
