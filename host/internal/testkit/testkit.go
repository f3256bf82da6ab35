// Package testkit holds helpers shared by the host's tests: finding the repository, building and
// loading guest modules, and checking that goroutines return to their baseline.
//
// It is imported only from _test.go files. Its helpers are safe for concurrent use.
package testkit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	rootOnce sync.Once
	root     string
)

// RepoRoot returns the repository's top directory (the one holding the host's go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		dir := filepath.Dir(file)
		for {
			if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/splicehq/splice\n")) {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	if root == "" {
		t.Fatal("testkit: repository root not found")
	}
	return root
}

// File reads a file given relative to the repository root.
func File(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), rel))
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return b
}

var buildMu sync.Mutex

// Guest returns the module .build/wasm/NAME.wasm, building it from source first with
// `make .build/wasm/NAME.wasm` (make rebuilds it only when its sources changed). Guests are the
// connectors and the conformance guests; see the Makefile for the list.
func Guest(t testing.TB, name string) []byte {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	dir := RepoRoot(t)
	target := ".build/wasm/" + name + ".wasm"
	cmd := exec.Command("make", "-s", target)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testkit: make %s: %v\n%s", target, err, out)
	}
	return File(t, target)
}

// MustFile is File for examples: it panics on failure.
func MustFile(rel string) []byte {
	var t panicTB
	return File(&t, rel)
}

// MustGuest is Guest for examples, which have no testing.TB: it panics on failure.
func MustGuest(name string) []byte {
	var t panicTB
	return Guest(&t, name)
}

// panicTB is a testing.TB whose failures panic.
type panicTB struct{ testing.TB }

func (panicTB) Helper()                           {}
func (panicTB) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (panicTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Goroutines records the number of goroutines now and returns a function that fails t unless the
// count comes back to at most that number within 5 seconds (printing the survivors if not).
func Goroutines(t testing.TB) func() {
	t.Helper()
	base := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("testkit: %d goroutines, want at most %d:\n%s", n, base, trimStacks(string(buf)))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func trimStacks(s string) string {
	if len(s) > 8000 {
		return s[:8000] + "\n..."
	}
	return strings.TrimSpace(s)
}
