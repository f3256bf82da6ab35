package ledger

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/splicehq/splice/host/internal/testkit"
)

// TestEncodersAgree checks each hand-written encoder against json.Marshal, over values with every
// field set at random: a field added to a record and not to its encoder fails it.
func TestEncodersAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var (
			ev  Event
			it  Item
			d   dedupe
			run Run
			a   Activity
			h   stepHead
		)
		for _, v := range []any{&ev, &it, &d, &run, &a, &h} {
			testkit.Fill(v, r)
		}
		for _, v := range []any{ev, it, d, run, a, &run, h} {
			checkEncode(t, v)
		}
	}
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range []any{Event{AcceptedAt: far}, Event{Payload: json.RawMessage(`{"a":`)}, Item{Due: far},
		Item{Data: json.RawMessage(`nul`)}, dedupe{At: far}, Run{UpdatedAt: far}, Run{Data: json.RawMessage(`[1,]`)},
		Activity{At: far}, Activity{Data: json.RawMessage(`{} {}`)}, Item{Data: json.RawMessage(` { "a" : "<&>" } `)},
		Run{Data: json.RawMessage("{\"s\":\"\u2028 \u2029 € é\"}")}, Activity{Data: json.RawMessage(`["€ é"]`)}} {
		checkEncode(t, v)
	}
}

func checkEncode(t *testing.T, v any) {
	t.Helper()
	want, wantErr := encodeReflect(v)
	got, err := encode(v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%T %+v: error %v, json.Marshal's %v", v, v, err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%T %+v:\n got %q\nwant %q", v, v, got, want)
	}
}

// TestEncodeWith checks that a record encodeWith writes decodes as the record with its raw field set.
func TestEncodeWith(t *testing.T) {
	at := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	for _, payload := range []string{"", `{"order":{"id":1,"note":"<&>"}}`, `[1, 2]`} {
		b, err := encodeWith(Event{ID: "e1", Consumer: "c", Automation: "a", AcceptedAt: at}, "payload", []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		var got Event
		if err := decode(b, &got); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		want := Event{ID: "e1", Consumer: "c", Automation: "a", AcceptedAt: at}
		if payload != "" {
			want.Payload = json.RawMessage(payload)
		}
		if g, w := mustMarshal(t, got), mustMarshal(t, want); g != w {
			t.Fatalf("payload %q: decoded %s, want %s", payload, g, w)
		}
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkEncode compares the hand-written encoders with encoding/json on the records of one
// accept (the event without its payload, its item and its dedupe record).
func BenchmarkEncode(b *testing.B) {
	now := time.Date(2026, 12, 7, 14, 31, 22, 750498621, time.UTC)
	recs := []any{
		Event{ID: "33NFUBVGTDDVC82VRHO5CF93", Consumer: "bench", Automation: "01JEXAMPLEAUTOMATION0001", DedupeKey: "b3c1f2…", AcceptedAt: now},
		Item{ID: "33NFUBVGTDDVC82VRHO5CF94", Consumer: "bench", Automation: "01JEXAMPLEAUTOMATION0001", Event: "33NFUBVGTDDVC82VRHO5CF93", Due: now},
		dedupe{Event: "33NFUBVGTDDVC82VRHO5CF93", At: now},
	}
	for _, bc := range []struct {
		name   string
		encode func(any) ([]byte, error)
	}{{"impl=append", encode}, {"impl=reflect", encodeReflect}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range recs {
					if _, err := bc.encode(r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// FuzzAppendRaw checks appendRaw against json.Marshal of a json.RawMessage: the same bytes, or
// both a failure.
func FuzzAppendRaw(f *testing.F) {
	for _, s := range []string{`{"a":1}`, ` { "a" : [1, 2] } `, `"<&>"`, "\"\u2028\"", `"€ é"`, `nul`, `{"a":}`, `1 2`, ``, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) == 0 {
			return // omitted by every encoder: never appended
		}
		want, err := json.Marshal(json.RawMessage(raw))
		got, ok := appendRaw([]byte("x"), raw)
		if ok != (err == nil) {
			t.Fatalf("%q: ok %v, json.Marshal's error %v", raw, ok, err)
		}
		if !ok {
			if string(got) != "x" {
				t.Fatalf("%q: failed but appended %q", raw, got)
			}
			return
		}
		if string(got) != "x"+string(want) {
			t.Fatalf("%q: appended %q, json.Marshal %q", raw, got[1:], want)
		}
	})
}
