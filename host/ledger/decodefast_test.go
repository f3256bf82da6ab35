package ledger

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/splicehq/splice/host/internal/testkit"
)

// decodeTargets returns one fresh target of each record with a hand-written decoder, filled at
// random when r is not nil (encoding/json keeps the fields a document does not name).
func decodeTargets(r *rand.Rand) []any {
	vs := []any{&Event{}, &Item{}, &Run{}, &Activity{}, &Step{}}
	if r != nil {
		for _, v := range vs {
			testkit.Fill(v, r)
		}
	}
	return vs
}

// checkDecode checks that decodeBody and json.Unmarshal make the same of b, starting from the
// same value of v's type: the same value, or both an error.
func checkDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	want := reflect.New(reflect.TypeOf(v).Elem())
	want.Elem().Set(reflect.ValueOf(v).Elem())
	got := reflect.New(reflect.TypeOf(v).Elem())
	got.Elem().Set(reflect.ValueOf(v).Elem())
	wantErr := json.Unmarshal(b, want.Interface())
	gotErr := decodeBody(b, got.Interface())
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%T %q: error %v, encoding/json's %v", v, b, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got.Interface(), want.Interface()) {
		t.Fatalf("%T %q:\n got %+v\nwant %+v", v, b, got.Interface(), want.Interface())
	}
}

// variants are documents derived from an encoded record that the hand-written decoders must
// leave to encoding/json or read as it does: whitespace, names in another case, escapes, nulls,
// unknown and repeated members, other types, truncation.
func variants(b []byte) [][]byte {
	s := string(b)
	out := []string{s, " " + s + "\n", strings.ReplaceAll(s, `":`, `" : `), strings.ReplaceAll(s, `,"`, `, "`),
		strings.Replace(s, `{"`, `{"unknown":1,"`, 1), strings.Replace(s, `{"`, `{"ID":"x","`, 1),
		strings.Replace(s, `"id":`, `"\u0069d":`, 1), strings.Replace(s, `":"`, `":"\u00e9`, 1),
		strings.Replace(s, `":"`, `":null,"x":"`, 1), strings.Replace(s, `":`, `":null,"data":null,"attempts":null,"dead":null,"due":null,"seq":null,"`, 1),
		strings.Replace(s, `"attempts":`, `"attempts":1e2,"x":`, 1), strings.Replace(s, `"seq":`, `"seq":-1,"y":`, 1),
		strings.Replace(s, `":"`, `":7,"z":"`, 1), strings.Replace(s, `{`, `{"data":[1, 2 ],`, 1),
		strings.Replace(s, `{`, `{"run":"a","run":"b",`, 1), strings.Replace(s, `{`, `{"due":"2026-13-01T00:00:00Z",`, 1),
		strings.Replace(s, `{`, `{"dead":"true",`, 1), strings.Replace(s, `":"`, "\":\"\xff", 1),
		s[:len(s)/2], "null", "[]", `{}`, `{"id":"a"} x`}
	bs := make([][]byte, len(out))
	for i, v := range out {
		bs[i] = []byte(v)
	}
	return bs
}

// TestDecodersAgree checks the hand-written decoders against encoding/json on records of every
// field at random, as their encoders write them and altered, into fresh and into filled values.
func TestDecodersAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		for i, v := range decodeTargets(r) {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range variants(b) {
				checkDecode(t, doc, decodeTargets(nil)[i])
				checkDecode(t, doc, decodeTargets(r)[i])
			}
		}
	}
}

func FuzzDecodersAgree(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 4 {
		for _, v := range decodeTargets(r) {
			b, _ := json.Marshal(v)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range decodeTargets(nil) {
			checkDecode(t, b, v)
		}
	})
}

// TestDecodersTakeTheUsual checks that the records the encoders write take the hand-written path.
func TestDecodersTakeTheUsual(t *testing.T) {
	now := time.Now()
	for _, v := range []any{
		Event{ID: "e1", Consumer: "c", Automation: "a", DedupeKey: "d", Payload: json.RawMessage(`{"order":{"id":1}}`), AcceptedAt: now},
		Item{ID: "i1", Consumer: "c", Automation: "a", Event: "e1", Run: "r1", Step: "s", Data: json.RawMessage(`{"step":1}`), Due: now, Attempts: 2, LastError: "boom", Dead: true},
		Run{ID: "r1", Consumer: "c", Automation: "a", Event: "e1", Status: Succeeded, CreatedAt: now, UpdatedAt: now, Data: json.RawMessage(`{}`)},
		Activity{Seq: 7, Consumer: "c", Kind: "run.succeeded", At: now, Data: json.RawMessage(`{"run":"r1"}`)},
		Step{Run: "r1", Key: "0000-format", Data: json.RawMessage(`{"id":"format"}`)},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		target := reflect.New(reflect.TypeOf(v))
		if !target.Interface().(recordDecoder).decodeJSON(b) {
			t.Fatalf("%T %s: left to encoding/json", v, b)
		}
		if got := target.Elem().Interface(); !reflect.DeepEqual(mustMarshal(t, got), mustMarshal(t, v)) {
			t.Fatalf("%T: decoded %+v, want %+v", v, got, v)
		}
	}
}

// BenchmarkDecode compares the hand-written decoders with encoding/json on the records a run's
// start reads: its item and its event's head (decodeWith cuts the payload off first).
func BenchmarkDecode(b *testing.B) {
	now := time.Date(2026, 12, 7, 14, 31, 22, 750498621, time.UTC)
	item, _ := json.Marshal(Item{ID: "33NFUBVGTDDVC82VRHO5CF94", Consumer: "bench", Automation: "01JEXAMPLEAUTOMATION0001", Event: "33NFUBVGTDDVC82VRHO5CF93", Due: now})
	head, _ := json.Marshal(Event{ID: "33NFUBVGTDDVC82VRHO5CF93", Consumer: "bench", Automation: "01JEXAMPLEAUTOMATION0001", DedupeKey: "b3c1f2e4", AcceptedAt: now})
	for _, bc := range []struct {
		name   string
		decode func([]byte, any) error
	}{{"impl=plain", decodeBody}, {"impl=reflect", json.Unmarshal}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var it Item
				var ev Event
				if bc.decode(item, &it) != nil || bc.decode(head, &ev) != nil {
					b.Fatal("decode failed")
				}
			}
		})
	}
}
