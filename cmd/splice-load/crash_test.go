package main

import (
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCrashTally: messages are told apart by order and idempotency key: an accepted order with no
// delivered message is lost, one posted under two keys (failed attempts included) doubled, one
// delivered twice under one key retried, one delivered without a 2xx unacked.
func TestCrashTally(t *testing.T) {
	tl := newCrashTally()
	for _, id := range []uint64{1, 2, 3, 4} {
		tl.accept(id)
	}
	msg := func(id int, key string, failed bool) {
		tl.message([]byte(`{"channel":"#orders","text":"New order `+strconv.Itoa(id)+` by Ada Lovelace, total 12.50"}`), []byte(key), failed)
	}
	msg(1, "k1", true) // failed, then delivered: neither lost nor retried
	msg(1, "k1", false)
	msg(2, "k2", false)
	msg(2, "k2", false)
	msg(3, "k3", false)
	msg(3, "k3b", true) // a failed attempt under another key: doubled all the same
	msg(4, "k4", true)  // only failed: lost
	msg(5, "k5", false)
	msg(6, "k6", true) // never accepted, never delivered: nothing
	tl.message([]byte(`{"text":"hello"}`), nil, false)
	if missing, messages := tl.missing(); missing != 1 || messages != 10 {
		t.Fatalf("missing %d, messages %d; want 1 (order 4) and 10", missing, messages)
	}
	var r crashReport
	tl.fill(&r)
	want := crashReport{Messages: 6, Failed: 4, Orders: 4, Lost: 1, Doubled: 1, Retried: 1, Unacked: 1, Unnamed: 1}
	if r.Messages != want.Messages || r.Failed != want.Failed || r.Orders != want.Orders || r.Lost != want.Lost || r.Doubled != want.Doubled ||
		r.Retried != want.Retried || r.Unacked != want.Unacked || r.Unnamed != want.Unnamed {
		t.Fatalf("report %+v, want %+v", r, want)
	}
}

func TestOrderOf(t *testing.T) {
	for body, want := range map[string]uint64{
		`{"text":"New order 42 by Ann"}`:  42,
		`New order 18446744073709551615 `: 1<<64 - 1,
	} {
		if got, ok := orderOf([]byte(body)); !ok || got != want {
			t.Errorf("orderOf(%s) = %d, %v; want %d", body, got, ok, want)
		}
	}
	for _, body := range []string{``, `New order `, `New order x1`, `New order 18446744073709551616`, `{"text":"Old order 1"}`} {
		if got, ok := orderOf([]byte(body)); ok {
			t.Errorf("orderOf(%s) = %d, want none", body, got)
		}
	}
}

// TestCrash runs the crash test through the real binary (built here, with the race detector when
// the test has it) and the C build of W1's connectors: three kills under load, then every accepted
// webhook's order reached the upstream, none under two idempotency keys, and the last server
// stopped cleanly (a data race found in it would fail its exit). Then three graceful stops
// (SIGTERM), each of which must also end cleanly and cut nothing short: no order retried, none
// run without its reply. Then a kill with an upstream that fails 30 % of the messages: the runs
// that die are replayed, every order is delivered, and every attempt of one carries one key.
// Then two kills with every webhook that got no answer sent again (as a sender retries): each
// ends answered, and one stored before its answer was lost is deduped, not run twice.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds splice and kills it under load")
	}
	const root = "../.."
	bin := filepath.Join(t.TempDir(), "splice")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to build splice with: %v", err)
	}
	build := exec.Command(gobin, append(args, "./cmd/splice")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, m := range w1Guests["c"].modules {
		mk := exec.Command("make", "-s", ".build/wasm/"+m)
		mk.Dir = root
		if out, err := mk.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", m, err, out)
		}
	}
	for _, c := range []struct {
		kills    int
		term     bool
		failRate float64
		resend   int
		args     []string
	}{{kills: 3}, {kills: 3, term: true}, {kills: 1, failRate: 0.3}, {kills: 2, resend: 50},
		// Retention deleting what ended a second ago, between and across the kills.
		{kills: 2, args: []string{"--retention=1s", "--prune-every=200ms", "--log-level=info"}}} {
		term := c.term
		var log lockedBuffer // the servers' output is copied in by os/exec's goroutines
		rep, err := runCrash(t.Context(), crashConfig{
			e2eConfig: e2eConfig{Splice: bin, Connectors: filepath.Join(root, ".build/wasm"), Guests: "c", Connections: 8, Workers: 16,
				Drain: 30 * time.Second, ServerArgs: c.args},
			Kills: c.kills, Interval: 800 * time.Millisecond, Term: term, FailRate: c.failRate, Resend: c.resend,
		}, &log)
		if err != nil {
			t.Fatalf("%+v: %v\n%s", c, err, log.String())
		}
		var text bytes.Buffer
		rep.writeText(&text)
		t.Log(text.String())
		switch {
		case len(rep.RestartMs) != c.kills:
			t.Errorf("%d restarts, want %d", len(rep.RestartMs), c.kills)
		case c.failRate > 0 && (rep.Failed == 0 || rep.Replayed == 0):
			t.Errorf("a flaky upstream failed %d messages and %d runs were replayed: the test tested nothing", rep.Failed, rep.Replayed)
		case rep.Accepted == 0 || !term && rep.Errors["refused"]+rep.Errors["reset"]+rep.Errors["closed"] == 0:
			t.Errorf("the load saw %d accepted and no kill (errors %v): the test tested nothing", rep.Accepted, rep.Errors)
		case rep.Lost != 0 || rep.Doubled != 0:
			t.Errorf("lost %d, doubled %d; want none\n%s", rep.Lost, rep.Doubled, log.String())
		case term && rep.Retried+rep.Unacked != 0:
			t.Errorf("graceful stops: %d orders retried, %d run without their reply; want none\n%s", rep.Retried, rep.Unacked, log.String())
		case c.resend > 0 && rep.Unacked != 0:
			t.Errorf("with webhooks sent again: %d orders run without a 2xx; want none (each resent until answered)", rep.Unacked)
		case rep.Orders < rep.Accepted:
			t.Errorf("%d orders reached the upstream, fewer than the %d accepted", rep.Orders, rep.Accepted)
		case c.args != nil && !strings.Contains(log.String(), "retention: pruned"):
			t.Errorf("retention deleted nothing: the test tested nothing\n%s", log.String())
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCrashRefusesBadFlags: a crash run that cannot run as asked is refused before it starts
// anything (exit 2), with the flag named.
func TestCrashRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--kills", "-1"}, {"--kills", "101"}, {"--interval", "10ms"}, {"--interval", "2m"},
		{"--fail-rate", "0.9"}, {"--fail-rate", "NaN"}, {"--connections", "0"}, {"--drain", "0s"},
		{"--workers", "0"}, {"--kills", "100", "--interval", "10s"}, {"--resend", "101"},
	} {
		var errb strings.Builder
		if code := run(t.Context(), append([]string{"crash", "--splice", "/nonexistent"}, args...), io.Discard, &errb); code != exitUsage ||
			!strings.Contains(errb.String(), strings.TrimLeft(args[0], "-")) {
			t.Errorf("crash %v: exit %d, %q; want 2 naming %s", args, code, errb.String(), args[0])
		}
	}
}
