package sandbox

// arena is Extism memory for Splice's engine: the host-owned address space that the extism:host/env
// functions (alloc, load_*, store_*, output_set ...) address with i64 offsets. It lives in Go, not in
// a second Wasm module as in Extism's kernel, so a host function reaches it without a nested Wasm call.
//
// Blocks are bump-allocated and 8-byte aligned; freed blocks are reused first-fit; reset empties it
// between calls. Block metadata is kept outside the buffer, so a guest that scribbles over Extism
// memory cannot make the host read or write outside it: every access is bounds-checked against the
// allocated region. Offset 0 is never a block. Not safe for concurrent use (an instance runs one call
// at a time).
type arena struct {
	buf    []byte           // allocated space, len(buf) == pos always; offsets index buf directly
	pos    uint64           // bump pointer
	blocks map[uint64]block // live blocks by offset
	free   []uint64         // offsets of freed blocks, reusable
	limit  uint64           // most bytes the arena may hold
}

type block struct{ len, cap uint64 }

const arenaBase = 8 // the first offset handed out; 0 stays "none"

func newArena(limit int64) arena {
	return arena{buf: make([]byte, arenaBase), pos: arenaBase, blocks: make(map[uint64]block), limit: uint64(limit)}
}

// alloc returns the offset of a new zeroed block of n bytes, 0 when n is 0, and ok=false when the
// arena would exceed its limit.
func (a *arena) alloc(n uint64) (off uint64, ok bool) {
	if n == 0 {
		return 0, true
	}
	for i, f := range a.free {
		if b := a.blocks[f]; b.cap >= n {
			a.free[i] = a.free[len(a.free)-1]
			a.free = a.free[:len(a.free)-1]
			a.blocks[f] = block{len: n, cap: b.cap}
			clear(a.buf[f : f+n])
			return f, true
		}
	}
	c := (n + 7) &^ 7
	if c < n || a.pos > a.limit || c > a.limit-a.pos {
		return 0, false
	}
	off = a.pos
	end := off + c
	if uint64(cap(a.buf)) < end {
		nc := uint64(cap(a.buf)) * 2
		if nc < end {
			nc = end
		}
		if nc < 4096 {
			nc = 4096
		}
		if nc > a.limit {
			nc = a.limit
		}
		nb := make([]byte, end, nc)
		copy(nb, a.buf)
		a.buf = nb
	} else {
		a.buf = a.buf[:end]
		clear(a.buf[off:end])
	}
	a.pos = end
	a.blocks[off] = block{len: n, cap: c}
	return off, true
}

// free releases the block at off; other offsets are ignored, as Extism's kernel does.
func (a *arena) freeBlock(off uint64) {
	b, ok := a.blocks[off]
	if !ok || b.len == 0 {
		return
	}
	a.blocks[off] = block{cap: b.cap}
	a.free = append(a.free, off)
}

// length returns the length of the live block at off, or 0.
func (a *arena) length(off uint64) uint64 {
	return a.blocks[off].len
}

// bytes returns the live block at off, or nil when no block starts there.
func (a *arena) bytes(off uint64) []byte {
	b, ok := a.blocks[off]
	if !ok || b.len == 0 {
		return nil
	}
	return a.buf[off : off+b.len]
}

// span returns buf[off:off+n] if it lies within the allocated region.
func (a *arena) span(off, n uint64) ([]byte, bool) {
	if off < arenaBase || off > a.pos || n > a.pos-off {
		return nil, false
	}
	return a.buf[off : off+n], true
}

// write allocates a block holding p and returns its offset.
func (a *arena) write(p []byte) (uint64, bool) {
	off, ok := a.alloc(uint64(len(p)))
	if ok && off != 0 {
		copy(a.buf[off:], p)
	}
	return off, ok
}

// reset frees everything. A large buffer is dropped rather than kept for the next call.
func (a *arena) reset() {
	clear(a.blocks)
	a.free = a.free[:0]
	a.pos = arenaBase
	if cap(a.buf) > 4<<20 {
		a.buf = make([]byte, arenaBase)
	} else {
		a.buf = a.buf[:arenaBase]
	}
}
