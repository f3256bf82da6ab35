// Package yield makes background work give way to latency-bound foreground work on the same
// cores: the engine's workers (runs, which may lag) to the webhook ingress (whose senders wait for
// each answer).
//
// The foreground reports how long each of its requests took ([Gate.Observe]). Every tick (50 ms)
// the gate's controller looks at the tick's requests: when more than a tenth of them took longer
// than the target and the cores are saturated (more than a fifth of the goroutines given a core
// waited over a millisecond for it, from the Go runtime's scheduling latencies), the share of
// background workers allowed to work is cut by 30 %, down to a floor; otherwise it grows back by
// a fiftieth per tick, and by a quarter per tick when no foreground request came. A slow
// foreground on idle cores (a slow disk, say) does not hold background work back: it would not
// get faster for it. Background workers ask [Gate.Allowed] before each item; one over the share
// waits until the share grows or another worker's item ends. Work started is never interrupted.
//
// The floor keeps background work going under any foreground load. A sender that outruns the
// background for long fills its backlog, and the foreground refuses its requests (the engine's
// backlog bound, answered 429) until the background has caught up some: the foreground then waits
// on the background, so for a second after a request was refused so ([Gate.Refused]) the share
// grows as in a quiet tick, whatever the latency.
package yield

import (
	"context"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultTick  = 50 * time.Millisecond
	DefaultFloor = 0.0625
)

// behindTicks is how many ticks the share only grows after a request refused for the
// background's backlog: the backlog, once full, refuses in bursts, as work ends and frees room.
const behindTicks = 20

// full is the share that allows every worker, in thousandths.
const full = 1000

// Options configures a Gate. Target is required.
type Options struct {
	// Target is the foreground latency above which background work slows down.
	Target time.Duration
	// Floor is the smallest share of background workers allowed, in (0, 1]; 0 means
	// DefaultFloor. At least one worker is always allowed.
	Floor float64
	// Tick is how often the controller adjusts the share; 0 means DefaultTick.
	Tick time.Duration
	// Saturated reports whether the cores were saturated since its last call; nil reads the Go
	// runtime's scheduling latencies (see the package doc).
	Saturated func() bool
}

// Gate is a share of background workers allowed to start work, adjusted by [Gate.Run] from the
// foreground's latency. It is safe for concurrent use; the zero value is not usable, use [New].
type Gate struct {
	o     Options
	floor int32 // the smallest share, in thousandths

	share atomic.Int32 // allowed share of workers, in thousandths: floor..full
	seen  atomic.Int64 // foreground requests observed this tick
	slow  atomic.Int64 // of which over the target

	refused atomic.Int64 // foreground requests refused this tick for the background's backlog
	behind  int          // ticks left in which the share only grows, after a refused request (Tick's own)

	mu     sync.Mutex
	raised chan struct{} // closed (and replaced) when the share grows

	sched sched // read by saturated when Options.Saturated is nil
}

// New returns a Gate that allows every worker until the foreground is slow.
func New(o Options) *Gate {
	if o.Floor <= 0 || o.Floor > 1 {
		o.Floor = DefaultFloor
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	g := &Gate{o: o, floor: max(1, int32(o.Floor*full)), raised: make(chan struct{})}
	g.share.Store(full)
	return g
}

// Observe reports one foreground request and how long it took.
func (g *Gate) Observe(took time.Duration) {
	g.seen.Add(1)
	if took > g.o.Target {
		g.slow.Add(1)
	}
}

// Refused reports one foreground request refused because the background is behind (its
// backlog is full): the foreground waits on the background then, so for the next second the
// share grows as in a quiet tick.
func (g *Gate) Refused() {
	g.refused.Add(1)
}

// Allowed is how many of n workers may be working: at least one.
func (g *Gate) Allowed(n int) int {
	return max(1, (n*int(g.share.Load())+full-1)/full)
}

// Raised returns a channel closed once the share grows. A worker over [Gate.Allowed] takes it
// before asking Allowed, and waits on it when it may not work.
func (g *Gate) Raised() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.raised
}

// Share is the allowed share of workers, in (0, 1].
func (g *Gate) Share() float64 { return float64(g.share.Load()) / full }

// Run adjusts the share every tick until ctx ends, then allows every worker.
func (g *Gate) Run(ctx context.Context) {
	t := time.NewTicker(g.o.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			g.set(full)
			return
		case <-t.C:
			g.Tick()
		}
	}
}

// Tick ends one tick: it sets the share from the requests observed since the last. Run calls it;
// tests call it directly, never while Run runs (the controller's state is Tick's own).
func (g *Gate) Tick() {
	seen, slow, refused := g.seen.Swap(0), g.slow.Swap(0), g.refused.Swap(0)
	busy := g.saturated()
	if refused > 0 {
		g.behind = behindTicks
	}
	s := g.share.Load()
	switch {
	case seen == 0, g.behind > 0:
		g.behind = max(0, g.behind-1)
		s += full / 4
	case slow*10 > seen && busy:
		s = s * 7 / 10
	default:
		s += full / 50
	}
	g.set(min(full, max(g.floor, s)))
}

func (g *Gate) set(s int32) {
	if old := g.share.Swap(s); s > old {
		g.mu.Lock()
		close(g.raised)
		g.raised = make(chan struct{})
		g.mu.Unlock()
	}
}

// saturated reports whether the cores were saturated since the last call: whether more than a
// fifth of the goroutines that got a core waited for it longer than a millisecond (the Go
// runtime's scheduling latencies). Without that reading (a runtime that lacks it) it reports true.
func (g *Gate) saturated() bool {
	if g.o.Saturated != nil {
		return g.o.Saturated()
	}
	over, ok := g.sched.over(time.Millisecond)
	return !ok || over > 0.2
}

// sched reads the Go runtime's scheduling latencies, call by call.
type sched struct {
	sample []metrics.Sample
	prev   []uint64
}

// over returns the share of the goroutines scheduled since the last call that waited longer
// than d to run (0 when none was), and false when the runtime does not report it.
func (s *sched) over(d time.Duration) (float64, bool) {
	if s.sample == nil {
		s.sample = []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	}
	metrics.Read(s.sample)
	if s.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0, false
	}
	h := s.sample[0].Value.Float64Histogram()
	if len(s.prev) != len(h.Counts) {
		s.prev = make([]uint64, len(h.Counts))
	}
	var n, slow uint64
	for i, c := range h.Counts {
		diff := c - s.prev[i]
		s.prev[i] = c
		n += diff
		if h.Buckets[i] >= d.Seconds() { // Buckets[i] is the lower bound of Counts[i]
			slow += diff
		}
	}
	if n == 0 {
		return 0, true
	}
	return float64(slow) / float64(n), true
}
