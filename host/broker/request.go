package broker

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/splicehq/splice/host/internal/jsonw"
)

// Request is the document a guest passes to splice_http (pdk/ABI.md, "Outbound HTTP").
type Request struct {
	Method     string            `json:"method,omitempty"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       *string           `json:"body,omitempty"`
	BodyBase64 *string           `json:"bodyBase64,omitempty"`
	// Auth asks the host to inject the consumer's credential as the manifest's auth says.
	Auth bool `json:"auth,omitempty"`
	// AuthRefresh asks the host to refresh the OAuth 2.0 token first: the connector learnt from a
	// response (say, a 200 whose body says the token expired) that the token is no longer good.
	AuthRefresh bool `json:"authRefresh,omitempty"`
	// NoCredential makes the request use no credential: placeholders are refused and Auth is
	// ignored. The sandbox sets it for Extism's http_request.
	NoCredential bool  `json:"noCredential,omitempty"`
	TimeoutMS    int64 `json:"timeoutMs,omitempty"`
}

// Response is the document splice_http returns: a response, or an error when none came back.
type Response struct {
	Status       int               `json:"status,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	Body         *string           `json:"body,omitempty"`
	BodyBase64   *string           `json:"bodyBase64,omitempty"`
	URL          string            `json:"url,omitempty"`
	RetryAfterMS int64             `json:"retryAfterMs,omitempty"`
	Error        *ErrorBody        `json:"error,omitempty"`
}

// ErrorBody is the error of a request that got no response.
type ErrorBody struct {
	Kind         Kind   `json:"kind"`
	Message      string `json:"message"`
	RetryAfterMS int64  `json:"retryAfterMs,omitempty"`
}

// Kind classifies why a request got no response; the guest and the engine branch on it.
type Kind string

// The kinds of ErrorBody (pdk/ABI.md lists them for connector authors).
const (
	KindInvalidRequest   Kind = "invalid_request"
	KindForbiddenHost    Kind = "forbidden_host"
	KindForbiddenAddress Kind = "forbidden_address"
	KindRequestTooLarge  Kind = "request_too_large"
	KindResponseTooLarge Kind = "response_too_large"
	KindTooManyRequests  Kind = "too_many_requests"
	KindTimeout          Kind = "timeout"
	KindConnection       Kind = "connection"
	KindRedirect         Kind = "redirect"
	KindNoCredential     Kind = "no_credential"
	KindUnavailable      Kind = "unavailable"
)

// Error is a refused or failed request, as the broker reports it.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("broker: %s: %s", e.Kind, e.Message) }

func fail(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// methods are the methods a connector may send.
var methods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// forbiddenHeaders are set by the host or the transport, never by a guest: framing (request
// smuggling), hop-by-hop headers (RFC 9110 section 7.6.1), proxies, and Accept-Encoding (the
// transport negotiates compression itself so that it can cap the decompressed size).
var forbiddenHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Keep-Alive": true, "Te": true, "Trailer": true, "Upgrade": true, "Proxy-Connection": true,
	"Proxy-Authorization": true, "Proxy-Authenticate": true, "Expect": true, "Accept-Encoding": true,
	"Http2-Settings": true,
}

// maxHeaders bounds the number of request headers and maxHeaderBytes their total size.
const (
	maxHeaders     = 64
	maxHeaderBytes = 16 << 10
	maxURLBytes    = 8 << 10
)

// DecodeRequest parses and checks the syntax of a splice_http request document. What it does
// not check (hosts, addresses, credentials) is checked when the request is sent.
func DecodeRequest(b []byte, maxBody int64) (*Request, []byte, *Error) {
	r, ok := decodeRequestFast(b)
	if !ok {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, nil, fail(KindInvalidRequest, "request is not a valid document: %v", err)
		}
		if dec.More() {
			return nil, nil, fail(KindInvalidRequest, "request has data after the document")
		}
	}
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if !methods[r.Method] {
		return nil, nil, fail(KindInvalidRequest, "method %q is not allowed", truncate(r.Method, 32))
	}
	if r.URL == "" || len(r.URL) > maxURLBytes {
		return nil, nil, fail(KindInvalidRequest, "url is empty or longer than %d bytes", maxURLBytes)
	}
	if len(r.Headers) > maxHeaders {
		return nil, nil, fail(KindInvalidRequest, "%d headers, limit %d", len(r.Headers), maxHeaders)
	}
	size := 0
	for name, value := range r.Headers {
		size += len(name) + len(value)
		if !validHeaderName(name) {
			return nil, nil, fail(KindInvalidRequest, "header name %q is not a token", truncate(name, 64))
		}
		if forbiddenHeaders[http.CanonicalHeaderKey(name)] {
			return nil, nil, fail(KindInvalidRequest, "header %s is set by the host", http.CanonicalHeaderKey(name))
		}
		if !validHeaderValue(value) {
			return nil, nil, fail(KindInvalidRequest, "header %s has a control character in its value", http.CanonicalHeaderKey(name))
		}
	}
	if size > maxHeaderBytes {
		return nil, nil, fail(KindInvalidRequest, "headers of %d bytes, limit %d", size, maxHeaderBytes)
	}
	if r.TimeoutMS < 0 {
		return nil, nil, fail(KindInvalidRequest, "negative timeoutMs")
	}
	var body []byte
	switch {
	case r.Body != nil && r.BodyBase64 != nil:
		return nil, nil, fail(KindInvalidRequest, "body and bodyBase64 are exclusive")
	case r.Body != nil:
		body = []byte(*r.Body)
	case r.BodyBase64 != nil:
		var err error
		if body, err = base64.StdEncoding.DecodeString(*r.BodyBase64); err != nil {
			return nil, nil, fail(KindInvalidRequest, "bodyBase64: %v", err)
		}
	}
	if int64(len(body)) > maxBody {
		return nil, nil, fail(KindRequestTooLarge, "request body of %d bytes, limit %d", len(body), maxBody)
	}
	if len(body) > 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return nil, nil, fail(KindInvalidRequest, "%s with a body", r.Method)
	}
	return &r, body, nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// setBody fills the body fields of a response: text when it is UTF-8, base64 otherwise.
func setBody(r *Response, body []byte) {
	if len(body) == 0 {
		return
	}
	if utf8.Valid(body) {
		s := string(body)
		r.Body = &s
		return
	}
	s := base64.StdEncoding.EncodeToString(body)
	r.BodyBase64 = &s
}

// encodeResponse writes r as JSON by hand: encoding/json's reflection was the largest single cost
// the broker adds to a request (BenchmarkRequest). The output is what json.Marshal gives for r,
// header names in sorted order; TestEncodeResponse holds it to that.
func encodeResponse(r *Response) []byte {
	n := 64 + len(r.URL)
	if r.Body != nil {
		n += len(*r.Body) + len(*r.Body)/8
	}
	if r.BodyBase64 != nil {
		n += len(*r.BodyBase64)
	}
	for k, v := range r.Headers {
		n += len(k) + len(v) + 6
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	sep := func() {
		if len(b) > 1 {
			b = append(b, ',')
		}
	}
	if r.Status != 0 {
		b = append(b, `"status":`...)
		b = strconv.AppendInt(b, int64(r.Status), 10)
	}
	if len(r.Headers) > 0 {
		sep()
		b = append(b, `"headers":{`...)
		keys := make([]string, 0, len(r.Headers))
		for k := range r.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.String(b, k)
			b = append(b, ':')
			b = jsonw.String(b, r.Headers[k])
		}
		b = append(b, '}')
	}
	if r.Body != nil {
		sep()
		b = append(b, `"body":`...)
		b = jsonw.String(b, *r.Body)
	}
	if r.BodyBase64 != nil {
		sep()
		b = append(b, `"bodyBase64":`...)
		b = jsonw.String(b, *r.BodyBase64)
	}
	if r.URL != "" {
		sep()
		b = append(b, `"url":`...)
		b = jsonw.String(b, r.URL)
	}
	if r.RetryAfterMS != 0 {
		sep()
		b = append(b, `"retryAfterMs":`...)
		b = strconv.AppendInt(b, r.RetryAfterMS, 10)
	}
	if e := r.Error; e != nil {
		sep()
		b = append(b, `"error":{"kind":`...)
		b = jsonw.String(b, string(e.Kind))
		b = append(b, `,"message":`...)
		b = jsonw.String(b, e.Message)
		if e.RetryAfterMS != 0 {
			b = append(b, `,"retryAfterMs":`...)
			b = strconv.AppendInt(b, e.RetryAfterMS, 10)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}
