package ingress

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzCopyRequest: whatever request fasthttp parses, the copy the trigger sees encodes as JSON,
// keeps the body byte for byte when it is valid UTF-8, and shares no memory with fasthttp's
// buffers (the request is reset and overwritten after the copy).
func FuzzCopyRequest(f *testing.F) {
	f.Add([]byte("POST /hooks/dev/a1?x=1&x=2 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 8\r\n\r\n{\"n\": 1}"))
	f.Add([]byte("GET /hooks/dev/a1 HTTP/1.1\r\nHost: h\r\n\r\n"))
	f.Add([]byte("PUT /hooks/dev/%E2%9C%93 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ctx fasthttp.RequestCtx
		if err := ctx.Request.ReadLimitBody(bufio.NewReader(bytes.NewReader(raw)), 1<<16); err != nil {
			return
		}
		body := ctx.PostBody()
		req := copyRequest(&ctx, body)
		before, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("the copy does not encode: %v", err)
		}
		if json.Valid(body) && req.Body != string(body) {
			t.Fatalf("body %q copied as %q", body, req.Body)
		}
		// Overwrite fasthttp's buffers: the copy must not change.
		ctx.Request.Reset()
		ctx.Request.SetRequestURI("/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
		ctx.Request.Header.Set("Zzzzzzzzzz", "zzzzzzzzzzzzzzzzzzzzzzzzzz")
		ctx.Request.SetBody(bytes.Repeat([]byte("z"), len(body)+64))
		after, _ := json.Marshal(req)
		if !bytes.Equal(before, after) {
			t.Fatalf("the copy changed when fasthttp's buffers were reused:\n%s\n%s", before, after)
		}
	})
}
