package connector

import (
	"context"
	"fmt"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/sandbox"
	"github.com/splicehq/splice/host/validate"
)

// Options configures Load.
type Options struct {
	// Policy is the environment's limits; the manifest may ask for less, never for more.
	Policy sandbox.Limits `json:"policy"`
	// Config is the per-environment connector configuration the guest reads with config_get.
	Config map[string]string `json:"config"`
}

// Connector is a loaded connector: its validated manifest and its compiled module.
type Connector struct {
	manifest *abi.Manifest
	module   *sandbox.Module
	exports  map[string]bool
}

// Load compiles wasm, calls its describe export, validates the manifest it returns and compiles the
// module again under the effective limits (a cache hit: the code is compiled once).
//
// # Errors
//
// A *sandbox.Error when the module is invalid or describe fails (KindMissingExport when it has no
// describe); a *validate.Error when the manifest does not validate.
func Load(ctx context.Context, rt *sandbox.Runtime, wasm []byte, opts Options) (*Connector, error) {
	probe, err := rt.Compile(ctx, wasm, sandbox.ModuleOptions{Name: "(describe)", Limits: opts.Policy, Config: opts.Config})
	if err != nil {
		return nil, fmt.Errorf("connector: load: %w", err)
	}
	// The probe is closed only after the final compile, which then finds the compiled code in
	// wazero's cache instead of compiling the module again (1.2 s for a Go guest).
	defer probe.Close(ctx)
	res, err := probe.Call(ctx, sandbox.CallOptions{Consumer: "", Export: abi.ExportDescribe, Input: []byte("{}")})
	if err != nil {
		return nil, fmt.Errorf("connector: describe: %w", err)
	}
	m, err := validate.Manifest(res.Output)
	if err != nil {
		return nil, fmt.Errorf("connector: describe: %w", err)
	}
	mod, err := rt.Compile(ctx, wasm, sandbox.ModuleOptions{
		Name:   m.AppKey + "@" + m.Version,
		Limits: opts.Policy.Clamp(Requested(m.Limits)),
		Config: opts.Config,
	})
	if err != nil {
		return nil, fmt.Errorf("connector: load %s@%s: %w", m.AppKey, m.Version, err)
	}
	c := &Connector{manifest: m, module: mod, exports: make(map[string]bool)}
	for _, e := range m.Exports() {
		c.exports[e] = true
	}
	return c, nil
}

// Requested converts a manifest's limit requests to sandbox limits (zero where it asks nothing).
func Requested(l *abi.Limits) sandbox.Limits {
	var out sandbox.Limits
	if l == nil {
		return out
	}
	if l.MemoryMiB != nil {
		out.MemoryBytes = *l.MemoryMiB << 20
	}
	if l.TimeoutMs != nil {
		out.Timeout = time.Duration(*l.TimeoutMs) * time.Millisecond
	}
	if l.OutputBytes != nil {
		out.OutputBytes = *l.OutputBytes
	}
	if l.LogBytes != nil {
		out.LogBytes = *l.LogBytes
	}
	return out
}

// Manifest returns the validated manifest. Callers must not modify it.
func (c *Connector) Manifest() *abi.Manifest { return c.manifest }

// Limits returns the connector's effective limits.
func (c *Connector) Limits() sandbox.Limits { return c.module.Limits() }

// Call calls one of the connector's standard exports (describe, auth, trigger, action, transform)
// for consumer with a JSON input, and returns its JSON output.
//
// # Errors
//
// A *sandbox.Error; KindMissingExport when the manifest does not declare the export (a connector with
// no triggers is never called with trigger) or the module does not export it.
func (c *Connector) Call(ctx context.Context, consumer, export string, input []byte) (*sandbox.Result, error) {
	return c.CallWith(ctx, sandbox.CallOptions{Consumer: consumer, Export: export, Input: input})
}

// CallWith is Call with every option of a sandbox call, such as the HTTPDoer (a broker session)
// that serves the call's outbound requests.
func (c *Connector) CallWith(ctx context.Context, o sandbox.CallOptions) (*sandbox.Result, error) {
	if !c.exports[o.Export] {
		return nil, &sandbox.Error{Kind: sandbox.KindMissingExport, Module: c.module.Name(), Export: o.Export,
			Message: fmt.Sprintf("the manifest of %s declares no %s (it declares %v)", c.manifest.AppKey, o.Export, c.manifest.Exports())}
	}
	return c.module.Call(ctx, o)
}

// Close releases the connector's compiled module and its pooled instances.
func (c *Connector) Close(ctx context.Context) error { return c.module.Close(ctx) }
