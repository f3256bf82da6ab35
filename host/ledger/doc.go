// Package ledger is what Splice persists in an environment, as domain operations: accepting
// trigger events (with dedupe) together with their work items, leasing and acknowledging work
// (the step's result and the next step in one commit), dead letters, runs with their steps and
// indexes, the activity feed, versioned objects with compare-and-swap (connectors, automations,
// trigger state, credentials), content-addressed blobs (modules), and the deletion of what has
// ended once a retention has passed ([Store.Prune], prune.go).
//
// [Store] is the contract; the engine and the API use it and never see a storage key. [Embedded]
// implements it over one environment's kv database (Badger) for a single process. A backend on a
// shared database (PostgreSQL, for several Splice nodes) would implement the same interface; the
// conformance tests in package ledgertest take any Store, so they can run on it as they run on
// Embedded. Credentials are sealed by package credential before they get here.
//
// The name: DESIGN.md calls this concern the store; STYLE.md keeps `store` for callers' locals.
//
// [Embedded] is safe for concurrent use. Its locks, in order: a run's lock (runLocks, held across
// the write of an Ack that stores the run), then the queue's (q.mu) or the feed's (feed.mu), never
// both of those, then the cache's (cache.mu), which is held for no call out; none is held while
// waiting for kv except the run lock and Prune's (pruning.mu, which serializes Prune calls and is
// held with no other).
//
// # Key layout
//
// Names (consumer keys, automation ids, dedupe keys, kinds, object ids) are path-escaped, so a
// component never contains '/' and no prefix overlaps another. Ids (events, items, runs) are
// [NewID]s: unix nanoseconds then random bytes in base32hex, so they sort by creation time. Numbers
// in keys are big-endian, so scans come in order. Every value is a record: one format byte (1)
// and JSON.
//
//	ev/<consumer>/<event id>                     event
//	dd/<consumer>/<automation>/<dedupe key>      dedupe: {event, at}, with a TTL of the retention
//	qi/<item id>                                 work item (waiting, or dead with Dead set)
//	qr/<consumer>/<due ns, 8 bytes><item id>     "" for each waiting item: by consumer, then due time
//	qd/<consumer>/<item id>                      "" for each dead item
//	ru/<consumer>/<run id>                       run
//	rs/<consumer>/<run id>/<step key>            step
//	ra/<consumer>/<automation>/<run id>          "" runs by automation
//	rt/<consumer>/<status>/<run id>              "" runs by status
//	ac/<seq, 8 bytes>                            activity entry
//	ax/<consumer>/<seq, 8 bytes>                 "" for each of a consumer's activity entries (older databases: a copy of it)
//	ob/<kind>/c<consumer>/<id>                   object {key, version, value} ("c" alone: the environment's)
//	bl/<sha256>/c/<index, 4 bytes>               blob chunk of 512 KiB
//	bl/<sha256>/h                                blob header {size, chunks}, written after the chunks
//
// Object kinds in use: "credential" (per consumer), "datakey" and "meta" (package credential),
// "connector" and "connector-version@<appKey>" (connector.Catalog).
//
// Secondary keys are written in the same commit as their primary, under the run's lock, so an
// index never names a run that is not stored nor misses one that is.
//
// # Why leases live in memory
//
// The embedded store belongs to one process (kv locks its directory), so the leases it hands out
// need not be written: an item is waiting on disk until the Ack that settles it, and the lease
// that keeps other workers off it is a map entry with an expiry. Leasing therefore costs a scan
// and no fsync; lease+ack costs one group commit. After a crash every lease is gone and every
// unsettled item is leasable at once, sooner than any TTL. A lease that expires (a stuck worker)
// makes its item leasable again; the old holder's Ack then fails with [ErrLeaseLost]. An Ack in
// flight pins its lease, so an item is never leased while its settlement is being written.
//
// The cost: attempts that end in a crash are not counted (only retries the engine records are),
// so an item that crashes the process every time it runs is retried forever rather than
// dead-lettered. A shared-database backend writes its leases and can count them.
//
// # Why objects are cached
//
// The embedded store is the only writer of its database, so it can keep copies of records in
// memory without asking the disk whether they changed. Objects (credentials, automations,
// connector versions, data keys) are read on every run, written rarely, and live deep in the LSM
// tree, where a read costs a seek in several tables: the store keeps them (cache.go, 4 MiB,
// random eviction). A read fills the cache; every write of an object (Put, Delete, an Ack's
// Forget) drops it before and after writing, and a read that began before a write cannot fill
// the cache with what it read (a generation per stripe of keys).
//
// Items and events, read once soon after they are written, are not cached: they are still in
// Badger's memtables then, where a read is cheap. A cache of them was measured (e2e W1, CPU per
// webhook) and made no difference.
//
// # Why most leases scan nothing
//
// A scan of a consumer's ready keys costs a Badger iterator over every table that may hold them,
// and settled items leave deletion markers there until compaction: under load it was the largest
// cost of a lease. Most consumers' queues, though, hold only items this process enqueued. Such a
// consumer is exact: its waiting items' ready keys are kept in memory too (hot.go), in key order,
// and take walks them instead of scanning. A consumer becomes exact when an item is enqueued for
// it while the queue knows of none waiting (a scan found none, or its hot set emptied); every
// write of a ready key (Accept, an Ack's next items and retries, Requeue) adds the key after the
// write, and the Ack that deletes one removes it, in the same critical section that ends its
// lease. Consumers found waiting at Open are not exact until their queue has emptied, nor is one
// whose keys would pass maxHotKeys (100,000 in all, about 10 MB): those scan as described below.
//
// # Why leasing is fair
//
// Waiting items are keyed by consumer first and due time second. Lease walks the consumers that
// have waiting items round-robin, from where the previous Lease stopped, and gives each an equal
// share of the items asked for; a consumer's scan stops at its first item not yet due. One
// consumer's backlog of 50,000 items costs another consumer's item at most one pass of the ring.
// Consumers with nothing due are skipped until the time they said (their first due item, or their
// first lease to expire), so delayed work costs nothing until it is due. Open finds the consumers
// with one seek each, not by reading the queue, which is what keeps a restart with a million
// waiting items fast. Within a consumer, items go by due time: an urgent item (NewEvent.Urgent, or
// a NewItem due at UrgentDue(now): a sync webhook's run) is due UrgentLead (a minute) before it
// was written, so it goes before every item that has waited less than that. Not before all of
// them: under a flood of sync webhooks that the workers cannot keep up with, the consumer's other
// items would then wait for as long as the flood lasts; this way they wait at most UrgentLead
// longer than they would have, and a sync caller (who waits 30 s at most by default) goes behind
// only items that have waited longer than it ever would.
package ledger
