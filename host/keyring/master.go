package keyring

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/splicehq/splice/host/internal/dirsync"
)

// MasterOptions says where the master key comes from. The zero value names no source, and
// [LoadMaster] refuses it with [ErrNoMaster].
type MasterOptions struct {
	// Env names an environment variable holding the 32-byte key as base64 (standard alphabet,
	// padded or not) or as 64 hex digits. When the variable is set and not empty it wins over
	// File. Empty: no environment variable.
	Env string `json:"env,omitempty"`
	// File is the path of a file holding the key as base64 (surrounding white space is
	// ignored). It must be a regular file that only its owner may read or write (0600 or
	// stricter). Empty: no file.
	File string `json:"file,omitempty"`
	// Generate makes LoadMaster create File with a random key, 0600 permissions, when it does
	// not exist. Default false: a missing file is an error.
	Generate bool `json:"generate,omitempty"`
}

// maxFileBytes caps how much of a master key file is read; a key is 44 bytes of base64.
const maxFileBytes = 4 << 10

// Master is the master key: it seals and opens data keys, never records. It is immutable and
// safe for concurrent use. It prints as "keyring.Master(<id>)".
type Master struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// LoadMaster returns the master key from opts.Env when that variable is set, else from
// opts.File, generating the file when it is missing and opts.Generate is set.
//
// # Errors
//
//   - [ErrNoMaster]: neither source is configured (or the variable is empty and File is unset).
//   - [ErrInvalidMaster]: the key is not base64 or hex, or not 32 bytes. The message never
//     contains the key or any of its characters.
//   - [ErrInsecureFile]: File is not a regular file, or its permissions are looser than 0600.
//   - [fs.ErrNotExist]: File does not exist and Generate is false.
//   - Any other error opening, reading or creating File, wrapped.
func LoadMaster(opts MasterOptions) (*Master, error) {
	if opts.Env != "" {
		if v := os.Getenv(opts.Env); v != "" {
			return parseMaster(v, true, "$"+opts.Env)
		}
	}
	if opts.File == "" {
		if opts.Env != "" {
			return nil, fmt.Errorf("%w: $%s is not set and no file is configured", ErrNoMaster, opts.Env)
		}
		return nil, ErrNoMaster
	}
	m, err := readMasterFile(opts.File)
	if errors.Is(err, fs.ErrNotExist) && opts.Generate {
		m, err = generateMasterFile(opts.File)
		if errors.Is(err, fs.ErrExist) { // another process generated it first
			m, err = readMasterFile(opts.File)
		}
	}
	if err != nil {
		var sentinel bool
		for _, s := range []error{ErrInvalidMaster, ErrInsecureFile} {
			sentinel = sentinel || errors.Is(err, s)
		}
		if !sentinel { // an error of package os, which names the file already
			err = fmt.Errorf("keyring: master key file: %w", err)
		}
		return nil, err
	}
	return m, nil
}

// parseMaster decodes text (base64, or hex when allowHex) into a Master. Its errors never
// carry text or decoder errors, which may quote a byte of the key.
func parseMaster(text string, allowHex bool, source string) (*Master, error) {
	raw, ok := decodeKey(text, allowHex)
	defer clear(raw)
	if !ok {
		if allowHex {
			return nil, fmt.Errorf("%w: %s is not base64 or hex", ErrInvalidMaster, source)
		}
		return nil, fmt.Errorf("%w: %s is not base64", ErrInvalidMaster, source)
	}
	if len(raw) != keySize {
		return nil, fmt.Errorf("%w: %s decodes to %d bytes, want %d", ErrInvalidMaster, source, len(raw), keySize)
	}
	return newMaster(raw)
}

func decodeKey(text string, allowHex bool) ([]byte, bool) {
	if allowHex && len(text) == 2*keySize {
		if raw, err := hex.DecodeString(text); err == nil {
			return raw, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if raw, err := enc.DecodeString(text); err == nil {
			return raw, true
		}
	}
	return nil, false
}

func newMaster(raw []byte) (*Master, error) {
	aead, err := newAEAD(raw)
	if err != nil {
		return nil, fmt.Errorf("keyring: master key: %w", err)
	}
	return &Master{id: keyID(raw), aead: aead}, nil
}

func readMasterFile(path string) (*Master, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat() // of the open file, so it cannot be swapped between check and read
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file (%s)", ErrInsecureFile, path, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%w: %s has permissions %#o, looser than 0600 (run chmod 600 %[2]s)", ErrInsecureFile, path, perm)
	}
	text, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	defer clear(text)
	if err != nil {
		return nil, err
	}
	if len(text) > maxFileBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidMaster, path, maxFileBytes)
	}
	return parseMaster(string(bytes.TrimSpace(text)), false, path)
}

// generateMasterFile creates path exclusively with a random key and fsyncs it and its directory.
// It returns an error wrapping fs.ErrExist when the file appeared meanwhile.
func generateMasterFile(path string) (m *Master, err error) {
	raw, err := randomKey()
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	text := make([]byte, base64.StdEncoding.EncodedLen(len(raw))+1)
	defer clear(text)
	base64.StdEncoding.Encode(text, raw)
	text[len(text)-1] = '\n'

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(path) // never leave a half-written key behind
		}
	}()
	if _, err = f.Write(text); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err = f.Close(); err != nil {
		return nil, err
	}
	if err = dirsync.Sync(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return newMaster(raw)
}

// ID returns the master key's id: 16 hex digits of the SHA-256 of the key.
func (m *Master) ID() string { return hex.EncodeToString(m.id[:]) }

// String returns "keyring.Master(<id>)", never the key.
func (m Master) String() string { return "keyring.Master(" + hex.EncodeToString(m.id[:]) + ")" }

// GoString returns the same redacted form as String.
func (m Master) GoString() string { return m.String() }

// Format writes the redacted form of String for every verb, so no verb or flag prints the key.
func (m Master) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, m.String()) }

// SealedKey is a data key sealed by a master key (69 bytes; see the package doc, "Formats").
// The caller stores it with its environment and passes it to [Master.OpenDataKey].
type SealedKey []byte

const sealedKeyLen = headerLen + nonceSize + keySize + tagSize

// dataKeyAAD prefixes the GCM additional data of a sealed data key, so that it can never be
// mistaken for a record.
const dataKeyAAD = "splice keyring data key\x00"

// MasterID returns the id of the master key that sealed k, or "" when k is malformed.
func (k SealedKey) MasterID() string {
	if len(k) < headerLen {
		return ""
	}
	return hex.EncodeToString(k[1:headerLen])
}

// NewDataKey makes a random 256-bit data key and returns it with its sealed form, which the
// caller stores.
func (m *Master) NewDataKey() (SealedKey, *DataKey, error) {
	raw, err := randomKey()
	if err != nil {
		return nil, nil, err
	}
	defer clear(raw)
	dk, err := newDataKey(raw)
	if err != nil {
		return nil, nil, err
	}
	header := m.header()
	out := make([]byte, headerLen, sealedKeyLen)
	copy(out, header[:])
	return SealedKey(m.aead.Seal(out, nil, raw, sealedKeyAAD(header))), dk, nil
}

// OpenDataKey opens a data key sealed by this master key.
//
// # Errors
//
// A key sealed by another master key is [ErrWrongKey]. A malformed or altered key, or one of an
// unknown format version, is [ErrTampered].
func (m *Master) OpenDataKey(sealed SealedKey) (*DataKey, error) {
	if len(sealed) != sealedKeyLen {
		return nil, fmt.Errorf("%w: sealed data key of %d bytes, want %d", ErrTampered, len(sealed), sealedKeyLen)
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("%w: sealed data key format version %d is not %d", ErrTampered, sealed[0], version)
	}
	if [idSize]byte(sealed[1:headerLen]) != m.id {
		return nil, fmt.Errorf("%w: data key sealed by master %x, not %x", ErrWrongKey, sealed[1:headerLen], m.id)
	}
	raw, err := m.aead.Open(nil, nil, sealed[headerLen:], sealedKeyAAD(m.header()))
	defer clear(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed data key", ErrTampered)
	}
	return newDataKey(raw)
}

func (m *Master) header() [headerLen]byte {
	var h [headerLen]byte
	h[0] = version
	copy(h[1:], m.id[:])
	return h
}

func sealedKeyAAD(header [headerLen]byte) []byte {
	return append([]byte(dataKeyAAD), header[:]...)
}
