package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// Bounds of a fire run. Values outside them are refused, not clamped: a benchmark must run as
// asked or not at all.
const (
	maxDuration    = 10 * time.Minute
	maxRequests    = 10_000_000
	maxConnections = 1024
	maxRate        = 1_000_000
	maxTimeout     = time.Minute

	defaultConnections = 16
	defaultDuration    = 10 * time.Second
	defaultTimeout     = 5 * time.Second

	// lateAfter is how far behind its slot an open-loop request may start before it counts as late.
	lateAfter = time.Millisecond
)

// header is one extra request header.
type header struct{ Key, Value string }

// fireConfig is one load run. Its zero value, with a URL, is 16 connections in a closed loop for
// 10 s, each request given 5 s, ids from 1.
type fireConfig struct {
	// URL is the target, an http URL on loopback (127.0.0.0/8, ::1, localhost). Required.
	URL string
	// Connections is the number of concurrent keep-alive connections, each with one request in
	// flight at a time: 1 to 1024, 0 meaning 16.
	Connections int
	// Duration bounds when requests start: no request starts after it. 0 means 10 s; at most 10 m.
	Duration time.Duration
	// Requests, when positive, stops the run after that many requests (at most 10,000,000),
	// whichever of Duration and Requests comes first.
	Requests int64
	// Rate, when positive, makes the run open-loop: request i starts at i/Rate seconds (or as soon
	// as a connection is free after that). 0 is a closed loop, as fast as the server answers.
	Rate float64
	// Timeout bounds each request, from its start; a request in flight when Duration ends still
	// gets it. 0 means 5 s; at most 1 m. The run returns by Duration + Timeout.
	Timeout time.Duration
	// Headers are extra request headers, set after Content-Type (so they may replace it).
	Headers []header
	// FirstID is the id of the first order; orders are numbered FirstID, FirstID+1, ... across all
	// connections. 0 means 1.
	FirstID uint64
	// OnAccepted, when set, is called with the order id of every 2xx response, from the
	// connections' goroutines: it must be safe for concurrent use.
	OnAccepted func(id uint64)
	// ErrorPause, when positive, is how long a connection waits after a request that got no
	// response (refused, reset, timed out) or a 503 before its next one, so that a server being restarted
	// is not met with a busy loop of refused connections. At most 1 s.
	ErrorPause time.Duration
	// Resend, when positive, sends an order again (the same body), up to that many more times,
	// when its request got no response or a 503, as a webhook sender retries: a server that
	// stored it before the answer was lost must not store it twice. At most 100. Each attempt
	// counts in the report as a request of its own.
	Resend int
}

// latencyReport holds ack latencies in milliseconds.
type latencyReport struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// report is the outcome of a fire run.
type report struct {
	URL         string  `json:"url"`
	Connections int     `json:"connections"`
	Rate        float64 `json:"rate"` // 0: closed loop
	// Sent counts requests attempted (written, or failed to connect or write).
	Sent int64 `json:"sent"`
	// Accepted counts 2xx responses.
	Accepted int64 `json:"accepted"`
	// Statuses counts responses by HTTP status.
	Statuses map[int]int64 `json:"statuses"`
	// Errors counts requests without a response, by kind: timeout, refused, reset, closed,
	// notLoopback, tooLarge, other.
	Errors map[string]int64 `json:"errors"`
	// FirstError is the text of the first transport error, for diagnosis.
	FirstError string `json:"firstError,omitempty"`
	// EventIDs is the number of event ids in the eventIds arrays of 202 responses.
	EventIDs int64 `json:"eventIds"`
	// LastID is the highest order id sent (0 if none); a next run may start at LastID+1.
	LastID uint64 `json:"lastId"`
	// DurationSeconds is the wall time from the first request to the last response.
	DurationSeconds   float64 `json:"durationSeconds"`
	SentPerSecond     float64 `json:"sentPerSecond"`
	AcceptedPerSecond float64 `json:"acceptedPerSecond"`
	// LatencyMs is the ack latency of 2xx responses: from just before the request is written to
	// the end of the response.
	LatencyMs latencyReport `json:"latencyMs"`
	// LateStarts counts open-loop requests that started over 1 ms after their slot, because every
	// connection was busy or the generator was starved. Their latency leaves out that wait.
	LateStarts int64 `json:"lateStarts"`
}

// withDefaults validates c and returns it with its defaults applied.
func (c fireConfig) withDefaults() (fireConfig, error) {
	if c.URL == "" {
		return c, errors.New("fire: a target url is required")
	}
	if c.Connections == 0 {
		c.Connections = defaultConnections
	}
	if c.Duration == 0 {
		c.Duration = defaultDuration
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.FirstID == 0 {
		c.FirstID = 1
	}
	switch {
	case c.Connections < 1 || c.Connections > maxConnections:
		return c, fmt.Errorf("fire: connections %d out of range 1..%d", c.Connections, maxConnections)
	case c.Duration < 0 || c.Duration > maxDuration:
		return c, fmt.Errorf("fire: duration %s out of range (0, %s]", c.Duration, maxDuration)
	case c.Requests < 0 || c.Requests > maxRequests:
		return c, fmt.Errorf("fire: requests %d out of range 0..%d", c.Requests, maxRequests)
	case !(c.Rate >= 0 && c.Rate <= maxRate): // refuses NaN too
		return c, fmt.Errorf("fire: rate %g out of range 0..%d", c.Rate, maxRate)
	case c.Timeout < 0 || c.Timeout > maxTimeout:
		return c, fmt.Errorf("fire: timeout %s out of range (0, %s]", c.Timeout, maxTimeout)
	case c.FirstID > 1<<62:
		return c, fmt.Errorf("fire: first id %d too large", c.FirstID)
	case c.ErrorPause < 0 || c.ErrorPause > time.Second:
		return c, fmt.Errorf("fire: error pause %s out of range [0, 1s]", c.ErrorPause)
	case c.Resend < 0 || c.Resend > 100:
		return c, fmt.Errorf("fire: resend %d out of range [0, 100]", c.Resend)
	}
	for _, h := range c.Headers {
		if h.Key == "" || strings.ContainsAny(h.Key, " \t\r\n:") || strings.ContainsAny(h.Value, "\r\n") {
			return c, fmt.Errorf("fire: invalid header %q", h.Key+": "+h.Value)
		}
	}
	return c, nil
}

// fire runs one load run against cfg.URL and reports it. It starts no request after cfg.Duration,
// after cfg.Requests requests or once ctx is done, and returns when the requests in flight have
// been answered or timed out: by cfg.Duration + cfg.Timeout. Responses that are not 2xx and
// transport errors are counted in the report, not returned. fire may be called concurrently.
//
// # Errors
//
// An invalid configuration, a URL that is not http on loopback (errNotLoopback) among them. No
// request is sent then.
func fire(ctx context.Context, cfg fireConfig) (report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return report{}, err
	}
	u, err := parseLoopbackURL(cfg.URL)
	if err != nil {
		return report{}, fmt.Errorf("fire: %w", err)
	}
	r := &runState{cfg: cfg, uri: u.String(), addr: hostPort(u)}
	workers := make([]*worker, cfg.Connections)
	for i := range workers {
		workers[i] = newWorker(r)
	}
	r.start = time.Now()
	r.end = r.start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
	elapsed := time.Since(r.start)

	rep := report{
		URL:             u.Redacted(),
		Connections:     cfg.Connections,
		Rate:            cfg.Rate,
		Statuses:        map[int]int64{},
		Errors:          map[string]int64{},
		DurationSeconds: elapsed.Seconds(),
	}
	var hist latencyHist
	for _, w := range workers {
		rep.Sent += w.sent
		rep.Accepted += w.accepted
		rep.EventIDs += w.eventIDs
		rep.LateStarts += w.late
		rep.LastID = max(rep.LastID, w.lastID)
		for k, v := range w.statuses {
			rep.Statuses[k] += v
		}
		for k, v := range w.errors {
			rep.Errors[k] += v
		}
		hist.merge(&w.hist)
	}
	if p := r.firstErr.Load(); p != nil {
		rep.FirstError = *p
	}
	if s := elapsed.Seconds(); s > 0 {
		rep.SentPerSecond = float64(rep.Sent) / s
		rep.AcceptedPerSecond = float64(rep.Accepted) / s
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rep.LatencyMs = latencyReport{
		Count: hist.count(),
		P50:   ms(hist.quantile(0.50)),
		P90:   ms(hist.quantile(0.90)),
		P99:   ms(hist.quantile(0.99)),
		Max:   ms(hist.quantile(1)),
		Mean:  ms(hist.mean()),
	}
	return rep, nil
}

// runState is the state the workers of one fire call share.
type runState struct {
	cfg        fireConfig
	uri, addr  string
	start, end time.Time
	next       atomic.Int64 // tickets taken; ticket n (1-based) is order FirstID+n-1
	firstErr   atomic.Pointer[string]
}

// worker drives one connection. Its counters are its own until the run is over.
type worker struct {
	r        *runState
	hc       *fasthttp.HostClient
	body     []byte
	sent     int64
	accepted int64
	eventIDs int64
	late     int64
	lastID   uint64
	statuses map[int]int64
	errors   map[string]int64
	hist     latencyHist
}

func newWorker(r *runState) *worker {
	return &worker{
		r: r,
		hc: &fasthttp.HostClient{
			Addr:                r.addr,
			Name:                "splice-load",
			DialTimeout:         dialLoopback,
			MaxConns:            1,
			MaxResponseBodySize: 1 << 20,
			// Each request is sent once, so that what the server counts matches the report.
			MaxIdemponentCallAttempts: 1,
			RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		},
		body:     make([]byte, 0, orderSize),
		statuses: map[int]int64{},
		errors:   map[string]int64{},
	}
}

func (w *worker) loop(ctx context.Context) {
	cfg := &w.r.cfg
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	defer w.hc.CloseIdleConnections()
	req.SetRequestURI(w.r.uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	for _, h := range cfg.Headers {
		req.Header.Set(h.Key, h.Value)
	}
	var timer *time.Timer
	for ctx.Err() == nil {
		n := w.r.next.Add(1)
		if cfg.Requests > 0 && n > cfg.Requests {
			return
		}
		if cfg.Rate > 0 {
			slot := w.r.start.Add(time.Duration(float64(n-1) * float64(time.Second) / cfg.Rate))
			if !slot.Before(w.r.end) {
				return
			}
			if wait := time.Until(slot); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case <-timer.C:
				}
			} else if -wait > lateAfter {
				w.late++
			}
		}
		id := cfg.FirstID + uint64(n-1)
		w.body = appendOrder(w.body[:0], id)
		req.SetBody(w.body)
		for attempt := 0; ; attempt++ {
			t0 := time.Now()
			if cfg.Rate == 0 && !t0.Before(w.r.end) {
				return // an open-loop request whose slot was in time is sent, even if it starts late
			}
			again := w.send(req, resp, id, t0)
			if again && cfg.ErrorPause > 0 {
				sleepCtx(ctx, cfg.ErrorPause)
			}
			if !again || attempt == cfg.Resend || ctx.Err() != nil {
				break
			}
		}
	}
}

// send sends one request for order id, counts its outcome, and reports whether a sender would
// send it again: no response, or a 503.
func (w *worker) send(req *fasthttp.Request, resp *fasthttp.Response, id uint64, t0 time.Time) (again bool) {
	cfg := &w.r.cfg
	err := w.hc.DoDeadline(req, resp, t0.Add(cfg.Timeout))
	lat := time.Since(t0)
	w.sent++
	w.lastID = max(w.lastID, id)
	if err != nil {
		w.errors[errorKind(err)]++
		msg := err.Error()
		w.r.firstErr.CompareAndSwap(nil, &msg)
		return true
	}
	status := resp.StatusCode()
	w.statuses[status]++
	if status >= 200 && status <= 299 {
		w.accepted++
		w.hist.record(lat)
		if cfg.OnAccepted != nil {
			cfg.OnAccepted(id)
		}
		if status == fasthttp.StatusAccepted {
			w.eventIDs += gjson.GetBytes(resp.Body(), "eventIds.#").Int()
		}
	}
	return status == fasthttp.StatusServiceUnavailable
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// errorKind names the kind of a transport error for the report.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errNotLoopback):
		return "notLoopback"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return "tooLarge"
	}
	return "other"
}

// writeText writes rep for people.
func (rep *report) writeText(w io.Writer) error {
	mode := "closed loop"
	if rep.Rate > 0 {
		mode = "open loop at " + strconv.FormatFloat(rep.Rate, 'f', -1, 64) + "/s"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "target     %s (%d connections, %s)\n", rep.URL, rep.Connections, mode)
	fmt.Fprintf(&b, "sent       %d in %.2fs (%.1f/s)\n", rep.Sent, rep.DurationSeconds, rep.SentPerSecond)
	fmt.Fprintf(&b, "accepted   %d (2xx), %.1f/s\n", rep.Accepted, rep.AcceptedPerSecond)
	fmt.Fprintf(&b, "statuses   %s\n", counts(rep.Statuses, strconv.Itoa))
	fmt.Fprintf(&b, "errors     %s\n", counts(rep.Errors, func(s string) string { return s }))
	if rep.FirstError != "" {
		fmt.Fprintf(&b, "first err  %s\n", rep.FirstError)
	}
	l := rep.LatencyMs
	fmt.Fprintf(&b, "latency    p50 %.3fms  p90 %.3fms  p99 %.3fms  max %.3fms  mean %.3fms  (%d 2xx, write to response)\n",
		l.P50, l.P90, l.P99, l.Max, l.Mean, l.Count)
	fmt.Fprintf(&b, "event ids  %d (in 202 responses)\n", rep.EventIDs)
	if rep.Rate > 0 {
		fmt.Fprintf(&b, "late       %d started over %s behind their slot\n", rep.LateStarts, lateAfter)
	}
	fmt.Fprintf(&b, "order ids  up to %d\n", rep.LastID)
	_, err := io.WriteString(w, b.String())
	return err
}

// counts formats a tally as "k=v k=v" in key order, "none" when empty.
func counts[K int | string](m map[K]int64, name func(K) string) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, name(k)+"="+strconv.FormatInt(m[k], 10))
	}
	return strings.Join(parts, " ")
}
