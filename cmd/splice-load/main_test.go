package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// startSink runs a sink on 127.0.0.1:0 for the test's lifetime.
func startSink(t *testing.T, opts sinkOptions) *sink {
	t.Helper()
	s, err := runSink(t.Context(), "127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSinkCountsWhatFireSends(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	rep, err := fire(t.Context(), fireConfig{URL: s.URL() + "/chat", Connections: 8, Requests: 2000, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 2000 || rep.Accepted != 2000 || len(rep.Errors) != 0 ||
		len(rep.Statuses) != 1 || rep.Statuses[200] != 2000 || rep.LastID != 2000 {
		t.Fatalf("report %+v; want 2000 sent and accepted, statuses {200: 2000}, no errors, last id 2000", rep)
	}
	if got := s.Received(); got != 2000 {
		t.Fatalf("sink received %d, want 2000", got)
	}
	if got, err := fetchCount(t.Context(), s.URL()+"/count"); err != nil || got != 2000 {
		t.Fatalf("fetchCount = %d, %v; want 2000", got, err)
	}
	if rep.LatencyMs.Count != 2000 || rep.LatencyMs.P50 <= 0 || rep.LatencyMs.P50 > rep.LatencyMs.P99 ||
		rep.LatencyMs.P99 > rep.LatencyMs.Max {
		t.Fatalf("latency %+v; want 2000 samples with 0 < p50 <= p99 <= max", rep.LatencyMs)
	}
}

// TestSinkCountsDuplicates: orders fired twice (ids 1..500, then 1..300) are 300 duplicates;
// after ResetDuplicates the same bodies count as new again.
func TestSinkCountsDuplicates(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	for _, n := range []int64{500, 300} {
		if _, err := fire(t.Context(), fireConfig{URL: s.URL() + "/chat", Connections: 4, Requests: n, Duration: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Received() != 800 || s.Duplicates() != 300 {
		t.Fatalf("received %d, duplicates %d; want 800 and 300", s.Received(), s.Duplicates())
	}
	s.ResetDuplicates()
	if _, err := fire(t.Context(), fireConfig{URL: s.URL() + "/chat", Connections: 4, Requests: 100, Duration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if s.Duplicates() != 0 {
		t.Fatalf("duplicates %d after a reset and 100 orders not seen since; want 0", s.Duplicates())
	}
}

// TestResendToAFlakyUpstream: fire sends an order again after a 503, and the sink, failing half
// the messages, counts the copies as received but not as duplicates: each order is delivered once.
func TestResendToAFlakyUpstream(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{FailRate: 0.5})
	rep, err := fire(t.Context(), fireConfig{URL: s.URL() + "/chat", Connections: 4, Requests: 200, Duration: time.Minute, Resend: 100})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 200 || rep.Statuses[503] == 0 || s.Received() != rep.Sent || s.Received() <= 200 || s.Duplicates() != 0 {
		t.Fatalf("accepted %d, 503s %d, sent %d, received %d, duplicates %d; want 200 accepted after some 503s, all sent received, no duplicate",
			rep.Accepted, rep.Statuses[503], rep.Sent, s.Received(), s.Duplicates())
	}
}

// expectedText maps an order the way the native handler must, but with encoding/json.
func expectedText(t *testing.T, id uint64) string {
	t.Helper()
	var o struct {
		ID       json.Number `json:"id"`
		Customer struct {
			Name string `json:"name"`
		} `json:"customer"`
		Total json.Number `json:"total"`
	}
	d := json.NewDecoder(strings.NewReader(string(appendOrder(nil, id))))
	d.UseNumber()
	if err := d.Decode(&o); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("New order %s by %s, total %s", o.ID, o.Customer.Name, o.Total)
}

func TestNativeEndToEnd(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		messages []string
	)
	s := startSink(t, sinkOptions{OnMessage: func(body, _ []byte, _ bool) {
		mu.Lock()
		messages = append(messages, string(body))
		mu.Unlock()
	}})
	n, err := runNative(t.Context(), "127.0.0.1:0", s.URL()+"/api/chat.postMessage")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })

	const total = 400
	rep, err := fire(t.Context(), fireConfig{URL: n.URL() + "/hooks/dev/orders", Connections: 8, Requests: total, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != total || rep.Statuses[200] != total || s.Received() != rep.Accepted || n.Delivered() != total {
		t.Fatalf("accepted %d, statuses %v, sink received %d, native delivered %d; want all %d",
			rep.Accepted, rep.Statuses, s.Received(), n.Delivered(), total)
	}
	want := map[string]bool{}
	for id := uint64(1); id <= total; id++ {
		want[expectedText(t, id)] = true
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range messages {
		var msg struct{ Channel, Text string }
		if err := json.Unmarshal([]byte(m), &msg); err != nil || msg.Channel != "#orders" || !want[msg.Text] {
			t.Fatalf("message %s (%v): want channel #orders and the text of an order not seen yet", m, err)
		}
		delete(want, msg.Text)
	}
	if len(want) != 0 {
		t.Fatalf("%d orders have no message", len(want))
	}
}

func TestNativeRefusesBadOrders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"not json", `{"id":`},
		{"no id", `{"customer":{"name":"x"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := appendMessage(nil, []byte(tc.body)); !errors.Is(err, errBadOrder) {
				t.Fatalf("appendMessage(%s) error %v, want errBadOrder", tc.body, err)
			}
		})
	}
}

func TestNativeUpstreamDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	n, err := runNative(t.Context(), "127.0.0.1:0", closed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	rep, err := fire(t.Context(), fireConfig{URL: n.URL(), Connections: 2, Requests: 10, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 0 || rep.Statuses[502] != 10 || n.Failed() != 10 || n.FirstError() == "" {
		t.Fatalf("statuses %v, native failed %d (%q); want 10 answered 502", rep.Statuses, n.Failed(), n.FirstError())
	}
}

func TestFireRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
	}{
		{"name", "http://example.com/"},
		{"private ipv4", "http://10.0.0.1/"},
		{"documentation ipv6", "http://[2001:db8::1]/"},
		{"any address", "http://0.0.0.0:8080/"},
		{"loopback-looking name", "http://127.0.0.1.example.com/"},
		{"localhost subdomain", "http://localhost.example.com/"},
		{"short ipv4 form", "http://127.1/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := fire(t.Context(), fireConfig{URL: tc.url, Requests: 1})
			if !errors.Is(err, errNotLoopback) || !strings.Contains(err.Error(), "loopback") {
				t.Fatalf("fire(%s) error %v; want a refusal naming loopback", tc.url, err)
			}
		})
	}
	t.Run("scheme", func(t *testing.T) {
		t.Parallel()
		if _, err := fire(t.Context(), fireConfig{URL: "https://127.0.0.1/", Requests: 1}); err == nil || !strings.Contains(err.Error(), "scheme") {
			t.Fatalf("fire(https) error %v; want a refusal of the scheme", err)
		}
	})
	t.Run("command line", func(t *testing.T) {
		t.Parallel()
		var out, errb strings.Builder
		code := run(t.Context(), []string{"fire", "--url", "http://10.0.0.1/hooks/dev/a"}, &out, &errb)
		if code != exitUsage || out.Len() != 0 || !strings.Contains(errb.String(), `host "10.0.0.1" is not a loopback address`) {
			t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and the refusal", code, out.String(), errb.String())
		}
	})
}

func TestLoopbackURLsAccepted(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://127.0.0.1/", "http://127.0.0.1:8080/hooks", "http://127.9.8.7/",
		"http://[::1]:8080/", "http://localhost:9/", "http://LOCALHOST/", "http://[::ffff:127.0.0.1]/"} {
		if _, err := parseLoopbackURL(u); err != nil {
			t.Errorf("parseLoopbackURL(%s): %v", u, err)
		}
	}
	s := startSink(t, sinkOptions{})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL(), "http://"))
	rep, err := fire(t.Context(), fireConfig{URL: "http://localhost:" + port + "/", Connections: 1, Requests: 3, Duration: time.Minute})
	if err != nil || rep.Accepted != 3 {
		t.Fatalf("fire at localhost: %+v, %v; want 3 accepted", rep, err)
	}
	s6, err := runSink(t.Context(), "[::1]:0", sinkOptions{})
	if err != nil {
		t.Logf("no IPv6 loopback here, skipping fire at [::1]: %v", err)
		return
	}
	t.Cleanup(func() { _ = s6.Close() })
	rep, err = fire(t.Context(), fireConfig{URL: s6.URL(), Connections: 1, Requests: 3, Duration: time.Minute})
	if err != nil || rep.Accepted != 3 {
		t.Fatalf("fire at %s: %+v, %v; want 3 accepted", s6.URL(), rep, err)
	}
}

func TestDialAndListenRefuseNonLoopback(t *testing.T) {
	t.Parallel()
	// The dialer's check runs before connect: no packet leaves for 192.0.2.1 (TEST-NET-1).
	if _, err := dialLoopback("192.0.2.1:80", time.Second); !errors.Is(err, errNotLoopback) {
		t.Fatalf("dialLoopback(192.0.2.1:80) error %v, want errNotLoopback", err)
	}
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0"} {
		if _, err := runSink(t.Context(), addr, sinkOptions{}); !errors.Is(err, errNotLoopback) {
			t.Errorf("runSink(%q) error %v, want errNotLoopback", addr, err)
		}
	}
	if _, err := runNative(t.Context(), "127.0.0.1:0", "http://192.0.2.1/"); !errors.Is(err, errNotLoopback) {
		t.Errorf("runNative with upstream 192.0.2.1 error %v, want errNotLoopback", err)
	}
	if _, err := fetchCount(t.Context(), "http://192.0.2.1/count"); !errors.Is(err, errNotLoopback) {
		t.Errorf("fetchCount(192.0.2.1) error %v, want errNotLoopback", err)
	}
}

func TestFireDurationBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout time.Duration
	}{
		// Requests in flight at the end are answered after the sink's 1 s: all accepted.
		{"in flight answered", 0},
		// Requests give up after 100 ms, before any answer: none accepted.
		{"in flight timed out", 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startSink(t, sinkOptions{Delay: time.Second})
			const conns = 4
			start := time.Now()
			rep, err := fire(t.Context(), fireConfig{URL: s.URL(), Connections: conns, Duration: 300 * time.Millisecond, Timeout: tc.timeout})
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			var failed int64
			for _, n := range rep.Errors {
				failed += n
			}
			var answered int64
			for _, n := range rep.Statuses {
				answered += n
			}
			if elapsed >= 2*time.Second || rep.Sent < conns || rep.Sent != answered+failed {
				t.Fatalf("returned after %s with %+v; want under 2 s, at least %d sent, each answered or failed", elapsed, rep, conns)
			}
			if tc.timeout > 0 && (rep.Accepted != 0 || rep.Errors["timeout"] == 0) {
				t.Fatalf("report %+v; want no request accepted and some timeouts", rep)
			}
			if tc.timeout == 0 && (rep.Accepted != rep.Sent || rep.Accepted != s.Received()) {
				t.Fatalf("report %+v, sink received %d; want every request accepted and received", rep, s.Received())
			}
		})
	}
}

func TestFireStopsWhenContextDone(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := fire(ctx, fireConfig{URL: s.URL(), Connections: 2, Duration: time.Minute})
	if err != nil || time.Since(start) > 5*time.Second || rep.Sent == 0 || rep.Accepted != s.Received() {
		t.Fatalf("fire returned after %s: %+v, %v; want it to stop soon after the context, all received", time.Since(start), rep, err)
	}
}

func TestFireOpenLoop(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	// 200/s for 500 ms: slots at 0, 5, ..., 495 ms, so exactly 100 requests.
	rep, err := fire(t.Context(), fireConfig{URL: s.URL(), Connections: 4, Rate: 200, Duration: 500 * time.Millisecond})
	if err != nil || rep.Sent != 100 || rep.Accepted != 100 {
		t.Fatalf("report %+v, %v; want exactly 100 sent and accepted", rep, err)
	}
}

func TestFireCountsEventIDs(t *testing.T) {
	t.Parallel()
	// A stand-in for Splice's ingress: 202 with two event ids.
	ls, err := startServer(t.Context(), "127.0.0.1:0", func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusAccepted)
		ctx.SetBodyString(`{"eventIds":["e1","e2"]}`)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Close() })
	rep, err := fire(t.Context(), fireConfig{URL: ls.URL(), Connections: 2, Requests: 10, Duration: time.Minute})
	if err != nil || rep.Statuses[202] != 10 || rep.Accepted != 10 || rep.EventIDs != 20 {
		t.Fatalf("report %+v, %v; want 10 accepted with 202 and 20 event ids", rep, err)
	}
}

func TestFireConfigBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  fireConfig
	}{
		{"no url", fireConfig{}},
		{"duration", fireConfig{URL: "http://127.0.0.1/", Duration: 11 * time.Minute}},
		{"requests", fireConfig{URL: "http://127.0.0.1/", Requests: 10_000_001}},
		{"connections", fireConfig{URL: "http://127.0.0.1/", Connections: 100_000}},
		{"rate", fireConfig{URL: "http://127.0.0.1/", Rate: -1}},
		{"timeout", fireConfig{URL: "http://127.0.0.1/", Timeout: time.Hour}},
		{"header", fireConfig{URL: "http://127.0.0.1/", Headers: []header{{"X-A\r\nB", "c"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := fire(t.Context(), tc.cfg); err == nil {
				t.Fatalf("fire(%+v) ran; want a refusal", tc.cfg)
			}
		})
	}
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	within := func(got, want time.Duration) bool {
		d := float64(got - want)
		return d <= 0.01*float64(want) && -d <= 0.01*float64(want)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.001, time.Millisecond}} {
		if got := h.quantile(c.q); !within(got, c.want) {
			t.Errorf("quantile(%g) = %s, want %s within 1%%", c.q, got, c.want)
		}
	}
	if h.quantile(1) != time.Second || h.mean() != 500500*time.Microsecond || h.count() != 1000 {
		t.Errorf("max %s, mean %s, count %d; want 1s, 500.5ms, 1000 exactly", h.quantile(1), h.mean(), h.count())
	}

	// Small values are exact; an empty histogram answers 0.
	var small, empty latencyHist
	for _, v := range []time.Duration{3, 1, 2, 5, 4} {
		small.record(v)
	}
	if small.quantile(0.5) != 3 || small.quantile(0.2) != 1 || small.quantile(0.99) != 5 || empty.quantile(0.5) != 0 {
		t.Errorf("small p50 %d p20 %d p99 %d, empty %d; want 3 1 5 0", small.quantile(0.5), small.quantile(0.2), small.quantile(0.99), empty.quantile(0.5))
	}

	// Against sorted random samples, split across merged histograms like fire's connections.
	rng := rand.New(rand.NewPCG(1, 2))
	samples := make([]time.Duration, 50_000)
	parts := make([]latencyHist, 4)
	for i := range samples {
		samples[i] = time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond))
		parts[i%len(parts)].record(samples[i])
	}
	var merged latencyHist
	for i := range parts {
		merged.merge(&parts[i])
	}
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := samples[int(math.Ceil(q*float64(len(samples))-1e-9))-1]
		if got := merged.quantile(q); !within(got, want) {
			t.Errorf("merged quantile(%g) = %s, exact %s; want within 1%%", q, got, want)
		}
	}
	if merged.quantile(1) != samples[len(samples)-1] {
		t.Errorf("merged max %s, want %s", merged.quantile(1), samples[len(samples)-1])
	}
}

func TestOrderBodies(t *testing.T) {
	t.Parallel()
	seen := map[uint64]bool{}
	ids := []uint64{1<<64 - 1, 10_000_000, 1 << 62}
	for id := uint64(0); id < 2000; id++ {
		ids = append(ids, id)
	}
	var buf []byte
	for _, id := range ids {
		buf = appendOrder(buf[:0], id)
		if len(buf) < orderSize-16 || len(buf) > orderSize+16 {
			t.Fatalf("order %d is %d bytes, want 1024±16", id, len(buf))
		}
		var o struct {
			ID       uint64
			Customer struct{ Name, Email string }
			Lines    []struct {
				SKU   string
				Qty   int64
				Price json.Number
			}
			Total json.Number
		}
		if err := json.Unmarshal(buf, &o); err != nil {
			t.Fatalf("order %d: %v\n%s", id, err, buf)
		}
		var sum int64
		for _, l := range o.Lines {
			sum += l.Qty * cents(t, l.Price)
		}
		if o.ID != id || seen[id] || o.Customer.Name == "" || o.Customer.Email == "" || len(o.Lines) == 0 || cents(t, o.Total) != sum {
			t.Fatalf("order %d: %s; want its id, once, a customer, lines and their total", id, buf)
		}
		seen[id] = true
	}
}

// cents parses a two-decimal amount into hundredths.
func cents(t *testing.T, n json.Number) int64 {
	t.Helper()
	whole, frac, ok := strings.Cut(string(n), ".")
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if !ok || len(frac) != 2 || err1 != nil || err2 != nil {
		t.Fatalf("amount %q: want two decimals", n)
	}
	return w*100 + f
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"sink", "--listen", "127.0.0.1:0", "--max-duration", "1m"}, pw, io.Discard)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "sink listening on http://127.0.0.1:") {
		t.Fatalf("first line %q, %v; want \"sink listening on http://127.0.0.1:PORT\"", line, err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "sink listening on "))
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	var out, errb strings.Builder
	if code := run(ctx, []string{"fire", "--url", url, "--requests", "50", "--connections", "2", "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("fire: exit %d: %s", code, errb.String())
	}
	var rep report
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil || rep.Accepted != 50 {
		t.Fatalf("fire --json printed %q (%v); want one report with 50 accepted", out.String(), err)
	}
	out.Reset()
	if code := run(ctx, []string{"count", "--url", url + "/count"}, &out, &errb); code != exitOK || out.String() != "50\n" {
		t.Fatalf("count: exit %d, stdout %q, stderr %q; want 50", code, out.String(), errb.String())
	}
	cancel()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("sink exited %d, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sink did not stop after its context was cancelled")
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd   string
		flags []string
	}{
		{"sink", []string{"-listen", "-max-duration"}},
		{"native", []string{"-listen", "-upstream", "-max-duration"}},
		{"fire", []string{"-url", "-connections", "-duration", "-requests", "-rate", "-timeout", "-header", "-first-id", "-json"}},
		{"count", []string{"-url"}},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			t.Parallel()
			var errb strings.Builder
			if code := run(t.Context(), []string{tc.cmd, "-h"}, io.Discard, &errb); code != exitOK {
				t.Fatalf("exit %d", code)
			}
			for _, f := range tc.flags {
				if !strings.Contains(errb.String(), "  "+f+" ") && !strings.Contains(errb.String(), "  "+f+"\n") {
					t.Errorf("-h does not document %s:\n%s", f, errb.String())
				}
			}
		})
	}
}

func FuzzParseLoopbackURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080/x", "http://[::1]/", "http://localhost/", "http://example.com/",
		"http://10.0.0.1/", "http://[::ffff:10.0.0.1]/", "http://127.0.0.1@example.com/", "http://[fe80::1%25lo]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseLoopbackURL(raw)
		if err != nil {
			return
		}
		host := u.Hostname()
		ip := net.ParseIP(strings.SplitN(host, "%", 2)[0])
		if u.Scheme != "http" || !(strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()) {
			t.Fatalf("parseLoopbackURL accepted %q (host %q)", raw, host)
		}
	})
}

func FuzzAppendMessage(f *testing.F) {
	f.Add(appendOrder(nil, 7))
	f.Add([]byte(`{"id":"a\"b","customer":{"name":"\u0001\ud800 x"},"total":[1,2]}`))
	f.Add([]byte("{\"id\":1,\"customer\":{\"name\":\"\xff\"}}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, err := appendMessage(nil, body)
		if err != nil {
			return
		}
		var m struct{ Channel, Text string }
		if err := json.Unmarshal(msg, &m); err != nil || m.Channel != "#orders" || !strings.HasPrefix(m.Text, "New order ") {
			t.Fatalf("message %q from %q: %v", msg, body, err)
		}
	})
}
