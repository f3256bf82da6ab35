package ledger

import (
	"context"
	"slices"
	"strings"
	"time"
)

// maxHotKeys bounds the ready keys the queue keeps in memory, across consumers (about 100 bytes
// each). A consumer whose keys would pass it goes back to scanning the disk.
const maxHotKeys = 100_000

// maxHotBytes bounds the item records the hot sets keep with their keys, across consumers: a
// key added past it keeps no record, and its item is read from the disk when it is leased.
const maxHotBytes = 8 << 20

// hotKey is one waiting item of an exact consumer: its due time and id, and its ready key.
type hotKey struct {
	due  uint64 // unix ns, as in the ready key
	id   string
	rk   []byte
	raw  []byte // the item's record as written with the key, or nil: spares claim a read
	gone bool   // settled: left in place until the head passes it or the slice is compacted
}

// hotSet is an exact consumer's waiting items in ready-key order (due, then id): what a scan of
// its ready keys would find, without the scan. Settled items are marked gone and dropped when
// the head passes them (most settle in order) or when half the slice is gone.
type hotSet struct {
	keys  []hotKey
	head  int // keys[:head] are gone
	live  int
	bytes int // of the records the live keys keep
}

func hotLess(a hotKey, due uint64, id string) int {
	switch {
	case a.due < due:
		return -1
	case a.due > due:
		return 1
	}
	return strings.Compare(a.id, id)
}

func (h *hotSet) find(due uint64, id string) (int, bool) {
	return slices.BinarySearchFunc(h.keys[h.head:], struct{}{}, func(a hotKey, _ struct{}) int { return hotLess(a, due, id) })
}

// add inserts a key with its item's record (or nil); it reports false when the key is there
// already.
func (h *hotSet) add(due uint64, id string, rk, raw []byte) bool {
	i, found := h.find(due, id)
	i += h.head
	if found {
		if !h.keys[i].gone {
			return false
		}
		h.keys[i].gone, h.keys[i].rk, h.keys[i].raw = false, rk, raw
		h.live++
		h.bytes += len(raw)
		return true
	}
	h.keys = slices.Insert(h.keys, i, hotKey{due: due, id: id, rk: rk, raw: raw})
	h.live++
	h.bytes += len(raw)
	return true
}

// remove marks a key gone; it reports whether it was there.
func (h *hotSet) remove(due uint64, id string) bool {
	i, found := h.find(due, id)
	i += h.head
	if !found || h.keys[i].gone {
		return false
	}
	h.keys[i].gone = true
	h.bytes -= len(h.keys[i].raw)
	h.keys[i].rk, h.keys[i].raw = nil, nil
	h.live--
	for h.head < len(h.keys) && h.keys[h.head].gone {
		h.keys[h.head] = hotKey{}
		h.head++
	}
	if gone := len(h.keys) - h.head - h.live; gone > 64 && gone > (len(h.keys)-h.head)/2 {
		h.keys = slices.DeleteFunc(h.keys[h.head:], func(k hotKey) bool { return k.gone })
		h.head = 0
	}
	if h.head == len(h.keys) {
		h.keys, h.head = h.keys[:0], 0
	}
	return true
}

// removeKey removes the key whose ready key is rk (of consumer).
func (h *hotSet) removeKey(consumer string, rk []byte) bool {
	p := readyPrefix(consumer)
	if len(rk) < len(p) {
		return false
	}
	due, id, ok := parseReady(rk[len(p):])
	if !ok {
		return false
	}
	return h.remove(dueNanos(due), id)
}

// makeExact notes that consumer's waiting items are all known in memory: w was just made for
// an item enqueued after a scan found none. Called with q.mu held.
func (q *queue) makeExact(w *waiting) {
	w.exact = true
	w.hot = &hotSet{}
}

// dropExact sends a consumer back to scanning the disk. Called with q.mu held.
func (q *queue) dropExact(w *waiting) {
	if !w.exact {
		return
	}
	q.hotKeys -= w.hot.live
	q.hotBytes -= w.hot.bytes
	w.exact, w.hot = false, nil
	w.low, w.wait = 0, time.Time{}
	w.reset()
}

// addHot records a waiting item of an exact consumer. Called with q.mu held.
func (q *queue) addHot(w *waiting, consumer string, due time.Time, id string, raw []byte) {
	if !w.exact {
		return
	}
	if q.hotKeys >= q.hotLimit {
		q.dropExact(w)
		return
	}
	if q.hotBytes+len(raw) > q.byteLimit {
		raw = nil
	}
	if w.hot.add(dueNanos(due), id, readyKey(consumer, due, id), raw) {
		q.hotKeys++
		q.hotBytes += len(raw)
	}
}

// hotRecord returns the record consumer's hot set keeps with the live key of item id due at
// due, or nil when the set has no such key (settled, rescheduled, the consumer no longer exact)
// or keeps no record with it. Called with q.mu held.
func (q *queue) hotRecord(consumer string, due time.Time, id string) []byte {
	w := q.consumers[consumer]
	if w == nil || !w.exact {
		return nil
	}
	i, found := w.hot.find(dueNanos(due), id)
	if !found || w.hot.keys[w.hot.head+i].gone {
		return nil
	}
	return w.hot.keys[w.hot.head+i].raw
}

// settleHot forgets a settled item's ready key. Called with q.mu held.
func (q *queue) settleHot(consumer string, rk []byte) {
	if w := q.consumers[consumer]; w != nil && w.exact {
		before := w.hot.bytes
		if w.hot.removeKey(consumer, rk) {
			q.hotKeys--
			q.hotBytes -= before - w.hot.bytes
		}
	}
}

// takeHot is take for an exact consumer: the scan is a walk of its hot set.
func (s *Embedded) takeHot(ctx context.Context, w *waiting, consumer string, now time.Time, ttl time.Duration, want int) ([]Lease, bool, error) {
	q := &s.q
	type cand struct {
		due time.Time
		id  string
		rk  []byte
		raw []byte
	}
	var (
		out   []Lease
		cands []cand
	)
	q.mu.Lock()
	if q.consumers[consumer] != w || !w.exact {
		q.mu.Unlock()
		return nil, true, nil // changed meanwhile: the next Lease looks again
	}
	now64 := dueNanos(now)
	for _, k := range w.hot.keys[w.hot.head:] {
		if len(cands) == want {
			break
		}
		if k.gone {
			continue
		}
		if k.due > now64 {
			break
		}
		if h := q.leases[k.id]; h != nil && (h.settling || h.expires.After(now)) {
			continue
		}
		cands = append(cands, cand{time.Unix(0, int64(k.due)), k.id, k.rk, k.raw})
	}
	q.mu.Unlock()
	if q.hook != nil {
		q.hook("walked")
	}

	for _, c := range cands {
		if err := ctx.Err(); err != nil {
			s.giveBack(out)
			return nil, false, err
		}
		l, by, err := s.claim(consumer, c.id, c.rk, c.raw, c.due, now, ttl)
		if q.hook != nil {
			q.hook("claimed")
		}
		if err != nil {
			s.giveBack(out)
			return nil, false, err
		}
		if l == nil {
			if !by.settling && by.until.IsZero() {
				// Stale, claim says: the item behind this key was settled or rescheduled
				// since the walk, and the key is gone from the disk (the settling Ack took it
				// out of the set already; this makes sure). Held by another lease is not
				// stale: that lease may still give the item back.
				q.mu.Lock()
				q.settleHot(consumer, c.rk)
				q.mu.Unlock()
			}
			continue
		}
		out = append(out, *l)
	}
	if len(out) == want {
		return out, true, nil
	}

	// Nothing more is leasable now: learn when to look again, or that the consumer is done.
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.consumers[consumer] != w || !w.exact {
		return out, false, nil
	}
	if w.hot.live == 0 {
		q.forget(consumer)
		return out, false, nil
	}
	if len(out) > 0 {
		return out, false, nil
	}
	var wait time.Time
	earliest := func(t time.Time) {
		if wait.IsZero() || t.Before(wait) {
			wait = t
		}
	}
	for _, k := range w.hot.keys[w.hot.head:] {
		if k.gone {
			continue
		}
		if k.due > now64 {
			earliest(time.Unix(0, int64(k.due)))
			break
		}
		h := q.leases[k.id]
		switch {
		case h == nil || !h.expires.After(now) && !h.settling:
			return out, false, nil // leasable after all (given back meanwhile): look again
		case h.settling:
			return out, false, nil // may come back at once
		default:
			earliest(h.expires)
		}
	}
	w.wait = wait
	return out, false, nil
}

// forget drops a consumer that has nothing waiting from the ring. Called with q.mu held.
func (q *queue) forget(consumer string) {
	if w := q.consumers[consumer]; w != nil && w.exact {
		q.hotKeys -= w.hot.live
		q.hotBytes -= w.hot.bytes
	}
	delete(q.consumers, consumer)
	q.noneWaiting(consumer)
	for i, c := range q.ring {
		if c == consumer {
			q.ring = append(q.ring[:i], q.ring[i+1:]...)
			if q.pos > i {
				q.pos--
			}
			break
		}
	}
}
