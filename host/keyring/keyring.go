package keyring

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
)

// Errors that callers branch on with [errors.Is].
var (
	// ErrTampered reports a sealed key or record that fails authentication or is malformed:
	// it was changed, truncated, has an unknown format version, or is opened with the wrong
	// additional data.
	ErrTampered = errors.New("keyring: sealed data failed authentication")
	// ErrWrongKey reports a sealed data key that was sealed by another master key.
	ErrWrongKey = errors.New("keyring: sealed by another master key")
	// ErrUnknownKey reports a sealed record whose data key is not available.
	ErrUnknownKey = errors.New("keyring: sealed by an unknown data key")
	// ErrInvalidMaster reports a master key of the wrong length or encoding.
	ErrInvalidMaster = errors.New("keyring: invalid master key")
	// ErrNoMaster reports MasterOptions that name neither an environment variable that is set
	// nor a file.
	ErrNoMaster = errors.New("keyring: no master key configured")
	// ErrInsecureFile reports a master key file that others may read or write, or that is not a
	// regular file.
	ErrInsecureFile = errors.New("keyring: insecure master key file")
)

const (
	version   = 1  // format version of sealed keys and records
	idSize    = 8  // bytes of a key id
	keySize   = 32 // bytes of a master or data key (AES-256)
	nonceSize = 12 // bytes of a GCM nonce
	tagSize   = 16 // bytes of a GCM tag
	headerLen = 1 + idSize
)

// keyID returns the id of key: the first 8 bytes of its SHA-256.
func keyID(key []byte) [idSize]byte {
	sum := sha256.Sum256(key)
	return [idSize]byte(sum[:idSize])
}

// KeyID returns the id (16 hex digits) of the data key that sealed a record, so that the caller
// can tell records to re-seal after a rotation without opening them.
//
// # Errors
//
// A record too short to hold a header, nonce and tag, or of an unknown format version, is
// [ErrTampered]. KeyID does not authenticate the record; [DataKey.Open] does.
func KeyID(sealed []byte) (string, error) {
	id, err := recordKeyID(sealed)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(id[:]), nil
}

func recordKeyID(sealed []byte) ([idSize]byte, error) {
	if len(sealed) < headerLen+nonceSize+tagSize {
		return [idSize]byte{}, fmt.Errorf("%w: record of %d bytes is too short", ErrTampered, len(sealed))
	}
	if sealed[0] != version {
		return [idSize]byte{}, fmt.Errorf("%w: record format version %d is not %d", ErrTampered, sealed[0], version)
	}
	return [idSize]byte(sealed[1:headerLen]), nil
}

// Keyring holds the current data key of an environment and the older ones it replaced. It seals
// with the current key and opens with whichever key sealed a record. A Keyring is safe for
// concurrent use.
type Keyring struct {
	mu      sync.RWMutex
	current *DataKey
	keys    map[[idSize]byte]*DataKey // every key, current included
}

// NewKeyring returns a Keyring that seals with current and opens records sealed by current or
// any of old. A key listed twice is kept once.
//
// # Errors
//
// A nil key is an error.
func NewKeyring(current *DataKey, old ...*DataKey) (*Keyring, error) {
	if current == nil {
		return nil, errors.New("keyring: new keyring: current data key is nil")
	}
	kr := &Keyring{current: current, keys: make(map[[idSize]byte]*DataKey, 1+len(old))}
	for i, k := range old {
		if k == nil {
			return nil, fmt.Errorf("keyring: new keyring: old data key %d is nil", i)
		}
		kr.keys[k.id] = k
	}
	kr.keys[current.id] = current
	return kr, nil
}

// Current returns the data key that Seal uses.
func (kr *Keyring) Current() *DataKey {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.current
}

// Rotate makes next the current data key. The previous current key stays available to Open, so
// records it sealed still open and report [Keyring.NeedsReseal].
//
// # Errors
//
// A nil key is an error.
func (kr *Keyring) Rotate(next *DataKey) error {
	if next == nil {
		return errors.New("keyring: rotate: data key is nil")
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	kr.keys[next.id] = next
	kr.current = next
	return nil
}

// Seal seals plaintext with the current data key, binding it to aad; see [DataKey.Seal].
func (kr *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	return kr.Current().Seal(plaintext, aad)
}

// Open opens a record sealed by any key of the keyring, checking aad; see [DataKey.Open].
//
// # Errors
//
// A record whose key is not in the keyring is [ErrUnknownKey]; a malformed or altered record, or
// the wrong aad, is [ErrTampered].
func (kr *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	id, err := recordKeyID(sealed)
	if err != nil {
		return nil, err
	}
	kr.mu.RLock()
	k := kr.keys[id]
	kr.mu.RUnlock()
	if k == nil {
		return nil, fmt.Errorf("%w: record sealed by data key %x", ErrUnknownKey, id)
	}
	return k.Open(sealed, aad)
}

// NeedsReseal reports whether a record was sealed by a key other than the current one. It is
// false for a record that is malformed (Open reports why); it does not authenticate the record.
func (kr *Keyring) NeedsReseal(sealed []byte) bool {
	id, err := recordKeyID(sealed)
	if err != nil {
		return false
	}
	return id != kr.Current().id
}

// Reseal opens a record with the key that sealed it and seals the plaintext again with the
// current key, under the same aad. The caller stores the result in place of sealed.
//
// # Errors
//
// As [Keyring.Open] and [DataKey.Seal].
func (kr *Keyring) Reseal(sealed, aad []byte) ([]byte, error) {
	plaintext, err := kr.Open(sealed, aad)
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	return kr.Seal(plaintext, aad)
}
