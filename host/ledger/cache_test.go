package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

func openKV(t *testing.T) *kv.DB {
	t.Helper()
	db, err := kv.Open(kv.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openLedger(t *testing.T, db *kv.DB) *ledger.Embedded {
	t.Helper()
	s, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCachedRecordsMatchDisk checks that what the store's cache hands out (the items a lease
// takes and the events a run reads, right after they were written) is what a store with a cold
// cache reads from disk, field for field.
func TestCachedRecordsMatchDisk(t *testing.T) {
	ctx := context.Background()
	db := openKV(t)
	warm := openLedger(t, db)
	acc, err := warm.Accept(ctx, []ledger.NewEvent{
		{Consumer: "c", Automation: "a", DedupeKey: "d1", Payload: []byte(`{"order": {"id": 1, "total": 9.5}}`), Data: []byte(`{"k":"v"}`)},
		{Consumer: "c", Automation: "a", Payload: []byte(`[1, 2, 3]`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	cold := openLedger(t, db)
	for _, a := range acc {
		got, err := warm.Event(ctx, "c", a.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cold.Event(ctx, "c", a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("event %s from the cache differs from disk (-disk +cache):\n%s", a.ID, d)
		}
	}
	warmLeases, err := warm.Lease(ctx, 2, time.Minute, nil)
	if err != nil || len(warmLeases) != 2 {
		t.Fatalf("lease: %v, %d leases", err, len(warmLeases))
	}
	coldLeases, err := cold.Lease(ctx, 2, time.Minute, nil)
	if err != nil || len(coldLeases) != 2 {
		t.Fatalf("cold lease: %v, %d leases", err, len(coldLeases))
	}
	for i := range 2 {
		if d := cmp.Diff(coldLeases[i].Item, warmLeases[i].Item); d != "" {
			t.Errorf("leased item %d from the cache differs from disk (-disk +cache):\n%s", i, d)
		}
	}

	// An item enqueued by an Ack is cached too.
	if err := warm.Ack(ctx, warmLeases[0], ledger.Commit{Next: []ledger.NewItem{{Automation: "a", Event: acc[0].ID, Run: "r1", Step: "s2", Data: []byte(`{"step":1}`)}}}); err != nil {
		t.Fatal(err)
	}
	cold2 := openLedger(t, db)
	w, err := warm.Lease(ctx, 1, time.Minute, nil)
	if err != nil || len(w) != 1 {
		t.Fatalf("lease of the next item: %v, %d leases", err, len(w))
	}
	c, err := cold2.Lease(ctx, 2, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, l := range c {
		if l.Item.ID == w[0].Item.ID {
			found = true
			if d := cmp.Diff(l.Item, w[0].Item); d != "" {
				t.Errorf("next item from the cache differs from disk (-disk +cache):\n%s", d)
			}
		}
	}
	if !found {
		t.Errorf("the cold store did not lease the next item %s", w[0].Item.ID)
	}
	// The item was taken out of the cache by its lease: once settled, a stale lease of it finds
	// nothing (the conformance suite checks the rest of the queue's behaviour).
	if err := warm.Ack(ctx, w[0], ledger.Commit{}); err != nil {
		t.Fatal(err)
	}
}

// TestObjectCacheSeesEveryWrite reads objects through the cache while they are written, deleted
// and forgotten: a read never goes back to a version older than one it saw, and after each
// write completes a read sees it.
func TestObjectCacheSeesEveryWrite(t *testing.T) {
	ctx := context.Background()
	s := openLedger(t, openKV(t))
	key := func(i int) ledger.ObjectKey {
		return ledger.ObjectKey{Kind: "credential", Consumer: "c", ID: fmt.Sprintf("k%d", i)}
	}
	const keys, writes = 4, 60
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range keys {
		wg.Go(func() {
			var v uint64
			for n := range writes {
				var err error
				if v, err = s.Put(ctx, key(i), fmt.Appendf(nil, `{"n":%d}`, n), v); err != nil {
					t.Errorf("put %d: %v", n, err)
					return
				}
				o, err := s.Object(ctx, key(i))
				if err != nil || o.Version < v {
					t.Errorf("read after put of version %d: version %d, %v", v, o.Version, err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			seen := make([]uint64, keys)
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := range keys {
					o, err := s.Object(ctx, key(i))
					if errors.Is(err, ledger.ErrNotFound) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					if o.Version < seen[i] {
						t.Errorf("key %d went back from version %d to %d", i, seen[i], o.Version)
						return
					}
					if want := fmt.Sprintf(`{"n":%d}`, o.Version-1); string(o.Value) != want {
						t.Errorf("key %d version %d holds %s, want %s", i, o.Version, o.Value, want)
						return
					}
					seen[i] = o.Version
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	for i := range keys {
		o, err := s.Object(ctx, key(i))
		if err != nil || o.Version != writes {
			t.Errorf("key %d: version %d, %v; want %d", i, o.Version, err, writes)
		}
		// A caller that changes what it was given does not change the cache.
		clear(o.Value)
		if again, _ := s.Object(ctx, key(i)); string(again.Value) != fmt.Sprintf(`{"n":%d}`, writes-1) {
			t.Errorf("key %d: the cached value changed with the caller's copy: %q", i, again.Value)
		}
	}

	// Delete and an Ack's Forget both drop the cached object.
	if err := s.Delete(ctx, key(0), writes); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Object(ctx, key(0)); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("object after delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Accept(ctx, []ledger.NewEvent{{Consumer: "c", Automation: "a", Payload: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	ls, err := s.Lease(ctx, 1, time.Minute, nil)
	if err != nil || len(ls) != 1 {
		t.Fatalf("lease: %v, %d", err, len(ls))
	}
	if err := s.Ack(ctx, ls[0], ledger.Commit{Forget: []ledger.ObjectKey{key(1)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Object(ctx, key(1)); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("object after an Ack forgot it: %v, want ErrNotFound", err)
	}
}
