// Package queue owns Splice's durable work queue: leasing work items, retrying them with backoff,
// and dead-lettering those that exhaust their attempts.
//
// This first part is the retry policy (Policy): when a failed item runs again, and when it is
// dead-lettered instead. The queue itself (items enqueued with their events, leases with a TTL,
// delayed items, fairness across consumers, dedupe) builds on package kv and follows.
//
// A Policy is a value; its methods are safe for concurrent use when given a rand source that is.
package queue
