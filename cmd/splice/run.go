package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

func runCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Inspect and replay a consumer's runs",
	}
	cmd.AddCommand(listRunsCmd(), showRunCmd(), replayRunCmd())
	return cmd
}

// runView is a run as the run list shows it.
type runView struct {
	ID         string    `json:"id"`
	Automation string    `json:"automation"`
	Event      string    `json:"event"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func listRunsCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var p pageFlags
	var automation, status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the consumer's runs, oldest first",
		Example: `  splice run list --automation 01J... --status failed
  splice run list --json --limit 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			q := p.query()
			if automation != "" {
				q.Set("automation", automation)
			}
			if status != "" {
				q.Set("status", status)
			}
			b, err := c.get(cmd.Context(), c.path("runs"), q)
			if err != nil {
				return err
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var l listing[runView]
				if err := decodeAnswer(b, &l); err != nil {
					return err
				}
				rows := [][]string{{"ID", "STATUS", "AUTOMATION", "CREATED", "UPDATED"}}
				for _, r := range l.Items {
					rows = append(rows, []string{r.ID, r.Status, r.Automation, when(r.CreatedAt), when(r.UpdatedAt)})
				}
				return table(w, l.NextCursor, rows...)
			})
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	p.register(cmd)
	cmd.Flags().StringVar(&automation, "automation", "", "only the runs of this automation (id)")
	cmd.Flags().StringVar(&status, "status", "", "only the runs in this status: queued, running, succeeded, filtered, failed, retrying or dead")
	return cmd
}

// runDocument is the run record as run show reads it.
type runDocument struct {
	ID             string          `json:"id"`
	Automation     string          `json:"automation"`
	AutomationName string          `json:"automationName"`
	Event          string          `json:"event"`
	Status         string          `json:"status"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
	Output         json.RawMessage `json:"output"`
	Error          *stepError      `json:"error"`
	FailedStep     string          `json:"failedStep"`
	Steps          []struct {
		ID         string     `json:"id"`
		Kind       string     `json:"kind"`
		App        string     `json:"app"`
		Key        string     `json:"key"`
		Status     string     `json:"status"`
		Attempts   int        `json:"attempts"`
		DurationMS float64    `json:"durationMs"`
		Error      *stepError `json:"error"`
	} `json:"steps"`
}

type stepError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func (e *stepError) String() string {
	if e == nil {
		return ""
	}
	return e.Kind + ": " + e.Message
}

// duration formats milliseconds for people: 850µs, 12.3ms, 1.25s.
func duration(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

func showRunCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a run: its status and each step's (--json: the full record, with inputs, outputs, logs and HTTP exchanges)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.get(cmd.Context(), c.path("runs", args[0]), nil)
			if err != nil {
				return c.lookedFor(err, "run %q", args[0])
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var r runDocument
				if err := decodeAnswer(b, &r); err != nil {
					return err
				}
				name := ""
				if r.AutomationName != "" {
					name = fmt.Sprintf(" (%s)", r.AutomationName)
				}
				fmt.Fprintf(w, "run %s: %s\nautomation %s%s, event %s\ncreated %s, updated %s\n",
					r.ID, r.Status, r.Automation, name, r.Event, when(r.CreatedAt), when(r.UpdatedAt))
				if r.Error != nil {
					at := ""
					if r.FailedStep != "" {
						at = " at step " + r.FailedStep
					}
					fmt.Fprintf(w, "error%s: %s\n", at, r.Error)
				}
				if len(r.Steps) > 0 {
					fmt.Fprintln(w)
					rows := [][]string{{"STEP", "KIND", "CALLS", "STATUS", "DURATION", "ATTEMPTS", "ERROR"}}
					for _, s := range r.Steps {
						calls := "-"
						if s.App != "" {
							calls = s.App + "/" + s.Key
						}
						rows = append(rows, []string{s.ID, s.Kind, calls, s.Status, duration(s.DurationMS), fmt.Sprint(s.Attempts), clip(s.Error.String(), 120)})
					}
					if err := table(w, "", rows...); err != nil {
						return err
					}
				}
				if len(r.Output) > 0 {
					_, err := fmt.Fprintf(w, "\noutput: %s\n", compact(r.Output, 500))
					return err
				}
				return nil
			})
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	return cmd
}

func replayRunCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	cmd := &cobra.Command{
		Use:   "replay ID",
		Short: "Run a failed or dead run again from the step that failed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.post(cmd.Context(), c.path("runs", args[0], "replay"), nil)
			if err != nil {
				// The API answers not_found also for a run that did not fail.
				return c.lookedFor(err, "a failed or dead run %q", args[0])
			}
			return o.print(cmd, b, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "run %s replaying (splice run show %s follows it)\n", args[0], args[0])
				return err
			})
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	return cmd
}
