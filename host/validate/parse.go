package validate

import (
	"encoding/json"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// parse decodes one JSON document as encoding/json's Decoder with UseNumber does (objects as
// map[string]any, the last of duplicate names winning; arrays as []any; numbers as json.Number
// of their text; strings unescaped, a lone surrogate escape becoming U+FFFD), about three times
// faster: it is a single pass with no reflection. data must be valid UTF-8. ok is false for
// anything that is not exactly one JSON value, with surrounding whitespace only; callers then
// decode with encoding/json for its error. FuzzParse checks it against encoding/json.
func parse(data []byte) (v any, ok bool) {
	p := parser{s: data}
	p.ws()
	v, ok = p.value(0)
	if !ok {
		return nil, false
	}
	p.ws()
	return v, p.i == len(p.s)
}

// maxDepth is encoding/json's nesting limit; deeper documents are refused alike.
const maxDepth = 10000

type parser struct {
	s []byte
	i int
}

func (p *parser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, bool) {
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	}
	return nil, false
}

func (p *parser) lit(word string) bool {
	if len(p.s)-p.i < len(word) || string(p.s[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

func (p *parser) object(depth int) (any, bool) {
	if depth > maxDepth {
		return nil, false
	}
	p.i++ // {
	m := map[string]any{}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.ws()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		m[k.(string)] = v
		switch more, ok := p.sep('}'); {
		case !ok:
			return nil, false
		case !more:
			return m, true
		}
	}
}

func (p *parser) array(depth int) (any, bool) {
	if depth > maxDepth {
		return nil, false
	}
	p.i++ // [
	a := []any{}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		switch more, ok := p.sep(']'); {
		case !ok:
			return nil, false
		case !more:
			return a, true
		}
	}
}

// sep reads what follows a member or an element: a comma (more is true) or the closing
// bracket; ok is false for anything else.
func (p *parser) sep(closing byte) (more, ok bool) {
	p.ws()
	if p.i >= len(p.s) {
		return false, false
	}
	switch p.s[p.i] {
	case ',':
		p.i++
		p.ws()
		return true, true
	case closing:
		p.i++
		return false, true
	}
	return false, false
}

// number reads a number; its value is a json.Number of its text.
func (p *parser) number() (any, bool) {
	end, ok := jsonscan.Number(p.s, p.i)
	if !ok {
		return nil, false
	}
	n := json.Number(p.s[p.i:end])
	p.i = end
	return n, true
}

// str reads a string; its value is a string (as any, to share value's signature).
func (p *parser) str() (any, bool) {
	s := p.s
	start := p.i + 1
	// The common case: no escape, so the text is the value.
	for i := start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			p.i = i + 1
			return string(s[start:i]), true
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

func (p *parser) strSlow(start int) (any, bool) {
	s := p.s
	b := make([]byte, 0, 32)
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return string(b), true
		case c < 0x20:
			return nil, false
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b = append(b, s[i+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(s, i)
			if r < 0 {
				return nil, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2 := hex4(s, i); r2 >= 0 {
					if d := utf16.DecodeRune(r, r2); d != unicode.ReplacementChar {
						b = utf8.AppendRune(b, d)
						i += 6
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			return nil, false
		}
		i += 2
	}
	return nil, false
}

// hex4 reads the \uXXXX escape at s[i:], or returns -1.
func hex4(s []byte, i int) rune {
	if len(s)-i < 6 || s[i] != '\\' || s[i+1] != 'u' {
		return -1
	}
	n, err := strconv.ParseUint(string(s[i+2:i+6]), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}
