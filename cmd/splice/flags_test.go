package main

import (
	"testing"

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
		var f serveFlags
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		f.register(fs, nil)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if err := applyEnv(fs); err != nil {
			t.Fatal(err)
		}
		if got := f.options(nil).ValueLogBytes; got != c.want {
			t.Errorf("%v with $SPLICE_VALUE_LOG_THRESHOLD=%q: ValueLogBytes %d, want %d", c.args, c.env, got, c.want)
		}
	}
}
