package main

import (
	"encoding/json"
	"testing"
)

func TestManifest(t *testing.T) {
	t.Parallel()
	b, err := connector.Manifest()
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	var m struct {
		AppKey string   `json:"appKey"`
		Hosts  []string `json:"hosts"`
		Auth   struct {
			Type   string `json:"type"`
			Fields []struct {
				Key    string `json:"key"`
				Secret bool   `json:"secret"`
			} `json:"fields"`
		} `json:"auth"`
		Actions []struct{ Key string } `json:"actions"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest %s: %v", b, err)
	}
	if m.AppKey != "http-probe" || len(m.Hosts) != 4 || m.Auth.Type != "apiKey" || len(m.Auth.Fields) != 1 ||
		!m.Auth.Fields[0].Secret || len(m.Actions) != 4 {
		t.Errorf("manifest = %s", b)
	}
}

// TestActions runs each action natively, where the PDK answers like a host
// without an HTTP broker: every request fails with kind unavailable.
func TestActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, want string
	}{
		{"fetch", `{"key":"fetch","params":{"url":"http://127.0.0.1/x","auth":true,"bodyBase64":"/w=="}}`,
			`{"output":{"error":{"kind":"unavailable","message":"the host has no HTTP broker for this call"}}}`},
		{"fetch-many", `{"key":"fetch-many","params":{"url":"http://127.0.0.1/x","count":3}}`,
			`{"output":{"statuses":[],"errors":["unavailable","unavailable","unavailable"]}}`},
		{"echo-secret-attempt", `{"key":"echo-secret-attempt","params":{"url":"http://127.0.0.1/x"}}`,
			`{"output":{"sent":{"method":"GET","url":"http://127.0.0.1/x","headers":{},"auth":true},` +
				`"received":{"error":{"kind":"unavailable","message":"the host has no HTTP broker for this call"}}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := connector.Call("action", []byte(tc.input))
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("output =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if _, err := connector.Call("action", []byte(`{"key":"fetch","params":{"url":"u","bodyBase64":"*"}}`)); err == nil {
		t.Error("fetch with a bad bodyBase64: no error")
	}
}
