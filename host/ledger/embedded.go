package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/splicehq/splice/host/kv"
)

// DefaultDedupeRetention is how long a dedupe key is remembered: three days, longer than the
// retry schedules of the common webhook senders.
const DefaultDedupeRetention = 72 * time.Hour

// Options configures [Open]. The zero value is valid.
type Options struct {
	// DedupeRetention is how long an event's DedupeKey keeps a second event with the same key
	// out; 0 means DefaultDedupeRetention.
	DedupeRetention time.Duration `json:"dedupeRetention"`
	// MaxWaiting bounds one consumer's waiting items (accepted or enqueued and not yet settled,
	// leased ones included): an Accept that would take them past it stores nothing and fails with
	// ErrBacklog. Items an Ack or a Requeue enqueues (retries, next steps, replays) are never
	// refused, so they may pass it. 0 means no bound. backlog.go says how they are counted.
	MaxWaiting int `json:"maxWaiting"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// Embedded is the [Store] of one environment over its kv database, for a single Splice process
// (kv's directory lock makes it the only one). It is safe for concurrent use.
type Embedded struct {
	db        *kv.DB
	now       func() time.Time
	retention time.Duration
	q         queue
	feed      feed
	cache     cache
	runLocks  [64]sync.Mutex // striped by run id: a run's read-modify-write of its record
	pruning   pruning        // where a round of Prune calls resumes
	seed      maphash.Seed
	// maxWaiting is Options.MaxWaiting; counting waits for the counts it started (backlog.go).
	maxWaiting int
	counting   sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

var _ Store = (*Embedded)(nil)

// Open returns the store of db. It reads only what leasing and the activity feed need to resume
// (the consumers that have waiting items, the last activity sequence number), not the queue.
// Close it before closing db.
func Open(ctx context.Context, db *kv.DB, opts Options) (*Embedded, error) {
	if opts.DedupeRetention < 0 {
		return nil, fmt.Errorf("%w: options: negative dedupeRetention %s", ErrInvalid, opts.DedupeRetention)
	}
	if opts.MaxWaiting < 0 {
		return nil, fmt.Errorf("%w: options: negative maxWaiting %d", ErrInvalid, opts.MaxWaiting)
	}
	if opts.DedupeRetention == 0 {
		opts.DedupeRetention = DefaultDedupeRetention
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Embedded{db: db, now: opts.Now, retention: opts.DedupeRetention, seed: maphash.MakeSeed(), maxWaiting: opts.MaxWaiting}
	s.q.init()
	s.cache.init()
	if err := s.q.load(ctx, db); err != nil {
		return nil, fmt.Errorf("ledger: open: %w", err)
	}
	last, err := db.Last([]byte(pAct))
	switch {
	case errors.Is(err, kv.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("ledger: open: %w", err)
	default:
		s.feed.next = binary.BigEndian.Uint64(last.Key[len(pAct):])
	}
	s.feed.next++
	return s, nil
}

// Close makes every later call fail with ErrClosed, and waits for the counts of waiting items it
// started. It does not close the kv database.
func (s *Embedded) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.counting.Wait()
	return nil
}

func (s *Embedded) live() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// write is db.Write with kv's errors mapped to the ledger's.
func (s *Embedded) write(ctx context.Context, ops ...kv.Op) error {
	if err := s.live(); err != nil {
		return err
	}
	err := s.db.Write(ctx, ops...)
	switch {
	case errors.Is(err, kv.ErrConflict):
		return ErrConflict
	case errors.Is(err, kv.ErrWriteTooLarge), errors.Is(err, kv.ErrValueTooLarge):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, kv.ErrClosed):
		return ErrClosed
	case errors.Is(err, kv.ErrDiskFull):
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// Writable implements Store: the database's free-space reserve (kv.ErrDiskFull).
func (s *Embedded) Writable() error {
	if err := s.db.Health(); errors.Is(err, kv.ErrDiskFull) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return nil
}

// get reads one record; ErrNotFound when absent.
func (s *Embedded) get(key []byte) ([]byte, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	b, err := s.db.Get(key)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		return nil, ErrNotFound
	case errors.Is(err, kv.ErrClosed):
		return nil, ErrClosed
	}
	return b, err
}

func (s *Embedded) getRecord(key []byte, v any) ([]byte, error) {
	b, err := s.get(key)
	if err != nil {
		return nil, err
	}
	if err := decode(b, v); err != nil {
		return nil, fmt.Errorf("ledger: %q: %w", key, err)
	}
	return b, nil
}

// scan lists one page of prefix after the cursor.
func (s *Embedded) scan(prefix []byte, p Page) ([]kv.KV, string, error) {
	if err := s.live(); err != nil {
		return nil, "", err
	}
	after, err := afterOf(prefix, p.Cursor)
	if err != nil {
		return nil, "", err
	}
	kvs, next, err := s.db.Scan(prefix, after, p.limit())
	if err != nil {
		return nil, "", err
	}
	return kvs, cursorOf(prefix, next), nil
}

// Event implements [Store.Event].
func (s *Embedded) Event(ctx context.Context, consumer, id string) (Event, error) {
	var e Event
	if checkName("consumer", consumer, false) != nil || checkName("event id", id, false) != nil {
		return e, ErrNotFound
	}
	key := eventKey(consumer, id)
	b, err := s.get(key)
	if err != nil {
		return e, err
	}
	if err := decodeWith(b, &e, "payload", func(raw json.RawMessage) { e.Payload = raw }); err != nil {
		return e, fmt.Errorf("ledger: %q: %w", key, err)
	}
	return e, nil
}

// Run implements [Store.Run].
func (s *Embedded) Run(ctx context.Context, consumer, id string) (Run, error) {
	var r Run
	if checkName("consumer", consumer, false) != nil || checkName("run id", id, false) != nil {
		return r, ErrNotFound
	}
	_, err := s.getRecord(runKey(consumer, id), &r)
	return r, err
}

// Steps implements [Store.Steps].
func (s *Embedded) Steps(ctx context.Context, consumer, runID string, p Page) ([]Step, string, error) {
	if err := checkName("consumer", consumer, false); err != nil {
		return nil, "", err
	}
	if err := checkName("run id", runID, false); err != nil {
		return nil, "", err
	}
	kvs, cur, err := s.scan(stepPrefix(consumer, runID), p)
	if err != nil {
		return nil, "", err
	}
	steps := make([]Step, 0, len(kvs))
	for _, e := range kvs {
		var st Step
		if err := decodeWith(e.Value, &st, "data", func(raw json.RawMessage) { st.Data = raw }); err != nil {
			return nil, "", fmt.Errorf("ledger: %q: %w", e.Key, err)
		}
		steps = append(steps, st)
	}
	return steps, cur, nil
}

// Runs implements [Store.Runs].
func (s *Embedded) Runs(ctx context.Context, q RunQuery) ([]Run, string, error) {
	if err := checkName("consumer", q.Consumer, false); err != nil {
		return nil, "", err
	}
	var prefix []byte
	switch {
	case q.Automation != "" && q.Status != "":
		return nil, "", fmt.Errorf("%w: runs by automation and status at once", ErrInvalid)
	case q.Automation != "":
		if err := checkName("automation", q.Automation, false); err != nil {
			return nil, "", err
		}
		prefix = byAutoPrefix(q.Consumer, q.Automation)
	case q.Status != "":
		if !q.Status.Valid() {
			return nil, "", fmt.Errorf("%w: run status %q", ErrInvalid, q.Status)
		}
		prefix = byStatPrefix(q.Consumer, q.Status)
	default:
		prefix = runPrefix(q.Consumer)
	}
	kvs, cur, err := s.scan(prefix, q.Page)
	if err != nil {
		return nil, "", err
	}
	runs := make([]Run, 0, len(kvs))
	for _, e := range kvs {
		var r Run
		if q.Automation == "" && q.Status == "" {
			if err := decode(e.Value, &r); err != nil {
				return nil, "", fmt.Errorf("ledger: %q: %w", e.Key, err)
			}
		} else {
			// The index and the run are written in one commit, so the run is there.
			id := string(e.Key[len(prefix):])
			if _, err := s.getRecord(runKey(q.Consumer, id), &r); err != nil {
				return nil, "", fmt.Errorf("ledger: run %s of index %q: %w", id, e.Key, err)
			}
		}
		runs = append(runs, r)
	}
	return runs, cur, nil
}

// runLock returns the mutex that serializes the updates of run id.
func (s *Embedded) runLock(id string) *sync.Mutex {
	return &s.runLocks[maphash.String(s.seed, id)%uint64(len(s.runLocks))]
}

// runOps returns the operations that store r and keep its indexes in step, given what is stored
// now (old, nil when absent). The caller holds r's run lock until the write is done.
func runOps(r *Run, old []byte) ([]kv.Op, error) {
	key := runKey(r.Consumer, r.ID)
	ops := []kv.Op{kv.Check(key, old)}
	if old != nil {
		var prev Run
		if err := decode(old, &prev); err != nil {
			return nil, fmt.Errorf("ledger: run %s: %w", r.ID, err)
		}
		if prev.Automation != r.Automation || prev.Event != r.Event {
			return nil, fmt.Errorf("%w: run %s: automation or event changed", ErrInvalid, r.ID)
		}
		r.CreatedAt = prev.CreatedAt
		if prev.Status != r.Status {
			ops = append(ops, kv.Delete(append(byStatPrefix(r.Consumer, prev.Status), r.ID...)))
		}
	}
	b, err := encode(r)
	if err != nil {
		return nil, err
	}
	return append(ops,
		kv.Put(key, b),
		kv.Put(append(byAutoPrefix(r.Consumer, r.Automation), r.ID...), nil),
		kv.Put(append(byStatPrefix(r.Consumer, r.Status), r.ID...), nil),
	), nil
}

func checkRun(r *Run) error {
	if err := checkName("run id", r.ID, false); err != nil {
		return err
	}
	if err := checkName("consumer", r.Consumer, false); err != nil {
		return err
	}
	if err := checkName("automation", r.Automation, false); err != nil {
		return err
	}
	if !r.Status.Valid() {
		return fmt.Errorf("%w: run %s: status %q", ErrInvalid, r.ID, r.Status)
	}
	return checkJSON("run data", r.Data, true)
}

// Object implements [Store.Object].
func (s *Embedded) Object(ctx context.Context, k ObjectKey) (Object, error) {
	var o Object
	if checkObjectKey(k) != nil {
		return o, ErrNotFound
	}
	key := objectKey(k)
	co, gen, ok := s.cache.object(key)
	if ok {
		return co, nil
	}
	if _, err := s.getRecord(key, &o); err != nil {
		return o, err
	}
	s.cache.fillObject(key, o, gen)
	return o, nil
}

func checkObjectKey(k ObjectKey) error {
	if err := checkName("object kind", k.Kind, false); err != nil {
		return err
	}
	if err := checkName("consumer", k.Consumer, true); err != nil {
		return err
	}
	return checkName("object id", k.ID, false)
}

// Put implements [Store.Put].
func (s *Embedded) Put(ctx context.Context, k ObjectKey, value []byte, ifVersion uint64) (uint64, error) {
	if err := checkObjectKey(k); err != nil {
		return 0, err
	}
	if err := checkJSON("object value", value, false); err != nil {
		return 0, err
	}
	key := objectKey(k)
	var cur Object
	old, err := s.getRecord(key, &cur)
	switch {
	case errors.Is(err, ErrNotFound):
		old = nil
	case err != nil:
		return 0, err
	}
	if cur.Version != ifVersion {
		return 0, fmt.Errorf("%w: %s %q: version %d, expected %d", ErrConflict, k.Kind, k.ID, cur.Version, ifVersion)
	}
	o := Object{Key: k, Version: ifVersion + 1, Value: value}
	b, err := encode(o)
	if err != nil {
		return 0, err
	}
	s.cache.dropObjects(key)
	defer s.cache.dropObjects(key)
	if err := s.write(ctx, kv.Check(key, old), kv.Put(key, b)); err != nil {
		if errors.Is(err, ErrConflict) {
			return 0, fmt.Errorf("%w: %s %q changed concurrently", ErrConflict, k.Kind, k.ID)
		}
		return 0, fmt.Errorf("ledger: put %s %q: %w", k.Kind, k.ID, err)
	}
	return o.Version, nil
}

// Delete implements [Store.Delete].
func (s *Embedded) Delete(ctx context.Context, k ObjectKey, ifVersion uint64) error {
	if checkObjectKey(k) != nil {
		return ErrNotFound
	}
	key := objectKey(k)
	var cur Object
	old, err := s.getRecord(key, &cur)
	if err != nil {
		return err
	}
	if cur.Version != ifVersion {
		return fmt.Errorf("%w: %s %q: version %d, expected %d", ErrConflict, k.Kind, k.ID, cur.Version, ifVersion)
	}
	s.cache.dropObjects(key)
	defer s.cache.dropObjects(key)
	if err := s.write(ctx, kv.Check(key, old), kv.Delete(key)); err != nil {
		if errors.Is(err, ErrConflict) {
			return fmt.Errorf("%w: %s %q changed concurrently", ErrConflict, k.Kind, k.ID)
		}
		return fmt.Errorf("ledger: delete %s %q: %w", k.Kind, k.ID, err)
	}
	return nil
}

// Objects implements [Store.Objects].
func (s *Embedded) Objects(ctx context.Context, kind, consumer string, p Page) ([]Object, string, error) {
	if err := checkName("object kind", kind, false); err != nil {
		return nil, "", err
	}
	if err := checkName("consumer", consumer, true); err != nil {
		return nil, "", err
	}
	kvs, cur, err := s.scan(objectPrefix(kind, consumer), p)
	if err != nil {
		return nil, "", err
	}
	objs := make([]Object, 0, len(kvs))
	for _, e := range kvs {
		var o Object
		if err := decode(e.Value, &o); err != nil {
			return nil, "", fmt.Errorf("ledger: %q: %w", e.Key, err)
		}
		objs = append(objs, o)
	}
	return objs, cur, nil
}

// blobChunk is the size of a blob's chunks (below kv's value cap); blobWrite is how many chunks
// go in one write (below kv's default batch size).
const (
	blobChunk = 512 << 10
	blobWrite = 6
)

type blobHeader struct {
	Size   int `json:"size"`
	Chunks int `json:"chunks"`
}

// PutBlob implements [Store.PutBlob]. A blob larger than one write is stored in several; its
// header goes last, so a blob without a header (a crash midway) is never read.
func (s *Embedded) PutBlob(ctx context.Context, data []byte) (string, error) {
	if len(data) == 0 || len(data) > MaxBlobBytes {
		return "", fmt.Errorf("%w: blob of %d bytes, want 1 to %d", ErrInvalid, len(data), MaxBlobBytes)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if _, err := s.get(blobHeaderKey(digest)); err == nil {
		return digest, nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	n := (len(data) + blobChunk - 1) / blobChunk
	var ops []kv.Op
	for i := range n {
		ops = append(ops, kv.Put(blobChunkKey(digest, i), data[i*blobChunk:min(len(data), (i+1)*blobChunk)]))
		if len(ops) == blobWrite || i == n-1 {
			if i == n-1 {
				h, err := encode(blobHeader{Size: len(data), Chunks: n})
				if err != nil {
					return "", err
				}
				ops = append(ops, kv.Put(blobHeaderKey(digest), h))
			}
			if err := s.write(ctx, ops...); err != nil {
				return "", fmt.Errorf("ledger: put blob %s: %w", digest, err)
			}
			ops = ops[:0]
		}
	}
	return digest, nil
}

// Blob implements [Store.Blob]; it checks the bytes against their digest.
func (s *Embedded) Blob(ctx context.Context, digest string) ([]byte, error) {
	if len(digest) != 64 {
		return nil, ErrNotFound
	}
	if _, err := hex.DecodeString(digest); err != nil {
		return nil, ErrNotFound
	}
	var h blobHeader
	if _, err := s.getRecord(blobHeaderKey(digest), &h); err != nil {
		return nil, err
	}
	data := make([]byte, 0, h.Size)
	for i := range h.Chunks {
		c, err := s.get(blobChunkKey(digest, i))
		if err != nil {
			return nil, fmt.Errorf("ledger: blob %s chunk %d: %w", digest, i, err)
		}
		data = append(data, c...)
	}
	if sum := sha256.Sum256(data); !bytes.Equal(sum[:], mustHex(digest)) || len(data) != h.Size {
		return nil, fmt.Errorf("ledger: blob %s: stored bytes do not match their digest", digest)
	}
	return data, nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}
