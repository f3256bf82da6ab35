package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Host module names.
const (
	envModule  = "extism:host/env"
	userModule = "extism:host/user"
	wasiModule = wasi_snapshot_preview1.ModuleName
)

// spliceEngine is Splice's own implementation of the Extism ABI, directly on one wazero runtime.
// Host functions find the calling instance through the call's context (one context.WithValue per
// call) and reach Extism memory (a Go byte slice) and guest memory without a nested Wasm call.
type spliceEngine struct {
	rt    wazero.Runtime
	wd    *watchdog
	names map[string]map[string]bool // functions each host module provides
	// compiling keeps two compiles of the same module from overlapping (compileLocks says why).
	compiling *compileLocks
}

func newCache(dir string) (wazero.CompilationCache, error) {
	if dir == "" {
		return wazero.NewCompilationCache(), nil
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
	}
	return c, nil
}

func newSpliceEngine(ctx context.Context, cache wazero.CompilationCache, wd *watchdog) (*spliceEngine, error) {
	// No WithCloseOnContextDone: it makes every loop iteration exit to Go (~15x slower loops) and
	// spawns a goroutine per call. Modules are instrumented with fuel checkpoints instead (instrument.go)
	// and splice_yield enforces deadlines.
	cfg := wazero.NewRuntimeConfig().WithCompilationCache(cache)
	e := &spliceEngine{rt: wazero.NewRuntimeWithConfig(ctx, cfg), wd: wd, names: make(map[string]map[string]bool), compiling: newCompileLocks()}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, e.rt); err != nil {
		return nil, err
	}
	for _, h := range []struct {
		module string
		funcs  []hostFunc
	}{{envModule, envFuncs()}, {userModule, userFuncs()}} {
		b := e.rt.NewHostModuleBuilder(h.module)
		names := make(map[string]bool)
		for _, f := range h.funcs {
			b.NewFunctionBuilder().WithGoModuleFunction(f.fn, f.params, f.results).Export(f.name)
			names[f.name] = true
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return nil, err
		}
		e.names[h.module] = names
	}
	e.names[wasiModule] = make(map[string]bool)
	if m := e.rt.Module(wasiModule); m != nil {
		for n := range m.ExportedFunctionDefinitions() {
			e.names[wasiModule][n] = true
		}
	}
	return e, nil
}

func (e *spliceEngine) provides(module, name string) bool { return e.names[module][name] }

func (e *spliceEngine) close(ctx context.Context) error { return e.rt.Close(ctx) }

func (e *spliceEngine) compile(ctx context.Context, wasm []byte, opts compileOptions) (compiledModule, error) {
	fueled, err := instrument(wasm)
	if err != nil {
		return nil, &Error{Kind: KindInvalidModule, Message: "instrument: " + err.Error(), Err: err}
	}
	unlock := e.compiling.lock(fueled)
	cm, err := e.rt.CompileModule(ctx, fueled)
	unlock()
	if err != nil {
		return nil, err
	}
	return &spliceCompiled{e: e, cm: cm, opts: opts}, nil
}

type spliceCompiled struct {
	e    *spliceEngine
	cm   wazero.CompiledModule
	opts compileOptions
}

func (c *spliceCompiled) close(ctx context.Context) error { return c.cm.Close(ctx) }

func (c *spliceCompiled) instantiate(ctx context.Context) (instance, error) {
	in := &spliceInstance{
		wd:     c.e.wd,
		config: c.opts.config,
		arena:  newArena(c.opts.lim.MemoryBytes),
		vars:   make(map[string][]byte),
		lim:    c.opts.lim,
	}
	in.initSt.reset(nil, c.opts.lim)
	in.st = &in.initSt
	in.fns = make(map[string]api.Function)
	in.ctx, in.cancel = context.WithCancel(context.WithValue(context.Background(), instKey{}, in))
	mem := &linearMemory{limit: uint64(c.opts.lim.memoryPages()) * pageSize, refused: &in.memRefused}
	ctx = experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(cap, max uint64) experimental.LinearMemory {
		return mem
	}))
	ctx = context.WithValue(ctx, instKey{}, in)
	in.deadline, _ = ctx.Deadline()
	in.what = "instantiate"
	mc := wazero.NewModuleConfig().
		WithNanosleep(in.sleep).
		WithName("").
		WithStartFunctions().
		WithStdout(instWriter{in, "stdout"}).
		WithStderr(instWriter{in, "stderr"}).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	mod, err := c.e.rt.InstantiateModule(ctx, c.cm, mc)
	if err == nil {
		in.mod = mod
		if in.memRefused {
			err = errors.New("initial memory over the limit")
		} else {
			err = in.initialize(ctx)
		}
	}
	in.deadline = time.Time{}
	if err != nil {
		if mod != nil {
			_ = mod.Close(context.Background())
		}
		return nil, in.classify(err, ctx.Err() != nil, "instantiate")
	}
	return in, nil
}

// initialize runs a reactor's or a C module's initialization, as Extism's SDK does: _initialize
// (WASI reactors, Go's c-shared), else __wasm_call_ctors; then hs_init for Haskell.
func (in *spliceInstance) initialize(ctx context.Context) error {
	for _, name := range []string{"_initialize", "__wasm_call_ctors"} {
		if f := in.mod.ExportedFunction(name); f != nil && len(f.Definition().ParamTypes()) == 0 {
			if _, err := f.Call(ctx); err != nil {
				return err
			}
			break
		}
	}
	if f := in.mod.ExportedFunction("hs_init"); f != nil && len(f.Definition().ParamTypes()) == 2 {
		if _, err := f.Call(ctx, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

type instKey struct{}

// spliceInstance is one instance of a module in Splice's engine with its Extism state. It runs one
// call at a time.
type spliceInstance struct {
	mod        api.Module
	wd         *watchdog
	fns        map[string]api.Function
	stack      [1]uint64
	arena      arena
	inputOff   uint64
	vars       map[string][]byte
	varBytes   int64
	config     map[string]string
	lim        Limits
	ctx        context.Context    // carries the instance; for calls whose own context cannot end
	cancel     context.CancelFunc // cancels ctx: the watchdog's way to end a call; the instance is then discarded
	st         *callState
	initSt     callState
	memRefused bool
	w          watch
	deadline   time.Time // of the current call or instantiation; splice_yield enforces it
	what       string    // the export running, or "instantiate"
}

// sleep is the instance's WASI sleep (poll_oneoff on a clock): it never sleeps past the deadline, so
// the guest reaches its next fuel checkpoint, and times out there, in time.
func (in *spliceInstance) sleep(ns int64) {
	d := time.Duration(ns)
	if !in.deadline.IsZero() {
		if left := time.Until(in.deadline); left < d {
			d = max(left, 0)
		}
	}
	time.Sleep(d)
}

// yield is called by the fuel checkpoints instrument.go puts at every function entry and loop
// header, once every fuelTicks checkpoints: it ends the call when its deadline has passed or its
// context has ended.
func (in *spliceInstance) yield(ctx context.Context) {
	if err := ctx.Err(); err != nil {
		fail(KindTimeout, "%s did not finish in time: %v", in.what, err)
	}
	if !in.deadline.IsZero() && time.Now().After(in.deadline) {
		fail(KindTimeout, "%s did not finish in time", in.what)
	}
}

func (in *spliceInstance) close(ctx context.Context) {
	in.cancel()
	if in.mod != nil {
		_ = in.mod.Close(ctx)
	}
}

func (in *spliceInstance) call(ctx context.Context, export string, st *callState, t callTimeout) (uint32, error) {
	f, ok := in.fns[export]
	if !ok {
		f = in.mod.ExportedFunction(export)
		if f == nil {
			return 0, &Error{Kind: KindMissingExport, Message: fmt.Sprintf("module does not export %q", export)}
		}
		if n := len(f.Definition().ParamTypes()); n != 0 || len(f.Definition().ResultTypes()) > 1 {
			return 0, &Error{Kind: KindTrap, Message: fmt.Sprintf("export %q has the wrong type (want () -> i32)", export)}
		}
		in.fns[export] = f
	}
	in.st = st
	in.arena.reset()
	in.inputOff = 0
	cancel := in.cancel
	if ctx.Done() == nil {
		ctx = in.ctx // the caller's context cannot end: the instance's own carries the deadline
	} else {
		ctx, cancel = context.WithCancel(context.WithValue(ctx, instKey{}, in))
		defer cancel()
	}
	in.deadline, in.what = t.start.Add(t.d), export
	in.wd.arm(&in.w, t, cancel)
	in.stack[0] = 0
	err := f.CallWithStack(ctx, in.stack[:])
	closed := in.wd.disarm(&in.w)
	in.deadline = time.Time{}
	in.st = &in.initSt
	if err != nil {
		return 0, in.classify(err, closed || ctx.Err() != nil, export)
	}
	if closed {
		return 0, &Error{Kind: KindTimeout, Message: fmt.Sprintf("deadline of %v passed as the call returned", t.d)}
	}
	if len(f.Definition().ResultTypes()) == 0 {
		return 0, nil
	}
	return uint32(in.stack[0]), nil
}

// classify names the kind of a failed instantiation or call.
func (in *spliceInstance) classify(err error, deadline bool, what string) error {
	var hp *hostPanic
	var exit *sys.ExitError
	switch {
	case errors.As(err, &hp):
		return &Error{Kind: hp.kind, Message: hp.msg}
	case in.memRefused:
		return &Error{Kind: KindMemoryLimit, Message: fmt.Sprintf("linear memory would exceed the limit of %d bytes", in.lim.memoryPages()*pageSize), Err: err}
	case errors.As(err, &exit):
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded, sys.ExitCodeContextCanceled:
			return &Error{Kind: KindTimeout, Message: fmt.Sprintf("%s did not finish in time", what), Err: err}
		case 0:
			return &Error{Kind: KindTrap, Message: fmt.Sprintf("%s exited with code 0 without returning", what), Err: err}
		}
		if deadline {
			return &Error{Kind: KindTimeout, Message: fmt.Sprintf("%s did not finish in time", what), Err: err}
		}
		return &Error{Kind: KindTrap, Message: fmt.Sprintf("%s exited with code %d", what, exit.ExitCode()), Err: err}
	}
	return &Error{Kind: KindTrap, Message: firstLine(err.Error()), Err: err}
}

// current returns the instance a host function was called for.
func current(ctx context.Context) *spliceInstance {
	in, _ := ctx.Value(instKey{}).(*spliceInstance)
	if in == nil {
		fail(KindTrap, "host function called outside a call")
	}
	return in
}

// instWriter sends WASI stdout and stderr to the current call's logs.
type instWriter struct {
	in    *spliceInstance
	level string
}

func (w instWriter) Write(p []byte) (int, error) {
	w.in.st.log(w.level, p)
	return len(p), nil
}

// linearMemory backs an instance's linear memory and enforces its memory limit: a memory.grow past
// the limit fails (returns -1 to the guest, as the spec allows) and is recorded, so that the call's
// failure is reported as KindMemoryLimit rather than as whatever trap follows.
type linearMemory struct {
	buf     []byte
	limit   uint64
	refused *bool
}

func (l *linearMemory) Reallocate(size uint64) []byte {
	if size > l.limit {
		*l.refused = true
		if l.buf == nil {
			// wazero requires the initial allocation (it panics on nil). Compile refuses modules that
			// declare more than the limit, so this is defence in depth: hand out a buffer and let
			// instantiate report the refusal.
			l.buf = make([]byte, size)
			return l.buf
		}
		return nil
	}
	if size <= uint64(cap(l.buf)) {
		l.buf = l.buf[:size]
		return l.buf
	}
	c := 2 * size // doubling: a guest growing page by page copies its memory O(log n) times
	if c > l.limit {
		c = l.limit
	}
	nb := make([]byte, size, c)
	copy(nb, l.buf)
	l.buf = nb
	return nb
}

func (l *linearMemory) Free() { l.buf = nil }

type hostFunc struct {
	name            string
	params, results []api.ValueType
	fn              api.GoModuleFunc
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func envFuncs() []hostFunc {
	load := func(in *spliceInstance, op string, off, n uint64) []byte {
		b, ok := in.arena.span(off, n)
		if !ok {
			fail(KindTrap, "%s: offset %d is outside Extism memory", op, off)
		}
		return b
	}
	logAt := func(level string) hostFunc {
		return hostFunc{"log_" + level, []api.ValueType{i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			msg := in.arena.bytes(s[0])
			in.st.log(level, msg)
			in.arena.freeBlock(s[0])
		}}
	}
	return []hostFunc{
		{"input_length", nil, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			s[0] = uint64(len(current(ctx).st.input))
		}},
		{"input_offset", nil, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			if in.inputOff == 0 && len(in.st.input) > 0 {
				off, ok := in.arena.write(in.st.input)
				if !ok {
					fail(KindMemoryLimit, "input_offset: the %d-byte input does not fit in Extism memory", len(in.st.input))
				}
				in.inputOff = off
			}
			s[0] = in.inputOff
		}},
		{"input_load_u8", []api.ValueType{i64}, []api.ValueType{i32}, func(ctx context.Context, _ api.Module, s []uint64) {
			input := current(ctx).st.input
			if s[0] < uint64(len(input)) {
				s[0] = uint64(input[s[0]])
			} else {
				s[0] = 0
			}
		}},
		{"input_load_u64", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			input := current(ctx).st.input
			i := s[0]
			switch {
			case i < uint64(len(input)) && uint64(len(input))-i >= 8:
				s[0] = binary.LittleEndian.Uint64(input[i:])
			case i < uint64(len(input)):
				var w [8]byte
				copy(w[:], input[i:])
				s[0] = binary.LittleEndian.Uint64(w[:])
			default:
				s[0] = 0
			}
		}},
		{"alloc", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			off, ok := in.arena.alloc(s[0])
			if !ok {
				fail(KindMemoryLimit, "alloc %d bytes: Extism memory would exceed the limit of %d bytes", s[0], in.arena.limit)
			}
			s[0] = off
		}},
		{"free", []api.ValueType{i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
			current(ctx).arena.freeBlock(s[0])
		}},
		{"length", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			s[0] = current(ctx).arena.length(s[0])
		}},
		{"length_unsafe", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			s[0] = current(ctx).arena.length(s[0])
		}},
		{"load_u8", []api.ValueType{i64}, []api.ValueType{i32}, func(ctx context.Context, _ api.Module, s []uint64) {
			s[0] = uint64(load(current(ctx), "load_u8", s[0], 1)[0])
		}},
		{"load_u64", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			s[0] = binary.LittleEndian.Uint64(load(current(ctx), "load_u64", s[0], 8))
		}},
		{"store_u8", []api.ValueType{i64, i32}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
			load(current(ctx), "store_u8", s[0], 1)[0] = byte(s[1])
		}},
		{"store_u64", []api.ValueType{i64, i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
			binary.LittleEndian.PutUint64(load(current(ctx), "store_u64", s[0], 8), s[1])
		}},
		{"output_set", []api.ValueType{i64, i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			if s[1] > uint64(in.st.lim.OutputBytes) {
				fail(KindOutputTooLarge, "output_set: %d bytes, over the limit of %d", s[1], in.st.lim.OutputBytes)
			}
			if s[1] == 0 {
				in.st.output = nil
				return
			}
			in.st.output = bytes.Clone(load(in, "output_set", s[0], s[1]))
		}},
		{"error_set", []api.ValueType{i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			if s[0] == 0 {
				in.st.errMsg = ""
				return
			}
			msg := in.arena.bytes(s[0])
			if msg == nil {
				fail(KindTrap, "error_set: no block at offset %d", s[0])
			}
			in.st.setError(msg)
		}},
		{"config_get", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			v, ok := in.config[string(in.arena.bytes(s[0]))]
			if !ok {
				s[0] = 0
				return
			}
			s[0] = in.mustWrite("config_get", []byte(v))
		}},
		{"var_get", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			v, ok := in.vars[string(in.arena.bytes(s[0]))]
			in.arena.freeBlock(s[0])
			if !ok {
				s[0] = 0
				return
			}
			s[0] = in.mustWrite("var_get", v)
		}},
		{"var_set", []api.ValueType{i64, i64}, nil, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			name := string(in.arena.bytes(s[0]))
			in.arena.freeBlock(s[0])
			if old, ok := in.vars[name]; ok {
				in.varBytes -= int64(len(name) + len(old))
				delete(in.vars, name)
			}
			if s[1] == 0 {
				return
			}
			v := bytes.Clone(in.arena.bytes(s[1]))
			in.arena.freeBlock(s[1])
			if in.varBytes+int64(len(name)+len(v)) > in.lim.VarBytes {
				fail(KindTrap, "var_set %q: vars would exceed the limit of %d bytes", name, in.lim.VarBytes)
			}
			in.vars[name] = v
			in.varBytes += int64(len(name) + len(v))
		}},
		logAt("trace"), logAt("debug"), logAt("info"), logAt("warn"), logAt("error"),
		{"get_log_level", nil, []api.ValueType{i32}, func(ctx context.Context, _ api.Module, s []uint64) {
			s[0] = 0 // every level is captured
		}},
		{"http_request", []api.ValueType{i64, i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			req := in.arena.bytes(s[0])
			if req == nil {
				fail(KindTrap, "http_request: no request block at offset %d", s[0])
			}
			var body []byte
			if s[1] != 0 {
				if body = in.arena.bytes(s[1]); body == nil {
					fail(KindTrap, "http_request: no body block at offset %d", s[1])
				}
			}
			out := in.st.extismHTTP(ctx, bytes.Clone(req), bytes.Clone(body))
			s[0] = 0
			if len(out) > 0 {
				s[0] = in.mustWrite("http_request", out)
			}
		}},
		{"http_status_code", nil, []api.ValueType{i32}, func(ctx context.Context, _ api.Module, s []uint64) {
			s[0] = uint64(uint32(current(ctx).st.httpStatus))
		}},
		{"http_headers", nil, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			s[0] = 0
			if len(in.st.httpHeaders) > 0 {
				s[0] = in.mustWrite("http_headers", in.st.httpHeaders)
			}
		}},
	}
}

func (in *spliceInstance) mustWrite(op string, p []byte) uint64 {
	off, ok := in.arena.write(p)
	if !ok {
		fail(KindMemoryLimit, "%s: Extism memory would exceed the limit of %d bytes", op, in.arena.limit)
	}
	return off
}

// userFuncs is Splice's fast path (pdk/ABI.md): whole-buffer copies between the input, the output
// and guest linear memory.
func userFuncs() []hostFunc {
	guest := func(m api.Module, op string, ptr, n uint32) []byte {
		mem := m.Memory()
		if mem == nil {
			fail(KindTrap, "%s: the module has no memory", op)
		}
		b, ok := mem.Read(ptr, n)
		if !ok {
			fail(KindTrap, "%s: range [%d, %d) is outside guest memory (%d bytes)", op, ptr, uint64(ptr)+uint64(n), mem.Size())
		}
		return b
	}
	return []hostFunc{
		{"splice_yield", nil, nil, func(ctx context.Context, _ api.Module, s []uint64) {
			current(ctx).yield(ctx)
		}},
		// splice_http takes and returns Extism memory blocks, so that every Extism PDK can call it.
		{"splice_http", []api.ValueType{i64}, []api.ValueType{i64}, func(ctx context.Context, _ api.Module, s []uint64) {
			in := current(ctx)
			req := in.arena.bytes(s[0])
			if req == nil {
				fail(KindTrap, "splice_http: no request block at offset %d", s[0])
			}
			out := in.st.spliceHTTP(ctx, bytes.Clone(req))
			s[0] = 0
			if out != nil {
				s[0] = in.mustWrite("splice_http", out)
			}
		}},
		{"splice_input_read", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(ctx context.Context, m api.Module, s []uint64) {
			input := current(ctx).st.input
			n := api.DecodeU32(s[1])
			if uint64(n) > uint64(len(input)) {
				n = uint32(len(input))
			}
			copy(guest(m, "splice_input_read", api.DecodeU32(s[0]), n), input)
			s[0] = api.EncodeU32(n)
		}},
		{"splice_output_write", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(ctx context.Context, m api.Module, s []uint64) {
			in := current(ctx)
			n := api.DecodeU32(s[1])
			if int64(n) > in.st.lim.OutputBytes {
				fail(KindOutputTooLarge, "splice_output_write: %d bytes, over the limit of %d", n, in.st.lim.OutputBytes)
			}
			in.st.output = bytes.Clone(guest(m, "splice_output_write", api.DecodeU32(s[0]), n))
			s[0] = 0
		}},
		{"splice_error_write", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(ctx context.Context, m api.Module, s []uint64) {
			n := api.DecodeU32(s[1])
			if n > maxErrorBytes {
				n = maxErrorBytes
			}
			current(ctx).st.setError(guest(m, "splice_error_write", api.DecodeU32(s[0]), n))
			s[0] = 0
		}},
	}
}
