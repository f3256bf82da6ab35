// Package jsonscan checks and walks JSON text without decoding it: [Valid] is encoding/json's
// Valid, and [Members] and [Elements] walk the members of an object and the elements of an array
// of a document already checked, handing out each value as the bytes it is written with.
//
// They exist for the documents the host checks or picks apart on every webhook and every run
// (guest outputs, event payloads, trigger outputs), where encoding/json's scanner (a function
// call per byte) was several per cent of the server's CPU; see BenchmarkValid. Everything here is
// safe for concurrent use and allocates nothing.
package jsonscan

import "bytes"

// MaxDepth is encoding/json's nesting limit: a document nested deeper is not valid.
const MaxDepth = 10000

// class is what a byte is inside a string: plain (0), the end of the string ('"'), an escape
// ('\\'), or a control character (1), which JSON does not allow unescaped.
var class = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = 1
	}
	t['"'], t['\\'] = '"', '\\'
	return t
}()

// Valid reports whether b is exactly one JSON value, with surrounding whitespace only, as
// encoding/json's Valid does: bytes that are not UTF-8 are allowed in strings (encoding/json
// replaces them when decoding), and at most [MaxDepth] levels of nesting. FuzzValid checks the two
// agree.
func Valid(b []byte) bool {
	i := ws(b, 0)
	end, ok := value(b, i)
	return ok && ws(b, end) == len(b)
}

func ws(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value checks the value that starts at b[i] and returns the index just past it. Containers are
// checked without recursion: open holds whether each enclosing container is an object, as bits,
// 64 levels to a word.
func value(b []byte, i int) (int, bool) {
	var (
		stack [MaxDepth/64 + 1]uint64
		depth int
	)
	for {
		// A value is expected at b[i].
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if depth == MaxDepth {
				return i, false
			}
			if c == '{' {
				stack[depth/64] |= 1 << (depth % 64)
			} else {
				stack[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			i = ws(b, i+1)
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				i++
				depth--
				break
			}
			if c == '{' {
				var ok bool
				if i, ok = key(b, i); !ok {
					return i, false
				}
			}
			continue
		case c == '"':
			var ok bool
			if i, ok = str(b, i); !ok {
				return i, false
			}
		case c == '-' || c >= '0' && c <= '9':
			var ok bool
			if i, ok = Number(b, i); !ok {
				return i, false
			}
		case c == 't':
			if !lit(b, i, "true") {
				return i, false
			}
			i += 4
		case c == 'f':
			if !lit(b, i, "false") {
				return i, false
			}
			i += 5
		case c == 'n':
			if !lit(b, i, "null") {
				return i, false
			}
			i += 4
		default:
			return i, false
		}
		// A value ended: close containers until one goes on, or the outermost ends.
		for {
			if depth == 0 {
				return i, true
			}
			i = ws(b, i)
			if i >= len(b) {
				return i, false
			}
			object := stack[(depth-1)/64]>>((depth-1)%64)&1 == 1
			switch c := b[i]; {
			case c == ',':
				i = ws(b, i+1)
				if object {
					var ok bool
					if i, ok = key(b, i); !ok {
						return i, false
					}
				}
			case object && c == '}', !object && c == ']':
				i++
				depth--
				continue
			default:
				return i, false
			}
			break
		}
	}
}

// key checks a member's name and its colon at b[i] and returns the index of the member's value.
func key(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := str(b, i)
	if !ok {
		return i, false
	}
	i = ws(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return ws(b, i+1), true
}

func lit(b []byte, i int, word string) bool {
	return len(b)-i >= len(word) && string(b[i:i+len(word)]) == word
}

// str checks the string that starts at b[i] == '"' and returns the index just past it.
func str(b []byte, i int) (int, bool) {
	for i++; i < len(b); {
		switch class[b[i]] {
		case 0:
			i++
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default:
			return i, false
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Number checks the number that starts at b[i], -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?,
// and returns the index just past it; ok is false when b[i:] does not start with one.
func Number(b []byte, i int) (end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// skip returns the index just past the value that starts at b[i], in a document already
// checked: only strings and brackets are followed.
func skip(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
	default: // a number or a literal
		for ; i < len(b); i++ {
			switch b[i] {
			case ' ', '\t', '\n', '\r', ',', ':', '}', ']':
				return i
			}
		}
		return i
	}
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at b[i] == '"', in a document
// already checked: the first quote not escaped, found with bytes.IndexByte.
func skipString(b []byte, i int) int {
	for i++; ; {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		i += q
		// Escaped when an odd number of backslashes precede it.
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// Members calls fn with each member of the object b, a value [Valid] accepted, in order: its name
// as written (quotes and escapes included) and its value as written. It stops when fn returns
// false, and reports whether b is an object. Given a b that Valid refuses it calls fn with some
// slices of b, or not at all, and never panics.
func Members(b []byte, fn func(name, value []byte) bool) bool {
	i := ws(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	for i = ws(b, i+1); i < len(b) && b[i] == '"'; {
		k := skip(b, i)
		name := b[i:k]
		v := ws(b, k)
		if v >= len(b) || b[v] != ':' {
			return false // not valid JSON
		}
		v = ws(b, v+1)
		e := skip(b, v)
		if !fn(name, b[v:e]) {
			return true
		}
		i = ws(b, e)
		if i >= len(b) || b[i] != ',' {
			break
		}
		i = ws(b, i+1)
	}
	return true
}

// Elements calls fn with each element of the array b, a value [Valid] accepted, in order, as
// written. It stops when fn returns false, and reports whether b is an array. Given a b that Valid
// refuses it calls fn with some slices of b, or not at all, and never panics.
func Elements(b []byte, fn func(value []byte) bool) bool {
	i := ws(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	for i = ws(b, i+1); i < len(b) && b[i] != ']'; {
		e := skip(b, i)
		if e == i {
			break // not valid JSON: no value here
		}
		if !fn(b[i:e]) {
			return true
		}
		i = ws(b, e)
		if i >= len(b) || b[i] != ',' {
			break
		}
		i = ws(b, i+1)
	}
	return true
}

// Compact reports whether b, a value [Valid] accepted, has no whitespace outside its strings, so
// that json.Compact would return it unchanged. It follows strings as [Members] does, with
// bytes.IndexByte, so it costs a fraction of a compaction; given a b that Valid refuses it returns
// either answer, and never panics.
func Compact(b []byte) bool {
	for i := 0; i < len(b); {
		switch b[i] {
		case '"':
			i = skipString(b, i)
		case ' ', '\t', '\n', '\r':
			return false
		default:
			i++
		}
	}
	return true
}
