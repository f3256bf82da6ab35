package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// upstreamTimeout bounds the native handler's call to the upstream.
const upstreamTimeout = 5 * time.Second

// errBadOrder is the native handler's refusal of a webhook body it cannot map.
var errBadOrder = errors.New("bad order")

// native is the no-platform ceiling of workload W1: a fasthttp handler that, per webhook, reads
// the order with gjson, builds the chat message and POSTs it to the upstream, answering 200 once
// the upstream answered 2xx (so its rate is runs/s). A body it cannot map gets 400, an upstream
// failure 502. It is safe for concurrent use.
type native struct {
	*loopServer
	upstream  string
	client    *fasthttp.HostClient
	bufs      sync.Pool
	delivered atomic.Int64
	rejected  atomic.Int64
	failed    atomic.Int64
	firstErr  atomic.Pointer[string]
}

// runNative starts the native handler on addr (a loopback host:port; port 0 picks one), posting
// messages to upstream (an http URL on loopback). It serves until ctx is done or Close is called.
//
// # Errors
//
// An address or upstream URL that is not loopback (errNotLoopback), or an address that cannot be
// listened on.
func runNative(ctx context.Context, addr, upstream string) (*native, error) {
	u, err := parseLoopbackURL(upstream)
	if err != nil {
		return nil, fmt.Errorf("native: upstream %w", err)
	}
	n := &native{
		upstream: u.String(),
		client: &fasthttp.HostClient{
			Addr:                hostPort(u),
			Name:                "splice-load-native",
			DialTimeout:         dialLoopback,
			MaxConns:            4096,
			MaxConnWaitTimeout:  upstreamTimeout,
			MaxIdleConnDuration: 30 * time.Second,
			MaxResponseBodySize: 1 << 20,
			// A POST is sent once: a retry could deliver a message twice.
			MaxIdemponentCallAttempts: 1,
			RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		},
		bufs: sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }},
	}
	ls, err := startServer(ctx, addr, n.handle)
	if err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	n.loopServer = ls
	return n, nil
}

// Delivered returns the number of webhooks whose message the upstream accepted.
func (n *native) Delivered() int64 { return n.delivered.Load() }

// Rejected returns the number of webhooks refused with 400 (not an order).
func (n *native) Rejected() int64 { return n.rejected.Load() }

// Failed returns the number of webhooks answered 502 because the upstream call failed.
func (n *native) Failed() int64 { return n.failed.Load() }

// FirstError returns the first upstream failure, "" when there was none.
func (n *native) FirstError() string {
	if p := n.firstErr.Load(); p != nil {
		return *p
	}
	return ""
}

func (n *native) handle(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.Error("native: POST an order", fasthttp.StatusMethodNotAllowed)
		return
	}
	bp := n.bufs.Get().(*[]byte)
	msg, err := appendMessage((*bp)[:0], ctx.PostBody())
	if err != nil {
		*bp = msg
		n.bufs.Put(bp)
		n.rejected.Add(1)
		ctx.Error("native: "+err.Error(), fasthttp.StatusBadRequest)
		return
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI(n.upstream)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.SetBody(msg)
	*bp = msg
	n.bufs.Put(bp)
	err = n.client.DoTimeout(req, resp, upstreamTimeout)
	status := resp.StatusCode()
	fasthttp.ReleaseRequest(req)
	fasthttp.ReleaseResponse(resp)
	switch {
	case err != nil:
		err = fmt.Errorf("native: post to upstream: %w", err)
	case status < 200 || status > 299:
		err = fmt.Errorf("native: post to upstream: status %d", status)
	default:
		n.delivered.Add(1)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"ok":true}`)
		return
	}
	n.failed.Add(1)
	msgErr := err.Error()
	n.firstErr.CompareAndSwap(nil, &msgErr)
	ctx.Error(msgErr, fasthttp.StatusBadGateway)
}

// appendMessage maps an order (the webhook body) to the chat message and appends it to dst:
// {"channel":"#orders","text":"New order <id> by <customer.name>, total <total>"}. Numbers keep
// their JSON text; strings are escaped, invalid UTF-8 becoming U+FFFD. The output is always valid
// JSON.
//
// # Errors
//
// errBadOrder when body is not valid JSON or has no id.
func appendMessage(dst, body []byte) ([]byte, error) {
	if !gjson.ValidBytes(body) {
		return dst, fmt.Errorf("%w: not valid JSON", errBadOrder)
	}
	r := gjson.GetManyBytes(body, "id", "customer.name", "total")
	if !r[0].Exists() {
		return dst, fmt.Errorf("%w: no id", errBadOrder)
	}
	dst = append(dst, `{"channel":"#orders","text":"New order `...)
	dst = appendJSONText(dst, textOf(r[0]))
	dst = append(dst, " by "...)
	dst = appendJSONText(dst, textOf(r[1]))
	dst = append(dst, ", total "...)
	dst = appendJSONText(dst, textOf(r[2]))
	return append(dst, `"}`...), nil
}

// textOf returns a value as message text: a number as written, a string unquoted, other values as
// their JSON, a missing value as "".
func textOf(r gjson.Result) string {
	if r.Type == gjson.Number {
		return r.Raw
	}
	return r.String()
}

// appendJSONText appends s escaped for the inside of a JSON string.
func appendJSONText(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}
