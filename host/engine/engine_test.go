package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/credential"
	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/queue"
	"github.com/splicehq/splice/host/sandbox"
	"github.com/splicehq/splice/host/validate"
	"github.com/splicehq/splice/schemas"
)

var ctx = context.Background()

type connectors map[string]*connector.Connector

func (c connectors) Active(_ context.Context, appKey string) (*connector.Connector, error) {
	if conn, ok := c[appKey]; ok {
		return conn, nil
	}
	return nil, fmt.Errorf("no connector %s", appKey)
}

type automations struct {
	mu sync.Mutex
	m  map[string]*automation.Program
}

func (a *automations) Program(_ context.Context, consumer, id string) (*automation.Program, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.m[consumer+"/"+id]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("no automation %s", id)
}

func (a *automations) put(t testing.TB, consumer, id, doc string) {
	t.Helper()
	au, err := automation.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := automation.Compile(au)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.m[consumer+"/"+id] = p
	a.mu.Unlock()
}

type creds struct{ secrets map[string]string }

func (c creds) Secrets(context.Context, string, string) (map[string]string, error) {
	return maps.Clone(c.secrets), nil
}
func (c creds) SwapSecrets(context.Context, string, string, map[string]string, map[string]string) (bool, error) {
	return false, nil
}

// sharedRuntime is one sandbox runtime for the package's tests: a module compiled for one test is
// found in its cache by the next (compiling the Go guests is most of these tests' time under
// -race).
var sharedRuntime = func() func(testing.TB) *sandbox.Runtime {
	var once sync.Once
	var rt *sandbox.Runtime
	var err error
	return func(t testing.TB) *sandbox.Runtime {
		once.Do(func() { rt, err = sandbox.New(ctx, sandbox.Options{}) })
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
}()

type fixture struct {
	store *ledger.Embedded
	autos *automations
	eng   *engine.Engine
}

// newFixture wires a real store on disk, real connectors built from source (json, the Go
// http-probe) and a broker allowed to reach loopback upstreams.
func newFixture(t testing.TB, probeTimeout time.Duration) *fixture {
	t.Helper()
	return newFixtureWith(t, probeTimeout, nil)
}

// newFixtureWith is newFixture with the engine's options adjusted by mod.
func newFixtureWith(t testing.TB, probeTimeout time.Duration, mod func(*engine.Options)) *fixture {
	t.Helper()
	return newFixtureClock(t, probeTimeout, nil, mod)
}

// newFixtureClock is newFixtureWith with the store and the engine on the clock now (nil: the
// wall clock).
func newFixtureClock(t testing.TB, probeTimeout time.Duration, now func() time.Time, mod func(*engine.Options)) *fixture {
	t.Helper()
	db, err := kv.Open(kv.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := ledger.Open(ctx, db, ledger.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	rt := sharedRuntime(t)
	conns := connectors{}
	for app, guest := range map[string]string{"json": "connector-json", "http-probe": "http-probe", "echo": "connector-echo",
		"webhook": "connector-webhook"} {
		opts := connector.Options{}
		if app == "http-probe" {
			opts.Policy = sandbox.Limits{Timeout: probeTimeout}
		}
		c, err := connector.Load(ctx, rt, testkit.Guest(t, guest), opts)
		if err != nil {
			t.Fatal(err)
		}
		conns[app] = c
	}
	b, err := broker.New(broker.Options{Env: "development", AllowHTTP: true, AllowLoopback: true, AnyPort: true,
		Credentials: creds{map[string]string{"apiKey": "sk_engine_CANARY_1122"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	autos := &automations{m: map[string]*automation.Program{}}
	o := engine.Options{Store: store, Connectors: conns, Automations: autos, Broker: b, Workers: 4,
		Retry: queue.Policy{BaseDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxAttempts: 3}}
	o.Now = now
	if mod != nil {
		mod(&o)
	}
	eng, err := engine.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: store, autos: autos, eng: eng}
}

// start runs the engine until the test ends.
func (f *fixture) start(t testing.TB) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.eng.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (f *fixture) accept(t *testing.T, consumer, auto, payload string) string {
	t.Helper()
	out, err := f.store.Accept(ctx, []ledger.NewEvent{{Consumer: consumer, Automation: auto, Payload: json.RawMessage(payload)}})
	if err != nil {
		t.Fatal(err)
	}
	return out[0].ID
}

// waitRun waits (at most 60 s) until the event's run reaches one of the statuses.
func (f *fixture) waitRun(t *testing.T, consumer, event string, want ...ledger.Status) ledger.Run {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		runs, _, err := f.store.Runs(ctx, ledger.RunQuery{Consumer: consumer, Page: ledger.Page{Limit: ledger.MaxPageSize}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Event != event {
				continue
			}
			for _, w := range want {
				if r.Status == w {
					return r
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the run of event %s never reached %v", event, want)
	return ledger.Run{}
}

func (f *fixture) steps(t *testing.T, consumer, run string) map[string]engine.StepRecord {
	t.Helper()
	steps, _, err := f.store.Steps(ctx, consumer, run, ledger.Page{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]engine.StepRecord{}
	for _, s := range steps {
		var rec engine.StepRecord
		if err := json.Unmarshal(s.Data, &rec); err != nil {
			t.Fatal(err)
		}
		out[rec.ID] = rec
	}
	return out
}

const ordersAutomation = `{"name": "big orders to the upstream",
 "trigger": {"appKey": "shop", "triggerKey": "new-order"},
 "steps": [
   {"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger.order}}", "paths": ["id", "total"]}},
   {"id": "big", "filter": "steps.pick.output.total >= 10"},
   {"id": "post", "appKey": "http-probe", "actionKey": "fetch", "credentialKey": "k",
    "inputParams": {"method": "POST", "url": "%s/orders", "body": "order {{steps.pick.output.id}} of {{consumer.key}}", "auth": true}}
 ]}`

// TestRuns runs the orders automation end to end: a transform, a filter and an action to a
// loopback upstream, with mapping across steps, the credential injected, and per-step records.
func TestRuns(t *testing.T) {
	var got sync.Map
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b), r.Header.Get("X-Api-Key"))
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	f := newFixture(t, 0)
	f.autos.put(t, "acme", "a1", fmt.Sprintf(ordersAutomation, up.URL))
	f.start(t)

	big := f.accept(t, "acme", "a1", `{"order":{"id":42,"total":20,"note":"x"}}`)
	small := f.accept(t, "acme", "a1", `{"order":{"id":43,"total":5}}`)
	r := f.waitRun(t, "acme", big, ledger.Succeeded, ledger.Failed, ledger.Dead)
	if r.Status != ledger.Succeeded {
		t.Fatalf("run of the big order: %s %s", r.Status, r.Data)
	}
	if key, ok := got.Load("order 42 of acme"); !ok || key != "sk_engine_CANARY_1122" {
		t.Errorf("the upstream got %v (key %v)", ok, key)
	}
	steps := f.steps(t, "acme", r.ID)
	if string(steps["pick"].Output) != `{"id":42,"total":20}` || string(steps["big"].Output) != "true" || steps["post"].Status != "succeeded" {
		t.Errorf("step records: %+v", steps)
	}
	if ex := steps["post"].Exchanges; len(ex) != 1 || !ex[0].Injected || ex[0].Status != 200 {
		t.Errorf("post exchanges: %+v", ex)
	}
	if b, _ := json.Marshal(steps); strings.Contains(string(b), "CANARY") {
		t.Errorf("a step record holds the secret: %s", b)
	}
	if r := f.waitRun(t, "acme", small, ledger.Filtered, ledger.Succeeded, ledger.Failed); r.Status != ledger.Filtered {
		t.Errorf("run of the small order: %s", r.Status)
	}
	if _, ok := got.Load("order 43 of acme"); ok {
		t.Error("the filtered order reached the upstream")
	}
	// An Ack's activity is listed a moment after its run record is readable (the feed lists no
	// entry above one still being written): wait for it, a while at most.
	var kinds map[string]int
	for deadline := time.Now().Add(10 * time.Second); ; {
		acts, _, _ := f.store.Activity(ctx, "acme", ledger.Page{})
		kinds = map[string]int{}
		for _, a := range acts {
			kinds[a.Kind]++
		}
		if kinds["run.succeeded"] == 1 && kinds["run.filtered"] == 1 && kinds["connector.called"] == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if kinds["run.succeeded"] != 1 || kinds["run.filtered"] != 1 || kinds["connector.called"] != 3 {
		t.Errorf("activity: %v", kinds)
	}
}

// TestRequiredInput: a missing path maps to null, but where the action's inputSchema requires
// the value the step fails at once (invalid_input, no retry, the upstream never called), naming
// the input and the path that read nothing.
func TestRequiredInput(t *testing.T) {
	var calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	f := newFixture(t, 0)
	f.autos.put(t, "acme", "req", `{"name": "required url", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "get", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "{{trigger.target}}"}}]}`)
	f.start(t)
	ev := f.accept(t, "acme", "req", `{"other": 1}`)
	r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead)
	st := f.steps(t, "acme", r.ID)["get"]
	if r.Status != ledger.Failed || st.Error == nil || st.Error.Kind != "invalid_input" || st.Error.Retryable || st.Attempts != 1 ||
		!strings.Contains(st.Error.Message, "input /url is required") || !strings.Contains(st.Error.Message, "trigger.target") {
		t.Fatalf("run %s, step %+v", r.Status, st)
	}
	if string(st.Input) != `{"url":null}` {
		t.Errorf("recorded input %s, want the null the mapping made", st.Input)
	}
	ev = f.accept(t, "acme", "req", fmt.Sprintf(`{"target": %q}`, up.URL+"/x"))
	if r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead); r.Status != ledger.Succeeded || calls.Load() != 1 {
		t.Errorf("with the path present: run %s, %d calls", r.Status, calls.Load())
	}
}

// TestRetryDeadAndReplay: an upstream that hangs makes the action time out; the step is retried
// with backoff, the run goes dead when attempts run out, and a replay after the upstream recovers
// runs the failed step only (the transform before it keeps its one record).
func TestRetryDeadAndReplay(t *testing.T) {
	var calls, hang atomic.Int64
	hang.Store(1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if hang.Load() == 1 {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	f := newFixture(t, 500*time.Millisecond)
	f.autos.put(t, "acme", "a1", fmt.Sprintf(ordersAutomation, up.URL))
	f.start(t)

	ev := f.accept(t, "acme", "a1", `{"order":{"id":7,"total":99}}`)
	r := f.waitRun(t, "acme", ev, ledger.Dead, ledger.Succeeded, ledger.Failed)
	if r.Status != ledger.Dead || calls.Load() != 3 {
		t.Fatalf("after 3 timeouts: run %s, %d upstream calls, data %s", r.Status, calls.Load(), r.Data)
	}
	before := f.steps(t, "acme", r.ID)
	if before["post"].Attempts != 3 || before["post"].Error == nil || before["post"].Error.Kind != "timeout" || !before["post"].Error.Retryable {
		t.Errorf("failed step record: %+v", before["post"])
	}
	acts, _, _ := f.store.Activity(ctx, "acme", ledger.Page{})
	retried := 0
	for _, a := range acts {
		if a.Kind == "step.retried" {
			retried++
		}
	}
	if retried != 2 {
		t.Errorf("%d step.retried entries, want 2", retried)
	}

	hang.Store(0)
	if err := f.eng.Replay(ctx, "acme", r.ID); err != nil {
		t.Fatal(err)
	}
	r = f.waitRun(t, "acme", ev, ledger.Succeeded)
	after := f.steps(t, "acme", r.ID)
	if !after["pick"].StartedAt.Equal(before["pick"].StartedAt) {
		t.Error("the transform that had succeeded ran again on replay")
	}
	if after["post"].Status != "succeeded" || calls.Load() != 4 {
		t.Errorf("after replay: post %+v, %d upstream calls", after["post"], calls.Load())
	}
	if err := f.eng.Replay(ctx, "acme", r.ID); err == nil {
		t.Error("replay of a succeeded run: no error")
	}
	if err := f.eng.Replay(ctx, "other", r.ID); err == nil {
		t.Error("replay of another consumer's run: no error")
	}
}

func TestIdempotencyKey(t *testing.T) {
	k := engine.IdempotencyKey("run1", "post", 0)
	if k != engine.IdempotencyKey("run1", "post", 0) || len(k) != 32 {
		t.Errorf("key %q is not stable", k)
	}
	for _, other := range []string{engine.IdempotencyKey("run2", "post", 0), engine.IdempotencyKey("run1", "post2", 0), engine.IdempotencyKey("run1", "post", 1)} {
		if other == k {
			t.Error("two different steps share a key")
		}
	}
}

// TestForEach runs nested steps over 1,000 items (a transform each, items with qty 0 filtered
// by where), then a step that reads the forEach's output; and, against a slow upstream, checks
// that no more than concurrency items run at once.
func TestForEach(t *testing.T) {
	var inFlight, peak, calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	f := newFixture(t, 0)
	f.autos.put(t, "acme", "lines", `{"name": "each line",
	 "trigger": {"appKey": "shop", "triggerKey": "new-order"},
	 "steps": [
	   {"id": "each", "forEach": {"items": "{{trigger.lines}}", "where": "item.qty > 0", "concurrency": 8, "steps": [
	     {"id": "sku", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{item}}", "paths": ["sku"]}},
	     {"id": "again", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{steps.sku.output}}", "paths": ["sku"]}}]}},
	   {"id": "summary", "respond": {"body": {"n": "{{steps.each.output.#}}", "first": "{{steps.each.output.0.again.sku}}"}}}]}`)
	f.autos.put(t, "acme", "slow", fmt.Sprintf(`{"name": "slow upstream",
	 "trigger": {"appKey": "shop", "triggerKey": "new-order"},
	 "steps": [{"id": "each", "forEach": {"items": "{{trigger.lines}}", "concurrency": 4, "steps": [
	   {"id": "post", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "%s/line/{{item.sku}}"}}]}}]}`, up.URL))
	f.start(t)

	var lines []string
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf(`{"sku":"s%d","qty":%d}`, i, i%10))
	}
	ev := f.accept(t, "acme", "lines", `{"lines":[`+strings.Join(lines, ",")+`]}`)
	r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead)
	if r.Status != ledger.Succeeded {
		t.Fatalf("run: %s %s", r.Status, r.Data)
	}
	steps := f.steps(t, "acme", r.ID)
	var out []json.RawMessage
	if err := json.Unmarshal(steps["each"].Output, &out); err != nil || len(out) != 1000 {
		t.Fatalf("forEach output: %d items, %v", len(out), err)
	}
	nulls := 0
	for _, o := range out {
		if string(o) == "null" {
			nulls++
		}
	}
	if nulls != 100 || string(out[1]) != `{"again":{"sku":"s1"},"sku":{"sku":"s1"}}` {
		t.Errorf("%d filtered items (want 100); item 1 = %s", nulls, out[1])
	}
	if string(steps["summary"].Output) != `{"body":{"n":1000,"first":null}}` {
		t.Errorf("summary: %s", steps["summary"].Output)
	}

	var slow []string
	for i := range 40 {
		slow = append(slow, fmt.Sprintf(`{"sku":"s%d"}`, i))
	}
	ev = f.accept(t, "acme", "slow", `{"lines":[`+strings.Join(slow, ",")+`]}`)
	if r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead); r.Status != ledger.Succeeded {
		t.Fatalf("slow run: %s %s", r.Status, r.Data)
	}
	if calls.Load() != 40 || peak.Load() > 4 || peak.Load() < 2 {
		t.Errorf("%d calls, peak %d in flight; want 40 calls and at most 4 at once", calls.Load(), peak.Load())
	}
}

// TestForEachRetrySkipsCompletedItems: one item's action times out; the forEach is retried, and
// only that item's step runs again (every other item called the upstream exactly once).
func TestForEachRetrySkipsCompletedItems(t *testing.T) {
	var calls sync.Map // path → *atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := calls.LoadOrStore(r.URL.Path, new(atomic.Int64))
		if n.(*atomic.Int64).Add(1) == 1 && r.URL.Path == "/line/s7" {
			select { // the first call of item 7 hangs past the call's deadline
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	f := newFixture(t, 400*time.Millisecond)
	f.autos.put(t, "acme", "slow", fmt.Sprintf(`{"name": "retry one item",
	 "trigger": {"appKey": "shop", "triggerKey": "new-order"},
	 "steps": [{"id": "each", "forEach": {"items": "{{trigger.lines}}", "concurrency": 3, "steps": [
	   {"id": "post", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "%s/line/{{item.sku}}"}}]}}]}`, up.URL))
	f.start(t)
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprintf(`{"sku":"s%d"}`, i))
	}
	ev := f.accept(t, "acme", "slow", `{"lines":[`+strings.Join(lines, ",")+`]}`)
	r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead)
	if r.Status != ledger.Succeeded {
		t.Fatalf("run: %s %s", r.Status, r.Data)
	}
	for i := range 20 {
		want := int64(1)
		if i == 7 {
			want = 2
		}
		n, ok := calls.Load(fmt.Sprintf("/line/s%d", i))
		if !ok || n.(*atomic.Int64).Load() != want {
			got := int64(0)
			if ok {
				got = n.(*atomic.Int64).Load()
			}
			t.Errorf("item %d called the upstream %d times, want %d", i, got, want)
		}
	}
	if st := f.steps(t, "acme", r.ID)["each"]; st.Attempts != 2 {
		t.Errorf("forEach attempts: %d, want 2", st.Attempts)
	}
}

// TestNestedForEach: a forEach over orders runs a forEach over each order's lines. One line's
// first call times out, so the outer forEach is retried: every other line calls the upstream
// exactly once, the nested outputs nest, and once the step settles no progress object is left.
func TestNestedForEach(t *testing.T) {
	var calls sync.Map // path → *atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := calls.LoadOrStore(r.URL.Path, new(atomic.Int64))
		if n.(*atomic.Int64).Add(1) == 1 && r.URL.Path == "/o2/l1" {
			select { // the first call of order 2, line 1 hangs past the call's deadline
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	// The deadline is long enough that only the hanging call reaches it, also under -race with
	// the other packages' tests on the same cores (at 400 ms, ordinary calls sometimes did).
	f := newFixture(t, 2*time.Second)
	f.autos.put(t, "acme", "orders", fmt.Sprintf(`{"name": "orders and lines",
	 "trigger": {"appKey": "shop", "triggerKey": "new-order"},
	 "steps": [{"id": "orders", "forEach": {"items": "{{trigger.orders}}", "concurrency": 2, "steps": [
	   {"id": "id", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{item}}", "paths": ["id"]}},
	   {"id": "lines", "forEach": {"items": "{{item.lines}}", "where": "item.qty > 0", "concurrency": 3, "steps": [
	     {"id": "post", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "%s/{{item.sku}}"}}]}}]}},
	   {"id": "after", "respond": {"body": {"n": "{{steps.orders.output.#}}", "lines": "{{steps.orders.output.2.lines.#}}"}}}]}`, up.URL))
	f.start(t)

	var orders []string
	for o := range 5 {
		var lines []string
		for l := range 4 {
			lines = append(lines, fmt.Sprintf(`{"sku":"o%d/l%d","qty":%d}`, o, l, l%4))
		}
		orders = append(orders, fmt.Sprintf(`{"id":%d,"lines":[%s]}`, o, strings.Join(lines, ",")))
	}
	ev := f.accept(t, "acme", "orders", `{"orders":[`+strings.Join(orders, ",")+`]}`)
	r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead)
	if r.Status != ledger.Succeeded {
		t.Fatalf("run: %s %s", r.Status, r.Data)
	}
	for o := range 5 {
		for l := range 4 {
			want := int64(1)
			switch {
			case l == 0:
				want = 0 // filtered by where
			case o == 2 && l == 1:
				want = 2
			}
			got := int64(0)
			if n, ok := calls.Load(fmt.Sprintf("/o%d/l%d", o, l)); ok {
				got = n.(*atomic.Int64).Load()
			}
			if got != want {
				t.Errorf("order %d line %d called the upstream %d times, want %d", o, l, got, want)
			}
		}
	}
	steps := f.steps(t, "acme", r.ID)
	if st := steps["orders"]; st.Attempts != 2 {
		t.Errorf("forEach attempts: %d, want 2", st.Attempts)
	}
	if got := string(steps["after"].Output); got != `{"body":{"n":5,"lines":4}}` {
		t.Errorf("after: %s", got)
	}
	var out []struct {
		ID    json.RawMessage   `json:"id"`
		Lines []json.RawMessage `json:"lines"`
	}
	if err := json.Unmarshal(steps["orders"].Output, &out); err != nil || len(out) != 5 || string(out[3].ID) != `{"id":3}` ||
		string(out[3].Lines[0]) != "null" || !strings.Contains(string(out[3].Lines[2]), `"post"`) {
		t.Errorf("forEach output: %s (%v)", steps["orders"].Output, err)
	}
	if objs, _, err := f.store.Objects(ctx, "foreach", "acme", ledger.Page{}); err != nil || len(objs) != 0 {
		t.Errorf("progress objects left after the run: %d (%v)", len(objs), err)
	}
}

// TestCall: a call step runs another automation of the consumer with its input as the trigger
// and uses its output; a call of a missing automation, and runs calling themselves past
// MaxCallDepth, fail the caller.
func TestCall(t *testing.T) {
	f := newFixture(t, 0)
	f.autos.put(t, "acme", "main", `{"name": "main", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [
	   {"id": "c", "call": {"automation": "sub", "input": {"x": "{{trigger.order.id}}"}}},
	   {"id": "r", "respond": {"body": {"got": "{{steps.c.output.y}}"}}}]}`)
	f.autos.put(t, "acme", "sub", `{"name": "sub", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "p", "appKey": "json", "transformKey": "pick", "inputParams": {"value": {"y": "{{trigger.x}}", "z": 1}, "paths": ["y"]}}]}`)
	f.autos.put(t, "acme", "broken", `{"name": "broken", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "c", "call": {"automation": "nope"}}]}`)
	f.autos.put(t, "acme", "loop", `{"name": "loop", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "c", "call": {"automation": "loop"}}]}`)
	f.start(t)

	ev := f.accept(t, "acme", "main", `{"order":{"id":42}}`)
	f.waitRun(t, "acme", ev, ledger.Succeeded) // the called run, or main's: both share the event
	var r ledger.Run
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		runs, _, _ := f.store.Runs(ctx, ledger.RunQuery{Consumer: "acme", Automation: "main"})
		if len(runs) != 1 {
			t.Fatalf("%d runs of main", len(runs))
		}
		if r = runs[0]; r.Status != ledger.Running {
			break
		}
	}
	if r.Status != ledger.Succeeded {
		t.Fatalf("main: %s %s", r.Status, r.Data)
	}
	steps := f.steps(t, "acme", r.ID)
	if string(steps["c"].Output) != `{"y":42}` || string(steps["r"].Output) != `{"body":{"got":42}}` {
		t.Errorf("call output %s, respond %s", steps["c"].Output, steps["r"].Output)
	}
	if sub, _, _ := f.store.Runs(ctx, ledger.RunQuery{Consumer: "acme", Automation: "sub"}); len(sub) != 1 || sub[0].Status != ledger.Succeeded {
		t.Errorf("the called run: %+v", sub)
	}

	for _, tc := range []struct{ auto, want string }{{"broken", `automation nope`}, {"loop", "call_depth"}} {
		ev := f.accept(t, "acme", tc.auto, `{}`)
		deadline := time.Now().Add(30 * time.Second)
		for {
			runs, _, _ := f.store.Runs(ctx, ledger.RunQuery{Consumer: "acme", Automation: tc.auto})
			var first *ledger.Run
			for i := range runs {
				var rd struct {
					Parent *struct{} `json:"parent"`
				}
				json.Unmarshal(runs[i].Data, &rd)
				if runs[i].Event == ev && rd.Parent == nil {
					first = &runs[i]
				}
			}
			if first != nil && first.Status == ledger.Failed {
				if !strings.Contains(string(first.Data), tc.want) {
					t.Errorf("%s failed with %s, want it to mention %q", tc.auto, first.Data, tc.want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never failed: %+v", tc.auto, first)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestFairness: consumer A's backlog of events is being worked when consumer B's 100 arrive; B's
// runs all finish before A's backlog drains by 10 %. The store leases round-robin across
// consumers, so B waits for at most one of A's items per free worker. SPLICE_FAIRNESS_EVENTS sets
// A's backlog (5,000 by default, 50,000 for the figure).
func TestFairness(t *testing.T) {
	backlog := 5000
	if v := os.Getenv("SPLICE_FAIRNESS_EVENTS"); v != "" {
		fmt.Sscan(v, &backlog)
	}
	f := newFixture(t, 0)
	for _, c := range []string{"a", "b"} {
		f.autos.put(t, c, "x", `{"name": "cheap", "trigger": {"appKey": "shop", "triggerKey": "t"}, "steps": [{"id": "ok", "filter": "trigger.n >= 0"}]}`)
	}
	for i := 0; i < backlog; i += ledger.MaxAcceptEvents {
		var evs []ledger.NewEvent
		for j := i; j < min(backlog, i+ledger.MaxAcceptEvents); j++ {
			evs = append(evs, ledger.NewEvent{Consumer: "a", Automation: "x", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, j))})
		}
		if _, err := f.store.Accept(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	f.start(t)
	time.Sleep(200 * time.Millisecond) // A's backlog is being worked
	before := countRuns(t, f, "a", "")
	var evs []ledger.NewEvent
	for j := range 100 {
		evs = append(evs, ledger.NewEvent{Consumer: "b", Automation: "x", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, j))})
	}
	if _, err := f.store.Accept(ctx, evs); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(120 * time.Second)
	for countRuns(t, f, "b", ledger.Succeeded) < 100 {
		if time.Now().After(deadline) {
			t.Fatal("B's runs did not finish")
		}
		time.Sleep(5 * time.Millisecond)
	}
	after := countRuns(t, f, "a", "")
	drained := after - before
	if before == 0 || drained == 0 {
		t.Fatalf("A's backlog was not being worked (%d runs started before B, %d during)", before, drained)
	}
	t.Logf("A: %d events; %d of A's runs started while B's 100 ran to completion (%.1f%% of the backlog)", backlog, drained, 100*float64(drained)/float64(backlog))
	if drained > backlog/10 {
		t.Errorf("A's backlog drained by %d runs (more than 10%%) before B's 100 finished", drained)
	}
}

// countRuns counts a consumer's runs in a status ("" for all: the runs started).
func countRuns(t testing.TB, f *fixture, consumer string, st ledger.Status) int {
	t.Helper()
	n := 0
	for p := (ledger.Page{Limit: ledger.MaxPageSize}); ; {
		runs, cur, err := f.store.Runs(ctx, ledger.RunQuery{Consumer: consumer, Status: st, Page: p})
		if err != nil {
			t.Fatal(err)
		}
		n += len(runs)
		if cur == "" {
			return n
		}
		p.Cursor = cur
	}
}

// TestQuotaAndShutdown: with 4 workers and 2 items per consumer, one consumer's slow runs never
// hold more than 2 workers while another's run beside them; then a shutdown gives a step cut
// short by the grace period back to the store, and a restarted engine finishes it, with no
// attempt counted.
func TestQuotaAndShutdown(t *testing.T) {
	var mu sync.Mutex
	inFlight, peak := map[string]int{}, map[string]int{}
	var hang atomic.Bool
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := strings.Split(r.URL.Path, "/")[1]
		mu.Lock()
		inFlight[who]++
		peak[who] = max(peak[who], inFlight[who])
		mu.Unlock()
		if hang.Load() {
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
		} else {
			time.Sleep(30 * time.Millisecond)
		}
		mu.Lock()
		inFlight[who]--
		mu.Unlock()
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	f := newFixtureWith(t, 20*time.Second, func(o *engine.Options) { o.MaxPerConsumer = 2; o.ShutdownGrace = 300 * time.Millisecond })
	for _, c := range []string{"a", "b"} {
		f.autos.put(t, c, "x", fmt.Sprintf(`{"name": "slow", "trigger": {"appKey": "shop", "triggerKey": "t"},
		 "steps": [{"id": "post", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "%s/%s/{{trigger.n}}"}}]}`, up.URL, c))
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.eng.Run(runCtx); close(done) }()
	var evs []string
	for i := range 12 {
		evs = append(evs, f.accept(t, "a", "x", fmt.Sprintf(`{"n":%d}`, i)))
	}
	bev := f.accept(t, "b", "x", `{"n":0}`)
	f.waitRun(t, "b", bev, ledger.Succeeded)
	for _, ev := range evs {
		f.waitRun(t, "a", ev, ledger.Succeeded)
	}
	mu.Lock()
	if peak["a"] > 2 || peak["a"] < 2 {
		t.Errorf("consumer a peaked at %d requests in flight, want its quota of 2", peak["a"])
	}
	mu.Unlock()

	// Shutdown with a step in hand that outlasts the grace period.
	hang.Store(true)
	ev := f.accept(t, "b", "x", `{"n":1}`)
	for {
		mu.Lock()
		n := inFlight["b"]
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of its context ending (grace 300 ms)")
	}
	t.Logf("Run returned %s after shutdown began", time.Since(start).Round(time.Millisecond))
	hang.Store(false)
	f.start(t)
	r := f.waitRun(t, "b", ev, ledger.Succeeded, ledger.Failed, ledger.Dead)
	if st := f.steps(t, "b", r.ID)["post"]; r.Status != ledger.Succeeded || st.Attempts != 1 {
		t.Errorf("after restart: run %s, step attempts %d (want succeeded, 1: the cut-short try is not counted)", r.Status, st.Attempts)
	}
}

type credStub map[string]string // consumer/key → app

func (c credStub) Get(_ context.Context, consumer, key string) (credential.Credential, error) {
	app, ok := c[consumer+"/"+key]
	if !ok {
		return credential.Credential{}, credential.ErrNotFound
	}
	return credential.Credential{Consumer: consumer, Key: key, AppKey: app}, nil
}

// TestCheck validates automations against the environment: connectors and keys, credentials
// (the consumer's, for the step's app, present where the app needs one), called automations and
// the literal parts of inputs.
func TestCheck(t *testing.T) {
	f := newFixture(t, 0)
	creds := credStub{"acme/k": "http-probe", "acme/other": "json"}
	compile := func(doc string) *automation.Program {
		a, err := automation.Decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		p, err := automation.Compile(a)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := compile(`{"name": "ok", "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [
	   {"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["a"]}},
	   {"id": "post", "appKey": "http-probe", "actionKey": "fetch", "credentialKey": "k", "inputParams": {"url": "{{trigger.url}}"}}]}`)
	if err := f.eng.Check(ctx, "acme", good, creds); err != nil {
		t.Fatalf("Check of a valid automation: %v", err)
	}
	f.autos.put(t, "acme", "exists", `{"name": "x", "trigger": {"appKey": "echo", "triggerKey": "received"}}`)
	bad := compile(`{"name": "bad", "trigger": {"appKey": "echo", "triggerKey": "nope"},
	 "steps": [
	   {"id": "a", "appKey": "nope", "actionKey": "x"},
	   {"id": "b", "appKey": "json", "transformKey": "pick", "inputParams": {"value": 3, "paths": "x"}},
	   {"id": "c", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}"}},
	   {"id": "d", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "{{trigger.url}}"}},
	   {"id": "e", "appKey": "http-probe", "actionKey": "fetch", "credentialKey": "other", "inputParams": {"url": "{{trigger.url}}"}},
	   {"id": "g", "appKey": "http-probe", "actionKey": "fetch", "credentialKey": "missing", "inputParams": {"url": "{{trigger.url}}"}},
	   {"id": "h", "appKey": "json", "transformKey": "unknown"},
	   {"id": "i", "call": {"automation": "absent"}},
	   {"id": "j", "call": {"automation": "exists"}}]}`)
	err := f.eng.Check(ctx, "acme", bad, creds)
	var ae *automation.Error
	if !errors.As(err, &ae) {
		t.Fatalf("Check = %v, want an *automation.Error", err)
	}
	want := []string{
		`/trigger/triggerKey: echo has no trigger "nope"`,
		`/steps/0/appKey: no connector "nope"`,
		`/steps/1/inputParams/value: type`,
		`/steps/1/inputParams/paths: type`,
		`/steps/2/inputParams: required`,
		`/steps/3/credentialKey: http-probe needs a credential`,
		`/steps/4/credentialKey: credential "other" is for json, not http-probe`,
		`/steps/5/credentialKey: the consumer has no credential "missing"`,
		`/steps/6/transformKey: json has no transform "unknown"`,
		`/steps/7/call/automation: the consumer has no automation "absent"`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("problems lack %q:\n%v", w, err)
		}
	}
	if n := len(ae.Problems); n != len(want) {
		t.Errorf("%d problems, want %d: %v", n, len(want), err)
	}
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRetryWaitsForItsTime runs a retry on a fake clock: after a timeout the step is due an hour
// later (the policy's backoff), nothing runs while the clock stands still, and it runs once the
// clock passes the hour.
func TestRetryWaitsForItsTime(t *testing.T) {
	var calls atomic.Int64
	var hang atomic.Bool
	hang.Store(true)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if hang.Load() {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	clock := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	f := newFixtureClock(t, 300*time.Millisecond, clock.Now, func(o *engine.Options) {
		// Full jitter under an hour's ceiling: the retry is due within the hour (a fixed seed
		// keeps the delay deterministic and above zero).
		o.Retry = queue.Policy{BaseDelay: time.Hour, MaxDelay: time.Hour, MaxAttempts: 3}
		o.Rand = rand.New(rand.NewPCG(1, 2))
	})
	f.autos.put(t, "acme", "a1", fmt.Sprintf(`{"name": "one call", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "post", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "%s/x"}}]}`, up.URL))
	f.start(t)
	ev := f.accept(t, "acme", "a1", `{}`)
	r := f.waitRun(t, "acme", ev, ledger.Retrying)
	time.Sleep(time.Second) // the clock stands still: the retry is not due
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d upstream calls before the retry was due, want 1", n)
	}
	hang.Store(false)
	clock.Advance(time.Hour)
	r = f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Dead, ledger.Failed)
	if r.Status != ledger.Succeeded || calls.Load() != 2 {
		t.Errorf("after the clock passed the retry's time: run %s, %d calls", r.Status, calls.Load())
	}
	if st := f.steps(t, "acme", r.ID)["post"]; st.Attempts != 2 {
		t.Errorf("attempts %d, want 2", st.Attempts)
	}
}

// TestRateQuota: on a frozen clock a consumer with a bucket of 2 items starts 2 items and no
// more, another consumer runs meanwhile, and advancing the clock refills the bucket.
func TestRateQuota(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	f := newFixtureClock(t, 0, clock.Now, func(o *engine.Options) {
		o.RatePerConsumer = 1.0 / 60 // one item a minute
		o.BurstPerConsumer = 2
	})
	for _, c := range []string{"a", "b"} {
		f.autos.put(t, c, "x", `{"name": "cheap", "trigger": {"appKey": "shop", "triggerKey": "t"}, "steps": [{"id": "ok", "filter": "true"}]}`)
	}
	f.start(t)
	var aev []string
	for i := range 5 {
		aev = append(aev, f.accept(t, "a", "x", fmt.Sprintf(`{"n":%d}`, i)))
	}
	time.Sleep(500 * time.Millisecond)
	bev := f.accept(t, "b", "x", `{}`)
	f.waitRun(t, "b", bev, ledger.Succeeded) // b's bucket is its own: start and step
	// Each run is one item (its start chains its filter step): items worked = runs, all finished.
	if started, finished := countRuns(t, f, "a", ""), countRuns(t, f, "a", ledger.Succeeded); started != 2 || finished != 2 {
		t.Errorf("a started %d runs and finished %d on a frozen clock with a bucket of 2, want 2 and 2", started, finished)
	}
	// The clock moves a minute at a time: each minute is one more item for a.
	for deadline := time.Now().Add(60 * time.Second); countRuns(t, f, "a", ledger.Succeeded) < len(aev); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a finished %d of %d runs", countRuns(t, f, "a", ledger.Succeeded), len(aev))
		}
		clock.Advance(time.Minute)
	}
}

// TestRunDocumentsMatchTheSchema validates run documents of every ending (succeeded, filtered,
// dead with a retried step, a call) against schemas/run.schema.json, and their exchanges against
// schemas/exchange.schema.json.
func TestRunDocumentsMatchTheSchema(t *testing.T) {
	load := func(name string) *validate.Schema {
		data, err := fs.ReadFile(schemas.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := validate.Compile(data)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	runSchema, exSchema := load(schemas.RunFile), load(schemas.ExchangeFile)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "hang") {
			io.ReadAll(r.Body) // the server notices a client gone only once the body is read
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	f := newFixture(t, 300*time.Millisecond)
	f.autos.put(t, "acme", "a1", fmt.Sprintf(ordersAutomation, up.URL))
	f.autos.put(t, "acme", "hang", fmt.Sprintf(ordersAutomation, up.URL+"/x?hang=1&"))
	f.autos.put(t, "acme", "caller", `{"name": "caller", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "c", "call": {"automation": "a1", "input": {"order": {"id": 1, "total": 50}}}}]}`)
	f.start(t)
	events := map[string]string{
		f.accept(t, "acme", "a1", `{"order":{"id":42,"total":20}}`):   "a1",
		f.accept(t, "acme", "a1", `{"order":{"id":43,"total":5}}`):    "a1",
		f.accept(t, "acme", "hang", `{"order":{"id":44,"total":50}}`): "hang",
		f.accept(t, "acme", "caller", `{}`):                           "caller",
	}
	seen := 0
	for ev, auto := range events {
		f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Filtered, ledger.Dead, ledger.Failed)
		runs, _, _ := f.store.Runs(ctx, ledger.RunQuery{Consumer: "acme", Automation: auto})
		for _, r := range runs {
			if r.Event != ev {
				continue
			}
			doc, err := f.eng.Document(ctx, "acme", r.ID)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(doc)
			if err := runSchema.Validate(b); err != nil {
				t.Errorf("run %s (%s): %v\n%s", r.ID, r.Status, err, b)
			}
			for _, st := range doc.Steps {
				for _, ex := range st.Exchanges {
					eb, _ := json.Marshal(ex)
					if err := exSchema.Validate(eb); err != nil {
						t.Errorf("exchange of step %s: %v", st.ID, err)
					}
				}
			}
			seen++
		}
	}
	if seen < 4 {
		t.Errorf("validated %d runs, want at least 4", seen)
	}
	if _, err := f.eng.Document(ctx, "other", "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Document of another consumer's run: %v", err)
	}
}

// TestReplayThroughACall: a run fails because the run it called failed; replaying it replays the
// callee (fixed in the meantime), whose success resumes the caller; a second replay of the
// succeeded caller is refused.
func TestReplayThroughACall(t *testing.T) {
	f := newFixture(t, 0)
	f.autos.put(t, "acme", "caller", `{"name": "caller", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "c", "call": {"automation": "callee", "input": {"v": {"a": 1}}}}, {"id": "r", "respond": {"body": "{{steps.c.output}}"}}]}`)
	// The callee's input misses "paths": a permanent invalid_input.
	f.autos.put(t, "acme", "callee", `{"name": "callee", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "p", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger.v}}"}}]}`)
	f.start(t)
	f.accept(t, "acme", "caller", `{}`)
	caller := func() ledger.Run {
		runs, _, _ := f.store.Runs(ctx, ledger.RunQuery{Consumer: "acme", Automation: "caller"})
		if len(runs) > 1 {
			t.Fatalf("%d caller runs", len(runs))
		}
		if len(runs) == 0 {
			return ledger.Run{} // not started yet
		}
		return runs[0]
	}
	for deadline := time.Now().Add(30 * time.Second); caller().Status != ledger.Failed; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the caller did not fail: %s", caller().Status)
		}
	}
	f.autos.put(t, "acme", "callee", `{"name": "callee", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "p", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger.v}}", "paths": ["a"]}}]}`)
	if err := f.eng.Replay(ctx, "acme", caller().ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); caller().Status != ledger.Succeeded; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the caller did not succeed after the replay: %s %s", caller().Status, caller().Data)
		}
	}
	if out := f.steps(t, "acme", caller().ID)["r"].Output; string(out) != `{"body":{"a":1}}` {
		t.Errorf("caller output %s", out)
	}
	if err := f.eng.Replay(ctx, "acme", caller().ID); err == nil {
		t.Error("replay of a succeeded run: no error")
	}
}

// TestWatch: a watch of an event sees each top-level step complete, the respond step's reply
// and the run's end, then its channel closes; a watch registered after a sync automation's run
// ended still gets the reply and the end; a failed run's end carries its error.
func TestWatch(t *testing.T) {
	f := newFixture(t, 0)
	f.autos.put(t, "acme", "s", `{"name": "sync", "respond": "sync", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [
	   {"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["id"]}},
	   {"id": "reply", "respond": {"status": 201, "body": {"got": "{{steps.pick.output.id}}"}}},
	   {"id": "after", "appKey": "json", "transformKey": "pick", "inputParams": {"value": {"a": 1}, "paths": ["a"]}}]}`)
	f.autos.put(t, "acme", "bad", `{"name": "fails", "respond": "sync", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": 1}}]}`)
	f.start(t)

	ev := f.accept(t, "acme", "s", `{"id": 7}`)
	updates, stop := f.eng.Watch(ev)
	defer stop()
	var got []string
	timeout := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case u, ok := <-updates:
			if !ok {
				done = true
				break
			}
			got = append(got, fmt.Sprintf("%s:%s:%s:%s", u.Kind, u.Step, u.Status, u.Output))
		case <-timeout:
			t.Fatalf("no end after 30 s; got %v", got)
		}
	}
	want := []string{`step:pick::{"id":7}`, `reply:reply::{"status":201,"body":{"got":7}}`, `step:after::{"a":1}`, `end::succeeded:{"a":1}`}
	if !slices.Equal(got, want) {
		t.Errorf("updates:\n got %v\nwant %v", got, want)
	}

	late, stop2 := f.eng.Watch(ev)
	defer stop2()
	var kinds []engine.UpdateKind
	for u := range late {
		kinds = append(kinds, u.Kind)
	}
	if !slices.Equal(kinds, []engine.UpdateKind{engine.UpdateReply, engine.UpdateEnd}) {
		t.Errorf("a late watch got %v, want the reply and the end", kinds)
	}

	ev = f.accept(t, "acme", "bad", `{}`)
	f.waitRun(t, "acme", ev, ledger.Failed, ledger.Succeeded)
	bad, stop3 := f.eng.Watch(ev)
	defer stop3()
	u := <-bad
	if u.Kind != engine.UpdateEnd || u.Status != ledger.Failed || u.Error == nil || u.Error.Kind != "invalid_input" {
		t.Errorf("failed run's end: %+v", u)
	}
}

// TestReceive: a webhook request becomes an event through the echo connector's webhook trigger
// and its run follows; the same body again is a duplicate (the trigger's event id), as is the
// same verified webhook-id; a polling trigger takes no webhooks.
func TestReceive(t *testing.T) {
	f := newFixture(t, 0)
	f.autos.put(t, "acme", "hook", `{"name": "hook", "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["n"]}}]}`)
	f.autos.put(t, "acme", "poll", `{"name": "poll", "trigger": {"appKey": "echo", "triggerKey": "tick"}}`)
	f.start(t)
	req := func(body string) *abi.HTTPRequest {
		return &abi.HTTPRequest{Method: "POST", Path: "/hooks/dev/hook", Headers: map[string][]string{"Content-Type": {"application/json"}}, Body: body}
	}
	r, err := f.eng.Receive(ctx, "acme", "hook", req(`{"n": 1}`), "")
	if err != nil || len(r.Events) != 1 || r.Events[0].Duplicate {
		t.Fatalf("Receive = %+v, %v", r, err)
	}
	run := f.waitRun(t, "acme", r.Events[0].ID, ledger.Succeeded, ledger.Failed, ledger.Dead)
	if out := f.steps(t, "acme", run.ID)["pick"].Output; run.Status != ledger.Succeeded || string(out) != `{"n":1}` {
		t.Fatalf("run %s, output %s", run.Status, out)
	}
	again, err := f.eng.Receive(ctx, "acme", "hook", req(`{"n": 1}`), "")
	if err != nil || len(again.Events) != 1 || !again.Events[0].Duplicate || again.Events[0].ID != r.Events[0].ID {
		t.Errorf("the same body again: %+v, %v", again, err)
	}
	first, err := f.eng.Receive(ctx, "acme", "hook", req(`{"n": 2}`), "msg_1")
	if err != nil || first.Events[0].Duplicate {
		t.Fatalf("with a webhook-id: %+v, %v", first, err)
	}
	if dup, err := f.eng.Receive(ctx, "acme", "hook", req(`{"n": 3}`), "msg_1"); err != nil || !dup.Events[0].Duplicate || dup.Events[0].ID != first.Events[0].ID {
		t.Errorf("the same webhook-id, another body: %+v, %v", dup, err)
	}
	if _, err := f.eng.Receive(ctx, "acme", "poll", req(`{}`), ""); !errors.Is(err, engine.ErrNotWebhook) {
		t.Errorf("a polling trigger: %v, want ErrNotWebhook", err)
	}
	if _, err := f.eng.Receive(ctx, "other", "hook", req(`{}`), ""); err == nil {
		t.Errorf("another consumer's automation was received")
	}
}

// ackCounter is the store with its commits counted.
type ackCounter struct {
	ledger.Store
	acks atomic.Int64
}

func (s *ackCounter) Ack(ctx context.Context, l ledger.Lease, c ledger.Commit) error {
	s.acks.Add(1)
	return s.Store.Ack(ctx, l, c)
}

// TestChain: a run's steps are chained into as few commits as the rules allow. A transform and
// the action after it settle with the run's start in one commit; a second action waits for a
// commit that makes the first one's success durable (the upstream checks the store when the
// second call arrives); a step that fails inside a chain is kept as the item at that step, so
// its retry and a replay run it and nothing before it.
func TestChain(t *testing.T) {
	var f *fixture
	var durable, calls atomic.Int64
	var failSecond atomic.Bool
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/second" {
			run := string(b)
			var recs []ledger.Step
			recs, _, _ = f.store.Steps(ctx, "acme", run, ledger.Page{})
			for _, s := range recs {
				var rec engine.StepRecord
				if json.Unmarshal(s.Data, &rec) == nil && rec.ID == "first" && rec.Status == "succeeded" {
					durable.Add(1)
				}
			}
			if failSecond.Load() { // the call times out: a retryable failure
				select {
				case <-time.After(3 * time.Second):
				case <-r.Context().Done():
				}
				return
			}
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	var counter *ackCounter
	f = newFixtureWith(t, 300*time.Millisecond, func(o *engine.Options) {
		counter = &ackCounter{Store: o.Store}
		o.Store = counter
		o.Retry = queue.Policy{BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxAttempts: 2}
	})
	f.autos.put(t, "acme", "w1", fmt.Sprintf(`{"name": "transform then action", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [
	   {"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["id"]}},
	   {"id": "post", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"method": "POST", "url": "%s/one", "body": "id {{steps.pick.output.id}}"}}
	 ]}`, up.URL))
	f.autos.put(t, "acme", "two", fmt.Sprintf(`{"name": "two actions", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [
	   {"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["id"]}},
	   {"id": "first", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"method": "POST", "url": "%[1]s/first", "body": "x"}},
	   {"id": "again", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{steps.pick.output}}", "paths": ["id"]}},
	   {"id": "second", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"method": "POST", "url": "%[1]s/second", "body": "{{run.id}}"}}
	 ]}`, up.URL))
	f.start(t)

	// W1's shape: one commit for the whole run.
	const n = 20
	var evs []string
	for i := range n {
		evs = append(evs, f.accept(t, "acme", "w1", fmt.Sprintf(`{"id": %d}`, i)))
	}
	for _, ev := range evs {
		if r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead); r.Status != ledger.Succeeded {
			t.Fatalf("run %s: %s", r.ID, r.Data)
		}
	}
	if got := counter.acks.Load(); got != n {
		t.Errorf("%d runs of a transform and an action took %d commits, want %d", n, got, n)
	}

	// Two actions: two commits, the first action's record stored before the second action runs.
	counter.acks.Store(0)
	ev := f.accept(t, "acme", "two", `{"id": 1}`)
	r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead)
	if r.Status != ledger.Succeeded || counter.acks.Load() != 2 || durable.Load() != 1 {
		t.Fatalf("two actions: run %s, %d commits (want 2), first action durable when the second ran: %d", r.Status, counter.acks.Load(), durable.Load())
	}
	for id, st := range f.steps(t, "acme", r.ID) {
		if st.Status != "succeeded" || st.Attempts != 1 {
			t.Errorf("step %s: %+v", id, st)
		}
	}

	// The second action times out (retryable) until attempts run out: the item is kept at that
	// step; the transforms and the first action ran once.
	failSecond.Store(true)
	calls.Store(0)
	ev = f.accept(t, "acme", "two", `{"id": 2}`)
	r = f.waitRun(t, "acme", ev, ledger.Dead, ledger.Succeeded, ledger.Failed)
	before := f.steps(t, "acme", r.ID)
	if r.Status != ledger.Dead || calls.Load() != 3 || before["second"].Attempts != 2 || before["first"].Attempts != 1 {
		t.Fatalf("failing second action: run %s, %d upstream calls (want 3), steps %+v", r.Status, calls.Load(), before)
	}
	dead, _, err := f.store.Dead(ctx, "acme", ledger.Page{})
	if err != nil || len(dead) != 1 || dead[0].Step != "second" || dead[0].Run != r.ID {
		t.Fatalf("dead letter %+v, %v: want the run's item at step second", dead, err)
	}
	failSecond.Store(false)
	if err := f.eng.Replay(ctx, "acme", r.ID); err != nil {
		t.Fatal(err)
	}
	r = f.waitRun(t, "acme", ev, ledger.Succeeded)
	after := f.steps(t, "acme", r.ID)
	if calls.Load() != 4 || !after["again"].StartedAt.Equal(before["again"].StartedAt) || after["second"].Status != "succeeded" {
		t.Errorf("after replay: %d upstream calls (want 4), steps %+v", calls.Load(), after)
	}
}

// TestSummary: a listed run shows its automation's name, its error and the step that failed,
// read from the engine's record; a record the engine cannot read shows the ledger's fields.
func TestSummary(t *testing.T) {
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	r := ledger.Run{ID: "r1", Consumer: "c", Automation: "a1", Event: "e1", Status: ledger.Failed, CreatedAt: at, UpdatedAt: at,
		Data: json.RawMessage(`{"automationName":"orders","output":{"big":true},"error":{"kind":"http","message":"503","retryable":true},"failedStep":"post","depth":1}`)}
	got := engine.Summary(r)
	want := engine.RunSummary{ID: "r1", Automation: "a1", AutomationName: "orders", Event: "e1", Status: ledger.Failed, CreatedAt: at, UpdatedAt: at,
		Error: &engine.StepError{Kind: "http", Message: "503", Retryable: true}, FailedStep: "post"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summary = %+v, want %+v", got, want)
	}
	r.Data = json.RawMessage(`not json`)
	if got := engine.Summary(r); got.ID != "r1" || got.Status != ledger.Failed || got.Error != nil || got.AutomationName != "" {
		t.Errorf("Summary of an unreadable record = %+v", got)
	}
}
