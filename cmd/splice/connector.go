package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/broker"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/sandbox"
)

// runtimeFlags are the flags shared by the connector commands that run a module.
type runtimeFlags struct {
	engine   string
	memory   int64
	timeout  time.Duration
	cacheDir string
	config   []string
}

func (f *runtimeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.engine, "engine", sandbox.EngineSplice, "engine that runs the module: splice (Splice's own) or extism (the reference Extism Go SDK)")
	cmd.Flags().Int64Var(&f.memory, "memory", sandbox.DefaultMemoryBytes>>20, "linear memory limit in MiB")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "deadline of the call (default 2s for describe and transform, 30s otherwise)")
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", defaultCacheDir(), "directory for compiled code, so later runs start fast (empty: no cache)")
	cmd.Flags().StringArrayVar(&f.config, "config", nil, "connector configuration `key=value`, read with config_get (repeatable)")
}

func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "splice", "wasm")
	}
	return ""
}

func (f *runtimeFlags) limits() (sandbox.Limits, error) {
	if f.memory <= 0 || f.memory > 4096 {
		return sandbox.Limits{}, fmt.Errorf("--memory %d: want 1 to 4096 MiB", f.memory)
	}
	if f.timeout < 0 {
		return sandbox.Limits{}, fmt.Errorf("--timeout %v: want a positive duration", f.timeout)
	}
	return sandbox.Limits{MemoryBytes: f.memory << 20, Timeout: f.timeout}, nil
}

func (f *runtimeFlags) configMap() (map[string]string, error) {
	m := make(map[string]string, len(f.config))
	for _, kv := range f.config {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--config %q: want key=value", kv)
		}
		m[k] = v
	}
	return m, nil
}

// session is what a command that runs a module needs: the module's bytes, the limits and config
// from the flags, and a runtime, which the caller closes.
type session struct {
	rt   *sandbox.Runtime
	wasm []byte
	lim  sandbox.Limits
	cfg  map[string]string
}

func (f *runtimeFlags) open(cmd *cobra.Command, file string) (*session, error) {
	wasm, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	lim, err := f.limits()
	if err != nil {
		return nil, err
	}
	cfg, err := f.configMap()
	if err != nil {
		return nil, err
	}
	rt, err := sandbox.New(cmd.Context(), sandbox.Options{Engine: f.engine, CacheDir: f.cacheDir, MaxInstances: 4})
	if err != nil {
		return nil, err
	}
	return &session{rt: rt, wasm: wasm, lim: lim, cfg: cfg}, nil
}

func connectorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connector",
		Short: "Inspect and run connector modules, and manage the connectors a server runs",
	}
	cmd.AddCommand(describeCmd(), callCmd(), pushCmd(), listConnectorsCmd(), showConnectorCmd(), versionsCmd(),
		activateCmd(), promoteCmd())
	return cmd
}

func describeCmd() *cobra.Command {
	var f runtimeFlags
	cmd := &cobra.Command{
		Use:   "describe FILE.wasm",
		Short: "Print a connector's validated manifest",
		Long: "Loads the module, calls its describe export and validates the manifest against\n" +
			"schemas/connector-manifest.schema.json. Prints the manifest as indented JSON.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.open(cmd, args[0])
			if err != nil {
				return err
			}
			defer s.rt.Close(cmd.Context())
			c, err := connector.Load(cmd.Context(), s.rt, s.wasm, connector.Options{Policy: s.lim, Config: s.cfg})
			if err != nil {
				return err
			}
			out, err := json.MarshalIndent(c.Manifest(), "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return err
		},
	}
	f.register(cmd)
	return cmd
}

// httpFlags configure the broker that serves a called module's outbound HTTP.
type httpFlags struct {
	allowLoopback bool
	allowHTTP     bool
	secrets       []string
	exchanges     bool
}

func (h *httpFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&h.allowLoopback, "allow-loopback", false, "let the connector's requests reach 127.0.0.0/8 and ::1 on any port (tests against local fakes)")
	cmd.Flags().BoolVar(&h.allowHTTP, "allow-http", false, "allow http URLs besides https")
	cmd.Flags().StringArrayVar(&h.secrets, "secret", nil, "a secret field of the call's credential, `key=value`, injected by the broker as the manifest's auth says (repeatable)")
	cmd.Flags().BoolVar(&h.exchanges, "exchanges", false, "print the recorded HTTP exchanges (secrets masked) on stderr as JSON")
}

// cliCredentials is the credential of a CLI call: the --secret flags, refreshed in memory.
type cliCredentials struct {
	mu      sync.Mutex
	secrets map[string]string
}

func (c *cliCredentials) Secrets(context.Context, string, string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.secrets), nil
}

func (c *cliCredentials) SwapSecrets(_ context.Context, _, _ string, old, next map[string]string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !maps.Equal(c.secrets, old) {
		return false, nil
	}
	c.secrets = maps.Clone(next)
	return true, nil
}

// session returns a broker session for a call of the connector whose manifest is m.
func (h *httpFlags) session(m *abi.Manifest) (*broker.Broker, *broker.Session, error) {
	creds := &cliCredentials{secrets: map[string]string{}}
	for _, kv := range h.secrets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("--secret %q: want key=value", kv)
		}
		creds.secrets[k] = v
	}
	b, err := broker.New(broker.Options{Env: "cli", AllowHTTP: h.allowHTTP, AllowLoopback: h.allowLoopback, AnyPort: h.allowLoopback, Credentials: creds})
	if err != nil {
		return nil, nil, err
	}
	o := broker.SessionOptions{Consumer: "cli", Manifest: m}
	if len(creds.secrets) > 0 {
		o.Credential = "cli"
	}
	return b, b.Session(o), nil
}

func callCmd() *cobra.Command {
	var f runtimeFlags
	var h httpFlags
	var input string
	var raw, logs bool
	cmd := &cobra.Command{
		Use:   "call FILE.wasm EXPORT",
		Short: "Call one export of a module and print its output",
		Long: "Calls EXPORT with the input (JSON, or @FILE to read it from a file, or @- for stdin) and\n" +
			"prints the output. On failure prints the error kind and message on stderr and exits 2.\n" +
			"A module that describes itself makes its outbound HTTP through the host's broker, under its\n" +
			"manifest's hosts and auth: --secret sets the credential's secret fields, --exchanges prints\n" +
			"what was sent and received (secrets masked).",
		Example: `  splice connector call json.wasm transform --input '{"key":"pick","input":{"value":{"a":1,"b":2},"paths":["a"]}}'
  splice connector call conformance.wasm config --config greeting='"hi"'
  splice connector call probe.wasm action --allow-loopback --allow-http --secret apiKey=sk_test --exchanges \
      --input '{"key":"fetch","params":{"url":"http://127.0.0.1:8080/x","auth":true}}'`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := readInput(input)
			if err != nil {
				return err
			}
			if !raw && !json.Valid(in) {
				return fmt.Errorf("--input is not JSON (use --raw to send bytes as they are)")
			}
			s, err := f.open(cmd, args[0])
			if err != nil {
				return err
			}
			defer s.rt.Close(cmd.Context())
			m, err := s.rt.Compile(cmd.Context(), s.wasm, sandbox.ModuleOptions{Name: filepath.Base(args[0]), Limits: s.lim, Config: s.cfg})
			if err != nil {
				return err
			}
			// A module that describes itself gets a broker for its outbound HTTP, under its manifest.
			var sess *broker.Session
			if c, err := connector.Load(cmd.Context(), s.rt, s.wasm, connector.Options{Policy: s.lim, Config: s.cfg}); err == nil {
				defer c.Close(cmd.Context())
				var b *broker.Broker
				if b, sess, err = h.session(c.Manifest()); err != nil {
					return err
				}
				defer b.Close()
			}
			co := sandbox.CallOptions{Consumer: "cli", Export: args[1], Input: in, Raw: raw}
			if sess != nil {
				co.HTTP = sess
			}
			res, err := m.Call(cmd.Context(), co)
			if sess != nil && h.exchanges {
				ex, _ := json.MarshalIndent(sess.Exchanges(), "", "  ")
				fmt.Fprintf(cmd.ErrOrStderr(), "%s\n", ex)
			}
			if err != nil {
				return err
			}
			if logs {
				for _, l := range res.Logs {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", l.Level, strings.TrimRight(l.Message, "\n"))
				}
			}
			out := res.Output
			if !raw {
				var buf bytes.Buffer
				if json.Indent(&buf, out, "", "  ") == nil {
					out = buf.Bytes()
				}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return err
		},
	}
	f.register(cmd)
	h.register(cmd)
	cmd.Flags().StringVar(&input, "input", "{}", "input document: JSON text, @FILE, or @- for stdin")
	cmd.Flags().BoolVar(&raw, "raw", false, "send the input and print the output as bytes, without JSON checks")
	cmd.Flags().BoolVar(&logs, "logs", false, "print the call's log lines on stderr")
	return cmd
}

func readInput(s string) ([]byte, error) {
	switch {
	case s == "@-":
		return readAll(os.Stdin)
	case strings.HasPrefix(s, "@"):
		return os.ReadFile(s[1:])
	}
	return []byte(s), nil
}

func readAll(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(f)
	return buf.Bytes(), err
}

// The commands below manage the connectors of a running server, over its API (operator routes).

// deploymentView is a connector version as the API shows it.
type deploymentView struct {
	AppKey     string          `json:"appKey"`
	Version    string          `json:"version"`
	Module     string          `json:"module"`
	Size       int             `json:"size"`
	Active     bool            `json:"active"`
	DeployedAt time.Time       `json:"deployedAt"`
	Manifest   json.RawMessage `json:"manifest"`
}

func (d deploymentView) state() string {
	if d.Active {
		return "active"
	}
	return "not active"
}

func pushCmd() *cobra.Command {
	rf := remoteFlags{timeout: compileTimeout}
	var o output
	var activate bool
	cmd := &cobra.Command{
		Use:   "push FILE.wasm",
		Short: "Deploy a connector module to an environment of a server",
		Long: "Uploads the module; the server loads it, validates its manifest and stores it as a\n" +
			"version of its app, the active one unless --activate=false. Pushing the same module again\n" +
			"is harmless; a version, once pushed, keeps its module.",
		Example: `  splice connector push .build/wasm/connector-json.wasm
  splice connector push json.wasm --env production --activate=false`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			q := url.Values{}
			if !activate {
				q.Set("activate", "false")
			}
			b, err := c.do(cmd.Context(), request{method: http.MethodPost, path: c.path("connectors"), query: q,
				contentType: "application/wasm", body: wasm})
			if err != nil {
				return err
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var d deploymentView
				if err := decodeAnswer(b, &d); err != nil {
					return err
				}
				_, err := fmt.Fprintf(w, "%s@%s deployed to %s, %s (module %s, %d bytes)\n", d.AppKey, d.Version, c.env, d.state(), d.Module, d.Size)
				return err
			})
		},
	}
	rf.register(cmd, true)
	o.register(cmd)
	cmd.Flags().BoolVar(&activate, "activate", true, "make the pushed version its app's active one")
	return cmd
}

func listConnectorsCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var p pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the connectors (apps) deployed to an environment, with their active versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.get(cmd.Context(), c.path("connectors"), p.query())
			if err != nil {
				return err
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var l listing[struct {
					AppKey    string    `json:"appKey"`
					Active    string    `json:"active"`
					UpdatedAt time.Time `json:"updatedAt"`
				}]
				if err := decodeAnswer(b, &l); err != nil {
					return err
				}
				rows := [][]string{{"APP", "ACTIVE", "UPDATED"}}
				for _, a := range l.Items {
					rows = append(rows, []string{a.AppKey, orDash(a.Active), when(a.UpdatedAt)})
				}
				return table(w, l.NextCursor, rows...)
			})
		},
	}
	rf.register(cmd, true)
	o.register(cmd)
	p.register(cmd)
	return cmd
}

func showConnectorCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	cmd := &cobra.Command{
		Use:   "show APPKEY",
		Short: "Show a connector's active version and what its manifest offers",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.get(cmd.Context(), c.path("connectors", args[0]), nil)
			if err != nil {
				return c.lookedFor(err, "connector %q", args[0])
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var app struct {
					AppKey     string          `json:"appKey"`
					Active     string          `json:"active"`
					UpdatedAt  time.Time       `json:"updatedAt"`
					Deployment *deploymentView `json:"deployment"`
				}
				if err := decodeAnswer(b, &app); err != nil {
					return err
				}
				d := app.Deployment
				if d == nil {
					_, err := fmt.Fprintf(w, "%s: no active version (splice connector versions %s lists them)\n", app.AppKey, app.AppKey)
					return err
				}
				var m abi.Manifest
				if err := decodeAnswer(d.Manifest, &m); err != nil {
					return err
				}
				keys := func(n int, key func(int) string) string {
					var out []string
					for i := range n {
						out = append(out, key(i))
					}
					return orDash(strings.Join(out, ", "))
				}
				return table(w, "",
					[]string{"app", fmt.Sprintf("%s (%s)", app.AppKey, m.Name)},
					[]string{"active", d.Version},
					[]string{"deployed", when(d.DeployedAt)},
					[]string{"module", fmt.Sprintf("%s (%d bytes)", d.Module, d.Size)},
					[]string{"auth", string(m.Auth.Type)},
					[]string{"hosts", orDash(strings.Join(m.Hosts, ", "))},
					[]string{"triggers", keys(len(m.Triggers), func(i int) string { return fmt.Sprintf("%s (%s)", m.Triggers[i].Key, m.Triggers[i].Kind) })},
					[]string{"actions", keys(len(m.Actions), func(i int) string { return m.Actions[i].Key })},
					[]string{"transforms", keys(len(m.Transforms), func(i int) string { return m.Transforms[i].Key })},
				)
			})
		},
	}
	rf.register(cmd, true)
	o.register(cmd)
	return cmd
}

func versionsCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var p pageFlags
	cmd := &cobra.Command{
		Use:   "versions APPKEY",
		Short: "List the versions of a connector deployed to an environment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.get(cmd.Context(), c.path("connectors", args[0], "versions"), p.query())
			if err != nil {
				return c.lookedFor(err, "connector %q", args[0])
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var l listing[deploymentView]
				if err := decodeAnswer(b, &l); err != nil {
					return err
				}
				rows := [][]string{{"VERSION", "ACTIVE", "DEPLOYED", "SIZE", "MODULE"}}
				for _, d := range l.Items {
					active := ""
					if d.Active {
						active = "*"
					}
					rows = append(rows, []string{d.Version, active, when(d.DeployedAt), fmt.Sprint(d.Size), d.Module})
				}
				return table(w, l.NextCursor, rows...)
			})
		},
	}
	rf.register(cmd, true)
	o.register(cmd)
	p.register(cmd)
	return cmd
}

func activateCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	cmd := &cobra.Command{
		Use:   "activate APPKEY VERSION",
		Short: "Make a deployed version its connector's active one (new runs use it)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.post(cmd.Context(), c.path("connectors", args[0], "activate"), map[string]string{"version": args[1]})
			if err != nil {
				return c.lookedFor(err, "connector %s@%s", args[0], args[1])
			}
			return o.print(cmd, b, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s@%s is active in %s\n", args[0], args[1], c.env)
				return err
			})
		},
	}
	rf.register(cmd, true)
	o.register(cmd)
	return cmd
}

func promoteCmd() *cobra.Command {
	rf := remoteFlags{timeout: compileTimeout}
	var o output
	var from, version string
	var activate bool
	cmd := &cobra.Command{
		Use:   "promote APPKEY --from ENV",
		Short: "Copy a connector version from another environment into this one (--env)",
		Long: "Deploys the version (default: the active one of --from) of APPKEY in environment --from to\n" +
			"environment --env, the active one there unless --activate=false.",
		Example: `  splice connector promote json --from development --env production`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			req := map[string]any{"from": from, "appKey": args[0], "activate": activate}
			if version != "" {
				req["version"] = version
			}
			b, err := c.post(cmd.Context(), c.path("promote"), req)
			if err != nil {
				var ae *apiError
				if errors.As(err, &ae) && ae.Code == "not_found" {
					v := version
					if v == "" {
						v = "(active)"
					}
					ae.hint = fmt.Sprintf("looked for connector %s@%s in environment %s", args[0], v, from)
				}
				return err
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var d deploymentView
				if err := decodeAnswer(b, &d); err != nil {
					return err
				}
				_, err := fmt.Fprintf(w, "%s@%s promoted from %s to %s, %s\n", d.AppKey, d.Version, from, c.env, d.state())
				return err
			})
		},
	}
	rf.register(cmd, true)
	o.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "the environment to copy from (required)")
	cmd.Flags().StringVar(&version, "version", "", "the version to copy (default: the active one of --from)")
	cmd.Flags().BoolVar(&activate, "activate", true, "make the promoted version the active one")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

// orDash returns s, or "-" for an empty s.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
