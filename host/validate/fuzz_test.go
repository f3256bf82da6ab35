package validate_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/validate"
)

// FuzzManifest checks that Manifest never panics, that it fails only with a *validate.Error
// that has causes, and that what it accepts encodes to a manifest it accepts again.
func FuzzManifest(f *testing.F) {
	seeds := []string{
		minimal,
		full,
		patch(f, "", "triggers", "actions", "transforms"),
		patch(f, `{"auth":{"type":"apiKey","in":"header","name":"X-Key","format":"Bearer {{credential.k}}","fields":[{"key":"k","label":"K","secret":true}]}}`),
		patch(f, `{"hosts":["*.example.com","10.0.0.1","*.com","1.2.3"]}`),
		patch(f, `{"limits":{"memoryMiB":64.0,"timeoutMs":1e3,"httpCalls":0}}`),
		patch(f, action(`{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}`, `{"$ref":"file:///etc/passwd"}`)),
		patch(f, action(`{"$schema":"http://json-schema.org/draft-04/schema#","properties":{"a":{"pattern":"("}}}`, `{"$id":"https://json-schema.org/draft/2020-12/schema"}`)),
		patch(f, `{"actions":[{"key":"a","name":"A","inputSchema":{},"outputSchema":{}},{"key":"a","name":"A","inputSchema":{},"outputSchema":{}}]}`),
		patch(f, `{"version":"1.0","appKey":"A","extra":1}`),
		`{}`, `[]`, `null`, `{"appKey":`, "\xff", ``, `{"auth":{"type":"oauth2"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := validate.Manifest(data)
		if err != nil {
			var ve *validate.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v (%T) is not a *validate.Error", err, err)
			}
			if len(ve.Causes) == 0 || !strings.HasPrefix(err.Error(), "validate: manifest: ") {
				t.Fatalf("malformed error %q", err)
			}
			if m != nil {
				t.Fatal("manifest returned with an error")
			}
			return
		}
		if m == nil || m.Hosts == nil || m.Triggers == nil || m.Actions == nil || m.Transforms == nil {
			t.Fatalf("Manifest returned %+v", m)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if len(out) > validate.MaxBytes {
			return // escaping grew it
		}
		if _, err := validate.Manifest(out); err != nil {
			t.Fatalf("accepted %q but not its encoding %q: %v", data, out, err)
		}
	})
}

// FuzzCompile checks that Compile and Validate never panic and fail only with a
// *validate.Error that has causes.
func FuzzCompile(f *testing.F) {
	f.Add([]byte(`{}`), []byte(`1`))
	f.Add([]byte(`{"type":"object","required":["a"],"properties":{"a":{"type":"string","pattern":"^a"}}}`), []byte(`{"a":"b"}`))
	f.Add([]byte(`{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}`), []byte(`{}`))
	f.Add([]byte(`{"$ref":"https://example.com/x"}`), []byte(`{}`))
	f.Add([]byte(`{"$schema":"http://json-schema.org/draft-07/schema#","items":[{}],"additionalItems":false}`), []byte(`[1,2]`))
	f.Add([]byte(`{"propertyNames":{"maxLength":1},"uniqueItems":true}`), []byte(`{"ab":[1,1]}`))
	f.Add([]byte(`{"format":"email","minimum":1e400}`), []byte(`"x"`))
	f.Fuzz(func(t *testing.T, schema, doc []byte) {
		check := func(subject string, err error) {
			var ve *validate.Error
			if !errors.As(err, &ve) || ve.Subject != subject || len(ve.Causes) == 0 {
				t.Fatalf("%s error %v (%T) is not a *validate.Error with causes", subject, err, err)
			}
		}
		sch, err := validate.Compile(schema)
		if err != nil {
			check("schema", err)
			return
		}
		if err := sch.Validate(doc); err != nil {
			check("document", err)
		}
	})
}
