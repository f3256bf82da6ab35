package ledger

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/splicehq/splice/host/kv"
)

// feed numbers activity entries. Entries are numbered before their write commits, and writes
// commit in any order, so a reader could see entry 7 before entry 6 is stored and, following the
// feed past 7, never see 6. Listings therefore stop below the first number still being written:
// a follower's cursor never passes an entry that may yet appear.
type feed struct {
	mu       sync.Mutex
	next     uint64            // the next number to give
	inflight map[uint64]uint64 // first number of a range being written → its length
}

// assign reserves n numbers and returns the first.
func (f *feed) assign(n int) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inflight == nil {
		f.inflight = map[uint64]uint64{}
	}
	first := f.next
	f.next += uint64(n)
	if n > 0 {
		f.inflight[first] = uint64(n)
	}
	return first
}

// settle ends the write of the range that starts at first (committed or not).
func (f *feed) settle(first uint64, n int) {
	if n == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.inflight, first)
}

// visible returns the highest number below every range being written.
func (f *feed) visible() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.next - 1
	for first := range f.inflight {
		v = min(v, first-1)
	}
	return v
}

type activityWrite struct {
	ops   []kv.Op
	first uint64
	n     int
}

// activityOps numbers entries and returns the operations that store them. The caller settles
// the numbers (s.feed.settle(first, n)) once its write is done, whatever its outcome. consumer,
// when set, is the only consumer the entries may concern.
func (s *Embedded) activityOps(entries []Activity, consumer string, now time.Time) (activityWrite, error) {
	for i := range entries {
		a := &entries[i]
		if consumer != "" && a.Consumer != "" && a.Consumer != consumer {
			return activityWrite{}, fmt.Errorf("%w: activity of consumer %q from an item of %q", ErrInvalid, a.Consumer, consumer)
		}
		if err := checkName("consumer", a.Consumer, true); err != nil {
			return activityWrite{}, err
		}
		if err := checkName("activity kind", a.Kind, false); err != nil {
			return activityWrite{}, err
		}
		if err := checkJSON("activity data", a.Data, true); err != nil {
			return activityWrite{}, err
		}
	}
	w := activityWrite{first: s.feed.assign(len(entries)), n: len(entries)}
	for i, a := range entries {
		a.Seq = w.first + uint64(i)
		if a.At.IsZero() {
			a.At = now
		}
		b, err := encode(a)
		if err != nil {
			s.feed.settle(w.first, w.n)
			return activityWrite{}, err
		}
		w.ops = append(w.ops, kv.Put(actKey(a.Seq), b))
		if a.Consumer != "" {
			// The consumer's feed is an index: the entry is stored once, under ac/.
			w.ops = append(w.ops, kv.Put(actOfKey(a.Consumer, a.Seq), nil))
		}
	}
	return w, nil
}

// Append implements [Store.Append].
func (s *Embedded) Append(ctx context.Context, entries ...Activity) error {
	if len(entries) > MaxCommitWrites {
		return fmt.Errorf("%w: %d activity entries in one append, limit %d", ErrInvalid, len(entries), MaxCommitWrites)
	}
	w, err := s.activityOps(entries, "", s.now())
	if err != nil {
		return err
	}
	defer s.feed.settle(w.first, w.n)
	if err := s.write(ctx, w.ops...); err != nil {
		return fmt.Errorf("ledger: append activity: %w", err)
	}
	return nil
}

// ActivityCursor returns the cursor of [Store.Activity] that resumes right after the entry of
// sequence number seq, in the whole feed as in a consumer's: the resume point of one entry, where
// the cursor Activity returns is that of the last entry of a page.
func ActivityCursor(seq uint64) string {
	return cursorOf(nil, binary.BigEndian.AppendUint64(nil, seq))
}

// Activity implements [Store.Activity].
func (s *Embedded) Activity(ctx context.Context, consumer string, p Page) ([]Activity, string, error) {
	if err := checkName("consumer", consumer, true); err != nil {
		return nil, "", err
	}
	prefix := []byte(pAct)
	if consumer != "" {
		prefix = actOfPrefix(consumer)
	}
	kvs, _, err := s.scan(prefix, p)
	if err != nil {
		return nil, "", err
	}
	visible := s.feed.visible()
	out := make([]Activity, 0, len(kvs))
	cursor := p.Cursor
	for _, e := range kvs {
		seq := binary.BigEndian.Uint64(e.Key[len(prefix):])
		if seq > visible {
			break
		}
		v := e.Value
		if len(v) == 0 && consumer != "" {
			// An index entry of the consumer's feed (databases written before it was one hold a
			// copy of the entry instead, read as it is).
			if v, err = s.get(actKey(seq)); err != nil {
				return nil, "", fmt.Errorf("ledger: activity %d of %q: %w", seq, consumer, err)
			}
		}
		var a Activity
		if err := decode(v, &a); err != nil {
			return nil, "", fmt.Errorf("ledger: %q: %w", e.Key, err)
		}
		out = append(out, a)
		cursor = cursorOf(prefix, e.Key)
	}
	return out, cursor, nil
}
