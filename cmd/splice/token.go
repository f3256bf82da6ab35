package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

func tokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint consumer tokens (the JWTs consumer commands and the embedding SaaS use)",
	}
	cmd.AddCommand(mintCmd())
	return cmd
}

func mintCmd() *cobra.Command {
	var rf remoteFlags
	var o output
	var consumer, alg string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "mint --consumer C",
		Short: "Mint a consumer token for one environment (operator)",
		Long: "Asks the server to sign a JWT whose sub is the consumer, with the environment's secret.\n" +
			"Prints the token alone, so that it can be captured; --json prints it with its expiry.",
		Example: `  export SPLICE_TOKEN=$(splice token mint --consumer acme)
  splice token mint --consumer acme --ttl 24h --alg HS512 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < time.Second || ttl%time.Second != 0 {
				return fmt.Errorf("--ttl %v: want whole seconds, at least 1s", ttl)
			}
			c, err := rf.client(cmd)
			if err != nil {
				return err
			}
			req := map[string]any{"consumer": consumer, "ttlSeconds": int64(ttl / time.Second)}
			if alg != "" {
				req["alg"] = alg
			}
			b, err := c.post(cmd.Context(), c.path("tokens"), req)
			if err != nil {
				return err
			}
			return o.print(cmd, b, func(w io.Writer) error {
				var t struct {
					Token string `json:"token"`
				}
				if err := decodeAnswer(b, &t); err != nil {
					return err
				}
				_, err := fmt.Fprintln(w, t.Token)
				return err
			})
		},
	}
	rf.register(cmd, true)
	o.register(cmd)
	cmd.Flags().StringVar(&consumer, "consumer", "", "the consumer key: the token's sub (required)")
	cmd.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the token is valid (the server caps it, by default at 24h)")
	cmd.Flags().StringVar(&alg, "alg", "", "the signing algorithm: HS256 (the default) or HS512")
	_ = cmd.MarkFlagRequired("consumer")
	return cmd
}
