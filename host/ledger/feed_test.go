package ledger_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

// TestActivityOfOlderDatabases: a consumer's feed written before it was an index (ax/ keys
// holding a copy of the entry) reads as it did, beside entries written now.
func TestActivityOfOlderDatabases(t *testing.T) {
	ctx := context.Background()
	db := openKV(t)
	seq := func(p string, n uint64) []byte { return binary.BigEndian.AppendUint64([]byte(p), n) }
	old := []byte("\x01" + `{"seq":1,"consumer":"c","kind":"run.succeeded","at":"2026-12-01T00:00:00Z","data":{"run":"r0"}}`)
	if err := db.Write(ctx, kv.Put(seq("ac/", 1), old), kv.Put(seq("ax/c/", 1), old)); err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(ctx, ledger.Activity{Consumer: "c", Kind: "run.failed", Data: []byte(`{"run":"r1"}`)}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Activity(ctx, "c", ledger.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 1 || got[0].Kind != "run.succeeded" || string(got[0].Data) != `{"run":"r0"}` ||
		got[1].Seq != 2 || got[1].Kind != "run.failed" || string(got[1].Data) != `{"run":"r1"}` {
		t.Errorf("feed of c: %+v", got)
	}
	// The new entry is stored once: its consumer's key is an index.
	if v, err := db.Get(seq("ax/c/", 2)); err != nil || len(v) != 0 {
		t.Errorf("ax/c/2: %q, %v; want an empty value", v, err)
	}
}
