package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

func automationCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "automation",
		Short: "Manage a consumer's automations",
	}
	cmd.AddCommand(createAutomationCmd(), listAutomationsCmd(), showAutomationCmd(), updateAutomationCmd(),
		enableCmd(true), enableCmd(false), deleteAutomationCmd())
	return cmd
}

// automationView is an automation as the API shows it.
type automationView struct {
	ID            string          `json:"id"`
	Version       uint64          `json:"version"`
	Enabled       bool            `json:"enabled"`
	Automation    json.RawMessage `json:"automation"`
	WebhookURL    string          `json:"webhookUrl"`
	CreatedAt     time.Time       `json:"createdAt"`
	UpdatedAt     time.Time       `json:"updatedAt"`
	SigningSecret string          `json:"signingSecret"`
}

// automationDoc is what the human forms show of an automation's document.
type automationDoc struct {
	Name    string `json:"name"`
	Respond string `json:"respond"`
	Signing string `json:"signing"`
	Trigger struct {
		AppKey        string `json:"appKey"`
		TriggerKey    string `json:"triggerKey"`
		CredentialKey string `json:"credentialKey"`
	} `json:"trigger"`
	Steps []stepDoc `json:"steps"`
}

type stepDoc struct {
	ID            string          `json:"id"`
	AppKey        string          `json:"appKey"`
	ActionKey     string          `json:"actionKey"`
	TransformKey  string          `json:"transformKey"`
	CredentialKey string          `json:"credentialKey"`
	Filter        string          `json:"filter"`
	ForEach       *struct{}       `json:"forEach"`
	Call          json.RawMessage `json:"call"`
	Respond       json.RawMessage `json:"respond"`
}

// what says what a step does: "json/pick", "filter", "forEach", ...
func (s stepDoc) what() string {
	switch {
	case s.ActionKey != "":
		return s.AppKey + "/" + s.ActionKey
	case s.TransformKey != "":
		return s.AppKey + "/" + s.TransformKey
	case s.Filter != "":
		return "filter"
	case s.ForEach != nil:
		return "forEach"
	case s.Call != nil:
		return "call"
	case s.Respond != nil:
		return "respond"
	}
	return "-"
}

func (v automationView) doc() automationDoc {
	var d automationDoc
	_ = json.Unmarshal(v.Automation, &d)
	return d
}

func (v automationView) state() string {
	if v.Enabled {
		return "enabled"
	}
	return "disabled"
}

// printSaved writes what create and update print: the id, the webhook URL and the signing
// secret, the one time the server shows it.
func printSaved(w io.Writer, v automationView, verb string) error {
	s := fmt.Sprintf("automation %s %s (version %d, %s)\nwebhook URL: %s\n", v.ID, verb, v.Version, v.state(), v.WebhookURL)
	if v.SigningSecret != "" {
		s += fmt.Sprintf("signing secret (shown once; keep it): %s\n", v.SigningSecret)
	}
	_, err := io.WriteString(w, s)
	return err
}

func createAutomationCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var file string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create an automation from its JSON document",
		Long: "Creates an automation of the consumer from the document in FILE (- for stdin; see\n" +
			"schemas/automation.schema.json). Prints its id and webhook URL and, for an automation with\n" +
			`"signing": "standard-webhooks", its signing secret: the only time it is shown.`,
		Example: `  splice automation create -f orders.json
  cat orders.json | splice automation create -f - --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := readDocument(cmd, file)
			if err != nil {
				return err
			}
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.do(cmd.Context(), request{method: http.MethodPost, path: c.path("automations"), contentType: "application/json", body: doc})
			if err != nil {
				return err
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var v automationView
				if err := decodeAnswer(b, &v); err != nil {
					return err
				}
				return printSaved(w, v, "created")
			})
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "the automation's JSON document, or - for stdin (required)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func listAutomationsCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var p pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the consumer's automations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.get(cmd.Context(), c.path("automations"), p.query())
			if err != nil {
				return err
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var l listing[automationView]
				if err := decodeAnswer(b, &l); err != nil {
					return err
				}
				rows := [][]string{{"ID", "NAME", "STATE", "VERSION", "TRIGGER", "STEPS", "UPDATED"}}
				for _, v := range l.Items {
					d := v.doc()
					rows = append(rows, []string{v.ID, clip(d.Name, 40), v.state(), fmt.Sprint(v.Version),
						d.Trigger.AppKey + "/" + d.Trigger.TriggerKey, fmt.Sprint(len(d.Steps)), when(v.UpdatedAt)})
				}
				return table(w, l.NextCursor, rows...)
			})
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	p.register(cmd)
	return cmd
}

func showAutomationCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show an automation: its state, webhook URL, trigger and steps (--json: its document too)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.get(cmd.Context(), c.path("automations", args[0]), nil)
			if err != nil {
				return c.lookedFor(err, "automation %q", args[0])
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var v automationView
				if err := decodeAnswer(b, &v); err != nil {
					return err
				}
				d := v.doc()
				trigger := d.Trigger.AppKey + "/" + d.Trigger.TriggerKey
				if d.Trigger.CredentialKey != "" {
					trigger += " (credential " + d.Trigger.CredentialKey + ")"
				}
				rows := [][]string{
					{"id", v.ID},
					{"name", d.Name},
					{"state", v.state()},
					{"version", fmt.Sprint(v.Version)},
					{"webhook URL", v.WebhookURL},
					{"respond", orDash(d.Respond)},
					{"signing", orDash(d.Signing)},
					{"created", when(v.CreatedAt)},
					{"updated", when(v.UpdatedAt)},
					{"trigger", trigger},
				}
				for i, s := range d.Steps {
					what := s.what()
					if s.CredentialKey != "" {
						what += " (credential " + s.CredentialKey + ")"
					}
					rows = append(rows, []string{fmt.Sprintf("step %d", i+1), s.ID + ": " + what})
				}
				return table(w, "", rows...)
			})
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	return cmd
}

func updateAutomationCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var file string
	var version uint64
	cmd := &cobra.Command{
		Use:   "update ID -f FILE",
		Short: "Replace an automation's document",
		Long: "Replaces the document of automation ID with the one in FILE (- for stdin). With --version N\n" +
			"the server refuses (conflict) when the automation is no longer at version N, so that an\n" +
			"edit made meanwhile is not overwritten.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := readDocument(cmd, file)
			if err != nil {
				return err
			}
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			if version > 0 {
				q.Set("version", fmt.Sprint(version))
			}
			b, err := c.do(cmd.Context(), request{method: http.MethodPut, path: c.path("automations", args[0]), query: q,
				contentType: "application/json", body: doc})
			if err != nil {
				return c.lookedFor(err, "automation %q", args[0])
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var v automationView
				if err := decodeAnswer(b, &v); err != nil {
					return err
				}
				return printSaved(w, v, "updated")
			})
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "the automation's new JSON document, or - for stdin (required)")
	cmd.Flags().Uint64Var(&version, "version", 0, "the version being replaced; refused when the automation has moved on")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// enableCmd is automation enable (on) or disable.
func enableCmd(on bool) *cobra.Command {
	var rf remoteFlags
	var o output
	verb, short := "enable", "Enable an automation: its trigger starts runs again"
	if !on {
		verb, short = "disable", "Disable an automation: its webhooks are refused (410) and its trigger starts no runs"
	}
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.post(cmd.Context(), c.path("automations", args[0], verb), nil)
			if err != nil {
				return c.lookedFor(err, "automation %q", args[0])
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var v automationView
				if err := decodeAnswer(b, &v); err != nil {
					return err
				}
				_, err := fmt.Fprintf(w, "automation %s %s\n", v.ID, v.state())
				return err
			})
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	return cmd
}

func deleteAutomationCmd() *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an automation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), request{method: http.MethodDelete, path: c.path("automations", args[0])}); err != nil {
				return c.lookedFor(err, "automation %q", args[0])
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "automation %s deleted\n", args[0])
			return err
		},
	}
	rf.register(cmd, false)
	return cmd
}
