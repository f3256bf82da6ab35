package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/splicehq/splice/host/abi"
)

// OAuthClient is an environment's OAuth 2.0 client registration for one app.
type OAuthClient struct {
	ID     string `json:"clientId"`
	Secret string `json:"-"`
}

// The secret fields of an OAuth 2.0 credential.
const (
	FieldAccessToken  = "access_token"
	FieldRefreshToken = "refresh_token"
	FieldExpiresAt    = "expires_at" // unix seconds
	FieldTokenType    = "token_type"
)

// refreshSkew is how long before its expiry a token is refreshed.
const refreshSkew = 60 * time.Second

// expiring reports whether the token in secrets has expired or expires within refreshSkew.
func (b *Broker) expiring(secrets map[string]string) bool {
	at, err := strconv.ParseInt(secrets[FieldExpiresAt], 10, 64)
	if err != nil || at <= 0 {
		return false // no expiry known: use the token until it is refused
	}
	return !b.opts.Now().Add(refreshSkew).Before(time.Unix(at, 0))
}

// flights runs at most one refresh per credential at a time; the others wait for its result.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done    chan struct{}
	secrets map[string]string
	err     error
}

// refresh exchanges the refresh token in old for a new access token at the manifest's token URL
// and stores the result with compare-and-swap. Concurrent refreshes of one credential share one
// exchange; a refresh asked for with a token that another one already replaced returns the
// stored token without a new exchange.
func (b *Broker) refresh(ctx context.Context, s *Session, old map[string]string) (map[string]string, error) {
	key := s.o.Consumer + "\x00" + s.o.Credential
	b.flights.mu.Lock()
	if b.flights.m == nil {
		b.flights.m = map[string]*flight{}
	}
	if f := b.flights.m[key]; f != nil {
		b.flights.mu.Unlock()
		select {
		case <-f.done:
			return f.secrets, f.err
		case <-ctx.Done():
			return nil, fail(KindTimeout, "waiting for the token refresh: %v", ctx.Err())
		}
	}
	f := &flight{done: make(chan struct{})}
	b.flights.m[key] = f
	b.flights.mu.Unlock()

	f.secrets, f.err = b.refreshOnce(ctx, s, old)
	b.flights.mu.Lock()
	delete(b.flights.m, key)
	b.flights.mu.Unlock()
	close(f.done)
	return f.secrets, f.err
}

func (b *Broker) refreshOnce(ctx context.Context, s *Session, old map[string]string) (map[string]string, error) {
	creds := b.opts.Credentials
	cur, err := creds.Secrets(ctx, s.o.Consumer, s.o.Credential)
	if err != nil {
		return nil, fail(KindNoCredential, "credential %s cannot be read", s.o.Credential)
	}
	if cur[FieldAccessToken] != old[FieldAccessToken] && !b.expiring(cur) {
		return cur, nil // refreshed by someone else since old was read
	}
	rt := cur[FieldRefreshToken]
	if rt == "" {
		return nil, fail(KindNoCredential, "the access token expired and the credential has no refresh token")
	}
	form := url.Values{"grant_type": {"refresh_token"}, FieldRefreshToken: {rt}}
	tok, err := b.token(ctx, s, form)
	if err != nil {
		return nil, err
	}
	next := maps.Clone(cur)
	maps.Copy(next, tok)
	ok, err := creds.SwapSecrets(ctx, s.o.Consumer, s.o.Credential, cur, next)
	if err != nil {
		return nil, fail(KindNoCredential, "storing the refreshed token failed")
	}
	if !ok {
		// Another process stored a refresh first; use what it stored.
		if cur, err = creds.Secrets(ctx, s.o.Consumer, s.o.Credential); err != nil {
			return nil, fail(KindNoCredential, "credential %s cannot be read", s.o.Credential)
		}
		return cur, nil
	}
	return next, nil
}

// tokenResponse is RFC 6749 section 5.1.
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.Number     `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	Error        string          `json:"error"`
	Scope        json.RawMessage `json:"scope"`
}

// token posts form to the manifest's token URL, through the same address and host rules as a
// connector's requests (the token URL's host must be among the manifest's hosts or be the token
// URL's own), and returns the secrets it yields.
func (b *Broker) token(ctx context.Context, s *Session, form url.Values) (map[string]string, error) {
	m := s.o.Manifest
	if m == nil || m.Auth.TokenURL == "" {
		return nil, fail(KindNoCredential, "the connector has no OAuth 2.0 token URL")
	}
	if err := s.count(); err != nil {
		return nil, err
	}
	tokenHost := &abi.Manifest{Hosts: append([]string{hostOf(m.Auth.TokenURL)}, m.Hosts...)}
	ts := &Session{b: b, o: SessionOptions{Consumer: s.o.Consumer, Manifest: tokenHost}, redact: s.redact}
	u, err := ts.target(m.Auth.TokenURL)
	if err != nil {
		return nil, err
	}
	c := s.o.OAuthClient
	if m.Auth.ClientAuth == abi.ClientAuthBody {
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fail(KindInvalidRequest, "%v", err)
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.Header.Set("Accept", "application/json")
	if m.Auth.ClientAuth != abi.ClientAuthBody {
		hr.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret)) // RFC 6749 section 2.3.1
	}
	start := time.Now()
	ex := Exchange{Method: http.MethodPost, URL: u.String(), StartedAt: b.opts.Now(), Injected: true,
		RequestHeaders: map[string]string{"Authorization": redacted, "Content-Type": "application/x-www-form-urlencoded"},
		RequestBody:    redacted, RequestBodyBytes: len(form.Encode())}
	resp, err := b.client.Do(hr)
	if err != nil {
		e := classify(ctx, err)
		ex.Error = errorBody(e)
		s.record(ex)
		return nil, e
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body, 64<<10)
	ex.Status, ex.DurationMS, ex.ResponseBodyBytes = resp.StatusCode, ms(time.Since(start)), int64(len(data))
	ex.ResponseBody = redacted // token responses are secrets
	if err != nil {
		ex.Error = errorBody(err)
		s.record(ex)
		return nil, err
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(data, &tr)
	if resp.StatusCode != http.StatusOK || jsonErr != nil || tr.AccessToken == "" {
		msg := fmt.Sprintf("token endpoint answered %d", resp.StatusCode)
		if tr.Error != "" {
			msg += " " + truncate(tr.Error, 64)
		}
		e := fail(KindNoCredential, "%s", msg)
		ex.Error = errorBody(e)
		s.record(ex)
		return nil, e
	}
	s.record(ex)
	out := map[string]string{FieldAccessToken: tr.AccessToken}
	if tr.RefreshToken != "" {
		out[FieldRefreshToken] = tr.RefreshToken
	}
	if tr.TokenType != "" {
		out[FieldTokenType] = tr.TokenType
	}
	if n, err := tr.ExpiresIn.Int64(); err == nil && n > 0 {
		out[FieldExpiresAt] = strconv.FormatInt(b.opts.Now().Add(time.Duration(n)*time.Second).Unix(), 10)
	}
	s.redact.add(out)
	return out, nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// AuthorizeURL returns the URL a consumer is sent to to grant access (RFC 6749 section 4.1.1),
// with the manifest's scopes and the caller's state (which it must check on the way back).
func AuthorizeURL(m *abi.Manifest, c OAuthClient, redirectURI, state string) (string, error) {
	if m.Auth.Type != abi.AuthOAuth2 || m.Auth.AuthorizeURL == "" {
		return "", errors.New("broker: authorize url: the connector does not use OAuth 2.0")
	}
	if state == "" {
		return "", errors.New("broker: authorize url: state is required (CSRF protection)")
	}
	u, err := url.Parse(m.Auth.AuthorizeURL)
	if err != nil {
		return "", fmt.Errorf("broker: authorize url: %w", err)
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", c.ID)
	q.Set("redirect_uri", redirectURI)
	q.Set("state", state)
	if len(m.Auth.Scopes) > 0 {
		sep := m.Auth.ScopeSeparator
		if sep == "" {
			sep = " "
		}
		q.Set("scope", strings.Join(m.Auth.Scopes, sep))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Exchange trades an authorization code for tokens at the manifest's token URL (RFC 6749 section
// 4.1.3) and returns the secrets to store as the consumer's credential. The exchange is recorded
// in the session, redacted.
func (s *Session) Exchange(ctx context.Context, code, redirectURI string) (map[string]string, error) {
	if code == "" {
		return nil, fail(KindInvalidRequest, "empty authorization code")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	return s.b.token(ctx, s, form)
}
