package pdk_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	pdk "github.com/splicehq/splice/pdk/go"
)

type greetIn struct {
	Name string `json:"name"`
}

type greetOut struct {
	Text string `json:"text"`
}

func greet(ctx *pdk.Context, in greetIn) (greetOut, error) {
	switch in.Name {
	case "":
		return greetOut{}, errors.New("hello: name is required")
	case "panic":
		panic("boom")
	}
	return greetOut{Text: "hello " + in.Name + " (" + ctx.IdempotencyKey + ")"}, nil
}

type pollParams struct {
	Every int `json:"every"`
}

func poll(ctx *pdk.Context, req pdk.TriggerRequest[pollParams]) (pdk.TriggerResult, error) {
	switch req.Op {
	case pdk.OpPoll:
		var st struct{ N int }
		if len(req.State) > 0 {
			if err := json.Unmarshal(req.State, &st); err != nil {
				return pdk.TriggerResult{}, err
			}
		}
		st.N += req.Params.Every
		return pdk.TriggerResult{
			Events: []pdk.Event{{ID: fmt.Sprint(st.N), Payload: map[string]int{"n": st.N}}},
			State:  st,
		}, nil
	case pdk.OpReceive:
		return pdk.TriggerResult{
			Events:   []pdk.Event{{ID: req.Request.Headers.Get("Webhook-Id"), Payload: req.Request.Body}},
			Response: &pdk.HTTPResponse{Status: 202},
		}, nil
	case pdk.OpSubscribe:
		return pdk.TriggerResult{}, nil
	}
	return pdk.TriggerResult{}, fmt.Errorf("hello: op %q not supported", req.Op)
}

func upper(ctx *pdk.Context, in string) (string, error) { return strings.ToUpper(in), nil }

func hello() pdk.Connector {
	return pdk.Connector{
		AppKey: "hello", Name: "Hello", Version: "1.2.3", Description: "Says hello.",
		Auth: pdk.Auth{
			Type: pdk.AuthAPIKey, In: "header", Name: "Authorization", Format: "Bearer {{credential.apiKey}}",
			Fields: []pdk.AuthField{{Key: "apiKey", Label: "API key", Secret: true}},
		},
		Hosts: []string{"api.hello.test", "*.hello.test"},
		Triggers: []pdk.Trigger{{
			Key: "tick", Name: "Tick", Kind: pdk.Polling,
			InputSchema:   `{"type": "object", "properties": {"every": {"type": "integer"}}}`,
			PayloadSchema: `{"type":"object"}`,
			Handler:       pdk.HandleTrigger(poll),
		}},
		Actions: []pdk.Action{{
			Key: "greet", Name: "Greet", Description: "Greets someone.",
			InputSchema:  `{"type":"object","required":["name"]}`,
			OutputSchema: `{"type":"object"}`,
			Handler:      pdk.Handle(greet),
		}},
		Transforms: []pdk.Transform{{Key: "upper", Name: "Upper", Handler: pdk.Handle(upper)}},
		Limits:     pdk.Limits{MemoryMiB: 64, HTTPCalls: 5},
	}
}

func TestManifest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    pdk.Connector
		want string
	}{
		{
			name: "full",
			c:    hello(),
			want: `{"appKey":"hello","name":"Hello","version":"1.2.3","description":"Says hello.",` +
				`"auth":{"type":"apiKey","in":"header","name":"Authorization","format":"Bearer {{credential.apiKey}}","fields":[{"key":"apiKey","label":"API key","secret":true}]},` +
				`"hosts":["api.hello.test","*.hello.test"],` +
				`"triggers":[{"key":"tick","name":"Tick","kind":"polling","inputSchema":{"type":"object","properties":{"every":{"type":"integer"}}},"payloadSchema":{"type":"object"}}],` +
				`"actions":[{"key":"greet","name":"Greet","description":"Greets someone.","inputSchema":{"type":"object","required":["name"]},"outputSchema":{"type":"object"}}],` +
				`"transforms":[{"key":"upper","name":"Upper","inputSchema":{},"outputSchema":{}}],` +
				`"limits":{"memoryMiB":64,"httpCalls":5}}`,
		},
		{
			name: "minimal has arrays, auth none and no limits",
			c:    pdk.Connector{AppKey: "min", Name: "Min", Version: "0.1.0"},
			want: `{"appKey":"min","name":"Min","version":"0.1.0","auth":{"type":"none"},"hosts":[],"triggers":[],"actions":[],"transforms":[]}`,
		},
		{
			name: "oauth2",
			c: pdk.Connector{AppKey: "o", Name: "O", Version: "1.0.0", Auth: pdk.Auth{
				Type: pdk.AuthOAuth2, AuthorizeURL: "https://o.test/authorize", TokenURL: "https://o.test/token", Scopes: []string{"read", "write"},
			}},
			want: `{"appKey":"o","name":"O","version":"1.0.0","auth":{"type":"oauth2","authorizeUrl":"https://o.test/authorize","tokenUrl":"https://o.test/token","scopes":["read","write"]},"hosts":[],"triggers":[],"actions":[],"transforms":[]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.c.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Manifest()\n got %s\nwant %s", got, tc.want)
			}
			viaCall, err := tc.c.Call("describe", []byte(`{}`))
			if err != nil || string(viaCall) != string(got) {
				t.Errorf("Call(describe) = %s, %v; want the manifest", viaCall, err)
			}
		})
	}
}

func TestManifestErrors(t *testing.T) {
	t.Parallel()
	h := pdk.Handle(greet)
	tests := []struct {
		name   string
		edit   func(c *pdk.Connector)
		errors []string
	}{
		{"no app key", func(c *pdk.Connector) { c.AppKey = "" }, []string{"appKey is required"}},
		{"no name or version", func(c *pdk.Connector) { c.Name, c.Version = "", "" }, []string{"name is required", "version is required"}},
		{"bad auth type", func(c *pdk.Connector) { c.Auth.Type = "magic" }, []string{`auth: unknown type "magic"`}},
		{"duplicate action", func(c *pdk.Connector) {
			c.Actions = append(c.Actions, pdk.Action{Key: "greet", Name: "Again", Handler: h})
		}, []string{`action "greet" declared twice`}},
		{"same key in two lists is fine", func(c *pdk.Connector) {
			c.Transforms = append(c.Transforms, pdk.Transform{Key: "greet", Name: "Greet", Handler: h})
		}, nil},
		{"no handler", func(c *pdk.Connector) { c.Actions[0].Handler = pdk.Handler{} }, []string{`action "greet": handler is required`}},
		{"nil func", func(c *pdk.Connector) { c.Transforms[0].Handler = pdk.Handle[string, string](nil) }, []string{`transform "upper": handler is required`}},
		{"no key", func(c *pdk.Connector) { c.Transforms[0].Key = "" }, []string{"transform without key"}},
		{"bad kind", func(c *pdk.Connector) { c.Triggers[0].Kind = "push" }, []string{`trigger "tick": kind must be "webhook" or "polling", not "push"`}},
		{"bad schema", func(c *pdk.Connector) { c.Actions[0].OutputSchema = `{"type":` }, []string{`action "greet": outputSchema is not a JSON object`}},
		{"schema not an object", func(c *pdk.Connector) { c.Triggers[0].PayloadSchema = ` true` }, []string{`trigger "tick": payloadSchema is not a JSON object`}},
		{"app key not a slug", func(c *pdk.Connector) { c.AppKey = "Hello World" }, []string{`appKey "Hello World" is not a slug`}},
		{"action key not a slug", func(c *pdk.Connector) { c.Actions[0].Key = "send_message" }, []string{`action key "send_message" is not a slug`}},
		{"auth field without label", func(c *pdk.Connector) { c.Auth.Fields[0].Label = "" }, []string{`auth: field "apiKey": label is required`}},
		{"auth field twice", func(c *pdk.Connector) { c.Auth.Fields = append(c.Auth.Fields, c.Auth.Fields[0]) }, []string{`auth: field "apiKey" declared twice`}},
		{"negative limit", func(c *pdk.Connector) { c.Limits.TimeoutMs = -1 }, []string{"limits must not be negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := hello()
			tc.edit(&c)
			_, err := c.Manifest()
			if len(tc.errors) == 0 {
				if err != nil {
					t.Fatalf("Manifest() error = %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Manifest() error = nil, want %q", tc.errors)
			}
			for _, want := range tc.errors {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Manifest() error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestCall(t *testing.T) {
	t.Parallel()
	c := hello()
	tests := []struct {
		name    string
		export  string
		input   string
		want    string // exact output, when no error is wanted
		wantErr string // substring of the error
	}{
		{name: "action", export: "action", input: `{"key":"greet","params":{"name":"ann"},"idempotencyKey":"run1.s1"}`,
			want: `{"output":{"text":"hello ann (run1.s1)"}}`},
		{name: "action handler error is the text", export: "action", input: `{"key":"greet","params":{}}`,
			wantErr: "hello: name is required"},
		{name: "action missing params is the zero value", export: "action", input: `{"key":"greet"}`,
			wantErr: "hello: name is required"},
		{name: "action unknown key", export: "action", input: `{"key":"wave","params":{}}`,
			wantErr: `pdk: connector hello has no action "wave"`},
		{name: "action panic", export: "action", input: `{"key":"greet","params":{"name":"panic"}}`,
			wantErr: `pdk: action "greet" panicked: boom`},
		{name: "action params of the wrong type", export: "action", input: `{"key":"greet","params":{"name":7}}`,
			wantErr: `pdk: action "greet": decode params: json: cannot unmarshal number`},
		{name: "envelope is not JSON", export: "action", input: `{"key":`,
			wantErr: "pdk: action: decode input: unexpected end of JSON input"},
		{name: "envelope is not an object", export: "action", input: ` [1]`,
			wantErr: "pdk: action: decode input: not a JSON object"},
		{name: "key is not a string", export: "action", input: `{"key":1}`,
			wantErr: "pdk: action: decode input: key must be a string"},
		{name: "envelope with spaces, escapes and tricky strings", export: "action",
			input: " {\n \"k\\u0065y\" : \"gr\\u0065et\" , \"params\" : {\"name\":\"a}\\\"{[\"} , \"idempotencyKey\" : null, \"extra\": [{}] }\n",
			want:  `{"output":{"text":"hello a}\"{[ ()"}}`},
		{name: "null params is the zero value", export: "action", input: `{"key":"greet","params":null}`,
			wantErr: "hello: name is required"},
		{name: "transform", export: "transform", input: `{"key":"upper","input":"abc"}`,
			want: `{"output":"ABC"}`},
		{name: "transform unknown key", export: "transform", input: `{"key":"lower","input":"abc"}`,
			wantErr: `pdk: connector hello has no transform "lower"`},
		{name: "trigger poll keeps state", export: "trigger", input: `{"op":"poll","key":"tick","params":{"every":2},"state":{"N":40}}`,
			want: `{"events":[{"id":"42","payload":{"n":42}}],"state":{"N":42}}`},
		{name: "trigger poll first time", export: "trigger", input: `{"op":"poll","key":"tick","params":{"every":1},"state":null}`,
			want: `{"events":[{"id":"1","payload":{"n":1}}],"state":{"N":1}}`},
		{name: "trigger receive", export: "trigger",
			input: `{"op":"receive","key":"tick","request":{"method":"POST","path":"/h","headers":{"webhook-id":["w1"]},"query":{},"body":"{\"a\":1}"},"webhookUrl":"https://splice.test/hooks/x"}`,
			want:  `{"events":[{"id":"w1","payload":"{\"a\":1}"}],"response":{"status":202}}`},
		{name: "trigger receive with a JSON body", export: "trigger",
			input: `{"op":"receive","key":"tick","request":{"headers":{"Webhook-Id":"w2"},"body":{"a":1}}}`,
			want:  `{"events":[{"id":"w2","payload":"{\"a\":1}"}],"response":{"status":202}}`},
		{name: "trigger no events is an array", export: "trigger", input: `{"op":"subscribe","key":"tick","webhookUrl":"https://x"}`,
			want: `{"events":[]}`},
		{name: "trigger handler error", export: "trigger", input: `{"op":"dance","key":"tick"}`,
			wantErr: `hello: op "dance" not supported`},
		{name: "trigger unknown key", export: "trigger", input: `{"op":"poll","key":"tock"}`,
			wantErr: `pdk: connector hello has no trigger "tock"`},
		{name: "auth test without handler", export: "auth", input: `{"op":"test","credential":{},"config":{}}`,
			want: `{"ok":true,"set":{}}`},
		{name: "auth refresh without handler", export: "auth", input: `{"op":"refresh"}`,
			wantErr: `pdk: connector hello does not support auth op "refresh"`},
		{name: "unknown export", export: "explode", input: `{}`,
			wantErr: `pdk: unknown export "explode"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Call(tc.export, []byte(tc.input))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Call() = %s, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Call() error = %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("Call()\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestRawMessage(t *testing.T) {
	t.Parallel()
	c := pdk.Connector{AppKey: "raw", Name: "Raw", Version: "1.0.0", Transforms: []pdk.Transform{
		{Key: "same", Name: "Same", Handler: pdk.Handle(func(ctx *pdk.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })},
		{Key: "bad", Name: "Bad", Handler: pdk.Handle(func(ctx *pdk.Context, in json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{`), nil })},
	}}
	tests := []struct{ name, input, want, wantErr string }{
		{name: "passes through", input: `{"key":"same","input":{"a": [1, "<&>"]}}`, want: `{"output":{"a": [1, "<&>"]}}`},
		{name: "absent is null", input: `{"key":"same"}`, want: `{"output":null}`},
		{name: "invalid output", input: `{"key":"bad","input":1}`, wantErr: `pdk: transform "bad": encode output: json.RawMessage output is not valid JSON`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Call("transform", []byte(tc.input))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Call() = %s, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("Call() = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestAuthHandler(t *testing.T) {
	t.Parallel()
	c := hello()
	c.Auth.Handler = func(ctx *pdk.Context, req pdk.AuthRequest) (pdk.AuthResult, error) {
		if req.Op != pdk.OpRefresh {
			return pdk.AuthResult{OK: req.Credential["user"] == "ann"}, nil
		}
		return pdk.AuthResult{OK: true, Set: map[string]any{"expiresAt": "later"}}, nil
	}
	tests := []struct{ name, input, want string }{
		{"test ok", `{"op":"test","credential":{"user":"ann"},"config":{}}`, `{"ok":true,"set":{}}`},
		{"test not ok", `{"op":"test","credential":{"user":"bob"}}`, `{"ok":false,"set":{}}`},
		{"refresh sets", `{"op":"refresh"}`, `{"ok":true,"set":{"expiresAt":"later"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Call("auth", []byte(tc.input))
			if err != nil || string(got) != tc.want {
				t.Errorf("Call(auth) = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	var v pdk.Values
	if err := json.Unmarshal([]byte(`{"Content-Type":"application/json","Accept":["a","b"],"X-N":3,"X-Null":null}`), &v); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, key, want string }{
		{"exact", "Content-Type", "application/json"},
		{"case-insensitive", "content-type", "application/json"},
		{"list joined", "accept", "a, b"},
		{"number as text", "x-n", "3"},
		{"null is empty", "X-Null", ""},
		{"missing", "X-Missing", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := v.Get(tc.key); got != tc.want {
				t.Errorf("Get(%q) = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

func ExampleConnector_Call() {
	c := pdk.Connector{
		AppKey: "hello", Name: "Hello", Version: "1.0.0",
		Actions: []pdk.Action{{
			Key: "greet", Name: "Greet",
			Handler: pdk.Handle(func(ctx *pdk.Context, in greetIn) (greetOut, error) {
				return greetOut{Text: "hello " + in.Name}, nil
			}),
		}},
	}
	out, err := c.Call("action", []byte(`{"key":"greet","params":{"name":"ann"},"idempotencyKey":"k1"}`))
	fmt.Println(string(out), err)
	// Output: {"output":{"text":"hello ann"}} <nil>
}
