package sandbox_test

import (
	"context"
	"fmt"
	"time"

	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
)

func Example() {
	ctx := context.Background()
	rt, err := sandbox.New(ctx, sandbox.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)

	// Compile once per connector version and environment, with that environment's limits.
	wasm := testkit.MustFile("testdata/conformance/conformance.wasm")
	m, err := rt.Compile(ctx, wasm, sandbox.ModuleOptions{
		Name:   "conformance@1.0.0",
		Limits: sandbox.Limits{MemoryBytes: 16 << 20, Timeout: time.Second},
		Config: map[string]string{"greeting": `"hello"`},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	res, err := m.Call(ctx, sandbox.CallOptions{Consumer: "consumer-1", Export: "upper", Input: []byte(`{"text":"abc"}`)})
	fmt.Println(string(res.Output), err)

	res, err = m.Call(ctx, sandbox.CallOptions{Consumer: "consumer-1", Export: "config", Input: []byte(`{}`)})
	fmt.Println(string(res.Output), err)

	// Failures are typed.
	_, err = m.Call(ctx, sandbox.CallOptions{Consumer: "consumer-1", Export: "fail", Input: []byte(`{}`)})
	fmt.Println(sandbox.KindOf(err))
	_, err = m.Call(ctx, sandbox.CallOptions{Consumer: "consumer-1", Export: "nope", Input: []byte(`{}`)})
	fmt.Println(sandbox.KindOf(err))
	// Output:
	// {"TEXT":"ABC"} <nil>
	// "hello" <nil>
	// guest_error
	// missing_export
}
