package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// Limits on what Compile accepts.
const (
	MaxTemplateBytes = 64 << 10 // one string holding templates
	MaxDepth         = 8        // templates nested in templates' paths
	MaxRefs          = 1000     // template expressions in one document
	maxJSONDepth     = 64       // nesting of the document's objects and arrays
)

// Sources are the roots a path may start with (DESIGN.md, "Automations").
var Sources = []string{"trigger", "steps", "item", "automation", "run", "consumer"}

// ErrSyntax is wrapped by every error Compile returns for a malformed template.
var ErrSyntax = errors.New("mapping: syntax error")

// SyntaxError locates a malformed template: the JSON pointer of the string holding it and the
// byte offset in that string.
type SyntaxError struct {
	Pointer string
	Offset  int
	Msg     string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("mapping: %s at byte %d of %s", e.Msg, e.Offset, pointerOrRoot(e.Pointer))
}

func (e *SyntaxError) Unwrap() error { return ErrSyntax }

func pointerOrRoot(p string) string {
	if p == "" {
		return "the document"
	}
	return p
}

// part is a piece of a template string: literal text, or an expression whose path is itself made
// of parts (literal path text and nested expressions).
type part struct {
	text string
	path []part // nil for literal text
}

// str is a compiled string value: literal, or parts to interpolate.
type str struct {
	parts []part
	// single is set when the string is exactly one expression: its value keeps its JSON type.
	single bool
	ptr    string // where the string stands: the template's shape is its output's
}

// node is a compiled JSON value.
type node struct {
	raw    []byte // a value with no template in it, as compact JSON
	str    *str
	keys   []string // object keys, in document order, with vals
	vals   []*node
	items  []*node
	object bool
	array  bool
}

// Template is a compiled JSON document whose strings may hold {{path}} expressions. It is
// immutable and safe for concurrent use: compile once per automation version, evaluate per run.
type Template struct {
	root *node
	refs []Ref
}

// Ref is one expression of a template: where it is and the path it reads, with nested
// expressions shown as written.
type Ref struct {
	Pointer string // JSON pointer of the string holding it
	Path    string // the path as written, e.g. trigger.order.id or steps.a.output.{{item.i}}
	Source  string // the path's first segment: one of Sources, when the path starts with text
}

// Compile parses doc (one JSON document) and every template in its strings.
//
// # Errors
//
// A *SyntaxError (wrapping ErrSyntax) for a malformed template, a path that starts with an
// unknown source, or too much of anything; an error for a document that is not JSON.
func Compile(doc []byte) (*Template, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	t := &Template{}
	root, err := t.value(dec, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the document", ErrSyntax)
	}
	t.root = root
	return t, nil
}

// Refs returns the template's expressions, in document order.
func (t *Template) Refs() []Ref { return t.refs }

func (t *Template) value(dec *json.Decoder, ptr string, depth int) (*node, error) {
	if depth > maxJSONDepth {
		return nil, &SyntaxError{Pointer: ptr, Msg: fmt.Sprintf("document nested deeper than %d", maxJSONDepth)}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &node{object: true}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
				}
				key := kt.(string)
				child, err := t.value(dec, ptr+"/"+escapePointer(key), depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, child)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
			}
			return n.fold(), nil
		case '[':
			n := &node{array: true}
			for i := 0; dec.More(); i++ {
				child, err := t.value(dec, ptr+"/"+strconv.Itoa(i), depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, child)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
			}
			return n.fold(), nil
		}
	case string:
		s, err := t.parseString(v, ptr)
		if err != nil {
			return nil, err
		}
		if s == nil {
			b, _ := json.Marshal(unescapeLiteral(v))
			return &node{raw: b}, nil
		}
		return &node{str: s}, nil
	}
	b, err := json.Marshal(tok)
	if err != nil {
		return nil, err
	}
	return &node{raw: b}, nil
}

// fold turns an object or array without templates into raw JSON.
func (n *node) fold() *node {
	for _, c := range append(n.vals, n.items...) {
		if c.raw == nil {
			return n
		}
	}
	var b bytes.Buffer
	if n.object {
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			b.Write(n.vals[i].raw)
		}
		b.WriteByte('}')
	} else {
		b.WriteByte('[')
		for i, c := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(c.raw)
		}
		b.WriteByte(']')
	}
	return &node{raw: b.Bytes()}
}

// unescapeLiteral turns `\{{` back into `{{` in a string without expressions.
func unescapeLiteral(s string) string { return strings.ReplaceAll(s, `\{{`, "{{") }

// parseString parses the templates of s; nil when s has none.
func (t *Template) parseString(s, ptr string) (*str, error) {
	if !strings.Contains(s, "{{") {
		return nil, nil
	}
	if len(s) > MaxTemplateBytes {
		return nil, &SyntaxError{Pointer: ptr, Msg: fmt.Sprintf("template of %d bytes, limit %d", len(s), MaxTemplateBytes)}
	}
	p := parser{s: s, ptr: ptr, t: t}
	parts, err := p.parts(0)
	if err != nil {
		return nil, err
	}
	if len(parts) == 1 && parts[0].path == nil {
		return nil, nil // only escaped braces
	}
	return &str{parts: parts, single: len(parts) == 1 && parts[0].path != nil, ptr: ptr}, nil
}

type parser struct {
	s   string
	i   int
	ptr string
	t   *Template
}

func (p *parser) fail(msg string) error {
	return &SyntaxError{Pointer: p.ptr, Offset: p.i, Msg: msg}
}

// parts parses until the end of the string (depth 0) or the "}}" closing the current expression.
func (p *parser) parts(depth int) ([]part, error) {
	var out []part
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, part{text: lit.String()})
			lit.Reset()
		}
	}
	for p.i < len(p.s) {
		switch {
		case strings.HasPrefix(p.s[p.i:], `\{{`):
			lit.WriteString("{{")
			p.i += 3
		case strings.HasPrefix(p.s[p.i:], "{{"):
			if depth >= MaxDepth {
				return nil, p.fail(fmt.Sprintf("templates nested deeper than %d", MaxDepth))
			}
			start := p.i
			p.i += 2
			path, err := p.parts(depth + 1)
			if err != nil {
				return nil, err
			}
			path = trimPath(path)
			if len(path) == 0 {
				p.i = start
				return nil, p.fail("empty expression {{}}")
			}
			if len(p.t.refs) >= MaxRefs {
				return nil, p.fail(fmt.Sprintf("more than %d expressions", MaxRefs))
			}
			ref := Ref{Pointer: p.ptr, Path: strings.TrimSpace(p.s[start+2 : p.i-2])}
			if path[0].path == nil {
				ref.Source, _, _ = strings.Cut(path[0].text, ".")
				if !isSource(ref.Source) {
					p.i = start
					return nil, p.fail(fmt.Sprintf("path %q does not start with one of %s", ref.Path, strings.Join(Sources, ", ")))
				}
			}
			p.t.refs = append(p.t.refs, ref)
			flush()
			out = append(out, part{path: path})
		case strings.HasPrefix(p.s[p.i:], "}}") && depth > 0:
			p.i += 2
			flush()
			return out, nil
		default:
			lit.WriteByte(p.s[p.i])
			p.i++
		}
	}
	if depth > 0 {
		return nil, p.fail("unclosed {{")
	}
	flush()
	return out, nil
}

// trimPath drops the spaces around an expression's path.
func trimPath(path []part) []part {
	if len(path) > 0 && path[0].path == nil {
		path[0].text = strings.TrimLeft(path[0].text, " \t")
		if path[0].text == "" {
			path = path[1:]
		}
	}
	if n := len(path); n > 0 && path[n-1].path == nil {
		path[n-1].text = strings.TrimRight(path[n-1].text, " \t")
		if path[n-1].text == "" {
			path = path[:n-1]
		}
	}
	return path
}

func isSource(s string) bool {
	for _, src := range Sources {
		if s == src {
			return true
		}
	}
	return false
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Eval evaluates the template against scope, a JSON object with the sources as members, and
// returns the resulting document and the paths that matched nothing (their values are null, or
// empty text inside a string). A caller that requires a value decides from missing.
func (t *Template) Eval(scope []byte) (out []byte, missing []string) {
	r := t.Evaluate(scope)
	return r.Out, r.Missing
}

// Result is what [Template.Evaluate] makes of a scope.
type Result struct {
	Out     []byte   // the document
	Missing []string // the paths that read nothing, as resolved
	// Holes are the JSON pointers, into Out, of the values that are null because their one
	// expression read nothing; a caller whose schema requires a value there refuses the input.
	Holes []string
}

// Evaluate is [Template.Eval], telling also where in the output the missing values are.
func (t *Template) Evaluate(scope []byte) Result {
	e := evaluator{scope: scope}
	var b bytes.Buffer
	e.node(&b, t.root)
	return Result{Out: b.Bytes(), Missing: e.missing, Holes: e.holes}
}

type evaluator struct {
	scope   []byte
	missing []string
	holes   []string
}

func (e *evaluator) node(b *bytes.Buffer, n *node) {
	switch {
	case n.raw != nil:
		b.Write(n.raw)
	case n.str != nil:
		e.str(b, n.str)
	case n.object:
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			e.node(b, n.vals[i])
		}
		b.WriteByte('}')
	case n.array:
		b.WriteByte('[')
		for i, c := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			e.node(b, c)
		}
		b.WriteByte(']')
	}
}

func (e *evaluator) str(b *bytes.Buffer, s *str) {
	if s.single {
		r := e.lookup(s.parts[0].path)
		if !r.Exists() {
			b.WriteString("null")
			e.holes = append(e.holes, s.ptr)
			return
		}
		b.WriteString(compact(r))
		return
	}
	var text strings.Builder
	for _, p := range s.parts {
		if p.path == nil {
			text.WriteString(p.text)
			continue
		}
		text.WriteString(e.text(e.lookup(p.path)))
	}
	sb, _ := json.Marshal(text.String())
	b.Write(sb)
}

// lookup resolves a path: nested expressions first, as text, then the path itself.
func (e *evaluator) lookup(path []part) gjson.Result {
	var p strings.Builder
	for _, q := range path {
		if q.path == nil {
			p.WriteString(q.text)
		} else {
			p.WriteString(e.text(e.lookup(q.path)))
		}
	}
	r := gjson.GetBytes(e.scope, p.String())
	if !r.Exists() {
		e.missing = append(e.missing, p.String())
	}
	return r
}

// text is a value as it reads inside a string: strings unquoted, other values as JSON, nothing
// for a missing value or null.
func (e *evaluator) text(r gjson.Result) string {
	switch r.Type {
	case gjson.String:
		return r.Str
	case gjson.Null:
		return ""
	}
	return compact(r)
}

// compact returns the value's JSON, compacted (gjson returns it as written in the scope).
func compact(r gjson.Result) string {
	raw := r.Raw
	if raw == "" {
		return "null"
	}
	if r.Type != gjson.JSON {
		return raw
	}
	if b := []byte(raw); jsonscan.Valid(b) && jsonscan.Compact(b) {
		return raw // what json.Compact would return, in a fraction of its time
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return "null"
	}
	return b.String()
}
