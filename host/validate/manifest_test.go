package validate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/validate"
	"github.com/splicehq/splice/schemas"
)

// minimal is the smallest valid manifest, the one the conformance guests describe.
const minimal = `{"appKey":"conformance","name":"Conformance","version":"1.0.0","auth":{"type":"none"},"hosts":[],"triggers":[],"actions":[],"transforms":[]}`

// full is a valid manifest that uses every field.
const full = `{
  "appKey": "shop",
  "name": "Shop",
  "version": "2.1.0-rc.1+build.5",
  "description": "Orders and customers.",
  "auth": {
    "type": "oauth2",
    "in": "header",
    "name": "Authorization",
    "format": "Bearer {{credential.accessToken}}",
    "fields": [{"key": "shop", "label": "Shop name", "description": "The part before .example.com"}, {"key": "apiSecret", "label": "Secret", "secret": true}],
    "authorizeUrl": "https://shop.example.com/oauth/authorize",
    "tokenUrl": "https://shop.example.com/oauth/token?grant=x",
    "scopes": ["orders:read", "customers:read"],
    "scopeSeparator": ",",
    "clientAuth": "body"
  },
  "hosts": ["api.shop.example.com", "*.cdn.example.com", "localhost", "127.0.0.1"],
  "triggers": [
    {"key": "new-order", "name": "New order", "kind": "webhook",
     "inputSchema": {"type": "object", "properties": {"minTotal": {"type": "number"}}},
     "payloadSchema": {"type": "object", "required": ["order"], "properties": {"order": {"$ref": "#/$defs/order"}}, "$defs": {"order": {"type": "object"}}}},
    {"key": "new-customer", "name": "New customer", "kind": "polling", "inputSchema": {}, "payloadSchema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}}
  ],
  "actions": [
    {"key": "refund", "name": "Refund", "description": "Refunds an order.", "inputSchema": {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}, "outputSchema": {"type": "object"}}
  ],
  "transforms": [
    {"key": "total", "name": "Total"},
    {"key": "cents", "name": "Cents", "inputSchema": {"type": "number"}, "outputSchema": {"type": "integer"}}
  ],
  "limits": {"memoryMiB": 64, "timeoutMs": 600000, "outputBytes": 1, "logBytes": 1, "httpCalls": 0, "httpResponseBytes": 1048576}
}`

// patch returns the minimal manifest with the top-level fields of set replaced or added and
// those named in drop removed.
func patch(t testing.TB, set string, drop ...string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(minimal), &m); err != nil {
		t.Fatal(err)
	}
	if set != "" {
		if err := json.Unmarshal([]byte(set), &m); err != nil {
			t.Fatalf("patch %s: %v", set, err)
		}
	}
	for _, k := range drop {
		delete(m, k)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// action returns a one-action "actions" patch with the given schemas.
func action(input, output string) string {
	return `{"actions":[{"key":"a","name":"A","inputSchema":` + input + `,"outputSchema":` + output + `}]}`
}

func TestManifestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		data  string
		check func(t *testing.T, m *abi.Manifest)
	}{
		{"minimal", minimal, func(t *testing.T, m *abi.Manifest) {
			want := &abi.Manifest{
				AppKey: "conformance", Name: "Conformance", Version: "1.0.0", Auth: abi.Auth{Type: abi.AuthNone},
				Hosts: []string{}, Triggers: []abi.Trigger{}, Actions: []abi.Action{}, Transforms: []abi.Transform{},
			}
			if diff := cmp.Diff(want, m); diff != "" {
				t.Errorf("manifest mismatch (-want +got):\n%s", diff)
			}
		}},
		{"lists default to empty", patch(t, "", "triggers", "actions", "transforms"), func(t *testing.T, m *abi.Manifest) {
			if m.Triggers == nil || m.Actions == nil || m.Transforms == nil {
				t.Errorf("nil list in %+v", m)
			}
		}},
		{"full", full, func(t *testing.T, m *abi.Manifest) {
			if diff := cmp.Diff([]string{"describe", "auth", "trigger", "action", "transform"}, m.Exports()); diff != "" {
				t.Errorf("Exports() mismatch (-want +got):\n%s", diff)
			}
			if got := string(m.Actions[0].OutputSchema); got != `{"type": "object"}` {
				t.Errorf("outputSchema = %s, want it byte for byte", got)
			}
			if m.Limits == nil || m.Limits.HTTPCalls == nil || *m.Limits.HTTPCalls != 0 {
				t.Errorf("limits = %+v, want httpCalls 0", m.Limits)
			}
		}},
		{"apiKey in query", patch(t, `{"auth":{"type":"apiKey","in":"query","name":"api_key","fields":[{"key":"apiKey","label":"API key","secret":true}]}}`), nil},
		{"apiKey in header", patch(t, `{"auth":{"type":"apiKey","in":"header","name":"X-Api-Key","format":"Token {{credential.apiKey}}"}}`), nil},
		{"basic", patch(t, `{"auth":{"type":"basic","fields":[{"key":"username","label":"User"},{"key":"password","label":"Password","secret":true}]}}`), nil},
		{"custom", patch(t, `{"auth":{"type":"custom"}}`), func(t *testing.T, m *abi.Manifest) {
			if diff := cmp.Diff([]string{"describe", "auth"}, m.Exports()); diff != "" {
				t.Errorf("Exports() mismatch (-want +got):\n%s", diff)
			}
		}},
		{"semver pre-release and build", patch(t, `{"version":"0.0.0-alpha-1.0.x-y.7+20130313144700.sha-5114f85"}`), nil},
		{"host globs", patch(t, `{"hosts":["example.com","*.example.co.uk","a-b.c0.example","10.0.0.1","localhost","xn--bcher-kva.example"]}`), nil},
		{"integral limits", patch(t, `{"limits":{"memoryMiB":64.0,"timeoutMs":1e3}}`), func(t *testing.T, m *abi.Manifest) {
			if *m.Limits.MemoryMiB != 64 || *m.Limits.TimeoutMs != 1000 {
				t.Errorf("limits = %d, %d; want 64, 1000", *m.Limits.MemoryMiB, *m.Limits.TimeoutMs)
			}
		}},
		{"empty limits", patch(t, `{"limits":{}}`), nil},
		{"schemas with internal refs", patch(t, action(`{"$ref":"#/$defs/a","$defs":{"a":{"type":"object"}}}`, `{"$id":"https://x.example/out.json","$ref":"#/$defs/b","$defs":{"b":{}}}`)), nil},
		{"schemas with older drafts", patch(t, action(`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}`, `{"$schema":"https://json-schema.org/draft/2019-09/schema"}`)), nil},
		{"unknown format", patch(t, action(`{"format":"no-such-format"}`, `{}`)), nil},
		{"same $id in two schemas", patch(t, action(`{"$id":"https://x.example/s.json"}`, `{"$id":"https://x.example/s.json"}`)), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := validate.Manifest([]byte(tc.data))
			if err != nil {
				t.Fatalf("Manifest(%s) = %v", tc.data, err)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func TestManifestInvalid(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 101)
	tests := []struct {
		name    string
		data    string
		keyword string
		path    string
	}{
		// Not a JSON document, or too large.
		{"empty", ``, "json", ""},
		{"not JSON", `{"appKey":`, "json", ""},
		{"garbage", `appKey: x`, "json", ""},
		{"two documents", minimal + minimal, "json", ""},
		{"invalid UTF-8", patch(t, `{"name":"A"}`)[:len(patch(t, `{"name":"A"}`))-1] + "\xff}", "json", ""},
		{"over 1 MiB", patch(t, `{"description":"`+strings.Repeat(" ", validate.MaxBytes)+`"}`), "maxBytes", ""},
		{"too deep", patch(t, action(strings.Repeat(`{"items":`, 70)+`{}`+strings.Repeat(`}`, 70), `{}`)), "maxDepth", "/actions/0/inputSchema" + strings.Repeat("/items", 61)},
		{"array", `[]`, "type", ""},
		{"null", `null`, "type", ""},

		// Top level.
		{"nothing", `{}`, "required", ""},
		{"no appKey", patch(t, "", "appKey"), "required", ""},
		{"no hosts", patch(t, "", "hosts"), "required", ""},
		{"no auth", patch(t, "", "auth"), "required", ""},
		{"unknown field", patch(t, `{"app":"x"}`), "additionalProperties", ""},
		{"appKey uppercase", patch(t, `{"appKey":"Shop"}`), "pattern", "/appKey"},
		{"appKey leading digit", patch(t, `{"appKey":"1shop"}`), "pattern", "/appKey"},
		{"appKey 64 characters", patch(t, `{"appKey":"a`+strings.Repeat("b", 63)+`"}`), "pattern", "/appKey"},
		{"appKey number", patch(t, `{"appKey":1}`), "type", "/appKey"},
		{"name empty", patch(t, `{"name":""}`), "minLength", "/name"},
		{"name blank", patch(t, `{"name":"   "}`), "pattern", "/name"},
		{"name 101 characters", patch(t, `{"name":"`+long+`"}`), "maxLength", "/name"},
		{"version two parts", patch(t, `{"version":"1.0"}`), "pattern", "/version"},
		{"version leading zero", patch(t, `{"version":"01.0.0"}`), "pattern", "/version"},
		{"version v prefix", patch(t, `{"version":"v1.0.0"}`), "pattern", "/version"},
		{"version empty pre-release", patch(t, `{"version":"1.0.0-"}`), "pattern", "/version"},
		{"version pre-release leading zero", patch(t, `{"version":"1.0.0-01"}`), "pattern", "/version"},
		{"description too long", patch(t, `{"description":"`+strings.Repeat("d", 2001)+`"}`), "maxLength", "/description"},

		// Auth.
		{"auth type unknown", patch(t, `{"auth":{"type":"token"}}`), "enum", "/auth/type"},
		{"auth type missing", patch(t, `{"auth":{}}`), "required", "/auth"},
		{"auth unknown field", patch(t, `{"auth":{"type":"none","header":"x"}}`), "additionalProperties", "/auth"},
		{"apiKey without in and name", patch(t, `{"auth":{"type":"apiKey"}}`), "required", "/auth"},
		{"apiKey in cookie", patch(t, `{"auth":{"type":"apiKey","in":"cookie","name":"k"}}`), "enum", "/auth/in"},
		{"apiKey header name with colon", patch(t, `{"auth":{"type":"apiKey","in":"header","name":"X-Key:"}}`), "pattern", "/auth/name"},
		{"apiKey query name with space", patch(t, `{"auth":{"type":"apiKey","in":"query","name":"api key"}}`), "pattern", "/auth/name"},
		{"format empty", patch(t, `{"auth":{"type":"apiKey","in":"query","name":"k","format":""}}`), "minLength", "/auth/format"},
		{"oauth2 without URLs", patch(t, `{"auth":{"type":"oauth2"}}`), "required", "/auth"},
		{"oauth2 http token URL", patch(t, `{"auth":{"type":"oauth2","authorizeUrl":"https://a.example/auth","tokenUrl":"http://a.example/token"}}`), "pattern", "/auth/tokenUrl"},
		{"oauth2 token URL no host", patch(t, `{"auth":{"type":"oauth2","authorizeUrl":"https://a.example/auth","tokenUrl":"https:///token"}}`), "pattern", "/auth/tokenUrl"},
		{"oauth2 authorize URL with space", patch(t, `{"auth":{"type":"oauth2","authorizeUrl":"https://a.example/a b","tokenUrl":"https://a.example/token"}}`), "pattern", "/auth/authorizeUrl"},
		{"oauth2 clientAuth unknown", patch(t, `{"auth":{"type":"oauth2","authorizeUrl":"https://a.example/a","tokenUrl":"https://a.example/t","clientAuth":"form"}}`), "enum", "/auth/clientAuth"},
		{"oauth2 scopes repeat", patch(t, `{"auth":{"type":"oauth2","authorizeUrl":"https://a.example/a","tokenUrl":"https://a.example/t","scopes":["a","a"]}}`), "uniqueItems", "/auth/scopes"},
		{"oauth2 scope with space", patch(t, `{"auth":{"type":"oauth2","authorizeUrl":"https://a.example/a","tokenUrl":"https://a.example/t","scopes":["a b"]}}`), "pattern", "/auth/scopes/0"},
		{"field unknown property", patch(t, `{"auth":{"type":"basic","fields":[{"key":"u","label":"U","type":"text"}]}}`), "additionalProperties", "/auth/fields/0"},
		{"field key with hyphen", patch(t, `{"auth":{"type":"basic","fields":[{"key":"api-key","label":"U"}]}}`), "pattern", "/auth/fields/0/key"},
		{"field without label", patch(t, `{"auth":{"type":"basic","fields":[{"key":"u"}]}}`), "required", "/auth/fields/0"},
		{"field secret not boolean", patch(t, `{"auth":{"type":"basic","fields":[{"key":"u","label":"U","secret":"yes"}]}}`), "type", "/auth/fields/0/secret"},
		{"field keys repeat", patch(t, `{"auth":{"type":"basic","fields":[{"key":"u","label":"U"},{"key":"p","label":"P"},{"key":"u","label":"V"}]}}`), "uniqueKeys", "/auth/fields/2/key"},

		// Hosts.
		{"hosts not an array", patch(t, `{"hosts":"api.example.com"}`), "type", "/hosts"},
		{"host with scheme", patch(t, `{"hosts":["https://api.example.com"]}`), "pattern", "/hosts/0"},
		{"host with port", patch(t, `{"hosts":["a.example","api.example.com:443"]}`), "pattern", "/hosts/1"},
		{"host with path", patch(t, `{"hosts":["api.example.com/v1"]}`), "pattern", "/hosts/0"},
		{"host with whitespace", patch(t, `{"hosts":["api.example.com "]}`), "pattern", "/hosts/0"},
		{"host uppercase", patch(t, `{"hosts":["API.example.com"]}`), "pattern", "/hosts/0"},
		{"host star", patch(t, `{"hosts":["*"]}`), "pattern", "/hosts/0"},
		{"host inner star", patch(t, `{"hosts":["api.*.example.com"]}`), "pattern", "/hosts/0"},
		{"host double star", patch(t, `{"hosts":["*.*.example.com"]}`), "pattern", "/hosts/0"},
		{"host trailing dot", patch(t, `{"hosts":["example.com."]}`), "pattern", "/hosts/0"},
		{"host label leading hyphen", patch(t, `{"hosts":["-a.example.com"]}`), "pattern", "/hosts/0"},
		{"host IPv6", patch(t, `{"hosts":["[::1]"]}`), "pattern", "/hosts/0"},
		{"host empty", patch(t, `{"hosts":[""]}`), "pattern", "/hosts/0"},
		{"hosts repeat", patch(t, `{"hosts":["a.example","a.example"]}`), "uniqueItems", "/hosts"},
		{"host wildcard over a TLD", patch(t, `{"hosts":["*.com"]}`), "hostGlob", "/hosts/0"},
		{"host wildcard over IPs", patch(t, `{"hosts":["*.10.0.0"]}`), "hostGlob", "/hosts/0"},
		{"host three numbers", patch(t, `{"hosts":["a.example","1.2.3"]}`), "hostGlob", "/hosts/1"},
		{"host IPv4 out of range", patch(t, `{"hosts":["256.1.1.1"]}`), "hostGlob", "/hosts/0"},
		{"host IPv4 leading zero", patch(t, `{"hosts":["010.1.1.1"]}`), "hostGlob", "/hosts/0"},
		{"host numeric TLD", patch(t, `{"hosts":["example.123"]}`), "hostGlob", "/hosts/0"},

		// Triggers, actions, transforms.
		{"triggers null", patch(t, `{"triggers":null}`), "type", "/triggers"},
		{"trigger without kind", patch(t, `{"triggers":[{"key":"t","name":"T","inputSchema":{},"payloadSchema":{}}]}`), "required", "/triggers/0"},
		{"trigger kind unknown", patch(t, `{"triggers":[{"key":"t","name":"T","kind":"push","inputSchema":{},"payloadSchema":{}}]}`), "enum", "/triggers/0/kind"},
		{"trigger unknown field", patch(t, `{"triggers":[{"key":"t","name":"T","kind":"webhook","inputSchema":{},"payloadSchema":{},"path":"/x"}]}`), "additionalProperties", "/triggers/0"},
		{"trigger inputSchema array", patch(t, `{"triggers":[{"key":"t","name":"T","kind":"webhook","inputSchema":[],"payloadSchema":{}}]}`), "type", "/triggers/0/inputSchema"},
		{"trigger inputSchema boolean", patch(t, `{"triggers":[{"key":"t","name":"T","kind":"webhook","inputSchema":true,"payloadSchema":{}}]}`), "type", "/triggers/0/inputSchema"},
		{"trigger key with underscore", patch(t, `{"triggers":[{"key":"new_order","name":"T","kind":"webhook","inputSchema":{},"payloadSchema":{}}]}`), "pattern", "/triggers/0/key"},
		{"trigger keys repeat", patch(t, `{"triggers":[{"key":"t","name":"T","kind":"webhook","inputSchema":{},"payloadSchema":{}},{"key":"t","name":"U","kind":"polling","inputSchema":{},"payloadSchema":{}}]}`), "uniqueKeys", "/triggers/1/key"},
		{"trigger payloadSchema invalid", patch(t, `{"triggers":[{"key":"t","name":"T","kind":"webhook","inputSchema":{},"payloadSchema":{"properties":{"a":{"minLength":-1}}}}]}`), "minimum", "/triggers/0/payloadSchema/properties/a/minLength"},
		{"action without outputSchema", patch(t, `{"actions":[{"key":"a","name":"A","inputSchema":{}}]}`), "required", "/actions/0"},
		{"action without name", patch(t, `{"actions":[{"key":"a","inputSchema":{},"outputSchema":{}}]}`), "required", "/actions/0"},
		{"action keys repeat", patch(t, `{"actions":[{"key":"a","name":"A","inputSchema":{},"outputSchema":{}},{"key":"b","name":"B","inputSchema":{},"outputSchema":{}},{"key":"a","name":"C","inputSchema":{},"outputSchema":{}}]}`), "uniqueKeys", "/actions/2/key"},
		{"action inputSchema bad type", patch(t, action(`{"type":"objekt"}`, `{}`)), "enum", "/actions/0/inputSchema/type"},
		{"action inputSchema bad regex", patch(t, action(`{"properties":{"a":{"pattern":"("}}}`, `{}`)), "format", "/actions/0/inputSchema/properties/a/pattern"},
		{"action inputSchema remote ref", patch(t, action(`{"$ref":"https://evil.example.com/s.json"}`, `{}`)), "$ref", "/actions/0/inputSchema"},
		{"action inputSchema file ref", patch(t, action(`{"$ref":"file:///etc/passwd"}`, `{}`)), "$ref", "/actions/0/inputSchema"},
		{"action inputSchema relative ref", patch(t, action(`{"$ref":"other.json"}`, `{}`)), "$ref", "/actions/0/inputSchema"},
		{"action outputSchema dangling ref", patch(t, action(`{}`, `{"$ref":"#/$defs/missing"}`)), "$ref", "/actions/0/outputSchema"},
		{"action outputSchema missing anchor", patch(t, action(`{}`, `{"$ref":"#nowhere"}`)), "$ref", "/actions/0/outputSchema"},
		{"action outputSchema unknown metaschema", patch(t, action(`{}`, `{"$schema":"https://example.com/meta"}`)), "$schema", "/actions/0/outputSchema/$schema"},
		{"transform without name", patch(t, `{"transforms":[{"key":"x"}]}`), "required", "/transforms/0"},
		{"transform keys repeat", patch(t, `{"transforms":[{"key":"x","name":"X"},{"key":"x","name":"Y"}]}`), "uniqueKeys", "/transforms/1/key"},
		{"transform outputSchema invalid", patch(t, `{"transforms":[{"key":"x","name":"X","outputSchema":{"required":"a"}}]}`), "type", "/transforms/0/outputSchema/required"},

		// Limits.
		{"limits unknown field", patch(t, `{"limits":{"memoryMB":64}}`), "additionalProperties", "/limits"},
		{"memoryMiB zero", patch(t, `{"limits":{"memoryMiB":0}}`), "minimum", "/limits/memoryMiB"},
		{"memoryMiB above 4096", patch(t, `{"limits":{"memoryMiB":4097}}`), "maximum", "/limits/memoryMiB"},
		{"memoryMiB fraction", patch(t, `{"limits":{"memoryMiB":1.5}}`), "type", "/limits/memoryMiB"},
		{"memoryMiB string", patch(t, `{"limits":{"memoryMiB":"64"}}`), "type", "/limits/memoryMiB"},
		{"timeoutMs above 600000", patch(t, `{"limits":{"timeoutMs":600001}}`), "maximum", "/limits/timeoutMs"},
		{"outputBytes zero", patch(t, `{"limits":{"outputBytes":0}}`), "minimum", "/limits/outputBytes"},
		{"outputBytes huge", patch(t, `{"limits":{"outputBytes":1e300}}`), "maximum", "/limits/outputBytes"},
		{"logBytes zero", patch(t, `{"limits":{"logBytes":0}}`), "minimum", "/limits/logBytes"},
		{"httpCalls negative", patch(t, `{"limits":{"httpCalls":-1}}`), "minimum", "/limits/httpCalls"},
		{"httpResponseBytes zero", patch(t, `{"limits":{"httpResponseBytes":0}}`), "minimum", "/limits/httpResponseBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := validate.Manifest([]byte(tc.data))
			if err == nil {
				t.Fatalf("Manifest(%.200s) = %+v, want an error", tc.data, m)
			}
			if m != nil {
				t.Errorf("Manifest returned %+v with an error", m)
			}
			var ve *validate.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v (%T) is not a *validate.Error", err, err)
			}
			if ve.Subject != "manifest" || !strings.HasPrefix(err.Error(), "validate: manifest: ") {
				t.Errorf("error %q does not name the manifest", err)
			}
			for _, c := range ve.Causes {
				if c.Keyword == tc.keyword && c.InstancePath == tc.path {
					return
				}
			}
			t.Errorf("no cause with keyword %q at %q in:\n%s", tc.keyword, tc.path, causes(ve))
		})
	}
}

// causes lists the causes of e, one a line.
func causes(e *validate.Error) string {
	var sb strings.Builder
	for _, c := range e.Causes {
		sb.WriteString("  " + c.String() + " [" + c.SchemaPath + "]\n")
	}
	return sb.String()
}

// TestManifestCauses checks every field of the causes of one invalid manifest, and their
// order.
func TestManifestCauses(t *testing.T) {
	t.Parallel()
	data := patch(t, `{"version":"1.0","hosts":["a.example","http://b.example"],"extra":true}`)
	_, err := validate.Manifest([]byte(data))
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("Manifest() error = %v, want a *validate.Error", err)
	}
	want := []validate.Cause{
		{Keyword: "additionalProperties", InstancePath: "", SchemaPath: "#/additionalProperties", Message: "additional properties 'extra' not allowed"},
		{Keyword: "pattern", InstancePath: "/hosts/1", SchemaPath: "#/$defs/hostGlob/pattern"},
		{Keyword: "pattern", InstancePath: "/version", SchemaPath: "#/properties/version/pattern"},
	}
	ignoreLongMessages := cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Message"
	}, cmp.Comparer(func(a, b string) bool { return a == "" || b == "" || a == b }))
	if diff := cmp.Diff(want, ve.Causes, ignoreLongMessages); diff != "" {
		t.Errorf("causes mismatch (-want +got):\n%s", diff)
	}
}

// TestManifestSemanticOnlyWhenSchemaValid checks that checks beyond the schema wait for the
// schema to pass, so that they see well-typed values.
func TestManifestSemanticOnlyWhenSchemaValid(t *testing.T) {
	t.Parallel()
	data := patch(t, `{"version":"x","hosts":["*.com"]}`)
	_, err := validate.Manifest([]byte(data))
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("Manifest() error = %v, want a *validate.Error", err)
	}
	for _, c := range ve.Causes {
		if c.Keyword == "hostGlob" {
			t.Errorf("semantic cause %v reported with schema failures", c)
		}
	}
}

// TestManifestRoundTrip checks that a valid manifest encodes to a valid manifest that decodes
// to the same value.
func TestManifestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, data := range []string{minimal, full, patch(t, `{"limits":{"memoryMiB":64.0}}`, "triggers")} {
		m, err := validate.Manifest([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := validate.Manifest(out)
		if err != nil {
			t.Fatalf("re-encoded manifest %s: %v", out, err)
		}
		normalize := cmp.Transformer("compact", func(r json.RawMessage) string {
			var v any
			if err := json.Unmarshal(r, &v); err != nil {
				return string(r)
			}
			b, _ := json.Marshal(v)
			return string(b)
		})
		if diff := cmp.Diff(m, m2, normalize); diff != "" {
			t.Errorf("round trip mismatch (-first +second):\n%s", diff)
		}
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	c := func(path, kw string) validate.Cause {
		return validate.Cause{Keyword: kw, InstancePath: path, Message: "m"}
	}
	tests := []struct {
		name string
		err  *validate.Error
		want string
	}{
		{"one", &validate.Error{Subject: "manifest", Causes: []validate.Cause{c("/version", "pattern")}}, "validate: manifest: /version: pattern: m"},
		{"root", &validate.Error{Subject: "document", Causes: []validate.Cause{c("", "required")}}, "validate: document: (root): required: m"},
		{"none", &validate.Error{Subject: "schema"}, "validate: schema: invalid"},
		{
			"many",
			&validate.Error{Subject: "manifest", Causes: []validate.Cause{c("/a", "k"), c("/b", "k"), c("/c", "k"), c("/d", "k"), c("/e", "k"), c("/f", "k"), c("/g", "k")}},
			"validate: manifest: /a: k: m; /b: k: m; /c: k: m; /d: k: m; /e: k: m; and 2 more",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestManifestSchemaEmbedded checks that the embedded manifest schema compiles and rejects an
// empty object, through both Manifest and Compile.
func TestManifestSchemaEmbedded(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "schemas", schemas.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := fs.ReadFile(schemas.FS, schemas.ManifestFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, embedded) {
		t.Fatal("the embedded manifest schema differs from schemas/" + schemas.ManifestFile)
	}
	sch, err := validate.Compile(embedded)
	if err != nil {
		t.Fatalf("Compile(manifest schema) = %v", err)
	}
	for name, validateEmpty := range map[string]func() error{
		"Compile":  func() error { return sch.Validate([]byte(`{}`)) },
		"Manifest": func() error { _, err := validate.Manifest([]byte(`{}`)); return err },
	} {
		var ve *validate.Error
		if err := validateEmpty(); !errors.As(err, &ve) || ve.Causes[0].Keyword != "required" {
			t.Errorf("%s: {} gave %v, want a required failure", name, err)
		}
	}
	if err := sch.Validate([]byte(minimal)); err != nil {
		t.Errorf("Compile(manifest schema).Validate(minimal) = %v", err)
	}
}

func BenchmarkManifest(b *testing.B) {
	for _, bc := range []struct{ name, data string }{{"minimal", minimal}, {"full", full}} {
		b.Run(bc.name, func(b *testing.B) {
			data := []byte(bc.data)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := validate.Manifest(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
