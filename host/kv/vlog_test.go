package kv

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestValueLogOptions: ValueLogBytes reaches Badger as its ValueThreshold; out of range it is
// refused; unset, Badger keeps its own threshold (above every value kv accepts).
func TestValueLogOptions(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, 1, MinValueLogBytes - 1, MaxValueBytes + 1} {
		if _, err := Open(Options{Dir: t.TempDir(), ValueLogBytes: n}); err == nil {
			t.Errorf("ValueLogBytes %d: Open succeeded, want an error", n)
		}
	}
	for _, c := range []struct{ set, want int }{{0, 1 << 20}, {512, 512}} {
		db, err := Open(Options{Dir: t.TempDir(), ValueLogBytes: c.set})
		if err != nil {
			t.Fatal(err)
		}
		if got := db.bdb.Opts().ValueThreshold; got != int64(c.want) {
			t.Errorf("ValueLogBytes %d: Badger's ValueThreshold %d, want %d", c.set, got, c.want)
		}
		db.Close()
	}
}

// TestValueLogSyncFailureStopsWrites: once Badger logs that a sync of its value log failed, the
// commit that was in flight and every later one fail with ErrValueLogSync, Health says so, the
// line is still logged, and reads go on.
func TestValueLogSyncFailureStopsWrites(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	db, err := Open(Options{Dir: t.TempDir(), ValueLogBytes: 512, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	big := bytes.Repeat([]byte("v"), 4096)
	if err := db.Write(ctx, Put([]byte("before"), big)); err != nil {
		t.Fatal(err)
	}
	// Badger's logger is called from its write goroutine while the commit is in flight: the
	// hook runs inside the commit, before Badger's.
	fail := func(int) error {
		badgerLogger{l: db.opts.Logger, broken: db.broken}.Errorf("Error while curlf sync: %v\n", syscall.EIO)
		return nil
	}
	db.commitHook.Store(&fail)
	if err := db.Write(ctx, Put([]byte("during"), big)); !errors.Is(err, ErrValueLogSync) {
		t.Fatalf("the write whose commit saw the failure: %v, want ErrValueLogSync", err)
	}
	db.commitHook.Store(nil)
	for _, v := range [][]byte{big, []byte("small")} {
		if err := db.Write(ctx, Put([]byte("after"), v)); !errors.Is(err, ErrValueLogSync) {
			t.Fatalf("a later write (%d bytes): %v, want ErrValueLogSync", len(v), err)
		}
	}
	if err := db.Health(); !errors.Is(err, ErrValueLogSync) {
		t.Errorf("Health = %v, want ErrValueLogSync", err)
	}
	if v, err := db.Get([]byte("before")); err != nil || !bytes.Equal(v, big) {
		t.Errorf("Get(before) = %d bytes, %v; want the value written before the failure", len(v), err)
	}
	if !strings.Contains(logged.String(), "level=ERROR") || !strings.Contains(logged.String(), "input/output error") {
		t.Errorf("logged %q, want Badger's error line", logged.String())
	}
}

// TestBadgerLogsValueLogSyncFailures pins what kv relies on: Badger's value log write, with
// SyncWrites on, logs a failed sync with a line starting with vlogSyncPrefix (and returns no
// error). A Badger upgrade that changes the line must change vlogSyncPrefix with it; one that
// returns the error instead makes the logger hook unneeded.
func TestBadgerLogsValueLogSyncFailures(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to find Badger's source with")
	}
	out, err := exec.Command(gobin, "list", "-m", "-f", "{{.Dir}}", "github.com/dgraph-io/badger/v4").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "value.go"))
	if err != nil {
		t.Skipf("Badger's source: %v", err)
	}
	want := `if err := curlf.Sync(); err != nil {
				vlog.opt.Errorf("` + vlogSyncPrefix
	if !bytes.Contains(src, []byte(want)) {
		t.Fatalf("Badger's value.go no longer logs a failed value-log sync as %q: check how it reports one now", want)
	}
}

// TestValueLogFileSize: with values in the value log its files are valueLogFileBytes (Badger
// reads the newest through on open); without, Badger's default stays.
func TestValueLogFileSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		set  int
		want int64
	}{{0, 1<<30 - 1}, {512, valueLogFileBytes}} {
		db, err := Open(Options{Dir: t.TempDir(), ValueLogBytes: c.set})
		if err != nil {
			t.Fatal(err)
		}
		if got := db.bdb.Opts().ValueLogFileSize; got != c.want {
			t.Errorf("ValueLogBytes %d: value-log files of %d bytes, want %d", c.set, got, c.want)
		}
		db.Close()
	}
}
