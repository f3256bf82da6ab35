package sandbox_test

import (
	"context"
	"errors"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/sandbox"
)

// TestHostileGuests runs every hostile guest of testdata/guests and checks the typed outcome, that
// the instance is not reused, that a canary call from another consumer still succeeds on the same
// Runtime, and that goroutines return to their baseline.
func TestHostileGuests(t *testing.T) {
	// Deadlines are generous except where the deadline is what is tested, so that a loaded machine
	// cannot turn another breach into a timeout.
	small := sandbox.Limits{MemoryBytes: 16 << 20, Timeout: 10 * time.Second, OutputBytes: 1 << 20, LogBytes: 64 << 10}
	short := small
	short.Timeout = 300 * time.Millisecond
	cases := []struct {
		name   string
		guest  string
		export string
		input  string
		limits sandbox.Limits
		want   sandbox.Kind
		inMsg  string // the error message must contain this
	}{
		{name: "infinite loop", guest: "loop_forever", export: "run", limits: short, want: sandbox.KindTimeout},
		{name: "memory.grow bomb", guest: "grow_memory", export: "run", want: sandbox.KindMemoryLimit},
		{name: "allocation bomb", guest: "alloc_bomb", export: "run", want: sandbox.KindMemoryLimit, inMsg: "Extism memory"},
		{name: "unbounded recursion", guest: "recurse_forever", export: "run", want: sandbox.KindTrap, inMsg: "stack overflow"},
		{name: "unreachable", guest: "trap_unreachable", export: "run", want: sandbox.KindTrap, inMsg: "unreachable"},
		{name: "division by zero", guest: "trap_div_zero", export: "run", want: sandbox.KindTrap, inMsg: "divide by zero"},
		{name: "out of bounds load", guest: "trap_oob", export: "run", want: sandbox.KindTrap, inMsg: "out of bounds"},
		{name: "100 MiB output declared", guest: "output_big", export: "run", want: sandbox.KindOutputTooLarge},
		{name: "100 MiB output via fast path", guest: "output_big", export: "fast", want: sandbox.KindOutputTooLarge},
		{name: "4 MiB output over a 1 MiB limit", guest: "output_big", export: "real", want: sandbox.KindOutputTooLarge},
		{name: "no output", guest: "no_output", export: "run", want: sandbox.KindInvalidOutput},
		{name: "invalid JSON output", guest: "invalid_json", export: "run", want: sandbox.KindInvalidOutput},
		{name: "start function loops", guest: "start_loops", export: "run", limits: short, want: sandbox.KindTimeout, inMsg: "instantiate"},
		{name: "declared memory above policy", guest: "big_memory", export: "run", want: sandbox.KindMemoryLimit, inMsg: "declares 2000 pages"},
		{name: "malformed module", guest: "malformed", export: "run", want: sandbox.KindInvalidModule},
		{name: "log flood", guest: "log_flood", export: "run", want: sandbox.KindLogTooLarge},
		{name: "load outside Extism memory", guest: "bad_pointer", export: "load", want: sandbox.KindTrap, inMsg: "outside Extism memory"},
		{name: "store outside Extism memory", guest: "bad_pointer", export: "store", want: sandbox.KindTrap, inMsg: "outside Extism memory"},
		{name: "output_set outside Extism memory", guest: "bad_pointer", export: "output", want: sandbox.KindTrap, inMsg: "outside Extism memory"},
		{name: "fast output outside guest memory", guest: "bad_pointer", export: "fast", want: sandbox.KindTrap, inMsg: "outside guest memory"},
		{name: "fast input outside guest memory", guest: "bad_pointer", export: "fast_read", input: "{}", want: sandbox.KindTrap, inMsg: "outside guest memory"},
		{name: "error_set on no block", guest: "bad_pointer", export: "error", want: sandbox.KindTrap, inMsg: "no block"},
		{name: "missing export", guest: "noop", export: "no_such_export", want: sandbox.KindMissingExport},
	}
	ctx := context.Background()
	rt, err := sandbox.New(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	canary, err := rt.Compile(ctx, testkit.File(t, "testdata/guests/noop.wasm"), sandbox.ModuleOptions{Name: "canary"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := testkit.Goroutines(t)
			lim := small
			if tc.limits != (sandbox.Limits{}) {
				lim = tc.limits
			}
			wasm := testkit.File(t, path.Join("testdata/guests", tc.guest+".wasm"))
			err := func() error {
				m, err := rt.Compile(ctx, wasm, sandbox.ModuleOptions{Name: tc.guest, Limits: lim})
				if err != nil {
					return err
				}
				defer m.Close(ctx)
				_, err = m.Call(ctx, sandbox.CallOptions{Consumer: "hostile", Export: tc.export, Input: []byte(tc.input)})
				if err != nil && sandbox.KindOf(err) != sandbox.KindGuest && sandbox.KindOf(err) != sandbox.KindMissingExport && rt.Idle() > 1 {
					t.Errorf("a %s instance went back to the pool (%d idle)", sandbox.KindOf(err), rt.Idle())
				}
				return err
			}()
			if got := sandbox.KindOf(err); got != tc.want {
				t.Fatalf("kind = %q, want %q (err: %v)", got, tc.want, err)
			}
			if !errors.Is(err, kindSentinel(tc.want)) {
				t.Errorf("errors.Is(err, sentinel of %s) = false", tc.want)
			}
			if !strings.Contains(err.Error(), tc.inMsg) {
				t.Errorf("error %q does not contain %q", err, tc.inMsg)
			}
			res, err := canary.Call(ctx, sandbox.CallOptions{Consumer: "canary", Export: "echo_json", Input: []byte("{}")})
			if err != nil || string(res.Output) != "{}" {
				t.Fatalf("canary call after %s: %v", tc.name, err)
			}
			check()
		})
	}
}

// TestLoopFreeCallTreeStopsAtDeadline is wazero's gap closed: wazero checks for cancellation only at
// loop back-edges, so a loop-free call tree used to keep its thread long after its deadline
// (call_tree with n=26 ran ~0.4 s whatever the deadline). The fuel checkpoints at every function
// entry stop it at its deadline; nothing overruns, so nothing is quarantined. (The quarantine of
// modules that still overrun, e.g. in a host function, is tested in watchdog_test.go.)
func TestLoopFreeCallTreeStopsAtDeadline(t *testing.T) {
	ctx := context.Background()
	rt, err := sandbox.New(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	const deadline = 20 * time.Millisecond
	m, err := rt.Compile(ctx, testkit.File(t, "testdata/guests/call_tree.wasm"), sandbox.ModuleOptions{Name: "call_tree@1.0.0", Limits: sandbox.Limits{Timeout: deadline}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(ctx, sandbox.CallOptions{Consumer: "c", Export: "run", Input: []byte("4")}); err != nil {
		t.Fatalf("small tree: %v", err)
	}
	start := time.Now()
	_, err = m.Call(ctx, sandbox.CallOptions{Consumer: "c", Export: "run", Input: []byte("30")}) // 2^31 calls: seconds
	elapsed := time.Since(start)
	if sandbox.KindOf(err) != sandbox.KindTimeout {
		t.Fatalf("big tree: kind %q, want timeout (err: %v, after %v)", sandbox.KindOf(err), err, elapsed)
	}
	if elapsed > 2*deadline+50*time.Millisecond {
		t.Errorf("big tree ran %v, want about its %v deadline", elapsed, deadline)
	}
	if q, why := m.Quarantined(); q {
		t.Errorf("quarantined (%s), but nothing overran", why)
	}
	if _, err := m.Call(ctx, sandbox.CallOptions{Consumer: "c", Export: "run", Input: []byte("4")}); err != nil {
		t.Fatalf("after the timeout: %v", err)
	}
}

func kindSentinel(k sandbox.Kind) error {
	for _, e := range []error{sandbox.ErrTimeout, sandbox.ErrMemoryLimit, sandbox.ErrTrap, sandbox.ErrOutputTooLarge,
		sandbox.ErrLogTooLarge, sandbox.ErrGuest, sandbox.ErrMissingExport, sandbox.ErrInvalidOutput,
		sandbox.ErrQuarantined, sandbox.ErrInvalidModule} {
		if strings.HasSuffix(e.Error(), " "+string(k)) {
			return e
		}
	}
	return nil
}
