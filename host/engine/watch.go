package engine

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/ledger"
)

// UpdateKind says what an [Update] reports.
type UpdateKind string

// The kinds of Update, in the order a run makes them: steps as they complete, a respond step's
// reply, the run's end.
const (
	UpdateStep  UpdateKind = "step"
	UpdateReply UpdateKind = "reply"
	UpdateEnd   UpdateKind = "end"
)

// Update is news of the run of a watched event.
type Update struct {
	Kind UpdateKind `json:"kind"`
	Run  string     `json:"run"`
	// Step is the step that completed (UpdateStep, UpdateReply).
	Step string `json:"step,omitempty"`
	// Output is the step's output (UpdateStep), the respond step's {status, headers, body}
	// (UpdateReply), or the run's output (UpdateEnd: the last step's).
	Output json.RawMessage `json:"output,omitempty"`
	// Status is the run's final status (UpdateEnd).
	Status ledger.Status `json:"status,omitempty"`
	// Error is the failed step's error (UpdateEnd of a failed or dead run).
	Error *StepError `json:"error,omitempty"`
}

// watchBuffer holds every update of one run: at most one per top-level step (schemas allow 100),
// one reply and the end, so publishing never blocks and never drops the end.
const watchBuffer = 128

// recentEnds bounds the ends kept for sync automations' events that nobody watched yet.
const recentEnds = 4096

// watchers are the open watches by event id, and the recent ends of sync automations' runs,
// kept for a watch that registers after its run already ended (a caller registers once Accept
// returned, and a fast run may end first).
type watchers struct {
	mu     sync.Mutex
	open   map[string][]chan Update
	recent map[string][]Update // event → its reply and end
	order  []string            // recent's keys, oldest first
}

// Watch reports the run of the trigger event eventID: one Update per top-level step completed,
// a reply when a respond step runs, and its end, after which the channel is closed. Runs called
// by it are not reported. stop ends the watch early; call it when done. The run must be of an
// automation whose respond is "sync" for a watch registered after the run ended to see its
// reply and end.
func (e *Engine) Watch(eventID string) (updates <-chan Update, stop func()) {
	w := &e.watch
	ch := make(chan Update, watchBuffer)
	w.mu.Lock()
	defer w.mu.Unlock()
	if past, ok := w.recent[eventID]; ok {
		for _, u := range past {
			ch <- u
		}
		if past[len(past)-1].Kind == UpdateEnd {
			close(ch)
			return ch, func() {}
		}
	}
	if w.open == nil {
		w.open = map[string][]chan Update{}
	}
	w.open[eventID] = append(w.open[eventID], ch)
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		list := w.open[eventID]
		for i, c := range list {
			if c == ch {
				w.open[eventID] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(w.open[eventID]) == 0 {
			delete(w.open, eventID)
		}
	}
}

// publish sends u to the watches of the event; keep records replies and ends for late watches.
func (e *Engine) publish(eventID string, u Update, keep bool) {
	w := &e.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.open[eventID] {
		select {
		case ch <- u:
		default: // a full buffer: only step updates can overflow it (a step replayed many times)
		}
		if u.Kind == UpdateEnd {
			close(ch)
		}
	}
	if u.Kind == UpdateEnd {
		delete(w.open, eventID)
	}
	if !keep || u.Kind == UpdateStep {
		return
	}
	if w.recent == nil {
		w.recent = map[string][]Update{}
	}
	if _, ok := w.recent[eventID]; !ok {
		w.order = append(w.order, eventID)
		if len(w.order) > recentEnds {
			delete(w.recent, w.order[0])
			w.order = w.order[1:]
		}
	}
	w.recent[eventID] = append(w.recent[eventID], u)
}

// watched reports whether the event has a watch, or its automation answers webhooks in sync.
func (e *Engine) watched(ctx context.Context, it ledger.Item) (watch, sync bool) {
	e.watch.mu.Lock()
	watch = len(e.watch.open[it.Event]) > 0
	e.watch.mu.Unlock()
	if p, err := e.o.Automations.Program(ctx, it.Consumer, it.Automation); err == nil {
		sync = p.Automation.Respond == automation.RespondSync
	}
	return watch, sync
}

// published reports settled steps (and a run's end) to the event's watches. It is called after
// the commit that settled them, for top-level runs only; kinds are the records' step kinds.
func (e *Engine) published(ctx context.Context, it ledger.Item, run *ledger.Run, recs []*StepRecord, kinds []automation.Kind) {
	if run == nil || it.Event == "" {
		return
	}
	var rd runData
	_ = json.Unmarshal(run.Data, &rd)
	if rd.Parent != nil {
		return
	}
	watch, sync := e.watched(ctx, it)
	if !watch && !sync {
		return
	}
	for i, rec := range recs {
		if rec.Status != "succeeded" {
			continue
		}
		u := Update{Kind: UpdateStep, Run: run.ID, Step: rec.ID, Output: rec.Output}
		if kinds[i] == automation.KindRespond {
			u.Kind = UpdateReply
		}
		e.publish(it.Event, u, sync)
	}
	switch run.Status {
	case ledger.Succeeded, ledger.Filtered, ledger.Failed, ledger.Dead:
		e.publish(it.Event, Update{Kind: UpdateEnd, Run: run.ID, Status: run.Status, Output: rd.Output, Error: rd.Error}, sync)
	}
}
