package token_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/splicehq/splice/host/api/token"
)

var (
	// secret and otherSecret are two environments' secrets.
	secret      = []byte("environment-A-secret-0123456789abcdef")
	otherSecret = []byte("environment-B-secret-0123456789abcdef")
	// now is the fixed clock of these tests.
	now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

var b64 = base64.RawURLEncoding

// handMade builds a JWT by hand: header and claims as JSON, signed with HMAC of newHash over key
// (no signature when newHash is nil).
func handMade(t testing.TB, header, claims any, newHash func() hash.Hash, key []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	if newHash == nil {
		return input + "."
	}
	m := hmac.New(newHash, key)
	m.Write([]byte(input))
	return input + "." + b64.EncodeToString(m.Sum(nil))
}

// hs256 signs claims with HS256 and the header {"alg":"HS256","typ":"JWT"}.
func hs256(t testing.TB, claims any, key []byte) string {
	t.Helper()
	return handMade(t, map[string]any{"alg": "HS256", "typ": "JWT"}, claims, sha256.New, key)
}

func mint(t testing.TB, consumer string, ttl time.Duration, at time.Time) string {
	t.Helper()
	s, err := token.Mint(secret, consumer, ttl, at, "")
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return s
}

func TestMintVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		alg     string
		wantAlg string
	}{
		{name: "default", alg: "", wantAlg: "HS256"},
		{name: "HS256", alg: "HS256", wantAlg: "HS256"},
		{name: "HS512", alg: "HS512", wantAlg: "HS512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			minted := now.Add(1500 * time.Millisecond) // truncated to whole seconds in the token
			s, err := token.Mint(secret, "tenant-42 ünïcode", time.Hour, minted, tc.alg)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			header, err := b64.DecodeString(strings.Split(s, ".")[0])
			if err != nil {
				t.Fatal(err)
			}
			var h struct{ Alg, Typ string }
			if err := json.Unmarshal(header, &h); err != nil {
				t.Fatal(err)
			}
			if h.Alg != tc.wantAlg || h.Typ != "JWT" {
				t.Errorf("header = %s, want alg %s and typ JWT", header, tc.wantAlg)
			}

			got, err := token.Verify(secret, s, minted)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := token.Claims{
				Consumer: "tenant-42 ünïcode",
				Expires:  now.Add(time.Hour + time.Second),
				IssuedAt: now.Add(time.Second),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if got.Expires.Location() != time.UTC || got.IssuedAt.Location() != time.UTC {
				t.Errorf("claims times are not in UTC: %v, %v", got.Expires, got.IssuedAt)
			}
		})
	}
}

func TestMintDeterministic(t *testing.T) {
	t.Parallel()
	a := mint(t, "acme", time.Hour, now)
	b := mint(t, "acme", time.Hour, now)
	if a != b {
		t.Errorf("Mint gave two tokens for the same arguments")
	}
}

func TestMintRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		secret   []byte
		consumer string
		ttl      time.Duration
		alg      string
		want     string // part of the error message
	}{
		{name: "HS384", secret: secret, consumer: "acme", ttl: time.Hour, alg: "HS384", want: `algorithm "HS384" not supported`},
		{name: "RS256", secret: secret, consumer: "acme", ttl: time.Hour, alg: "RS256", want: `algorithm "RS256" not supported`},
		{name: "none", secret: secret, consumer: "acme", ttl: time.Hour, alg: "none", want: `algorithm "none" not supported`},
		{name: "lowercase alg", secret: secret, consumer: "acme", ttl: time.Hour, alg: "hs256", want: `algorithm "hs256" not supported`},
		{name: "nil secret", secret: nil, consumer: "acme", ttl: time.Hour, want: "secret is 0 bytes, need at least 32"},
		{name: "short secret", secret: secret[:31], consumer: "acme", ttl: time.Hour, want: "secret is 31 bytes, need at least 32"},
		{name: "zero ttl", secret: secret, consumer: "acme", ttl: 0, want: "ttl 0s out of range"},
		{name: "negative ttl", secret: secret, consumer: "acme", ttl: -time.Hour, want: "ttl -1h0m0s out of range"},
		{name: "ttl over 30 days", secret: secret, consumer: "acme", ttl: token.MaxTTL + time.Second, want: "out of range (0, 720h0m0s]"},
		{name: "empty consumer", secret: secret, consumer: "", ttl: time.Hour, want: "consumer key is empty"},
		{name: "control character", secret: secret, consumer: "acme\x00", ttl: time.Hour, want: "consumer key contains a control character"},
		{name: "leading space", secret: secret, consumer: " acme", ttl: time.Hour, want: "consumer key starts or ends with white space"},
		{name: "long consumer", secret: secret, consumer: strings.Repeat("a", 257), ttl: time.Hour, want: "consumer key is longer than 256 bytes"},
		{name: "invalid UTF-8", secret: secret, consumer: "acme\xff", ttl: time.Hour, want: "consumer key is not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := token.Mint(tc.secret, tc.consumer, tc.ttl, now, tc.alg)
			if err == nil {
				t.Fatalf("Mint succeeded with %q, want an error containing %q", s, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "token: mint: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Mint error = %q, want \"token: mint: ...%s...\"", err, tc.want)
			}
			if strings.Contains(err.Error(), string(secret[:8])) {
				t.Errorf("Mint error %q contains the secret", err)
			}
		})
	}
}

func TestMintMaxTTL(t *testing.T) {
	t.Parallel()
	s, err := token.Mint(secret, "acme", token.MaxTTL, now, "HS512")
	if err != nil {
		t.Fatalf("Mint with MaxTTL: %v", err)
	}
	c, err := token.Verify(secret, s, now.Add(token.MaxTTL-time.Second))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !c.Expires.Equal(now.Add(token.MaxTTL)) {
		t.Errorf("Expires = %v, want %v", c.Expires, now.Add(token.MaxTTL))
	}
}

// tamper changes one character of s at i to another base64url character.
func tamper(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	valid := mint(t, "acme", time.Hour, now)
	parts := strings.Split(valid, ".")
	exp := now.Add(time.Hour).Unix()
	okClaims := map[string]any{"sub": "acme", "exp": exp, "iat": now.Unix()}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for k, v := range okClaims {
			c[k] = v
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	otherSub, err := json.Marshal(with("sub", "globex"))
	if err != nil {
		t.Fatal(err)
	}
	// The last character of an HS256 signature carries 2 unused bits; setting one gives another
	// spelling of the same signature, which strict decoding refuses.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", valid[len(valid)-1])
	otherSpelling := valid[:len(valid)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last^1])

	for _, tc := range []struct {
		name    string
		token   string
		secret  []byte // default: secret
		at      time.Time
		want    string // the whole error message; "" when Verify must succeed
		expired bool   // the error must also be ErrExpired
	}{
		{name: "empty", token: "", want: "token: empty"},
		{name: "garbage", token: "not a token at all", want: "token: malformed: not three dot-separated parts"},
		{name: "two parts", token: parts[0] + "." + parts[1], want: "token: malformed: not three dot-separated parts"},
		{name: "four parts", token: valid + ".x", want: "token: malformed: not three dot-separated parts"},
		{name: "three parts of garbage", token: "a!.b?.c#", want: "token: malformed"},
		{name: "three empty parts", token: "..", want: "token: malformed"},
		{name: "header not JSON", token: b64.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], want: "token: malformed"},
		{name: "padded segment", token: parts[0] + "." + parts[1] + "=." + parts[2], want: "token: malformed"},
		{
			name:  "alg none",
			token: handMade(t, map[string]any{"alg": "none", "typ": "JWT"}, okClaims, nil, nil),
			want:  `token: algorithm "none" not allowed`,
		},
		{
			name:  "alg none with signature",
			token: handMade(t, map[string]any{"alg": "none", "typ": "JWT"}, okClaims, sha256.New, secret),
			want:  `token: algorithm "none" not allowed`,
		},
		{
			name:  "alg missing",
			token: handMade(t, map[string]any{"typ": "JWT"}, okClaims, sha256.New, secret),
			want:  "token: algorithm missing or not supported",
		},
		{
			name:  "alg unknown",
			token: handMade(t, map[string]any{"alg": "HS257", "typ": "JWT"}, okClaims, sha256.New, secret),
			want:  "token: algorithm missing or not supported",
		},
		{
			name:  "HS384 with the right secret",
			token: handMade(t, map[string]any{"alg": "HS384", "typ": "JWT"}, okClaims, sha512.New384, secret),
			want:  `token: algorithm "HS384" not allowed`,
		},
		{
			name:  "RS256 header, HMAC signature (algorithm confusion)",
			token: handMade(t, map[string]any{"alg": "RS256", "typ": "JWT"}, okClaims, sha256.New, secret),
			want:  `token: algorithm "RS256" not allowed`,
		},
		{
			name:  "ES256 header, HMAC signature (algorithm confusion)",
			token: handMade(t, map[string]any{"alg": "ES256", "typ": "JWT"}, okClaims, sha256.New, secret),
			want:  `token: algorithm "ES256" not allowed`,
		},
		{
			name:  "HS512 header, HS256 signature",
			token: handMade(t, map[string]any{"alg": "HS512", "typ": "JWT"}, okClaims, sha256.New, secret),
			want:  "token: signature does not match",
		},
		{name: "wrong secret", token: valid, secret: []byte(strings.Repeat("x", 32)), want: "token: signature does not match"},
		{name: "another environment's secret", token: valid, secret: otherSecret, want: "token: signature does not match"},
		{name: "short secret", token: valid, secret: secret[:31], want: "token: secret is shorter than 32 bytes"},
		{name: "empty secret", token: hs256(t, okClaims, nil), secret: []byte{}, want: "token: secret is shorter than 32 bytes"},
		{
			name:  "expired and wrong secret",
			token: mint(t, "acme", time.Hour, now.Add(-2*time.Hour)), secret: otherSecret,
			want: "token: signature does not match",
		},
		{
			name:  "expired",
			token: mint(t, "acme", time.Hour, now.Add(-2*time.Hour)),
			want:  "token: expired", expired: true,
		},
		{
			name:  "expired beyond leeway",
			token: hs256(t, with("exp", now.Add(-token.Leeway-time.Second).Unix()), secret),
			want:  "token: expired", expired: true,
		},
		{
			name:  "expired at the leeway",
			token: hs256(t, with("exp", now.Add(-token.Leeway).Unix()), secret),
			want:  "token: expired", expired: true,
		},
		{
			name:  "expired within leeway passes",
			token: hs256(t, with("exp", now.Add(-token.Leeway+time.Second).Unix()), secret),
		},
		{name: "missing exp", token: hs256(t, with("exp", nil), secret), want: "token: exp claim missing"},
		{name: "exp not a number", token: hs256(t, with("exp", "soon"), secret), want: "token: malformed"},
		{name: "missing sub", token: hs256(t, with("sub", nil), secret), want: "token: sub claim missing or empty"},
		{name: "empty sub", token: hs256(t, with("sub", ""), secret), want: "token: sub claim missing or empty"},
		{name: "sub not a string", token: hs256(t, with("sub", 42), secret), want: "token: malformed"},
		{
			name:  "sub with a control character",
			token: hs256(t, with("sub", "acme\u0007"), secret),
			want:  "token: sub claim is not a valid consumer key: it contains a control character",
		},
		{
			name:  "sub with trailing space",
			token: hs256(t, with("sub", "acme "), secret),
			want:  "token: sub claim is not a valid consumer key: it starts or ends with white space",
		},
		{
			name:  "sub too long",
			token: hs256(t, with("sub", strings.Repeat("a", 257)), secret),
			want:  "token: sub claim is not a valid consumer key: it is longer than 256 bytes",
		},
		{
			name:  "expired with a bad sub is not only expired",
			token: hs256(t, with("sub", "acme\n"), secret), at: now.Add(2 * time.Hour),
			want: "token: sub claim is not a valid consumer key: it contains a control character",
		},
		{
			name:  "nbf in the future",
			token: hs256(t, with("nbf", now.Add(time.Hour).Unix()), secret),
			want:  "token: not valid yet (nbf is in the future)",
		},
		{
			name:  "nbf just beyond leeway",
			token: hs256(t, with("nbf", now.Add(token.Leeway+time.Second).Unix()), secret),
			want:  "token: not valid yet (nbf is in the future)",
		},
		{
			name:  "nbf within leeway passes",
			token: hs256(t, with("nbf", now.Add(token.Leeway).Unix()), secret),
		},
		{
			name:  "expired and nbf in the future is not only expired",
			token: hs256(t, with("nbf", now.Add(3*time.Hour).Unix()), secret), at: now.Add(2 * time.Hour),
			want: "token: not valid yet (nbf is in the future)",
		},
		{
			name:  "crit header",
			token: handMade(t, map[string]any{"alg": "HS256", "typ": "JWT", "crit": []string{"b64"}, "b64": false}, okClaims, sha256.New, secret),
			want:  "token: crit header not supported",
		},
		{
			name:  "over 8 KiB, even signed",
			token: hs256(t, with("pad", strings.Repeat("p", token.MaxTokenBytes)), secret),
			want:  "token: longer than 8192 bytes",
		},
		{name: "signature tampered", token: tamper(valid, len(parts[0])+len(parts[1])+10), want: "token: signature does not match"},
		{name: "signature removed", token: parts[0] + "." + parts[1] + ".", want: "token: signature does not match"},
		{name: "signature with another spelling", token: otherSpelling, want: "token: malformed"},
		{
			name:  "claims tampered",
			token: parts[0] + "." + b64.EncodeToString(otherSub) + "." + parts[2],
			want:  "token: signature does not match",
		},
		{
			name:  "header tampered",
			token: b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"other"}`)) + "." + parts[1] + "." + parts[2],
			want:  "token: signature does not match",
		},
		{name: "header character flipped", token: tamper(valid, 3), want: "token: algorithm missing or not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, at := secret, now
			if tc.secret != nil {
				key = tc.secret
			}
			if !tc.at.IsZero() {
				at = tc.at
			}
			c, err := token.Verify(key, tc.token, at)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Consumer != "acme" {
					t.Errorf("Consumer = %q, want acme", c.Consumer)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify succeeded (claims %+v), want %q", c, tc.want)
			}
			if !errors.Is(err, token.ErrInvalid) {
				t.Errorf("Verify error %q is not ErrInvalid", err)
			}
			if got := errors.Is(err, token.ErrExpired); got != tc.expired {
				t.Errorf("errors.Is(%q, ErrExpired) = %v, want %v", err, got, tc.expired)
			}
			if err.Error() != tc.want {
				t.Errorf("Verify error = %q, want %q", err, tc.want)
			}
			if c != (token.Claims{}) {
				t.Errorf("Verify returned claims %+v with its error", c)
			}
			msg := err.Error()
			for _, leak := range append([]string{string(key)}, strings.Split(tc.token, ".")...) {
				if len(leak) >= 8 && strings.Contains(msg, leak) {
					t.Errorf("Verify error %q contains part of the token or the secret", msg)
				}
			}
		})
	}
}

func TestVerifyMaxTokenBytes(t *testing.T) {
	t.Parallel()
	// A signed token of exactly MaxTokenBytes passes; one byte more is refused.
	pad := ""
	var s string
	for {
		s = hs256(t, map[string]any{"sub": "acme", "exp": now.Add(time.Hour).Unix(), "pad": pad}, secret)
		if len(s) >= token.MaxTokenBytes {
			break
		}
		pad += "p"
	}
	if len(s) != token.MaxTokenBytes {
		t.Fatalf("could not build a token of exactly %d bytes (got %d)", token.MaxTokenBytes, len(s))
	}
	if _, err := token.Verify(secret, s, now); err != nil {
		t.Errorf("Verify of a %d-byte token: %v", len(s), err)
	}
	if _, err := token.Verify(secret, s+"A", now); err == nil || err.Error() != "token: longer than 8192 bytes" {
		t.Errorf("Verify of a %d-byte token = %v, want token: longer than 8192 bytes", len(s)+1, err)
	}
}

func TestVerifyIgnoresOtherClaims(t *testing.T) {
	t.Parallel()
	s := hs256(t, map[string]any{
		"sub": "acme", "exp": now.Add(time.Minute).Unix(),
		"iss": "someone", "aud": []string{"x", "y"}, "jti": "1", "custom": map[string]any{"a": 1},
	}, secret)
	c, err := token.Verify(secret, s, now)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := token.Claims{Consumer: "acme", Expires: now.Add(time.Minute)}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

func TestValidConsumer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    string
		ok   bool
	}{
		{name: "simple", s: "acme", ok: true},
		{name: "one byte", s: "a", ok: true},
		{name: "256 bytes", s: strings.Repeat("a", 256), ok: true},
		{name: "inner space", s: "acme corp", ok: true},
		{name: "unicode", s: "société-générale", ok: true},
		{name: "punctuation", s: "org:42/tenant_7@eu", ok: true},
		{name: "empty", s: ""},
		{name: "257 bytes", s: strings.Repeat("a", 257)},
		{name: "256 bytes of multibyte runes plus one", s: strings.Repeat("é", 128) + "a"},
		{name: "invalid UTF-8", s: "a\xc3"},
		{name: "NUL", s: "a\x00b"},
		{name: "tab inside", s: "a\tb"},
		{name: "newline", s: "a\nb"},
		{name: "DEL", s: "a\x7fb"},
		{name: "C1 control", s: "a\u0085b"},
		{name: "leading space", s: " a"},
		{name: "trailing space", s: "a "},
		{name: "trailing no-break space", s: "a\u00a0"},
		{name: "leading ideographic space", s: "\u3000a"},
		{name: "only space", s: " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := token.ValidConsumer(tc.s)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidConsumer(%q) = %v, want ok %v", tc.s, err, tc.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "token: consumer key ") {
				t.Errorf("ValidConsumer error = %q, want the prefix %q", err, "token: consumer key ")
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, err := token.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := token.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != token.MinSecretBytes || len(b) != token.MinSecretBytes {
		t.Fatalf("secrets of %d and %d bytes, want %d", len(a), len(b), token.MinSecretBytes)
	}
	if bytes.Equal(a, b) {
		t.Error("two secrets are equal")
	}
	s, err := token.Mint(a, "acme", time.Hour, now, "")
	if err != nil {
		t.Fatalf("Mint with a new secret: %v", err)
	}
	if _, err := token.Verify(b, s, now); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("a token of one new secret verified with another: %v", err)
	}
}

// TestVerifyConcurrent hammers Mint and Verify from many goroutines; run it with -race.
func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	const goroutines, loops = 16, 200
	done := make(chan error)
	for g := range goroutines {
		go func() {
			for i := range loops {
				own := (g+i)%2 == 0
				key := otherSecret
				if own {
					key = secret
				}
				s, err := token.Mint(key, "acme", time.Hour, now, "HS512")
				if err != nil {
					done <- err
					return
				}
				if _, err := token.Verify(key, s, now); err != nil {
					done <- err
					return
				}
				if _, err := token.Verify(secret, s, now); own != (err == nil) {
					done <- errors.New("a token verified with another environment's secret, or failed with its own")
					return
				}
			}
			done <- nil
		}()
	}
	for range goroutines {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
