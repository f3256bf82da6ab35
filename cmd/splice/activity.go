package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// activityEntry is one entry of the activity feed.
type activityEntry struct {
	Seq  uint64          `json:"seq"`
	Kind string          `json:"kind"`
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data"`
}

// line is the entry as one line: seq, time, kind and data (cut when long).
func (e activityEntry) line() string {
	s := fmt.Sprintf("%-6d %s  %-20s", e.Seq, when(e.At), e.Kind)
	if len(e.Data) > 0 {
		s += " " + compact(e.Data, 200)
	}
	return strings.TrimRight(s, " ")
}

func activityCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var p pageFlags
	var follow bool
	cmd := &cobra.Command{
		Use:   "activity",
		Short: "List the consumer's activity feed (runs, webhooks, connector calls), or follow it",
		Long: "Lists the consumer's activity, oldest first, from --cursor. With --follow it goes on printing\n" +
			"entries as they happen until interrupted; with --json each entry is one line of JSON.",
		Example: `  splice activity --limit 20
  splice activity --follow --json | jq .kind`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			if !follow {
				b, err := c.get(cmd.Context(), c.path("activity"), p.query())
				if err != nil {
					return err
				}
				return o.print(cmd, b, func(w io.Writer) error {
					var l listing[activityEntry]
					if err := decodeAnswer(b, &l); err != nil {
						return err
					}
					for _, e := range l.Items {
						fmt.Fprintln(w, e.line())
					}
					if l.NextCursor != "" {
						fmt.Fprintf(w, "(later entries: --cursor %s)\n", l.NextCursor)
					}
					return nil
				})
			}
			w := cmd.OutOrStdout()
			cursor := p.cursor
			err = c.follow(cmd.Context(), c.path("activity"), p.query(), func(ev stream) error {
				if ev.id != "" {
					cursor = ev.id
				}
				if o.json {
					_, err := fmt.Fprintf(w, "%s\n", compact(ev.data, len(ev.data)))
					return err
				}
				var e activityEntry
				if err := decodeAnswer(ev.data, &e); err != nil {
					return err
				}
				_, err := fmt.Fprintln(w, e.line())
				return err
			})
			switch {
			case errors.Is(err, context.Canceled) && cmd.Context().Err() != nil:
				return nil // interrupted: the way a follow ends
			case errors.Is(err, errStreamEnded) && cursor != "":
				return fmt.Errorf("%w (go on with --cursor %s)", err, cursor)
			}
			return err
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	p.register(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "go on printing entries as they happen, until interrupted")
	return cmd
}
