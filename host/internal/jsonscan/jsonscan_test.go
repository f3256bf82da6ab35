package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// order is a webhook body like the load benchmark's (about 1 KiB).
var order = []byte(`{"id":1042,"customer":{"name":"Grace Hopper","email":"grace.hopper@example.com",` +
	`"address":{"street":"1 Navy Yard","city":"Arlington","zip":"22202","country":"US"}},"currency":"EUR",` +
	`"lines":[{"sku":"SKU-0042","name":"Compiler manual","qty":2,"price":19.90},` +
	`{"sku":"SKU-7781","name":"Punch cards (box of 2000)","qty":1,"price":83.60},` +
	`{"sku":"SKU-1000","name":"Nanosecond wire, 30 cm","qty":12,"price":0.25e1}],"total":126.40,` +
	`"tags":["priority","gift",null,true,false],"note":"Please leave the parcel at the front desk \u2014 ` +
	`\"anyone\" there will do.\nThank you!","meta":{"source":"shop","attempt":1,"trace":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}`)

var validCases = []string{
	`0`, `-0`, `1`, `-1.5e+10`, `1E-2`, `0.0`, `123456789012345678901234567890`,
	`""`, `"a"`, `"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"`, "\"\xff\xfe\"", "\"\u2028\"",
	`true`, `false`, `null`, `[]`, `{}`, ` [ ] `, "\t{\n}\r\n",
	`[1,"a",{"b":[null]}]`, `{"a":1,"a":2}`, `{"":{"":[[]]}}`, `[[[[[]]]]]`,
}

var invalidCases = []string{
	``, ` `, `-`, `01`, `+1`, `.5`, `1.`, `1e`, `1e+`, `0x1`, `--1`, `NaN`, `Infinity`,
	`"`, `"\"`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"\x1f\"", "\"\n\"", `'a'`,
	`tru`, `truee`, `nul`, `[`, `]`, `{`, `}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{"a":1,}`,
	`{a:1}`, `{"a" 1}`, `{1:2}`, `[1 2]`, `[1}`, `{"a":1]`, `1 2`, `{} {}`, `[]]`, `/* */ 1`,
	"\x00", "1\x00",
}

func TestValid(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	deepObject := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	for _, tc := range []struct {
		name string
		doc  string
		want bool
	}{
		{"order", string(order), true},
		{"depth 10000", deep(MaxDepth), true},
		{"depth 10001", deep(MaxDepth + 1), false},
		{"object depth 10000", deepObject(MaxDepth), true},
		{"object depth 10001", deepObject(MaxDepth + 1), false},
		{"depth 65 mixed", strings.Repeat(`[{"a":`, 33) + `1` + strings.Repeat(`}]`, 33), true},
		{"depth 65 crossed", strings.Repeat(`[{"a":`, 33) + `1` + strings.Repeat(`]}`, 33), false},
	} {
		if got, std := Valid([]byte(tc.doc)), json.Valid([]byte(tc.doc)); got != tc.want || std != tc.want {
			t.Errorf("%s: Valid %v, encoding/json %v, want %v", tc.name, got, std, tc.want)
		}
	}
	for _, doc := range validCases {
		if !Valid([]byte(doc)) || !json.Valid([]byte(doc)) {
			t.Errorf("Valid(%q) = %v, encoding/json %v; want true", doc, Valid([]byte(doc)), json.Valid([]byte(doc)))
		}
	}
	for _, doc := range invalidCases {
		if Valid([]byte(doc)) || json.Valid([]byte(doc)) {
			t.Errorf("Valid(%q) = %v, encoding/json %v; want false", doc, Valid([]byte(doc)), json.Valid([]byte(doc)))
		}
	}
	for i := range order {
		if Valid(order[:i]) != json.Valid(order[:i]) {
			t.Errorf("prefix of %d bytes: Valid %v, encoding/json %v", i, Valid(order[:i]), json.Valid(order[:i]))
		}
	}
}

// walk is what encoding/json's Decoder finds in an object or an array: the names, unquoted, and
// the values as written.
func walk(t testing.TB, doc []byte) (names []string, values [][]byte, kind byte) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		t.Fatalf("%q: %v", doc, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil, nil, 0
	}
	for dec.More() {
		if d == '{' {
			name, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, name.(string))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		values = append(values, raw)
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return names, values, byte(d)
}

// checkWalk checks Members and Elements against encoding/json on a valid document.
func checkWalk(t testing.TB, doc []byte) {
	names, values, kind := walk(t, doc)
	var gotNames []string
	var gotValues [][]byte
	isObject := Members(doc, func(name, value []byte) bool {
		var s string
		if err := json.Unmarshal(name, &s); err != nil {
			t.Fatalf("%q: name %q: %v", doc, name, err)
		}
		gotNames, gotValues = append(gotNames, s), append(gotValues, value)
		return true
	})
	isArray := Elements(doc, func(value []byte) bool {
		gotValues = append(gotValues, value)
		return true
	})
	if isObject != (kind == '{') || isArray != (kind == '[') {
		t.Fatalf("%q: object %v, array %v; encoding/json: %q", doc, isObject, isArray, kind)
	}
	if len(gotValues) != len(values) || len(gotNames) != len(names) {
		t.Fatalf("%q: %d names, %d values; encoding/json %d, %d", doc, len(gotNames), len(gotValues), len(names), len(values))
	}
	for i := range values {
		if !bytes.Equal(gotValues[i], values[i]) || i < len(names) && gotNames[i] != names[i] {
			t.Fatalf("%q: member %d: %q %q; encoding/json %q %q", doc, i, gotNames, gotValues[i], names, values[i])
		}
	}
}

func TestMembersAndElements(t *testing.T) {
	t.Parallel()
	for _, doc := range append(validCases, string(order), ` { "a" : [ 1 , 2 ] , "b\"" : { } , "c" : "}" } `,
		`[ "]" , [ "[" ] , { } , -1 , true ]`, `{"a":1e5,"b":null}`, `[0,[1,[2]],"\\"]`) {
		checkWalk(t, []byte(doc))
	}
	// Not JSON: no panic (Members used to slice past the end of `{"a"`).
	for _, doc := range append(invalidCases, `{"a"`, `{"a" `, `{"a":`, `["a",`, `{"a":1,"b`) {
		Members([]byte(doc), func(_, _ []byte) bool { return true })
		Elements([]byte(doc), func([]byte) bool { return true })
	}
	// Compact.
	for doc, want := range map[string]bool{`{"a":[1,"b c",{"d\\\" ":null}]}`: true, `{"a": 1}`: false, `[1 ]`: false,
		` 1`: false, `"\\"`: true, `"a\"\n"`: true, `{"a":"x","b":"\\" }`: false} {
		if got := Compact([]byte(doc)); got != want {
			t.Errorf("Compact(%s) = %v, want %v", doc, got, want)
		}
	}
	// Stopping early.
	n := 0
	Members(order, func(_, _ []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("Members went on after false: %d calls", n)
	}
}

func FuzzValid(f *testing.F) {
	for _, doc := range append(append(validCases, invalidCases...), string(order)) {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, want := Valid(doc), json.Valid(doc)
		if got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json %v", doc, got, want)
		}
		if got {
			checkWalk(t, doc)
			var c bytes.Buffer
			_ = json.Compact(&c, doc)
			if Compact(doc) != bytes.Equal(c.Bytes(), doc) {
				t.Fatalf("Compact(%q) = %v, but json.Compact gives %q", doc, Compact(doc), c.Bytes())
			}
			return
		}
		Compact(doc)
		// Not JSON: the walkers may hand out anything, but must not panic.
		Members(doc, func(name, value []byte) bool { Elements(value, func([]byte) bool { return true }); return true })
		Elements(doc, func(value []byte) bool { Members(value, func(_, _ []byte) bool { return true }); return true })
	})
}

// BenchmarkValid compares Valid with encoding/json's on a 1 KiB order.
func BenchmarkValid(b *testing.B) {
	for _, tc := range []struct {
		name  string
		valid func([]byte) bool
	}{{"encoding-json", json.Valid}, {"jsonscan", Valid}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(order)))
			b.ReportAllocs()
			for b.Loop() {
				if !tc.valid(order) {
					b.Fatal("not valid")
				}
			}
		})
	}
}
