// Command go-http-probe is the test guest "http-probe" of the host's HTTP
// broker: three actions that drive the Go PDK's Fetch (splice_http,
// pdk/ABI.md "Outbound HTTP") and report, as their output, whatever came
// back, including an *HTTPError's kind, so that host tests can inspect it.
//
//   - fetch: one request as given; outputs the response, or {"error": ...}.
//   - fetch-many: count sequential GETs of url; outputs each status or error
//     kind (for the per-call request cap).
//   - echo-secret-attempt: a GET with auth; outputs what it sent and what it
//     got back, so a test can check that no secret reaches the guest.
//
// Its manifest declares an apiKey credential injected as the X-Api-Key
// header, and the hosts 127.0.0.1, localhost, api.example.com and
// *.example.org. Built by `make .build/wasm/http-probe.wasm`:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o http-probe.wasm .
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	pdk "github.com/splicehq/splice/pdk/go"
	"github.com/splicehq/splice/pdk/go/abi"
)

// connector is the declaration the module serves; tests call it natively.
var connector = pdk.Connector{
	AppKey:      "http-probe",
	Name:        "HTTP probe",
	Version:     "1.0.0",
	Description: "Test guest: makes outbound HTTP calls through the host's broker and reports what came back.",
	Auth: pdk.Auth{
		Type:   pdk.AuthAPIKey,
		In:     "header",
		Name:   "X-Api-Key",
		Format: "{{credential.apiKey}}",
		Fields: []pdk.AuthField{{Key: "apiKey", Label: "API key", Secret: true}},
	},
	Hosts: []string{"127.0.0.1", "localhost", "api.example.com", "*.example.org"},
	Actions: []pdk.Action{
		{
			Key:          "fetch",
			Name:         "Fetch",
			Description:  "Sends one request and outputs the response, or the broker's error as {\"error\": ...}.",
			InputSchema:  fetchInputSchema,
			OutputSchema: resultSchema,
			Handler:      pdk.Handle(fetch),
		},
		{
			Key:          "fetch-many",
			Name:         "Fetch many",
			Description:  "GETs url count times in sequence and outputs each status, or each error kind.",
			InputSchema:  fetchManyInputSchema,
			OutputSchema: fetchManyOutputSchema,
			Handler:      pdk.Handle(fetchMany),
		},
		{
			Key:          "fetch-extism",
			Name:         "Fetch with Extism's http_request",
			Description:  "Sends one request with Extism's own http_request and outputs status, headers and body.",
			InputSchema:  fetchExtismInputSchema,
			OutputSchema: fetchExtismOutputSchema,
			Handler:      pdk.Handle(fetchExtism),
		},
		{
			Key:          "echo-secret-attempt",
			Name:         "Echo secret attempt",
			Description:  "GETs url with the credential injected and outputs what it sent and everything it got back.",
			InputSchema:  echoSecretInputSchema,
			OutputSchema: echoSecretOutputSchema,
			Handler:      pdk.Handle(echoSecretAttempt),
		},
	},
}

func init() { pdk.Register(connector) }

func main() {}

type fetchIn struct {
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	BodyBase64 string            `json:"bodyBase64"`
	Auth       bool              `json:"auth"`
	TimeoutMs  int64             `json:"timeoutMs"`
}

// result is a response, or the broker's error.
type result struct {
	Status     int               `json:"status,omitzero"`
	Headers    map[string]string `json:"headers,omitzero"`
	Body       *string           `json:"body,omitempty"`
	BodyBase64 string            `json:"bodyBase64,omitempty"`
	URL        string            `json:"url,omitempty"`
	Error      *resultError      `json:"error,omitempty"`
}

type resultError struct {
	Kind         string `json:"kind"`
	Message      string `json:"message"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
}

func fetch(ctx *pdk.Context, in fetchIn) (result, error) {
	req := pdk.Request{Method: in.Method, URL: in.URL, Headers: in.Headers, Body: []byte(in.Body), Auth: in.Auth,
		Timeout: time.Duration(in.TimeoutMs) * time.Millisecond}
	if in.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(in.BodyBase64)
		if err != nil {
			return result{}, errors.New("http-probe: fetch: bodyBase64: " + err.Error())
		}
		req.Body = b
	}
	return toResult(pdk.Fetch(req))
}

// toResult turns Fetch's answer into the output: a response, {"error"} for an
// *HTTPError, or the call's error for anything else.
func toResult(res *pdk.Response, err error) (result, error) {
	var he *pdk.HTTPError
	if errors.As(err, &he) {
		return result{Error: &resultError{Kind: he.Kind, Message: he.Message, RetryAfterMs: he.RetryAfter.Milliseconds()}}, nil
	}
	if err != nil {
		return result{}, err
	}
	r := result{Status: res.Status, Headers: res.Headers, URL: res.URL}
	if utf8.Valid(res.Body) {
		s := string(res.Body)
		r.Body = &s
	} else {
		r.BodyBase64 = base64.StdEncoding.EncodeToString(res.Body)
	}
	return r, nil
}

type fetchManyIn struct {
	URL   string `json:"url"`
	Count int    `json:"count"`
}

type fetchManyOut struct {
	Statuses []int    `json:"statuses"`
	Errors   []string `json:"errors"`
}

func fetchMany(ctx *pdk.Context, in fetchManyIn) (fetchManyOut, error) {
	out := fetchManyOut{Statuses: []int{}, Errors: []string{}}
	for range in.Count {
		res, err := pdk.Fetch(pdk.Request{URL: in.URL})
		var he *pdk.HTTPError
		switch {
		case errors.As(err, &he):
			out.Errors = append(out.Errors, he.Kind)
		case err != nil:
			return fetchManyOut{}, err
		default:
			out.Statuses = append(out.Statuses, res.Status)
		}
	}
	return out, nil
}

type echoSecretIn struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// sent is the request as the guest made it: placeholders, never secrets.
type sent struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Auth    bool              `json:"auth"`
}

type echoSecretOut struct {
	Sent     sent   `json:"sent"`
	Received result `json:"received"`
}

func echoSecretAttempt(ctx *pdk.Context, in echoSecretIn) (echoSecretOut, error) {
	req := pdk.Request{Method: "GET", URL: in.URL, Headers: in.Headers, Auth: true}
	out := echoSecretOut{Sent: sent{Method: req.Method, URL: req.URL, Headers: req.Headers, Auth: true}}
	if out.Sent.Headers == nil {
		out.Sent.Headers = map[string]string{}
	}
	var err error
	out.Received, err = toResult(pdk.Fetch(req))
	return out, err
}

const fetchInputSchema = `{
  "type": "object",
  "required": ["url"],
  "additionalProperties": false,
  "properties": {
    "method": {"type": "string", "description": "The HTTP method; GET when empty."},
    "url": {"type": "string", "description": "The absolute URL; may hold {{credential.<field>}} placeholders."},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "body": {"type": "string", "description": "The request body as text."},
    "bodyBase64": {"type": "string", "description": "The request body in standard base64; wins over body."},
    "auth": {"type": "boolean", "description": "Whether the host injects the credential."},
    "timeoutMs": {"type": "integer", "minimum": 0, "description": "Timeout of the exchange; 0 is the host's default."}
  }
}`

const resultSchema = `{
  "type": "object",
  "properties": {
    "status": {"type": "integer"},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "body": {"type": "string", "description": "The response body, when it is UTF-8 text."},
    "bodyBase64": {"type": "string", "description": "The response body in standard base64, when it is not UTF-8."},
    "url": {"type": "string", "description": "The final URL, after redirects."},
    "error": {
      "type": "object",
      "required": ["kind", "message"],
      "properties": {
        "kind": {"type": "string"},
        "message": {"type": "string"},
        "retryAfterMs": {"type": "integer"}
      }
    }
  }
}`

const fetchManyInputSchema = `{
  "type": "object",
  "required": ["url", "count"],
  "additionalProperties": false,
  "properties": {
    "url": {"type": "string"},
    "count": {"type": "integer", "minimum": 0, "maximum": 1000}
  }
}`

const fetchManyOutputSchema = `{
  "type": "object",
  "required": ["statuses", "errors"],
  "properties": {
    "statuses": {"type": "array", "items": {"type": "integer"}, "description": "The status of each response, in order."},
    "errors": {"type": "array", "items": {"type": "string"}, "description": "The kind of each failed request, in order."}
  }
}`

const echoSecretInputSchema = `{
  "type": "object",
  "required": ["url"],
  "additionalProperties": false,
  "properties": {
    "url": {"type": "string"},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Extra headers, e.g. {{credential.apiKey}} placeholders."}
  }
}`

const echoSecretOutputSchema = `{
  "type": "object",
  "required": ["sent", "received"],
  "properties": {
    "sent": {"type": "object", "description": "The request as the guest made it."},
    "received": {"type": "object", "description": "What came back: a response or an error, as fetch outputs it."}
  }
}`

type fetchExtismIn struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

type fetchExtismOut struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// fetchExtism sends the request through Extism's http_request, as a plugin built with an official
// Extism PDK would.
func fetchExtism(ctx *pdk.Context, in fetchExtismIn) (fetchExtismOut, error) {
	req, err := json.Marshal(map[string]any{"url": in.URL, "method": in.Method, "headers": in.Headers})
	if err != nil {
		return fetchExtismOut{}, err
	}
	status, headers, body := abi.ExtismHTTPRequest(req, []byte(in.Body))
	out := fetchExtismOut{Status: status, Body: string(body)}
	if len(headers) > 0 {
		if err := json.Unmarshal(headers, &out.Headers); err != nil {
			return out, err
		}
	}
	return out, nil
}

const fetchExtismInputSchema = `{
  "type": "object",
  "required": ["url"],
  "properties": {
    "method": {"type": "string"},
    "url": {"type": "string"},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "body": {"type": "string"}
  }
}`

const fetchExtismOutputSchema = `{
  "type": "object",
  "required": ["status"],
  "properties": {
    "status": {"type": "integer"},
    "headers": {"type": "object"},
    "body": {"type": "string"}
  }
}`
