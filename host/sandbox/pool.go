package sandbox

import (
	"context"
	"sync"
	"time"
)

// slot is one live instance with its owner and its reusable call state.
type slot struct {
	inst     instance
	mod      *Module
	consumer string
	st       callState
	idle     bool  // in the LRU list
	prev     *slot // towards the most recently used
	next     *slot // towards the least recently used
}

// pool bounds live instances across all modules of a Runtime. Idle instances sit in their module's
// per-consumer list and in one LRU list; when a new instance is needed at the bound, the least
// recently used idle one is closed. Lock order: pool.mu only; no other lock is taken under it.
type pool struct {
	mu   sync.Mutex
	max  int
	live int
	n    int   // idle slots in the LRU list
	head *slot // most recently used idle slot
	tail *slot // least recently used idle slot
}

func (p *pool) pushFront(s *slot) {
	s.idle, s.prev, s.next = true, nil, p.head
	if p.head != nil {
		p.head.prev = s
	} else {
		p.tail = s
	}
	p.head = s
	p.n++
}

func (p *pool) remove(s *slot) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		p.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		p.tail = s.prev
	}
	s.idle, s.prev, s.next = false, nil, nil
	p.n--
}

// acquire lends an idle instance of m for consumer, or instantiates one within d.
func (m *Module) acquire(ctx context.Context, consumer string, d time.Duration) (*slot, error) {
	p := &m.rt.pool
	p.mu.Lock()
	if idle := m.idle[consumer]; len(idle) > 0 {
		s := idle[len(idle)-1]
		idle[len(idle)-1] = nil
		m.idle[consumer] = idle[:len(idle)-1]
		p.remove(s)
		p.mu.Unlock()
		return s, nil
	}
	if m.closed {
		p.mu.Unlock()
		return nil, &Error{Kind: KindInvalidModule, Module: m.name, Message: "module is closed"}
	}
	// At the bound an idle instance always exists to evict: a caller holds one of MaxConcurrentCalls
	// slots (<= MaxInstances), so at most MaxConcurrentCalls-1 other instances are in use.
	var evict *slot
	if p.live >= p.max {
		if p.tail != nil {
			evict = p.tail
			p.unlinkLocked(evict)
			p.live--
		}
	}
	p.live++
	p.mu.Unlock()
	if evict != nil {
		evict.inst.close(ctx)
	}

	ictx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	inst, err := m.compiled.instantiate(ictx)
	if err != nil {
		p.mu.Lock()
		p.live--
		p.mu.Unlock()
		if e, ok := err.(*Error); ok {
			e.Module = m.name
			return nil, e
		}
		return nil, &Error{Kind: KindInvalidModule, Module: m.name, Message: "instantiate: " + firstLine(err.Error()), Err: err}
	}
	return &slot{inst: inst, mod: m, consumer: consumer}, nil
}

// release returns s to the pool after a call that ended with kind ("" for success), or closes it.
func (m *Module) release(s *slot, kind Kind) {
	p := &m.rt.pool
	p.mu.Lock()
	if discards(kind) || m.closed {
		p.live--
		p.mu.Unlock()
		s.inst.close(context.Background())
		return
	}
	s.st = callState{}
	m.idle[s.consumer] = append(m.idle[s.consumer], s)
	p.pushFront(s)
	p.mu.Unlock()
}

func (p *pool) unlinkLocked(s *slot) {
	p.remove(s)
	idle := s.mod.idle[s.consumer]
	for i, x := range idle {
		if x == s {
			idle = append(idle[:i], idle[i+1:]...)
			break
		}
	}
	if len(idle) == 0 {
		delete(s.mod.idle, s.consumer)
	} else {
		s.mod.idle[s.consumer] = idle
	}
}

// drain removes and returns the idle instances of m (of every module when m is nil) and marks m
// closed so that instances in use are closed when released.
func (p *pool) drain(m *Module) []*slot {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*slot
	for s := p.head; s != nil; {
		next := s.next
		if m == nil || s.mod == m {
			p.unlinkLocked(s)
			p.live--
			out = append(out, s)
		}
		s = next
	}
	if m != nil {
		m.closed = true
	}
	return out
}

// Idle returns the number of idle pooled instances across the Runtime, for tests and metrics.
func (r *Runtime) Idle() int {
	r.pool.mu.Lock()
	defer r.pool.mu.Unlock()
	return r.pool.n
}

// Live returns the number of live instances, idle or in use.
func (r *Runtime) Live() int {
	r.pool.mu.Lock()
	defer r.pool.mu.Unlock()
	return r.pool.live
}
