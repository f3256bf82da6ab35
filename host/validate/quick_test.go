package validate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// TestQuickKnowsEveryField fails when jsonschema.Schema has a field that neither quick checks
// nor quickable refuses nor is known to never make a document invalid: a new library version may
// add a keyword that quick would otherwise ignore, and call valid what the library refuses.
func TestQuickKnowsEveryField(t *testing.T) {
	known := map[string]bool{
		// Checked by quick.
		"Bool": true, "Types": true, "Const": true, "Ref": true, "AllOf": true, "AnyOf": true,
		"Required": true, "Properties": true, "AdditionalProperties": true, "Items": true,
		"Items2020": true, "MinLength": true, "MaxLength": true, "Minimum": true, "Maximum": true,
		"ExclusiveMinimum": true, "ExclusiveMaximum": true,
		// Refused by quickable.
		"RecursiveRef": true, "DynamicRef": true, "Enum": true, "Not": true, "OneOf": true, "If": true,
		"Then": true, "Else": true, "Format": true, "MaxProperties": true, "MinProperties": true,
		"PropertyNames": true, "PatternProperties": true, "Dependencies": true,
		"DependentRequired": true, "DependentSchemas": true, "UnevaluatedProperties": true,
		"MinItems": true, "MaxItems": true, "UniqueItems": true, "Contains": true,
		"MinContains": true, "MaxContains": true, "AdditionalItems": true, "PrefixItems": true,
		"UnevaluatedItems": true, "Pattern": true, "ContentEncoding": true,
		"ContentMediaType": true, "ContentSchema": true, "MultipleOf": true, "Extensions": true,
		// Identification and annotations: they never make a document invalid.
		"DraftVersion": true, "Location": true, "ID": true, "Anchor": true, "RecursiveAnchor": true,
		"DynamicAnchor": true, "Title": true, "Description": true, "Default": true, "Comment": true,
		"ReadOnly": true, "WriteOnly": true, "Examples": true, "Deprecated": true,
	}
	typ := reflect.TypeFor[jsonschema.Schema]()
	for f := range typ.Fields() {
		if f.IsExported() && !known[f.Name] {
			t.Errorf("jsonschema.Schema.%s: unknown to quick; decide whether it checks it, refuses it or ignores it", f.Name)
		}
	}
}

// The chat connector's schemas (connectors/chat), which the load benchmark's runs validate.
const (
	chatSendInput = `{"type":"object","required":["channel","text"],"additionalProperties":false,
		"properties":{"channel":{"type":"string","minLength":1,"maxLength":80},
		"text":{"type":"string","minLength":1,"maxLength":4000},"threadId":{"type":"string"}}}`
	chatSendOutput = `{"type":"object","required":["ok","status","messageId"],"additionalProperties":false,
		"properties":{"ok":{"const":true},"status":{"type":"integer","minimum":200,"maximum":299},
		"messageId":{"type":["string","null"]}}}`
	chatFormatInput = `{"type":"object","properties":{"channel":{"type":"string","minLength":1,"maxLength":80}},
		"anyOf":[{"required":["order"],"properties":{"order":{"$ref":"#/$defs/order"}}},{"$ref":"#/$defs/order"}],
		"$defs":{"order":{"type":"object","required":["id"],"properties":{"id":{"type":["string","number"]},
		"customer":{"type":["object","null"],"properties":{"name":{}}},"total":{"type":["number","string","null"]},
		"lines":{"type":["array","null"]}}}}}`
	order = `{"id":1042,"customer":{"name":"Grace Hopper","email":"grace.hopper@example.com"},"currency":"EUR",
		"lines":[{"sku":"SKU-0042","qty":2,"price":19.90}],"total":123.40,"note":"Front desk, please."}`
)

// quickCases are schemas and documents with what quick must answer; each "true" is also checked
// against the library.
var quickCases = []struct {
	schema, doc string
	quick       bool
}{
	{chatSendInput, `{"channel":"#orders","text":"New order 1042 by Grace Hopper, total 123.40"}`, true},
	{chatSendInput, `{"channel":"#orders","text":"x","threadId":"t1"}`, true},
	{chatSendInput, `{"channel":"","text":"x"}`, false},
	{chatSendInput, `{"channel":"#orders"}`, false},
	{chatSendInput, `{"channel":"#orders","text":"x","extra":1}`, false},
	{chatSendInput, `{"channel":"#orders","text":5}`, false},
	{chatSendInput, `{"channel":"` + strings.Repeat("é", 80) + `","text":"x"}`, true},
	{chatSendInput, `{"channel":"` + strings.Repeat("é", 81) + `","text":"x"}`, false},
	{chatSendInput, `{"channel":"\u0023orders","text":"x"}`, false}, // an escape: left to the library
	{chatSendInput, `{"ch\u0061nnel":"#orders","text":"x"}`, false},
	{chatSendInput, `[]`, false},
	{chatSendInput, `{"channel":"#orders","text":"x"} x`, false},
	{chatSendInput, "{\"channel\":\"#\xff\",\"text\":\"x\"}", false},
	{chatSendOutput, `{"ok":true,"status":200,"messageId":"m1"}`, true},
	{chatSendOutput, `{"ok":true,"status":299,"messageId":null}`, true},
	{chatSendOutput, `{"ok":false,"status":200,"messageId":"m1"}`, false},
	{chatSendOutput, `{"ok":true,"status":300,"messageId":"m1"}`, false},
	{chatSendOutput, `{"ok":true,"status":200.5,"messageId":"m1"}`, false},
	{chatSendOutput, `{"ok":true,"status":2e2,"messageId":"m1"}`, false}, // an integer, left to the library
	{chatSendOutput, `{"ok":true,"status":200,"messageId":1}`, false},
	{chatSendOutput, `{"ok":true,"status":200,"messageId":"m1","ok":true}`, true},
	{chatSendOutput, `{"ok":true,"status":200,"messageId":"m1","ok":1}`, false},
	{chatFormatInput, `{"order":` + order + `}`, true},
	{chatFormatInput, order, true},
	{chatFormatInput, `{"order":` + order + `,"channel":"#sales"}`, true},
	{chatFormatInput, `{"order":{"total":1}}`, false},
	{chatFormatInput, `{"id":true}`, false},
	{chatFormatInput, `{"order":{"id":1,"customer":"grace"}}`, false},
	{`{"minimum":1.5,"exclusiveMaximum":3}`, `1.5`, true},
	{`{"minimum":1.5,"exclusiveMaximum":3}`, `2.999999999999999999999`, true},
	{`{"minimum":1.5,"exclusiveMaximum":3}`, `3`, false},
	{`{"minimum":1.5,"exclusiveMaximum":3}`, `"3"`, true},
	{`{"type":"integer","minimum":-5,"exclusiveMaximum":5}`, `-5`, true},
	{`{"type":"integer","minimum":-5,"exclusiveMaximum":5}`, `5`, false},
	{`{"type":"integer","minimum":-5,"exclusiveMaximum":5}`, `-6`, false},
	{`{"type":"integer","minimum":-5,"exclusiveMaximum":5}`, `99999999999999999999`, false},
	{`{"type":"integer","minimum":-5,"exclusiveMaximum":5}`, `-99999999999999999999`, false},
	{`{"maximum":99999999999999999999}`, `99999999999999999998`, true},
	{`{"exclusiveMinimum":0.5}`, `1`, true},
	{`{"exclusiveMinimum":0.5}`, `0`, false},
	{`{"items":{"type":"integer"},"type":"array"}`, `[1,2,-3]`, true},
	{`{"items":{"type":"integer"},"type":"array"}`, `[1,2.5]`, false},
	{`{"allOf":[{"type":"string"},{"maxLength":2}]}`, `"ab"`, true},
	{`{"allOf":[{"type":"string"},{"maxLength":2}]}`, `"abc"`, false},
	{`{"additionalProperties":{"type":"number"}}`, `{"a":1,"b":2}`, true},
	{`{"additionalProperties":{"type":"number"}}`, `{"a":1,"b":"2"}`, false},
	{`{"$defs":{"t":{"type":"object","properties":{"kids":{"items":{"$ref":"#/$defs/t"}}}}},"$ref":"#/$defs/t"}`,
		`{"kids":[{"kids":[]},{"kids":[{}]}]}`, true},
	{`{"$defs":{"t":{"type":"object","properties":{"kids":{"items":{"$ref":"#/$defs/t"}}}}},"$ref":"#/$defs/t"}`,
		`{"kids":[{"kids":[1]}]}`, false},
	{`false`, `1`, false},
	{`{"not":{}}`, `1`, false}, // no quick form
}

func TestQuick(t *testing.T) {
	for _, tc := range quickCases {
		s, err := Compile([]byte(tc.schema))
		if err != nil {
			t.Fatalf("%s: %v", tc.schema, err)
		}
		if jsonscan.Valid([]byte(tc.doc)) {
			if a, b := s.ValidateJSON([]byte(tc.doc)), s.Validate([]byte(tc.doc)); (a == nil) != (b == nil) {
				t.Errorf("schema %s\ndoc %s\nValidateJSON %v, Validate %v", tc.schema, tc.doc, a, b)
			}
		}
		got := s.quick != nil && s.quick.valid([]byte(tc.doc))
		if got != tc.quick {
			t.Errorf("schema %s\ndoc %s\nquick %v, want %v", tc.schema, tc.doc, got, tc.quick)
		}
		if got {
			if v, err := decodeAny("document", []byte(tc.doc)); err != nil || s.validate("document", v) != nil {
				t.Errorf("schema %s\ndoc %s\nquick accepts what the library refuses: %v", tc.schema, tc.doc, err)
			}
		}
	}
	// The schemas the load benchmark validates all have a quick form.
	for _, sch := range []string{chatSendInput, chatSendOutput, chatFormatInput} {
		if s, _ := Compile([]byte(sch)); s == nil || s.quick == nil {
			t.Errorf("no quick form for %s", sch)
		}
	}
}

// TestQuickRefusesLoops: a $ref, allOf or anyOf cycle that never reaches a member or element
// has no quick form (ok would recurse forever); one through a member or an element has.
func TestQuickRefusesLoops(t *testing.T) {
	for sch, want := range map[string]bool{
		`{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}`:                                         false,
		`{"$defs":{"a":{"properties":{"x":{"$ref":"#/$defs/b"}},"$ref":"#/$defs/b"},"b":{"anyOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}`: false,
		`{"$defs":{"a":{"properties":{"x":{"$ref":"#/$defs/a"}}}},"$ref":"#/$defs/a"}`:                                                         true,
		`{"$defs":{"a":{"items":{"$ref":"#/$defs/b"}},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}`:                                           true,
	} {
		s, err := Compile([]byte(sch))
		if err != nil {
			continue // refusing to compile it is as good
		}
		if got := s.quick != nil; got != want {
			t.Errorf("%s: quick form %v, want %v", sch, got, want)
		}
		if s.quick != nil {
			s.quick.valid([]byte(`{"x":{"x":[]}}`)) // must return
		}
	}
}

// FuzzQuick compiles any schema and checks any document with it: whatever quick calls valid, the
// library must call valid too.
func FuzzQuick(f *testing.F) {
	for _, tc := range quickCases {
		f.Add(tc.schema, tc.doc)
	}
	f.Add(`{"type":"integer","maximum":5}`, `5.0`)
	f.Add(`{"$schema":"http://json-schema.org/draft-07/schema#","items":{"type":"string"}}`, `["a"]`)
	f.Add(`{"$schema":"http://json-schema.org/draft-04/schema#","$ref":"#/definitions/a","definitions":{"a":{"type":"string"}},"minLength":3}`, `"ab"`)
	f.Add(`{"const":null,"type":["null","string"]}`, `null`)
	f.Fuzz(func(t *testing.T, schema, doc string) {
		s, err := Compile([]byte(schema))
		if err != nil {
			return
		}
		if jsonscan.Valid([]byte(doc)) {
			// ValidateJSON, for documents known to be JSON, agrees with Validate.
			if a, b := s.ValidateJSON([]byte(doc)), s.Validate([]byte(doc)); (a == nil) != (b == nil) {
				t.Fatalf("schema %s\ndoc %q\nValidateJSON %v, Validate %v", schema, doc, a, b)
			}
		}
		if s.quick == nil || !s.quick.valid([]byte(doc)) {
			return
		}
		v, err := decodeAny("document", []byte(doc))
		if err != nil {
			t.Fatalf("schema %s\ndoc %q\nquick accepts a document the library cannot decode: %v", schema, doc, err)
		}
		if err := s.validate("document", v); err != nil {
			t.Fatalf("schema %s\ndoc %q\nquick accepts what the library refuses: %v", schema, doc, err)
		}
	})
}

// BenchmarkValidate validates the documents of one load-benchmark run (the event's payload, the
// chat transform's input and the message action's input and output) with Validate, with
// ValidateJSON (for documents known to be JSON) and with the library alone.
func BenchmarkValidate(b *testing.B) {
	docs := []struct{ name, schema, doc string }{
		{"format-input", chatFormatInput, `{"order":` + order + `}`},
		{"send-input", chatSendInput, `{"channel":"#orders","text":"New order 1042 by Grace Hopper, total 123.40"}`},
		{"send-output", chatSendOutput, `{"ok":true,"status":200,"messageId":"m1"}`},
		{"payload", `{}`, order},
	}
	for _, d := range docs {
		s, err := Compile([]byte(d.schema))
		if err != nil {
			b.Fatal(err)
		}
		doc := []byte(d.doc)
		b.Run(d.name+"/validate", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if err := s.Validate(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(d.name+"/validate-json", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if err := s.ValidateJSON(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(d.name+"/library", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				v, err := decodeAny("document", doc)
				if err != nil || s.validate("document", v) != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestQuickBudget: an anyOf whose first branch quick leaves to the library at the bottom of a deep
// document (a member name with an escape) would have quick try the second branch at every level,
// 2^depth times; its budget stops it and the library, for which the first branch succeeds, decides.
// Without the budget this test does not end.
func TestQuickBudget(t *testing.T) {
	s, err := Compile([]byte(`{"$defs":{"a":{"anyOf":[
		{"type":"object","properties":{"x":{"$ref":"#/$defs/a"}}},
		{"type":"object","properties":{"x":{"$ref":"#/$defs/a"}},"required":["x"]}]}},
		"$ref":"#/$defs/a"}`))
	if err != nil || s.quick == nil {
		t.Fatalf("Compile: %v, quick form %v", err, s != nil && s.quick != nil)
	}
	doc := []byte(strings.Repeat(`{"x":`, 60) + `{"\u0079":1}` + strings.Repeat(`}`, 60))
	if s.quick.valid(doc) {
		t.Error("quick accepted a document with an escaped member name")
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestValidateJSONEmpty: an empty document is not JSON, for ValidateJSON as for Validate, even
// against a schema that accepts every document.
func TestValidateJSONEmpty(t *testing.T) {
	for _, sch := range []string{`{}`, `true`, chatSendInput} {
		s, err := Compile([]byte(sch))
		if err != nil {
			t.Fatal(err)
		}
		if s.ValidateJSON(nil) == nil || s.ValidateJSON([]byte{}) == nil {
			t.Errorf("%s: ValidateJSON of an empty document = nil, want an error", sch)
		}
	}
}
