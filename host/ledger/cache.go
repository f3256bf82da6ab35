package ledger

import (
	"bytes"
	"sync"
	"time"
)

// Cache budgets: what the embedded store keeps in memory to save reads. Each is a bound on the
// bytes of the records held (keys and Go headers not counted).
const (
	// objectCacheBytes bounds the object cache: credentials, automations, connector versions,
	// data keys (all small, read on every run).
	objectCacheBytes = 4 << 20
	// maxCachedObject is the largest object value cached; larger ones are read from disk.
	maxCachedObject = 64 << 10
	// itemCacheBytes bounds the items written by this process and not yet leased; past it, new
	// items are read from disk when leased.
	itemCacheBytes = 4 << 20
	// eventCacheBytes bounds the events written by this process and not yet read by the run
	// they start; past it, new events are read from disk. An event's entry goes when the run
	// reads it or, if it never does, when the item that starts the run is settled.
	eventCacheBytes = 8 << 20
)

// cache is the embedded store's read cache. It never holds what the disk does not: see "Why
// some records are cached" in doc.go.
//
// objects is a read-through cache of object records, dropped by every write of the object.
// A reader fills it only if no write of the object began since the reader looked (gens), so a
// read that raced with a write never leaves the old record behind.
//
// items and events are write-through and read once: Accept and Ack put a record there before
// the write that stores it, take it out again if the write fails, and the first reader takes
// it out (an item is taken by the lease that claims it, so an entry always is the stored,
// unsettled item). Past their budgets records are read from disk: under a backlog the cache
// holds the oldest, which are leased first.
type cache struct {
	mu       sync.Mutex
	objects  map[string]Object
	objBytes int
	gens     [64]uint64 // bumped by each object write, by stripe of the key's hash

	items     map[string]cachedItem // by item id
	itemBytes int
	events    map[string]Event // by event key
	evBytes   int
}

type cachedItem struct {
	raw  []byte
	item Item
}

func (c *cache) init() {
	c.objects = map[string]Object{}
	c.items = map[string]cachedItem{}
	c.events = map[string]Event{}
}

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

// eventSize is what an event counts against its budget.
func eventSize(e Event) int { return len(e.Payload) + 128 }

// putRecent caches items and events about to be written; it returns what it took, for
// dropRecent to undo if the write fails.
func (c *cache) putRecent(items []cachedItem, events []Event) (tookItems, tookEvents []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range items {
		n := len(it.raw)
		if c.itemBytes+n > itemCacheBytes {
			break
		}
		c.items[it.item.ID] = it
		c.itemBytes += n
		tookItems = append(tookItems, it.item.ID)
	}
	for _, e := range events {
		n := eventSize(e)
		if c.evBytes+n > eventCacheBytes {
			break
		}
		k := string(eventKey(e.Consumer, e.ID))
		c.events[k] = e
		c.evBytes += n
		tookEvents = append(tookEvents, k)
	}
	return tookItems, tookEvents
}

// dropRecent takes out what putRecent took, after a failed write.
func (c *cache) dropRecent(items, events []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range items {
		if it, ok := c.items[id]; ok {
			c.itemBytes -= len(it.raw)
			delete(c.items, id)
		}
	}
	for _, k := range events {
		if e, ok := c.events[k]; ok {
			c.evBytes -= eventSize(e)
			delete(c.events, k)
		}
	}
}

// takeItem takes item id out of the cache.
func (c *cache) takeItem(id string) (cachedItem, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[id]
	if ok {
		c.itemBytes -= len(it.raw)
		delete(c.items, id)
	}
	return it, ok
}

// takeEvent takes the event under key out of the cache.
func (c *cache) takeEvent(key []byte) (Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.events[string(key)]
	if ok {
		c.evBytes -= eventSize(e)
		delete(c.events, string(key))
	}
	return e, ok
}

// wireTime is t as a record stores it and decoding gives it back: no monotonic reading, and the
// location a JSON decode picks. A cached record then equals the one read from disk.
func wireTime(t time.Time) time.Time {
	b, err := t.MarshalJSON()
	if err != nil {
		return t
	}
	var out time.Time
	if out.UnmarshalJSON(b) != nil {
		return t
	}
	return out
}
