package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/ledger"
)

// Limits of forEach steps.
const (
	// MaxForEachItems bounds the items a forEach step runs, counting those of the forEach steps
	// nested in it.
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
	// Nested are the ids of the progress objects of the forEach steps nested in this item,
	// forgotten with it.
	Nested []string `json:"nested,omitempty"`
}

// loopItem is the forEach item nested steps run for.
type loopItem struct {
	path   []int         // the item's index in each enclosing forEach, outermost first
	budget *atomic.Int64 // items left to the outermost forEach
}

func (in *loopItem) indexes() []int {
	if in == nil {
		return nil
	}
	return in.path
}

// forEach runs the nested steps once per item of the array, at most Concurrency items at once.
// Each nested step's output is stored (an object per item) as soon as it completes; the
// outermost forEach's item lease is extended while it works. A failure of one item fails the
// forEach with that item's error: retryable errors retry the whole (outermost) forEach, whose
// completed items and steps are then skipped. in is the enclosing forEach's item, nil for an
// outermost forEach. On success rec.forget lists the progress objects to delete.
func (e *Engine) forEach(ctx context.Context, l ledger.Lease, it ledger.Item, cs *automation.CompiledStep, in *loopItem, scope []byte, rec *StepRecord) *stepFailure {
	fe := cs.Step.ForEach
	raw, missing := cs.Items.Eval(scope)
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		if len(missing) > 0 {
			return permanent("invalid_input", "forEach items %s: nothing at %v", fe.Items, missing)
		}
		return permanent("invalid_input", "forEach items %s is not an array", fe.Items)
	}
	if in == nil {
		in = &loopItem{budget: new(atomic.Int64)}
		in.budget.Store(MaxForEachItems)
	}
	if in.budget.Add(-int64(len(items))) < 0 {
		return permanent("invalid_input", "forEach over %d items: more than %d items in all under step %s", len(items), MaxForEachItems, cs.Step.ID)
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(scope, &base); err != nil {
		return permanent("internal", "scope: %v", err)
	}
	var outer map[string]json.RawMessage
	_ = json.Unmarshal(base["steps"], &outer)

	if l.Token != "" {
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
	}

	conc := max(fe.Concurrency, 1)
	results := make([]json.RawMessage, len(items))
	forget := make([][]string, len(items))
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
		here := &loopItem{path: append(slices.Clip(in.path), i), budget: in.budget}
		wg.Go(func() {
			defer func() { <-sem }()
			res, ids, f := e.forEachItem(ctx, it, cs, here, item, base, outer)
			mu.Lock()
			defer mu.Unlock()
			if f != nil {
				if first == nil {
					f.msg = fmt.Sprintf("item %s: %s", indexPath(here.path), f.msg)
					first = f
				}
				return
			}
			results[i], forget[i] = res, ids
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
	for _, ids := range forget {
		for _, id := range ids {
			rec.forget = append(rec.forget, ledger.ObjectKey{Kind: "foreach", Consumer: it.Consumer, ID: id})
		}
	}
	return nil
}

// forEachItem runs the nested steps for one item, skipping those its progress records. It
// returns the item's result and the ids of its progress object and those nested in it.
func (e *Engine) forEachItem(ctx context.Context, it ledger.Item, cs *automation.CompiledStep, in *loopItem, item json.RawMessage,
	base, outer map[string]json.RawMessage) (json.RawMessage, []string, *stepFailure) {
	id := fmt.Sprintf("%s/%s/%s", it.Run, cs.Step.ID, indexPath(in.path))
	key := ledger.ObjectKey{Kind: "foreach", Consumer: it.Consumer, ID: id}
	var p progress
	var version uint64
	if o, err := e.o.Store.Object(ctx, key); err == nil {
		_ = json.Unmarshal(o.Value, &p)
		version = o.Version
	} else if !errors.Is(err, ledger.ErrNotFound) {
		return nil, nil, &stepFailure{kind: "store", msg: err.Error(), retryable: true}
	}
	if p.Steps == nil {
		p.Steps = map[string]json.RawMessage{}
	}
	ids := func() []string { return append([]string{id}, p.Nested...) }
	if p.Done {
		return result(&p), ids(), nil
	}
	if w := cs.Condition; w != nil {
		var sources map[string]any
		_ = json.Unmarshal(itemScope(base, outer, &p, item), &sources)
		ok, err := w.Eval(sources)
		if err != nil {
			return nil, nil, permanent("condition", "%v", err)
		}
		if !ok {
			p.Filtered, p.Done = true, true
			return nil, ids(), e.saveProgress(ctx, key, &p, &version)
		}
	}
	for _, ns := range cs.Steps {
		if _, done := p.Steps[ns.Step.ID]; done {
			continue
		}
		var rec StepRecord
		filtered, f := e.execute(ctx, ledger.Lease{}, it, ns, in, itemScope(base, outer, &p, item), &rec)
		if f != nil {
			return nil, nil, f
		}
		p.Steps[ns.Step.ID] = orNull(rec.Output)
		for _, k := range rec.forget {
			p.Nested = append(p.Nested, k.ID)
		}
		if filtered {
			p.Filtered = true
			break
		}
		if err := e.saveProgress(ctx, key, &p, &version); err != nil {
			return nil, nil, err
		}
	}
	p.Done = true
	if err := e.saveProgress(ctx, key, &p, &version); err != nil {
		return nil, nil, err
	}
	return result(&p), ids(), nil
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
		// A progress the store refuses (too large) is refused again on retry.
		return &stepFailure{kind: "store", msg: err.Error(), retryable: !errors.Is(err, ledger.ErrInvalid)}
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
