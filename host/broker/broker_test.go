package broker_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/broker"
)

var ctx = context.Background()

// memCreds is an in-memory credential source with compare-and-swap.
type memCreds struct {
	mu sync.Mutex
	m  map[string]map[string]string
}

func newCreds(consumer, key string, secrets map[string]string) *memCreds {
	return &memCreds{m: map[string]map[string]string{consumer + "/" + key: secrets}}
}

func (c *memCreds) Secrets(_ context.Context, consumer, key string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[consumer+"/"+key]
	if !ok {
		return nil, fmt.Errorf("no credential %s/%s", consumer, key)
	}
	return maps.Clone(s), nil
}

func (c *memCreds) SwapSecrets(_ context.Context, consumer, key string, old, next map[string]string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !maps.Equal(c.m[consumer+"/"+key], old) {
		return false, nil
	}
	c.m[consumer+"/"+key] = maps.Clone(next)
	return true, nil
}

// upstream is a loopback HTTP server that counts requests and keeps every request's raw bytes.
type upstream struct {
	*httptest.Server
	n   atomic.Int64
	mu  sync.Mutex
	raw bytes.Buffer
}

func newUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.n.Add(1)
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		fmt.Fprintf(&u.raw, "%s %s\n", r.Method, r.URL.String())
		r.Header.Write(&u.raw)
		u.raw.Write(body)
		u.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) sawBytes() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return bytes.Clone(u.raw.Bytes())
}

func (u *upstream) port() string {
	_, p, _ := net.SplitHostPort(u.Listener.Addr().String())
	return p
}

// local returns broker options for tests against loopback upstreams.
func local() broker.Options {
	return broker.Options{Env: "development", AllowHTTP: true, AllowLoopback: true, AnyPort: true}
}

func newBroker(t testing.TB, o broker.Options) *broker.Broker {
	t.Helper()
	b, err := broker.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func manifest(auth abi.Auth, hosts ...string) *abi.Manifest {
	return &abi.Manifest{AppKey: "probe", Name: "Probe", Version: "1.0.0", Auth: auth, Hosts: hosts}
}

func do(t testing.TB, s *broker.Session, req any) broker.Response {
	t.Helper()
	doc, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var r broker.Response
	if err := json.Unmarshal(s.Do(ctx, doc), &r); err != nil {
		t.Fatalf("response is not a document: %v", err)
	}
	return r
}

func body(r broker.Response) string {
	if r.Body != nil {
		return *r.Body
	}
	return ""
}

func ok(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"ok":true}`)) }

func TestNewRefusesLoopbackInProduction(t *testing.T) {
	if _, err := broker.New(broker.Options{Env: "production", AllowLoopback: true}); err == nil {
		t.Fatal("production broker with loopback egress: no error")
	}
}

// TestRefusals proves each refusal of the request rules: the upstream (a loopback listener the
// manifest allows) sees no request from any of them.
func TestRefusals(t *testing.T) {
	up := newUpstream(t, ok)
	base := up.URL
	m := manifest(abi.Auth{Type: abi.AuthNone}, "127.0.0.1", "10.0.0.1")
	lenient := newBroker(t, local())
	strictOpts := local()
	strictOpts.AllowLoopback = false
	strict := newBroker(t, strictOpts)
	httpsOnlyOpts := local()
	httpsOnlyOpts.AllowHTTP = false
	httpsOnly := newBroker(t, httpsOnlyOpts)
	portsOpts := local()
	portsOpts.AnyPort = false
	ports := newBroker(t, portsOpts)
	big := strings.Repeat("x", broker.DefaultMaxRequestBytes+1)
	many := map[string]string{}
	for i := range 65 {
		many[fmt.Sprintf("X-H%d", i)] = "v"
	}
	cases := []struct {
		name string
		b    *broker.Broker
		req  any
		kind broker.Kind
	}{
		{"not a document", lenient, "nope", broker.KindInvalidRequest},
		{"unknown field", lenient, map[string]any{"url": base, "proxy": "x"}, broker.KindInvalidRequest},
		{"no url", lenient, map[string]any{"method": "GET"}, broker.KindInvalidRequest},
		{"method TRACE", lenient, map[string]any{"url": base, "method": "TRACE"}, broker.KindInvalidRequest},
		{"method CONNECT", lenient, map[string]any{"url": base, "method": "CONNECT"}, broker.KindInvalidRequest},
		{"GET with a body", lenient, map[string]any{"url": base, "body": "x"}, broker.KindInvalidRequest},
		{"body and bodyBase64", lenient, map[string]any{"url": base, "method": "POST", "body": "x", "bodyBase64": "eA=="}, broker.KindInvalidRequest},
		{"body too large", lenient, map[string]any{"url": base, "method": "POST", "body": big}, broker.KindRequestTooLarge},
		{"Host header", lenient, map[string]any{"url": base, "headers": map[string]string{"Host": "evil"}}, broker.KindInvalidRequest},
		{"Content-Length header", lenient, map[string]any{"url": base, "headers": map[string]string{"content-length": "0"}}, broker.KindInvalidRequest},
		{"Transfer-Encoding header", lenient, map[string]any{"url": base, "headers": map[string]string{"Transfer-Encoding": "chunked"}}, broker.KindInvalidRequest},
		{"Connection header", lenient, map[string]any{"url": base, "headers": map[string]string{"Connection": "close"}}, broker.KindInvalidRequest},
		{"Upgrade header", lenient, map[string]any{"url": base, "headers": map[string]string{"Upgrade": "h2c"}}, broker.KindInvalidRequest},
		{"Accept-Encoding header", lenient, map[string]any{"url": base, "headers": map[string]string{"Accept-Encoding": "identity"}}, broker.KindInvalidRequest},
		{"CRLF in a header value", lenient, map[string]any{"url": base, "headers": map[string]string{"X-A": "1\r\nHost: evil"}}, broker.KindInvalidRequest},
		{"space in a header name", lenient, map[string]any{"url": base, "headers": map[string]string{"X A": "1"}}, broker.KindInvalidRequest},
		{"too many headers", lenient, map[string]any{"url": base, "headers": many}, broker.KindInvalidRequest},
		{"scheme ftp", lenient, map[string]any{"url": "ftp://127.0.0.1:" + up.port() + "/"}, broker.KindInvalidRequest},
		{"scheme file", lenient, map[string]any{"url": "file:///etc/passwd"}, broker.KindInvalidRequest},
		{"http where only https", httpsOnly, map[string]any{"url": base}, broker.KindInvalidRequest},
		{"user info", lenient, map[string]any{"url": "http://user:pw@127.0.0.1:" + up.port() + "/"}, broker.KindInvalidRequest},
		{"host not in the manifest", lenient, map[string]any{"url": "http://localhost:" + up.port() + "/"}, broker.KindForbiddenHost},
		{"port not allowed", ports, map[string]any{"url": base}, broker.KindForbiddenAddress},
		{"loopback without the setting", strict, map[string]any{"url": base}, broker.KindForbiddenAddress},
		{"private address in the manifest", lenient, map[string]any{"url": "http://10.0.0.1:" + up.port() + "/"}, broker.KindForbiddenAddress},
		{"decimal host literal", lenient, map[string]any{"url": "http://2130706433:" + up.port() + "/"}, broker.KindForbiddenAddress},
		{"octal host literal", lenient, map[string]any{"url": "http://0177.0.0.1:" + up.port() + "/"}, broker.KindForbiddenAddress},
		{"hex host literal", lenient, map[string]any{"url": "http://0x7f000001:" + up.port() + "/"}, broker.KindForbiddenAddress},
		{"short host literal", lenient, map[string]any{"url": "http://127.1:" + up.port() + "/"}, broker.KindForbiddenAddress},
		{"IPv4-mapped IPv6 literal", strict, map[string]any{"url": "http://[::ffff:127.0.0.1]:" + up.port() + "/"}, broker.KindForbiddenAddress},
		{"metadata address", lenient, map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}, broker.KindForbiddenAddress},
		{"needs a credential", lenient, map[string]any{"url": base, "auth": true}, broker.KindNoCredential},
		{"negative timeout", lenient, map[string]any{"url": base, "timeoutMs": -1}, broker.KindInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.b.Session(broker.SessionOptions{Consumer: "c", Manifest: m})
			r := do(t, s, tc.req)
			if r.Error == nil || r.Error.Kind != tc.kind {
				t.Fatalf("response %+v, want error kind %s", r, tc.kind)
			}
		})
	}
	if n := up.n.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests from refused requests, want 0", n)
	}
}

func TestRoundTrip(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		if r.URL.Path == "/bin" {
			w.Write([]byte{0xff, 0xfe, 0})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "body": string(b), "ua": r.UserAgent(), "x": r.Header.Get("X-Trace")})
	})
	s := newBroker(t, local()).Session(broker.SessionOptions{Consumer: "c", Manifest: manifest(abi.Auth{Type: abi.AuthNone}, "127.0.0.1")})
	r := do(t, s, map[string]any{"method": "POST", "url": up.URL + "/x#frag", "headers": map[string]string{"x-trace": "t1", "Content-Type": "application/json"}, "body": `{"a":1}`})
	if r.Error != nil || r.Status != 200 {
		t.Fatalf("response %+v", r)
	}
	var got map[string]string
	json.Unmarshal([]byte(body(r)), &got)
	if got["method"] != "POST" || got["body"] != `{"a":1}` || got["ua"] != "splice" || got["x"] != "t1" {
		t.Errorf("upstream saw %v", got)
	}
	if r.Headers["X-Multi"] != "a, b" || r.Headers["Content-Type"] != "application/json" || r.URL != up.URL+"/x" {
		t.Errorf("headers %v url %s", r.Headers, r.URL)
	}
	r = do(t, s, map[string]any{"url": up.URL + "/bin"})
	if r.BodyBase64 == nil || *r.BodyBase64 != "//4A" {
		t.Errorf("binary body: %+v", r)
	}
	ex := s.Exchanges()
	if len(ex) != 2 || ex[0].Status != 200 || ex[0].Method != "POST" || ex[0].RequestBody != `{"a":1}` || ex[1].ResponseBodyEncoding != "base64" {
		t.Errorf("exchanges: %+v", ex)
	}
}

// TestRedirects follows redirects hop by hop: a hop to a host the connector may not call is
// refused before any byte goes there, and the credential goes again only to allowed hosts.
func TestRedirects(t *testing.T) {
	const secret = "sk_live_REDIRECT_CANARY_1234"
	foreign := newUpstream(t, ok)
	var target string
	origin := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-foreign":
			http.Redirect(w, r, "http://localhost:"+foreign.port()+"/steal", http.StatusFound)
		case "/to-self":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/see-other":
			http.Redirect(w, r, "/final", http.StatusSeeOther)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
		case "/to-allowed-other":
			http.Redirect(w, r, target, http.StatusFound)
		case "/final":
			fmt.Fprintf(w, "%s key=%v", r.Method, r.Header.Get("X-Api-Key") != "")
		}
	})
	target = "http://localhost:" + foreign.port() + "/ok"
	auth := abi.Auth{Type: abi.AuthAPIKey, In: "header", Name: "X-Api-Key"}
	creds := newCreds("c", "k", map[string]string{"apiKey": secret})
	o := local()
	o.Credentials = creds
	b := newBroker(t, o)
	session := func(hosts ...string) *broker.Session {
		return b.Session(broker.SessionOptions{Consumer: "c", Manifest: manifest(auth, hosts...), Credential: "k"})
	}

	s := session("127.0.0.1")
	for _, path := range []string{"/to-foreign", "/to-metadata"} {
		r := do(t, s, map[string]any{"url": origin.URL + path, "auth": true})
		if r.Error == nil || r.Error.Kind != broker.KindRedirect {
			t.Errorf("%s: %+v, want a refused redirect", path, r)
		}
	}
	if n := foreign.n.Load(); n != 0 || bytes.Contains(foreign.sawBytes(), []byte(secret)) {
		t.Fatalf("the foreign host saw %d requests", n)
	}
	r := do(t, s, map[string]any{"url": origin.URL + "/to-self", "method": "PUT", "body": "x", "auth": true})
	if body(r) != "PUT key=true" {
		t.Errorf("307 on an allowed host: %q %+v, want the method kept and the key injected again", body(r), r.Error)
	}
	r = do(t, s, map[string]any{"url": origin.URL + "/see-other", "method": "POST", "body": "x", "auth": true})
	if body(r) != "GET key=true" {
		t.Errorf("303: %q, want GET", body(r))
	}
	r = do(t, s, map[string]any{"url": origin.URL + "/loop"})
	if r.Error == nil || r.Error.Kind != broker.KindRedirect {
		t.Errorf("redirect loop: %+v", r)
	}
	// Both hosts allowed: the hop to the other host carries the credential, as the manifest says.
	r = do(t, session("127.0.0.1", "localhost"), map[string]any{"url": origin.URL + "/to-allowed-other", "auth": true})
	if r.Error != nil || r.Status != 200 || !bytes.Contains(foreign.sawBytes(), []byte(secret)) {
		t.Errorf("hop to another allowed host: %+v", r)
	}
	for _, ex := range s.Exchanges() {
		if b, _ := json.Marshal(ex); bytes.Contains(b, []byte(secret)) {
			t.Errorf("an exchange record holds the secret: %s", b)
		}
	}
}

func TestGzipBomb(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 16 { // 16 MiB of zeros, about 16 KiB compressed
		zw.Write(zeros)
	}
	zw.Close()
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb.Bytes())
	})
	o := local()
	o.MaxResponseBytes = 1 << 20
	s := newBroker(t, o).Session(broker.SessionOptions{Consumer: "c", Manifest: manifest(abi.Auth{Type: abi.AuthNone}, "127.0.0.1")})
	r := do(t, s, map[string]any{"url": up.URL})
	if r.Error == nil || r.Error.Kind != broker.KindResponseTooLarge {
		t.Fatalf("gzip bomb (%d bytes compressed): %+v, want response_too_large", bomb.Len(), r.Error)
	}
	if ex := s.Exchanges(); len(ex) != 1 || ex[0].ResponseBodyBytes > 1<<20 {
		t.Errorf("exchange: %+v", ex)
	}
}

func TestCaps(t *testing.T) {
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-release
			inFlight.Add(-1)
		}
		if r.URL.Path == "/sleep" {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		}
		w.Write([]byte("ok"))
	})
	o := local()
	o.MaxRequestsPerCall = 3
	o.MaxConcurrent = 2
	b := newBroker(t, o)
	m := manifest(abi.Auth{Type: abi.AuthNone}, "127.0.0.1")

	s := b.Session(broker.SessionOptions{Consumer: "c", Manifest: m})
	for i := range 4 {
		r := do(t, s, map[string]any{"url": up.URL})
		if i < 3 && r.Error != nil {
			t.Fatalf("request %d: %+v", i, r.Error)
		}
		if i == 3 && (r.Error == nil || r.Error.Kind != broker.KindTooManyRequests) {
			t.Fatalf("request 4 of a call capped at 3: %+v", r)
		}
	}

	start := time.Now()
	r := do(t, b.Session(broker.SessionOptions{Consumer: "c", Manifest: m}), map[string]any{"url": up.URL + "/sleep", "timeoutMs": 100})
	if r.Error == nil || r.Error.Kind != broker.KindTimeout || time.Since(start) > 3*time.Second {
		t.Errorf("a 100 ms timeout against a 5 s upstream: %+v after %s", r.Error, time.Since(start))
	}

	// Five calls of one consumer at once: at most two requests reach the upstream together; another
	// consumer is not held up by them.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			do(t, b.Session(broker.SessionOptions{Consumer: "busy", Manifest: m}), map[string]any{"url": up.URL + "/slow"})
		})
	}
	for inFlight.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	if r := do(t, b.Session(broker.SessionOptions{Consumer: "other", Manifest: m}), map[string]any{"url": up.URL}); r.Error != nil {
		t.Errorf("another consumer while the first is at its cap: %+v", r.Error)
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak requests in flight for one consumer: %d, want 2", p)
	}
}

// TestSecretsNeverReachTheGuestOrTheRecords injects credentials every way the manifest allows
// against an upstream that echoes the request back, and checks that the secret is in what the
// upstream received but nowhere in what the guest gets or the records keep.
func TestSecretsNeverReachTheGuestOrTheRecords(t *testing.T) {
	const secret = "sk_live_ECHO_CANARY_5678"
	const password = "hunter2-CANARY-pw"
	echo := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Key", r.Header.Get("X-Api-Key"))
		fmt.Fprintf(w, "url=%s auth=%s key=%s body=%s", r.URL.String(), r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), b)
	})
	creds := newCreds("c", "k", map[string]string{"apiKey": secret, "username": "ann", "password": password})
	o := local()
	o.Credentials = creds
	b := newBroker(t, o)
	cases := []struct {
		name string
		auth abi.Auth
		req  map[string]any
	}{
		{"apiKey header", abi.Auth{Type: abi.AuthAPIKey, In: "header", Name: "X-Api-Key"}, map[string]any{"url": echo.URL + "/h", "auth": true}},
		{"apiKey query", abi.Auth{Type: abi.AuthAPIKey, In: "query", Name: "api_key"}, map[string]any{"url": echo.URL + "/q?x=1", "auth": true}},
		{"apiKey format", abi.Auth{Type: abi.AuthAPIKey, In: "header", Name: "Authorization", Format: "Token {{credential.apiKey}}"}, map[string]any{"url": echo.URL + "/f", "auth": true}},
		{"basic", abi.Auth{Type: abi.AuthBasic}, map[string]any{"url": echo.URL + "/b", "auth": true}},
		{"placeholders", abi.Auth{Type: abi.AuthAPIKey, In: "header", Name: "X-Api-Key"}, map[string]any{
			"method": "POST", "url": echo.URL + "/p?k={{credential.apiKey}}",
			"headers": map[string]string{"X-Custom": "k {{ credential.apiKey }}"}, "body": `{"key":"{{credential.apiKey}}","pw":"{{credential.password}}"}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(echo.sawBytes())
			s := b.Session(broker.SessionOptions{Consumer: "c", Manifest: manifest(tc.auth, "127.0.0.1"), Credential: "k"})
			r := do(t, s, tc.req)
			if r.Error != nil || r.Status != 200 {
				t.Fatalf("response %+v", r)
			}
			sent := echo.sawBytes()[before:]
			if !bytes.Contains(sent, []byte(secret)) && !bytes.Contains(sent, []byte("YW5uOmh1bnRlcjItQ0FOQVJZLXB3")) {
				t.Fatalf("the upstream did not get the credential: %s", sent)
			}
			guest, _ := json.Marshal(r)
			records, _ := json.Marshal(s.Exchanges())
			for _, where := range [][]byte{guest, records} {
				for _, needle := range []string{secret, password, url.QueryEscape(secret), "YW5uOmh1bnRlcjItQ0FOQVJZLXB3"} {
					if bytes.Contains(where, []byte(needle)) {
						t.Errorf("%q reached %s", needle, where)
					}
				}
			}
			if !strings.Contains(body(r), "[redacted]") {
				t.Errorf("the echoed secret was not masked in %q", body(r))
			}
		})
	}
	// A connection error on a URL holding a secret: the message is masked too.
	s := b.Session(broker.SessionOptions{Consumer: "c", Manifest: manifest(abi.Auth{Type: abi.AuthNone}, "127.0.0.1"), Credential: "k"})
	dead := "http://127.0.0.1:1/x?k={{credential.apiKey}}"
	r := do(t, s, map[string]any{"url": dead})
	if out, _ := json.Marshal(r); r.Error == nil || bytes.Contains(out, []byte(secret)) {
		t.Errorf("connection error: %s", out)
	}
}

func TestRetryAfter(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	s := newBroker(t, local()).Session(broker.SessionOptions{Consumer: "c", Manifest: manifest(abi.Auth{Type: abi.AuthNone}, "127.0.0.1")})
	r := do(t, s, map[string]any{"url": up.URL})
	if r.Status != 429 || r.RetryAfterMS != 7000 || s.RetryAfter() != 7*time.Second {
		t.Errorf("429 with Retry-After 7: %+v, session %s", r, s.RetryAfter())
	}
}

// TestNoCredential: a request that says it uses no credential (Extism's http_request) gets no
// injection and may not use placeholders, even when the call has a credential.
func TestNoCredential(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.Header.Get("X-Api-Key")) })
	o := local()
	o.Credentials = newCreds("c", "k", map[string]string{"apiKey": "sk_nocred_1234"})
	s := newBroker(t, o).Session(broker.SessionOptions{Consumer: "c", Credential: "k",
		Manifest: manifest(abi.Auth{Type: abi.AuthAPIKey, In: "header", Name: "X-Api-Key"}, "127.0.0.1")})
	if r := do(t, s, map[string]any{"url": up.URL, "auth": true, "noCredential": true}); r.Status != 200 || body(r) != "" {
		t.Errorf("auth with noCredential: %+v %q", r.Error, body(r))
	}
	if r := do(t, s, map[string]any{"url": up.URL + "?k={{credential.apiKey}}", "noCredential": true}); r.Error == nil || r.Error.Kind != broker.KindNoCredential {
		t.Errorf("placeholder with noCredential: %+v", r)
	}
}

// fieldCreds adds non-secret fields to memCreds (the broker's FieldReader).
type fieldCreds struct {
	*memCreds
	fields map[string]string
}

func (c fieldCreds) Fields(context.Context, string, string) (map[string]string, error) {
	return maps.Clone(c.fields), nil
}

// TestBaseURLField: a non-secret field that opens the URL is the account's base URL, written as
// is; a secret there, or a field that is not a clean base URL, is query-escaped (and the URL then
// fails); other placeholders of the URL stay escaped; the field is not masked in the record.
func TestBaseURLField(t *testing.T) {
	up := newUpstream(t, ok)
	creds := fieldCreds{newCreds("c", "k", map[string]string{"token": "t/0k", "secretBase": "http://127.0.0.1:1"}),
		map[string]string{"baseUrl": up.URL + "/", "withQuery": up.URL + "/?a=1"}}
	o := local()
	o.Credentials = creds
	s := newBroker(t, o).Session(broker.SessionOptions{Consumer: "c", Credential: "k", Manifest: manifest(abi.Auth{Type: abi.AuthNone}, "127.0.0.1")})
	r := do(t, s, map[string]any{"method": "POST", "url": "{{credential.baseUrl}}/api/post?t={{credential.token}}"})
	if r.Error != nil || r.Status != 200 {
		t.Fatalf("base URL field: %+v", r.Error)
	}
	if saw := string(up.sawBytes()); !strings.Contains(saw, "POST /api/post?t=t%2F0k") {
		t.Errorf("the upstream saw %q", saw)
	}
	if ex := s.Exchanges(); len(ex) != 1 || !strings.HasPrefix(ex[0].URL, up.URL+"/api/post") {
		t.Errorf("recorded %+v", ex)
	}
	for _, field := range []string{"secretBase", "withQuery"} {
		r := do(t, s, map[string]any{"url": "{{credential." + field + "}}/x"})
		if r.Error == nil {
			t.Errorf("{{credential.%s}} opening the URL was used as a base URL", field)
		}
	}
}
