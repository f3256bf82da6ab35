package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
)

// benchGuests are the guests the engine benchmarks run: a C guest (connectors/text, Splice's C PDK)
// and a Go guest (connectors/echo and connectors/json, Splice's Go PDK, standard Go wasip1).
type benchGuest struct {
	name      string
	module    string // noop, echo_raw (and transform when transformIn is set)
	transform string // module with the transform export
	transIn   []byte
}

func benchGuests(b *testing.B) []benchGuest {
	doc := oneKiBDoc()
	return []benchGuest{
		{name: "c", module: "connector-text", transform: "connector-text",
			transIn: []byte(`{"key":"upper","input":` + doc + `}`)},
		{name: "go", module: "connector-echo", transform: "connector-json",
			transIn: []byte(`{"key":"pick","input":{"value":` + doc + `,"paths":["id","customer.name","items"]}}`)},
	}
}

// oneKiBDoc is a JSON order of about 1 KiB.
func oneKiBDoc() string {
	var items []string
	for i := 0; len(strings.Join(items, ",")) < 800; i++ {
		items = append(items, fmt.Sprintf(`{"sku":"sku-%04d","name":"item number %d","qty":%d,"price":%d.99}`, i, i, i%5+1, i*3))
	}
	return `{"id":"ord_0001","customer":{"name":"Ada Lovelace","email":"ada@example.com"},"items":[` + strings.Join(items, ",") + `]}`
}

var engines = []string{sandbox.EngineSplice, sandbox.EngineExtism}

func benchModule(b *testing.B, engine, guest string, opts sandbox.Options) (*sandbox.Runtime, *sandbox.Module) {
	b.Helper()
	ctx := context.Background()
	opts.Engine = engine
	rt, err := sandbox.New(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	m, err := rt.Compile(ctx, testkit.Guest(b, guest), sandbox.ModuleOptions{Name: guest, Limits: sandbox.Limits{OutputBytes: 4 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(ctx) })
	return rt, m
}

func benchCall(b *testing.B, m *sandbox.Module, export string, in []byte, raw bool, check func([]byte) bool) {
	ctx := context.Background()
	c := sandbox.CallOptions{Consumer: "bench", Export: export, Input: in, Raw: raw}
	res, err := m.Call(ctx, c) // warm: instance in the pool
	if err != nil {
		b.Fatal(err)
	}
	if check != nil && !check(res.Output) {
		b.Fatalf("unexpected output %.100q", res.Output)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Call(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoop is a call that does nothing, on a pooled instance: the engine's fixed cost per call.
func BenchmarkNoop(b *testing.B) {
	for _, g := range benchGuests(b) {
		for _, e := range engines {
			b.Run("guest="+g.name+"/engine="+e, func(b *testing.B) {
				_, m := benchModule(b, e, g.module, sandbox.Options{})
				benchCall(b, m, "noop", nil, true, nil)
			})
		}
	}
}

// BenchmarkTransform1KiB runs a connector transform (envelope decoding, the work, JSON output
// checked by the host) over a 1 KiB JSON document.
func BenchmarkTransform1KiB(b *testing.B) {
	for _, g := range benchGuests(b) {
		for _, e := range engines {
			b.Run("guest="+g.name+"/engine="+e, func(b *testing.B) {
				_, m := benchModule(b, e, g.transform, sandbox.Options{})
				benchCall(b, m, "transform", g.transIn, false, func(out []byte) bool { return bytes.HasPrefix(out, []byte(`{"output":`)) })
			})
		}
	}
}

// BenchmarkEcho1MiB moves 1 MiB in and out of the guest: Splice's fast path on Splice's engine, the
// plain Extism ABI (8 bytes per host call) on the reference engine.
func BenchmarkEcho1MiB(b *testing.B) {
	in := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for _, g := range benchGuests(b) {
		for _, e := range engines {
			b.Run("guest="+g.name+"/engine="+e, func(b *testing.B) {
				_, m := benchModule(b, e, g.module, sandbox.Options{})
				benchCall(b, m, "echo_raw", in, true, func(out []byte) bool { return bytes.Equal(out, in) })
			})
		}
	}
}

// BenchmarkAcquire measures taking an instance: from the pool (and giving it back), and fresh
// (instantiation with start and initialization functions, then close).
func BenchmarkAcquire(b *testing.B) {
	ctx := context.Background()
	for _, g := range benchGuests(b) {
		for _, e := range engines {
			b.Run("kind=pooled/guest="+g.name+"/engine="+e, func(b *testing.B) {
				_, m := benchModule(b, e, g.module, sandbox.Options{})
				if err := m.AcquireRelease(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := m.AcquireRelease(ctx, "bench"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("kind=fresh/guest="+g.name+"/engine="+e, func(b *testing.B) {
				_, m := benchModule(b, e, g.module, sandbox.Options{})
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := m.Fresh(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkFloor is the floor under every engine: a plain wazero call of the same guests' noop
// export, without and with WithCloseOnContextDone (which both engines need to enforce deadlines),
// and a bulk copy of 1 MiB into guest memory.
func BenchmarkFloor(b *testing.B) {
	ctx := context.Background()
	for _, g := range benchGuests(b) {
		wasm := testkit.Guest(b, g.module)
		for _, closeOnDone := range []bool{false, true} {
			b.Run(fmt.Sprintf("op=noop/guest=%s/closeOnDone=%v", g.name, closeOnDone), func(b *testing.B) {
				mod := rawInstance(b, wasm, closeOnDone)
				f := mod.ExportedFunction("noop")
				stack := make([]uint64, 1)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := f.CallWithStack(ctx, stack); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run("op=copy1MiB/guest="+g.name, func(b *testing.B) {
			mod := rawInstance(b, wasm, true)
			in := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
			mem := mod.Memory()
			if mem.Size() < uint32(len(in)) {
				if _, ok := mem.Grow(uint32(len(in)) / 65536); !ok {
					b.Fatal("grow")
				}
			}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				mem.Write(0, in)
			}
		})
	}
}

// rawInstance instantiates wasm on a bare wazero runtime: real WASI, Extism and Splice host
// functions that do nothing.
func rawInstance(b *testing.B, wasm []byte, closeOnDone bool) api.Module {
	b.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(closeOnDone))
	b.Cleanup(func() { rt.Close(ctx) })
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	stubs := map[string]wazero.HostModuleBuilder{}
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod == wasi_snapshot_preview1.ModuleName {
			continue
		}
		if stubs[mod] == nil {
			stubs[mod] = rt.NewHostModuleBuilder(mod)
		}
		results := f.ResultTypes()
		stubs[mod].NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) {
			for i := range results {
				s[i] = 0
			}
		}), f.ParamTypes(), results).Export(name)
	}
	for _, s := range stubs {
		if _, err := s.Instantiate(ctx); err != nil {
			b.Fatal(err)
		}
	}
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		b.Fatal(err)
	}
	if f := mod.ExportedFunction("_initialize"); f != nil {
		if _, err := f.Call(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return mod
}

// BenchmarkCompile compiles a guest in a new Runtime (as a new process would): cold, with an empty
// cache directory, and warm, with the cache directory a previous Runtime filled.
func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	for _, g := range benchGuests(b) {
		wasm := testkit.Guest(b, g.module)
		compile := func(b *testing.B, dir string) {
			rt, err := sandbox.New(ctx, sandbox.Options{CacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rt.Compile(ctx, wasm, sandbox.ModuleOptions{Name: g.module}); err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
		b.Run("cache=cold/guest="+g.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				compile(b, b.TempDir())
			}
		})
		b.Run("cache=warm/guest="+g.name, func(b *testing.B) {
			dir := b.TempDir()
			compile(b, dir)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				compile(b, dir)
			}
		})
	}
}
