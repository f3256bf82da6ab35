package sandbox

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestWatchdogCancelsThenQuarantines arms a call that never ends (as a guest stuck where nothing can
// interrupt it would): at its deadline the watchdog cancels its context, at twice its deadline it
// quarantines the module.
func TestWatchdogCancelsThenQuarantines(t *testing.T) {
	w := newWatchdog()
	defer w.close()
	m := &Module{name: "stuck@1.0.0", rt: &Runtime{log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var c watch
	d := 30 * time.Millisecond
	w.arm(&c, callTimeout{start: time.Now(), d: d, mod: m, export: "run"}, cancel)

	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("context not cancelled at the deadline")
	}
	if q, _ := m.Quarantined(); q {
		t.Fatal("quarantined at the deadline, before twice the deadline")
	}
	deadline := time.Now().Add(time.Second)
	for {
		if q, why := m.Quarantined(); q {
			t.Logf("quarantined: %s", why)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not quarantined at twice the deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !w.disarm(&c) {
		t.Fatal("disarm did not report the deadline action")
	}
}

// TestWatchdogQuietCalls checks that calls that end in time are never acted on, and that arming a
// later deadline does not wake the watchdog goroutine.
func TestWatchdogQuietCalls(t *testing.T) {
	w := newWatchdog()
	defer w.close()
	m := &Module{name: "quiet", rt: &Runtime{log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	for i := 0; i < 1000; i++ {
		var c watch
		cancelled := false
		w.arm(&c, callTimeout{start: time.Now(), d: time.Minute, mod: m, export: "run"}, func() { cancelled = true })
		if w.disarm(&c) || cancelled {
			t.Fatal("a call that ended in time was cancelled")
		}
	}
	if q, _ := m.Quarantined(); q {
		t.Fatal("quarantined")
	}
}
