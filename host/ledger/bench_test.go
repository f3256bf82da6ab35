package ledger_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
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

// fill accepts n events with small payloads for the given consumers, 128 per call from 32
// goroutines.
func fill(b *testing.B, s ledger.Store, n int, consumers int) {
	b.Helper()
	var next atomic.Int64
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
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
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
						ls, err := s.Lease(ctx, 8, time.Minute)
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

// BenchmarkRestart measures a restart with 1,000,000 waiting items (over 1,000 consumers): the
// time from opening the database to the first acknowledged Accept, and to the first lease. The
// database is built once per run, before the timer starts; SPLICE_BENCH_RESTART_ITEMS overrides
// the count.
func BenchmarkRestart(b *testing.B) {
	items := 1_000_000
	if v := os.Getenv("SPLICE_BENCH_RESTART_ITEMS"); v != "" {
		fmt.Sscan(v, &items)
	}
	dir := filepath.Join(b.TempDir(), "env")
	db, s := openBench(b, dir)
	start := time.Now()
	fill(b, s, items, 1000)
	b.Logf("filled %d items in %s", items, time.Since(start).Round(time.Millisecond))
	s.Close()
	db.Close()
	ctx := context.Background()
	var toLease time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		db, s := openBench(b, dir)
		if _, err := s.Accept(ctx, []ledger.NewEvent{{Consumer: "new", Automation: "a", Payload: []byte(`{}`)}}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		ls, err := s.Lease(ctx, 1, time.Minute)
		if err != nil || len(ls) != 1 {
			b.Fatalf("lease after restart: %d, %v", len(ls), err)
		}
		toLease += time.Since(start)
		s.Close()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(toLease.Seconds()/float64(b.N), "s-to-first-lease")
	b.ReportMetric(float64(items), "items")
}
