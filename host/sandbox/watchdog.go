package sandbox

import (
	"context"
	"sync"
	"time"
)

// watchdog enforces deadlines on calls into Splice's engine with one goroutine per Runtime instead
// of a timer per call. At a call's deadline it cancels the call's context; wazero
// (WithCloseOnContextDone) then closes the module at the guest's next loop back-edge, from the
// calling goroutine. (Closing the module from the watchdog instead would free its memory under the
// running guest.) If the call is still running at twice its deadline, the guest is in code wazero
// does not interrupt (a loop-free call tree), and the watchdog quarantines the module.
type watchdog struct {
	mu    sync.Mutex
	calls map[*watch]struct{}
	next  time.Time // when the goroutine wakes next; zero when it sleeps indefinitely
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

// watch is one armed call. It lives inside the instance, so arming allocates nothing. Its fields
// are written by arm and read by the watchdog under mu.
type watch struct {
	deadline time.Time // cancel then
	overrun  time.Time // quarantine then
	closed   bool      // cancel ran
	overran  bool      // quarantine ran
	cancel   context.CancelFunc
	t        callTimeout
}

func newWatchdog() *watchdog {
	w := &watchdog{
		calls: make(map[*watch]struct{}),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go w.run()
	return w
}

// arm starts watching a call; cancel ends it. It wakes the watchdog goroutine only when this
// deadline is earlier than the one it sleeps towards, which for calls with similar deadlines is
// rare: arming is a map insert under a mutex.
func (w *watchdog) arm(c *watch, t callTimeout, cancel context.CancelFunc) {
	w.mu.Lock()
	c.deadline, c.overrun = t.start.Add(t.d), t.start.Add(2*t.d)
	c.closed, c.overran = false, false
	c.cancel, c.t = cancel, t
	w.calls[c] = struct{}{}
	wake := w.next.IsZero() || c.deadline.Before(w.next)
	if wake {
		w.next = c.deadline
	}
	w.mu.Unlock()
	if wake {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// disarm stops watching c and reports whether its deadline passed (and its context was cancelled).
func (w *watchdog) disarm(c *watch) (closed bool) {
	w.mu.Lock()
	delete(w.calls, c)
	closed = c.closed
	c.cancel = nil
	w.mu.Unlock()
	return closed
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

// fire acts on the calls that are due and returns when the next one is.
func (w *watchdog) fire() (next time.Time) {
	now := time.Now()
	var cancels []context.CancelFunc
	var overruns []callTimeout
	w.mu.Lock()
	for c := range w.calls {
		if !c.closed {
			if !now.Before(c.deadline) {
				c.closed = true
				cancels = append(cancels, c.cancel)
			} else if next.IsZero() || c.deadline.Before(next) {
				next = c.deadline
			}
		}
		if !c.overran {
			if !now.Before(c.overrun) {
				c.overran = true
				overruns = append(overruns, c.t)
			} else if next.IsZero() || c.overrun.Before(next) {
				next = c.overrun
			}
		}
	}
	w.next = next
	w.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}
	for _, t := range overruns {
		t.mod.quarantine(t.export, now.Sub(t.start), t.d)
	}
	return next
}

func (w *watchdog) close() {
	close(w.stop)
	<-w.done
}
