package ingress

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/internal/problem"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/whsig"
)

// ErrNotFound is what a Receiver answers for an automation it does not have.
var ErrNotFound = errors.New("ingress: no such automation")

// Target is the automation a webhook addresses, as the ingress needs it.
type Target struct {
	Consumer string
	Enabled  bool
	// Sync is set when the automation answers its webhooks with its run's reply or output.
	Sync bool
	// SigningKey, when set, is the key of the Standard Webhooks signature every request must
	// carry.
	SigningKey []byte
}

// Receiver is one environment as the ingress sees it.
type Receiver interface {
	// Target finds the automation id; ErrNotFound when the environment has none.
	Target(ctx context.Context, id string) (Target, error)
	// Receive hands the request to the automation's trigger and durably stores its events
	// (engine.Engine.Receive).
	Receive(ctx context.Context, consumer, id string, req *abi.HTTPRequest, dedupe string) (engine.Received, error)
	// Watch reports the run of an event (engine.Engine.Watch).
	Watch(eventID string) (<-chan engine.Update, func())
}

// Defaults of Options.
const (
	DefaultMaxBodyBytes    = 1 << 20
	DefaultMaxAPIBodyBytes = 64 << 20
	DefaultReadTimeout     = 10 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
	DefaultSyncWait        = 30 * time.Second
	DefaultMaxConns        = 10_000
	DefaultMaxInFlight     = 4096
	keepAliveEvery         = 15 * time.Second
)

// Options configures a Server. Environments is required; the zero value of every other field
// means its default.
type Options struct {
	// Environments finds the environment a webhook names.
	Environments func(name string) (Receiver, bool) `json:"-"`
	// API serves every path outside /hooks/ (the management API, /metrics, /healthz); nil
	// answers 404.
	API http.Handler `json:"-"`
	// MaxBodyBytes caps a webhook's body (413 past it, nothing past it read); default 1 MiB.
	MaxBodyBytes int `json:"maxBodyBytes"`
	// MaxAPIBodyBytes caps the body of other requests (connector modules); default 64 MiB.
	MaxAPIBodyBytes int `json:"maxApiBodyBytes"`
	// ReadTimeout bounds reading a request, headers and body (slow clients); default 10 s.
	ReadTimeout time.Duration `json:"readTimeout"`
	// WriteTimeout bounds writing a response; default SyncWait + 10 s. Streams are not bound by it.
	WriteTimeout time.Duration `json:"writeTimeout"`
	// IdleTimeout closes keep-alive connections idle this long; default 60 s.
	IdleTimeout time.Duration `json:"idleTimeout"`
	// MaxConns caps open connections; default 10,000.
	MaxConns int `json:"maxConns"`
	// MaxConnsPerIP caps one client address's connections; 0 means no cap.
	MaxConnsPerIP int `json:"maxConnsPerIp"`
	// MaxInFlight caps webhooks being handled at once; past it the answer is 503 with
	// Retry-After, at once; default 4096.
	MaxInFlight int `json:"maxInFlight"`
	// SyncWait bounds how long a sync webhook waits for its run; default 30 s.
	SyncWait time.Duration `json:"syncWait"`
	// Observe, when set, is told of each webhook's outcome (for metrics): its environment as
	// the path names it, and the reason: "" for an accepted one, else the problem code.
	Observe func(env, reason string, took time.Duration) `json:"-"`
	// Stored, when set, is told how long each webhook whose events were stored took from its
	// handling's start to the durable store: its answer's latency for an async automation (a
	// sync one's wait for the run excluded).
	Stored func(took time.Duration) `json:"-"`
	// Backlogged, when set, is told of each webhook refused (429) because its consumer's backlog
	// of waiting work is full.
	Backlogged func() `json:"-"`
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger `json:"-"`
	// Now is the clock of signature timestamps; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// Server serves one port: webhooks under /hooks/{env}/{automationId}, everything else through
// Options.API. It is safe for concurrent use.
type Server struct {
	o        Options
	srv      *fasthttp.Server
	api      fasthttp.RequestHandler
	inFlight atomic.Int64
	// apiCtx is the context of every API request, canceled when Shutdown starts (see New).
	apiCtx    context.Context
	cancelAPI context.CancelFunc
	// fullLogged is when a webhook refused for a full disk was last logged (unix ns): once a
	// minute, not once per webhook.
	fullLogged atomic.Int64
}

// New returns a Server.
func New(o Options) (*Server, error) {
	if o.Environments == nil {
		return nil, errors.New("ingress: options: environments are required")
	}
	if o.MaxBodyBytes < 0 || o.MaxAPIBodyBytes < 0 || o.ReadTimeout < 0 || o.WriteTimeout < 0 || o.IdleTimeout < 0 ||
		o.MaxConns < 0 || o.MaxConnsPerIP < 0 || o.MaxInFlight < 0 || o.SyncWait < 0 {
		return nil, errors.New("ingress: options: negative limit")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxBodyBytes, DefaultMaxBodyBytes)
	def(&o.MaxAPIBodyBytes, DefaultMaxAPIBodyBytes)
	def(&o.MaxConns, DefaultMaxConns)
	def(&o.MaxInFlight, DefaultMaxInFlight)
	defd(&o.ReadTimeout, DefaultReadTimeout)
	defd(&o.IdleTimeout, DefaultIdleTimeout)
	defd(&o.SyncWait, DefaultSyncWait)
	defd(&o.WriteTimeout, o.SyncWait+10*time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o}
	s.apiCtx, s.cancelAPI = context.WithCancel(context.Background())
	if o.API != nil {
		// The adaptor gives a request fasthttp's RequestCtx as its context. A context derived
		// from that one (a timeout) starts a goroutine of the context package that may read it
		// after the request, when fasthttp has reset it for the next (a data race, seen at
		// shutdown under -race). The API gets a context of the server's own instead, canceled
		// when Shutdown starts, as the RequestCtx is.
		api := o.API
		s.api = fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			api.ServeHTTP(w, r.WithContext(s.apiCtx))
		}))
	}
	s.srv = &fasthttp.Server{
		Handler:                      s.handle,
		Name:                         "splice",
		ReadTimeout:                  o.ReadTimeout,
		WriteTimeout:                 o.WriteTimeout,
		IdleTimeout:                  o.IdleTimeout,
		Concurrency:                  o.MaxConns,
		MaxConnsPerIP:                o.MaxConnsPerIP,
		MaxRequestBodySize:           o.MaxAPIBodyBytes,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       logger{o.Logger},
		// The body cap of a webhook is checked against its declared length before anything of
		// the body is read (fasthttp would allocate it up front) or, for a chunked body, as it
		// is read.
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			if strings.HasPrefix(string(h.RequestURI()), "/hooks/") {
				return fasthttp.RequestConfig{MaxRequestBodySize: o.MaxBodyBytes}
			}
			return fasthttp.RequestConfig{}
		},
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			code, msg := problem.BadRequest, "malformed request"
			switch {
			case errors.Is(err, fasthttp.ErrBodyTooLarge):
				code, msg = problem.TooLarge, "the body is over the cap"
			case isTimeout(err):
				code, msg = problem.BadRequest, "the request was not read in time"
			}
			if rest, ok := strings.CutPrefix(string(ctx.Request.Header.RequestURI()), "/hooks/"); ok && s.o.Observe != nil {
				env, _, _ := strings.Cut(rest, "/")
				s.o.Observe(env, string(code), 0)
			}
			writeProblem(ctx, code, msg, nil)
			ctx.SetConnectionClose()
		},
	}
	return s, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Serve serves ln until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.srv.Serve(ln)
}

// Shutdown stops accepting connections, closes idle ones and waits for the requests in hand
// (sync waits included) to finish, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancelAPI()
	return s.srv.ShutdownWithContext(ctx)
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if rest, ok := strings.CutPrefix(string(path), "/hooks/"); ok {
		s.hook(ctx, rest)
		return
	}
	if s.api == nil {
		writeProblem(ctx, problem.NotFound, "no such route", nil)
		return
	}
	s.api(ctx)
}

// hook serves /hooks/{env}/{automationId}.
func (s *Server) hook(ctx *fasthttp.RequestCtx, rest string) {
	start := time.Now()
	code, accepted := s.hookInner(ctx, rest, start)
	if s.o.Observe != nil {
		reason := string(code)
		if accepted {
			reason = ""
		}
		env, _, _ := strings.Cut(rest, "/")
		s.o.Observe(env, reason, time.Since(start))
	}
}

func (s *Server) hookInner(ctx *fasthttp.RequestCtx, rest string, start time.Time) (problem.Code, bool) {
	fail := func(code problem.Code, msg string, details any) (problem.Code, bool) {
		writeProblem(ctx, code, msg, details)
		return code, false
	}
	envName, id, ok := strings.Cut(rest, "/")
	if !ok || envName == "" || id == "" || strings.Contains(id, "/") {
		return fail(problem.NotFound, "webhooks are at /hooks/{env}/{automationId}", nil)
	}
	env, ok := s.o.Environments(envName)
	if !ok {
		return fail(problem.NotFound, fmt.Sprintf("no environment %q", envName), nil)
	}
	if n := s.inFlight.Add(1); n > int64(s.o.MaxInFlight) {
		s.inFlight.Add(-1)
		ctx.Response.Header.Set("Retry-After", "1")
		return fail(problem.Unavailable, "too many webhooks in hand; retry shortly", nil)
	}
	defer s.inFlight.Add(-1)

	c, cancel := context.WithTimeout(context.Background(), s.o.ReadTimeout+s.o.SyncWait)
	defer cancel()
	t, err := env.Target(c, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return fail(problem.NotFound, fmt.Sprintf("no automation %q in %s", id, envName), nil)
	case err != nil:
		s.o.Logger.Error("ingress: automation lookup", "env", envName, "automation", id, "err", err)
		ctx.Response.Header.Set("Retry-After", "1")
		return fail(problem.Unavailable, "the automation could not be read; retry shortly", nil)
	case !t.Enabled:
		return fail(problem.Disabled, "the automation is disabled", nil)
	}
	body := ctx.PostBody()
	dedupe := string(ctx.Request.Header.Peek("webhook-id"))
	if t.SigningKey != nil {
		h := whsig.Headers{ID: dedupe, Timestamp: string(ctx.Request.Header.Peek("webhook-timestamp")),
			Signature: string(ctx.Request.Header.Peek("webhook-signature"))}
		if err := whsig.Verify(t.SigningKey, h, body, s.o.Now()); err != nil {
			return fail(problem.BadSignature, err.Error(), nil)
		}
	}
	if len(dedupe) > 200 {
		return fail(problem.BadRequest, "webhook-id is longer than 200 bytes", nil)
	}
	req := copyRequest(ctx, body)
	r, err := env.Receive(c, t.Consumer, id, req, dedupe)
	if err != nil {
		return s.receiveFailed(ctx, err)
	}
	if s.o.Stored != nil {
		s.o.Stored(time.Since(start))
	}
	ids := make([]string, len(r.Events))
	for i, ev := range r.Events {
		ids[i] = ev.ID
	}
	if r.Response != nil && (!t.Sync || len(ids) == 0) {
		writeResponse(ctx, r.Response)
		return "", true
	}
	if !t.Sync || len(ids) == 0 {
		ctx.SetStatusCode(http.StatusAccepted)
		ctx.SetContentType("application/json")
		b, _ := json.Marshal(map[string][]string{"eventIds": ids})
		ctx.SetBody(b)
		return "", true
	}
	updates, stop := env.Watch(ids[0])
	if strings.Contains(string(ctx.Request.Header.Peek("Accept")), "text/event-stream") {
		s.stream(ctx, updates, stop, ids)
		return "", true
	}
	defer stop()
	wait := s.o.SyncWait
	if r.Events[0].Duplicate {
		// A sender's retry of an event already stored: its run is watched if it is still going
		// or ended lately; an older one is only acknowledged.
		wait = min(wait, duplicateWait)
	}
	return s.waitReply(ctx, updates, ids, wait)
}

// noSpaceRetryAfter is the Retry-After of a webhook refused because the disk is full, in seconds.
const noSpaceRetryAfter = "30"

// backlogRetryAfter is the Retry-After of a webhook refused because its consumer's backlog is
// full: long enough for some of it to be worked off.
const backlogRetryAfter = "5"

// duplicateWait bounds the wait of a sync webhook whose event was stored before.
const duplicateWait = time.Second

func (s *Server) receiveFailed(ctx *fasthttp.RequestCtx, err error) (problem.Code, bool) {
	code, msg := problem.Internal, "the webhook could not be stored"
	switch {
	case errors.Is(err, engine.ErrNotWebhook):
		code, msg = problem.NotWebhook, err.Error()
	case errors.Is(err, engine.ErrTrigger), errors.Is(err, engine.ErrPayload):
		code, msg = problem.TriggerRefused, err.Error()
	case errors.Is(err, ledger.ErrInvalid):
		code, msg = problem.Invalid, err.Error()
	case errors.Is(err, ErrNotFound):
		code, msg = problem.NotFound, "no such automation"
	case errors.Is(err, ledger.ErrBacklog):
		// The consumer's quota of waiting work: the sender should slow down, as on a 429 of any API.
		code, msg = problem.TooManyRequests, "too many of this consumer's events are waiting to run; retry later"
		ctx.Response.Header.Set("Retry-After", backlogRetryAfter)
		if s.o.Backlogged != nil {
			s.o.Backlogged()
		}
	case errors.Is(err, ledger.ErrNoSpace):
		// The disk is (nearly) full: nothing is stored until the operator frees space, which
		// takes longer than a store's hiccup. /healthz says so too.
		code, msg = problem.Unavailable, "the server's disk is full: nothing was stored; retry later"
		ctx.Response.Header.Set("Retry-After", noSpaceRetryAfter)
		if now, last := time.Now().UnixNano(), s.fullLogged.Load(); now-last > int64(time.Minute) && s.fullLogged.CompareAndSwap(last, now) {
			s.o.Logger.Error("ingress: webhooks refused: the disk is full", "err", err)
		}
	default:
		// The store failed or timed out: nothing is acknowledged, the sender should retry.
		s.o.Logger.Error("ingress: receive", "err", err)
		code = problem.Unavailable
		ctx.Response.Header.Set("Retry-After", "1")
	}
	writeProblem(ctx, code, msg, nil)
	return code, false
}

// waitReply answers a sync webhook with its run's reply, its output, or a timeout.
func (s *Server) waitReply(ctx *fasthttp.RequestCtx, updates <-chan engine.Update, ids []string, wait time.Duration) (problem.Code, bool) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case u, ok := <-updates:
			if !ok {
				writeProblem(ctx, problem.Internal, "the run's updates ended without its end", map[string]any{"eventIds": ids})
				return problem.Internal, false
			}
			switch u.Kind {
			case engine.UpdateReply:
				writeReply(ctx, u.Output)
				return "", true
			case engine.UpdateEnd:
				return endReply(ctx, u, ids)
			}
		case <-timer.C:
			if wait < s.o.SyncWait {
				ctx.SetStatusCode(http.StatusAccepted)
				ctx.SetContentType("application/json")
				b, _ := json.Marshal(map[string]any{"eventIds": ids, "duplicate": true})
				ctx.SetBody(b)
				return "", true
			}
			writeProblem(ctx, problem.RunTimeout, fmt.Sprintf("the run did not answer within %s; it goes on", wait),
				map[string]any{"eventIds": ids})
			return problem.RunTimeout, true // the event is stored: accepted
		}
	}
}

func endReply(ctx *fasthttp.RequestCtx, u engine.Update, ids []string) (problem.Code, bool) {
	switch u.Status {
	case ledger.Succeeded, ledger.Filtered:
		ctx.SetStatusCode(http.StatusOK)
		ctx.SetContentType("application/json")
		ctx.SetBody(orNull(u.Output))
		return "", true
	}
	details := map[string]any{"eventIds": ids, "run": u.Run, "status": u.Status}
	if u.Error != nil {
		details["error"] = u.Error
	}
	writeProblem(ctx, problem.RunFailed, fmt.Sprintf("the run ended %s", u.Status), details)
	return problem.RunFailed, true
}

// stream answers a sync webhook as server-sent events: one per completed step, the reply if a
// respond step sets one, the end last, with keep-alive comments meanwhile.
func (s *Server) stream(ctx *fasthttp.RequestCtx, updates <-chan engine.Update, stop func(), ids []string) {
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	wait := s.o.SyncWait
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer stop()
		event := func(name string, v any) bool {
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
			return w.Flush() == nil
		}
		if !event("accepted", map[string][]string{"eventIds": ids}) {
			return
		}
		deadline := time.NewTimer(wait)
		defer deadline.Stop()
		tick := time.NewTicker(keepAliveEvery)
		defer tick.Stop()
		for {
			select {
			case u, ok := <-updates:
				if !ok {
					return
				}
				if !event(string(u.Kind), u) || u.Kind == engine.UpdateEnd {
					return
				}
			case <-tick.C:
				if _, err := w.WriteString(": keep-alive\n\n"); err != nil || w.Flush() != nil {
					return
				}
			case <-deadline.C:
				event("timeout", problem.Body{Error: problem.Detail{Code: problem.RunTimeout,
					Message: fmt.Sprintf("the run did not end within %s; it goes on", wait)}})
				return
			}
		}
	})
}

// copyRequest copies what the trigger sees out of fasthttp's reused buffers.
func copyRequest(ctx *fasthttp.RequestCtx, body []byte) *abi.HTTPRequest {
	req := &abi.HTTPRequest{Method: string(ctx.Method()), Path: string(ctx.Path()), Body: string(body)}
	for k, v := range ctx.Request.Header.All() {
		if req.Headers == nil {
			req.Headers = map[string][]string{}
		}
		name := http.CanonicalHeaderKey(string(k))
		req.Headers[name] = append(req.Headers[name], string(v))
	}
	for k, v := range ctx.QueryArgs().All() {
		if req.Query == nil {
			req.Query = map[string][]string{}
		}
		req.Query[string(k)] = append(req.Query[string(k)], string(v))
	}
	return req
}

func writeProblem(ctx *fasthttp.RequestCtx, code problem.Code, msg string, details any) {
	ctx.SetStatusCode(code.Status())
	ctx.SetContentType("application/json")
	ctx.SetBody(problem.JSON(code, msg, details))
}

// writeResponse answers with what a trigger set.
func writeResponse(ctx *fasthttp.RequestCtx, r *abi.HTTPResponse) {
	status := r.Status
	if status < 200 || status > 599 {
		status = http.StatusOK
	}
	ctx.SetStatusCode(status)
	for k, vs := range r.Headers {
		if !safeHeader(k) {
			continue
		}
		for _, v := range vs {
			ctx.Response.Header.Add(k, v)
		}
	}
	ctx.SetBodyString(r.Body)
}

// writeReply answers with a respond step's {status, headers, body}: a string body is sent as
// text, any other JSON value as JSON.
func writeReply(ctx *fasthttp.RequestCtx, out json.RawMessage) {
	var r struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	}
	_ = json.Unmarshal(out, &r)
	if r.Status < 200 || r.Status > 599 {
		r.Status = http.StatusOK
	}
	ctx.SetStatusCode(r.Status)
	var text string
	if json.Unmarshal(r.Body, &text) == nil {
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString(text)
	} else {
		ctx.SetContentType("application/json")
		ctx.SetBody(orNull(r.Body))
	}
	for k, v := range r.Headers {
		if safeHeader(k) {
			ctx.Response.Header.Set(k, v)
		}
	}
}

// safeHeader refuses the headers an automation may not set: framing and connection headers,
// which are the server's.
func safeHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer", "Te", "Date", "Server":
		return false
	}
	return k != "" && !strings.ContainsAny(k, "\r\n:")
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// logger passes fasthttp's own messages (connections it could not serve) to the slog logger.
type logger struct{ l *slog.Logger }

func (l logger) Printf(format string, args ...any) {
	l.l.Debug("ingress: " + fmt.Sprintf(format, args...))
}
