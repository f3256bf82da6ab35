package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/splicehq/splice/host/server"
)

// serveFlags are the flags of serve and dev.
type serveFlags struct {
	listen, dataDir, baseURL, operatorFile, engine, logFormat, logLevel string
	debugListen                                                         string
	envs                                                                []string
	allowLoopback                                                       bool
	workers, maxPerConsumer, maxBody, maxInFlight, maxConns, instances  int
	maxWaiting, valueLog                                                int
	memoryMiB, minFreeMiB                                               int64
	callTimeout, syncWait, shutdownGrace, readTimeout, yieldAbove       time.Duration
	retention, pruneEvery                                               time.Duration
	ratePerConsumer                                                     float64
}

func (f *serveFlags) register(fs *pflag.FlagSet, defaultEnvs []string) {
	fs.StringVar(&f.listen, "listen", server.DefaultListen, "the address to serve (webhooks, API, metrics) on")
	fs.StringVar(&f.dataDir, "data-dir", server.DefaultDataDir, "where the databases (one per environment), the master key and the operator token are kept")
	fs.StringVar(&f.baseURL, "base-url", "", "the server's URL as callers reach it, for webhook URLs (default http://<listen>)")
	fs.StringSliceVar(&f.envs, "env", defaultEnvs, "environments to create on start when missing (comma-separated or repeated)")
	fs.StringVar(&f.operatorFile, "operator-token-file", "", "the operator token's file, made 0600 on first start (default <data-dir>/operator-token)")
	fs.BoolVar(&f.allowLoopback, "allow-loopback", false, "let connectors reach loopback addresses over plain HTTP on any port, in every environment but production")
	fs.StringVar(&f.engine, "engine", "splice", "the Wasm engine: splice (Splice's Extism ABI on wazero) or extism (the Extism Go SDK)")
	fs.IntVar(&f.workers, "workers", 64, "work items run at once, per environment (mostly waiting on fsync and outbound HTTP, so more than the cores)")
	fs.IntVar(&f.maxPerConsumer, "max-per-consumer", 0, "one consumer's items run at once, per environment (default half the workers)")
	fs.DurationVar(&f.yieldAbove, "yield-above", server.DefaultYieldAbove, "runs give way to webhooks taking longer than this to be stored while the cores are saturated: fewer workers start items (down to a sixteenth) until webhooks are fast again (negative: never)")
	fs.Float64Var(&f.ratePerConsumer, "rate-per-consumer", 0, "one consumer's items started per second, per environment (0: no rate quota)")
	fs.IntVar(&f.maxWaiting, "max-waiting", server.DefaultMaxWaiting, "one consumer's work items waiting to run, per environment; webhooks past it get 429 with Retry-After, nothing stored (negative: no bound)")
	fs.IntVar(&f.valueLog, "value-log-threshold", server.DefaultValueLogBytes, "keep stored values (events, step records) of this many bytes or more, 64 to 1047552, in Badger's value log, out of its LSM tree: less CPU and heap under sustained writes, for twice the disk (0: off, every value in the tree)")
	fs.Int64Var(&f.minFreeMiB, "min-free-disk", server.DefaultMinFreeDiskBytes>>20, "MiB of free space the data directory's file system keeps: below it writes are refused (webhooks get 503, /healthz says why) until space is freed, rather than the disk filling up under Badger, which then dies of SIGBUS (0: no check)")
	fs.DurationVar(&f.retention, "retention", server.DefaultRetention, "how long what has ended is kept: runs that succeeded or were filtered (with their steps), their events and activity entries older than this are deleted, every --prune-every; failed and dead runs are kept while they wait for a replay (0: keep everything)")
	fs.DurationVar(&f.pruneEvery, "prune-every", server.DefaultPruneEvery, "how often each environment deletes what --retention lets go (the first time a minute after start, or sooner when this is shorter; at least 100ms)")
	fs.Int64Var(&f.memoryMiB, "memory", 0, "guest memory per instance in MiB (0: the sandbox default)")
	fs.IntVar(&f.instances, "max-instances", 0, "guest instances kept alive across connectors and consumers (0: the sandbox default, 128)")
	fs.DurationVar(&f.callTimeout, "call-timeout", 0, "the deadline of one guest call (0: 2 s for transforms, 30 s for actions and triggers)")
	fs.IntVar(&f.maxBody, "max-body", 1<<20, "the largest webhook body in bytes; larger ones get 413 unread")
	fs.IntVar(&f.maxInFlight, "max-in-flight", 4096, "webhooks handled at once; past it 503 with Retry-After")
	fs.IntVar(&f.maxConns, "max-conns", 10000, "open connections at most")
	fs.DurationVar(&f.readTimeout, "read-timeout", 10*time.Second, "the time a client has to send a request, headers and body")
	fs.DurationVar(&f.syncWait, "sync-wait", 30*time.Second, "how long a sync webhook waits for its run's reply")
	fs.DurationVar(&f.shutdownGrace, "shutdown-grace", 30*time.Second, "how long a stop (SIGTERM, SIGINT) lets work in hand finish")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.debugListen, "debug-listen", "", "serve Go's profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060 (empty: off)")
	bindEnv(fs)
}

// bindEnv gives every flag its SPLICE_* environment variable (--data-dir: SPLICE_DATA_DIR),
// used when the flag is not given, and says so in its usage.
func bindEnv(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		name := "SPLICE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		f.Usage += " [$" + name + "]"
		f.Annotations = map[string][]string{"env": {name}}
	})
}

// applyEnv sets the flags not given on the command line from their environment variables.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		names := f.Annotations["env"]
		if err != nil || f.Changed || len(names) == 0 {
			return
		}
		if v, ok := os.LookupEnv(names[0]); ok && v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("$%s: %w", names[0], e)
			}
		}
	})
	return err
}

func (f *serveFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: debug, info, warn or error", f.logLevel)
	}
	o := &slog.HandlerOptions{Level: level}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: text or json", f.logFormat)
}

func (f *serveFlags) options(log *slog.Logger) server.Options {
	o := server.Options{DataDir: f.dataDir, Listen: f.listen, BaseURL: f.baseURL, Environments: f.envs,
		OperatorTokenFile: f.operatorFile, AllowLoopback: f.allowLoopback, SandboxEngine: f.engine,
		ShutdownGrace: f.shutdownGrace, YieldAbove: f.yieldAbove, Logger: log}
	o.Limits.MemoryBytes = f.memoryMiB << 20
	o.MaxInstances = f.instances
	o.MaxWaiting = f.maxWaiting
	o.ValueLogBytes = f.valueLog
	if f.valueLog == 0 {
		o.ValueLogBytes = -1 // off; 0 in Options is the default
	}
	o.MinFreeDiskBytes = f.minFreeMiB << 20
	if f.minFreeMiB <= 0 {
		o.MinFreeDiskBytes = -1 // no check; 0 in Options is the default
	}
	o.Retention = f.retention
	o.PruneEvery = f.pruneEvery
	if f.retention <= 0 {
		o.Retention = -1 // keep everything; 0 in Options is the default
	}
	o.Limits.Timeout = f.callTimeout
	o.Engine.Workers = f.workers
	o.Engine.MaxPerConsumer = f.maxPerConsumer
	o.Engine.RatePerConsumer = f.ratePerConsumer
	o.Engine.ShutdownGrace = f.shutdownGrace
	o.Ingress.MaxBodyBytes = f.maxBody
	o.Ingress.MaxInFlight = f.maxInFlight
	o.Ingress.MaxConns = f.maxConns
	o.Ingress.ReadTimeout = f.readTimeout
	o.Ingress.SyncWait = f.syncWait
	return o
}

func serveCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve webhooks, the management API and the engines of every environment on one port",
		Long: `serve opens the data directory (one Badger database per environment under envs/), serves
/hooks/{env}/{automationId}, /v1/..., /healthz and /metrics on one port, and runs each
environment's engine. On first start it makes the master key and the operator token (0600 files
in the data directory) and prints the token once. SIGTERM or SIGINT stops it gracefully: no new
connections, requests in hand answered, work in hand finished or given back, databases closed.

Every flag can be given as an environment variable instead: SPLICE_ and its name in capitals,
dashes as underscores (--data-dir: SPLICE_DATA_DIR).

Memory: the garbage collector runs at GOGC=25 unless $GOGC is set (Go's default, 100, lets the
heap grow to twice what is live); $GOMEMLIMIT sets Go's soft memory limit, as for any Go program.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			log, err := f.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := serveDebug(cmd.Context(), f.debugListen, cmd.OutOrStdout()); err != nil {
				return err
			}
			return serve(cmd.Context(), f.options(log), cmd.OutOrStdout(), nil)
		},
	}
	f.register(cmd.Flags(), []string{"development"})
	return cmd
}

// serverGCPercent is the server's garbage collection target (Go's GOGC) when $GOGC is not set.
// Most of a busy server's heap is Badger's byte buffers (memtables, and the table builders it keeps
// for reuse), which hold no pointers and cost a collection little to mark, while Go's default of
// 100 lets the heap grow to twice what is live: e2e W1 (C guests), four runs of each in turns,
// peak RSS 396–451 MiB at 25 against 585–769 MiB, CPU per webhook within noise, the collector's
// share of CPU samples about 3 % against under 1 %.
const serverGCPercent = 25

// tuneGC sets the collector's target to serverGCPercent unless GOGC is set (lookup is
// os.LookupEnv), and reports whether it did.
func tuneGC(lookup func(string) (string, bool)) bool {
	if _, set := lookup("GOGC"); set {
		return false
	}
	debug.SetGCPercent(serverGCPercent)
	return true
}

// serve opens the server, prints where it is, calls ready (when set) once it listens, and
// serves until ctx ends.
func serve(ctx context.Context, o server.Options, out io.Writer, ready func(*server.Server, string) error) error {
	start := time.Now()
	tuneGC(os.LookupEnv)
	s, err := server.Open(ctx, o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		_ = s.Close(context.Background())
		return fmt.Errorf("listen %s: %w", o.Listen, err)
	}
	url := o.BaseURL
	if url == "" {
		url = "http://" + ln.Addr().String()
	}
	tok, created := s.OperatorToken()
	fmt.Fprintf(out, "splice: serving %s (data in %s), ready in %s\n", url, o.DataDir, time.Since(start).Round(time.Millisecond))
	if created {
		fmt.Fprintf(out, "splice: operator token (made now, kept in %s; shown once): %s\n", tokenFile(o), tok)
	} else {
		fmt.Fprintf(out, "splice: operator token in %s\n", tokenFile(o))
	}
	if ready != nil {
		if err := ready(s, url); err != nil {
			_ = s.Close(context.Background())
			ln.Close()
			return err
		}
	}
	err = s.Serve(ctx, ln)
	fmt.Fprintln(out, "splice: stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func tokenFile(o server.Options) string {
	if o.OperatorTokenFile != "" {
		return o.OperatorTokenFile
	}
	return o.DataDir + "/operator-token"
}
