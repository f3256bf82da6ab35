package main

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// sinkOptions are the sink's test hooks. The zero value is the plain sink of the command line.
type sinkOptions struct {
	// Delay, when positive, holds every POST that long before answering (a slow upstream). A
	// stopping sink answers at once.
	Delay time.Duration
	// FailRate, between 0 and 1, is the share of POSTs answered 503 (a flaky upstream), picked at
	// random. They are counted as received all the same, and told to OnMessage as failed, but
	// not as delivered: a later copy of one is no duplicate.
	FailRate float64
	// OnMessage, when set, is called with the body and the Idempotency-Key header (empty when
	// absent) of every POST, and whether it is answered 503 (FailRate), before the answer and
	// after the count. body and idempotencyKey are valid only during the call; copy what you
	// keep. It must be safe for concurrent use.
	OnMessage func(body, idempotencyKey []byte, failed bool)
}

// sink is the loopback "chat" upstream: it counts every POST (any path) and answers 200
// {"ok":true}; GET /count answers {"received":N}. It also counts the POSTs whose body it had
// received before (since the last ResetDuplicates): a W1 message names its order, so a second one
// means an order's run posted twice. It is safe for concurrent use.
type sink struct {
	*loopServer
	opts     sinkOptions
	received atomic.Int64

	mu   sync.Mutex
	seed maphash.Seed
	seen map[uint64]struct{} // hashes of the bodies received since ResetDuplicates
	dups int64
}

// runSink starts a sink listening on addr (a loopback host:port; port 0 picks one). It serves until
// ctx is done or Close is called.
//
// # Errors
//
// A listen address that is not loopback (errNotLoopback) or cannot be listened on.
func runSink(ctx context.Context, addr string, opts sinkOptions) (*sink, error) {
	if !(opts.FailRate >= 0 && opts.FailRate < 1) {
		return nil, fmt.Errorf("sink: fail rate %g out of range [0, 1)", opts.FailRate)
	}
	s := &sink{opts: opts, seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}}
	ls, err := startServer(ctx, addr, s.handle)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	s.loopServer = ls
	return s, nil
}

// Received returns the number of messages (POSTs) received so far.
func (s *sink) Received() int64 { return s.received.Load() }

// Duplicates returns the number of messages received since the last ResetDuplicates whose body
// had been received before in that time.
func (s *sink) Duplicates() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dups
}

// ResetDuplicates forgets the bodies received so far: the native ceiling and Splice post the
// same orders' messages, each once.
func (s *sink) ResetDuplicates() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen, s.dups = map[uint64]struct{}{}, 0
}

func (s *sink) note(body []byte) {
	h := maphash.Bytes(s.seed, body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[h]; ok {
		s.dups++
		return
	}
	s.seen[h] = struct{}{}
}

func (s *sink) handle(ctx *fasthttp.RequestCtx) {
	switch {
	case ctx.IsPost():
		s.received.Add(1)
		failed := s.opts.FailRate > 0 && rand.Float64() < s.opts.FailRate
		if !failed { // a message answered 503 was not delivered: its retry is no duplicate
			s.note(ctx.PostBody())
		}
		if s.opts.OnMessage != nil {
			s.opts.OnMessage(ctx.PostBody(), ctx.Request.Header.Peek("Idempotency-Key"), failed)
		}
		if failed {
			ctx.Error(`{"ok":false,"error":"flaky upstream"}`, fasthttp.StatusServiceUnavailable)
			return
		}
		if s.opts.Delay > 0 {
			t := time.NewTimer(s.opts.Delay)
			select {
			case <-t.C:
			case <-ctx.Done(): // the server is shutting down
				t.Stop()
			}
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"ok":true}`)
	case ctx.IsGet() && string(ctx.Path()) == "/count":
		ctx.SetContentType("application/json")
		b := append(ctx.Response.Body()[:0], `{"received":`...)
		b = strconv.AppendInt(b, s.received.Load(), 10)
		ctx.SetBody(append(b, '}'))
	default:
		ctx.Error("sink: POST a message to any path, or GET /count", fasthttp.StatusMethodNotAllowed)
	}
}

// fetchCount asks the sink at rawURL (its /count URL, or its base URL) how many messages it
// received.
//
// # Errors
//
// A URL that is not http on loopback, a transport error, a status other than 200, or an answer
// without a numeric "received".
func fetchCount(ctx context.Context, rawURL string) (int64, error) {
	u, err := parseLoopbackURL(rawURL)
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/count"
	}
	hc := &fasthttp.HostClient{Addr: hostPort(u), DialTimeout: dialLoopback, Name: "splice-load", MaxResponseBodySize: 1 << 16}
	defer hc.CloseIdleConnections()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(u.String())
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := hc.DoDeadline(req, resp, deadline); err != nil {
		return 0, fmt.Errorf("count: get %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return 0, fmt.Errorf("count: get %s: status %d: %.200s", u.Redacted(), resp.StatusCode(), resp.Body())
	}
	r := gjson.GetBytes(resp.Body(), "received")
	if r.Type != gjson.Number {
		return 0, fmt.Errorf("count: get %s: no numeric \"received\" in %.200s", u.Redacted(), resp.Body())
	}
	return r.Int(), nil
}
