package kv

import badger "github.com/dgraph-io/badger/v4"

// SetCommitHook installs fn to run before each commit with the number of operations in the
// transaction; an error from fn fails that commit. nil removes the hook.
func SetCommitHook(db *DB, fn func(ops int) error) {
	if fn == nil {
		db.commitHook.Store(nil)
		return
	}
	db.commitHook.Store(&fn)
}

// Pending returns the number of requests queued for the committer and not yet taken.
func Pending(db *DB) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	return len(db.pending)
}

// WriteTxnPerEvent writes one key in its own Badger transaction, bypassing the batcher: the
// baseline of the benchmark.
func WriteTxnPerEvent(db *DB, key, value []byte) error {
	return db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(key, value) })
}

// GC runs one round of value-log garbage collection.
func GC(db *DB) error { return db.gc() }

// SetFormat overwrites the stored format marker, as an incompatible build would have written it.
func SetFormat(db *DB, format string) error {
	return db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(formatKey, []byte(format)) })
}

// SetFreeHook makes fn stand in for the free space of the database's file system. nil removes
// the hook.
func SetFreeHook(db *DB, fn func() (uint64, error)) {
	if fn == nil {
		db.freeHook.Store(nil)
		return
	}
	db.freeHook.Store(&fn)
}
