package ledger_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

// crashDirEnv turns TestCrashChild into the child of TestCrash and gives it the database.
const (
	crashDirEnv   = "SPLICE_LEDGER_CRASH_DIR"
	crashCycleEnv = "SPLICE_LEDGER_CRASH_CYCLE"
)

var crashConsumers = []string{"alice", "bob", "carol"}

// TestCrash kills a process that accepts events and works the queue, with SIGKILL at random
// moments, 20 times over one database. Each child accepts events from 4 goroutines and prints
// each event once Accept returned; 4 workers lease items and run each event's two steps (the
// first creates the run and enqueues the second, the second marks the run succeeded), each
// step one Ack. After the last kill the test opens the database itself and proves:
//
//   - every acknowledged event is stored;
//   - every unsettled item is leasable at once (no lease outlives its process), so working the
//     queue to the end leaves no item waiting, leased or dead;
//   - then every stored event has exactly one run, succeeded: no step's commit was half-applied
//     and no item was lost between an event and its first step or between two steps.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Parallel()
	const cycles = 20
	dir := t.TempDir()
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	acked := map[string]string{} // event id → consumer
	for cycle := range cycles {
		want := 1 + rnd.IntN(400)
		if err := crashCycle(dir, cycle, want, acked); err != nil {
			t.Fatalf("cycle %d (kill after %d accepts): %v", cycle, want, err)
		}
	}

	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for id, c := range acked {
		if _, err := s.Event(ctx, c, id); err != nil {
			t.Errorf("acknowledged event %s of %s: %v", id, c, err)
		}
	}
	// The children's leases died with them: everything is leasable now.
	worked := 0
	for {
		ls, err := s.Lease(ctx, 64, time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 0 {
			break
		}
		for _, l := range ls {
			if err := work(ctx, s, l); err != nil {
				t.Fatal(err)
			}
			worked++
		}
	}
	if next := s.NextDue(); !next.IsZero() {
		t.Errorf("items still waiting after the queue was worked to the end (next due %v)", next)
	}
	events, runs := 0, map[string]int{}
	for _, c := range crashConsumers {
		if dead, _, _ := s.Dead(ctx, c, ledger.Page{}); len(dead) != 0 {
			t.Errorf("%s has %d dead items", c, len(dead))
		}
		for p := (ledger.Page{Limit: ledger.MaxPageSize}); ; {
			rs, cur, err := s.Runs(ctx, ledger.RunQuery{Consumer: c, Page: p})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Status != ledger.Succeeded {
					t.Errorf("run %s of event %s is %s", r.ID, r.Event, r.Status)
				}
				runs[r.Event]++
			}
			if cur == "" {
				break
			}
			p.Cursor = cur
		}
	}
	for id := range acked {
		if runs[id] != 1 {
			t.Errorf("acknowledged event %s has %d runs, want 1", id, runs[id])
		}
	}
	for id, n := range runs {
		events++
		if n != 1 {
			t.Errorf("event %s has %d runs", id, n)
		}
	}
	t.Logf("%d cycles: %d acknowledged events all stored; %d events with one succeeded run each; %d items left by the children worked after restart",
		cycles, len(acked), events, worked)
}

// crashCycle runs one child, kills it after want accepts, and records the accepted events.
func crashCycle(dir string, cycle, want int, acked map[string]string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashCycleEnv+"="+strconv.Itoa(cycle))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	n := 0
	read := func() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "acc" {
			acked[f[2]] = f[1]
			n++
		}
	}
	for n < want && sc.Scan() {
		read()
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	for sc.Scan() { // accepts printed before the kill count too
		read()
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		return fmt.Errorf("child ended with %v after %d accepts, want killed by SIGKILL", err, n)
	}
	if n < want {
		return fmt.Errorf("child accepted only %d events", n)
	}
	return nil
}

// work runs one step of the two-step automation of the crash test: the first step creates the
// run and enqueues the second; the second marks the run succeeded.
func work(ctx context.Context, s ledger.Store, l ledger.Lease) error {
	it := l.Item
	var c ledger.Commit
	switch it.Step {
	case "":
		id := ledger.NewID(time.Now())
		c.Run = &ledger.Run{ID: id, Automation: it.Automation, Event: it.Event, Status: ledger.Running}
		c.Steps = []ledger.Step{{Run: id, Key: "1", Data: []byte(`{"ok":true}`)}}
		c.Next = []ledger.NewItem{{Automation: it.Automation, Event: it.Event, Run: id, Step: "2"}}
	case "2":
		c.Run = &ledger.Run{ID: it.Run, Automation: it.Automation, Event: it.Event, Status: ledger.Succeeded}
		c.Steps = []ledger.Step{{Run: it.Run, Key: "2", Data: []byte(`{"ok":true}`)}}
		c.Activity = []ledger.Activity{{Kind: "run.succeeded", Consumer: it.Consumer}}
	default:
		return fmt.Errorf("item %s: unknown step %q", it.ID, it.Step)
	}
	return s.Ack(ctx, l, c)
}

// TestCrashChild is the child process of TestCrash; it runs until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrash")
	}
	cycle := os.Getenv(crashCycleEnv)
	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(50 * time.Second) // in case the parent never kills us
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				var evs []ledger.NewEvent
				for j := range 1 + i%4 {
					c := crashConsumers[(g+i+j)%len(crashConsumers)]
					evs = append(evs, ledger.NewEvent{Consumer: c, Automation: "auto-" + c,
						DedupeKey: fmt.Sprintf("%s-%d-%d-%d", cycle, g, i, j), Payload: []byte(`{"order":42}`)})
				}
				out, err := s.Accept(ctx, evs)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for j, a := range out {
					fmt.Fprintf(w, "acc %s %s\n", evs[j].Consumer, a.ID)
				}
				w.Flush()
				mu.Unlock()
			}
		})
		wg.Go(func() {
			for time.Now().Before(deadline) {
				ls, err := s.Lease(ctx, 4, 2*time.Second, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ls) == 0 {
					select {
					case <-s.Ready():
					case <-time.After(5 * time.Millisecond):
					}
				}
				for _, l := range ls {
					if err := work(ctx, s, l); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	s.Close()
	db.Close()
}
