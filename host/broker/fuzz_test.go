package broker_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"regexp"
	"testing"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/broker"
)

// FuzzDecodeRequest feeds hostile request documents to the decoder and to a session whose
// manifest allows no reachable host: it never panics, every answer is one response document, and
// nothing is ever sent (the only allowed host does not resolve).
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"url":"https://api.example.com/x"}`,
		`{"method":"POST","url":"https://api.example.com/x","headers":{"X-A":"1"},"body":"{}","auth":true}`,
		`{"method":"PUT","url":"https://api.example.com/{{credential.apiKey}}","bodyBase64":"AAEC"}`,
		`{"url":"http://127.1/","headers":{"Host":"x"}}`,
		`{"url":"https://[::ffff:10.0.0.1]/"}`,
		`{"url":"https://api.example.com\r\n/"}`,
		`{"url":"https://api.example.com/","timeoutMs":-1}`,
		`{"url":1}`, `[]`, `null`, `{"url":"x"} {}`,
	} {
		f.Add([]byte(seed))
	}
	b, err := broker.New(broker.Options{Env: "development", Resolver: noDNS{}})
	if err != nil {
		f.Fatal(err)
	}
	m := &abi.Manifest{Auth: abi.Auth{Type: abi.AuthNone}, Hosts: []string{"splice-fuzz.invalid"}}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if req, body, err := broker.DecodeRequest(doc, 1<<10); err == nil {
			if req.Method == "" || req.URL == "" || len(body) > 1<<10 {
				t.Fatalf("accepted %q as %+v with %d body bytes", doc, req, len(body))
			}
		}
		s := b.Session(broker.SessionOptions{Consumer: "c", Manifest: m})
		var r broker.Response
		if err := json.Unmarshal(s.Do(ctx, doc), &r); err != nil {
			t.Fatalf("response to %q is not a document: %v", doc, err)
		}
		if r.Status != 0 {
			t.Fatalf("a request to %q got a response: %+v", doc, r)
		}
	})
}

// noDNS resolves nothing, so the fuzzer never waits on the network.
type noDNS struct{}

func (noDNS) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, errors.New("no DNS in this test")
}

// placeholderRE is the specification of a credential placeholder.
var placeholderRE = regexp.MustCompile(`\{\{\s*credential\.([A-Za-z0-9_.-]+)\s*\}\}`)

// FuzzPlaceholders holds the placeholder scanner to the regular expression that specifies it.
func FuzzPlaceholders(f *testing.F) {
	for _, seed := range []string{
		"", "plain", "{{credential.apiKey}}", "Bearer {{ credential.token }}!", "{{credential.}}", "{{{credential.a}}}",
		"{{credential.a}}{{credential.b}}", "{{ \tcredential.x-y_z.w \n}}", "{{credential.a} }", "{{credential.missing}}", "{{credential.a",
	} {
		f.Add(seed)
	}
	values := map[string]string{"apiKey": "K", "token": "T", "a": "A", "b": "B", "x-y_z.w": "X"}
	f.Fuzz(func(t *testing.T, s string) {
		var wantMissing string
		want := placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
			field := placeholderRE.FindStringSubmatch(m)[1]
			v, ok := values[field]
			if !ok {
				wantMissing = field
			}
			return v
		})
		got, missing := broker.ExpandPlaceholders(s, values, func(v string) string { return v })
		if got != want || missing != wantMissing {
			t.Fatalf("expand %q = %q (missing %q), the expression gives %q (missing %q)", s, got, missing, want, wantMissing)
		}
	})
}

// FuzzEncodeResponse holds the hand-written response encoder to encoding/json's output.
func FuzzEncodeResponse(f *testing.F) {
	f.Add(200, "X-A", "v", "body \"quoted\" <tag> & \u2028 \x00 \xff", "http://x/?a=b", int64(0), "", "")
	f.Add(0, "", "", "", "", int64(1500), "timeout", "no response in 1s")
	f.Fuzz(func(t *testing.T, status int, hk, hv, body, u string, retry int64, kind, msg string) {
		r := &broker.Response{Status: status, URL: u, RetryAfterMS: retry}
		if hk != "" {
			r.Headers = map[string]string{hk: hv, "Z-Last": body}
		}
		if body != "" {
			r.Body = &body
		}
		if kind != "" {
			r.Error = &broker.ErrorBody{Kind: broker.Kind(kind), Message: msg, RetryAfterMS: retry}
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := broker.EncodeResponse(r); string(got) != string(want) {
			t.Fatalf("encode:\n got %s\nwant %s", got, want)
		}
	})
}
