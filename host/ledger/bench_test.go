package ledger_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

func openBench(b *testing.B, dir string) (*kv.DB, *ledger.Embedded) {
	b.Helper()
	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	s, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		db.Close()
		b.Fatal(err)
	}
	return db, s
}

// payload1K is a 1 KiB JSON event payload.
var payload1K = []byte(fmt.Sprintf(`{"order":{"id":42,"note":%q}}`, string(slices.Repeat([]byte("x"), 1000))))

// latencies collects per-operation latencies from many goroutines.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(ds []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, ds...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	slices.Sort(l.all)
	if n := len(l.all); n > 0 {
		b.ReportMetric(float64(l.all[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(l.all[n*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkAccept measures durable accepts of one 1 KiB event each (the event, its work item and
// its ready key in one commit, with fsync), as webhook ingress makes them, at 1, 16, 64 and 256
// concurrent callers. Compare with kv's BenchmarkWrite, which writes one bare key per event.
func BenchmarkAccept(b *testing.B) {
	for _, writers := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db, s := openBench(b, b.TempDir())
			defer db.Close()
			defer s.Close()
			var next atomic.Int64
			var lat latencies
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for w := range writers {
				wg.Go(func() {
					var mine []time.Duration
					defer func() { lat.add(mine) }()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						e := ledger.NewEvent{Consumer: fmt.Sprintf("c%d", w%8), Automation: "a", DedupeKey: fmt.Sprint(i), Payload: payload1K}
						start := time.Now()
						if _, err := s.Accept(context.Background(), []ledger.NewEvent{e}); err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, time.Since(start))
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			lat.report(b)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// fill accepts n events with small payloads for the given consumers.
func fill(b *testing.B, s ledger.Store, n int, consumers int) {
	b.Helper()
	if err := fillStore(s, n, consumers); err != nil {
		b.Fatal(err)
	}
}

// fillStore accepts n events with small payloads for the given consumers, MaxAcceptEvents per
// call from 32 goroutines.
func fillStore(s ledger.Store, n int, consumers int) error {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(ledger.MaxAcceptEvents)) - ledger.MaxAcceptEvents
				if i >= n {
					return
				}
				var evs []ledger.NewEvent
				for j := i; j < min(n, i+ledger.MaxAcceptEvents); j++ {
					evs = append(evs, ledger.NewEvent{Consumer: fmt.Sprintf("c%d", j%consumers), Automation: "a", Payload: []byte(`{"n":1}`)})
				}
				if _, err := s.Accept(context.Background(), evs); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return *err
	}
	return nil
}

// BenchmarkLeaseAck measures the work queue: workers lease items 8 at a time and acknowledge each
// with a commit that stores a run and a step record and enqueues nothing (the last step of a
// run), at 16 and 64 workers over 8 consumers. The queue is filled before the timer starts.
func BenchmarkLeaseAck(b *testing.B) {
	for _, workers := range []int{16, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			db, s := openBench(b, b.TempDir())
			defer db.Close()
			defer s.Close()
			fill(b, s, b.N, 8)
			var done atomic.Int64
			var lat latencies
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for range workers {
				wg.Go(func() {
					var mine []time.Duration
					defer func() { lat.add(mine) }()
					ctx := context.Background()
					for done.Load() < int64(b.N) {
						ls, err := s.Lease(ctx, 8, time.Minute, nil)
						if err != nil {
							b.Error(err)
							return
						}
						if len(ls) == 0 {
							time.Sleep(100 * time.Microsecond) // the others hold the rest
							continue
						}
						for _, l := range ls {
							start := time.Now()
							id := ledger.NewID(start)
							err := s.Ack(ctx, l, ledger.Commit{
								Run:   &ledger.Run{ID: id, Automation: l.Item.Automation, Event: l.Item.Event, Status: ledger.Succeeded},
								Steps: []ledger.Step{{Run: id, Key: "1", Data: []byte(`{"output":{"ok":true}}`)}},
							})
							if err != nil {
								b.Error(err)
								return
							}
							mine = append(mine, time.Since(start))
							done.Add(1)
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			lat.report(b)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkRestart measures a restart with 1,000,000 waiting items over 1,000 consumers: the
// time from opening the database to the first acknowledged Accept (the timed part), and to the
// first lease (s-to-first-lease). A child process fills the database, then either closes it
// (stop=clean) or is killed with SIGKILL (stop=kill, which leaves Badger to replay its logs).
// Each iteration opens a fresh copy of the filled directory, copied with the timer stopped.
// SPLICE_BENCH_RESTART_ITEMS overrides the count.
func BenchmarkRestart(b *testing.B) {
	items := 1_000_000
	if v := os.Getenv("SPLICE_BENCH_RESTART_ITEMS"); v != "" {
		fmt.Sscan(v, &items)
	}
	for _, stop := range []string{"clean", "kill"} {
		b.Run("stop="+stop, func(b *testing.B) {
			filled := filepath.Join(b.TempDir(), "filled")
			start := time.Now()
			if err := fillChild(filled, items, stop == "kill"); err != nil {
				b.Fatal(err)
			}
			b.Logf("filled %d items in %s", items, time.Since(start).Round(time.Millisecond))
			ctx := context.Background()
			var toLease time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
				if err := os.CopyFS(dir, os.DirFS(filled)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				db, s := openBench(b, dir)
				if _, err := s.Accept(ctx, []ledger.NewEvent{{Consumer: "new", Automation: "a", Payload: []byte(`{}`)}}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				ls, err := s.Lease(ctx, 1, time.Minute, nil)
				if err != nil || len(ls) != 1 {
					b.Fatalf("lease after restart: %d, %v", len(ls), err)
				}
				toLease += time.Since(start)
				s.Close()
				db.Close()
				os.RemoveAll(dir)
				b.StartTimer()
			}
			b.ReportMetric(toLease.Seconds()/float64(b.N), "s-to-first-lease")
			b.ReportMetric(float64(items), "items")
		})
	}
}

const (
	fillDirEnv   = "SPLICE_LEDGER_FILL_DIR"
	fillItemsEnv = "SPLICE_LEDGER_FILL_ITEMS"
	fillKillEnv  = "SPLICE_LEDGER_FILL_KILL"
)

// fillChild fills dir with items waiting items in a child process (TestFillChild), then either
// lets it close the database or kills it.
func fillChild(dir string, items int, kill bool) error {
	cmd := exec.Command(os.Args[0], "-test.run=^TestFillChild$", "-test.count=1", "-test.bench=^$")
	cmd.Env = append(os.Environ(), fillDirEnv+"="+dir, fillItemsEnv+"="+fmt.Sprint(items), fillKillEnv+"="+fmt.Sprint(kill))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "filled" && kill {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	err = cmd.Wait()
	if kill {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			return fmt.Errorf("fill child: %v, want killed", err)
		}
		return nil
	}
	return err
}

// TestFillChild is the child process of BenchmarkRestart.
func TestFillChild(t *testing.T) {
	dir := os.Getenv(fillDirEnv)
	if dir == "" {
		t.Skip("runs only as the child of BenchmarkRestart")
	}
	var items int
	fmt.Sscan(os.Getenv(fillItemsEnv), &items)
	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := fillStore(s, items, 1000); err != nil {
		t.Fatal(err)
	}
	fmt.Println("filled")
	if os.Getenv(fillKillEnv) == "true" {
		time.Sleep(time.Minute) // until killed
		t.Fatal("not killed")
	}
	s.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
