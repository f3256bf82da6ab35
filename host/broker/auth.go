package broker

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/splicehq/splice/host/abi"
)

// Credentials is where the broker reads a consumer's secrets and stores refreshed OAuth 2.0
// tokens. The credential store implements it; the broker never keeps secrets beyond a call.
type Credentials interface {
	// Secrets returns the secret fields of a consumer's credential.
	Secrets(ctx context.Context, consumer, key string) (map[string]string, error)
	// SwapSecrets replaces the secrets with next if they are still old, and reports whether it
	// did (false: another writer changed them first).
	SwapSecrets(ctx context.Context, consumer, key string, old, next map[string]string) (bool, error)
}

// placeholder is {{credential.<field>}} in a URL, a header value, a body or an auth format.
var placeholder = regexp.MustCompile(`\{\{\s*credential\.([A-Za-z0-9_.-]+)\s*\}\}`)

// injection is what a request carries of the credential: the secrets, and how the manifest says
// to inject them.
type injection struct {
	auth    abi.Auth
	secrets map[string]string
	inject  bool // the request asked for auth: true
	oauth   bool
	retried bool // the request was already retried after a 401
}

// injection loads the secrets a request needs (for auth: true or for placeholders), refreshing
// an OAuth 2.0 token that has expired, is about to, or that the guest says is bad.
func (s *Session) injection(ctx context.Context, req *Request) (*injection, error) {
	if req.NoCredential {
		if hasPlaceholder(req) {
			return nil, fail(KindNoCredential, "credential placeholders in a request that uses no credential")
		}
		return nil, nil
	}
	wants := req.Auth || req.AuthRefresh || hasPlaceholder(req)
	if !wants {
		return nil, nil
	}
	m := s.o.Manifest
	if m == nil || s.o.Credential == "" || s.b.opts.Credentials == nil {
		return nil, fail(KindNoCredential, "the request needs a credential and the call has none")
	}
	secrets, err := s.loadSecrets(ctx)
	if err != nil {
		return nil, err
	}
	inj := &injection{auth: m.Auth, secrets: secrets, inject: req.Auth, oauth: m.Auth.Type == abi.AuthOAuth2}
	if inj.oauth && (req.Auth || req.AuthRefresh) {
		force := false
		if req.AuthRefresh {
			s.mu.Lock()
			force, s.refreshed = !s.refreshed, true
			s.mu.Unlock()
		}
		if force || s.b.expiring(secrets) {
			return s.refreshInjection(ctx, inj)
		}
	}
	return inj, nil
}

// refreshInjection refreshes the token inj carries and returns inj with the new secrets.
func (s *Session) refreshInjection(ctx context.Context, inj *injection) (*injection, error) {
	next, err := s.b.refresh(ctx, s, inj.secrets)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.secrets = next
	s.redact.add(next)
	s.mu.Unlock()
	cp := *inj
	cp.secrets = next
	return &cp, nil
}

func (s *Session) loadSecrets(ctx context.Context) (map[string]string, error) {
	s.mu.Lock()
	cached := s.secrets
	s.mu.Unlock()
	if cached != nil {
		return cached, nil
	}
	secrets, err := s.b.opts.Credentials.Secrets(ctx, s.o.Consumer, s.o.Credential)
	if err != nil {
		return nil, fail(KindNoCredential, "credential %s of the consumer cannot be read", s.o.Credential)
	}
	s.mu.Lock()
	s.secrets = secrets
	s.redact.add(secrets)
	s.mu.Unlock()
	return secrets, nil
}

func hasPlaceholder(r *Request) bool {
	if placeholder.MatchString(r.URL) {
		return true
	}
	for _, v := range r.Headers {
		if placeholder.MatchString(v) {
			return true
		}
	}
	return (r.Body != nil && placeholder.MatchString(*r.Body))
}

// expand substitutes placeholders in the URL (query-escaped), the headers and a text body.
func (s *Session) expand(req *Request, body []byte, inj *injection) (string, map[string]string, []byte, error) {
	headers := make(map[string]string, len(req.Headers))
	for k, v := range req.Headers {
		headers[http.CanonicalHeaderKey(k)] = v
	}
	if inj == nil {
		return req.URL, headers, body, nil
	}
	var missing string
	sub := func(s string, escape func(string) string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			field := placeholder.FindStringSubmatch(m)[1]
			v, ok := inj.secrets[field]
			if !ok {
				missing = field
				return ""
			}
			return escape(v)
		})
	}
	same := func(s string) string { return s }
	rawURL := sub(req.URL, url.QueryEscape)
	for k, v := range headers {
		headers[k] = sub(v, same)
	}
	if req.Body != nil && placeholder.Match(body) {
		body = []byte(sub(string(body), same))
	}
	if missing != "" {
		return "", nil, nil, fail(KindNoCredential, "the credential has no field %q", missing)
	}
	return rawURL, headers, body, nil
}

// apply injects the credential into r as the manifest's auth says, if the request asked for it,
// and reports whether it did.
func (inj *injection) apply(r *http.Request) bool {
	if inj == nil || !inj.inject {
		return false
	}
	a := inj.auth
	format := func(def string) string {
		f := a.Format
		if f == "" {
			f = def
		}
		return placeholder.ReplaceAllStringFunc(f, func(m string) string {
			return inj.secrets[placeholder.FindStringSubmatch(m)[1]]
		})
	}
	switch a.Type {
	case abi.AuthBasic:
		r.SetBasicAuth(inj.secrets["username"], inj.secrets["password"])
	case abi.AuthOAuth2:
		r.Header.Set("Authorization", format("Bearer {{credential.access_token}}"))
	case abi.AuthAPIKey, abi.AuthCustom:
		if a.Name == "" {
			return false
		}
		v := format("{{credential.apiKey}}")
		if a.In == "query" {
			q := r.URL.Query()
			q.Set(a.Name, v)
			r.URL.RawQuery = q.Encode()
		} else {
			r.Header.Set(a.Name, v)
		}
	default:
		return false
	}
	return true
}

// injectedHeader reports whether the credential went into header name.
func (inj *injection) injectedHeader(name string) bool {
	if inj == nil || !inj.inject {
		return false
	}
	switch inj.auth.Type {
	case abi.AuthBasic, abi.AuthOAuth2:
		return name == "Authorization"
	case abi.AuthAPIKey, abi.AuthCustom:
		return inj.auth.In != "query" && http.CanonicalHeaderKey(inj.auth.Name) == name
	}
	return false
}

// alwaysRedacted are headers whose values never reach a record.
var alwaysRedacted = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true}

const redacted = "[redacted]"

// recordHeaders copies headers for a record: injected and sensitive ones redacted, secrets masked.
func (s *Session) recordHeaders(h http.Header, inj *injection) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if alwaysRedacted[k] || inj.injectedHeader(k) {
			out[k] = redacted
			continue
		}
		out[k] = s.redact.string(strings.Join(vs, ", "))
	}
	return out
}

// recordBody returns the part of body a record keeps (secrets masked), its encoding and whether
// it was cut.
func (s *Session) recordBody(body []byte) (string, string, bool) {
	if len(body) == 0 {
		return "", "", false
	}
	body = s.redact.bytes(body)
	cut := len(body) > s.b.opts.MaxRecordedBody
	if cut {
		body = body[:s.b.opts.MaxRecordedBody]
	}
	if utf8.Valid(body) || cut && utf8.Valid(trimPartialRune(body)) {
		return string(trimPartialRune(body)), "", cut
	}
	return base64.StdEncoding.EncodeToString(body), "base64", cut
}

func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if r, size := utf8.DecodeLastRune(b); r != utf8.RuneError || size != 1 {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}

// minRedacted is the shortest secret value masked wherever it appears: masking shorter values
// would garble records without protecting anything worth protecting.
const minRedacted = 4

// redactor masks a call's secret values, and their common encodings, wherever they appear.
type redactor struct {
	mu      sync.Mutex
	needles []string // longest first
}

func (r *redactor) add(secrets map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, n := range r.needles {
		seen[n] = true
	}
	addOne := func(v string) {
		if len(v) >= minRedacted && !seen[v] {
			seen[v] = true
			r.needles = append(r.needles, v)
		}
	}
	for _, v := range secrets {
		addOne(v)
		addOne(url.QueryEscape(v))
		addOne(base64.StdEncoding.EncodeToString([]byte(v)))
	}
	if u, p := secrets["username"], secrets["password"]; p != "" {
		addOne(base64.StdEncoding.EncodeToString([]byte(u + ":" + p)))
	}
	sort.Slice(r.needles, func(i, j int) bool { return len(r.needles[i]) > len(r.needles[j]) })
}

func (r *redactor) string(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.needles {
		if strings.Contains(s, n) {
			s = strings.ReplaceAll(s, n, redacted)
		}
	}
	return s
}

func (r *redactor) bytes(b []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.needles {
		if bytes.Contains(b, []byte(n)) {
			b = bytes.ReplaceAll(b, []byte(n), []byte(redacted))
		}
	}
	return b
}
