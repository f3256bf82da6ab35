package ledger

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
			if got := h.add(k.due, k.id, readyKey("c", time.Unix(0, int64(k.due)), k.id)); got == found {
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
		if h.live != len(model) {
			t.Fatalf("step %d: %d live keys, want %d", step, h.live, len(model))
		}
		if step%13 != 0 {
			continue
		}
		var live []key
		for _, k := range h.keys[h.head:] {
			if !k.gone {
				live = append(live, key{k.due, k.id})
				if due, id, _ := parseReady(k.rk[len(readyPrefix("c")):]); dueNanos(due) != k.due || id != k.id {
					t.Fatalf("step %d: key %v carries the ready key of %d/%s", step, k, dueNanos(due), id)
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
	db, err := kv.Open(kv.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := Open(ctx, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
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
	if s.q.hotKeys != 0 {
		t.Errorf("%d hot keys counted with nothing waiting", s.q.hotKeys)
	}
	if _, err := s.Accept(ctx, evs[:1]); err != nil {
		t.Fatal(err)
	}
	if !exact() {
		t.Error("the queue did not become exact again once it had emptied")
	}
}
