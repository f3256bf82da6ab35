// Package jsonw appends JSON values to byte slices exactly as encoding/json's Marshal writes
// them: strings, numbers, times and string maps, byte for byte, so that a hand-written encoder of
// a record built from them writes what json.Marshal would, without its reflection.
//
// The host writes a few records per webhook and per run (events, queue items, step records with
// their HTTP exchanges); through json.Marshal they were several per cent of the server's CPU
// time. The fuzz tests check every function here against json.Marshal.
package jsonw

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// plain marks the bytes that encoding/json writes as they are in a string: printable ASCII but
// the quote, the backslash and the HTML characters <, > and &.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// String appends s to dst as a JSON string, escaped as encoding/json escapes it: control
// characters, the quote, the backslash, <, >, &, U+2028 and U+2029 escaped, each byte that is not
// part of valid UTF-8 replaced by U+FFFD, everything else as it is.
func String(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Float appends f as encoding/json writes a float64: the shortest decimal that reads back as f,
// in exponent form below 1e-6 and from 1e21 on (with a one-digit negative exponent written as
// e-7, not e-07). It returns false, and dst unchanged, for NaN and the infinities, which JSON
// cannot hold (json.Marshal fails on them).
func Float(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// Time appends t as its MarshalJSON writes it: RFC 3339 with nanoseconds, quoted. It returns
// false, and dst unchanged, where MarshalJSON fails: a year outside 0 to 9999, or a zone offset
// of 24 hours or more.
func Time(dst []byte, t time.Time) ([]byte, bool) {
	n0 := len(dst)
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	switch {
	case dst[n0+1+len("9999")] != '-':
		return dst[:n0], false
	case dst[len(dst)-1] != 'Z':
		zone := dst[len(dst)-len("Z07:00"):]
		if c := zone[0]; '0' <= c && c <= '9' || 10*(zone[1]-'0')+zone[2]-'0' >= 24 {
			return dst[:n0], false
		}
	}
	return append(dst, '"'), true
}

// StringMap appends m as encoding/json writes a map[string]string: its keys sorted, and null for
// a nil map.
func StringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = String(dst, k)
		dst = append(dst, ':')
		dst = String(dst, m[k])
	}
	return append(dst, '}')
}

// Int appends i in decimal, as encoding/json writes every integer type.
func Int(dst []byte, i int64) []byte { return strconv.AppendInt(dst, i, 10) }

// Bool appends true or false.
func Bool(dst []byte, b bool) []byte { return strconv.AppendBool(dst, b) }

// Uint appends u in decimal.
func Uint(dst []byte, u uint64) []byte { return strconv.AppendUint(dst, u, 10) }
