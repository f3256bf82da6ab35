package ledger

import (
	"fmt"
)

// backlog is what the queue knows of one consumer's waiting items (its ready keys: accepted or
// enqueued and not yet settled, leased ones included), for Options.MaxWaiting.
//
// Every ready key is written by a commit that is followed by queue.activate (Accept, an Ack's
// retry and next items, Requeue) and deleted only by an Ack, whose success is noted under q.mu
// too; both change the count there, so the count of a consumer met first after Open is exact.
// A consumer that had waiting items at Open is counted by a walk of its ready keys in one
// snapshot, started after its first Accept's write and run in the background (its cost grows
// with the backlog, and an Accept should not wait for it): until it ends, its Accepts are not
// bounded. The changes noted from just after the snapshot on are added to what the walk counts,
// so a write that commits around the snapshot may be counted twice or not at all: the count can
// be off by the writes in flight at that instant. The error does not accumulate, and it ends
// when the consumer's queue next empties (forget): a consumer with nothing waiting has a count
// of 0 whatever it was.
type backlog struct {
	n        int  // waiting items, when known
	reserved int  // room taken by Accepts being written
	known    bool // n is the count
	counting bool // a scan is counting the consumer's ready keys
	delta    int  // changes noted while the scan runs
}

// backlogOf returns consumer's backlog, made on first use: known and empty unless the consumer
// had waiting items at Open. Called with q.mu held.
func (q *queue) backlogOf(consumer string) *backlog {
	b := q.backlogs[consumer]
	if b == nil {
		b = &backlog{known: !q.uncounted[consumer]}
		q.backlogs[consumer] = b
	}
	return b
}

// noneWaiting notes that consumer has no waiting item (the queue forgets it): its count is 0,
// whatever drift a count made at the start brought. Called with q.mu held.
func (q *queue) noneWaiting(consumer string) {
	b := q.backlogOf(consumer)
	if b.counting {
		return // the walk's count, with the changes, will say so
	}
	b.n, b.known, b.delta = 0, true, 0
	delete(q.uncounted, consumer)
}

// changeWaiting notes d ready keys of consumer written (d > 0) or deleted (d < 0) by a commit
// that succeeded. Called with q.mu held.
func (q *queue) changeWaiting(consumer string, d int) {
	switch b := q.backlogOf(consumer); {
	case b.known:
		b.n = max(0, b.n+d)
	case b.counting:
		b.delta += d
	}
}

// reserve takes room for n new items of consumer under Options.MaxWaiting; the Accept gives it
// back (unreserve) once its write is done, after activating what it stored. It fails with
// ErrBacklog when the consumer's waiting items and the room other Accepts hold leave no room for
// n more. While the consumer's count is unknown it takes no room and reports count: the Accept
// starts the count (startCount) once its own write is done, so that the walk's snapshot holds it.
func (s *Embedded) reserve(consumer string, n int) (took, count bool, err error) {
	if s.maxWaiting <= 0 {
		return false, false, nil
	}
	q := &s.q
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.backlogOf(consumer)
	if !b.known {
		return false, !b.counting, nil
	}
	if b.n+b.reserved+n > s.maxWaiting {
		return false, false, fmt.Errorf("%w: consumer %q has %d items waiting, the most is %d", ErrBacklog, consumer, b.n, s.maxWaiting)
	}
	b.reserved += n
	return true, false, nil
}

// startCount counts consumer's waiting items in the background, unless they are known or being
// counted, or the store is closed.
func (s *Embedded) startCount(consumer string) {
	q := &s.q
	q.mu.Lock()
	b := q.backlogOf(consumer)
	start := !b.known && !b.counting
	if start {
		b.counting, b.delta = true, 0
	}
	q.mu.Unlock()
	if !start {
		return
	}
	// Added under s.mu, so that Close, which sets closed under it, waits for this count or
	// keeps it from starting. s.mu and q.mu are never held together.
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.counting.Add(1)
	}
	s.mu.Unlock()
	if closed {
		q.mu.Lock()
		b.counting = false
		q.mu.Unlock()
		return
	}
	go func() {
		defer s.counting.Done()
		s.count(consumer)
	}()
}

// Backlogged implements [Store.Backlogged]: a consumer whose count is not known yet is not.
func (s *Embedded) Backlogged(consumer string) bool {
	if s.maxWaiting <= 0 {
		return false
	}
	q := &s.q
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.backlogs[consumer]
	return b != nil && b.known && b.n+b.reserved >= s.maxWaiting
}

func (s *Embedded) unreserve(consumer string, n int) {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	if b := s.q.backlogs[consumer]; b != nil {
		b.reserved -= n
	}
}

// count counts consumer's ready keys and makes its backlog known; after a failure (the store
// closing) the next Accept counts again. The changes noted from just after the snapshot on are
// added to what it holds.
func (s *Embedded) count(consumer string) {
	q := &s.q
	snap, err := s.db.Snapshot()
	q.mu.Lock()
	b := q.backlogOf(consumer)
	b.delta = 0
	q.mu.Unlock()
	n := 0
	if err == nil {
		n = snap.CountKeys(readyPrefix(consumer))
		snap.Close()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	b.counting = false
	if err != nil {
		b.delta = 0
		return
	}
	b.n, b.known, b.delta = max(0, n+b.delta), true, 0
	delete(q.uncounted, consumer)
}

// waitingTotal sums the consumers' counts of waiting items; ok is false while some count is not
// known, and uncounted then lists the consumers whose count no walk has started.
func (q *queue) waitingTotal() (n int, ok bool, uncounted []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ok = true
	for c := range q.uncounted {
		if b := q.backlogs[c]; b == nil || !b.counting {
			uncounted = append(uncounted, c)
		}
		ok = false
	}
	for _, b := range q.backlogs {
		if !b.known {
			ok = false
			continue
		}
		n += b.n
	}
	return n, ok, uncounted
}
