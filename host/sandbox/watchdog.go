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
	next  time.Time // when the watchdog goroutine wakes next; zero when it sleeps indefinitely
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

// arm starts watching a call that started at start and must end within d. It wakes the watchdog
// goroutine only when this deadline is earlier than the one it sleeps towards, which for calls with
// similar deadlines is rare: arming is a map insert under a mutex.
func (w *watchdog) arm(c *watch, start time.Time, d time.Duration) {
	c.start, c.deadline, c.overrun = start, start.Add(d), start.Add(2*d)
	c.closed, c.overran = false, false
	w.mu.Lock()
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

// disarm stops watching c and reports whether its deadline action ran.
func (w *watchdog) disarm(c *watch) (closed bool) {
	w.mu.Lock()
	delete(w.calls, c)
	closed = c.closed
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
	w.next = next
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
