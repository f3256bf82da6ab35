package abi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splicehq/splice/host/abi"
)

func TestManifestExports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    abi.Manifest
		want []string
	}{
		{"empty", abi.Manifest{Auth: abi.Auth{Type: abi.AuthNone}}, []string{"describe"}},
		{"apiKey needs no auth export", abi.Manifest{Auth: abi.Auth{Type: abi.AuthAPIKey}}, []string{"describe"}},
		{"basic needs no auth export", abi.Manifest{Auth: abi.Auth{Type: abi.AuthBasic}}, []string{"describe"}},
		{"oauth2", abi.Manifest{Auth: abi.Auth{Type: abi.AuthOAuth2}}, []string{"describe", "auth"}},
		{"custom", abi.Manifest{Auth: abi.Auth{Type: abi.AuthCustom}}, []string{"describe", "auth"}},
		{"trigger", abi.Manifest{Triggers: []abi.Trigger{{Key: "t"}}}, []string{"describe", "trigger"}},
		{"action", abi.Manifest{Actions: []abi.Action{{Key: "a"}}}, []string{"describe", "action"}},
		{"transform", abi.Manifest{Transforms: []abi.Transform{{Key: "x"}}}, []string{"describe", "transform"}},
		{
			"everything",
			abi.Manifest{
				Auth:       abi.Auth{Type: abi.AuthCustom},
				Triggers:   []abi.Trigger{{Key: "t"}},
				Actions:    []abi.Action{{Key: "a"}, {Key: "b"}},
				Transforms: []abi.Transform{{Key: "x"}},
			},
			[]string{abi.ExportDescribe, abi.ExportAuth, abi.ExportTrigger, abi.ExportAction, abi.ExportTransform},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.m.Exports()); diff != "" {
				t.Errorf("Exports() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestManifestLookups(t *testing.T) {
	t.Parallel()
	m := abi.Manifest{
		Triggers:   []abi.Trigger{{Key: "new-order", Kind: abi.TriggerWebhook}, {Key: "new-customer", Kind: abi.TriggerPolling}},
		Actions:    []abi.Action{{Key: "send-message", Name: "Send"}, {Key: "delete-message", Name: "Delete"}},
		Transforms: []abi.Transform{{Key: "upper", Name: "Upper"}},
	}
	tests := []struct {
		name   string
		lookup func(key string) (string, bool)
		key    string
		want   string
		found  bool
	}{
		{"trigger found", func(k string) (string, bool) { t, ok := m.Trigger(k); return string(t.Kind), ok }, "new-customer", "polling", true},
		{"trigger missing", func(k string) (string, bool) { t, ok := m.Trigger(k); return string(t.Kind), ok }, "send-message", "", false},
		{"action found", func(k string) (string, bool) { a, ok := m.Action(k); return a.Name, ok }, "delete-message", "Delete", true},
		{"action missing", func(k string) (string, bool) { a, ok := m.Action(k); return a.Name, ok }, "new-order", "", false},
		{"transform found", func(k string) (string, bool) { x, ok := m.Transform(k); return x.Name, ok }, "upper", "Upper", true},
		{"transform missing", func(k string) (string, bool) { x, ok := m.Transform(k); return x.Name, ok }, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, found := tc.lookup(tc.key)
			if got != tc.want || found != tc.found {
				t.Errorf("lookup(%q) = %q, %v; want %q, %v", tc.key, got, found, tc.want, tc.found)
			}
		})
	}
}

func TestLimitsUnmarshal(t *testing.T) {
	t.Parallel()
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name    string
		in      string
		want    abi.Limits
		wantErr bool
	}{
		{"empty", `{}`, abi.Limits{}, false},
		{"null field is absent", `{"memoryMiB":null}`, abi.Limits{}, false},
		{
			"all",
			`{"memoryMiB":64,"timeoutMs":1000,"outputBytes":1,"logBytes":2,"httpCalls":0,"httpResponseBytes":3}`,
			abi.Limits{MemoryMiB: n(64), TimeoutMs: n(1000), OutputBytes: n(1), LogBytes: n(2), HTTPCalls: n(0), HTTPResponseBytes: n(3)},
			false,
		},
		{"integral fraction", `{"memoryMiB":64.0}`, abi.Limits{MemoryMiB: n(64)}, false},
		{"integral exponent", `{"timeoutMs":6.4e1}`, abi.Limits{TimeoutMs: n(64)}, false},
		{"2^53", `{"outputBytes":9007199254740992}`, abi.Limits{OutputBytes: n(1 << 53)}, false},
		{"beyond 2^53", `{"outputBytes":9007199254740993}`, abi.Limits{}, true},
		{"huge exponent", `{"outputBytes":1e400}`, abi.Limits{}, true},
		{"fraction", `{"memoryMiB":64.5}`, abi.Limits{}, true},
		{"string", `{"memoryMiB":"64"}`, abi.Limits{}, true},
		{"bool", `{"memoryMiB":true}`, abi.Limits{}, true},
		{"unknown field", `{"memoryMB":64}`, abi.Limits{}, true},
		{"not an object", `[]`, abi.Limits{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got abi.Limits
			err := json.Unmarshal([]byte(tc.in), &got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Unmarshal(%s) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestManifestRoundTrip checks that a manifest survives encoding and decoding, with schemas kept
// byte for byte and the schema's names as JSON keys.
func TestManifestRoundTrip(t *testing.T) {
	t.Parallel()
	in := `{"appKey":"shop","name":"Shop","version":"1.2.3-beta.1+b7","description":"Orders.",` +
		`"auth":{"type":"oauth2","in":"header","name":"Authorization","format":"Bearer {{credential.accessToken}}",` +
		`"fields":[{"key":"shop","label":"Shop name"},{"key":"token","label":"Token","secret":true}],` +
		`"authorizeUrl":"https://shop.example.com/oauth/authorize","tokenUrl":"https://shop.example.com/oauth/token",` +
		`"scopes":["read","write"],"scopeSeparator":",","clientAuth":"body"},` +
		`"hosts":["api.shop.example.com","*.cdn.example.com"],` +
		`"triggers":[{"key":"new-order","name":"New order","kind":"webhook","inputSchema":{"type":"object"},"payloadSchema":{"b":1,"a":2}}],` +
		`"actions":[{"key":"refund","name":"Refund","inputSchema":{},"outputSchema":{"type":"object"}}],` +
		`"transforms":[{"key":"total","name":"Total"}],` +
		`"limits":{"memoryMiB":32,"httpCalls":0}}`
	dec := json.NewDecoder(bytes.NewReader([]byte(in)))
	dec.DisallowUnknownFields()
	var m abi.Manifest
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, string(out)); diff != "" {
		t.Errorf("round trip mismatch (-in +out):\n%s", diff)
	}
}

// TestEnvelopeNames checks the JSON names of the export envelopes against DESIGN.md's table.
func TestEnvelopeNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"auth input", abi.AuthInput{Op: abi.AuthOpTest, Credential: map[string]string{"user": "u"}, Config: map[string]string{}},
			`{"op":"test","credential":{"user":"u"},"config":{}}`},
		{"auth output", abi.AuthOutput{OK: true, Set: map[string]string{"accessToken": "x"}}, `{"ok":true,"set":{"accessToken":"x"}}`},
		{"trigger input", abi.TriggerInput{
			Op: abi.TriggerOpReceive, Key: "new-order", Params: json.RawMessage(`{}`), State: json.RawMessage(`{"since":1}`),
			Request: &abi.HTTPRequest{
				Method: "POST", Path: "/hooks/production/a1", Headers: map[string][]string{"Content-Type": {"application/json"}},
				Query: map[string][]string{"x": {"1", "2"}}, Body: `{"id":1}`,
			},
			WebhookURL: "https://splice.example.com/hooks/production/a1",
		}, `{"op":"receive","key":"new-order","params":{},"state":{"since":1},"request":{"method":"POST","path":"/hooks/production/a1",` +
			`"headers":{"Content-Type":["application/json"]},"query":{"x":["1","2"]},"body":"{\"id\":1}"},` +
			`"webhookUrl":"https://splice.example.com/hooks/production/a1"}`},
		{"trigger output", abi.TriggerOutput{
			Events:   []abi.Event{{ID: "e1", Payload: json.RawMessage(`{"order":{}}`)}},
			State:    json.RawMessage(`{"since":2}`),
			Response: &abi.HTTPResponse{Status: 200, Headers: map[string][]string{"Content-Type": {"text/plain"}}, Body: "ok"},
		}, `{"events":[{"id":"e1","payload":{"order":{}}}],"state":{"since":2},"response":{"status":200,"headers":{"Content-Type":["text/plain"]},"body":"ok"}}`},
		{"action input", abi.ActionInput{Key: "send-message", Params: json.RawMessage(`{"text":"hi"}`), IdempotencyKey: "run1/notify"},
			`{"key":"send-message","params":{"text":"hi"},"idempotencyKey":"run1/notify"}`},
		{"action output", abi.ActionOutput{Output: json.RawMessage(`{"id":"m1"}`)}, `{"output":{"id":"m1"}}`},
		{"transform input", abi.TransformInput{Key: "upper", Input: json.RawMessage(`"a"`)}, `{"key":"upper","input":"a"}`},
		{"transform output", abi.TransformOutput{Output: json.RawMessage(`"A"`)}, `{"output":"A"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Marshal mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func ExampleManifest_Exports() {
	m := abi.Manifest{
		AppKey:  "chat",
		Auth:    abi.Auth{Type: abi.AuthOAuth2},
		Actions: []abi.Action{{Key: "send-message", Name: "Send message"}},
	}
	fmt.Println(m.Exports())
	a, ok := m.Action("send-message")
	fmt.Println(a.Name, ok)
	// Output:
	// [describe auth action]
	// Send message true
}
