package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeStd is what parse replaces: encoding/json's Decoder with UseNumber, one value, nothing
// after it.
func decodeStd(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return v, true
}

var parseCases = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e-3`, `-12E+4`, `123456789012345678901234567890`,
	`"plain"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`,
	`"\ude00\ud83d"`, `"\ud83d\u0041"`, `"é中😀"`, ` {"a": [1, {"b": null}], "a": 2} `, "\t[\n1 ,\r2 ]\n",
	`{"order":{"id":"A-1","total":12.5,"lines":[{"sku":"x","qty":2}]}}`,
	// Not JSON, or not one value:
	``, ` `, `{`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`,
	`"unterminated`, "\"ctl \x01\"", `"\x"`, `"\u12"`, `"\u12g4"`, `1 2`, `{} x`, `[1] ]`, `NaN`,
}

func TestParseMatchesEncodingJSON(t *testing.T) {
	deep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	deeper := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	for _, c := range append(parseCases, deep, deeper) {
		checkParse(t, []byte(c))
	}
}

func checkParse(t *testing.T, data []byte) {
	t.Helper()
	if !utf8.Valid(data) {
		return // decodeAny refuses it first
	}
	want, wantOK := decodeStd(data)
	got, ok := parse(data)
	if ok != wantOK {
		t.Fatalf("parse(%.80q): ok %v, encoding/json %v", data, ok, wantOK)
	}
	if ok && !reflect.DeepEqual(got, want) {
		t.Fatalf("parse(%.80q) = %#v, encoding/json %#v", data, got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range parseCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data) })
}

func BenchmarkDecode(b *testing.B) {
	doc := []byte(`{"order":{"id":"A-1042","customer":{"name":"Ada Lovelace","email":"ada@example.com"},` +
		`"total":129.95,"currency":"EUR","lines":[{"sku":"KB-1","qty":1,"price":99.95},{"sku":"MS-2","qty":2,"price":15}],` +
		`"note":"leave at the door \"please\"","tags":["new","priority"]}}`)
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := parse(doc); !ok {
				b.Fatal("not parsed")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeStd(doc); !ok {
				b.Fatal("not decoded")
			}
		}
	})
}
