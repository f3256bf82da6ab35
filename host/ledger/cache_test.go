package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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
