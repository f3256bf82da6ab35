package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/internal/jsonscan"
	"github.com/splicehq/splice/host/internal/jsonw"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/queue"
	"github.com/splicehq/splice/host/sandbox"
	"github.com/splicehq/splice/host/validate"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stepFailure is a failed step: what to record and whether it may be retried (and after what).
type stepFailure struct {
	kind       string
	msg        string
	retryable  bool
	retryAfter time.Duration
}

func (f *stepFailure) Error() string { return f.kind + ": " + f.msg }

func permanent(kind, format string, args ...any) *stepFailure {
	return &stepFailure{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Chaining: an item runs its own step and then, in the same lease, the steps after it, and
// settles them all with one commit. A chain stops before a step that needs an item of its own
// (call, forEach), before a second action (so that an action's success is durable before any
// other action runs), after maxChain steps, and once it has held its lease for a quarter of the
// lease TTL; the next step then gets its own item, as every step once did. A chained step that
// starts after an eighth of the TTL extends the lease first, so each step has the whole TTL. A step that fails
// inside a chain is kept (ledger.Commit.Advance) as its run's item at that step, with the records
// of the steps before it committed, so a retry or a replay runs it and nothing before it.
const maxChain = 16

// chain is the work of one item: the run it works on and the step records it made so far,
// which one commit settles.
type chain struct {
	l      ledger.Lease
	prog   *automation.Program
	run    *ledger.Run
	newRun bool // the item starts the run: its commit creates the record
	first  int  // the item's own step; -1 for the start of a run
	began  time.Time

	steps  []ledger.Step
	recs   []*StepRecord // the records of steps, for the observer and the watches
	kinds  []automation.Kind
	forget []ledger.ObjectKey
	action bool // an action or a forEach ran: another must wait for a commit
}

func (ch *chain) add(key string, rec *StepRecord, kind automation.Kind) {
	ch.steps = append(ch.steps, ledger.Step{Run: ch.run.ID, Key: key, Data: rec.encode()})
	ch.recs = append(ch.recs, rec)
	ch.kinds = append(ch.kinds, kind)
}

// commit is the chain's commit so far: its step records, the progress objects to forget, the
// run's record when this commit creates it, and their activity.
func (ch *chain) commit() ledger.Commit {
	c := ledger.Commit{Steps: ch.steps, Forget: ch.forget, Activity: called(ch.l.Item.Consumer, ch.run.ID, ch.recs)}
	if ch.newRun {
		c.Run = ch.run
	}
	return c
}

// stepKey is the key of a step's record in its run: its index and id.
func stepKey(index int, id string) string { return fmt.Sprintf("%04d-%s", index, id) }

// step runs the step an item names, and the steps it chains, and settles the item.
func (e *Engine) step(ctx context.Context, l ledger.Lease, prog *automation.Program) error {
	it := l.Item
	var d itemData
	if err := json.Unmarshal(it.Data, &d); err != nil || d.Step < 0 || d.Step >= len(prog.Steps) || prog.Steps[d.Step].Step.ID != it.Step {
		return e.finish(ctx, l, nil, ledger.Failed, "", &StepError{Kind: "automation_changed",
			Message: fmt.Sprintf("step %q is no longer step %d of the automation", it.Step, d.Step)}, ledger.DeadLetter)
	}
	cs := prog.Steps[d.Step]
	run, err := e.o.Store.Run(ctx, it.Consumer, it.Run)
	if err != nil {
		return fmt.Errorf("engine: run %s: %w", it.Run, err)
	}
	if d.Resume != nil {
		// A call step resumes once: a resume item for a step already past waiting (one replayed
		// from the dead letter after a newer resume went through) is stale.
		if rec, ok, err := e.stepRecord(ctx, it.Consumer, it.Run, stepKey(d.Step, cs.Step.ID)); err != nil {
			return err
		} else if ok && rec.Status != "waiting" && rec.Status != "failed" || run.Status == ledger.Succeeded {
			return e.o.Store.Ack(ctx, l, ledger.Commit{})
		}
	}
	sc, err := e.scope(ctx, it, &run, prog)
	if err != nil {
		return err
	}
	return e.runSteps(ctx, &chain{l: l, prog: prog, run: &run, first: d.Step, began: e.o.Now()}, d, sc)
}

// urgentDue is the due time of the next item of a run of prog, written at now: ledger.UrgentDue
// for a sync webhook's automation, whose caller is waiting for the run (its first item was urgent
// too), else zero (at once, behind the items already waiting).
func urgentDue(prog *automation.Program, now time.Time) time.Time {
	if prog.Automation.Respond == automation.RespondSync {
		return ledger.UrgentDue(now)
	}
	return time.Time{}
}

// chains reports whether a chain may go on with a step of the kind, or must commit first.
func (e *Engine) chains(ch *chain, kind automation.Kind) bool {
	switch {
	case kind == automation.KindCall, kind == automation.KindForEach:
		return false
	case kind == automation.KindAction && ch.action:
		return false
	case len(ch.steps) >= maxChain:
		return false
	}
	return e.o.Now().Sub(ch.began) < e.o.LeaseTTL/4
}

// runSteps runs the chain's steps from its own (d names it) or, for the start of a run, from the
// first, and settles the item.
func (e *Engine) runSteps(ctx context.Context, ch *chain, d itemData, sc *scopeDoc) (err error) {
	l, it, prog := ch.l, ch.l.Item, ch.prog
	defer func() {
		if err == nil {
			e.report(ctx, it, ch)
		}
	}()
	it.Run = ch.run.ID // the start of a run has none yet
	for i := max(ch.first, 0); ; i++ {
		cs := prog.Steps[i]
		kind := cs.Step.Kind()
		own := i == ch.first
		key := stepKey(i, cs.Step.ID)
		if !own && !e.chains(ch, kind) {
			c := ch.commit()
			if ch.run.Status != ledger.Running {
				ch.run.Status, ch.run.UpdatedAt = ledger.Running, time.Time{}
				c.Run = ch.run
			}
			c.Next = []ledger.NewItem{{Automation: it.Automation, Event: it.Event, Run: ch.run.ID, Step: cs.Step.ID, Data: mustJSON(itemData{Step: i}),
				Due: urgentDue(prog, e.o.Now())}}
			return e.o.Store.Ack(ctx, l, c)
		}
		if !own && e.o.Now().Sub(ch.began) > e.o.LeaseTTL/8 {
			// The step gets the whole lease TTL, as the first did.
			nl, err := e.o.Store.Extend(ctx, l, e.o.LeaseTTL)
			if err != nil {
				return fmt.Errorf("engine: extend the lease of item %s: %w", it.ID, err)
			}
			l, ch.l = nl, nl
		}
		scope := sc.bytes()
		start := e.o.Now()
		rec := &StepRecord{ID: cs.Step.ID, Kind: kind, Attempts: 1, StartedAt: start}
		if own {
			rec.Attempts = it.Attempts + 1
		}
		var filtered bool
		var fail *stepFailure
		if kind == automation.KindCall {
			if d.Resume == nil {
				return e.startCall(ctx, l, ch.run, cs, i, scope)
			}
			fail = resumeCall(d.Resume, rec)
		} else {
			filtered, fail = e.execute(ctx, l, it, cs, nil, scope, rec)
		}
		rec.DurationMS = float64(time.Since(start).Microseconds()) / 1000

		switch {
		case fail != nil && e.shuttingDown():
			// Cut short by shutdown, not failed: the step is left to run again, as it was.
			if !ch.newRun && len(ch.steps) == 0 {
				return e.o.Store.Release(ctx, l)
			}
			c := ch.commit()
			c.Next = []ledger.NewItem{{Automation: it.Automation, Event: it.Event, Run: ch.run.ID, Step: cs.Step.ID, Data: mustJSON(itemData{Step: i}),
				Due: urgentDue(prog, e.o.Now())}}
			return e.o.Store.Ack(ctx, l, c)
		case fail != nil:
			rec.Status = "failed"
			rec.Error = &StepError{Kind: fail.kind, Message: fail.msg, Retryable: fail.retryable}
			ch.add(key, rec, kind)
			c := ch.commit()
			if !own {
				c.Advance = &ledger.Advance{Run: ch.run.ID, Step: cs.Step.ID, Data: mustJSON(itemData{Step: i})}
			}
			return e.fail(ctx, l, ch.run, prog, rec, fail, c)
		case filtered:
			rec.Status = "filtered"
			ch.add(key, rec, kind)
			return e.finishWith(ctx, l, ch.run, ledger.Filtered, nil, "", ch.commit(), ledger.Done, "run.filtered")
		}
		rec.Status = "succeeded"
		ch.add(key, rec, kind)
		ch.forget = append(ch.forget, rec.forget...)
		if kind == automation.KindAction || kind == automation.KindForEach {
			ch.action = true
		}
		if i+1 == len(prog.Steps) {
			return e.finishWith(ctx, l, ch.run, ledger.Succeeded, rec.Output, "", ch.commit(), ledger.Done, "run.succeeded")
		}
		sc.add(rec.ID, rec.Output)
	}
}

// fail settles a failed step: retry later when the error allows it and attempts remain, else the
// run ends failed (a permanent error) or dead (retries exhausted). Either way the item goes to
// the dead letter, from which Replay takes it back. c holds the step records to store.
func (e *Engine) fail(ctx context.Context, l ledger.Lease, run *ledger.Run, prog *automation.Program, rec *StepRecord, f *stepFailure, c ledger.Commit) error {
	it := l.Item
	if f.retryable {
		dec := e.policy(prog).Next(rec.Attempts, f.retryAfter, e.o.Rand)
		if !dec.Dead {
			run.Status, run.UpdatedAt = ledger.Retrying, time.Time{}
			c.Disposition, c.Due, c.LastError, c.Run = ledger.RetryAt, e.o.Now().Add(dec.Delay), f.Error(), run
			c.Activity = append(c.Activity, ledger.Activity{Consumer: it.Consumer, Kind: "step.retried",
				Data: mustJSON(map[string]any{"run": run.ID, "step": rec.ID, "attempt": rec.Attempts, "error": f.Error(), "retryInMs": dec.Delay.Milliseconds()})})
			return e.o.Store.Ack(ctx, l, c)
		}
		return e.finishWith(ctx, l, run, ledger.Dead, nil, rec.ID, c, ledger.DeadLetter, "run.dead", rec.Error)
	}
	return e.finishWith(ctx, l, run, ledger.Failed, nil, rec.ID, c, ledger.DeadLetter, "run.failed", rec.Error)
}

// finish ends a run whose record could not be read as usual.
func (e *Engine) finish(ctx context.Context, l ledger.Lease, run *ledger.Run, status ledger.Status, failed string, se *StepError, disp ledger.Disposition) error {
	if run == nil {
		r, err := e.o.Store.Run(ctx, l.Item.Consumer, l.Item.Run)
		if err != nil {
			return fmt.Errorf("engine: run %s: %w", l.Item.Run, err)
		}
		run = &r
	}
	return e.finishWith(ctx, l, run, status, nil, failed, ledger.Commit{}, disp, "run.failed", se)
}

// finishWith sets the run's final status and settles the item, with c's step records (and their
// activity) and the run's activity entry, in one commit.
func (e *Engine) finishWith(ctx context.Context, l ledger.Lease, run *ledger.Run, status ledger.Status, output json.RawMessage,
	failedStep string, c ledger.Commit, disp ledger.Disposition, activity string, se ...*StepError) error {
	var rd runData
	_ = json.Unmarshal(run.Data, &rd)
	rd.Output, rd.FailedStep, rd.Error = output, failedStep, nil
	if len(se) > 0 {
		rd.Error = se[0]
	}
	run.Status, run.UpdatedAt, run.Data = status, time.Time{}, mustJSON(rd)
	c.Disposition, c.Run = disp, run
	c.Activity = append(c.Activity, runActivity(l.Item.Consumer, activity, run))
	if p := rd.Parent; p != nil {
		// A called run's end resumes its caller's call step, in the same commit.
		c.Next = []ledger.NewItem{{Automation: p.Automation, Event: run.Event, Run: p.Run, Step: p.Step,
			Data: mustJSON(itemData{Step: p.Index, Resume: &callOutcome{Run: run.ID, Status: status, Output: output, Error: rd.Error}})}}
	}
	if disp != ledger.Done && rd.Error != nil {
		c.LastError = rd.Error.Kind + ": " + rd.Error.Message
	}
	return e.o.Store.Ack(ctx, l, c)
}

// policy is the engine's retry policy with the automation's overrides.
func (e *Engine) policy(prog *automation.Program) queue.Policy {
	p := e.o.Retry
	if r := prog.Automation.Retry; r != nil {
		if r.MaxAttempts > 0 {
			p.MaxAttempts = r.MaxAttempts
		}
		if r.BaseDelayMS > 0 {
			p.BaseDelay = time.Duration(r.BaseDelayMS) * time.Millisecond
		}
		if r.MaxDelayMS > 0 {
			p.MaxDelay = time.Duration(r.MaxDelayMS) * time.Millisecond
		}
	}
	return p
}

// scopeDoc is the document templates and conditions read: the event's payload, the outputs of
// the steps run so far, and the run's identity.
type scopeDoc struct {
	Trigger    json.RawMessage            `json:"trigger"`
	Steps      map[string]json.RawMessage `json:"steps"`
	Automation map[string]string          `json:"automation"`
	Run        map[string]string          `json:"run"`
	Consumer   map[string]string          `json:"consumer"`
}

// add makes a step's output readable as steps.<id>.output.
func (s *scopeDoc) add(id string, output json.RawMessage) {
	out := compactJSON(orNull(output))
	b := make([]byte, 0, len(out)+12)
	b = append(b, `{"output":`...)
	b = append(b, out...)
	s.Steps[id] = append(b, '}')
}

// bytes is the scope as one JSON document. It is written by hand, not by encoding/json, which
// would validate and compact the trigger and every output again for each step: newScope and add
// compacted them once.
func (s *scopeDoc) bytes() []byte {
	n := len(s.Trigger) + 256
	for _, v := range s.Steps {
		n += len(v) + 32
	}
	b := make([]byte, 0, n)
	b = append(b, `{"trigger":`...)
	b = append(b, s.Trigger...)
	b = append(b, `,"steps":{`...)
	for i, id := range slices.Sorted(maps.Keys(s.Steps)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.String(b, id)
		b = append(b, ':')
		b = append(b, s.Steps[id]...)
	}
	b = append(b, '}')
	for _, m := range []struct {
		name string
		v    map[string]string
	}{{"automation", s.Automation}, {"run", s.Run}, {"consumer", s.Consumer}} {
		b = append(b, ',')
		b = jsonw.String(b, m.name)
		b = append(b, ':')
		b = jsonw.StringMap(b, m.v)
	}
	return append(b, '}')
}

// compactJSON returns b compacted, or b itself when it is not valid JSON (the caller's
// validation reports that).
func compactJSON(b json.RawMessage) json.RawMessage {
	if jsonscan.Compact(b) {
		return b // as compaction would leave it (or not JSON, which the caller's validation reports)
	}
	var buf bytes.Buffer
	buf.Grow(len(b))
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// newScope returns the scope of a run with no step run yet.
func (e *Engine) newScope(ctx context.Context, it ledger.Item, run *ledger.Run, prog *automation.Program) (*scopeDoc, error) {
	var rd runData
	_ = json.Unmarshal(run.Data, &rd)
	trigger := rd.Input // a called run's trigger is its caller's input
	if rd.Parent == nil {
		ev, err := e.o.Store.Event(ctx, it.Consumer, it.Event)
		if err != nil {
			return nil, fmt.Errorf("engine: event %s: %w", it.Event, err)
		}
		trigger = ev.Payload
	}
	return &scopeDoc{
		Trigger:    compactJSON(orNull(trigger)),
		Steps:      map[string]json.RawMessage{},
		Automation: map[string]string{"id": run.Automation, "name": prog.Automation.Name},
		Run:        map[string]string{"id": run.ID, "event": run.Event},
		Consumer:   map[string]string{"key": it.Consumer},
	}, nil
}

// scope returns the scope of a run with the outputs of the steps it has stored.
func (e *Engine) scope(ctx context.Context, it ledger.Item, run *ledger.Run, prog *automation.Program) (*scopeDoc, error) {
	sc, err := e.newScope(ctx, it, run, prog)
	if err != nil {
		return nil, err
	}
	for p := (ledger.Page{Limit: ledger.MaxPageSize}); ; {
		steps, next, err := e.o.Store.Steps(ctx, it.Consumer, it.Run, p)
		if err != nil {
			return nil, fmt.Errorf("engine: steps of run %s: %w", it.Run, err)
		}
		for _, s := range steps {
			var rec StepRecord
			if json.Unmarshal(s.Data, &rec) == nil && rec.Status == "succeeded" {
				sc.add(rec.ID, rec.Output)
			}
		}
		if next == "" {
			return sc, nil
		}
		p.Cursor = next
	}
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// execute runs one step and fills rec; filtered reports a filter that stopped the run. in is the
// forEach item a nested step runs for (nil outside any forEach), whose indexes its idempotency key
// includes; l is the lease a forEach keeps alive (the zero Lease for nested steps).
func (e *Engine) execute(ctx context.Context, l ledger.Lease, it ledger.Item, cs *automation.CompiledStep, in *loopItem, scope []byte, rec *StepRecord) (filtered bool, fail *stepFailure) {
	s := cs.Step
	switch s.Kind() {
	case automation.KindFilter:
		var sources map[string]any
		if err := json.Unmarshal(scope, &sources); err != nil {
			return false, permanent("internal", "scope: %v", err)
		}
		ok, err := cs.Condition.Eval(sources)
		if err != nil {
			return false, permanent("condition", "%v", err)
		}
		rec.Output = mustJSON(ok)
		return !ok, nil
	case automation.KindRespond:
		out, _ := cs.Input.Eval(scope)
		rec.Output = out
		return false, nil
	case automation.KindTransform, automation.KindAction:
		return false, e.call(ctx, it, cs, in.indexes(), scope, rec)
	case automation.KindForEach:
		return false, e.forEach(ctx, l, it, cs, in, scope, rec)
	}
	return false, permanent("unsupported", "%s steps are not run by this version of the engine", s.Kind())
}

// call runs an action or a transform of a connector.
func (e *Engine) call(ctx context.Context, it ledger.Item, cs *automation.CompiledStep, index []int, scope []byte, rec *StepRecord) *stepFailure {
	s := cs.Step
	conn, err := e.o.Connectors.Active(ctx, s.AppKey)
	if err != nil {
		return permanent("connector", "app %s: %v", s.AppKey, err)
	}
	m := conn.Manifest()
	var inSchema, outSchema json.RawMessage
	key, export := s.ActionKey, abi.ExportAction
	if s.Kind() == automation.KindTransform {
		key, export = s.TransformKey, abi.ExportTransform
		t, ok := m.Transform(key)
		if !ok {
			return permanent("connector", "%s has no transform %q", s.AppKey, key)
		}
		inSchema, outSchema = t.InputSchema, t.OutputSchema
	} else {
		a, ok := m.Action(key)
		if !ok {
			return permanent("connector", "%s has no action %q", s.AppKey, key)
		}
		inSchema, outSchema = a.InputSchema, a.OutputSchema
	}
	rec.App, rec.Key = s.AppKey, key
	ev := cs.Input.Evaluate(scope)
	input := ev.Out
	rec.Input = redactInput(inSchema, input)
	for _, h := range ev.Holes {
		if requiredAt(inSchema, h) {
			return permanent("invalid_input", "input %s is required by the inputSchema of %s, and nothing is at %s",
				pointerOrRoot(h), key, strings.Join(ev.Missing, ", "))
		}
	}
	if err := e.validate(inSchema, input); err != nil {
		return permanent("invalid_input", "%v", err)
	}
	var doc []byte
	sessOpts := broker.SessionOptions{Consumer: it.Consumer, Manifest: m, Credential: s.CredentialKey}
	if export == abi.ExportAction {
		doc = callDoc("idempotencyKey", IdempotencyKey(it.Run, s.ID, index...), "key", key, "params", input)
	} else {
		doc = callDoc("", "", "key", key, "input", input)
		sessOpts.Manifest = &abi.Manifest{AppKey: m.AppKey} // transforms are pure: no host allowed
	}
	sess := e.o.Broker.Session(sessOpts)
	cctx, cancel := e.callContext(ctx)
	defer cancel()
	res, err := conn.CallWith(cctx, sandbox.CallOptions{Consumer: it.Consumer, Export: export, Input: doc, HTTP: sess})
	rec.Exchanges = sess.Exchanges()
	e.observeCall(export, err, rec.Exchanges)
	if res != nil {
		rec.Logs = res.Logs
	}
	if err != nil {
		return classify(err, sess)
	}
	output, err := abi.DecodeValidOutput(res.Output) // the sandbox checked it is JSON
	if err != nil || len(output) == 0 {
		return permanent("invalid_output", "the %s export's output has no \"output\" member", export)
	}
	rec.Output = compactJSON(output)
	if err := e.validateJSON(outSchema, rec.Output); err != nil { // compacted from the checked output
		return permanent("invalid_output", "%v", err)
	}
	return nil
}

// callDoc is the input document of an action or transform call, {k0: v0, k1: v1, k2: raw} in
// key order (k0 may be empty: left out), with raw (the mapped input, valid JSON) copied as is.
func callDoc(k0, v0, k1, v1, k2 string, raw json.RawMessage) []byte {
	b := make([]byte, 0, len(raw)+len(v0)+len(v1)+64)
	b = append(b, '{')
	if k0 != "" {
		b = jsonw.String(b, k0)
		b = append(b, ':')
		b = jsonw.String(b, v0)
		b = append(b, ',')
	}
	b = jsonw.String(b, k1)
	b = append(b, ':')
	b = jsonw.String(b, v1)
	b = append(b, ',')
	b = jsonw.String(b, k2)
	b = append(b, ':')
	b = append(b, orNull(raw)...)
	return append(b, '}')
}

// classify decides whether a failed call may be retried: timeouts may; a guest error may when
// the last HTTP exchange of the call was a 5xx, a 429 or a transport failure (the upstream's
// trouble, not the request's); nothing else may.
func classify(err error, sess *broker.Session) *stepFailure {
	kind := sandbox.KindOf(err)
	f := &stepFailure{kind: string(kind), msg: err.Error(), retryAfter: sess.RetryAfter()}
	switch kind {
	case sandbox.KindTimeout:
		f.retryable = true
	case sandbox.KindGuest:
		if ex := sess.Exchanges(); len(ex) > 0 {
			last := ex[len(ex)-1]
			switch {
			case last.Status >= 500, last.Status == 429:
				f.retryable = true
			case last.Error != nil && (last.Error.Kind == broker.KindTimeout || last.Error.Kind == broker.KindConnection):
				f.retryable = true
			}
		}
	}
	if f.retryAfter > 0 {
		f.retryable = true
	}
	return f
}

func (e *Engine) validate(schema, doc json.RawMessage) error {
	s, err := e.schema(schema)
	if s == nil || err != nil {
		return err
	}
	return s.Validate(doc)
}

// validateJSON is validate for a doc known to be JSON: a guest's output (the sandbox checked it)
// or part of one.
func (e *Engine) validateJSON(schema, doc json.RawMessage) error {
	s, err := e.schema(schema)
	if s == nil || err != nil {
		return err
	}
	return s.ValidateJSON(doc)
}

// schema returns the compiled schema (nil for none), compiled once.
func (e *Engine) schema(schema json.RawMessage) (*validate.Schema, error) {
	if len(schema) == 0 {
		return nil, nil
	}
	v, ok := e.schemas.Load(string(schema))
	if !ok {
		s, err := validate.Compile(schema)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		v, _ = e.schemas.LoadOrStore(string(schema), s)
	}
	return v.(*validate.Schema), nil
}

// requiredAt reports whether the schema requires a value at the JSON pointer: its parent's
// schema (following properties and items) lists the last segment in required.
func requiredAt(schema json.RawMessage, pointer string) bool {
	if pointer == "" || len(schema) == 0 {
		return pointer == "" && len(schema) > 0 // the whole input missing
	}
	var sch map[string]any
	if json.Unmarshal(schema, &sch) != nil {
		return false
	}
	segs := strings.Split(pointer[1:], "/")
	for i, seg := range segs {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		if i == len(segs)-1 {
			req, _ := sch["required"].([]any)
			for _, r := range req {
				if r == seg {
					return true
				}
			}
			return false
		}
		props, _ := sch["properties"].(map[string]any)
		next, _ := props[seg].(map[string]any)
		if next == nil {
			next, _ = sch["items"].(map[string]any)
		}
		if next == nil {
			return false
		}
		sch = next
	}
	return false
}

func pointerOrRoot(p string) string {
	if p == "" {
		return "(the whole input)"
	}
	return p
}

// redactInput masks the values the input schema marks "secret": true, at any depth of
// properties and array items.
func redactInput(schema, input json.RawMessage) json.RawMessage {
	if !bytes.Contains(schema, []byte(`"secret"`)) {
		return input
	}
	var sch map[string]any
	if json.Unmarshal(schema, &sch) != nil {
		return input
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return input
	}
	out, changed := redactValue(sch, v, 0)
	if !changed {
		return input
	}
	return mustJSON(out)
}

func redactValue(sch map[string]any, v any, depth int) (any, bool) {
	if depth > 32 {
		return v, false
	}
	if s, _ := sch["secret"].(bool); s {
		return "[redacted]", true
	}
	changed := false
	switch x := v.(type) {
	case map[string]any:
		props, _ := sch["properties"].(map[string]any)
		for k, pv := range x {
			ps, ok := props[k].(map[string]any)
			if !ok {
				continue
			}
			if nv, c := redactValue(ps, pv, depth+1); c {
				x[k], changed = nv, true
			}
		}
	case []any:
		items, _ := sch["items"].(map[string]any)
		if items == nil {
			return v, false
		}
		for i, iv := range x {
			if nv, c := redactValue(items, iv, depth+1); c {
				x[i], changed = nv, true
			}
		}
	}
	return v, changed
}

// startCall starts the run a call step asks for: the called automation's run is created with the
// step's input as its trigger, and its first step enqueued, in the commit that settles the call
// step's item. The called run's end enqueues the call step again, with the outcome (resumeCall).
func (e *Engine) startCall(ctx context.Context, l ledger.Lease, run *ledger.Run, cs *automation.CompiledStep, index int, scope []byte) error {
	it := l.Item
	call := cs.Step.Call
	var rd runData
	_ = json.Unmarshal(run.Data, &rd)
	key := stepKey(index, cs.Step.ID)
	failWith := func(f *stepFailure) error {
		rec := StepRecord{ID: cs.Step.ID, Kind: automation.KindCall, Status: "failed", Attempts: it.Attempts + 1, StartedAt: e.o.Now(),
			Error: &StepError{Kind: f.kind, Message: f.msg}}
		return e.finishWith(ctx, l, run, ledger.Failed, nil, cs.Step.ID, ledger.Commit{Steps: []ledger.Step{{Run: it.Run, Key: key, Data: mustJSON(rec)}}},
			ledger.DeadLetter, "run.failed", rec.Error)
	}
	if rd.Depth+1 > MaxCallDepth {
		return failWith(permanent("call_depth", "runs calling runs deeper than %d", MaxCallDepth))
	}
	prog, err := e.o.Automations.Program(ctx, it.Consumer, call.Automation)
	if err != nil {
		return failWith(permanent("call", "automation %s: %v", call.Automation, err))
	}
	input, _ := cs.Input.Eval(scope)
	child := &ledger.Run{ID: ledger.NewID(e.o.Now()), Automation: call.Automation, Event: it.Event, Status: ledger.Running,
		Data: mustJSON(runData{AutomationName: prog.Automation.Name, Input: input, Depth: rd.Depth + 1,
			Parent: &parentRef{Run: run.ID, Automation: run.Automation, Step: cs.Step.ID, Index: index}})}
	c := ledger.Commit{Run: child, Steps: []ledger.Step{{Run: it.Run, Key: key, Data: mustJSON(StepRecord{ID: cs.Step.ID, Kind: automation.KindCall,
		Status: "waiting", Attempts: it.Attempts + 1, StartedAt: e.o.Now(), Input: input, Output: mustJSON(map[string]string{"run": child.ID})})}}}
	if len(prog.Steps) == 0 {
		child.Status = ledger.Succeeded
		c.Next = []ledger.NewItem{{Automation: run.Automation, Event: it.Event, Run: run.ID, Step: cs.Step.ID,
			Data: mustJSON(itemData{Step: index, Resume: &callOutcome{Run: child.ID, Status: ledger.Succeeded}})}}
	} else {
		c.Next = []ledger.NewItem{{Automation: call.Automation, Event: it.Event, Run: child.ID, Step: prog.Steps[0].Step.ID, Data: mustJSON(itemData{Step: 0})}}
	}
	return e.o.Store.Ack(ctx, l, c)
}

// resumeCall records a call step from the outcome of the run it called: its output when it
// succeeded (null when it was filtered), a permanent failure otherwise.
func resumeCall(o *callOutcome, rec *StepRecord) *stepFailure {
	switch o.Status {
	case ledger.Succeeded, ledger.Filtered:
		rec.Output = orNull(o.Output)
		return nil
	}
	msg := fmt.Sprintf("the called run %s ended %s", o.Run, o.Status)
	if o.Error != nil {
		msg += ": " + o.Error.Kind + ": " + o.Error.Message
	}
	return permanent("call", "%s", msg)
}

// stepRecord returns the record stored under a run's step key.
func (e *Engine) stepRecord(ctx context.Context, consumer, runID, key string) (StepRecord, bool, error) {
	for p := (ledger.Page{Limit: ledger.MaxPageSize}); ; {
		steps, next, err := e.o.Store.Steps(ctx, consumer, runID, p)
		if err != nil {
			return StepRecord{}, false, fmt.Errorf("engine: steps of run %s: %w", runID, err)
		}
		for _, s := range steps {
			if s.Key == key {
				var rec StepRecord
				err := json.Unmarshal(s.Data, &rec)
				return rec, err == nil, err
			}
		}
		if next == "" {
			return StepRecord{}, false, nil
		}
		p.Cursor = next
	}
}

// report tells the observer and the event's watches of the steps a chain settled, and of the
// run's end when it ended. It is called after the commit.
func (e *Engine) report(ctx context.Context, it ledger.Item, ch *chain) {
	for _, rec := range ch.recs {
		if rec.Status != "" && rec.Status != "waiting" {
			e.o.Observer.Step(string(rec.Kind), rec.Status, time.Duration(rec.DurationMS*float64(time.Millisecond)))
		}
	}
	switch ch.run.Status {
	case ledger.Succeeded, ledger.Filtered, ledger.Failed, ledger.Dead:
		e.o.Observer.RunEnded(string(ch.run.Status))
	}
	e.published(ctx, it, ch.run, ch.recs, ch.kinds)
}

// observeCall reports a guest call and its outbound requests.
func (e *Engine) observeCall(export string, err error, exchanges []broker.Exchange) {
	outcome := "ok"
	if err != nil {
		outcome = string(sandbox.KindOf(err))
	}
	e.o.Observer.GuestCall(export, outcome)
	for _, x := range exchanges {
		switch {
		case x.Error != nil:
			e.o.Observer.BrokerRequest(string(x.Error.Kind))
		case x.Status >= 100 && x.Status < 600:
			e.o.Observer.BrokerRequest(strconv.Itoa(x.Status/100) + "xx")
		}
	}
}
