package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/ledger"
)

// Limits of forEach steps.
const (
	// MaxForEachItems bounds the array a forEach runs over.
	MaxForEachItems = 10_000
	// maxForEachOutput bounds the forEach step's recorded output (the per-item results).
	maxForEachOutput = 512 << 10
)

// progress is what the store keeps of one item of a forEach (object kind "foreach"): the nested
// steps that completed, so that a retried or re-leased forEach never runs them again.
type progress struct {
	Steps    map[string]json.RawMessage `json:"steps"` // nested step id → its output
	Filtered bool                       `json:"filtered,omitempty"`
	Done     bool                       `json:"done,omitempty"`
}

// forEach runs the nested steps once per item of the array, at most Concurrency items at once.
// Each nested step's output is stored (an object per item) as soon as it completes; the forEach
// item's lease is extended while it works. A failure of one item fails the forEach with that
// item's error: retryable errors retry the whole forEach, whose completed items and steps are
// then skipped.
func (e *Engine) forEach(ctx context.Context, l ledger.Lease, cs *automation.CompiledStep, scope []byte, rec *StepRecord) *stepFailure {
	it := l.Item
	fe := cs.Step.ForEach
	raw, missing := cs.Items.Eval(scope)
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		if len(missing) > 0 {
			return permanent("invalid_input", "forEach items %s: nothing at %v", fe.Items, missing)
		}
		return permanent("invalid_input", "forEach items %s is not an array", fe.Items)
	}
	if len(items) > MaxForEachItems {
		return permanent("invalid_input", "forEach over %d items, limit %d", len(items), MaxForEachItems)
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(scope, &base); err != nil {
		return permanent("internal", "scope: %v", err)
	}
	var outer map[string]json.RawMessage
	_ = json.Unmarshal(base["steps"], &outer)

	// Keep the lease while the items run.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(e.o.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if nl, err := e.o.Store.Extend(ctx, l, e.o.LeaseTTL); err == nil {
					l = nl
				}
			}
		}
	}()

	conc := max(fe.Concurrency, 1)
	results := make([]json.RawMessage, len(items))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first *stepFailure
		sem   = make(chan struct{}, conc)
	)
	for i, item := range items {
		mu.Lock()
		stopped := first != nil
		mu.Unlock()
		if stopped {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, f := e.forEachItem(ctx, it, cs, i, item, base, outer)
			mu.Lock()
			defer mu.Unlock()
			if f != nil {
				if first == nil {
					f.msg = fmt.Sprintf("item %d: %s", i, f.msg)
					first = f
				}
				return
			}
			results[i] = res
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	out, _ := json.Marshal(results)
	if len(out) > maxForEachOutput {
		out = mustJSON(map[string]any{"count": len(items), "truncated": true})
	}
	rec.Output = out
	return nil
}

// forEachItem runs the nested steps for item index i, skipping those its progress records.
func (e *Engine) forEachItem(ctx context.Context, it ledger.Item, cs *automation.CompiledStep, i int, item json.RawMessage,
	base, outer map[string]json.RawMessage) (json.RawMessage, *stepFailure) {
	key := ledger.ObjectKey{Kind: "foreach", Consumer: it.Consumer, ID: fmt.Sprintf("%s/%s/%d", it.Run, cs.Step.ID, i)}
	var p progress
	var version uint64
	if o, err := e.o.Store.Object(ctx, key); err == nil {
		_ = json.Unmarshal(o.Value, &p)
		version = o.Version
	} else if !errors.Is(err, ledger.ErrNotFound) {
		return nil, &stepFailure{kind: "store", msg: err.Error(), retryable: true}
	}
	if p.Steps == nil {
		p.Steps = map[string]json.RawMessage{}
	}
	if p.Done {
		return result(&p), nil
	}
	if w := cs.Condition; w != nil {
		var sources map[string]any
		_ = json.Unmarshal(itemScope(base, outer, &p, item), &sources)
		ok, err := w.Eval(sources)
		if err != nil {
			return nil, permanent("condition", "%v", err)
		}
		if !ok {
			p.Filtered, p.Done = true, true
			return nil, e.saveProgress(ctx, key, &p, &version)
		}
	}
	for _, ns := range cs.Steps {
		if _, done := p.Steps[ns.Step.ID]; done {
			continue
		}
		var rec StepRecord
		filtered, f := e.execute(ctx, ledger.Lease{}, it, ns, i, itemScope(base, outer, &p, item), &rec)
		if f != nil {
			return nil, f
		}
		p.Steps[ns.Step.ID] = orNull(rec.Output)
		if filtered {
			p.Filtered = true
			break
		}
		if err := e.saveProgress(ctx, key, &p, &version); err != nil {
			return nil, err
		}
	}
	p.Done = true
	if err := e.saveProgress(ctx, key, &p, &version); err != nil {
		return nil, err
	}
	return result(&p), nil
}

func result(p *progress) json.RawMessage {
	if p.Filtered {
		return json.RawMessage("null")
	}
	return mustJSON(p.Steps)
}

func (e *Engine) saveProgress(ctx context.Context, key ledger.ObjectKey, p *progress, version *uint64) *stepFailure {
	v, err := e.o.Store.Put(ctx, key, mustJSON(p), *version)
	if err != nil {
		return &stepFailure{kind: "store", msg: err.Error(), retryable: true}
	}
	*version = v
	return nil
}

// itemScope is the scope of a nested step: the forEach's, with item set and the outputs of the
// item's completed nested steps added to steps.
func itemScope(base, outer map[string]json.RawMessage, p *progress, item json.RawMessage) []byte {
	steps := make(map[string]json.RawMessage, len(outer)+len(p.Steps))
	for k, v := range outer {
		steps[k] = v
	}
	for k, v := range p.Steps {
		steps[k] = mustJSON(map[string]json.RawMessage{"output": v})
	}
	sc := make(map[string]json.RawMessage, len(base)+1)
	for k, v := range base {
		sc[k] = v
	}
	sc["steps"] = mustJSON(steps)
	sc["item"] = item
	return mustJSON(sc)
}
