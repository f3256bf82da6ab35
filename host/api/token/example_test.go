package token_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/splicehq/splice/host/api/token"
)

// ExampleMint mints a consumer token with an environment's secret and verifies it, first while
// it is fresh and then after it has expired.
func ExampleMint() {
	// Each environment has its own secret; token.NewSecret makes one. A fixed one keeps the
	// output stable.
	secret := []byte("an environment secret of 32+ bytes, kept in the keyring")
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

	tok, err := token.Mint(secret, "acme", time.Hour, now, "HS256")
	if err != nil {
		panic(err)
	}

	claims, err := token.Verify(secret, tok, now.Add(10*time.Minute))
	if err != nil {
		panic(err)
	}
	fmt.Println("consumer:", claims.Consumer)
	fmt.Println("issued:  ", claims.IssuedAt.Format(time.RFC3339))
	fmt.Println("expires: ", claims.Expires.Format(time.RFC3339))

	_, err = token.Verify(secret, tok, now.Add(2*time.Hour))
	fmt.Println("later:   ", err)
	fmt.Println("invalid: ", errors.Is(err, token.ErrInvalid), "expired:", errors.Is(err, token.ErrExpired))

	_, err = token.Verify([]byte("another environment's secret, 32+ bytes"), tok, now)
	fmt.Println("elsewhere:", err)
	// Output:
	// consumer: acme
	// issued:   2025-06-01T12:00:00Z
	// expires:  2025-06-01T13:00:00Z
	// later:    token: expired
	// invalid:  true expired: true
	// elsewhere: token: signature does not match
}

// ExampleLoadOrCreateOperator generates the operator token on first start and reads it back on
// the next.
func ExampleLoadOrCreateOperator() {
	dir, err := os.MkdirTemp("", "token")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state", "operator.token")

	tok, created, err := token.LoadOrCreateOperator(path)
	if err != nil {
		panic(err)
	}
	fmt.Println("first start, created:", created)

	again, created, err := token.LoadOrCreateOperator(path)
	if err != nil {
		panic(err)
	}
	fmt.Println("next start, created:", created)
	fmt.Println("same token:", again == tok)
	fmt.Println("presented token accepted:", token.Equal(again, tok))
	// Output:
	// first start, created: true
	// next start, created: false
	// same token: true
	// presented token accepted: true
}
