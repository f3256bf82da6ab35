// Package engine turns trigger events into runs. Its workers lease work items from the
// environment's store (package ledger), run the step an item names — a connector's transform or
// action (through the sandbox, with a broker session for its HTTP), a filter, a forEach, a
// respond — and the steps it may chain after it, and settle the item with the step records, the
// run's status and the next item in one commit.
//
// It owns the run's progress: starting a run for an event, mapping each step's inputs from the
// trigger and the earlier steps (package mapping, compiled by package automation; a path that
// reads nothing maps to null, and fails the step as invalid_input where the connector's
// inputSchema lists the value in required), validating
// inputs and outputs against the connector's schemas, the idempotency key of each action call,
// classifying failures (timeouts, 5xx, 429 and connection errors retry with backoff; validation
// and guest errors do not), the dead letter and Replay, and the activity entries of runs. Which
// automations and connectors exist is asked of the Automations and Connectors it is given; the
// HTTP rules are the broker's.
//
// An *Engine is safe for concurrent use. Its lock mu guards the per-consumer counts and the
// shutdown signal; watch.mu guards the watches of events (Watch). Neither is held across I/O nor
// while the other is held.
//
// # Why watches live in memory
//
// A sync webhook caller waits for its event's run on the process that accepted it, so Watch is
// fed by the commits of this engine, after they are durable: a watch never reports what a crash
// could undo. The caller registers once Accept returned, and a quick run may have ended by then,
// so the reply and end of sync automations' runs are kept for a while (the last 4,096).
// Reading a run after a restart is the API's business, from the store.
//
// # Why steps are chained, and where a chain stops
//
// A commit is an fsync'd write and a lease is a scan of the queue; one of each per step made
// them the largest cost of a short run (start, transform, action: three commits). So an item
// runs its step and goes on with the next ones in the same lease, and one commit stores their
// records. What a step's commit promised still holds at the points that matter:
//
//   - An action's success is committed before any other action starts: a chain stops before a
//     second action (or a forEach, or a call, which need an item of their own). A crash re-runs
//     at most one action, with the same idempotency key, as it always could (a crash between the
//     call and its commit); the pure steps before it (transforms, filters, responds) run again
//     and give the same result. That holds for the chain that starts a run too, whose commit
//     creates the run record: the run's id is the id of the item that starts it, not a new one
//     per attempt, so the key (derived from the run id) is the same on the retry.
//   - A step that fails inside a chain settles the steps before it, and the item is kept at the
//     failed step (ledger.Commit.Advance), its attempts counted from there: the retry and a
//     replay run that step and nothing before it.
//   - A chain stops after maxChain steps and once it has held its lease for a quarter of the
//     lease TTL, so a long automation neither outlives its lease nor keeps a worker from the
//     queue's round-robin for long.
//
// Each commit stores the records of its steps and the next item together, so a crash between
// two commits neither re-runs a committed step nor skips the next: the next item is either in
// the store or the finished steps' item still is. A replay re-queues the dead-lettered item of
// the failed step; the steps before it keep their records and feed the mapping as before.
//
// # Why a forEach runs in one item
//
// A forEach runs its items inside the one work item of its step, Concurrency at a time, and keeps
// each item's progress (the outputs of its completed nested steps) in a store object written as
// each nested step completes, extending its lease meanwhile. A failure of one item retries the
// whole step, and the retry skips what the progress objects say is done, so no completed nested
// step runs twice; the join after the last item needs no counter shared between work items. The
// cost: one item's failure holds back the forEach's completion until its retry.
//
// A forEach nested in a forEach (at most automation.MaxForEachDepth deep) runs inside the outer
// item the same way, its progress objects named by the index path (run/step/2.5); the outermost
// forEach's settling commit deletes every progress object of the step (ledger.Commit.Forget), so
// they live exactly as long as the step may be retried or replayed. MaxForEachItems bounds the
// items of the outermost forEach and all those nested in it together. Inside a forEach, item is
// the innermost forEach's item; a call step cannot run inside a forEach (automation.Compile
// refuses it: its run would be a join across work items).
//
// # Why a call waits without a worker
//
// A call step creates the called automation's run (its trigger is the step's input) and settles
// its own item; the called run's last commit enqueues the call step again with the outcome, and
// the caller goes on from there. No worker blocks on another run, so runs calling runs cannot
// exhaust the workers; MaxCallDepth stops runs that call themselves. Replaying a caller that its
// callee failed replays the callee, whose end resumes the caller with a new item; a resume item
// for a call step that already resumed is stale and dropped.
//
// # Quotas
//
// Two per-consumer quotas keep one consumer from taking the environment: MaxPerConsumer items in
// flight (default half the workers) and, when RatePerConsumer is set, a token bucket of items
// started per second (golang.org/x/time/rate, on the engine's clock). Workers lease with the
// consumers at their concurrency quota skipped (ledger.Store.Lease's skip), so that an idle
// worker does not take such a consumer's item only to give it back; the end of an item wakes
// one idle worker, since a slot may have freed. An item over a quota all the same (its rate
// quota, or a slot another worker took meanwhile) is given back to the store at once (no
// attempt counted) and the worker moves on; the store's round-robin then offers the other
// consumers' items first.
package engine
