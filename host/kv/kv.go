package kv

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Defaults and hard limits of [Options].
const (
	// DefaultMaxBatchOps is the number of operations after which a batch is cut.
	DefaultMaxBatchOps = 1024
	// DefaultMaxBatchBytes is the size (keys plus values) after which a batch is cut.
	DefaultMaxBatchBytes = 4 << 20
	// MaxValueBytes is the largest value size allowed (exclusive): 1 MiB - 1 KiB, below Badger's
	// default ValueThreshold of 1 MiB, so that without [Options.ValueLogBytes] values never go
	// to the value log. It is also the default.
	MaxValueBytes = 1<<20 - 1<<10
	// MinValueLogBytes is the smallest [Options.ValueLogBytes] allowed: smaller values cost
	// more as a pointer and a read from the value log than they save in the LSM tree.
	MinValueLogBytes = 64
	// MaxKeyBytes is the longest key allowed (Badger's own limit).
	MaxKeyBytes = 65000
	// MaxScanLimit is the most key-value pairs one [DB.Scan] returns; larger limits are clamped.
	MaxScanLimit = 1000
)

// badgerPrefix is the key prefix Badger reserves for itself; splicePrefix is kv's own (metadata).
var (
	badgerPrefix = []byte("!badger!")
	splicePrefix = []byte("!splice!")
)

// formatKey holds the on-disk format of the database; Open refuses a database of another format.
var formatKey = []byte("!splice!format")

// Format is the on-disk format this build writes and reads. A change that old builds cannot read,
// or that this build cannot read from old ones, changes it.
const Format = "splice-kv/1"

// DefaultGCInterval is how often the value log is garbage-collected.
const DefaultGCInterval = 10 * time.Minute

var (
	// ErrNotFound is returned by [DB.Get] for a key that is not stored.
	ErrNotFound = errors.New("kv: key not found")
	// ErrClosed is returned by every method of a [DB] that has been closed.
	ErrClosed = errors.New("kv: database closed")
	// ErrInvalidKey is returned for an empty key, a key longer than [MaxKeyBytes] or one that starts
	// with Badger's reserved prefix "!badger!".
	ErrInvalidKey = errors.New("kv: invalid key")
	// ErrValueTooLarge is returned for a value of [Options.MaxValueBytes] bytes or more.
	ErrValueTooLarge = errors.New("kv: value too large")
	// ErrWriteTooLarge is returned for one [DB.Write] whose operations cannot fit one transaction:
	// more than [Options.MaxBatchOps] operations, more than [Options.MaxBatchBytes] bytes, or more
	// than Badger accepts in one transaction.
	ErrWriteTooLarge = errors.New("kv: write too large for one transaction")
	// ErrConflict is returned by [DB.Write] when one of its [Check] conditions did not hold.
	ErrConflict = errors.New("kv: condition not met")
	// ErrLocked is returned by [Open] when another process (or another DB in this one) has the
	// directory open.
	ErrLocked = errors.New("kv: database directory is locked by another process")
	// ErrIncompatible is returned by [Open] for a database written in another [Format].
	ErrIncompatible = errors.New("kv: database format is not compatible")
	// ErrValueLogSync is returned by every [DB.Write] (and by [DB.Health]) once Badger failed to
	// sync its value log, from the commit during which it failed on: what that commit and any
	// later one wrote to the value log may not be on disk. Only a restart (Badger checks the
	// value log when it opens it) makes the database writable again. See "Values in the value
	// log" in the package documentation.
	ErrValueLogSync = errors.New("kv: value log sync failed; writes stop until the database is reopened")
)

// Options configures [Open]. The zero value of each field but Dir selects its default.
type Options struct {
	// Dir is the directory of the database, created if absent; required. One environment has one
	// directory, conventionally <data>/envs/<env>/.
	Dir string `json:"dir"`
	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger `json:"-"`
	// MaxBatchOps cuts a batch after this many operations; 0 means [DefaultMaxBatchOps].
	MaxBatchOps int `json:"maxBatchOps"`
	// MaxBatchBytes cuts a batch after this many bytes of keys and values; 0 means
	// [DefaultMaxBatchBytes]. Badger's own limit per transaction (about 9.6 MiB) also cuts batches.
	MaxBatchBytes int `json:"maxBatchBytes"`
	// MaxValueBytes refuses values of this many bytes or more; 0 means [MaxValueBytes], which is
	// also the largest value accepted.
	MaxValueBytes int `json:"maxValueBytes"`
	// GCInterval is how often value-log garbage collection runs; 0 means [DefaultGCInterval], a
	// negative value disables it.
	GCInterval time.Duration `json:"gcInterval"`
	// Memory bounds Badger's own memory: MemTableBytes per memtable (0 means
	// [DefaultMemTableBytes]), NumMemtables of them in memory before writes wait for a flush (0
	// means [DefaultNumMemtables]), and BlockCacheBytes of cached table blocks (0 means
	// [DefaultBlockCacheBytes]). A memtable also bounds one transaction (about 15 % of it).
	MemTableBytes   int64 `json:"memTableBytes"`
	NumMemtables    int   `json:"numMemtables"`
	BlockCacheBytes int64 `json:"blockCacheBytes"`
	// ValueLogBytes, when not 0, keeps values of at least this many bytes (from
	// [MinValueLogBytes] to [MaxValueBytes]) in Badger's value log, written once, with only a
	// pointer in the LSM tree, whose compactions then move far fewer bytes; 0 keeps every value
	// in the tree (the default). Each commit then syncs two files. See "Values in the value log"
	// in the package documentation.
	ValueLogBytes int `json:"valueLogBytes"`
	// MinFreeBytes refuses writes with [ErrDiskFull] while the file system holding Dir has less
	// free space than this; 0 means [DefaultMinFreeBytes], a negative value turns the check off.
	// Badger writes through memory-mapped files, and on a full disk that kills the process with
	// SIGBUS instead of failing the write (see "Why a reserve" in space.go).
	MinFreeBytes int64 `json:"minFreeBytes"`
}

// Memory defaults: far below Badger's own (five 64 MiB memtables and a 256 MiB block cache),
// which suit a database server, not one process holding several environments' databases.
const (
	DefaultMemTableBytes   = 32 << 20
	DefaultNumMemtables    = 2
	DefaultBlockCacheBytes = 16 << 20
)

// valueLogFileBytes is the size of a value-log file (Badger's default is 1 GiB) when values go
// there ([Options.ValueLogBytes]). e2e W1 with values of 512 bytes or more in the value log: the
// first webhook after a restart took 338 ms with Badger's default, which it reads through on
// open, and 97-127 ms with this size; the ack p99 was also lower (16.8-20.4 ms against 29.4-31.7,
// three runs each: Badger syncs the whole mapping of the file on every commit).
const valueLogFileBytes = 64 << 20

// levelZeroTables is how many tables level 0 of the LSM tree holds before Badger compacts them
// into the level below: as many as hold the data of Badger's defaults (five 64 MiB memtables),
// between 5 and 20. Badger's five, with memtables half its size, would compact as often for
// half the data, and each such compaction rewrites every table of the level below in the range
// of the level-0 tables, which for Splice's keys is nearly the whole level. Under load (e2e W1)
// compactions were a quarter of the server's CPU time; ten tables at 32 MiB took 13–17 % less
// CPU per webhook and a third less memory at the peak over ten seconds of load, about 4 % less
// CPU over a minute (compactions grow with the tree). Reads look into every level-0 table
// (point reads through its Bloom filter), which bounds the count.
func levelZeroTables(memTableBytes int64) int {
	const badgerDefault = 5 * 64 << 20
	return int(min(max((badgerDefault+memTableBytes-1)/memTableBytes, 5), 20))
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("kv: options: dir is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBatchOps < 0 || o.MaxBatchBytes < 0 || o.MaxValueBytes < 0 {
		return o, fmt.Errorf("kv: options: negative limit (maxBatchOps %d, maxBatchBytes %d, maxValueBytes %d)",
			o.MaxBatchOps, o.MaxBatchBytes, o.MaxValueBytes)
	}
	if o.MaxBatchOps == 0 {
		o.MaxBatchOps = DefaultMaxBatchOps
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.MaxValueBytes == 0 {
		o.MaxValueBytes = MaxValueBytes
	}
	if o.GCInterval == 0 {
		o.GCInterval = DefaultGCInterval
	}
	if o.MemTableBytes < 0 || o.NumMemtables < 0 || o.BlockCacheBytes < 0 {
		return o, errors.New("kv: options: negative memory option")
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = DefaultMemTableBytes
	}
	if o.NumMemtables == 0 {
		o.NumMemtables = DefaultNumMemtables
	}
	if o.BlockCacheBytes == 0 {
		o.BlockCacheBytes = DefaultBlockCacheBytes
	}
	if o.MaxValueBytes > MaxValueBytes {
		return o, fmt.Errorf("kv: options: maxValueBytes %d above the largest allowed %d", o.MaxValueBytes, MaxValueBytes)
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = DefaultMinFreeBytes
	}
	if err := CheckValueLogBytes(o.ValueLogBytes); err != nil {
		return o, fmt.Errorf("kv: options: valueLogBytes: %w", err)
	}
	return o, nil
}

// CheckValueLogBytes reports whether n is a valid [Options.ValueLogBytes]: 0 (off), or from
// [MinValueLogBytes] to [MaxValueBytes].
func CheckValueLogBytes(n int) error {
	if n != 0 && (n < MinValueLogBytes || n > MaxValueBytes) {
		return fmt.Errorf("%d bytes: 0 (off) or %d to %d", n, MinValueLogBytes, MaxValueBytes)
	}
	return nil
}

// DB is one open Badger database whose writes all go through a group-commit batcher.
// It is safe for concurrent use. Close it to flush pending writes and release the directory.
type DB struct {
	opts Options
	bdb  *badger.DB
	lock *os.File // holds the directory's flock until Close

	// mu guards pending and closing. mu and rw are never held together.
	mu      sync.Mutex
	pending []*request
	closing bool
	wake    chan struct{} // buffered 1: pending grew or closing was set
	done    chan struct{} // closed when the committer has exited
	stopGC  chan struct{} // closed by Close
	gcDone  chan struct{} // closed when the GC goroutine has exited

	// rw guards bdb against use after Close: readers hold it shared, Close exclusively.
	rw     sync.RWMutex
	closed bool

	closeOnce sync.Once
	closeErr  error

	stats stats

	// broken holds ErrValueLogSync once Badger logged a failed sync of its value log (see
	// badgerLogger); from then on every commit fails.
	broken *atomic.Pointer[error]

	// commitHook, when set (by tests only), runs before each commit with the number of operations
	// in the transaction; an error it returns fails the commit.
	commitHook atomic.Pointer[func(ops int) error]
	// freeHook, when set (by tests only), stands in for the file system's free space.
	freeHook atomic.Pointer[func() (uint64, error)]
}

// Open opens (creating if needed) the database in opts.Dir with SyncWrites on, and starts its
// committer.
//
// # Errors
//
// Open fails on invalid options, when the directory cannot be created, with [ErrLocked] when
// another process has it open, with [ErrIncompatible] when it holds a database of another
// [Format], or when Badger cannot read the files it finds there.
func Open(opts Options) (*DB, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	l0 := levelZeroTables(opts.MemTableBytes)
	broken := new(atomic.Pointer[error])
	bo := badger.DefaultOptions(opts.Dir).
		WithSyncWrites(true).
		WithDetectConflicts(false).
		WithLogger(badgerLogger{l: opts.Logger, broken: broken}).
		WithLoggingLevel(badger.WARNING).
		WithMemTableSize(opts.MemTableBytes).
		WithNumMemtables(opts.NumMemtables).
		WithBlockCacheSize(opts.BlockCacheBytes).
		// Tables stay compressed (Badger's default, Snappy): without compression the builders'
		// buffers shrink, but the tables, memory-mapped, are about twice as large, and under a
		// memory limit (GOMEMLIMIT) the resident total was larger (e2e W1: 627 vs 497 MiB).
		WithNumLevelZeroTables(l0).
		WithNumLevelZeroTablesStall(3 * l0).
		WithNumCompactors(2)
	if opts.ValueLogBytes > 0 {
		// Badger reads the newest value-log file through on open to find where it ends, so its
		// size bounds the time to the first write after a restart.
		bo = bo.WithValueThreshold(int64(opts.ValueLogBytes)).WithValueLogFileSize(valueLogFileBytes)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	bdb, err := badger.Open(bo)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("kv: open %s: %w", opts.Dir, err)
	}
	if err := checkFormat(bdb); err != nil {
		_ = bdb.Close()
		_ = lock.Close()
		return nil, fmt.Errorf("kv: open %s: %w", opts.Dir, err)
	}
	db := &DB{
		opts:   opts,
		bdb:    bdb,
		lock:   lock,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		stopGC: make(chan struct{}),
		gcDone: make(chan struct{}),
		broken: broken,
	}
	go db.commitLoop()
	go db.gcLoop()
	return db, nil
}

// lockWait is how long lockDir retries a lock held by another open file.
const lockWait = 500 * time.Millisecond

// lockDir creates dir if needed and takes an exclusive flock on dir/splice.lock (trying for
// lockWait), held until the returned file is closed. Badger locks the directory too, but its error cannot be
// told apart from other open failures; this lock gives ErrLocked, for another process and for a
// second Open in this one alike.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "splice.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", dir, err)
	}
	// A lock released a moment ago can still be held by a child process this one forked and that
	// has not exec'd yet (it shares the open file until its exec closes it): ask again for a
	// while before calling the directory locked.
	deadline := time.Now().Add(lockWait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (is another splice running on this data directory?)", ErrLocked, dir)
		}
		return nil, fmt.Errorf("kv: lock %s: %w", dir, err)
	}
	return f, nil
}

// checkFormat records Format in a new database and refuses a database of another format.
func checkFormat(bdb *badger.DB) error {
	return bdb.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(formatKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(formatKey, []byte(Format))
		}
		if err != nil {
			return err
		}
		got, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if string(got) != Format {
			return fmt.Errorf("%w: written as %q, this build reads %q", ErrIncompatible, got, Format)
		}
		return nil
	})
}

// gcLoop runs value-log garbage collection every GCInterval until Close.
func (db *DB) gcLoop() {
	defer close(db.gcDone)
	if db.opts.GCInterval < 0 {
		return
	}
	t := time.NewTicker(db.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-db.stopGC:
			return
		case <-t.C:
			if err := db.gc(); err != nil {
				db.opts.Logger.Warn("kv: value-log gc", "dir", db.opts.Dir, "err", err)
			}
		}
	}
}

// gc rewrites value-log files while at least half of one is garbage. Badger's ErrNoRewrite (nothing
// worth rewriting) ends a round and is not an error.
func (db *DB) gc() error {
	db.rw.RLock()
	defer db.rw.RUnlock()
	if db.closed {
		return ErrClosed
	}
	for {
		err := db.bdb.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Close stops accepting writes, commits the writes already queued (their callers get the result
// of that commit), stops the committer and closes Badger. Later calls to any method return
// [ErrClosed]; later calls to Close return the result of the first.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closing = true
		db.mu.Unlock()
		db.signal()
		<-db.done
		close(db.stopGC)
		<-db.gcDone

		db.rw.Lock()
		db.closed = true
		db.rw.Unlock()
		if err := db.bdb.Close(); err != nil {
			db.closeErr = fmt.Errorf("kv: close %s: %w", db.opts.Dir, err)
		}
		_ = db.lock.Close() // releases the flock

	})
	return db.closeErr
}

// Get returns a copy of the value stored under key.
//
// # Errors
//
// Get returns [ErrNotFound] for a key not stored, [ErrInvalidKey] for an invalid key and
// [ErrClosed] after Close.
func (db *DB) Get(key []byte) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	db.rw.RLock()
	defer db.rw.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	var val []byte
	err := db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("kv: get %q: %w", key, err)
	}
	return val, nil
}

// KV is one key-value pair returned by [DB.Scan].
type KV struct {
	Key   []byte
	Value []byte
}

// Scan returns, in ascending key order, up to limit pairs whose key starts with prefix and is
// greater than after (nil after starts at the beginning of the prefix). next is the cursor to pass
// as after for the following page, or nil when there is no more. limit is clamped to
// [MaxScanLimit]. The returned slices are copies owned by the caller.
//
// # Errors
//
// Scan returns an error for a limit below 1 and [ErrClosed] after Close.
func (db *DB) Scan(prefix, after []byte, limit int) (kvs []KV, next []byte, err error) {
	return db.scan(prefix, after, limit, true)
}

// ScanKeys is [DB.Scan] that returns keys only (the Value of each KV is nil). It reads no
// values, which makes it much cheaper over keys that are indexes or markers.
func (db *DB) ScanKeys(prefix, after []byte, limit int) (kvs []KV, next []byte, err error) {
	return db.scan(prefix, after, limit, false)
}

// Snapshot is a consistent view of the database as of its making: writes committed later are
// not in it. Close it when done: Close of the DB waits for it.
type Snapshot struct {
	db   *DB
	txn  *badger.Txn
	once sync.Once
}

// Snapshot makes a snapshot of what is committed now.
func (db *DB) Snapshot() (*Snapshot, error) {
	db.rw.RLock()
	if db.closed {
		db.rw.RUnlock()
		return nil, ErrClosed
	}
	return &Snapshot{db: db, txn: db.bdb.NewTransaction(false)}, nil
}

// Close releases the snapshot.
func (s *Snapshot) Close() {
	s.once.Do(func() {
		s.txn.Discard()
		s.db.rw.RUnlock()
	})
}

// CountKeys counts the keys under prefix in the snapshot, reading keys only.
func (s *Snapshot) CountKeys(prefix []byte) int {
	io := badger.DefaultIteratorOptions
	io.Prefix = prefix
	io.PrefetchValues = false
	it := s.txn.NewIterator(io)
	defer it.Close()
	n := 0
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if !bytes.HasPrefix(it.Item().Key(), splicePrefix) {
			n++
		}
	}
	return n
}

// Each calls fn with each key under prefix in the snapshot and its value, in key order, until fn
// returns an error (which Each returns). key and value are valid only during the call.
func (s *Snapshot) Each(prefix []byte, fn func(key, value []byte) error) error {
	io := badger.DefaultIteratorOptions
	io.Prefix = prefix
	it := s.txn.NewIterator(io)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		if bytes.HasPrefix(item.Key(), splicePrefix) {
			continue
		}
		err := item.Value(func(v []byte) error { return fn(item.Key(), v) })
		if err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) scan(prefix, after []byte, limit int, values bool) (kvs []KV, next []byte, err error) {
	if limit < 1 {
		return nil, nil, fmt.Errorf("kv: scan %q: limit %d below 1", prefix, limit)
	}
	limit = min(limit, MaxScanLimit)
	db.rw.RLock()
	defer db.rw.RUnlock()
	if db.closed {
		return nil, nil, ErrClosed
	}
	err = db.bdb.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Prefix = prefix
		io.PrefetchSize = min(limit+1, io.PrefetchSize)
		io.PrefetchValues = values
		it := txn.NewIterator(io)
		defer it.Close()
		start := prefix
		if after != nil && bytes.Compare(after, prefix) > 0 {
			start = after
		}
		for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			if after != nil && bytes.Compare(item.Key(), after) <= 0 {
				continue
			}
			if bytes.HasPrefix(item.Key(), splicePrefix) {
				continue // kv's own metadata
			}
			if len(kvs) == limit {
				next = kvs[len(kvs)-1].Key
				return nil
			}
			var v []byte
			if values {
				if v, err = item.ValueCopy(nil); err != nil {
					return err
				}
			}
			kvs = append(kvs, KV{Key: item.KeyCopy(nil), Value: v})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("kv: scan %q: %w", prefix, err)
	}
	return kvs, next, nil
}

// Last returns the greatest key that starts with prefix and its value, or [ErrNotFound] when no
// key does. It lets an owner resume a sequence (an append-only log keyed by big-endian numbers)
// without scanning it.
func (db *DB) Last(prefix []byte) (KV, error) {
	if len(prefix) == 0 {
		return KV{}, fmt.Errorf("kv: last: empty prefix")
	}
	db.rw.RLock()
	defer db.rw.RUnlock()
	if db.closed {
		return KV{}, ErrClosed
	}
	var kv KV
	err := db.bdb.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Prefix = prefix
		io.Reverse = true
		io.PrefetchValues = false
		it := txn.NewIterator(io)
		defer it.Close()
		// In reverse, Seek finds the greatest key <= its argument: prefix followed by 0xff bytes
		// longer than any key sorts after every key of the prefix.
		seek := append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, 8)...)
		for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			if bytes.HasPrefix(item.Key(), splicePrefix) {
				continue
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			kv = KV{Key: item.KeyCopy(nil), Value: v}
			return nil
		}
		return ErrNotFound
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return KV{}, ErrNotFound
	case err != nil:
		return KV{}, fmt.Errorf("kv: last %q: %w", prefix, err)
	}
	return kv, nil
}

func checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: %d bytes, above %d", ErrInvalidKey, len(key), MaxKeyBytes)
	case bytes.HasPrefix(key, badgerPrefix):
		return fmt.Errorf("%w: reserved prefix %q", ErrInvalidKey, badgerPrefix)
	case bytes.HasPrefix(key, splicePrefix):
		return fmt.Errorf("%w: reserved prefix %q", ErrInvalidKey, splicePrefix)
	}
	return nil
}
