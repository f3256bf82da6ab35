package sandbox

import "time"

// Default limits, used where Limits fields are zero.
const (
	DefaultMemoryBytes     = 64 << 20         // linear memory per instance (and, separately, Extism memory)
	DefaultOutputBytes     = 8 << 20          // output per call
	DefaultLogBytes        = 1 << 20          // log bytes per call, WASI stdout and stderr included
	DefaultVarBytes        = 1 << 20          // Extism vars per instance
	DefaultActionTimeout   = 30 * time.Second // actions, triggers, auth and any other export
	DefaultDescribeTimeout = 2 * time.Second  // describe and transform
	DefaultMaxModuleBytes  = 32 << 20         // module size accepted by Compile
	pageSize               = 65536
)

// Limits bounds what one call, or one instance, may use. The zero value of a field means its
// default. Effective limits are min(environment policy, manifest request): see Clamp.
type Limits struct {
	MemoryBytes int64         `json:"memoryBytes,omitempty"` // linear memory per instance, rounded down to 64 KiB pages
	Timeout     time.Duration `json:"timeout,omitempty"`     // wall-clock deadline per call; 0 = by export (DefaultTimeout)
	OutputBytes int64         `json:"outputBytes,omitempty"` // output per call
	LogBytes    int64         `json:"logBytes,omitempty"`    // logs per call
	VarBytes    int64         `json:"varBytes,omitempty"`    // Extism vars per instance
}

// DefaultTimeout returns the deadline a call of export gets when no limit sets one: 2 s for
// describe and transform, 30 s for the rest.
func DefaultTimeout(export string) time.Duration {
	switch export {
	case "describe", "transform":
		return DefaultDescribeTimeout
	}
	return DefaultActionTimeout
}

// Clamp returns the effective limits when l is the policy and req the request: each field is the
// smaller of the two, a zero field standing for "no opinion". A request never raises a limit.
func (l Limits) Clamp(req Limits) Limits {
	return Limits{
		MemoryBytes: minPositive(l.MemoryBytes, req.MemoryBytes),
		Timeout:     time.Duration(minPositive(int64(l.Timeout), int64(req.Timeout))),
		OutputBytes: minPositive(l.OutputBytes, req.OutputBytes),
		LogBytes:    minPositive(l.LogBytes, req.LogBytes),
		VarBytes:    minPositive(l.VarBytes, req.VarBytes),
	}
}

// withDefaults fills zero fields; Timeout stays zero (it depends on the export).
func (l Limits) withDefaults() Limits {
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = DefaultMemoryBytes
	}
	if l.OutputBytes <= 0 {
		l.OutputBytes = DefaultOutputBytes
	}
	if l.LogBytes <= 0 {
		l.LogBytes = DefaultLogBytes
	}
	if l.VarBytes <= 0 {
		l.VarBytes = DefaultVarBytes
	}
	if l.Timeout < 0 {
		l.Timeout = 0
	}
	return l
}

func (l Limits) timeout(export string) time.Duration {
	if l.Timeout > 0 {
		return l.Timeout
	}
	return DefaultTimeout(export)
}

func (l Limits) memoryPages() uint32 {
	p := l.MemoryBytes / pageSize
	if p > 65536 {
		p = 65536
	}
	return uint32(p)
}

func minPositive(a, b int64) int64 {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	case b < a:
		return b
	}
	return a
}
