// Command splice runs Splice: the integration runtime whose connectors are WebAssembly modules.
//
// Commands (each documented in its --help and in README.md):
//
//	splice serve | dev                                the server, and the server with development defaults
//	splice connector describe | call                  a connector module, locally
//	splice connector push | list | show | versions | activate | promote   (operator)
//	splice token mint                                 a consumer JWT (operator)
//	splice credential create | list | delete          (consumer)
//	splice automation create | list | show | update | enable | disable | delete   (consumer)
//	splice run list | show | replay                   (consumer)
//	splice activity [--follow]                        (consumer)
//
// Exit status: 0 on success, 1 for usage, I/O and validation errors, 2 when a call into the
// connector failed (a limit breach or a guest error; the error kind is printed on stderr).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/splicehq/splice/host/sandbox"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process's exit status.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "splice",
		Short:         "Splice runs integration automations whose connectors are WebAssembly modules",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(connectorCmd(), serveCmd(), devCmd(), tokenCmd(), credentialCmd(), automationCmd(), runCmd(), activityCmd())
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var se *sandbox.Error
	if errors.As(err, &se) {
		fmt.Fprintf(stderr, "error: %s: %s\n", se.Kind, se.Message)
		if se.Kind == sandbox.KindTrap && se.Err != nil {
			// wazero's message goes on with the wasm stack trace: show it to the connector's author.
			if _, trace, ok := strings.Cut(se.Err.Error(), "\n"); ok {
				fmt.Fprintf(stderr, "%s\n", trace)
			}
		}
		if se.Kind == sandbox.KindInvalidModule {
			return 1
		}
		return 2
	}
	fmt.Fprintf(stderr, "error: %v\n", err)
	return 1
}
