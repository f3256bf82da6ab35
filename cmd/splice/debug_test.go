package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
)

// TestServeDebug: profiles are served on a loopback address and refused on any other.
func TestServeDebug(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:6060", "[::]:0", "example.com:6060", "6060"} {
		if err := serveDebug(ctx, addr, io.Discard); err == nil {
			t.Errorf("--debug-listen %s: no error, want a refusal", addr)
		}
	}
	var out bytes.Buffer
	if err := serveDebug(ctx, "127.0.0.1:0", &out); err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(out.String(), "splice: profiles at "))
	resp, err := http.Get(url + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine profile") {
		t.Errorf("GET %sgoroutine: %d %.200s", url, resp.StatusCode, body)
	}
}

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if !tuneGC(func(string) (string, bool) { return "", false }) {
		t.Fatal("GOGC unset: not tuned")
	}
	if got := debug.SetGCPercent(100); got != serverGCPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, serverGCPercent)
	}
	if tuneGC(func(k string) (string, bool) { return "200", k == "GOGC" }) {
		t.Error("GOGC set: tuned all the same")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: GC percent changed to %d", got)
	}
}
