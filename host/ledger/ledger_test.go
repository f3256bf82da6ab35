package ledger_test

import (
	"context"
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
