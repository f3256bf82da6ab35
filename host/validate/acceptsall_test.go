package validate

import "testing"

// TestAcceptsAll: a schema of annotations only accepts every JSON document without decoding
// it, and refuses what is not JSON with the same error as any other schema.
func TestAcceptsAll(t *testing.T) {
	docs := []string{`{"a":1}`, `[1,2]`, `"s"`, `12.50`, `null`, ` true `}
	bad := []string{``, `{"a":`, `{"a":1} x`, "\"\xff\"", `01`}
	ref, err := Compile([]byte(`{"not": false}`)) // accepts everything too, the long way
	if err != nil {
		t.Fatal(err)
	}
	for _, schema := range []string{`true`, `{}`, `{"description": "any", "title": "t", "$comment": "c", "examples": [1]}`,
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "default": 3}`} {
		s, err := Compile([]byte(schema))
		if err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		if !s.all {
			t.Errorf("%s: not seen as accepting everything", schema)
		}
		for _, d := range docs {
			if err := s.Validate([]byte(d)); err != nil {
				t.Errorf("%s refused %q: %v", schema, d, err)
			}
		}
		for _, d := range bad {
			got, want := s.Validate([]byte(d)), ref.Validate([]byte(d))
			if got == nil || want == nil || got.Error() != want.Error() {
				t.Errorf("%s on %q: %v, want %v", schema, d, got, want)
			}
		}
	}
	for _, schema := range []string{`false`, `{"type": "object"}`, `{"description": "x", "required": ["a"]}`, `{"not": {}}`} {
		s, err := Compile([]byte(schema))
		if err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		if s.all {
			t.Errorf("%s: seen as accepting everything", schema)
		}
	}
}
