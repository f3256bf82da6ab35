package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/splicehq/splice/host/ledger"
)

// ErrNotFound is returned for an automation the consumer does not own (or that does not exist:
// the two are one answer, so no consumer learns of another's automations).
var ErrNotFound = errors.New("automation: not found")

// ErrConflict is returned by [Store.Replace] when the automation changed since the version the
// caller read.
var ErrConflict = errors.New("automation: changed since the version given")

// Object kinds of the store: the automations per consumer, and the owner of each automation id
// (kept apart because a webhook names the automation but not its consumer).
const (
	kindAutomation = "automation"
	kindOwner      = "automation-owner"
)

// Stored is an automation as the store keeps it: the document its owner wrote and its compiled
// program. A Stored and its Program are immutable and safe for concurrent use.
type Stored struct {
	ID        string          `json:"id"`
	Consumer  string          `json:"consumer"`
	Version   uint64          `json:"version"`
	Document  json.RawMessage `json:"automation"`
	CreatedAt time.Time       `json:"createdAt"`
	UpdatedAt time.Time       `json:"updatedAt"`
	// Secret is the automation's webhook signing secret (sealed by the caller; empty when the
	// automation's webhooks are not signed). The store keeps it as given.
	Secret string `json:"secret,omitempty"`

	Program *Program `json:"-"`
}

// Enabled reports whether the automation's trigger events start runs.
func (s *Stored) Enabled() bool { return s.Program.Automation.IsEnabled() }

// Check validates a compiled automation against its environment before the store keeps it
// (the engine's Check); nil checks nothing more.
type Check func(ctx context.Context, consumer string, p *Program) error

// Store keeps the automations of one environment as ledger objects, and their compiled programs
// in memory: compiled once per version, found without decoding per run. It is safe for
// concurrent use.
//
// # Notes
//
// The in-memory programs are correct because one process owns the environment's store (the
// embedded ledger locks its directory) and every change goes through this Store. A backend
// shared between processes would need to compare versions on each lookup.
type Store struct {
	db    ledger.Store
	now   func() time.Time
	check Check

	mu    sync.RWMutex
	cache map[string]*Stored // by id; nil entries are not cached
	locks sync.Map           // id → *sync.Mutex, serializing writes of one automation
}

// NewStore returns the automations stored in db; check validates each automation against the
// environment on Create and Replace; now is the clock (nil: time.Now).
func NewStore(db ledger.Store, check Check, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, check: check, cache: map[string]*Stored{}}
}

// compile decodes, compiles and checks doc.
func (s *Store) compile(ctx context.Context, consumer string, doc []byte) (*Program, json.RawMessage, error) {
	a, err := Decode(doc)
	if err != nil {
		return nil, nil, err
	}
	p, err := Compile(a)
	if err != nil {
		return nil, nil, err
	}
	if s.check != nil {
		if err := s.check(ctx, consumer, p); err != nil {
			return nil, nil, err
		}
	}
	canon, err := json.Marshal(a)
	if err != nil {
		return nil, nil, fmt.Errorf("automation: encode: %w", err)
	}
	return p, canon, nil
}

// Create validates doc (schema, compile, the environment's check) and stores it as a new
// automation of consumer with the given signing secret (empty for none).
//
// # Errors
//
// A *validate.Error, an *Error or the check's error for an invalid automation; ledger errors.
func (s *Store) Create(ctx context.Context, consumer string, doc []byte, secret string) (*Stored, error) {
	p, canon, err := s.compile(ctx, consumer, doc)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	st := &Stored{ID: ledger.NewID(now), Consumer: consumer, Document: canon, CreatedAt: now, UpdatedAt: now, Secret: secret, Program: p}
	// The owner first: an owner entry without its automation (a crash between the two writes)
	// reads as not found; an automation without an owner entry could not take webhooks.
	owner, _ := json.Marshal(map[string]string{"consumer": consumer})
	if _, err := s.db.Put(ctx, ledger.ObjectKey{Kind: kindOwner, ID: st.ID}, owner, 0); err != nil {
		return nil, fmt.Errorf("automation: create: %w", err)
	}
	if err := s.write(ctx, st, 0); err != nil {
		return nil, err
	}
	return st, nil
}

func (s *Store) write(ctx context.Context, st *Stored, ifVersion uint64) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("automation: encode: %w", err)
	}
	v, err := s.db.Put(ctx, ledger.ObjectKey{Kind: kindAutomation, Consumer: st.Consumer, ID: st.ID}, b, ifVersion)
	if err != nil {
		if errors.Is(err, ledger.ErrConflict) {
			return fmt.Errorf("%w: %s", ErrConflict, st.ID)
		}
		return fmt.Errorf("automation: store %s: %w", st.ID, err)
	}
	st.Version = v
	s.mu.Lock()
	s.cache[st.ID] = st
	s.mu.Unlock()
	return nil
}

func (s *Store) lock(id string) func() {
	m, _ := s.locks.LoadOrStore(id, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// Get returns consumer's automation id.
//
// # Errors
//
// [ErrNotFound]; ledger errors.
func (s *Store) Get(ctx context.Context, consumer, id string) (*Stored, error) {
	st, err := s.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Consumer != consumer {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return st, nil
}

// Lookup returns the automation id, whoever owns it: for webhooks, whose URL names the
// automation only. Callers that act for a consumer use Get.
//
// # Errors
//
// [ErrNotFound]; ledger errors.
func (s *Store) Lookup(ctx context.Context, id string) (*Stored, error) {
	s.mu.RLock()
	st, ok := s.cache[id]
	s.mu.RUnlock()
	if ok {
		if st == nil {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return st, nil
	}
	st, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// load reads an automation from the store and caches it (or its absence: a flood of webhooks
// to an unknown id must not read the store each time; the cache of absences is bounded).
func (s *Store) load(ctx context.Context, id string) (*Stored, error) {
	notFound := func() (*Stored, error) {
		s.mu.Lock()
		if len(s.cache) < maxCached {
			s.cache[id] = nil
		}
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if id == "" || len(id) > ledger.MaxKeyBytes {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	o, err := s.db.Object(ctx, ledger.ObjectKey{Kind: kindOwner, ID: id})
	if errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrInvalid) {
		return notFound()
	} else if err != nil {
		return nil, fmt.Errorf("automation: %s: %w", id, err)
	}
	var owner struct {
		Consumer string `json:"consumer"`
	}
	if err := json.Unmarshal(o.Value, &owner); err != nil {
		return nil, fmt.Errorf("automation: owner of %s: %w", id, err)
	}
	o, err = s.db.Object(ctx, ledger.ObjectKey{Kind: kindAutomation, Consumer: owner.Consumer, ID: id})
	if errors.Is(err, ledger.ErrNotFound) {
		return notFound()
	} else if err != nil {
		return nil, fmt.Errorf("automation: %s: %w", id, err)
	}
	st, err := decodeStored(o)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[id] = st
	s.mu.Unlock()
	return st, nil
}

// maxCached bounds the cache; past it, absences are not cached (automations always are).
const maxCached = 100_000

func decodeStored(o ledger.Object) (*Stored, error) {
	var st Stored
	if err := json.Unmarshal(o.Value, &st); err != nil {
		return nil, fmt.Errorf("automation: %s: decode: %w", o.Key.ID, err)
	}
	st.Version = o.Version
	a, err := Decode(st.Document)
	if err != nil {
		return nil, fmt.Errorf("automation: %s: stored document: %w", o.Key.ID, err)
	}
	if st.Program, err = Compile(a); err != nil {
		return nil, fmt.Errorf("automation: %s: stored document: %w", o.Key.ID, err)
	}
	return &st, nil
}

// Program returns consumer's automation id, compiled (the engine's Automations).
func (s *Store) Program(ctx context.Context, consumer, id string) (*Program, error) {
	st, err := s.Get(ctx, consumer, id)
	if err != nil {
		return nil, err
	}
	return st.Program, nil
}

// Replace validates doc and stores it in place of consumer's automation id, if its version is
// still ifVersion (0: whatever it is). The id, the creation time and the secret stay.
//
// # Errors
//
// [ErrNotFound]; [ErrConflict]; the errors of Create for an invalid automation.
func (s *Store) Replace(ctx context.Context, consumer, id string, doc []byte, ifVersion uint64) (*Stored, error) {
	defer s.lock(id)()
	cur, err := s.Get(ctx, consumer, id)
	if err != nil {
		return nil, err
	}
	if ifVersion != 0 && ifVersion != cur.Version {
		return nil, fmt.Errorf("%w: %s is at version %d", ErrConflict, id, cur.Version)
	}
	p, canon, err := s.compile(ctx, consumer, doc)
	if err != nil {
		return nil, err
	}
	next := *cur
	next.Document, next.Program, next.UpdatedAt = canon, p, s.now().UTC()
	if err := s.write(ctx, &next, cur.Version); err != nil {
		return nil, err
	}
	return &next, nil
}

// SetEnabled turns consumer's automation id on or off (its document's enabled member).
//
// # Errors
//
// [ErrNotFound]; ledger errors.
func (s *Store) SetEnabled(ctx context.Context, consumer, id string, enabled bool) (*Stored, error) {
	defer s.lock(id)()
	cur, err := s.Get(ctx, consumer, id)
	if err != nil {
		return nil, err
	}
	if cur.Enabled() == enabled {
		return cur, nil
	}
	a := *cur.Program.Automation
	a.Enabled = &enabled
	canon, err := json.Marshal(&a)
	if err != nil {
		return nil, fmt.Errorf("automation: encode: %w", err)
	}
	p, err := Compile(&a)
	if err != nil {
		return nil, err
	}
	next := *cur
	next.Document, next.Program, next.UpdatedAt = canon, p, s.now().UTC()
	if err := s.write(ctx, &next, cur.Version); err != nil {
		return nil, err
	}
	return &next, nil
}

// SetSecret replaces the sealed signing secret of consumer's automation id.
//
// # Errors
//
// [ErrNotFound]; ledger errors.
func (s *Store) SetSecret(ctx context.Context, consumer, id, secret string) (*Stored, error) {
	defer s.lock(id)()
	cur, err := s.Get(ctx, consumer, id)
	if err != nil {
		return nil, err
	}
	next := *cur
	next.Secret, next.UpdatedAt = secret, s.now().UTC()
	if err := s.write(ctx, &next, cur.Version); err != nil {
		return nil, err
	}
	return &next, nil
}

// Delete removes consumer's automation id. Its queued work finds it gone and is dropped.
//
// # Errors
//
// [ErrNotFound]; ledger errors.
func (s *Store) Delete(ctx context.Context, consumer, id string) error {
	defer s.lock(id)()
	cur, err := s.Get(ctx, consumer, id)
	if err != nil {
		return err
	}
	if err := s.db.Delete(ctx, ledger.ObjectKey{Kind: kindAutomation, Consumer: consumer, ID: id}, cur.Version); err != nil {
		return fmt.Errorf("automation: delete %s: %w", id, err)
	}
	s.mu.Lock()
	s.cache[id] = nil
	s.mu.Unlock()
	if o, err := s.db.Object(ctx, ledger.ObjectKey{Kind: kindOwner, ID: id}); err == nil {
		_ = s.db.Delete(ctx, o.Key, o.Version) // an owner left behind reads as not found
	}
	return nil
}

// List returns a page of consumer's automations, oldest first.
func (s *Store) List(ctx context.Context, consumer string, p ledger.Page) ([]*Stored, string, error) {
	objs, next, err := s.db.Objects(ctx, kindAutomation, consumer, p)
	if err != nil {
		return nil, "", fmt.Errorf("automation: list: %w", err)
	}
	out := make([]*Stored, 0, len(objs))
	for _, o := range objs {
		s.mu.RLock()
		st := s.cache[o.Key.ID]
		s.mu.RUnlock()
		if st == nil || st.Version != o.Version {
			if st, err = decodeStored(o); err != nil {
				return nil, "", err
			}
		}
		out = append(out, st)
	}
	return out, next, nil
}
