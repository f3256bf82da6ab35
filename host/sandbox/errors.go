package sandbox

import (
	"errors"
	"fmt"
)

// Kind names the way a call failed. Kinds are stable strings: the CLI prints them, run records will
// store them and the management API will return them.
type Kind string

// The kinds of failure a call can end with. After any kind but KindGuest and KindMissingExport the
// instance that ran the call is closed, never returned to the pool.
const (
	KindTimeout        Kind = "timeout"          // the call's deadline passed, or its context ended
	KindMemoryLimit    Kind = "memory_limit"     // linear or Extism memory would exceed the limit
	KindTrap           Kind = "trap"             // the guest trapped, exited, or misused a host function
	KindOutputTooLarge Kind = "output_too_large" // the output exceeds the output limit
	KindLogTooLarge    Kind = "log_too_large"    // the call's logs exceed the log limit
	KindGuest          Kind = "guest_error"      // the guest reported an error (error_set or a non-zero return)
	KindMissingExport  Kind = "missing_export"   // the module does not export the function called
	KindInvalidOutput  Kind = "invalid_output"   // the output is absent or not JSON
	KindQuarantined    Kind = "quarantined"      // the module overran a deadline by 2x and takes no more calls
	KindInvalidModule  Kind = "invalid_module"   // the module is malformed, too large or imports unknown functions
)

// Sentinel errors, one per Kind, for use with errors.Is: errors.Is(err, sandbox.ErrTimeout) holds
// for every *Error of kind KindTimeout.
var (
	ErrTimeout        error = kindError(KindTimeout)
	ErrMemoryLimit    error = kindError(KindMemoryLimit)
	ErrTrap           error = kindError(KindTrap)
	ErrOutputTooLarge error = kindError(KindOutputTooLarge)
	ErrLogTooLarge    error = kindError(KindLogTooLarge)
	ErrGuest          error = kindError(KindGuest)
	ErrMissingExport  error = kindError(KindMissingExport)
	ErrInvalidOutput  error = kindError(KindInvalidOutput)
	ErrQuarantined    error = kindError(KindQuarantined)
	ErrInvalidModule  error = kindError(KindInvalidModule)
)

type kindError Kind

func (k kindError) Error() string { return "sandbox: " + string(k) }

// Error is the error every failed Compile or Call returns. Message is safe to show to the connector's
// author: it holds the guest's own error text or a description of the breach, never host secrets.
type Error struct {
	Kind    Kind   // what went wrong
	Module  string // the module's name, such as "json@1.0.0"
	Export  string // the export called; empty for compile and instantiate failures
	Message string // details
	Err     error  // the underlying error, if any
}

func (e *Error) Error() string {
	where := e.Module
	if e.Export != "" {
		where += " " + e.Export
	}
	if where == "" {
		return fmt.Sprintf("sandbox: %s: %s", e.Kind, e.Message)
	}
	return fmt.Sprintf("sandbox: %s: %s: %s", where, e.Kind, e.Message)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(kindError)
	return ok && Kind(k) == e.Kind
}

// Retryable reports whether calling again may succeed: timeouts may be transient; everything else
// fails the same way again on the same input. The engine decides whether to retry.
func (e *Error) Retryable() bool { return e.Kind == KindTimeout }

// KindOf returns the Kind of err, or "" when err is nil or not a sandbox error.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// discards reports whether an instance that failed with kind k must be closed.
func discards(k Kind) bool {
	return k != KindGuest && k != KindMissingExport && k != ""
}

// hostPanic is what host functions panic with to end a call with a precise kind. wazero recovers the
// panic and returns it, wrapped, from the call; the engine unwraps it with errors.As.
type hostPanic struct {
	kind Kind
	msg  string
}

func (h *hostPanic) Error() string { return string(h.kind) + ": " + h.msg }

func fail(kind Kind, format string, args ...any) {
	panic(&hostPanic{kind: kind, msg: fmt.Sprintf(format, args...)})
}
