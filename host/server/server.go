package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/splicehq/splice/host/api"
	"github.com/splicehq/splice/host/api/token"
	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/ingress"
	"github.com/splicehq/splice/host/internal/yield"
	"github.com/splicehq/splice/host/keyring"
	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/metrics"
	"github.com/splicehq/splice/host/sandbox"
)

// Defaults of Options.
const (
	DefaultDataDir       = ".splice"
	DefaultListen        = "127.0.0.1:8080"
	DefaultShutdownGrace = 30 * time.Second
	// DefaultMaxWaiting is Options.MaxWaiting's default: some 700 MB of a W1-like workload's
	// records (about 7 KB per webhook) per consumer and environment.
	DefaultMaxWaiting = 100_000
	// DefaultValueLogBytes is Options.ValueLogBytes' default: W1's events and step records
	// (about 1.2 KB each) go to the value log, its runs, queue items and activity entries stay in
	// the tree. Under sustained writes this took a sixth less CPU per webhook and half the heap,
	// for twice the disk (README, "Value log").
	DefaultValueLogBytes = 512
	// DefaultMinFreeDiskBytes is Options.MinFreeDiskBytes' default.
	DefaultMinFreeDiskBytes = kv.DefaultMinFreeBytes
	// DefaultYieldAbove is Options.YieldAbove's default.
	DefaultYieldAbove = 5 * time.Millisecond
	// DefaultRetention is Options.Retention's default: 30 days.
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultPruneEvery is Options.PruneEvery's default; MinPruneEvery its least value.
	DefaultPruneEvery = 10 * time.Minute
	MinPruneEvery     = 100 * time.Millisecond
)

// Options configures a Server. The zero value serves ./.splice on 127.0.0.1:8080.
type Options struct {
	// DataDir holds everything the server keeps: envs/<name>/ (one Badger database each), the
	// master key, the operator token and the compilation cache. Default ./.splice.
	DataDir string `json:"dataDir"`
	// Listen is the address served; default 127.0.0.1:8080.
	Listen string `json:"listen"`
	// BaseURL is how callers reach the server (webhook URLs); default http://<Listen>.
	BaseURL string `json:"baseUrl"`
	// Environments are created at start when missing.
	Environments []string `json:"environments"`
	// OperatorTokenFile holds the operator token; default <DataDir>/operator-token, made (0600)
	// on first start.
	OperatorTokenFile string `json:"operatorTokenFile"`
	// MasterKeyEnv names the environment variable holding the master key (base64 or hex of 32
	// bytes), which wins over MasterKeyFile; default SPLICE_MASTER_KEY.
	MasterKeyEnv string `json:"masterKeyEnv"`
	// MasterKeyFile holds the master key that seals every environment's data keys; default
	// <DataDir>/master.key, made (0600) on first start.
	MasterKeyFile string `json:"masterKeyFile"`
	// AllowLoopback lets connectors reach loopback addresses over plain HTTP on any port, in
	// every environment but production (for development against local fakes).
	AllowLoopback bool `json:"allowLoopback"`
	// SandboxEngine is sandbox.EngineSplice (default) or sandbox.EngineExtism.
	SandboxEngine string `json:"sandboxEngine"`
	// Limits is every environment's policy of guest limits.
	Limits sandbox.Limits `json:"limits"`
	// CacheDir keeps compiled guest code between starts; default <DataDir>/cache.
	CacheDir string `json:"cacheDir"`
	// MaxInstances bounds live guest instances; default the sandbox's.
	MaxInstances int `json:"maxInstances"`
	// MaxWaiting bounds one consumer's waiting work items in an environment (accepted, not yet
	// settled): a webhook that would pass it is answered 429 with Retry-After, nothing stored, so
	// that one consumer's flood cannot fill the disk under every other's. 0 means
	// DefaultMaxWaiting; negative means no bound.
	MaxWaiting int `json:"maxWaiting"`
	// ValueLogBytes keeps stored values of at least this many bytes in Badger's value log, out
	// of the LSM tree (kv.Options.ValueLogBytes); 0 means DefaultValueLogBytes, negative keeps
	// every value in the tree.
	ValueLogBytes int `json:"valueLogBytes"`
	// MinFreeDiskBytes refuses writes while the file system of the data directory has less free
	// space than this (kv.Options.MinFreeBytes): webhooks get 503 and /healthz says why, rather
	// than Badger filling the disk and the process dying of SIGBUS. 0 means
	// DefaultMinFreeDiskBytes (512 MiB); negative turns the check off.
	MinFreeDiskBytes int64 `json:"minFreeDiskBytes"`
	// Retention is how long what has ended is kept: runs that succeeded or were filtered (with
	// their steps), their events and activity entries older than this are deleted
	// (ledger.Store.Prune) every PruneEvery. Failed and dead runs are kept, with their events,
	// while they wait for a replay; so are runs in progress. 0 means DefaultRetention (30 days);
	// negative keeps everything.
	Retention time.Duration `json:"retention"`
	// PruneEvery is how often each environment deletes what Retention lets go; the first time a
	// minute after start (or PruneEvery, when shorter). 0 means DefaultPruneEvery (10 minutes);
	// below MinPruneEvery (100 ms) Open refuses it.
	PruneEvery time.Duration `json:"pruneEvery"`
	// Engine configures each environment's engine (its Store, Connectors, Automations, Broker
	// and Logger are the server's).
	Engine engine.Options `json:"engine"`
	// Ingress configures the port's limits (its Environments and API are the server's).
	Ingress ingress.Options `json:"ingress"`
	// YieldAbove is the webhook latency above which runs give way to webhooks: while more than a
	// tenth of the webhooks of a 50 ms tick take longer than this to be stored and the cores are
	// saturated, fewer of every environment's workers start items (down to a sixteenth of them);
	// the share grows back once webhooks are stored in time, the cores have time to spare or
	// webhooks are refused because their consumer's backlog is full (package yield). 0 means
	// DefaultYieldAbove; negative lets runs take the cores whatever the webhooks' latency.
	YieldAbove time.Duration `json:"yieldAbove"`
	// ShutdownGrace bounds a graceful stop; default 30 s.
	ShutdownGrace time.Duration `json:"shutdownGrace"`
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger `json:"-"`
}

// Server is Splice on one port: the webhook ingress, the management API and an engine per
// environment. It is safe for concurrent use.
type Server struct {
	o        Options
	log      *slog.Logger
	master   *keyring.Master
	rt       *sandbox.Runtime
	operator string
	created  bool
	api      *api.API
	ing      *ingress.Server
	metrics  *metrics.Metrics
	gate     *yield.Gate // nil when runs never yield

	mu      sync.RWMutex
	envs    map[string]*env
	serving bool
}

var envName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// Open opens the data directory: the master key and operator token (made on first start), every
// environment found under envs/ and those Options.Environments names (made when missing).
//
// # Errors
//
// A bad option; a master key or token file that is unreadable or readable by others; an
// environment that does not open (another process holds it, or it was made by a newer
// version).
func Open(ctx context.Context, o Options) (*Server, error) {
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.BaseURL == "" {
		o.BaseURL = "http://" + o.Listen
	}
	if o.OperatorTokenFile == "" {
		o.OperatorTokenFile = filepath.Join(o.DataDir, "operator-token")
	}
	if o.MasterKeyEnv == "" {
		o.MasterKeyEnv = "SPLICE_MASTER_KEY"
	}
	if o.MasterKeyFile == "" {
		o.MasterKeyFile = filepath.Join(o.DataDir, "master.key")
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	if o.MaxWaiting == 0 {
		o.MaxWaiting = DefaultMaxWaiting
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ValueLogBytes == 0 {
		o.ValueLogBytes = DefaultValueLogBytes
	}
	if err := kv.CheckValueLogBytes(max(0, o.ValueLogBytes)); err != nil {
		return nil, fmt.Errorf("server: value log threshold: %w", err)
	}
	for _, n := range o.Environments {
		if !envName.MatchString(n) {
			return nil, fmt.Errorf("server: environment name %q: 1-40 of a-z, 0-9 and -, starting with a letter", n)
		}
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.PruneEvery == 0 {
		o.PruneEvery = DefaultPruneEvery
	}
	if o.PruneEvery < MinPruneEvery {
		return nil, fmt.Errorf("server: prune interval %s: at least %s", o.PruneEvery, MinPruneEvery)
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	if o.YieldAbove == 0 {
		o.YieldAbove = DefaultYieldAbove
	}
	s := &Server{o: o, log: o.Logger, envs: map[string]*env{}, metrics: metrics.New()}
	if o.YieldAbove > 0 {
		s.gate = yield.New(yield.Options{Target: o.YieldAbove})
		s.o.Engine.Gate = s.gate
	}
	var err error
	if s.master, err = keyring.LoadMaster(keyring.MasterOptions{Env: o.MasterKeyEnv, File: o.MasterKeyFile, Generate: true}); err != nil {
		return nil, fmt.Errorf("server: master key: %w", err)
	}
	if s.operator, s.created, err = token.LoadOrCreateOperator(o.OperatorTokenFile); err != nil {
		return nil, fmt.Errorf("server: operator token: %w", err)
	}
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(o.DataDir, "cache")
	}
	if s.rt, err = sandbox.New(ctx, sandbox.Options{Engine: o.SandboxEngine, CacheDir: o.CacheDir,
		MaxInstances: o.MaxInstances, Logger: o.Logger}); err != nil {
		return nil, fmt.Errorf("server: sandbox: %w", err)
	}
	names := slices.Clone(o.Environments)
	if found, err := os.ReadDir(filepath.Join(o.DataDir, "envs")); err == nil {
		for _, f := range found {
			if f.IsDir() && envName.MatchString(f.Name()) && !slices.Contains(names, f.Name()) {
				names = append(names, f.Name())
			}
		}
	}
	for _, n := range names {
		e, err := s.openEnv(ctx, n)
		if err != nil {
			s.closeAll(ctx)
			return nil, err
		}
		s.envs[n] = e
	}
	rt := s.rt
	s.metrics.GaugeAll("splice_sandbox_instances_live", "Guest instances alive (pooled idle and in use).", func() float64 { return float64(rt.Live()) })
	s.metrics.GaugeAll("splice_sandbox_instances_idle", "Guest instances pooled idle, ready for a call.", func() float64 { return float64(rt.Idle()) })
	if s.api, err = api.New(api.Options{Environments: (*environments)(s), OperatorToken: s.operator, BaseURL: o.BaseURL,
		Metrics: s.metrics.Handler(), Health: s.health, Logger: o.Logger}); err != nil {
		s.closeAll(ctx)
		return nil, err
	}
	ino := o.Ingress
	ino.Environments = s.receiver
	ino.API = s.api
	ino.Observe = s.metrics.Webhook
	if s.gate != nil {
		ino.Stored, ino.Backlogged = s.gate.Observe, s.gate.Refused
		s.metrics.GaugeAll("splice_engine_worker_share", "The share of workers allowed to start items: below 1 while runs give way to webhooks stored slower than --yield-above.",
			s.gate.Share)
	}
	if ino.Logger == nil {
		ino.Logger = o.Logger
	}
	if s.ing, err = ingress.New(ino); err != nil {
		s.closeAll(ctx)
		return nil, err
	}
	return s, nil
}

// OperatorToken returns the operator token, and whether this start made it.
func (s *Server) OperatorToken() (tok string, created bool) { return s.operator, s.created }

// Environment returns the management view of an environment (for `splice dev` to deploy into).
func (s *Server) Environment(name string) (*api.Environment, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.envs[name]
	if !ok {
		return nil, false
	}
	return e.view, true
}

// health reports an environment whose last storage commit failed, if any.
func (s *Server) health() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for name, e := range s.envs {
		err := e.db.Health()
		switch {
		case errors.Is(err, kv.ErrDiskFull):
			return fmt.Errorf("environment %s: %w: %w", name, ledger.ErrNoSpace, err)
		case err != nil:
			return fmt.Errorf("environment %s: %w", name, err)
		}
	}
	return nil
}

func (s *Server) receiver(name string) (ingress.Receiver, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.envs[name]
	return e, ok
}

// Serve serves ln and runs every environment's engine until ctx ends, then stops gracefully:
// no new connections, the requests in hand answered, the engines' items finished or given
// back, the databases closed, all within ShutdownGrace. The Server is closed when it returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return errors.New("server: already serving")
	}
	s.serving = true
	for _, e := range s.envs {
		e.start()
	}
	s.mu.Unlock()
	gctx, stopGate := context.WithCancel(context.Background())
	defer stopGate()
	if s.gate != nil {
		go s.gate.Run(gctx)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ing.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopGate() // no more webhooks: the engines' last items take every worker
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownGrace)
	defer cancel()
	if serveErr == nil {
		if err := s.ing.Shutdown(sctx); err != nil {
			s.log.Warn("server: ingress shutdown", "err", err)
		}
		<-errc
	}
	s.closeAll(sctx)
	return serveErr
}

// Close closes a Server that is not serving.
func (s *Server) Close(ctx context.Context) error {
	s.closeAll(ctx)
	return nil
}

func (s *Server) closeAll(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, e := range s.envs {
		if err := e.close(ctx); err != nil {
			s.log.Error("server: close environment", "env", n, "err", err)
		}
		delete(s.envs, n)
	}
	if s.rt != nil {
		_ = s.rt.Close(ctx)
		s.rt = nil
	}
}

// environments is the Server as the API's Environments.
type environments Server

func (v *environments) Environment(name string) (*api.Environment, bool) {
	return (*Server)(v).Environment(name)
}

func (v *environments) Names() []string {
	s := (*Server)(v)
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.envs))
	for n := range s.envs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (v *environments) Create(ctx context.Context, name string) (*api.Environment, error) {
	s := (*Server)(v)
	if !envName.MatchString(name) {
		return nil, fmt.Errorf("server: environment name %q: 1-40 of a-z, 0-9 and -, starting with a letter", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.envs[name]; ok {
		return nil, api.ErrExists
	}
	e, err := s.openEnv(ctx, name)
	if err != nil {
		return nil, err
	}
	s.envs[name] = e
	if s.serving {
		e.start()
	}
	return e.view, nil
}
