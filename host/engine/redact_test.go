package engine

import (
	"encoding/json"
	"testing"
)

func TestRedactInput(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","properties":{
	  "token":{"type":"string","secret":true},
	  "nested":{"type":"object","properties":{"password":{"secret":true},"user":{}}},
	  "list":{"type":"array","items":{"type":"object","properties":{"key":{"secret":true},"n":{}}}}}}`)
	in := json.RawMessage(`{"token":"t0k","nested":{"password":"p","user":"ann"},"list":[{"key":"k1","n":1},{"n":2.50}],"other":"x"}`)
	got := redactInput(schema, in)
	want := `{"list":[{"key":"[redacted]","n":1},{"n":2.50}],"nested":{"password":"[redacted]","user":"ann"},"other":"x","token":"[redacted]"}`
	if string(got) != want {
		t.Errorf("redactInput:\n got %s\nwant %s", got, want)
	}
	plain := json.RawMessage(`{"type":"object"}`)
	if out := redactInput(plain, in); string(out) != string(in) {
		t.Errorf("a schema without secrets changed the input: %s", out)
	}
}
