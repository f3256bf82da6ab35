package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/splicehq/splice/host/kv"
)

// dedupe is the record of a dedupe key: the event it let in and when.
type dedupe struct {
	Event string    `json:"event"`
	At    time.Time `json:"at"`
}

func checkEvent(e *NewEvent) error {
	if err := checkName("consumer", e.Consumer, false); err != nil {
		return err
	}
	if err := checkName("automation", e.Automation, false); err != nil {
		return err
	}
	if err := checkName("dedupe key", e.DedupeKey, true); err != nil {
		return err
	}
	if err := checkJSON("event payload", e.Payload, false); err != nil {
		return err
	}
	return checkJSON("item data", e.Data, true)
}

// Accept implements [Store.Accept]. A dedupe key is claimed with a condition on its absence (or
// on the expired record it replaces), so of two Accepts racing with one key, one stores the event
// and the other, retried, finds the duplicate.
func (s *Embedded) Accept(ctx context.Context, events []NewEvent) ([]Accepted, error) {
	if len(events) > MaxAcceptEvents {
		return nil, fmt.Errorf("%w: %d events in one accept, limit %d", ErrInvalid, len(events), MaxAcceptEvents)
	}
	for i := range events {
		if err := checkEvent(&events[i]); err != nil {
			return nil, fmt.Errorf("ledger: accept event %d: %w", i, err)
		}
	}
	// Room under Options.MaxWaiting, per consumer, held until the write is done and what it
	// stored is counted (accept activates it).
	var perConsumer map[string]int
	if s.maxWaiting > 0 {
		perConsumer = map[string]int{}
		for i := range events {
			perConsumer[events[i].Consumer]++
		}
	}
	for c, n := range perConsumer {
		took, count, err := s.reserve(c, n)
		if err != nil {
			return nil, err
		}
		if took {
			defer s.unreserve(c, n)
		}
		if count {
			defer s.startCount(c)
		}
	}
	for attempt := range 8 {
		out, err := s.accept(ctx, events, attempt == 0)
		if !errors.Is(err, ErrConflict) {
			return out, err
		}
	}
	return nil, fmt.Errorf("ledger: accept: dedupe keys kept changing under 8 attempts: %w", ErrConflict)
}

// accept makes one attempt. An optimistic attempt does not read the dedupe keys first: it
// writes on the condition that each is absent, which the commit checks (in the transaction, so
// a race with another Accept is caught there too), and a key that is present fails it with
// ErrConflict; the next attempt reads them. A new key, the usual case, is then read once, not twice.
func (s *Embedded) accept(ctx context.Context, events []NewEvent, optimistic bool) ([]Accepted, error) {
	now := s.now()
	out := make([]Accepted, len(events))
	ops := make([]kv.Op, 0, 5*len(events))
	seen := map[string]string{} // dedupe key → event id, within this call
	type enq struct {
		consumer string
		due      time.Time
		id       string
		raw      []byte
	}
	var enqueued []enq
	for i, e := range events {
		var dkey []byte
		if e.DedupeKey != "" {
			dkey = dedupeKey(e.Consumer, e.Automation, e.DedupeKey)
			if id, ok := seen[string(dkey)]; ok {
				out[i] = Accepted{ID: id, Duplicate: true}
				continue
			}
			var old []byte
			if !optimistic {
				var d dedupe
				var err error
				old, err = s.getRecord(dkey, &d)
				switch {
				case errors.Is(err, ErrNotFound):
					old = nil
				case err != nil:
					return nil, fmt.Errorf("ledger: accept: %w", err)
				case now.Sub(d.At) < s.retention:
					out[i] = Accepted{ID: d.Event, Duplicate: true}
					continue
				}
			}
			ops = append(ops, kv.Check(dkey, old))
		}
		id := NewID(now)
		ev, err := encodeWith(Event{ID: id, Consumer: e.Consumer, Automation: e.Automation, DedupeKey: e.DedupeKey, AcceptedAt: now}, "payload", e.Payload)
		if err != nil {
			return nil, err
		}
		due := now
		if e.Urgent {
			due = UrgentDue(now)
		}
		item := Item{ID: NewID(now), Consumer: e.Consumer, Automation: e.Automation, Event: id, Data: e.Data, Due: due}
		it, err := encode(item)
		if err != nil {
			return nil, err
		}
		ops = append(ops,
			kv.Put(eventKey(e.Consumer, id), ev),
			kv.Put(itemKey(item.ID), it),
			kv.Put(readyKey(e.Consumer, due, item.ID), nil))
		if dkey != nil {
			d, err := encode(dedupe{Event: id, At: now})
			if err != nil {
				return nil, err
			}
			ops = append(ops, kv.PutTTL(dkey, d, s.retention))
			seen[string(dkey)] = id
		}
		out[i] = Accepted{ID: id}
		enqueued = append(enqueued, enq{e.Consumer, due, item.ID, it})
	}
	if err := s.write(ctx, ops...); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, err
		}
		return nil, fmt.Errorf("ledger: accept %d events: %w", len(events), err)
	}
	for _, e := range enqueued {
		s.q.activate(e.consumer, e.due, e.id, e.raw)
	}
	return out, nil
}
