package kv_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
)

// BenchmarkWrite measures durable accepts of 1 KiB events (SyncWrites on: each commit is an fsync)
// at 1, 16, 64 and 256 concurrent writers: one Badger transaction per event (the baseline, through
// Badger directly) against the group-commit batcher. It reports events/s and the p50 and p99
// latency of one acknowledged write.
func BenchmarkWrite(b *testing.B) {
	value := make([]byte, 1024)
	for _, writers := range []int{1, 16, 64, 256} {
		for _, bm := range []struct {
			mode  string
			write func(db *kv.DB, key []byte) error
		}{
			{"txn-per-event", func(db *kv.DB, key []byte) error { return kv.WriteTxnPerEvent(db, key, value) }},
			{"group-commit", func(db *kv.DB, key []byte) error {
				return db.Write(context.Background(), kv.Put(key, value))
			}},
		} {
			b.Run(fmt.Sprintf("writers=%d/mode=%s", writers, bm.mode), func(b *testing.B) {
				db, err := kv.Open(kv.Options{Dir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				var next atomic.Int64
				lat := make([][]time.Duration, writers)
				var wg sync.WaitGroup
				b.ReportAllocs()
				b.ResetTimer()
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func(w int) {
						defer wg.Done()
						key := make([]byte, 8)
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							binary.BigEndian.PutUint64(key, uint64(i))
							start := time.Now()
							if err := bm.write(db, key); err != nil {
								b.Error(err)
								return
							}
							lat[w] = append(lat[w], time.Since(start))
						}
					}(w)
				}
				wg.Wait()
				b.StopTimer()
				all := slices.Concat(lat...)
				slices.Sort(all)
				if len(all) > 0 {
					b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
