package kv_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/splicehq/splice/host/kv"
)

// TestDiskReserve: while the file system's free space is under MinFreeBytes, writes fail with
// ErrDiskFull and store nothing, and Health says so; once space is freed, Health is nil before
// any write, and writes succeed. A negative reserve turns the check off.
func TestDiskReserve(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, kv.Options{Dir: t.TempDir(), MinFreeBytes: 100 << 20})
	var free atomic.Uint64
	free.Store(50 << 20)
	kv.SetFreeHook(db, func() (uint64, error) { return free.Load(), nil })

	err := db.Write(ctx, kv.Put([]byte("a"), []byte("1")))
	if !errors.Is(err, kv.ErrDiskFull) {
		t.Fatalf("write with 50 MiB free under a 100 MiB reserve: %v, want ErrDiskFull", err)
	}
	if _, err := db.Get([]byte("a")); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("the refused write was stored: %v", err)
	}
	if err := db.Health(); !errors.Is(err, kv.ErrDiskFull) {
		t.Fatalf("health with the disk full: %v", err)
	}

	free.Store(200 << 20)
	if err := db.Health(); err != nil {
		t.Fatalf("health once space was freed, before any write: %v", err)
	}
	if err := db.Write(ctx, kv.Put([]byte("a"), []byte("1"))); err != nil {
		t.Fatalf("write once space was freed: %v", err)
	}

	kv.SetFreeHook(db, func() (uint64, error) { return 0, errors.New("statfs failed") }) // lets writes through
	if err := db.Write(ctx, kv.Put([]byte("b"), []byte("2"))); err != nil {
		t.Fatalf("write when the free space cannot be read: %v", err)
	}

	off := openDB(t, kv.Options{Dir: t.TempDir(), MinFreeBytes: -1})
	kv.SetFreeHook(off, func() (uint64, error) { return 0, nil })
	if err := off.Write(ctx, kv.Put([]byte("a"), []byte("1"))); err != nil {
		t.Fatalf("write with the check off: %v", err)
	}
}

// TestDiskReserveReadsTheFileSystem: with the default reserve on a file system with room (the
// test's temporary directory), writes go through and Health is nil: the real figure is read.
func TestDiskReserveReadsTheFileSystem(t *testing.T) {
	db := openDB(t, kv.Options{Dir: t.TempDir()})
	if err := db.Write(context.Background(), kv.Put([]byte("a"), []byte("1"))); err != nil {
		t.Skipf("the test's file system has less than the default reserve free? %v", err)
	}
	if err := db.Health(); err != nil {
		t.Fatal(err)
	}
	big := openDB(t, kv.Options{Dir: t.TempDir(), MinFreeBytes: 1 << 62}) // more than any disk
	if err := big.Write(context.Background(), kv.Put([]byte("a"), []byte("1"))); !errors.Is(err, kv.ErrDiskFull) {
		t.Fatalf("a reserve larger than any disk: %v, want ErrDiskFull", err)
	}
}
