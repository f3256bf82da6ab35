package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// Engine names accepted by Options.Engine.
const (
	EngineSplice = "splice" // Splice's own Extism ABI on wazero (the default)
	EngineExtism = "extism" // Extism's Go SDK, the reference engine
)

// Options configures a Runtime. The zero value is valid: Splice's engine, an in-memory compilation
// cache, the default limits.
type Options struct {
	// Engine is EngineSplice (default) or EngineExtism.
	Engine string `json:"engine"`
	// CacheDir, when set, keeps compiled machine code on disk so that a new process compiles a module
	// it has seen before in milliseconds instead of seconds.
	CacheDir string `json:"cacheDir"`
	// MaxModuleBytes caps the size of a module given to Compile. Default 32 MiB.
	MaxModuleBytes int64 `json:"maxModuleBytes"`
	// MaxInstances bounds the live instances across all modules and consumers; past it the least
	// recently used idle instance is closed. Default 128.
	MaxInstances int `json:"maxInstances"`
	// MaxConcurrentCalls bounds the guest calls running at once; more wait for a slot (or their
	// context). It also bounds how many threads a runaway guest can hold. Default 8 × GOMAXPROCS,
	// at most MaxInstances.
	MaxConcurrentCalls int `json:"maxConcurrentCalls"`
	// Logger receives the runtime's own events (quarantines, evictions). Default: discard.
	Logger *slog.Logger `json:"-"`
}

// Runtime compiles modules and runs calls into them. It owns the wazero runtime(s), the instance
// pool, the concurrency bound and the deadline watchdog. A Runtime is safe for concurrent use.
type Runtime struct {
	opts Options
	eng  engine
	wd   *watchdog
	sem  chan struct{}
	log  *slog.Logger
	pool pool

	closeOnce sync.Once
}

// New returns a Runtime. Close it to release compiled code, instances and the watchdog.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if opts.MaxModuleBytes <= 0 {
		opts.MaxModuleBytes = DefaultMaxModuleBytes
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = 128
	}
	if opts.MaxConcurrentCalls <= 0 {
		opts.MaxConcurrentCalls = 8 * runtime.GOMAXPROCS(0)
	}
	if opts.MaxConcurrentCalls > opts.MaxInstances {
		opts.MaxConcurrentCalls = opts.MaxInstances
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Engine == "" {
		opts.Engine = EngineSplice
	}
	r := &Runtime{
		opts: opts,
		sem:  make(chan struct{}, opts.MaxConcurrentCalls),
		log:  opts.Logger,
		pool: pool{max: opts.MaxInstances},
	}
	cache, err := newCache(opts.CacheDir)
	if err != nil {
		return nil, err
	}
	switch opts.Engine {
	case EngineSplice:
		r.wd = newWatchdog()
		r.eng, err = newSpliceEngine(ctx, cache, r.wd)
	case EngineExtism:
		r.eng, err = newExtismEngine(ctx, cache)
	default:
		err = fmt.Errorf("unknown engine %q (want %q or %q)", opts.Engine, EngineSplice, EngineExtism)
	}
	if err != nil {
		if r.wd != nil {
			r.wd.close()
		}
		return nil, fmt.Errorf("sandbox: new runtime: %w", err)
	}
	return r, nil
}

// Engine returns the name of the engine the Runtime runs.
func (r *Runtime) Engine() string { return r.opts.Engine }

// Close closes every instance and compiled module and stops the watchdog. Calls in flight are ended.
func (r *Runtime) Close(ctx context.Context) error {
	var err error
	r.closeOnce.Do(func() {
		for _, s := range r.pool.drain(nil) {
			s.inst.close(ctx)
		}
		err = r.eng.close(ctx)
		if r.wd != nil {
			r.wd.close()
		}
	})
	return err
}

// ModuleOptions configures one compiled module: one connector version in one environment.
type ModuleOptions struct {
	// Name identifies the module in errors and logs, such as "json@1.0.0".
	Name string `json:"name"`
	// Limits are the effective limits of the module's calls (policy already clamped by the request).
	Limits Limits `json:"limits"`
	// Config is what the guest reads with config_get.
	Config map[string]string `json:"config"`
}

// Compile validates and compiles a module. Compiled code is cached by content, so compiling the same
// bytes again (in this process, or in a new one with Options.CacheDir) is cheap.
//
// # Errors
//
// A *Error of kind KindInvalidModule when the module is too large, malformed, or imports a function
// the host does not provide; KindMemoryLimit when its declared minimum memory exceeds the limit.
func (r *Runtime) Compile(ctx context.Context, wasm []byte, opts ModuleOptions) (*Module, error) {
	lim := opts.Limits.withDefaults()
	bad := func(kind Kind, format string, args ...any) error {
		return &Error{Kind: kind, Module: opts.Name, Message: fmt.Sprintf(format, args...)}
	}
	if int64(len(wasm)) > r.opts.MaxModuleBytes {
		return nil, bad(KindInvalidModule, "module is %d bytes, over the limit of %d", len(wasm), r.opts.MaxModuleBytes)
	}
	info, err := parseModule(wasm)
	if err != nil {
		return nil, bad(KindInvalidModule, "%v", err)
	}
	if info.memories > 1 {
		return nil, bad(KindInvalidModule, "module has %d memories, at most 1 is supported", info.memories)
	}
	if info.hasMemory && info.memMin > uint64(lim.memoryPages()) {
		return nil, bad(KindMemoryLimit, "module declares %d pages (%d MiB) of memory, over the limit of %d pages (%d MiB)",
			info.memMin, info.memMin*pageSize>>20, lim.memoryPages(), lim.MemoryBytes>>20)
	}
	for _, imp := range info.imports {
		if !r.eng.provides(imp.module, imp.name) {
			return nil, bad(KindInvalidModule, "module imports %s.%s, which the host does not provide", imp.module, imp.name)
		}
	}
	cfg := make(map[string]string, len(opts.Config))
	for k, v := range opts.Config {
		cfg[k] = v
	}
	c, err := r.eng.compile(ctx, wasm, compileOptions{name: opts.Name, lim: lim, config: cfg})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Module = opts.Name
			return nil, e
		}
		return nil, &Error{Kind: KindInvalidModule, Module: opts.Name, Message: firstLine(err.Error()), Err: err}
	}
	return &Module{rt: r, name: opts.Name, info: info, lim: lim, compiled: c, idle: make(map[string][]*slot)}, nil
}

// engine is what the two engines implement; the Module and the Runtime hold everything common.
type engine interface {
	provides(module, name string) bool
	compile(ctx context.Context, wasm []byte, opts compileOptions) (compiledModule, error)
	close(ctx context.Context) error
}

type compileOptions struct {
	name   string
	lim    Limits
	config map[string]string
}

type compiledModule interface {
	// instantiate creates an instance and runs its start and initialization functions within ctx.
	instantiate(ctx context.Context) (instance, error)
	close(ctx context.Context) error
}

type instance interface {
	// call runs export with st's input; it reports the guest's return code or a classified *Error.
	call(ctx context.Context, export string, st *callState, timeout callTimeout) (rc uint32, err error)
	close(ctx context.Context)
}

// callTimeout is the deadline of one call: it started at start (instance acquisition included)
// and must end within d; when it overruns twice its deadline the engine quarantines mod.
type callTimeout struct {
	start  time.Time
	d      time.Duration
	mod    *Module
	export string
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
