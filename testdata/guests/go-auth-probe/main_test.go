package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	pdk "github.com/splicehq/splice/pdk/go"
)

func TestManifest(t *testing.T) {
	t.Parallel()
	b, err := connector.Manifest()
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	var m struct {
		AppKey  string   `json:"appKey"`
		Name    string   `json:"name"`
		Version string   `json:"version"`
		Hosts   []string `json:"hosts"`
		Auth    struct {
			Type   string `json:"type"`
			In     string `json:"in"`
			Name   string `json:"name"`
			Format string `json:"format"`
			Fields []struct {
				Key    string `json:"key"`
				Label  string `json:"label"`
				Secret bool   `json:"secret"`
			} `json:"fields"`
		} `json:"auth"`
		Actions []struct{ Key string } `json:"actions"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest %s: %v", b, err)
	}
	a := m.Auth
	if m.AppKey != "auth-probe" || m.Name != "Auth probe" || m.Version != "1.0.0" ||
		len(m.Hosts) != 1 || m.Hosts[0] != "127.0.0.1" ||
		a.Type != "custom" || a.In != "header" || a.Name != "Authorization" ||
		a.Format != "Session {{credential.session}}" || len(a.Fields) != 2 ||
		a.Fields[0].Key != "username" || a.Fields[0].Secret ||
		a.Fields[1].Key != "password" || !a.Fields[1].Secret ||
		len(m.Actions) != 1 || m.Actions[0].Key != "whoami" {
		t.Errorf("manifest = %s", b)
	}
}

// TestAuth runs the auth export natively, where the PDK answers like a host
// without an HTTP broker: every request fails with kind unavailable.
func TestAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, want string
	}{
		{"no loginUrl", `{"op":"test","config":{}}`, "config loginUrl is missing"},
		{"loginUrl not a string", `{"op":"refresh","config":{"loginUrl":1}}`, "config loginUrl is missing"},
		{"unknown op", `{"op":"revoke","config":{"loginUrl":"http://127.0.0.1/login"}}`, `unknown op "revoke"`},
		{"test without broker", `{"op":"test","config":{"loginUrl":"http://127.0.0.1/login"}}`, "unavailable"},
		{"refresh without broker", `{"op":"refresh","config":{"loginUrl":"http://127.0.0.1/login"}}`, "unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := connector.Call("auth", []byte(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Call = %s, %v; want an error containing %q", got, err, tc.want)
			}
		})
	}
	_, err := connector.Call("auth", []byte(`{"op":"test","config":{"loginUrl":"http://127.0.0.1/login"}}`))
	if _, ok := errors.AsType[*pdk.HTTPError](err); !ok {
		t.Errorf("test without broker: error %v is not an *HTTPError", err)
	}
}
