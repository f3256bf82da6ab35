package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// maxServe bounds --max-duration of sink and native: they always stop by themselves.
const maxServe = 24 * time.Hour

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `splice-load drives the end-to-end load benchmark (workload W1), on loopback only.

Usage:
  splice-load sink   [flags]   the loopback chat upstream: counts POSTed messages, GET /count
  splice-load native [flags]   the no-platform ceiling: order webhook -> chat message -> upstream
  splice-load fire   [flags]   the load generator: 1 KiB order webhooks, reports rate and latency
  splice-load count  [flags]   prints a sink's message count
  splice-load e2e    [flags]   the whole benchmark: native ceiling, then a splice server, one report
  splice-load crash  [flags]   W1 while the server is killed and restarted: nothing accepted may be lost

Run "splice-load COMMAND -h" for a command's flags.
`

// run executes the command line and returns the exit status. It returns when the command is done;
// sink and native serve until ctx is done or their --max-duration passes.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "sink":
		err = sinkCmd(ctx, args[1:], stdout, stderr)
	case "native":
		err = nativeCmd(ctx, args[1:], stdout, stderr)
	case "fire":
		err = fireCmd(ctx, args[1:], stdout, stderr)
	case "count":
		err = countCmd(ctx, args[1:], stdout, stderr)
	case "e2e":
		err = e2eCmd(ctx, args[1:], stdout, stderr)
	case "crash":
		err = crashCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "splice-load: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "splice-load: %v\n", ue.err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "splice-load: %v\n", err)
		return exitFail
	}
}

// usageError marks a command line that cannot run as given (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// newFlags returns a flag set that prints summary and its flags for -h.
func newFlags(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("splice-load "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\nFlags (-flag and --flag are the same):\n", summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, refusing positional arguments; flag errors are usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

func checkServeBound(d time.Duration) error {
	if d <= 0 || d > maxServe {
		return &usageError{fmt.Errorf("--max-duration %s out of range (0, %s]", d, maxServe)}
	}
	return nil
}

func sinkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sink", `Usage: splice-load sink [--listen 127.0.0.1:0] [--max-duration 10m]

Serves the loopback "chat" upstream: every POST (any path) is counted and answered 200 {"ok":true};
GET /count answers {"received":N}. Prints "sink listening on http://HOST:PORT" when ready, stops on
SIGINT/SIGTERM or after --max-duration, then prints the count on stderr.
`, stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback `host:port` to listen on (port 0: any free port)")
	maxDur := fs.Duration("max-duration", 10*time.Minute, "stop after this long (at most 24h)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkServeBound(*maxDur); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *maxDur)
	defer cancel()
	s, err := runSink(ctx, *listen, sinkOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sink listening on %s\n", s.URL())
	<-s.Done()
	if err := s.Close(); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	fmt.Fprintf(stderr, "sink stopped: received %d\n", s.Received())
	return nil
}

func nativeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("native", `Usage: splice-load native --upstream URL [--listen 127.0.0.1:0] [--max-duration 10m]

Serves the no-platform ceiling of workload W1: per POSTed order, reads it with gjson, builds
{"channel":"#orders","text":"New order <id> by <customer.name>, total <total>"}, POSTs it to
--upstream and answers 200 once the upstream answered 2xx (400 for a body that is not an order,
502 when the upstream failed). Prints "native listening on http://HOST:PORT" when ready, stops on
SIGINT/SIGTERM or after --max-duration, then prints its counts on stderr.
`, stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback `host:port` to listen on (port 0: any free port)")
	upstream := fs.String("upstream", "", "the chat upstream's `URL`, http on loopback, e.g. a sink's (required)")
	maxDur := fs.Duration("max-duration", 10*time.Minute, "stop after this long (at most 24h)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *upstream == "" {
		return &usageError{errors.New("native: --upstream is required")}
	}
	if err := checkServeBound(*maxDur); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *maxDur)
	defer cancel()
	n, err := runNative(ctx, *listen, *upstream)
	if errors.Is(err, errNotLoopback) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "native listening on %s\n", n.URL())
	<-n.Done()
	if err := n.Close(); err != nil {
		return fmt.Errorf("native: %w", err)
	}
	fmt.Fprintf(stderr, "native stopped: delivered %d, rejected %d, failed %d\n", n.Delivered(), n.Rejected(), n.Failed())
	if e := n.FirstError(); e != "" {
		fmt.Fprintf(stderr, "native: first upstream error: %s\n", e)
	}
	return nil
}

func fireCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fire", `Usage: splice-load fire --url URL [flags]

POSTs 1 KiB order JSON bodies (Content-Type application/json; order ids FirstID, FirstID+1, ...
across connections) to --url over --connections keep-alive connections, until --duration passed
or --requests were sent, whichever comes first. Requests in flight at the end get their --timeout.
The URL's host must be loopback (127.0.0.0/8, ::1, localhost); any other is refused.

Reports requests sent, responses by status, transport errors by kind, accepted (2xx) and
accepted/s, ack latency p50/p90/p99/max of 2xx responses (from just before the write to the end of
the response) and the event ids in 202 responses; one JSON object with --json. Exits 1 when no
request was accepted.
`, stderr)
	var cfg fireConfig
	fs.StringVar(&cfg.URL, "url", "", "target `URL`, http on loopback (required)")
	fs.IntVar(&cfg.Connections, "connections", defaultConnections, "concurrent keep-alive connections (1 to 1024)")
	fs.DurationVar(&cfg.Duration, "duration", defaultDuration, "start no request after this long (at most 10m)")
	fs.Int64Var(&cfg.Requests, "requests", 0, "stop after `N` requests (at most 10000000; 0: only --duration bounds the run)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: start `R` requests per second in total (0: closed loop, as fast as answered)")
	fs.DurationVar(&cfg.Timeout, "timeout", defaultTimeout, "per-request timeout (at most 1m)")
	fs.Uint64Var(&cfg.FirstID, "first-id", 1, "order id of the first request")
	fs.Func("header", "extra request header `k:v` (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, ":")
		if !ok {
			return fmt.Errorf("want k:v, got %q", s)
		}
		cfg.Headers = append(cfg.Headers, header{strings.TrimSpace(k), strings.TrimSpace(v)})
		return nil
	})
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	// Zero values mean defaults in fireConfig; on the command line they are mistakes.
	if cfg.Connections == 0 || cfg.Duration == 0 || cfg.Timeout == 0 || cfg.FirstID == 0 {
		return &usageError{errors.New("fire: --connections, --duration, --timeout and --first-id must be positive")}
	}
	rep, err := fire(ctx, cfg)
	if err != nil {
		return &usageError{err}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.writeText(stdout); err != nil {
		return err
	}
	if rep.Accepted == 0 {
		return fmt.Errorf("fire: no request was accepted (%d sent)", rep.Sent)
	}
	return nil
}

func countCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("count", `Usage: splice-load count --url http://127.0.0.1:PORT/count

Prints the number of messages a sink received (its /count; a base URL gets /count appended).
`, stderr)
	rawURL := fs.String("url", "", "the sink's count `URL`, http on loopback (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rawURL == "" {
		return &usageError{errors.New("count: --url is required")}
	}
	n, err := fetchCount(ctx, *rawURL)
	if errors.Is(err, errNotLoopback) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, n)
	return nil
}
