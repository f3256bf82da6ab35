package pdk

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEncodeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{name: "empty method is GET, empty fields left out",
			req:  Request{URL: "https://api.example.com/v1/x?y=1", Headers: map[string]string{}, Body: []byte{}},
			want: `{"method":"GET","url":"https://api.example.com/v1/x?y=1"}`},
		{name: "every field",
			req: Request{Method: "POST", URL: "https://api.example.com/v1/x", Auth: true, Timeout: 5 * time.Second,
				Headers: map[string]string{"X-B": "2", "Content-Type": "application/json"}, Body: []byte(`{"a":1}`)},
			want: `{"method":"POST","url":"https://api.example.com/v1/x","headers":{"Content-Type":"application/json","X-B":"2"},` +
				`"body":"{\"a\":1}","auth":true,"timeoutMs":5000}`},
		{name: "UTF-8 body is text, HTML characters kept",
			req:  Request{Method: "PUT", URL: "https://a.example.org/", Body: []byte("é <b>&\n\x00")},
			want: `{"method":"PUT","url":"https://a.example.org/","body":"é <b>&\n\u0000"}`},
		{name: "non-UTF-8 body is base64",
			req:  Request{URL: "https://a.example.org/", Body: []byte{0xff, 0x00, 'a'}},
			want: `{"method":"GET","url":"https://a.example.org/","bodyBase64":"/wBh"}`},
		{name: "placeholders pass through",
			req: Request{URL: "https://api.example.com/?key={{credential.apiKey}}",
				Headers: map[string]string{"X-Key": "{{credential.apiKey}}"}, Body: []byte("k={{credential.apiKey}}")},
			want: `{"method":"GET","url":"https://api.example.com/?key={{credential.apiKey}}",` +
				`"headers":{"X-Key":"{{credential.apiKey}}"},"body":"k={{credential.apiKey}}"}`},
		{name: "timeout rounds up to whole milliseconds",
			req:  Request{URL: "https://a.example.org/", Timeout: 1500 * time.Microsecond},
			want: `{"method":"GET","url":"https://a.example.org/","timeoutMs":2}`},
		{name: "negative timeout is the host default",
			req:  Request{URL: "https://a.example.org/", Timeout: -time.Second},
			want: `{"method":"GET","url":"https://a.example.org/"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := encodeRequest(&tc.req)
			if err != nil {
				t.Fatalf("encodeRequest: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("encodeRequest =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// decodeRequest decodes a request document as a host would.
func decodeRequest(t testing.TB, doc []byte) Request {
	t.Helper()
	var w wireRequest
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("decode request %s: %v", doc, err)
	}
	if w.Body != "" && w.BodyBase64 != "" {
		t.Fatalf("request %s has both body and bodyBase64", doc)
	}
	r := Request{Method: w.Method, URL: w.URL, Headers: w.Headers, Auth: w.Auth,
		Timeout: time.Duration(w.TimeoutMs) * time.Millisecond, Body: []byte(w.Body)}
	if w.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(w.BodyBase64)
		if err != nil {
			t.Fatalf("request %s: bodyBase64: %v", doc, err)
		}
		r.Body = b
	}
	return r
}

func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	bodies := [][]byte{nil, []byte("plain"), []byte("ü\u2028\"\\/"), {0x80}, {0xe2, 0x82}, bytes.Repeat([]byte{0, 1, 0xfe}, 100)}
	for i, body := range bodies {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			in := Request{Method: "PATCH", URL: "http://127.0.0.1:8080/p", Headers: map[string]string{"A": "b"},
				Body: body, Auth: true, Timeout: 3 * time.Second}
			doc, err := encodeRequest(&in)
			if err != nil {
				t.Fatalf("encodeRequest: %v", err)
			}
			got := decodeRequest(t, doc)
			if !bytes.Equal(got.Body, in.Body) {
				t.Errorf("body = %q, want %q (document %s)", got.Body, in.Body, doc)
			}
			got.Body, in.Body = nil, nil
			if !reflect.DeepEqual(got, in) {
				t.Errorf("round trip = %+v, want %+v", got, in)
			}
		})
	}
}

func TestDecodeResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     string
		want    *Response
		wantErr *HTTPError
	}{
		{name: "text body",
			doc: `{"status":200,"headers":{"Content-Type":"application/json"},"body":"{\"a\":1}","url":"https://api.example.com/x"}`,
			want: &Response{Status: 200, Headers: map[string]string{"Content-Type": "application/json"},
				Body: []byte(`{"a":1}`), URL: "https://api.example.com/x"}},
		{name: "base64 body",
			doc:  `{"status":201,"bodyBase64":"/wBh","url":"u"}`,
			want: &Response{Status: 201, Headers: map[string]string{}, Body: []byte{0xff, 0, 'a'}, URL: "u"}},
		{name: "no body and no headers",
			doc:  `{"status":204}`,
			want: &Response{Status: 204, Headers: map[string]string{}, Body: []byte{}}},
		{name: "a 5xx is a response",
			doc:  `{"status":503,"body":"busy","headers":null,"body64":1}`,
			want: &Response{Status: 503, Headers: map[string]string{}, Body: []byte("busy")}},
		{name: "unknown members ignored",
			doc:  `{"future":{"x":[1,2]},"status":200,"body":"ok","exchange":"e1","headers":{"A":"1"}}`,
			want: &Response{Status: 200, Headers: map[string]string{"A": "1"}, Body: []byte("ok")}},
		{name: "header arrays joined",
			doc:  `{"status":200,"headers":{"Vary":["Accept","Origin"]}}`,
			want: &Response{Status: 200, Headers: map[string]string{"Vary": "Accept, Origin"}, Body: []byte{}}},
		{name: "error",
			doc:     `{"error":{"kind":"forbidden_host","message":"evil.example.net is not in hosts"}}`,
			wantErr: &HTTPError{Kind: KindForbiddenHost, Message: "evil.example.net is not in hosts"}},
		{name: "error with retry and unknown members",
			doc:     `{"error":{"kind":"too_many_requests","message":"10 calls","retryAfterMs":1500,"limit":10},"trace":"x"}`,
			wantErr: &HTTPError{Kind: KindTooManyRequests, Message: "10 calls", RetryAfter: 1500 * time.Millisecond}},
		{name: "error wins over status",
			doc:     `{"status":200,"error":{"kind":"timeout","message":"5s","retryAfterMs":-3}}`,
			wantErr: &HTTPError{Kind: KindTimeout, Message: "5s"}},
		{name: "unknown kind passes through",
			doc:     `{"error":{"kind":"quota","message":"q"}}`,
			wantErr: &HTTPError{Kind: "quota", Message: "q"}},
		{name: "huge retry is clamped",
			doc:     `{"error":{"kind":"timeout","message":"m","retryAfterMs":1e300}}`,
			wantErr: &HTTPError{Kind: KindTimeout, Message: "m", RetryAfter: time.Duration(1<<63-1) / time.Millisecond * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeResponse([]byte(tc.doc))
			if tc.wantErr != nil {
				var he *HTTPError
				if !errors.As(err, &he) || *he != *tc.wantErr {
					t.Fatalf("decodeResponse error = %#v, want %#v", err, tc.wantErr)
				}
				if got != nil {
					t.Errorf("decodeResponse = %+v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeResponse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decodeResponse =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestDecodeResponseMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, doc string }{
		{"empty", ``},
		{"not JSON", `{"status":`},
		{"array", `[200]`},
		{"null", `null`},
		{"neither status nor error", `{"body":"x"}`},
		{"status zero", `{"status":0}`},
		{"status out of range", `{"status":1000}`},
		{"status not a number", `{"status":"200"}`},
		{"status not an integer", `{"status":200.5}`},
		{"both bodies", `{"status":200,"body":"","bodyBase64":""}`},
		{"bad base64", `{"status":200,"bodyBase64":"***"}`},
		{"body not text", `{"status":200,"body":{"a":1}}`},
		{"headers not an object", `{"status":200,"headers":"x"}`},
		{"error without kind", `{"error":{"message":"m"}}`},
		{"error not an object", `{"error":"timeout"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeResponse([]byte(tc.doc))
			var he *HTTPError
			if err == nil || errors.As(err, &he) {
				t.Fatalf("decodeResponse(%s) = %+v, %v; want a malformed-response error", tc.doc, got, err)
			}
			if !strings.HasPrefix(err.Error(), "pdk: http: malformed response from the host: ") {
				t.Errorf("error = %q", err)
			}
		})
	}
}

// FuzzDecodeResponse checks that no response document panics the decoder,
// and that what it returns keeps Response's and HTTPError's guarantees.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"status":200,"headers":{"A":"b","V":["1","2"]},"body":"x","url":"u"}`,
		`{"status":200,"bodyBase64":"/wBh"}`,
		`{"error":{"kind":"timeout","message":"m","retryAfterMs":12}}`,
		`{"error":{"kind":"timeout","retryAfterMs":-1e400}}`,
		`{"status":-1}`, `[]`, `null`, ``, "{\"status\":200,\"body\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		res, err := decodeResponse(doc)
		if err != nil {
			if res != nil {
				t.Fatalf("decodeResponse(%q) = %+v and %v", doc, res, err)
			}
			var he *HTTPError
			if errors.As(err, &he) && (he.Kind == "" || he.RetryAfter < 0) {
				t.Fatalf("decodeResponse(%q) error %#v", doc, he)
			}
			return
		}
		if res.Body == nil || res.Headers == nil || res.Status < 100 || res.Status > 999 {
			t.Fatalf("decodeResponse(%q) = %+v", doc, res)
		}
	})
}

// FuzzRequestRoundTrip checks that any body, URL and header survive the
// request document unchanged.
func FuzzRequestRoundTrip(f *testing.F) {
	f.Add("https://api.example.com/x?y=1", "X-A", "v", []byte("text"))
	f.Add("http://127.0.0.1/", "K", "{{credential.apiKey}}", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, url, name, value string, body []byte) {
		if !utf8ValidAll(url, name, value) {
			t.Skip("the request document carries strings as JSON text")
		}
		in := Request{Method: "POST", URL: url, Headers: map[string]string{name: value}, Body: body}
		doc, err := encodeRequest(&in)
		if err != nil {
			t.Fatalf("encodeRequest: %v", err)
		}
		got := decodeRequest(t, doc)
		if got.URL != url || got.Headers[name] != value || !bytes.Equal(got.Body, body) {
			t.Fatalf("round trip of %+v = %+v (document %s)", in, got, doc)
		}
	})
}

func utf8ValidAll(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// fakeHost answers every request with doc and remembers the last request.
type fakeHost struct {
	doc  string
	none bool // answer 0: no broker
	got  []byte
}

func (h *fakeHost) send(req []byte) ([]byte, bool) {
	h.got = append([]byte(nil), req...)
	if h.none {
		return nil, false
	}
	return []byte(h.doc), true
}

func TestFetch(t *testing.T) {
	t.Parallel()
	h := &fakeHost{doc: `{"status":404,"headers":{"Content-Type":"text/plain"},"body":"nope","url":"https://api.example.com/b"}`}
	res, err := fetch(h.send, Request{URL: "https://api.example.com/a", Auth: true})
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if res.Status != 404 || res.OK() || string(res.Body) != "nope" || res.URL != "https://api.example.com/b" {
		t.Errorf("fetch = %+v", res)
	}
	if got := res.Header("content-type"); got != "text/plain" {
		t.Errorf("Header(content-type) = %q", got)
	}
	if want := `{"method":"GET","url":"https://api.example.com/a","auth":true}`; string(h.got) != want {
		t.Errorf("request document = %s, want %s", h.got, want)
	}
}

func TestFetchUnavailable(t *testing.T) {
	t.Parallel()
	// Outside wasip1 the host answers like one with no broker.
	_, err := Fetch(Request{URL: "https://api.example.com/"})
	var he *HTTPError
	if !errors.As(err, &he) || he.Kind != KindUnavailable {
		t.Fatalf("Fetch error = %v, want kind %s", err, KindUnavailable)
	}
	for name, err := range map[string]error{
		"GetJSON":  GetJSON("https://api.example.com/", true, nil),
		"PostJSON": PostJSON("https://api.example.com/", false, map[string]int{"a": 1}, nil),
	} {
		if !errors.As(err, &he) || he.Kind != KindUnavailable {
			t.Errorf("%s error = %v, want kind %s", name, err, KindUnavailable)
		}
	}
}

func TestJSONHelpers(t *testing.T) {
	t.Parallel()
	type item struct {
		ID int `json:"id"`
	}
	tests := []struct {
		name    string
		doc     string
		post    bool
		want    item
		wantReq string
		wantErr string
		status  int // of a *StatusError
		kind    string
	}{
		{name: "get 200", doc: `{"status":200,"body":"{\"id\":7}"}`, want: item{ID: 7},
			wantReq: `{"method":"GET","url":"https://api.example.com/i","headers":{"Accept":"application/json"},"auth":true}`},
		{name: "post 201", post: true, doc: `{"status":201,"body":"{\"id\":8}"}`, want: item{ID: 8},
			wantReq: `{"method":"POST","url":"https://api.example.com/i","headers":{"Accept":"application/json",` +
				`"Content-Type":"application/json"},"body":"{\"name\":\"<a&b>\"}","auth":true}`},
		{name: "204 with an empty body", doc: `{"status":204}`},
		{name: "404 is a StatusError", doc: `{"status":404,"body":"{\"error\":\"no such item\"}"}`,
			status: 404, wantErr: `splice: http status 404: {"error":"no such item"}`},
		{name: "500 binary body", doc: `{"status":500,"bodyBase64":"/w=="}`,
			status: 500, wantErr: `splice: http status 500`},
		{name: "host error", doc: `{"error":{"kind":"connection","message":"connection refused"}}`,
			kind: KindConnection, wantErr: "splice: http connection: connection refused"},
		{name: "body that does not fit", doc: `{"status":200,"body":"[1]"}`,
			wantErr: "pdk: http response 200: decode JSON body: json: cannot unmarshal array into Go value of type pdk.item"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &fakeHost{doc: tc.doc}
			var got item
			var err error
			if tc.post {
				err = postJSON(h.send, "https://api.example.com/i", true, map[string]string{"name": "<a&b>"}, &got)
			} else {
				err = getJSON(h.send, "https://api.example.com/i", true, &got)
			}
			if tc.wantReq != "" && string(h.got) != tc.wantReq {
				t.Errorf("request document =\n%s\nwant\n%s", h.got, tc.wantReq)
			}
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("error = %v, want %s", err, tc.wantErr)
			}
			var se *StatusError
			if errors.As(err, &se) != (tc.status != 0) || (se != nil && se.Status != tc.status) {
				t.Errorf("error %#v, want a StatusError %d", err, tc.status)
			}
			var he *HTTPError
			if errors.As(err, &he) != (tc.kind != "") || (he != nil && he.Kind != tc.kind) {
				t.Errorf("error %#v, want an HTTPError of kind %q", err, tc.kind)
			}
		})
	}
}

func TestStatusErrorMessage(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200) // 400 bytes; byte 256 ends a rune
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"no body", nil, "splice: http status 502"},
		{"whitespace collapsed", []byte("  bad\n\trequest \n"), "splice: http status 502: bad request"},
		{"long body cut on a rune", []byte("x" + long), "splice: http status 502: x" + strings.Repeat("é", 127) + "..."},
		{"binary", []byte{0xff, 'a'}, "splice: http status 502"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := (&StatusError{Status: 502, Body: tc.body}).Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestResponseOK(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{100: false, 199: false, 200: true, 204: true, 299: true, 300: false, 404: false} {
		if got := (&Response{Status: status}).OK(); got != want {
			t.Errorf("Response{Status: %d}.OK() = %v, want %v", status, got, want)
		}
	}
}

// ExampleFetch shows a call and the error of a host without an HTTP broker,
// which is what every native build (go test) gets.
func ExampleFetch() {
	res, err := Fetch(Request{
		Method:  "POST",
		URL:     "https://api.example.com/v1/messages",
		Headers: map[string]string{"Content-Type": "application/json"},
		Body:    []byte(`{"text":"hi"}`),
		Auth:    true, // the host injects the consumer's credential
	})
	var he *HTTPError
	switch {
	case errors.As(err, &he):
		fmt.Println(he.Kind, "|", err)
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(res.Status)
	}
	// Output:
	// unavailable | splice: http unavailable: the host has no HTTP broker for this call
}
