package sandbox

import (
	"testing"
	"time"
)

// TestCompileLocks: a compile of the same bytes waits for the one running, one of other bytes
// does not, and nothing is kept once all are done.
func TestCompileLocks(t *testing.T) {
	c := newCompileLocks()
	unlockA := c.lock([]byte("module a"))
	unlockB := c.lock([]byte("module b")) // other bytes: no wait
	got := make(chan struct{})
	go func() {
		unlock := c.lock([]byte("module a"))
		close(got)
		unlock()
	}()
	select {
	case <-got:
		t.Fatal("a second compile of the same bytes did not wait for the first")
	case <-time.After(50 * time.Millisecond):
	}
	unlockA()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the second compile still waits after the first ended")
	}
	unlockB()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) != 0 {
		t.Fatalf("%d locks kept after every compile ended", len(c.m))
	}
}
