package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/api"
	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/credential"
	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/ingress"
	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/metrics"
	"github.com/splicehq/splice/host/whsig"
)

// env is one open environment: its database and everything built on it.
type env struct {
	name    string
	s       *Server
	db      *kv.DB
	store   *ledger.Embedded
	creds   *credential.Store
	catalog *connector.Catalog
	autos   *automation.Store
	broker  *broker.Broker
	eng     *engine.Engine
	secret  []byte
	view    *api.Environment

	mu      sync.Mutex
	active  map[string]*connector.Connector // appKey → its active version, loaded
	loaded  map[string]*connector.Connector // module digest → loaded connector
	loading map[string]chan struct{}        // module digest → closed when its load ends
	loads   atomic.Int64                    // modules loaded (compiled and described) so far
	pruned  atomic.Int64                    // records deleted by retention
	signing sync.Map                        // sealed secret → signing key

	stop context.CancelFunc
	done chan struct{}
}

// kindSettings holds the environment's own settings (its JWT secret, sealed).
const kindSettings = "environment"

func (s *Server) openEnv(ctx context.Context, name string) (*env, error) {
	dir := filepath.Join(s.o.DataDir, "envs", name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: environment %s: %w", name, err)
	}
	db, err := kv.Open(kv.Options{Dir: dir, Logger: s.log, ValueLogBytes: max(0, s.o.ValueLogBytes), MinFreeBytes: s.o.MinFreeDiskBytes})
	if err != nil {
		return nil, fmt.Errorf("server: environment %s: %w", name, err)
	}
	e := &env{name: name, s: s, db: db, active: map[string]*connector.Connector{}, loaded: map[string]*connector.Connector{},
		loading: map[string]chan struct{}{}}
	if err := e.open(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("server: environment %s: %w", name, err)
	}
	return e, nil
}

func (e *env) open(ctx context.Context) error {
	var err error
	if e.store, err = ledger.Open(ctx, e.db, ledger.Options{MaxWaiting: max(0, e.s.o.MaxWaiting)}); err != nil {
		return err
	}
	if e.creds, err = credential.Open(ctx, e.store, credential.Options{Env: e.name, Master: e.s.master}); err != nil {
		return err
	}
	if e.secret, err = e.jwtSecret(ctx); err != nil {
		return err
	}
	e.catalog = connector.NewCatalog(e.store, nil)
	loopback := e.s.o.AllowLoopback && e.name != "production"
	if e.broker, err = broker.New(broker.Options{Env: e.name, AllowHTTP: loopback, AllowLoopback: loopback, AnyPort: loopback,
		Credentials: e.creds}); err != nil {
		return err
	}
	e.autos = automation.NewStore(e.store, func(ctx context.Context, consumer string, p *automation.Program) error {
		return e.eng.Check(ctx, consumer, p, e.creds)
	}, nil)
	o := e.s.o.Engine
	o.Store, o.Connectors, o.Automations, o.Broker, o.Logger = e.store, e, e.autos, e.broker, e.s.log.With("env", e.name)
	o.Observer = observer{e.s.metrics, e.name}
	db := e.db
	e.s.metrics.Counter("splice_storage_commits_total", "Storage transactions committed (or tried), each with one fsync: the group commits of the environment's writes.",
		e.name, func() float64 { return float64(db.Stats().Commits) })
	e.s.metrics.Counter("splice_storage_writes_total", "Writes (each of one or more record changes, applied together) that a group commit committed, those refused by their condition included.",
		e.name, func() float64 { return float64(db.Stats().Writes) })
	e.s.metrics.Counter("splice_storage_write_failures_total", "Writes that failed: with a failed commit (fsync included), or refused alone as too large for one transaction.",
		e.name, func() float64 { return float64(db.Stats().Failed) })
	e.s.metrics.Counter("splice_storage_commit_busy_seconds_total", "Time the environment's committer spent committing, fsyncs included: a rate near 1 means writes wait for it.",
		e.name, func() float64 { return db.Stats().Busy.Seconds() })
	e.s.metrics.Counter("splice_retention_pruned_total", "Records deleted because they ended longer ago than the retention (--retention): runs, their steps, events and activity entries.",
		e.name, func() float64 { return float64(e.pruned.Load()) })
	depth := &cachedDepth{store: e.store}
	e.s.metrics.Gauge("splice_engine_queue_depth", "Work items not yet settled (waiting, due later or in hand; not dead), counted up to 1,000,000, at most every 2 s.",
		e.name, depth.get)
	if e.eng, err = engine.New(o); err != nil {
		return err
	}
	e.view = &api.Environment{Name: e.name, Secret: e.secret, Store: e.store, Catalog: e.catalog, Credentials: e.creds,
		Automations: e.autos, Engine: e.eng, Deploy: e.deploy, Activate: e.activate}
	return nil
}

// jwtSecret returns the environment's consumer-token secret, making it on first open. It is
// kept sealed among the environment's objects.
func (e *env) jwtSecret(ctx context.Context) ([]byte, error) {
	key := ledger.ObjectKey{Kind: kindSettings, ID: "jwt-secret"}
	o, err := e.store.Object(ctx, key)
	if err == nil {
		var sealed string
		if err := json.Unmarshal(o.Value, &sealed); err != nil {
			return nil, fmt.Errorf("jwt secret: %w", err)
		}
		return e.creds.Open("", "jwt-secret", sealed)
	}
	if !errors.Is(err, ledger.ErrNotFound) {
		return nil, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sealed, err := e.creds.Seal("", "jwt-secret", secret)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(sealed)
	if _, err := e.store.Put(ctx, key, b, 0); err != nil {
		return nil, err
	}
	return secret, nil
}

func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { e.eng.Run(ctx) })
	wg.Go(func() { e.prune(ctx) })
	go func() {
		wg.Wait()
		close(e.done)
	}()
}

// close stops the engine (letting its items in hand finish within its grace) and closes the
// database.
func (e *env) close(ctx context.Context) error {
	if e.stop != nil {
		e.stop()
		select {
		case <-e.done:
		case <-ctx.Done():
		}
	}
	e.broker.Close()
	e.mu.Lock()
	for _, c := range e.loaded {
		_ = c.Close(context.Background())
	}
	e.loaded, e.active = map[string]*connector.Connector{}, map[string]*connector.Connector{}
	e.mu.Unlock()
	return e.db.Close()
}

// Active implements engine.Connectors: the app's active version, loaded once.
func (e *env) Active(ctx context.Context, appKey string) (*connector.Connector, error) {
	e.mu.Lock()
	c, ok := e.active[appKey]
	e.mu.Unlock()
	if ok {
		return c, nil
	}
	d, err := e.catalog.Active(ctx, appKey)
	if err != nil {
		return nil, err
	}
	c, err = e.load(ctx, d)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.active[appKey] = c
	e.mu.Unlock()
	return c, nil
}

// load returns the loaded connector of a deployment, loading its module once. A caller that comes
// while the module loads waits for that load rather than compile and describe the module again:
// after a restart every worker asks for the same connectors at once.
func (e *env) load(ctx context.Context, d connector.Deployment) (*connector.Connector, error) {
	for {
		e.mu.Lock()
		if c, ok := e.loaded[d.Module]; ok {
			e.mu.Unlock()
			return c, nil
		}
		wait, busy := e.loading[d.Module]
		if !busy {
			break // this caller loads it, still holding e.mu
		}
		e.mu.Unlock()
		select {
		case <-wait: // loaded, or failed (then a waiter tries in turn)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	done := make(chan struct{})
	e.loading[d.Module] = done
	e.mu.Unlock()
	defer close(done)
	c, err := e.loadModule(ctx, d)
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.loading, d.Module)
	if err != nil {
		return nil, err
	}
	if prev, ok := e.loaded[d.Module]; ok { // deployed meanwhile
		_ = c.Close(ctx)
		return prev, nil
	}
	e.loaded[d.Module] = c
	return c, nil
}

// loadModule reads a deployment's module and loads it.
func (e *env) loadModule(ctx context.Context, d connector.Deployment) (*connector.Connector, error) {
	wasm, err := e.catalog.Module(ctx, d)
	if err != nil {
		return nil, err
	}
	e.loads.Add(1)
	return connector.Load(ctx, e.s.rt, wasm, connector.Options{Policy: e.s.o.Limits})
}

// deploy validates, compiles and describes a module and stores it.
func (e *env) deploy(ctx context.Context, wasm []byte, activate bool) (connector.Deployment, error) {
	c, err := connector.Load(ctx, e.s.rt, wasm, connector.Options{Policy: e.s.o.Limits})
	if err != nil {
		return connector.Deployment{}, err
	}
	d, err := e.catalog.Deploy(ctx, wasm, c.Manifest(), activate)
	if err != nil {
		_ = c.Close(ctx)
		return connector.Deployment{}, err
	}
	e.mu.Lock()
	if _, ok := e.loaded[d.Module]; ok {
		_ = c.Close(ctx)
	} else {
		e.loaded[d.Module] = c
	}
	if activate {
		delete(e.active, d.AppKey)
	}
	e.mu.Unlock()
	return d, nil
}

func (e *env) activate(ctx context.Context, appKey, version string) error {
	if err := e.catalog.Activate(ctx, appKey, version); err != nil {
		return err
	}
	e.mu.Lock()
	delete(e.active, appKey)
	e.mu.Unlock()
	return nil
}

// Target implements ingress.Receiver.
func (e *env) Target(ctx context.Context, id string) (ingress.Target, error) {
	st, err := e.autos.Lookup(ctx, id)
	if errors.Is(err, automation.ErrNotFound) {
		return ingress.Target{}, ingress.ErrNotFound
	} else if err != nil {
		return ingress.Target{}, err
	}
	a := st.Program.Automation
	t := ingress.Target{Consumer: st.Consumer, Enabled: a.IsEnabled(), Sync: a.Respond == automation.RespondSync}
	if a.Signing == automation.SigningStandardWebhooks {
		if t.SigningKey, err = e.signingKey(st); err != nil {
			return ingress.Target{}, err
		}
	}
	return t, nil
}

// signingKey opens an automation's signing secret (once per sealed secret).
func (e *env) signingKey(st *automation.Stored) ([]byte, error) {
	if st.Secret == "" {
		return nil, fmt.Errorf("server: automation %s signs its webhooks but has no secret", st.ID)
	}
	if k, ok := e.signing.Load(st.Secret); ok {
		return k.([]byte), nil
	}
	plain, err := e.creds.Open(st.Consumer, api.SigningPurpose, st.Secret)
	if err != nil {
		return nil, err
	}
	key, err := whsig.ParseSecret(string(plain))
	if err != nil {
		return nil, err
	}
	e.signing.Store(st.Secret, key)
	return key, nil
}

// Receive implements ingress.Receiver.
func (e *env) Receive(ctx context.Context, consumer, id string, req *abi.HTTPRequest, dedupe string) (engine.Received, error) {
	return e.eng.Receive(ctx, consumer, id, req, dedupe)
}

// Watch implements ingress.Receiver.
func (e *env) Watch(eventID string) (<-chan engine.Update, func()) { return e.eng.Watch(eventID) }

var (
	_ ingress.Receiver   = (*env)(nil)
	_ engine.Connectors  = (*env)(nil)
	_ engine.Automations = (*automation.Store)(nil)
)

// observer reports an environment's engine to the metrics.
type observer struct {
	m   *metrics.Metrics
	env string
}

func (o observer) RunEnded(status string) { o.m.RunEnded(o.env, status) }
func (o observer) Step(kind, status string, took time.Duration) {
	o.m.Step(o.env, kind, status, took)
}
func (o observer) GuestCall(export, outcome string) { o.m.GuestCall(o.env, export, outcome) }
func (o observer) BrokerRequest(outcome string)     { o.m.BrokerRequest(o.env, outcome) }

// cachedDepth is the queue depth for the metrics, counted again when the last count is older
// than depthEvery. The ledger sums the counts it keeps, but after a restart, until it has counted
// the consumers that had items waiting, it walks the queue, which under a backlog of 100,000
// items costs tens of milliseconds, too much for every scrape.
type cachedDepth struct {
	store *ledger.Embedded
	mu    sync.Mutex
	at    time.Time
	n     float64
}

const depthEvery = 2 * time.Second

func (d *cachedDepth) get() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Since(d.at) < depthEvery {
		return d.n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, _ := d.store.Depth(ctx, 1_000_000)
	d.n, d.at = float64(n), time.Now()
	return d.n
}
