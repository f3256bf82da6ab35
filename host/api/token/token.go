package token

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// Leeway is how late [Verify] still accepts a token after its exp, and how early before
	// its nbf, to absorb clock skew between the minting and the verifying machine.
	Leeway = 30 * time.Second

	// MaxTTL is the longest lifetime [Mint] gives a token.
	MaxTTL = 30 * 24 * time.Hour

	// MaxTokenBytes is the length of the longest token [Verify] parses; longer ones are refused
	// unread.
	MaxTokenBytes = 8 << 10

	// MinSecretBytes is the shortest environment secret [Mint] and [Verify] accept. [NewSecret]
	// makes secrets of exactly this length.
	MinSecretBytes = 32

	// maxConsumerBytes is the longest consumer key [ValidConsumer] accepts.
	maxConsumerBytes = 256
)

var (
	// ErrInvalid is wrapped by every error of [Verify]: the token must not be trusted. The
	// wrapping error's message names the reason and never contains the token or the secret.
	ErrInvalid = errors.New("token: invalid")

	// ErrExpired is wrapped, together with [ErrInvalid], when a token's signature is right and
	// its only fault is that it expired more than [Leeway] ago.
	ErrExpired = errors.New("token: expired")
)

// invalidError is a refusal of Verify. It is ErrInvalid, and also ErrExpired when expired is set.
type invalidError struct {
	reason  string // short, fixed or built from trusted values only
	expired bool
}

func (e *invalidError) Error() string { return "token: " + e.reason }

func (e *invalidError) Is(target error) bool {
	return target == ErrInvalid || (e.expired && target == ErrExpired)
}

func invalid(reason string) error { return &invalidError{reason: reason} }

// Claims is what a verified consumer token says. It is a plain value, safe to copy and share.
type Claims struct {
	// Consumer is the consumer key (the sub claim). [Verify] guarantees it passes
	// [ValidConsumer].
	Consumer string
	// Expires is the exp claim, in UTC and whole seconds. [Verify] guarantees it is set.
	Expires time.Time
	// IssuedAt is the iat claim, in UTC and whole seconds, or the zero time when the token has
	// none. [Verify] does not check it.
	IssuedAt time.Time
}

// Mint returns a consumer token for consumer, signed with secret, with iat = now and exp =
// now+ttl (both truncated to whole seconds). alg is "HS256" (also when empty) or "HS512". The
// same arguments always give the same token.
//
// # Errors
//
// Mint refuses any other alg, a ttl that is not positive or exceeds [MaxTTL], a secret shorter
// than [MinSecretBytes], and a consumer key that [ValidConsumer] refuses. Its errors never
// contain the secret.
func Mint(secret []byte, consumer string, ttl time.Duration, now time.Time, alg string) (string, error) {
	var method jwt.SigningMethod
	switch alg {
	case "", "HS256":
		method = jwt.SigningMethodHS256
	case "HS512":
		method = jwt.SigningMethodHS512
	default:
		return "", fmt.Errorf("token: mint: algorithm %q not supported (use HS256 or HS512)", alg)
	}
	if len(secret) < MinSecretBytes {
		return "", fmt.Errorf("token: mint: secret is %d bytes, need at least %d", len(secret), MinSecretBytes)
	}
	if ttl <= 0 || ttl > MaxTTL {
		return "", fmt.Errorf("token: mint: ttl %s out of range (0, %s]", ttl, MaxTTL)
	}
	if p := consumerProblem(consumer); p != "" {
		return "", fmt.Errorf("token: mint: consumer key %s", p)
	}
	claims := jwt.RegisteredClaims{
		Subject:   consumer,
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		IssuedAt:  jwt.NewNumericDate(now),
	}
	s, err := jwt.NewWithClaims(method, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("token: mint: %w", err)
	}
	return s, nil
}

// errNotHMAC is returned by Verify's key function when the method is not HMAC. The allowlist
// already excludes that; this is a second lock on the same door.
var errNotHMAC = errors.New("not an HMAC method")

// Verify checks token against secret at time now and returns its claims. It succeeds only when
// the token is at most [MaxTokenBytes] long, is a JWT in strict base64url, names HS256 or HS512
// in its header, carries a matching HMAC signature made with secret, has an exp no more than
// [Leeway] in the past, has no nbf more than [Leeway] in the future, has no crit header, and
// has a sub that passes [ValidConsumer].
//
// # Errors
//
// Every error wraps [ErrInvalid]; one whose token is right but for having expired also wraps
// [ErrExpired]. A secret shorter than [MinSecretBytes] is refused too (with ErrInvalid), since
// an empty or short HMAC key would let tokens be forged. Messages are short reasons such as
// "token: expired" or "token: signature does not match" and never contain the token, the secret
// or the signature.
func Verify(secret []byte, token string, now time.Time) (Claims, error) {
	switch {
	case len(secret) < MinSecretBytes:
		return Claims{}, invalid(fmt.Sprintf("secret is shorter than %d bytes", MinSecretBytes))
	case token == "":
		return Claims{}, invalid("empty")
	case len(token) > MaxTokenBytes:
		return Claims{}, invalid(fmt.Sprintf("longer than %d bytes", MaxTokenBytes))
	case strings.Count(token, ".") != 2:
		return Claims{}, invalid("malformed: not three dot-separated parts")
	}

	var rc jwt.RegisteredClaims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256", "HS512"}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithStrictDecoding(),
	)
	tok, err := p.ParseWithClaims(token, &rc, func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, errNotHMAC
		}
		return secret, nil
	})
	// The library validates claims only after the signature matched, and reports those
	// failures, and only those, as ErrTokenInvalidClaims. Anything else means the token is not
	// ours, and its claims must not be looked at.
	if err != nil && !errors.Is(err, jwt.ErrTokenInvalidClaims) {
		return Claims{}, unsigned(tok, err)
	}

	// The signature matched. Collect the token's faults, worst first.
	var reason string
	switch {
	case tok.Header["crit"] != nil:
		reason = "crit header not supported"
	case rc.Subject == "":
		reason = "sub claim missing or empty"
	case consumerProblem(rc.Subject) != "":
		reason = "sub claim is not a valid consumer key: it " + consumerProblem(rc.Subject)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) || rc.ExpiresAt == nil:
		reason = "exp claim missing"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		reason = "not valid yet (nbf is in the future)"
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, &invalidError{reason: "expired", expired: true}
	case err != nil:
		reason = "claims not valid"
	}
	if reason != "" {
		return Claims{}, invalid(reason)
	}

	c := Claims{Consumer: rc.Subject, Expires: rc.ExpiresAt.UTC()}
	if rc.IssuedAt != nil {
		c.IssuedAt = rc.IssuedAt.UTC()
	}
	return c, nil
}

// unsigned classifies an error of the JWT library raised before or by the signature check. It
// never wraps err, whose text may quote the token.
func unsigned(tok *jwt.Token, err error) error {
	var alg string
	if tok != nil && tok.Method != nil {
		alg = tok.Method.Alg() // a registered method's name, never free text from the token
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return invalid("malformed")
	case alg == "" && errors.Is(err, jwt.ErrTokenUnverifiable):
		return invalid("algorithm missing or not supported")
	case alg != "HS256" && alg != "HS512" && alg != "":
		return invalid(fmt.Sprintf("algorithm %q not allowed", alg))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return invalid("signature does not match")
	default:
		return invalid("not verifiable")
	}
}

// ValidConsumer returns nil when s may be a consumer key: 1 to 256 bytes of valid UTF-8, with no
// control characters and no white space at either end. Otherwise its error names the rule that
// s breaks, without quoting s.
func ValidConsumer(s string) error {
	if p := consumerProblem(s); p != "" {
		return errors.New("token: consumer key " + p)
	}
	return nil
}

// consumerProblem returns what is wrong with consumer key s (a phrase that follows "consumer
// key"), or "" when nothing is.
func consumerProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > maxConsumerBytes:
		return fmt.Sprintf("is longer than %d bytes", maxConsumerBytes)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "contains a control character"
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return "starts or ends with white space"
	}
	return ""
}

// NewSecret returns a new environment secret: [MinSecretBytes] bytes from crypto/rand.
func NewSecret() ([]byte, error) {
	b := make([]byte, MinSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("token: new secret: %w", err)
	}
	return b, nil
}
