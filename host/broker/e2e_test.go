package broker_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
)

// probeResult is the output of the http-probe guest's fetch action.
type probeResult struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    *string           `json:"body"`
	URL     string            `json:"url"`
	Error   *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestGuestsThroughTheBroker runs the http-probe guest (Go PDK, testdata/guests/go-http-probe) on
// both engines with a broker session as the call's HTTPDoer: its requests reach a loopback
// upstream with the credential injected, refusals come back to the guest as errors it can read,
// and the secret is in nothing the guest outputs or logs.
func TestGuestsThroughTheBroker(t *testing.T) {
	const secret = "sk_live_GUEST_CANARY_9012"
	wasm := testkit.Guest(t, "http-probe")
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"path":%q,"key":%q}`, r.URL.Path, r.Header.Get("X-Api-Key"))
	})
	for _, engine := range []string{sandbox.EngineSplice, sandbox.EngineExtism} {
		t.Run(engine, func(t *testing.T) {
			rt, err := sandbox.New(ctx, sandbox.Options{Engine: engine})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close(ctx)
			c, err := connector.Load(ctx, rt, wasm, connector.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			o := local()
			o.Credentials = newCreds("c", "k", map[string]string{"apiKey": secret})
			o.MaxRequestsPerCall = 5
			b := newBroker(t, o)
			call := func(params map[string]any, doer sandbox.HTTPDoer) ([]byte, *sandbox.Result) {
				t.Helper()
				key := params["action"].(string)
				delete(params, "action")
				in, _ := json.Marshal(map[string]any{"key": key, "params": params})
				res, err := c.CallWith(ctx, sandbox.CallOptions{Consumer: "c", Export: "action", Input: in, HTTP: doer})
				if err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				var env struct {
					Output json.RawMessage `json:"output"`
				}
				json.Unmarshal(res.Output, &env)
				return env.Output, res
			}
			session := func() *broker.Session {
				return b.Session(broker.SessionOptions{Consumer: "c", Manifest: c.Manifest(), Credential: "k"})
			}

			s := session()
			out, res := call(map[string]any{"action": "fetch", "url": up.URL + "/orders", "auth": true}, s)
			var r probeResult
			json.Unmarshal(out, &r)
			if r.Status != 200 || r.Body == nil || !strings.Contains(*r.Body, `"path":"/orders"`) {
				t.Fatalf("fetch: %s", out)
			}
			if !bytes.Contains(up.sawBytes(), []byte(secret)) {
				t.Error("the upstream did not get the injected key")
			}
			logs, _ := json.Marshal(res.Logs)
			records, _ := json.Marshal(s.Exchanges())
			for what, b := range map[string][]byte{"output": out, "logs": logs, "records": records} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("the secret reached the guest's %s: %s", what, b)
				}
			}
			if len(s.Exchanges()) != 1 || !s.Exchanges()[0].Injected {
				t.Errorf("exchanges: %+v", s.Exchanges())
			}

			out, _ = call(map[string]any{"action": "echo-secret-attempt", "url": up.URL + "/echo", "headers": map[string]string{"X-Copy": "{{credential.apiKey}}"}}, session())
			if bytes.Contains(out, []byte(secret)) || !bytes.Contains(out, []byte("[redacted]")) {
				t.Errorf("echo-secret-attempt: %s", out)
			}

			out, _ = call(map[string]any{"action": "fetch", "url": strings.Replace(up.URL, "127.0.0.1", "127.0.0.2", 1)}, session())
			if json.Unmarshal(out, &r); r.Error == nil || r.Error.Kind != string(broker.KindForbiddenHost) {
				t.Errorf("fetch of a host not in the manifest: %s", out)
			}

			out, _ = call(map[string]any{"action": "fetch-many", "url": up.URL + "/n", "count": 7}, session())
			var many struct {
				Statuses []int    `json:"statuses"`
				Errors   []string `json:"errors"`
			}
			json.Unmarshal(out, &many)
			if ok, capped := count(many.Statuses, 200), count(many.Errors, string(broker.KindTooManyRequests)); ok != 5 || capped != 2 {
				t.Errorf("7 requests in a call capped at 5: %s", out)
			}

			// Extism's http_request: served by the broker on Splice's engine, without the
			// credential; disabled on the reference engine (the call fails).
			in, _ := json.Marshal(map[string]any{"key": "fetch-extism", "params": map[string]any{"url": up.URL + "/plain", "method": "GET"}})
			es := session()
			res, err = c.CallWith(ctx, sandbox.CallOptions{Consumer: "c", Export: "action", Input: in, HTTP: es})
			if engine == sandbox.EngineSplice {
				var env struct {
					Output struct {
						Status  int               `json:"status"`
						Headers map[string]string `json:"headers"`
						Body    string            `json:"body"`
					} `json:"output"`
				}
				if err != nil {
					t.Fatalf("fetch-extism: %v", err)
				}
				json.Unmarshal(res.Output, &env)
				if env.Output.Status != 200 || env.Output.Body != `{"path":"/plain","key":""}` || env.Output.Headers["Content-Type"] == "" {
					t.Errorf("fetch-extism: %s", res.Output)
				}
				if ex := es.Exchanges(); len(ex) != 1 || ex[0].Injected {
					t.Errorf("http_request exchanges: %+v", ex)
				}
				in, _ = json.Marshal(map[string]any{"key": "fetch-extism", "params": map[string]any{"url": "http://10.0.0.1/", "method": "GET"}})
				if _, err := c.CallWith(ctx, sandbox.CallOptions{Consumer: "c", Export: "action", Input: in, HTTP: session()}); sandbox.KindOf(err) != sandbox.KindTrap || !strings.Contains(err.Error(), "forbidden") {
					t.Errorf("http_request to a private address: %v, want a trap naming the refusal", err)
				}
			} else if err == nil {
				t.Errorf("http_request on the reference engine: %s, want it disabled", res.Output)
			}

			out, _ = call(map[string]any{"action": "fetch", "url": up.URL}, nil)
			if json.Unmarshal(out, &r); r.Error == nil || r.Error.Kind != string(broker.KindUnavailable) {
				t.Errorf("fetch without a broker: %s", out)
			}
		})
	}
}

func count[T comparable](xs []T, x T) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// TestCustomAuth runs the auth-probe guest's auth export (custom auth: log in with a username and
// a password, get a session token) through a broker session that fills the login request's
// placeholders, stores what it sets, and then injects the session into an action's request. The
// password never reaches the guest.
func TestCustomAuth(t *testing.T) {
	const password = `pw-"CANARY"-7788`
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			var in struct{ Username, Password string }
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Username != "ann" || in.Password != password {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"session":"sess-1"}`)
		case "/whoami":
			if r.Header.Get("Authorization") != "Session sess-1" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, "ann")
		}
	})
	rt, err := sandbox.New(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	c, err := connector.Load(ctx, rt, testkit.Guest(t, "auth-probe"), connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	creds := newCreds("c", "k", map[string]string{"username": "ann", "password": password})
	o := local()
	o.Credentials = creds
	b := newBroker(t, o)
	session := func() *broker.Session {
		return b.Session(broker.SessionOptions{Consumer: "c", Manifest: c.Manifest(), Credential: "k"})
	}

	s := session()
	res, err := c.Auth(ctx, "c", connector.AuthRequest{Op: connector.AuthOpTest, Credential: map[string]string{"username": "ann"},
		Config: map[string]string{"loginUrl": up.URL + "/login"}}, s)
	if err != nil || !res.OK || res.Set["session"] != "sess-1" {
		t.Fatalf("auth test: %+v, %v", res, err)
	}
	for _, ex := range s.Exchanges() {
		if b, _ := json.Marshal(ex); bytes.Contains(b, []byte("CANARY")) {
			t.Errorf("the password is in a record: %s", b)
		}
	}
	old, _ := creds.Secrets(ctx, "c", "k")
	next := map[string]string{"session": res.Set["session"]}
	for k, v := range old {
		next[k] = v
	}
	if ok, _ := creds.SwapSecrets(ctx, "c", "k", old, next); !ok {
		t.Fatal("storing the session failed")
	}
	in, _ := json.Marshal(map[string]any{"key": "whoami", "params": map[string]any{"url": up.URL + "/whoami"}})
	out, err := c.CallWith(ctx, sandbox.CallOptions{Consumer: "c", Export: "action", Input: in, HTTP: session()})
	if err != nil || !bytes.Contains(out.Output, []byte(`"status":200`)) {
		t.Fatalf("whoami with the stored session: %v %s", err, out.Output)
	}

	// A wrong password: ok false, nothing to store.
	bad := newCreds("c", "k", map[string]string{"username": "ann", "password": "nope"})
	ob := local()
	ob.Credentials = bad
	res, err = c.Auth(ctx, "c", connector.AuthRequest{Op: connector.AuthOpTest, Credential: map[string]string{"username": "ann"},
		Config: map[string]string{"loginUrl": up.URL + "/login"}}, newBroker(t, ob).Session(broker.SessionOptions{Consumer: "c", Manifest: c.Manifest(), Credential: "k"}))
	if err != nil || res.OK || len(res.Set) != 0 {
		t.Errorf("auth with a wrong password: %+v, %v", res, err)
	}
}
