package whsig

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far a webhook-timestamp may lie from the verifier's clock, in either direction,
// for [Verify] to accept it. A timestamp exactly Tolerance away is accepted; one a second more
// is refused.
const Tolerance = 5 * time.Minute

// The names of the three headers of the scheme. HTTP header names are case-insensitive; these
// are the spellings the Standard Webhooks specification uses.
const (
	// HeaderID is the name of the header that carries the message id ([Headers.ID]).
	HeaderID = "webhook-id"
	// HeaderTimestamp is the name of the header that carries the Unix time of the attempt
	// ([Headers.Timestamp]).
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature is the name of the header that carries the signature list
	// ([Headers.Signature]).
	HeaderSignature = "webhook-signature"
)

// Limits on secrets and on hostile headers. They are documented on ParseSecret and Verify.
const (
	secretPrefix       = "whsec_"
	minKeyLen          = 24
	maxKeyLen          = 64
	maxSignatureHeader = 4 << 10
	maxEntries         = 16
	maxIDLen           = 256
	maxTimestampDigits = 19
	signatureVersion   = "v1"
	encodedMACLen      = (sha256.Size + 2) / 3 * 4 // 44: padded base64 of 32 bytes

	// maxUnix is the largest Unix time in seconds that [time.Unix] represents without
	// overflowing its internal count of seconds since year 1.
	maxUnix = math.MaxInt64 - 62135596800
)

var (
	// ErrMissing reports that one of the three headers is absent or empty. Every error of
	// [Verify] for that case wraps it.
	ErrMissing = errors.New("whsig: missing header")
	// ErrTimestamp reports that the webhook-timestamp header is not 1 to 19 ASCII digits, or
	// lies more than [Tolerance] away from the verifier's clock. Every error of [Verify] for
	// those cases wraps it.
	ErrTimestamp = errors.New("whsig: bad timestamp")
	// ErrSignature reports that the request is not authentic: no v1 entry of the
	// webhook-signature header matches, or the webhook-signature or webhook-id header is
	// malformed or over its size limit. Every error of [Verify] for those cases wraps it.
	ErrSignature = errors.New("whsig: bad signature")
	// ErrSecret reports a secret that [ParseSecret] refuses, or a key passed to [Verify] whose
	// length is outside 24 to 64 bytes. It means a configuration fault, not a bad request.
	ErrSecret = errors.New("whsig: invalid secret")
)

// Headers holds the values of the three headers of one webhook request, exactly as received
// (the caller only looks them up; Verify does the checking). A Headers is a plain value.
type Headers struct {
	// ID is the webhook-id header: the message id, stable across retries of one message.
	ID string
	// Timestamp is the webhook-timestamp header: Unix seconds of this attempt, in decimal.
	Timestamp string
	// Signature is the webhook-signature header: space-separated "version,base64" entries.
	Signature string
}

// ParseSecret decodes a signing secret written as "whsec_" followed by standard base64 with
// padding (the prefix may be left out) and returns the key bytes for [Sign] and [Verify].
//
// # Errors
//
// It refuses, with an error wrapping [ErrSecret], a secret that is empty, that contains any
// byte outside the standard base64 alphabet (including whitespace such as a trailing newline
// from a file), that is not canonical padded base64, or whose key is shorter than 24 bytes or
// longer than 64 bytes. The bounds are those of the Standard Webhooks specification (at least
// 192 bits, at most 512): a shorter key weakens the MAC, and a key longer than SHA-256's
// 64-byte block would be hashed down by HMAC anyway, so it only suggests a mistake (a
// different secret format pasted in). No error contains the secret or any part of it.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimPrefix(s, secretPrefix)
	if s == "" {
		return nil, fmt.Errorf("%w: secret is empty", ErrSecret)
	}
	for i := 0; i < len(s); i++ {
		if !isBase64Byte(s[i]) {
			return nil, fmt.Errorf("%w: secret has a character at offset %d that is not standard base64", ErrSecret, i)
		}
	}
	key, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		// err names an offset only, never the input.
		return nil, fmt.Errorf("%w: secret is not padded standard base64: %v", ErrSecret, err)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, fmt.Errorf("%w: secret decodes to %d bytes, want %d to %d", ErrSecret, len(key), minKeyLen, maxKeyLen)
	}
	return key, nil
}

// isBase64Byte reports whether c belongs to the standard base64 alphabet or is padding.
func isBase64Byte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
}

// NewSecret returns a fresh signing secret: "whsec_" followed by the standard base64 of 32
// bytes from crypto/rand. [ParseSecret] accepts every secret it returns.
//
// # Errors
//
// It returns an error only if the system's random source fails; since Go 1.24 crypto/rand
// crashes the program instead, so the error is nil in practice. The result is never partial.
func NewSecret() (string, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", fmt.Errorf("whsig: new secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key[:]), nil
}

// Sign returns the v1 signature entry ("v1," followed by standard base64 of the HMAC-SHA256)
// of the message id, sent at ts (truncated to Unix seconds), with the given body, under key.
// The entry goes into the webhook-signature header, alone or space-separated from others,
// with id in webhook-id and strconv.FormatInt(ts.Unix(), 10) in webhook-timestamp.
//
// # Notes
//
// Sign does not check its inputs: it signs any key, id and time. [Verify] accepts the result
// only if key is 24 to 64 bytes (as [ParseSecret] returns), id is a valid webhook-id (1 to
// 256 bytes, no control characters) and ts is at or after 1970 and within [Tolerance] of the
// verifier's clock.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	return signatureVersion + "," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(ts.Unix(), 10), body))
}

// mac returns HMAC-SHA256 under key of id + "." + ts + "." + body.
func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify returns nil only if body, with headers h, was signed with key by [Sign] (or any
// Standard Webhooks sender) within [Tolerance] of now: that is, if at least one v1
// entry of h.Signature is the HMAC-SHA256 of h.ID + "." + h.Timestamp + "." + body under key,
// compared in constant time; entries of other versions (such as the asymmetric "v1a") are
// ignored. now is the caller's clock, normally time.Now(). body is used as received: it must
// be the raw request body, not a re-encoding of it.
//
// # Errors
//
// The checks run in this order, and the first failure is returned, wrapping one sentinel:
//
//   - [ErrSecret]: key is shorter than 24 or longer than 64 bytes (a configuration fault; an
//     empty key would let anyone forge signatures).
//   - [ErrMissing]: h.ID, h.Timestamp or h.Signature is empty.
//   - [ErrSignature]: h.ID is over 256 bytes or contains an ASCII control character.
//   - [ErrTimestamp]: h.Timestamp is not 1 to 19 ASCII digits, or is more than [Tolerance]
//     before or after now.
//   - [ErrSignature]: h.Signature is over 4 KiB, has more than 16 entries, has an entry that
//     is not "version,signature" with both parts non-empty, or has no v1 entry that matches.
//
// No error contains the key, the expected signature, or the header values; errors name the
// header and, for the timestamp, how far it is off.
func Verify(key []byte, h Headers, body []byte, now time.Time) error {
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return fmt.Errorf("%w: key is %d bytes, want %d to %d", ErrSecret, len(key), minKeyLen, maxKeyLen)
	}
	for _, f := range []struct{ name, value string }{
		{HeaderID, h.ID}, {HeaderTimestamp, h.Timestamp}, {HeaderSignature, h.Signature},
	} {
		if f.value == "" {
			return fmt.Errorf("%w: %s is empty or absent", ErrMissing, f.name)
		}
	}
	if err := checkID(h.ID); err != nil {
		return err
	}
	if err := checkTimestamp(h.Timestamp, now); err != nil {
		return err
	}
	sigs, err := v1Signatures(h.Signature)
	if err != nil {
		return err
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: %s has no v1 entry", ErrSignature, HeaderSignature)
	}
	want := mac(key, h.ID, h.Timestamp, body)
	var got [sha256.Size + 1]byte // base64 decoding of encodedMACLen characters needs one spare byte
	strict := base64.StdEncoding.Strict()
	ok := false
	for _, s := range sigs {
		// An entry that is not canonical base64 of a SHA-256 MAC cannot match; it is not an
		// error of its own, so one corrupt entry among valid ones does not stop rotation.
		if len(s) != encodedMACLen {
			continue
		}
		n, err := strict.Decode(got[:], []byte(s))
		if err != nil || n != len(want) {
			continue
		}
		// Every entry is compared, even after a match, so timing does not reveal which
		// entry matched.
		if hmac.Equal(got[:n], want) {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: no v1 entry of %s matches", ErrSignature, HeaderSignature)
	}
	return nil
}

// checkID refuses a webhook-id that is too long or contains control characters.
func checkID(id string) error {
	if len(id) > maxIDLen {
		return fmt.Errorf("%w: %s is %d bytes, over %d", ErrSignature, HeaderID, len(id), maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %s has a control character at offset %d", ErrSignature, HeaderID, i)
		}
	}
	return nil
}

// checkTimestamp refuses a webhook-timestamp that is not 1 to 19 ASCII digits or lies more
// than Tolerance from now.
func checkTimestamp(ts string, now time.Time) error {
	if len(ts) > maxTimestampDigits {
		return fmt.Errorf("%w: %s has %d characters, over %d digits", ErrTimestamp, HeaderTimestamp, len(ts), maxTimestampDigits)
	}
	for i := 0; i < len(ts); i++ {
		if c := ts[i]; c < '0' || c > '9' {
			return fmt.Errorf("%w: %s is not decimal digits", ErrTimestamp, HeaderTimestamp)
		}
	}
	// 19 digits can exceed int64; such a time is also far outside any tolerance.
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec > maxUnix {
		return fmt.Errorf("%w: %s is out of range", ErrTimestamp, HeaderTimestamp)
	}
	// sec is within time.Unix's range, and Time.Sub saturates, so this cannot overflow.
	switch skew := now.Sub(time.Unix(sec, 0)); {
	case skew > Tolerance:
		return fmt.Errorf("%w: %s is %v in the past, over the tolerance of %v", ErrTimestamp, HeaderTimestamp, skew, Tolerance)
	case skew < -Tolerance:
		return fmt.Errorf("%w: %s is %v in the future, over the tolerance of %v", ErrTimestamp, HeaderTimestamp, -skew, Tolerance)
	}
	return nil
}

// v1Signatures splits a webhook-signature header into its entries, checks their shape and
// the header's bounds, and returns the signature parts of the v1 entries.
func v1Signatures(header string) ([]string, error) {
	if len(header) > maxSignatureHeader {
		return nil, fmt.Errorf("%w: %s is %d bytes, over %d", ErrSignature, HeaderSignature, len(header), maxSignatureHeader)
	}
	var sigs []string
	entries := 0
	for rest := header; rest != ""; {
		var entry string
		entry, rest, _ = strings.Cut(rest, " ")
		if entry == "" { // a run of spaces separates entries as one space does
			continue
		}
		entries++
		if entries > maxEntries {
			return nil, fmt.Errorf("%w: %s has more than %d entries", ErrSignature, HeaderSignature, maxEntries)
		}
		version, sig, found := strings.Cut(entry, ",")
		if !found || version == "" || sig == "" {
			return nil, fmt.Errorf("%w: %s entry %d is not \"version,signature\"", ErrSignature, HeaderSignature, entries)
		}
		if version == signatureVersion {
			sigs = append(sigs, sig)
		}
	}
	return sigs, nil
}
