package ledger_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

// BenchmarkW1Storage writes what the end-to-end workload W1 (cmd/splice-load e2e) stores per
// webhook, through the ledger and nothing else: no HTTP, no guest, no broker. 64 callers accept
// one event each (a 1 KiB order with a dedupe key from its body's SHA-256, as the webhook
// connector makes it) while 64 workers lease the items and acknowledge each with what the engine
// commits after W1's two steps: the run, its transform and action step records (the transform's
// input holds the order, the action's an HTTP exchange), and three activity entries. The timer
// runs until the last item is acknowledged.
//
// It is the storage's share of a webhook, measured alone: CPU time per webhook (user and system,
// of the whole process, Badger's compactions included, as cpu-us/webhook), webhooks/s, and the
// process's largest resident set while it ran (peak-rss-MiB, sampled every 50 ms from
// /proc/self/smaps_rollup, with its anonymous and file-backed parts), and the disk space the
// database takes at the end (disk-MiB). Run it in a process of its
// own for the memory figures; the collector runs at GOGC=25 as in splice serve unless $GOGC is
// set. It runs with every value in Badger's LSM tree (valueLog=0, kv's default) and with values
// of 512 bytes or more in its value log (kv.Options.ValueLogBytes). For example
//
//	go test -run '^$' -bench 'W1Storage/valueLog=0' -benchtime 100000x -count 5 ./host/ledger/
func BenchmarkW1Storage(b *testing.B) {
	if _, set := os.LookupEnv("GOGC"); !set {
		defer debug.SetGCPercent(debug.SetGCPercent(25))
	}
	for _, vlog := range []int{0, 512} {
		b.Run(fmt.Sprint("valueLog=", vlog), func(b *testing.B) { benchW1Storage(b, vlog) })
	}
}

func benchW1Storage(b *testing.B, valueLogBytes int) {
	dir := b.TempDir()
	db, err := kv.Open(kv.Options{Dir: dir, ValueLogBytes: valueLogBytes})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const callers, workers = 64, 64

	stop := make(chan struct{})
	peak := make(chan memSample, 1)
	go func() {
		var m memSample
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if s, ok := readSmapsRollup(); ok && s.rss > m.rss {
				m = s
			}
			select {
			case <-stop:
				peak <- m
				return
			case <-t.C:
			}
		}
	}()

	cpu0 := cpuTime()
	b.ResetTimer()
	err = runW1(ctx, s, 0, b.N, callers, workers)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	close(stop)
	m := <-peak
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/webhook")
	b.ReportMetric(m.rss, "peak-rss-MiB")
	b.ReportMetric(m.anon, "peak-anon-MiB")
	b.ReportMetric(m.rss-m.anon, "peak-file-MiB")
	b.ReportMetric(diskBytes(b, dir)/(1<<20), "disk-MiB")
}

// runW1 stores n webhooks as W1 does: callers accept one event each (orders first+1 to first+n,
// each with its own dedupe key) while workers lease the items and acknowledge each with what the
// engine commits after W1's two steps. It returns when the last item is acknowledged, or at the
// first error.
func runW1(ctx context.Context, s ledger.Store, first, n, callers, workers int) error {
	const consumer, automation = "bench", "33NHB2N7BQD6NABMV1QOBROO"
	var acceptFailed, ackFailed atomic.Pointer[error]
	var nextEvent, acked atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			var buf []byte
			for {
				i := nextEvent.Add(1)
				if i > int64(n) || acceptFailed.Load() != nil || ackFailed.Load() != nil {
					return
				}
				buf = w1Order(buf[:0], uint64(first)+uint64(i))
				sum := sha256.Sum256(buf)
				e := ledger.NewEvent{Consumer: consumer, Automation: automation, DedupeKey: "event:" + hex.EncodeToString(sum[:]), Payload: buf}
				if _, err := s.Accept(ctx, []ledger.NewEvent{e}); err != nil {
					acceptFailed.Store(&err)
					return
				}
			}
		})
	}
	for range workers {
		wg.Go(func() {
			for acked.Load() < int64(n) && acceptFailed.Load() == nil && ackFailed.Load() == nil {
				ls, err := s.Lease(ctx, 8, time.Minute, nil)
				if err != nil {
					ackFailed.Store(&err)
					return
				}
				if len(ls) == 0 {
					time.Sleep(200 * time.Microsecond)
					continue
				}
				for _, l := range ls {
					ev, err := s.Event(ctx, consumer, l.Item.Event)
					if err == nil {
						err = s.Ack(ctx, l, w1Commit(l, ev))
					}
					if err != nil {
						ackFailed.Store(&err)
						return
					}
					acked.Add(1)
				}
			}
		})
	}
	wg.Wait()
	for _, p := range []*error{acceptFailed.Load(), ackFailed.Load()} {
		if p != nil {
			return *p
		}
	}
	return nil
}

// BenchmarkPrune measures what retention costs: the store holds b.N webhooks of W1 (stored
// first, untimed), then Prune deletes them all, in calls of 10,000 records of each kind as the
// server makes them. It reports the CPU time per webhook pruned (of the whole process, Badger's
// work included), webhooks pruned per second, and the records deleted per webhook (a run, its two
// steps, its event and three activity entries).
//
//	go test -run '^$' -bench Prune -benchtime 100000x -count 5 ./host/ledger/
func BenchmarkPrune(b *testing.B) {
	if _, set := os.LookupEnv("GOGC"); !set {
		defer debug.SetGCPercent(debug.SetGCPercent(25))
	}
	ctx := context.Background()
	s := openStore(b, kv.Options{Dir: b.TempDir(), ValueLogBytes: 512})
	if err := runW1(ctx, s, 0, b.N, 64, 64); err != nil {
		b.Fatal(err)
	}
	cut := time.Now().Add(time.Second)
	time.Sleep(time.Until(cut))
	var total ledger.Pruned
	cpu0 := cpuTime()
	b.ResetTimer()
	for {
		p, err := s.Prune(ctx, cut, 10000)
		if err != nil {
			b.Fatal(err)
		}
		total.Runs += p.Runs
		total.Steps += p.Steps
		total.Events += p.Events
		total.Activity += p.Activity
		if !p.More {
			break
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	if total.Runs != b.N || total.Events != b.N {
		b.Fatalf("pruned %+v, want %d runs and events", total, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/webhook")
	b.ReportMetric(float64(total.Runs+total.Steps+total.Events+total.Activity)/float64(b.N), "records/webhook")
}

// BenchmarkPruneBacklog measures a round of Prune calls that finds nothing to delete among old
// events whose items still wait (a backlog, or dead letters waiting for a replay): b.N events of
// W1 are accepted and left waiting, then one round with a cut after them runs, in calls of 10,000
// as the server makes them. It reports the round's time per waiting event.
//
//	go test -run '^$' -bench PruneBacklog -benchtime 100000x ./host/ledger/
func BenchmarkPruneBacklog(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, kv.Options{Dir: b.TempDir(), ValueLogBytes: 512})
	var buf []byte
	for i := 0; i < b.N; i += 100 {
		var evs []ledger.NewEvent
		for j := i; j < min(i+100, b.N); j++ {
			buf = w1Order(nil, uint64(j))
			evs = append(evs, ledger.NewEvent{Consumer: "bench", Automation: "w1", Payload: buf})
		}
		if _, err := s.Accept(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	cut := time.Now().Add(time.Millisecond)
	time.Sleep(time.Until(cut))
	b.ResetTimer()
	calls := 0
	for {
		calls++
		p, err := s.Prune(ctx, cut, 10000)
		if err != nil {
			b.Fatal(err)
		}
		if p.Total() != 0 {
			b.Fatalf("pruned %+v of a backlog", p)
		}
		if !p.More {
			break
		}
	}
	b.ReportMetric(float64(calls), "calls")
}

// BenchmarkRetainedDisk stores W1's records in twelve rounds of b.N webhooks each and reports
// the disk the database takes after the last (disk-MiB) and the most it took after any round
// (peak-disk-MiB), with and without pruning: with it, after each round Prune deletes everything
// older than the round before (a retention of one round), and Badger's value log is
// garbage-collected every second instead of every ten minutes. Without pruning the disk grows
// with every round; with it, it grows until compactions and the value log's garbage collection
// give space back, in steps. The log has the disk after each round.
//
//	go test -run '^$' -bench RetainedDisk -benchtime 20000x ./host/ledger/
func BenchmarkRetainedDisk(b *testing.B) {
	for _, prune := range []bool{false, true} {
		b.Run(fmt.Sprint("prune=", prune), func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			s := openStore(b, kv.Options{Dir: dir, ValueLogBytes: 512, GCInterval: time.Second})
			var cut time.Time
			var pruned ledger.Pruned
			var peak float64
			for round := range 12 {
				start := time.Now()
				if err := runW1(ctx, s, round*b.N, b.N, 64, 64); err != nil {
					b.Fatal(err)
				}
				for prune && !cut.IsZero() {
					p, err := s.Prune(ctx, cut, 10000)
					if err != nil {
						b.Fatal(err)
					}
					pruned.Runs += p.Runs
					if !p.More {
						break
					}
				}
				cut = start
				disk := diskBytes(b, dir) / (1 << 20)
				peak = max(peak, disk)
				b.Logf("round %d: %.0f MiB on disk, %d runs pruned in all", round, disk, pruned.Runs)
			}
			b.ReportMetric(diskBytes(b, dir)/(1<<20), "disk-MiB")
			b.ReportMetric(peak, "peak-disk-MiB")
		})
	}
}

// diskBytes is the disk space the files under dir take (allocated blocks: Badger sizes some
// files ahead, sparse).
func diskBytes(b *testing.B, dir string) float64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return float64(n)
}

// w1Order appends a 1 KiB order like the ones splice-load sends: sixteen lines of SKUs,
// quantities and prices drawn from i, and a note padding it out.
func w1Order(dst []byte, i uint64) []byte {
	names := [...]string{"Ada Lovelace", "Grace Hopper", "Barbara Liskov", "Ken Thompson", "Edsger Dijkstra", "Frances Allen"}
	r := rand.New(rand.NewPCG(i, 0x5eed))
	name := names[i%uint64(len(names))]
	start := len(dst)
	dst = fmt.Appendf(dst, `{"id":%d,"customer":{"name":%q,"email":"%s@example.org"},"currency":"EUR","lines":[`,
		i, name, strings.ToLower(strings.ReplaceAll(name, " ", ".")))
	var total int
	for l := range 16 {
		if l > 0 {
			dst = append(dst, ',')
		}
		qty, price := 1+r.IntN(5), 100+r.IntN(9900)
		total += qty * price
		dst = fmt.Appendf(dst, `{"sku":"SKU-%04d","qty":%d,"price":%d.%02d}`, r.IntN(10000), qty, price/100, price%100)
	}
	dst = fmt.Appendf(dst, `],"total":%d.%02d,"note":"`, total/100, total%100)
	const note = "Please leave the parcel at the front desk if nobody answers. "
	for pad := 1024 - (len(dst) - start) - 2; pad > 0; pad -= len(note) {
		dst = append(dst, note[:min(pad, len(note))]...)
	}
	return append(dst, `"}`...)
}

// w1Commit is what the engine commits for a W1 item once both steps ran: the run, the two step
// records and three activity entries, shaped as the engine writes them.
func w1Commit(l ledger.Lease, ev ledger.Event) ledger.Commit {
	now := time.Now()
	at := now.UTC().Format(time.RFC3339Nano)
	id := ledger.NewID(now)
	text := fmt.Sprintf("New order %s by someone, total 42.00", l.Item.Event[:8])
	msg := fmt.Sprintf(`{"channel":"#orders","text":%q}`, text)
	format := fmt.Sprintf(`{"id":"format","kind":"transform","app":"chat","key":"format-order","status":"succeeded","attempts":1,"durationMs":0.394,"startedAt":%q,"input":{"order":%s},"output":%s}`,
		at, ev.Payload, msg)
	post := fmt.Sprintf(`{"id":"post","kind":"action","app":"chat","key":"send-message","status":"succeeded","attempts":1,`+
		`"exchanges":[{"method":"POST","url":"http://127.0.0.1:37643/api/chat.postMessage","injected":true,`+
		`"requestHeaders":{"Accept":"application/json","Authorization":"[redacted]","Content-Type":"application/json; charset=utf-8","Idempotency-Key":%q,"User-Agent":"splice"},`+
		`"requestBody":%q,"requestBodyBytes":%d,"status":200,"responseHeaders":{"Content-Length":"11","Content-Type":"application/json","Server":"splice-load"},`+
		`"responseBody":"{\"ok\":true}","responseBodyBytes":11,"startedAt":%q,"durationMs":3.475}],"durationMs":3.701,"startedAt":%q,`+
		`"input":%s,"output":{"ok":true,"status":200,"messageId":null}}`,
		strconv.FormatUint(rand.Uint64(), 16), msg, len(msg), at, at, msg)
	called := func(step, key string) ledger.Activity {
		return ledger.Activity{Consumer: l.Item.Consumer, Kind: "connector.called",
			Data: fmt.Appendf(nil, `{"run":%q,"step":%q,"app":"chat","key":%q,"status":"succeeded","attempt":1,"durationMs":0.1}`, id, step, key)}
	}
	return ledger.Commit{
		Run: &ledger.Run{ID: id, Automation: l.Item.Automation, Event: l.Item.Event, Status: ledger.Succeeded,
			Data: []byte(`{"automationName":"W1: order to chat","output":{"ok":true,"status":200,"messageId":null}}`)},
		Steps: []ledger.Step{{Run: id, Key: "0000-format", Data: []byte(format)}, {Run: id, Key: "0001-post", Data: []byte(post)}},
		Activity: []ledger.Activity{called("format", "format-order"), called("post", "send-message"),
			{Consumer: l.Item.Consumer, Kind: "run.succeeded", Data: fmt.Appendf(nil, `{"automation":%q,"event":%q,"run":%q}`, l.Item.Automation, l.Item.Event, id)}},
	}
}

// memSample is one reading of the process's resident memory, in MiB.
type memSample struct{ rss, anon float64 }

// readSmapsRollup reads this process's Rss and Anonymous from /proc/self/smaps_rollup.
func readSmapsRollup() (memSample, bool) {
	f, err := os.Open("/proc/self/smaps_rollup")
	if err != nil {
		return memSample{}, false
	}
	defer f.Close()
	var m memSample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 64)
		if err != nil {
			continue
		}
		switch string(k) {
		case "Rss":
			m.rss = kb / 1024
		case "Anonymous":
			m.anon = kb / 1024
		}
	}
	return m, m.rss > 0
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
