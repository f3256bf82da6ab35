package kv_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/splicehq/splice/host/kv"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	ctx := context.Background()
	k := []byte("obj/1")
	steps := []struct {
		name string
		ops  []kv.Op
		want error
		then string // value of k afterwards; "" for absent
	}{
		{"create if absent", []kv.Op{kv.Check(k, nil), kv.Put(k, []byte("v1"))}, nil, "v1"},
		{"create again conflicts", []kv.Op{kv.Check(k, nil), kv.Put(k, []byte("vX"))}, kv.ErrConflict, "v1"},
		{"swap from v1", []kv.Op{kv.Check(k, []byte("v1")), kv.Put(k, []byte("v2"))}, nil, "v2"},
		{"stale swap conflicts", []kv.Op{kv.Check(k, []byte("v1")), kv.Put(k, []byte("v3"))}, kv.ErrConflict, "v2"},
		{"check on another key guards the write", []kv.Op{kv.Check([]byte("other"), []byte("x")), kv.Put(k, []byte("v4"))}, kv.ErrConflict, "v2"},
		{"delete if current", []kv.Op{kv.Check(k, []byte("v2")), kv.Delete(k)}, nil, ""},
	}
	for _, st := range steps {
		err := db.Write(ctx, st.ops...)
		if !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.want)
		}
		v, err := db.Get(k)
		got := string(v)
		if errors.Is(err, kv.ErrNotFound) {
			got = ""
		}
		if got != st.then {
			t.Fatalf("%s: value %q, want %q", st.name, got, st.then)
		}
	}
}

// TestCheckConflictLeavesTheBatchAlone holds the committer so that a conflicting Write shares a
// batch with others: only the conflicting caller fails, and nothing of its ops is written.
func TestCheckConflictLeavesTheBatchAlone(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	ctx := context.Background()
	if err := db.Write(ctx, kv.Put([]byte("c"), []byte("0"))); err != nil {
		t.Fatal(err)
	}
	release := holdCommitter(t, db, nil) // the next Writes queue into one batch
	errs := make([]error, 3)
	ops := [][]kv.Op{
		{kv.Put([]byte("a"), []byte("1"))},
		{kv.Check([]byte("c"), []byte("wrong")), kv.Put([]byte("b"), []byte("1"))},
		{kv.Check([]byte("c"), []byte("0")), kv.Put([]byte("c"), []byte("1"))},
	}
	var wg sync.WaitGroup
	for i := range ops {
		wg.Go(func() { errs[i] = db.Write(ctx, ops[i]...) })
	}
	waitPending(t, db, len(ops))
	release()
	wg.Wait()
	if errs[0] != nil || !errors.Is(errs[1], kv.ErrConflict) || errs[2] != nil {
		t.Fatalf("errs = %v, want [nil ErrConflict nil]", errs)
	}
	if _, err := db.Get([]byte("b")); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("the conflicting Write's put was applied: %v", err)
	}
	if v, _ := db.Get([]byte("c")); string(v) != "1" {
		t.Fatalf("c = %q, want 1", v)
	}
}

// TestCheckNoLostUpdates increments one counter from 32 goroutines with read, then Check+Put
// retried on conflict, under -race: no increment is lost, though many land in the same batch.
func TestCheckNoLostUpdates(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	ctx := context.Background()
	key := []byte("counter")
	if err := db.Write(ctx, kv.Put(key, []byte("0"))); err != nil {
		t.Fatal(err)
	}
	const workers, each = 32, 25
	var conflicts sync.Map
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := 0; i < each; {
				cur, err := db.Get(key)
				if err != nil {
					t.Error(err)
					return
				}
				n, _ := strconv.Atoi(string(cur))
				err = db.Write(ctx, kv.Check(key, cur), kv.Put(key, []byte(strconv.Itoa(n+1))))
				switch {
				case errors.Is(err, kv.ErrConflict):
					conflicts.Store(w, true)
				case err != nil:
					t.Error(err)
					return
				default:
					i++
				}
			}
		})
	}
	wg.Wait()
	v, _ := db.Get(key)
	if string(v) != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s, want %d: updates were lost", v, workers*each)
	}
	n := 0
	conflicts.Range(func(any, any) bool { n++; return true })
	t.Logf("%d of %d workers saw a conflict", n, workers)
}
