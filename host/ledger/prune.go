package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/splicehq/splice/host/kv"
)

// Pruned counts what one [Store.Prune] deleted.
type Pruned struct {
	Runs     int `json:"runs"`
	Steps    int `json:"steps"`
	Events   int `json:"events"`
	Activity int `json:"activity"`
	// More reports that the call stopped at its limit (or left a run that changed while it was
	// pruned): another call may find more to delete.
	More bool `json:"more"`
}

// Total is the number of records deleted.
func (p Pruned) Total() int { return p.Runs + p.Steps + p.Events + p.Activity }

// eventsPerScan is how many old events, per event it may delete, one Prune call checks against
// one reading of the work items.
const eventsPerScan = 10

// pruneOps is the most operations one write of Prune carries: small enough that a prune never
// holds the committer for long, so webhooks' commits go between its writes.
const pruneOps = 512

// idAt is the smallest id [NewID] can make at t: ids below it were made before t.
func idAt(t time.Time) string {
	var b [15]byte
	binary.BigEndian.PutUint64(b[:8], dueNanos(t))
	return ids.EncodeToString(b[:])
}

// Prune implements [Store.Prune]. Each kind is walked in key order, which for runs and events is
// by consumer, then by creation time: a consumer's walk ends at its first record made after
// before, and at most limit records of each kind are deleted. Calls are serialized; a call with
// the same before as one that said More resumes where that one stopped (see pruning).
func (s *Embedded) Prune(ctx context.Context, before time.Time, limit int) (Pruned, error) {
	var p Pruned
	if limit < 1 {
		return p, fmt.Errorf("%w: prune limit %d below 1", ErrInvalid, limit)
	}
	if err := s.live(); err != nil {
		return p, err
	}
	// Never later than now (see Store.Prune).
	if now := s.now(); before.After(now) {
		before = now
	}
	cut := idAt(before)
	s.pruning.mu.Lock()
	defer s.pruning.mu.Unlock()
	if !before.Equal(s.pruning.before) {
		s.pruning.from, s.pruning.before = [3][]byte{}, before
	}
	var err error
	if err = s.pruneRuns(ctx, before, cut, limit, &p); err == nil {
		if err = s.pruneEvents(ctx, cut, limit, &p); err == nil {
			err = s.pruneActivity(ctx, before, limit, &p)
		}
	}
	if err != nil {
		return p, fmt.Errorf("ledger: prune: %w", err)
	}
	if !p.More {
		s.pruning.from = [3][]byte{}
	}
	return p, nil
}

// pruning is where a round of Prune calls resumes. A round is the calls with the same before:
// each call that says More leaves where its walks stopped, and the next goes on from there instead
// of scanning again past the deletion markers of the records it deleted (they stay until
// compaction, and made a round of calls quadratic in the records it deleted). A call that finds
// nothing more ends the round, as does a call with another before: the next starts from the
// beginning, where the records a round skipped (runs then in progress) may have ended since.
type pruning struct {
	mu     sync.Mutex
	before time.Time
	from   [3][]byte // runs, events, activity
}

// pruner batches the deletions of one kind into writes of at most pruneOps operations.
type pruner struct {
	s         *Embedded
	ctx       context.Context
	ops       []kv.Op
	records   int // records whose deletion is in ops
	done      int // records deleted
	steps     int // steps in ops (runs only)
	stepsDone int
	conflict  bool
}

// flush writes the pending deletions. A write refused by its condition (a run changed since it was
// read) deletes nothing; the records are left for a later call.
func (pr *pruner) flush() error {
	if len(pr.ops) == 0 {
		return nil
	}
	err := pr.s.write(pr.ctx, pr.ops...)
	switch {
	case errors.Is(err, ErrConflict):
		pr.conflict = true
	case err != nil:
		return err
	default:
		pr.done += pr.records
		pr.stepsDone += pr.steps
	}
	pr.ops, pr.records, pr.steps = pr.ops[:0], 0, 0
	return nil
}

// walk calls fn with the records under prefix after from (nil: from the start) in key order,
// with their values when values is set; each key is prefix<consumer>/<id>. A consumer's records
// whose id is cut or later are skipped, with every later record of that consumer. fn returns
// false to stop the walk. walk returns the key to resume after: the last one handed to fn or
// skipped.
func (s *Embedded) walk(prefix, cut string, from []byte, values bool, fn func(key, value []byte) (bool, error)) ([]byte, error) {
	after := from
	for {
		scan := s.db.ScanKeys
		if values {
			scan = s.db.Scan
		}
		kvs, next, err := scan([]byte(prefix), after, 256)
		if err != nil {
			return after, err
		}
		skipped := false
		for _, e := range kvs {
			rest := e.Key[len(prefix):]
			slash := bytes.IndexByte(rest, '/')
			if slash >= 0 && string(rest[slash+1:]) >= cut {
				// Ids sort by creation time: the rest of this consumer's records are younger.
				after = append(append([]byte(prefix), rest[:slash+1]...), 0xff)
				skipped = true
				break
			}
			after = e.Key
			if slash < 0 {
				continue
			}
			more, err := fn(e.Key, e.Value)
			if err != nil || !more {
				return after, err
			}
		}
		if !skipped && next == nil {
			return after, nil
		}
	}
}

// pruneRuns deletes the runs that succeeded or were filtered and were last updated before
// before, with their steps and index entries. Runs in progress, failed and dead runs (whose
// dead-lettered items wait for a replay) are kept.
func (s *Embedded) pruneRuns(ctx context.Context, before time.Time, cut string, limit int, p *Pruned) error {
	pr := &pruner{s: s, ctx: ctx}
	var err error
	s.pruning.from[0], err = s.walk(pRun, cut, s.pruning.from[0], true, func(key, value []byte) (bool, error) {
		var r Run
		if err := decode(value, &r); err != nil {
			return false, fmt.Errorf("%q: %w", key, err)
		}
		if (r.Status != Succeeded && r.Status != Filtered) || !r.UpdatedAt.Before(before) {
			return true, nil
		}
		steps, err := s.stepKeys(r.Consumer, r.ID)
		if err != nil {
			return false, err
		}
		// A run of many steps deletes them in writes of their own first: a crash between leaves
		// the run with fewer steps, and it is pruned again by a later call.
		for len(steps) > pruneOps-4 {
			if err := pr.flush(); err != nil {
				return false, err
			}
			for _, k := range steps[:pruneOps-4] {
				pr.ops = append(pr.ops, kv.Delete(k))
			}
			pr.steps += pruneOps - 4
			steps = steps[pruneOps-4:]
			if err := pr.flush(); err != nil {
				return false, err
			}
		}
		if len(pr.ops)+len(steps)+4 > pruneOps {
			if err := pr.flush(); err != nil {
				return false, err
			}
		}
		pr.ops = append(pr.ops, kv.Check(key, value), kv.Delete(key),
			kv.Delete(append(byAutoPrefix(r.Consumer, r.Automation), r.ID...)),
			kv.Delete(append(byStatPrefix(r.Consumer, r.Status), r.ID...)))
		for _, k := range steps {
			pr.ops = append(pr.ops, kv.Delete(k))
		}
		pr.records++
		pr.steps += len(steps)
		if pr.done+pr.records >= limit {
			p.More = true
			return false, nil
		}
		return true, nil
	})
	if err == nil {
		err = pr.flush()
	}
	p.Runs += pr.done
	p.Steps += pr.stepsDone
	p.More = p.More || pr.conflict
	return err
}

// stepKeys returns the keys of a run's step records.
func (s *Embedded) stepKeys(consumer, run string) ([][]byte, error) {
	prefix := stepPrefix(consumer, run)
	var keys [][]byte
	var after []byte
	for {
		kvs, next, err := s.db.ScanKeys(prefix, after, kv.MaxScanLimit)
		if err != nil {
			return nil, err
		}
		for _, e := range kvs {
			keys = append(keys, e.Key)
		}
		if next == nil {
			return keys, nil
		}
		after = next
	}
}

// pruneEvents deletes the events accepted before the cut that no work item refers to, waiting or
// dead. The candidates are read first, then the items from a snapshot: a candidate was committed
// before the snapshot, in one write with its item, so the snapshot holds that item or what
// settling it enqueued; and an item that refers to an event is only ever made by the Accept of
// that event or by settling (or requeueing) another item that refers to it, so a candidate no item
// in the snapshot refers to is never referred to again.
func (s *Embedded) pruneEvents(ctx context.Context, cut string, limit int, p *Pruned) error {
	// Most old events may be still referred to (dead letters wait for a replay), and every call
	// reads all the items: it takes up to eventsPerScan times limit candidates for one reading.
	var candidates [][]byte
	end, err := s.walk(pEvent, cut, s.pruning.from[1], false, func(key, _ []byte) (bool, error) {
		candidates = append(candidates, key)
		if len(candidates) == eventsPerScan*limit {
			p.More = true
			return false, nil
		}
		return true, nil
	})
	s.pruning.from[1] = end
	if err != nil || len(candidates) == 0 {
		return err
	}
	snap, err := s.db.Snapshot()
	if err != nil {
		return err
	}
	used := map[string]struct{}{}
	err = snap.Each([]byte(pItem), func(key, value []byte) error {
		var it Item
		if err := decode(value, &it); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		used[string(eventKey(it.Consumer, it.Event))] = struct{}{}
		return nil
	})
	snap.Close()
	if err != nil {
		return err
	}
	pr := &pruner{s: s, ctx: ctx}
	for i, key := range candidates {
		if _, ok := used[string(key)]; ok {
			continue
		}
		pr.ops = append(pr.ops, kv.Delete(key))
		pr.records++
		if len(pr.ops) >= pruneOps {
			if err := pr.flush(); err != nil {
				return err
			}
		}
		if pr.done+pr.records == limit && i < len(candidates)-1 {
			// The next call of the round goes on after this one.
			p.More = true
			s.pruning.from[1] = key
			break
		}
	}
	err = pr.flush()
	p.Events += pr.done
	return err
}

// pruneActivity deletes the feed's entries from its start up to the first one appended at or
// after before. The newest entry is always kept: the feed's next sequence number is read from it
// when the store opens.
func (s *Embedded) pruneActivity(ctx context.Context, before time.Time, limit int, p *Pruned) error {
	last, err := s.db.Last([]byte(pAct))
	if errors.Is(err, kv.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	pr := &pruner{s: s, ctx: ctx}
	after := s.pruning.from[2]
	defer func() { s.pruning.from[2] = after }()
	for stop := false; !stop; {
		kvs, next, err := s.db.Scan([]byte(pAct), after, 256)
		if err != nil {
			return err
		}
		for _, e := range kvs {
			var a Activity
			if err := decode(e.Value, &a); err != nil {
				return fmt.Errorf("%q: %w", e.Key, err)
			}
			if bytes.Equal(e.Key, last.Key) || !a.At.Before(before) {
				stop = true
				break
			}
			after = e.Key
			pr.ops = append(pr.ops, kv.Delete(e.Key))
			if a.Consumer != "" {
				pr.ops = append(pr.ops, kv.Delete(actOfKey(a.Consumer, a.Seq)))
			}
			pr.records++
			if len(pr.ops) >= pruneOps-1 {
				if err := pr.flush(); err != nil {
					return err
				}
			}
			if pr.done+pr.records >= limit {
				p.More = true
				stop = true
				break
			}
		}
		if next == nil {
			stop = true
		}
	}
	if err := pr.flush(); err != nil {
		return err
	}
	p.Activity += pr.done
	return nil
}
