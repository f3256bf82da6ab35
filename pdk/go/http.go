package pdk

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/splicehq/splice/pdk/go/abi"
)

// Request is an outbound HTTP request for Fetch: the request document of
// splice_http (../ABI.md, "Outbound HTTP"). URL, header values and Body may
// contain {{credential.<field>}} placeholders, which the host replaces with
// the consumer's credential; the connector never sees the secret.
type Request struct {
	// Method is the HTTP method; empty means GET.
	Method string
	// URL is the absolute URL; its host must match one of the manifest's
	// hosts.
	URL string
	// Headers are the request headers, one value per name.
	Headers map[string]string
	// Body is the request body; nil or empty sends none.
	Body []byte
	// Auth asks the host to inject the consumer's credential as the
	// manifest's auth section says.
	Auth bool
	// Timeout caps the exchange; zero or negative means the host's default,
	// and the host never allows more than its policy. It is sent in whole
	// milliseconds, rounded up.
	Timeout time.Duration
}

// Response is what the server answered: the success document of
// splice_http. Any status, 4xx and 5xx included, is a Response, not an
// error.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Headers are the response headers under their canonical names
	// ("Content-Type"), several values of one name joined with ", ".
	Headers map[string]string
	// Body is the response body, never nil.
	Body []byte
	// URL is the final URL, after redirects.
	URL string
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// Header returns the value of the header name, matched exactly or else
// case-insensitively, or "".
func (r *Response) Header(name string) string { return Values(r.Headers).Get(name) }

// JSON decodes the body into v with encoding/json.
//
// # Errors
//
// The body is not JSON, or does not fit v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("pdk: http response %d: decode JSON body: %w", r.Status, err)
	}
	return nil
}

// The kinds of HTTPError (../ABI.md, "Outbound HTTP").
const (
	KindInvalidRequest   = "invalid_request"    // the request is malformed: URL, method, header or timeout
	KindForbiddenHost    = "forbidden_host"     // the URL's host is not in the manifest's hosts
	KindForbiddenAddress = "forbidden_address"  // the host name resolves to an address the policy forbids
	KindRequestTooLarge  = "request_too_large"  // the request is over the host's size limit
	KindResponseTooLarge = "response_too_large" // the response body is over the call's limit
	KindTooManyRequests  = "too_many_requests"  // over the call's HTTP calls or the host's rate; see RetryAfter
	KindTimeout          = "timeout"            // no complete response in time
	KindConnection       = "connection"         // DNS, TCP or TLS failed, or the connection broke
	KindRedirect         = "redirect"           // a redirect the host would not follow
	KindNoCredential     = "no_credential"      // Auth was asked for, but the call has no credential
	KindUnavailable      = "unavailable"        // the host has no HTTP broker for this call
)

// statusBodyLimit is how many bytes of a StatusError's body its message
// shows.
const statusBodyLimit = 256

// HTTPError is the failure of an exchange: nothing came back from the
// server, or the host refused the request. Kind is one of the Kind constants
// (a newer host may add others); Message is the host's text, free of secrets.
// RetryAfter, when positive, is how long the host suggests waiting before
// trying again.
type HTTPError struct {
	Kind       string
	Message    string
	RetryAfter time.Duration
}

// Error returns "splice: http <kind>: <message>".
func (e *HTTPError) Error() string { return "splice: http " + e.Kind + ": " + e.Message }

// StatusError is the error of GetJSON and PostJSON for a response that is
// not 2xx. Body is the response body.
type StatusError struct {
	Status int
	Body   []byte
}

// Error returns "splice: http status <status>", followed by the first 256
// bytes of the body, whitespace collapsed, when they are UTF-8 text.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("splice: http status %d", e.Status)
	b := e.Body
	if len(b) > statusBodyLimit {
		b = b[:statusBodyLimit]
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
			b = b[:len(b)-1] // do not cut a rune in two
		}
	}
	if !utf8.Valid(b) {
		return msg
	}
	if s := strings.Join(strings.Fields(string(b)), " "); s != "" {
		msg += ": " + s
		if len(b) < len(e.Body) {
			msg += "..."
		}
	}
	return msg
}

// Fetch sends req through the host's HTTP broker (splice_http) and returns
// the server's response, whatever its status. The host checks the URL
// against the manifest's hosts, refuses private addresses, follows redirects
// under the same rules, injects the credential when req.Auth is set, caps
// time and sizes, and records the exchange with secrets redacted.
//
// # Errors
//
// An *HTTPError when nothing came back from the server or the host refused
// the request (see the Kind constants); kind KindUnavailable when the host
// has no broker for this call, and always outside GOOS=wasip1. Any other
// error means the host's answer was not a valid response document.
func Fetch(req Request) (*Response, error) { return fetch(abi.HTTP, req) }

// sender is abi.HTTP, or a stand-in in tests.
type sender func(req []byte) ([]byte, bool)

func fetch(send sender, req Request) (*Response, error) {
	doc, err := encodeRequest(&req)
	if err != nil {
		return nil, err
	}
	res, ok := send(doc)
	if !ok {
		return nil, &HTTPError{Kind: KindUnavailable, Message: "the host has no HTTP broker for this call"}
	}
	return decodeResponse(res)
}

// GetJSON GETs url (with the consumer's credential when auth is set),
// sending Accept: application/json, and decodes the 2xx response's body into
// out. A nil out, or an empty body, skips decoding.
//
// # Errors
//
// Fetch's errors; a *StatusError when the status is not 2xx; a decode error
// when the body does not fit out.
func GetJSON(url string, auth bool, out any) error { return getJSON(abi.HTTP, url, auth, out) }

// PostJSON POSTs in, encoded as JSON, to url (with the consumer's credential
// when auth is set), sending Accept and Content-Type application/json, and
// decodes the 2xx response's body into out. A nil out, or an empty body,
// skips decoding.
//
// # Errors
//
// An error when in does not encode; otherwise those of GetJSON.
func PostJSON(url string, auth bool, in, out any) error {
	return postJSON(abi.HTTP, url, auth, in, out)
}

func getJSON(send sender, url string, auth bool, out any) error {
	req := Request{Method: "GET", URL: url, Auth: auth, Headers: map[string]string{"Accept": "application/json"}}
	return fetchJSON(send, req, out)
}

func postJSON(send sender, url string, auth bool, in, out any) error {
	body, err := marshal(in)
	if err != nil {
		return fmt.Errorf("pdk: http POST: encode JSON body: %w", err)
	}
	req := Request{Method: "POST", URL: url, Auth: auth, Body: body,
		Headers: map[string]string{"Accept": "application/json", "Content-Type": "application/json"}}
	return fetchJSON(send, req, out)
}

// fetchJSON runs req and decodes a 2xx body into out; any other status is a
// *StatusError.
func fetchJSON(send sender, req Request, out any) error {
	res, err := fetch(send, req)
	if err != nil {
		return err
	}
	if !res.OK() {
		return &StatusError{Status: res.Status, Body: res.Body}
	}
	if out == nil || len(res.Body) == 0 {
		return nil
	}
	return res.JSON(out)
}

// wireRequest is the request document of splice_http.
type wireRequest struct {
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body,omitempty"`
	BodyBase64 string            `json:"bodyBase64,omitempty"`
	Auth       bool              `json:"auth,omitempty"`
	TimeoutMs  int64             `json:"timeoutMs,omitempty"`
}

// wireResponse is the response document of splice_http: a success or an
// error.
type wireResponse struct {
	Status     *int       `json:"status"`
	Headers    Values     `json:"headers"`
	Body       *string    `json:"body"`
	BodyBase64 *string    `json:"bodyBase64"`
	URL        string     `json:"url"`
	Error      *wireError `json:"error"`
}

type wireError struct {
	Kind         string   `json:"kind"`
	Message      string   `json:"message"`
	RetryAfterMs *float64 `json:"retryAfterMs"`
}

// encodeRequest returns the request document of req: the body as text when
// it is valid UTF-8, else as standard base64.
func encodeRequest(req *Request) ([]byte, error) {
	w := wireRequest{Method: req.Method, URL: req.URL, Auth: req.Auth}
	if w.Method == "" {
		w.Method = "GET"
	}
	if len(req.Headers) > 0 {
		w.Headers = req.Headers
	}
	if len(req.Body) > 0 {
		if utf8.Valid(req.Body) {
			w.Body = string(req.Body)
		} else {
			w.BodyBase64 = base64.StdEncoding.EncodeToString(req.Body)
		}
	}
	if req.Timeout > 0 {
		w.TimeoutMs = int64(req.Timeout / time.Millisecond)
		if req.Timeout%time.Millisecond != 0 {
			w.TimeoutMs++
		}
	}
	b, err := marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("pdk: http %s: encode request: %w", w.Method, err)
	}
	return b, nil
}

// decodeResponse decodes a response document: a *Response, an *HTTPError,
// or an error saying why the document is malformed. Unknown members are
// ignored.
func decodeResponse(doc []byte) (*Response, error) {
	bad := func(err error) error { return fmt.Errorf("pdk: http: malformed response from the host: %w", err) }
	var w wireResponse
	if err := json.Unmarshal(doc, &w); err != nil {
		return nil, bad(err)
	}
	if w.Error != nil {
		if w.Error.Kind == "" {
			return nil, bad(errors.New("error without kind"))
		}
		e := &HTTPError{Kind: w.Error.Kind, Message: w.Error.Message}
		if ms := w.Error.RetryAfterMs; ms != nil && *ms > 0 {
			e.RetryAfter = time.Duration(math.Min(*ms, float64(math.MaxInt64/int64(time.Millisecond)))) * time.Millisecond
		}
		return nil, e
	}
	switch {
	case w.Status == nil:
		return nil, bad(errors.New("neither status nor error"))
	case *w.Status < 100 || *w.Status > 999:
		return nil, bad(fmt.Errorf("status %d", *w.Status))
	case w.Body != nil && w.BodyBase64 != nil:
		return nil, bad(errors.New("both body and bodyBase64"))
	}
	res := &Response{Status: *w.Status, Headers: map[string]string(w.Headers), Body: []byte{}, URL: w.URL}
	if res.Headers == nil {
		res.Headers = map[string]string{}
	}
	switch {
	case w.Body != nil:
		res.Body = []byte(*w.Body)
	case w.BodyBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*w.BodyBase64)
		if err != nil {
			return nil, bad(fmt.Errorf("bodyBase64: %w", err))
		}
		res.Body = b
	}
	return res, nil
}
