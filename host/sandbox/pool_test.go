package sandbox_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
)

func conformanceModule(t testing.TB, rt *sandbox.Runtime) *sandbox.Module {
	t.Helper()
	m, err := rt.Compile(context.Background(), testkit.File(t, "testdata/conformance/conformance.wasm"), sandbox.ModuleOptions{Name: "conformance@1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func callVars(t testing.TB, m *sandbox.Module, consumer string) string {
	t.Helper()
	res, err := m.Call(context.Background(), sandbox.CallOptions{Consumer: consumer, Export: "vars", Input: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	return string(res.Output)
}

// TestInstancesArePerConsumer uses the instance-lifetime vars of the conformance guest to prove that
// an instance is reused for its consumer and never lent to another.
func TestInstancesArePerConsumer(t *testing.T) {
	ctx := context.Background()
	rt, err := sandbox.New(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	m := conformanceModule(t, rt)
	for i, want := range []string{`{"count":1}`, `{"count":2}`, `{"count":3}`} {
		if got := callVars(t, m, "alice"); got != want {
			t.Fatalf("alice call %d: %s, want %s", i, got, want)
		}
	}
	if got := callVars(t, m, "bob"); got != `{"count":1}` {
		t.Fatalf("bob sees %s: an instance of alice's was lent to bob", got)
	}
	if got := callVars(t, m, "alice"); got != `{"count":4}` {
		t.Fatalf("alice after bob: %s, want {\"count\":4}", got)
	}
	if rt.Live() != 2 || rt.Idle() != 2 {
		t.Fatalf("live %d idle %d, want 2 and 2", rt.Live(), rt.Idle())
	}
}

// TestPoolBudgetEvictsLeastRecentlyUsed checks the global instance budget: a third consumer's call
// closes the least recently used idle instance.
func TestPoolBudgetEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	rt, err := sandbox.New(ctx, sandbox.Options{MaxInstances: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	m := conformanceModule(t, rt)
	callVars(t, m, "a") // a:1
	callVars(t, m, "b") // b:1
	callVars(t, m, "a") // a:2, so b is least recently used
	callVars(t, m, "c") // evicts b
	if rt.Live() != 2 {
		t.Fatalf("live = %d, want 2", rt.Live())
	}
	if got := callVars(t, m, "a"); got != `{"count":3}` {
		t.Fatalf("a lost its instance: %s", got)
	}
	if got := callVars(t, m, "b"); got != `{"count":1}` {
		t.Fatalf("b kept an evicted instance: %s", got)
	}
}

// TestPoolHammer runs many goroutines for several consumers against a small budget under -race:
// every call succeeds, the budget holds, and closing the module leaves nothing live.
func TestPoolHammer(t *testing.T) {
	ctx := context.Background()
	check := testkit.Goroutines(t)
	rt, err := sandbox.New(ctx, sandbox.Options{MaxInstances: 6, MaxConcurrentCalls: 4})
	if err != nil {
		t.Fatal(err)
	}
	m := conformanceModule(t, rt)
	const workers, calls = 16, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			consumer := fmt.Sprintf("consumer-%d", w%5)
			for i := 0; i < calls; i++ {
				in := fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)
				res, err := m.Call(ctx, sandbox.CallOptions{Consumer: consumer, Export: "echo", Input: []byte(in)})
				if err != nil {
					errs <- err
					return
				}
				if string(res.Output) != in {
					errs <- fmt.Errorf("got %s, want %s", res.Output, in)
					return
				}
				if live := rt.Live(); live > 6 {
					errs <- fmt.Errorf("%d live instances, over the budget of 6", live)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if rt.Live() != 0 {
		t.Fatalf("%d instances live after Close", rt.Live())
	}
	rt.Close(ctx)
	check()
}

func TestCallAfterCloseFails(t *testing.T) {
	ctx := context.Background()
	rt, err := sandbox.New(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	m := conformanceModule(t, rt)
	callVars(t, m, "a")
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = m.Call(ctx, sandbox.CallOptions{Consumer: "b", Export: "echo", Input: []byte("{}")})
	if sandbox.KindOf(err) != sandbox.KindInvalidModule || !strings.Contains(err.Error(), "module is closed") {
		t.Fatalf("call after Close: %v", err)
	}
}
