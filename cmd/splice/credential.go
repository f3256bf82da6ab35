package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func credentialCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credential",
		Short: "Manage a consumer's credentials (secrets are sent, never shown)",
	}
	cmd.AddCommand(createCredentialCmd(), listCredentialsCmd(), deleteCredentialCmd())
	return cmd
}

// credentialView is a credential as the API shows it: no secrets.
type credentialView struct {
	Key       string            `json:"credentialKey"`
	AppKey    string            `json:"appKey"`
	Fields    map[string]string `json:"fields"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

func createCredentialCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var app string
	var fields, secrets, secretFiles []string
	cmd := &cobra.Command{
		Use:   "create KEY --app APPKEY",
		Short: "Store a credential of the consumer for an app (replacing one of the same key)",
		Long: "Stores the credential KEY for the app: --field sets a non-secret field (shown by list),\n" +
			"--secret and --secret-file a secret one (encrypted at rest and never shown again; the broker\n" +
			"injects it into the connector's requests). --secret-file reads the value from a file (- for\n" +
			"stdin), without its trailing newline, so that it stays out of the shell's history.",
		Example: `  splice credential create shop --app http-probe --secret-file apiKey=./shop-key.txt
  splice credential create chat --app chat --field workspace=acme --secret token=xoxb-...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := keyValues("field", fields, false)
			if err != nil {
				return err
			}
			s, err := keyValues("secret", secrets, true)
			if err != nil {
				return err
			}
			files, err := keyValues("secret-file", secretFiles, false)
			if err != nil {
				return err
			}
			for k, path := range files {
				var b []byte
				if path == "-" {
					b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
				} else {
					b, err = os.ReadFile(path)
				}
				if err != nil {
					return fmt.Errorf("--secret-file %s: %w", k, err)
				}
				if s == nil {
					s = map[string]string{}
				}
				s[k] = strings.TrimRight(string(b), "\r\n")
			}
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.post(cmd.Context(), c.path("credentials"),
				map[string]any{"credentialKey": args[0], "appKey": app, "fields": f, "secrets": s})
			if err != nil {
				return err
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var cr credentialView
				if err := decodeAnswer(b, &cr); err != nil {
					return err
				}
				_, err := fmt.Fprintf(w, "credential %s for %s stored (%d fields, %d secrets)\n", cr.Key, cr.AppKey, len(cr.Fields), len(s))
				return err
			})
		},
	}
	rf.register(cmd, false)
	o.register(cmd)
	cmd.Flags().StringVar(&app, "app", "", "the app (connector appKey) the credential is for (required)")
	cmd.Flags().StringArrayVar(&fields, "field", nil, "a non-secret field, `key=value` (repeatable)")
	cmd.Flags().StringArrayVar(&secrets, "secret", nil, "a secret field, `key=value` (repeatable)")
	cmd.Flags().StringArrayVar(&secretFiles, "secret-file", nil, "a secret field read from a file, `key=PATH` (- for stdin; repeatable)")
	_ = cmd.MarkFlagRequired("app")
	return cmd
}

func listCredentialsCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var p pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the consumer's credentials (their non-secret fields only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			b, err := c.get(cmd.Context(), c.path("credentials"), p.query())
			if err != nil {
				return err
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var l listing[credentialView]
				if err := decodeAnswer(b, &l); err != nil {
					return err
				}
				rows := [][]string{{"KEY", "APP", "FIELDS", "UPDATED"}}
				for _, cr := range l.Items {
					var fs []string
					for _, k := range slices.Sorted(maps.Keys(cr.Fields)) {
						fs = append(fs, k+"="+cr.Fields[k])
					}
					rows = append(rows, []string{cr.Key, cr.AppKey, orDash(clip(strings.Join(fs, " "), 60)), when(cr.UpdatedAt)})
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

func deleteCredentialCmd() *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "delete KEY",
		Short: "Delete one of the consumer's credentials",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), request{method: http.MethodDelete, path: c.path("credentials", args[0])}); err != nil {
				return c.lookedFor(err, "credential %q", args[0])
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "credential %s deleted\n", args[0])
			return err
		},
	}
	rf.register(cmd, false)
	return cmd
}
