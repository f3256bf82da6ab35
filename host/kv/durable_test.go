package kv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/splicehq/splice/host/kv"
)

// dirtyPages returns the pages of dir's memtable files (Badger's write-ahead log) and value-log
// files that the page cache holds dirty or under writeback, as the kernel's cachestat reports
// them. It skips the test where that cannot be told: a file system without writeback (tmpfs), or
// a kernel or sandbox without cachestat (Linux 6.5).
func dirtyPages(t *testing.T, dir string) uint64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC {
		t.Skipf("%s is on a file system without writeback", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var dirty uint64
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".mem") && !strings.HasSuffix(e.Name(), ".vlog") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // flushed and deleted meanwhile
		}
		if err != nil {
			t.Fatal(err)
		}
		var cs unix.Cachestat_t
		err = unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{}, &cs, 0)
		f.Close()
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			t.Skipf("cachestat: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		dirty += cs.Dirty + cs.Writeback
	}
	return dirty
}

// TestWriteReturnsAfterTheLogIsOnDisk checks the promise of Write where it can be seen without
// pulling the plug: when Write returns, no page of Badger's write-ahead log (nor of its value
// log) is left dirty in the page cache. Badger writes its logs through mmap, so a kill -9 (the
// crash test) cannot tell a synced write from one left in the page cache; this can: with
// SyncWrites off, every check fails. The memtable is small so that the writes cross several
// memtable files; with ValueLogBytes set, the values go to the value log instead, which must be
// as clean.
func TestWriteReturnsAfterTheLogIsOnDisk(t *testing.T) {
	for _, vlog := range []int{0, 1024} {
		t.Run(fmt.Sprint("valueLogBytes=", vlog), func(t *testing.T) {
			dir := t.TempDir()
			if dirtyPages(t, dir) != 0 {
				t.Fatal("dirty pages before any write")
			}
			db := openDB(t, kv.Options{Dir: dir, MemTableBytes: 8 << 20, GCInterval: -1, ValueLogBytes: vlog})
			if n := dirtyPages(t, dir); n != 0 {
				t.Fatalf("after Open: %d dirty pages of the log", n)
			}
			val := []byte(strings.Repeat("v", 50000))
			mems := map[string]bool{}
			for i := range 600 {
				if err := db.Write(context.Background(), kv.Put(fmt.Appendf(nil, "k%04d", i), val)); err != nil {
					t.Fatal(err)
				}
				if n := dirtyPages(t, dir); n != 0 {
					t.Fatalf("write %d returned with %d dirty pages of the log", i, n)
				}
				ents, _ := os.ReadDir(dir)
				for _, e := range ents {
					if strings.HasSuffix(e.Name(), ".mem") {
						mems[e.Name()] = true
					}
				}
			}
			if vlog == 0 && len(mems) < 3 {
				t.Fatalf("the writes went to %d memtable files, want at least 3 (the test must cross files)", len(mems))
			}
			if vlog > 0 {
				var logged int64
				ents, _ := os.ReadDir(dir)
				for _, e := range ents {
					if strings.HasSuffix(e.Name(), ".vlog") {
						if fi, err := e.Info(); err == nil {
							logged += fi.Size()
						}
					}
				}
				// Badger sizes a value log file ahead; what counts is that the values went there
				// and not to the memtables.
				if len(mems) > 2 || logged < 600*50000 {
					t.Fatalf("%d memtable files, value log files of %d bytes: the values did not go to the value log", len(mems), logged)
				}
			}
		})
	}
}
