package token

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/splicehq/splice/host/internal/dirsync"
)

const (
	// operatorPrefix starts every generated operator token, so that one is recognisable in a
	// secret scanner and never mistaken for a consumer JWT.
	operatorPrefix = "spo_"

	// maxOperatorFileBytes caps how much of an operator token file is read; a generated token
	// is 47 bytes and a newline.
	maxOperatorFileBytes = 4 << 10
)

// NewOperatorToken returns a new operator token: "spo_" followed by the unpadded base64url
// encoding of 32 bytes from crypto/rand (47 characters in all).
func NewOperatorToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: new operator token: %w", err)
	}
	return operatorPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// LoadOrCreateOperator returns the operator token stored at path. When path does not exist it
// creates it, and any missing parent directories (0700), with a new token from
// [NewOperatorToken] and reports created = true. The file holds the token and a newline, with
// permissions 0600; it appears complete or not at all, and concurrent calls for the same path all
// return the same token.
//
// An existing file may hold any token the operator chose: one trailing newline ("\n" or "\r\n")
// is removed, and the rest must be a non-empty bearer token (RFC 6750: letters, digits and
// "-._~+/", then optional "=").
//
// # Errors
//
// LoadOrCreateOperator refuses a path that is not a regular file, a file that its group or
// others may read or write (the message says to chmod 600 it), an empty file, a file larger than
// 4 KiB, and a file whose content is not a bearer token. It returns errors of creating, writing
// or reading the file, wrapped. No error contains the token.
func LoadOrCreateOperator(path string) (tok string, created bool, err error) {
	tok, err = readOperator(path)
	if errors.Is(err, fs.ErrNotExist) {
		tok, err = createOperator(path)
		created = err == nil
		if errors.Is(err, fs.ErrExist) { // another caller created it first
			tok, err = readOperator(path)
		}
	}
	if err != nil {
		return "", false, err
	}
	return tok, created, nil
}

// readOperator reads and checks the operator token file at path. Its error wraps fs.ErrNotExist
// when the file does not exist.
func readOperator(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("token: operator token file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat() // of the open file, so it cannot be swapped between check and read
	if err != nil {
		return "", fmt.Errorf("token: operator token file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("token: operator token file %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("token: operator token file %s has permissions %#o, open to group or others (run chmod 600 %[1]s)", path, perm)
	}
	text, err := io.ReadAll(io.LimitReader(f, maxOperatorFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("token: operator token file: %w", err)
	}
	if len(text) > maxOperatorFileBytes {
		return "", fmt.Errorf("token: operator token file %s is larger than %d bytes", path, maxOperatorFileBytes)
	}
	if t, ok := bytes.CutSuffix(text, []byte("\n")); ok {
		text, _ = bytes.CutSuffix(t, []byte("\r"))
	}
	if len(text) == 0 {
		return "", fmt.Errorf("token: operator token file %s is empty", path)
	}
	if !bearerToken(text) {
		return "", fmt.Errorf("token: operator token file %s does not hold a bearer token (only letters, digits and -._~+/ then =, on one line)", path)
	}
	return string(text), nil
}

// bearerToken reports whether b matches RFC 6750's b64token: 1*( ALPHA / DIGIT / "-" / "." /
// "_" / "~" / "+" / "/" ) *"=".
func bearerToken(b []byte) bool {
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || bytes.IndexByte([]byte("-._~+/"), c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(b); i++ {
		if b[i] != '=' {
			return false
		}
	}
	return true
}

// createOperator writes a new token to a temporary file beside path and publishes it as path
// (see the package doc, "Why a hard link"). Its error wraps fs.ErrExist when path appeared
// meanwhile.
func createOperator(path string) (string, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("token: operator token directory: %w", err)
	}
	tok, err := NewOperatorToken()
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("token: operator token file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a link the token lives on at path; after a rename tmp is gone
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(tok + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("token: operator token file: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", err
		}
		// No hard links here (some file systems): rename is atomic too, but the last writer wins.
		if err := os.Rename(tmp, path); err != nil {
			return "", fmt.Errorf("token: operator token file: %w", err)
		}
	}
	if err := dirsync.Sync(dir); err != nil {
		return "", fmt.Errorf("token: operator token directory: %w", err)
	}
	return tok, nil
}

// Equal reports whether the presented operator token equals want. It compares the SHA-256
// digests of both with [crypto/subtle.ConstantTimeCompare], so the comparison takes the same time
// whatever their contents and whether or not their lengths differ (hashing takes time in
// proportion to each input's length in 64-byte blocks, so at most the rough length of want can
// show). It reports false whenever want is empty, so an unset token matches nothing.
func Equal(presented, want string) bool {
	p := sha256.Sum256([]byte(presented))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(p[:], w[:]) == 1 && want != ""
}
