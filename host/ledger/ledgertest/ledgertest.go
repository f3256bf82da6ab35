// Package ledgertest is the conformance suite of [ledger.Store]: every backend runs it, so the
// engine and the API can count on the same behaviour from each. It uses only the Store interface.
package ledgertest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splicehq/splice/host/ledger"
)

// Clock is a settable clock for the store under test. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Opener opens the store under test over its state, with now as its clock and retention as its
// dedupe retention. Calling it again after the store's Close reopens the same state (a restart).
type Opener func(now func() time.Time, retention time.Duration) (ledger.Store, error)

// Run runs the suite. fresh returns an Opener over new, empty state for the test it is given and
// cleans up after it.
func Run(t *testing.T, fresh func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"AcceptAndEvent", testAcceptAndEvent},
		{"AcceptRefusals", testAcceptRefusals},
		{"Dedupe", testDedupe},
		{"DedupeRace", testDedupeRace},
		{"LeaseAckCommit", testLeaseAckCommit},
		{"LeaseExpiry", testLeaseExpiry},
		{"Extend", testExtend},
		{"LeaseReturns", testLeaseReturns},
		{"Release", testRelease},
		{"AckForget", testAckForget},
		{"RetryAt", testRetryAt},
		{"Advance", testAdvance},
		{"DeadLetterRequeue", testDeadLetterRequeue},
		{"Fairness", testFairness},
		{"Urgent", testUrgent},
		{"LeaseSkip", testLeaseSkip},
		{"RunIndexes", testRunIndexes},
		{"RunIsolation", testRunIsolation},
		{"Objects", testObjects},
		{"ObjectsRace", testObjectsRace},
		{"Blobs", testBlobs},
		{"Activity", testActivity},
		{"Prune", testPrune},
		{"Restart", testRestart},
		{"Hammer", testHammer},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &harness{t: t, open: fresh(t), clock: NewClock(), retention: time.Hour}
			h.reopen()
			t.Cleanup(func() { h.s.Close() })
			tc.fn(t, h)
		})
	}
}

type harness struct {
	t         *testing.T
	open      Opener
	clock     *Clock
	retention time.Duration
	s         ledger.Store
}

var ctx = context.Background()

func (h *harness) reopen() {
	h.t.Helper()
	if h.s != nil {
		if err := h.s.Close(); err != nil {
			h.t.Fatalf("Close: %v", err)
		}
	}
	s, err := h.open(h.clock.Now, h.retention)
	if err != nil {
		h.t.Fatalf("open: %v", err)
	}
	h.s = s
}

func payload(i int) json.RawMessage { return json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)) }

func (h *harness) accept(evs ...ledger.NewEvent) []ledger.Accepted {
	h.t.Helper()
	out, err := h.s.Accept(ctx, evs)
	if err != nil {
		h.t.Fatalf("Accept: %v", err)
	}
	if len(out) != len(evs) {
		h.t.Fatalf("Accept returned %d results for %d events", len(out), len(evs))
	}
	return out
}

func (h *harness) lease(n int, ttl time.Duration) []ledger.Lease {
	h.t.Helper()
	ls, err := h.s.Lease(ctx, n, ttl, nil)
	if err != nil {
		h.t.Fatalf("Lease: %v", err)
	}
	return ls
}

func (h *harness) ack(l ledger.Lease, c ledger.Commit) {
	h.t.Helper()
	if err := h.s.Ack(ctx, l, c); err != nil {
		h.t.Fatalf("Ack %s: %v", l.Item.ID, err)
	}
}

// drain leases and acknowledges (Done) everything due, returning the items in lease order.
func (h *harness) drain() []ledger.Item {
	h.t.Helper()
	var items []ledger.Item
	for {
		ls := h.lease(50, time.Minute)
		if len(ls) == 0 {
			return items
		}
		for _, l := range ls {
			items = append(items, l.Item)
			h.ack(l, ledger.Commit{})
		}
	}
}

func ev(consumer, automation, dedupe string, i int) ledger.NewEvent {
	return ledger.NewEvent{Consumer: consumer, Automation: automation, DedupeKey: dedupe, Payload: payload(i)}
}

func testAcceptAndEvent(t *testing.T, h *harness) {
	out := h.accept(ev("alice", "a1", "", 1), ev("bob", "b1", "", 2))
	e, err := h.s.Event(ctx, "alice", out[0].ID)
	if err != nil {
		t.Fatalf("Event: %v", err)
	}
	if e.Consumer != "alice" || e.Automation != "a1" || string(e.Payload) != `{"n":1}` || !e.AcceptedAt.Equal(h.clock.Now()) {
		t.Errorf("Event = %+v", e)
	}
	if _, err := h.s.Event(ctx, "bob", out[0].ID); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("bob reads alice's event: %v, want ErrNotFound", err)
	}
	items := h.drain()
	if len(items) != 2 {
		t.Fatalf("%d items enqueued for 2 events", len(items))
	}
	for _, it := range items {
		want := out[0].ID
		if it.Consumer == "bob" {
			want = out[1].ID
		}
		if it.Event != want || it.Step != "" || it.Run != "" || it.Attempts != 0 {
			t.Errorf("item %+v, want the start of event %s", it, want)
		}
	}
}

func testAcceptRefusals(t *testing.T, h *harness) {
	big := json.RawMessage(`"` + string(make([]byte, ledger.MaxPayloadBytes)) + `"`)
	tooMany := make([]ledger.NewEvent, ledger.MaxAcceptEvents+1)
	for i := range tooMany {
		tooMany[i] = ev("c", "a", "", i)
	}
	cases := []struct {
		name string
		evs  []ledger.NewEvent
	}{
		{"no consumer", []ledger.NewEvent{ev("", "a", "", 1)}},
		{"no automation", []ledger.NewEvent{ev("c", "", "", 1)}},
		{"not JSON", []ledger.NewEvent{{Consumer: "c", Automation: "a", Payload: json.RawMessage(`{"n":`)}}},
		{"no payload", []ledger.NewEvent{{Consumer: "c", Automation: "a"}}},
		{"payload too large", []ledger.NewEvent{{Consumer: "c", Automation: "a", Payload: big}}},
		{"data not JSON", []ledger.NewEvent{{Consumer: "c", Automation: "a", Payload: payload(1), Data: json.RawMessage("x")}}},
		{"overlong dedupe key", []ledger.NewEvent{ev("c", "a", string(make([]byte, ledger.MaxKeyBytes+1)), 1)}},
		{"too many events", tooMany},
		{"one bad among good", []ledger.NewEvent{ev("c", "a", "", 1), ev("c", "", "", 2)}},
	}
	for _, tc := range cases {
		if _, err := h.s.Accept(ctx, tc.evs); !errors.Is(err, ledger.ErrInvalid) {
			t.Errorf("%s: Accept = %v, want ErrInvalid", tc.name, err)
		}
	}
	if items := h.drain(); len(items) != 0 {
		t.Errorf("refused accepts enqueued %d items", len(items))
	}
}

func testDedupe(t *testing.T, h *harness) {
	first := h.accept(ev("c", "a", "wh_1", 1))[0]
	if first.Duplicate {
		t.Fatal("first event reported as a duplicate")
	}
	again := h.accept(ev("c", "a", "wh_1", 2), ev("c", "a", "wh_2", 3), ev("c", "a", "wh_2", 4), ev("c", "other", "wh_1", 5), ev("d", "a", "wh_1", 6))
	want := []bool{true, false, true, false, false}
	for i, a := range again {
		if a.Duplicate != want[i] {
			t.Errorf("event %d: duplicate %v, want %v", i, a.Duplicate, want[i])
		}
	}
	if again[0].ID != first.ID || again[2].ID != again[1].ID {
		t.Errorf("duplicates name %s and %s, want the first events' %s and %s", again[0].ID, again[2].ID, first.ID, again[1].ID)
	}
	if n := len(h.drain()); n != 4 {
		t.Errorf("%d items enqueued, want 4 (one per distinct event)", n)
	}
	h.clock.Advance(h.retention + time.Second)
	if a := h.accept(ev("c", "a", "wh_1", 7))[0]; a.Duplicate || a.ID == first.ID {
		t.Errorf("after the retention window: %+v, want a new event", a)
	}
}

func testDedupeRace(t *testing.T, h *harness) {
	const n = 16
	var wg sync.WaitGroup
	res := make([]ledger.Accepted, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			out, err := h.s.Accept(ctx, []ledger.NewEvent{ev("c", "a", "same", i)})
			errs[i] = err
			if err == nil {
				res[i] = out[0]
			}
		})
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Accept %d: %v", i, errs[i])
		}
		if !res[i].Duplicate {
			fresh++
		}
		if res[i].ID != res[0].ID {
			t.Errorf("accept %d names event %s, accept 0 %s", i, res[i].ID, res[0].ID)
		}
	}
	if fresh != 1 {
		t.Errorf("%d accepts stored the event, want exactly 1", fresh)
	}
	if items := h.drain(); len(items) != 1 {
		t.Errorf("%d items enqueued, want 1", len(items))
	}
}

func testLeaseAckCommit(t *testing.T, h *harness) {
	evID := h.accept(ev("c", "a", "", 1))[0].ID
	ls := h.lease(10, time.Minute)
	if len(ls) != 1 {
		t.Fatalf("leased %d items, want 1", len(ls))
	}
	l := ls[0]
	if !l.Expires.Equal(h.clock.Now().Add(time.Minute)) {
		t.Errorf("lease expires %v, want now+1m", l.Expires)
	}
	if more := h.lease(10, time.Minute); len(more) != 0 {
		t.Fatalf("a leased item was leased again: %+v", more)
	}
	runID := ledger.NewID(h.clock.Now())
	h.ack(l, ledger.Commit{
		Run:      &ledger.Run{ID: runID, Automation: "a", Event: evID, Status: ledger.Running, Data: json.RawMessage(`{"x":1}`)},
		Steps:    []ledger.Step{{Run: runID, Key: "0001-notify", Data: json.RawMessage(`{"output":{"ok":true}}`)}},
		Next:     []ledger.NewItem{{Automation: "a", Event: evID, Run: runID, Step: "0002-post", Data: json.RawMessage(`{"i":2}`)}},
		Activity: []ledger.Activity{{Kind: "step.succeeded", Consumer: "c"}},
	})
	if err := h.s.Ack(ctx, l, ledger.Commit{}); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Errorf("second Ack of one lease: %v, want ErrLeaseLost", err)
	}
	r, err := h.s.Run(ctx, "c", runID)
	if err != nil || r.Status != ledger.Running || r.Consumer != "c" || string(r.Data) != `{"x":1}` {
		t.Errorf("Run = %+v, %v", r, err)
	}
	steps, _, err := h.s.Steps(ctx, "c", runID, ledger.Page{})
	if err != nil || len(steps) != 1 || steps[0].Key != "0001-notify" {
		t.Errorf("Steps = %+v, %v", steps, err)
	}
	acts, _, err := h.s.Activity(ctx, "c", ledger.Page{})
	if err != nil || len(acts) != 1 || acts[0].Kind != "step.succeeded" {
		t.Errorf("Activity = %+v, %v", acts, err)
	}
	next := h.lease(10, time.Minute)
	if len(next) != 1 || next[0].Item.Step != "0002-post" || next[0].Item.Run != runID || string(next[0].Item.Data) != `{"i":2}` {
		t.Fatalf("next item: %+v", next)
	}
	if next[0].Item.ID == l.Item.ID {
		t.Error("the next item reuses the settled item's id")
	}
	// A commit that cannot be stored leaves the lease held and nothing written.
	bad := ledger.Commit{Steps: []ledger.Step{{Run: runID, Key: "x", Data: json.RawMessage("nope")}}}
	if err := h.s.Ack(ctx, next[0], bad); !errors.Is(err, ledger.ErrInvalid) {
		t.Fatalf("Ack with invalid step data: %v, want ErrInvalid", err)
	}
	h.ack(next[0], ledger.Commit{})
	if items := h.drain(); len(items) != 0 {
		t.Errorf("items left after the last ack: %+v", items)
	}
	if next := h.s.NextDue(); !next.IsZero() {
		t.Errorf("NextDue = %v with nothing queued, want the zero time", next)
	}
}

func testLeaseExpiry(t *testing.T, h *harness) {
	h.accept(ev("c", "a", "", 1))
	old := h.lease(1, time.Minute)[0]
	h.clock.Advance(59 * time.Second)
	if ls := h.lease(1, time.Minute); len(ls) != 0 {
		t.Fatal("item leased again before its lease expired")
	}
	h.clock.Advance(2 * time.Second)
	ls := h.lease(1, time.Minute)
	if len(ls) != 1 || ls[0].Item.ID != old.Item.ID || ls[0].Token == old.Token {
		t.Fatalf("after expiry: %+v, want the same item under a new token", ls)
	}
	if err := h.s.Ack(ctx, old, ledger.Commit{}); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Errorf("Ack with the expired lease: %v, want ErrLeaseLost", err)
	}
	if _, err := h.s.Extend(ctx, old, time.Minute); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Errorf("Extend of the expired lease: %v, want ErrLeaseLost", err)
	}
	h.ack(ls[0], ledger.Commit{})
}

func ids(ls []ledger.Lease) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Item.ID)
	}
	slices.Sort(out)
	return out
}

// testLeaseReturns checks that items come back to leasing however they left it: a retry due at
// once and leases that expired while later items were being leased.
func testLeaseReturns(t *testing.T, h *harness) {
	var evs []ledger.NewEvent
	for i := range 6 {
		evs = append(evs, ev("c", "a", "", i))
	}
	h.accept(evs...)
	first := h.lease(2, time.Minute)
	second := h.lease(2, time.Minute)
	if len(first) != 2 || len(second) != 2 {
		t.Fatalf("leased %d then %d items, want 2 and 2", len(first), len(second))
	}
	h.ack(first[0], ledger.Commit{})
	h.ack(first[1], ledger.Commit{Disposition: ledger.RetryAt, Due: h.clock.Now(), LastError: "x"})
	third := h.lease(10, 10*time.Minute)
	if len(third) != 3 || !slices.Contains(ids(third), first[1].Item.ID) {
		t.Fatalf("after a retry due now: leased %v, want the retried item and the 2 never leased", ids(third))
	}
	h.clock.Advance(2 * time.Minute)
	fourth := h.lease(10, time.Minute)
	if got, want := ids(fourth), ids(second); !slices.Equal(got, want) {
		t.Fatalf("after the second leases expired: leased %v, want %v", got, want)
	}
	for _, l := range append(third, fourth...) {
		h.ack(l, ledger.Commit{})
	}
	if items := h.drain(); len(items) != 0 {
		t.Errorf("items left: %+v", items)
	}
}

func testRelease(t *testing.T, h *harness) {
	h.accept(ev("c", "a", "", 1))
	l := h.lease(1, time.Hour)[0]
	if err := h.s.Release(ctx, l); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := h.s.Ack(ctx, l, ledger.Commit{}); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Errorf("Ack of a released lease: %v, want ErrLeaseLost", err)
	}
	if err := h.s.Release(ctx, l); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Errorf("second Release: %v, want ErrLeaseLost", err)
	}
	again := h.lease(1, time.Hour)
	if len(again) != 1 || again[0].Item.ID != l.Item.ID || again[0].Item.Attempts != 0 {
		t.Fatalf("after Release: %+v, want the same item at once with no attempt counted", again)
	}
	h.ack(again[0], ledger.Commit{})
}

func testAckForget(t *testing.T, h *harness) {
	keep := ledger.ObjectKey{Kind: "progress", Consumer: "c", ID: "run1/keep"}
	gone := ledger.ObjectKey{Kind: "progress", Consumer: "c", ID: "run1/gone"}
	other := ledger.ObjectKey{Kind: "progress", Consumer: "d", ID: "run1/gone"}
	for _, k := range []ledger.ObjectKey{keep, gone, other} {
		if _, err := h.s.Put(ctx, k, []byte(`{"n":1}`), 0); err != nil {
			t.Fatalf("Put %v: %v", k, err)
		}
	}
	h.accept(ev("c", "a", "", 1))
	l := h.lease(1, time.Hour)[0]
	// Another consumer's object is refused, and the refusal settles nothing.
	if err := h.s.Ack(ctx, l, ledger.Commit{Forget: []ledger.ObjectKey{gone, other}}); !errors.Is(err, ledger.ErrInvalid) {
		t.Fatalf("Ack forgetting another consumer's object: %v, want ErrInvalid", err)
	}
	if _, err := h.s.Object(ctx, gone); err != nil {
		t.Fatalf("after a refused Ack: %v, want the object kept", err)
	}
	missing := ledger.ObjectKey{Kind: "progress", Consumer: "c", ID: "never-written"}
	h.ack(l, ledger.Commit{Forget: []ledger.ObjectKey{gone, missing}})
	if _, err := h.s.Object(ctx, gone); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("forgotten object: %v, want ErrNotFound", err)
	}
	for _, k := range []ledger.ObjectKey{keep, other} {
		if _, err := h.s.Object(ctx, k); err != nil {
			t.Errorf("object %v: %v, want it kept", k, err)
		}
	}
}

func testExtend(t *testing.T, h *harness) {
	h.accept(ev("c", "a", "", 1))
	l := h.lease(1, time.Minute)[0]
	h.clock.Advance(50 * time.Second)
	l2, err := h.s.Extend(ctx, l, time.Minute)
	if err != nil || !l2.Expires.Equal(h.clock.Now().Add(time.Minute)) {
		t.Fatalf("Extend = %v, %v", l2.Expires, err)
	}
	h.clock.Advance(50 * time.Second)
	if ls := h.lease(1, time.Minute); len(ls) != 0 {
		t.Fatal("an extended lease was taken over")
	}
	if !h.s.NextDue().Equal(l2.Expires) {
		t.Errorf("NextDue = %v, want the lease's expiry %v", h.s.NextDue(), l2.Expires)
	}
	h.ack(l2, ledger.Commit{})
}

func testRetryAt(t *testing.T, h *harness) {
	h.accept(ev("c", "a", "", 1))
	l := h.lease(1, time.Minute)[0]
	due := h.clock.Now().Add(10 * time.Minute)
	h.ack(l, ledger.Commit{Disposition: ledger.RetryAt, Due: due, LastError: "upstream 503"})
	if ls := h.lease(1, time.Minute); len(ls) != 0 {
		t.Fatal("a delayed item was leased before it was due")
	}
	if !h.s.NextDue().Equal(due) {
		t.Errorf("NextDue = %v, want %v", h.s.NextDue(), due)
	}
	h.clock.Advance(10 * time.Minute)
	ls := h.lease(1, time.Minute)
	if len(ls) != 1 || ls[0].Item.Attempts != 1 || ls[0].Item.LastError != "upstream 503" || ls[0].Item.ID != l.Item.ID {
		t.Fatalf("retried item: %+v", ls)
	}
	h.ack(ls[0], ledger.Commit{Disposition: ledger.RetryAt, Due: h.clock.Now(), LastError: "again"})
	ls = h.lease(1, time.Minute)
	if len(ls) != 1 || ls[0].Item.Attempts != 2 {
		t.Fatalf("second retry: %+v", ls)
	}
	h.ack(ls[0], ledger.Commit{})
}

// testAdvance: an item that ran several steps is kept at the one that failed, with its attempts
// counted from that failure; a bad or pointless Advance is refused and settles nothing.
func testAdvance(t *testing.T, h *harness) {
	h.accept(ev("c", "a", "", 1), ev("c", "a", "", 2))
	ls := h.lease(2, time.Minute)
	if err := h.s.Ack(ctx, ls[0], ledger.Commit{Advance: &ledger.Advance{Run: "r1", Step: "s2"}}); !errors.Is(err, ledger.ErrInvalid) {
		t.Fatalf("Advance with Done: %v, want ErrInvalid", err)
	}
	if err := h.s.Ack(ctx, ls[0], ledger.Commit{Disposition: ledger.RetryAt, Advance: &ledger.Advance{Run: "r1", Step: ""}}); !errors.Is(err, ledger.ErrInvalid) {
		t.Fatalf("Advance to an empty step: %v, want ErrInvalid", err)
	}
	if err := h.s.Ack(ctx, ls[0], ledger.Commit{Disposition: ledger.RetryAt, Advance: &ledger.Advance{Run: "r1", Step: "s2", Data: json.RawMessage(`{"step":`)}}); !errors.Is(err, ledger.ErrInvalid) {
		t.Fatalf("Advance with bad data: %v, want ErrInvalid", err)
	}
	// Retry at step s2 of run r1.
	h.ack(ls[0], ledger.Commit{Disposition: ledger.RetryAt, Due: h.clock.Now(), LastError: "503",
		Advance: &ledger.Advance{Run: "r1", Step: "s2", Data: json.RawMessage(`{"step":2}`)}})
	// Dead at step s3 of run r2, after a retry the item had before.
	h.ack(ls[1], ledger.Commit{Disposition: ledger.RetryAt, Due: h.clock.Now(), LastError: "first"})
	re := h.lease(2, time.Minute)
	if len(re) != 2 {
		t.Fatalf("leased %d items, want 2", len(re))
	}
	for _, l := range re {
		switch l.Item.ID {
		case ls[0].Item.ID:
			if it := l.Item; it.Run != "r1" || it.Step != "s2" || string(it.Data) != `{"step":2}` || it.Attempts != 1 || it.LastError != "503" {
				t.Errorf("advanced item: %+v", it)
			}
			h.ack(l, ledger.Commit{})
		case ls[1].Item.ID:
			if l.Item.Attempts != 1 {
				t.Fatalf("retried item: %+v", l.Item)
			}
			h.ack(l, ledger.Commit{Disposition: ledger.DeadLetter, LastError: "400",
				Advance: &ledger.Advance{Run: "r2", Step: "s3", Data: json.RawMessage(`{"step":3}`)}})
		default:
			t.Fatalf("unexpected item %+v", l.Item)
		}
	}
	dead, _, err := h.s.Dead(ctx, "c", ledger.Page{})
	if err != nil || len(dead) != 1 {
		t.Fatalf("Dead = %+v, %v", dead, err)
	}
	if it := dead[0]; it.Run != "r2" || it.Step != "s3" || string(it.Data) != `{"step":3}` || it.Attempts != 1 || !it.Dead {
		t.Errorf("dead advanced item: %+v", it)
	}
}

func testDeadLetterRequeue(t *testing.T, h *harness) {
	h.accept(ev("c", "a", "", 1), ev("c", "a", "", 2))
	ls := h.lease(2, time.Minute)
	h.ack(ls[0], ledger.Commit{Disposition: ledger.DeadLetter, LastError: "400 bad request"})
	h.ack(ls[1], ledger.Commit{})
	if more := h.lease(5, time.Minute); len(more) != 0 {
		t.Fatalf("a dead item was leased: %+v", more)
	}
	dead, _, err := h.s.Dead(ctx, "c", ledger.Page{})
	if err != nil || len(dead) != 1 || dead[0].ID != ls[0].Item.ID || dead[0].LastError != "400 bad request" || !dead[0].Dead || dead[0].Attempts != 1 {
		t.Fatalf("Dead = %+v, %v", dead, err)
	}
	if other, _, _ := h.s.Dead(ctx, "d", ledger.Page{}); len(other) != 0 {
		t.Errorf("another consumer sees dead items: %+v", other)
	}
	if err := h.s.Requeue(ctx, "d", dead[0].ID); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Requeue by another consumer: %v, want ErrNotFound", err)
	}
	if err := h.s.Requeue(ctx, "c", dead[0].ID); err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	if err := h.s.Requeue(ctx, "c", dead[0].ID); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Requeue of an item no longer dead: %v, want ErrNotFound", err)
	}
	got := h.lease(5, time.Minute)
	if len(got) != 1 || got[0].Item.ID != dead[0].ID || got[0].Item.Attempts != 0 || got[0].Item.Dead {
		t.Fatalf("requeued item: %+v", got)
	}
	h.ack(got[0], ledger.Commit{})
	if dead, _, _ := h.s.Dead(ctx, "c", ledger.Page{}); len(dead) != 0 {
		t.Errorf("dead letter after requeue: %+v", dead)
	}
}

func testFairness(t *testing.T, h *harness) {
	const backlog, few = 2000, 10
	for i := 0; i < backlog; i += ledger.MaxAcceptEvents {
		var evs []ledger.NewEvent
		for j := i; j < min(backlog, i+ledger.MaxAcceptEvents); j++ {
			evs = append(evs, ev("flood", "a", "", j))
		}
		h.accept(evs...)
	}
	for i := range few {
		h.accept(ev("quiet", "b", "", i))
	}
	// Workers take 4 items at a time; the quiet consumer's items must all be handed out within
	// the first leases, not after the flood.
	leased, quiet := 0, 0
	for quiet < few {
		ls := h.lease(4, time.Minute)
		if len(ls) == 0 {
			t.Fatal("nothing to lease with the quiet consumer's items waiting")
		}
		for _, l := range ls {
			leased++
			if l.Item.Consumer == "quiet" {
				quiet++
			}
			h.ack(l, ledger.Commit{})
		}
	}
	if leased > 2*few+4 {
		t.Errorf("the quiet consumer's %d items took %d leases, want at most %d", few, leased, 2*few+4)
	}
	if rest := len(h.drain()); rest != backlog+few-leased {
		t.Errorf("%d items left, want %d", rest, backlog+few-leased)
	}
}

// testUrgent: an urgent event's item is leased before its consumer's items waiting already, urgent
// ones in the order they came, and so are items enqueued due at ledger.UrgentDue; after a restart
// too. Items that have waited longer than ledger.UrgentLead go before a new urgent one.
func testUrgent(t *testing.T, h *harness) {
	accept := func(i int, urgent bool) string {
		t.Helper()
		h.clock.Advance(time.Millisecond) // ids, and due times, in the order of the calls
		e := ev("c", "a", "", i)
		e.Urgent = urgent
		return h.accept(e)[0].ID
	}
	var plain []string
	for i := range 3 {
		plain = append(plain, accept(i, false))
	}
	u1 := accept(3, true)
	plain = append(plain, accept(4, false))
	u2 := accept(5, true)
	ls := h.lease(1, time.Minute)
	if len(ls) != 1 || ls[0].Item.Event != u1 {
		t.Fatalf("first lease: %+v, want the first urgent event %s's item", ls, u1)
	}
	// Its next item, urgent too, goes before the others; an item due at once goes behind them.
	h.clock.Advance(time.Millisecond)
	h.ack(ls[0], ledger.Commit{Next: []ledger.NewItem{
		{Automation: "a", Event: u1, Step: "next", Due: ledger.UrgentDue(h.clock.Now())},
		{Automation: "a", Event: u1, Step: "later"},
	}})
	h.reopen()
	var got []string
	for _, it := range h.drain() {
		got = append(got, it.Event+"/"+it.Step)
	}
	want := []string{u2 + "/", u1 + "/next"}
	for _, id := range plain {
		want = append(want, id+"/")
	}
	want = append(want, u1+"/later")
	if !slices.Equal(got, want) {
		t.Errorf("lease order after the first urgent item:\n got %v\nwant %v", got, want)
	}

	// A flood of urgent events delays the items waiting already by at most UrgentLead: once
	// they have waited longer, they go first.
	old := accept(6, false)
	h.clock.Advance(ledger.UrgentLead / 2)
	u3 := accept(7, true)
	h.clock.Advance(ledger.UrgentLead)
	u4 := accept(8, true)
	got = got[:0]
	for range 3 {
		ls := h.lease(1, time.Minute)
		if len(ls) != 1 {
			t.Fatalf("lease: %d items, want 1", len(ls))
		}
		got = append(got, ls[0].Item.Event)
		h.ack(ls[0], ledger.Commit{})
	}
	if want := []string{u3, old, u4}; !slices.Equal(got, want) {
		t.Errorf("lease order of an item waiting %s and urgent ones:\n got %v\nwant %v", ledger.UrgentLead*3/2, got, want)
	}
}

// testLeaseSkip: a consumer that skip names gets nothing leased, however many items it has
// waiting, and its items are all there once it is no longer skipped.
func testLeaseSkip(t *testing.T, h *harness) {
	ctx := context.Background()
	for i := range 5 {
		h.accept(ev("busy", "a", "", i), ev("idle", "b", "", i))
	}
	var asked []string
	skip := func(c string) bool { asked = append(asked, c); return c == "busy" }
	ls, err := h.s.Lease(ctx, 10, time.Minute, skip)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 5 {
		t.Errorf("leased %d items skipping busy, want idle's 5", len(ls))
	}
	for _, l := range ls {
		if l.Item.Consumer != "idle" {
			t.Errorf("leased an item of %q, which skip named", l.Item.Consumer)
		}
	}
	if !slices.Contains(asked, "busy") {
		t.Errorf("skip was asked about %q, not about busy", asked)
	}
	if more, err := h.s.Lease(ctx, 10, time.Minute, skip); err != nil || len(more) != 0 {
		t.Errorf("second lease skipping busy: %d items, %v; want none", len(more), err)
	}
	rest := h.lease(10, time.Minute)
	if len(rest) != 5 {
		t.Fatalf("leased %d items without skip, want busy's 5", len(rest))
	}
	for _, l := range rest {
		if l.Item.Consumer != "busy" {
			t.Errorf("leased an item of %q, want busy", l.Item.Consumer)
		}
	}
}

// runVia stores r through the Ack of a fresh item of r's consumer.
func (h *harness) runVia(r ledger.Run) {
	h.t.Helper()
	h.accept(ev(r.Consumer, r.Automation, "", 0))
	ls := h.lease(1, time.Minute)
	if len(ls) != 1 {
		h.t.Fatalf("leased %d items", len(ls))
	}
	h.ack(ls[0], ledger.Commit{Run: &r})
}

func runIDs(runs []ledger.Run) []string {
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func (h *harness) allRuns(q ledger.RunQuery, limit int) []ledger.Run {
	h.t.Helper()
	var all []ledger.Run
	q.Page = ledger.Page{Limit: limit}
	for {
		runs, cur, err := h.s.Runs(ctx, q)
		if err != nil {
			h.t.Fatalf("Runs(%+v): %v", q, err)
		}
		all = append(all, runs...)
		if cur == "" {
			return all
		}
		if len(runs) == 0 {
			h.t.Fatal("Runs returned a cursor with an empty page")
		}
		q.Page.Cursor = cur
	}
}

func testRunIndexes(t *testing.T, h *harness) {
	var ids []string
	for i := range 25 {
		h.clock.Advance(time.Millisecond)
		id := ledger.NewID(h.clock.Now())
		ids = append(ids, id)
		auto := "a"
		if i%5 == 0 {
			auto = "b"
		}
		h.runVia(ledger.Run{ID: id, Consumer: "c", Automation: auto, Event: "e", Status: ledger.Running})
	}
	// Runs 0..9 finish; run 3 fails.
	for i := range 10 {
		st := ledger.Succeeded
		if i == 3 {
			st = ledger.Failed
		}
		auto := "a"
		if i%5 == 0 {
			auto = "b"
		}
		h.runVia(ledger.Run{ID: ids[i], Consumer: "c", Automation: auto, Event: "e", Status: st})
	}
	all := h.allRuns(ledger.RunQuery{Consumer: "c"}, 7)
	if got := runIDs(all); !slices.Equal(got, ids) {
		t.Errorf("all runs in pages of 7: %d runs, want the 25 in creation order", len(got))
	}
	want := map[ledger.Status]int{ledger.Running: 15, ledger.Succeeded: 9, ledger.Failed: 1, ledger.Dead: 0}
	for st, n := range want {
		runs := h.allRuns(ledger.RunQuery{Consumer: "c", Status: st}, 4)
		if len(runs) != n {
			t.Errorf("runs in status %s: %d, want %d", st, len(runs), n)
		}
		for _, r := range runs {
			if r.Status != st {
				t.Errorf("run %s listed under %s has status %s", r.ID, st, r.Status)
			}
		}
	}
	if runs := h.allRuns(ledger.RunQuery{Consumer: "c", Automation: "b"}, 2); len(runs) != 5 {
		t.Errorf("runs of automation b: %d, want 5", len(runs))
	}
	r, err := h.s.Run(ctx, "c", ids[3])
	if err != nil || r.Status != ledger.Failed || !r.CreatedAt.Before(r.UpdatedAt) {
		t.Errorf("updated run: %+v, %v (CreatedAt kept from creation, UpdatedAt moved)", r, err)
	}
	if _, _, err := h.s.Runs(ctx, ledger.RunQuery{Consumer: "c", Page: ledger.Page{Cursor: "%%%"}}); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("Runs with a malformed cursor: %v, want ErrInvalid", err)
	}
	if _, _, err := h.s.Runs(ctx, ledger.RunQuery{Consumer: "c", Status: "bogus"}); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("Runs with an unknown status: %v, want ErrInvalid", err)
	}
}

func testRunIsolation(t *testing.T, h *harness) {
	id := ledger.NewID(h.clock.Now())
	h.runVia(ledger.Run{ID: id, Consumer: "alice", Automation: "a", Event: "e", Status: ledger.Succeeded})
	if _, err := h.s.Run(ctx, "bob", id); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("bob reads alice's run: %v, want ErrNotFound", err)
	}
	if runs, _, err := h.s.Runs(ctx, ledger.RunQuery{Consumer: "bob"}); err != nil || len(runs) != 0 {
		t.Errorf("bob lists %d runs, %v", len(runs), err)
	}
	// A cursor taken from alice's listing does not reach alice's runs for bob.
	h.runVia(ledger.Run{ID: ledger.NewID(h.clock.Now().Add(time.Second)), Consumer: "alice", Automation: "a", Event: "e", Status: ledger.Succeeded})
	_, cur, _ := h.s.Runs(ctx, ledger.RunQuery{Consumer: "alice", Page: ledger.Page{Limit: 1}})
	if runs, _, _ := h.s.Runs(ctx, ledger.RunQuery{Consumer: "bob", Page: ledger.Page{Cursor: cur}}); len(runs) != 0 {
		t.Errorf("bob with alice's cursor lists %d runs", len(runs))
	}
	// An item of bob cannot write alice's run.
	h.accept(ev("bob", "a", "", 1))
	l := h.lease(1, time.Minute)[0]
	err := h.s.Ack(ctx, l, ledger.Commit{Run: &ledger.Run{ID: id, Consumer: "alice", Automation: "a", Event: "e", Status: ledger.Failed}})
	if !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("bob's item writes alice's run: %v, want ErrInvalid", err)
	}
	if r, _ := h.s.Run(ctx, "alice", id); r.Status != ledger.Succeeded {
		t.Errorf("alice's run is now %s", r.Status)
	}
}

func testObjects(t *testing.T, h *harness) {
	k := ledger.ObjectKey{Kind: "automation", Consumer: "c", ID: "orders to chat"}
	v1, err := h.s.Put(ctx, k, []byte(`{"v":1}`), 0)
	if err != nil || v1 != 1 {
		t.Fatalf("create: %d, %v", v1, err)
	}
	if _, err := h.s.Put(ctx, k, []byte(`{"v":9}`), 0); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("create over an existing object: %v, want ErrConflict", err)
	}
	v2, err := h.s.Put(ctx, k, []byte(`{"v":2}`), v1)
	if err != nil || v2 != 2 {
		t.Fatalf("update: %d, %v", v2, err)
	}
	if _, err := h.s.Put(ctx, k, []byte(`{"v":3}`), v1); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("update from a stale version: %v, want ErrConflict", err)
	}
	o, err := h.s.Object(ctx, k)
	if err != nil || o.Version != 2 || string(o.Value) != `{"v":2}` || o.Key != k {
		t.Errorf("Object = %+v, %v", o, err)
	}
	other := k
	other.Consumer = "d"
	if _, err := h.s.Object(ctx, other); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("another consumer's object: %v, want ErrNotFound", err)
	}
	if _, err := h.s.Put(ctx, k, []byte(`not json`), 2); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("Put of a non-JSON value: %v, want ErrInvalid", err)
	}
	if err := h.s.Delete(ctx, k, 1); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("Delete at a stale version: %v, want ErrConflict", err)
	}
	if err := h.s.Delete(ctx, k, 2); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := h.s.Delete(ctx, k, 2); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Delete of a deleted object: %v, want ErrNotFound", err)
	}
	// Listing: in id order, in pages, scoped by kind and consumer.
	var want []string
	for i := range 23 {
		id := fmt.Sprintf("conn/%02d", i)
		want = append(want, id)
		if _, err := h.s.Put(ctx, ledger.ObjectKey{Kind: "connector", ID: id}, []byte(`{}`), 0); err != nil {
			t.Fatal(err)
		}
	}
	h.s.Put(ctx, ledger.ObjectKey{Kind: "connector", Consumer: "c", ID: "mine"}, []byte(`{}`), 0)
	h.s.Put(ctx, ledger.ObjectKey{Kind: "connectorx", ID: "x"}, []byte(`{}`), 0)
	var got []string
	p := ledger.Page{Limit: 5}
	for {
		objs, cur, err := h.s.Objects(ctx, "connector", "", p)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			got = append(got, o.Key.ID)
		}
		if cur == "" {
			break
		}
		p.Cursor = cur
	}
	if !slices.Equal(got, want) {
		t.Errorf("Objects = %v, want %v", got, want)
	}
}

func testObjectsRace(t *testing.T, h *harness) {
	k := ledger.ObjectKey{Kind: "state", Consumer: "c", ID: "cursor"}
	if _, err := h.s.Put(ctx, k, []byte(`0`), 0); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 10
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for done := 0; done < each; {
				o, err := h.s.Object(ctx, k)
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				json.Unmarshal(o.Value, &n)
				_, err = h.s.Put(ctx, k, fmt.Appendf(nil, "%d", n+1), o.Version)
				switch {
				case errors.Is(err, ledger.ErrConflict):
					conflicts.Add(1)
				case err != nil:
					t.Error(err)
					return
				default:
					done++
				}
			}
		})
	}
	wg.Wait()
	o, _ := h.s.Object(ctx, k)
	if string(o.Value) != fmt.Sprint(workers*each) || o.Version != workers*each+1 {
		t.Errorf("after %d compare-and-swap increments: value %s version %d (%d conflicts retried)", workers*each, o.Value, o.Version, conflicts.Load())
	}
}

func testBlobs(t *testing.T, h *harness) {
	big := make([]byte, 5<<20+123)
	rand.Read(big)
	for _, data := range [][]byte{big, []byte("\x00asm")} {
		d, err := h.s.PutBlob(ctx, data)
		if err != nil {
			t.Fatalf("PutBlob(%d bytes): %v", len(data), err)
		}
		d2, err := h.s.PutBlob(ctx, data)
		if err != nil || d2 != d {
			t.Errorf("PutBlob again = %s, %v; want %s", d2, err, d)
		}
		got, err := h.s.Blob(ctx, d)
		if err != nil || string(got) != string(data) {
			t.Errorf("Blob(%s): %d bytes, %v; want the %d stored", d, len(got), err, len(data))
		}
	}
	if _, err := h.s.Blob(ctx, "00"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Blob of a malformed digest: %v", err)
	}
	if _, err := h.s.Blob(ctx, fmt.Sprintf("%064x", 7)); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Blob of an unknown digest: %v", err)
	}
	if _, err := h.s.PutBlob(ctx, make([]byte, ledger.MaxBlobBytes+1)); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("PutBlob above the limit: %v", err)
	}
}

func testActivity(t *testing.T, h *harness) {
	if err := h.s.Append(ctx,
		ledger.Activity{Kind: "connector.deployed"},
		ledger.Activity{Kind: "webhook.received", Consumer: "c"},
		ledger.Activity{Kind: "run.failed", Consumer: "d"},
		ledger.Activity{Kind: "run.succeeded", Consumer: "c", Data: json.RawMessage(`{"run":"r1"}`)},
	); err != nil {
		t.Fatal(err)
	}
	all, cur, err := h.s.Activity(ctx, "", ledger.Page{})
	if err != nil || len(all) != 4 {
		t.Fatalf("Activity = %d entries, %v", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Errorf("feed out of order: %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
	mine, mcur, err := h.s.Activity(ctx, "c", ledger.Page{})
	if err != nil || len(mine) != 2 || mine[0].Kind != "webhook.received" || string(mine[1].Data) != `{"run":"r1"}` {
		t.Fatalf("consumer c's activity = %+v, %v", mine, err)
	}
	// Following: the cursor of the last page resumes with what is appended later.
	if more, _, _ := h.s.Activity(ctx, "", ledger.Page{Cursor: cur}); len(more) != 0 {
		t.Errorf("more entries after the last: %+v", more)
	}
	if err := h.s.Append(ctx, ledger.Activity{Kind: "run.dead", Consumer: "c"}); err != nil {
		t.Fatal(err)
	}
	if more, _, _ := h.s.Activity(ctx, "", ledger.Page{Cursor: cur}); len(more) != 1 || more[0].Kind != "run.dead" {
		t.Errorf("following the feed: %+v", more)
	}
	if more, _, _ := h.s.Activity(ctx, "c", ledger.Page{Cursor: mcur}); len(more) != 1 || more[0].Kind != "run.dead" {
		t.Errorf("following c's feed: %+v", more)
	}
	// Each entry's own cursor resumes right after it, in both feeds.
	for i, e := range all {
		rest, _, err := h.s.Activity(ctx, "", ledger.Page{Cursor: ledger.ActivityCursor(e.Seq)})
		if err != nil || len(rest) != len(all)-i || len(rest) > 1 && rest[0].Seq != all[i+1].Seq {
			t.Errorf("after entry %d: %d entries, %v", i, len(rest), err)
		}
	}
	if rest, _, err := h.s.Activity(ctx, "c", ledger.Page{Cursor: ledger.ActivityCursor(mine[0].Seq)}); err != nil ||
		len(rest) != 2 || rest[0].Seq != mine[1].Seq || rest[1].Kind != "run.dead" {
		t.Errorf("c's feed after its first entry: %+v, %v", rest, err)
	}
	if err := h.s.Append(ctx, ledger.Activity{Kind: ""}); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("Append without a kind: %v, want ErrInvalid", err)
	}
}

// settle runs one fresh event of consumer through one item whose Ack stores a run in status st
// with two steps and an activity entry, settling the item as disp says. It returns the run.
func (h *harness) settle(consumer string, st ledger.Status, disp ledger.Disposition) ledger.Run {
	h.t.Helper()
	h.clock.Advance(time.Millisecond)
	id := h.accept(ev(consumer, "a", "", 0))[0].ID
	ls, err := h.s.Lease(ctx, 1, time.Minute, func(c string) bool { return c != consumer })
	if err != nil || len(ls) != 1 || ls[0].Item.Event != id {
		h.t.Fatalf("leased %+v, %v; want the item of event %s", ls, err, id)
	}
	it := ls[0].Item
	r := ledger.Run{ID: it.ID, Consumer: consumer, Automation: it.Automation, Event: it.Event, Status: st}
	h.ack(ls[0], ledger.Commit{Disposition: disp, Due: h.clock.Now().Add(1000 * time.Hour), LastError: "boom", Run: &r,
		Steps:    []ledger.Step{{Run: r.ID, Key: "0000-a", Data: payload(1)}, {Run: r.ID, Key: "0001-b", Data: payload(2)}},
		Activity: []ledger.Activity{{Consumer: consumer, Kind: "run." + string(st)}}})
	got, err := h.s.Run(ctx, consumer, r.ID)
	if err != nil {
		h.t.Fatalf("Run: %v", err)
	}
	return got
}

func testPrune(t *testing.T, h *harness) {
	if _, err := h.s.Prune(ctx, h.clock.Now(), 0); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("Prune with limit 0: %v, want ErrInvalid", err)
	}
	if p, err := h.s.Prune(ctx, h.clock.Now(), 100); err != nil || p.Total() != 0 || p.More {
		t.Errorf("Prune of an empty store: %+v, %v", p, err)
	}
	old := []ledger.Run{
		h.settle("c", ledger.Succeeded, ledger.Done),
		h.settle("c", ledger.Filtered, ledger.Done),
		h.settle("d", ledger.Succeeded, ledger.Done),
	}
	failed := h.settle("c", ledger.Failed, ledger.DeadLetter)
	dead := h.settle("c", ledger.Dead, ledger.DeadLetter)
	retrying := h.settle("c", ledger.Retrying, ledger.RetryAt)
	waiting := h.accept(ev("e", "a", "", 9))[0].ID // an old event whose item waits (of another consumer: settle leases one)
	h.clock.Advance(2 * time.Hour)
	cut := h.clock.Now().Add(-time.Hour)
	young := h.settle("c", ledger.Succeeded, ledger.Done)
	kept := []ledger.Run{failed, dead, retrying, young}

	// Limit 1 deletes one run, one event and one activity entry, and says there is more.
	p, err := h.s.Prune(ctx, cut, 1)
	if err != nil || p.Runs != 1 || p.Steps != 2 || p.Events != 1 || p.Activity != 1 || !p.More {
		t.Fatalf("Prune(limit 1) = %+v, %v; want 1 run with its 2 steps, 1 event, 1 entry, more", p, err)
	}
	p, err = h.s.Prune(ctx, cut, 100)
	if err != nil || p.Runs != 2 || p.Steps != 4 || p.Events != 2 || p.Activity != 5 || p.More {
		t.Fatalf("Prune = %+v, %v; want the other 2 runs with their 4 steps, 2 events, 5 entries", p, err)
	}
	for _, r := range old {
		if _, err := h.s.Run(ctx, r.Consumer, r.ID); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("pruned run %s (%s): %v, want ErrNotFound", r.ID, r.Status, err)
		}
		if steps, _, err := h.s.Steps(ctx, r.Consumer, r.ID, ledger.Page{}); err != nil || len(steps) != 0 {
			t.Errorf("pruned run %s has %d steps, %v", r.ID, len(steps), err)
		}
		if _, err := h.s.Event(ctx, r.Consumer, r.Event); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("pruned run %s's event: %v, want ErrNotFound", r.ID, err)
		}
	}
	for _, r := range kept {
		if _, err := h.s.Run(ctx, r.Consumer, r.ID); err != nil {
			t.Errorf("kept run %s (%s): %v", r.ID, r.Status, err)
		}
		if steps, _, err := h.s.Steps(ctx, r.Consumer, r.ID, ledger.Page{}); err != nil || len(steps) != 2 {
			t.Errorf("kept run %s has %d steps, %v", r.ID, len(steps), err)
		}
		if _, err := h.s.Event(ctx, r.Consumer, r.Event); err != nil {
			t.Errorf("kept run %s's event: %v", r.ID, err)
		}
	}
	if _, err := h.s.Event(ctx, "e", waiting); err != nil {
		t.Errorf("an old event whose item waits: %v", err)
	}
	// The indexes follow.
	if got := runIDs(h.allRuns(ledger.RunQuery{Consumer: "c"}, 100)); !slices.Equal(got, runIDs(kept)) {
		t.Errorf("c's runs after pruning: %v, want %v", got, runIDs(kept))
	}
	if got := runIDs(h.allRuns(ledger.RunQuery{Consumer: "c", Status: ledger.Succeeded}, 100)); !slices.Equal(got, []string{young.ID}) {
		t.Errorf("c's succeeded runs after pruning: %v, want only the young one", got)
	}
	if got := h.allRuns(ledger.RunQuery{Consumer: "c", Automation: "a"}, 100); len(got) != len(kept) {
		t.Errorf("c's runs of automation a after pruning: %d, want %d", len(got), len(kept))
	}
	if got := h.allRuns(ledger.RunQuery{Consumer: "d"}, 100); len(got) != 0 {
		t.Errorf("d's runs after pruning: %d, want 0", len(got))
	}
	// The young entry is left, with those of the kept runs appended after the cut.
	if all, _, _ := h.s.Activity(ctx, "", ledger.Page{}); len(all) != 1 || all[0].Kind != "run.succeeded" {
		t.Errorf("activity after pruning: %+v, want the young run's entry", all)
	}
	// The dead-lettered items still replay, their events there.
	dl, _, err := h.s.Dead(ctx, "c", ledger.Page{})
	if err != nil || len(dl) != 2 {
		t.Fatalf("dead items after pruning: %d, %v", len(dl), err)
	}
	if err := h.s.Requeue(ctx, "c", dl[0].ID); err != nil {
		t.Errorf("Requeue after pruning: %v", err)
	}
	if p, err := h.s.Prune(ctx, cut, 100); err != nil || p.Total() != 0 || p.More {
		t.Errorf("Prune again: %+v, %v; want nothing", p, err)
	}

	// A run of more steps than one write of Prune deletes (600, stored by three Acks).
	h.clock.Advance(time.Millisecond)
	bigEvent := h.accept(ev("f", "a", "", 0))[0].ID
	var big ledger.Run
	for i := range 3 {
		ls, err := h.s.Lease(ctx, 1, time.Minute, func(c string) bool { return c != "f" })
		if err != nil || len(ls) != 1 {
			t.Fatalf("lease %d of f's item: %+v, %v", i, ls, err)
		}
		it := ls[0].Item
		var steps []ledger.Step
		for j := range 200 {
			steps = append(steps, ledger.Step{Run: it.ID, Key: fmt.Sprintf("%04d", i*200+j), Data: payload(j)})
		}
		c := ledger.Commit{Disposition: ledger.RetryAt, Due: h.clock.Now(), LastError: "more", Steps: steps}
		if i == 2 {
			big = ledger.Run{ID: it.ID, Consumer: "f", Automation: "a", Event: bigEvent, Status: ledger.Succeeded}
			c = ledger.Commit{Run: &big, Steps: steps}
		}
		h.ack(ls[0], c)
	}

	// A cut in the future counts as now; the newest activity entry stays, so that the feed's
	// numbers go on after a restart.
	h.clock.Advance(time.Hour)
	p, err = h.s.Prune(ctx, h.clock.Now().Add(240*time.Hour), 100)
	if err != nil || p.Runs != 2 || p.Steps != 602 || p.Events != 2 || p.Activity != 0 {
		t.Errorf("Prune(future) = %+v, %v; want the young run and the big one with their 602 steps and 2 events, and no entry", p, err)
	}
	if steps, _, err := h.s.Steps(ctx, "f", big.ID, ledger.Page{}); err != nil || len(steps) != 0 {
		t.Errorf("the big run has %d steps left, %v", len(steps), err)
	}
	all, _, _ := h.s.Activity(ctx, "", ledger.Page{})
	if len(all) != 1 {
		t.Fatalf("activity after pruning everything: %d entries, want the newest", len(all))
	}
	h.reopen()
	if err := h.s.Append(ctx, ledger.Activity{Kind: "x.y"}); err != nil {
		t.Fatal(err)
	}
	if after, _, _ := h.s.Activity(ctx, "", ledger.Page{}); len(after) != 2 || after[1].Seq <= all[0].Seq {
		t.Errorf("after a restart the feed is %+v, want a number after %d", after, all[0].Seq)
	}
}

func testRestart(t *testing.T, h *harness) {
	evs := h.accept(ev("c", "a", "k1", 1), ev("c", "a", "", 2), ev("d", "a", "", 3))
	ls := h.lease(3, time.Hour)
	runID := ledger.NewID(h.clock.Now())
	h.ack(ls[0], ledger.Commit{Run: &ledger.Run{ID: runID, Automation: ls[0].Item.Automation, Event: ls[0].Item.Event, Status: ledger.Running},
		Next: []ledger.NewItem{{Automation: "a", Event: ls[0].Item.Event, Run: runID, Step: "s2"}}})
	h.ack(ls[1], ledger.Commit{Disposition: ledger.RetryAt, Due: h.clock.Now().Add(time.Minute), LastError: "e"})
	// ls[2] stays leased across the restart (its holder crashed).
	if _, err := h.s.Put(ctx, ledger.ObjectKey{Kind: "k", ID: "o"}, []byte(`1`), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Append(ctx, ledger.Activity{Kind: "before.restart"}); err != nil {
		t.Fatal(err)
	}
	h.reopen()

	if a := h.accept(ev("c", "a", "k1", 4))[0]; !a.Duplicate || a.ID != evs[0].ID {
		t.Errorf("dedupe across a restart: %+v", a)
	}
	if r, err := h.s.Run(ctx, ls[0].Item.Consumer, runID); err != nil || r.Status != ledger.Running {
		t.Errorf("run after restart: %+v, %v", r, err)
	}
	if o, err := h.s.Object(ctx, ledger.ObjectKey{Kind: "k", ID: "o"}); err != nil || o.Version != 1 {
		t.Errorf("object after restart: %+v, %v", o, err)
	}
	// Everything unsettled is leasable: the item leased before the restart at once, the next
	// step, and the retry once due.
	got := map[string]bool{}
	for _, it := range h.drain() {
		got[it.ID] = true
	}
	if !got[ls[2].Item.ID] || len(got) != 2 {
		t.Errorf("after restart leased %v; want the item whose holder died and the next step", got)
	}
	h.clock.Advance(time.Minute)
	if items := h.drain(); len(items) != 1 || items[0].ID != ls[1].Item.ID || items[0].Attempts != 1 {
		t.Errorf("the delayed item after restart: %+v", items)
	}
	if err := h.s.Append(ctx, ledger.Activity{Kind: "after.restart"}); err != nil {
		t.Fatal(err)
	}
	acts, _, _ := h.s.Activity(ctx, "", ledger.Page{})
	if len(acts) != 2 || acts[1].Kind != "after.restart" || acts[1].Seq <= acts[0].Seq {
		t.Errorf("activity across a restart: %+v", acts)
	}
}

func testHammer(t *testing.T, h *harness) {
	const producers, perProducer, workers = 4, 250, 8
	consumers := []string{"c1", "c2", "c3", "c4", "c5"}
	total := producers * perProducer
	var (
		holding sync.Map // item id → struct{}: items leased now
		acked   sync.Map // item id → count
		nAcked  atomic.Int64
		wg      sync.WaitGroup
	)
	for p := range producers {
		wg.Go(func() {
			for i := 0; i < perProducer; i += 10 {
				var evs []ledger.NewEvent
				for j := i; j < i+10; j++ {
					evs = append(evs, ev(consumers[(p+j)%len(consumers)], "a", fmt.Sprintf("p%d-%d", p, j), j))
				}
				if _, err := h.s.Accept(ctx, evs); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	deadline := time.Now().Add(2 * time.Minute)
	for range workers {
		wg.Go(func() {
			for nAcked.Load() < int64(total) && time.Now().Before(deadline) {
				ls, err := h.s.Lease(ctx, 4, time.Hour, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ls) == 0 {
					select {
					case <-h.s.Ready():
					case <-time.After(5 * time.Millisecond):
					}
					continue
				}
				for _, l := range ls {
					if _, dup := holding.LoadOrStore(l.Item.ID, struct{}{}); dup {
						t.Errorf("item %s leased by two workers at once", l.Item.ID)
					}
					holding.Delete(l.Item.ID)
					if err := h.s.Ack(ctx, l, ledger.Commit{}); err != nil {
						t.Error(err)
						return
					}
					n, _ := acked.LoadOrStore(l.Item.ID, new(atomic.Int64))
					if n.(*atomic.Int64).Add(1) > 1 {
						t.Errorf("item %s acknowledged twice", l.Item.ID)
					}
					nAcked.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := nAcked.Load(); n != int64(total) {
		t.Errorf("%d items acknowledged, want %d", n, total)
	}
}

func testClosed(t *testing.T, h *harness) {
	h.s.Close()
	if _, err := h.s.Accept(ctx, []ledger.NewEvent{ev("c", "a", "", 1)}); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
	if _, err := h.s.Lease(ctx, 1, time.Minute, nil); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Lease after Close: %v", err)
	}
	if _, err := h.s.Object(ctx, ledger.ObjectKey{Kind: "k", ID: "x"}); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Object after Close: %v", err)
	}
}
