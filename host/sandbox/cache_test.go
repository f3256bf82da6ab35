package sandbox_test

import (
	"context"
	"os"
	"testing"

	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
)

// TestCompilationCacheDir checks that compiled code lands in Options.CacheDir and that a new Runtime
// (a new process, in effect) compiles from it and runs the module.
func TestCompilationCacheDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wasm := testkit.File(t, "testdata/conformance/conformance.wasm")
	for i := 0; i < 2; i++ {
		rt, err := sandbox.New(ctx, sandbox.Options{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		m, err := rt.Compile(ctx, wasm, sandbox.ModuleOptions{Name: "conformance"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Call(ctx, sandbox.CallOptions{Export: "echo", Input: []byte(`{"i":1}`)})
		if err != nil || string(res.Output) != `{"i":1}` {
			t.Fatalf("run %d: %v %s", i, err, res.Output)
		}
		rt.Close(ctx)
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Fatalf("run %d: cache dir has %d entries (%v)", i, len(entries), err)
		}
	}
}

// TestModuleSizeCap checks that Compile refuses a module over Options.MaxModuleBytes before parsing it.
func TestModuleSizeCap(t *testing.T) {
	ctx := context.Background()
	rt, err := sandbox.New(ctx, sandbox.Options{MaxModuleBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	_, err = rt.Compile(ctx, make([]byte, 1025), sandbox.ModuleOptions{Name: "big"})
	if sandbox.KindOf(err) != sandbox.KindInvalidModule {
		t.Fatalf("err = %v, want invalid_module", err)
	}
}
