package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

// FuzzNamesAndCursors feeds hostile consumer keys, object ids and cursors (consumer keys come
// from JWT subjects, cursors from API clients) to a store holding another consumer's objects and
// runs: a call either fails with ErrInvalid or ErrNotFound, or works on the caller's own data; it
// never panics, and nothing of "alice" is ever returned to anyone else.
func FuzzNamesAndCursors(f *testing.F) {
	ctx := context.Background()
	db, err := kv.Open(kv.Options{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	s, err := ledger.Open(ctx, db, ledger.Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, id := range []string{"a", "b/c", "%2F", ""} {
		if id != "" {
			s.Put(ctx, ledger.ObjectKey{Kind: "automation", Consumer: "alice", ID: id}, []byte(`{"secret":"alice"}`), 0)
		}
	}
	s.Accept(ctx, []ledger.NewEvent{{Consumer: "alice", Automation: "a", Payload: []byte(`{}`)}})
	ls, _ := s.Lease(ctx, 1, time.Minute, nil)
	s.Ack(ctx, ls[0], ledger.Commit{Run: &ledger.Run{ID: ledger.NewID(time.Now()), Automation: "a", Event: ls[0].Item.Event, Status: ledger.Succeeded}})
	_, aliceCursor, _ := s.Objects(ctx, "automation", "alice", ledger.Page{Limit: 1})

	f.Add("bob", "x", "")
	f.Add("alice/", "a", aliceCursor)
	f.Add("ali", "ce/a", "YQ")
	f.Add("", "a", "////")
	f.Add("alice%2F", "../alice", "AAAA")
	f.Fuzz(func(t *testing.T, consumer, id, cursor string) {
		if consumer == "alice" {
			consumer = "not-alice"
		}
		allowed := func(err error) bool {
			return err == nil || errors.Is(err, ledger.ErrInvalid) || errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrConflict)
		}
		objs, _, err := s.Objects(ctx, "automation", consumer, ledger.Page{Cursor: cursor})
		if !allowed(err) {
			t.Fatalf("Objects: %v", err)
		}
		for _, o := range objs {
			if o.Key.Consumer != consumer {
				t.Fatalf("Objects for %q returned %+v", consumer, o.Key)
			}
		}
		if o, err := s.Object(ctx, ledger.ObjectKey{Kind: "automation", Consumer: consumer, ID: id}); err == nil && o.Key.Consumer != consumer {
			t.Fatalf("Object for %q returned %+v", consumer, o.Key)
		} else if !allowed(err) {
			t.Fatalf("Object: %v", err)
		}
		runs, _, err := s.Runs(ctx, ledger.RunQuery{Consumer: consumer, Page: ledger.Page{Cursor: cursor}})
		if !allowed(err) {
			t.Fatalf("Runs: %v", err)
		}
		for _, r := range runs {
			if r.Consumer != consumer {
				t.Fatalf("Runs for %q returned a run of %q", consumer, r.Consumer)
			}
		}
		acts, _, err := s.Activity(ctx, consumer, ledger.Page{Cursor: cursor})
		if !allowed(err) {
			t.Fatalf("Activity: %v", err)
		}
		for _, a := range acts {
			if consumer != "" && a.Consumer != consumer {
				t.Fatalf("Activity for %q returned an entry of %q", consumer, a.Consumer)
			}
		}
		if _, err := s.Put(ctx, ledger.ObjectKey{Kind: "fuzz", Consumer: consumer, ID: id}, []byte(`1`), 0); !allowed(err) {
			t.Fatalf("Put: %v", err)
		}
	})
}
