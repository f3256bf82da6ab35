package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Standard export names. A connector may omit exports it does not need (pdk/ABI.md).
const (
	// ExportDescribe is the export that returns the manifest. Every connector has it.
	ExportDescribe = "describe"
	// ExportAuth is the export that tests and refreshes credentials: [AuthInput] to [AuthOutput].
	ExportAuth = "auth"
	// ExportTrigger is the export that receives webhooks and polls: [TriggerInput] to
	// [TriggerOutput].
	ExportTrigger = "trigger"
	// ExportAction is the export that performs actions: [ActionInput] to [ActionOutput].
	ExportAction = "action"
	// ExportTransform is the export that runs transforms: [TransformInput] to
	// [TransformOutput].
	ExportTransform = "transform"
)

// AuthType is the authentication scheme of a connector, the manifest's auth.type.
type AuthType string

// Authentication schemes, the values of auth.type.
const (
	// AuthNone means the app needs no credential.
	AuthNone AuthType = "none"
	// AuthAPIKey means a key the host injects in the header or query parameter that Auth.In
	// and Auth.Name name.
	AuthAPIKey AuthType = "apiKey"
	// AuthBasic means HTTP Basic authentication the host injects.
	AuthBasic AuthType = "basic"
	// AuthOAuth2 means an OAuth 2.0 authorization code flow the host runs against
	// Auth.AuthorizeURL and Auth.TokenURL.
	AuthOAuth2 AuthType = "oauth2"
	// AuthCustom means the connector's auth export tests and refreshes the credential.
	AuthCustom AuthType = "custom"
)

// Where the host injects a credential, the values of auth.in.
const (
	// InHeader injects the credential in the request header Auth.Name.
	InHeader = "header"
	// InQuery injects the credential in the query parameter Auth.Name.
	InQuery = "query"
)

// How the host authenticates an OAuth 2.0 client at the token endpoint, the values of
// auth.clientAuth.
const (
	// ClientAuthHeader sends the client credentials with HTTP Basic. It is the default.
	ClientAuthHeader = "header"
	// ClientAuthBody sends client_id and client_secret in the form body.
	ClientAuthBody = "body"
)

// TriggerKind is how a trigger's events arrive, the manifest's triggers[].kind.
type TriggerKind string

// Trigger kinds.
const (
	// TriggerWebhook means the app calls the host, which hands the request to the trigger
	// export with op receive.
	TriggerWebhook TriggerKind = "webhook"
	// TriggerPolling means the host calls the trigger export with op poll on a schedule.
	TriggerPolling TriggerKind = "polling"
)

// Manifest is a connector manifest, what the describe export returns. Its normative definition
// is schemas/connector-manifest.schema.json; a Manifest returned by validate.Manifest is valid
// and has non-nil Hosts, Triggers, Actions and Transforms.
//
// A Manifest is plain data, safe for concurrent reads.
type Manifest struct {
	// AppKey identifies the app: a lowercase slug.
	AppKey string `json:"appKey"`
	// Name is the app's display name.
	Name string `json:"name"`
	// Version is the connector's semantic version.
	Version string `json:"version"`
	// Description says what the connector does.
	Description string `json:"description,omitempty"`
	// Auth says how consumers authenticate and how the host injects the credential.
	Auth Auth `json:"auth"`
	// Hosts are the only hosts the connector may call, as globs ("api.example.com",
	// "*.example.com").
	Hosts []string `json:"hosts"`
	// Triggers are the connector's triggers.
	Triggers []Trigger `json:"triggers"`
	// Actions are the connector's actions.
	Actions []Action `json:"actions"`
	// Transforms are the connector's transforms.
	Transforms []Transform `json:"transforms"`
	// Limits are the resource limits the connector requests, nil when it requests none.
	Limits *Limits `json:"limits,omitempty"`
}

// Auth says how consumers authenticate to an app and how the host injects the credential into
// the connector's outbound requests. Fields other than Type apply to some types only; see the
// schema.
type Auth struct {
	// Type is the authentication scheme.
	Type AuthType `json:"type"`
	// In is where the host injects the credential: InHeader or InQuery. Required for apiKey.
	In string `json:"in,omitempty"`
	// Name is the header or query parameter name the credential goes in. Required for apiKey.
	Name string `json:"name,omitempty"`
	// Format is the template of the injected value, such as "Bearer {{credential.apiKey}}".
	Format string `json:"format,omitempty"`
	// Fields are the credential fields a consumer enters.
	Fields []AuthField `json:"fields,omitempty"`
	// AuthorizeURL is the OAuth 2.0 authorization endpoint. Required for oauth2.
	AuthorizeURL string `json:"authorizeUrl,omitempty"`
	// TokenURL is the OAuth 2.0 token endpoint. Required for oauth2.
	TokenURL string `json:"tokenUrl,omitempty"`
	// Scopes are the OAuth 2.0 scopes the host requests.
	Scopes []string `json:"scopes,omitempty"`
	// ScopeSeparator joins Scopes in the authorization request; a space when empty.
	ScopeSeparator string `json:"scopeSeparator,omitempty"`
	// ClientAuth is how the host authenticates the OAuth 2.0 client: ClientAuthHeader (when
	// empty) or ClientAuthBody.
	ClientAuth string `json:"clientAuth,omitempty"`
}

// AuthField describes one credential field a consumer enters when connecting an account.
type AuthField struct {
	// Key identifies the field; Auth.Format refers to it as {{credential.<Key>}}.
	Key string `json:"key"`
	// Label is shown to the consumer.
	Label string `json:"label"`
	// Description is help text shown with the field.
	Description string `json:"description,omitempty"`
	// Secret reports whether the field is a secret: encrypted at rest, never returned by the
	// API, and never shown to the connector, which sees a placeholder instead.
	Secret bool `json:"secret,omitempty"`
}

// Trigger is a kind of event a connector can start an automation with.
type Trigger struct {
	// Key is the triggerKey, unique among the connector's triggers.
	Key string `json:"key"`
	// Name is the trigger's display name.
	Name string `json:"name"`
	// Description says what the trigger reacts to.
	Description string `json:"description,omitempty"`
	// Kind is how events arrive: TriggerWebhook or TriggerPolling.
	Kind TriggerKind `json:"kind"`
	// InputSchema is the JSON Schema of the trigger's params.
	InputSchema json.RawMessage `json:"inputSchema"`
	// PayloadSchema is the JSON Schema of each event's payload.
	PayloadSchema json.RawMessage `json:"payloadSchema"`
}

// Action is an operation a connector performs.
type Action struct {
	// Key is the actionKey, unique among the connector's actions.
	Key string `json:"key"`
	// Name is the action's display name.
	Name string `json:"name"`
	// Description says what the action does.
	Description string `json:"description,omitempty"`
	// InputSchema is the JSON Schema of the action's params.
	InputSchema json.RawMessage `json:"inputSchema"`
	// OutputSchema is the JSON Schema of the action's output.
	OutputSchema json.RawMessage `json:"outputSchema"`
}

// Transform is a pure JSON-to-JSON function of a connector.
type Transform struct {
	// Key identifies the transform, unique among the connector's transforms.
	Key string `json:"key"`
	// Name is the transform's display name.
	Name string `json:"name"`
	// Description says what the transform computes.
	Description string `json:"description,omitempty"`
	// InputSchema is the JSON Schema of the transform's input; nil means any JSON value.
	InputSchema json.RawMessage `json:"inputSchema,omitempty"`
	// OutputSchema is the JSON Schema of the transform's output; nil means any JSON value.
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
}

// Limits are the resource limits a connector requests per call. A nil field requests nothing.
// Requests never raise a limit: the host applies min(environment policy, request).
//
// # Notes
//
// Like JSON Schema's integer, Limits accepts any JSON number with an integral value, such as
// 64.0 or 6.4e1, within ±2^53.
type Limits struct {
	// MemoryMiB is linear memory per instance, in MiB.
	MemoryMiB *int64 `json:"memoryMiB,omitempty"`
	// TimeoutMs is the wall-clock deadline per call, in milliseconds.
	TimeoutMs *int64 `json:"timeoutMs,omitempty"`
	// OutputBytes is output bytes per call.
	OutputBytes *int64 `json:"outputBytes,omitempty"`
	// LogBytes is log bytes per call.
	LogBytes *int64 `json:"logBytes,omitempty"`
	// HTTPCalls is outbound HTTP requests per call; 0 asks for none.
	HTTPCalls *int64 `json:"httpCalls,omitempty"`
	// HTTPResponseBytes is body bytes per outbound HTTP response.
	HTTPResponseBytes *int64 `json:"httpResponseBytes,omitempty"`
}

// maxExactInt is 2^53, the largest magnitude up to which every integer is a float64.
const maxExactInt = 1 << 53

// UnmarshalJSON decodes limits, accepting integral numbers written with a fraction or an
// exponent. Unknown fields are an error, as with [encoding/json.Decoder.DisallowUnknownFields].
func (l *Limits) UnmarshalJSON(data []byte) error {
	var raw struct {
		MemoryMiB         json.RawMessage `json:"memoryMiB"`
		TimeoutMs         json.RawMessage `json:"timeoutMs"`
		OutputBytes       json.RawMessage `json:"outputBytes"`
		LogBytes          json.RawMessage `json:"logBytes"`
		HTTPCalls         json.RawMessage `json:"httpCalls"`
		HTTPResponseBytes json.RawMessage `json:"httpResponseBytes"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("abi: limits: %w", err)
	}
	var out Limits
	for _, f := range []struct {
		name string
		src  json.RawMessage
		dst  **int64
	}{
		{"memoryMiB", raw.MemoryMiB, &out.MemoryMiB},
		{"timeoutMs", raw.TimeoutMs, &out.TimeoutMs},
		{"outputBytes", raw.OutputBytes, &out.OutputBytes},
		{"logBytes", raw.LogBytes, &out.LogBytes},
		{"httpCalls", raw.HTTPCalls, &out.HTTPCalls},
		{"httpResponseBytes", raw.HTTPResponseBytes, &out.HTTPResponseBytes},
	} {
		if f.src == nil || string(f.src) == "null" {
			continue
		}
		n, err := integer(f.src)
		if err != nil {
			return fmt.Errorf("abi: limits: %s: %w", f.name, err)
		}
		*f.dst = &n
	}
	*l = out
	return nil
}

// errNotInteger reports a value that is not a number with an integral value within ±2^53.
var errNotInteger = errors.New("not an integer within ±2^53")

// integer returns the value of the JSON value v if it is a number with an integral value
// within ±2^53.
func integer(v json.RawMessage) (int64, error) {
	var n json.Number
	if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &n) != nil {
		return 0, errNotInteger
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		if i > maxExactInt || i < -maxExactInt {
			return 0, errNotInteger
		}
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxExactInt {
		return 0, errNotInteger
	}
	return int64(f), nil
}

// Exports returns the standard exports the manifest implies the connector has, in the order of
// DESIGN.md's export table: describe always; auth when auth.type is oauth2 or custom; trigger,
// action and transform when the manifest has any triggers, actions or transforms.
func (m *Manifest) Exports() []string {
	out := []string{ExportDescribe}
	if m.Auth.Type == AuthOAuth2 || m.Auth.Type == AuthCustom {
		out = append(out, ExportAuth)
	}
	if len(m.Triggers) > 0 {
		out = append(out, ExportTrigger)
	}
	if len(m.Actions) > 0 {
		out = append(out, ExportAction)
	}
	if len(m.Transforms) > 0 {
		out = append(out, ExportTransform)
	}
	return out
}

// Trigger returns the trigger with the given key and whether there is one.
func (m *Manifest) Trigger(key string) (Trigger, bool) {
	for _, t := range m.Triggers {
		if t.Key == key {
			return t, true
		}
	}
	return Trigger{}, false
}

// Action returns the action with the given key and whether there is one.
func (m *Manifest) Action(key string) (Action, bool) {
	for _, a := range m.Actions {
		if a.Key == key {
			return a, true
		}
	}
	return Action{}, false
}

// Transform returns the transform with the given key and whether there is one.
func (m *Manifest) Transform(key string) (Transform, bool) {
	for _, t := range m.Transforms {
		if t.Key == key {
			return t, true
		}
	}
	return Transform{}, false
}
