package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds of a crash run.
const (
	maxKills          = 100
	maxFailRate       = 0.5
	minCrashInterval  = 100 * time.Millisecond
	maxCrashInterval  = time.Minute
	crashErrorPause   = 20 * time.Millisecond // a connection's wait after a request without a response
	crashFireDuration = maxDuration           // the load is stopped by its context, after the last restart
)

// crashConfig is one run of the crash test: W1 under load while the server is killed and
// restarted.
type crashConfig struct {
	e2eConfig               // the server and the load (Duration is not used)
	Kills     int           // how many times the server is killed (SIGKILL) and restarted
	Interval  time.Duration // the mean time from a restart to the next kill (uniform in [½, 1½] of it)
	Seed      uint64        // the kills' timing; 0 picks one
	// Term stops the server with SIGTERM (a graceful stop, which must end cleanly) instead of
	// killing it: then nothing in hand may be cut short either, so nothing is retried or run
	// without its reply.
	Term bool
	// FailRate, when positive, makes the upstream answer that share of the messages with 503
	// (a flaky upstream), and gives W1 a quick retry policy (crashRetry): the runs whose attempts
	// run out are dead-lettered, and the test replays them through the API until every accepted
	// order has been delivered.
	FailRate float64
	// Resend sends a webhook again, up to that many more times, when it got no response or a
	// 503, as a sender would: the server must not store twice one it had stored before the kill
	// cut its answer (W1 sends no webhook-id, so the body's digest dedupes it).
	Resend int
}

// crashRetry is W1's retry policy when the upstream fails some messages: three attempts, with
// backoff ceilings of 100 then 200 ms (full jitter), so that runs die within the test and get
// replayed.
const crashRetry = `"retry": {"maxAttempts": 3, "baseDelayMs": 100, "maxDelayMs": 500},`

// crashReport is what a crash run found.
type crashReport struct {
	Guests      string  `json:"guests"`
	Connections int     `json:"connections"`
	Kills       int     `json:"kills"`
	Signal      string  `json:"signal"` // KILL or TERM
	Seed        uint64  `json:"seed"`
	LoadSeconds float64 `json:"loadSeconds"`
	// Sent, Accepted, Statuses and Errors are the load's: requests, 2xx responses, responses by
	// status, requests without a response by kind (most of them the kills').
	Sent     int64            `json:"sent"`
	Accepted int64            `json:"accepted"`
	Statuses map[int]int64    `json:"statuses"`
	Errors   map[string]int64 `json:"errors,omitempty"`
	// RestartMs is, for each kill, the time from the server's death to its successor answering
	// /healthz over the same data. StopMs is, for each SIGTERM, the time the graceful stop took.
	RestartMs []float64 `json:"restartMs"`
	StopMs    []float64 `json:"stopMs,omitempty"`
	// Messages counts the upstream's messages; Orders the distinct orders they named.
	Messages int64 `json:"messages"`
	Orders   int64 `json:"orders"`
	// Lost counts accepted webhooks whose order never reached the upstream: must be 0.
	Lost int64 `json:"lost"`
	// Retried counts orders posted more than once, always with the same idempotency key: the
	// action re-run after a kill cut its commit short, which the upstream can tell (at least
	// once, DESIGN.md).
	Retried int64 `json:"retried"`
	// Doubled counts orders posted under two or more idempotency keys: one webhook run twice as
	// two runs, which no upstream can tell. Must be 0.
	Doubled int64 `json:"doubled"`
	// Unacked counts orders that reached the upstream although their webhook got no 2xx: the
	// kill came after the event's commit and before the reply (a sender would retry it, and the
	// server would dedupe the retry).
	Unacked int64 `json:"unacked"`
	// Unnamed counts messages that named no order.
	Unnamed int64 `json:"unnamed"`
	// FailRate is the share of messages the upstream answered 503; Failed counts them, and
	// Replayed the dead runs the test replayed (a run replayed twice counts twice).
	FailRate float64 `json:"failRate,omitempty"`
	Failed   int64   `json:"failed,omitempty"`
	Replayed int64   `json:"replayed,omitempty"`
	// DrainSeconds is the time from the end of the load until the last accepted order reached
	// the upstream (or the wait gave up).
	DrainSeconds float64 `json:"drainSeconds"`
}

// orderTally is what the upstream got for one order.
type orderTally struct {
	messages int      // delivered: answered 200
	keys     []string // the distinct Idempotency-Key headers of every attempt, in arrival order
}

// crashTally collects the upstream's messages by order, and the orders the load had accepted. It
// is safe for concurrent use.
type crashTally struct {
	mu       sync.Mutex
	orders   map[uint64]*orderTally
	accepted map[uint64]struct{}
	messages int64 // delivered
	failed   int64 // answered 503
	unnamed  int64
}

func newCrashTally() *crashTally {
	return &crashTally{orders: map[uint64]*orderTally{}, accepted: map[uint64]struct{}{}}
}

// message is the sink's OnMessage. A failed message (answered 503) is not delivered, but its
// idempotency key is kept: every attempt of an order's action must carry the same one.
func (t *crashTally) message(body, key []byte, failed bool) {
	id, ok := orderOf(body)
	t.mu.Lock()
	defer t.mu.Unlock()
	if failed {
		t.failed++
	} else {
		t.messages++
	}
	if !ok {
		t.unnamed++
		return
	}
	o := t.orders[id]
	if o == nil {
		o = &orderTally{}
		t.orders[id] = o
	}
	if !failed {
		o.messages++
	}
	if !slices.Contains(o.keys, string(key)) {
		o.keys = append(o.keys, string(key))
	}
}

// accept is fire's OnAccepted.
func (t *crashTally) accept(id uint64) {
	t.mu.Lock()
	t.accepted[id] = struct{}{}
	t.mu.Unlock()
}

// missing returns how many accepted orders have no delivered message yet, and the messages
// received (delivered or failed).
func (t *crashTally) missing() (missing int64, messages int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.accepted {
		if o := t.orders[id]; o == nil || o.messages == 0 {
			missing++
		}
	}
	return missing, t.messages + t.failed
}

// fill sets the report's message figures.
func (t *crashTally) fill(r *crashReport) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.Messages, r.Failed, r.Unnamed = t.messages, t.failed, t.unnamed
	for id := range t.accepted {
		if o := t.orders[id]; o == nil || o.messages == 0 {
			r.Lost++
		}
	}
	for id, o := range t.orders {
		if o.messages > 0 {
			r.Orders++
		}
		switch {
		case len(o.keys) > 1:
			r.Doubled++
		case o.messages > 1:
			r.Retried++
		}
		if _, ok := t.accepted[id]; !ok && o.messages > 0 {
			r.Unacked++
		}
	}
}

// orderOf reads the order id out of a W1 chat message: its text says "New order <id> by ...".
func orderOf(body []byte) (uint64, bool) {
	const mark = "New order "
	i := bytes.Index(body, []byte(mark))
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(mark):]
	n := 0
	for n < len(rest) && n < 20 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	id, err := strconv.ParseUint(string(rest[:n]), 10, 64)
	return id, err == nil
}

// runCrash runs W1 against a splice server that is killed with SIGKILL cfg.Kills times under
// load, and restarted each time over the same data directory and address; then it waits for the
// accepted orders to reach the upstream and tallies what the upstream got.
func runCrash(ctx context.Context, cfg crashConfig, log io.Writer) (*crashReport, error) {
	guest, ok := w1Guests[cfg.Guests]
	if !ok {
		return nil, fmt.Errorf("crash: guests %q: c or go", cfg.Guests)
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	rep := &crashReport{Guests: cfg.Guests, Connections: cfg.Connections, Kills: cfg.Kills, Seed: cfg.Seed, Signal: "KILL",
		FailRate: cfg.FailRate}
	if cfg.Term {
		rep.Signal = "TERM"
	}
	tally := newCrashTally()
	sk, err := runSink(ctx, "127.0.0.1:0", sinkOptions{OnMessage: tally.message, FailRate: cfg.FailRate})
	if err != nil {
		return nil, err
	}
	defer sk.Close()
	dir := cfg.Keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "splice-crash-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	srv, err := startSpliceAt(ctx, cfg.e2eConfig, dir, addr, log)
	if err != nil {
		return nil, err
	}
	defer func() { srv.kill() }()
	retry := ""
	if cfg.FailRate > 0 {
		retry = crashRetry
	}
	hook, token, err := setupW1(ctx, srv, cfg.Connectors, guest, sk.URL(), retry)
	if err != nil {
		return nil, err
	}

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	type fired struct {
		r   report
		err error
	}
	done := make(chan fired, 1)
	start := time.Now()
	go func() {
		r, err := fire(loadCtx, fireConfig{URL: hook, Connections: cfg.Connections, Duration: crashFireDuration,
			ErrorPause: crashErrorPause, Resend: cfg.Resend, OnAccepted: tally.accept})
		done <- fired{r, err}
	}()
	rnd := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	jitter := func() time.Duration { return cfg.Interval/2 + time.Duration(rnd.Int64N(int64(cfg.Interval))) }
	for k := range cfg.Kills {
		sleepCtx(ctx, jitter())
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		fmt.Fprintf(log, "crash: SIG%s %d of %d at %.1f s\n", rep.Signal, k+1, cfg.Kills, time.Since(start).Seconds())
		if cfg.Term {
			t0 := time.Now()
			if err := srv.stop(); err != nil {
				return nil, fmt.Errorf("crash: SIGTERM %d: splice did not stop cleanly: %w", k+1, err)
			}
			rep.StopMs = append(rep.StopMs, float64(time.Since(t0).Microseconds())/1000)
		} else {
			srv.kill()
		}
		died := time.Now()
		next, err := startSpliceAt(ctx, cfg.e2eConfig, dir, addr, log)
		if err != nil {
			return nil, fmt.Errorf("crash: restart after kill %d: %w", k+1, err)
		}
		srv = next
		rep.RestartMs = append(rep.RestartMs, float64(time.Since(died).Microseconds())/1000)
	}
	sleepCtx(ctx, jitter()) // the last server takes webhooks too
	stopLoad()
	f := <-done
	if f.err != nil {
		return nil, f.err
	}
	loadEnd := time.Now()
	rep.LoadSeconds = loadEnd.Sub(start).Seconds()
	rep.Sent, rep.Accepted, rep.Statuses = f.r.Sent, f.r.Accepted, f.r.Statuses
	if len(f.r.Errors) > 0 {
		rep.Errors = f.r.Errors
	}

	// Wait until every accepted order reached the upstream, or nothing arrived for cfg.Drain;
	// with a flaky upstream, replay the dead runs meanwhile.
	last, lastChange := int64(-1), time.Now()
	for {
		missing, messages := tally.missing()
		if messages != last {
			last, lastChange = messages, time.Now()
		}
		if missing == 0 || time.Since(lastChange) > cfg.Drain {
			break
		}
		if cfg.FailRate > 0 {
			n, err := replayDead(ctx, srv, token)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				rep.Replayed += n
				lastChange = time.Now()
			}
		}
		fmt.Fprintf(log, "crash: %d accepted orders not yet at the upstream (%d runs replayed)\n", missing, rep.Replayed)
		sleepCtx(ctx, time.Second)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	rep.DrainSeconds = time.Since(loadEnd).Seconds()
	if err := srv.stop(); err != nil {
		return nil, fmt.Errorf("splice did not stop cleanly after the last restart: %w", err)
	}
	tally.fill(rep)
	return rep, nil
}

// replayDead replays every dead run of W1's consumer and returns how many it replayed. A run
// already being replayed (409) is left alone.
func replayDead(ctx context.Context, p *spliceProc, token string) (int64, error) {
	var ids []string
	for cursor := ""; ; {
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		path := "/v1/envs/development/runs?status=dead&limit=1000"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := p.call(ctx, "GET", path, token, "", nil, 200, &page); err != nil {
			return 0, fmt.Errorf("crash: list dead runs: %w", err)
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	var n int64
	for _, id := range ids {
		err := p.call(ctx, "POST", "/v1/envs/development/runs/"+url.PathEscape(id)+"/replay", token, "application/json", nil, 202, nil)
		switch {
		case err == nil:
			n++
		case strings.Contains(err.Error(), ": 409 "):
		default:
			return n, fmt.Errorf("crash: replay run %s: %w", id, err)
		}
	}
	return n, nil
}

func (r *crashReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "W1 under %d stops (SIG%s, then a restart over the same data), %s guests, %d connections, seed %d:\n",
		r.Kills, r.Signal, r.Guests, r.Connections, r.Seed)
	fmt.Fprintf(w, "  load        %9.1f s   %d sent, %d accepted; statuses %s; no response %s\n",
		r.LoadSeconds, r.Sent, r.Accepted, counts(r.Statuses, strconv.Itoa), counts(r.Errors, func(s string) string { return s }))
	ms := slices.Clone(r.RestartMs)
	slices.Sort(ms)
	if len(ms) > 0 {
		fmt.Fprintf(w, "  restarts    %9.0f ms median, %.0f ms longest (exit to /healthz)\n", ms[len(ms)/2], ms[len(ms)-1])
	}
	if st := slices.Sorted(slices.Values(r.StopMs)); len(st) > 0 {
		fmt.Fprintf(w, "  stops       %9.0f ms median, %.0f ms longest (SIGTERM to exit)\n", st[len(st)/2], st[len(st)-1])
	}
	fmt.Fprintf(w, "  upstream    %9d messages for %d orders, the last %.1f s after the load\n", r.Messages, r.Orders, r.DrainSeconds)
	fmt.Fprintf(w, "  lost        %9d accepted webhooks whose order never reached the upstream\n", r.Lost)
	fmt.Fprintf(w, "  doubled     %9d orders posted under two idempotency keys (one webhook, two runs)\n", r.Doubled)
	fmt.Fprintf(w, "  retried     %9d orders posted again with the same idempotency key (an action re-run after a kill)\n", r.Retried)
	fmt.Fprintf(w, "  unacked     %9d orders run whose webhook got no 2xx (killed between the commit and the reply)\n", r.Unacked)
	if r.Unnamed > 0 {
		fmt.Fprintf(w, "  unnamed     %9d messages naming no order\n", r.Unnamed)
	}
	if r.FailRate > 0 {
		fmt.Fprintf(w, "  flaky       %9d messages answered 503 (%.0f %%), %d dead runs replayed\n", r.Failed, 100*r.FailRate, r.Replayed)
	}
}

func crashCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("crash", `Usage: splice-load crash --splice PATH --connectors DIR [flags]

The crash test, workload W1 on loopback: a splice server over a temporary data directory takes
webhooks from --connections connections while it is killed with SIGKILL --kills times, at random
moments about --interval apart, and restarted each time on the same address over the same data.
After the load it waits for the runs, then tallies what the upstream (this tool's sink) got, by
order and by Idempotency-Key header. Reports the accepted webhooks whose order never reached the
upstream (lost), the orders posted under two idempotency keys (doubled: one webhook run twice),
the orders posted again under the same key (retried: an action re-run after a kill, which the
upstream can tell), the orders run whose webhook got no 2xx (unacked), and the restart times.
Exits 1 when any webhook was lost or any order doubled. With --term the server is stopped with
SIGTERM instead, gracefully: each stop must end cleanly, and an order retried or run without its
reply fails the run too. With --fail-rate the upstream answers that share of the messages with
503: W1 gets a quick retry policy (three attempts), and the test replays the runs that die through
the API until every accepted order is delivered; every attempt of an order must carry the same
idempotency key.
`, stderr)
	cfg := crashConfig{}
	cfg.register(fs)
	fs.IntVar(&cfg.Kills, "kills", 5, "how many times the server is killed and restarted (0 to 100)")
	fs.DurationVar(&cfg.Interval, "interval", 2*time.Second, "the mean time from a restart to the next kill, and to the end of the load after the last (100ms to 1m)")
	fs.DurationVar(&cfg.Drain, "drain", time.Minute, "give up waiting for the upstream after no message came for this long")
	fs.Float64Var(&cfg.FailRate, "fail-rate", 0, "the share of messages the upstream answers 503, at random (0 to 0.5); W1 then retries quickly and the test replays the dead runs")
	fs.IntVar(&cfg.Resend, "resend", 0, "send a webhook again, up to this many more times (0 to 100), when it got no response or a 503, as a sender would: one the server stored before a kill cut its answer must not run twice")
	fs.BoolVar(&cfg.Term, "term", false, "stop the server with SIGTERM (a graceful stop, which must end cleanly) instead of SIGKILL; then any order retried or run without its reply fails the run too")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "the seed of the kills' timing (0: a random one, printed in the report)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case cfg.Connections < 1 || cfg.Connections > maxConnections:
		return &usageError{fmt.Errorf("crash: --connections %d out of range [1, %d]", cfg.Connections, maxConnections)}
	case cfg.Kills < 0 || cfg.Kills > maxKills:
		return &usageError{fmt.Errorf("crash: --kills %d out of range [0, %d]", cfg.Kills, maxKills)}
	case !(cfg.FailRate >= 0 && cfg.FailRate <= maxFailRate): // refuses NaN too
		return &usageError{fmt.Errorf("crash: --fail-rate %g out of range [0, %g]", cfg.FailRate, maxFailRate)}
	case cfg.Interval < minCrashInterval || cfg.Interval > maxCrashInterval:
		return &usageError{fmt.Errorf("crash: --interval %s out of range [%s, %s]", cfg.Interval, minCrashInterval, maxCrashInterval)}
	case time.Duration(cfg.Kills+1)*cfg.Interval*3/2 > crashFireDuration:
		// fire stops by itself after crashFireDuration: the later kills would find no load.
		return &usageError{fmt.Errorf("crash: --kills %d at --interval %s may outlast the load's bound of %s", cfg.Kills, cfg.Interval, crashFireDuration)}
	case cfg.Drain <= 0 || cfg.Drain > maxDuration:
		return &usageError{fmt.Errorf("crash: --drain %s out of range (0, %s]", cfg.Drain, maxDuration)}
	case cfg.Resend < 0 || cfg.Resend > 100:
		return &usageError{fmt.Errorf("crash: --resend %d out of range [0, 100]", cfg.Resend)}
	case cfg.Workers < 1:
		return &usageError{fmt.Errorf("crash: --workers %d must be positive", cfg.Workers)}
	}
	rep, err := runCrash(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	printReport(stdout, rep, *asJSON)
	var errs []error
	if rep.Lost != 0 {
		errs = append(errs, fmt.Errorf("crash: %d accepted webhooks never reached the upstream", rep.Lost))
	}
	if rep.Doubled != 0 {
		errs = append(errs, fmt.Errorf("crash: %d orders were posted under two idempotency keys", rep.Doubled))
	}
	if cfg.Term && rep.Retried+rep.Unacked != 0 {
		errs = append(errs, fmt.Errorf("crash: graceful stops cut work short: %d orders retried, %d run without their reply", rep.Retried, rep.Unacked))
	}
	return errors.Join(errs...)
}
