package yield

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

// observe reports n requests, slow of them over the target.
func observe(g *Gate, n, slow int) {
	for i := range n {
		if i < slow {
			g.Observe(g.o.Target + time.Millisecond)
		} else {
			g.Observe(g.o.Target)
		}
	}
}

func TestShare(t *testing.T) {
	busy := true
	g := New(Options{Target: 5 * time.Millisecond, Saturated: func() bool { return busy }})
	want := func(what string, share int32) {
		t.Helper()
		if got := g.share.Load(); got != share {
			t.Errorf("%s: share %d‰, want %d‰", what, got, share)
		}
	}
	if g.Share() != 1 || g.Allowed(32) != 32 {
		t.Fatalf("a new gate allows %v (%d of 32), want every worker", g.Share(), g.Allowed(32))
	}
	// A tenth of slow requests is tolerated; more cut the share by 30 % per tick.
	observe(g, 100, 10)
	g.Tick()
	want("10 of 100 slow", 1000)
	observe(g, 100, 11)
	g.Tick()
	want("11 of 100 slow", 700)
	observe(g, 100, 50)
	g.Tick()
	want("a second slow tick", 490)
	if got := g.Allowed(32); got != 16 { // 15.68 rounds up
		t.Errorf("Allowed(32) at 490‰ = %d, want 16", got)
	}
	for range 20 {
		observe(g, 10, 10)
		g.Tick()
	}
	want("20 slow ticks: the floor", 62) // a sixteenth
	if got := g.Allowed(64); got != 4 {
		t.Errorf("Allowed(64) at the floor = %d, want 4", got)
	}
	if got := g.Allowed(3); got != 1 {
		t.Errorf("Allowed(3) at the floor = %d, want at least one worker", got)
	}

	// Slow requests on idle cores do not hold the workers back: the share grows.
	busy = false
	observe(g, 100, 100)
	g.Tick()
	want("slow on idle cores (a fiftieth more)", 82)
	busy = true
	observe(g, 100, 0)
	g.Tick()
	want("fast requests", 102)
	// No requests at all: a quarter per tick, up to every worker.
	g.Tick()
	want("a quiet tick", 352)
	for range 3 {
		g.Tick()
	}
	want("quiet ticks", 1000)
}

func TestFloorOption(t *testing.T) {
	g := New(Options{Target: time.Millisecond, Floor: 0.5, Saturated: func() bool { return true }})
	for range 10 {
		observe(g, 10, 10)
		g.Tick()
	}
	if g.share.Load() != 500 || g.Allowed(10) != 5 {
		t.Errorf("share %v, Allowed(10) %d; want the floor 0.5, 5", g.Share(), g.Allowed(10))
	}
	for _, f := range []float64{-1, 0, 1.5} {
		if g := New(Options{Target: time.Millisecond, Floor: f}); g.floor != 62 {
			t.Errorf("Floor %v: floor %d, want the default", f, g.floor)
		}
	}
}

// TestRaised checks that a worker waiting for the share to grow is woken when it does, and
// only then.
func TestRaised(t *testing.T) {
	g := New(Options{Target: time.Millisecond, Saturated: func() bool { return true }})
	observe(g, 10, 10)
	g.Tick()
	raised := g.Raised()
	observe(g, 10, 10)
	g.Tick() // cut again: not a raise
	select {
	case <-raised:
		t.Fatal("Raised closed on a cut")
	default:
	}
	g.Tick() // a quiet tick: raise
	select {
	case <-raised:
	default:
		t.Fatal("Raised not closed on a raise")
	}
	select {
	case <-g.Raised():
		t.Fatal("the next Raised is closed already")
	default:
	}
}

// TestRunOpensOnStop checks that Run ticks on its own and allows every worker once its context
// ends, waking the workers that wait.
func TestRunOpensOnStop(t *testing.T) {
	g := New(Options{Target: time.Millisecond, Tick: time.Millisecond, Saturated: func() bool { return true }})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { g.Run(ctx) })
	deadline := time.Now().Add(10 * time.Second)
	for g.Share() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("Run never cut the share under slow requests")
		}
		observe(g, 10, 10)
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	raised := g.Raised()
	if g.Share() == 1 {
		t.Fatal("share back to 1 while requests are slow")
	}
	cancel()
	wg.Wait()
	select {
	case <-raised:
	case <-time.After(5 * time.Second):
		t.Fatal("waiting workers not woken when Run stopped")
	}
	if g.Share() != 1 {
		t.Errorf("share %v after Run stopped, want 1", g.Share())
	}
}

func TestSched(t *testing.T) {
	var s sched
	if _, ok := s.over(time.Millisecond); !ok {
		t.Skip("this runtime does not report /sched/latencies:seconds")
	}
	// Keep more goroutines runnable than there are cores, spinning for 20 ms each time they
	// run: some wait for a core for longer than a millisecond.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
				}
				runtime.Gosched()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	busy, _ := s.over(time.Millisecond)
	close(stop)
	wg.Wait()
	if busy == 0 {
		t.Errorf("no goroutine waited over 1 ms for a core with %d spinning on %d", 4*runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0))
	}
	if over, _ := s.over(time.Hour); over != 0 {
		t.Errorf("%v of the waits were over an hour", over)
	}
}

// TestRefusedOpens checks that for a second (20 ticks) after the foreground refused a request
// for the background's backlog the share only grows, however slow the requests were.
func TestRefusedOpens(t *testing.T) {
	g := New(Options{Target: time.Millisecond, Saturated: func() bool { return true }})
	for range 10 {
		observe(g, 10, 10)
		g.Tick()
	}
	if g.share.Load() != 62 {
		t.Fatalf("share %d‰ after slow ticks, want the floor 62‰", g.share.Load())
	}
	g.Refused()
	for i := range behindTicks {
		observe(g, 100, 100)
		g.Tick()
		if want := min(1000, int32(62+250*(i+1))); g.share.Load() != want {
			t.Fatalf("slow tick %d after a refused request: share %d‰, want %d‰", i, g.share.Load(), want)
		}
	}
	observe(g, 100, 100)
	g.Tick()
	if got := g.share.Load(); got != 700 {
		t.Errorf("the first slow tick a second after the refused request: share %d‰, want 700‰ (cut)", got)
	}
}
