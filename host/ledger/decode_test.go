package ledger

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// checkDecodeWith checks that decodeWith reads an event record as decode does, for the record
// encodeWith writes and for the one plain encode wrote before it (payload in the middle).
func checkDecodeWith(t *testing.T, ev Event) {
	t.Helper()
	payload := ev.Payload
	ev.Payload = nil
	with, err := encodeWith(ev, "payload", payload)
	if err != nil {
		t.Fatal(err)
	}
	ev.Payload = payload
	plain, err := encode(ev)
	if err != nil {
		return // a payload encoding/json refuses: never stored
	}
	for _, rec := range [][]byte{with, plain} {
		var want, got Event
		wantErr := decode(rec, &want)
		gotErr := decodeWith(rec, &got, "payload", func(raw json.RawMessage) { got.Payload = raw })
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, decode's %v", rec, gotErr, wantErr)
		}
		if wantErr != nil {
			continue
		}
		// decode compacts nothing: both keep the payload as written in the record.
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", rec, got, want)
		}
	}
}

var decodeCases = []string{`{"order":{"id":1}}`, `1`, `"payload"`, `{"payload":{"payload":2}}`, `[ 1 , 2 ]`, `null`,
	`{"a":"\",\"payload\":3"}`}

func TestDecodeWith(t *testing.T) {
	at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	for _, p := range decodeCases {
		for _, id := range []string{"e1", `","payload":1,"x":"`, `\",\"payload\":`, "payload"} {
			checkDecodeWith(t, Event{ID: id, Consumer: "acme", Automation: "a1", DedupeKey: id, Payload: json.RawMessage(p), AcceptedAt: at})
		}
	}
	// Records decodeWith cannot split go to decode: not ours, or cut short.
	for _, rec := range []string{"\x01{}", "\x01{\"id\":\"e\"}", "\x01{\"payload\":", "\x02{}", "", "\x01{\"payload\":1,\"id\":\"e\"}"} {
		var want, got Event
		wantErr := decode([]byte(rec), &want)
		gotErr := decodeWith([]byte(rec), &got, "payload", func(raw json.RawMessage) { got.Payload = raw })
		if (gotErr != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %+v, %v; want %+v, %v", rec, got, gotErr, want, wantErr)
		}
	}
}

func FuzzDecodeWith(f *testing.F) {
	for _, p := range decodeCases {
		f.Add("e1", "k", []byte(p))
	}
	f.Fuzz(func(t *testing.T, id, dedupe string, payload []byte) {
		if !json.Valid(payload) {
			return // the ledger refuses it before it is stored
		}
		checkDecodeWith(t, Event{ID: id, Consumer: "c", Automation: "a", DedupeKey: dedupe, Payload: payload,
			AcceptedAt: time.Unix(1, 0).UTC()})
	})
}

// BenchmarkDecodeEvent compares decode and decodeWith on the record of an event with a 1 KiB
// payload.
func BenchmarkDecodeEvent(b *testing.B) {
	payload := []byte(`{"order":{"id":1042,"customer":{"name":"Grace Hopper","email":"grace.hopper@example.com"},"currency":"EUR",` +
		`"lines":[{"sku":"SKU-0042","qty":2,"price":19.9},{"sku":"SKU-7781","qty":1,"price":83.6}],"total":123.4,` +
		`"note":"Please leave the parcel at the front desk if nobody answers.","padding":"` +
		string(bytes.Repeat([]byte("0123456789abcdef"), 40)) + `"}}`)
	rec, err := encodeWith(Event{ID: NewID(time.Now()), Consumer: "acme", Automation: "33NEA37TAJ1Q2P2361DFSE4A",
		DedupeKey: "event:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", AcceptedAt: time.Now()}, "payload", payload)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			var e Event
			if err := decode(rec, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeWith", func(b *testing.B) {
		for b.Loop() {
			var e Event
			if err := decodeWith(rec, &e, "payload", func(raw json.RawMessage) { e.Payload = raw }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
