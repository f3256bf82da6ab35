package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

// TestMaxWaiting: a consumer's waiting items are bounded, counted through every way an item
// comes and goes (accept, ack done, retry, dead letter, requeue, next items), per consumer,
// counted again after a restart, and 0 again once the consumer's queue empties.
func TestMaxWaiting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	open := func(db *kv.DB) *ledger.Embedded {
		t.Helper()
		s, err := ledger.Open(ctx, db, ledger.Options{MaxWaiting: 3})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(db)
	n := 0
	accept := func(s *ledger.Embedded, consumer string) error {
		t.Helper()
		n++
		_, err := s.Accept(ctx, []ledger.NewEvent{{Consumer: consumer, Automation: "a1", Payload: []byte(fmt.Sprintf(`{"n":%d}`, n))}})
		if err != nil && !errors.Is(err, ledger.ErrBacklog) {
			t.Fatalf("accept for %s: %v", consumer, err)
		}
		return err
	}
	mustAccept := func(s *ledger.Embedded, consumer string) {
		t.Helper()
		if s.Backlogged(consumer) {
			t.Errorf("before accept %d for %s: backlogged", n+1, consumer)
		}
		if err := accept(s, consumer); err != nil {
			t.Fatalf("accept %d for %s: %v", n, consumer, err)
		}
	}
	mustRefuse := func(s *ledger.Embedded, consumer string) {
		t.Helper()
		if !s.Backlogged(consumer) {
			t.Errorf("before accept %d for %s: not backlogged", n+1, consumer)
		}
		if err := accept(s, consumer); !errors.Is(err, ledger.ErrBacklog) {
			t.Fatalf("accept %d for %s past the bound: %v, want ErrBacklog", n, consumer, err)
		}
	}
	lease := func(s *ledger.Embedded) ledger.Lease {
		t.Helper()
		ls, err := s.Lease(ctx, 1, time.Minute, nil)
		if err != nil || len(ls) != 1 {
			t.Fatalf("lease: %v, %d leases", err, len(ls))
		}
		return ls[0]
	}
	ack := func(s *ledger.Embedded, l ledger.Lease, c ledger.Commit) {
		t.Helper()
		if err := s.Ack(ctx, l, c); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}

	for range 3 {
		mustAccept(s, "c1")
	}
	mustRefuse(s, "c1")
	mustAccept(s, "c2") // another consumer's bound is its own

	// A leased item still waits; one settled makes room, one retried or dead-lettered...
	l := lease(s)
	for l.Item.Consumer != "c1" {
		if err := s.Release(ctx, l); err != nil {
			t.Fatal(err)
		}
		l = lease(s)
	}
	mustRefuse(s, "c1")
	ack(s, l, ledger.Commit{Disposition: ledger.RetryAt, Due: time.Now(), LastError: "again"})
	mustRefuse(s, "c1") // a retry still waits
	dead := lease(s)
	for dead.Item.Consumer != "c1" {
		if err := s.Release(ctx, dead); err != nil {
			t.Fatal(err)
		}
		dead = lease(s)
	}
	ack(s, dead, ledger.Commit{Disposition: ledger.DeadLetter, LastError: "no"})
	mustAccept(s, "c1") // a dead letter does not
	mustRefuse(s, "c1")

	// A requeue and an ack's next items are never refused: c1 goes to 4 and then 5.
	if err := s.Requeue(ctx, "c1", dead.Item.ID); err != nil {
		t.Fatal(err)
	}
	l = lease(s)
	for l.Item.Consumer != "c1" {
		if err := s.Release(ctx, l); err != nil {
			t.Fatal(err)
		}
		l = lease(s)
	}
	ack(s, l, ledger.Commit{Disposition: ledger.Done, Next: []ledger.NewItem{{Automation: "a1", Step: "s2"}, {Automation: "a1", Step: "s3"}}})
	mustRefuse(s, "c1")

	// After a restart the count is made again from the disk: 5 of c1's items wait.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = kv.Open(kv.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s = open(db)
	defer s.Close()
	// The first accept of a consumer that had items at the restart starts its count and is not
	// bounded; once counted, the bound holds again.
	first := accept(s, "c1")
	deadline := time.Now().Add(10 * time.Second)
	for accept(s, "c1") == nil {
		if time.Now().After(deadline) {
			t.Fatal("c1 is still unbounded 10 s after the restart")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if first != nil {
		t.Errorf("the first accept after the restart: %v, want it let in while counting", first)
	}
	// Settle everything of c1: only then is there room again.
	for {
		ls, err := s.Lease(ctx, 10, time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 0 {
			break
		}
		for _, l := range ls {
			ack(s, l, ledger.Commit{Disposition: ledger.Done})
		}
	}
	// Nothing of c1 waits: its count is 0 again, whatever the count after the restart made of
	// the writes in flight around its snapshot.
	for range 3 {
		mustAccept(s, "c1")
	}
	mustRefuse(s, "c1")
}

// TestMaxWaitingRefusesAtomically: a refused accept stores none of its events, and concurrent
// accepts never take a consumer past its bound.
func TestMaxWaitingRefusesAtomically(t *testing.T) {
	ctx := context.Background()
	db := openKV(t)
	s, err := ledger.Open(ctx, db, ledger.Options{MaxWaiting: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	three := []ledger.NewEvent{{Consumer: "c", Automation: "a", Payload: []byte(`1`)}, {Consumer: "c", Automation: "a", Payload: []byte(`2`)},
		{Consumer: "c", Automation: "a", Payload: []byte(`3`)}}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := s.Accept(ctx, three)
			errs <- err
		}()
	}
	ok := 0
	for range 8 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case !errors.Is(err, ledger.ErrBacklog):
			t.Fatal(err)
		}
	}
	if ok != 3 {
		t.Errorf("%d accepts of 3 events went in under a bound of 10, want 3", ok)
	}
	leased := 0
	for {
		ls, err := s.Lease(ctx, 100, time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 0 {
			break
		}
		leased += len(ls)
	}
	if leased != 3*ok {
		t.Errorf("%d items stored, want %d", leased, 3*ok)
	}
}

// TestDepth: the queue depth follows every way an item comes and goes, without and after a
// restart (when it walks the ready keys until the consumers' counts are made), and stops at
// its limit.
func TestDepth(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(ctx, db, ledger.Options{}) // MaxWaiting 0: the counts are kept anyway
	if err != nil {
		t.Fatal(err)
	}
	depth := func(s *ledger.Embedded, want int) {
		t.Helper()
		if n, err := s.Depth(ctx, 1000); err != nil || n != want {
			t.Fatalf("depth %d (%v), want %d", n, err, want)
		}
	}
	leaseOf := func(consumer string) ledger.Lease {
		t.Helper()
		for {
			ls, err := s.Lease(ctx, 1, time.Minute, nil)
			if err != nil || len(ls) != 1 {
				t.Fatalf("lease: %v, %d leases", err, len(ls))
			}
			if ls[0].Item.Consumer == consumer {
				return ls[0]
			}
			if err := s.Release(ctx, ls[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	ack := func(l ledger.Lease, c ledger.Commit) {
		t.Helper()
		if err := s.Ack(ctx, l, c); err != nil {
			t.Fatal(err)
		}
	}
	depth(s, 0)
	for i, c := range []string{"c1", "c1", "c1", "c2", "c2"} {
		if _, err := s.Accept(ctx, []ledger.NewEvent{{Consumer: c, Automation: "a", Payload: []byte(fmt.Sprint(i))}}); err != nil {
			t.Fatal(err)
		}
	}
	depth(s, 5)
	if n, err := s.Depth(ctx, 2); err != nil || n != 2 {
		t.Fatalf("depth up to 2: %d (%v)", n, err)
	}
	l := leaseOf("c1")
	depth(s, 5) // a leased item is not settled
	ack(l, ledger.Commit{Disposition: ledger.Done})
	depth(s, 4)
	ack(leaseOf("c1"), ledger.Commit{Disposition: ledger.RetryAt, Due: time.Now(), LastError: "again"})
	depth(s, 4)
	dead := leaseOf("c2")
	ack(dead, ledger.Commit{Disposition: ledger.DeadLetter, LastError: "no"})
	depth(s, 3)
	if err := s.Requeue(ctx, "c2", dead.Item.ID); err != nil {
		t.Fatal(err)
	}
	depth(s, 4)
	ack(leaseOf("c2"), ledger.Commit{Disposition: ledger.Done, Next: []ledger.NewItem{{Automation: "a", Step: "s2"}, {Automation: "a", Step: "s3"}}})
	depth(s, 5)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = kv.Open(kv.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s, err = ledger.Open(ctx, db, ledger.Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 50 { // the first walks the keys and starts the counts; the later ones sum them
		depth(s, 5)
		time.Sleep(time.Millisecond)
	}
	for {
		ls, err := s.Lease(ctx, 10, time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 0 {
			break
		}
		for _, l := range ls {
			ack(l, ledger.Commit{Disposition: ledger.Done})
		}
	}
	depth(s, 0)
}
