package token_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/splicehq/splice/host/api/token"
)

func TestNewOperatorToken(t *testing.T) {
	t.Parallel()
	a, err := token.NewOperatorToken()
	if err != nil {
		t.Fatal(err)
	}
	b, err := token.NewOperatorToken()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two operator tokens are equal")
	}
	for _, s := range []string{a, b} {
		rest, ok := strings.CutPrefix(s, "spo_")
		if !ok {
			t.Fatalf("operator token does not start with spo_")
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
		if err != nil || len(raw) != 32 {
			t.Errorf("operator token body is %d bytes (err %v), want 32 bytes of unpadded base64url", len(raw), err)
		}
		if len(s) != 47 {
			t.Errorf("operator token is %d characters, want 47", len(s))
		}
	}
}

// writeFile writes text to name in a new directory with exactly perm.
func writeFile(t *testing.T, text string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "operator.token")
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's mode is filtered by umask
		t.Fatal(err)
	}
	return path
}

func TestLoadOrCreateOperator(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state", "api") // neither exists yet
	path := filepath.Join(dir, "operator.token")

	tok, created, err := token.LoadOrCreateOperator(path)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	if !created {
		t.Error("first call: created = false, want true")
	}
	if !strings.HasPrefix(tok, "spo_") || len(tok) != 47 {
		t.Errorf("first call: token of %d characters, want a generated spo_ token", len(tok))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file permissions = %#o, want 0600", perm)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm&^0o700 != 0 {
		t.Errorf("created directory permissions = %#o, want 0700 or stricter", perm)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != tok+"\n" {
		t.Errorf("token file does not hold the token and a newline")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the token file (no temporary files)", len(entries))
	}

	again, created, err := token.LoadOrCreateOperator(path)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if created {
		t.Error("second call: created = true, want false")
	}
	if again != tok {
		t.Error("second call returned another token")
	}
}

func TestLoadOrCreateOperatorReads(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		text string
		want string
	}{
		{name: "newline", text: "my-operator-token\n", want: "my-operator-token"},
		{name: "CRLF", text: "my-operator-token\r\n", want: "my-operator-token"},
		{name: "no newline", text: "my-operator-token", want: "my-operator-token"},
		{name: "base64 with padding", text: "abc+/def==\n", want: "abc+/def=="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tc.text, 0o600)
			tok, created, err := token.LoadOrCreateOperator(path)
			if err != nil {
				t.Fatal(err)
			}
			if created || tok != tc.want {
				t.Errorf("LoadOrCreateOperator = %q, created %v; want %q, false", tok, created, tc.want)
			}
		})
	}
}

func TestLoadOrCreateOperatorRefuses(t *testing.T) {
	t.Parallel()
	const secretish = "s3cr3t-operator-token"
	for _, tc := range []struct {
		name string
		text string
		perm os.FileMode
		want string // part of the error message
	}{
		{name: "0644", text: secretish + "\n", perm: 0o644, want: "run chmod 600"},
		{name: "0640", text: secretish + "\n", perm: 0o640, want: "run chmod 600"},
		{name: "0606", text: secretish + "\n", perm: 0o606, want: "run chmod 600"},
		{name: "0620", text: secretish + "\n", perm: 0o620, want: "run chmod 600"},
		{name: "empty", text: "", perm: 0o600, want: "is empty"},
		{name: "only a newline", text: "\n", perm: 0o600, want: "is empty"},
		{name: "two newlines", text: secretish + "\n\n", perm: 0o600, want: "does not hold a bearer token"},
		{name: "inner space", text: "s3cr3t operator\n", perm: 0o600, want: "does not hold a bearer token"},
		{name: "leading space", text: " " + secretish, perm: 0o600, want: "does not hold a bearer token"},
		{name: "control character", text: secretish + "\x00", perm: 0o600, want: "does not hold a bearer token"},
		{name: "only padding", text: "==", perm: 0o600, want: "does not hold a bearer token"},
		{name: "padding inside", text: "ab=cd", perm: 0o600, want: "does not hold a bearer token"},
		{name: "too large", text: strings.Repeat("a", 4097), perm: 0o600, want: "larger than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tc.text, tc.perm)
			tok, created, err := token.LoadOrCreateOperator(path)
			if err == nil {
				t.Fatalf("LoadOrCreateOperator = %q, created %v; want an error containing %q", tok, created, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "token: ") {
				t.Errorf("error = %q, want \"token: ...%s...\"", err, tc.want)
			}
			if strings.Contains(err.Error(), secretish) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q contains the token", err)
			}
			if tok != "" || created {
				t.Errorf("refusal returned %q, created %v", tok, created)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != tc.text {
				t.Errorf("refused file was changed or removed (err %v)", err)
			}
		})
	}
}

func TestLoadOrCreateOperatorNotRegular(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, _, err := token.LoadOrCreateOperator(dir)
	if err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("LoadOrCreateOperator(a directory) = %v, want not a regular file", err)
	}
}

// TestLoadOrCreateOperatorConcurrent starts many first calls for one path at once: exactly one
// creates the file and all return its token. Run it with -race.
func TestLoadOrCreateOperatorConcurrent(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "operator.token")
		const n = 16
		var (
			wg      sync.WaitGroup
			toks    [n]string
			creates [n]bool
			errs    [n]error
		)
		for i := range n {
			wg.Go(func() { toks[i], creates[i], errs[i] = token.LoadOrCreateOperator(path) })
		}
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: call %d: %v", round, i, errs[i])
			}
			if toks[i] != toks[0] {
				t.Fatalf("round %d: calls returned different tokens", round)
			}
			if creates[i] {
				created++
			}
		}
		if created != 1 {
			t.Errorf("round %d: %d calls report created, want 1", round, created)
		}
		entries, err := os.ReadDir(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Errorf("round %d: directory holds %d entries, want only the token file", round, len(entries))
		}
		if again, _, err := token.LoadOrCreateOperator(path); err != nil || again != toks[0] {
			t.Errorf("round %d: the stored token is not the one returned (err %v)", round, err)
		}
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	const want = "spo_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	for _, tc := range []struct {
		name      string
		presented string
		want      string
		equal     bool
	}{
		{name: "equal", presented: want, want: want, equal: true},
		{name: "one character different", presented: want[:len(want)-1] + "H", want: want},
		{name: "different", presented: "spo_something-else-entirely", want: want},
		{name: "prefix", presented: want[:20], want: want},
		{name: "longer", presented: want + "x", want: want},
		{name: "case", presented: strings.ToUpper(want), want: want},
		{name: "empty presented", presented: "", want: want},
		{name: "both empty", presented: "", want: ""},
		{name: "empty want", presented: want, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := token.Equal(tc.presented, tc.want); got != tc.equal {
				t.Errorf("Equal = %v, want %v", got, tc.equal)
			}
		})
	}
}
