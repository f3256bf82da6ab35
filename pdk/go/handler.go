package pdk

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Context is what a handler knows about the call it serves, plus access to
// the host's configuration and log. A Context is valid only during the call.
type Context struct {
	// Export is the export being served: "auth", "trigger", "action" or
	// "transform".
	Export string
	// Key is the key of the trigger, action or transform being called (empty
	// for auth).
	Key string
	// IdempotencyKey is the action call's idempotencyKey, stable across
	// retries of the same step of the same run (empty for other exports).
	IdempotencyKey string
}

// Config returns the value of a key of the connector's per-environment
// configuration and whether it is set (see Config).
func (c *Context) Config(key string) (string, bool) { return Config(key) }

// Log sends msg to the host's log at level (see Log).
func (c *Context) Log(level Level, msg string) { Log(level, msg) }

// Logf formats like fmt.Sprintf and logs the result at level (see Log).
func (c *Context) Logf(level Level, format string, args ...any) {
	Log(level, fmt.Sprintf(format, args...))
}

// Handler is the handler of an action or a transform, made by Handle. The
// zero Handler is no handler.
type Handler struct {
	fn func(ctx *Context, in json.RawMessage) (any, error)
}

// Handle adapts a typed function into a Handler: the PDK decodes the
// action's params (or the transform's input) into an In with encoding/json,
// calls fn, and encodes the Out it returns as the call's output. A missing or
// null params leaves In its zero value. Use json.RawMessage as In or Out to
// take or give raw JSON, and any for a decoded value of any shape.
func Handle[In, Out any](fn func(ctx *Context, in In) (Out, error)) Handler {
	if fn == nil {
		return Handler{}
	}
	return Handler{fn: func(ctx *Context, raw json.RawMessage) (any, error) {
		var in In
		if len(raw) > 0 {
			if p, ok := any(&in).(*json.RawMessage); ok {
				*p = append(json.RawMessage(nil), raw...) // no reflection
			} else if err := json.Unmarshal(raw, &in); err != nil {
				return nil, &decodeError{err}
			}
		}
		out, err := fn(ctx, in)
		return out, err
	}}
}

// decodeError marks a failure to decode a handler's input, so dispatch can
// say so in the error text.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// The ops of the trigger export.
const (
	OpReceive     = "receive"
	OpPoll        = "poll"
	OpSubscribe   = "subscribe"
	OpUnsubscribe = "unsubscribe"
)

// The ops of the auth export (a connector may define others).
const (
	OpTest    = "test"
	OpRefresh = "refresh"
)

// TriggerRequest is the trigger export's input with the params decoded into
// P: {"op","key","params","state","request","webhookUrl"}.
type TriggerRequest[P any] struct {
	// Op is OpReceive (a webhook request arrived), OpPoll (time to look for
	// new items), OpSubscribe or OpUnsubscribe (register or remove the
	// webhook at WebhookURL with the app), or a custom op.
	Op     string
	Params P
	// State is what the previous call returned as TriggerResult.State (null
	// or empty the first time).
	State json.RawMessage
	// Request is the webhook request, for OpReceive.
	Request HTTPRequest
	// WebhookURL is where the app must send webhooks, for OpSubscribe.
	WebhookURL string
}

// TriggerResult is the trigger export's output:
// {"events":[{"id","payload"}],"state","response"}.
type TriggerResult struct {
	// Events are the trigger events found; always encoded as an array.
	Events []Event `json:"events"`
	// State is handed back as TriggerRequest.State on the next call; nil is
	// left out of the output.
	State any `json:"state,omitempty"`
	// Response is the HTTP response to a webhook request (OpReceive); nil is
	// left out and the host answers with its default.
	Response *HTTPResponse `json:"response,omitempty"`
}

// Event is one trigger event. ID identifies it for deduplication.
type Event struct {
	ID      string `json:"id"`
	Payload any    `json:"payload"`
}

// HTTPRequest is a webhook request as the host hands it to a trigger.
type HTTPRequest struct {
	Method  string `json:"method,omitempty"`
	Path    string `json:"path,omitempty"`
	Headers Values `json:"headers,omitempty"`
	Query   Values `json:"query,omitempty"`
	// Body is the raw request body. A host may send it as a JSON string (the
	// text) or as any other JSON value (kept as its JSON text).
	Body string `json:"body,omitempty"`
}

// UnmarshalJSON decodes a request, accepting a body that is a JSON string or
// any other JSON value.
func (r *HTTPRequest) UnmarshalJSON(b []byte) error {
	var w struct {
		Method  string          `json:"method"`
		Path    string          `json:"path"`
		Headers Values          `json:"headers"`
		Query   Values          `json:"query"`
		Body    json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = HTTPRequest{Method: w.Method, Path: w.Path, Headers: w.Headers, Query: w.Query}
	body, err := text(w.Body)
	if err != nil {
		return fmt.Errorf("body: %w", err)
	}
	r.Body = body
	return nil
}

// HTTPResponse is the response a trigger gives to a webhook request.
type HTTPResponse struct {
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// Values are HTTP headers or query parameters, one string per name. Decoding
// accepts a string or an array of strings per name (joined with ", ").
type Values map[string]string

// Get returns the value of name, matched exactly or else case-insensitively
// (header names are case-insensitive), or "".
func (v Values) Get(name string) string {
	if s, ok := v[name]; ok {
		return s
	}
	for k, s := range v {
		if strings.EqualFold(k, name) {
			return s
		}
	}
	return ""
}

// UnmarshalJSON decodes an object whose values are strings or arrays of
// strings.
func (v *Values) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*v = nil
		return nil
	}
	out := make(Values, len(raw))
	for k, r := range raw {
		if len(r) > 0 && r[0] == '[' {
			var list []string
			if err := json.Unmarshal(r, &list); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			out[k] = strings.Join(list, ", ")
			continue
		}
		s, err := text(r)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		out[k] = s
	}
	*v = out
	return nil
}

// text returns a JSON string's content, "" for null or nothing, and the JSON
// text itself for any other value.
func text(r json.RawMessage) (string, error) {
	switch {
	case len(r) == 0 || string(r) == "null":
		return "", nil
	case r[0] == '"':
		var s string
		err := json.Unmarshal(r, &s)
		return s, err
	}
	return string(r), nil
}

// TriggerHandler is the handler of a trigger, made by HandleTrigger. The
// zero TriggerHandler is no handler.
type TriggerHandler struct {
	fn func(ctx *Context, in *triggerInput) (TriggerResult, error)
}

// triggerInput is the trigger export's input before params are decoded.
type triggerInput struct {
	Op, Key       string
	Params, State json.RawMessage
	Request       HTTPRequest
	WebhookURL    string
}

// HandleTrigger adapts a typed function into a TriggerHandler: the PDK
// decodes the trigger's params into a P with encoding/json (a missing or
// null params leaves the zero value), calls fn for every op, and encodes the
// TriggerResult it returns. fn decides what each op means for its trigger and
// returns an error for ops it does not support.
func HandleTrigger[P any](fn func(ctx *Context, req TriggerRequest[P]) (TriggerResult, error)) TriggerHandler {
	if fn == nil {
		return TriggerHandler{}
	}
	return TriggerHandler{fn: func(ctx *Context, in *triggerInput) (TriggerResult, error) {
		req := TriggerRequest[P]{Op: in.Op, State: in.State, Request: in.Request, WebhookURL: in.WebhookURL}
		if len(in.Params) > 0 {
			if err := json.Unmarshal(in.Params, &req.Params); err != nil {
				return TriggerResult{}, &decodeError{err}
			}
		}
		return fn(ctx, req)
	}}
}

// AuthRequest is the auth export's input: {"op","credential","config"}.
type AuthRequest struct {
	// Op is OpTest (check a credential), OpRefresh (renew it) or a custom op.
	Op string `json:"op"`
	// Credential holds the credential's non-secret fields; secrets reach
	// the connector only as placeholders the host replaces in HTTP calls.
	Credential map[string]any `json:"credential"`
	Config     map[string]any `json:"config"`
}

// AuthResult is the auth export's output: {"ok","set"}.
type AuthResult struct {
	OK bool `json:"ok"`
	// Set are credential fields for the host to store; always encoded as an
	// object.
	Set map[string]any `json:"set"`
}

// AuthHandler serves the auth export.
type AuthHandler func(ctx *Context, req AuthRequest) (AuthResult, error)
