package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// MaxBytes is the size of the largest manifest or schema accepted, 1 MiB.
const MaxBytes = 1 << 20

// MaxDepth is the deepest nesting of arrays and objects accepted in a manifest or a schema:
// the top-level object is at depth 1. See "Why the depth of schemas is limited" in the package
// doc.
const MaxDepth = 64

// schemaURL is the URL a schema given to Compile is compiled under. Its host is reserved
// (RFC 6761), and nothing is ever loaded from it.
const schemaURL = "https://schema.splice.invalid/schema.json"

// Schema is a compiled JSON Schema. It is immutable and safe for concurrent use.
type Schema struct {
	sch *jsonschema.Schema
	// all reports a schema that accepts every JSON document (true, {}, or annotations only):
	// Validate then checks only that the document is JSON, without decoding it.
	all bool
	// quick, when not nil, checks most documents without decoding them (see quick).
	quick *quick
}

// Compile compiles a JSON Schema, draft 2020-12 unless its $schema names another draft the
// library supports (draft 4, 6, 7, 2019-09). Format assertions are on. The schema may not
// reference other documents: $ref resolves only within it and to the drafts' metaschemas.
//
// # Errors
//
// A schema that is not JSON, larger than [MaxBytes], deeper than [MaxDepth], invalid against
// its metaschema or otherwise impossible to compile (a bad regular expression, a dangling
// $ref) returns an [*Error] with subject "schema" whose instance paths are paths in the
// schema.
func Compile(schema []byte) (*Schema, error) {
	doc, err := decode("schema", schema)
	if err != nil {
		return nil, err
	}
	sch, causes := compile(doc, "")
	if causes != nil {
		return nil, newError("schema", causes)
	}
	return &Schema{sch: sch, all: acceptsAll(doc), quick: quickOf(sch)}, nil
}

// annotations are the keywords that never make a document invalid.
var annotations = map[string]bool{"$schema": true, "$id": true, "$comment": true, "$anchor": true, "title": true,
	"description": true, "examples": true, "default": true, "deprecated": true, "readOnly": true, "writeOnly": true}

// acceptsAll reports whether a decoded schema accepts every document: true, or an object of
// annotation keywords only.
func acceptsAll(doc any) bool {
	switch d := doc.(type) {
	case bool:
		return d
	case map[string]any:
		for k := range d {
			if !annotations[k] {
				return false
			}
		}
		return true
	}
	return false
}

// Validate validates one JSON document against the schema. It returns nil when the document
// is valid.
//
// # Errors
//
// A document that is not JSON, or is invalid, returns an [*Error] with subject "document",
// listing every failure. Validate sets no size limit: callers bound what they pass.
func (s *Schema) Validate(doc []byte) error {
	if s.all && utf8.Valid(doc) && jsonscan.Valid(doc) {
		return nil
	}
	if s.quick != nil && s.quick.valid(doc) {
		return nil
	}
	v, err := decodeAny("document", doc)
	if err != nil {
		return err
	}
	return s.validate("document", v)
}

// ValidateJSON is Validate for a document already known to be one JSON value as encoding/json's
// Valid accepts it (a guest's output, which the sandbox checked, or part of one): it does not
// check that again. Given a document that is not JSON, it may return nil.
func (s *Schema) ValidateJSON(doc []byte) error {
	if len(doc) > 0 && utf8.Valid(doc) {
		if s.all {
			return nil
		}
		if s.quick != nil && s.quick.okJSON(doc) {
			return nil
		}
	}
	return s.Validate(doc)
}

// validate validates the decoded value v.
func (s *Schema) validate(subject string, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Subject: subject, Causes: []Cause{internalCause("", r)}}
		}
	}()
	err = s.sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &Error{Subject: subject, Causes: []Cause{{Keyword: "schema", Message: err.Error()}}}
	}
	causes := flatten(nil, ve, "", baseOf(s.sch))
	if len(causes) == 0 {
		causes = []Cause{{Keyword: "schema", Message: truncate(ve.Error())}}
	}
	return newError(subject, causes)
}

// baseOf returns the URL of the document sch was compiled from.
func baseOf(sch *jsonschema.Schema) string {
	loc, _, _ := strings.Cut(sch.Location, "#")
	return loc
}

// newCompiler returns a compiler set up the way the package documents: draft 2020-12 by
// default, format assertions on, and no loading of any document but the metaschemas.
func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refuseLoader{})
	return c
}

// compile compiles the decoded schema doc. When it fails, it returns causes with instance
// paths under prefix.
func compile(doc any, prefix string) (sch *jsonschema.Schema, causes []Cause) {
	defer func() {
		if r := recover(); r != nil {
			sch, causes = nil, []Cause{internalCause(prefix, r)}
		}
	}()
	c := newCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, compileCauses(err, prefix, schemaURL)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		causes = compileCauses(err, prefix, schemaURL)
		// A $schema other than a known draft is loaded like a $ref, and refused the same way.
		var le *jsonschema.LoadURLError
		if obj, ok := doc.(map[string]any); ok && errors.As(err, &le) {
			if meta, ok := obj["$schema"].(string); ok && strings.TrimSuffix(meta, "#") == le.URL {
				causes[0].Keyword = "$schema"
				causes[0].InstancePath = prefix + "/$schema"
				causes[0].Message = truncate(fmt.Sprintf("unknown metaschema %s: only the JSON Schema drafts are supported", strconv.Quote(meta)))
			}
		}
		return nil, causes
	}
	return sch, nil
}

// internalCause describes a panic of the schema library, recovered at path.
func internalCause(path string, r any) Cause {
	return Cause{Keyword: "schema", InstancePath: path, Message: truncate(fmt.Sprintf("internal error of the schema library: %v", r))}
}

// errExternal is why refuseLoader refuses.
var errExternal = errors.New("validate: references to other documents are not allowed")

// refuseLoader loads nothing: the compiler finds metaschemas on its own, and schemas may not
// reference anything else.
type refuseLoader struct{}

// Load refuses to load url.
func (refuseLoader) Load(string) (any, error) { return nil, errExternal }

// decode decodes a JSON document of at most MaxBytes and MaxDepth, keeping numbers exact.
func decode(subject string, data []byte) (any, error) {
	if len(data) > MaxBytes {
		return nil, &Error{Subject: subject, Causes: []Cause{{
			Keyword: "maxBytes",
			Message: fmt.Sprintf("%d bytes is more than the %d allowed", len(data), MaxBytes),
		}}}
	}
	v, err := decodeAny(subject, data)
	if err != nil {
		return nil, err
	}
	if path, deep := tooDeep(v, 1, nil); deep {
		return nil, &Error{Subject: subject, Causes: []Cause{{
			Keyword:      "maxDepth",
			InstancePath: pointer(path),
			Message:      fmt.Sprintf("arrays and objects nest more than %d deep", MaxDepth),
		}}}
	}
	return v, nil
}

// tooDeep reports whether v, an array or object at depth, nests deeper than MaxDepth, and if
// so the path of the first value (in key order) that does.
func tooDeep(v any, depth int, path []string) ([]string, bool) {
	switch v := v.(type) {
	case map[string]any:
		if depth > MaxDepth {
			return path, true
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if p, deep := tooDeep(v[k], depth+1, append(path, k)); deep {
				return p, true
			}
		}
	case []any:
		if depth > MaxDepth {
			return path, true
		}
		for i, e := range v {
			if p, deep := tooDeep(e, depth+1, append(path, strconv.Itoa(i))); deep {
				return p, true
			}
		}
	}
	return nil, false
}

// decodeAny decodes one JSON document of any size, keeping numbers exact as json.Number.
func decodeAny(subject string, data []byte) (any, error) {
	fail := func(msg string) error {
		return &Error{Subject: subject, Causes: []Cause{{Keyword: "json", Message: msg}}}
	}
	if !utf8.Valid(data) {
		return nil, fail("not valid UTF-8")
	}
	if v, ok := parse(data); ok {
		return v, nil
	}
	// Not one JSON value: encoding/json says what is wrong.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return nil, fail("empty document")
		case errors.As(err, &se):
			return nil, fail(fmt.Sprintf("at byte %d: %v", se.Offset, err))
		}
		return nil, fail(err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fail("data after the top-level value")
	}
	return v, nil
}
