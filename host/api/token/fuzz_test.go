package token_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/splicehq/splice/host/api/token"
)

// FuzzVerify checks that no input panics Verify, that every refusal is ErrInvalid with a short
// message, and that nothing verifies except the exact tokens minted here with the secret.
func FuzzVerify(f *testing.F) {
	minted := map[string]string{} // token -> consumer
	for _, tc := range []struct{ consumer, alg string }{{"acme", "HS256"}, {"globex", "HS512"}} {
		s, err := token.Mint(secret, tc.consumer, time.Hour, now, tc.alg)
		if err != nil {
			f.Fatal(err)
		}
		minted[s] = tc.consumer
		f.Add(s)
		parts := strings.Split(s, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(s[:len(s)-1])
		f.Add(strings.ToUpper(s))
	}
	claims := map[string]any{"sub": "acme", "exp": now.Add(time.Hour).Unix()}
	f.Add(handMade(f, map[string]any{"alg": "none", "typ": "JWT"}, claims, nil, nil))
	f.Add(handMade(f, map[string]any{"alg": "HS384"}, claims, sha512.New384, secret))
	f.Add(handMade(f, map[string]any{"alg": "RS256"}, claims, sha256.New, secret))
	f.Add(handMade(f, map[string]any{"alg": "HS256"}, claims, sha256.New, otherSecret))
	f.Add(hs256(f, map[string]any{"sub": "acme"}, otherSecret))
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Add(strings.Repeat(".", 100))

	f.Fuzz(func(t *testing.T, s string) {
		c, err := token.Verify(secret, s, now)
		if err == nil {
			consumer, ok := minted[s]
			if !ok {
				t.Fatalf("Verify accepted a token not minted here: %q", s)
			}
			if c.Consumer != consumer || !c.Expires.Equal(now.Add(time.Hour)) || !c.IssuedAt.Equal(now) {
				t.Fatalf("Verify returned claims %+v for the token of %q", c, consumer)
			}
			return
		}
		if !errors.Is(err, token.ErrInvalid) {
			t.Fatalf("Verify error %q is not ErrInvalid", err)
		}
		if c != (token.Claims{}) {
			t.Fatalf("Verify returned claims %+v with its error", c)
		}
		if msg := err.Error(); len(msg) > 100 || !strings.HasPrefix(msg, "token: ") {
			t.Fatalf("Verify error %q is not a short reason", msg)
		}
	})
}
