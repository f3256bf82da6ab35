package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/splicehq/splice/host/kv"
)

// queue is the in-memory side of the work queue: which consumers may have waiting items (the
// round-robin ring) and the leases. The items themselves are only on disk.
type queue struct {
	mu        sync.Mutex
	consumers map[string]*waiting
	ring      []string // the consumers of the map, in round-robin order
	pos       int      // where the next Lease starts in ring
	leases    map[string]*held
	tokens    uint64
	ready     chan struct{}
	hotKeys   int // the keys of the exact consumers' hot sets
	hotBytes  int // the item records they keep
	hotLimit  int // maxHotKeys, lowered by tests
	byteLimit int // maxHotBytes, lowered by tests
	// backlogs count the consumers' waiting items for Options.MaxWaiting (backlog.go); uncounted
	// are the consumers that had waiting items at Open and have not been counted since.
	backlogs  map[string]*backlog
	uncounted map[string]bool
	// hook, set only by tests, is called by takeHot after its walk of a hot set ("walked") and
	// after each claim ("claimed"), from the leasing goroutine, to order a race.
	hook func(stage string)
}

// waiting is what the queue knows of one consumer's waiting items.
type waiting struct {
	gen  uint64    // bumped by every enqueue, so a scan that found nothing can tell it is stale
	wait time.Time // nothing of the consumer is leasable before; zero: unknown, scan
	// low is a due time (unix ns) no waiting item of the consumer is below: scans start there.
	// Settled items leave deletion markers behind in the LSM tree until compaction, and a scan
	// from the start of the consumer's keys would walk every one of them: a queue that has
	// settled a million items would pay a million steps per lease.
	low uint64
	// cursor is the last ready key handed out (nil: none): every key behind it is held by a lease
	// or settled, unless a lease expired (expiry says when the first may) or resets moved on.
	cursor []byte
	expiry time.Time
	resets uint64 // bumped when cursor is dropped because a key may have appeared behind it
	// exact reports that hot holds every waiting item of the consumer, so that take walks it
	// instead of scanning the disk: see "Why most leases scan nothing" in doc.go.
	exact bool
	hot   *hotSet
}

// reset drops w's cursor: a key may be waiting behind it.
func (w *waiting) reset() {
	w.cursor = nil
	w.resets++
}

// held is one lease.
type held struct {
	token    string
	expires  time.Time
	settling bool   // an Ack is writing: the lease can be neither taken over nor acked again
	raw      []byte // the item record as leased: Ack checks it is still what is stored
	item     Item
	ready    []byte // the ready key the item was leased under
}

func (q *queue) init() {
	q.consumers = map[string]*waiting{}
	q.leases = map[string]*held{}
	q.ready = make(chan struct{}, 1)
	q.hotLimit = maxHotKeys
	q.byteLimit = maxHotBytes
	q.backlogs = map[string]*backlog{}
	q.uncounted = map[string]bool{}
}

// load finds the consumers that have waiting items with one seek per consumer, not a scan of
// the queue.
func (q *queue) load(ctx context.Context, db *kv.DB) error {
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		kvs, _, err := db.ScanKeys([]byte(pReady), after, 1)
		if err != nil {
			return err
		}
		if len(kvs) == 0 {
			return nil
		}
		rest := kvs[0].Key[len(pReady):]
		i := bytes.IndexByte(rest, '/')
		if i < 0 {
			return fmt.Errorf("ledger: malformed ready key %q", kvs[0].Key)
		}
		consumer, err := url.PathUnescape(string(rest[:i]))
		if err != nil {
			return fmt.Errorf("ledger: malformed ready key %q: %w", kvs[0].Key, err)
		}
		q.consumers[consumer] = &waiting{}
		q.ring = append(q.ring, consumer)
		q.uncounted[consumer] = true
		// A due time is below 2^63, so its first byte is below 0xff: this skips the consumer.
		after = append(readyPrefix(consumer), 0xff)
	}
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// activate notes that consumer has an item, id, due at due: just written.
func (q *queue) activate(consumer string, due time.Time, id string, raw []byte) {
	q.mu.Lock()
	w := q.consumers[consumer]
	if w == nil {
		// Nothing of the consumer was waiting (a scan found none, or its hot set emptied, and
		// nothing was enqueued since): this item is all there is, and the set can be exact.
		w = &waiting{}
		q.makeExact(w)
		q.consumers[consumer] = w
		q.ring = append(q.ring, consumer)
	}
	q.addHot(w, consumer, due, id, raw)
	q.changeWaiting(consumer, 1)
	w.gen++
	if !w.wait.IsZero() && due.Before(w.wait) {
		w.wait = due
	}
	w.low = min(w.low, dueNanos(due))
	if w.cursor != nil {
		if cd, _, ok := parseReady(w.cursor[len(readyPrefix(consumer)):]); !ok || dueNanos(due) <= dueNanos(cd) {
			w.reset()
		}
	}
	q.mu.Unlock()
	q.signal()
}

// Ready implements [Store.Ready].
func (s *Embedded) Ready() <-chan struct{} { return s.q.ready }

// NextDue implements [Store.NextDue].
func (s *Embedded) NextDue() time.Time {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	var next time.Time
	for _, w := range s.q.consumers {
		if !w.wait.IsZero() && (next.IsZero() || w.wait.Before(next)) {
			next = w.wait
		}
	}
	for _, h := range s.q.leases {
		if !h.settling && (next.IsZero() || h.expires.Before(next)) {
			next = h.expires
		}
	}
	return next
}

// Lease implements [Store.Lease]. Each pass over the ring gives every consumer that has leasable
// items an equal share of what is left to lease, so one consumer's backlog never takes the
// places of another's items.
func (s *Embedded) Lease(ctx context.Context, n int, ttl time.Duration, skip func(consumer string) bool) ([]Lease, error) {
	if n < 1 || ttl <= 0 {
		return nil, fmt.Errorf("%w: lease %d items for %s", ErrInvalid, n, ttl)
	}
	if err := s.live(); err != nil {
		return nil, err
	}
	now := s.now()
	q := &s.q
	q.mu.Lock()
	var active []string
	for i := range len(q.ring) {
		c := q.ring[(q.pos+i)%len(q.ring)]
		if w := q.consumers[c]; w.wait.IsZero() || !w.wait.After(now) {
			active = append(active, c)
		}
	}
	q.mu.Unlock()
	if skip != nil {
		active = slices.DeleteFunc(active, skip)
	}

	var out []Lease
	last := ""
	for len(out) < n && len(active) > 0 {
		share := max(1, (n-len(out))/len(active))
		var still []string
		for _, c := range active {
			got, more, err := s.take(ctx, c, now, ttl, min(share, n-len(out)))
			if err != nil {
				s.giveBack(out)
				return nil, err
			}
			out = append(out, got...)
			if len(got) > 0 {
				last = c
			}
			if more {
				still = append(still, c)
			}
			if len(out) == n {
				break
			}
		}
		active = still
	}
	if last != "" {
		q.mu.Lock()
		for i, c := range q.ring {
			if c == last {
				q.pos = i + 1
				break
			}
		}
		q.mu.Unlock()
	}
	return out, nil
}

// giveBack drops leases that were taken but never handed out.
func (s *Embedded) giveBack(ls []Lease) {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	for _, l := range ls {
		if h := s.q.leases[l.Item.ID]; h != nil && h.token == l.Token {
			delete(s.q.leases, l.Item.ID)
		}
	}
}

// take leases up to want leasable items of consumer, earliest due first. more reports that the
// consumer may have more leasable items now.
//
// It scans from the consumer's cursor, the last key it handed out: the keys behind it are held
// by leases, or settled. It scans from the start (low) instead when a lease behind the cursor
// may have expired, when an enqueue or a failed Ack put a key behind it, or when nothing is found
// after it (to learn when to look again, or that the consumer has nothing left).
func (s *Embedded) take(ctx context.Context, consumer string, now time.Time, ttl time.Duration, want int) ([]Lease, bool, error) {
	q := &s.q
	q.mu.Lock()
	w := q.consumers[consumer]
	if w == nil {
		q.mu.Unlock()
		return nil, false, nil
	}
	if w.exact {
		q.mu.Unlock()
		return s.takeHot(ctx, w, consumer, now, ttl, want)
	}
	cursor := w.cursor
	if cursor != nil && !w.expiry.IsZero() && !now.Before(w.expiry) {
		cursor = nil // a lease behind the cursor may have expired
	}
	q.mu.Unlock()
	if cursor != nil {
		out, more, err := s.scanReady(ctx, w, consumer, cursor, now, ttl, want)
		if err != nil || len(out) > 0 {
			return out, more, err
		}
	}
	return s.scanReady(ctx, w, consumer, nil, now, ttl, want)
}

// scanReady is one scan of take: from cursor, or, when cursor is nil, a full scan from w.low that
// also learns what the consumer's state is (low, wait, expiry, or that it has nothing left).
func (s *Embedded) scanReady(ctx context.Context, w *waiting, consumer string, cursor []byte, now time.Time, ttl time.Duration, want int) (out []Lease, more bool, err error) {
	q := &s.q
	full := cursor == nil
	q.mu.Lock()
	gen, resets, low := w.gen, w.resets, w.low
	q.mu.Unlock()

	prefix := readyPrefix(consumer)
	after := cursor
	if full && low > 0 {
		// Every ready key of a due at or above low sorts after prefix+low (it is longer).
		after = binary.BigEndian.AppendUint64(bytes.Clone(prefix), low)
	}
	var (
		wait     time.Time // the earliest time something not leasable now becomes leasable
		expiry   time.Time // the earliest expiry of the leases seen or made
		lastSeen []byte    // the last due key seen: the next cursor
		sawAny   bool
		unknown  bool // a lease being settled was seen: it may come back at once
		page     = want
	)
	earliest := func(t *time.Time, v time.Time) {
		if t.IsZero() || v.Before(*t) {
			*t = v
		}
	}
	// finish records what the scan learnt; it runs with q.mu held.
	finish := func() {
		if q.consumers[consumer] != w {
			return
		}
		if w.resets == resets {
			if lastSeen != nil {
				w.cursor = lastSeen
			}
			if full {
				w.expiry = expiry
			} else if !expiry.IsZero() {
				earliest(&w.expiry, expiry)
			}
		} else if !expiry.IsZero() {
			earliest(&w.expiry, expiry)
		}
	}
scan:
	for {
		if err := ctx.Err(); err != nil {
			return out, false, err
		}
		// Pages start at what is wanted (behind a cursor, most keys are leasable) and grow.
		kvs, next, err := s.db.ScanKeys(prefix, after, page)
		if err != nil {
			return out, false, fmt.Errorf("ledger: lease: %w", err)
		}
		page = min(2*page, 256)
		for _, e := range kvs {
			due, id, ok := parseReady(e.Key[len(prefix):])
			if !ok {
				return out, false, fmt.Errorf("ledger: malformed ready key %q", e.Key)
			}
			if full && !sawAny {
				first := dueNanos(due)
				q.mu.Lock()
				if q.consumers[consumer] == w {
					if w.gen == gen {
						w.low = first
					} else {
						w.low = min(w.low, first)
					}
				}
				q.mu.Unlock()
			}
			sawAny = true
			if due.After(now) {
				earliest(&wait, due)
				break scan
			}
			lastSeen = e.Key
			l, held, err := s.claim(consumer, id, e.Key, nil, due, now, ttl)
			if err != nil {
				return out, false, err
			}
			switch {
			case held.settling:
				unknown = true
			case !held.until.IsZero():
				earliest(&wait, held.until)
				earliest(&expiry, held.until)
			}
			if l == nil {
				continue
			}
			earliest(&expiry, l.Expires)
			out = append(out, *l)
			if len(out) == want {
				q.mu.Lock()
				finish()
				q.mu.Unlock()
				return out, true, nil
			}
		}
		if next == nil {
			break
		}
		after = next
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	finish()
	if !full || q.consumers[consumer] != w || w.gen != gen {
		return out, false, nil
	}
	switch {
	case !sawAny && len(out) == 0:
		q.forget(consumer)
	case !unknown && len(out) == 0:
		w.wait = wait
	}
	return out, false, nil
}

// heldBy describes the lease that kept claim from leasing an item.
type heldBy struct {
	until    time.Time // the live lease's expiry
	settling bool      // an Ack of it is being written
}

// claim leases item id (found under ready key rk, due at due) unless a live lease holds it (then
// it says which) or the key is stale (the item was settled or rescheduled after the scan's
// snapshot): then it returns a nil lease. raw, when not nil, says the key came from a hot set:
// the record the set keeps with the key, if the key is still live there when claim takes the
// lease, is read instead of the disk. A live hot key's record is the one on disk, since every
// write of an item record replaces or settles its key (and an Ack checks the record it read
// before it writes). The walk that found the key let go of the lock before this claim, and an
// Ack of another lease may have settled or rescheduled the item since: then the disk is read,
// and tells.
func (s *Embedded) claim(consumer, id string, rk, raw []byte, due, now time.Time, ttl time.Duration) (*Lease, heldBy, error) {
	q := &s.q
	q.mu.Lock()
	if h := q.leases[id]; h != nil && (h.settling || h.expires.After(now)) {
		by := heldBy{settling: h.settling}
		if !h.settling {
			by.until = h.expires
		}
		q.mu.Unlock()
		return nil, by, nil
	}
	if raw != nil {
		raw = q.hotRecord(consumer, due, id)
	}
	q.tokens++
	h := &held{token: id + "." + strconv.FormatUint(q.tokens, 36), expires: now.Add(ttl), ready: rk}
	q.leases[id] = h
	q.mu.Unlock()

	drop := func() {
		q.mu.Lock()
		if q.leases[id] == h {
			delete(q.leases, id)
		}
		q.mu.Unlock()
	}
	var it Item
	var err error
	if raw != nil {
		if err = decode(raw, &it); err != nil {
			err = fmt.Errorf("ledger: %q: %w", itemKey(id), err)
		}
	} else {
		raw, err = s.getRecord(itemKey(id), &it)
	}
	if errors.Is(err, ErrNotFound) || (err == nil && (it.Dead || dueNanos(it.Due) != dueNanos(due) || it.Consumer != consumer)) {
		drop() // stale
		return nil, heldBy{}, nil
	}
	if err != nil {
		drop()
		return nil, heldBy{}, fmt.Errorf("ledger: lease item %s: %w", id, err)
	}
	q.mu.Lock()
	h.raw, h.item = raw, it
	l := &Lease{Item: it, Token: h.token, Expires: h.expires}
	q.mu.Unlock()
	return l, heldBy{}, nil
}

// Extend implements [Store.Extend].
func (s *Embedded) Extend(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if ttl <= 0 {
		return l, fmt.Errorf("%w: extend lease for %s", ErrInvalid, ttl)
	}
	if err := s.live(); err != nil {
		return l, err
	}
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	h := s.q.leases[l.Item.ID]
	if h == nil || h.token != l.Token || h.settling {
		return l, ErrLeaseLost
	}
	h.expires = s.now().Add(ttl)
	l.Expires = h.expires
	return l, nil
}

// Release implements [Store.Release].
func (s *Embedded) Release(ctx context.Context, l Lease) error {
	if err := s.live(); err != nil {
		return err
	}
	q := &s.q
	q.mu.Lock()
	h := q.leases[l.Item.ID]
	if h == nil || h.token != l.Token || h.settling {
		q.mu.Unlock()
		return ErrLeaseLost
	}
	delete(q.leases, l.Item.ID)
	if w := q.consumers[l.Item.Consumer]; w != nil {
		w.wait = time.Time{}
		w.reset() // the item is leasable again, behind the cursor
	}
	q.mu.Unlock()
	q.signal()
	return nil
}

// Ack implements [Store.Ack].
func (s *Embedded) Ack(ctx context.Context, l Lease, c Commit) error {
	id := l.Item.ID
	q := &s.q
	q.mu.Lock()
	h := q.leases[id]
	if h == nil || h.token != l.Token || h.settling || h.raw == nil {
		q.mu.Unlock()
		return ErrLeaseLost
	}
	h.settling = true
	q.mu.Unlock()

	wakes, err := s.ack(ctx, h, c)
	q.mu.Lock()
	if err != nil {
		h.settling = false
		if w := q.consumers[h.item.Consumer]; w != nil {
			w.wait = time.Time{}
			w.reset() // the item is leasable again, behind the cursor
		}
	} else {
		if q.leases[id] == h {
			delete(q.leases, id)
		}
		q.settleHot(h.item.Consumer, h.ready)
		q.changeWaiting(h.item.Consumer, -1)
		// The consumer may have been set to wait for this lease to expire: scan it again.
		if w := q.consumers[h.item.Consumer]; w != nil {
			w.wait = time.Time{}
		}
	}
	q.mu.Unlock()
	if err != nil {
		return err
	}
	for _, w := range wakes {
		q.activate(w.consumer, w.due, w.id, w.raw)
	}
	return nil
}

type wake struct {
	consumer string
	due      time.Time
	id       string
	raw      []byte // the item's record as written
}

func (s *Embedded) ack(ctx context.Context, h *held, c Commit) ([]wake, error) {
	it := h.item
	consumer := it.Consumer
	if n := len(c.Steps) + len(c.Next) + len(c.Activity); n > MaxCommitWrites {
		return nil, fmt.Errorf("%w: commit of %d writes, limit %d", ErrInvalid, n, MaxCommitWrites)
	}
	now := s.now()
	ops := []kv.Op{kv.Check(itemKey(it.ID), h.raw), kv.Delete(h.ready)}
	var wakes []wake
	switch c.Disposition {
	case Done:
		if c.Advance != nil {
			return nil, fmt.Errorf("%w: advance of an item that is done", ErrInvalid)
		}
		ops = append(ops, kv.Delete(itemKey(it.ID)))
	case RetryAt, DeadLetter:
		if a := c.Advance; a != nil {
			if err := checkName("advance run", a.Run, false); err != nil {
				return nil, err
			}
			if err := checkName("advance step", a.Step, false); err != nil {
				return nil, err
			}
			if err := checkJSON("advance data", a.Data, true); err != nil {
				return nil, err
			}
			it.Run, it.Step, it.Data, it.Attempts = a.Run, a.Step, a.Data, 0
		}
		it.Attempts++
		it.LastError = c.LastError
		if c.Disposition == RetryAt {
			it.Due = c.Due
			if it.Due.IsZero() {
				it.Due = now
			}
			ops = append(ops, kv.Put(readyKey(consumer, it.Due, it.ID), nil))
		} else {
			it.Dead = true
			ops = append(ops, kv.Put(deadKey(consumer, it.ID), nil))
		}
		b, err := encode(it)
		if err != nil {
			return nil, err
		}
		ops = append(ops, kv.Put(itemKey(it.ID), b))
		if c.Disposition == RetryAt {
			wakes = append(wakes, wake{consumer, it.Due, it.ID, b})
		}
	default:
		return nil, fmt.Errorf("%w: disposition %d", ErrInvalid, c.Disposition)
	}
	for _, st := range c.Steps {
		if err := checkName("step run", st.Run, false); err != nil {
			return nil, err
		}
		if err := checkName("step key", st.Key, false); err != nil {
			return nil, err
		}
		if err := checkJSON("step data", st.Data, false); err != nil {
			return nil, err
		}
		// The data, valid JSON (checked above), is copied as is rather than compacted again.
		b, err := encodeWith(stepHead{st.Run, st.Key}, "data", st.Data)
		if err != nil {
			return nil, err
		}
		ops = append(ops, kv.Put(stepKey(consumer, st.Run, st.Key), b))
	}
	for _, n := range c.Next {
		if n.Consumer == "" {
			n.Consumer = consumer
		}
		if n.Consumer != consumer {
			return nil, fmt.Errorf("%w: next item for consumer %q from an item of %q", ErrInvalid, n.Consumer, consumer)
		}
		if err := checkName("automation", n.Automation, false); err != nil {
			return nil, err
		}
		if err := checkName("step", n.Step, true); err != nil {
			return nil, err
		}
		if err := checkJSON("item data", n.Data, true); err != nil {
			return nil, err
		}
		due := n.Due
		if due.IsZero() {
			due = now
		}
		ni := Item{ID: NewID(now), Consumer: consumer, Automation: n.Automation, Event: n.Event, Run: n.Run, Step: n.Step, Data: n.Data, Due: due}
		b, err := encode(ni)
		if err != nil {
			return nil, err
		}
		ops = append(ops, kv.Put(itemKey(ni.ID), b), kv.Put(readyKey(consumer, due, ni.ID), nil))
		wakes = append(wakes, wake{consumer, due, ni.ID, b})
	}
	if len(c.Forget) > MaxCommitForget {
		return nil, fmt.Errorf("%w: commit forgets %d objects, limit %d", ErrInvalid, len(c.Forget), MaxCommitForget)
	}
	var forget [][]byte
	for _, k := range c.Forget {
		if err := checkObjectKey(k); err != nil {
			return nil, err
		}
		if k.Consumer != consumer {
			return nil, fmt.Errorf("%w: forgetting an object of consumer %q from an item of %q", ErrInvalid, k.Consumer, consumer)
		}
		forget = append(forget, objectKey(k))
		ops = append(ops, kv.Delete(forget[len(forget)-1]))
	}
	acts, err := s.activityOps(c.Activity, consumer, now)
	if err != nil {
		return nil, err
	}
	ops = append(ops, acts.ops...)
	defer s.feed.settle(acts.first, acts.n)

	// runAt is where the run's ops start in ops; rerun rebuilds them after reading the record.
	runAt, rerun := len(ops), func() ([]kv.Op, error) { return nil, nil }
	if r := c.Run; r != nil {
		r := *r
		if r.Consumer == "" {
			r.Consumer = consumer
		}
		if r.Consumer != consumer {
			return nil, fmt.Errorf("%w: run of consumer %q from an item of %q", ErrInvalid, r.Consumer, consumer)
		}
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = now
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		if err := checkRun(&r); err != nil {
			return nil, err
		}
		mu := s.runLock(r.ID)
		mu.Lock()
		defer mu.Unlock()
		rerun = func() ([]kv.Op, error) {
			r := r
			old, err := s.get(runKey(consumer, r.ID))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			return runOps(&r, old)
		}
		// An item with no run starts one: its record is new, which the commit checks (absent),
		// so it is not read first; if it exists after all, the commit fails and is made again
		// after reading it.
		var rops []kv.Op
		var err error
		if it.Run == "" {
			r := r
			rops, err = runOps(&r, nil)
		} else {
			rops, err = rerun()
		}
		if err != nil {
			return nil, err
		}
		ops = append(ops, rops...)
	}
	if len(forget) > 0 {
		s.cache.dropObjects(forget...)
		defer s.cache.dropObjects(forget...)
	}
	err = s.write(ctx, ops...)
	if errors.Is(err, ErrConflict) && c.Run != nil && it.Run == "" {
		rops, rerr := rerun()
		if rerr != nil {
			return nil, rerr
		}
		err = s.write(ctx, append(ops[:runAt:runAt], rops...)...)
	}
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, fmt.Errorf("%w: item %s or its run changed under the lease", ErrLeaseLost, it.ID)
		}
		return nil, fmt.Errorf("ledger: ack item %s: %w", it.ID, err)
	}
	return wakes, nil
}

// Dead implements [Store.Dead].
func (s *Embedded) Dead(ctx context.Context, consumer string, p Page) ([]Item, string, error) {
	if err := checkName("consumer", consumer, false); err != nil {
		return nil, "", err
	}
	prefix := deadPrefix(consumer)
	kvs, cur, err := s.scan(prefix, p)
	if err != nil {
		return nil, "", err
	}
	items := make([]Item, 0, len(kvs))
	for _, e := range kvs {
		var it Item
		if _, err := s.getRecord(itemKey(string(e.Key[len(prefix):])), &it); err != nil {
			return nil, "", fmt.Errorf("ledger: dead item of %q: %w", e.Key, err)
		}
		items = append(items, it)
	}
	return items, cur, nil
}

// Requeue implements [Store.Requeue].
func (s *Embedded) Requeue(ctx context.Context, consumer, itemID string) error {
	if checkName("consumer", consumer, false) != nil || checkName("item id", itemID, false) != nil {
		return ErrNotFound
	}
	var it Item
	raw, err := s.getRecord(itemKey(itemID), &it)
	if err != nil {
		return err
	}
	if it.Consumer != consumer || !it.Dead {
		return ErrNotFound
	}
	now := s.now()
	it.Dead, it.Attempts, it.Due = false, 0, now
	b, err := encode(it)
	if err != nil {
		return err
	}
	if err := s.write(ctx,
		kv.Check(itemKey(itemID), raw),
		kv.Put(itemKey(itemID), b),
		kv.Delete(deadKey(consumer, itemID)),
		kv.Put(readyKey(consumer, now, itemID), nil),
	); err != nil {
		if errors.Is(err, ErrConflict) {
			return fmt.Errorf("%w: item %s was requeued concurrently", ErrConflict, itemID)
		}
		return fmt.Errorf("ledger: requeue item %s: %w", itemID, err)
	}
	s.q.activate(consumer, now, itemID, b)
	return nil
}

// Depth counts the work items not yet settled (waiting, due later or leased; not dead), up to
// limit. It is the embedded store's own measure, for metrics, not part of [Store]. The queue
// keeps a count of each consumer's waiting items (backlog.go); Depth sums them when all are
// known. A consumer that had items waiting when the store was opened is not counted until a walk
// of its ready keys has run: until then Depth walks the ready keys itself, at most limit of them
// (a scrape under a backlog of 100,000 items took tens of milliseconds that way), and starts
// those walks so that the next Depth need not.
func (s *Embedded) Depth(ctx context.Context, limit int) (int, error) {
	n, ok, uncounted := s.q.waitingTotal()
	if ok {
		return min(n, limit), nil
	}
	for _, c := range uncounted {
		s.startCount(c)
	}
	n = 0
	var after []byte
	for n < limit {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		kvs, next, err := s.db.ScanKeys([]byte(pReady), after, min(10_000, limit-n))
		if err != nil {
			return n, fmt.Errorf("ledger: depth: %w", err)
		}
		n += len(kvs)
		if next == nil {
			break
		}
		after = next
	}
	return n, nil
}
