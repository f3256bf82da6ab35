package pdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Connector declares a connector: the fields of its manifest (the output of
// the describe export, schemas/connector-manifest.schema.json) and the
// handlers behind its triggers, actions and transforms. The JSON tags are the
// manifest's names. A Connector is a plain value; it is read-only once passed
// to Register.
type Connector struct {
	// AppKey identifies the app, e.g. "github". Required.
	AppKey string `json:"appKey"`
	// Name is the human-readable name. Required.
	Name string `json:"name"`
	// Version is the connector's semver version, e.g. "1.0.0". Required.
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// Auth says how the host authenticates the connector's HTTP calls; the
	// zero value is type "none".
	Auth Auth `json:"auth"`
	// Hosts are the only hosts the connector may call; globs allowed.
	Hosts      []string    `json:"hosts"`
	Triggers   []Trigger   `json:"triggers"`
	Actions    []Action    `json:"actions"`
	Transforms []Transform `json:"transforms"`
	// Limits are requests; the host never grants more than its policy.
	Limits Limits `json:"limits,omitzero"`
}

// AuthType is the kind of credential a connector uses.
type AuthType string

// The auth types of the manifest.
const (
	AuthNone   AuthType = "none"
	AuthAPIKey AuthType = "apiKey"
	AuthBasic  AuthType = "basic"
	AuthOAuth2 AuthType = "oauth2"
	AuthCustom AuthType = "custom"
)

// Auth is the manifest's auth object: the credential type and how the host
// injects it into HTTP requests, plus the optional handler of the auth
// export.
type Auth struct {
	// Type defaults to AuthNone.
	Type AuthType `json:"type"`
	// In is where the host injects the credential: "header" or "query".
	In string `json:"in,omitempty"`
	// Name is the header or query parameter name, e.g. "Authorization".
	Name string `json:"name,omitempty"`
	// Format is the injected value with {{credential.<field key>}}
	// placeholders, e.g. "Bearer {{credential.apiKey}}"; empty means the
	// host's default for the type.
	Format string `json:"format,omitempty"`
	// Fields are what a consumer enters to create a credential.
	Fields []AuthField `json:"fields,omitempty"`
	// AuthorizeURL and TokenURL are the OAuth 2.0 endpoints (https),
	// required for AuthOAuth2.
	AuthorizeURL string   `json:"authorizeUrl,omitempty"`
	TokenURL     string   `json:"tokenUrl,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	// ScopeSeparator joins Scopes in the authorization request; empty means
	// a space.
	ScopeSeparator string `json:"scopeSeparator,omitempty"`
	// ClientAuth is how the host authenticates the OAuth 2.0 client at the
	// token endpoint: "header" (the default when empty) or "body".
	ClientAuth string `json:"clientAuth,omitempty"`

	// Handler serves the auth export. When nil, op "test" answers
	// {"ok":true,"set":{}} and every other op is an error.
	Handler AuthHandler `json:"-"`
}

// AuthField is one field of a credential form. Key is what format
// templates refer to; Label is required. A Secret field is encrypted at rest
// and the connector only ever sees a placeholder for it.
type AuthField struct {
	Key         string `json:"key"`
	Label       string `json:"label"`
	Description string `json:"description,omitempty"`
	Secret      bool   `json:"secret,omitempty"`
}

// TriggerKind says how a trigger finds events.
type TriggerKind string

// The trigger kinds of the manifest.
const (
	Webhook TriggerKind = "webhook"
	Polling TriggerKind = "polling"
)

// Schema is a JSON Schema document (draft 2020-12 unless its $schema says
// otherwise), written as JSON text, usually a raw string literal. It must be
// a JSON object and may not reference external documents. It is copied into
// the manifest verbatim; empty means {} (any value).
type Schema string

// MarshalJSON returns the schema text, or {} when it is empty.
func (s Schema) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("{}"), nil
	}
	return []byte(s), nil
}

// Trigger declares a trigger of the manifest and its handler.
type Trigger struct {
	Key         string      `json:"key"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Kind        TriggerKind `json:"kind"`
	// InputSchema describes the params an automation gives the trigger.
	InputSchema Schema `json:"inputSchema"`
	// PayloadSchema describes the payload of each event.
	PayloadSchema Schema `json:"payloadSchema"`
	// Handler serves every op of the trigger export for this key; make it
	// with HandleTrigger. Required.
	Handler TriggerHandler `json:"-"`
}

// Action declares an action of the manifest and its handler.
type Action struct {
	Key          string `json:"key"`
	Name         string `json:"name"`
	Description  string `json:"description,omitempty"`
	InputSchema  Schema `json:"inputSchema"`
	OutputSchema Schema `json:"outputSchema"`
	// Handler gets the params and returns the output; make it with Handle.
	// Required.
	Handler Handler `json:"-"`
}

// Transform declares a transform (a pure JSON to JSON function, no network)
// of the manifest and its handler.
type Transform struct {
	Key          string `json:"key"`
	Name         string `json:"name"`
	Description  string `json:"description,omitempty"`
	InputSchema  Schema `json:"inputSchema"`
	OutputSchema Schema `json:"outputSchema"`
	// Handler gets the input and returns the output; make it with Handle.
	// Required.
	Handler Handler `json:"-"`
}

// Limits are the manifest's requests for per-call limits; zero fields are
// left out, and so is the whole object when every field is zero.
type Limits struct {
	MemoryMiB         int `json:"memoryMiB,omitempty"`
	TimeoutMs         int `json:"timeoutMs,omitempty"`
	OutputBytes       int `json:"outputBytes,omitempty"`
	LogBytes          int `json:"logBytes,omitempty"`
	HTTPCalls         int `json:"httpCalls,omitempty"`
	HTTPResponseBytes int `json:"httpResponseBytes,omitempty"`
}

// Manifest validates the declaration and returns the manifest JSON the
// describe export outputs. triggers, actions, transforms and hosts are
// always arrays, never null.
//
// # Errors
//
// A missing appKey, name or version; an appKey or a trigger, action or
// transform key that is not a slug (a lowercase letter, then up to 62
// lowercase letters, digits or hyphens); an unknown auth type or trigger
// kind; an auth field without key or label, or whose key repeats; a trigger,
// action or transform without name or handler, or whose key repeats one of
// the same list; a schema that is not a JSON object; a negative limit. The
// host validates the manifest again against
// schemas/connector-manifest.schema.json (semver version, host globs, URLs,
// lengths), so a manifest that passes here may still be refused there.
func (c *Connector) Manifest() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	m := *c
	if m.Auth.Type == "" {
		m.Auth.Type = AuthNone
	}
	if m.Hosts == nil {
		m.Hosts = []string{}
	}
	if m.Triggers == nil {
		m.Triggers = []Trigger{}
	}
	if m.Actions == nil {
		m.Actions = []Action{}
	}
	if m.Transforms == nil {
		m.Transforms = []Transform{}
	}
	b, err := marshal(&m)
	if err != nil {
		return nil, fmt.Errorf("pdk: connector %s: encode manifest: %w", c.AppKey, err)
	}
	return b, nil
}

func (c *Connector) validate() error {
	var errs []string
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Sprintf(format, args...))
	}
	if c.AppKey == "" {
		bad("appKey is required")
	} else if !isSlug(c.AppKey) {
		bad("appKey %q is not a slug", c.AppKey)
	}
	if c.Name == "" {
		bad("name is required")
	}
	if c.Version == "" {
		bad("version is required")
	}
	switch c.Auth.Type {
	case "", AuthNone, AuthAPIKey, AuthBasic, AuthOAuth2, AuthCustom:
	default:
		bad("auth: unknown type %q", c.Auth.Type)
	}
	seen := map[string]bool{}
	for _, f := range c.Auth.Fields {
		switch {
		case f.Key == "":
			bad("auth: field without key")
		case seen[f.Key]:
			bad("auth: field %q declared twice", f.Key)
		}
		seen[f.Key] = true
		if f.Label == "" {
			bad("auth: field %q: label is required", f.Key)
		}
	}
	schema := func(what, key, field string, s Schema) {
		if s != "" && !isObject(s) {
			bad("%s %q: %s is not a JSON object", what, key, field)
		}
	}
	item := func(what, key, name string, seen map[string]bool, hasHandler bool) {
		switch {
		case key == "":
			bad("%s without key", what)
		case !isSlug(key):
			bad("%s key %q is not a slug", what, key)
		case seen[key]:
			bad("%s %q declared twice", what, key)
		}
		seen[key] = true
		if name == "" {
			bad("%s %q: name is required", what, key)
		}
		if !hasHandler {
			bad("%s %q: handler is required", what, key)
		}
	}
	seen = map[string]bool{}
	for _, t := range c.Triggers {
		item("trigger", t.Key, t.Name, seen, t.Handler.fn != nil)
		if t.Kind != Webhook && t.Kind != Polling {
			bad("trigger %q: kind must be %q or %q, not %q", t.Key, Webhook, Polling, t.Kind)
		}
		schema("trigger", t.Key, "inputSchema", t.InputSchema)
		schema("trigger", t.Key, "payloadSchema", t.PayloadSchema)
	}
	seen = map[string]bool{}
	for _, a := range c.Actions {
		item("action", a.Key, a.Name, seen, a.Handler.fn != nil)
		schema("action", a.Key, "inputSchema", a.InputSchema)
		schema("action", a.Key, "outputSchema", a.OutputSchema)
	}
	seen = map[string]bool{}
	for _, t := range c.Transforms {
		item("transform", t.Key, t.Name, seen, t.Handler.fn != nil)
		schema("transform", t.Key, "inputSchema", t.InputSchema)
		schema("transform", t.Key, "outputSchema", t.OutputSchema)
	}
	l := c.Limits
	if l.MemoryMiB < 0 || l.TimeoutMs < 0 || l.OutputBytes < 0 || l.LogBytes < 0 || l.HTTPCalls < 0 || l.HTTPResponseBytes < 0 {
		bad("limits must not be negative")
	}
	if len(errs) > 0 {
		return fmt.Errorf("pdk: connector %q: %s", c.AppKey, strings.Join(errs, "; "))
	}
	return nil
}

// isSlug reports whether s matches ^[a-z][a-z0-9-]{0,62}$.
func isSlug(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// isObject reports whether s is valid JSON whose value is an object.
func isObject(s Schema) bool {
	if !json.Valid([]byte(s)) {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return s[i] == '{'
	}
	return false
}

// registered is the connector of this module, set once by Register.
var registered struct {
	c        *Connector
	manifest []byte
	err      error
}

// Register makes c the connector this module serves: the describe export
// outputs c's manifest and the auth, trigger, action and transform exports
// dispatch to c's handlers. Call it once, from an init function (main never
// runs in a reactor module).
//
// # Errors
//
// Register does not fail: when c is invalid (see Connector.Manifest), or
// Register is called twice, every export of the module fails with that error
// as its text, so the mistake shows at the first describe.
func Register(c Connector) {
	if registered.c != nil {
		registered.err = fmt.Errorf("pdk: Register called twice (apps %q and %q)", registered.c.AppKey, c.AppKey)
		return
	}
	registered.c = &c
	registered.manifest, registered.err = c.Manifest()
}

// errNotRegistered is the error of every export when Register was never
// called.
var errNotRegistered = errors.New("pdk: no connector registered; call pdk.Register from an init function")

// serve runs export for the registered connector.
func serve(export string, input []byte) ([]byte, error) {
	switch {
	case registered.err != nil:
		return nil, registered.err
	case registered.c == nil:
		return nil, errNotRegistered
	case export == "describe":
		return registered.manifest, nil
	}
	return registered.c.dispatch(export, input)
}
