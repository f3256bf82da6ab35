package sandbox

import (
	"hash/maphash"
	"sync"
)

// compileLocks lets one compile of the same bytes run at a time in an engine.
//
// # Why
//
// wazero (v1.12.0) publishes a module it read from the file cache in its in-memory table before
// it has compiled the module's entry preambles (internal/engine/wazevo/engine_cache.go,
// getCompiledModule; wazero issue 2547). A second CompileModule of the same bytes in that moment
// finds the module in memory and returns it, and the first function looked up on an instance of
// it panics (index out of range in moduleEngine.NewFunction). Splice compiles the same connector
// in many goroutines at once after a restart, when the engine's workers first ask for it, with the
// cache on disk warm: exactly that. Compiles of the same bytes wait for each other here instead,
// so the second finds the module ready; other modules still compile side by side.
type compileLocks struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[uint64]*compileLock
}

type compileLock struct {
	sync.Mutex
	refs int // holders and waiters
}

func newCompileLocks() *compileLocks {
	return &compileLocks{seed: maphash.MakeSeed(), m: map[uint64]*compileLock{}}
}

// lock waits until no other compile of wasm's bytes (or of bytes with the same hash, which only
// costs a wait) runs, and returns the function that ends this one's turn.
func (c *compileLocks) lock(wasm []byte) (unlock func()) {
	key := maphash.Bytes(c.seed, wasm)
	c.mu.Lock()
	l := c.m[key]
	if l == nil {
		l = &compileLock{}
		c.m[key] = l
	}
	l.refs++
	c.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		c.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.m, key)
		}
		c.mu.Unlock()
	}
}
