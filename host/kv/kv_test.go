package kv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/splicehq/splice/host/kv"
)

// openDB opens a database in dir (a fresh temporary one when dir is empty) and closes it at the
// end of the test.
func openDB(t *testing.T, opts kv.Options) *kv.DB {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	db, err := kv.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// holdCommitter makes the committer wait inside its next commit until release is called, so that
// later writes queue up behind it and are taken as one batch. after, if not nil, runs for every
// later commit.
func holdCommitter(t *testing.T, db *kv.DB, after func(ops int) error) (release func()) {
	t.Helper()
	entered, gate := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	kv.SetCommitHook(db, func(ops int) error {
		if first.CompareAndSwap(false, true) {
			close(entered)
			<-gate
			return nil
		}
		if after != nil {
			return after(ops)
		}
		return nil
	})
	errc := make(chan error, 1)
	go func() { errc <- db.Write(context.Background(), kv.Put([]byte("hold"), []byte("x"))) }()
	<-entered
	return func() {
		t.Helper()
		close(gate)
		if err := <-errc; err != nil {
			t.Errorf("holding write: %v", err)
		}
	}
}

// waitPending waits until n writes are queued for the committer.
func waitPending(t *testing.T, db *kv.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for kv.Pending(db) != n {
		if time.Now().After(deadline) {
			t.Fatalf("pending writes: got %d, want %d", kv.Pending(db), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOpenOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts kv.Options
	}{
		{"no dir", kv.Options{}},
		{"negative ops", kv.Options{Dir: "x", MaxBatchOps: -1}},
		{"negative bytes", kv.Options{Dir: "x", MaxBatchBytes: -1}},
		{"negative value", kv.Options{Dir: "x", MaxValueBytes: -1}},
		{"value above threshold", kv.Options{Dir: "x", MaxValueBytes: kv.MaxValueBytes + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := kv.Open(tc.opts)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "kv: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestOpenLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	openDB(t, kv.Options{Dir: dir})
	second, err := kv.Open(kv.Options{Dir: dir})
	if err == nil {
		second.Close()
		t.Fatal("second Open of a locked directory succeeded")
	}
	if !errors.Is(err, kv.ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open: %v, want ErrLocked naming the directory", err)
	}
}

// TestOpenRefusesOtherFormat writes another format's marker and checks that Open refuses the
// database with ErrIncompatible, without changing it.
func TestOpenRefusesOtherFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.SetFormat(db, "splice-kv/99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for i := 0; i < 2; i++ {
		_, err = kv.Open(kv.Options{Dir: dir})
		if !errors.Is(err, kv.ErrIncompatible) || !strings.Contains(err.Error(), "splice-kv/99") {
			t.Fatalf("open %d: %v, want ErrIncompatible naming the format", i, err)
		}
	}
}

func TestReservedPrefixRefused(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	err := db.Write(context.Background(), kv.Put([]byte("!splice!format"), []byte("x")))
	if !errors.Is(err, kv.ErrInvalidKey) {
		t.Fatalf("write of kv's own metadata key: %v, want ErrInvalidKey", err)
	}
}

// TestValueLogGC runs a GC round on a database with garbage (overwritten and deleted values): it
// succeeds (nothing worth rewriting is not an error) and the live data stays readable.
func TestValueLogGC(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{GCInterval: -1})
	ctx := context.Background()
	big := make([]byte, 64<<10)
	for i := 0; i < 50; i++ {
		if err := db.Write(ctx, kv.Put([]byte(fmt.Sprintf("k%02d", i%10)), big)); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.GC(db); err != nil {
		t.Fatalf("gc: %v", err)
	}
	if v, err := db.Get([]byte("k03")); err != nil || len(v) != len(big) {
		t.Fatalf("after gc: %v, %d bytes", err, len(v))
	}
}

func TestWriteGet(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		writes [][]kv.Op // successive Write calls
		want   map[string]string
		absent []string
	}{
		{
			name:   "put",
			writes: [][]kv.Op{{kv.Put([]byte("put/a"), []byte("1"))}},
			want:   map[string]string{"put/a": "1"},
		},
		{
			name:   "several ops in one write",
			writes: [][]kv.Op{{kv.Put([]byte("multi/a"), []byte("1")), kv.Put([]byte("multi/b"), []byte("2"))}},
			want:   map[string]string{"multi/a": "1", "multi/b": "2"},
		},
		{
			name:   "overwrite",
			writes: [][]kv.Op{{kv.Put([]byte("over/a"), []byte("1"))}, {kv.Put([]byte("over/a"), []byte("2"))}},
			want:   map[string]string{"over/a": "2"},
		},
		{
			name:   "later op of one write wins",
			writes: [][]kv.Op{{kv.Put([]byte("order/a"), []byte("1")), kv.Put([]byte("order/a"), []byte("2"))}},
			want:   map[string]string{"order/a": "2"},
		},
		{
			name:   "empty value",
			writes: [][]kv.Op{{kv.Put([]byte("empty/a"), nil)}},
			want:   map[string]string{"empty/a": ""},
		},
		{
			name:   "delete",
			writes: [][]kv.Op{{kv.Put([]byte("del/a"), []byte("1")), kv.Put([]byte("del/b"), []byte("2"))}, {kv.Delete([]byte("del/a"))}},
			want:   map[string]string{"del/b": "2"},
			absent: []string{"del/a"},
		},
		{
			name:   "delete of a missing key",
			writes: [][]kv.Op{{kv.Delete([]byte("delmissing/a"))}},
			absent: []string{"delmissing/a"},
		},
		{
			name:   "put after delete in one write",
			writes: [][]kv.Op{{kv.Delete([]byte("re/a")), kv.Put([]byte("re/a"), []byte("3"))}},
			want:   map[string]string{"re/a": "3"},
		},
		{
			name:   "largest value",
			writes: [][]kv.Op{{kv.Put([]byte("big/a"), bytes.Repeat([]byte("v"), kv.MaxValueBytes-1))}},
			want:   map[string]string{"big/a": strings.Repeat("v", kv.MaxValueBytes-1)},
		},
		{
			name:   "no ops",
			writes: [][]kv.Op{{}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, ops := range tc.writes {
				if err := db.Write(ctx, ops...); err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			for k, want := range tc.want {
				got, err := db.Get([]byte(k))
				if err != nil {
					t.Fatalf("Get(%q): %v", k, err)
				}
				if string(got) != want {
					t.Errorf("Get(%q) = %.20q (%d bytes), want %.20q (%d bytes)", k, got, len(got), want, len(want))
				}
			}
			for _, k := range tc.absent {
				if got, err := db.Get([]byte(k)); !errors.Is(err, kv.ErrNotFound) {
					t.Errorf("Get(%q) = %q, %v; want ErrNotFound", k, got, err)
				}
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{MaxBatchOps: 4, MaxBatchBytes: 3 << 20})
	closed := openDB(t, kv.Options{})
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	big := make([]byte, kv.MaxValueBytes-1)
	for _, tc := range []struct {
		name string
		db   *kv.DB
		ctx  context.Context
		ops  []kv.Op
		want error
		// written is a key that must not be stored after the refusal.
		written string
	}{
		{"empty key", db, ctx, []kv.Op{kv.Put(nil, []byte("v"))}, kv.ErrInvalidKey, ""},
		{"empty key in delete", db, ctx, []kv.Op{kv.Delete([]byte{})}, kv.ErrInvalidKey, ""},
		{"zero op", db, ctx, []kv.Op{{}}, kv.ErrInvalidKey, ""},
		{"reserved prefix", db, ctx, []kv.Op{kv.Put([]byte("!badger!x"), nil)}, kv.ErrInvalidKey, ""},
		{"key too long", db, ctx, []kv.Op{kv.Put(make([]byte, kv.MaxKeyBytes+1), nil)}, kv.ErrInvalidKey, ""},
		{"one bad op refuses the write", db, ctx, []kv.Op{kv.Put([]byte("ref/a"), nil), kv.Put(nil, nil)}, kv.ErrInvalidKey, "ref/a"},
		{"value at the limit", db, ctx, []kv.Op{kv.Put([]byte("ref/b"), make([]byte, kv.MaxValueBytes))}, kv.ErrValueTooLarge, "ref/b"},
		{"too many ops", db, ctx, []kv.Op{kv.Put([]byte("ref/c"), nil), kv.Put([]byte("ref/d"), nil), kv.Put([]byte("ref/e"), nil), kv.Put([]byte("ref/f"), nil), kv.Put([]byte("ref/g"), nil)}, kv.ErrWriteTooLarge, "ref/c"},
		{"too many bytes", db, ctx, []kv.Op{kv.Put([]byte("ref/h"), big), kv.Put([]byte("ref/i"), big), kv.Put([]byte("ref/j"), big), kv.Put([]byte("ref/k"), big)}, kv.ErrWriteTooLarge, "ref/h"},
		{"context done", db, canceled, []kv.Op{kv.Put([]byte("ref/l"), nil)}, context.Canceled, "ref/l"},
		{"closed", closed, ctx, []kv.Op{kv.Put([]byte("ref/m"), nil)}, kv.ErrClosed, ""},
		{"closed, no ops", closed, ctx, nil, kv.ErrClosed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.db.Write(tc.ctx, tc.ops...); !errors.Is(err, tc.want) {
				t.Fatalf("Write: got %v, want %v", err, tc.want)
			}
			if tc.written != "" {
				if _, err := tc.db.Get([]byte(tc.written)); !errors.Is(err, kv.ErrNotFound) {
					t.Errorf("Get(%q) after refused write: %v, want ErrNotFound", tc.written, err)
				}
			}
		})
	}

	t.Run("reads", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			err  error
			want error
		}{
			{"get missing", func() error { _, err := db.Get([]byte("nope")); return err }(), kv.ErrNotFound},
			{"get empty key", func() error { _, err := db.Get(nil); return err }(), kv.ErrInvalidKey},
			{"get closed", func() error { _, err := closed.Get([]byte("a")); return err }(), kv.ErrClosed},
			{"scan closed", func() error { _, _, err := closed.Scan(nil, nil, 1); return err }(), kv.ErrClosed},
		} {
			if !errors.Is(tc.err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
			}
		}
		if _, _, err := db.Scan(nil, nil, 0); err == nil {
			t.Error("Scan with limit 0 succeeded")
		}
		if err := closed.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestScan(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	ctx := context.Background()
	var ops []kv.Op
	var all []string
	for i := range 25 {
		k := fmt.Sprintf("p/%03d", i)
		all = append(all, k)
		ops = append(ops, kv.Put([]byte(k), []byte("v"+k)))
	}
	ops = append(ops, kv.Put([]byte("o/x"), nil), kv.Put([]byte("p"), nil), kv.Put([]byte("q/x"), nil))
	if err := db.Write(ctx, ops...); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		prefix string
		after  []byte
		limit  int
		want   []string
		next   string
	}{
		{"first page", "p/", nil, 10, all[:10], all[9]},
		{"middle page", "p/", []byte(all[9]), 10, all[10:20], all[19]},
		{"last page", "p/", []byte(all[19]), 10, all[20:], ""},
		{"exact fit has no next", "p/", nil, 25, all, ""},
		{"after between keys", "p/", []byte("p/0105"), 2, all[11:13], all[12]},
		{"after before prefix", "p/", []byte("a"), 3, all[:3], all[2]},
		{"after past prefix", "p/", []byte("p/999"), 3, nil, ""},
		{"empty prefix", "", nil, 2, []string{"o/x", "p"}, "p"},
		{"no match", "z/", nil, 5, nil, ""},
		{"limit clamped", "p/", nil, kv.MaxScanLimit + 1, all, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kvs, next, err := db.Scan([]byte(tc.prefix), tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, p := range kvs {
				keys = append(keys, string(p.Key))
				if string(p.Value) != "v"+string(p.Key) && strings.HasPrefix(string(p.Key), "p/") {
					t.Errorf("value of %q = %q", p.Key, p.Value)
				}
			}
			if diff := cmp.Diff(tc.want, keys); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if string(next) != tc.next {
				t.Errorf("next = %q, want %q", next, tc.next)
			}
		})
	}

	t.Run("pages cover the prefix", func(t *testing.T) {
		t.Parallel()
		var keys []string
		var after []byte
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			kvs, next, err := db.Scan([]byte("p/"), after, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range kvs {
				keys = append(keys, string(p.Key))
			}
			if next == nil {
				break
			}
			after = next
		}
		if diff := cmp.Diff(all, keys); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	})
}

// TestWriteCanceledWhileQueued proves that a write whose context ends before the committer takes
// it returns ctx.Err() and is not written, while the writes around it are.
func TestWriteCanceledWhileQueued(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	release := holdCommitter(t, db, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 2)
	go func() { errc <- db.Write(ctx, kv.Put([]byte("canceled"), []byte("x"))) }()
	go func() { errc <- db.Write(context.Background(), kv.Put([]byte("kept"), []byte("x"))) }()
	waitPending(t, db, 2)
	cancel()
	// The canceled caller returns before the committer is released.
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled write: %v, want context.Canceled", err)
	}
	release()
	if err := <-errc; err != nil {
		t.Fatalf("kept write: %v", err)
	}
	if _, err := db.Get([]byte("canceled")); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("Get(canceled): %v, want ErrNotFound", err)
	}
	if _, err := db.Get([]byte("kept")); err != nil {
		t.Errorf("Get(kept): %v", err)
	}
}

// TestCloseFlushesPending proves that Close commits the writes already queued and that their
// callers get the commit's result.
func TestCloseFlushesPending(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openDB(t, kv.Options{Dir: dir})
	release := holdCommitter(t, db, nil)
	const n = 10
	errc := make(chan error, n)
	for i := range n {
		go func() { errc <- db.Write(context.Background(), kv.Put(fmt.Appendf(nil, "k%d", i), []byte("v"))) }()
	}
	waitPending(t, db, n)
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	// Close must not return while writes are pending.
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with writes pending", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := db.Write(context.Background(), kv.Put([]byte("late"), nil)); !errors.Is(err, kv.ErrClosed) {
		t.Errorf("Write while closing: %v, want ErrClosed", err)
	}
	release()
	for range n {
		if err := <-errc; err != nil {
			t.Errorf("queued write: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	db = openDB(t, kv.Options{Dir: dir})
	for i := range n {
		if _, err := db.Get(fmt.Appendf(nil, "k%d", i)); err != nil {
			t.Errorf("after reopen, Get(k%d): %v", i, err)
		}
	}
}

// TestBatchSplitAtBadgerLimit proves that a batch bigger than one Badger transaction is committed
// in several, each caller's ops staying together, and that one write bigger than a transaction is
// refused alone.
func TestBatchSplitAtBadgerLimit(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{MaxBatchBytes: 64 << 20, MaxBatchOps: 1 << 20})
	var mu sync.Mutex
	var commits []int
	release := holdCommitter(t, db, func(ops int) error {
		mu.Lock()
		defer mu.Unlock()
		commits = append(commits, ops)
		return nil
	})
	const writers = 12 // 12 pairs of 2 × 500 KiB: about 12 MiB, above Badger's 9.6 MiB
	val := make([]byte, 500<<10)
	errc := make(chan error, writers+1)
	for i := range writers {
		go func() {
			errc <- db.Write(context.Background(),
				kv.Put(fmt.Appendf(nil, "w%02d/a", i), val), kv.Put(fmt.Appendf(nil, "w%02d/b", i), val))
		}()
	}
	waitPending(t, db, writers)
	release()
	for range writers {
		if err := <-errc; err != nil {
			t.Errorf("Write: %v", err)
		}
	}
	mu.Lock()
	got := commits
	mu.Unlock()
	if len(got) < 2 {
		t.Errorf("commits = %v, want the batch split in at least 2", got)
	}
	total := 0
	for _, ops := range got {
		total += ops
		if ops%2 != 0 {
			t.Errorf("commit of %d ops splits a caller's ops (commits %v)", ops, got)
		}
	}
	if total != 2*writers {
		t.Errorf("commits %v hold %d ops, want %d", got, total, 2*writers)
	}
	for i := range writers {
		for _, s := range []string{"a", "b"} {
			if _, err := db.Get(fmt.Appendf(nil, "w%02d/%s", i, s)); err != nil {
				t.Errorf("Get(w%02d/%s): %v", i, s, err)
			}
		}
	}

	var huge []kv.Op
	for i := range 24 {
		huge = append(huge, kv.Put(fmt.Appendf(nil, "huge/%02d", i), val))
	}
	if err := db.Write(context.Background(), huge...); !errors.Is(err, kv.ErrWriteTooLarge) {
		t.Errorf("Write of 12 MiB in one call: %v, want ErrWriteTooLarge", err)
	}
	if _, err := db.Get([]byte("huge/00")); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("Get(huge/00) after refused write: %v, want ErrNotFound", err)
	}
	if err := db.Health(); err != nil {
		t.Errorf("a write Badger refused on its own made the database unhealthy: %v", err)
	}
}

func TestLast(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	ctx := context.Background()
	if _, err := db.Last([]byte("seq/")); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("Last of an empty prefix: %v, want ErrNotFound", err)
	}
	if err := db.Write(ctx,
		kv.Put([]byte("seq/\x00\x01"), []byte("a")),
		kv.Put([]byte("seq/\x00\xff"), []byte("b")),
		kv.Put([]byte("seq/\x00\x02"), []byte("c")),
		kv.Put([]byte("seq0"), []byte("outside")),
	); err != nil {
		t.Fatal(err)
	}
	got, err := db.Last([]byte("seq/"))
	if err != nil || string(got.Key) != "seq/\x00\xff" || string(got.Value) != "b" {
		t.Fatalf("Last = %q %q, %v; want the greatest key of the prefix", got.Key, got.Value, err)
	}
	if _, err := db.Last(nil); err == nil {
		t.Fatal("Last with an empty prefix: no error")
	}
}

func TestPutTTL(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	ctx := context.Background()
	if err := db.Write(ctx, kv.PutTTL([]byte("ttl/short"), []byte("v"), time.Second), kv.PutTTL([]byte("ttl/long"), []byte("v"), time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get([]byte("ttl/short")); err != nil {
		t.Fatalf("Get before expiry: %v", err)
	}
	// Badger's TTL has a resolution of one second (a unix timestamp).
	time.Sleep(2100 * time.Millisecond)
	if _, err := db.Get([]byte("ttl/short")); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("Get after expiry: %v, want ErrNotFound", err)
	}
	if _, err := db.Get([]byte("ttl/long")); err != nil {
		t.Fatalf("Get of the unexpired key: %v", err)
	}
}

func TestScanKeys(t *testing.T) {
	t.Parallel()
	db := openDB(t, kv.Options{})
	ctx := context.Background()
	for i := range 5 {
		if err := db.Write(ctx, kv.Put(fmt.Appendf(nil, "k/%d", i), []byte("value"))); err != nil {
			t.Fatal(err)
		}
	}
	kvs, next, err := db.ScanKeys([]byte("k/"), []byte("k/1"), 2)
	if err != nil || len(kvs) != 2 || string(kvs[0].Key) != "k/2" || string(kvs[1].Key) != "k/3" || string(next) != "k/3" {
		t.Fatalf("ScanKeys = %q, next %q, %v", kvs, next, err)
	}
	for _, e := range kvs {
		if e.Value != nil {
			t.Errorf("ScanKeys returned a value for %q", e.Key)
		}
	}
}

// TestCountKeys counts the keys under a prefix in a snapshot: kv's own metadata, other prefixes
// and later writes left out; Close waits for the snapshot.
func TestCountKeys(t *testing.T) {
	db, err := kv.Open(kv.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var ops []kv.Op
	for i := range 2500 {
		ops = append(ops, kv.Put([]byte(fmt.Sprintf("a/%05d", i)), nil))
	}
	ops = append(ops, kv.Put([]byte("b/1"), []byte("x")), kv.Put([]byte("a"), []byte("no slash")))
	for len(ops) > 0 {
		n := min(len(ops), 1000)
		if err := db.Write(ctx, ops[:n]...); err != nil {
			t.Fatal(err)
		}
		ops = ops[n:]
	}
	if err := db.Write(ctx, kv.Delete([]byte("a/00007"))); err != nil {
		t.Fatal(err)
	}
	snap, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Written after the snapshot: not in it.
	if err := db.Write(ctx, kv.Put([]byte("a/later"), nil), kv.Delete([]byte("a/00008"))); err != nil {
		t.Fatal(err)
	}
	for prefix, want := range map[string]int{"a/": 2499, "b/": 1, "c/": 0, "": 2499 + 1 + 1} {
		if n := snap.CountKeys([]byte(prefix)); n != want {
			t.Errorf("CountKeys(%q) = %d; want %d", prefix, n, want)
		}
	}
	closed := make(chan struct{})
	go func() {
		db.Close() // waits for the snapshot
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close did not wait for the open snapshot")
	case <-time.After(50 * time.Millisecond):
	}
	snap.Close()
	<-closed
	if _, err := db.Snapshot(); !errors.Is(err, kv.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// TestStats: the counters follow the commits: a held commit makes the next eight writes one
// batch, a failed commit counts its writes as failed, and a refused condition as a write. Health
// reports the failed commit until one succeeds.
func TestStats(t *testing.T) {
	db := openDB(t, kv.Options{GCInterval: -1})
	ctx := context.Background()
	if s := db.Stats(); s != (kv.Stats{}) {
		t.Fatalf("stats after Open: %+v", s)
	}
	if err := db.Health(); err != nil {
		t.Fatalf("Health after Open: %v", err)
	}
	fail := atomic.Bool{}
	release := holdCommitter(t, db, func(int) error {
		if fail.Load() {
			return errors.New("injected")
		}
		return nil
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := db.Write(ctx, kv.Put(fmt.Appendf(nil, "k%d", i), []byte("v"))); err != nil {
				t.Error(err)
			}
		})
	}
	waitPending(t, db, 8)
	release()
	wg.Wait()
	if s := db.Stats(); s.Commits != 2 || s.Writes != 9 || s.Failed != 0 || s.Busy <= 0 {
		t.Fatalf("after a held commit and a batch of 8: %+v, want 2 commits of 9 writes", s)
	}
	if err := db.Write(ctx, kv.Check([]byte("k0"), nil), kv.Put([]byte("x"), nil)); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("refused condition: %v", err)
	}
	fail.Store(true)
	if err := db.Write(ctx, kv.Put([]byte("y"), []byte("v"))); err == nil {
		t.Fatal("a failed commit was acknowledged")
	}
	if s := db.Stats(); s.Commits != 4 || s.Writes != 10 || s.Failed != 1 {
		t.Fatalf("after a refused condition and a failed commit: %+v, want 4 commits, 10 writes, 1 failed", s)
	}
	if err := db.Health(); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("Health after a failed commit: %v", err)
	}
	fail.Store(false)
	if err := db.Write(ctx, kv.Put([]byte("z"), []byte("v"))); err != nil {
		t.Fatal(err)
	}
	if err := db.Health(); err != nil {
		t.Fatalf("Health after a commit that succeeded again: %v", err)
	}
}
