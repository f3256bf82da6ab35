package engine

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
)

// TestStepRecordEncode checks that the hand-written encoder writes what encoding/json writes, over
// records with every field set at random: a field added to StepRecord, broker.Exchange or what
// they hold, and not to their encoders, fails it.
func TestStepRecordEncode(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		var rec StepRecord
		testkit.Fill(&rec, r)
		checkStepRecord(t, &rec)
	}
	for _, rec := range []StepRecord{
		{DurationMS: math.NaN()},
		{StartedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Exchanges: []broker.Exchange{{DurationMS: math.Inf(-1)}}},
	} {
		if b, ok := rec.appendJSON([]byte("x")); ok || string(b) != "x" {
			t.Errorf("%+v: appendJSON = %q, %v; want a failure that appends nothing", rec, b, ok)
		}
	}
}

func checkStepRecord(t *testing.T, rec *StepRecord) {
	t.Helper()
	want := rec.encodeReflect()
	if got := rec.encode(); string(got) != string(want) {
		t.Fatalf("%+v:\n got %s\nwant %s", rec, got, want)
	}
	if !json.Valid(want) {
		t.Fatalf("%+v: not JSON: %s", rec, want)
	}
}

// benchRecord is the record of W1's action step (cmd/splice-load): a chat message posted with an
// injected credential.
func benchRecord() *StepRecord {
	start := time.Date(2026, 12, 7, 14, 31, 22, 750679739, time.UTC)
	return &StepRecord{ID: "post", Kind: "action", App: "chat", Key: "send-message", Status: "succeeded", Attempts: 1,
		Input:  json.RawMessage(`{"channel":"#orders","text":"New order 3 by Katherine Johnson, total 2980.26"}`),
		Output: json.RawMessage(`{"ok":true,"status":200,"messageId":null}`),
		Logs:   []sandbox.LogLine{{Level: "info", Message: "posting to #orders"}},
		Exchanges: []broker.Exchange{{Method: "POST", URL: "http://127.0.0.1:46207/api/chat.postMessage", Injected: true,
			RequestHeaders: map[string]string{"Accept": "application/json", "Authorization": "[redacted]",
				"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": "0e9df69748ccb8a7cd358b6e723fe987", "User-Agent": "splice"},
			RequestBody: `{"channel":"#orders","text":"New order 3 by Katherine Johnson, total 2980.26"}`, RequestBodyBytes: 78, Status: 200,
			ResponseHeaders: map[string]string{"Content-Length": "11", "Content-Type": "application/json", "Server": "splice-load"},
			ResponseBody:    `{"ok":true}`, ResponseBodyBytes: 11, StartedAt: start.Add(14 * time.Millisecond), DurationMS: 7.999}},
		DurationMS: 22.043, StartedAt: start}
}

// BenchmarkStepRecordEncode compares the hand-written encoder with encoding/json's on W1's action
// step record.
func BenchmarkStepRecordEncode(b *testing.B) {
	rec := benchRecord()
	for _, bc := range []struct {
		name   string
		encode func() json.RawMessage
	}{{"impl=append", rec.encode}, {"impl=reflect", rec.encodeReflect}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.encode())))
			for b.Loop() {
				bc.encode()
			}
		})
	}
}

// TestScopeBytes checks that the hand-written scope document decodes as json.Marshal's does.
func TestScopeBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		var sc scopeDoc
		testkit.Fill(&sc, r)
		if len(sc.Trigger) == 0 {
			sc.Trigger = json.RawMessage("null") // newScope's orNull
		}
		if sc.Steps == nil {
			sc.Steps = map[string]json.RawMessage{} // as newScope makes it
		}
		for k, v := range sc.Steps {
			if len(v) == 0 {
				sc.Steps[k] = json.RawMessage("null")
			}
		}
		want, err := json.Marshal(&sc)
		if err != nil {
			t.Fatal(err)
		}
		got := sc.bytes()
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%+v: %q: %v", sc, got, err)
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%+v:\n got %s\nwant %s", sc, got, want)
		}
	}
}
