package broker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
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

// FieldReader is what Credentials may also offer: the credential's non-secret fields (such as
// a base URL), which placeholders read too. They are not masked in exchange records.
type FieldReader interface {
	Fields(ctx context.Context, consumer, key string) (map[string]string, error)
}

// A placeholder is {{credential.<field>}} in a URL, a header value, a body or an auth format:
// the regular expression \{\{\s*credential\.([A-Za-z0-9_.-]+)\s*\}\}, which FuzzPlaceholders
// holds this scanner to (a scanner, because a request without "{{" then costs one search).

// nextPlaceholder finds the first placeholder in s at or after from: its start, its end and its
// field, or start -1.
func nextPlaceholder(s string, from int) (start, end int, field string) {
	for {
		i := strings.Index(s[from:], "{{")
		if i < 0 {
			return -1, 0, ""
		}
		start = from + i
		j := start + 2
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		if rest, ok := strings.CutPrefix(s[j:], "credential."); ok {
			k := 0
			for k < len(rest) && isFieldByte(rest[k]) {
				k++
			}
			if k > 0 {
				e := j + len("credential.") + k
				for e < len(s) && isSpace(s[e]) {
					e++
				}
				if strings.HasPrefix(s[e:], "}}") {
					return start, e + 2, rest[:k]
				}
			}
		}
		from = start + 1
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' } // RE2's \s

func isFieldByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func containsPlaceholder(s string) bool {
	start, _, _ := nextPlaceholder(s, 0)
	return start >= 0
}

// expandPlaceholders replaces every placeholder of s with escape(value of its field); a field
// value does not have is reported in missing (and replaced by nothing).
func expandPlaceholders(s string, values map[string]string, escape func(string) string) (out, missing string) {
	start, end, field := nextPlaceholder(s, 0)
	if start < 0 {
		return s, ""
	}
	var b strings.Builder
	last := 0
	for start >= 0 {
		b.WriteString(s[last:start])
		if v, ok := values[field]; ok {
			b.WriteString(escape(v))
		} else {
			missing = field
		}
		last = end
		start, end, field = nextPlaceholder(s, end)
	}
	b.WriteString(s[last:])
	return b.String(), missing
}

// injection is what a request carries of the credential: the secrets, and how the manifest says
// to inject them.
type injection struct {
	auth    abi.Auth
	secrets map[string]string
	fields  map[string]string // the non-secret fields, for placeholders
	inject  bool              // the request asked for auth: true
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
	if hasPlaceholder(req) {
		if inj.fields, err = s.loadFields(ctx); err != nil {
			return nil, err
		}
	}
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

// loadFields returns the credential's non-secret fields, when the credentials offer them.
func (s *Session) loadFields(ctx context.Context) (map[string]string, error) {
	fr, ok := s.b.opts.Credentials.(FieldReader)
	if !ok {
		return nil, nil
	}
	s.mu.Lock()
	cached := s.fields
	s.mu.Unlock()
	if cached != nil {
		return cached, nil
	}
	fields, err := fr.Fields(ctx, s.o.Consumer, s.o.Credential)
	if err != nil {
		return nil, fail(KindNoCredential, "credential %s of the consumer cannot be read", s.o.Credential)
	}
	if fields == nil {
		fields = map[string]string{}
	}
	s.mu.Lock()
	s.fields = fields
	s.mu.Unlock()
	return fields, nil
}

func hasPlaceholder(r *Request) bool {
	if containsPlaceholder(r.URL) {
		return true
	}
	for _, v := range r.Headers {
		if containsPlaceholder(v) {
			return true
		}
	}
	return r.Body != nil && containsPlaceholder(*r.Body)
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
	values := inj.secrets
	if len(inj.fields) > 0 {
		values = make(map[string]string, len(inj.secrets)+len(inj.fields))
		for k, v := range inj.fields {
			values[k] = v
		}
		for k, v := range inj.secrets { // a secret wins over a field of the same name
			values[k] = v
		}
	}
	sub := func(s string, escape func(string) string) string {
		out, m := expandPlaceholders(s, values, escape)
		if m != "" {
			missing = m
		}
		return out
	}
	same := func(s string) string { return s }
	rawURL := sub(baseURL(req.URL, inj), url.QueryEscape)
	for k, v := range headers {
		headers[k] = sub(v, same)
	}
	if req.Body != nil && containsPlaceholder(*req.Body) {
		body = []byte(sub(string(body), bodyEscape(headers["Content-Type"])))
	}
	if missing != "" {
		return "", nil, nil, fail(KindNoCredential, "the credential has no field %q", missing)
	}
	return rawURL, headers, body, nil
}

// baseURL writes a non-secret field that opens the URL ({{credential.baseUrl}}/api/...) as is,
// when it is an absolute http(s) URL with no user, query or fragment: the base URL of the
// consumer's account. Every other placeholder of a URL is query-escaped. The URL that results is
// checked like any other (scheme, allowlist, addresses).
func baseURL(raw string, inj *injection) string {
	start, end, field := nextPlaceholder(raw, 0)
	if start != 0 {
		return raw
	}
	v, ok := inj.fields[field]
	if _, secret := inj.secrets[field]; !ok || secret {
		return raw
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		strings.ContainsAny(v, "{}") {
		return raw
	}
	return strings.TrimRight(v, "/") + raw[end:]
}

// bodyEscape returns how a secret is written into a body of the given media type, so that a
// password holding a quote cannot break (or inject into) the document the connector wrote: JSON
// string escaping for JSON, query escaping for forms, as is otherwise.
func bodyEscape(contentType string) func(string) string {
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "json"):
		return func(v string) string {
			b, _ := json.Marshal(v)
			return string(b[1 : len(b)-1])
		}
	case strings.Contains(ct, "x-www-form-urlencoded"):
		return url.QueryEscape
	}
	return func(v string) string { return v }
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
		out, _ := expandPlaceholders(f, inj.secrets, func(v string) string { return v })
		return out
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

// redactor masks a call's secret values, and their common encodings (URL-escaped, base64, JSON
// string, the Basic pair), wherever they appear.
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
		if j, err := json.Marshal(v); err == nil {
			addOne(string(j[1 : len(j)-1])) // as written into a JSON body
		}
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
