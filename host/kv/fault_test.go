package kv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/splicehq/splice/host/kv"
)

var errInjected = errors.New("injected sync failure")

// TestCommitFailureFailsEveryCaller injects a failure into one commit: every caller of that batch
// gets the error, none of their keys is readable after reopen, and the batches before and after
// succeed.
func TestCommitFailureFailsEveryCaller(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openDB(t, kv.Options{Dir: dir})
	var failNext atomic.Bool
	var commits atomic.Int32
	release := holdCommitter(t, db, func(int) error {
		commits.Add(1)
		if failNext.CompareAndSwap(true, false) {
			return errInjected
		}
		return nil
	})

	const writers = 16
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs[i] = db.Write(context.Background(),
				kv.Put(fmt.Appendf(nil, "failed/%02d/a", i), []byte("v")),
				kv.Put(fmt.Appendf(nil, "failed/%02d/b", i), []byte("v")))
		})
	}
	waitPending(t, db, writers)
	failNext.Store(true)
	release() // the held commit succeeds; the next one, holding all 16 writes, fails
	wg.Wait()
	if got := commits.Load(); got != 1 {
		t.Fatalf("the %d writes took %d commits, want 1 batch", writers, got)
	}
	for i, err := range errs {
		if !errors.Is(err, errInjected) {
			t.Errorf("writer %d: got %v, want the injected error", i, err)
		}
	}

	// Later batches succeed.
	if err := db.Write(context.Background(), kv.Put([]byte("after"), []byte("v"))); err != nil {
		t.Fatalf("Write after the failed batch: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, kv.Options{Dir: dir})
	for _, k := range []string{"hold", "after"} {
		if _, err := db.Get([]byte(k)); err != nil {
			t.Errorf("after reopen, Get(%q): %v", k, err)
		}
	}
	for i := range writers {
		for _, s := range []string{"a", "b"} {
			k := fmt.Sprintf("failed/%02d/%s", i, s)
			if v, err := db.Get([]byte(k)); !errors.Is(err, kv.ErrNotFound) {
				t.Errorf("after reopen, Get(%q) = %q, %v; want ErrNotFound", k, v, err)
			}
		}
	}
	kvs, _, err := db.Scan([]byte("failed/"), nil, 100)
	if err != nil || len(kvs) != 0 {
		t.Errorf("Scan(failed/) = %d pairs, %v; want none", len(kvs), err)
	}
}
