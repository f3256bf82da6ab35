package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
)

func guestFiles(t testing.TB) []string {
	files, err := filepath.Glob("../../testdata/guests/*.wasm")
	if err != nil || len(files) == 0 {
		t.Fatalf("no guests: %v", err)
	}
	return files
}

// TestParseModuleAgreesWithWazero checks the pre-parser against wazero on every committed guest:
// the exported functions, imports and memory minimum it reads are wazero's.
func TestParseModuleAgreesWithWazero(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for _, f := range guestFiles(t) {
		wasm, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		info, perr := parseModule(wasm)
		cm, cerr := rt.CompileModule(ctx, wasm)
		if cerr != nil {
			continue // malformed.wasm: the pre-parser may or may not notice; wazero refuses it
		}
		if perr != nil {
			t.Errorf("%s: parse: %v, but wazero compiles it", f, perr)
			continue
		}
		if len(info.exports) != len(cm.ExportedFunctions()) {
			t.Errorf("%s: %d exported functions, wazero says %d", f, len(info.exports), len(cm.ExportedFunctions()))
		}
		for name := range cm.ExportedFunctions() {
			if _, ok := info.exports[name]; !ok {
				t.Errorf("%s: export %q missed", f, name)
			}
		}
		if len(info.imports) != len(cm.ImportedFunctions()) {
			t.Errorf("%s: %d imports, wazero says %d", f, len(info.imports), len(cm.ImportedFunctions()))
		}
		for _, m := range cm.ExportedMemories() {
			if uint64(m.Min()) != info.memMin {
				t.Errorf("%s: memory min %d, wazero says %d", f, info.memMin, m.Min())
			}
		}
	}
}

// FuzzParseModule feeds the pre-parser arbitrary bytes: it must never panic, and whatever it accepts
// has consistent counts.
func FuzzParseModule(f *testing.F) {
	for _, g := range guestFiles(f) {
		if b, err := os.ReadFile(g); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x05\x03\x01\x04\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := parseModule(b)
		if err != nil {
			return
		}
		if info.hasMemory != (info.memories > 0) {
			t.Fatalf("hasMemory %v with %d memories", info.hasMemory, info.memories)
		}
	})
}
