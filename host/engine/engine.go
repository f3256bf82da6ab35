package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/internal/jsonw"
	"github.com/splicehq/splice/host/internal/yield"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/queue"
	"github.com/splicehq/splice/host/sandbox"
)

// Connectors finds the active version of an app in the engine's environment.
type Connectors interface {
	Active(ctx context.Context, appKey string) (*connector.Connector, error)
}

// Automations finds a consumer's automation, compiled.
type Automations interface {
	Program(ctx context.Context, consumer, id string) (*automation.Program, error)
}

// Defaults of Options.
const (
	DefaultWorkers       = 8
	DefaultLeaseTTL      = 2 * time.Minute
	DefaultShutdownGrace = 30 * time.Second
)

// Options configures an Engine. Store, Connectors, Automations and Broker are required.
type Options struct {
	Store       ledger.Store   `json:"-"`
	Connectors  Connectors     `json:"-"`
	Automations Automations    `json:"-"`
	Broker      *broker.Broker `json:"-"`
	// Workers is the number of items worked at once; 0 means DefaultWorkers.
	Workers int `json:"workers"`
	// LeaseTTL is how long a worker holds an item before another may take it; 0 means
	// DefaultLeaseTTL. It must exceed the longest step (the sandbox's deadlines).
	LeaseTTL time.Duration `json:"leaseTtl"`
	// Retry is the default retry policy; an automation's own overrides its fields.
	Retry queue.Policy `json:"retry"`
	// MaxPerConsumer bounds one consumer's items worked at once, so that a consumer flooding the
	// environment leaves workers for the others; 0 means half the workers (at least 1).
	MaxPerConsumer int `json:"maxPerConsumer"`
	// ShutdownGrace is how long Run lets the items in hand finish once its context ends; 0 means
	// DefaultShutdownGrace.
	ShutdownGrace time.Duration `json:"shutdownGrace"`
	// RatePerConsumer caps the items (steps) of one consumer started per second, over a bucket
	// of BurstPerConsumer; 0 means no rate quota (the concurrency quota still applies).
	RatePerConsumer float64 `json:"ratePerConsumer"`
	// BurstPerConsumer is the rate quota's bucket; 0 means max(1, RatePerConsumer).
	BurstPerConsumer int `json:"burstPerConsumer"`
	// Gate, when set, is asked before each item: workers beyond the share it allows wait, so that
	// runs give way to the webhooks the ingress is answering (the server shares one Gate across
	// its environments). Nil lets every worker work.
	Gate *yield.Gate `json:"-"`
	// Observer is told of runs, steps, guest calls and outbound requests (for metrics); nil
	// tells no one.
	Observer Observer `json:"-"`
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger `json:"-"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-"`
	// Rand supplies the retry jitter; nil uses the global source.
	Rand *rand.Rand `json:"-"`
}

// Observer is what the engine reports as it works. Its methods must be quick and safe for
// concurrent use.
type Observer interface {
	// RunEnded reports a run's end with its final status.
	RunEnded(status string)
	// Step reports a settled step: its kind, its status (succeeded, filtered, failed) and time.
	Step(kind, status string, took time.Duration)
	// GuestCall reports a call into a connector: the export and "ok" or the sandbox's error kind.
	GuestCall(export, outcome string)
	// BrokerRequest reports an outbound request of a connector: "2xx".."5xx", or the broker's
	// error kind.
	BrokerRequest(outcome string)
}

// nopObserver is the Observer of an engine given none.
type nopObserver struct{}

func (nopObserver) RunEnded(string)                    {}
func (nopObserver) Step(string, string, time.Duration) {}
func (nopObserver) GuestCall(string, string)           {}
func (nopObserver) BrokerRequest(string)               {}

// Engine turns trigger events into runs: its workers lease work items from the store, run a
// step per item, or a chain of steps (see maxChain), and settle each with the step records and
// the next item in one commit. It is
// safe for concurrent use.
type Engine struct {
	o       Options
	schemas sync.Map // schema text → *validate.Schema

	mu       sync.Mutex
	inFlight map[string]int           // consumer → items being worked
	buckets  map[string]*rate.Limiter // consumer → its rate quota
	grace    chan struct{}            // closed when the shutdown grace period has passed
	graceCtx context.Context          // cancelled when grace is closed: guest calls end with it
	freed    chan struct{}            // receives when an item ends, so a slot of a consumer's quota may be free

	working atomic.Int32  // workers holding a slot of Options.Gate's share (admit), with a Gate
	left    chan struct{} // receives when a worker gives its slot back

	watch watchers // the watches of events' runs (Watch), under their own lock

	// full is set when a commit was refused for a full disk, and cleared once the store says it
	// is writable again: meanwhile no worker leases work (see worker).
	full       atomic.Bool
	fullLogged atomic.Int64 // when a commit refused for a full disk was last logged (unix ns)
}

// fullPoll is how often paused workers ask the store whether it is writable again.
const fullPoll = time.Second

// New returns an Engine.
func New(o Options) (*Engine, error) {
	if o.Store == nil || o.Connectors == nil || o.Automations == nil || o.Broker == nil {
		return nil, errors.New("engine: options: store, connectors, automations and broker are required")
	}
	if o.Workers < 0 || o.LeaseTTL < 0 || o.MaxPerConsumer < 0 || o.ShutdownGrace < 0 || o.RatePerConsumer < 0 || o.BurstPerConsumer < 0 {
		return nil, errors.New("engine: options: negative workers, lease TTL, per-consumer quota or shutdown grace")
	}
	if err := o.Retry.Validate(); err != nil {
		return nil, fmt.Errorf("engine: options: %w", err)
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.MaxPerConsumer == 0 {
		o.MaxPerConsumer = max(1, o.Workers/2)
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	if o.BurstPerConsumer == 0 {
		o.BurstPerConsumer = max(1, int(o.RatePerConsumer))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Engine{o: o, inFlight: map[string]int{}, buckets: map[string]*rate.Limiter{}, freed: make(chan struct{}, 1),
		left: make(chan struct{}, 1)}, nil
}

// Run works the queue with the configured workers until ctx ends. Then it stops leasing and
// gives the items in hand ShutdownGrace to finish; a guest call still running after it is
// cancelled and its item given back to the store (no attempt counted). Run returns when every
// worker has stopped. Items not started stay in the store.
func (e *Engine) Run(ctx context.Context) {
	grace := make(chan struct{})
	graceCtx, graceOver := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(e.o.ShutdownGrace)
		defer t.Stop()
		<-t.C
		close(grace)
		graceOver()
	})
	e.mu.Lock()
	e.grace, e.graceCtx = grace, graceCtx
	e.mu.Unlock()
	var wg sync.WaitGroup
	for range e.o.Workers {
		wg.Go(func() { e.worker(ctx) })
	}
	wg.Wait()
	if stop() {
		close(grace) // ctx never ended: nothing waits for the grace period
		graceOver()
	}
}

// shuttingDown reports whether the shutdown grace period has passed.
func (e *Engine) shuttingDown() bool {
	e.mu.Lock()
	g := e.grace
	e.mu.Unlock()
	if g == nil {
		return false
	}
	select {
	case <-g:
		return true
	default:
		return false
	}
}

// callContext returns ctx cancelled also when the shutdown grace period passes: guest calls run
// under it.
func (e *Engine) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	e.mu.Lock()
	g := e.graceCtx
	e.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	if g == nil {
		return cctx, cancel
	}
	stop := context.AfterFunc(g, cancel) // no goroutine per call, as a select on the channel needed
	return cctx, func() { stop(); cancel() }
}

func (e *Engine) worker(ctx context.Context) {
	for ctx.Err() == nil {
		if e.full.Load() {
			// The disk is full: an action run now would reach its upstream and then lose its
			// record, and run again after the lease. Wait until the store can write.
			if err := e.o.Store.Writable(); err != nil {
				sleep(ctx, fullPoll)
				continue
			}
			if e.full.CompareAndSwap(true, false) {
				e.o.Logger.Info("engine: runs resume: the disk has room again")
			}
		}
		if !e.admit(ctx) {
			continue
		}
		ls, err := e.o.Store.Lease(ctx, 1, e.o.LeaseTTL, e.atQuota)
		if err != nil {
			e.leave()
			if ctx.Err() == nil {
				e.o.Logger.Error("engine: lease", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(ls) == 0 {
			e.leave()
			wait := 250 * time.Millisecond
			if next := e.o.Store.NextDue(); !next.IsZero() {
				wait = min(wait, max(time.Until(next), time.Millisecond))
			}
			select {
			case <-e.o.Store.Ready():
			case <-e.freed:
			case <-time.After(wait):
			case <-ctx.Done():
			}
			continue
		}
		l := ls[0]
		if !e.take(l.Item.Consumer) {
			e.leave()
			// The consumer's rate quota is spent, or another worker took its last slot since
			// Lease asked atQuota: give this item back for later, and let the store's
			// round-robin offer another consumer's item first.
			if err := e.o.Store.Release(context.WithoutCancel(ctx), l); err != nil {
				e.o.Logger.Error("engine: release", "item", l.Item.ID, "err", err)
			}
			sleep(ctx, 5*time.Millisecond)
			continue
		}
		// The step runs to its end even when ctx ends: its own deadlines and the shutdown grace
		// period bound it.
		err = e.Process(context.WithoutCancel(ctx), l)
		e.leave()
		e.done(l.Item.Consumer)
		switch {
		case errors.Is(err, ledger.ErrNoSpace):
			// The disk is full: every commit fails until space is freed. The item keeps its
			// lease (it runs again after LeaseTTL), and every worker stops leasing until the
			// store is writable again, rather than run the waiting items' actions only to lose
			// their records.
			e.full.Store(true)
			if now, last := time.Now().UnixNano(), e.fullLogged.Load(); now-last > int64(time.Minute) && e.fullLogged.CompareAndSwap(last, now) {
				e.o.Logger.Error("engine: runs pause: the disk is full", "err", err)
			}
		case err != nil:
			e.o.Logger.Error("engine: process", "item", l.Item.ID, "err", err)
		}
	}
}

// admit takes one of the working slots Options.Gate allows (every worker has one without a
// Gate), waiting while none is free. It returns false only when ctx ends first.
func (e *Engine) admit(ctx context.Context) bool {
	g := e.o.Gate
	if g == nil {
		return true
	}
	for {
		raised := g.Raised() // before Allowed: a raise in between closes it
		n := e.working.Load()
		if allowed := g.Allowed(e.o.Workers); int(n) < allowed {
			if !e.working.CompareAndSwap(n, n+1) {
				continue
			}
			if int(n)+1 < allowed {
				e.signalLeft() // slots remain: wake another waiter (a signal sent while one was pending was lost)
			}
			return true
		}
		select {
		case <-raised:
		case <-e.left:
		case <-ctx.Done():
			return false
		}
	}
}

// leave gives back the slot admit took.
func (e *Engine) leave() {
	if e.o.Gate == nil {
		return
	}
	e.working.Add(-1)
	e.signalLeft()
}

// signalLeft wakes one worker waiting in admit, if any.
func (e *Engine) signalLeft() {
	select {
	case e.left <- struct{}{}:
	default:
	}
}

// take counts one more item of consumer in flight, if its quotas (concurrency, then rate) allow.
func (e *Engine) take(consumer string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inFlight[consumer] >= e.o.MaxPerConsumer {
		return false
	}
	if e.o.RatePerConsumer > 0 {
		b := e.buckets[consumer]
		if b == nil {
			b = rate.NewLimiter(rate.Limit(e.o.RatePerConsumer), e.o.BurstPerConsumer)
			e.buckets[consumer] = b
		}
		if !b.AllowN(e.o.Now(), 1) {
			return false
		}
	}
	e.inFlight[consumer]++
	return true
}

// atQuota reports whether consumer has its quota of items in flight: Lease leaves its items
// alone, rather than have a worker take one only to give it back.
func (e *Engine) atQuota(consumer string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inFlight[consumer] >= e.o.MaxPerConsumer
}

func (e *Engine) done(consumer string) {
	e.mu.Lock()
	if e.inFlight[consumer]--; e.inFlight[consumer] <= 0 {
		delete(e.inFlight, consumer)
	}
	e.mu.Unlock()
	select {
	case e.freed <- struct{}{}: // wake one idle worker: the consumer may have items it skipped
	default:
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// itemData is the engine's state in a work item.
type itemData struct {
	Step int `json:"step"` // index of the step to run in the automation's steps
	// Resume, on a call step's item, is the outcome of the run it called.
	Resume *callOutcome `json:"resume,omitempty"`
}

// callOutcome is how a called run ended, handed back to the run that called it.
type callOutcome struct {
	Run    string          `json:"run"`
	Status ledger.Status   `json:"status"`
	Output json.RawMessage `json:"output,omitempty"`
	Error  *StepError      `json:"error,omitempty"`
}

// parentRef names the call step that started a run.
type parentRef struct {
	Run        string `json:"run"`
	Automation string `json:"automation"`
	Step       string `json:"step"`
	Index      int    `json:"index"`
}

// MaxCallDepth bounds runs calling runs (a call step's automation calling another, and so on).
const MaxCallDepth = 8

// runData is the engine's part of a run record.
type runData struct {
	AutomationName string          `json:"automationName,omitempty"`
	Output         json.RawMessage `json:"output,omitempty"`
	Error          *StepError      `json:"error,omitempty"`
	FailedStep     string          `json:"failedStep,omitempty"`
	// Input is a called run's trigger document: the calling step's input.
	Input json.RawMessage `json:"input,omitempty"`
	// Parent is the call step that started this run, which its end resumes.
	Parent *parentRef `json:"parent,omitempty"`
	Depth  int        `json:"depth,omitempty"`
}

// StepError is a failed step's error as runs record it.
type StepError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Retryable reports whether the engine retried (or would retry) the step.
	Retryable bool `json:"retryable"`
}

// StepRecord is what a run keeps of one step.
type StepRecord struct {
	ID   string          `json:"id"`
	Kind automation.Kind `json:"kind"`
	// App and Key name the connector and the action or transform a connector step called.
	App        string            `json:"app,omitempty"`
	Key        string            `json:"key,omitempty"`
	Status     string            `json:"status"` // succeeded, filtered, failed
	Attempts   int               `json:"attempts"`
	Input      json.RawMessage   `json:"input,omitempty"`
	Output     json.RawMessage   `json:"output,omitempty"`
	Logs       []sandbox.LogLine `json:"logs,omitempty"`
	Exchanges  []broker.Exchange `json:"exchanges,omitempty"`
	DurationMS float64           `json:"durationMs"`
	Error      *StepError        `json:"error,omitempty"`
	StartedAt  time.Time         `json:"startedAt"`

	// forget are the progress objects a forEach step kept, deleted when its item settles.
	forget []ledger.ObjectKey
}

// encode is the record as JSON: what json.Marshal writes, but with Input and Output, valid JSON
// already (the mapping made the one, the call compacted the other), copied in as they are and
// after the other members; encoding/json would validate and compact them again. Records are
// written on every step of every run, so appendJSON writes them without reflection
// (BenchmarkStepRecordEncode); TestStepRecordEncode checks it against encodeReflect.
func (r *StepRecord) encode() json.RawMessage {
	n := 256 + len(r.Input) + len(r.Output)
	for i := range r.Exchanges {
		x := &r.Exchanges[i]
		n += 320 + len(x.URL) + len(x.RequestBody) + len(x.ResponseBody) + 64*(len(x.RequestHeaders)+len(x.ResponseHeaders))
	}
	for _, l := range r.Logs {
		n += 32 + len(l.Message)
	}
	if b, ok := r.appendJSON(make([]byte, 0, n+n/8)); ok {
		return b
	}
	return r.encodeReflect() // it fails as json.Marshal fails
}

// encodeReflect is encode through encoding/json.
func (r *StepRecord) encodeReflect() json.RawMessage {
	c := *r
	c.Input, c.Output = nil, nil
	return appendInputOutput(mustJSON(&c), r.Input, r.Output)
}

// appendInputOutput appends input and output, when set, as the last members of the object b.
func appendInputOutput(b []byte, input, output json.RawMessage) []byte {
	for _, m := range []struct {
		name string
		raw  json.RawMessage
	}{{"input", input}, {"output", output}} {
		if len(m.raw) == 0 {
			continue
		}
		b = append(b[:len(b)-1], `,"`...)
		b = append(b, m.name...)
		b = append(b, `":`...)
		b = append(b, m.raw...)
		b = append(b, '}')
	}
	return b
}

// appendJSON appends the record as encode writes it; false where json.Marshal would fail (a
// duration that is not a number, a time outside the years 0 to 9999).
func (r *StepRecord) appendJSON(dst []byte) ([]byte, bool) {
	n0 := len(dst)
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, r.ID)
	dst = append(dst, `,"kind":`...)
	dst = jsonw.String(dst, string(r.Kind))
	if r.App != "" {
		dst = append(dst, `,"app":`...)
		dst = jsonw.String(dst, r.App)
	}
	if r.Key != "" {
		dst = append(dst, `,"key":`...)
		dst = jsonw.String(dst, r.Key)
	}
	dst = append(dst, `,"status":`...)
	dst = jsonw.String(dst, r.Status)
	dst = append(dst, `,"attempts":`...)
	dst = jsonw.Int(dst, int64(r.Attempts))
	if len(r.Logs) > 0 {
		dst = append(dst, `,"logs":[`...)
		for i, l := range r.Logs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"level":`...)
			dst = jsonw.String(dst, l.Level)
			dst = append(dst, `,"message":`...)
			dst = jsonw.String(dst, l.Message)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	var ok bool
	if len(r.Exchanges) > 0 {
		dst = append(dst, `,"exchanges":[`...)
		for i := range r.Exchanges {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = r.Exchanges[i].AppendJSON(dst); !ok {
				return dst[:n0], false
			}
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"durationMs":`...)
	if dst, ok = jsonw.Float(dst, r.DurationMS); !ok {
		return dst[:n0], false
	}
	if e := r.Error; e != nil {
		dst = append(dst, `,"error":{"kind":`...)
		dst = jsonw.String(dst, e.Kind)
		dst = append(dst, `,"message":`...)
		dst = jsonw.String(dst, e.Message)
		dst = append(dst, `,"retryable":`...)
		dst = jsonw.Bool(dst, e.Retryable)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"startedAt":`...)
	if dst, ok = jsonw.Time(dst, r.StartedAt); !ok {
		return dst[:n0], false
	}
	dst = append(dst, '}')
	return appendInputOutput(dst, r.Input, r.Output), true
}

// IdempotencyKey is the key an action call gets: stable across retries of one step of one run
// (and one forEach index: index holds the item's index in each enclosing forEach, outermost
// first), different for any other. A step outside any forEach has index 0.
func IdempotencyKey(runID, stepID string, index ...int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s", runID, stepID, indexPath(index)))
	return hex.EncodeToString(sum[:16])
}

// indexPath writes forEach indexes as 3 or 3.1.4; no index is 0.
func indexPath(index []int) string {
	if len(index) == 0 {
		return "0"
	}
	b := strconv.AppendInt(nil, int64(index[0]), 10)
	for _, i := range index[1:] {
		b = strconv.AppendInt(append(b, '.'), int64(i), 10)
	}
	return string(b)
}

// Process runs one leased item: the start of a run (which creates the run record) or one step,
// and settles it.
func (e *Engine) Process(ctx context.Context, l ledger.Lease) error {
	it := l.Item
	prog, err := e.o.Automations.Program(ctx, it.Consumer, it.Automation)
	if err != nil {
		// The automation is gone (deleted after the event was accepted): nothing to run.
		e.o.Logger.Warn("engine: automation not found; item dropped", "automation", it.Automation, "err", err)
		return e.o.Store.Ack(ctx, l, ledger.Commit{Activity: []ledger.Activity{{Consumer: it.Consumer, Kind: "event.dropped",
			Data: mustJSON(map[string]string{"event": it.Event, "automation": it.Automation, "reason": err.Error()})}}})
	}
	if it.Run == "" {
		return e.start(ctx, l, prog)
	}
	return e.step(ctx, l, prog)
}

// start creates the run and runs its first steps (as a chain, see maxChain): the run's record
// is created by the commit that settles them.
//
// The run's id is its first item's: when that commit is lost (the process dies after an action
// of the chain reached its upstream, or the lease ran out), the item runs again under the same
// run id, so the action gets the same idempotency key and its upstream can tell the retry.
func (e *Engine) start(ctx context.Context, l ledger.Lease, prog *automation.Program) error {
	it := l.Item
	now := e.o.Now()
	run := &ledger.Run{ID: it.ID, Automation: it.Automation, Event: it.Event, Status: ledger.Running,
		Data: mustJSON(runData{AutomationName: prog.Automation.Name})}
	ch := &chain{l: l, prog: prog, run: run, newRun: true, first: -1, began: now}
	if len(prog.Steps) == 0 {
		run.Status = ledger.Succeeded
		if err := e.o.Store.Ack(ctx, l, ledger.Commit{Run: run, Activity: []ledger.Activity{runActivity(it.Consumer, "run.succeeded", run)}}); err != nil {
			return err
		}
		e.report(ctx, it, ch)
		return nil
	}
	sc, err := e.newScope(ctx, it, run, prog)
	if err != nil {
		return err
	}
	return e.runSteps(ctx, ch, itemData{}, sc)
}

func runActivity(consumer, kind string, r *ledger.Run) ledger.Activity {
	return ledger.Activity{Consumer: consumer, Kind: kind, Data: jsonw.StringMap(nil, map[string]string{"run": r.ID, "automation": r.Automation, "event": r.Event})}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only the engine's own types are marshalled here
	}
	return b
}

// ErrNotReplayable is returned by Replay for a run that did not fail, or is being replayed.
var ErrNotReplayable = errors.New("cannot replay")

// Replay runs a failed or dead run again from the step that failed: its dead-lettered item is
// requeued with its attempts reset, and the steps that had succeeded keep their records and are
// not run again (their outputs feed the rest as before).
//
// # Errors
//
// ledger.ErrNotFound when the run is not the consumer's; ErrNotReplayable when it did not fail,
// or is being replayed already (it has no dead-lettered step).
func (e *Engine) Replay(ctx context.Context, consumer, runID string) error {
	run, err := e.o.Store.Run(ctx, consumer, runID)
	if err != nil {
		return err
	}
	if run.Status != ledger.Failed && run.Status != ledger.Dead {
		return fmt.Errorf("%w: run %s is %s, not failed or dead", ErrNotReplayable, runID, run.Status)
	}
	for p := (ledger.Page{Limit: ledger.MaxPageSize}); ; {
		items, next, err := e.o.Store.Dead(ctx, consumer, p)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Run != runID {
				continue
			}
			var d itemData
			_ = json.Unmarshal(it.Data, &d)
			if o := d.Resume; o != nil && (o.Status == ledger.Failed || o.Status == ledger.Dead) {
				// The run failed because the run it called did: replay that one; its end resumes
				// this run's call step with a new item (this one is then stale, and dropped if
				// ever replayed).
				return e.Replay(ctx, consumer, o.Run)
			}
			if err := e.o.Store.Requeue(ctx, consumer, it.ID); err != nil {
				return err
			}
			return e.o.Store.Append(ctx, runActivity(consumer, "run.replayed", &run))
		}
		if next == "" {
			return fmt.Errorf("%w: run %s has no failed step waiting (it is being replayed already)", ErrNotReplayable, runID)
		}
		p.Cursor = next
	}
}

// called returns a connector.called activity entry for each step record that called a connector.
func called(consumer, runID string, recs []*StepRecord) []ledger.Activity {
	var out []ledger.Activity
	for _, rec := range recs {
		if rec.App == "" {
			continue
		}
		d := calledData{Run: runID, Step: rec.ID, App: rec.App, Key: rec.Key, Status: rec.Status,
			Attempt: rec.Attempts, DurationMS: rec.DurationMS}
		if rec.Error != nil {
			d.Error = rec.Error.Kind
		}
		out = append(out, ledger.Activity{Consumer: consumer, Kind: "connector.called", Data: mustJSON(d)})
	}
	return out
}

// calledData is a connector.called activity entry's data.
type calledData struct {
	Run        string  `json:"run"`
	Step       string  `json:"step"`
	App        string  `json:"app"`
	Key        string  `json:"key"`
	Status     string  `json:"status"`
	Attempt    int     `json:"attempt"`
	DurationMS float64 `json:"durationMs"`
	Error      string  `json:"error,omitempty"`
}

// RunDocument is a run with its step records, as schemas/run.schema.json specifies.
type RunDocument struct {
	RunSummary
	Output json.RawMessage `json:"output,omitempty"`
	Steps  []StepRecord    `json:"steps"`
}

// RunSummary is a run as listings show it: the run document without its steps and its output,
// which may be large (Document has them).
type RunSummary struct {
	ID             string        `json:"id"`
	Automation     string        `json:"automation"`
	AutomationName string        `json:"automationName,omitempty"`
	Event          string        `json:"event"`
	Status         ledger.Status `json:"status"`
	CreatedAt      time.Time     `json:"createdAt"`
	UpdatedAt      time.Time     `json:"updatedAt"`
	Error          *StepError    `json:"error,omitempty"`
	FailedStep     string        `json:"failedStep,omitempty"`
	Parent         *parentRef    `json:"parent,omitempty"`
}

// Summary returns the summary of a run record the store listed.
func Summary(r ledger.Run) RunSummary {
	s, _ := summary(r)
	return s
}

// summary returns the summary of a run record and the engine's part of it.
func summary(r ledger.Run) (RunSummary, runData) {
	var rd runData
	_ = json.Unmarshal(r.Data, &rd) // a record this engine did not write shows its ledger fields only
	return RunSummary{ID: r.ID, Automation: r.Automation, AutomationName: rd.AutomationName, Event: r.Event, Status: r.Status,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Error: rd.Error, FailedStep: rd.FailedStep, Parent: rd.Parent}, rd
}

// Document returns a consumer's run with its step records, in step order.
//
// # Errors
//
// ledger.ErrNotFound for a run that is not the consumer's.
func (e *Engine) Document(ctx context.Context, consumer, runID string) (*RunDocument, error) {
	r, err := e.o.Store.Run(ctx, consumer, runID)
	if err != nil {
		return nil, err
	}
	sum, rd := summary(r)
	doc := &RunDocument{RunSummary: sum, Output: rd.Output, Steps: []StepRecord{}}
	for p := (ledger.Page{Limit: ledger.MaxPageSize}); ; {
		steps, next, err := e.o.Store.Steps(ctx, consumer, runID, p)
		if err != nil {
			return nil, err
		}
		for _, s := range steps {
			var rec StepRecord
			if err := json.Unmarshal(s.Data, &rec); err != nil {
				return nil, fmt.Errorf("engine: run %s step %s: %w", runID, s.Key, err)
			}
			doc.Steps = append(doc.Steps, rec)
		}
		if next == "" {
			return doc, nil
		}
		p.Cursor = next
	}
}
