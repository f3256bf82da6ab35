package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/ledger"
)

var (
	// ErrNotFound is returned for an app or a version that is not deployed in the environment.
	ErrNotFound = errors.New("connector: not deployed")
	// ErrVersionExists is returned by [Catalog.Deploy] for a version already deployed with other
	// bytes: a version, once deployed, is immutable.
	ErrVersionExists = errors.New("connector: version already deployed with another module")
	// ErrInvalidVersion is returned for a version that is not Semantic Versioning 2.0.0.
	ErrInvalidVersion = errors.New("connector: invalid version")
)

// Object kinds of the catalog: one "connector" object per app, and one per version in a table
// per app, keyed so that versions list in semver precedence order.
const (
	kindApp        = "connector"
	kindVersionsOf = "connector-version@"
)

// Deployment is one deployed version of a connector.
type Deployment struct {
	AppKey  string `json:"appKey"`
	Version string `json:"version"`
	// Module is the SHA-256 (hex) of the module's bytes, the name of its ledger blob.
	Module     string          `json:"module"`
	Size       int             `json:"size"`
	Manifest   json.RawMessage `json:"manifest"`
	DeployedAt time.Time       `json:"deployedAt"`
}

// App is a connector of the environment: its active version ("" when none is).
type App struct {
	AppKey    string    `json:"appKey"`
	Active    string    `json:"active,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Catalog is the connectors deployed in one environment, stored in its ledger: each version's
// module and manifest, and which version of each app is active. It is safe for concurrent use.
type Catalog struct {
	db  ledger.Store
	now func() time.Time
}

// NewCatalog returns the catalog stored in db; now is its clock (nil: time.Now).
func NewCatalog(db ledger.Store, now func() time.Time) *Catalog {
	if now == nil {
		now = time.Now
	}
	return &Catalog{db: db, now: now}
}

// Deploy stores wasm and its manifest (as Load returned it) as a version of the manifest's app,
// and makes it the active version when activate is set. Deploying the same bytes again is a no-op
// that returns the stored deployment (and still activates it when asked).
//
// # Errors
//
// [ErrVersionExists] when the version holds other bytes; [ErrInvalidVersion]; ledger errors.
func (c *Catalog) Deploy(ctx context.Context, wasm []byte, m *abi.Manifest, activate bool) (Deployment, error) {
	key, err := versionKey(m.Version)
	if err != nil {
		return Deployment{}, err
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return Deployment{}, fmt.Errorf("connector: deploy %s@%s: %w", m.AppKey, m.Version, err)
	}
	digest, err := c.db.PutBlob(ctx, wasm)
	if err != nil {
		return Deployment{}, fmt.Errorf("connector: deploy %s@%s: module: %w", m.AppKey, m.Version, err)
	}
	d := Deployment{AppKey: m.AppKey, Version: m.Version, Module: digest, Size: len(wasm), Manifest: manifest, DeployedAt: c.now().UTC()}
	b, err := json.Marshal(d)
	if err != nil {
		return Deployment{}, err
	}
	ok := ledger.ObjectKey{Kind: kindVersionsOf + m.AppKey, ID: key}
	if _, err := c.db.Put(ctx, ok, b, 0); errors.Is(err, ledger.ErrConflict) {
		prev, err := c.Version(ctx, m.AppKey, m.Version)
		if err != nil {
			return Deployment{}, err
		}
		if prev.Module != digest {
			return Deployment{}, fmt.Errorf("%w: %s@%s is module %s", ErrVersionExists, m.AppKey, m.Version, prev.Module)
		}
		d = prev
	} else if err != nil {
		return Deployment{}, fmt.Errorf("connector: deploy %s@%s: %w", m.AppKey, m.Version, err)
	}
	err = c.updateApp(ctx, m.AppKey, func(a *App) {
		if activate {
			a.Active = m.Version
		}
	})
	return d, err
}

// updateApp applies fn to the app's record (created when absent) with compare-and-swap, retrying
// on a concurrent change.
func (c *Catalog) updateApp(ctx context.Context, appKey string, fn func(*App)) error {
	k := ledger.ObjectKey{Kind: kindApp, ID: appKey}
	for range 8 {
		a := App{AppKey: appKey}
		var version uint64
		o, err := c.db.Object(ctx, k)
		switch {
		case err == nil:
			if err := json.Unmarshal(o.Value, &a); err != nil {
				return fmt.Errorf("connector: app %s: %w", appKey, err)
			}
			version = o.Version
		case !errors.Is(err, ledger.ErrNotFound):
			return fmt.Errorf("connector: app %s: %w", appKey, err)
		}
		fn(&a)
		a.UpdatedAt = c.now().UTC()
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		_, err = c.db.Put(ctx, k, b, version)
		if !errors.Is(err, ledger.ErrConflict) {
			if err != nil {
				return fmt.Errorf("connector: app %s: %w", appKey, err)
			}
			return nil
		}
	}
	return fmt.Errorf("connector: app %s kept changing concurrently", appKey)
}

// Activate makes a deployed version the app's active one.
func (c *Catalog) Activate(ctx context.Context, appKey, version string) error {
	if _, err := c.Version(ctx, appKey, version); err != nil {
		return err
	}
	return c.updateApp(ctx, appKey, func(a *App) { a.Active = version })
}

// App returns an app of the environment.
func (c *Catalog) App(ctx context.Context, appKey string) (App, error) {
	var a App
	o, err := c.db.Object(ctx, ledger.ObjectKey{Kind: kindApp, ID: appKey})
	if errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrInvalid) {
		return a, fmt.Errorf("%w: %s", ErrNotFound, appKey)
	}
	if err != nil {
		return a, fmt.Errorf("connector: app %s: %w", appKey, err)
	}
	return a, json.Unmarshal(o.Value, &a)
}

// Active returns the active deployment of an app ([ErrNotFound] when none is active).
func (c *Catalog) Active(ctx context.Context, appKey string) (Deployment, error) {
	a, err := c.App(ctx, appKey)
	if err != nil {
		return Deployment{}, err
	}
	if a.Active == "" {
		return Deployment{}, fmt.Errorf("%w: %s has no active version", ErrNotFound, appKey)
	}
	return c.Version(ctx, appKey, a.Active)
}

// Version returns one deployed version of an app.
func (c *Catalog) Version(ctx context.Context, appKey, version string) (Deployment, error) {
	var d Deployment
	key, err := versionKey(version)
	if err != nil {
		return d, fmt.Errorf("%w: %s@%s", ErrNotFound, appKey, version)
	}
	o, err := c.db.Object(ctx, ledger.ObjectKey{Kind: kindVersionsOf + appKey, ID: key})
	if errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrInvalid) {
		return d, fmt.Errorf("%w: %s@%s", ErrNotFound, appKey, version)
	}
	if err != nil {
		return d, fmt.Errorf("connector: %s@%s: %w", appKey, version, err)
	}
	return d, json.Unmarshal(o.Value, &d)
}

// Versions lists one page of an app's deployments in semver precedence order, oldest first.
func (c *Catalog) Versions(ctx context.Context, appKey string, p ledger.Page) ([]Deployment, string, error) {
	objs, next, err := c.db.Objects(ctx, kindVersionsOf+appKey, "", p)
	if err != nil {
		return nil, "", fmt.Errorf("connector: versions of %s: %w", appKey, err)
	}
	out := make([]Deployment, 0, len(objs))
	for _, o := range objs {
		var d Deployment
		if err := json.Unmarshal(o.Value, &d); err != nil {
			return nil, "", fmt.Errorf("connector: versions of %s: %w", appKey, err)
		}
		out = append(out, d)
	}
	return out, next, nil
}

// Apps lists one page of the environment's apps, in app key order.
func (c *Catalog) Apps(ctx context.Context, p ledger.Page) ([]App, string, error) {
	objs, next, err := c.db.Objects(ctx, kindApp, "", p)
	if err != nil {
		return nil, "", fmt.Errorf("connector: apps: %w", err)
	}
	out := make([]App, 0, len(objs))
	for _, o := range objs {
		var a App
		if err := json.Unmarshal(o.Value, &a); err != nil {
			return nil, "", fmt.Errorf("connector: apps: %w", err)
		}
		out = append(out, a)
	}
	return out, next, nil
}

// Module returns the bytes of a deployment's module (checked against their digest).
func (c *Catalog) Module(ctx context.Context, d Deployment) ([]byte, error) {
	b, err := c.db.Blob(ctx, d.Module)
	if err != nil {
		return nil, fmt.Errorf("connector: module of %s@%s: %w", d.AppKey, d.Version, err)
	}
	return b, nil
}

// versionKey maps a Semantic Versioning 2.0.0 version to a key that sorts in precedence order:
// major, minor and patch zero-padded, then "-" and the pre-release for a pre-release, or "~" for
// a release (which sorts after every pre-release of it), then the build metadata, which has no
// precedence but keeps distinct versions distinct. Pre-release identifiers compare as text, so
// "rc.10" sorts before "rc.9" (the one departure from semver's order).
func versionKey(v string) (string, error) {
	rest, build, _ := strings.Cut(v, "+")
	core, pre, hasPre := strings.Cut(rest, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 || (hasPre && pre == "") {
		return "", fmt.Errorf("%w: %q", ErrInvalidVersion, v)
	}
	var b strings.Builder
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil || (len(p) > 1 && p[0] == '0') {
			return "", fmt.Errorf("%w: %q", ErrInvalidVersion, v)
		}
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprintf(&b, "%020d", n)
	}
	if hasPre {
		b.WriteString("-" + pre)
	} else {
		b.WriteByte('~')
	}
	if build != "" {
		b.WriteString("+" + build)
	}
	return b.String(), nil
}
