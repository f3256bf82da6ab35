// Command splice-load is the load generator of the end-to-end benchmark (workload W1): it fires
// 1 KiB order webhooks at a URL and reports accepted/s and ack latency, plays the loopback "chat"
// upstream that counts the messages an automation posts, and runs the no-platform ceiling: a plain
// fasthttp handler doing the automation's work itself.
//
//	splice-load sink   [--listen 127.0.0.1:0] [--max-duration 10m]
//	splice-load native --upstream URL [--listen 127.0.0.1:0] [--max-duration 10m]
//	splice-load fire   --url URL [--connections 16] [--duration 10s] [--requests N] [--rate R]
//	                   [--timeout 5s] [--header k:v]... [--first-id 1] [--json]
//	splice-load count  --url http://127.0.0.1:PORT/count
//	splice-load e2e    --splice PATH --connectors DIR [--duration 10s] [--connections 64] [--json]
//	splice-load crash  --splice PATH --connectors DIR [--kills 5] [--interval 2s] [--json]
//
// The same building blocks are plain functions of this package so that tests and an orchestrator
// can run them in-process: runSink, runNative, fire, fetchCount, appendOrder and latencyHist.
// Servers (*sink, *native) are safe for concurrent use; fire may be called concurrently.
//
// Exit status: 0 on success, 1 when the run failed (or fire had no request accepted), 2 for usage
// errors, a refused URL among them.
//
// # Loopback only
//
// Every address this command listens on, every URL it sends to and every connection it dials must
// be a loopback address (127.0.0.0/8, ::1, or the name localhost). URLs are checked before any
// work starts, and the dialer checks the resolved address once more before connecting, so a name
// that resolves elsewhere is refused too. There is no flag to turn this off.
//
// # Why fasthttp and gjson here
//
// The native handler is the ceiling Splice is measured against, so it uses the libraries Splice's
// own ingress and mapping use (fasthttp, gjson), with nothing around them. The load generator uses
// fasthttp's client for the same reason any benchmark client should be cheaper than the server it
// measures. host/layers_test.go confines both libraries to their owner packages and walks cmd/ too;
// its owners map lists cmd/splice-load, a benchmark tool rather than part of the runtime.
//
// # Why the duration does not cut requests
//
// --duration bounds when requests start; a request in flight when it ends gets until its own
// --timeout to be answered. Cutting it off would leave the server with work the report does not
// count, so "upstream messages received == accepted" could not hold. fire therefore returns at
// most duration + timeout after it started.
//
// # Why the crash test tallies idempotency keys
//
// A kill between an action's call and the commit that records it makes the action run again
// after the restart: at least once is what Splice promises, with an idempotency key that is the
// same on the retry so that the upstream can tell. The sink therefore keeps, per order, the
// Idempotency-Key headers its messages came with. An order posted twice under one key is a retry
// (allowed, reported); under two keys it is one webhook run as two runs, which no upstream could
// tell from two orders, and fails the test, as a lost webhook does.
//
// # Why a histogram
//
// Runs are bounded (10 minutes, 10 million requests) but still too large to keep every sample.
// Each connection records into its own log-linear histogram (128 linear buckets per power of two:
// under 0.4% error at the bucket midpoint), merged at the end; min and max are exact.
package main
