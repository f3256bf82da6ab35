package engine_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/internal/yield"
	"github.com/splicehq/splice/host/ledger"
)

// TestGate checks that the workers work no more items at once than the gate allows, and take
// up the rest of them once it allows more: with 8 workers, a gate cut to a quarter lets 2 actions
// wait on a slow upstream at once; opened again, up to 8.
func TestGate(t *testing.T) {
	var mu sync.Mutex
	inFlight, peak := 0, 0
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	g := yield.New(yield.Options{Target: time.Millisecond, Floor: 0.25, Saturated: func() bool { return true }})
	for range 10 {
		g.Observe(time.Second)
		g.Tick()
	}
	if g.Allowed(8) != 2 {
		t.Fatalf("the gate allows %d of 8 workers, want 2", g.Allowed(8))
	}
	f := newFixtureWith(t, 20*time.Second, func(o *engine.Options) { o.Workers, o.MaxPerConsumer, o.Gate = 8, 8, g })
	f.autos.put(t, "a", "x", fmt.Sprintf(`{"name": "slow", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "post", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "%s/{{trigger.n}}"}}]}`, up.URL))
	f.start(t)
	burst := func(from int) int {
		t.Helper()
		mu.Lock()
		peak = 0
		mu.Unlock()
		var evs []string
		for i := range 24 {
			evs = append(evs, f.accept(t, "a", "x", fmt.Sprintf(`{"n":%d}`, from+i)))
		}
		for _, ev := range evs {
			f.waitRun(t, "a", ev, ledger.Succeeded)
		}
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
	if p := burst(0); p != 2 {
		t.Errorf("gate at a quarter: %d actions at once, want 2", p)
	}
	for range 4 {
		g.Tick() // quiet ticks: the share grows to 1
	}
	if g.Allowed(8) != 8 {
		t.Fatalf("the gate allows %d of 8 workers after quiet ticks, want 8", g.Allowed(8))
	}
	if p := burst(100); p < 3 {
		t.Errorf("gate open: %d actions at once, want more than the 2 of the closed gate (up to 8)", p)
	}
}

// TestSyncItemsGoFirst checks that the items of a sync webhook's run, whose caller waits, are
// leased before the consumer's items waiting already: the first (Receive) and the next, after
// its first action.
func TestSyncItemsGoFirst(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"ok":true}`) }))
	defer up.Close()
	f := newFixture(t, 0)
	f.autos.put(t, "acme", "sync", fmt.Sprintf(`{"name": "sync", "respond": "sync", "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [{"id": "one", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "%[1]s/1"}},
	           {"id": "two", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"url": "%[1]s/2"}}]}`, up.URL))
	for i := range 3 {
		f.accept(t, "acme", "sync", fmt.Sprintf(`{"n": %d}`, i)) // waiting already (not urgent)
	}
	r, err := f.eng.Receive(ctx, "acme", "sync", &abi.HTTPRequest{Method: "POST", Path: "/hooks/dev/sync", Body: `{"n": 9}`}, "")
	if err != nil || len(r.Events) != 1 {
		t.Fatalf("Receive = %+v, %v", r, err)
	}
	lease := func() ledger.Lease {
		t.Helper()
		ls, err := f.store.Lease(ctx, 1, time.Minute, nil)
		if err != nil || len(ls) != 1 {
			t.Fatalf("Lease: %d, %v", len(ls), err)
		}
		return ls[0]
	}
	l := lease()
	if l.Item.Event != r.Events[0].ID {
		t.Fatalf("leased event %s's item first, want the sync webhook's %s", l.Item.Event, r.Events[0].ID)
	}
	if err := f.eng.Process(ctx, l); err != nil { // runs step one, enqueues step two
		t.Fatal(err)
	}
	if l := lease(); l.Item.Event != r.Events[0].ID || l.Item.Step != "two" {
		t.Errorf("leased %s/%s after the first action, want the sync run's step two", l.Item.Event, l.Item.Step)
	}
}
