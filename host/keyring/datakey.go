package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
)

// DataKey is a 256-bit AES-GCM key that seals the records of one environment. It is made by
// [Master.NewDataKey] and restored by [Master.OpenDataKey]; its bytes never leave the package.
// A DataKey is immutable and safe for concurrent use. It prints as "keyring.DataKey(<id>)".
type DataKey struct {
	id   [idSize]byte
	aead cipher.AEAD // NewGCMWithRandomNonce: Seal prepends the nonce
}

// newDataKey returns a DataKey for raw, which the caller clears afterwards.
func newDataKey(raw []byte) (*DataKey, error) {
	aead, err := newAEAD(raw)
	if err != nil {
		return nil, fmt.Errorf("keyring: data key: %w", err)
	}
	return &DataKey{id: keyID(raw), aead: aead}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("key of %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// ID returns the key's id: 16 hex digits of the SHA-256 of the key.
func (k *DataKey) ID() string { return hex.EncodeToString(k.id[:]) }

// String returns "keyring.DataKey(<id>)", never the key.
func (k DataKey) String() string { return "keyring.DataKey(" + hex.EncodeToString(k.id[:]) + ")" }

// GoString returns the same redacted form as String.
func (k DataKey) GoString() string { return k.String() }

// Format writes the redacted form of String for every verb, so no verb or flag prints the key.
func (k DataKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// Seal encrypts plaintext with AES-256-GCM under a fresh random nonce, authenticating aad with
// it, and returns version | key id | nonce | ciphertext+tag. aad is not stored in the output:
// the caller passes the same aad to Open. The caller sets it to the record's identity
// (environment, consumer, credential key), so that a record cannot be moved to another.
func (k *DataKey) Seal(plaintext, aad []byte) ([]byte, error) {
	header := k.header()
	out := make([]byte, headerLen, headerLen+nonceSize+len(plaintext)+tagSize)
	copy(out, header[:])
	return k.aead.Seal(out, nil, plaintext, recordAAD(header, aad)), nil
}

// Open authenticates and decrypts a record sealed by this key with the same aad.
//
// # Errors
//
// A record sealed by another data key is [ErrUnknownKey]. A malformed or altered record, or the
// wrong aad, is [ErrTampered].
func (k *DataKey) Open(sealed, aad []byte) ([]byte, error) {
	id, err := recordKeyID(sealed)
	if err != nil {
		return nil, err
	}
	if id != k.id {
		return nil, fmt.Errorf("%w: record sealed by data key %x, not %x", ErrUnknownKey, id, k.id)
	}
	header := k.header()
	plaintext, err := k.aead.Open(nil, nil, sealed[headerLen:], recordAAD(header, aad))
	if err != nil {
		return nil, ErrTampered
	}
	return plaintext, nil
}

func (k *DataKey) header() [headerLen]byte {
	var h [headerLen]byte
	h[0] = version
	copy(h[1:], k.id[:])
	return h
}

// recordAAD is the GCM additional data of a record: its fixed-length header, then the caller's.
func recordAAD(header [headerLen]byte, aad []byte) []byte {
	out := make([]byte, 0, headerLen+len(aad))
	return append(append(out, header[:]...), aad...)
}

// randomKey returns keySize bytes from crypto/rand.
func randomKey() ([]byte, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("keyring: random key: %w", err)
	}
	return key, nil
}
