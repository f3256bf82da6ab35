package pdk

import "github.com/splicehq/splice/pdk/go/abi"

// Level is a log level of Log and Context.Log; see abi.Level.
type Level = abi.Level

// The log levels, from the most verbose to the least.
const (
	LevelTrace = abi.LevelTrace
	LevelDebug = abi.LevelDebug
	LevelInfo  = abi.LevelInfo
	LevelWarn  = abi.LevelWarn
	LevelError = abi.LevelError
)

// Input returns the current call's input bytes, a fresh slice the caller
// owns. It uses Splice's splice_input_read and falls back to Extism's
// input_load_u64/input_load_u8 on hosts that answer -1 (abi.Input).
func Input() []byte { return abi.Input() }

// Output makes b the current call's output. It uses Splice's
// splice_output_write and falls back to an Extism block and output_set
// (abi.Output).
func Output(b []byte) { abi.Output(b) }

// SetError makes msg the current call's error message; the export must then
// return a non-zero value. It uses Splice's splice_error_write and falls back
// to an Extism block and error_set (abi.SetError).
func SetError(msg string) { abi.SetError(msg) }

// Config returns the value of a key of the connector's configuration and
// whether it is set, through Extism's config_get (abi.Config).
func Config(key string) (string, bool) { return abi.Config(key) }

// Log sends msg to the host's log at level through Extism's log_*; below the
// host's log level it does nothing (abi.Log).
func Log(level Level, msg string) { abi.Log(level, msg) }

// VarGet returns the per-instance variable name, or nil when it is unset,
// through Extism's var_get (abi.VarGet). Variables live as long as the
// instance, which the host may discard at any time: they are a cache, not
// storage.
func VarGet(name string) []byte { return abi.VarGet(name) }

// VarSet stores value under the per-instance variable name through Extism's
// var_set; a nil or empty value deletes it (abi.VarSet).
func VarSet(name string, value []byte) { abi.VarSet(name, value) }
