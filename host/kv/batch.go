package kv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Op is one operation of a [DB.Write]: a put or a delete of one key. Build it with [Put] or
// [Delete]; the zero Op is invalid (it has no key).
type Op struct {
	key    []byte
	value  []byte
	delete bool
	check  bool          // a condition, see Check
	ttl    time.Duration // PutTTL: Badger drops the key after it
}

// Put returns an operation that stores value under key, replacing any previous value.
// The slices are read until the Write that carries the Op returns, and not kept after.
func Put(key, value []byte) Op { return Op{key: key, value: value} }

// PutTTL is [Put] for a key that may disappear once ttl has passed (by the wall clock): reads
// stop seeing it then, and compaction reclaims it. It suits records kept for a retention window,
// such as dedupe keys; callers that need an exact expiry check the time they stored themselves.
func PutTTL(key, value []byte, ttl time.Duration) Op {
	return Op{key: key, value: value, ttl: max(ttl, time.Second)}
}

// Delete returns an operation that removes key; deleting a key not stored is not an error.
func Delete(key []byte) Op { return Op{key: key, delete: true} }

// Check returns a condition on the [DB.Write] that carries it: the Write applies its other
// operations only if key holds exactly value, or, when value is nil, is absent; otherwise it
// writes nothing and returns [ErrConflict]. The condition is evaluated in the transaction that
// commits the Write, after the Writes batched before it, so a read-modify-write that checks what
// it read is a compare-and-swap: of two Writes racing on one key, one gets ErrConflict.
func Check(key, value []byte) Op { return Op{key: key, value: value, check: true} }

// size is what the op counts against [Options.MaxBatchBytes].
func (o Op) size() int { return len(o.key) + len(o.value) }

// Request states.
const (
	queued int32 = iota
	taken
	canceled
)

// request is one call of Write waiting for the committer.
type request struct {
	ops      []Op
	bytes    int
	conflict bool         // a Check failed: none of ops was applied
	state    atomic.Int32 // queued, then taken by the committer or canceled by the caller
	res      chan error   // buffered 1: the result of the commit that held ops
}

// Write durably applies ops, all in one transaction, through the group-commit batcher: it returns
// nil only after the transaction holding ops was committed with fsync. Write with no ops returns
// nil at once (or [ErrClosed]).
//
// # Errors
//
//   - [ErrInvalidKey], [ErrValueTooLarge] or [ErrWriteTooLarge] for ops refused before queueing;
//   - [ErrClosed] after Close;
//   - ctx.Err() when ctx ends before the committer takes ops: nothing of ops is written;
//   - [ErrConflict] when a [Check] among ops did not hold: none of ops was applied;
//   - the commit's error (wrapped) when the batch holding ops failed: none of ops is acknowledged,
//     and neither is any other call of that batch.
//
// Once the committer has taken ops, Write waits for the commit even if ctx ends, so that its
// result is never ambiguous.
func (db *DB) Write(ctx context.Context, ops ...Op) error {
	n := 0
	for _, op := range ops {
		if err := checkKey(op.key); err != nil {
			return err
		}
		if len(op.value) >= db.opts.MaxValueBytes {
			return fmt.Errorf("%w: %d bytes for key %q, limit %d", ErrValueTooLarge, len(op.value), op.key, db.opts.MaxValueBytes)
		}
		n += op.size()
	}
	if len(ops) > db.opts.MaxBatchOps || n > db.opts.MaxBatchBytes {
		return fmt.Errorf("%w: %d ops of %d bytes, limits %d ops and %d bytes",
			ErrWriteTooLarge, len(ops), n, db.opts.MaxBatchOps, db.opts.MaxBatchBytes)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ops: ops, bytes: n, res: make(chan error, 1)}
	db.mu.Lock()
	if db.closing {
		db.mu.Unlock()
		return ErrClosed
	}
	if len(ops) == 0 {
		db.mu.Unlock()
		return nil
	}
	db.pending = append(db.pending, r)
	db.mu.Unlock()
	db.signal()

	select {
	case err := <-r.res:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, canceled) {
			return ctx.Err()
		}
		return <-r.res
	}
}

// signal wakes the committer without blocking.
func (db *DB) signal() {
	select {
	case db.wake <- struct{}{}:
	default:
	}
}

// commitLoop is the committer goroutine: it takes batches of pending requests and commits them,
// until Close has been called and nothing is pending.
func (db *DB) commitLoop() {
	defer close(db.done)
	for {
		batch, closing := db.take()
		if len(batch) > 0 {
			db.commit(batch)
			continue
		}
		if closing {
			return
		}
		<-db.wake
	}
}

// take removes from the queue the next batch of requests, cut by MaxBatchOps and MaxBatchBytes
// (always at least one request when any is pending), skipping canceled requests.
func (db *DB) take() (batch []*request, closing bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	ops, bytes, i := 0, 0, 0
	for ; i < len(db.pending); i++ {
		r := db.pending[i]
		if len(batch) > 0 && (ops+len(r.ops) > db.opts.MaxBatchOps || bytes+r.bytes > db.opts.MaxBatchBytes) {
			break
		}
		if !r.state.CompareAndSwap(queued, taken) {
			continue // canceled by its caller
		}
		batch = append(batch, r)
		ops += len(r.ops)
		bytes += r.bytes
	}
	clear(db.pending[:i])
	db.pending = db.pending[i:]
	if len(db.pending) == 0 {
		db.pending = nil // let the backing array go
	}
	return batch, db.closing
}

// commit commits batch in as few transactions as Badger accepts and hands every request its result.
func (db *DB) commit(batch []*request) {
	start := time.Now()
	defer func() { db.stats.busy.Add(int64(time.Since(start))) }()
	if p := db.broken.Load(); p != nil {
		db.stats.failed.Add(uint64(len(batch)))
		for _, r := range batch {
			r.res <- *p
		}
		return
	}
	if err := db.spaceErr(); err != nil {
		db.stats.failed.Add(uint64(len(batch)))
		db.stats.lastErr.Store(&err)
		for _, r := range batch {
			r.res <- err
		}
		return
	}
	for len(batch) > 0 {
		n, err := db.commitPrefix(batch)
		var refused refusal
		switch {
		case errors.As(err, &refused):
			db.stats.failed.Add(uint64(n)) // one write Badger refuses alone: nothing was committed
		case err != nil:
			db.stats.commits.Add(1)
			db.stats.failed.Add(uint64(n))
			db.stats.lastErr.Store(&err)
		default:
			db.stats.commits.Add(1)
			db.stats.writes.Add(uint64(n))
			db.stats.lastErr.Store(nil)
		}
		for _, r := range batch[:n] {
			if err == nil && r.conflict {
				r.res <- ErrConflict
				continue
			}
			r.res <- err // a failed commit fails everyone: a Check may have seen writes that never committed
		}
		batch = batch[n:]
	}
}

// checks evaluates the Check ops of one request in txn, which sees the batch's earlier writes.
func checks(txn *badger.Txn, ops []Op) (bool, error) {
	for _, op := range ops {
		if !op.check {
			continue
		}
		item, err := txn.Get(op.key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			if op.value != nil {
				return false, nil
			}
			continue
		}
		if err != nil {
			return false, err
		}
		if op.value == nil {
			return false, nil
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(v, op.value) {
			return false, nil
		}
	}
	return true, nil
}

// commitPrefix commits, in one transaction, the longest prefix of reqs (at least one request) that
// Badger accepts, and returns its length and the commit's result. A request that Badger refuses
// on its own fails alone.
func (db *DB) commitPrefix(reqs []*request) (int, error) {
	txn := db.bdb.NewTransaction(true)
	defer txn.Discard()
	ops := 0
	for i, r := range reqs {
		ok, err := checks(txn, r.ops)
		if err != nil {
			return max(i, 1), fmt.Errorf("kv: check: %w", err)
		}
		if r.conflict = !ok; r.conflict {
			continue
		}
		for _, op := range r.ops {
			var err error
			if op.check {
				continue
			} else if op.delete {
				err = txn.Delete(op.key)
			} else if op.ttl > 0 {
				err = txn.SetEntry(badger.NewEntry(op.key, op.value).WithTTL(op.ttl))
			} else {
				err = txn.Set(op.key, op.value)
			}
			if err == nil {
				continue
			}
			if i > 0 {
				// reqs[:i] fitted: commit them in a fresh transaction, without the part of reqs[i]
				// already set; reqs[i] starts the next transaction.
				txn.Discard()
				return db.commitPrefix(reqs[:i])
			}
			if errors.Is(err, badger.ErrTxnTooBig) {
				err = fmt.Errorf("%w: %w", ErrWriteTooLarge, err)
			}
			return 1, refusal{fmt.Errorf("kv: write %d ops: %w", len(r.ops), err)}
		}
		ops += len(r.ops)
	}
	if hook := db.commitHook.Load(); hook != nil {
		if err := (*hook)(ops); err != nil {
			return len(reqs), fmt.Errorf("kv: commit %d ops: %w", ops, err)
		}
	}
	if err := txn.Commit(); err != nil {
		return len(reqs), fmt.Errorf("kv: commit %d ops: %w", ops, err)
	}
	if p := db.broken.Load(); p != nil {
		// Badger logged a failed sync of the value log during this commit (or an earlier one,
		// whose writers were failed already): what it wrote there may not be on disk.
		return len(reqs), fmt.Errorf("kv: commit %d ops: %w", ops, *p)
	}
	return len(reqs), nil
}

// refusal is the error of a write that Badger refuses on its own (too large for a transaction,
// say): the write's fault, not the database's.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

// Stats are a database's write counters since Open, for metrics.
type Stats struct {
	// Commits counts the Badger transactions the committer committed or tried to, each with
	// one fsync.
	Commits uint64
	// Writes counts the calls of Write whose operations were committed (a failed Check
	// included: it was decided in a commit); Failed those that a failed commit failed, or that
	// Badger refused on their own.
	Writes, Failed uint64
	// Busy is the time the committer spent committing, fsyncs included: its rate is the
	// committer's utilization, and near 1 the rate of writes is bound by it.
	Busy time.Duration
}

// stats are the counters behind [DB.Stats] and the state behind [DB.Health], written by the
// committer only.
type stats struct {
	commits, writes, failed atomic.Uint64
	busy                    atomic.Int64
	lastErr                 atomic.Pointer[error] // the last commit's error; nil after a success
}

// Health returns the error of the last commit when it failed, and nil when it succeeded or none
// was made yet: a database whose writes fail (a failing disk) stays unhealthy until a commit
// succeeds again. A write refused on its own (too large for a transaction) is not a commit and
// does not count. While the free disk space is under [Options.MinFreeBytes] it returns
// [ErrDiskFull], and nil again once space is freed, writes or not. After a failed sync of the
// value log it returns [ErrValueLogSync] for good.
func (db *DB) Health() error {
	if p := db.broken.Load(); p != nil {
		return *p
	}
	if err := db.spaceErr(); err != nil {
		return err
	}
	if p := db.stats.lastErr.Load(); p != nil && !errors.Is(*p, ErrDiskFull) {
		return *p
	}
	return nil
}

// Stats returns the write counters. It is cheap: four atomic loads.
func (db *DB) Stats() Stats {
	return Stats{
		Commits: db.stats.commits.Load(),
		Writes:  db.stats.writes.Load(),
		Failed:  db.stats.failed.Load(),
		Busy:    time.Duration(db.stats.busy.Load()),
	}
}
