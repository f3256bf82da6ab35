package connector_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/internal/testkit"
	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

func newCatalog(t *testing.T) *connector.Catalog {
	t.Helper()
	db, err := kv.Open(kv.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return connector.NewCatalog(l, nil)
}

func manifest(version string) *abi.Manifest {
	return &abi.Manifest{AppKey: "shop", Name: "Shop", Version: version, Auth: abi.Auth{Type: "none"}, Hosts: []string{"api.shop.example"}}
}

// TestCatalogDeployLoad stores a real connector and loads it back from the catalog.
func TestCatalogDeployLoad(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	cat := newCatalog(t)
	wasm := testkit.Guest(t, "connector-text")
	c, err := connector.Load(ctx, rt, wasm, connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	d, err := cat.Deploy(ctx, wasm, c.Manifest(), true)
	if err != nil {
		t.Fatal(err)
	}
	active, err := cat.Active(ctx, c.Manifest().AppKey)
	if err != nil || active.Version != c.Manifest().Version || active.Module != d.Module || active.Size != len(wasm) {
		t.Fatalf("Active = %+v, %v", active, err)
	}
	stored, err := cat.Module(ctx, active)
	if err != nil || !slices.Equal(stored, wasm) {
		t.Fatalf("Module: %d bytes, %v; want the %d deployed", len(stored), err, len(wasm))
	}
	again, err := connector.Load(ctx, rt, stored, connector.Options{})
	if err != nil {
		t.Fatalf("load the stored module: %v", err)
	}
	again.Close(ctx)
}

func TestCatalogVersions(t *testing.T) {
	ctx := context.Background()
	cat := newCatalog(t)
	deploy := func(version, bytes string, activate bool) (connector.Deployment, error) {
		return cat.Deploy(ctx, []byte(bytes), manifest(version), activate)
	}
	first, err := deploy("1.0.0", "module 1.0.0", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.10.0", "1.9.0", "1.0.0-rc.1", "2.0.0-alpha+build.5"} {
		if _, err := deploy(v, "module "+v, false); err != nil {
			t.Fatalf("deploy %s: %v", v, err)
		}
	}
	if a, err := cat.Active(ctx, "shop"); err != nil || a.Version != "1.0.0" {
		t.Fatalf("Active = %+v, %v; staged versions must not activate", a, err)
	}
	// The same bytes again: a no-op. Other bytes under a deployed version: refused.
	if d, err := deploy("1.0.0", "module 1.0.0", false); err != nil || !d.DeployedAt.Equal(first.DeployedAt) {
		t.Errorf("redeploy of the same bytes: %+v, %v", d, err)
	}
	if _, err := deploy("1.0.0", "other bytes", true); !errors.Is(err, connector.ErrVersionExists) {
		t.Errorf("redeploy with other bytes: %v, want ErrVersionExists", err)
	}
	var got []string
	p := ledger.Page{Limit: 2}
	for {
		ds, next, err := cat.Versions(ctx, "shop", p)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			got = append(got, d.Version)
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	want := []string{"1.0.0-rc.1", "1.0.0", "1.9.0", "1.10.0", "2.0.0-alpha+build.5"}
	if !slices.Equal(got, want) {
		t.Errorf("Versions = %v, want semver order %v", got, want)
	}
	if err := cat.Activate(ctx, "shop", "1.9.0"); err != nil {
		t.Fatal(err)
	}
	if a, _ := cat.Active(ctx, "shop"); a.Version != "1.9.0" {
		t.Errorf("after Activate: %s", a.Version)
	}
	for _, v := range []string{"3.0.0", "1.0", "banana"} {
		if err := cat.Activate(ctx, "shop", v); !errors.Is(err, connector.ErrNotFound) {
			t.Errorf("Activate(%q) = %v, want ErrNotFound", v, err)
		}
	}
	for _, v := range []string{"1.0", "01.0.0", "1.0.0-", "1.a.0", ""} {
		if _, err := deploy(v, "x", false); !errors.Is(err, connector.ErrInvalidVersion) {
			t.Errorf("deploy %q: %v, want ErrInvalidVersion", v, err)
		}
	}
	if _, err := cat.Active(ctx, "nope"); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("Active of an unknown app: %v", err)
	}
	apps, _, err := cat.Apps(ctx, ledger.Page{})
	if err != nil || len(apps) != 1 || apps[0].AppKey != "shop" || apps[0].Active != "1.9.0" {
		t.Errorf("Apps = %+v, %v", apps, err)
	}
}
