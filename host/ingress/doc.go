// Package ingress serves Splice's one port with github.com/valyala/fasthttp: webhooks at
// /hooks/{env}/{automationId}, and every other path through the management API's http.Handler
// (fasthttpadaptor). It is the only package besides server that imports fasthttp, and no exported
// signature mentions it.
//
// A webhook is answered only after its events are durably stored (Receiver.Receive returns after
// the group commit): 202 {"eventIds": [...]} for async automations; for sync ones, the run's
// respond step's reply or its output (or server-sent events when the caller accepts
// text/event-stream), within SyncWait. What arrives is copied out of fasthttp's reused buffers
// before anything keeps it. A Server is safe for concurrent use.
//
// # Why the body cap is set per route before the body is read
//
// fasthttp allocates a request's declared Content-Length before reading it, so a cap checked in
// the handler would come too late: a hostile sender could make the server allocate and read any
// size. The cap of /hooks/ (MaxBodyBytes) is given to fasthttp when the headers are in
// (HeaderReceived), so a larger declared body is refused with 413 unread, and a chunked one is cut
// off at the cap. Other routes (connector modules) get MaxAPIBodyBytes.
//
// # Overload
//
// Past MaxInFlight webhooks in hand, or MaxConns connections, a request is answered 503 with
// Retry-After at once: never a hang, never a silent drop. A webhook whose consumer has as many
// work items waiting as its environment's store allows (ledger.ErrBacklog) is answered 429 with
// Retry-After, nothing stored: the sender slows down, the other consumers carry on.
package ingress
