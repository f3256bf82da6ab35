package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
)

// extismEngine runs modules on Extism's Go SDK, the reference engine every guest is cross-checked
// on. It is slower (see doc.go) and has no fast path: Splice's fast-path imports answer -1, so
// Splice's PDKs fall back to the plain Extism ABI. Limits the SDK does not enforce itself (output,
// logs) are checked by the Module afterwards or from the logger.
type extismEngine struct {
	cache wazero.CompilationCache
	// compiling lets one plugin compile at a time: each compiles the SDK's kernel module as well
	// as the guest, all through the shared cache, so even two different guests would compile the
	// same bytes at once (compileLocks says why that must not happen).
	compiling sync.Mutex
}

func newExtismEngine(ctx context.Context, cache wazero.CompilationCache) (*extismEngine, error) {
	// The SDK drops log lines below a process-wide level, off by default. Info, not lower: the SDK
	// logs its own debug and trace lines through the same logger (before SetLogger can be called, to
	// the standard logger), so guests' trace and debug lines are not captured on this engine.
	extism.SetLogLevel(extism.LogLevelInfo)
	return &extismEngine{cache: cache}, nil
}

// extismEnv lists what the SDK's extism:host/env provides (its version 1.7.1).
var extismEnv = map[string]bool{
	"alloc": true, "free": true, "load_u8": true, "input_load_u8": true, "store_u64": true, "store_u8": true,
	"input_set": true, "output_set": true, "input_length": true, "input_offset": true, "output_length": true,
	"output_offset": true, "length": true, "length_unsafe": true, "reset": true, "error_set": true,
	"error_get": true, "memory_bytes": true, "input_load_u64": true, "load_u64": true, "config_get": true,
	"var_get": true, "var_set": true, "http_request": true, "http_status_code": true, "http_headers": true,
	"get_log_level": true, "log_trace": true, "log_debug": true, "log_info": true, "log_warn": true, "log_error": true,
}

func (e *extismEngine) provides(module, name string) bool {
	switch module {
	case envModule:
		return extismEnv[name]
	case userModule:
		for _, f := range userFuncs() {
			if f.name == name && len(f.results) > 0 {
				return true
			}
		}
	case wasiModule:
		return true
	}
	return false
}

func (e *extismEngine) close(ctx context.Context) error { return nil }

func (e *extismEngine) compile(ctx context.Context, wasm []byte, opts compileOptions) (compiledModule, error) {
	// wazero's CompileModule allocates from vector counts before checking them against the input
	// (a 30-byte export count made it allocate 14 GB); instrument checks every count first, so run it
	// as a validator even though this engine runs the module as it is.
	if _, err := instrument(wasm); err != nil {
		return nil, &Error{Kind: KindInvalidModule, Message: err.Error(), Err: err}
	}
	var unsupported []extism.HostFunction
	for _, f := range userFuncs() {
		if len(f.results) == 0 {
			continue // splice_yield: only Splice's engine instruments modules
		}
		if f.name == "splice_http" {
			unsupported = append(unsupported, extism.NewHostFunctionWithStack(f.name, extismSpliceHTTP, f.params, f.results))
			continue
		}
		unsupported = append(unsupported, extism.NewHostFunctionWithStack(f.name,
			func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) { stack[0] = extism.EncodeI32(-1) },
			f.params, f.results))
	}
	m := extism.Manifest{
		Wasm:   []extism.Wasm{extism.WasmData{Data: wasm}},
		Memory: &extism.ManifestMemory{MaxPages: opts.lim.memoryPages(), MaxVarBytes: opts.lim.VarBytes, MaxHttpResponseBytes: -1},
		Config: opts.config,
	}
	rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(e.cache)
	e.compiling.Lock()
	cp, err := extism.NewCompiledPlugin(ctx, m, extism.PluginConfig{EnableWasi: true, RuntimeConfig: rc}, unsupported)
	e.compiling.Unlock()
	if err != nil {
		return nil, err
	}
	return &extismCompiled{cp: cp, lim: opts.lim}, nil
}

type extismCompiled struct {
	cp  *extism.CompiledPlugin
	lim Limits
}

func (c *extismCompiled) close(ctx context.Context) error { return c.cp.Close(ctx) }

func (c *extismCompiled) instantiate(ctx context.Context) (instance, error) {
	in := &extismInstance{}
	in.initSt.reset(nil, c.lim)
	in.st = &in.initSt
	mc := wazero.NewModuleConfig().
		WithStdout(instLog{in, "stdout"}).
		WithStderr(instLog{in, "stderr"}).
		WithSysWalltime().
		WithSysNanotime()
	p, err := c.cp.Instance(ctx, extism.PluginInstanceConfig{ModuleConfig: mc})
	if err != nil {
		return nil, extismClassify(err, ctx, "instantiate")
	}
	p.SetLogger(func(level extism.LogLevel, msg string) {
		in.st.log(extismLevel(level), []byte(msg))
	})
	in.p = p
	return in, nil
}

type extismInstance struct {
	p      *extism.Plugin
	st     *callState
	initSt callState
}

// instLog sends WASI output to the extism instance's current call.
type instLog struct {
	in    *extismInstance
	level string
}

func (w instLog) Write(p []byte) (int, error) {
	w.in.st.log(w.level, p)
	return len(p), nil
}

func (in *extismInstance) close(ctx context.Context) { _ = in.p.Close(ctx) }

func (in *extismInstance) call(ctx context.Context, export string, st *callState, t callTimeout) (rc uint32, err error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	in.st = st
	defer func() { in.st = &in.initSt }()
	// The SDK's own initialization runs on the first call, inside CallWithContext.
	rc, out, err := in.p.CallWithContext(context.WithValue(ctx, extismCallKey{}, st), export, st.input)
	if err != nil {
		var hp *hostPanic
		if !errors.As(err, &hp) {
			if msg := in.p.GetErrorWithContext(context.Background()); msg != "" && msg == err.Error() {
				st.setError([]byte(msg))
				return rc, nil
			}
		}
		return 0, extismClassify(err, ctx, export)
	}
	st.output = out
	return rc, nil
}

func extismClassify(err error, ctx context.Context, what string) error {
	var hp *hostPanic
	var exit *sys.ExitError
	switch {
	case errors.As(err, &hp):
		return &Error{Kind: hp.kind, Message: hp.msg}
	case errors.As(err, &exit):
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded, sys.ExitCodeContextCanceled:
			return &Error{Kind: KindTimeout, Message: fmt.Sprintf("%s did not finish in time", what), Err: err}
		}
		return &Error{Kind: KindTrap, Message: fmt.Sprintf("%s exited with code %d", what, exit.ExitCode()), Err: err}
	case ctx.Err() != nil:
		return &Error{Kind: KindTimeout, Message: fmt.Sprintf("%s did not finish in time", what), Err: err}
	}
	return &Error{Kind: KindTrap, Message: firstLine(err.Error()), Err: err}
}

func extismLevel(l extism.LogLevel) string {
	switch l {
	case extism.LogLevelTrace:
		return "trace"
	case extism.LogLevelDebug:
		return "debug"
	case extism.LogLevelInfo:
		return "info"
	case extism.LogLevelWarn:
		return "warn"
	}
	return "error"
}

// extismCallKey carries the call's state to the reference engine's host functions.
type extismCallKey struct{}

// extismSpliceHTTP is splice_http on the reference engine: the same document in and out as on
// Splice's engine, through the SDK's memory functions. Extism's own http_request stays disabled
// on this engine (the SDK's allowlist checks host names only and follows redirects anywhere);
// only Splice's engine serves it, through the broker.
func extismSpliceHTTP(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
	st, _ := ctx.Value(extismCallKey{}).(*callState)
	if st == nil {
		panic(&hostPanic{kind: KindTrap, msg: "splice_http called outside a call"})
	}
	req, err := p.ReadBytes(stack[0])
	if err != nil {
		panic(&hostPanic{kind: KindTrap, msg: fmt.Sprintf("splice_http: %v", err)})
	}
	out := st.spliceHTTP(ctx, bytes.Clone(req))
	stack[0] = 0
	if out != nil {
		if stack[0], err = p.WriteBytes(out); err != nil {
			panic(&hostPanic{kind: KindMemoryLimit, msg: fmt.Sprintf("splice_http: %v", err)})
		}
	}
}
