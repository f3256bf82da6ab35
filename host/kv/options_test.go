package kv

import "testing"

func TestLevelZeroTables(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mem  int64
		want int
	}{
		{DefaultMemTableBytes, 10}, // the default: as much data in level 0 as Badger's defaults
		{64 << 20, 5},              // Badger's own memtable size, Badger's own count
		{48 << 20, 7},              // rounded up
		{256 << 20, 5},             // never fewer than Badger's
		{1 << 20, 20},              // never more than 20: every read looks into each
	} {
		if got := levelZeroTables(c.mem); got != c.want {
			t.Errorf("levelZeroTables(%d MiB) = %d, want %d", c.mem>>20, got, c.want)
		}
	}
}

// TestOpenSetsLevelZero checks that Badger gets the count, and room for three times as many
// tables before it stalls writes.
func TestOpenSetsLevelZero(t *testing.T) {
	t.Parallel()
	db, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := db.bdb.Opts()
	if o.NumLevelZeroTables != 10 || o.NumLevelZeroTablesStall != 30 {
		t.Errorf("level 0: %d tables, stall at %d; want 10 and 30", o.NumLevelZeroTables, o.NumLevelZeroTablesStall)
	}
}
