package sandbox

import (
	"errors"
	"fmt"
)

// moduleInfo is what Compile learns from a module's binary before any runtime sees it: which
// functions it exports, which it imports and how much memory it declares.
type moduleInfo struct {
	exports   map[string]struct{} // exported function names
	imports   []importRef         // imported functions
	memories  int                 // memories declared or imported
	memMin    uint64              // minimum pages of the first memory
	hasMemory bool
}

type importRef struct{ module, name string }

var errTruncated = errors.New("truncated")

// parseModule reads the import, memory and export sections of a WebAssembly binary. It checks only
// what it reads; wazero validates the rest when it compiles. It never panics on any input.
func parseModule(b []byte) (*moduleInfo, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly binary (bad magic)")
	}
	if b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return nil, fmt.Errorf("unsupported WebAssembly binary version %x", b[4:8])
	}
	info := &moduleInfo{exports: make(map[string]struct{})}
	r := reader{b: b, off: 8}
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section %d: size: %w", id, err)
		}
		body, err := r.bytes(int(size))
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		s := reader{b: body}
		switch id {
		case 2:
			err = info.readImports(&s)
		case 5:
			err = info.readMemories(&s)
		case 7:
			err = info.readExports(&s)
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
	}
	return info, nil
}

func (info *moduleInfo) readImports(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		mod, err := r.name()
		if err != nil {
			return err
		}
		name, err := r.name()
		if err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0: // function: type index
			if _, err := r.u32(); err != nil {
				return err
			}
			info.imports = append(info.imports, importRef{mod, name})
		case 1: // table: reference type, limits
			if _, err := r.byte(); err != nil {
				return err
			}
			if _, _, err := r.limits(); err != nil {
				return err
			}
		case 2: // memory
			min, _, err := r.limits()
			if err != nil {
				return err
			}
			info.addMemory(min)
		case 3: // global: value type, mutability
			if _, err := r.bytes(2); err != nil {
				return err
			}
		case 4: // tag: attribute, type index
			if _, err := r.byte(); err != nil {
				return err
			}
			if _, err := r.u32(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("import %q %q: unknown kind %d", mod, name, kind)
		}
	}
	return nil
}

func (info *moduleInfo) readMemories(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		min, _, err := r.limits()
		if err != nil {
			return err
		}
		info.addMemory(min)
	}
	return nil
}

func (info *moduleInfo) addMemory(min uint64) {
	if !info.hasMemory {
		info.memMin, info.hasMemory = min, true
	}
	info.memories++
}

func (info *moduleInfo) readExports(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		name, err := r.name()
		if err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		if _, err := r.u32(); err != nil {
			return err
		}
		if kind == 0 {
			info.exports[name] = struct{}{}
		}
	}
	return nil
}

// reader decodes the primitives of the WebAssembly binary format over a byte slice.
type reader struct {
	b   []byte
	off int
}

func (r *reader) done() bool { return r.off >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, errTruncated
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

// uleb reads an unsigned LEB128 number of at most bits bits.
func (r *reader) uleb(bits uint) (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift >= bits {
			return 0, errors.New("integer too large")
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if bits < 64 && v>>bits != 0 {
				return 0, errors.New("integer too large")
			}
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(int(n))
	return string(b), err
}

// limits reads memory or table limits: a flags byte, the minimum and, when flagged, the maximum.
// Flag 0x04 marks 64-bit limits.
func (r *reader) limits() (min, max uint64, err error) {
	flags, err := r.byte()
	if err != nil {
		return 0, 0, err
	}
	bits := uint(32)
	if flags&0x04 != 0 {
		bits = 64
	}
	if min, err = r.uleb(bits); err != nil {
		return 0, 0, err
	}
	if flags&0x01 != 0 {
		if max, err = r.uleb(bits); err != nil {
			return 0, 0, err
		}
	}
	return min, max, nil
}
