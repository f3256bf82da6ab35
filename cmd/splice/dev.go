package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/splicehq/splice/host/api/token"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/server"
)

// demoAutomation is the automation `splice dev` makes for the consumer "demo": a webhook whose
// order is summed up by a transform and answered at once (respond: sync).
const demoAutomation = `{"name": "demo: order summary", "respond": "sync",
 "trigger": {"appKey": "echo", "triggerKey": "received"},
 "steps": [{"id": "summary", "appKey": "json", "transformKey": "pick",
   "inputParams": {"value": "{{trigger.order}}", "paths": ["id", "customer.name", "total"]}}]}`

const demoOrder = `{"order": {"id": 1001, "customer": {"name": "Ann Lee"}, "total": 42.5, "lines": [{"sku": "tea", "qty": 2}]}}`

func devCmd() *cobra.Command {
	var f serveFlags
	var connectors string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Serve with development defaults: the development environment, the prebuilt connectors and a demo automation",
		Long: `dev is serve with what a developer wants on a laptop: the development environment, loopback
egress allowed (connectors may call local fakes), every connector module in --connectors
(connector-*.wasm, as make builds them) deployed and active, and a demo automation for the
consumer "demo". It prints the URL, the operator token, a consumer token for "demo" and a curl
that fires the demo automation.

Every flag can be given as an environment variable instead: SPLICE_ and its name in capitals,
dashes as underscores (--data-dir: SPLICE_DATA_DIR).`,
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
			o := f.options(log)
			o.AllowLoopback = true
			if !slices.Contains(o.Environments, "development") {
				o.Environments = append(o.Environments, "development")
			}
			out := cmd.OutOrStdout()
			return serve(cmd.Context(), o, out, func(s *server.Server, url string) error {
				return devSetup(cmd.Context(), s, url, connectors, out)
			})
		},
	}
	f.register(cmd.Flags(), []string{"development"})
	cmd.Flags().StringVar(&connectors, "connectors", ".build/wasm", "the directory whose connector-*.wasm modules are deployed to development [$SPLICE_CONNECTORS]")
	cmd.Flags().Lookup("connectors").Annotations = map[string][]string{"env": {"SPLICE_CONNECTORS"}}
	return cmd
}

// devSetup deploys the connectors, makes (or finds) the demo automation and prints how to use it.
func devSetup(ctx context.Context, s *server.Server, url, dir string, out io.Writer) error {
	env, ok := s.Environment("development")
	if !ok {
		return fmt.Errorf("dev: no development environment")
	}
	mods, _ := filepath.Glob(filepath.Join(dir, "connector-*.wasm"))
	sort.Strings(mods)
	if len(mods) == 0 {
		return fmt.Errorf("dev: no connector-*.wasm in %s (run make connectors, or give --connectors)", dir)
	}
	var deployed []string
	for _, m := range mods {
		wasm, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		d, err := env.Deploy(ctx, wasm, true)
		if err != nil {
			return fmt.Errorf("dev: deploy %s: %w", m, err)
		}
		deployed = append(deployed, d.AppKey+"@"+d.Version)
	}
	fmt.Fprintf(out, "splice: development has %s\n", strings.Join(deployed, ", "))

	const consumer = "demo"
	var id string
	list, _, err := env.Automations.List(ctx, consumer, ledger.Page{Limit: ledger.MaxPageSize})
	if err != nil {
		return err
	}
	for _, a := range list {
		if a.Program.Automation.Name == "demo: order summary" {
			id = a.ID
		}
	}
	if id == "" {
		a, err := env.Automations.Create(ctx, consumer, []byte(demoAutomation), "")
		if err != nil {
			return fmt.Errorf("dev: demo automation: %w", err)
		}
		id = a.ID
	}
	tok, err := token.Mint(env.Secret, consumer, 24*time.Hour, time.Now(), "")
	if err != nil {
		return err
	}

	fmt.Fprintf(out, `splice: consumer token for "demo" (24 h): %s

Fire the demo automation (it answers with its run's output):

  curl -s -X POST %s/hooks/development/%s -H 'Content-Type: application/json' -d '%s'

Then list the runs:

  curl -s %s/v1/envs/development/runs -H 'Authorization: Bearer %s'

`, tok, url, id, demoOrder, url, tok)
	return nil
}
