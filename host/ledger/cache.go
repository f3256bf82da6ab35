package ledger

import (
	"bytes"
	"sync"
)

// Object cache budgets: bounds on the bytes of the values held (keys and Go headers not counted).
const (
	// objectCacheBytes bounds the object cache: credentials, automations, connector versions,
	// data keys (all small, read on every run).
	objectCacheBytes = 4 << 20
	// maxCachedObject is the largest object value cached; larger ones are read from disk.
	maxCachedObject = 64 << 10
)

// cache is the embedded store's read cache of objects: see "Why objects are cached" in doc.go.
// It is read-through, and dropped by every write of the object. A reader fills it only if no
// write of the object began since the reader looked (gens), so a read that raced with a write
// never leaves the old record behind.
type cache struct {
	mu       sync.Mutex
	objects  map[string]Object
	objBytes int
	gens     [64]uint64 // bumped by each object write, by stripe of the key's hash
}

func (c *cache) init() {
	c.objects = map[string]Object{}
}

// stripe picks the generation counter of key (FNV-1a).
func stripe(key []byte) int {
	h := uint32(2166136261)
	for _, b := range key {
		h = (h ^ uint32(b)) * 16777619
	}
	return int(h % 64)
}

// object returns the cached object under key, or the stripe's generation to pass to fillObject.
func (c *cache) object(key []byte) (Object, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.objects[string(key)]
	if ok {
		o.Value = bytes.Clone(o.Value)
	}
	return o, c.gens[stripe(key)], ok
}

// fillObject caches o under key, read from disk when the stripe's generation was gen.
func (c *cache) fillObject(key []byte, o Object, gen uint64) {
	n := len(o.Value)
	if n > maxCachedObject {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens[stripe(key)] != gen {
		return // a write began since the read: what was read may be old
	}
	if old, ok := c.objects[string(key)]; ok {
		c.objBytes -= len(old.Value)
	}
	for k, v := range c.objects {
		if c.objBytes+n <= objectCacheBytes {
			break
		}
		c.objBytes -= len(v.Value)
		delete(c.objects, k) // map order is random: a random eviction
	}
	o.Value = bytes.Clone(o.Value)
	c.objects[string(key)] = o
	c.objBytes += n
}

// dropObjects forgets keys' objects; a writer calls it before and after its write.
func (c *cache) dropObjects(keys ...[]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		c.gens[stripe(k)]++
		if old, ok := c.objects[string(k)]; ok {
			c.objBytes -= len(old.Value)
			delete(c.objects, string(k))
		}
	}
}
