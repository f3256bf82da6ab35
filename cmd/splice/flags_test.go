package main

import (
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/splicehq/splice/host/server"
)

// TestValueLogThresholdFlag: --value-log-threshold defaults to the server's default, 0 turns
// the value log off (negative in server.Options, where 0 is the default), and
// $SPLICE_VALUE_LOG_THRESHOLD sets it.
func TestValueLogThresholdFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want int
	}{
		{nil, "", server.DefaultValueLogBytes},
		{[]string{"--value-log-threshold=0"}, "", -1},
		{[]string{"--value-log-threshold=2048"}, "", 2048},
		{nil, "1024", 1024},
	} {
		t.Setenv("SPLICE_VALUE_LOG_THRESHOLD", c.env)
		if got := parseServe(t, c.args).ValueLogBytes; got != c.want {
			t.Errorf("%v with $SPLICE_VALUE_LOG_THRESHOLD=%q: ValueLogBytes %d, want %d", c.args, c.env, got, c.want)
		}
	}
}

// TestRetentionFlag: --retention defaults to the server's 30 days, 0 keeps everything (negative
// in server.Options, where 0 is the default), and $SPLICE_RETENTION sets it.
func TestRetentionFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want time.Duration
	}{
		{nil, "", server.DefaultRetention},
		{[]string{"--retention=0"}, "", -1},
		{[]string{"--retention=168h"}, "", 168 * time.Hour},
		{nil, "48h", 48 * time.Hour},
	} {
		t.Setenv("SPLICE_RETENTION", c.env)
		if got := parseServe(t, c.args).Retention; got != c.want {
			t.Errorf("%v with $SPLICE_RETENTION=%q: Retention %s, want %s", c.args, c.env, got, c.want)
		}
	}
}

// parseServe parses serve's flags from args and the environment, as serve does, and returns the
// server options they make.
func parseServe(t *testing.T, args []string) server.Options {
	t.Helper()
	var f serveFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.register(fs, nil)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(fs); err != nil {
		t.Fatal(err)
	}
	return f.options(nil)
}
