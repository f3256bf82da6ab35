package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/splicehq/splice/host/server"
)

// TestDiskFull runs Splice over a file system that fills up: a 96 MiB tmpfs the test mounts (it
// is skipped where it may not: root on Linux only). Badger writes through memory-mapped files, so
// without the free-space reserve the process died of SIGBUS once the disk was full (seen under
// e2e W1 on a 48 MiB tmpfs). With a 32 MiB reserve: webhooks with 256 KiB bodies are accepted
// until the reserve is reached, then refused with 503 and Retry-After, nothing stored; /healthz
// says the disk is full; the server lives on. Once the file system grows (a remount), /healthz
// is fine again without a restart, webhooks are accepted, and every accepted webhook's run
// succeeds, those whose commits were refused meanwhile included. An API write meanwhile gets 503
// too.
func TestDiskFull(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("mounts a tmpfs: root on Linux only")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=96m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	h := start(t, dir, func(o *server.Options) {
		o.MinFreeDiskBytes = 32 << 20
		o.Engine.LeaseTTL = 2 * time.Second // a run whose commit was refused runs again soon
		o.Ingress.MaxBodyBytes = 1 << 20
	})
	tok := h.setup("acme")
	var a automationView
	h.json("POST", "/v1/envs/development/automations", tok, `{"name": "big", "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["id"]}}]}`, 201, &a)
	hook := h.url + "/hooks/development/" + a.ID
	fire := func(i int) (int, http.Header, string) {
		t.Helper()
		body := fmt.Appendf(nil, `{"id": %d, "pad": "%s"}`, i, strings.Repeat("x", 256<<10))
		resp, err := http.Post(hook, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("webhook %d: %v (did the server die?)", i, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	health := func() (int, string) {
		resp, err := http.Get(h.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	accepted, i := 0, 0
	for ; ; i++ {
		if i == 1000 {
			t.Fatalf("1000 webhooks of 256 KiB (%d accepted) and the 96 MiB disk never filled", accepted)
		}
		st, header, body := fire(i)
		if st == 202 {
			accepted++
			continue
		}
		if st != 503 || header.Get("Retry-After") != "30" || !strings.Contains(body, "disk is full") {
			t.Fatalf("webhook %d: %d %v %s; want 503, Retry-After 30, the disk is full", i, st, header, body)
		}
		break
	}
	if accepted == 0 {
		t.Fatal("no webhook was accepted before the disk filled")
	}
	if st, body := health(); st != 503 || !strings.Contains(body, "disk is full") {
		t.Fatalf("/healthz with the disk full: %d %s", st, body)
	}
	if st, _, _ := fire(i + 1); st != 503 {
		t.Fatalf("a second webhook with the disk full: %d", st)
	}
	var refused json.RawMessage // an API write: 503 too, not an internal error
	if st := h.do("POST", "/v1/envs/development/automations", tok, "application/json", []byte(`{"name": "more", "trigger": {"appKey": "echo", "triggerKey": "received"}, "steps": []}`), &refused); st != 503 || !strings.Contains(string(refused), "disk is full") {
		t.Fatalf("creating an automation with the disk full: %d %s", st, refused)
	}

	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT, "size=512m"); err != nil {
		t.Fatal(err)
	}
	if st, body := health(); st != 200 {
		t.Fatalf("/healthz once the disk grew: %d %s", st, body)
	}
	if st, _, body := fire(i + 2); st != 202 {
		t.Fatalf("a webhook once the disk grew: %d %s", st, body)
	}
	accepted++
	want := fmt.Sprintf(`splice_engine_runs_total{env="development",status="succeeded"} %d`, accepted)
	metrics := func() string {
		resp, err := http.Get(h.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	deadline := time.Now().Add(60 * time.Second)
	for m := metrics(); !strings.Contains(m, want+"\n"); m = metrics() {
		if time.Now().After(deadline) {
			t.Fatalf("runs never reached %q:\n%s", want, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
