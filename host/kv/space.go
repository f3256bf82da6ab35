package kv

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrDiskFull is the error of a write refused because the file system that holds the database
// has less free space than [Options.MinFreeBytes]. Nothing of the write was stored; writes
// succeed again once space is freed.
var ErrDiskFull = errors.New("kv: too little free disk space; writes are refused until some is freed")

// DefaultMinFreeBytes is the free space below which writes are refused when
// [Options.MinFreeBytes] is 0.
const DefaultMinFreeBytes = 512 << 20

// freeSpace returns the bytes free for unprivileged writers on the file system of dir.
func freeSpace(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil // the field types differ by platform
}

// spaceErr returns ErrDiskFull, with the figures, when the free space of the database's file
// system is under the reserve; nil otherwise, and when the reserve is off or the free space
// cannot be read (the write then goes ahead: an unreadable figure is not a full disk).
//
// # Why a reserve
//
// Badger writes its logs and tables through memory mappings of files it extends without
// allocating their blocks (ftruncate). On a full file system the kernel cannot back a page the
// write touches and sends SIGBUS, which kills the process: no error reaches a caller. Measured
// with a 48 MiB tmpfs as the data directory under e2e W1: the server died with "unexpected fault
// address ... signal SIGBUS" in Badger's value-log write. Refusing writes while the free space
// is under a reserve turns that into an error the caller can answer (a webhook gets 503), and
// leaves room for what Badger writes on its own: memtable flushes and compactions, which write
// their new tables before they delete the old ones.
func (db *DB) spaceErr() error {
	if db.opts.MinFreeBytes < 0 {
		return nil
	}
	free, err := db.free()
	if err != nil || free >= uint64(db.opts.MinFreeBytes) {
		return nil
	}
	return fmt.Errorf("%w: %d MiB free on the file system of %s, under the reserve of %d MiB",
		ErrDiskFull, free>>20, db.opts.Dir, db.opts.MinFreeBytes>>20)
}

// free returns the free space of the database's file system (or the test hook's figure).
func (db *DB) free() (uint64, error) {
	if hook := db.freeHook.Load(); hook != nil {
		return (*hook)()
	}
	return freeSpace(db.opts.Dir)
}
