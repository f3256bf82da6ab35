// Package token is the authentication material of the management API: the JWTs that consumers
// present, and the operator token that guards operator routes.
//
// It owns minting and verifying consumer JWTs ([Mint], [Verify]), the rule for what a consumer key
// may be ([ValidConsumer]), making an environment's signing secret ([NewSecret]), and making,
// storing, loading and comparing the operator token ([NewOperatorToken], [LoadOrCreateOperator],
// [Equal]). It leaves to others: storing environment secrets and choosing which environment's
// secret applies to a request (server, with keyring sealing them), taking the token out of the
// Authorization header and mapping errors to the management API's error catalog (api), and
// deciding what a consumer may do once identified. No exported signature mentions a type of
// github.com/golang-jwt/jwt/v5, which stays inside this package.
//
// Everything in this package is safe for concurrent use. It has no package state: every function
// works on its arguments alone, [Claims] is a plain value, and concurrent calls of
// [LoadOrCreateOperator] on the same path all return the same token (see "Why a hard link" below).
//
// # Consumer tokens
//
// A consumer token is a JWT (RFC 7519) signed with HMAC by its environment's secret, at least
// [MinSecretBytes] bytes (each environment has its own, so a token of one environment never
// verifies in another). The header's alg is HS256 or HS512. The claims are:
//
//	sub  the consumer key (required; see [ValidConsumer])
//	exp  expiry, seconds since the Unix epoch (required)
//	iat  issue time (set by [Mint]; not checked by [Verify])
//	nbf  not before (optional; honored when present)
//
// Other claims are ignored. [Verify] accepts expiry and not-before up to [Leeway] late, for clock
// skew between the machine that minted a token and the one verifying it.
//
// # Why the algorithm allowlist is fixed
//
// A JWT names its own algorithm, and that header is written by whoever presents the token. A
// verifier that lets the header choose can be tricked: alg "none" asks it to skip the signature,
// and alg "RS256" or "ES256" asks it to treat the key it holds as something else (algorithm
// confusion). So [Verify] accepts exactly HS256 and HS512, the two HMAC algorithms [Mint] uses,
// checks the header against that list before it looks at the key, and hands the secret only to
// an HMAC method. HS384 is refused even with the right secret: nothing mints it, and every
// accepted algorithm is one more path to review. The list is code, not configuration, so no
// setting can widen it.
//
// # Why strict decoding and a size cap
//
// [Verify] refuses tokens longer than [MaxTokenBytes] before parsing, which bounds the work an
// unauthenticated caller can cause (JSON decoding happens before the signature check). It
// decodes base64url strictly (no padding, no stray bits in the last character of a segment), so
// a signature has exactly one spelling: otherwise several different strings would verify as the
// same token, which defeats anything keyed on the token text, such as a revocation list or a
// cache.
//
// # Why errors carry reasons, not causes
//
// Every refusal of [Verify] is one short, fixed reason ("token: expired", "token: signature does
// not match", `token: algorithm "none" not allowed`) that wraps [ErrInvalid]. The errors of the
// JWT library are never wrapped, because some of them quote pieces of their input (JSON syntax
// errors, header values); no error of this package contains a token, a secret, a signature or a
// consumer key taken from a token. [ErrExpired] is wrapped as well only when the signature is
// right and expiry is the token's only fault, so that the API can say "expired" without telling a
// forger anything and without hiding a worse fault behind it.
//
// # Why the operator token is compared through SHA-256
//
// [crypto/subtle.ConstantTimeCompare] returns at once when its inputs differ in length, which
// tells a caller how long the token is. [Equal] compares the SHA-256 digests of both strings
// instead, which always have the same length. An empty expected token never matches, so an unset
// token cannot be "presented" by sending none.
//
// # Why a hard link
//
// [LoadOrCreateOperator] writes the new token to a temporary file in the target directory
// (0600, fsynced) and then publishes it with a hard link rather than a rename: a link fails when
// the file already exists, so when two processes (or goroutines) start at once the loser reads
// the winner's token instead of silently replacing a token the winner has already handed out.
// Where the file system cannot make hard links it falls back to rename, which is just as atomic
// but lets the last writer win. Either way no reader ever sees a partly written file.
package token
