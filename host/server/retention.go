package server

import (
	"context"
	"errors"
	"time"

	"github.com/splicehq/splice/host/ledger"
)

// pruneLimit is the most records of each kind one Prune call deletes.
const pruneLimit = 10_000

// prune deletes what Options.Retention lets go, every Options.PruneEvery (the first time a minute
// after start, or sooner when PruneEvery is shorter), until ctx ends.
func (e *env) prune(ctx context.Context) {
	o := e.s.o
	if o.Retention < 0 {
		return
	}
	t := time.NewTimer(min(time.Minute, o.PruneEvery))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, _ = e.pruneBefore(ctx, time.Now().Add(-o.Retention))
		t.Reset(o.PruneEvery)
	}
}

// pruneBefore deletes what ended before cut, in calls of at most pruneLimit records of each kind.
// After each call it pauses for as long as the call took, so that a large backlog of old records
// takes at most about half of the environment's commits from webhooks and runs. It logs what it
// deleted, and an error (a full disk refuses the deletions too) as a warning.
func (e *env) pruneBefore(ctx context.Context, cut time.Time) (ledger.Pruned, error) {
	var total ledger.Pruned
	start := time.Now()
	log := e.s.log.With("env", e.name)
	for {
		t0 := time.Now()
		p, err := e.store.Prune(ctx, cut, pruneLimit)
		total.Runs += p.Runs
		total.Steps += p.Steps
		total.Events += p.Events
		total.Activity += p.Activity
		e.pruned.Add(int64(p.Total()))
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, ledger.ErrClosed) {
				log.Warn("retention: prune", "err", err, "deleted", total.Total())
			}
			return total, err
		}
		if !p.More {
			break
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(time.Since(t0)):
		}
	}
	if total.Total() > 0 {
		log.Info("retention: pruned", "runs", total.Runs, "steps", total.Steps, "events", total.Events,
			"activity", total.Activity, "before", cut.UTC().Format(time.RFC3339), "took", time.Since(start).Round(time.Millisecond))
	}
	return total, nil
}
