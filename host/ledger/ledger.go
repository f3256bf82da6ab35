package ledger

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"
)

var (
	// ErrNotFound is returned for an object, event, run or blob that is not stored, or that belongs
	// to another consumer: a consumer cannot tell the two apart.
	ErrNotFound = errors.New("ledger: not found")
	// ErrConflict is returned by a compare-and-swap whose expected version is not the stored one.
	ErrConflict = errors.New("ledger: version conflict")
	// ErrLeaseLost is returned by [Store.Ack] and [Store.Extend] for a lease that is no longer
	// held: it expired and the item was leased again, or it was already acknowledged.
	ErrLeaseLost = errors.New("ledger: lease lost")
	// ErrInvalid is returned for arguments that cannot be stored as given (empty or overlong keys,
	// a payload that is not JSON or is too large, too many events in one call, a bad cursor).
	ErrInvalid = errors.New("ledger: invalid argument")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("ledger: closed")
	// ErrBacklog is returned by [Store.Accept] when storing the events would take a consumer's
	// waiting items past the store's bound: nothing was stored; the sender should retry later.
	ErrBacklog = errors.New("ledger: the consumer's queue is full")
	// ErrNoSpace is returned by a write the store refuses because its disk is (nearly) full:
	// nothing was stored; writes succeed again once space is freed.
	ErrNoSpace = errors.New("ledger: the disk is full")
)

// Limits every backend enforces, so that callers see the same refusals everywhere.
const (
	// MaxKeyBytes bounds consumer keys, automation ids, dedupe keys, object ids and step keys.
	MaxKeyBytes = 256
	// MaxPayloadBytes bounds an event payload, a run's or a step's data, an item's data and an
	// object's value (1000 KiB: what is left of a store value once the record around it is counted).
	MaxPayloadBytes = 1000 << 10
	// MaxAcceptEvents is the most events one [Store.Accept] takes.
	MaxAcceptEvents = 256
	// MaxCommitWrites bounds what one [Commit] carries: next items, steps and activity together.
	MaxCommitWrites = 256
	// MaxPageSize is the largest page a listing returns; larger limits are clamped.
	MaxPageSize = 1000
	// MaxCommitForget bounds the objects one [Commit] deletes.
	MaxCommitForget = 20_000
)

// Store is what the engine and the API persist through: domain operations, never storage keys.
// Every method is safe for concurrent use. Implementations: the embedded one of this package
// ([Open], over one environment's kv database); a shared-database one can implement the same
// contract, which package ledgertest checks.
//
// Every write a method makes is durable (synced) when it returns nil, and atomic: all of it or
// none of it is stored.
type Store interface {
	// Accept stores events and, in the same commit, enqueues one work item per stored event
	// (due at once). An event whose DedupeKey was accepted before for the same consumer and
	// automation within the retention window is not stored again: its result is the first
	// event's id with Duplicate set. At most MaxAcceptEvents events per call. A store that bounds
	// each consumer's waiting items refuses events that would pass the bound with ErrBacklog, and
	// stores none of the call's events then.
	Accept(ctx context.Context, events []NewEvent) ([]Accepted, error)
	// Backlogged reports whether consumer is at the store's bound of waiting items, so that Accept
	// would refuse its next event with ErrBacklog: a hint that lets a caller skip the work (a
	// trigger call) of an event that would be refused. Accept still decides.
	Backlogged(consumer string) bool
	// Event returns a stored event of consumer.
	Event(ctx context.Context, consumer, id string) (Event, error)

	// Lease takes up to n items that are due and not leased, for ttl, round-robin across the
	// consumers that have such items, so that no consumer's backlog delays another's items by more
	// than one item per consumer. It returns at once (possibly nothing); [Store.Ready] tells when
	// to try again. skip, when not nil, leaves out the consumers it reports true for (the
	// engine's consumers at their quota), so that their items are not taken only to be given
	// back; it is called without the store's locks held.
	Lease(ctx context.Context, n int, ttl time.Duration, skip func(consumer string) bool) ([]Lease, error)
	// Extend renews a held lease for ttl from now.
	Extend(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// Release gives a held lease back without settling the item: it is leasable again at once,
	// with no attempt counted (a worker shutting down, or over its consumer's quota).
	Release(ctx context.Context, l Lease) error
	// Ack settles a leased item as c says (done, retry later, or dead-letter) and, in the same
	// commit, stores c's run, steps and activity and enqueues c's next items.
	Ack(ctx context.Context, l Lease, c Commit) error
	// Ready returns a channel that receives when items may have become leasable (an enqueue, a
	// requeue, a lease given back). Items that become due with time do not signal; poll for them
	// (NextDue says when).
	Ready() <-chan struct{}
	// NextDue returns the earliest due time of the items known to wait for time, or the zero
	// time when none is known.
	NextDue() time.Time
	// Writable reports whether writes can succeed now: an error wrapping ErrNoSpace while the
	// store's disk is full, nil otherwise (and when it cannot tell). A worker whose commit was
	// refused asks it before leasing more work, rather than run actions it cannot record.
	Writable() error
	// Dead lists consumer's dead-lettered items, oldest first.
	Dead(ctx context.Context, consumer string, p Page) ([]Item, string, error)
	// Requeue makes a dead-lettered item of consumer due at once again, its attempts reset.
	Requeue(ctx context.Context, consumer, itemID string) error

	// Run returns a run of consumer.
	Run(ctx context.Context, consumer, id string) (Run, error)
	// Steps returns the step records of a run of consumer, in step key order.
	Steps(ctx context.Context, consumer, runID string, p Page) ([]Step, string, error)
	// Runs lists consumer's runs, oldest first, optionally only those of one automation or in
	// one status.
	Runs(ctx context.Context, q RunQuery) ([]Run, string, error)

	// Append adds entries to the activity feed.
	Append(ctx context.Context, entries ...Activity) error
	// Activity lists the feed in the order it was appended: every entry when consumer is empty
	// (the operator's view), else the consumer's. The returned cursor resumes after the last
	// entry returned, also for entries appended later (to follow the feed); ActivityCursor of an
	// entry's Seq resumes after that entry.
	Activity(ctx context.Context, consumer string, p Page) ([]Activity, string, error)

	// Prune deletes what is older than before and no longer needed: runs that succeeded or were
	// filtered and were last updated before it, with their steps and index entries; events
	// accepted before it that no work item (waiting or dead-lettered) refers to; and activity
	// entries appended before it, but never the newest one. Runs in progress and runs that failed
	// or are dead (their dead-lettered items wait for a replay) are kept, with their events. A
	// before later than the store's clock counts as now. At most limit records of each kind go
	// per call; Pruned.More says when another call may find more. Calls with the same before may
	// go on from where the last one stopped, so that a run in progress when the first of them
	// passed it is only deleted by a later round (a call with another before, or after one that
	// did not say More).
	Prune(ctx context.Context, before time.Time, limit int) (Pruned, error)

	// Object returns a stored object.
	Object(ctx context.Context, k ObjectKey) (Object, error)
	// Put stores value under k if the stored version is ifVersion (0: k must not exist) and
	// returns the new version; otherwise it returns ErrConflict.
	Put(ctx context.Context, k ObjectKey, value []byte, ifVersion uint64) (uint64, error)
	// Delete removes k if its stored version is ifVersion; ErrNotFound if it is absent,
	// ErrConflict if its version differs.
	Delete(ctx context.Context, k ObjectKey, ifVersion uint64) error
	// Objects lists the objects of one kind and scope in id order.
	Objects(ctx context.Context, kind, consumer string, p Page) ([]Object, string, error)

	// PutBlob stores data (a connector module; any size up to MaxBlobBytes) and returns its
	// SHA-256 digest in hex, its name. Storing the same bytes twice stores them once.
	PutBlob(ctx context.Context, data []byte) (string, error)
	// Blob returns the bytes stored under digest.
	Blob(ctx context.Context, digest string) ([]byte, error)

	// Close releases the store's resources; it does not close what it was opened on.
	Close() error
}

// MaxBlobBytes is the largest blob: the largest module the sandbox compiles.
const MaxBlobBytes = 32 << 20

// NewEvent is one event to [Store.Accept].
type NewEvent struct {
	Consumer   string `json:"consumer"`
	Automation string `json:"automation"`
	// DedupeKey, when set, identifies the event at its source (a webhook-id, a poll item's id).
	DedupeKey string `json:"dedupeKey,omitempty"`
	// Payload is the event's JSON document.
	Payload json.RawMessage `json:"payload"`
	// Data is copied into the event's work item, for the engine (optional JSON).
	Data json.RawMessage `json:"data,omitempty"`
	// Urgent puts the event's work item before its consumer's items that have waited less than
	// UrgentLead (it is due at UrgentDue of the time it is accepted): a caller is waiting for its
	// run, as for a sync webhook.
	Urgent bool `json:"urgent,omitempty"`
}

// UrgentLead is how far before now an urgent work item is due (see UrgentDue): longer than a sync
// webhook waits for its run by default (ingress.DefaultSyncWait, 30 s).
const UrgentLead = time.Minute

// UrgentDue is the due time of an urgent work item written at now (NewEvent.Urgent, or a NewItem
// due then): UrgentLead before it. The queue leases a consumer's ready items by due time, so an
// urgent item goes before the items that have waited less than UrgentLead, urgent items go in the
// order they came, and items that have waited longer go before it (see the package doc).
func UrgentDue(now time.Time) time.Time { return now.Add(-UrgentLead) }

// Accepted is the outcome of one NewEvent.
type Accepted struct {
	// ID is the stored event's id: the new one, or the first one's for a duplicate.
	ID string `json:"id"`
	// Duplicate reports that the event was seen before and nothing was stored or enqueued.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Event is a stored trigger event.
type Event struct {
	ID         string          `json:"id"`
	Consumer   string          `json:"consumer"`
	Automation string          `json:"automation"`
	DedupeKey  string          `json:"dedupeKey,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	AcceptedAt time.Time       `json:"acceptedAt"`
}

// Item is one unit of queued work: the first step of an event's run, or a later step the engine
// enqueued.
type Item struct {
	ID         string `json:"id"`
	Consumer   string `json:"consumer"`
	Automation string `json:"automation"`
	Event      string `json:"event"`
	Run        string `json:"run,omitempty"`
	// Step names the step to run ("" for the start of a run).
	Step string `json:"step,omitempty"`
	// Data is the engine's own state for the item (JSON), stored as given.
	Data json.RawMessage `json:"data,omitempty"`
	// Due is when the item may be leased.
	Due time.Time `json:"due"`
	// Attempts counts the failed attempts recorded by retries.
	Attempts int `json:"attempts,omitempty"`
	// LastError is the error of the last failed attempt.
	LastError string `json:"lastError,omitempty"`
	// Dead reports a dead-lettered item.
	Dead bool `json:"dead,omitempty"`
}

// NewItem is an item to enqueue with a [Commit].
type NewItem struct {
	Consumer   string          `json:"consumer"`
	Automation string          `json:"automation"`
	Event      string          `json:"event"`
	Run        string          `json:"run,omitempty"`
	Step       string          `json:"step,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	// Due is when the item may be leased; the zero time means at once.
	Due time.Time `json:"due,omitzero"`
}

// Lease is a leased item: the holder owns it until Expires, and settles it with [Store.Ack].
type Lease struct {
	Item    Item      `json:"item"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// Disposition says what [Store.Ack] does with the leased item.
type Disposition int

const (
	// Done removes the item: its work is finished.
	Done Disposition = iota
	// RetryAt keeps the item, due at Commit.Due, with one more failed attempt and LastError set.
	RetryAt
	// DeadLetter keeps the item in the dead letter, with one more failed attempt and LastError set.
	DeadLetter
)

// Commit is what [Store.Ack] stores together with settling the item.
type Commit struct {
	Disposition Disposition
	Due         time.Time // for RetryAt
	LastError   string    // for RetryAt and DeadLetter
	// Run, when set, replaces the run's record (creating it); the run indexes follow.
	Run *Run
	// Steps are stored (replacing records with the same run and key).
	Steps []Step
	// Next are enqueued.
	Next []NewItem
	// Activity is appended to the feed.
	Activity []Activity
	// Forget are objects of the item's consumer deleted in the same commit, whatever their
	// version; keys that do not exist are ignored. It is how work state kept in objects while an
	// item ran (the engine's forEach progress) goes when the item settles.
	Forget []ObjectKey
	// Advance, with RetryAt or DeadLetter, moves the item on before it is kept: it takes the
	// run, step and data given, and its attempts count from zero again before this failure
	// counts. It is how an item that ran several steps keeps just the one that failed.
	Advance *Advance
}

// Advance is where a kept item moves on to (Commit.Advance).
type Advance struct {
	Run  string
	Step string
	Data json.RawMessage
}

// Status is a run's status.
type Status string

// The statuses of a run (DESIGN.md, "run").
const (
	Queued    Status = "queued"
	Running   Status = "running"
	Succeeded Status = "succeeded"
	Filtered  Status = "filtered"
	Failed    Status = "failed"
	Retrying  Status = "retrying"
	Dead      Status = "dead"
)

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool {
	switch s {
	case Queued, Running, Succeeded, Filtered, Failed, Retrying, Dead:
		return true
	}
	return false
}

// Run is the record of one run; its steps are stored apart ([Step]).
type Run struct {
	ID         string          `json:"id"`
	Consumer   string          `json:"consumer"`
	Automation string          `json:"automation"`
	Event      string          `json:"event"`
	Status     Status          `json:"status"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	Data       json.RawMessage `json:"data,omitempty"` // the engine's run record (JSON)
}

// Step is the record of one step of a run.
type Step struct {
	Run  string          `json:"run"`
	Key  string          `json:"key"` // orders the steps of a run
	Data json.RawMessage `json:"data"`
}

// RunQuery selects runs for [Store.Runs]. Automation and Status are optional filters (not both).
type RunQuery struct {
	Consumer   string
	Automation string
	Status     Status
	Page       Page
}

// Activity is one entry of the activity feed.
type Activity struct {
	// Seq orders the feed; set by the store.
	Seq uint64 `json:"seq"`
	// Consumer is the consumer the entry concerns, or "" for the environment's own.
	Consumer string          `json:"consumer,omitempty"`
	Kind     string          `json:"kind"` // <noun>.<past-verb>, e.g. run.failed
	At       time.Time       `json:"at"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// ObjectKey names an object: a connector version, an automation, trigger state and so on. Kind
// is the table; Consumer is the owner ("" for the environment's own objects).
type ObjectKey struct {
	Kind     string `json:"kind"`
	Consumer string `json:"consumer,omitempty"`
	ID       string `json:"id"`
}

// Object is a stored object with its version (counting from 1 at creation).
type Object struct {
	Key     ObjectKey       `json:"key"`
	Version uint64          `json:"version"`
	Value   json.RawMessage `json:"value"`
}

// Page asks for one page of a listing: up to Limit entries (0 means 100; clamped to MaxPageSize)
// after Cursor ("" for the first page). A cursor is opaque: pass back what a listing returned.
type Page struct {
	Cursor string
	Limit  int
}

func (p Page) limit() int {
	if p.Limit <= 0 {
		return 100
	}
	return min(p.Limit, MaxPageSize)
}

// ids encodes ids in base32hex, whose alphabet sorts like the bytes it encodes.
var ids = base32.HexEncoding.WithPadding(base32.NoPadding)

// NewID returns a new id that sorts after the ids made before t's nanosecond: 8 bytes of t
// (unix nanoseconds, big-endian) and 7 random bytes, as 24 base32hex characters. Events, items and
// runs use such ids, so listings by id come in creation order.
func NewID(t time.Time) string {
	var b [15]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixNano()))
	_, _ = rand.Read(b[8:])
	return ids.EncodeToString(b[:])
}
