package abi

import "encoding/json"

// Operations of the auth export, the values of AuthInput.Op. A connector may define others
// (custom ops).
const (
	// AuthOpTest asks whether a credential works.
	AuthOpTest = "test"
	// AuthOpRefresh asks for fresh credential fields, such as a new OAuth 2.0 access token.
	AuthOpRefresh = "refresh"
)

// Operations of the trigger export, the values of TriggerInput.Op.
const (
	// TriggerOpReceive hands a webhook request (TriggerInput.Request) to a webhook trigger.
	TriggerOpReceive = "receive"
	// TriggerOpPoll asks a polling trigger for the events since TriggerInput.State.
	TriggerOpPoll = "poll"
	// TriggerOpSubscribe asks a webhook trigger to register TriggerInput.WebhookURL with the
	// app.
	TriggerOpSubscribe = "subscribe"
	// TriggerOpUnsubscribe asks a webhook trigger to remove the registration that
	// TriggerInput.State records.
	TriggerOpUnsubscribe = "unsubscribe"
)

// AuthInput is the input of the auth export.
type AuthInput struct {
	// Op is the operation: AuthOpTest, AuthOpRefresh or one the connector defines.
	Op string `json:"op"`
	// Credential holds the credential's non-secret fields. Secret fields are never included;
	// the host injects them into outbound requests.
	Credential map[string]string `json:"credential"`
	// Config is the environment's configuration of the connector.
	Config map[string]string `json:"config"`
}

// AuthOutput is the output of the auth export.
type AuthOutput struct {
	// OK reports whether the credential works.
	OK bool `json:"ok"`
	// Set holds credential fields the host stores, replacing those with the same keys.
	Set map[string]string `json:"set,omitempty"`
}

// TriggerInput is the input of the trigger export.
type TriggerInput struct {
	// Op is the operation: TriggerOpReceive, TriggerOpPoll, TriggerOpSubscribe or
	// TriggerOpUnsubscribe.
	Op string `json:"op"`
	// Key is the triggerKey.
	Key string `json:"key"`
	// Params are the trigger's params, valid against its inputSchema.
	Params json.RawMessage `json:"params,omitempty"`
	// State is the state the trigger returned last time, absent on the first call.
	State json.RawMessage `json:"state,omitempty"`
	// Request is the webhook request, set for TriggerOpReceive only.
	Request *HTTPRequest `json:"request,omitempty"`
	// WebhookURL is the URL the app must call, set for TriggerOpSubscribe and
	// TriggerOpUnsubscribe.
	WebhookURL string `json:"webhookUrl,omitempty"`
}

// TriggerOutput is the output of the trigger export.
type TriggerOutput struct {
	// Events are the trigger events found, each of which starts a run.
	Events []Event `json:"events"`
	// State is what the host passes as TriggerInput.State next time; absent keeps the
	// current state.
	State json.RawMessage `json:"state,omitempty"`
	// Response is what the host answers the webhook caller, when the trigger sets it.
	Response *HTTPResponse `json:"response,omitempty"`
}

// Event is one trigger event a trigger found.
type Event struct {
	// ID identifies the event within the trigger, such as the app's own id for it.
	ID string `json:"id"`
	// Payload is the event, valid against the trigger's payloadSchema.
	Payload json.RawMessage `json:"payload"`
}

// HTTPRequest is a webhook request as the host hands it to a trigger.
//
// # Notes
//
// Body is a JSON string: bytes that are not valid UTF-8 do not survive encoding (they become
// U+FFFD), so only text bodies reach the connector byte for byte.
type HTTPRequest struct {
	// Method is the HTTP method, such as "POST".
	Method string `json:"method"`
	// Path is the request path.
	Path string `json:"path"`
	// Headers are the request headers by canonical name ("Content-Type"), each with its values
	// in order.
	Headers map[string][]string `json:"headers,omitempty"`
	// Query holds the query parameters, each with its values in order.
	Query map[string][]string `json:"query,omitempty"`
	// Body is the request body.
	Body string `json:"body"`
}

// HTTPResponse is what a trigger answers a webhook caller.
type HTTPResponse struct {
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Headers are the response headers, each with its values in order.
	Headers map[string][]string `json:"headers,omitempty"`
	// Body is the response body.
	Body string `json:"body,omitempty"`
}

// ActionInput is the input of the action export.
type ActionInput struct {
	// Key is the actionKey.
	Key string `json:"key"`
	// Params are the action's params, valid against its inputSchema.
	Params json.RawMessage `json:"params"`
	// IdempotencyKey is stable across retries of the same step of the same run, so that the
	// app can drop repeats.
	IdempotencyKey string `json:"idempotencyKey"`
}

// ActionOutput is the output of the action export.
type ActionOutput struct {
	// Output is the action's result, valid against its outputSchema.
	Output json.RawMessage `json:"output"`
}

// TransformInput is the input of the transform export.
type TransformInput struct {
	// Key is the transform's key.
	Key string `json:"key"`
	// Input is the value to transform.
	Input json.RawMessage `json:"input"`
}

// TransformOutput is the output of the transform export.
type TransformOutput struct {
	// Output is the transformed value.
	Output json.RawMessage `json:"output"`
}
