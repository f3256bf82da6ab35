package ledger_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

// TestPruneWhileRunning prunes with a cut of now, over and over, while events are accepted and
// their items run in two steps (the first step's Ack enqueues the second, which refers to the
// same event): every item leased must still find its event, and every run that ended is pruned
// in the end.
func TestPruneWhileRunning(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, kv.Options{Dir: t.TempDir()})

	const events = 1500
	var wg sync.WaitGroup
	var ended atomic.Int64
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the sender
		defer wg.Done()
		for i := 0; i < events; i += 10 {
			var evs []ledger.NewEvent
			for j := range 10 {
				evs = append(evs, ledger.NewEvent{Consumer: []string{"a", "b"}[j%2], Automation: "w", Payload: []byte(`{"n":1}`)})
			}
			if _, err := s.Accept(ctx, evs); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 4 { // the workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ended.Load() < events {
				ls, err := s.Lease(ctx, 4, time.Minute, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ls) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				for _, l := range ls {
					it := l.Item
					if _, err := s.Event(ctx, it.Consumer, it.Event); err != nil {
						t.Errorf("item %s (step %q): its event %s: %v", it.ID, it.Step, it.Event, err)
						return
					}
					c := ledger.Commit{Steps: []ledger.Step{{Run: it.ID, Key: "a", Data: []byte(`{}`)}}}
					if it.Step == "" {
						r := ledger.Run{ID: it.ID, Automation: it.Automation, Event: it.Event, Status: ledger.Running}
						c.Run = &r
						c.Next = []ledger.NewItem{{Consumer: it.Consumer, Automation: it.Automation, Event: it.Event, Run: it.ID, Step: "second"}}
					} else {
						r := ledger.Run{ID: it.Run, Automation: it.Automation, Event: it.Event, Status: ledger.Succeeded}
						c.Run, c.Steps[0].Run, c.Steps[0].Key = &r, it.Run, "b"
					}
					if err := s.Ack(ctx, l, c); err != nil {
						t.Errorf("Ack: %v", err)
						return
					}
					if it.Step != "" {
						ended.Add(1)
					}
				}
			}
		}()
	}
	var pruned ledger.Pruned
	wg.Add(1)
	go func() { // the pruner
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			p, err := s.Prune(ctx, time.Now(), 100)
			if err != nil {
				t.Error(err)
				return
			}
			pruned.Runs += p.Runs
			pruned.Events += p.Events
		}
	}()
	deadline := time.Now().Add(time.Minute)
	for ended.Load() < events && !t.Failed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if n := ended.Load(); n != events {
		t.Fatalf("%d runs ended, want %d", n, events)
	}
	// One round with one cut, in calls that resume where the last stopped.
	for cut := time.Now(); ; {
		p, err := s.Prune(ctx, cut, 1000)
		if err != nil {
			t.Fatal(err)
		}
		pruned.Runs += p.Runs
		pruned.Events += p.Events
		if !p.More {
			break
		}
	}
	if pruned.Runs != events || pruned.Events != events {
		t.Errorf("pruned %d runs and %d events, want %d of each", pruned.Runs, pruned.Events, events)
	}
	for _, c := range []string{"a", "b"} {
		if runs, _, err := s.Runs(ctx, ledger.RunQuery{Consumer: c}); err != nil || len(runs) != 0 {
			t.Errorf("consumer %s has %d runs left, %v", c, len(runs), err)
		}
	}
	if _, err := s.Run(ctx, "a", "x"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Run of nothing: %v", err)
	}
}

// openStore opens an embedded store over a kv database with options o; both close when the test
// ends.
func openStore(tb testing.TB, o kv.Options) *ledger.Embedded {
	tb.Helper()
	db, err := kv.Open(o)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Close()
		db.Close()
	})
	return s
}
