package ledger_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "ledger-example")
	defer os.RemoveAll(dir)
	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	s, err := ledger.Open(ctx, db, ledger.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	// A webhook delivered twice: the second delivery is a duplicate of the first.
	hook := ledger.NewEvent{Consumer: "acme", Automation: "orders-to-chat", DedupeKey: "msg_2Kx", Payload: []byte(`{"order":{"id":42}}`)}
	first, _ := s.Accept(ctx, []ledger.NewEvent{hook})
	again, _ := s.Accept(ctx, []ledger.NewEvent{hook})
	fmt.Println("duplicate:", again[0].Duplicate, again[0].ID == first[0].ID)

	// A worker leases the event's item and settles it with the run's record in one commit.
	ls, _ := s.Lease(ctx, 10, time.Minute, nil)
	l := ls[0]
	runID := ledger.NewID(time.Now())
	err = s.Ack(ctx, l, ledger.Commit{
		Run:   &ledger.Run{ID: runID, Automation: l.Item.Automation, Event: l.Item.Event, Status: ledger.Succeeded},
		Steps: []ledger.Step{{Run: runID, Key: "notify", Data: []byte(`{"output":{"sent":true}}`)}},
	})
	r, _ := s.Run(ctx, "acme", runID)
	fmt.Println("leased:", len(ls), "run:", r.Status, err)
	// Output:
	// duplicate: true true
	// leased: 1 run: succeeded <nil>
}
