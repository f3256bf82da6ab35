// Package problem is the one catalog of the errors Splice's HTTP surfaces answer (the webhook
// ingress and the /v1 management API): each a stable code with its HTTP status, written as
// {"error": {"code", "message", "details"}}. Codes are never reused or renamed; a new condition
// gets a new code. It is standard library only and safe for concurrent use.
package problem

import (
	"encoding/json"
)

// Code is a stable error code.
type Code string

// The catalog. The comment of each says when it is answered.
const (
	BadRequest        Code = "bad_request"        // 400: the request is malformed (bad JSON, a bad parameter)
	Unauthorized      Code = "unauthorized"       // 401: no credentials, or credentials that do not verify
	BadSignature      Code = "bad_signature"      // 401: a webhook's signature does not verify; nothing was stored
	Forbidden         Code = "forbidden"          // 403: an operator route asked with a consumer token, or the reverse
	NotFound          Code = "not_found"          // 404: no such object, or not the caller's
	MethodNotAllowed  Code = "method_not_allowed" // 405: the route does not take this method
	Conflict          Code = "conflict"           // 409: the object changed, or exists already
	NotWebhook        Code = "not_webhook"        // 409: the automation's trigger takes no webhooks
	Disabled          Code = "disabled"           // 410: the automation is disabled
	TooLarge          Code = "too_large"          // 413: the body is over the cap; nothing past it was read
	UnsupportedMedia  Code = "unsupported_media"  // 415: the body's Content-Type is not the one the route takes
	Invalid           Code = "invalid"            // 422: the document is well-formed but invalid (details say where)
	TriggerRefused    Code = "trigger_refused"    // 422: the connector's trigger failed on the request, or made an invalid event
	TooManyRequests   Code = "too_many_requests"  // 429: a quota; Retry-After says when to try again
	Internal          Code = "internal"           // 500: a fault of the server; the log has it
	RunFailed         Code = "run_failed"         // 502: a sync webhook's run failed or went dead
	Unavailable       Code = "unavailable"        // 503: overloaded or shutting down; Retry-After says when to try again
	RunTimeout        Code = "run_timeout"        // 504: a sync webhook's run did not answer in time; it goes on
	ConnectorRejected Code = "connector_rejected" // 422: an uploaded module does not load or describe itself
)

var statuses = map[Code]int{
	BadRequest: 400, Unauthorized: 401, BadSignature: 401, Forbidden: 403, NotFound: 404, MethodNotAllowed: 405,
	Conflict: 409, NotWebhook: 409, Disabled: 410, TooLarge: 413, UnsupportedMedia: 415, Invalid: 422,
	TriggerRefused: 422, ConnectorRejected: 422, TooManyRequests: 429, Internal: 500, RunFailed: 502,
	Unavailable: 503, RunTimeout: 504,
}

// Status is the code's HTTP status (500 for a code not in the catalog).
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return 500
}

// Codes lists the catalog, for documents that enumerate it (the OpenAPI document).
func Codes() []Code {
	out := make([]Code, 0, len(statuses))
	for c := range statuses {
		out = append(out, c)
	}
	return out
}

// Body is the JSON an error is answered with.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the error member of Body.
type Detail struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// JSON encodes the error document of code with message and optional details.
func JSON(code Code, message string, details any) []byte {
	b, err := json.Marshal(Body{Error: Detail{Code: code, Message: message, Details: details}})
	if err != nil { // details that do not encode: answer without them
		b, _ = json.Marshal(Body{Error: Detail{Code: code, Message: message}})
	}
	return b
}
