package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
)

type conformanceCase struct {
	Name        string            `json:"name"`
	Export      string            `json:"export"`
	Input       string            `json:"input"`
	InputRepeat int               `json:"inputRepeat"`
	Config      map[string]string `json:"config"`
	Raw         bool              `json:"raw"`
	Repeat      int               `json:"repeat"`
	WantEcho    bool              `json:"wantEcho"`
	Want        struct {
		Output        *string `json:"output"`
		ErrorKind     string  `json:"errorKind"`
		ErrorContains string  `json:"errorContains"`
		LogContains   string  `json:"logContains"`
	} `json:"want"`
}

func (c conformanceCase) input() []byte {
	in := []byte(c.Input)
	if c.InputRepeat > 1 {
		in = bytes.Repeat(in, c.InputRepeat)
	}
	return in
}

// conformanceGuests are the guests that implement pdk/ABI.md's conformance exports: one per PDK,
// one built with Extism's official Go PDK, and the plain-Extism WAT reference.
func conformanceGuests(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"wat":       testkit.File(t, "testdata/conformance/conformance.wasm"),
		"go-pdk":    testkit.Guest(t, "conformance-go"),
		"c-pdk":     testkit.Guest(t, "conformance-c"),
		"extism-go": testkit.Guest(t, "conformance-extism-go"),
	}
}

// outcome is what the differential test compares between engines.
type outcome struct {
	Output string
	Kind   sandbox.Kind
}

// TestConformance runs every case of testdata/conformance/cases.json on every conformance guest on
// both engines, checks each against the case, and requires both engines to agree exactly.
func TestConformance(t *testing.T) {
	var file struct {
		Cases []conformanceCase `json:"cases"`
	}
	if err := json.Unmarshal(testkit.File(t, "testdata/conformance/cases.json"), &file); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	guests := conformanceGuests(t)
	got := map[string]map[string]outcome{} // "guest/case" -> engine -> outcome
	for _, engine := range []string{sandbox.EngineSplice, sandbox.EngineExtism} {
		rt, err := sandbox.New(ctx, sandbox.Options{Engine: engine})
		if err != nil {
			t.Fatal(err)
		}
		// One module per guest and config, compiled once (a Go guest takes seconds to compile under
		// -race); each case runs as its own consumer, so it gets its own instances.
		modules := map[string]*sandbox.Module{}
		module := func(t *testing.T, guest string, wasm []byte, cfg map[string]string) *sandbox.Module {
			key := guest + fmt.Sprint(cfg)
			if m := modules[key]; m != nil {
				return m
			}
			m, err := rt.Compile(ctx, wasm, sandbox.ModuleOptions{Name: "conformance-" + guest, Config: cfg})
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			modules[key] = m
			return m
		}
		for guest, wasm := range guests {
			for _, c := range file.Cases {
				key := guest + "/" + c.Name
				t.Run(engine+"/"+key, func(t *testing.T) {
					o := runCase(t, ctx, module(t, guest, wasm, c.Config), c)
					if got[key] == nil {
						got[key] = map[string]outcome{}
					}
					got[key][engine] = o
				})
			}
		}
		rt.Close(ctx)
	}
	for key, by := range got {
		s, e := by[sandbox.EngineSplice], by[sandbox.EngineExtism]
		if s != e {
			t.Errorf("%s: engines disagree:\n  splice: %.200q\n  extism: %.200q", key, fmt.Sprint(s), fmt.Sprint(e))
		}
	}
}

func runCase(t *testing.T, ctx context.Context, m *sandbox.Module, c conformanceCase) outcome {
	t.Helper()
	repeat := max(c.Repeat, 1)
	var res *sandbox.Result
	var err error
	for i := 0; i < repeat; i++ {
		res, err = m.Call(ctx, sandbox.CallOptions{Consumer: c.Name, Export: c.Export, Input: c.input(), Raw: c.Raw})
	}
	if c.Want.ErrorKind != "" {
		if got := sandbox.KindOf(err); string(got) != c.Want.ErrorKind {
			t.Fatalf("kind = %q, want %q (err: %v)", got, c.Want.ErrorKind, err)
		}
		if !strings.Contains(err.Error(), c.Want.ErrorContains) {
			t.Errorf("error %q does not contain %q", err, c.Want.ErrorContains)
		}
		return outcome{Kind: sandbox.KindOf(err)}
	}
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	switch {
	case c.WantEcho:
		if !bytes.Equal(res.Output, c.input()) {
			t.Errorf("output (%d bytes) is not the input (%d bytes)", len(res.Output), len(c.input()))
		}
	case c.Want.Output != nil:
		if string(res.Output) != *c.Want.Output {
			t.Errorf("output = %q, want %q", res.Output, *c.Want.Output)
		}
	}
	if c.Want.LogContains != "" {
		found := false
		for _, l := range res.Logs {
			found = found || strings.Contains(l.Message, c.Want.LogContains)
		}
		if !found {
			t.Errorf("logs %v do not contain %q", res.Logs, c.Want.LogContains)
		}
	}
	return outcome{Output: string(res.Output)}
}
