package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	pdk "github.com/splicehq/splice/pdk/go"
)

func TestManifest(t *testing.T) {
	t.Parallel()
	b, err := connector.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		AppKey  string `json:"appKey"`
		Version string `json:"version"`
		Auth    struct {
			Type, In, Name, Format string
			Fields                 []struct {
				Key    string `json:"key"`
				Secret bool   `json:"secret"`
			} `json:"fields"`
		} `json:"auth"`
		Hosts      []string               `json:"hosts"`
		Triggers   []json.RawMessage      `json:"triggers"`
		Actions    []struct{ Key string } `json:"actions"`
		Transforms []struct{ Key string } `json:"transforms"`
		Limits     map[string]int64       `json:"limits"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest %s: %v", b, err)
	}
	a := m.Auth
	switch {
	case m.AppKey != "chat" || m.Version != "1.0.0":
		t.Errorf("appKey, version = %q, %q", m.AppKey, m.Version)
	case a.Type != "apiKey" || a.In != "header" || a.Name != "Authorization" || a.Format != "Bearer {{credential.token}}":
		t.Errorf("auth = %+v", a)
	case len(a.Fields) != 2 || a.Fields[0].Key != "token" || !a.Fields[0].Secret || a.Fields[1].Key != "baseUrl" || a.Fields[1].Secret:
		t.Errorf("auth fields = %+v", a.Fields)
	case !reflect.DeepEqual(m.Hosts, []string{"127.0.0.1", "localhost", "chat.example.com"}):
		t.Errorf("hosts = %q", m.Hosts)
	case len(m.Triggers) != 0 || len(m.Actions) != 1 || m.Actions[0].Key != "send-message" ||
		len(m.Transforms) != 1 || m.Transforms[0].Key != "format-order":
		t.Errorf("triggers, actions, transforms = %s", b)
	case m.Limits["httpCalls"] != 1 || m.Limits["httpResponseBytes"] != maxReplyBytes:
		t.Errorf("limits = %v", m.Limits)
	}
}

// TestSchemasMatchLimits holds the schemas' lengths to the limits the
// handlers check.
func TestSchemasMatchLimits(t *testing.T) {
	t.Parallel()
	type prop struct{ MinLength, MaxLength int }
	var send, msg, format struct {
		Properties map[string]prop `json:"properties"`
	}
	for _, s := range []struct {
		text pdk.Schema
		v    any
	}{{sendMessageInputSchema, &send}, {messageSchema, &msg}, {formatOrderInputSchema, &format}} {
		if err := json.Unmarshal([]byte(s.text), s.v); err != nil {
			t.Fatalf("schema %s: %v", s.text, err)
		}
	}
	want := map[string]prop{"channel": {1, maxChannelRunes}, "text": {1, maxTextRunes}}
	for name, p := range want {
		if send.Properties[name] != p || msg.Properties[name] != p {
			t.Errorf("%s: send-message %+v, message %+v, want %+v", name, send.Properties[name], msg.Properties[name], p)
		}
	}
	if format.Properties["channel"] != want["channel"] {
		t.Errorf("format-order channel %+v", format.Properties["channel"])
	}
}

// order is a realistic order, shaped like the load benchmark's (cmd/splice-load).
const order = `{"id":1042,"customer":{"name":"Grace Hopper","email":"grace.hopper@example.com"},"currency":"EUR",
 "lines":[{"sku":"SKU-0042","qty":2,"price":19.90},{"sku":"SKU-7781","qty":1,"price":83.60}],"total":123.40,
 "note":"Please leave the parcel at the front desk if nobody answers."}`

func TestFormatOrder(t *testing.T) {
	t.Parallel()
	longName := strings.Repeat("é", 5000)
	tests := []struct {
		name, input string
		want        string // the output, exactly
		wantErr     string
	}{
		{name: "order under order", input: `{"order":` + order + `}`,
			want: `{"channel":"#orders","text":"New order 1042 by Grace Hopper, total 123.40"}`},
		{name: "order at the top", input: order,
			want: `{"channel":"#orders","text":"New order 1042 by Grace Hopper, total 123.40"}`},
		{name: "brief example", input: `{"order":{"id":7,"customer":{"name":"Ann"},"total":12.5}}`,
			want: `{"channel":"#orders","text":"New order 7 by Ann, total 12.5"}`},
		{name: "channel override", input: `{"channel":"#sales","order":{"id":"A-7","customer":{"name":"Ann"},"total":"12.50 EUR"}}`,
			want: `{"channel":"#sales","text":"New order A-7 by Ann, total 12.50 EUR"}`},
		{name: "channel override with the order at the top", input: `{"channel":"#eu","id":7,"total":1}`,
			want: `{"channel":"#eu","text":"New order 7 by , total 1"}`},
		{name: "no customer nor total", input: `{"order":{"id":7}}`,
			want: `{"channel":"#orders","text":"New order 7 by , total "}`},
		{name: "null customer and total", input: `{"order":{"id":7,"customer":null,"total":null,"lines":null}}`,
			want: `{"channel":"#orders","text":"New order 7 by , total "}`},
		{name: "customer without name", input: `{"order":{"id":7,"customer":{"email":"a@b.c"},"total":0}}`,
			want: `{"channel":"#orders","text":"New order 7 by , total 0"}`},
		{name: "customer is not an object", input: `{"order":{"id":7,"customer":"Ann","total":2}}`,
			want: `{"channel":"#orders","text":"New order 7 by , total 2"}`},
		{name: "odd values as JSON text", input: `{"order":{"id":7e2,"customer":{"name":["A", "B"]},"total":{"eur": 1}}}`,
			want: `{"channel":"#orders","text":"New order 7e2 by [\"A\",\"B\"], total {\"eur\":1}"}`},
		{name: "text with quotes and markup", input: `{"order":{"id":7,"customer":{"name":"Ann \"<b>\" & Co\n"},"total":1}}`,
			want: `{"channel":"#orders","text":"New order 7 by Ann \"<b>\" & Co\n, total 1"}`},
		{name: "null order falls back to the top", input: `{"order":null,"id":9}`,
			want: `{"channel":"#orders","text":"New order 9 by , total "}`},
		{name: "long text is cut", input: `{"order":{"id":7,"customer":{"name":"` + longName + `"}}}`,
			want: `{"channel":"#orders","text":"New order 7 by ` + strings.Repeat("é", maxTextRunes-len("New order 7 by ")-1) + `…"}`},
		{name: "no id", input: `{"order":{"customer":{"name":"Ann"}}}`, wantErr: "chat: format-order: the order has no id"},
		{name: "null id", input: `{"order":{"id":null}}`, wantErr: "chat: format-order: the order has no id"},
		{name: "empty input", input: `{}`, wantErr: "chat: format-order: the order has no id"},
		{name: "null order and no id", input: `{"order":null}`, wantErr: "chat: format-order: the order has no id"},
		{name: "order not an object", input: `{"order":[1]}`, wantErr: "chat: format-order: order: must be an object"},
		{name: "input not an object", input: `"order"`, wantErr: "chat: format-order: input: must be an object"},
		{name: "input null", input: `null`, wantErr: "chat: format-order: input is required"},
		{name: "channel not a string", input: `{"channel":5,"id":7}`, wantErr: "chat: format-order: channel must be a string"},
		{name: "channel empty", input: `{"channel":"","id":7}`, wantErr: "chat: format-order: channel must have 1 to 80 characters, not 0"},
		{name: "channel too long", input: `{"channel":"` + strings.Repeat("c", 81) + `","id":7}`,
			wantErr: "chat: format-order: channel must have 1 to 80 characters, not 81"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := connector.Call("transform", []byte(`{"key":"format-order","input":`+tc.input+`}`))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Call() = %s, %v; want error containing %q", out, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Call() error = %v", err)
			}
			if want := `{"output":` + tc.want + `}`; string(out) != want {
				t.Errorf("Call()\n got %s\nwant %s", out, want)
			}
		})
	}
}

func TestSendParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, params string
		want         message
		wantErr      string
	}{
		{name: "channel and text", params: `{"channel":"#orders","text":"hi"}`, want: message{Channel: "#orders", Text: "hi"}},
		{name: "thread", params: `{"channel":"#orders","text":"hi","threadId":"t1"}`, want: message{Channel: "#orders", Text: "hi", ThreadID: "t1"}},
		{name: "limits count characters, not bytes",
			params: `{"channel":"` + strings.Repeat("é", 80) + `","text":"` + strings.Repeat("日", 4000) + `"}`,
			want:   message{Channel: strings.Repeat("é", 80), Text: strings.Repeat("日", 4000)}},
		{name: "no params", params: `null`, wantErr: "chat: send-message: channel is required"},
		{name: "no channel", params: `{"text":"hi"}`, wantErr: "chat: send-message: channel is required"},
		{name: "no text", params: `{"channel":"#c"}`, wantErr: "chat: send-message: text is required"},
		{name: "empty channel", params: `{"channel":"","text":"hi"}`, wantErr: "channel must have 1 to 80 characters, not 0"},
		{name: "long channel", params: `{"channel":"` + strings.Repeat("é", 81) + `","text":"hi"}`, wantErr: "channel must have 1 to 80 characters, not 81"},
		{name: "empty text", params: `{"channel":"#c","text":""}`, wantErr: "text must have 1 to 4000 characters, not 0"},
		{name: "long text", params: `{"channel":"#c","text":"` + strings.Repeat("x", 4001) + `"}`, wantErr: "text must have 1 to 4000 characters, not 4001"},
		{name: "wrong type", params: `{"channel":5,"text":"hi"}`, wantErr: "chat: send-message: params: json: cannot unmarshal number"},
		{name: "unknown member", params: `{"channel":"#c","text":"hi","thread":"t1"}`, wantErr: `chat: send-message: params: json: unknown field "thread"`},
		{name: "not an object", params: `["#c","hi"]`, wantErr: "chat: send-message: params: json: cannot unmarshal array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeSendParams(json.RawMessage(tc.params))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("decodeSendParams() = %+v, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("decodeSendParams() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestBuildRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		msg            message
		idempotencyKey string
		wantBody       string // exactly
		wantHeaders    map[string]string
	}{
		{name: "message", msg: message{Channel: "#orders", Text: "New order 7 by Ann, total 12.5"}, idempotencyKey: "9f86d081884c7d65",
			wantBody: `{"channel":"#orders","text":"New order 7 by Ann, total 12.5"}`,
			wantHeaders: map[string]string{"Accept": "application/json", "Content-Type": "application/json; charset=utf-8",
				"Idempotency-Key": "9f86d081884c7d65"}},
		{name: "thread reply without idempotency key", msg: message{Channel: "#c", Text: "<https://x.test|x> & y", ThreadID: "1503435956.000247"},
			wantBody:    `{"channel":"#c","text":"<https://x.test|x> & y","threadId":"1503435956.000247"}`,
			wantHeaders: map[string]string{"Accept": "application/json", "Content-Type": "application/json; charset=utf-8"}},
		{name: "placeholders in user text are escaped", msg: message{Channel: "#{{credential.baseUrl}}", Text: "my token is {{credential.token}} {"},
			wantBody:    `{"channel":"#\u007b\u007bcredential.baseUrl}}","text":"my token is \u007b\u007bcredential.token}} \u007b"}`,
			wantHeaders: map[string]string{"Accept": "application/json", "Content-Type": "application/json; charset=utf-8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := buildRequest(tc.msg, tc.idempotencyKey)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != "POST" || req.URL != "{{credential.baseUrl}}/api/chat.postMessage" || !req.Auth || req.Timeout != 0 {
				t.Errorf("request = %s %s auth %v timeout %v", req.Method, req.URL, req.Auth, req.Timeout)
			}
			if !reflect.DeepEqual(req.Headers, tc.wantHeaders) {
				t.Errorf("headers = %v, want %v", req.Headers, tc.wantHeaders)
			}
			if string(req.Body) != tc.wantBody {
				t.Errorf("body\n got %s\nwant %s", req.Body, tc.wantBody)
			}
			if strings.Contains(string(req.Body), "{{") {
				t.Errorf("body %s holds a placeholder the host would expand", req.Body)
			}
			var back message
			if err := json.Unmarshal(req.Body, &back); err != nil || back != tc.msg {
				t.Errorf("body decodes to %+v, %v; want %+v", back, err, tc.msg)
			}
		})
	}
	if _, err := buildRequest(message{Channel: "#c", Text: "t"}, "{{credential.token}}"); err == nil {
		t.Error("buildRequest with a placeholder in the idempotency key: no error")
	}
}

func TestReadReply(t *testing.T) {
	t.Parallel()
	id := func(s string) *string { return &s }
	big := `{"id":"m1","pad":"` + strings.Repeat("x", maxReplyBytes) + `"}`
	tests := []struct {
		name    string
		status  int
		body    string
		want    sendOutput
		wantErr string
	}{
		{name: "id", status: 200, body: `{"ok":true,"id":"m1","ts":"1.2"}`, want: sendOutput{OK: true, Status: 200, MessageID: id("m1")}},
		{name: "ts", status: 200, body: `{"ok":true,"channel":"C1","ts":"1503435956.000247"}`, want: sendOutput{OK: true, Status: 200, MessageID: id("1503435956.000247")}},
		{name: "numeric id", status: 201, body: ` {"id": 42} `, want: sendOutput{OK: true, Status: 201, MessageID: id("42")}},
		{name: "no id", status: 200, body: `{"ok":true}`, want: sendOutput{OK: true, Status: 200}},
		{name: "empty or odd id", status: 200, body: `{"id":"","ts":{"a":1}}`, want: sendOutput{OK: true, Status: 200}},
		{name: "no body", status: 204, want: sendOutput{OK: true, Status: 204}},
		{name: "not JSON", status: 200, body: `ok`, want: sendOutput{OK: true, Status: 200}},
		{name: "broken JSON", status: 200, body: `{"id":`, want: sendOutput{OK: true, Status: 200}},
		{name: "too large to read", status: 200, body: big, want: sendOutput{OK: true, Status: 200}},
		{name: "ok false", status: 200, body: `{"ok":false,"error":"channel_not_found"}`,
			wantErr: "chat: send-message: the chat API answered status 200 with ok false: channel_not_found"},
		{name: "ok false without reason", status: 200, body: `{"ok":false}`,
			wantErr: "chat: send-message: the chat API answered status 200 with ok false: no reason given"},
		{name: "bad request", status: 400, body: "{\"ok\":false,\n \"error\":\"invalid_channel\"}",
			wantErr: `chat: send-message: the chat API refused the message with status 400: {"ok":false, "error":"invalid_channel"}`},
		{name: "not found", status: 404, wantErr: "chat: send-message: the chat API refused the message with status 404"},
		{name: "unauthorized", status: 401, body: `{"error":"invalid_auth"}`,
			wantErr: `chat: send-message: the chat API refused the credential with status 401 (check its token): {"error":"invalid_auth"}`},
		{name: "rate limited", status: 429, body: `slow down`, wantErr: "chat: send-message: the chat API failed with status 429 (temporary): slow down"},
		{name: "server error", status: 503, wantErr: "chat: send-message: the chat API failed with status 503 (temporary)"},
		{name: "long error body is cut", status: 500, body: strings.Repeat("e", 1000),
			wantErr: "chat: send-message: the chat API failed with status 500 (temporary): " + strings.Repeat("e", snippetBytes) + "..."},
		{name: "binary error body is left out", status: 502, body: "\xff\xfe",
			wantErr: "chat: send-message: the chat API failed with status 502 (temporary)"},
		{name: "redirect", status: 302, wantErr: "chat: send-message: unexpected status 302 from the chat API"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readReply(&pdk.Response{Status: tc.status, Headers: map[string]string{}, Body: []byte(tc.body)})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("readReply() = %+v, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("readReply() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestSendMessageWithoutHost runs the action natively, where the PDK answers
// as a host without an HTTP broker: params are checked first, then the
// request fails with kind unavailable.
func TestSendMessageWithoutHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, input, wantErr string }{
		{name: "no broker", input: `{"key":"send-message","params":{"channel":"#c","text":"hi"},"idempotencyKey":"k1"}`,
			wantErr: "chat: send-message: splice: http unavailable: the host has no HTTP broker for this call"},
		{name: "bad params fail before any request", input: `{"key":"send-message","params":{"channel":"#c"}}`,
			wantErr: "chat: send-message: text is required"},
		{name: "unknown action", input: `{"key":"post","params":{}}`, wantErr: `pdk: connector chat has no action "post"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := connector.Call("action", []byte(tc.input))
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("Call() = %s, %v; want error %q", out, err, tc.wantErr)
			}
		})
	}
}

func FuzzFormatOrder(f *testing.F) {
	for _, s := range []string{`{"order":` + order + `}`, order, `{"channel":"#x","id":"é"}`, `{"order":{"id":1,"customer":{"name":null}}}`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		out, err := connector.Call("transform", []byte(`{"key":"format-order","input":`+input+`}`))
		if err != nil {
			return
		}
		var env struct{ Output message }
		if err := json.Unmarshal(out, &env); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if n := utf8.RuneCountInString(env.Output.Text); n < 1 || n > maxTextRunes {
			t.Fatalf("text of %d characters", n)
		}
		if n := utf8.RuneCountInString(env.Output.Channel); n < 1 || n > maxChannelRunes {
			t.Fatalf("channel of %d characters", n)
		}
	})
}

func FuzzReadReply(f *testing.F) {
	f.Add(200, []byte(`{"ok":true,"id":"m1"}`))
	f.Add(200, []byte(`{"ok":false,"error":{"x":[1]}}`))
	f.Add(503, []byte("\xff"+strings.Repeat("é", 200)))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		out, err := readReply(&pdk.Response{Status: status, Headers: map[string]string{}, Body: body})
		if err != nil {
			if !utf8.ValidString(err.Error()) || len(err.Error()) > 512 {
				t.Fatalf("error %q", err)
			}
			return
		}
		if !out.OK || out.Status < 200 || out.Status > 299 {
			t.Fatalf("output %+v for status %d", out, status)
		}
	})
}

func FuzzEncodeMessage(f *testing.F) {
	f.Add("#c", "{{credential.token}}", "")
	f.Add("{", "\u2028<>&\"\\", "{{ credential.x }}")
	f.Fuzz(func(t *testing.T, channel, text, thread string) {
		if !utf8.ValidString(channel) || !utf8.ValidString(text) || !utf8.ValidString(thread) {
			return // encoding/json replaces invalid UTF-8; the host hands over valid strings
		}
		msg := message{Channel: channel, Text: text, ThreadID: thread}
		b, err := encodeMessage(msg)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b[1:]), "{") {
			t.Fatalf("body %s has an unescaped {", b)
		}
		var back message
		if err := json.Unmarshal(b, &back); err != nil || back != msg {
			t.Fatalf("body %s decodes to %+v, %v", b, back, err)
		}
	})
}
