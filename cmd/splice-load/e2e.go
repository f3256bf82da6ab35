package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// e2eConfig is one run of the end-to-end benchmark (workload W1).
type e2eConfig struct {
	Splice      string        // the splice binary
	Connectors  string        // the directory of the built connectors (.build/wasm)
	Guests      string        // "c" or "go": which builds of W1's connectors run (w1Guests)
	Connections int           // load connections
	Duration    time.Duration // how long load is offered, to the native ceiling and to Splice each
	Drain       time.Duration // how long runs may take to finish after the load stops
	Workers     int           // the server's --workers
	Keep        string        // keep the data directory here ("" removes a temporary one)
	ServerArgs  []string      // more flags for splice serve
}

// e2eReport is what the benchmark measured, in one run.
type e2eReport struct {
	Guests      string  `json:"guests"`
	Connections int     `json:"connections"`
	Duration    float64 `json:"durationSeconds"`
	Native      struct {
		RunsPerSecond float64       `json:"runsPerSecond"`
		LatencyMs     latencyReport `json:"latencyMs"`
		Delivered     int64         `json:"delivered"`
	} `json:"native"`
	Splice struct {
		Sent              int64            `json:"sent"`
		Accepted          int64            `json:"accepted"`
		AcceptedPerSecond float64          `json:"acceptedPerSecond"`
		AckMs             latencyReport    `json:"ackMs"`
		Statuses          map[int]int64    `json:"statuses"`
		Errors            map[string]int64 `json:"errors,omitempty"`
		RunsSucceeded     int64            `json:"runsSucceeded"`
		RunsFailed        int64            `json:"runsFailedOrDead"`
		RunsPerSecond     float64          `json:"runsPerSecond"`
		UpstreamReceived  int64            `json:"upstreamReceived"`
		// UpstreamDuplicates counts the messages the upstream had received before (the same
		// order's message twice): a run that posted twice. Lost counts the accepted webhooks
		// whose message never came: accepted less the distinct messages received.
		UpstreamDuplicates int64   `json:"upstreamDuplicates"`
		Lost               int64   `json:"lost"`
		PeakRSSMiB         float64 `json:"peakRssMiB"`
		// PeakAnonMiB and PeakFileMiB split the largest resident set sampled (every 100 ms, from
		// /proc/PID/smaps_rollup) into anonymous memory (Go heap, guests' linear memory) and
		// file-backed pages (Badger's memory-mapped tables and logs, the binary).
		PeakAnonMiB float64 `json:"peakAnonMiB"`
		PeakFileMiB float64 `json:"peakFileMiB"`
		// DiskMiB is the disk space the environments' databases take (allocated blocks, under
		// envs/) once the server stopped cleanly after the last run: what the load left stored.
		DiskMiB        float64 `json:"diskMiB"`
		FirstWebhookMs float64 `json:"firstWebhookMsWarmCache"`
		// CPUPerWebhookUs is the server's CPU time (user and system, from /proc/PID/stat) from
		// the start of the load to the end of the last run, per accepted webhook: what one
		// event costs, accept and run together. Less noisy than rates on a shared machine.
		CPUPerWebhookUs float64 `json:"cpuPerWebhookUs"`
		// CommitterBusyLoad and CommitterBusyRuns are the share of the time the environment's
		// storage committer spent committing (fsyncs included), during the load and from its
		// end to the last run's, from splice_storage_commit_busy_seconds_total; -1 when the
		// server does not export it. Near 1, every write waits for the committer.
		CommitterBusyLoad float64 `json:"committerBusyDuringLoad"`
		CommitterBusyRuns float64 `json:"committerBusyAfterLoad"`
	} `json:"splice"`
	RunsRatio float64 `json:"runsRatioToNative"`
}

// w1Guest is a build of W1's connectors: the modules deployed and the webhook trigger used.
type w1Guest struct {
	modules []string // file names under --connectors
	trigger string   // "appKey", "triggerKey" of the webhook trigger
}

// w1Guests are the builds W1 can run on: C (connectors/webhook, connectors/chat-c, the C PDK)
// and Go (connectors/echo, connectors/chat, the Go PDK). The chat connector is the same app
// (appKey chat, the same manifest and behaviour) in both.
var w1Guests = map[string]w1Guest{
	"c":  {modules: []string{"connector-webhook.wasm", "chat-c.wasm"}, trigger: `"appKey": "webhook", "triggerKey": "json"`},
	"go": {modules: []string{"connector-echo.wasm", "connector-chat.wasm"}, trigger: `"appKey": "echo", "triggerKey": "received"`},
}

// w1Automation is W1: a webhook trigger (the first %s: its appKey and triggerKey), the chat
// connector's format-order transform, then its send-message action to the upstream (the sink);
// the second %s is more members of the automation, each followed by a comma (or nothing).
const w1Automation = `{"name": "W1: order to chat", %s
 "trigger": {%s},
 "steps": [
   {"id": "format", "appKey": "chat", "transformKey": "format-order", "inputParams": {"order": "{{trigger}}"}},
   {"id": "post", "appKey": "chat", "actionKey": "send-message", "credentialKey": "chat",
    "inputParams": {"channel": "{{steps.format.output.channel}}", "text": "{{steps.format.output.text}}"}}]}`

// runE2E measures the native ceiling, then Splice under the same load, then Splice's first
// webhook after a restart with a warm compilation cache.
func runE2E(ctx context.Context, cfg e2eConfig, log io.Writer) (*e2eReport, error) {
	rep := &e2eReport{Guests: cfg.Guests, Connections: cfg.Connections, Duration: cfg.Duration.Seconds()}
	guest, ok := w1Guests[cfg.Guests]
	if !ok {
		return nil, fmt.Errorf("e2e: guests %q: c or go", cfg.Guests)
	}
	for _, m := range guest.modules {
		if _, err := os.Stat(filepath.Join(cfg.Connectors, m)); err != nil {
			return nil, fmt.Errorf("e2e: %w (make connectors builds it)", err)
		}
	}
	sk, err := runSink(ctx, "127.0.0.1:0", sinkOptions{})
	if err != nil {
		return nil, err
	}
	defer sk.Close()

	// 1. The native ceiling.
	fmt.Fprintf(log, "e2e: native ceiling, %d connections for %s\n", cfg.Connections, cfg.Duration)
	nat, err := runNative(ctx, "127.0.0.1:0", sk.URL()+"/api/chat.postMessage")
	if err != nil {
		return nil, err
	}
	nr, err := fire(ctx, fireConfig{URL: nat.URL() + "/hooks/native/w1", Connections: cfg.Connections, Duration: cfg.Duration})
	nat.Close()
	if err != nil {
		return nil, err
	}
	rep.Native.RunsPerSecond, rep.Native.LatencyMs, rep.Native.Delivered = nr.AcceptedPerSecond, nr.LatencyMs, nat.Delivered()
	before := sk.Received()
	sk.ResetDuplicates()

	// 2. Splice.
	dir := cfg.Keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "splice-e2e-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	srv, err := startSplice(ctx, cfg, dir, log)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	hook, _, err := setupW1(ctx, srv, cfg.Connectors, guest, sk.URL(), "")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "e2e: splice, %d connections for %s at %s\n", cfg.Connections, cfg.Duration, hook)
	start := time.Now()
	cpu0 := cpuSeconds(srv.cmd.Process.Pid)
	mem := sampleMemory(srv.cmd.Process.Pid, 100*time.Millisecond)
	defer mem.stop()
	m0, err := srv.scrape(ctx)
	if err != nil {
		return nil, err
	}
	sr, err := fire(ctx, fireConfig{URL: hook, Connections: cfg.Connections, Duration: cfg.Duration})
	if err != nil {
		return nil, err
	}
	loadEnd := time.Now()
	m1, err := srv.scrape(ctx)
	if err != nil {
		return nil, err
	}
	s := &rep.Splice
	s.Sent, s.Accepted, s.AcceptedPerSecond, s.AckMs, s.Statuses, s.Errors = sr.Sent, sr.Accepted, sr.AcceptedPerSecond, sr.LatencyMs, sr.Statuses, sr.Errors
	// Wait for the runs: every accepted event makes one run.
	var ended time.Time
	var mEnd scrape
	last, lastChange := int64(-1), time.Now()
	for {
		m, err := srv.scrape(ctx)
		if err != nil {
			return nil, err
		}
		ok, bad := m.runsOK, m.runsBad
		if ok+bad != last {
			last, lastChange, ended, mEnd = ok+bad, time.Now(), time.Now(), m
		}
		s.RunsSucceeded, s.RunsFailed = ok, bad
		if ok+bad >= s.Accepted || time.Since(lastChange) > cfg.Drain {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if el := ended.Sub(start).Seconds(); el > 0 {
		s.RunsPerSecond = float64(s.RunsSucceeded) / el
	}
	s.CommitterBusyLoad = busyShare(m0, m1, loadEnd.Sub(start))
	s.CommitterBusyRuns = busyShare(m1, mEnd, ended.Sub(loadEnd))
	if cpu := cpuSeconds(srv.cmd.Process.Pid) - cpu0; cpu0 >= 0 && cpu > 0 && s.Accepted > 0 {
		s.CPUPerWebhookUs = cpu / float64(s.Accepted) * 1e6
	}
	s.UpstreamReceived = sk.Received() - before
	s.UpstreamDuplicates = sk.Duplicates()
	s.Lost = s.Accepted - (s.UpstreamReceived - s.UpstreamDuplicates)
	s.PeakRSSMiB = peakRSS(srv.cmd.Process.Pid)
	s.PeakAnonMiB, s.PeakFileMiB = mem.stop()
	if rep.Native.RunsPerSecond > 0 {
		rep.RunsRatio = s.RunsPerSecond / rep.Native.RunsPerSecond
	}
	if err := srv.stop(); err != nil {
		return nil, fmt.Errorf("splice did not stop cleanly: %w", err)
	}
	s.DiskMiB = diskMiB(filepath.Join(dir, "envs"))

	// 3. The first webhook after a restart, the compilation cache warm.
	first, err := firstWebhook(ctx, cfg, dir, hook, log)
	if err != nil {
		return nil, err
	}
	s.FirstWebhookMs = float64(first.Microseconds()) / 1000
	return rep, nil
}

// printReport writes a report as indented JSON or as text.
func printReport(w io.Writer, rep interface{ writeText(io.Writer) }, asJSON bool) {
	if asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	rep.writeText(w)
}

// diskMiB is the disk space the files under dir take (allocated blocks: Badger sizes some files
// ahead, sparse), or 0 when it cannot be read.
func diskMiB(dir string) float64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
		return nil
	})
	return float64(n) / (1 << 20)
}

// spliceProc is a running splice server.
type spliceProc struct {
	cmd      *exec.Cmd
	url      string
	operator string
	done     chan error
	stopped  bool
	exitErr  error
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// serveArgs is the command line of the server under test, the same for its first start and its
// restart: a restart without --allow-loopback would leave the runs of its webhooks failing (the
// upstream is on loopback, over plain HTTP) and, retried, dead.
func serveArgs(cfg e2eConfig, dir, addr string) []string {
	return append([]string{"serve", "--data-dir", dir, "--listen", addr, "--env", "development",
		"--allow-loopback", "--log-level", "warn", "--workers", strconv.Itoa(cfg.Workers)}, cfg.ServerArgs...)
}

func startSplice(ctx context.Context, cfg e2eConfig, dir string, log io.Writer) (*spliceProc, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	return startSpliceAt(ctx, cfg, dir, addr, log)
}

// startSpliceAt starts a splice server listening on addr over dir and waits (30 s at most) until
// it answers /healthz.
func startSpliceAt(ctx context.Context, cfg e2eConfig, dir, addr string, log io.Writer) (*spliceProc, error) {
	cmd := exec.Command(cfg.Splice, serveArgs(cfg, dir, addr)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &spliceProc{cmd: cmd, url: "http://" + addr, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-p.done:
			p.stopped = true
			return nil, fmt.Errorf("splice exited before it served: %v", err)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("splice did not answer /healthz within 30 s")
		}
	}
	tok, err := os.ReadFile(filepath.Join(dir, "operator-token"))
	if err != nil {
		p.stop()
		return nil, err
	}
	p.operator = strings.TrimSpace(string(tok))
	return p, nil
}

// stop ends the server with SIGTERM (a graceful stop), killing it after 60 s.
func (p *spliceProc) stop() error {
	if p.stopped {
		return p.exitErr
	}
	p.stopped = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case p.exitErr = <-p.done:
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		p.exitErr = errors.New("killed after 60 s")
		<-p.done
	}
	return p.exitErr
}

// kill ends the server with SIGKILL, as a crash would, and waits for it to be gone.
func (p *spliceProc) kill() {
	if p.stopped {
		return
	}
	p.stopped = true
	_ = p.cmd.Process.Kill()
	p.exitErr = <-p.done
}

// call sends one API request and decodes the answer into out.
func (p *spliceProc) call(ctx context.Context, method, path, bearer, contentType string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, p.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// setupW1 deploys the connectors and makes W1's credential and automation (with the members
// extra, each followed by a comma, such as a retry policy); it returns the webhook URL and the
// consumer's token.
func setupW1(ctx context.Context, p *spliceProc, dir string, guest w1Guest, upstream, extra string) (hook, token string, err error) {
	for _, m := range guest.modules {
		wasm, err := os.ReadFile(filepath.Join(dir, m))
		if err != nil {
			return "", "", err
		}
		if err := p.call(ctx, "POST", "/v1/envs/development/connectors", p.operator, "application/wasm", wasm, 201, nil); err != nil {
			return "", "", err
		}
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := p.call(ctx, "POST", "/v1/envs/development/tokens", p.operator, "application/json", []byte(`{"consumer": "bench"}`), 201, &tok); err != nil {
		return "", "", err
	}
	cred := fmt.Sprintf(`{"credentialKey": "chat", "appKey": "chat", "fields": {"baseUrl": %q}, "secrets": {"token": "bench-token"}}`, upstream)
	if err := p.call(ctx, "POST", "/v1/envs/development/credentials", tok.Token, "application/json", []byte(cred), 201, nil); err != nil {
		return "", "", err
	}
	var a struct {
		WebhookURL string `json:"webhookUrl"`
	}
	if err := p.call(ctx, "POST", "/v1/envs/development/automations", tok.Token, "application/json", []byte(fmt.Sprintf(w1Automation, extra, guest.trigger)), 201, &a); err != nil {
		return "", "", err
	}
	return a.WebhookURL, tok.Token, nil
}

var (
	runsLine = regexp.MustCompile(`(?m)^splice_engine_runs_total\{env="development",status="(\w+)"\} (\d+)`)
	busyLine = regexp.MustCompile(`(?m)^splice_storage_commit_busy_seconds_total\{env="development"\} (\S+)`)
)

// scrape is what the load tool reads from the server's /metrics.
type scrape struct {
	runsOK, runsBad int64   // runs ended: succeeded (or filtered), and failed or dead
	busy            float64 // the committer's busy seconds; -1 when not exported
}

// scrape reads /metrics.
func (p *spliceProc) scrape(ctx context.Context) (scrape, error) {
	m := scrape{busy: -1}
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, sm := range runsLine.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.ParseInt(sm[2], 10, 64)
		switch sm[1] {
		case "succeeded", "filtered":
			m.runsOK += n
		default:
			m.runsBad += n
		}
	}
	if sm := busyLine.FindStringSubmatch(string(b)); sm != nil {
		if v, err := strconv.ParseFloat(sm[1], 64); err == nil {
			m.busy = v
		}
	}
	return m, nil
}

// busyShare is the committer's busy share between two scrapes el apart; -1 when unknown.
func busyShare(a, b scrape, el time.Duration) float64 {
	if a.busy < 0 || b.busy < 0 || el <= 0 {
		return -1
	}
	return (b.busy - a.busy) / el.Seconds()
}

// cpuSeconds is the CPU time (user and system) a process has used, from /proc/PID/stat; -1
// when unknown.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) is in parentheses and may hold spaces: fields count after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux platform Go
// supports.
const clockTicks = 100

// peakRSS is the process's peak resident set in MiB (VmHWM), 0 when unknown.
func peakRSS(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// memSampler samples a process's resident set, keeping the split of the largest sample.
type memSampler struct {
	done chan struct{}
	out  chan [2]float64
}

func sampleMemory(pid int, every time.Duration) *memSampler {
	m := &memSampler{done: make(chan struct{}), out: make(chan [2]float64, 1)}
	go func() {
		var peak [3]float64 // rss, anon, file
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if rss, anon, ok := smapsRollup(pid); ok && rss > peak[0] {
				peak = [3]float64{rss, anon, rss - anon}
			}
			select {
			case <-m.done:
				m.out <- [2]float64{peak[1], peak[2]}
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// stop ends the sampling and returns the anonymous and file-backed MiB of the largest sample;
// later calls return zeros.
func (m *memSampler) stop() (anon, file float64) {
	select {
	case <-m.done:
		return 0, 0
	default:
	}
	close(m.done)
	v := <-m.out
	return v[0], v[1]
}

// smapsRollup reads a process's Rss and Anonymous from /proc/PID/smaps_rollup, in MiB.
func smapsRollup(pid int) (rss, anon float64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, false
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "Rss:":
			rss = kb / 1024
		case "Anonymous:":
			anon = kb / 1024
		}
	}
	return rss, anon, rss > 0
}

// firstWebhook restarts splice over the same data directory (its compilation cache warm) and
// measures the time from starting the process to the first accepted webhook.
func firstWebhook(ctx context.Context, cfg e2eConfig, dir, hook string, log io.Writer) (time.Duration, error) {
	addr := strings.TrimPrefix(hook, "http://")
	addr, _, _ = strings.Cut(addr, "/")
	cmd := exec.Command(cfg.Splice, serveArgs(cfg, dir, addr)...)
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	p := &spliceProc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	defer p.stop()
	body := appendOrder(nil, 1<<40)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Since(start) < 30*time.Second {
		resp, err := client.Post(hook, "application/json", bytes.NewReader(body))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 202 {
				return time.Since(start), nil
			}
		}
		select {
		case err := <-p.done:
			p.stopped = true
			return 0, fmt.Errorf("splice exited on restart: %v", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return 0, errors.New("no webhook accepted within 30 s of a restart")
}

func (r *e2eReport) writeText(w io.Writer) {
	s := r.Splice
	fmt.Fprintf(w, "W1 (webhook -> transform -> action to a loopback upstream), %s guests, %d connections, %.0f s of load each:\n", r.Guests, r.Connections, r.Duration)
	fmt.Fprintf(w, "  native ceiling   %9.0f runs/s   p50 %6.2f ms  p99 %6.2f ms\n", r.Native.RunsPerSecond, r.Native.LatencyMs.P50, r.Native.LatencyMs.P99)
	fmt.Fprintf(w, "  splice accepted  %9.0f /s       ack p50 %6.2f ms  p99 %6.2f ms  (%d accepted of %d sent)\n",
		s.AcceptedPerSecond, s.AckMs.P50, s.AckMs.P99, s.Accepted, s.Sent)
	fmt.Fprintf(w, "  splice runs      %9.0f runs/s   %d succeeded, %d failed or dead; %.2f of the native ceiling\n",
		s.RunsPerSecond, s.RunsSucceeded, s.RunsFailed, r.RunsRatio)
	fmt.Fprintf(w, "  upstream got     %9d messages  lost %d, duplicates %d\n", s.UpstreamReceived, s.Lost, s.UpstreamDuplicates)
	fmt.Fprintf(w, "  peak RSS         %9.1f MiB      largest sample: %.1f MiB anonymous, %.1f MiB file-backed\n", s.PeakRSSMiB, s.PeakAnonMiB, s.PeakFileMiB)
	fmt.Fprintf(w, "  server CPU       %9.0f µs per webhook, accept and run\n", s.CPUPerWebhookUs)
	if s.Accepted > 0 {
		fmt.Fprintf(w, "  disk             %9.1f MiB      %.1f KiB per accepted webhook, stored once every run ended\n", s.DiskMiB, s.DiskMiB*1024/float64(s.Accepted))
	}
	if s.CommitterBusyLoad >= 0 || s.CommitterBusyRuns >= 0 {
		fmt.Fprintf(w, "  committer busy   %9.0f %%           during the load, %.0f %% after it until the last run (storage group commits)\n",
			100*s.CommitterBusyLoad, 100*s.CommitterBusyRuns)
	}
	fmt.Fprintf(w, "  first webhook    %9.1f ms after start (warm compilation cache)\n", s.FirstWebhookMs)
}

// register adds the flags of the server under test and of the load, which e2e and crash share.
func (c *e2eConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Splice, "splice", ".build/splice", "the splice binary")
	fs.StringVar(&c.Connectors, "connectors", ".build/wasm", "the directory of the built connectors")
	fs.StringVar(&c.Guests, "guests", "c", "which builds of W1's connectors run: c (connectors/webhook and connectors/chat-c) or go (connectors/echo and connectors/chat)")
	fs.IntVar(&c.Connections, "connections", 64, "load connections")
	fs.IntVar(&c.Workers, "workers", 64, "the server's --workers")
	fs.StringVar(&c.Keep, "data-dir", "", "use (and keep) this data directory instead of a temporary one")
	fs.Func("server-arg", "one more `flag` for splice serve, e.g. --server-arg=--max-instances=16 (repeatable)", func(v string) error {
		c.ServerArgs = append(c.ServerArgs, v)
		return nil
	})
}

func e2eCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("e2e", `Usage: splice-load e2e --splice PATH --connectors DIR [flags]

The end-to-end load benchmark, workload W1, in one run on loopback: a 1 KiB order webhook, a
transform step, an action posting a chat message to a loopback upstream (this tool's sink).
First the same workload through the native ceiling (a fasthttp handler doing the mapping and the
call itself), then through a splice server started from --splice over a temporary data
directory (W1's connectors from --connectors, the C or the Go builds: --guests). Reports
accepted webhooks/s and ack p50/p99, runs completed/s and their ratio to the native ceiling,
upstream messages received (lost = accepted - distinct messages; a duplicate is an order's message
received twice), the server's peak RSS, its CPU time
per accepted webhook, the share of the time its storage committer was busy, and the time to the
first accepted webhook after a restart with a warm compilation cache. Exits 1 when any accepted
webhook was lost or any message duplicated.
`, stderr)
	cfg := e2eConfig{}
	cfg.register(fs)
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "load duration, for each of the native ceiling and splice (at most 10m)")
	fs.DurationVar(&cfg.Drain, "drain", 30*time.Second, "give up waiting for runs after no run ended for this long")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cfg.Duration <= 0 || cfg.Duration > 10*time.Minute || cfg.Connections < 1 || cfg.Connections > 1024 {
		return &usageError{errors.New("e2e: --duration must be in (0, 10m] and --connections in [1, 1024]")}
	}
	rep, err := runE2E(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	printReport(stdout, rep, *asJSON)
	if rep.Splice.Lost != 0 {
		return fmt.Errorf("e2e: %d accepted webhooks reached no upstream", rep.Splice.Lost)
	}
	if rep.Splice.UpstreamDuplicates != 0 {
		return fmt.Errorf("e2e: %d messages reached the upstream twice", rep.Splice.UpstreamDuplicates)
	}
	return nil
}
