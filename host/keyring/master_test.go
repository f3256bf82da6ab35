package keyring_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/keyring"
)

// testKey is a fixed master key whose encodings must never appear in output.
var testKey = bytes.Repeat([]byte{0xA5, 0x3C, 0x91, 0x7E}, 8)

func writeKeyFile(t *testing.T, text string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's mode is filtered by umask
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, opts keyring.MasterOptions) *keyring.Master {
	t.Helper()
	m, err := keyring.LoadMaster(opts)
	if err != nil {
		t.Fatalf("LoadMaster: %v", err)
	}
	return m
}

func TestLoadMasterGenerate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	m1 := mustLoad(t, keyring.MasterOptions{File: path, Generate: true})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("generated file permissions = %#o, want 0600", perm)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil || len(raw) != 32 {
		t.Fatalf("generated file holds %d bytes (err %v), want 32 bytes of base64", len(raw), err)
	}

	// Reloading, with or without Generate, gives the same key and leaves the file alone.
	for _, gen := range []bool{true, false} {
		m2 := mustLoad(t, keyring.MasterOptions{File: path, Generate: gen})
		if m2.ID() != m1.ID() {
			t.Errorf("reload (Generate %v): id %s, want %s", gen, m2.ID(), m1.ID())
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(after, text) {
			t.Errorf("reload (Generate %v) rewrote the key file", gen)
		}
	}
	sealed, _, err := m1.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustLoad(t, keyring.MasterOptions{File: path}).OpenDataKey(sealed); err != nil {
		t.Errorf("reloaded master cannot open a data key: %v", err)
	}
}

func TestLoadMasterEnv(t *testing.T) { // not parallel: t.Setenv
	file := writeKeyFile(t, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))+"\n", 0o600)
	fromFile := mustLoad(t, keyring.MasterOptions{File: file})
	fromKey, err := keyring.NewDataKeyForTest(testKey) // same id scheme as a master of testKey
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		value  string // "" leaves the variable unset
		opts   keyring.MasterOptions
		wantID string
	}{
		{"base64 wins over file", base64.StdEncoding.EncodeToString(testKey), keyring.MasterOptions{Env: "SPLICE_TEST_MASTER", File: file}, fromKey.ID()},
		{"unpadded base64", base64.RawStdEncoding.EncodeToString(testKey), keyring.MasterOptions{Env: "SPLICE_TEST_MASTER"}, fromKey.ID()},
		{"hex", hex.EncodeToString(testKey), keyring.MasterOptions{Env: "SPLICE_TEST_MASTER"}, fromKey.ID()},
		{"unset falls back to file", "", keyring.MasterOptions{Env: "SPLICE_TEST_MASTER", File: file}, fromFile.ID()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SPLICE_TEST_MASTER", tc.value)
			if got := mustLoad(t, tc.opts).ID(); got != tc.wantID {
				t.Errorf("id = %s, want %s", got, tc.wantID)
			}
		})
	}

	t.Run("env does not generate the file", func(t *testing.T) {
		t.Setenv("SPLICE_TEST_MASTER", hex.EncodeToString(testKey))
		path := filepath.Join(t.TempDir(), "master.key")
		mustLoad(t, keyring.MasterOptions{Env: "SPLICE_TEST_MASTER", File: path, Generate: true})
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("key file was created although the environment held the key (stat: %v)", err)
		}
	})
}

// TestLoadMasterRefusals proves every refusal of LoadMaster, and that none echoes the key.
func TestLoadMasterRefusals(t *testing.T) { // not parallel: t.Setenv
	short := testKey[:31]
	long := append(bytes.Clone(testKey), 1)
	badHex := "g" + hex.EncodeToString(testKey)[1:] // 64 characters, neither hex nor base64 of 32 bytes
	tests := []struct {
		name    string
		env     string // value of SPLICE_TEST_MASTER; "" leaves it unset
		opts    func(t *testing.T) keyring.MasterOptions
		want    error
		secrets []string // must not appear in the error
	}{
		{
			name: "zero options",
			opts: func(*testing.T) keyring.MasterOptions { return keyring.MasterOptions{} },
			want: keyring.ErrNoMaster,
		},
		{
			name: "env unset and no file",
			opts: func(*testing.T) keyring.MasterOptions { return keyring.MasterOptions{Env: "SPLICE_TEST_MASTER"} },
			want: keyring.ErrNoMaster,
		},
		{
			name:    "env short key",
			env:     base64.StdEncoding.EncodeToString(short),
			opts:    func(*testing.T) keyring.MasterOptions { return keyring.MasterOptions{Env: "SPLICE_TEST_MASTER"} },
			want:    keyring.ErrInvalidMaster,
			secrets: []string{base64.StdEncoding.EncodeToString(short)},
		},
		{
			name:    "env long hex key",
			env:     hex.EncodeToString(long),
			opts:    func(*testing.T) keyring.MasterOptions { return keyring.MasterOptions{Env: "SPLICE_TEST_MASTER"} },
			want:    keyring.ErrInvalidMaster,
			secrets: []string{hex.EncodeToString(long)},
		},
		{
			name:    "env bad encoding",
			env:     badHex,
			opts:    func(*testing.T) keyring.MasterOptions { return keyring.MasterOptions{Env: "SPLICE_TEST_MASTER"} },
			want:    keyring.ErrInvalidMaster,
			secrets: []string{badHex, "'g'", "U+0067"},
		},
		{
			name: "env invalid does not fall back to file",
			env:  "not a key!",
			opts: func(t *testing.T) keyring.MasterOptions {
				return keyring.MasterOptions{Env: "SPLICE_TEST_MASTER", File: writeKeyFile(t, base64.StdEncoding.EncodeToString(testKey), 0o600)}
			},
			want:    keyring.ErrInvalidMaster,
			secrets: []string{"not a key!"},
		},
		{
			name: "file 0644",
			opts: func(t *testing.T) keyring.MasterOptions {
				return keyring.MasterOptions{File: writeKeyFile(t, base64.StdEncoding.EncodeToString(testKey), 0o644), Generate: true}
			},
			want:    keyring.ErrInsecureFile,
			secrets: []string{base64.StdEncoding.EncodeToString(testKey)},
		},
		{
			name: "file 0640",
			opts: func(t *testing.T) keyring.MasterOptions {
				return keyring.MasterOptions{File: writeKeyFile(t, base64.StdEncoding.EncodeToString(testKey), 0o640)}
			},
			want: keyring.ErrInsecureFile,
		},
		{
			name: "file is a directory",
			opts: func(t *testing.T) keyring.MasterOptions {
				return keyring.MasterOptions{File: t.TempDir(), Generate: true}
			},
			want: keyring.ErrInsecureFile,
		},
		{
			name: "file hex is refused",
			opts: func(t *testing.T) keyring.MasterOptions {
				return keyring.MasterOptions{File: writeKeyFile(t, hex.EncodeToString(testKey), 0o600)}
			},
			want:    keyring.ErrInvalidMaster,
			secrets: []string{hex.EncodeToString(testKey)},
		},
		{
			name: "file short key",
			opts: func(t *testing.T) keyring.MasterOptions {
				return keyring.MasterOptions{File: writeKeyFile(t, base64.StdEncoding.EncodeToString(short), 0o600)}
			},
			want:    keyring.ErrInvalidMaster,
			secrets: []string{base64.StdEncoding.EncodeToString(short)},
		},
		{
			name: "file too large",
			opts: func(t *testing.T) keyring.MasterOptions {
				return keyring.MasterOptions{File: writeKeyFile(t, strings.Repeat("A", 5000), 0o600)}
			},
			want: keyring.ErrInvalidMaster,
		},
		{
			name: "file missing without Generate",
			opts: func(t *testing.T) keyring.MasterOptions {
				return keyring.MasterOptions{File: filepath.Join(t.TempDir(), "master.key")}
			},
			want: fs.ErrNotExist,
		},
		{
			name: "file missing, directory missing",
			opts: func(t *testing.T) keyring.MasterOptions {
				return keyring.MasterOptions{File: filepath.Join(t.TempDir(), "nope", "master.key"), Generate: true}
			},
			want: fs.ErrNotExist,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SPLICE_TEST_MASTER", tc.env)
			m, err := keyring.LoadMaster(tc.opts(t))
			if !errors.Is(err, tc.want) {
				t.Fatalf("LoadMaster = %v, %v; want %v", m, err, tc.want)
			}
			if m != nil {
				t.Errorf("LoadMaster returned a master with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "keyring: ") {
				t.Errorf("error %q does not start with \"keyring: \"", err)
			}
			for _, s := range tc.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains the secret %q", err, s)
				}
			}
		})
	}
}

func TestOpenDataKeyRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustLoad(t, keyring.MasterOptions{File: filepath.Join(dir, "a.key"), Generate: true})
	other := mustLoad(t, keyring.MasterOptions{File: filepath.Join(dir, "b.key"), Generate: true})
	sealed, dk, err := m.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	if got := sealed.MasterID(); got != m.ID() {
		t.Errorf("SealedKey.MasterID = %s, want %s", got, m.ID())
	}
	opened, err := m.OpenDataKey(sealed)
	if err != nil || opened.ID() != dk.ID() {
		t.Fatalf("OpenDataKey = %v, %v; want %v", opened, err, dk)
	}

	flip := func(i int) keyring.SealedKey {
		s := bytes.Clone(sealed)
		s[i] ^= 0x01
		return s
	}
	tests := []struct {
		name   string
		master *keyring.Master
		sealed keyring.SealedKey
		want   error
	}{
		{"other master", other, sealed, keyring.ErrWrongKey},
		{"version", m, flip(0), keyring.ErrTampered},
		{"master id", m, flip(1), keyring.ErrWrongKey},
		{"nonce", m, flip(keyring.HeaderLen), keyring.ErrTampered},
		{"ciphertext", m, flip(keyring.HeaderLen + keyring.NonceSize), keyring.ErrTampered},
		{"tag", m, flip(len(sealed) - 1), keyring.ErrTampered},
		{"truncated", m, sealed[:len(sealed)-1], keyring.ErrTampered},
		{"extended", m, append(bytes.Clone(sealed), 0), keyring.ErrTampered},
		{"empty", m, nil, keyring.ErrTampered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if k, err := tc.master.OpenDataKey(tc.sealed); !errors.Is(err, tc.want) || k != nil {
				t.Errorf("OpenDataKey = %v, %v; want %v", k, err, tc.want)
			}
		})
	}
}
