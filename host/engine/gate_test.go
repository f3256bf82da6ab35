package engine_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

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
