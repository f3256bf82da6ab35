package validate_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/splicehq/splice/host/validate"
)

func TestCompile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		schema  string
		keyword string // "" when the schema compiles
		path    string
	}{
		{"empty object", `{}`, "", ""},
		{"true", `true`, "", ""},
		{"false", `false`, "", ""},
		{"object", `{"type":"object","required":["a"],"properties":{"a":{"type":"string"}}}`, "", ""},
		{"draft-07", `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"a":{}},"$ref":"#/definitions/a"}`, "", ""},
		{"recursive", `{"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}`, "", ""},
		{"not JSON", `{`, "json", ""},
		{"too large", `"` + strings.Repeat("a", validate.MaxBytes) + `"`, "maxBytes", ""},
		{"deepest", strings.Repeat(`{"items":`, validate.MaxDepth-1) + `{}` + strings.Repeat(`}`, validate.MaxDepth-1), "", ""},
		{"too deep", strings.Repeat(`{"items":`, validate.MaxDepth) + `{}` + strings.Repeat(`}`, validate.MaxDepth), "maxDepth", strings.Repeat("/items", validate.MaxDepth)},
		{"too deep array", `{"enum":[` + strings.Repeat(`[`, validate.MaxDepth) + strings.Repeat(`]`, validate.MaxDepth) + `]}`, "maxDepth", "/enum/0" + strings.Repeat("/0", validate.MaxDepth-2)},
		{"number", `1`, "type", ""},
		{"bad type", `{"type":"objekt"}`, "enum", "/type"},
		{"bad regex", `{"patternProperties":{"(":{}}}`, "format", "/patternProperties"},
		{"remote ref", `{"$ref":"https://example.com/s.json"}`, "$ref", ""},
		{"unknown metaschema", `{"$schema":"file:///etc/passwd"}`, "$schema", "/$schema"},
		{"dangling ref", `{"properties":{"a":{"$ref":"#/$defs/b"}}}`, "$ref", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sch, err := validate.Compile([]byte(tc.schema))
			if tc.keyword == "" {
				if err != nil || sch == nil {
					t.Fatalf("Compile(%s) = %v, %v; want a schema", tc.schema, sch, err)
				}
				return
			}
			var ve *validate.Error
			if !errors.As(err, &ve) || sch != nil {
				t.Fatalf("Compile(%.100s) = %v, %v; want a *validate.Error", tc.schema, sch, err)
			}
			if ve.Subject != "schema" {
				t.Errorf("Subject = %q, want schema", ve.Subject)
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

func TestSchemaValidate(t *testing.T) {
	t.Parallel()
	sch, err := validate.Compile([]byte(`{
	  "type": "object",
	  "required": ["channel", "text"],
	  "additionalProperties": false,
	  "properties": {
	    "channel": {"type": "string", "pattern": "^#"},
	    "text": {"type": "string", "minLength": 1},
	    "email": {"type": "string", "format": "email"},
	    "a/b": {"type": "integer"},
	    "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}}
	  },
	  "$defs": {"tag": {"enum": ["x", "y"]}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		doc        string
		keyword    string // "" when the document is valid
		path       string
		schemaPath string
	}{
		{"valid", `{"channel":"#orders","text":"hi","tags":["x"],"a/b":1}`, "", "", ""},
		{"big integer", `{"channel":"#o","text":"t","a/b":123456789012345678901234567890}`, "", "", ""},
		{"not JSON", `{"channel":`, "json", "", ""},
		{"trailing data", `{} {}`, "json", "", ""},
		{"missing", `{"channel":"#o"}`, "required", "", "#/required"},
		{"extra", `{"channel":"#o","text":"t","x":1}`, "additionalProperties", "", "#/additionalProperties"},
		{"pattern", `{"channel":"orders","text":"t"}`, "pattern", "/channel", "#/properties/channel/pattern"},
		{"format asserted", `{"channel":"#o","text":"t","email":"not an email"}`, "format", "/email", "#/properties/email/format"},
		{"escaped path", `{"channel":"#o","text":"t","a/b":"1"}`, "type", "/a~1b", "#/properties/a~1b/type"},
		{"through ref", `{"channel":"#o","text":"t","tags":["x","z"]}`, "enum", "/tags/1", "#/$defs/tag/enum"},
		{"not an object", `[]`, "type", "", "#/type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := sch.Validate([]byte(tc.doc))
			if tc.keyword == "" {
				if err != nil {
					t.Fatalf("Validate(%s) = %v", tc.doc, err)
				}
				return
			}
			var ve *validate.Error
			if !errors.As(err, &ve) {
				t.Fatalf("Validate(%s) = %v, want a *validate.Error", tc.doc, err)
			}
			if ve.Subject != "document" {
				t.Errorf("Subject = %q, want document", ve.Subject)
			}
			for _, c := range ve.Causes {
				if c.Keyword == tc.keyword && c.InstancePath == tc.path && c.SchemaPath == tc.schemaPath {
					return
				}
			}
			t.Errorf("no cause with keyword %q at %q, schema path %q in:\n%s", tc.keyword, tc.path, tc.schemaPath, causes(ve))
		})
	}
}

// TestSchemaRefCycle checks that a schema whose references loop fails validation rather than
// looping forever.
func TestSchemaRefCycle(t *testing.T) {
	t.Parallel()
	sch, err := validate.Compile([]byte(`{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}`))
	if err != nil {
		// Refusing to compile it is as good.
		return
	}
	if err := sch.Validate([]byte(`1`)); err == nil {
		t.Error("Validate with a $ref cycle = nil, want an error")
	}
}

// TestConcurrent hammers one compiled schema and the shared manifest schema from many
// goroutines; run it with -race.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	sch, err := validate.Compile([]byte(`{"type":"object","properties":{"n":{"type":"integer","maximum":10}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				n := (g + i) % 20
				err := sch.Validate(fmt.Appendf(nil, `{"n":%d}`, n))
				if (err != nil) != (n > 10) {
					t.Errorf("Validate(n=%d) = %v", n, err)
				}
				if _, err := validate.Manifest([]byte(minimal)); err != nil {
					t.Errorf("Manifest(minimal) = %v", err)
				}
			}
		})
	}
	wg.Wait()
}

// TestPropertyNames checks that failures of propertyNames name the object that has the
// property.
func TestPropertyNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		schema string
		doc    string
	}{
		{"pattern", `{"properties":{"o":{"propertyNames":{"pattern":"^[a-z]+$"}}}}`, `{"o":{"ok":1,"NOT":2}}`},
		{"false", `{"properties":{"o":{"propertyNames":false}}}`, `{"o":{"a":1}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sch, err := validate.Compile([]byte(tc.schema))
			if err != nil {
				t.Fatal(err)
			}
			var ve *validate.Error
			if err := sch.Validate([]byte(tc.doc)); !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *validate.Error", err)
			}
			for _, c := range ve.Causes {
				if c.InstancePath != "/o" || !strings.HasPrefix(c.Message, "property name ") {
					t.Errorf("cause %v, want it at /o about a property name", c)
				}
			}
		})
	}
}
