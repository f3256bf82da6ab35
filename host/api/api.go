package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/splicehq/splice/host/api/token"
	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/credential"
	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/internal/problem"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/validate"
)

// Environment is one environment as the API serves it. host/server fills it.
type Environment struct {
	Name string
	// Secret signs and verifies the environment's consumer JWTs.
	Secret      []byte
	Store       ledger.Store
	Catalog     *connector.Catalog
	Credentials *credential.Store
	Automations *automation.Store
	Engine      *engine.Engine
	// Deploy validates, compiles and describes a module and stores it as a version of its app
	// (the active one when activate is set).
	Deploy func(ctx context.Context, wasm []byte, activate bool) (connector.Deployment, error)
	// Activate makes a deployed version its app's active one.
	Activate func(ctx context.Context, appKey, version string) error
}

// Environments are the server's environments.
type Environments interface {
	// Environment returns the environment name.
	Environment(name string) (*Environment, bool)
	// Names lists the environments.
	Names() []string
	// Create makes a new environment (ErrExists when it does).
	Create(ctx context.Context, name string) (*Environment, error)
}

// ErrExists is returned by Environments.Create for a name in use.
var ErrExists = errors.New("api: the environment exists")

// Options configures the API. Environments and OperatorToken are required.
type Options struct {
	Environments Environments `json:"-"`
	// OperatorToken is the bearer token of operator routes.
	OperatorToken string `json:"-"`
	// BaseURL is the server's URL as callers reach it (for webhook URLs), without a trailing
	// slash; default http://127.0.0.1:8080.
	BaseURL string `json:"baseUrl"`
	// Metrics serves GET /metrics; nil answers 404.
	Metrics http.Handler `json:"-"`
	// Health, when set, is asked by GET /healthz: an error answers 503 (its text goes to the
	// log, not to the unauthenticated caller).
	Health func() error `json:"-"`
	// MaxTokenTTL caps the consumer tokens POST /v1/envs/{env}/tokens mints; default 24 h.
	MaxTokenTTL time.Duration `json:"maxTokenTtl"`
	// FollowPoll is how often a followed activity feed is read again; default 250 ms.
	FollowPoll time.Duration `json:"followPoll"`
	Logger     *slog.Logger  `json:"-"`
	// Now is the clock of token checks; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// API serves the management API (/v1), /healthz and /metrics. It is safe for concurrent use.
type API struct {
	o   Options
	mux *http.ServeMux
	// unhealthy is whether the last GET /healthz answered 503: the log tells each change once,
	// not every probe (a load balancer probes every few seconds).
	unhealthy atomic.Bool
}

// New returns the API.
func New(o Options) (*API, error) {
	if o.Environments == nil || o.OperatorToken == "" {
		return nil, errors.New("api: options: environments and the operator token are required")
	}
	if o.BaseURL == "" {
		o.BaseURL = "http://127.0.0.1:8080"
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.MaxTokenTTL == 0 {
		o.MaxTokenTTL = 24 * time.Hour
	}
	if o.FollowPoll == 0 {
		o.FollowPoll = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &API{o: o, mux: http.NewServeMux()}
	a.routes()
	return a, nil
}

// Route is one route of the API, as Routes lists them.
type Route struct {
	Method, Pattern string
	Operator        bool // an operator route (else a consumer route, or open)
	Open            bool // no authentication
}

// routeTable is every route; routes registers them and Routes lists them (the OpenAPI test
// checks the document against it).
func (a *API) routeTable() []struct {
	Route
	h http.HandlerFunc
} {
	type r = struct {
		Route
		h http.HandlerFunc
	}
	op := func(m, p string, h http.HandlerFunc) r { return r{Route{m, p, true, false}, a.operator(h)} }
	co := func(m, p string, h func(http.ResponseWriter, *http.Request, *Environment, string)) r {
		return r{Route{m, p, false, false}, a.consumer(h)}
	}
	return []r{
		{Route{"GET", "/healthz", false, true}, a.healthz},
		{Route{"GET", "/metrics", false, true}, a.metrics},
		op("GET", "/v1/environments", a.listEnvironments),
		op("POST", "/v1/environments", a.createEnvironment),
		op("POST", "/v1/envs/{env}/connectors", a.pushConnector),
		op("GET", "/v1/envs/{env}/connectors", a.listConnectors),
		op("GET", "/v1/envs/{env}/connectors/{appKey}", a.showConnector),
		op("GET", "/v1/envs/{env}/connectors/{appKey}/versions", a.listVersions),
		op("POST", "/v1/envs/{env}/connectors/{appKey}/activate", a.activateConnector),
		op("POST", "/v1/envs/{env}/promote", a.promote),
		op("POST", "/v1/envs/{env}/tokens", a.mintToken),
		co("POST", "/v1/envs/{env}/credentials", a.createCredential),
		co("GET", "/v1/envs/{env}/credentials", a.listCredentials),
		co("DELETE", "/v1/envs/{env}/credentials/{key}", a.deleteCredential),
		co("POST", "/v1/envs/{env}/automations", a.createAutomation),
		co("GET", "/v1/envs/{env}/automations", a.listAutomations),
		co("GET", "/v1/envs/{env}/automations/{id}", a.showAutomation),
		co("PUT", "/v1/envs/{env}/automations/{id}", a.replaceAutomation),
		co("DELETE", "/v1/envs/{env}/automations/{id}", a.deleteAutomation),
		co("POST", "/v1/envs/{env}/automations/{id}/enable", a.enableAutomation),
		co("POST", "/v1/envs/{env}/automations/{id}/disable", a.disableAutomation),
		co("GET", "/v1/envs/{env}/runs", a.listRuns),
		co("GET", "/v1/envs/{env}/runs/{id}", a.showRun),
		co("POST", "/v1/envs/{env}/runs/{id}/replay", a.replayRun),
		co("GET", "/v1/envs/{env}/activity", a.activity),
	}
}

// Routes lists the API's routes.
func (a *API) Routes() []Route {
	var out []Route
	for _, r := range a.routeTable() {
		out = append(out, r.Route)
	}
	return out
}

func (a *API) routes() {
	for _, r := range a.routeTable() {
		a.mux.HandleFunc(r.Method+" "+r.Pattern, r.h)
	}
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern == "" {
		// No route: tell 405 (the path exists with another method) from 404.
		rec := &statusOnly{}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			writeProblem(w, problem.MethodNotAllowed, "this route does not take "+r.Method, nil)
			return
		}
		writeProblem(w, problem.NotFound, "no such route", nil)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// statusOnly records the status a handler writes, and drops the rest.
type statusOnly struct {
	status int
	h      http.Header
}

func (s *statusOnly) Header() http.Header {
	if s.h == nil {
		s.h = http.Header{}
	}
	return s.h
}
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }

// operator wraps an operator route: the bearer must be the operator token.
func (a *API) operator(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !token.Equal(bearer(r), a.o.OperatorToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="splice operator"`)
			writeProblem(w, problem.Unauthorized, "an operator token is required", nil)
			return
		}
		h(w, r)
	}
}

// consumer wraps a consumer route: the bearer must be a JWT of the route's environment, whose
// sub is the consumer the handler acts for.
func (a *API) consumer(h func(http.ResponseWriter, *http.Request, *Environment, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		env, ok := a.o.Environments.Environment(r.PathValue("env"))
		if !ok {
			// The same answer as a bad token: an unauthenticated caller learns nothing of which
			// environments exist.
			w.Header().Set("WWW-Authenticate", `Bearer realm="splice"`)
			writeProblem(w, problem.Unauthorized, "a consumer token of this environment is required", nil)
			return
		}
		c, err := token.Verify(env.Secret, bearer(r), a.o.Now())
		if err != nil {
			msg := "a consumer token of this environment is required"
			if errors.Is(err, token.ErrExpired) {
				msg = "the consumer token has expired"
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="splice"`)
			writeProblem(w, problem.Unauthorized, msg, nil)
			return
		}
		h(w, r, env, c.Consumer)
	}
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// env finds the {env} of an operator route, answering 404 when there is none.
func (a *API) env(w http.ResponseWriter, r *http.Request) (*Environment, bool) {
	env, ok := a.o.Environments.Environment(r.PathValue("env"))
	if !ok {
		writeProblem(w, problem.NotFound, fmt.Sprintf("no environment %q", r.PathValue("env")), nil)
	}
	return env, ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, problem.Internal, "the answer could not be encoded", nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeProblem(w http.ResponseWriter, code problem.Code, msg string, details any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code.Status())
	_, _ = w.Write(problem.JSON(code, msg, details))
}

// maxJSONBody caps the JSON documents the API reads (automations, credentials).
const maxJSONBody = 1 << 20

// readJSON reads a JSON body of at most maxJSONBody bytes.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r, maxJSONBody)
	if !ok {
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeProblem(w, problem.BadRequest, "the body is not the JSON expected: "+err.Error(), nil)
		return false
	}
	return true
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		writeProblem(w, problem.BadRequest, "the body could not be read", nil)
		return nil, false
	}
	if int64(len(body)) > limit {
		writeProblem(w, problem.TooLarge, fmt.Sprintf("the body is over %d bytes", limit), nil)
		return nil, false
	}
	return body, true
}

// fail answers an error of a lower layer with its catalog code.
func (a *API) fail(w http.ResponseWriter, err error) {
	var ve *validate.Error
	var ae *automation.Error
	switch {
	case errors.As(err, &ve):
		writeProblem(w, problem.Invalid, "the document is invalid", ve)
	case errors.As(err, &ae):
		writeProblem(w, problem.Invalid, "the automation is invalid", ae.Problems)
	case errors.Is(err, automation.ErrNotFound), errors.Is(err, ledger.ErrNotFound), errors.Is(err, credential.ErrNotFound),
		errors.Is(err, connector.ErrNotFound):
		writeProblem(w, problem.NotFound, "not found", nil)
	case errors.Is(err, automation.ErrConflict), errors.Is(err, ledger.ErrConflict), errors.Is(err, connector.ErrVersionExists),
		errors.Is(err, engine.ErrNotReplayable):
		writeProblem(w, problem.Conflict, err.Error(), nil)
	case errors.Is(err, ledger.ErrInvalid), errors.Is(err, credential.ErrInvalid), errors.Is(err, connector.ErrInvalidVersion):
		writeProblem(w, problem.Invalid, err.Error(), nil)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "1")
		writeProblem(w, problem.Unavailable, "the request did not complete in time", nil)
	case errors.Is(err, ledger.ErrNoSpace):
		// Nothing was stored; /healthz and the ingress say the same, and log it.
		w.Header().Set("Retry-After", "30")
		writeProblem(w, problem.Unavailable, "the server's disk is full: nothing was stored; retry later", nil)
	default:
		a.o.Logger.Error("api: internal error", "err", err)
		writeProblem(w, problem.Internal, "internal error; the server log has it", nil)
	}
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	// Which environments exist, and what failed, is not told to unauthenticated callers
	// (GET /v1/environments; the log has the error).
	if a.o.Health != nil {
		err := a.o.Health()
		switch {
		case err != nil && !a.unhealthy.Swap(true):
			a.o.Logger.Warn("api: healthz: unhealthy", "err", err)
		case err != nil:
			a.o.Logger.Debug("api: healthz: still unhealthy", "err", err)
		case a.unhealthy.Swap(false):
			a.o.Logger.Info("api: healthz: healthy again")
		}
		if err != nil {
			msg := "the server cannot store data: the last write of an environment failed"
			if errors.Is(err, ledger.ErrNoSpace) {
				msg = "the server cannot store data: its disk is full"
			}
			w.Header().Set("Retry-After", "5")
			writeProblem(w, problem.Unavailable, msg, nil)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	if a.o.Metrics == nil {
		writeProblem(w, problem.NotFound, "metrics are off", nil)
		return
	}
	a.o.Metrics.ServeHTTP(w, r)
}

// page reads ?cursor= and ?limit=; a limit that is not a positive integer is answered with 400
// (ok false).
func page(w http.ResponseWriter, r *http.Request) (p ledger.Page, ok bool) {
	p.Cursor = r.URL.Query().Get("cursor")
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			writeProblem(w, problem.BadRequest, fmt.Sprintf("limit %q is not a positive integer", l), nil)
			return p, false
		}
		p.Limit = n
	}
	return p, true
}

// listing is the shape of every paginated answer.
type listing struct {
	Items      any    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}
