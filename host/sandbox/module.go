package sandbox

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// Module is one compiled module, typically one connector version in one environment. It lends
// instances to calls from a pool kept per consumer: an instance never serves two consumers. A
// Module is safe for concurrent use.
type Module struct {
	rt       *Runtime
	name     string
	info     *moduleInfo
	lim      Limits
	compiled compiledModule

	quarantined atomic.Bool
	qmu         sync.Mutex
	qreason     string

	// Guarded by rt.pool.mu.
	idle   map[string][]*slot
	closed bool
}

// Name returns the name the module was compiled with.
func (m *Module) Name() string { return m.name }

// Limits returns the module's effective limits, defaults filled in.
func (m *Module) Limits() Limits { return m.lim }

// HasExport reports whether the module exports a function named name.
func (m *Module) HasExport(name string) bool {
	_, ok := m.info.exports[name]
	return ok
}

// Exports returns the names of the module's exported functions, sorted.
func (m *Module) Exports() []string {
	out := make([]string, 0, len(m.info.exports))
	for n := range m.info.exports {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Quarantined reports whether the module has been quarantined, and why.
func (m *Module) Quarantined() (bool, string) {
	if !m.quarantined.Load() {
		return false, ""
	}
	m.qmu.Lock()
	defer m.qmu.Unlock()
	return true, m.qreason
}

// Close closes the module's idle instances and its compiled code. Instances in use are closed when
// their calls end.
func (m *Module) Close(ctx context.Context) error {
	for _, s := range m.rt.pool.drain(m) {
		s.inst.close(ctx)
	}
	return m.compiled.close(ctx)
}

// CallOptions describes one call.
type CallOptions struct {
	// Consumer is the tenant the call runs for; instances are pooled per consumer.
	Consumer string
	// Export is the function to call.
	Export string
	// Input is the call's input; the sandbox does not retain it after the call.
	Input []byte
	// Timeout, when positive, lowers the module's deadline for this call (it never raises it).
	Timeout time.Duration
	// Raw skips the check that the output is one JSON document (for benchmarks and raw exports).
	Raw bool
	// HTTP serves the call's outbound HTTP (splice_http, and Extism's http_request on Splice's
	// engine); nil means the call has none and every request is refused as unavailable.
	HTTP HTTPDoer
}

// HTTPDoer serves a call's outbound HTTP requests. The broker's Session implements it; the engine
// hands one to each call. Do takes a splice_http request document and returns the response
// document (pdk/ABI.md, "Outbound HTTP"); it is called on the call's goroutine, with a context
// that ends at the call's deadline, and must not keep request.
type HTTPDoer interface {
	Do(ctx context.Context, request []byte) []byte
}

// LogLine is one message the guest logged during a call, or one chunk it wrote to stdout or stderr.
type LogLine struct {
	Level   string `json:"level"` // trace, debug, info, warn, error, stdout or stderr
	Message string `json:"message"`
}

// Result is what a successful call returns.
type Result struct {
	Output   []byte        // the output, owned by the caller
	Logs     []LogLine     // the call's logs, in order
	Duration time.Duration // wall-clock time of the call, instance acquisition included
}

// Call runs one export of the module for one consumer, within the module's limits.
//
// # Errors
//
// Every failure is a *Error whose Kind says what happened: see Kind. The instance that ran the call
// is closed after every kind but KindGuest and KindMissingExport; the Runtime and other calls carry on.
func (m *Module) Call(ctx context.Context, c CallOptions) (*Result, error) {
	start := time.Now()
	if m.quarantined.Load() {
		_, why := m.Quarantined()
		return nil, m.errorf(KindQuarantined, c.Export, "module is quarantined: %s", why)
	}
	if !m.HasExport(c.Export) {
		return nil, m.errorf(KindMissingExport, c.Export, "module does not export %q", c.Export)
	}
	d := m.lim.timeout(c.Export)
	if c.Timeout > 0 && c.Timeout < d {
		d = c.Timeout
	}
	select {
	case m.rt.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, m.errorf(KindTimeout, c.Export, "waiting for a free call slot: %v", ctx.Err())
	}
	defer func() { <-m.rt.sem }()

	s, err := m.acquire(ctx, c.Consumer, d)
	if err != nil {
		m.checkOverrun(c.Export, time.Since(start), d)
		return nil, withDeadline(err, d)
	}
	st := &s.st
	st.reset(c.Input, m.lim)
	st.http = c.HTTP
	rc, err := s.inst.call(ctx, c.Export, st, callTimeout{start: start, d: d, mod: m, export: c.Export})
	res, err := m.finish(c, st, rc, err)
	elapsed := time.Since(start)
	m.checkOverrun(c.Export, elapsed, d)
	m.release(s, KindOf(err))
	if err != nil {
		return nil, withDeadline(err, d)
	}
	res.Duration = elapsed
	return res, nil
}

// finish turns an engine's raw result into the call's outcome, the same way for both engines.
func (m *Module) finish(c CallOptions, st *callState, rc uint32, err error) (*Result, error) {
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Module, e.Export = m.name, c.Export
			return nil, e
		}
		return nil, &Error{Kind: KindTrap, Module: m.name, Export: c.Export, Message: firstLine(err.Error()), Err: err}
	}
	if st.errMsg != "" {
		return nil, m.errorf(KindGuest, c.Export, "%s", st.errMsg)
	}
	if rc != 0 {
		return nil, m.errorf(KindGuest, c.Export, "returned %d without an error message", rc)
	}
	if int64(len(st.output)) > st.lim.OutputBytes {
		return nil, m.errorf(KindOutputTooLarge, c.Export, "output is %d bytes, over the limit of %d", len(st.output), st.lim.OutputBytes)
	}
	if !c.Raw {
		if len(st.output) == 0 {
			return nil, m.errorf(KindInvalidOutput, c.Export, "no output")
		}
		if !jsonscan.Valid(st.output) {
			return nil, m.errorf(KindInvalidOutput, c.Export, "output is not one JSON document")
		}
	}
	res := &Result{Output: st.output, Logs: st.logs}
	st.output, st.logs = nil, nil
	return res, nil
}

// withDeadline adds the deadline to a timeout's message.
func withDeadline(err error, d time.Duration) error {
	if e, ok := err.(*Error); ok && e.Kind == KindTimeout {
		e.Message += fmt.Sprintf(" (deadline %v)", d)
	}
	return err
}

func (m *Module) errorf(kind Kind, export, format string, args ...any) *Error {
	return &Error{Kind: kind, Module: m.name, Export: export, Message: fmt.Sprintf(format, args...)}
}

// checkOverrun quarantines the module when a call took more than twice its deadline: wazero could
// not interrupt the guest, so the next call could hold a thread just as long.
func (m *Module) checkOverrun(export string, elapsed, d time.Duration) {
	if elapsed > 2*d {
		m.quarantine(export, elapsed, d)
	}
}

func (m *Module) quarantine(export string, elapsed, d time.Duration) {
	if m.quarantined.Swap(true) {
		return
	}
	why := fmt.Sprintf("%s ran %v, over twice its %v deadline", export, elapsed.Round(time.Millisecond), d)
	m.qmu.Lock()
	m.qreason = why
	m.qmu.Unlock()
	m.rt.log.Error("sandbox: module quarantined", "module", m.name, "export", export, "reason", why)
}

// callState is one call's input, output, error and logs. Host functions fill it; Module.finish reads it.
type callState struct {
	input    []byte
	lim      Limits
	output   []byte
	errMsg   string
	logs     []LogLine
	logBytes int64

	http        HTTPDoer
	httpStatus  int32  // of the last http_request, for http_status_code
	httpHeaders []byte // of the last http_request, for http_headers (JSON)
}

func (st *callState) reset(input []byte, lim Limits) {
	*st = callState{input: input, lim: lim}
}

const maxErrorBytes = 64 << 10

// setError records the guest's error message, truncated to 64 KiB.
func (st *callState) setError(msg []byte) {
	if len(msg) > maxErrorBytes {
		msg = msg[:maxErrorBytes]
	}
	st.errMsg = string(msg)
}

// log appends a log line, ending the call with KindLogTooLarge past the log limit.
func (st *callState) log(level string, msg []byte) {
	st.logBytes += int64(len(msg))
	if st.logBytes > st.lim.LogBytes {
		fail(KindLogTooLarge, "logs exceed the limit of %d bytes", st.lim.LogBytes)
	}
	st.logs = append(st.logs, LogLine{Level: level, Message: string(msg)})
}
