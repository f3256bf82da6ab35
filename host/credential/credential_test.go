package credential_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/splicehq/splice/host/credential"
	"github.com/splicehq/splice/host/keyring"
	"github.com/splicehq/splice/host/kv"
	"github.com/splicehq/splice/host/ledger"
)

func master(t *testing.T) *keyring.Master {
	t.Helper()
	m, err := keyring.LoadMaster(keyring.MasterOptions{File: filepath.Join(t.TempDir(), "master.key"), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openStore(t *testing.T, dir string, m *keyring.Master) (*credential.Store, *kv.DB) {
	t.Helper()
	s, db, _ := openLedger(t, dir, m)
	return s, db
}

// openLedger opens the credential store of the environment in dir over its ledger, which it
// returns too.
func openLedger(t *testing.T, dir string, m *keyring.Master) (*credential.Store, *kv.DB, ledger.Store) {
	t.Helper()
	db, err := kv.Open(kv.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	s, err := credential.Open(context.Background(), l, credential.Options{Env: "production", Master: m})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return s, db, l
}

// TestSecretsNeverReachTheDisk is the canary of issue 4: a credential's secret is stored, read
// back, and then searched for in every file Badger wrote, raw, hex and base64: 0 hits.
func TestSecretsNeverReachTheDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := master(t)
	s, db := openStore(t, dir, m)
	const canary = "sk_live_CANARY_7f3e1c9a5b2d4e6f"
	c := credential.Credential{Consumer: "acme", Key: "shop-main", AppKey: "shop", Fields: map[string]string{"account": "acme-store"}}
	if err := s.Put(ctx, c, map[string]string{"apiKey": canary}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Secrets(ctx, "acme", "shop-main")
	if err != nil || got["apiKey"] != canary {
		t.Fatalf("Secrets = %v, %v", got, err)
	}
	pub, err := s.Get(ctx, "acme", "shop-main")
	if err != nil || pub.Fields["account"] != "acme-store" {
		t.Fatalf("Get = %+v, %v", pub, err)
	}
	needles := [][]byte{[]byte(canary), []byte(hex.EncodeToString([]byte(canary))), []byte(base64.StdEncoding.EncodeToString([]byte(canary)))}
	// While the database is open its write-ahead log holds entries uncompressed: the non-secret field
	// must be found there (so the search can find what is stored) and the secret must not.
	files, hits, plain := searchFiles(t, dir, needles, []byte("acme-store"))
	if plain == 0 {
		t.Fatalf("the non-secret field is in none of the %d files: the search proves nothing", files)
	}
	t.Logf("open database: %d files, secret %d hits, non-secret field in %d files", files, hits, plain)
	// After Close the memtable is flushed to (compressed) tables: still no secret.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	files, hits, _ = searchFiles(t, dir, needles, nil)
	t.Logf("closed database: %d files, secret %d hits", files, hits)
}

// searchFiles reads every file below dir and reports, with t.Error, each that contains a needle; it
// returns the number of files, of needle hits and of files containing marker.
func searchFiles(t *testing.T, dir string, needles [][]byte, marker []byte) (files, hits, marked int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		found, err := scanFile(path, append([][]byte{marker}, needles...))
		if err != nil {
			return err
		}
		if marker != nil && found[0] {
			marked++
		}
		for i := range needles {
			if found[i+1] {
				hits++
				t.Errorf("%s contains the secret", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no files to search")
	}
	return files, hits, marked
}

// scanFile reports which needles the file contains, reading it in 1 MiB chunks that overlap by
// the longest needle (Badger preallocates its value log as a large sparse file).
func scanFile(path string, needles [][]byte) ([]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	overlap := 0
	for _, n := range needles {
		overlap = max(overlap, len(n))
	}
	found := make([]bool, len(needles))
	buf := make([]byte, 1<<20+overlap)
	kept := 0
	for {
		n, err := f.Read(buf[kept:])
		chunk := buf[:kept+n]
		for i, nd := range needles {
			if len(nd) > 0 && bytes.Contains(chunk, nd) {
				found[i] = true
			}
		}
		if err == io.EOF {
			return found, nil
		}
		if err != nil {
			return nil, err
		}
		kept = min(overlap, len(chunk))
		copy(buf, chunk[len(chunk)-kept:])
	}
}

func TestCredentialsAreBoundToTheirConsumer(t *testing.T) {
	ctx := context.Background()
	s, db, l := openLedger(t, t.TempDir(), master(t))
	defer db.Close()
	if err := s.Put(ctx, credential.Credential{Consumer: "alice", Key: "k", AppKey: "shop"}, map[string]string{"apiKey": "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "bob", "k"); !errors.Is(err, credential.ErrNotFound) {
		t.Fatalf("bob reads alice's credential: %v", err)
	}
	if _, err := s.Secrets(ctx, "bob", "k"); !errors.Is(err, credential.ErrNotFound) {
		t.Fatalf("bob reads alice's secrets: %v", err)
	}
	// Copy alice's sealed record under bob's key, as a bug or an attacker with write access would:
	// the AEAD's additional data binds it to alice, so it does not open for bob.
	o, err := l.Object(ctx, ledger.ObjectKey{Kind: "credential", Consumer: "alice", ID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Put(ctx, ledger.ObjectKey{Kind: "credential", Consumer: "bob", ID: "k"}, o.Value, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secrets(ctx, "bob", "k"); !errors.Is(err, keyring.ErrTampered) {
		t.Fatalf("alice's sealed secrets opened as bob's: %v", err)
	}
}

func TestRotationReseals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := master(t)
	s, db := openStore(t, dir, m)
	if err := s.Put(ctx, credential.Credential{Consumer: "c", Key: "k", AppKey: "shop"}, map[string]string{"token": "t1"}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get(ctx, "c", "k")
	if err := s.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A new process: both data keys load from the database.
	s, db = openStore(t, dir, m)
	defer db.Close()
	if sec, err := s.Secrets(ctx, "c", "k"); err != nil || sec["token"] != "t1" {
		t.Fatalf("after rotation: %v, %v", sec, err)
	}
	after, _ := s.Get(ctx, "c", "k")
	if after.KeyID == before.KeyID {
		t.Fatalf("record still sealed by the old key %s after Secrets", after.KeyID)
	}
	if sec, err := s.Secrets(ctx, "c", "k"); err != nil || sec["token"] != "t1" {
		t.Fatalf("after re-seal: %v, %v", sec, err)
	}
}

func TestWrongMasterRefused(t *testing.T) {
	dir := t.TempDir()
	_, db := openStore(t, dir, master(t))
	db.Close()
	db, err := kv.Open(kv.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := ledger.Open(context.Background(), db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = credential.Open(context.Background(), l, credential.Options{Env: "production", Master: master(t)})
	if !errors.Is(err, keyring.ErrWrongKey) {
		t.Fatalf("open with another master key: %v, want ErrWrongKey", err)
	}
}

func TestListAndDelete(t *testing.T) {
	ctx := context.Background()
	s, db := openStore(t, t.TempDir(), master(t))
	defer db.Close()
	for _, k := range []string{"a", "b/slash", "c"} {
		if err := s.Put(ctx, credential.Credential{Consumer: "x", Key: k, AppKey: "shop"}, map[string]string{"k": k}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, credential.Credential{Consumer: "y", Key: "other", AppKey: "shop"}, nil); err != nil {
		t.Fatal(err)
	}
	page, next, err := s.List(ctx, "x", ledger.Page{Limit: 2})
	if err != nil || len(page) != 2 || page[0].Key != "a" || page[1].Key != "b/slash" || next == "" {
		t.Fatalf("page 1: %+v next %q err %v", page, next, err)
	}
	page, next, err = s.List(ctx, "x", ledger.Page{Cursor: next, Limit: 2})
	if err != nil || len(page) != 1 || page[0].Key != "c" || next != "" {
		t.Fatalf("page 2: %+v next %q err %v", page, next, err)
	}
	if err := s.Delete(ctx, "x", "b/slash"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "x", "b/slash"); !errors.Is(err, credential.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	for _, bad := range []credential.Credential{{Key: "k", AppKey: "a"}, {Consumer: "c", AppKey: "a"}, {Consumer: "c", Key: "k"}} {
		if err := s.Put(ctx, bad, nil); !errors.Is(err, credential.ErrInvalid) {
			t.Errorf("Put(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestSwapSecrets(t *testing.T) {
	ctx := context.Background()
	s, db := openStore(t, t.TempDir(), master(t))
	defer db.Close()
	old := map[string]string{"access_token": "a1", "refresh_token": "r1"}
	if err := s.Put(ctx, credential.Credential{Consumer: "c", Key: "k", AppKey: "oa"}, old); err != nil {
		t.Fatal(err)
	}
	next := map[string]string{"access_token": "a2", "refresh_token": "r1"}
	if ok, err := s.SwapSecrets(ctx, "c", "k", old, next); !ok || err != nil {
		t.Fatalf("swap from the stored secrets: %v, %v", ok, err)
	}
	if ok, err := s.SwapSecrets(ctx, "c", "k", old, map[string]string{"access_token": "a3"}); ok || err != nil {
		t.Fatalf("swap from stale secrets: %v, %v; want false, nil", ok, err)
	}
	if got, _ := s.Secrets(ctx, "c", "k"); got["access_token"] != "a2" {
		t.Errorf("after the swaps: %v", got)
	}
	// Racing swaps from the same secrets: exactly one wins.
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ok, err := s.SwapSecrets(ctx, "c", "k", next, map[string]string{"access_token": fmt.Sprint("b", i)})
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d of 8 racing swaps won, want 1", wins.Load())
	}
	if _, err := s.SwapSecrets(ctx, "c", "missing", old, next); !errors.Is(err, credential.ErrNotFound) {
		t.Errorf("swap of a missing credential: %v", err)
	}
}

// TestSealOpen: a sealed secret opens for its consumer and purpose only, and garbage is refused.
func TestSealOpen(t *testing.T) {
	s, db := openStore(t, t.TempDir(), master(t))
	defer db.Close()
	sealed, err := s.Seal("alice", "webhook/a1", []byte("whsec_x"))
	if err != nil || strings.Contains(sealed, "whsec_x") {
		t.Fatalf("Seal = %q, %v", sealed, err)
	}
	if b, err := s.Open("alice", "webhook/a1", sealed); err != nil || string(b) != "whsec_x" {
		t.Fatalf("Open = %q, %v", b, err)
	}
	for _, tc := range []struct{ consumer, purpose, sealed string }{
		{"bob", "webhook/a1", sealed}, {"alice", "webhook/a2", sealed}, {"alice", "webhook/a1", "not base64!"}, {"alice", "webhook/a1", "AAAA"},
	} {
		if _, err := s.Open(tc.consumer, tc.purpose, tc.sealed); err == nil {
			t.Errorf("Open(%q, %q, %.10q) succeeded", tc.consumer, tc.purpose, tc.sealed)
		}
	}
}

// TestReadsSeeEveryWrite reads a credential between its writes: the store keeps decoded records
// by version, and must never answer with an older one, nor let a caller's changes reach it.
func TestReadsSeeEveryWrite(t *testing.T) {
	ctx := context.Background()
	s, db := openStore(t, t.TempDir(), master(t))
	defer db.Close()
	for i := range 5 {
		want := fmt.Sprint(i)
		if err := s.Put(ctx, credential.Credential{Consumer: "alice", Key: "k", AppKey: "chat", Fields: map[string]string{"n": want}},
			map[string]string{"token": "t" + want}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second read is the one a decoded record could answer
			c, err := s.Get(ctx, "alice", "k")
			if err != nil || c.Fields["n"] != want {
				t.Fatalf("after put %d: fields %v, %v", i, c.Fields, err)
			}
			c.Fields["n"] = "changed by the caller"
			sec, err := s.Secrets(ctx, "alice", "k")
			if err != nil || sec["token"] != "t"+want {
				t.Fatalf("after put %d: secrets %v, %v", i, sec != nil, err)
			}
		}
	}
	if err := s.Delete(ctx, "alice", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "alice", "k"); !errors.Is(err, credential.ErrNotFound) {
		t.Errorf("get after delete: %v, want ErrNotFound", err)
	}
}
