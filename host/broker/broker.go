package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/broker/netguard"
)

// Defaults of Options.
const (
	DefaultTimeout            = 30 * time.Second
	DefaultMaxRequestBytes    = 1 << 20
	DefaultMaxResponseBytes   = 8 << 20
	DefaultMaxRequestsPerCall = 50
	DefaultMaxConcurrent      = 8
	DefaultMaxRedirects       = 5
	DefaultMaxRecordedBody    = 16 << 10
)

// Options configures a Broker; the zero value of every field but Env means its default.
type Options struct {
	// Env is the environment's name. Loopback is never allowed in "production".
	Env string `json:"env"`
	// AllowHTTP allows the http scheme besides https.
	AllowHTTP bool `json:"allowHttp"`
	// AllowLoopback allows 127.0.0.0/8 and ::1, for tests against local fakes. Refused for the
	// production environment.
	AllowLoopback bool `json:"allowLoopback"`
	// Ports are the destination ports allowed; empty means 443, and 80 when AllowHTTP.
	Ports []int `json:"ports"`
	// AnyPort allows every port (tests against local fakes listen on random ports).
	AnyPort bool `json:"anyPort"`
	// Timeout is a request's timeout when the guest sets none (a guest's own is capped by it);
	// the call's deadline caps both.
	Timeout time.Duration `json:"timeout"`
	// MaxRequestBytes caps a request body.
	MaxRequestBytes int64 `json:"maxRequestBytes"`
	// MaxResponseBytes caps a response body after decompression.
	MaxResponseBytes int64 `json:"maxResponseBytes"`
	// MaxRequestsPerCall caps the requests of one guest call (redirects and retries included).
	MaxRequestsPerCall int `json:"maxRequestsPerCall"`
	// MaxConcurrent caps the requests in flight for one consumer across all calls.
	MaxConcurrent int `json:"maxConcurrent"`
	// MaxRedirects caps the redirects followed for one request.
	MaxRedirects int `json:"maxRedirects"`
	// MaxRecordedBody caps each body kept in an exchange record.
	MaxRecordedBody int `json:"maxRecordedBody"`
	// TLS, when set, is the client TLS configuration (tests trust their own CA with it).
	TLS *tls.Config `json:"-"`
	// Resolver resolves host names; nil means the system resolver.
	Resolver netguard.Resolver `json:"-"`
	// Credentials supplies consumers' secrets and stores refreshed tokens; nil means no request
	// may use a credential.
	Credentials Credentials `json:"-"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// Broker sends connectors' HTTP requests under the environment's rules. It is safe for concurrent
// use; each guest call gets its own Session.
type Broker struct {
	opts      Options
	policy    netguard.Policy
	client    *http.Client
	transport *http.Transport

	mu    sync.Mutex
	slots map[string]chan struct{} // consumer → its concurrency slots

	flights flights // OAuth 2.0 refreshes in progress
}

// New returns a Broker.
//
// # Errors
//
// New refuses negative limits and AllowLoopback for the production environment.
func New(opts Options) (*Broker, error) {
	if opts.AllowLoopback && opts.Env == "production" {
		return nil, errors.New("broker: loopback egress is never allowed in production")
	}
	if opts.Timeout < 0 || opts.MaxRequestBytes < 0 || opts.MaxResponseBytes < 0 || opts.MaxRequestsPerCall < 0 ||
		opts.MaxConcurrent < 0 || opts.MaxRedirects < 0 || opts.MaxRecordedBody < 0 {
		return nil, errors.New("broker: options: negative limit")
	}
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	def(&opts.MaxRequestBytes, DefaultMaxRequestBytes)
	def(&opts.MaxResponseBytes, DefaultMaxResponseBytes)
	defi(&opts.MaxRequestsPerCall, DefaultMaxRequestsPerCall)
	defi(&opts.MaxConcurrent, DefaultMaxConcurrent)
	defi(&opts.MaxRedirects, DefaultMaxRedirects)
	defi(&opts.MaxRecordedBody, DefaultMaxRecordedBody)
	if len(opts.Ports) == 0 {
		opts.Ports = []int{443}
		if opts.AllowHTTP {
			opts.Ports = append(opts.Ports, 80)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Broker{opts: opts, policy: netguard.Policy{AllowLoopback: opts.AllowLoopback}, slots: map[string]chan struct{}{}}
	dialer := &netguard.Dialer{Policy: b.policy, Resolver: opts.Resolver}
	b.transport = &http.Transport{
		Proxy:                  nil, // never a proxy from the environment: it would bypass the address checks
		DialContext:            dialer.DialContext,
		TLSClientConfig:        opts.TLS,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	b.client = &http.Client{
		Transport: b.transport,
		// Redirects are followed by Session.send, hop by hop, under the same rules.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return b, nil
}

// Close releases idle connections.
func (b *Broker) Close() { b.transport.CloseIdleConnections() }

// acquire takes one of consumer's concurrency slots, waiting until ctx ends.
func (b *Broker) acquire(ctx context.Context, consumer string) (func(), error) {
	b.mu.Lock()
	ch := b.slots[consumer]
	if ch == nil {
		ch = make(chan struct{}, b.opts.MaxConcurrent)
		b.slots[consumer] = ch
	}
	b.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// SessionOptions says whose call a Session serves.
type SessionOptions struct {
	// Consumer is the tenant the call runs for.
	Consumer string
	// Manifest is the connector's: its hosts and its auth.
	Manifest *abi.Manifest
	// Credential is the consumer's credential key for this call ("" for none).
	Credential string
	// OAuthClient is the environment's OAuth 2.0 client registration for the connector's app.
	OAuthClient OAuthClient
}

// Session is one guest call's use of the broker: it counts the call's requests, keeps its
// credential's secrets out of everything the guest and the records see, and records every
// exchange. It is safe for concurrent use, though a guest call makes one request at a time.
type Session struct {
	b *Broker
	o SessionOptions

	mu         sync.Mutex
	requests   int
	exchanges  []Exchange
	retryAfter time.Duration
	secrets    map[string]string // loaded on first use
	fields     map[string]string // the credential's non-secret fields, loaded on first use
	refreshed  bool              // the guest-requested refresh was spent
	redact     *redactor
}

// Session returns a Session for one guest call.
func (b *Broker) Session(o SessionOptions) *Session {
	return &Session{b: b, o: o, redact: &redactor{}}
}

// Exchanges returns the exchanges recorded so far, secrets redacted.
func (s *Session) Exchanges() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.exchanges)
}

// RetryAfter returns the longest wait an upstream asked for with a 429 or 503 and Retry-After
// during the call (0 when none did): the engine retries the step no sooner.
func (s *Session) RetryAfter() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retryAfter
}

// Do serves one splice_http request document and returns the response document. It never fails:
// a refusal or a failure is a response with an error.
func (s *Session) Do(ctx context.Context, doc []byte) []byte {
	resp, err := s.do(ctx, doc)
	if err != nil {
		var be *Error
		if !errors.As(err, &be) {
			be = fail(KindConnection, "%v", err)
		}
		be.Message = s.redact.string(be.Message)
		return encodeResponse(&Response{Error: &ErrorBody{Kind: be.Kind, Message: be.Message}})
	}
	return encodeResponse(resp)
}

func (s *Session) do(ctx context.Context, doc []byte) (*Response, error) {
	req, body, e := DecodeRequest(doc, s.b.opts.MaxRequestBytes)
	if e != nil {
		return nil, e
	}
	if err := s.count(); err != nil {
		return nil, err
	}
	release, err := s.b.acquire(ctx, s.o.Consumer)
	if err != nil {
		return nil, fail(KindTimeout, "waiting for one of the consumer's %d request slots: %v", s.b.opts.MaxConcurrent, err)
	}
	defer release()

	timeout := s.b.opts.Timeout
	if req.TimeoutMS > 0 {
		timeout = min(timeout, time.Duration(req.TimeoutMS)*time.Millisecond)
	}
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > timeout {
		// The call's deadline (the sandbox's) usually comes first and then serves as it is.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}

	inj, err := s.injection(ctx, req)
	if err != nil {
		return nil, err
	}
	resp, err := s.send(ctx, req, body, inj)
	if err != nil {
		return nil, err
	}
	if resp.Status == http.StatusUnauthorized && inj != nil && inj.oauth && !inj.retried {
		// The token may have been revoked or have expired early: refresh once and try again.
		if inj, err = s.refreshInjection(ctx, inj); err != nil {
			return nil, err
		}
		inj.retried = true
		if err := s.count(); err != nil {
			return nil, err
		}
		return s.send(ctx, req, body, inj)
	}
	return resp, nil
}

// count spends one of the call's requests.
func (s *Session) count() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests >= s.b.opts.MaxRequestsPerCall {
		return fail(KindTooManyRequests, "the call made %d requests, its limit", s.b.opts.MaxRequestsPerCall)
	}
	s.requests++
	return nil
}

// target checks a URL against the environment's rules and the manifest's hosts.
func (s *Session) target(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fail(KindInvalidRequest, "url: %v", err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.b.opts.AllowHTTP:
	default:
		return nil, fail(KindInvalidRequest, "url scheme %q is not allowed (https%s)", u.Scheme, map[bool]string{true: " or http", false: " only"}[s.b.opts.AllowHTTP])
	}
	if u.User != nil {
		return nil, fail(KindInvalidRequest, "url carries user information; use the credential instead")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fail(KindInvalidRequest, "url has no host")
	}
	hostname := strings.ToLower(u.Hostname())
	addr, literal, err := netguard.CheckHost(hostname)
	if err != nil {
		return nil, fail(KindForbiddenAddress, "%v", err)
	}
	if literal {
		if err := s.b.policy.CheckAddr(addr); err != nil {
			return nil, fail(KindForbiddenAddress, "%v", err)
		}
	}
	host := strings.TrimSuffix(hostname, ".") // "example.com." names example.com
	if !hostAllowed(s.o.Manifest, host) {
		return nil, fail(KindForbiddenHost, "host %s is not among the connector's hosts", host)
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fail(KindInvalidRequest, "url port %q", p)
		}
		port = n
	}
	if !s.b.opts.AnyPort && !slices.Contains(s.b.opts.Ports, port) {
		return nil, fail(KindForbiddenAddress, "port %d is not allowed", port)
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// hostAllowed matches host against the manifest's hosts: exact names and addresses, and
// "*.example.com" for any subdomain of example.com (not example.com itself).
func hostAllowed(m *abi.Manifest, host string) bool {
	if m == nil {
		return false
	}
	for _, h := range m.Hosts {
		if h == host {
			return true
		}
		if suffix, ok := strings.CutPrefix(h, "*"); ok && strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
			return true
		}
	}
	return false
}

// send sends the request and follows redirects, each hop checked like the first.
func (s *Session) send(ctx context.Context, req *Request, body []byte, inj *injection) (*Response, error) {
	rawURL, headers, body, err := s.expand(req, body, inj)
	if err != nil {
		return nil, err
	}
	method := req.Method
	for hop := 0; ; hop++ {
		u, err := s.target(rawURL)
		if err != nil {
			if hop > 0 {
				err.(*Error).Kind = KindRedirect
				err.(*Error).Message = "redirect refused: " + err.(*Error).Message
			}
			s.record(Exchange{Method: method, URL: s.redact.string(rawURL), Redirect: hop, StartedAt: s.b.opts.Now(), Error: errorBody(err)})
			return nil, err
		}
		// The URL is the one target parsed and checked, not a string parsed again.
		hr, err := http.NewRequestWithContext(ctx, method, "", bytes.NewReader(body))
		if err != nil {
			return nil, fail(KindInvalidRequest, "%v", err)
		}
		hr.URL, hr.Host = u, u.Host
		if len(body) == 0 {
			hr.Body = http.NoBody
		}
		for k, v := range headers {
			hr.Header.Set(k, v)
		}
		if hr.Header.Get("User-Agent") == "" {
			hr.Header.Set("User-Agent", "splice")
		}
		injected := inj.apply(hr)
		start := time.Now()
		ex := Exchange{Method: method, URL: s.redact.string(hr.URL.String()), Redirect: hop, StartedAt: s.b.opts.Now(), Injected: injected,
			RequestHeaders: s.recordHeaders(hr.Header, inj), RequestBodyBytes: len(body)}
		ex.RequestBody, ex.RequestBodyEncoding, ex.Truncated = s.recordBody(body)
		hresp, err := s.b.client.Do(hr)
		if err != nil {
			e := classify(ctx, err)
			ex.DurationMS = ms(time.Since(start))
			ex.Error = errorBody(e)
			s.record(ex)
			return nil, e
		}
		data, readErr := readCapped(hresp.Body, s.b.opts.MaxResponseBytes)
		hresp.Body.Close()
		ex.DurationMS = ms(time.Since(start))
		ex.Status = hresp.StatusCode
		ex.ResponseHeaders = s.recordHeaders(hresp.Header, nil)
		ex.ResponseBodyBytes = int64(len(data))
		var trunc bool
		ex.ResponseBody, ex.ResponseBodyEncoding, trunc = s.recordBody(data)
		ex.Truncated = ex.Truncated || trunc
		if readErr != nil {
			e := readErr
			if !errors.As(readErr, new(*Error)) {
				e = classify(ctx, readErr)
			}
			ex.Error = errorBody(e)
			s.record(ex)
			return nil, e
		}
		retryAfter := s.noteRetryAfter(hresp)
		s.record(ex)

		if loc := hresp.Header.Get("Location"); isRedirect(hresp.StatusCode) && loc != "" {
			if hop >= s.b.opts.MaxRedirects {
				return nil, fail(KindRedirect, "more than %d redirects", s.b.opts.MaxRedirects)
			}
			next, err := u.Parse(loc)
			if err != nil {
				return nil, fail(KindRedirect, "redirect to an invalid location: %v", err)
			}
			if err := s.count(); err != nil {
				return nil, err
			}
			// RFC 9110 section 15.4: 303 (and, as browsers do, 301 and 302 after a POST) continue
			// with GET and no body; 307 and 308 repeat the request.
			if hresp.StatusCode == http.StatusSeeOther || ((hresp.StatusCode == 301 || hresp.StatusCode == 302) && method == http.MethodPost) {
				if method != http.MethodHead {
					method = http.MethodGet
				}
				body = nil
				delete(headers, "Content-Type")
			}
			rawURL = next.String()
			continue
		}
		r := &Response{Status: hresp.StatusCode, Headers: s.guestHeaders(hresp.Header), URL: s.redact.string(hr.URL.String())}
		if retryAfter > 0 {
			r.RetryAfterMS = retryAfter.Milliseconds()
		}
		setBody(r, s.redact.bytes(data))
		return r, nil
	}
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// readCapped reads r up to max bytes; more is a response_too_large error.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return data, err
	}
	if int64(len(data)) > max {
		return data[:max], fail(KindResponseTooLarge, "response body larger than %d bytes (after decompression)", max)
	}
	return data, nil
}

// classify turns a transport error into an Error.
func classify(ctx context.Context, err error) *Error {
	var ae *netguard.AddrError
	switch {
	case errors.As(err, &ae), errors.Is(err, netguard.ErrForbiddenAddress), errors.Is(err, netguard.ErrHostLiteral):
		return fail(KindForbiddenAddress, "%v", unwrapURL(err))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fail(KindTimeout, "%v", unwrapURL(err))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fail(KindTimeout, "%v", unwrapURL(err))
	}
	return fail(KindConnection, "%v", unwrapURL(err))
}

// unwrapURL drops net/http's *url.Error wrapper, which repeats the URL (and could hold a secret
// placed in a query parameter).
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// noteRetryAfter records the Retry-After of a 429 or 503 and returns it.
func (s *Session) noteRetryAfter(r *http.Response) time.Duration {
	if r.StatusCode != http.StatusTooManyRequests && r.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	d := parseRetryAfter(r.Header.Get("Retry-After"), s.b.opts.Now())
	if d <= 0 {
		return 0
	}
	s.mu.Lock()
	s.retryAfter = max(s.retryAfter, d)
	s.mu.Unlock()
	return d
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 section 10.2.3).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(7*24*3600))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// guestHeaders flattens response headers for the guest, secrets redacted.
func (s *Session) guestHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = s.redact.string(strings.Join(vs, ", "))
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s *Session) record(ex Exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exchanges = append(s.exchanges, ex)
}

func errorBody(err error) *ErrorBody {
	var e *Error
	if errors.As(err, &e) {
		return &ErrorBody{Kind: e.Kind, Message: e.Message}
	}
	return &ErrorBody{Kind: KindConnection, Message: err.Error()}
}
