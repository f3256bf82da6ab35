package ledger

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
)

// TestHotSetMatchesASortedList drives a hot set with random adds and removes (mostly of the
// oldest keys, as settling goes) and checks after each that its live keys, in order, are those
// of a plain sorted list doing the same.
func TestHotSetMatchesASortedList(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h hotSet
	type key struct {
		due uint64
		id  string
	}
	var model []key
	cmp := func(a, b key) int { return hotLess(hotKey{due: a.due, id: a.id}, b.due, b.id) }
	for step := range 20_000 {
		r := rng.IntN(10)
		if step >= 10_000 && r >= 5 && r < 8 {
			r = 8 // the second half removes from the middle more: holes, then compaction
		}
		switch {
		case r < 5 || len(model) == 0: // add, mostly at the end
			k := key{due: uint64(step/4 + rng.IntN(8)), id: fmt.Sprintf("i%05d", rng.IntN(100_000))}
			i, found := slices.BinarySearchFunc(model, k, cmp)
			if got := h.add(k.due, k.id, readyKey("c", time.Unix(0, int64(k.due)), k.id), []byte(k.id)); got == found {
				t.Fatalf("step %d: add %v reported %v, want %v", step, k, got, !found)
			}
			if !found {
				model = slices.Insert(model, i, k)
			}
		default: // remove: the oldest most of the time, else any, else one not there
			var k key
			switch {
			case r < 8:
				k = model[0]
			case r < 9:
				k = model[rng.IntN(len(model))]
			default:
				k = key{due: uint64(step), id: "absent"}
			}
			i, found := slices.BinarySearchFunc(model, k, cmp)
			if got := h.removeKey("c", readyKey("c", time.Unix(0, int64(k.due)), k.id)); got != found {
				t.Fatalf("step %d: remove %v reported %v, want %v", step, k, got, found)
			}
			if found {
				model = slices.Delete(model, i, i+1)
			}
		}
		if h.live != len(model) || h.bytes != 6*len(model) {
			t.Fatalf("step %d: %d live keys keeping %d bytes, want %d keeping %d", step, h.live, h.bytes, len(model), 6*len(model))
		}
		if step%13 != 0 {
			continue
		}
		var live []key
		for _, k := range h.keys[h.head:] {
			if !k.gone {
				live = append(live, key{k.due, k.id})
				if due, id, _ := parseReady(k.rk[len(readyPrefix("c")):]); dueNanos(due) != k.due || id != k.id || string(k.raw) != k.id {
					t.Fatalf("step %d: key %v carries the ready key of %d/%s and the record %q", step, k, dueNanos(due), id, k.raw)
				}
			}
		}
		if !slices.Equal(live, model) {
			t.Fatalf("step %d: live keys differ from the model (%d vs %d)", step, len(live), len(model))
		}
	}
}

// TestHotOverflow: a consumer whose waiting items outgrow the hot keys' budget goes back to
// scanning the disk, and every item is still leased exactly once; once its queue empties, the
// next item makes it exact again.
func TestHotOverflow(t *testing.T) {
	ctx := t.Context()
	s := openEmbedded(t)
	s.q.hotLimit = 10
	exact := func() bool {
		s.q.mu.Lock()
		defer s.q.mu.Unlock()
		w := s.q.consumers["c"]
		return w != nil && w.exact
	}
	var evs []NewEvent
	for i := range 50 {
		evs = append(evs, NewEvent{Consumer: "c", Automation: "a", Payload: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	if _, err := s.Accept(ctx, evs[:5]); err != nil {
		t.Fatal(err)
	}
	if !exact() {
		t.Fatal("a new consumer's queue is not exact")
	}
	if _, err := s.Accept(ctx, evs[5:]); err != nil {
		t.Fatal(err)
	}
	if exact() {
		t.Fatal("the queue stayed exact past its budget")
	}
	seen := map[string]bool{}
	for {
		ls, err := s.Lease(ctx, 7, time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 0 {
			break
		}
		for _, l := range ls {
			if seen[l.Item.ID] {
				t.Fatalf("item %s leased twice", l.Item.ID)
			}
			seen[l.Item.ID] = true
			if err := s.Ack(ctx, l, Commit{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) != 50 {
		t.Fatalf("leased %d items, want 50", len(seen))
	}
	if s.q.hotKeys != 0 || s.q.hotBytes != 0 {
		t.Errorf("%d hot keys and %d bytes of records counted with nothing waiting", s.q.hotKeys, s.q.hotBytes)
	}
	if _, err := s.Accept(ctx, evs[:1]); err != nil {
		t.Fatal(err)
	}
	if !exact() {
		t.Error("the queue did not become exact again once it had emptied")
	}
}

// TestHotHammer races leases, releases and acks of exact consumers' items while more are
// accepted: every item is settled exactly once, none is left behind. A release races with
// another worker's walk of the hot set here (the walk saw the key, the claim found it held,
// and the holder gave it back before the walker looked again): the key must stay.
func TestHotHammer(t *testing.T) {
	ctx := t.Context()
	s := openEmbedded(t)
	const consumers, perConsumer, workers = 3, 400, 8
	var mu sync.Mutex
	settled := map[string]int{}
	var accepting sync.WaitGroup
	for c := range consumers {
		accepting.Go(func() {
			for i := 0; i < perConsumer; i += 10 {
				var evs []NewEvent
				for j := range 10 {
					evs = append(evs, NewEvent{Consumer: fmt.Sprintf("c%d", c), Automation: "a", Payload: fmt.Appendf(nil, `{"n":%d}`, i+j)})
				}
				if _, err := s.Accept(ctx, evs); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for time.Now().Before(deadline) {
				mu.Lock()
				done := len(settled) == consumers*perConsumer
				mu.Unlock()
				if done {
					return
				}
				ls, err := s.Lease(ctx, 1+rng.IntN(4), time.Minute, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ls) == 0 {
					time.Sleep(100 * time.Microsecond)
				}
				for _, l := range ls {
					if rng.IntN(3) == 0 {
						if err := s.Release(ctx, l); err != nil {
							t.Error(err)
						}
						continue
					}
					if err := s.Ack(ctx, l, Commit{}); err != nil {
						t.Error(err)
						continue
					}
					mu.Lock()
					settled[l.Item.ID]++
					mu.Unlock()
				}
			}
		})
	}
	accepting.Wait()
	wg.Wait()
	if len(settled) != consumers*perConsumer {
		t.Errorf("%d items settled of %d", len(settled), consumers*perConsumer)
	}
	for id, n := range settled {
		if n != 1 {
			t.Errorf("item %s settled %d times", id, n)
		}
	}
}

// TestHotReleaseDuringWalk orders the race TestHotHammer looks for: a lease walks the hot set and
// sees item X free; another lease takes X before the first claims it; the claim finds X held;
// the holder gives X back. X must still be leasable.
func TestHotReleaseDuringWalk(t *testing.T) {
	ctx := t.Context()
	s := openEmbedded(t)
	if _, err := s.Accept(ctx, []NewEvent{{Consumer: "c", Automation: "a", Payload: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	var other []Lease
	s.q.hook = func(stage string) {
		switch {
		case stage == "walked" && other == nil:
			s.q.hook = nil // the other lease walks too: no hook for it
			var err error
			if other, err = s.Lease(ctx, 1, time.Minute, nil); err != nil || len(other) != 1 {
				t.Errorf("the other lease: %v, %d items", err, len(other))
			}
			s.q.hook = func(stage string) {
				if stage == "claimed" {
					if err := s.Release(ctx, other[0]); err != nil {
						t.Error(err)
					}
				}
			}
		}
	}
	defer func() { s.q.hook = nil }()
	if ls, err := s.Lease(ctx, 1, time.Minute, nil); err != nil || len(ls) != 0 {
		t.Fatalf("the racing lease: %v, %d items; want none (the other held it)", err, len(ls))
	}
	s.q.hook = nil
	ls, err := s.Lease(ctx, 1, time.Minute, nil)
	if err != nil || len(ls) != 1 {
		t.Fatalf("after the release: %v, %d items; the item is lost to the queue", err, len(ls))
	}
}

// TestHotAckDuringWalk orders the race BenchmarkW1Storage ran into once in about 300,000 items:
// a lease walks the hot set and sees item X free; another lease takes X and settles it (or
// reschedules it) before the first claims it. The claim must not lease X again from the record
// the walk saw: that would run X a second time (the engine's Ack would then fail, after the
// steps' side effects).
func TestHotAckDuringWalk(t *testing.T) {
	for _, disp := range []Disposition{Done, RetryAt} {
		t.Run(fmt.Sprint("disposition=", disp), func(t *testing.T) {
			ctx := t.Context()
			s := openEmbedded(t)
			if _, err := s.Accept(ctx, []NewEvent{{Consumer: "c", Automation: "a", Payload: []byte(`{}`)}}); err != nil {
				t.Fatal(err)
			}
			var settled bool
			s.q.hook = func(stage string) {
				if stage != "walked" || settled {
					return
				}
				settled = true
				s.q.hook = nil // the other lease walks too: no hook for it
				other, err := s.Lease(ctx, 1, time.Minute, nil)
				if err != nil || len(other) != 1 {
					t.Fatalf("the other lease: %v, %d items", err, len(other))
				}
				if err := s.Ack(ctx, other[0], Commit{Disposition: disp, Due: time.Now().Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			defer func() { s.q.hook = nil }()
			ls, err := s.Lease(ctx, 1, time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ls) != 0 {
				t.Fatalf("leased %s (attempts %d) after another lease settled it: it would run twice", ls[0].Item.ID, ls[0].Item.Attempts)
			}
		})
	}
}

// openEmbedded opens a store over a new database, closed when t ends.
func openEmbedded(t *testing.T) *Embedded {
	t.Helper()
	db, err := kv.Open(kv.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(t.Context(), db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestHotRecords: an item leased from a hot set is the record kept with its key, not read again
// from the disk, within the byte budget (past it, keys keep no record and the disk is read); a
// record changed on the disk behind the queue's back fails the Ack (its check of the record),
// and the accounting returns to zero.
func TestHotRecords(t *testing.T) {
	ctx := t.Context()
	s := openEmbedded(t)
	var evs []NewEvent
	for i := range 6 {
		evs = append(evs, NewEvent{Consumer: "c", Automation: "a", Payload: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	if _, err := s.Accept(ctx, evs[:2]); err != nil {
		t.Fatal(err)
	}
	s.q.mu.Lock()
	kept := s.q.hotBytes
	s.q.byteLimit = kept // the next keys keep no record
	s.q.mu.Unlock()
	if kept == 0 {
		t.Fatal("the hot keys keep no records")
	}
	if _, err := s.Accept(ctx, evs[2:]); err != nil {
		t.Fatal(err)
	}
	s.q.mu.Lock()
	var with, without []string
	for _, k := range s.q.consumers["c"].hot.keys {
		if k.raw != nil {
			with = append(with, k.id)
		} else {
			without = append(without, k.id)
		}
	}
	s.q.mu.Unlock()
	if len(with) != 2 || len(without) != 4 || s.q.hotBytes != kept {
		t.Fatalf("%d keys with a record, %d without, %d bytes kept; want 2, 4, %d", len(with), len(without), s.q.hotBytes, kept)
	}
	// Change the first item's record on the disk only: its lease still shows the kept record,
	// and its Ack is refused.
	var changed Item
	if _, err := s.getRecord(itemKey(with[0]), &changed); err != nil {
		t.Fatal(err)
	}
	changed.Attempts = 7
	b, err := encode(changed)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Write(ctx, kv.Put(itemKey(with[0]), b)); err != nil {
		t.Fatal(err)
	}
	ls, err := s.Lease(ctx, 6, time.Minute, nil)
	if err != nil || len(ls) != 6 {
		t.Fatalf("Lease = %d leases, %v", len(ls), err)
	}
	for _, l := range ls {
		err := s.Ack(ctx, l, Commit{})
		switch {
		case l.Item.ID == with[0] && (l.Item.Attempts != 0 || !errors.Is(err, ErrLeaseLost)):
			t.Fatalf("the item changed on disk: leased with %d attempts, Ack %v; want the kept record and ErrLeaseLost", l.Item.Attempts, err)
		case l.Item.ID != with[0] && err != nil:
			t.Fatalf("Ack %s: %v", l.Item.ID, err)
		}
	}
	// The refused item waits again, with its record; the others' records are no longer counted.
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	w := s.q.consumers["c"]
	if w == nil || !w.exact {
		t.Fatal("the consumer with an item waiting is not exact")
	}
	live := 0
	for _, k := range w.hot.keys[w.hot.head:] {
		if !k.gone {
			live += len(k.raw)
		}
	}
	if s.q.hotBytes != live || w.hot.bytes != live || live == 0 || live >= kept {
		t.Fatalf("%d bytes of records counted (%d in the set), %d kept by its live keys", s.q.hotBytes, w.hot.bytes, live)
	}
}
