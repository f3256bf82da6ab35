package keyring_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/splicehq/splice/host/keyring"
)

func newMaster(t testing.TB) *keyring.Master {
	t.Helper()
	m, err := keyring.LoadMaster(keyring.MasterOptions{File: filepath.Join(t.TempDir(), "master.key"), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newDataKey(t testing.TB, m *keyring.Master) *keyring.DataKey {
	t.Helper()
	_, dk, err := m.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t, newMaster(t))
	tests := []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"empty", nil, nil},
		{"token", []byte("xoxb-canary-token"), []byte("env/prod\x00consumer/42\x00slack")},
		{"no aad", []byte("secret"), nil},
		{"large", bytes.Repeat([]byte("s"), 1<<16), []byte("aad")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sealed, err := dk.Seal(tc.plaintext, tc.aad)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(sealed) - len(tc.plaintext); n != keyring.HeaderLen+keyring.NonceSize+keyring.TagSize {
				t.Errorf("overhead = %d bytes", n)
			}
			if len(tc.plaintext) > 0 && bytes.Contains(sealed, tc.plaintext) {
				t.Error("sealed record contains the plaintext")
			}
			if id, err := keyring.KeyID(sealed); err != nil || id != dk.ID() {
				t.Errorf("KeyID = %q, %v; want %q", id, err, dk.ID())
			}
			got, err := dk.Open(sealed, tc.aad)
			if err != nil || !bytes.Equal(got, tc.plaintext) {
				t.Errorf("Open = %q, %v; want %q", got, err, tc.plaintext)
			}
			again, _ := dk.Seal(tc.plaintext, tc.aad)
			if bytes.Equal(again, sealed) {
				t.Error("two seals of the same plaintext are equal: nonce reused")
			}
		})
	}
}

func TestDataKeyThroughMaster(t *testing.T) {
	t.Parallel()
	m := newMaster(t)
	sealedKey, dk, err := m.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := dk.Seal([]byte("secret"), []byte("aad"))
	reopened, err := m.OpenDataKey(sealedKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := reopened.Open(rec, []byte("aad")); err != nil || string(got) != "secret" {
		t.Errorf("reopened key: Open = %q, %v", got, err)
	}
}

// TestOpenRefusals tampers with each part of a sealed record, and moves it to another identity.
func TestOpenRefusals(t *testing.T) {
	t.Parallel()
	m := newMaster(t)
	dk, other := newDataKey(t, m), newDataKey(t, m)
	aad := []byte("env/prod\x00consumer/42\x00slack")
	sealed, err := dk.Seal([]byte("xoxb-canary"), aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		s := bytes.Clone(sealed)
		s[i] ^= 0x80
		return s
	}
	kr, err := keyring.NewKeyring(dk)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		sealed []byte
		aad    []byte
		want   error
	}{
		{"version", flip(0), aad, keyring.ErrTampered},
		{"key id", flip(1), aad, keyring.ErrUnknownKey},
		{"key id last byte", flip(keyring.HeaderLen - 1), aad, keyring.ErrUnknownKey},
		{"nonce", flip(keyring.HeaderLen), aad, keyring.ErrTampered},
		{"ciphertext", flip(keyring.HeaderLen + keyring.NonceSize), aad, keyring.ErrTampered},
		{"tag", flip(len(sealed) - 1), aad, keyring.ErrTampered},
		{"truncated tag", sealed[:len(sealed)-1], aad, keyring.ErrTampered},
		{"appended byte", append(bytes.Clone(sealed), 0), aad, keyring.ErrTampered},
		{"header only", sealed[:keyring.HeaderLen], aad, keyring.ErrTampered},
		{"empty", nil, aad, keyring.ErrTampered},
		{"other consumer", sealed, []byte("env/prod\x00consumer/43\x00slack"), keyring.ErrTampered},
		{"other environment", sealed, []byte("env/test\x00consumer/42\x00slack"), keyring.ErrTampered},
		{"no aad", sealed, nil, keyring.ErrTampered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got, err := dk.Open(tc.sealed, tc.aad); !errors.Is(err, tc.want) || got != nil {
				t.Errorf("DataKey.Open = %q, %v; want %v", got, err, tc.want)
			}
			if got, err := kr.Open(tc.sealed, tc.aad); !errors.Is(err, tc.want) || got != nil {
				t.Errorf("Keyring.Open = %q, %v; want %v", got, err, tc.want)
			}
		})
	}

	t.Run("other data key", func(t *testing.T) {
		t.Parallel()
		if _, err := other.Open(sealed, aad); !errors.Is(err, keyring.ErrUnknownKey) {
			t.Errorf("Open with another data key = %v, want ErrUnknownKey", err)
		}
	})
	t.Run("other data key, id swapped in", func(t *testing.T) {
		t.Parallel()
		s := bytes.Clone(sealed)
		otherID, _ := hex.DecodeString(other.ID())
		copy(s[1:], otherID)
		if _, err := other.Open(s, aad); !errors.Is(err, keyring.ErrTampered) {
			t.Errorf("Open with a forged key id = %v, want ErrTampered", err)
		}
	})
	t.Run("KeyID", func(t *testing.T) {
		t.Parallel()
		for _, bad := range [][]byte{nil, sealed[:keyring.HeaderLen+keyring.NonceSize+keyring.TagSize-1], flip(0)} {
			if id, err := keyring.KeyID(bad); !errors.Is(err, keyring.ErrTampered) || id != "" {
				t.Errorf("KeyID(%x) = %q, %v; want ErrTampered", bad, id, err)
			}
		}
	})
}

func TestKeyringRotation(t *testing.T) {
	t.Parallel()
	m := newMaster(t)
	k1, k2, k3 := newDataKey(t, m), newDataKey(t, m), newDataKey(t, m)
	aad := []byte("env/prod\x00consumer/1\x00token")

	kr1, err := keyring.NewKeyring(k1)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := kr1.Seal([]byte("v1"), aad)
	if kr1.NeedsReseal(old) {
		t.Error("NeedsReseal is true for a record of the current key")
	}

	kr, err := keyring.NewKeyring(k2, k1, k1)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Current() != k2 {
		t.Errorf("Current = %v, want %v", kr.Current(), k2)
	}
	if got, err := kr.Open(old, aad); err != nil || string(got) != "v1" {
		t.Errorf("Open(old record) = %q, %v", got, err)
	}
	if !kr.NeedsReseal(old) {
		t.Error("NeedsReseal is false for a record of an old key")
	}
	resealed, err := kr.Reseal(old, aad)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := keyring.KeyID(resealed); id != k2.ID() {
		t.Errorf("re-sealed record has key id %s, want current %s", id, k2.ID())
	}
	if kr.NeedsReseal(resealed) {
		t.Error("NeedsReseal is true for a re-sealed record")
	}
	if got, err := kr.Open(resealed, aad); err != nil || string(got) != "v1" {
		t.Errorf("Open(re-sealed) = %q, %v", got, err)
	}
	if _, err := kr.Reseal(old, []byte("other")); !errors.Is(err, keyring.ErrTampered) {
		t.Errorf("Reseal with the wrong aad = %v, want ErrTampered", err)
	}

	// A key the keyring does not hold.
	foreign, _ := k3.Seal([]byte("x"), aad)
	if _, err := kr.Open(foreign, aad); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("Open(record of an unknown key) = %v, want ErrUnknownKey", err)
	}
	if kr.NeedsReseal([]byte("garbage")) {
		t.Error("NeedsReseal is true for a malformed record")
	}

	// Rotate in place: records of k2 still open and now need re-sealing.
	if err := kr.Rotate(k3); err != nil {
		t.Fatal(err)
	}
	if !kr.NeedsReseal(resealed) {
		t.Error("after Rotate, NeedsReseal is false for a record of the previous key")
	}
	for _, rec := range [][]byte{old, resealed, foreign} {
		if _, err := kr.Open(rec, aad); err != nil {
			t.Errorf("after Rotate, Open(%s record) = %v", must(keyring.KeyID(rec)), err)
		}
	}
	fresh, _ := kr.Seal([]byte("v2"), aad)
	if id, _ := keyring.KeyID(fresh); id != k3.ID() {
		t.Errorf("after Rotate, Seal used key %s, want %s", id, k3.ID())
	}
}

func must(s string, err error) string {
	if err != nil {
		return err.Error()
	}
	return s
}

func TestKeyringRefusesNil(t *testing.T) {
	t.Parallel()
	dk := newDataKey(t, newMaster(t))
	tests := []struct {
		name    string
		current *keyring.DataKey
		old     []*keyring.DataKey
	}{
		{"nil current", nil, nil},
		{"nil old", dk, []*keyring.DataKey{dk, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if kr, err := keyring.NewKeyring(tc.current, tc.old...); err == nil || kr != nil {
				t.Errorf("NewKeyring = %v, %v; want an error", kr, err)
			}
		})
	}
	kr, _ := keyring.NewKeyring(dk)
	if err := kr.Rotate(nil); err == nil {
		t.Error("Rotate(nil) succeeded")
	}
	if kr.Current() != dk {
		t.Error("a refused Rotate changed the current key")
	}
}

// TestRedaction proves that no formatting of a key prints its bytes.
func TestRedaction(t *testing.T) { // not parallel: t.Setenv
	dk, err := keyring.NewDataKeyForTest(testKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SPLICE_TEST_MASTER", hex.EncodeToString(testKey))
	m := mustLoad(t, keyring.MasterOptions{Env: "SPLICE_TEST_MASTER"})
	kr, _ := keyring.NewKeyring(dk)

	encodings := []string{
		hex.EncodeToString(testKey), strings.ToUpper(hex.EncodeToString(testKey)),
		hex.EncodeToString(testKey[:8]), // any run of key bytes, not just the whole key
		base64.StdEncoding.EncodeToString(testKey), base64.RawURLEncoding.EncodeToString(testKey),
		string(testKey[:8]), fmt.Sprint(testKey[:4]), fmt.Sprintf("%#v", testKey[:4]),
		fmt.Sprint(testKey[0]) + " " + fmt.Sprint(testKey[1]),
	}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"*DataKey", dk, "keyring.DataKey(" + dk.ID() + ")"},
		{"DataKey", *dk, "keyring.DataKey(" + dk.ID() + ")"},
		{"*Master", m, "keyring.Master(" + m.ID() + ")"},
		{"Master", *m, "keyring.Master(" + m.ID() + ")"},
		{"*Keyring", kr, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			out := fmt.Sprintf("%v %+v %#v %s %x %X %q %d", v, v, v, v, v, v, v, v) +
				fmt.Sprint(v) + fmt.Sprintf("%v", []any{v}) + fmt.Sprintf("%+v", struct{ K any }{v})
			for _, e := range encodings {
				if strings.Contains(out, e) {
					t.Errorf("formatted %s contains key bytes %q:\n%s", tc.name, e, out)
				}
			}
			if tc.want != "" {
				if got := fmt.Sprintf("%v", v); got != tc.want {
					t.Errorf("%%v = %q, want %q", got, tc.want)
				}
				if got := fmt.Sprintf("%#v", v); got != tc.want {
					t.Errorf("%%#v = %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// TestErrorsCarryNoSecrets proves that refusals of Open name neither the plaintext nor the aad's
// secret parts nor the key.
func TestErrorsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	dk, err := keyring.NewDataKeyForTest(testKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := dk.Seal([]byte("canary-secret"), []byte("aad"))
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	for _, in := range [][]byte{bad, sealed} {
		_, err := dk.Open(in, []byte("wrong"))
		if err == nil {
			t.Fatal("Open succeeded")
		}
		for _, s := range []string{"canary-secret", hex.EncodeToString(testKey[:8]), base64.StdEncoding.EncodeToString(testKey)} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains %q", err, s)
			}
		}
	}
}

// TestKeyringHammer seals, opens and rotates from many goroutines; run it with -race.
func TestKeyringHammer(t *testing.T) {
	t.Parallel()
	m := newMaster(t)
	keys := []*keyring.DataKey{newDataKey(t, m), newDataKey(t, m), newDataKey(t, m)}
	kr, err := keyring.NewKeyring(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, loops = 32, 200
	var wg sync.WaitGroup
	errs := make(chan error, goroutines+1)
	wg.Go(func() { // rotates while the others work
		for i := range loops {
			if err := kr.Rotate(keys[i%len(keys)]); err != nil {
				errs <- err
				return
			}
		}
	})
	for g := range goroutines {
		wg.Go(func() {
			for i := range loops {
				aad := fmt.Appendf(nil, "env/e\x00consumer/%d\x00k%d", g, i)
				want := fmt.Appendf(nil, "secret %d %d", g, i)
				sealed, err := kr.Seal(want, aad)
				if err != nil {
					errs <- err
					return
				}
				_ = kr.NeedsReseal(sealed)
				got, err := kr.Open(sealed, aad)
				if err != nil || !bytes.Equal(got, want) {
					errs <- fmt.Errorf("goroutine %d loop %d: Open = %q, %v", g, i, got, err)
					return
				}
				if _, err := kr.Reseal(sealed, aad); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
