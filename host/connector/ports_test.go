package connector_test

// Cross-checks of the C connectors against the Go connectors they stand in for in the load
// benchmark's workload W1 (webhook → chat format-order → chat send-message): the C port of chat
// (connectors/chat-c, .build/wasm/chat-c.wasm) against the Go chat connector, and the C webhook
// connector's trigger json against the Go echo connector's trigger received. Both run in the
// sandbox as the engine runs them, the send-message calls through a broker session to a loopback
// upstream.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
)

// outcome is what a call gave: its output, or its error's kind and message.
type outcome struct {
	Output string
	Kind   sandbox.Kind
	Err    string
}

func (o outcome) String() string {
	if o.Kind != "" {
		return fmt.Sprintf("%s: %q", o.Kind, o.Err)
	}
	return o.Output
}

func outcomeOf(res *sandbox.Result, err error) outcome {
	if err != nil {
		var se *sandbox.Error
		if !errors.As(err, &se) {
			return outcome{Kind: "?", Err: err.Error()}
		}
		return outcome{Kind: se.Kind, Err: se.Message}
	}
	return outcome{Output: string(res.Output)}
}

func callConn(c *connector.Connector, export string, input []byte, doer sandbox.HTTPDoer) outcome {
	return outcomeOf(c.CallWith(context.Background(), sandbox.CallOptions{Consumer: "c1", Export: export, Input: input, HTTP: doer}))
}

// loadGuest loads .build/wasm/<name>.wasm (built from source when needed) as a connector.
func loadGuest(t testing.TB, rt *sandbox.Runtime, name string) *connector.Connector {
	t.Helper()
	c, err := connector.Load(context.Background(), rt, testkit.Guest(t, name), connector.Options{})
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// compileRaw compiles a guest as a bare module, for the exports a connector refuses to call (the
// chat manifest's apiKey auth declares no auth export).
func compileRaw(t testing.TB, rt *sandbox.Runtime, name string) *sandbox.Module {
	t.Helper()
	m, err := rt.Compile(context.Background(), testkit.Guest(t, name), sandbox.ModuleOptions{Name: name})
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

func rawCall(m *sandbox.Module, export string, input []byte) outcome {
	return outcomeOf(m.Call(context.Background(), sandbox.CallOptions{Consumer: "c1", Export: export, Input: input}))
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return cmp.Equal(x, y)
}

func TestChatPortManifest(t *testing.T) {
	rt := newRuntime(t)
	goChat, cChat := loadGuest(t, rt, "connector-chat"), loadGuest(t, rt, "chat-c")
	gm, cm := rawCall(compileRaw(t, rt, "connector-chat"), "describe", []byte("{}")), rawCall(compileRaw(t, rt, "chat-c"), "describe", []byte("{}"))
	if gm.Kind != "" || cm.Kind != "" {
		t.Fatalf("describe: go %v, c %v", gm, cm)
	}
	if !jsonEqual(t, []byte(gm.Output), []byte(cm.Output)) {
		t.Errorf("manifests differ:\n go %s\n  c %s", gm.Output, cm.Output)
	}
	// Loading validated both against the manifest schema; the parsed manifests agree too.
	if d := cmp.Diff(goChat.Manifest(), cChat.Manifest()); d != "" {
		t.Errorf("parsed manifests differ (-go +c):\n%s", d)
	}
	if m := cChat.Manifest(); m.AppKey != "chat" || m.Version != "1.0.0" || len(m.Actions) != 1 || len(m.Transforms) != 1 {
		t.Errorf("c manifest: %+v", m)
	}
}

// chatOrder is a realistic order, as in connectors/chat's tests.
const chatOrder = `{"id":1042,"customer":{"name":"Grace Hopper","email":"grace.hopper@example.com"},"currency":"EUR",
 "lines":[{"sku":"SKU-0042","qty":2,"price":19.90},{"sku":"SKU-7781","qty":1,"price":83.60}],"total":123.40,
 "note":"Please leave the parcel at the front desk if nobody answers."}`

func TestChatPortFormatOrder(t *testing.T) {
	rt := newRuntime(t)
	goChat, cChat := loadGuest(t, rt, "connector-chat"), loadGuest(t, rt, "chat-c")
	long := strings.Repeat("é", 5000)
	tests := []struct {
		name, input string // input: the transform's whole input document
		want        string // when set, the output (or error message) both must give
	}{
		{name: "order under order", input: `{"key":"format-order","input":{"order":` + chatOrder + `}}`,
			want: `{"output":{"channel":"#orders","text":"New order 1042 by Grace Hopper, total 123.40"}}`},
		{name: "order at the top", input: `{"key":"format-order","input":` + chatOrder + `}`},
		{name: "string id, channel override", input: `{"key":"format-order","input":{"channel":"#sales","order":{"id":"A-7","customer":{"name":"Ann"},"total":"12.50 EUR"}}}`,
			want: `{"output":{"channel":"#sales","text":"New order A-7 by Ann, total 12.50 EUR"}}`},
		{name: "numbers as written", input: `{"key":"format-order","input":{"order":{"id":7e2,"total":-0.50}}}`,
			want: `{"output":{"channel":"#orders","text":"New order 7e2 by , total -0.50"}}`},
		{name: "big number", input: `{"key":"format-order","input":{"id":123456789012345678901234567890,"total":1E+400}}`},
		{name: "no customer nor total", input: `{"key":"format-order","input":{"order":{"id":7}}}`,
			want: `{"output":{"channel":"#orders","text":"New order 7 by , total "}}`},
		{name: "nulls", input: `{"key":"format-order","input":{"order":{"id":7,"customer":null,"total":null,"lines":null},"channel":null}}`},
		{name: "customer without name", input: `{"key":"format-order","input":{"order":{"id":7,"customer":{"email":"a@b.c"},"total":0}}}`},
		{name: "customer not an object", input: `{"key":"format-order","input":{"order":{"id":7,"customer":"Ann","total":2}}}`},
		{name: "customer an array", input: `{"key":"format-order","input":{"order":{"id":7,"customer":[{"name":"Ann"}]}}}`},
		{name: "odd values as compact JSON", input: `{"key":"format-order","input":{"order":{"id":true,"customer":{"name":[ "A" , {"b" : "x y" } ]},"total":{ "eur" : 1 }}}}`,
			want: `{"output":{"channel":"#orders","text":"New order true by [\"A\",{\"b\":\"x y\"}], total {\"eur\":1}"}}`},
		{name: "empty string id", input: `{"key":"format-order","input":{"id":"","total":""}}`},
		{name: "quotes markup and controls", input: `{"key":"format-order","input":{"order":{"id":7,"customer":{"name":"Ann \"<b>\" & Co\n\t\u0001\u001f\u007f"},"total":1}}}`,
			want: "{\"output\":{\"channel\":\"#orders\",\"text\":\"New order 7 by Ann \\\"<b>\\\" & Co\\n\\t\\u0001\\u001f\x7f, total 1\"}}"},
		{name: "unicode", input: `{"key":"format-order","input":{"channel":"#日本","order":{"id":"ü-1","customer":{"name":"Zoë 😀 \u00e9\ud83d\ude00 \u2028\u2029"},"total":"€5"}}}`,
			want: "{\"output\":{\"channel\":\"#日本\",\"text\":\"New order ü-1 by Zoë 😀 é😀 \\u2028\\u2029, total €5\"}}"},
		{name: "lone surrogates", input: `{"key":"format-order","input":{"id":"\ud800x\udc00\ud800\ud800\udc00"}}`},
		{name: "invalid UTF-8 in a string", input: "{\"key\":\"format-order\",\"input\":{\"id\":\"a\xff\xe2\x82b\",\"customer\":{\"name\":\"\xed\xa0\x80\"}}}"},
		{name: "invalid UTF-8 in compact JSON", input: "{\"key\":\"format-order\",\"input\":{\"id\":7,\"customer\":{\"name\":[\"\xff\"]}}}"},
		{name: "escaped keys", input: `{"key":"format-order","input":{"\u006frder":{"\u0069d":5,"to\u0074al":2},"ch\u0061nnel":"#x"}}`,
			want: `{"output":{"channel":"#x","text":"New order 5 by , total 2"}}`},
		{name: "duplicate keys: the last wins", input: `{"key":"format-order","key":"format-order","input":{"order":{"id":1,"id":2,"customer":{"name":"A","name":"B"}},"channel":"#a","channel":"#b"}}`,
			want: `{"output":{"channel":"#b","text":"New order 2 by B, total "}}`},
		{name: "null order falls back to the top", input: `{"key":"format-order","input":{"order":null,"id":9}}`},
		{name: "whitespace everywhere", input: " \n{ \"key\" : \"format-order\" ,\t\"input\" : { \"order\" : { \"id\" : 7 , \"total\" : [ 1 , 2 ] } } } \n"},
		{name: "long text is cut", input: `{"key":"format-order","input":{"order":{"id":7,"customer":{"name":"` + long + `"}}}}`,
			want: `{"output":{"channel":"#orders","text":"New order 7 by ` + strings.Repeat("é", 4000-len("New order 7 by ")-1) + `…"}}`},
		{name: "text of exactly 4000 characters", input: `{"key":"format-order","input":{"id":7,"customer":{"name":"` + strings.Repeat("x", 4000-len("New order 7 by , total ")) + `"}}}`},
		{name: "text of 4001 characters", input: `{"key":"format-order","input":{"id":7,"customer":{"name":"` + strings.Repeat("x", 4001-len("New order 7 by , total ")) + `"}}}`},
		{name: "long text with invalid UTF-8 is cut", input: "{\"key\":\"format-order\",\"input\":{\"id\":7,\"customer\":{\"name\":[\"" + strings.Repeat("\xff", 4100) + "\"]}}}"},
		{name: "channel of 80 characters", input: `{"key":"format-order","input":{"channel":"` + strings.Repeat("é", 80) + `","id":7}}`},
		// Errors.
		{name: "no id", input: `{"key":"format-order","input":{"order":{"customer":{"name":"Ann"}}}}`,
			want: `chat: format-order: the order has no id (give it under "order", or as the input itself)`},
		{name: "null id", input: `{"key":"format-order","input":{"order":{"id":null}}}`},
		{name: "empty input", input: `{"key":"format-order","input":{}}`},
		{name: "order not an object", input: `{"key":"format-order","input":{"order":[1]}}`, want: "chat: format-order: order: must be an object"},
		{name: "order a string", input: `{"key":"format-order","input":{"order":"7"}}`},
		{name: "input not an object", input: `{"key":"format-order","input":"order"}`, want: "chat: format-order: input: must be an object"},
		{name: "input an array", input: `{"key":"format-order","input":[{"id":1}]}`},
		{name: "input null", input: `{"key":"format-order","input":null}`, want: "chat: format-order: input is required"},
		{name: "input absent", input: `{"key":"format-order"}`},
		{name: "channel not a string", input: `{"key":"format-order","input":{"channel":5,"id":7}}`, want: "chat: format-order: channel must be a string"},
		{name: "channel empty", input: `{"key":"format-order","input":{"channel":"","id":7}}`,
			want: "chat: format-order: channel must have 1 to 80 characters, not 0"},
		{name: "channel too long", input: `{"key":"format-order","input":{"channel":"` + strings.Repeat("é", 81) + `","id":7}}`,
			want: "chat: format-order: channel must have 1 to 80 characters, not 81"},
		{name: "channel error before id error", input: `{"key":"format-order","input":{"channel":""}}`},
		{name: "unknown transform", input: `{"key":"format-invoice","input":{}}`, want: `pdk: connector chat has no transform "format-invoice"`},
		{name: "unknown transform with odd characters", input: `{"key":"a\"b\\c\n\u0000é\u00a0\u2028` + "\xff" + `","input":{}}`},
		{name: "key missing", input: `{"input":{"id":1}}`, want: `pdk: connector chat has no transform ""`},
		{name: "key null", input: `{"key":null,"input":{"id":1}}`},
		{name: "key not a string", input: `{"key":5,"input":{"id":1}}`, want: "pdk: transform: decode input: key must be a string"},
		{name: "envelope not an object", input: `["format-order"]`, want: "pdk: transform: decode input: not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := callConn(goChat, "transform", []byte(tc.input), nil)
			c := callConn(cChat, "transform", []byte(tc.input), nil)
			if g != c {
				t.Fatalf("outcomes differ for %s\n go %v\n  c %v", tc.input, g, c)
			}
			if tc.want != "" && g.Output != tc.want && g.Err != tc.want {
				t.Errorf("both gave %v, want %s", g, tc.want)
			}
			if g.Kind == "" && !utf8.ValidString(g.Output) {
				t.Errorf("output is not UTF-8: %q", g.Output)
			}
		})
	}
	// Malformed envelopes (the host never sends them) fail on both, with Go's JSON syntax
	// error on one side and "invalid JSON" on the other.
	for _, input := range []string{`{"key":"format-order","input":{}} x`, `{"key":"format-order","input":{"id":01}}`, ``, `{"key":"format-order",}`} {
		g := callConn(goChat, "transform", []byte(input), nil)
		c := callConn(cChat, "transform", []byte(input), nil)
		const prefix = "pdk: transform: decode input: "
		if g.Kind != sandbox.KindGuest || c.Kind != sandbox.KindGuest || !strings.HasPrefix(g.Err, prefix) || c.Err != prefix+"invalid JSON" {
			t.Errorf("malformed %q: go %v, c %v", input, g, c)
		}
	}
}

// chatCreds holds one consumer's chat credential: a secret token and a non-secret baseUrl.
type chatCreds struct{ secrets, fields map[string]string }

func (c chatCreds) Secrets(_ context.Context, consumer, key string) (map[string]string, error) {
	if consumer != "c1" || key != "chat-1" {
		return nil, fmt.Errorf("no credential %s/%s", consumer, key)
	}
	return maps.Clone(c.secrets), nil
}

func (c chatCreds) SwapSecrets(context.Context, string, string, map[string]string, map[string]string) (bool, error) {
	return false, errors.New("read-only")
}

func (c chatCreds) Fields(context.Context, string, string) (map[string]string, error) {
	return maps.Clone(c.fields), nil
}

// seen is a request as the upstream saw it.
type seen struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// chatUpstream is a loopback chat API whose answer each case sets.
type chatUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	answer http.HandlerFunc
	seen   []seen
}

func newChatUpstream(t *testing.T) *chatUpstream {
	u := &chatUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, seen{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: string(body)})
		answer := u.answer
		u.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

// take returns and forgets the requests seen so far.
func (u *chatUpstream) take() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.seen
	u.seen = nil
	return s
}

func (u *chatUpstream) set(h http.HandlerFunc) {
	u.mu.Lock()
	u.answer = h
	u.mu.Unlock()
}

// reply answers with a status, a body and, optionally, headers (name, value pairs).
func reply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// comparable strips what legitimately differs between two runs of the same exchange.
func comparableExchanges(ex []broker.Exchange) []broker.Exchange {
	out := make([]broker.Exchange, len(ex))
	for i, e := range ex {
		e.StartedAt, e.DurationMS = time.Time{}, 0
		e.ResponseHeaders = maps.Clone(e.ResponseHeaders)
		delete(e.ResponseHeaders, "Date")
		out[i] = e
	}
	return out
}

func TestChatPortSendMessage(t *testing.T) {
	const token = "sk-CANARY-chat-7731"
	rt := newRuntime(t)
	goChat, cChat := loadGuest(t, rt, "connector-chat"), loadGuest(t, rt, "chat-c")
	up := newChatUpstream(t)
	creds := chatCreds{secrets: map[string]string{"token": token}, fields: map[string]string{"baseUrl": up.URL}}
	b, err := broker.New(broker.Options{Env: "development", AllowHTTP: true, AllowLoopback: true, AnyPort: true, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	ok := reply(200, `{"ok":true,"id":"1700000000.000001"}`)
	longReason := strings.Repeat("é", 200) // 400 bytes
	longBody := strings.Repeat("x", 254) + "éé" + strings.Repeat(" y", 100)
	tests := []struct {
		name   string
		params string // the action's params
		idem   string // the idempotencyKey
		answer http.HandlerFunc
		noHTTP bool // call without a broker session
		noCred bool // a session without a credential
		want   string
	}{
		{name: "posted with id", params: `{"channel":"#orders","text":"hi"}`, idem: "run1.step1", answer: ok,
			want: `{"output":{"ok":true,"status":200,"messageId":"1700000000.000001"}}`},
		{name: "thread, markup, unicode, newlines", params: `{"channel":"#日本","text":"<https://x|y> & \"z\"\n\t😀 \u2028 \u0001","threadId":"1503435956.000247"}`, idem: "k", answer: ok},
		{name: "empty threadId is left out", params: `{"channel":"#c","text":"t","threadId":""}`, answer: ok},
		{name: "null threadId", params: `{"channel":"#c","text":"t","threadId":null}`, answer: ok},
		{name: "placeholder in the text is not expanded", params: `{"channel":"#{{credential.token}}","text":"{{credential.token}} {{ credential.baseUrl }} {x}","threadId":"{{credential.token}}"}`, answer: ok},
		{name: "fields matched ignoring case", params: `{"CHANNEL":"#c","Text":"t","threadid":"9"}`, answer: ok},
		{name: "escaped keys, duplicates", params: `{"ch\u0061nnel":"#a","channel":"#b","text":"1","text":"2"}`, answer: ok},
		{name: "text of 4000 characters", params: `{"channel":"#c","text":"` + strings.Repeat("é", 4000) + `"}`, answer: ok},
		{name: "ts when no id", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"ok":true,"ts":"1.2"}`)},
		{name: "id as a number, as written", params: `{"channel":"#c","text":"t"}`, answer: reply(201, ` {"id": 12.50, "ts": "x"} `),
			want: `{"output":{"ok":true,"status":201,"messageId":"12.50"}}`},
		{name: "empty id falls back to ts", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"id":"","ts":-5}`)},
		{name: "non-id types", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"id":true,"ts":{"a":1}}`)},
		{name: "id keys any case", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"ID":"a","iD":"b","Ts":"c"}`)},
		{name: "Kelvin sign and long s", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"o\u212a":false,"t\u017f":"x","error":"kelvin"}`)},
		{name: "escapes in the id", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"id":"a\u00e9\ud83d\ude00\"\n"}`)},
		{name: "ok not a boolean: the reply is not read", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"ok":"false","id":"x"}`),
			want: `{"output":{"ok":true,"status":200,"messageId":null}}`},
		{name: "ok null", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"ok":false,"ok":null,"id":"x"}`)},
		{name: "ok false", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"ok":false,"error":"channel_not_found"}`),
			want: "chat: send-message: the chat API answered status 200 with ok false: channel_not_found"},
		{name: "ok false without reason", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"ok":false,"error":""}`),
			want: "chat: send-message: the chat API answered status 200 with ok false: no reason given"},
		{name: "ok false with an object reason", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"ok":false,"error":{ "code" : 5 }}`)},
		{name: "ok false with a long reason", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"ok":false,"error":"`+longReason+`"}`)},
		{name: "not JSON", params: `{"channel":"#c","text":"t"}`, answer: reply(200, "posted", "Content-Type", "text/plain")},
		{name: "JSON then garbage", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"id":"a"} x`)},
		{name: "leading zero", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"id":01}`)},
		{name: "a JSON array", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `[{"id":"a"}]`)},
		{name: "Unicode space around the reply", params: `{"channel":"#c","text":"t"}`, answer: reply(200, "\u00a0\u3000\n{\"id\":\"nbsp\"}\u2029 ")},
		{name: "no body", params: `{"channel":"#c","text":"t"}`, answer: reply(204, "")},
		{name: "binary body", params: `{"channel":"#c","text":"t"}`, answer: reply(200, "{\"id\":\"\xff\"}", "Content-Type", "application/octet-stream")},
		{name: "reply over 64 KiB", params: `{"channel":"#c","text":"t"}`, answer: reply(200, `{"id":"big","pad":"`+strings.Repeat("p", 64<<10)+`"}`)},
		{name: "401", params: `{"channel":"#c","text":"t"}`, answer: reply(401, `{"ok":false,"error":"invalid_auth"}`),
			want: `chat: send-message: the chat API refused the credential with status 401 (check its token): {"ok":false,"error":"invalid_auth"}`},
		{name: "403 without a body", params: `{"channel":"#c","text":"t"}`, answer: reply(403, "")},
		{name: "400 with whitespace", params: `{"channel":"#c","text":"t"}`, answer: reply(400, " bad\n\n  request\t\u00a0here \r\n"),
			want: "chat: send-message: the chat API refused the message with status 400: bad request here"},
		{name: "404 with a long body", params: `{"channel":"#c","text":"t"}`, answer: reply(404, longBody)},
		{name: "503", params: `{"channel":"#c","text":"t"}`, answer: reply(503, "down for maintenance", "Retry-After", "30"),
			want: "chat: send-message: the chat API failed with status 503 (temporary): down for maintenance"},
		{name: "429", params: `{"channel":"#c","text":"t"}`, answer: reply(429, `{"error":"rate_limited"}`)},
		{name: "500 with a binary body", params: `{"channel":"#c","text":"t"}`, answer: reply(500, "\x00\xff\xfe")},
		{name: "302 without Location", params: `{"channel":"#c","text":"t"}`, answer: reply(302, "moved"),
			want: "chat: send-message: unexpected status 302 from the chat API: moved"},
		{name: "302 followed to a GET", params: `{"channel":"#c","text":"t"}`, answer: func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
				return
			}
			reply(200, `{"ts":"after-redirect"}`)(w, r)
		}},
		// Refusals and failures of the broker.
		{name: "no broker", params: `{"channel":"#c","text":"t"}`, noHTTP: true,
			want: "chat: send-message: splice: http unavailable: the host has no HTTP broker for this call"},
		{name: "no credential", params: `{"channel":"#c","text":"t"}`, noCred: true,
			want: "chat: send-message: splice: http no_credential: the request needs a credential and the call has none"},
		{name: "control character in the idempotency key", params: `{"channel":"#c","text":"t"}`, idem: "a\nb", answer: ok},
		{name: "placeholder in the idempotency key", params: `{"channel":"#c","text":"t"}`, idem: "a{{b", answer: ok,
			want: `chat: send-message: idempotencyKey must not contain "{{"`},
		// Params the host's schema check would refuse first.
		{name: "channel missing", params: `{"text":"t"}`, want: "chat: send-message: channel is required"},
		{name: "channel null", params: `{"channel":null,"text":"t"}`},
		{name: "text missing", params: `{"channel":"#c"}`, want: "chat: send-message: text is required"},
		{name: "params absent", params: ``},
		{name: "params null", params: `null`},
		{name: "channel too long", params: `{"channel":"` + strings.Repeat("c", 81) + `","text":"t"}`,
			want: "chat: send-message: channel must have 1 to 80 characters, not 81"},
		{name: "text empty", params: `{"channel":"#c","text":""}`, want: "chat: send-message: text must have 1 to 4000 characters, not 0"},
		{name: "text too long", params: `{"channel":"#c","text":"` + strings.Repeat("é", 4001) + `"}`},
		{name: "unknown field", params: `{"channel":"#c","text":"t","extra\u00e9\n":1}`, want: "chat: send-message: params: json: unknown field \"extraé\\n\""},
		{name: "wrong type", params: `{"channel":"#c","text":5}`, want: "chat: send-message: params: json: cannot unmarshal number into Go struct field sendParams.text of type string"},
		{name: "wrong types: the first error wins", params: `{"threadId":[1],"channel":{},"bogus":1,"text":true}`},
		{name: "unknown field then wrong type", params: `{"bogus":1,"channel":false}`},
		{name: "params an array", params: `[1]`, want: "chat: send-message: params: json: cannot unmarshal array into Go value of type main.sendParams"},
		{name: "params a string", params: `"x"`},
		{name: "params a number", params: `-1.5`},
		{name: "params a boolean", params: `true`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			input := `{"key":"send-message"`
			if tc.params != "" {
				input += `,"params":` + tc.params
			}
			if tc.idem != "" {
				k, _ := json.Marshal(tc.idem)
				input += `,"idempotencyKey":` + string(k)
			}
			input += "}"
			if tc.answer == nil {
				tc.answer = reply(599, "the upstream should not be called")
			}
			up.set(tc.answer)
			run := func(c *connector.Connector) (outcome, []broker.Exchange, []seen) {
				var doer sandbox.HTTPDoer
				var s *broker.Session
				if !tc.noHTTP {
					o := broker.SessionOptions{Consumer: "c1", Manifest: c.Manifest(), Credential: "chat-1"}
					if tc.noCred {
						o.Credential = ""
					}
					s = b.Session(o)
					doer = s
				}
				out := callConn(c, "action", []byte(input), doer)
				var ex []broker.Exchange
				if s != nil {
					ex = comparableExchanges(s.Exchanges())
				}
				return out, ex, up.take()
			}
			g, gex, gseen := run(goChat)
			c, cex, cseen := run(cChat)
			if g != c {
				t.Fatalf("outcomes differ for %s\n go %v\n  c %v", input, g, c)
			}
			if tc.want != "" && g.Output != tc.want && g.Err != tc.want {
				t.Errorf("both gave %v, want %s", g, tc.want)
			}
			if d := cmp.Diff(gex, cex); d != "" {
				t.Errorf("recorded exchanges differ (-go +c):\n%s", d)
			}
			if d := cmp.Diff(gseen, cseen); d != "" {
				t.Errorf("the upstream saw different requests (-go +c):\n%s", d)
			}
			for _, s := range cseen {
				if strings.Contains(s.Body, token) || strings.Contains(s.Path, token) {
					t.Errorf("the secret reached the posted message: %+v", s)
				}
				if s.Method == http.MethodPost && s.Header.Get("Authorization") != "Bearer "+token {
					t.Errorf("Authorization = %q, want the injected token", s.Header.Get("Authorization"))
				}
				if s.Method == http.MethodPost && !json.Valid([]byte(s.Body)) {
					t.Errorf("posted body is not JSON: %s", s.Body)
				}
			}
			if strings.Contains(c.Output+c.Err, token) {
				t.Errorf("the secret reached the guest's outcome: %v", c)
			}
		})
	}

	// What the chat API got for the first case, exactly.
	up.set(ok)
	s := b.Session(broker.SessionOptions{Consumer: "c1", Manifest: cChat.Manifest(), Credential: "chat-1"})
	out := callConn(cChat, "action", []byte(`{"key":"send-message","params":{"channel":"#orders","text":"New {order} {{credential.token}}"},"idempotencyKey":"run-1.notify"}`), s)
	got := up.take()
	if out.Kind != "" || len(got) != 1 {
		t.Fatalf("send: %v, %d requests", out, len(got))
	}
	r := got[0]
	want := seen{Method: "POST", Path: "/api/chat.postMessage", Body: `{"channel":"#orders","text":"New \u007border} \u007b\u007bcredential.token}}"}`}
	if r.Method != want.Method || r.Path != want.Path || r.Body != want.Body {
		t.Errorf("upstream saw %s %s %s, want %s %s %s", r.Method, r.Path, r.Body, want.Method, want.Path, want.Body)
	}
	for name, v := range map[string]string{"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
		"Idempotency-Key": "run-1.notify", "Authorization": "Bearer " + token} {
		if r.Header.Get(name) != v {
			t.Errorf("%s: %q, want %q", name, r.Header.Get(name), v)
		}
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(r.Body), &msg); err != nil || msg["text"] != "New {order} {{credential.token}}" {
		t.Errorf("posted text decodes to %q (%v)", msg["text"], err)
	}
	if ex := s.Exchanges(); len(ex) != 1 || !ex[0].Injected || ex[0].RequestHeaders["Authorization"] != "[redacted]" {
		t.Errorf("exchanges: %+v", ex)
	}
}

func TestChatPortAuth(t *testing.T) {
	rt := newRuntime(t)
	goChat, cChat := compileRaw(t, rt, "connector-chat"), compileRaw(t, rt, "chat-c")
	for _, input := range []string{
		`{"op":"test","credential":{"baseUrl":"https://chat.example.com"},"config":{}}`,
		`{"op":"test"}`, `{"OP":"test"}`, `{"op":"refresh"}`, `{}`, `null`, `{"op":null}`,
		`{"op":"we\"ird\n\u00e9\u00a0\u2028\u0000"}`,
		`{"op":5}`, `{"op":"test","credential":"x"}`, `{"config":[1],"op":true}`, `"test"`, `[{"op":"test"}]`,
	} {
		g, c := rawCall(goChat, "auth", []byte(input)), rawCall(cChat, "auth", []byte(input))
		if g != c {
			t.Errorf("auth %s:\n go %v\n  c %v", input, g, c)
		}
	}
	if g := rawCall(cChat, "auth", []byte(`{"op":"test"}`)); g.Output != `{"ok":true,"set":{}}` {
		t.Errorf("auth test: %v", g)
	}
}

// TestCPortsOnTheReferenceEngine runs the C guests on Extism's own engine, where the PDK's fast
// path is refused and every byte moves through Extism's ABI, splice_http included.
func TestCPortsOnTheReferenceEngine(t *testing.T) {
	ctx := context.Background()
	up := newChatUpstream(t)
	up.set(reply(200, `{"ok":true,"id":"ref-1"}`))
	creds := chatCreds{secrets: map[string]string{"token": "t0k"}, fields: map[string]string{"baseUrl": up.URL}}
	b, err := broker.New(broker.Options{Env: "development", AllowHTTP: true, AllowLoopback: true, AnyPort: true, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	results := map[string][]outcome{}
	for _, engine := range []string{sandbox.EngineSplice, sandbox.EngineExtism} {
		rt, err := sandbox.New(ctx, sandbox.Options{Engine: engine})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(ctx)
		chat, hook := loadGuest(t, rt, "chat-c"), loadGuest(t, rt, "connector-webhook")
		s := b.Session(broker.SessionOptions{Consumer: "c1", Manifest: chat.Manifest(), Credential: "chat-1"})
		results[engine] = []outcome{
			callConn(chat, "transform", []byte(`{"key":"format-order","input":{"order":{"id":7,"customer":{"name":"Ann é"},"total":12.5}}}`), nil),
			callConn(chat, "action", []byte(`{"key":"send-message","params":{"channel":"#o","text":"`+strings.Repeat("long text ", 300)+`"},"idempotencyKey":"k"}`), s),
			callConn(chat, "transform", []byte(`{"key":"nope"}`), nil),
			callConn(hook, "trigger", triggerInput(t, "json", map[string][]string{"Webhook-Id": {"msg_9"}}, `{"a": [1, 2]}`), nil),
		}
	}
	want := []string{
		`{"output":{"channel":"#orders","text":"New order 7 by Ann é, total 12.5"}}`,
		`{"output":{"ok":true,"status":200,"messageId":"ref-1"}}`,
		"",
		`{"events":[{"id":"msg_9","payload":{"a":[1,2]}}]}`,
	}
	for i, o := range results[sandbox.EngineSplice] {
		if x := results[sandbox.EngineExtism][i]; x != o {
			t.Errorf("call %d: splice %v, extism %v", i, o, x)
		}
		if want[i] != "" && o.Output != want[i] {
			t.Errorf("call %d: %v, want %s", i, o, want[i])
		}
	}
	if o := results[sandbox.EngineExtism][2]; o.Err != `pdk: connector chat has no transform "nope"` {
		t.Errorf("error on the reference engine: %v", o)
	}
}

// triggerInput is the trigger export's input for a webhook request, as the engine encodes it.
func triggerInput(t testing.TB, key string, headers map[string][]string, body string) []byte {
	t.Helper()
	b, err := json.Marshal(abi.TriggerInput{Op: abi.TriggerOpReceive, Key: key, Params: json.RawMessage(`{}`),
		Request: &abi.HTTPRequest{Method: "POST", Path: "/hooks/development/a1", Headers: headers, Body: body}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhookTriggerMatchesEcho(t *testing.T) {
	rt := newRuntime(t)
	echo, hook := loadGuest(t, rt, "connector-echo"), loadGuest(t, rt, "connector-webhook")
	if m := hook.Manifest(); m.AppKey != "webhook" || m.Version != "1.0.0" || m.Auth.Type != abi.AuthNone || len(m.Hosts) != 0 ||
		len(m.Triggers) != 1 || m.Triggers[0].Key != "json" || m.Triggers[0].Kind != abi.TriggerWebhook {
		t.Fatalf("webhook manifest: %+v", m)
	}
	et, _ := echo.Manifest().Trigger("received")
	ht, _ := hook.Manifest().Trigger("json")
	if !bytes.Equal(et.InputSchema, ht.InputSchema) || !bytes.Equal(et.PayloadSchema, ht.PayloadSchema) {
		t.Errorf("schemas differ: echo %s %s, webhook %s %s", et.InputSchema, et.PayloadSchema, ht.InputSchema, ht.PayloadSchema)
	}
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	id := map[string][]string{"Webhook-Id": {"msg_2KWPBgLlAfxdpx2AI54pPJ85f1W"}, "Content-Type": {"application/json"}}
	tests := []struct {
		name    string
		headers map[string][]string
		body    string
		want    string       // when set, the output both must give
		kind    sandbox.Kind // when set, how both must fail
	}{
		{name: "JSON body with webhook-id", headers: id, body: `{"order":7}`,
			want: `{"events":[{"id":"msg_2KWPBgLlAfxdpx2AI54pPJ85f1W","payload":{"order":7}}]}`},
		{name: "JSON body without webhook-id", body: `{"order":7}`,
			want: `{"events":[{"id":"` + sha(`{"order":7}`) + `","payload":{"order":7}}]}`},
		{name: "header in lower case", headers: map[string][]string{"webhook-id": {"lower"}}, body: `[]`,
			want: `{"events":[{"id":"lower","payload":[]}]}`},
		{name: "header in odd case", headers: map[string][]string{"WEBHOOK-ID": {"upper"}, "Webhook-Ids": {"no"}}, body: `1`},
		{name: "several values", headers: map[string][]string{"Webhook-Id": {"a", "b\"c"}}, body: `1`},
		{name: "empty webhook-id", headers: map[string][]string{"Webhook-Id": {""}}, body: `true`},
		{name: "whitespace is dropped", body: " {\n \"a\" : [ 1 , 2.50e+3 , \"x y\" ] ,\t\"b\":{} }\r\n",
			want: `{"events":[{"id":"` + sha(" {\n \"a\" : [ 1 , 2.50e+3 , \"x y\" ] ,\t\"b\":{} }\r\n") + `","payload":{"a":[1,2.50e+3,"x y"],"b":{}}}]}`},
		{name: "scalars", body: `"a string"`},
		{name: "null body", body: `null`},
		{name: "escapes kept as written", body: `{"k\u0065y":"\ud800 \u00e9 \/ \u2028"}`},
		{name: "unicode", body: `{"name":"Zoë 😀 日本"}`},
		{name: "empty body", body: "", want: `{"events":[{"id":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","payload":null}]}`},
		{name: "whitespace only", body: " \n"},
		{name: "trailing data", body: `{"a":1} x`, want: `{"events":[{"id":"` + sha(`{"a":1} x`) + `","payload":"{\"a\":1} x"}]}`},
		{name: "two documents", body: `{} {}`},
		{name: "leading zero", body: `{"a":01}`},
		{name: "trailing comma", body: `[1,]`},
		{name: "plus sign", body: `+1`},
		{name: "bare dot", body: `.5`},
		{name: "dot without digits", body: `1.`},
		{name: "exponent without digits", body: `1e`},
		{name: "minus alone", body: `-`},
		{name: "NaN", body: `NaN`},
		{name: "single quotes", body: `{'a':1}`},
		{name: "unquoted key", body: `{a:1}`},
		{name: "bad literal", body: `tru`},
		{name: "bad escape", body: `"\x"`},
		{name: "short unicode escape", body: `"\u12"`},
		{name: "raw control character in a string", body: "\"a\tb\""},
		{name: "comment", body: `{"a":1 /* c */}`},
		{name: "unclosed", body: `{"a":[1,2}`},
		{name: "plain text", body: "hello, world\n"},
		{name: "form body", body: "a=1&b=<2>"},
		{name: "control characters", body: "\x00\x01\x1f\x7f\b\f\n\r\t\"\\",
			want: `{"events":[{"id":"` + sha("\x00\x01\x1f\x7f\b\f\n\r\t\"\\") + "\",\"payload\":\"\\u0000\\u0001\\u001f\x7f\\b\\f\\n\\r\\t\\\"\\\\\"}]}"},
		{name: "line separators", body: "a\u2028b\u2029c"},
		{name: "binary body", body: "\x00\xff\xfe\x89PNG\r\n\x1a\n\xc3"},
		{name: "deep nesting", body: deep(9990)},
		// JSON, as far as encoding/json goes, but the event document nests it 3 levels deeper: the
		// host refuses the output of both.
		{name: "nesting at the limit", body: deep(10000), kind: sandbox.KindInvalidOutput},
		{name: "nesting over the limit: a string", body: deep(10001)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := callConn(echo, "trigger", triggerInput(t, "received", tc.headers, tc.body), nil)
			c := callConn(hook, "trigger", triggerInput(t, "json", tc.headers, tc.body), nil)
			if g != c {
				t.Fatalf("outcomes differ for %q\necho    %v\nwebhook %v", tc.body, g, c)
			}
			if tc.want != "" && c.Output != tc.want {
				t.Errorf("both gave %v, want %s", c, tc.want)
			}
			if c.Kind != tc.kind {
				t.Fatalf("both gave %v, want kind %q", c, tc.kind)
			}
			if tc.kind != "" {
				return
			}
			var out struct {
				Events []struct {
					ID      string          `json:"id"`
					Payload json.RawMessage `json:"payload"`
				} `json:"events"`
			}
			if err := json.Unmarshal([]byte(c.Output), &out); err != nil || len(out.Events) != 1 || !utf8.ValidString(c.Output) {
				t.Fatalf("output %q: %v", c.Output, err)
			}
			ev := out.Events[0]
			body := hostBody(tc.body) // what the trigger gets
			if tc.headers == nil && ev.ID != sha(body) {
				t.Errorf("id %s, want the SHA-256 of the body", ev.ID)
			}
			if json.Valid([]byte(body)) {
				// Re-encoded, not compared with cmp: go-cmp crawls through 10000 levels.
				var a, b any
				json.Unmarshal([]byte(body), &a)
				json.Unmarshal(ev.Payload, &b)
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if !bytes.Equal(ja, jb) {
					t.Errorf("payload %s, want the body %s", ev.Payload, body)
				}
			} else if body != "" {
				var s string
				if err := json.Unmarshal(ev.Payload, &s); err != nil || s != body {
					t.Errorf("payload %s, want the body as a string", ev.Payload)
				}
			}
		})
	}

	// A body the sender encoded with raw invalid UTF-8 and lone surrogates (the host never does):
	// both decode it as encoding/json does, each bad byte and lone surrogate as U+FFFD.
	raw := []byte("{\"op\":\"receive\",\"key\":\"KEY\",\"request\":{\"headers\":{\"webhook-id\":\"\xffid\"},\"body\":\"a\xff\xe2\x82\\ud800\\udc00\\ud83d\\ude00\\udc00b\"}}")
	g := callConn(echo, "trigger", bytes.Replace(raw, []byte("KEY"), []byte("received"), 1), nil)
	c := callConn(hook, "trigger", bytes.Replace(raw, []byte("KEY"), []byte("json"), 1), nil)
	if g != c || c.Output != "{\"events\":[{\"id\":\"\uFFFDid\",\"payload\":\"a\uFFFD\uFFFD\uFFFD𐀀😀\uFFFDb\"}]}" {
		t.Errorf("raw invalid UTF-8:\necho    %v\nwebhook %v", g, c)
	}

	// A body handed as a JSON value rather than a string is read as its JSON text.
	g = callConn(echo, "trigger", []byte(`{"op":"receive","key":"received","request":{"body":{"a" : 1}}}`), nil)
	c = callConn(hook, "trigger", []byte(`{"op":"receive","key":"json","request":{"body":{"a" : 1}}}`), nil)
	if g != c || c.Output != `{"events":[{"id":"`+sha(`{"a" : 1}`)+`","payload":{"a":1}}]}` {
		t.Errorf("body as a JSON value:\necho    %v\nwebhook %v", g, c)
	}

	// subscribe and unsubscribe need nothing; other ops and keys are errors.
	for _, op := range []string{"subscribe", "unsubscribe"} {
		in := fmt.Sprintf(`{"op":%q,"key":"json","params":{},"webhookUrl":"https://x/hooks/development/a1"}`, op)
		g := callConn(echo, "trigger", []byte(strings.Replace(in, `"json"`, `"received"`, 1)), nil)
		c := callConn(hook, "trigger", []byte(in), nil)
		if g != c || c.Output != `{"events":[]}` {
			t.Errorf("%s: echo %v, webhook %v", op, g, c)
		}
	}
	for in, want := range map[string]string{
		`{"op":"poll","key":"json"}`:        `webhook: json is a webhook trigger and does not support op "poll"`,
		`{"key":"json"}`:                    `webhook: json is a webhook trigger and does not support op ""`,
		`{"op":"receive","key":"received"}`: `webhook: connector webhook has no trigger "received"`,
		`{"op":5,"key":"json"}`:             `webhook: trigger: op must be a string`,
		`{"op":"receive","key":"json"} x`:   `webhook: trigger: the input is not a JSON object`,
		`[]`:                                `webhook: trigger: the input is not a JSON object`,
	} {
		if c := callConn(hook, "trigger", []byte(in), nil); c.Kind != sandbox.KindGuest || c.Err != want {
			t.Errorf("%s: %v, want %q", in, c, want)
		}
	}
	// The echo connector fails the same ops, in its own words.
	if g := callConn(echo, "trigger", []byte(`{"op":"poll","key":"received"}`), nil); g.Kind != sandbox.KindGuest {
		t.Errorf("echo poll: %v", g)
	}
}

// FuzzWebhookTrigger gives the C webhook trigger arbitrary bodies, with and without a webhook-id,
// and requires what encoding/json and crypto/sha256 give: the id, and the body compacted when
// json.Valid accepts it, else as a string. The body is the part of the input a sender controls,
// and the trigger parses it with the C PDK's own scanners (splice_json_check_compact).
func FuzzWebhookTrigger(f *testing.F) {
	for _, s := range []string{"", `{"order":7}`, " {\n \"a\" : [ 1 , 2.50e+3 , \"x y\" ] } ", `{"a":01}`, `[1,]`, `"\ud800"`,
		"\x00\xff\xfe", `{"k\u0065y":"\u2028 <&>"}`, `{"a":[1,2}`, "1e", `{} {}`, "Zo\u00eb \xf0\x9f\x98\x80"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	rt := newRuntime(f)
	hook := loadGuest(f, rt, "connector-webhook")
	f.Fuzz(func(t *testing.T, raw string, withID bool) {
		var headers map[string][]string
		if withID {
			headers = map[string][]string{"Webhook-Id": {"msg_1"}}
		}
		body := hostBody(raw)
		out := callConn(hook, "trigger", triggerInput(t, "json", headers, raw), nil)
		if out.Kind != "" {
			if out.Kind == sandbox.KindInvalidOutput && strings.Count(body, "[")+strings.Count(body, "{") > 9000 {
				return // nested past what the host accepts in an event document
			}
			t.Fatalf("body %q: %v", raw, out)
		}
		id := sha(body)
		if withID {
			id = "msg_1"
		}
		var payload bytes.Buffer
		switch {
		case body == "":
			payload.WriteString("null")
		case json.Valid([]byte(body)):
			if err := json.Compact(&payload, []byte(body)); err != nil {
				t.Fatal(err)
			}
		default:
			enc := json.NewEncoder(&payload)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(body); err != nil {
				t.Fatal(err)
			}
			payload.Truncate(payload.Len() - 1)
		}
		if want := `{"events":[{"id":"` + id + `","payload":` + payload.String() + `}]}`; out.Output != want {
			t.Fatalf("body %q:\n got %s\nwant %s", raw, out.Output, want)
		}
	})
}

// hostBody is a body as the trigger gets it: the engine encodes the request with encoding/json,
// which writes each byte of invalid UTF-8 as U+FFFD.
func hostBody(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestWebhookSHA256 checks the C connector's own SHA-256 (its event id without a webhook-id) with
// the FIPS 180-2 test vectors and against crypto/sha256 at every length around the padding's
// block boundaries.
func TestWebhookSHA256(t *testing.T) {
	rt := newRuntime(t)
	hook := loadGuest(t, rt, "connector-webhook")
	idOf := func(body string) string {
		t.Helper()
		out := callConn(hook, "trigger", triggerInput(t, "json", nil, body), nil)
		var o struct {
			Events []struct {
				ID string `json:"id"`
			} `json:"events"`
		}
		if err := json.Unmarshal([]byte(out.Output), &o); err != nil || len(o.Events) != 1 {
			t.Fatalf("trigger: %v", out)
		}
		return o.Events[0].ID
	}
	vectors := []struct{ in, want string }{
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
			"cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
		{strings.Repeat("a", 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
	}
	for _, v := range vectors {
		if got := idOf(v.in); got != v.want {
			t.Errorf("SHA-256 of %d bytes %.20q...: %s, want %s", len(v.in), v.in, got, v.want)
		}
	}
	var b strings.Builder
	for n := 0; n <= 200; n++ {
		body := b.String()
		if n < 130 || n%7 == 0 {
			if got := idOf(body); got != sha(body) {
				t.Errorf("SHA-256 of %d bytes: %s, want %s", n, got, sha(body))
			}
		}
		b.WriteByte(byte('!' + n*7%90))
	}
}

// BenchmarkChatFormatOrder compares one format-order call on the Go chat connector and its C port.
func BenchmarkChatFormatOrder(b *testing.B) {
	rt := newRuntime(b)
	orders := []struct{ name, order string }{{"small", chatOrder}, {"1KiB", w1Order()}}
	for _, name := range []string{"connector-chat", "chat-c"} {
		c := loadGuest(b, rt, name)
		for _, o := range orders {
			input := []byte(`{"key":"format-order","input":{"order":` + o.order + `}}`)
			b.Run("order="+o.name+"/guest="+name, func(b *testing.B) {
				if o := callConn(c, "transform", input, nil); o.Kind != "" {
					b.Fatal(o)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(input)))
				for b.Loop() {
					if _, err := c.Call(context.Background(), "c1", "transform", input); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// w1Order is an order of the size and shape cmd/splice-load sends in W1: 16 lines and a note,
// about 1 KiB.
func w1Order() string {
	var lines []string
	for i := range 16 {
		lines = append(lines, fmt.Sprintf(`{"sku":"SKU-%04d","qty":%d,"price":%d.%02d}`, i*619%10000, i%5+1, i*37%100, i*13%100))
	}
	return `{"id":3,"customer":{"name":"Katherine Johnson","email":"katherine.johnson@example.net"},"currency":"EUR","lines":[` +
		strings.Join(lines, ",") + `],"total":2980.26,"note":"` + strings.Repeat("Please leave the parcel at the front desk if nobody answers. ", 4)[:230] + `"}`
}

// BenchmarkWebhookTrigger compares one receive on echo's trigger received and the C webhook's json.
func BenchmarkWebhookTrigger(b *testing.B) {
	rt := newRuntime(b)
	body := `{"order":` + chatOrder + `}`
	for _, tc := range []struct{ guest, key string }{{"connector-echo", "received"}, {"connector-webhook", "json"}} {
		c := loadGuest(b, rt, tc.guest)
		input := triggerInput(b, tc.key, map[string][]string{"Content-Type": {"application/json"}}, body)
		b.Run(tc.guest, func(b *testing.B) { benchTrigger(b, c, input) })
	}
	// The load benchmark's webhook: a 1 KiB order (as splice-load sends it), its id the SHA-256
	// of the body or a webhook-id header.
	order1KiB := `{"id":1042,"customer":{"name":"Grace Hopper","email":"grace.hopper@example.com"},"currency":"EUR","lines":[` +
		strings.Repeat(`{"sku":"SKU-0042","qty":2,"price":19.90},`, 18) +
		`{"sku":"SKU-7781","qty":1,"price":83.60}],"total":123.40,"note":"Please leave the parcel at the front desk."}`
	c := loadGuest(b, rt, "connector-webhook")
	for _, tc := range []struct {
		name    string
		headers map[string][]string
	}{
		{"1KiB/sha256", map[string][]string{"Content-Type": {"application/json"}}},
		{"1KiB/webhook-id", map[string][]string{"Content-Type": {"application/json"}, "Webhook-Id": {"msg_2KWPBgLlAfxdpx2AI54pPJ85f1W"}}},
	} {
		input := triggerInput(b, "json", tc.headers, order1KiB)
		b.Run("connector-webhook/"+tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(order1KiB)))
			benchTrigger(b, c, input)
		})
	}
}

func benchTrigger(b *testing.B, c *connector.Connector, input []byte) {
	if o := callConn(c, "trigger", input, nil); o.Kind != "" {
		b.Fatal(o)
	}
	for b.Loop() {
		if _, err := c.Call(context.Background(), "c1", "trigger", input); err != nil {
			b.Fatal(err)
		}
	}
}
