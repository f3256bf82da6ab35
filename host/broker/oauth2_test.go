package broker_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/validate"
	"github.com/splicehq/splice/schemas"
)

// oauthFixture is a token endpoint and an API that accepts only the latest access token.
type oauthFixture struct {
	api, token *upstream
	refreshes  atomic.Int64
	mu         sync.Mutex
	current    string
	tokenDelay time.Duration
}

func newOAuth(t *testing.T) *oauthFixture {
	f := &oauthFixture{current: "at-0"}
	f.token = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		if id != "client-1" || secret != "client-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
			return
		}
		time.Sleep(f.tokenDelay)
		n := f.refreshes.Add(1)
		f.mu.Lock()
		switch r.Form.Get("grant_type") {
		case "refresh_token":
			if r.Form.Get("refresh_token") != "rt-1" {
				f.mu.Unlock()
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
				return
			}
		case "authorization_code":
			if r.Form.Get("code") != "code-1" {
				f.mu.Unlock()
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		}
		f.current = fmt.Sprintf("at-%d", n)
		tok := f.current
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-1"})
	})
	f.api = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		want := "Bearer " + f.current
		f.mu.Unlock()
		if r.Header.Get("Authorization") != want {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	})
	return f
}

func (f *oauthFixture) manifest() *abi.Manifest {
	return &abi.Manifest{AppKey: "oa", Name: "OA", Version: "1.0.0", Hosts: []string{"127.0.0.1"}, Auth: abi.Auth{
		Type: abi.AuthOAuth2, AuthorizeURL: "https://auth.example.com/authorize", TokenURL: f.token.URL + "/token", Scopes: []string{"read", "write"}}}
}

func expired(now time.Time) map[string]string {
	return map[string]string{"access_token": "at-0", "refresh_token": "rt-1", "expires_at": strconv.FormatInt(now.Add(-time.Minute).Unix(), 10)}
}

// TestOAuth2RefreshRace: 100 calls at once with an expired token make exactly one refresh, and
// every call then succeeds with the new token.
func TestOAuth2RefreshRace(t *testing.T) {
	f := newOAuth(t)
	f.tokenDelay = 50 * time.Millisecond
	creds := newCreds("c", "k", expired(time.Now()))
	o := local()
	o.Credentials = creds
	o.MaxConcurrent = 100
	b := newBroker(t, o)
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 100 {
		wg.Go(func() {
			s := b.Session(broker.SessionOptions{Consumer: "c", Manifest: f.manifest(), Credential: "k", OAuthClient: broker.OAuthClient{ID: "client-1", Secret: "client-secret"}})
			if r := do(t, s, map[string]any{"url": f.api.URL, "auth": true}); r.Status != 200 {
				failures.Add(1)
				t.Logf("call: %+v %+v", r.Status, r.Error)
			}
		})
	}
	wg.Wait()
	if n := f.refreshes.Load(); n != 1 {
		t.Errorf("%d refreshes for 100 concurrent calls, want 1", n)
	}
	if n := failures.Load(); n != 0 {
		t.Errorf("%d calls failed", n)
	}
	stored, _ := creds.Secrets(ctx, "c", "k")
	if stored["access_token"] != "at-1" || stored["refresh_token"] != "rt-1" {
		t.Errorf("stored secrets after the refresh: %v", stored)
	}
}

func TestOAuth2RefreshPaths(t *testing.T) {
	f := newOAuth(t)
	client := broker.OAuthClient{ID: "client-1", Secret: "client-secret"}
	valid := map[string]string{"access_token": "at-0", "refresh_token": "rt-1", "expires_at": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}
	creds := newCreds("c", "k", valid)
	o := local()
	o.Credentials = creds
	b := newBroker(t, o)
	session := func() *broker.Session {
		return b.Session(broker.SessionOptions{Consumer: "c", Manifest: f.manifest(), Credential: "k", OAuthClient: client})
	}
	// A valid token: no refresh.
	if r := do(t, session(), map[string]any{"url": f.api.URL, "auth": true}); r.Status != 200 || f.refreshes.Load() != 0 {
		t.Fatalf("valid token: %d, %d refreshes", r.Status, f.refreshes.Load())
	}
	// The token is revoked upstream: the 401 triggers one refresh and one retry.
	f.mu.Lock()
	f.current = "revoked-elsewhere"
	f.mu.Unlock()
	s := session()
	if r := do(t, s, map[string]any{"url": f.api.URL, "auth": true}); r.Status != 200 || f.refreshes.Load() != 1 {
		t.Fatalf("after a 401: %d, %d refreshes", r.Status, f.refreshes.Load())
	}
	if ex := s.Exchanges(); len(ex) != 3 || ex[0].Status != 401 || ex[1].ResponseBody != "[redacted]" || ex[2].Status != 200 {
		t.Errorf("exchanges of a 401, a refresh and the retry: %+v", ex)
	}
	// The connector says the token is bad (a 200 whose body says so): authRefresh refreshes once
	// per call, not twice.
	s = session()
	do(t, s, map[string]any{"url": f.api.URL, "auth": true, "authRefresh": true})
	do(t, s, map[string]any{"url": f.api.URL, "auth": true, "authRefresh": true})
	if n := f.refreshes.Load(); n != 2 {
		t.Errorf("authRefresh twice in one call: %d refreshes in all, want 2", n)
	}
	// A token that expires within the minute is refreshed before the request.
	creds.m["c/k"]["expires_at"] = strconv.FormatInt(time.Now().Add(30*time.Second).Unix(), 10)
	if r := do(t, session(), map[string]any{"url": f.api.URL, "auth": true}); r.Status != 200 || f.refreshes.Load() != 3 {
		t.Errorf("proactive refresh: %d, %d refreshes", r.Status, f.refreshes.Load())
	}
	// A wrong client secret: no_credential, and the secret is in no message.
	bad := b.Session(broker.SessionOptions{Consumer: "c", Manifest: f.manifest(), Credential: "k", OAuthClient: broker.OAuthClient{ID: "client-1", Secret: "nope"}})
	r := do(t, bad, map[string]any{"url": f.api.URL, "auth": true, "authRefresh": true})
	if r.Error == nil || r.Error.Kind != broker.KindNoCredential {
		t.Errorf("refresh with a wrong client secret: %+v", r)
	}
}

func TestOAuth2AuthorizationCode(t *testing.T) {
	f := newOAuth(t)
	m := f.manifest()
	client := broker.OAuthClient{ID: "client-1", Secret: "client-secret"}
	u, err := broker.AuthorizeURL(m, client, "https://splice.example/callback", "st4te")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(u)
	if q.Host != "auth.example.com" || q.Query().Get("scope") != "read write" || q.Query().Get("state") != "st4te" ||
		q.Query().Get("client_id") != "client-1" || q.Query().Get("response_type") != "code" {
		t.Errorf("authorize URL %s", u)
	}
	if _, err := broker.AuthorizeURL(m, client, "https://splice.example/callback", ""); err == nil {
		t.Error("authorize URL without state: no error")
	}
	s := newBroker(t, local()).Session(broker.SessionOptions{Consumer: "c", Manifest: m, OAuthClient: client})
	secrets, err := s.Exchange(ctx, "code-1", "https://splice.example/callback")
	if err != nil || secrets["access_token"] != "at-1" || secrets["refresh_token"] != "rt-1" || secrets["expires_at"] == "" {
		t.Fatalf("Exchange = %v, %v", secrets, err)
	}
	if _, err := s.Exchange(ctx, "wrong", "https://splice.example/callback"); err == nil {
		t.Error("Exchange of a wrong code: no error")
	}
	out, _ := json.Marshal(s.Exchanges())
	if strings.Contains(string(out), "at-1") || strings.Contains(string(out), "client-secret") {
		t.Errorf("token exchange records hold secrets: %s", out)
	}
}

// TestExchangesMatchTheSchema validates recorded exchanges of every shape against
// schemas/exchange.schema.json.
func TestExchangesMatchTheSchema(t *testing.T) {
	data, err := fs.ReadFile(schemas.FS, schemas.ExchangeFile)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := validate.Compile(data)
	if err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/r" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		w.Write([]byte{0xff, 0x00})
	})
	f := newOAuth(t)
	o := local()
	o.Credentials = newCreds("c", "k", expired(time.Now()))
	b := newBroker(t, o)
	s := b.Session(broker.SessionOptions{Consumer: "c", Manifest: &abi.Manifest{Hosts: []string{"127.0.0.1"}, Auth: f.manifest().Auth}, Credential: "k",
		OAuthClient: broker.OAuthClient{ID: "client-1", Secret: "client-secret"}})
	do(t, s, map[string]any{"url": up.URL + "/r", "method": "POST", "body": "\xff"})
	do(t, s, map[string]any{"url": f.api.URL, "auth": true})
	do(t, s, map[string]any{"url": "http://localhost:1/"})
	do(t, s, map[string]any{"url": "http://127.0.0.1:1/"})
	exs := s.Exchanges()
	if len(exs) < 5 {
		t.Fatalf("%d exchanges recorded", len(exs))
	}
	for i, ex := range exs {
		doc, _ := json.Marshal(ex)
		if err := schema.Validate(doc); err != nil {
			t.Errorf("exchange %d %s: %v", i, doc, err)
		}
	}
}
