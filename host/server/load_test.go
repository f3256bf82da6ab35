package server

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/internal/testkit"
)

// TestLoadOnce: callers that ask for a connector while it loads wait for that load instead of
// loading it again. After a restart every worker asks for the same connectors at once, and each
// load compiles and describes the module.
func TestLoadOnce(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Environments: []string{"development"},
		CacheDir: filepath.Join(testkit.RepoRoot(t), ".build", "cache", "server-test")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	e := s.envs["development"]
	d, err := e.deploy(ctx, testkit.Guest(t, "connector-echo"), true)
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock() // forget it, as a restart does
	for _, c := range e.loaded {
		_ = c.Close(ctx)
	}
	e.loaded, e.active = map[string]*connector.Connector{}, map[string]*connector.Connector{}
	e.mu.Unlock()
	before := e.loads.Load()

	const callers = 16
	got := make([]*connector.Connector, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			c, err := e.Active(ctx, d.AppKey)
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	close(start)
	wg.Wait()
	if n := e.loads.Load() - before; n != 1 {
		t.Errorf("%d callers at once loaded the module %d times, want once", callers, n)
	}
	for i, c := range got {
		if c == nil || c != got[0] {
			t.Fatalf("caller %d got connector %p, caller 0 %p", i, c, got[0])
		}
	}
}
