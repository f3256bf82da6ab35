// Package broker is a connector's only way to the network: it serves the splice_http host
// function (pdk/ABI.md, "Outbound HTTP") under the environment's rules and the connector's
// manifest, injects the consumer's credential, and records every exchange.
//
// It owns: decoding and checking the guest's request document; the URL rules (https unless the
// environment allows http, the manifest's hosts, ports, no user information); the headers a guest
// may not set (framing, hop-by-hop, proxy, Accept-Encoding); redirects, followed hop by hop under
// the same rules; the caps (per-request timeout within the call's deadline, request and
// decompressed response bytes, requests per call, requests in flight per consumer); credential
// injection (apiKey in a header or the query, basic, OAuth 2.0 bearer, {{credential.<field>}}
// placeholders) and OAuth 2.0 token refresh; masking secrets out of everything the guest and the
// records see; Retry-After of 429 and 503, surfaced to the engine through [Session.RetryAfter].
// Which network addresses may be reached is package netguard's (at resolution and at connect
// time). The sandbox calls a Session through its own small interface; the broker does not import
// the sandbox, nor the sandbox the broker: the engine hands a Session to each call.
//
// [Broker] and [Session] are safe for concurrent use. Broker's locks (the consumer slots' and
// the refresh flights') are never held together nor across I/O.
//
// # Why redirects are followed by hand
//
// net/http's client follows redirects itself and re-sends custom headers (an X-Api-Key, say) to
// the next host, and Extism's own http_request checked only the first host: a 302 to a host the
// connector may not call was followed. The broker turns automatic redirects off and treats each
// Location as a new request: the same URL, host and address checks, and the credential injected
// again only because the new host is one of the connector's (a hop anywhere else is refused, so
// no credential byte reaches it).
//
// # Why secrets are masked in responses too
//
// Injection keeps secrets out of the guest's request, but an upstream may echo a request back
// (debug endpoints do). Every value of the call's credential (and its URL-escaped, base64 and
// JSON-string forms, and the Basic pair) is replaced by "[redacted]" in the response the guest
// gets, in error messages and in the exchange records, so a secret never reaches guest memory,
// logs, errors or runs. Values shorter than 4 bytes are not masked (masking them would garble
// everything). A placeholder in a body is written escaped for the body's media type (JSON string,
// form), so a password holding a quote cannot break or inject into the connector's document.
//
// Placeholders are filled from the credential's secret fields only: the engine hands the broker
// every field a connector may name (a custom login's username too).
//
// # Why compression is left to net/http
//
// The transport asks for gzip itself and decompresses transparently; a guest may not send
// Accept-Encoding (it would switch that off). The body is read through a limit counted after
// decompression, so a small gzip bomb stops at MaxResponseBytes.
package broker
