package abi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

var triggerOutputs = []string{
	`{"events":[{"id":"d2a1","payload":{"order":{"id":1042,"total":123.4}}}]}`,
	`{"events":[{"id":"a","payload":1},{"payload":[1, 2]},{"id":null,"payload":null},{}]}`,
	` { "events" : [ ] , "state" : { "cursor" : "c1" } } `,
	`{"events":null}`, `{"state":"s"}`, `{}`,
	// Slow paths: each falls back to encoding/json.
	`{"state":null}`,
	`{"events":[{"id":"a","payload":1}],"response":{"status":200,"body":"ok"}}`,
	`{"Events":[{"ID":"a"}]}`, `{"events":[{"id":"\u00e9"}]}`, `{"events":[{"id":"é"}]}`,
	`{"events":[{"id":1}]}`, `{"events":{}}`, `{"events":[null]}`, `{"events":[1]}`,
	`{"events":[{"id":"a"}],"events":[{"payload":2}]}`, `{"events":[{"id":"a","id":"b"}]}`,
	`{"other":1}`, `null`, `[]`, `"x"`, `{"events":[}`, ``, `{"state":1,"state":2}`,
}

// checkTriggerOutput checks DecodeTriggerOutput against json.Unmarshal, and
// DecodeValidTriggerOutput too when doc is valid JSON (on any other doc it must not panic).
func checkTriggerOutput(t *testing.T, doc []byte) {
	var want TriggerOutput
	wantErr := json.Unmarshal(doc, &want)
	got, err := DecodeTriggerOutput(doc)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v, %v\nwant %#v, %v", doc, got, err, want, wantErr)
	}
	got, err = DecodeValidTriggerOutput(doc)
	if json.Valid(doc) && (fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want)) {
		t.Fatalf("DecodeValidTriggerOutput(%q):\n got %#v, %v\nwant %#v, %v", doc, got, err, want, wantErr)
	}
}

func TestDecodeTriggerOutput(t *testing.T) {
	for _, doc := range triggerOutputs {
		checkTriggerOutput(t, []byte(doc))
	}
	// The usual shapes take the fast path.
	for _, doc := range triggerOutputs[:6] {
		if _, ok := decodeTriggerOutput([]byte(doc)); !ok {
			t.Errorf("%s: not decoded by the fast path", doc)
		}
	}
}

func FuzzDecodeTriggerOutput(f *testing.F) {
	for _, doc := range triggerOutputs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkTriggerOutput(t, doc) })
}

// BenchmarkDecodeTriggerOutput compares DecodeTriggerOutput with json.Unmarshal on a webhook
// trigger's output for a 1 KiB order.
func BenchmarkDecodeTriggerOutput(b *testing.B) {
	payload := `{"order":{"id":1042,"customer":{"name":"Grace Hopper","email":"grace.hopper@example.com"},"currency":"EUR",` +
		`"lines":[{"sku":"SKU-0042","qty":2,"price":19.9},{"sku":"SKU-7781","qty":1,"price":83.6}],"total":123.4,` +
		`"note":"Please leave the parcel at the front desk if nobody answers.","padding":"` + string(make([]byte, 0)) +
		`0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef` +
		`0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef` +
		`0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef` +
		`0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}`
	doc := []byte(`{"events":[{"id":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","payload":` + payload + `}]}`)
	for _, tc := range []struct {
		name   string
		decode func([]byte) error
	}{
		{"encoding-json", func(b []byte) error { var out TriggerOutput; return json.Unmarshal(b, &out) }},
		{"DecodeTriggerOutput", func(b []byte) error { _, err := DecodeTriggerOutput(b); return err }},
		{"DecodeValidTriggerOutput", func(b []byte) error { _, err := DecodeValidTriggerOutput(b); return err }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.decode(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var outputs = []string{
	`{"output":{"id":1042,"total":123.4}}`, ` { "output" : [1, 2] } `, `{"output":null}`, `{"output":"x"}`,
	// Slow paths.
	`{}`, `{"output":1,"output":2}`, `{"Output":1}`, `{"\u006futput":1}`, `{"output":1,"other":2}`,
	`{"other":2,"output":1}`, `null`, `[]`, `1`, `{"output":}`, ``,
}

// checkOutput checks DecodeValidOutput against json.Unmarshal on a valid doc; on any other doc it
// must not panic.
func checkOutput(t *testing.T, doc []byte) {
	got, err := DecodeValidOutput(doc)
	if !json.Valid(doc) {
		return
	}
	var want ActionOutput
	wantErr := json.Unmarshal(doc, &want)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want.Output) {
		t.Fatalf("%q:\n got %q, %v\nwant %q, %v", doc, got, err, want.Output, wantErr)
	}
}

func TestDecodeValidOutput(t *testing.T) {
	for _, doc := range outputs {
		checkOutput(t, []byte(doc))
	}
}

func FuzzDecodeValidOutput(f *testing.F) {
	for _, doc := range outputs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkOutput(t, doc) })
}
