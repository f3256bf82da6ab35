// Package kv is the host's embedded key-value store: one Badger database per environment
// (the caller picks its directory, <data>/envs/<env>/), written only through a group-commit
// batcher so that every acknowledged write has been fsynced.
//
// It owns Badger: it is the only package of the host that imports it, and no exported
// signature mentions a Badger type. It owns opening and closing the database, the batcher,
// point reads and prefix scans. It leaves the key layout, record encoding and the domain
// operations (events, queue, credentials, runs) to the packages above it.
//
// [*DB] is safe for concurrent use. [Op] and [KV] are plain values. A DB has two locks (the
// queue's and the one that guards reads against Close); they are never held together.
//
// # Why group commit
//
// Badger fsyncs only when SyncWrites is set, and with it one event per transaction reached
// about 1.9k events/s on a 2-core machine (more writers made it worse), because each
// transaction pays its own fsync. [DB.Write] hands its operations to one committer goroutine,
// which gathers the pending writes of many callers into one Badger transaction and pays one
// fsync for all of them. A caller returns only after the commit of the batch that holds its
// operations; a failed commit fails every caller of that batch, so no caller is ever told
// "durable" for operations that were not synced. The operations of one call always share one
// transaction: they are applied all together or not at all.
//
// Batches are cut by [Options.MaxBatchOps] and [Options.MaxBatchBytes], and by Badger's own
// transaction limit (about 4.8 MiB with the default 32 MiB memtable): when Badger refuses an
// operation as too big for the transaction, the batcher commits the calls gathered so far and
// starts another transaction with the rest.
//
// Because the committer is the only writer, Badger's conflict detection is switched off: no
// transaction ever reads what another writes.
//
// # Values in the value log
//
// Badger keeps values at or above its ValueThreshold in a separate value log, appended once and
// read by offset, with only a pointer in the LSM tree. kv leaves the threshold at Badger's
// default (1 MiB) and caps values below it ([Options.MaxValueBytes]), so that every value lives
// in the write-ahead log, unless [Options.ValueLogBytes] asks for a lower threshold. That pays
// under sustained writes: compactions rewrite the tree's data again and again as it grows, and
// with W1's records (about 5.5 KB per webhook, the larger ones events and step records) the
// storage's CPU time per webhook was 45 % lower over 400,000 webhooks (ledger's
// BenchmarkW1Storage), for twice the disk (values are not compressed there). It costs a
// second sync per commit (the value log's, then the write-ahead log's); with value-log files of
// 64 MiB (Badger syncs a file's whole mapping on every commit) W1's ack latency was no worse,
// its runs/s a few per cent lower on a fresh database.
//
// Badger reports a failed sync of the write-ahead log to the committer, but only logs a failed
// sync of the value log and lets the write succeed. kv's logger for Badger catches that line
// (Badger calls it from its write goroutine, before the commit returns) and marks the database
// broken: the commit in flight fails with [ErrValueLogSync], so its callers are never told
// "durable", and so does every later one until the database is reopened (Badger checks the
// value log's tail when it opens it); [DB.Health] reports it. A test pins the line in Badger's
// source. As with a failed write-ahead log sync, the failed commit's values may be visible to
// reads until the restart.
//
// # A full disk
//
// Badger extends its files without allocating their blocks and writes them through memory
// mappings, so on a full file system the kernel kills the process with SIGBUS in the middle of
// a write; no error reaches a caller. The committer therefore refuses every write with
// [ErrDiskFull] while the free space is under [Options.MinFreeBytes] (512 MiB by default), which
// also leaves room for Badger's own flushes and compactions; [DB.Health] says so, and writes
// resume by themselves once space is freed. A compaction that needs more than the reserve can
// still run out; the reserve bounds that risk, it does not remove it.
//
// # Notes
//
// A kill -9 of the process does not prove that writes were fsynced: Badger writes its logs
// through mmap, so the page cache keeps acknowledged data even without an fsync. The crash
// test proves that nothing acknowledged is lost across a kill; the fault-injection test of the
// batcher proves that a failed commit is never acknowledged; TestWriteReturnsAfterTheLogIsOnDisk
// asks the kernel (cachestat) whether any page of the logs, the value log's included, is still
// dirty when Write returns.
package kv
