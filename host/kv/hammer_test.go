package kv_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/splicehq/splice/host/kv"
)

// TestHammer runs many concurrent writers (under -race in CI): every acknowledged key is readable,
// and the batcher really coalesces their writes into fewer commits.
func TestHammer(t *testing.T) {
	t.Parallel()
	const goroutines, writes = 64, 200
	dir := t.TempDir()
	db := openDB(t, kv.Options{Dir: dir})
	var commits, committedOps atomic.Int64
	kv.SetCommitHook(db, func(ops int) error {
		commits.Add(1)
		committedOps.Add(int64(ops))
		return nil
	})

	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range writes {
				k := fmt.Appendf(nil, "h/%02d/%04d", g, i)
				if err := db.Write(context.Background(), kv.Put(k, k)); err != nil {
					errs <- fmt.Errorf("Write(%s): %w", k, err)
					return
				}
				if i%50 == 0 { // readers run alongside the writers
					if v, err := db.Get(k); err != nil || string(v) != string(k) {
						errs <- fmt.Errorf("Get(%s) right after Write = %q, %v", k, v, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	total := int64(goroutines * writes)
	if got := committedOps.Load(); got != total {
		t.Errorf("committed %d ops, want %d", got, total)
	}
	c := commits.Load()
	t.Logf("%d writes in %d commits (%.1f per commit)", total, c, float64(total)/float64(c))
	if c >= total {
		t.Errorf("%d commits for %d writes: the batcher did not coalesce", c, total)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, kv.Options{Dir: dir})
	seen := 0
	var after []byte
	for {
		kvs, next, err := db.Scan([]byte("h/"), after, kv.MaxScanLimit)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(kvs)
		if next == nil {
			break
		}
		after = next
	}
	if seen != int(total) {
		t.Errorf("after reopen, %d keys readable, want %d", seen, total)
	}
}
