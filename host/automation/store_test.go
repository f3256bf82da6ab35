package automation_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

const doc = `{"name": "n%d", "trigger": {"appKey": "shop", "triggerKey": "t"},
 "steps": [{"id": "a", "appKey": "chat", "actionKey": "send", "inputParams": {"text": "{{trigger.x}}"}}]}`

func openStore(t *testing.T, dir string) (*automation.Store, func()) {
	t.Helper()
	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return automation.NewStore(l, nil, nil), func() { db.Close() }
}

// TestStore: create, read as the owner (and not as another consumer), look up by id alone,
// replace with and without a stale version, disable, list, delete, and find all of it again after
// a restart.
func TestStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, closeDB := openStore(t, dir)
	a, err := s.Create(ctx, "acme", fmt.Appendf(nil, doc, 1), "sealed-secret")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.Version == 0 || !a.Enabled() || a.Program.Steps[0].Step.ID != "a" {
		t.Fatalf("created %+v", a)
	}
	if _, err := s.Get(ctx, "other", a.ID); !errors.Is(err, automation.ErrNotFound) {
		t.Errorf("another consumer's Get: %v, want ErrNotFound", err)
	}
	if got, err := s.Lookup(ctx, a.ID); err != nil || got.Consumer != "acme" || got.Secret != "sealed-secret" {
		t.Errorf("Lookup = %+v, %v", got, err)
	}
	if _, err := s.Lookup(ctx, "nope"); !errors.Is(err, automation.ErrNotFound) {
		t.Errorf("Lookup of an unknown id: %v", err)
	}
	if _, err := s.Create(ctx, "acme", []byte(`{"name": "x"}`), ""); err == nil || !strings.Contains(err.Error(), "trigger") {
		t.Errorf("Create of an invalid document: %v", err)
	}
	b, err := s.Replace(ctx, "acme", a.ID, fmt.Appendf(nil, doc, 2), a.Version)
	if err != nil || b.Version == a.Version || b.Program.Automation.Name != "n2" || b.CreatedAt != a.CreatedAt {
		t.Fatalf("Replace = %+v, %v", b, err)
	}
	if _, err := s.Replace(ctx, "acme", a.ID, fmt.Appendf(nil, doc, 3), a.Version); !errors.Is(err, automation.ErrConflict) {
		t.Errorf("Replace at a stale version: %v, want ErrConflict", err)
	}
	if _, err := s.Replace(ctx, "other", a.ID, fmt.Appendf(nil, doc, 3), 0); !errors.Is(err, automation.ErrNotFound) {
		t.Errorf("another consumer's Replace: %v, want ErrNotFound", err)
	}
	if c, err := s.SetEnabled(ctx, "acme", a.ID, false); err != nil || c.Enabled() {
		t.Fatalf("SetEnabled(false) = %+v, %v", c, err)
	}
	second, err := s.Create(ctx, "acme", fmt.Appendf(nil, doc, 4), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "other", fmt.Appendf(nil, doc, 5), ""); err != nil {
		t.Fatal(err)
	}
	closeDB()

	s, closeDB = openStore(t, dir)
	defer closeDB()
	list, _, err := s.List(ctx, "acme", ledger.Page{})
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[0].Enabled() || list[0].Program.Automation.Name != "n2" || list[1].ID != second.ID {
		t.Fatalf("after a restart, List = %d, %v", len(list), err)
	}
	if p, err := s.Program(ctx, "acme", second.ID); err != nil || p.Automation.Name != "n4" {
		t.Errorf("Program = %v, %v", p, err)
	}
	if err := s.Delete(ctx, "other", a.ID); !errors.Is(err, automation.ErrNotFound) {
		t.Errorf("another consumer's Delete: %v", err)
	}
	if err := s.Delete(ctx, "acme", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, a.ID); !errors.Is(err, automation.ErrNotFound) {
		t.Errorf("Lookup after Delete: %v", err)
	}
}

// TestStoreCheckRefuses: the environment's check is asked on Create and Replace, and its refusal
// stores nothing.
func TestStoreCheckRefuses(t *testing.T) {
	ctx := context.Background()
	db, err := kv.Open(kv.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := ledger.Open(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	refuse := errors.New("no such connector")
	s := automation.NewStore(l, func(_ context.Context, consumer string, p *automation.Program) error {
		if p.Automation.Name == "n9" {
			return refuse
		}
		return nil
	}, nil)
	if _, err := s.Create(ctx, "acme", fmt.Appendf(nil, doc, 9), ""); !errors.Is(err, refuse) {
		t.Fatalf("Create: %v, want the check's error", err)
	}
	if list, _, _ := s.List(ctx, "acme", ledger.Page{}); len(list) != 0 {
		t.Errorf("a refused automation was stored")
	}
	a, err := s.Create(ctx, "acme", fmt.Appendf(nil, doc, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Replace(ctx, "acme", a.ID, fmt.Appendf(nil, doc, 9), 0); !errors.Is(err, refuse) {
		t.Errorf("Replace: %v, want the check's error", err)
	}
}

// TestStoreHammer: concurrent enables, disables and reads of one automation under -race.
func TestStoreHammer(t *testing.T) {
	ctx := context.Background()
	s, closeDB := openStore(t, t.TempDir())
	defer closeDB()
	a, err := s.Create(ctx, "acme", fmt.Appendf(nil, doc, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := s.SetEnabled(ctx, "acme", a.ID, (g+i)%2 == 0); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Program(ctx, "acme", a.ID); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
