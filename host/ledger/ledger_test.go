package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/ledger/ledgertest"
)

// embedded returns an Opener over a fresh kv database in a temporary directory; each call closes
// the database the previous call opened and opens it again, as a restarted process would.
func embedded(t *testing.T) ledgertest.Opener {
	dir := t.TempDir()
	var db *kv.DB
	t.Cleanup(func() {
		if db != nil {
			db.Close()
		}
	})
	return func(now func() time.Time, retention time.Duration) (ledger.Store, error) {
		if db != nil {
			if err := db.Close(); err != nil {
				return nil, err
			}
		}
		var err error
		if db, err = kv.Open(kv.Options{Dir: dir}); err != nil {
			return nil, err
		}
		return ledger.Open(context.Background(), db, ledger.Options{Now: now, DedupeRetention: retention})
	}
}

func TestConformance(t *testing.T) { ledgertest.Run(t, embedded) }

// TestAckWriteFailureKeepsTheLease makes the write of an Ack fail in kv (a commit larger than
// one transaction may hold): nothing of it is stored, the lease stays with its holder, who can
// settle the item with another commit, and nobody else can lease the item meanwhile.
func TestAckWriteFailureKeepsTheLease(t *testing.T) {
	ctx := context.Background()
	db, err := kv.Open(kv.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := ledger.Open(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accept(ctx, []ledger.NewEvent{{Consumer: "c", Automation: "a", Payload: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	ls, err := s.Lease(ctx, 1, time.Minute, nil)
	if err != nil || len(ls) != 1 {
		t.Fatalf("Lease: %d, %v", len(ls), err)
	}
	big := []byte(`"` + strings.Repeat("x", 900<<10) + `"`)
	runID := ledger.NewID(time.Now())
	var steps []ledger.Step
	for i := range 8 { // 7 MiB: more than kv's 4 MiB batch
		steps = append(steps, ledger.Step{Run: runID, Key: fmt.Sprint(i), Data: big})
	}
	err = s.Ack(ctx, ls[0], ledger.Commit{Run: &ledger.Run{ID: runID, Automation: "a", Event: ls[0].Item.Event, Status: ledger.Succeeded}, Steps: steps})
	if !errors.Is(err, ledger.ErrInvalid) {
		t.Fatalf("Ack of a 7 MiB commit: %v, want ErrInvalid", err)
	}
	if _, err := s.Run(ctx, "c", runID); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("the failed Ack stored its run: %v", err)
	}
	if more, _ := s.Lease(ctx, 1, time.Minute, nil); len(more) != 0 {
		t.Fatal("the item was leased to another worker after its holder's Ack failed")
	}
	if err := s.Ack(ctx, ls[0], ledger.Commit{}); err != nil {
		t.Fatalf("Ack again with the same lease: %v", err)
	}
}
