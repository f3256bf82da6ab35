package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splicehq/splice/host/server"
)

// testServer is a real server on a loopback port over a temporary data directory, with the
// environments development and sandbox.
type testServer struct {
	url, operator string
}

func startServer(t *testing.T) testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Why a shared compilation cache: compiling a Go guest (3.5 MB) takes wazero about 13 s under
	// -race on a small machine. The server keeps compiled code in <data-dir>/cache; pointing that
	// at one directory under .build (content-addressed by wazero, written by rename, so safe for
	// concurrent test processes) makes every run after the first take a second.
	shared, err := filepath.Abs(filepath.Join(root, ".build", "cache", "server-test"))
	if err == nil {
		err = os.MkdirAll(shared, 0o755)
	}
	if err == nil {
		err = os.Symlink(shared, filepath.Join(dir, "cache"))
	}
	if err != nil {
		t.Logf("no shared compilation cache: %v", err)
	}
	o := server.Options{DataDir: dir, Listen: ln.Addr().String(), Environments: []string{"development", "sandbox"},
		AllowLoopback: true, ShutdownGrace: 5 * time.Second}
	o.Engine.Workers = 2
	s, err := server.Open(context.Background(), o)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	tok, _ := s.OperatorToken()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	})
	return testServer{url: "http://" + ln.Addr().String(), operator: tok}
}

// clearEnv unsets the variables the remote commands read, so that the caller's shell does not
// steer the test.
func clearEnv(t *testing.T) {
	for _, k := range []string{"SPLICE_SERVER", "SPLICE_TOKEN", "SPLICE_TOKEN_FILE", "SPLICE_ENV", "SPLICE_TIMEOUT"} {
		t.Setenv(k, "")
	}
}

// cli runs the command line and keeps everything it printed on stderr, to check that no token or
// secret ever shows there.
type cli struct {
	t      *testing.T
	stderr strings.Builder
}

func (c *cli) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	c.stderr.WriteString(errb.String())
	return code, out.String(), errb.String()
}

// ok runs the command line and fails the test unless it exits 0; it returns stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != 0 {
		c.t.Fatalf("splice %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs the command line and fails the test unless it exits 1 with want on stderr.
func (c *cli) fails(want string, args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != 1 || !strings.Contains(errOut, want) {
		c.t.Errorf("splice %s: exit %d, stderr %q; want exit 1 and %q\nstdout: %s", strings.Join(args, " "), code, errOut, want, out)
	}
	return errOut
}

func jsonOf[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
	return v
}

// lineAfter returns the rest of the first line of s that starts with prefix.
func lineAfter(s, prefix string) string {
	for line := range strings.Lines(s) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

const orders = `{"name": "orders", "trigger": {"appKey": "echo", "triggerKey": "received"},
 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick",
   "inputParams": {"value": "{{trigger.order}}", "paths": ["id"]}}]}`

// TestRemoteCommands drives every remote command against a real server through run: push the
// connectors, mint a consumer token, store a credential, create an automation, fire its webhook,
// follow the run to its end, read the activity, and the refusals on the way.
func TestRemoteCommands(t *testing.T) {
	clearEnv(t)
	srv := startServer(t)
	c := &cli{t: t}
	const secret = "sk_cli_CANARY_7781"
	op := []string{"--server", srv.url, "--token", srv.operator}

	// Connectors (operator).
	// The two pushes at once: each compiles its module on the server (slow when cold, see
	// startServer).
	jsonWasm, echoWasm := guest(t, "connector-json"), guest(t, "connector-echo")
	pushes := [][]string{
		append([]string{"connector", "push", jsonWasm}, op...),
		append([]string{"connector", "push", echoWasm, "--json", "--activate=false"}, op...),
	}
	outs := make([]string, len(pushes))
	var wg sync.WaitGroup
	for i, args := range pushes {
		wg.Go(func() {
			var out, errb bytes.Buffer
			if code := run(args, &out, &errb); code != 0 {
				t.Errorf("splice %s: exit %d: %s", strings.Join(args[:3], " "), code, errb.String())
			}
			outs[i] = out.String()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if !strings.Contains(outs[0], "json@1.0.0 deployed to development, active") {
		t.Errorf("push: %s", outs[0])
	}
	pushed := jsonOf[deploymentView](t, outs[1])
	if pushed.AppKey != "echo" || pushed.Active || len(pushed.Manifest) == 0 {
		t.Errorf("push --json: %+v", pushed)
	}
	c.ok(append([]string{"connector", "push", echoWasm, "--activate=false"}, op...)...) // the same module again: a no-op
	if out := c.ok(append([]string{"connector", "activate", "echo", pushed.Version}, op...)...); !strings.Contains(out, "echo@"+pushed.Version+" is active") {
		t.Errorf("activate: %s", out)
	}
	out := c.ok(append([]string{"connector", "list"}, op...)...)
	if !strings.Contains(out, "APP") || lineAfter(out, "echo") == "" || lineAfter(out, "json") == "" {
		t.Errorf("list:\n%s", out)
	}
	if out := c.ok(append([]string{"connector", "show", "json"}, op...)...); !strings.Contains(out, "pick, rename, merge") {
		t.Errorf("show:\n%s", out)
	}
	if out := c.ok(append([]string{"connector", "versions", "echo"}, op...)...); !strings.HasPrefix(lineAfter(out, pushed.Version), "* ") {
		t.Errorf("versions:\n%s", out)
	}
	if out := c.ok(append([]string{"connector", "promote", "json", "--from", "development", "--env", "sandbox"}, op...)...); !strings.Contains(out, "promoted from development to sandbox, active") {
		t.Errorf("promote: %s", out)
	}
	c.fails("not_found", append([]string{"connector", "show", "nope"}, op...)...)

	// The operator token from the default file, when no --token is given.
	t.Chdir(t.TempDir())
	if err := os.MkdirAll(".splice", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(".splice", "operator-token"), []byte(srv.operator+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(c.ok("token", "mint", "--consumer", "acme", "--server", srv.url))
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("token mint printed %q, want the token alone", tok)
	}
	minted := jsonOf[map[string]any](t, c.ok("token", "mint", "--consumer", "acme", "--ttl", "2h", "--alg", "HS512", "--json", "--server", srv.url, "--token-file", ".splice/operator-token"))
	if minted["consumer"] != "acme" || minted["expiresAt"] == nil {
		t.Errorf("token mint --json: %v", minted)
	}
	c.fails("invalid", "token", "mint", "--consumer", "acme", "--alg", "RS256", "--server", srv.url)

	// Consumer commands, with the token from $SPLICE_TOKEN.
	t.Setenv("SPLICE_SERVER", srv.url)
	t.Setenv("SPLICE_TOKEN", tok)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = c.ok("credential", "create", "shop", "--app", "echo", "--field", "account=acme", "--secret", "apiKey="+secret, "--secret-file", "other="+secretFile)
	if !strings.Contains(out, "credential shop for echo stored (1 fields, 2 secrets)") {
		t.Errorf("credential create: %s", out)
	}
	out = c.ok("credential", "list")
	if !strings.Contains(out, "account=acme") {
		t.Errorf("credential list:\n%s", out)
	}
	if js := c.ok("credential", "list", "--json"); strings.Contains(out+js, secret) {
		t.Errorf("credential list shows the secret:\n%s\n%s", out, js)
	}

	file := filepath.Join(t.TempDir(), "orders.json")
	if err := os.WriteFile(file, []byte(orders), 0o600); err != nil {
		t.Fatal(err)
	}
	out = c.ok("automation", "create", "-f", file)
	id, webhook := strings.Fields(lineAfter(out, "automation "))[0], lineAfter(out, "webhook URL: ")
	if id == "" || webhook != srv.url+"/hooks/development/"+id {
		t.Fatalf("automation create printed:\n%s", out)
	}
	signed := strings.Replace(orders, `"name": "orders",`, `"name": "signed", "signing": "standard-webhooks",`, 1)
	if out := c.ok("automation", "create", "-f", writeFile(t, signed)); !strings.HasPrefix(lineAfter(out, "signing secret (shown once; keep it): "), "whsec_") {
		t.Errorf("a signed automation's secret is not shown:\n%s", out)
	}
	c.fails("invalid", "automation", "create", "-f", writeFile(t, `{"name": 5}`))
	c.fails("is not JSON", "automation", "create", "-f", writeFile(t, `{`))
	if out := c.ok("automation", "list"); !strings.Contains(out, id) || !strings.Contains(out, "echo/received") {
		t.Errorf("automation list:\n%s", out)
	}
	if out := c.ok("automation", "show", id); lineAfter(out, "step 1") != "pick: json/pick" {
		t.Errorf("automation show:\n%s", out)
	}
	renamed := strings.Replace(orders, `"orders"`, `"orders v2"`, 1)
	if out := c.ok("automation", "update", id, "-f", writeFile(t, renamed), "--version", "1"); !strings.Contains(out, "updated (version 2, enabled)") {
		t.Errorf("automation update: %s", out)
	}
	c.fails("conflict", "automation", "update", id, "-f", writeFile(t, renamed), "--version", "1")

	// One webhook that succeeds, one whose order is not an object (the pick fails).
	for _, body := range []string{`{"order": {"id": 42, "total": 9}}`, `{"order": 5}`} {
		resp, err := http.Post(webhook, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("webhook: %d", resp.StatusCode)
		}
	}
	var runs listing[runView]
	for deadline := time.Now().Add(10 * time.Second); ; {
		runs = jsonOf[listing[runView]](t, c.ok("run", "list", "--json", "--automation", id))
		done := 0
		for _, r := range runs.Items {
			if r.Status == "succeeded" || r.Status == "failed" {
				done++
			}
		}
		if done == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs did not end: %+v", runs.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var good, bad string
	for _, r := range runs.Items {
		if r.Status == "succeeded" {
			good = r.ID
		} else {
			bad = r.ID
		}
	}
	if out := c.ok("run", "list", "--status", "failed"); !strings.Contains(out, bad) || strings.Contains(out, good) {
		t.Errorf("run list --status failed:\n%s", out)
	}
	out = c.ok("run", "show", good)
	if !strings.HasPrefix(out, "run "+good+": succeeded\n") || !strings.Contains(out, "pick  transform  json/pick  succeeded") || !strings.Contains(out, `output: {"id":42}`) {
		t.Errorf("run show:\n%s", out)
	}
	if out := c.ok("run", "show", bad); !strings.Contains(out, "error at step pick: invalid_input:") {
		t.Errorf("run show of the failed run:\n%s", out)
	}
	if doc := jsonOf[runDocument](t, c.ok("run", "show", good, "--json")); doc.ID != good || len(doc.Steps) != 1 {
		t.Errorf("run show --json: %+v", doc)
	}
	if out := c.ok("run", "replay", bad); !strings.Contains(out, "replaying") {
		t.Errorf("run replay: %s", out)
	}
	c.fails(`conflict: cannot replay: run `+good+` is succeeded, not failed or dead`, "run", "replay", good)
	c.fails(`hint: looked for a failed or dead run "33LNOSUCHRUN0000000000"`, "run", "replay", "33LNOSUCHRUN0000000000")

	out = c.ok("activity")
	if !strings.Contains(out, "run.succeeded") || !strings.Contains(out, good) {
		t.Errorf("activity:\n%s", out)
	}
	followActivity(t, srv, tok, good)

	if out := c.ok("automation", "disable", id); out != "automation "+id+" disabled\n" {
		t.Errorf("automation disable: %q", out)
	}
	if v := jsonOf[automationView](t, c.ok("automation", "enable", id, "--json")); !v.Enabled {
		t.Errorf("automation enable --json: %+v", v)
	}
	c.ok("automation", "delete", id)
	c.ok("credential", "delete", "shop")
	c.fails("not_found", "credential", "delete", "shop")

	// Refusals.
	errOut := c.fails("unauthorized", "automation", "list", "--token", srv.operator)
	if !strings.Contains(errOut, "not a consumer token") {
		t.Errorf("no hint for the operator token on a consumer command: %s", errOut)
	}
	if errOut := c.fails("unauthorized", "connector", "list", "--token", tok); !strings.Contains(errOut, "is a consumer token") {
		t.Errorf("no hint for a consumer token on an operator command: %s", errOut)
	}
	errOut = c.fails("error: not_found: ", "automation", "show", "nope")
	if !strings.Contains(errOut, `looked for automation "nope"`) {
		t.Errorf("not_found without what was looked for: %s", errOut)
	}
	c.fails("unauthorized", "run", "list", "--env", "sandbox") // a token of development
	c.fails("--env", "run", "list", "--env", "development,sandbox")
	t.Setenv("SPLICE_TOKEN", "")
	c.fails("no consumer token", "run", "list")

	for _, s := range []string{srv.operator, tok, secret} {
		if strings.Contains(c.stderr.String(), s) {
			t.Errorf("a token or secret was printed on stderr:\n%s", c.stderr.String())
		}
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// followActivity runs activity --follow until it has printed the run's end, then cancels its
// context (as SIGINT does through run) and expects a clean return.
func followActivity(t *testing.T, srv testServer, tok, runID string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	cmd := activityCmd()
	cmd.SetArgs([]string{"--follow", "--json", "--server", srv.url, "--token", tok})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(out.String(), `"kind":"run.succeeded"`) {
		select {
		case err := <-done:
			t.Fatalf("activity --follow returned %v before the run's end; printed:\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("activity --follow printed no run.succeeded:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	for line := range strings.Lines(out.String()) {
		if e := jsonOf[activityEntry](t, line); e.Kind == "" {
			t.Errorf("activity --follow --json line %q", line)
		}
	}
	if !strings.Contains(out.String(), runID) {
		t.Errorf("activity --follow lacks run %s:\n%s", runID, out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("activity --follow, interrupted: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("activity --follow did not end when its context did")
	}
}

// TestServerNotRunning: a server that is not there is said so, with its URL.
func TestServerNotRunning(t *testing.T) {
	clearEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	c := &cli{t: t}
	c.fails("the server is not reachable at "+url+": connection refused", "run", "list", "--server", url, "--token", "x.y.z")
	c.fails("the server is not reachable at "+url, "connector", "list", "--server", url+"/", "--token", "op")
}

// TestRemoteFlags: the refusals that need no server.
func TestRemoteFlags(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir()) // no .splice/operator-token here
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "no operator token", args: []string{"connector", "list"}, want: "no operator token"},
		{name: "token and token file", args: []string{"connector", "list", "--token", "a", "--token-file", "f"}, want: "not both"},
		{name: "missing token file", args: []string{"connector", "list", "--token-file", "/nonexistent/token"}, want: "token file"},
		{name: "bad server", args: []string{"run", "list", "--token", "t", "--server", "ftp://x"}, want: "--server"},
		{name: "bad env", args: []string{"run", "list", "--token", "t", "--env", "Dev"}, want: "--env"},
		{name: "bad timeout", args: []string{"run", "list", "--token", "t", "--timeout", "0s"}, want: "--timeout"},
		{name: "token with a newline", args: []string{"run", "list", "--token", "a\nb"}, want: "characters a token cannot have"},
		{name: "secret without key", args: []string{"credential", "create", "k", "--app", "a", "--token", "t", "--secret", "sk_SHOWN"}, want: "--secret: want key=value"},
		{name: "ttl under a second", args: []string{"token", "mint", "--consumer", "c", "--ttl", "10ms"}, want: "--ttl"},
		{name: "promote without --from", args: []string{"connector", "promote", "json", "--token", "t"}, want: `"from" not set`},
		{name: "automation file missing", args: []string{"automation", "create", "-f", "/nonexistent.json", "--token", "t"}, want: "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != 1 || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errb.String(), tc.want)
			}
			if strings.Contains(errb.String(), "sk_SHOWN") {
				t.Errorf("a secret was printed: %s", errb.String())
			}
		})
	}
}

func TestDetailLines(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, details string
		want          []string
	}{
		{name: "none", details: ``},
		{name: "null", details: `null`},
		{name: "validate error", details: `{"subject":"document","causes":[{"keyword":"required","instancePath":"","schemaPath":"#/required","message":"missing property 'trigger'"}]}`,
			want: []string{"(root): required: missing property 'trigger'"}},
		{name: "validate error of an older server", details: `{"Subject":"document","Causes":[{"keyword":"required","instancePath":"/a","schemaPath":"#/required","message":"missing property 'b'"}]}`,
			want: []string{"/a: required: missing property 'b'"}},
		{name: "automation problems", details: `[{"pointer":"/steps/0/appKey","message":"no connector nope"}]`,
			want: []string{"/steps/0/appKey: no connector nope"}},
		{name: "other", details: `{"a": [1, 2]}`, want: []string{`details: {"a":[1,2]}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := detailLines(json.RawMessage(tc.details))
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestServerURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"localhost:9000", "http://localhost:9000"},
		{"https://splice.example.com/base/", "https://splice.example.com/base"},
		{"ftp://x", ""},
		{"http://u:p@x", ""},
		{"", ""},
	}
	for _, tc := range cases {
		got, err := serverURL(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("serverURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
