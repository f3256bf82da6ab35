package abi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// decodeAny decodes a JSON document with numbers kept as written.
func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return v
}

// checkTriggerInput checks that AppendTriggerInput and json.Marshal encode in alike: both valid
// JSON that decodes to the same value, or both an error.
func checkTriggerInput(t *testing.T, in *TriggerInput) {
	t.Helper()
	want, wantErr := json.Marshal(in)
	got, err := AppendTriggerInput([]byte("prefix"), in)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%+v: error %v, json.Marshal's %v", in, err, wantErr)
	}
	if err != nil {
		return
	}
	got, ok := bytes.CutPrefix(got, []byte("prefix"))
	if !ok || !json.Valid(got) {
		t.Fatalf("%+v: not JSON after the prefix: %q", in, got)
	}
	if g, w := decodeAny(t, got), decodeAny(t, want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%+v:\n got %q\nwant %q", in, got, want)
	}
	if jsonscan.Compact(in.Params) && jsonscan.Compact(in.State) && !bytes.Equal(got, want) {
		t.Fatalf("%+v: not json.Marshal's bytes\n got %q\nwant %q", in, got, want)
	}
}

var stringCases = []string{"", "plain", `q"uote`, `back\slash`, "nl\n cr\r tab\t bs\b ff\f nul\x00 us\x1f del\x7f",
	"é ü 漢 🎉", "bad \xff byte", "cut \xe6\xbc", "\u2028 \u2029", "<a href='x'>&</a>", strings.Repeat("{\"k\":1}", 100)}

func TestAppendTriggerInput(t *testing.T) {
	for _, s := range stringCases {
		checkTriggerInput(t, &TriggerInput{Op: TriggerOpReceive, Key: s, Params: json.RawMessage(`{"a": [1, 2]}`),
			Request: &HTTPRequest{Method: "POST", Path: "/hooks/" + s, Body: s,
				Headers: map[string][]string{"Content-Type": {"application/json"}, s: {s, ""}, "Nil": nil, "Empty": {}},
				Query:   map[string][]string{"q": {s}}}})
	}
	checkTriggerInput(t, &TriggerInput{Op: TriggerOpPoll, Key: "k", State: json.RawMessage(`{"cursor":"c"}`)})
	checkTriggerInput(t, &TriggerInput{Op: TriggerOpSubscribe, Key: "k", WebhookURL: "http://x/y?a=1&b=<2>"})
	checkTriggerInput(t, &TriggerInput{})
	for _, bad := range []string{`{`, `1 2`, `nul`} {
		checkTriggerInput(t, &TriggerInput{Op: "receive", Params: json.RawMessage(bad)})
		checkTriggerInput(t, &TriggerInput{Op: "receive", State: json.RawMessage(bad)})
	}
}

func FuzzAppendTriggerInput(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s, s, "application/json", `{"a":1}`)
	}
	f.Fuzz(func(t *testing.T, body, path, header, params string) {
		checkTriggerInput(t, &TriggerInput{Op: TriggerOpReceive, Key: path, Params: json.RawMessage(params),
			Request: &HTTPRequest{Method: "POST", Path: path, Body: body,
				Headers: map[string][]string{header: {body, path}, "X": {header}}, Query: map[string][]string{path: {header}}}})
	})
}

// BenchmarkAppendTriggerInput compares AppendTriggerInput with json.Marshal on a webhook's
// trigger input for a 1 KiB JSON order.
func BenchmarkAppendTriggerInput(b *testing.B) {
	order := `{"order":{"id":1042,"customer":{"name":"Grace Hopper","email":"grace.hopper@example.com"},"currency":"EUR",` +
		`"lines":[{"sku":"SKU-0042","qty":2,"price":19.9},{"sku":"SKU-7781","qty":1,"price":83.6}],"total":123.4,` +
		`"note":"Please leave the parcel at the front desk if nobody answers.","padding":"` + strings.Repeat("0123456789abcdef", 40) + `"}}`
	in := &TriggerInput{Op: TriggerOpReceive, Key: "order", Params: json.RawMessage(`{}`), Request: &HTTPRequest{
		Method: "POST", Path: "/hooks/development/33NEA37TAJ1Q2P2361DFSE4A", Body: order,
		Headers: map[string][]string{"Content-Type": {"application/json"}, "User-Agent": {"splice-load"},
			"Webhook-Id": {"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"}}}}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendTriggerInput", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := AppendTriggerInput(nil, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
