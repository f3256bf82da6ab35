package connector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
	"github.com/splicehq/splice/host/validate"
)

func newRuntime(t testing.TB) *sandbox.Runtime {
	t.Helper()
	rt, err := sandbox.New(context.Background(), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func TestLoadAndCall(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	c, err := connector.Load(ctx, rt, testkit.Guest(t, "connector-text"), connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if m := c.Manifest(); m.AppKey != "text" || m.Version != "1.0.0" || len(m.Transforms) != 2 {
		t.Fatalf("manifest: %+v", m)
	}
	res, err := c.Call(ctx, "c1", "transform", []byte(`{"key":"upper","input":{"k":"v"}}`))
	if err != nil || string(res.Output) != `{"output":{"k":"V"}}` {
		t.Fatalf("transform: %v %s", err, res.Output)
	}
	// The text connector declares no actions or triggers: those exports are refused before any
	// guest code runs, even where the module might export them.
	for _, export := range []string{"action", "trigger", "auth", "noop"} {
		_, err := c.Call(ctx, "c1", export, []byte(`{}`))
		if !errors.Is(err, sandbox.ErrMissingExport) {
			t.Errorf("%s: err = %v, want missing_export", export, err)
		}
	}
	// A guest error keeps its text.
	_, err = c.Call(ctx, "c1", "transform", []byte(`{"key":"reverse","input":{}}`))
	if !errors.Is(err, sandbox.ErrGuest) || !strings.Contains(err.Error(), "text: unknown transform reverse") {
		t.Fatalf("unknown key: %v", err)
	}
}

// TestLoadRefusesInvalidManifests loads guests whose describe output is not a valid manifest.
func TestLoadRefusesInvalidManifests(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	// noop.wasm has no describe export at all.
	_, err := connector.Load(ctx, rt, testkit.File(t, "testdata/guests/noop.wasm"), connector.Options{})
	if !errors.Is(err, sandbox.ErrMissingExport) {
		t.Fatalf("no describe: %v, want missing_export", err)
	}
	_, err = connector.Load(ctx, rt, testkit.File(t, "testdata/guests/bad_manifest.wasm"), connector.Options{})
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("bad manifest: %v, want a *validate.Error", err)
	}
	paths := map[string]string{}
	for _, c := range ve.Causes {
		paths[c.InstancePath] = c.Keyword
	}
	for _, p := range []string{"/appKey", "/version", "/hosts/0"} {
		if paths[p] == "" {
			t.Errorf("no cause at %s in %v", p, ve)
		}
	}
}

func TestRequestedLimitsAreClamped(t *testing.T) {
	mem, timeout := int64(8), int64(100)
	big := int64(1 << 40)
	policy := sandbox.Limits{MemoryBytes: 64 << 20, Timeout: time.Second, OutputBytes: 1 << 20}
	got := policy.Clamp(connector.Requested(&abi.Limits{MemoryMiB: &mem, TimeoutMs: &timeout, OutputBytes: &big}))
	want := sandbox.Limits{MemoryBytes: 8 << 20, Timeout: 100 * time.Millisecond, OutputBytes: 1 << 20}
	if got != want {
		t.Fatalf("clamped = %+v, want %+v (a request may lower a limit, never raise it)", got, want)
	}
}

func ExampleLoad() {
	ctx := context.Background()
	rt, _ := sandbox.New(ctx, sandbox.Options{})
	defer rt.Close(ctx)
	c, err := connector.Load(ctx, rt, testkit.MustGuest("connector-text"), connector.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Call(ctx, "consumer-1", "transform", []byte(`{"key":"upper","input":{"greeting":"hello"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Manifest().AppKey, c.Manifest().Version, string(res.Output))
	// Output: text 1.0.0 {"output":{"greeting":"HELLO"}}
}
