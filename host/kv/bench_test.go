package kv_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/splicehq/splice/host/kv"
)

// BenchmarkWrite compares durable writes of 256-byte values by 8 concurrent writers: one Badger
// transaction (and fsync) per event, against the group-commit batcher. Both run with SyncWrites.
func BenchmarkWrite(b *testing.B) {
	const writers = 8
	value := make([]byte, 256)
	for _, bm := range []struct {
		mode  string
		write func(db *kv.DB, key []byte) error
	}{
		{"txn-per-event", func(db *kv.DB, key []byte) error { return kv.WriteTxnPerEvent(db, key, value) }},
		{"group-commit", func(db *kv.DB, key []byte) error {
			return db.Write(context.Background(), kv.Put(key, value))
		}},
	} {
		b.Run("mode="+bm.mode, func(b *testing.B) {
			db, err := kv.Open(kv.Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var seq atomic.Uint64
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := make([]byte, 8)
				for pb.Next() {
					binary.BigEndian.PutUint64(key, seq.Add(1))
					if err := bm.write(db, key); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
