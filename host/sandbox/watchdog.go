package sandbox

import (
	"sync"
	"time"
)

// watchdog enforces deadlines on calls into Splice's engine with one goroutine per Runtime instead
// of a timer per call. At a call's deadline it closes the instance's module, which wazero notices at
// the next loop back-edge (WithCloseOnContextDone); if the call is still running at twice its
// deadline, the guest is in code wazero does not interrupt (a loop-free call tree) and the watchdog
// quarantines the module.
type watchdog struct {
	mu    sync.Mutex
	calls map[*watch]struct{}
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	now   func() time.Time
}

// watch is one armed call. It lives inside the instance, so arming allocates nothing.
type watch struct {
	start      time.Time
	deadline   time.Time // close the module then
	overrun    time.Time // quarantine then
	closed     bool      // the deadline action ran
	overran    bool      // the overrun action ran
	onDeadline func()
	onOverrun  func()
}

func newWatchdog() *watchdog {
	w := &watchdog{
		calls: make(map[*watch]struct{}),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		now:   time.Now,
	}
	go w.run()
	return w
}

// arm starts watching a call that must end within d.
func (w *watchdog) arm(c *watch, d time.Duration) {
	now := w.now()
	c.start, c.deadline, c.overrun = now, now.Add(d), now.Add(2*d)
	c.closed, c.overran = false, false
	w.mu.Lock()
	w.calls[c] = struct{}{}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// disarm stops watching c and reports whether its deadline action ran and whether the call
// overran twice its deadline (measured now, so a call that ends late but between two watchdog
// rounds still counts).
func (w *watchdog) disarm(c *watch) (closed, overran bool) {
	now := w.now()
	w.mu.Lock()
	delete(w.calls, c)
	closed, overran = c.closed, c.overran
	w.mu.Unlock()
	return closed, overran || now.After(c.overrun)
}

func (w *watchdog) run() {
	defer close(w.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next := w.fire()
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		t.Reset(wait)
		select {
		case <-w.stop:
			return
		case <-w.wake:
		case <-t.C:
		}
	}
}

// fire runs the actions that are due and returns when the next one is.
func (w *watchdog) fire() (next time.Time) {
	now := w.now()
	var due []func()
	w.mu.Lock()
	for c := range w.calls {
		if !c.closed {
			if !now.Before(c.deadline) {
				c.closed = true
				due = append(due, c.onDeadline)
			} else if next.IsZero() || c.deadline.Before(next) {
				next = c.deadline
			}
		}
		if !c.overran {
			if !now.Before(c.overrun) {
				c.overran = true
				due = append(due, c.onOverrun)
			} else if next.IsZero() || c.overrun.Before(next) {
				next = c.overrun
			}
		}
	}
	w.mu.Unlock()
	for _, f := range due {
		f()
	}
	return next
}

func (w *watchdog) close() {
	close(w.stop)
	<-w.done
}
