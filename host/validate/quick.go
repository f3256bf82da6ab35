package validate

import (
	"bytes"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// quick is a compiled schema that uses only keywords Validate can check straight from a
// document's bytes, without decoding it: type, const (true, false or null), properties,
// required, additionalProperties, items, minLength, maxLength, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, allOf, anyOf and $ref. That covers the schemas connectors
// declare for most inputs and outputs, and decoding a document into Go values was half of the
// cost of validating it (the engine validates four documents a run).
//
// ok may only be wrong one way: it answers false for some valid documents (a string with an
// escape under a length limit, a member name with an escape, an integer written 1.0, ...), and
// Validate then takes the library's path, which also gives the error. It never answers true for
// a document the library refuses; FuzzQuick checks that.
type quick struct {
	never     bool    // the false schema
	types     typeSet // 0: any type
	konst     []byte  // const: the JSON literal true, false or null
	ref       *quick
	allOf     []*quick
	anyOf     []*quick
	required  []string
	props     map[string]*quick
	noAddl    bool   // additionalProperties: false
	addl      *quick // additionalProperties as a schema
	items     *quick
	minLen    int // -1: none
	maxLen    int // -1: none
	min, max  *big.Rat
	xmin      *big.Rat // exclusive
	xmax      *big.Rat
	intBounds bool // every bound set is an integer that fits an int64
}

// typeSet is a set of JSON Schema types.
type typeSet uint8

const (
	tNull typeSet = 1 << iota
	tBoolean
	tNumber
	tInteger
	tString
	tArray
	tObject
)

var typeNames = map[string]typeSet{"null": tNull, "boolean": tBoolean, "number": tNumber, "integer": tInteger,
	"string": tString, "array": tArray, "object": tObject}

// quickOf returns the quick form of sch, or nil when sch uses a keyword quick does not check,
// has a cycle of $ref, allOf and anyOf that never reaches a member or element (the library
// refuses every document there), or requires more than 64 members.
func quickOf(sch *jsonschema.Schema) *quick {
	b := quickBuilder{memo: map[*jsonschema.Schema]*quick{}}
	q := b.build(sch)
	if b.failed || q.loops() {
		return nil
	}
	return q
}

type quickBuilder struct {
	memo   map[*jsonschema.Schema]*quick
	failed bool
}

// build returns the quick form of s (when b.failed is false).
func (b *quickBuilder) build(s *jsonschema.Schema) *quick {
	if s == nil {
		b.failed = true
	}
	if b.failed {
		return nil
	}
	if q, ok := b.memo[s]; ok {
		return q // built, or being built: a recursive schema
	}
	if !quickable(s) {
		b.failed = true
		return nil
	}
	q := &quick{minLen: -1, maxLen: -1}
	b.memo[s] = q
	if s.Bool != nil {
		q.never = !*s.Bool
		return q
	}
	if s.Types != nil {
		for _, t := range s.Types.ToStrings() {
			ts, ok := typeNames[t]
			if !ok {
				b.failed = true
			}
			q.types |= ts
		}
	}
	if s.Const != nil {
		switch c := (*s.Const).(type) {
		case nil:
			q.konst = []byte("null")
		case bool:
			q.konst = []byte("false")
			if c {
				q.konst = []byte("true")
			}
		default:
			b.failed = true
		}
	}
	if s.Ref != nil {
		q.ref = b.build(s.Ref)
	}
	for _, a := range s.AllOf {
		q.allOf = append(q.allOf, b.build(a))
	}
	for _, a := range s.AnyOf {
		q.anyOf = append(q.anyOf, b.build(a))
	}
	if len(s.Required) > 64 {
		b.failed = true
	}
	q.required = s.Required
	if len(s.Properties) > 0 {
		q.props = make(map[string]*quick, len(s.Properties))
		for k, p := range s.Properties {
			q.props[k] = b.build(p)
		}
	}
	switch a := s.AdditionalProperties.(type) {
	case nil:
	case bool:
		q.noAddl = !a
	case *jsonschema.Schema:
		q.addl = b.build(a)
	default:
		b.failed = true
	}
	switch it := s.Items.(type) {
	case nil:
	case *jsonschema.Schema:
		q.items = b.build(it)
	default: // []*Schema: positional items of the drafts before 2020-12
		b.failed = true
	}
	if s.Items2020 != nil {
		if q.items != nil {
			b.failed = true
		}
		q.items = b.build(s.Items2020)
	}
	if s.MinLength != nil {
		q.minLen = *s.MinLength
	}
	if s.MaxLength != nil {
		q.maxLen = *s.MaxLength
	}
	q.min, q.max, q.xmin, q.xmax = s.Minimum, s.Maximum, s.ExclusiveMinimum, s.ExclusiveMaximum
	q.intBounds = true
	for _, r := range []*big.Rat{q.min, q.max, q.xmin, q.xmax} {
		if r != nil && (!r.IsInt() || !r.Num().IsInt64()) {
			q.intBounds = false
		}
	}
	return q
}

// loops reports whether q, or a schema under it, reaches itself through $ref, allOf and anyOf
// alone: ok would apply it to the same value forever.
func (q *quick) loops() bool {
	// Every schema under q, through any keyword.
	all := map[*quick]bool{}
	var collect func(*quick)
	collect = func(q *quick) {
		if q == nil || all[q] {
			return
		}
		all[q] = true
		for _, c := range q.children() {
			collect(c)
		}
	}
	collect(q)
	// A depth-first search over the same-value edges: meeting a schema still on the stack
	// is a loop.
	const onStack, done = 1, 2
	state := map[*quick]int{}
	var visit func(*quick) bool
	visit = func(q *quick) bool {
		switch state[q] {
		case onStack:
			return true
		case done:
			return false
		}
		state[q] = onStack
		for _, c := range q.sameValue() {
			if visit(c) {
				return true
			}
		}
		state[q] = done
		return false
	}
	for s := range all {
		if visit(s) {
			return true
		}
	}
	return false
}

// sameValue returns the schemas q applies to the value it checks.
func (q *quick) sameValue() []*quick {
	out := append(append([]*quick(nil), q.allOf...), q.anyOf...)
	if q.ref != nil {
		out = append(out, q.ref)
	}
	return out
}

// children returns every schema q refers to.
func (q *quick) children() []*quick {
	out := q.sameValue()
	for _, p := range q.props {
		out = append(out, p)
	}
	if q.addl != nil {
		out = append(out, q.addl)
	}
	if q.items != nil {
		out = append(out, q.items)
	}
	return out
}

// quickable reports whether s uses none of the keywords quick leaves to the library. Keep it in
// step with jsonschema.Schema: TestQuickKnowsEveryField fails when the library gains a field.
func quickable(s *jsonschema.Schema) bool {
	return s.RecursiveRef == nil && s.DynamicRef == nil && s.Enum == nil && s.Not == nil &&
		len(s.OneOf) == 0 && s.If == nil && s.Then == nil && s.Else == nil && s.Format == nil &&
		s.MaxProperties == nil && s.MinProperties == nil && s.PropertyNames == nil &&
		len(s.PatternProperties) == 0 && len(s.Dependencies) == 0 && len(s.DependentRequired) == 0 &&
		len(s.DependentSchemas) == 0 && s.UnevaluatedProperties == nil &&
		s.MinItems == nil && s.MaxItems == nil && !s.UniqueItems && s.Contains == nil &&
		s.MinContains == nil && s.MaxContains == nil && s.AdditionalItems == nil &&
		len(s.PrefixItems) == 0 && s.UnevaluatedItems == nil && s.Pattern == nil &&
		s.ContentEncoding == nil && s.ContentMediaType == nil && s.ContentSchema == nil &&
		s.MultipleOf == nil && len(s.Extensions) == 0
}

// valid reports whether doc, any bytes, is one JSON document (as the library's decoding
// requires: UTF-8, and JSON as encoding/json reads it) that q accepts.
//
// Its work is bounded by a budget of schema applications, a few per byte of doc: without it, an
// anyOf whose first branch quick leaves to the library deep down would make it try the next
// branch at every level above, in time exponential in the depth, where the library, whose first
// branch succeeds, takes linear time. Out of budget, it leaves the document to the library.
func (q *quick) valid(doc []byte) bool {
	if !utf8.Valid(doc) || !jsonscan.Valid(doc) {
		return false
	}
	return q.okJSON(doc)
}

// okJSON is valid for a doc that jsonscan.Valid and utf8.Valid accept.
func (q *quick) okJSON(doc []byte) bool {
	budget := 8*len(doc) + 64
	return q.ok(bytes.TrimSpace(doc), &budget)
}

// ok reports whether the value v, JSON that jsonscan.Valid accepted, with no surrounding
// whitespace, is certainly valid against q, within the budget (each call takes one).
func (q *quick) ok(v []byte, budget *int) bool {
	if *budget--; *budget < 0 {
		return false
	}
	if q.never || len(v) == 0 {
		return false
	}
	if q.konst != nil && !bytes.Equal(v, q.konst) {
		return false
	}
	if q.ref != nil && !q.ref.ok(v, budget) {
		return false
	}
	for _, a := range q.allOf {
		if !a.ok(v, budget) {
			return false
		}
	}
	if len(q.anyOf) > 0 {
		matched := false
		for _, a := range q.anyOf {
			if a.ok(v, budget) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	switch v[0] {
	case '{':
		return q.has(tObject) && q.object(v, budget)
	case '[':
		return q.has(tArray) && q.array(v, budget)
	case '"':
		return q.has(tString) && q.str(v)
	case 't', 'f':
		return q.has(tBoolean)
	case 'n':
		return q.has(tNull)
	}
	return q.number(v)
}

func (q *quick) has(t typeSet) bool { return q.types == 0 || q.types&t != 0 }

func (q *quick) object(v []byte, budget *int) bool {
	if q.props == nil && !q.noAddl && q.addl == nil && len(q.required) == 0 {
		return true
	}
	var seen uint64
	ok := true
	jsonscan.Members(v, func(name, val []byte) bool {
		key := name[1 : len(name)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			ok = false // compared after decoding by the library; left to it
			return false
		}
		if p, found := q.props[string(key)]; found {
			ok = p.ok(val, budget)
		} else if q.noAddl {
			ok = false
		} else if q.addl != nil {
			ok = q.addl.ok(val, budget)
		}
		for i, r := range q.required {
			if r == string(key) {
				seen |= 1 << i
			}
		}
		return ok
	})
	return ok && seen == 1<<len(q.required)-1
}

func (q *quick) array(v []byte, budget *int) bool {
	if q.items == nil {
		return true
	}
	ok := true
	jsonscan.Elements(v, func(e []byte) bool {
		ok = q.items.ok(e, budget)
		return ok
	})
	return ok
}

func (q *quick) str(v []byte) bool {
	if q.minLen < 0 && q.maxLen < 0 {
		return true
	}
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		return false // its length is counted after decoding; left to the library
	}
	n := utf8.RuneCount(s)
	return (q.minLen < 0 || n >= q.minLen) && (q.maxLen < 0 || n <= q.maxLen)
}

func (q *quick) number(v []byte) bool {
	if q.types != 0 && q.types&tNumber == 0 {
		// Only integer: certain for a literal with no fraction or exponent; 1.0 and 1e2
		// are integers too, left to the library.
		if q.types&tInteger == 0 || bytes.ContainsAny(v, ".eE") {
			return false
		}
	}
	if q.min == nil && q.max == nil && q.xmin == nil && q.xmax == nil {
		return true
	}
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && q.intBounds {
		// An integer against integer bounds (a status code, a count): no big.Rat.
		return (q.min == nil || n >= q.min.Num().Int64()) && (q.max == nil || n <= q.max.Num().Int64()) &&
			(q.xmin == nil || n > q.xmin.Num().Int64()) && (q.xmax == nil || n < q.xmax.Num().Int64())
	}
	r, ok := new(big.Rat).SetString(string(v))
	if !ok {
		return false
	}
	return (q.min == nil || r.Cmp(q.min) >= 0) && (q.max == nil || r.Cmp(q.max) <= 0) &&
		(q.xmin == nil || r.Cmp(q.xmin) > 0) && (q.xmax == nil || r.Cmp(q.xmax) < 0)
}
