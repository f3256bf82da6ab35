package keyring_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/splicehq/splice/host/keyring"
)

// FuzzOpen feeds arbitrary bytes to every parser of sealed data: none may panic, and only the
// seals' own outputs open.
func FuzzOpen(f *testing.F) {
	m := newMaster(f)
	sealedKey, dk, err := m.NewDataKey()
	if err != nil {
		f.Fatal(err)
	}
	kr, err := keyring.NewKeyring(dk)
	if err != nil {
		f.Fatal(err)
	}
	aad := []byte("env/e\x00consumer/c\x00key")
	genuine := map[string]string{} // sealed record -> plaintext
	for _, p := range []string{"", "x", "xoxb-canary-token", string(bytes.Repeat([]byte{0}, 100))} {
		s, err := dk.Seal([]byte(p), aad)
		if err != nil {
			f.Fatal(err)
		}
		genuine[string(s)] = p
		f.Add(s, aad)
	}
	f.Add([]byte(sealedKey), aad)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1}, aad)

	f.Fuzz(func(t *testing.T, data, fuzzAAD []byte) {
		_, _ = keyring.KeyID(data)
		_ = kr.NeedsReseal(data)
		if k, err := m.OpenDataKey(keyring.SealedKey(data)); err == nil {
			if !bytes.Equal(data, sealedKey) {
				t.Fatalf("OpenDataKey accepted a forged key %x", data)
			}
			if k.ID() != dk.ID() {
				t.Fatalf("OpenDataKey gave key %s, want %s", k.ID(), dk.ID())
			}
		} else if !errors.Is(err, keyring.ErrTampered) && !errors.Is(err, keyring.ErrWrongKey) {
			t.Fatalf("OpenDataKey error %v is neither ErrTampered nor ErrWrongKey", err)
		}

		for _, open := range []func([]byte, []byte) ([]byte, error){dk.Open, kr.Open} {
			got, err := open(data, fuzzAAD)
			if err != nil {
				if !errors.Is(err, keyring.ErrTampered) && !errors.Is(err, keyring.ErrUnknownKey) {
					t.Fatalf("Open error %v is neither ErrTampered nor ErrUnknownKey", err)
				}
				continue
			}
			want, ok := genuine[string(data)]
			if !ok || !bytes.Equal(fuzzAAD, aad) {
				t.Fatalf("Open accepted a record that no seal produced: %x (aad %q)", data, fuzzAAD)
			}
			if string(got) != want {
				t.Fatalf("Open = %q, want %q", got, want)
			}
		}
	})
}
