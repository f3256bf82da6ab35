package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/server"
	"github.com/splicehq/splice/host/whsig"
)

// sharedCache is one compilation cache for every test server of the repository (wazero names its
// files by content and writes them atomically), so each connector compiles once, not per test.
func sharedCache(t *testing.T) string {
	return filepath.Join(testkit.RepoRoot(t), ".build", "cache", "server-test")
}

// harness is a real server on a loopback port over a temporary data directory.
type harness struct {
	t        *testing.T
	url      string
	operator string
	stop     func()
}

func start(t *testing.T, dir string, mod func(*server.Options)) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := server.Options{DataDir: dir, Listen: ln.Addr().String(), Environments: []string{"development"}, AllowLoopback: true,
		ShutdownGrace: 5 * time.Second, CacheDir: sharedCache(t)}
	o.Engine.Workers = 4
	o.Ingress.SyncWait = 10 * time.Second
	if mod != nil {
		mod(&o)
	}
	s, err := server.Open(context.Background(), o)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	tok, _ := s.OperatorToken()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	h := &harness{t: t, url: "http://" + ln.Addr().String(), operator: tok}
	var once bool
	h.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(h.stop)
	return h
}

// do sends a request and decodes a JSON answer into out (when not nil); it returns the status.
func (h *harness) do(method, path, bearer, contentType string, body []byte, out any) int {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func (h *harness) json(method, path, bearer, body string, want int, out any) {
	h.t.Helper()
	var raw json.RawMessage
	if got := h.do(method, path, bearer, "application/json", []byte(body), &raw); got != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatal(err)
		}
	}
}

// setup pushes the test connectors and mints a consumer token.
func (h *harness) setup(consumer string) string {
	h.t.Helper()
	for _, g := range []string{"connector-json", "connector-echo", "http-probe"} {
		var d struct {
			AppKey string `json:"appKey"`
		}
		if got := h.do("POST", "/v1/envs/development/connectors", h.operator, "application/wasm", testkit.Guest(h.t, g), &d); got != 201 {
			h.t.Fatalf("push %s: %d", g, got)
		}
	}
	var tok struct {
		Token string `json:"token"`
	}
	h.json("POST", "/v1/envs/development/tokens", h.operator, fmt.Sprintf(`{"consumer": %q}`, consumer), 201, &tok)
	return tok.Token
}

type automationView struct {
	ID            string `json:"id"`
	WebhookURL    string `json:"webhookUrl"`
	SigningSecret string `json:"signingSecret"`
}

// TestEndToEnd: push connectors, create a credential and an automation (webhook → transform →
// action to a loopback upstream), fire webhooks, read the runs; the upstream got each message
// once with the credential injected, and the run document holds the steps.
func TestEndToEnd(t *testing.T) {
	var got atomic.Int64
	var lastKey atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
		lastKey.Store(r.Header.Get("X-Api-Key"))
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer up.Close()
	h := start(t, t.TempDir(), nil)
	tok := h.setup("acme")
	h.json("POST", "/v1/envs/development/credentials", tok,
		`{"credentialKey": "probe", "appKey": "http-probe", "secrets": {"apiKey": "sk_server_CANARY"}}`, 201, nil)
	var a automationView
	h.json("POST", "/v1/envs/development/automations", tok, fmt.Sprintf(`{"name": "orders",
	 "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [
	   {"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger.order}}", "paths": ["id"]}},
	   {"id": "post", "appKey": "http-probe", "actionKey": "fetch", "credentialKey": "probe",
	    "inputParams": {"url": "%s/orders/{{steps.pick.output.id}}", "auth": true}}]}`, up.URL), 201, &a)
	if !strings.HasSuffix(a.WebhookURL, "/hooks/development/"+a.ID) {
		t.Fatalf("webhook URL %q", a.WebhookURL)
	}
	for i := range 5 {
		var acc struct {
			EventIDs []string `json:"eventIds"`
		}
		if st := h.do("POST", "/hooks/development/"+a.ID, "", "application/json", fmt.Appendf(nil, `{"order": {"id": %d}}`, i), &acc); st != 202 || len(acc.EventIDs) != 1 {
			t.Fatalf("webhook %d: %d %v", i, st, acc)
		}
	}
	var runs struct {
		Items []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.json("GET", "/v1/envs/development/runs?automation="+a.ID+"&status=succeeded", tok, "", 200, &runs)
		if len(runs.Items) == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(runs.Items) != 5 || got.Load() != 5 || lastKey.Load() != "sk_server_CANARY" {
		t.Fatalf("%d runs succeeded, upstream got %d (key %v)", len(runs.Items), got.Load(), lastKey.Load())
	}
	// A listing shows summaries: the run's fields, not the engine's stored record.
	var listed struct {
		Items []map[string]any `json:"items"`
	}
	h.json("GET", "/v1/envs/development/runs?automation="+a.ID, tok, "", 200, &listed)
	for _, r := range listed.Items {
		if _, raw := r["data"]; raw || r["automationName"] == nil || r["output"] != nil || r["steps"] != nil {
			t.Errorf("listed run: %v", r)
		}
	}
	var doc map[string]any
	h.json("GET", "/v1/envs/development/runs/"+runs.Items[0].ID, tok, "", 200, &doc)
	b, _ := json.Marshal(doc)
	if !strings.Contains(string(b), `"post"`) || strings.Contains(string(b), "CANARY") {
		t.Errorf("run document: %s", b)
	}
	// Another consumer sees none of it.
	var ot struct {
		Token string `json:"token"`
	}
	h.json("POST", "/v1/envs/development/tokens", h.operator, `{"consumer": "globex"}`, 201, &ot)
	other := ot.Token
	h.json("GET", "/v1/envs/development/runs/"+runs.Items[0].ID, other, "", 404, nil)
	h.json("GET", "/v1/envs/development/automations/"+a.ID, other, "", 404, nil)
	var none struct {
		Items []any `json:"items"`
	}
	h.json("GET", "/v1/envs/development/runs", other, "", 200, &none)
	if len(none.Items) != 0 {
		t.Errorf("globex lists %d of acme's runs", len(none.Items))
	}

	h.metricsHave(
		`splice_ingress_webhooks_accepted_total{env="development"} 5`,
		`splice_engine_runs_total{env="development",status="succeeded"} 5`,
		`splice_broker_requests_total{env="development",outcome="2xx"} 5`,
		`splice_sandbox_calls_total{env="development",export="action",outcome="ok"} 5`,
		`splice_sandbox_calls_total{env="development",export="trigger",outcome="ok"} 5`,
		`splice_engine_step_seconds_count{env="development",kind="transform",status="succeeded"} 5`,
		`splice_ingress_ack_seconds_count{env="development"} 5`,
		`splice_engine_queue_depth{env="development"} 0`,
		`splice_sandbox_instances_live `,
		`splice_engine_worker_share `,
		`splice_storage_commits_total{env="development"} `,
		`splice_storage_writes_total{env="development"} `,
		`splice_storage_write_failures_total{env="development"} 0`,
		`splice_storage_commit_busy_seconds_total{env="development"} `,
	)
}

// metricsHave reads /metrics and reports each of wants that is not a line of it (a want ending
// in a space: the start of one).
func (h *harness) metricsHave(wants ...string) {
	h.t.Helper()
	resp, err := http.Get(h.url + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := "\n" + string(m)
	for _, want := range wants {
		line := "\n" + want
		if !strings.HasSuffix(want, " ") {
			line += "\n"
		}
		if !strings.Contains(text, line) {
			h.t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestWebhookRefusals: unknown environment or automation → 404, disabled → 410, a body over the
// cap → 413 (declared or chunked), a bad signature → 401 with nothing stored, a good one → 202
// and its webhook-id dedupes.
func TestWebhookRefusals(t *testing.T) {
	h := start(t, t.TempDir(), func(o *server.Options) { o.Ingress.MaxBodyBytes = 1024 })
	tok := h.setup("acme")
	var plain, signed automationView
	h.json("POST", "/v1/envs/development/automations", tok, `{"name": "plain", "trigger": {"appKey": "echo", "triggerKey": "received"}}`, 201, &plain)
	h.json("POST", "/v1/envs/development/automations", tok, `{"name": "signed", "signing": "standard-webhooks", "trigger": {"appKey": "echo", "triggerKey": "received"}}`, 201, &signed)
	if !strings.HasPrefix(signed.SigningSecret, "whsec_") {
		t.Fatalf("signing secret %q", signed.SigningSecret)
	}
	code := func(path string, hdr map[string]string, body io.Reader) (int, string) {
		req, _ := http.NewRequest("POST", h.url+path, body)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := code("/hooks/nope/"+plain.ID, nil, strings.NewReader("{}")); st != 404 {
		t.Errorf("unknown environment: %d", st)
	}
	if st, _ := code("/hooks/development/nope", nil, strings.NewReader("{}")); st != 404 {
		t.Errorf("unknown automation: %d", st)
	}
	if st, body := code("/hooks/development/"+plain.ID, nil, strings.NewReader(strings.Repeat("x", 2000))); st != 413 || !strings.Contains(body, "too_large") {
		t.Errorf("body over the cap: %d %s", st, body)
	}
	chunked := io.MultiReader(strings.NewReader(strings.Repeat("y", 1500))) // no length: sent chunked
	if st, _ := code("/hooks/development/"+plain.ID, nil, chunked); st != 413 {
		t.Errorf("chunked body over the cap: %d", st)
	}
	key, _ := whsig.ParseSecret(signed.SigningSecret)
	body := []byte(`{"n": 1}`)
	now := time.Now()
	good := map[string]string{"webhook-id": "msg_1", "webhook-timestamp": fmt.Sprint(now.Unix()), "webhook-signature": whsig.Sign(key, "msg_1", now, body)}
	bad := map[string]string{"webhook-id": "msg_1", "webhook-timestamp": fmt.Sprint(now.Unix()), "webhook-signature": whsig.Sign([]byte(strings.Repeat("k", 32)), "msg_1", now, body)}
	if st, b := code("/hooks/development/"+signed.ID, bad, bytes.NewReader(body)); st != 401 || !strings.Contains(b, "bad_signature") {
		t.Errorf("bad signature: %d %s", st, b)
	}
	if st, _ := code("/hooks/development/"+signed.ID, nil, bytes.NewReader(body)); st != 401 {
		t.Errorf("no signature: %d", st)
	}
	var first, again struct {
		EventIDs []string `json:"eventIds"`
	}
	st, b := code("/hooks/development/"+signed.ID, good, bytes.NewReader(body))
	_ = json.Unmarshal([]byte(b), &first)
	if st != 202 || len(first.EventIDs) != 1 {
		t.Fatalf("good signature: %d %s", st, b)
	}
	st, b = code("/hooks/development/"+signed.ID, good, bytes.NewReader(body))
	_ = json.Unmarshal([]byte(b), &again)
	if st != 202 || len(again.EventIDs) != 1 || again.EventIDs[0] != first.EventIDs[0] {
		t.Errorf("the same webhook-id again: %d %s, want the first event's id", st, b)
	}
	var runs struct {
		Items []any `json:"items"`
	}
	time.Sleep(200 * time.Millisecond)
	h.json("GET", "/v1/envs/development/runs?automation="+signed.ID, tok, "", 200, &runs)
	if len(runs.Items) != 1 {
		t.Errorf("%d runs of the signed automation, want 1 (bad signatures store nothing, duplicates dedupe)", len(runs.Items))
	}
	h.json("POST", "/v1/envs/development/automations/"+plain.ID+"/disable", tok, "", 200, nil)
	if st, _ := code("/hooks/development/"+plain.ID, nil, strings.NewReader("{}")); st != 410 {
		t.Errorf("disabled automation: %d", st)
	}
}

// TestSyncReplies: a sync automation answers with its respond step's reply, or with its output;
// asked for text/event-stream it streams the steps and ends with the end.
func TestSyncReplies(t *testing.T) {
	h := start(t, t.TempDir(), nil)
	tok := h.setup("acme")
	var reply, output automationView
	h.json("POST", "/v1/envs/development/automations", tok, `{"name": "reply", "respond": "sync", "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [
	   {"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["n"]}},
	   {"id": "r", "respond": {"status": 201, "headers": {"X-Run": "{{run.id}}"}, "body": {"got": "{{steps.pick.output.n}}"}}}]}`, 201, &reply)
	h.json("POST", "/v1/envs/development/automations", tok, `{"name": "output", "respond": "sync", "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["n"]}}]}`, 201, &output)

	resp, err := http.Post(h.url+"/hooks/development/"+reply.ID, "application/json", strings.NewReader(`{"n": 5}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(b) != `{"got":5}` || resp.Header.Get("X-Run") == "" {
		t.Errorf("reply: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	resp, err = http.Post(h.url+"/hooks/development/"+output.ID, "application/json", strings.NewReader(`{"n": 6}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"n":6}` {
		t.Errorf("output: %d %s", resp.StatusCode, b)
	}

	req, _ := http.NewRequest("POST", h.url+"/hooks/development/"+reply.ID, strings.NewReader(`{"n": 7}`))
	req.Header.Set("Accept", "text/event-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, name)
		}
	}
	if want := "accepted step reply end"; strings.Join(events, " ") != want {
		t.Errorf("events %v, want %s", events, want)
	}
}

// TestAuthMatrix: every /v1 route refuses a missing token, and consumer routes refuse the
// operator token and JWTs that are expired, of another environment or unsigned.
func TestAuthMatrix(t *testing.T) {
	h := start(t, t.TempDir(), func(o *server.Options) { o.Environments = []string{"development", "sandbox"} })
	var dev, sbx struct {
		Token string `json:"token"`
	}
	h.json("POST", "/v1/envs/development/tokens", h.operator, `{"consumer": "acme"}`, 201, &dev)
	h.json("POST", "/v1/envs/sandbox/tokens", h.operator, `{"consumer": "acme"}`, 201, &sbx)
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhY21lIiwiZXhwIjo0MTAyNDQ0ODAwfQ."
	consumerRoutes := [][2]string{{"GET", "/v1/envs/development/credentials"}, {"GET", "/v1/envs/development/automations"},
		{"GET", "/v1/envs/development/runs"}, {"GET", "/v1/envs/development/activity"}, {"POST", "/v1/envs/development/automations"}}
	operatorRoutes := [][2]string{{"GET", "/v1/environments"}, {"GET", "/v1/envs/development/connectors"}, {"POST", "/v1/envs/development/tokens"}}
	for _, r := range consumerRoutes {
		for name, bearer := range map[string]string{"no token": "", "operator": h.operator, "other environment": sbx.Token, "alg none": none, "garbage": "x.y.z"} {
			if st := h.do(r[0], r[1], bearer, "application/json", []byte(`{}`), nil); st != 401 {
				t.Errorf("%s %s with %s: %d, want 401", r[0], r[1], name, st)
			}
		}
		if st := h.do(r[0], r[1], dev.Token, "application/json", []byte(`{}`), nil); st == 401 {
			t.Errorf("%s %s with a good token: 401", r[0], r[1])
		}
	}
	for _, r := range operatorRoutes {
		for name, bearer := range map[string]string{"no token": "", "consumer": dev.Token, "almost": h.operator + "x"} {
			if st := h.do(r[0], r[1], bearer, "application/json", []byte(`{}`), nil); st != 401 {
				t.Errorf("%s %s with %s: %d, want 401", r[0], r[1], name, st)
			}
		}
	}
	if st := h.do("GET", "/healthz", "", "", nil, nil); st != 200 {
		t.Errorf("healthz: %d", st)
	}
	if st := h.do("DELETE", "/v1/environments", h.operator, "", nil, nil); st != 405 {
		t.Errorf("a method a route does not take: %d, want 405", st)
	}
}

// TestSlowClientsAndOverload: a client that sends its headers too slowly is cut off after the
// read timeout; past MaxInFlight webhooks in hand the answer is 503 with Retry-After at once.
// blockingUpstream is a loopback upstream whose requests are held until release is called
// (each one entering says so on entered); release is called at the test's end too.
func blockingUpstream(t *testing.T) (up *httptest.Server, entered <-chan struct{}, release func()) {
	gate := make(chan struct{})
	in := make(chan struct{}, 16)
	up = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		in <- struct{}{}
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(func() {
		release()
		up.Close()
	})
	return up, in, release
}

func TestSlowClientsAndOverload(t *testing.T) {
	up, entered, release := blockingUpstream(t)
	defer release() // before the server stops (t.Cleanup), so that its runs end
	h := start(t, t.TempDir(), func(o *server.Options) {
		o.Ingress.ReadTimeout = 300 * time.Millisecond
		o.Ingress.MaxInFlight = 1
	})
	tok := h.setup("acme")
	h.json("POST", "/v1/envs/development/credentials", tok, `{"credentialKey": "probe", "appKey": "http-probe", "secrets": {"apiKey": "k"}}`, 201, nil)
	var slow, quick automationView
	h.json("POST", "/v1/envs/development/automations", tok, fmt.Sprintf(`{"name": "slow", "respond": "sync", "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [{"id": "get", "appKey": "http-probe", "actionKey": "fetch", "credentialKey": "probe", "inputParams": {"url": "%s/slow"}}]}`, up.URL), 201, &slow)
	h.json("POST", "/v1/envs/development/automations", tok, `{"name": "quick", "trigger": {"appKey": "echo", "triggerKey": "received"}}`, 201, &quick)

	// Slowloris: half a request line, then nothing.
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /hooks/development/"+slow.ID+" HTTP/1.1\r\nHost: x\r\n")
	began := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(conn) // returns when the server closes the connection
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("a slow client held its connection %s (read timeout 300 ms); got %q", took, b)
	}

	// One sync webhook waits on the slow upstream; the next is refused at once.
	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(h.url+"/hooks/development/"+slow.ID, "application/json", strings.NewReader(`{"n": 1}`))
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	select { // the first webhook is in hand: its run is at the upstream
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the sync webhook's run never reached the upstream")
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		resp, err := http.Post(h.url+"/hooks/development/"+quick.ID, "application/json", strings.NewReader(fmt.Sprintf(`{"n": %d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 503 {
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "unavailable") {
				t.Errorf("503 without Retry-After or code: %v %s", resp.Header, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never refused while one webhook was in hand: last %d %s", resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	release()
	if st := <-first; st != 200 {
		t.Errorf("the waiting sync webhook: %d, want 200", st)
	}
}

// sseEvent is one server-sent event of the activity stream.
type sseEvent struct {
	id, kind string
	seq      uint64
}

// readActivity opens the consumer's activity stream with the headers given and reads n events.
func (h *harness) readActivity(tok, query string, n int, header map[string]string) []sseEvent {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/v1/envs/development/activity"+query, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		h.t.Fatalf("activity stream: %d", resp.StatusCode)
	}
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.kind = line[7:]
		case strings.HasPrefix(line, "data: "):
			var e struct {
				Seq uint64 `json:"seq"`
			}
			if err := json.Unmarshal([]byte(line[6:]), &e); err != nil {
				h.t.Fatal(err)
			}
			cur.seq = e.Seq
		case line == "" && cur.id != "":
			out = append(out, cur)
			cur = sseEvent{}
		}
	}
	if len(out) < n {
		h.t.Fatalf("activity stream: %d events, want %d (%v)", len(out), n, sc.Err())
	}
	return out
}

// TestActivityStream: every event of the activity stream has its own id, from which a client
// resumes (Last-Event-ID, as EventSource sends it, or ?cursor=) with the next entry: nothing
// missed, nothing twice. A cursor that does not parse is refused (422, as in a listing) before the
// stream starts.
func TestActivityStream(t *testing.T) {
	h := start(t, t.TempDir(), nil)
	tok := h.setup("acme")
	var a automationView
	h.json("POST", "/v1/envs/development/automations", tok, `{"name": "pick", "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["n"]}}]}`, 201, &a)
	for i := range 3 {
		resp, err := http.Post(h.url+"/hooks/development/"+a.ID, "application/json", strings.NewReader(fmt.Sprintf(`{"n": %d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The whole feed so far, as one list: the stream must replay it entry by entry.
	var all struct {
		Items []struct {
			Seq  uint64 `json:"seq"`
			Kind string `json:"kind"`
		} `json:"items"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		h.json("GET", "/v1/envs/development/activity", tok, "", 200, &all)
		ended := 0
		for _, e := range all.Items {
			if strings.HasPrefix(e.Kind, "run.") {
				ended++
			}
		}
		if ended == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 runs did not end: %+v", all.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
	n := len(all.Items)
	if n < 4 {
		t.Fatalf("%d activity entries", n)
	}
	evs := h.readActivity(tok, "", n, nil)
	ids := map[string]bool{}
	for i, e := range evs {
		if e.seq != all.Items[i].Seq || e.kind != all.Items[i].Kind || ids[e.id] {
			t.Fatalf("event %d: %+v; the list has %+v (ids so far %v)", i, e, all.Items[i], ids)
		}
		ids[e.id] = true
	}
	for _, k := range []int{0, 1, n - 2} {
		rest := h.readActivity(tok, "", n-k-1, map[string]string{"Last-Event-ID": evs[k].id})
		if rest[0].seq != evs[k+1].seq {
			t.Errorf("resumed after event %d (Last-Event-ID): first %d, want %d", k, rest[0].seq, evs[k+1].seq)
		}
		rest = h.readActivity(tok, "?cursor="+evs[k].id, 1, nil)
		if rest[0].seq != evs[k+1].seq {
			t.Errorf("resumed after event %d (?cursor=): first %d, want %d", k, rest[0].seq, evs[k+1].seq)
		}
	}
	req, _ := http.NewRequest("GET", h.url+"/v1/envs/development/activity", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", "not a cursor!")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	listed := h.do("GET", "/v1/envs/development/activity?cursor=not+a+cursor!", tok, "", nil, nil)
	if resp.StatusCode != listed || listed != 422 {
		t.Errorf("a Last-Event-ID that is no cursor: %d; the list's answer to that cursor: %d; want 422", resp.StatusCode, listed)
	}
}

// TestRejectedManifest: a module whose manifest is invalid is refused with connector_rejected
// and, as details, the validation's subject and causes under their JSON names.
func TestRejectedManifest(t *testing.T) {
	h := start(t, t.TempDir(), nil)
	var answer struct {
		Error struct {
			Code    string `json:"code"`
			Details struct {
				Subject string `json:"subject"`
				Causes  []struct {
					Keyword      string `json:"keyword"`
					InstancePath string `json:"instancePath"`
					Message      string `json:"message"`
				} `json:"causes"`
			} `json:"details"`
		} `json:"error"`
	}
	st := h.do("POST", "/v1/envs/development/connectors", h.operator, "application/wasm", testkit.File(t, "testdata/guests/bad_manifest.wasm"), &answer)
	d := answer.Error.Details
	if st != 422 || answer.Error.Code != "connector_rejected" || d.Subject != "manifest" || len(d.Causes) == 0 || d.Causes[0].Message == "" {
		t.Errorf("push of a bad manifest: %d %+v", st, answer)
	}
}

// TestBacklogBound: a consumer's waiting work items are bounded (server.Options.MaxWaiting): past
// the bound its webhooks get 429 with Retry-After, nothing stored and no trigger called, while
// another consumer's webhooks go in; once its runs end there is room again.
func TestBacklogBound(t *testing.T) {
	up, entered, open := blockingUpstream(t)
	defer open() // before the server stops (t.Cleanup), so that its runs end
	h := start(t, t.TempDir(), func(o *server.Options) {
		o.MaxWaiting = 2
		o.Engine.MaxPerConsumer = 1 // one of the consumer's items runs, the others wait
	})
	hook := func(consumer string) string {
		tok := h.setup(consumer)
		h.json("POST", "/v1/envs/development/credentials", tok, `{"credentialKey": "probe", "appKey": "http-probe", "secrets": {"apiKey": "k"}}`, 201, nil)
		var a automationView
		h.json("POST", "/v1/envs/development/automations", tok, fmt.Sprintf(`{"name": "slow", "trigger": {"appKey": "echo", "triggerKey": "received"},
		 "steps": [{"id": "get", "appKey": "http-probe", "actionKey": "fetch", "credentialKey": "probe", "inputParams": {"url": "%s/slow"}}]}`, up.URL), 201, &a)
		return h.url + "/hooks/development/" + a.ID
	}
	acme, other := hook("acme"), hook("other")
	fire := func(url string, n int) (int, http.Header, string) {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"n": %d}`, n)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	if st, _, body := fire(acme, 1); st != 202 {
		t.Fatalf("webhook 1: %d %s", st, body)
	}
	select { // its run holds the consumer's one slot, at the upstream
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first run never reached the upstream")
	}
	if st, _, body := fire(acme, 2); st != 202 {
		t.Fatalf("webhook 2: %d %s", st, body)
	}
	st, header, body := fire(acme, 3)
	if st != 429 || header.Get("Retry-After") == "" || !strings.Contains(body, `"too_many_requests"`) {
		t.Fatalf("webhook 3, past the bound of 2: %d %v %s; want 429 too_many_requests with Retry-After", st, header, body)
	}
	// The refused webhook cost no trigger call: the store said the consumer was full first.
	h.metricsHave(
		`splice_sandbox_calls_total{env="development",export="trigger",outcome="ok"} 2`,
		`splice_ingress_webhooks_rejected_total{env="development",reason="too_many_requests"} 1`,
	)
	if st, _, body := fire(other, 1); st != 202 {
		t.Fatalf("another consumer's webhook: %d %s", st, body)
	}
	open() // the runs end; their items leave the queue
	deadline := time.Now().Add(20 * time.Second)
	for n := 4; ; n++ {
		st, _, body := fire(acme, n)
		if st == 202 {
			break
		}
		if st != 429 || time.Now().After(deadline) {
			t.Fatalf("after the runs ended: %d %s", st, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestValueLogThreshold: with Options.ValueLogBytes (512, the default) the environments' large
// values (here a 20 KB event and the step that holds it) go to Badger's value log, and the run
// reads back whole, before and after a restart; a threshold out of range is refused at Open;
// negative, the value log stays empty.
func TestValueLogThreshold(t *testing.T) {
	if _, err := server.Open(context.Background(), server.Options{DataDir: t.TempDir(), ValueLogBytes: 10}); err == nil || !strings.Contains(err.Error(), "value log threshold") {
		t.Fatalf("Open with a threshold of 10 bytes: %v, want an error naming the value log threshold", err)
	}
	pad := strings.Repeat("p", 20000)
	// fire sets up a consumer on h with a sync automation that picks "pad" from its event, sends
	// it a 20 KB event and checks the reply; it returns the consumer's token.
	fire := func(h *harness) string {
		t.Helper()
		tok := h.setup("acme")
		var a automationView
		h.json("POST", "/v1/envs/development/automations", tok, `{"name": "big", "respond": "sync", "trigger": {"appKey": "echo", "triggerKey": "received"},
		 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["pad"]}}]}`, 201, &a)
		resp, err := http.Post(h.url+"/hooks/development/"+a.ID, "application/json", strings.NewReader(`{"pad": "`+pad+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != `{"pad":"`+pad+`"}` {
			t.Fatalf("sync reply: %d, %d bytes", resp.StatusCode, len(b))
		}
		return tok
	}

	dir := t.TempDir()
	h := start(t, dir, nil)
	tok := fire(h)
	if n := vlogBytes(filepath.Join(dir, "envs", "development")); n < 40000 {
		t.Fatalf("the value log holds %d bytes on disk: the event and its step did not go there", n)
	}
	readRun := func(h *harness) {
		t.Helper()
		var runs struct {
			Items []struct{ ID string } `json:"items"`
		}
		h.json("GET", "/v1/envs/development/runs", tok, "", 200, &runs)
		if len(runs.Items) != 1 {
			t.Fatalf("%d runs, want 1", len(runs.Items))
		}
		var run struct {
			Steps []struct {
				Output struct{ Pad string } `json:"output"`
			} `json:"steps"`
		}
		h.json("GET", "/v1/envs/development/runs/"+runs.Items[0].ID, tok, "", 200, &run)
		if len(run.Steps) != 1 || run.Steps[0].Output.Pad != pad {
			t.Fatalf("the run's record: %d steps, or its output is not the 20 KB pad", len(run.Steps))
		}
	}
	readRun(h)
	h.stop()
	readRun(start(t, dir, nil))

	off := t.TempDir()
	fire(start(t, off, func(o *server.Options) { o.ValueLogBytes = -1 }))
	if n := vlogBytes(filepath.Join(off, "envs", "development")); n > 4096 {
		t.Fatalf("with the value log off it holds %d bytes on disk, want only its header's block", n)
	}
}

// vlogBytes is the disk space the value-log files of a Badger directory take.
func vlogBytes(dir string) int64 {
	var blocks int64
	files, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			blocks += fi.Sys().(*syscall.Stat_t).Blocks
		}
	}
	return blocks * 512
}
