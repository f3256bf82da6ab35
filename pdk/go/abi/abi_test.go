package abi_test

import (
	"fmt"
	"testing"

	"github.com/splicehq/splice/pdk/go/abi"
)

func TestLevelString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level abi.Level
		want  string
	}{
		{abi.LevelTrace, "trace"}, {abi.LevelDebug, "debug"}, {abi.LevelInfo, "info"},
		{abi.LevelWarn, "warn"}, {abi.LevelError, "error"}, {abi.Level(9), "level(9)"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			if got := tc.level.String(); got != tc.want {
				t.Errorf("Level(%d).String() = %q, want %q", tc.level, got, tc.want)
			}
		})
	}
}

// ExampleVarSet shows the native stand-ins: variables live in the process.
func ExampleVarSet() {
	abi.VarSet("count", []byte("1"))
	fmt.Printf("%s\n", abi.VarGet("count"))
	abi.VarSet("count", nil)
	fmt.Println(abi.VarGet("count") == nil)
	_, ok := abi.Config("greeting")
	fmt.Println(ok)
	// Output:
	// 1
	// true
	// false
}
