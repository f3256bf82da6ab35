package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/ledger"
)

// loseFirstStart is the store with the first commit of a run's start lost, as when the process
// dies after the run's action reached the upstream and before the commit that records it: the
// item stays waiting, and is leased again once its lease runs out (after a restart, at once).
type loseFirstStart struct {
	ledger.Store
	lost atomic.Bool
}

func (s *loseFirstStart) Ack(ctx context.Context, l ledger.Lease, c ledger.Commit) error {
	if l.Item.Run == "" && c.Run != nil && s.lost.CompareAndSwap(false, true) {
		return errors.New("test: the process died before this commit")
	}
	return s.Store.Ack(ctx, l, c)
}

// TestLostStartKeepsTheRunID: a run whose first commit was lost runs again under the same run
// id, so its action gets the same idempotency key (DESIGN.md: stable across retries of the same
// step of the same run) and the upstream can tell the second call for a retry.
func TestLostStartKeepsTheRunID(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	var store *loseFirstStart
	f := newFixtureWith(t, 0, func(o *engine.Options) {
		store = &loseFirstStart{Store: o.Store}
		o.Store = store
		o.LeaseTTL = 400 * time.Millisecond
	})
	f.autos.put(t, "acme", "w1", fmt.Sprintf(`{"name": "transform then action", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [
	   {"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["id"]}},
	   {"id": "post", "appKey": "http-probe", "actionKey": "fetch", "inputParams": {"method": "POST", "url": "%s/post", "body": "{{run.id}}"}}
	 ]}`, up.URL))
	f.start(t)
	ev := f.accept(t, "acme", "w1", `{"id": 7}`)
	r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead)
	if r.Status != ledger.Succeeded || !store.lost.Load() {
		t.Fatalf("run %s %s (a commit lost: %v)", r.ID, r.Status, store.lost.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[0] != r.ID || bodies[1] != r.ID {
		t.Fatalf("the upstream got run ids %q, want the stored run's %q twice", bodies, r.ID)
	}
}

// fullDisk is the store with every commit refused for a full disk while full is set.
type fullDisk struct {
	ledger.Store
	full atomic.Bool
	acks atomic.Int64 // commits refused
}

func (s *fullDisk) Ack(ctx context.Context, l ledger.Lease, c ledger.Commit) error {
	if s.full.Load() {
		s.acks.Add(1)
		return fmt.Errorf("test: %w", ledger.ErrNoSpace)
	}
	return s.Store.Ack(ctx, l, c)
}

func (s *fullDisk) Writable() error {
	if s.full.Load() {
		return fmt.Errorf("test: %w", ledger.ErrNoSpace)
	}
	return s.Store.Writable()
}

// TestFullDiskPausesWorkers: once a commit is refused for a full disk, no worker leases more
// work (its action would reach the upstream only for its record to be refused too): with 40
// items waiting, 4 workers make at most 4 attempts in a second. Once the store is writable
// again, they resume by themselves and every run succeeds, those refused included (after their
// lease runs out).
func TestFullDiskPausesWorkers(t *testing.T) {
	var store *fullDisk
	f := newFixtureWith(t, 0, func(o *engine.Options) {
		store = &fullDisk{Store: o.Store}
		store.full.Store(true)
		o.Store = store
		o.LeaseTTL = 500 * time.Millisecond
	})
	f.autos.put(t, "acme", "w1", `{"name": "transform", "trigger": {"appKey": "shop", "triggerKey": "t"},
	 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["id"]}}]}`)
	var evs []string
	for i := range 40 {
		evs = append(evs, f.accept(t, "acme", "w1", fmt.Sprintf(`{"id": %d}`, i)))
	}
	f.start(t)
	deadline := time.Now().Add(30 * time.Second)
	for store.acks.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n := store.acks.Load(); n == 0 || n > 4 {
		t.Fatalf("%d commits tried in a second with the disk full, want 1 to 4 (one per worker, then a pause)", n)
	}
	store.full.Store(false)
	for _, ev := range evs {
		if r := f.waitRun(t, "acme", ev, ledger.Succeeded, ledger.Failed, ledger.Dead); r.Status != ledger.Succeeded {
			t.Fatalf("run %s after the disk was freed: %s", r.ID, r.Status)
		}
	}
}
