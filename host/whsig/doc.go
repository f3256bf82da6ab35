// Package whsig verifies and produces webhook signatures in the Standard Webhooks scheme
// (https://www.standardwebhooks.com, symmetric "v1" signatures). The webhook ingress calls
// [Verify] before it stores anything: an error means the request is refused (401) and nothing
// is written.
//
// It owns the scheme's wire format: the names and syntax of the webhook-id, webhook-timestamp
// and webhook-signature headers, the signed content (id + "." + timestamp + "." + body), the
// HMAC-SHA256 signature and its "v1,<base64>" entry, the "whsec_" secret format, the timestamp
// [Tolerance], and the bounds on hostile headers. It leaves reading the headers and the raw body
// from the HTTP request, choosing the secret of an environment or automation, storing secrets,
// de-duplicating messages by webhook-id, and mapping errors to HTTP statuses to its callers
// (host/ingress). Asymmetric "v1a" (ed25519) signatures are not supported; such entries are
// ignored. It imports only the standard library.
//
// The package has no state: every function is safe for concurrent use, and [Headers] is a plain
// value. Time comes from the caller (the now argument of [Verify]), never from the package.
//
// # Why a bad key is ErrSecret and not ErrSignature
//
// [Verify] refuses a key outside 24 to 64 bytes with [ErrSecret] before looking at the request.
// A nil or empty key (a secret that was never configured, or a lookup bug) would otherwise
// verify signatures that anyone can compute, so the check fails closed; and it has its own
// sentinel so the ingress can answer such a request as its own fault (500) rather than the
// sender's (401).
//
// # Why ids may contain dots
//
// The specification asks senders not to put "." in message ids, because the signed content
// joins id, timestamp and body with dots: a signature over id "a", timestamp T1 and a body that
// starts with "T2." is also valid for id "a.T1", timestamp T2 and the rest of that body. Verify
// does not refuse dots all the same, since real senders' ids may contain them and refusing them
// would turn valid webhooks into 401s. The swap needs both timestamps within [Tolerance] and a
// body that begins with digits and a dot, which JSON bodies never do; the ingress must still
// treat the id as the sender's claim, not as proof of anything beyond the signed bytes.
//
// # Why the hostile-input bounds
//
// The headers reach Verify before anything is authenticated, so their cost is bounded first:
// the signature header to 4 KiB and 16 entries (one MAC is computed per request, whatever the
// number of entries), the id to 256 bytes without ASCII control characters (it is logged and
// stored as an idempotency key), and the timestamp to 1–19 ASCII digits (no sign, spaces,
// underscores or exponent). Header values are taken exactly as given: HTTP servers already trim
// the surrounding whitespace, so Verify does not trim again.
// Within the signature header, a run of spaces separates entries as one space does. A v1 entry
// whose signature is not canonical base64 of 32 bytes never matches but is not itself an error,
// so one corrupt entry cannot block a valid one sent beside it during key rotation; an entry
// without a comma, or with an empty version or signature, makes the whole header malformed.
package whsig
