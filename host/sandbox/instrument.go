package sandbox

import (
	"errors"
	"fmt"
	"math"
)

// fuelTicks is the fuel an instance starts with and gets back at each yield. Every function entry
// and every loop iteration burns one tick; when the fuel reaches zero the guest calls splice_yield,
// which is where the host enforces deadlines.
const fuelTicks = 65536

// The import that instrument adds: the host function a guest calls when its fuel runs out.
const (
	yieldModule = "extism:host/user"
	yieldName   = "splice_yield"
)

// Section IDs of the binary format (core spec §5.5.2, plus the tag section of exception handling).
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// sectionRank is the position a known section must keep relative to the others; 0 means the section
// may appear anywhere (custom sections, and section IDs this file does not know, kept as they are).
func sectionRank(id byte) int {
	switch id {
	case secType, secImport, secFunction, secTable, secMemory:
		return int(id)
	case secTag:
		return 6
	case secGlobal:
		return 7
	case secExport:
		return 8
	case secStart:
		return 9
	case secElement:
		return 10
	case secDataCount:
		return 11
	case secCode:
		return 12
	case secData:
		return 13
	}
	return 0
}

// wasmSection is one section of a module: its ID, its content and, while unchanged, its original
// encoding (ID, size and content), which is written back as it was.
type wasmSection struct {
	id   byte
	off  int // offset of body in the module, for error messages
	body []byte
	raw  []byte // nil once body has been replaced
	drop bool   // left out of the output (a "name" section that does not parse)
}

func (s *wasmSection) replace(body []byte) { s.body, s.raw = body, nil }

// names rewrites the custom section "name" (body holds its name first) so that its function indices
// follow the added import: function names (subsection 1) and local names (subsection 2) are
// renumbered, other subsections kept. Trap stack traces keep their function names that way. It
// returns nil, nil for other custom sections, and an error for a name section that does not parse
// (which the caller drops: custom sections may be malformed).
func (in *instrumenter) names(body []byte) ([]byte, error) {
	r := reader{b: body}
	name, err := r.sized()
	if err != nil || string(name) != "name" {
		return nil, err
	}
	out := append(make([]byte, 0, len(body)+16), body[:r.off]...)
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		sub, err := r.sized()
		if err != nil {
			return nil, err
		}
		if id == 1 || id == 2 {
			if sub, err = in.nameMap(sub, id == 2); err != nil {
				return nil, err
			}
		}
		out = append(out, id)
		out = appendULEB(out, uint64(len(sub)))
		out = append(out, sub...)
	}
	return out, nil
}

// nameMap renumbers a name map (function index, name) or, when indirect, an indirect name map
// (function index, then a name map of local indices).
func (in *instrumenter) nameMap(b []byte, indirect bool) ([]byte, error) {
	r := reader{b: b}
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	out := appendULEB(make([]byte, 0, len(b)+8), uint64(n))
	for i := uint32(0); i < n; i++ {
		f, err := r.u32()
		if err != nil {
			return nil, err
		}
		if f >= in.k && f < math.MaxUint32 {
			f++
		}
		out = appendULEB(out, uint64(f))
		inner := uint32(1)
		if indirect {
			if inner, err = r.count(); err != nil {
				return nil, err
			}
			out = appendULEB(out, uint64(inner))
		}
		for j := uint32(0); j < inner; j++ {
			if indirect {
				local, err := r.u32()
				if err != nil {
					return nil, err
				}
				out = appendULEB(out, uint64(local))
			}
			name, err := r.sized()
			if err != nil {
				return nil, err
			}
			out = appendULEB(out, uint64(len(name)))
			out = append(out, name...)
		}
	}
	if !r.done() {
		return nil, errTrailing
	}
	return out, nil
}

// instrumenter holds what rewriting a module needs: the index of splice_yield (k, the number of
// imported functions before it), the index of the fuel global (g) and the checkpoint code.
type instrumenter struct {
	k, g  uint32
	check []byte
	base  int // module offset of the section being rewritten, for error messages
}

// instrument returns wasm with fuel checkpoints: an import extism:host/user splice_yield of type
// () -> (), appended after the existing imports, a mutable i32 global holding the fuel (fuelTicks),
// appended after the existing globals, and at the start of every function body and at the header
// of every loop the checkpoint
//
//	global.get $fuel  i32.const 1  i32.sub  global.set $fuel
//	global.get $fuel  i32.eqz
//	if  call $splice_yield  i32.const fuelTicks  global.set $fuel  end
//
// Function indices at or above the new import shift up by one everywhere they occur (code, constant
// expressions, element segments, exports, start). The custom section "name" is renumbered too, so that
// trap stack traces keep their function names; other custom and unknown sections are kept byte for
// byte.
//
// # Why fuel
//
// wazero's WithCloseOnContextDone makes every loop back-edge leave native code to check for
// cancellation, and costs a goroutine per call: a 16 Ki-iteration loop takes ~430 µs with it and
// ~25 µs instrumented (~20 µs with neither; BenchmarkInstrumentedLoop). Checkpoints also run at
// function entry, so a loop-free call tree (testdata/guests/call_tree.wat) yields too.
//
// # Notes
//
//   - The host must export splice_yield from its extism:host/user module, beside any other
//     functions there. A splice_yield that traps leaves the fuel at zero: the next checkpoint takes
//     it below zero and the instance would run ~2^32 ticks before yielding again, so an instance
//     whose yield failed must be closed, as every instance that timed out is.
//   - Code offsets move, so DWARF custom sections (kept as they are) no longer match the code.
//   - The function and global added are not exported; the guest cannot name them, since their
//     indices were out of range in the module as written (references to them are refused).
//
// # Errors
//
// instrument reads every section it rewrites in full and returns an error, never panics, when the
// input is malformed, uses an instruction wazero does not accept (legacy exception handling, GC,
// relaxed SIMD, ...), or refers to a global at or past the fuel global's index (which would let a
// module that is invalid as written reach the fuel once instrumented). It does not validate types.
// It also refuses, unlike wazero, a vector whose count runs past its section (errPastEnd) and a
// function with more than maxLocals locals (errTooManyLocals): wazero allocates for those counts
// before it checks them, gigabytes from a few bytes of input.
func instrument(wasm []byte) ([]byte, error) {
	out, err := instrumentModule(wasm)
	if err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	return out, nil
}

func instrumentModule(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly binary (bad magic)")
	}
	if wasm[4] != 1 || wasm[5] != 0 || wasm[6] != 0 || wasm[7] != 0 {
		return nil, fmt.Errorf("unsupported WebAssembly binary version %x", wasm[4:8])
	}
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, err
	}

	// Pass 1: the indices the rest depends on. The pointers into secs stay valid until the
	// missing sections are inserted, at the end.
	var typ, imp, glob *wasmSection
	for i := range secs {
		switch secs[i].id {
		case secType:
			typ = &secs[i]
		case secImport:
			imp = &secs[i]
		case secGlobal:
			glob = &secs[i]
		}
	}
	var t uint32 // index of the type () -> ()
	if typ != nil {
		body, idx, changed, err := addYieldType(typ.body)
		if err != nil {
			return nil, fmt.Errorf("type section: %w", err)
		}
		if changed {
			typ.replace(body)
		}
		t = idx
	}
	in := &instrumenter{}
	var importedGlobals uint32
	if imp != nil {
		body, funcs, globals, err := addYieldImport(imp.body, t)
		if err != nil {
			return nil, fmt.Errorf("import section: %w", err)
		}
		imp.replace(body)
		in.k, importedGlobals = funcs, globals
	}
	g := uint64(importedGlobals)
	if glob != nil {
		r := reader{b: glob.body}
		n, err := r.count()
		if err != nil {
			return nil, fmt.Errorf("global section: %w", err)
		}
		g += uint64(n)
	}
	if g >= math.MaxUint32 {
		return nil, errors.New("too many globals")
	}
	in.g = uint32(g)
	in.check = checkpoint(in.k, in.g)

	// Pass 2: rewrite every section that holds function or global indices.
	for i := range secs {
		s := &secs[i]
		in.base = s.off
		var body []byte
		var err error
		switch s.id {
		case secGlobal:
			body, err = in.globals(s.body)
		case secTable:
			body, err = in.tables(s.body)
		case secExport:
			body, err = in.exports(s.body)
		case secStart:
			body, err = in.start(s.body)
		case secElement:
			body, err = in.elements(s.body)
		case secCode:
			body, err = in.code(s.body)
		case secData:
			body, err = in.data(s.body)
		case secCustom:
			if body, err = in.names(s.body); err != nil {
				s.drop = true // a "name" section that does not parse is dropped, not an error
				continue
			}
			if body == nil {
				continue // another custom section: kept as it is
			}
		case secFunction, secMemory, secTag, secDataCount:
			err = checkSection(s.id, s.body) // read only, to check their counts
			if err == nil {
				continue
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s section: %w", sectionName(s.id), err)
		}
		s.replace(body)
	}

	// The sections the module lacked.
	if typ == nil {
		secs = insertSection(secs, wasmSection{id: secType, body: []byte{1, 0x60, 0, 0}})
	}
	if imp == nil {
		secs = insertSection(secs, wasmSection{id: secImport, body: appendYieldImport([]byte{1}, t)})
	}
	if glob == nil {
		secs = insertSection(secs, wasmSection{id: secGlobal, body: appendFuelGlobal([]byte{1})})
	}

	size := 8
	for i := range secs {
		size += len(secs[i].body) + 6
	}
	out := make([]byte, 0, size)
	out = append(out, wasm[:8]...)
	for i := range secs {
		s := &secs[i]
		if s.drop {
			continue
		}
		if s.raw != nil {
			out = append(out, s.raw...)
			continue
		}
		out = append(out, s.id)
		out = appendULEB(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}

// checkSection reads a section that instrument keeps as it is: function, memory, tag, data count.
func checkSection(id byte, body []byte) error {
	r := reader{b: body}
	if id == secDataCount {
		if len(body) == 0 {
			return nil // malformed, but wazero 1.12 accepts it at the end of a module
		}
		_, err := r.u32()
		if err == nil && !r.done() {
			err = errTrailing
		}
		return err
	}
	n, err := r.count()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		switch id {
		case secFunction: // type index
			_, err = r.u32()
		case secMemory:
			_, _, err = r.limits()
		case secTag: // attribute, type index
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		}
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
	}
	if !r.done() {
		return errTrailing
	}
	return nil
}

// splitSections cuts a module (after its header) into sections, refusing known sections that are
// repeated or out of order.
func splitSections(wasm []byte) ([]wasmSection, error) {
	var secs []wasmSection
	r := reader{b: wasm, off: 8}
	last := 0
	for !r.done() {
		start := r.off
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		body, err := r.sized()
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		off := r.off - len(body)
		if id == secCustom {
			cr := reader{b: body}
			if _, err := cr.sized(); err != nil {
				return nil, fmt.Errorf("custom section: name: %w", err)
			}
		} else if rank := sectionRank(id); rank != 0 {
			if rank <= last {
				return nil, fmt.Errorf("%s section: repeated or out of order", sectionName(id))
			}
			last = rank
		}
		secs = append(secs, wasmSection{id: id, off: off, body: body, raw: wasm[start:r.off]})
	}
	return secs, nil
}

// insertSection inserts s before the first known section that must follow it.
func insertSection(secs []wasmSection, s wasmSection) []wasmSection {
	rank := sectionRank(s.id)
	i := len(secs)
	for j := range secs {
		if sectionRank(secs[j].id) > rank {
			i = j
			break
		}
	}
	secs = append(secs, wasmSection{})
	copy(secs[i+1:], secs[i:])
	secs[i] = s
	return secs
}

func sectionName(id byte) string {
	names := [...]string{"custom", "type", "import", "function", "table", "memory", "global", "export",
		"start", "element", "code", "data", "data count", "tag"}
	if int(id) < len(names) {
		return names[id]
	}
	return fmt.Sprintf("unknown (%d)", id)
}

// addYieldType returns the type section with a function type () -> () and that type's index. It
// reuses an existing () -> () type (changed is false) or appends one.
func addYieldType(body []byte) (out []byte, idx uint32, changed bool, err error) {
	r := reader{b: body}
	n, err := r.count()
	if err != nil {
		return nil, 0, false, err
	}
	countEnd := r.off
	found := false
	for i := uint32(0); i < n; i++ {
		form, err := r.byte()
		if err != nil {
			return nil, 0, false, err
		}
		if form != 0x60 {
			return nil, 0, false, fmt.Errorf("type %d: unsupported form 0x%02x", i, form)
		}
		params, err := r.valTypes()
		if err != nil {
			return nil, 0, false, fmt.Errorf("type %d: %w", i, err)
		}
		results, err := r.valTypes()
		if err != nil {
			return nil, 0, false, fmt.Errorf("type %d: %w", i, err)
		}
		if !found && params == 0 && results == 0 {
			found, idx = true, i
		}
	}
	if !r.done() {
		return nil, 0, false, errTrailing
	}
	if found {
		return body, idx, false, nil
	}
	if n == math.MaxUint32 {
		return nil, 0, false, errors.New("too many types")
	}
	out = appendULEB(make([]byte, 0, len(body)+8), uint64(n)+1)
	out = append(out, body[countEnd:]...)
	out = append(out, 0x60, 0, 0)
	return out, n, true, nil
}

// addYieldImport returns the import section with splice_yield (of type t) appended, and the number
// of functions and globals imported before it.
func addYieldImport(body []byte, t uint32) (out []byte, funcs, globals uint32, err error) {
	r := reader{b: body}
	n, err := r.count()
	if err != nil {
		return nil, 0, 0, err
	}
	countEnd := r.off
	for i := uint32(0); i < n; i++ {
		if _, err := r.sized(); err != nil { // module
			return nil, 0, 0, fmt.Errorf("import %d: %w", i, err)
		}
		if _, err := r.sized(); err != nil { // name
			return nil, 0, 0, fmt.Errorf("import %d: %w", i, err)
		}
		kind, err := r.byte()
		if err != nil {
			return nil, 0, 0, fmt.Errorf("import %d: %w", i, err)
		}
		switch kind {
		case 0: // function: type index
			_, err = r.u32()
			funcs++
		case 1: // table: reference type, limits
			if err = r.valType(); err == nil {
				_, _, err = r.limits()
			}
		case 2: // memory: limits
			_, _, err = r.limits()
		case 3: // global: value type, mutability
			if err = r.valType(); err == nil {
				_, err = r.byte()
			}
			globals++
		case 4: // tag: attribute, type index
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			err = fmt.Errorf("unknown kind %d", kind)
		}
		if err != nil {
			return nil, 0, 0, fmt.Errorf("import %d: %w", i, err)
		}
	}
	if !r.done() {
		return nil, 0, 0, errTrailing
	}
	if n == math.MaxUint32 {
		return nil, 0, 0, errors.New("too many imports")
	}
	out = appendULEB(make([]byte, 0, len(body)+40), uint64(n)+1)
	out = append(out, body[countEnd:]...)
	return appendYieldImport(out, t), funcs, globals, nil
}

func appendYieldImport(b []byte, t uint32) []byte {
	b = appendName(b, yieldModule)
	b = appendName(b, yieldName)
	b = append(b, 0) // function
	return appendULEB(b, uint64(t))
}

// appendFuelGlobal appends the fuel global: (global (mut i32) (i32.const fuelTicks)).
func appendFuelGlobal(b []byte) []byte {
	b = append(b, 0x7f, 1, opI32Const)
	b = appendSLEB(b, fuelTicks)
	return append(b, opEnd)
}

// checkpoint returns the code that burns one tick of fuel and yields when none is left.
func checkpoint(k, g uint32) []byte {
	b := make([]byte, 0, 40)
	b = append(b, opGlobalGet)
	b = appendULEB(b, uint64(g))
	b = append(b, opI32Const, 1, opI32Sub, opGlobalSet)
	b = appendULEB(b, uint64(g))
	b = append(b, opGlobalGet)
	b = appendULEB(b, uint64(g))
	b = append(b, opI32Eqz, opIf, blockEmpty, opCall)
	b = appendULEB(b, uint64(k))
	b = append(b, opI32Const)
	b = appendSLEB(b, fuelTicks)
	b = append(b, opGlobalSet)
	b = appendULEB(b, uint64(g))
	return append(b, opEnd)
}

func (in *instrumenter) globals(body []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	e := editor{src: body, next: r.off}
	e.out = appendULEB(make([]byte, 0, len(body)+16), uint64(n)+1) // n+1 <= in.g+1 fits
	for i := uint32(0); i < n; i++ {
		if err := r.valType(); err != nil {
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
		if _, err := r.byte(); err != nil { // mutability
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
		if err := in.expr(&r, &e, false); err != nil {
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
	}
	if !r.done() {
		return nil, errTrailing
	}
	return appendFuelGlobal(e.finish()), nil
}

// tables rewrites the initializer expressions of tables (function references: 0x40 0x00 tabletype
// expr).
func (in *instrumenter) tables(body []byte) ([]byte, error) {
	return in.vector(body, "table", in.table)
}

func (in *instrumenter) table(r *reader, e *editor) error {
	init := r.off < len(r.b) && r.b[r.off] == 0x40
	if init {
		r.off++
		if c, err := r.byte(); err != nil {
			return err
		} else if c != 0 {
			return fmt.Errorf("reserved byte 0x%02x", c)
		}
	}
	if err := r.valType(); err != nil {
		return err
	}
	if _, _, err := r.limits(); err != nil {
		return err
	}
	if init {
		return in.expr(r, e, false)
	}
	return nil
}

func (in *instrumenter) exports(body []byte) ([]byte, error) {
	return in.vector(body, "export", in.export)
}

func (in *instrumenter) export(r *reader, e *editor) error {
	name, err := r.sized()
	if err != nil {
		return err
	}
	kind, err := r.byte()
	if err != nil {
		return fmt.Errorf("%q: %w", name, err)
	}
	switch kind {
	case 0:
		err = in.funcIndex(r, e)
	case 3:
		err = in.globalIndex(r)
	default:
		_, err = r.u32()
	}
	if err != nil {
		return fmt.Errorf("%q: %w", name, err)
	}
	return nil
}

// vector rewrites a section body that is a vector of items, each read (and edited) by item.
func (in *instrumenter) vector(body []byte, what string, item func(*reader, *editor) error) ([]byte, error) {
	r := reader{b: body}
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	e := editor{src: body}
	for i := uint32(0); i < n; i++ {
		if err := item(&r, &e); err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, i, err)
		}
	}
	if !r.done() {
		return nil, errTrailing
	}
	return e.finish(), nil
}

func (in *instrumenter) start(body []byte) ([]byte, error) {
	r := reader{b: body}
	e := editor{src: body}
	if err := in.funcIndex(&r, &e); err != nil {
		return nil, err
	}
	if !r.done() {
		return nil, errTrailing
	}
	return e.finish(), nil
}

// elements rewrites element segments in all eight encodings (flags 0-7): bit 0 passive or
// declarative, bit 1 explicit table index (when active) or declarative, bit 2 expressions instead
// of function indices.
func (in *instrumenter) elements(body []byte) ([]byte, error) {
	return in.vector(body, "segment", in.element)
}

func (in *instrumenter) element(r *reader, e *editor) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	if flags > 7 {
		return fmt.Errorf("unknown flags %d", flags)
	}
	active := flags&1 == 0
	if active && flags&2 != 0 { // explicit table index
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	if active { // offset
		if err := in.expr(r, e, false); err != nil {
			return err
		}
	}
	exprs := flags&4 != 0
	if flags&3 != 0 { // element kind or reference type
		if exprs {
			err = r.valType()
		} else {
			_, err = r.byte()
		}
		if err != nil {
			return err
		}
	}
	m, err := r.count()
	if err != nil {
		return err
	}
	for j := uint32(0); j < m; j++ {
		if exprs {
			err = in.expr(r, e, false)
		} else {
			err = in.funcIndex(r, e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// data reads the data segments. Their offsets hold no function index, so the section comes out
// unchanged; reading them checks the global indices they use.
func (in *instrumenter) data(body []byte) ([]byte, error) {
	return in.vector(body, "segment", in.dataSegment)
}

func (in *instrumenter) dataSegment(r *reader, e *editor) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	switch flags {
	case 0: // active, memory 0
		err = in.expr(r, e, false)
	case 1: // passive
	case 2: // active, explicit memory
		if _, err = r.u32(); err == nil {
			err = in.expr(r, e, false)
		}
	default:
		err = fmt.Errorf("unknown flags %d", flags)
	}
	if err != nil {
		return err
	}
	_, err = r.sized()
	return err
}

// code instruments every function body: a checkpoint after the locals and after every loop's
// block type, and function indices shifted. Each body's size is recomputed.
func (in *instrumenter) code(body []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+len(body)/4+64)
	out = append(out, body[:r.off]...)
	var scratch []byte
	for i := uint32(0); i < n; i++ {
		fb, err := r.sized()
		if err != nil {
			return nil, fmt.Errorf("body %d: %w", i, err)
		}
		start := r.off - len(fb)
		fr := reader{b: body[:r.off], off: start}
		e := editor{src: body[:r.off], out: scratch[:0], next: start}
		if err := in.function(&fr, &e); err != nil {
			return nil, fmt.Errorf("body %d: %w", i, err)
		}
		scratch = e.finish()
		out = appendULEB(out, uint64(len(scratch)))
		out = append(out, scratch...)
	}
	if !r.done() {
		return nil, errTrailing
	}
	return out, nil
}

func (in *instrumenter) function(r *reader, e *editor) error {
	n, err := r.count()
	if err != nil {
		return err
	}
	locals := uint64(0)
	for i := uint32(0); i < n; i++ {
		m, err := r.u32()
		if err != nil {
			return fmt.Errorf("locals: %w", err)
		}
		if locals += uint64(m); locals > maxLocals {
			return errTooManyLocals
		}
		if err := r.valType(); err != nil {
			return fmt.Errorf("locals: %w", err)
		}
	}
	e.insert(r.off, in.check)
	if err := in.expr(r, e, true); err != nil {
		return err
	}
	if !r.done() {
		return errors.New("bytes after the end of the body")
	}
	return nil
}

// Opcodes the instrumenter writes.
const (
	opIf        = 0x04
	opEnd       = 0x0b
	opCall      = 0x10
	opGlobalGet = 0x23
	opGlobalSet = 0x24
	opI32Const  = 0x41
	opI32Eqz    = 0x45
	opI32Sub    = 0x6b
	blockEmpty  = 0x40
)

// expr copies one expression, up to and including the end that closes it, rewriting function
// indices and, in function bodies (body), inserting a checkpoint at every loop header. It knows the
// immediates of every instruction wazero 1.12 decodes, experimental features included (threads, tail
// calls, exception handling with try_table, typed function references), and refuses others.
func (in *instrumenter) expr(r *reader, e *editor, body bool) error {
	depth := 0
	for {
		at := r.off
		op, err := r.byte()
		if err != nil {
			return err
		}
		if op >= 0x45 && op <= 0xc4 { // numeric, sign extension: no immediates
			continue
		}
		if op >= 0x28 && op <= 0x3e { // loads and stores
			if err := r.memarg(); err != nil {
				return in.opError(op, at, err)
			}
			continue
		}
		switch op {
		case 0x00, 0x01, 0x05, 0x0a, 0x0f, 0x1a, 0x1b, 0xd1, 0xd4:
			// unreachable nop else throw_ref return drop select ref.is_null ref.as_non_null
		case 0x0b: // end
			if depth == 0 {
				return nil
			}
			depth--
		case 0x02, 0x04: // block if
			err = r.blockType()
			depth++
		case 0x03: // loop
			if err = r.blockType(); err == nil && body {
				e.insert(r.off, in.check)
			}
			depth++
		case 0x1f: // try_table
			if err = r.blockType(); err == nil {
				err = r.catches()
			}
			depth++
		case 0x0c, 0x0d, 0xd5, 0xd6, // br br_if br_on_null br_on_non_null
			0x08,       // throw
			0x14, 0x15, // call_ref return_call_ref
			0x20, 0x21, 0x22, // local.get local.set local.tee
			0x25, 0x26, // table.get table.set
			0x3f, 0x40: // memory.size memory.grow
			_, err = r.u32()
		case 0x0e: // br_table
			err = r.brTable()
		case 0x10, 0x12, 0xd2: // call return_call ref.func
			err = in.funcIndex(r, e)
		case 0x11, 0x13: // call_indirect return_call_indirect: type, table
			if _, err = r.u32(); err == nil {
				_, err = r.u32()
			}
		case 0x1c: // select t*
			_, err = r.valTypes()
		case 0x23, 0x24: // global.get global.set
			err = in.globalIndex(r)
		case 0x41: // i32.const
			err = r.skipLEB(5)
		case 0x42: // i64.const
			err = r.skipLEB(10)
		case 0x43: // f32.const
			_, err = r.bytes(4)
		case 0x44: // f64.const
			_, err = r.bytes(8)
		case 0xd0: // ref.null heap type
			err = r.skipLEB(5)
		case 0xfc:
			err = r.miscOp()
		case 0xfd:
			err = r.vectorOp()
		case 0xfe:
			err = r.atomicOp()
		default:
			return in.opError(op, at, errUnknownOpcode)
		}
		if err != nil {
			return in.opError(op, at, err)
		}
	}
}

// maxLocals bounds the locals of one function, as the WebAssembly JS API does. wazero 1.12 allocates
// room for every declared local when it compiles (up to 2^32-1 of 8 bytes, from a few bytes of
// input), so a larger count is refused here, before wazero sees it.
const maxLocals = 50000

var (
	errTrailing      = errors.New("bytes after the last entry")
	errUnknownOpcode = errors.New("unknown or unsupported opcode")
	errPastEnd       = errors.New("size or count past the end of its section")
	errTooManyLocals = fmt.Errorf("more than %d locals", maxLocals)
)

// count reads the length of a vector whose entries take at least one byte each, and refuses one
// that cannot fit in what is left. wazero 1.12 allocates a section's entries from its count before
// reading them, so a count past the end would cost it gigabytes.
func (r *reader) count() (uint32, error) {
	n, err := r.u32()
	if err == nil && int64(n) > int64(len(r.b)-r.off) {
		err = errPastEnd
	}
	return n, err
}

// sized reads a size and that many bytes (a name, a data segment, a function body, a section),
// refusing a size past the end as count does.
func (r *reader) sized() ([]byte, error) {
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	return r.bytes(int(n))
}

func (in *instrumenter) opError(op byte, at int, err error) error {
	return fmt.Errorf("opcode 0x%02x at offset %#x: %w", op, in.base+at, err)
}

// funcIndex reads a function index and shifts it past splice_yield when it is at or above it.
func (in *instrumenter) funcIndex(r *reader, e *editor) error {
	at := r.off
	f, err := r.u32()
	if err != nil {
		return err
	}
	if f < in.k {
		return nil
	}
	if f == math.MaxUint32 {
		return errors.New("function index out of range")
	}
	e.flush(at)
	e.out = appendULEB(e.out, uint64(f)+1)
	e.next = r.off
	return nil
}

// globalIndex reads a global index and refuses the fuel global's and beyond: they are invalid in
// the original module, and must not become valid references to the fuel.
func (in *instrumenter) globalIndex(r *reader) error {
	idx, err := r.u32()
	if err != nil {
		return err
	}
	if idx >= in.g {
		return fmt.Errorf("global index %d out of range", idx)
	}
	return nil
}

// miscOp reads the immediates of a 0xFC instruction: saturating truncation, bulk memory, tables.
func (r *reader) miscOp() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	var n int // u32 immediates
	switch {
	case sub <= 7: // trunc_sat
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init memory.copy table.init table.copy
		n = 2
	case sub <= 17: // data.drop memory.fill elem.drop table.grow table.size table.fill
		n = 1
	default:
		return fmt.Errorf("0xfc %d: %w", sub, errUnknownOpcode)
	}
	for ; n > 0; n-- {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// vectorOp reads the immediates of a 0xFD (SIMD) instruction.
func (r *reader) vectorOp() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 0x0b, sub == 0x5c, sub == 0x5d: // loads, store, load32_zero, load64_zero
		return r.memarg()
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle
		_, err = r.bytes(16)
		return err
	case sub >= 0x15 && sub <= 0x22: // extract_lane, replace_lane
		_, err = r.byte()
		return err
	case sub >= 0x54 && sub <= 0x5b: // load_lane, store_lane
		if err := r.memarg(); err != nil {
			return err
		}
		_, err = r.byte()
		return err
	case sub <= 0x53: // no immediates
		return nil
	case sub <= 0xff:
		switch sub {
		case 0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0,
			0xd2, 0xd3, 0xd4, 0xe2, 0xee: // unassigned
		default:
			return nil
		}
	}
	return fmt.Errorf("0xfd %d: %w", sub, errUnknownOpcode)
}

// atomicOp reads the immediates of a 0xFE (threads) instruction.
func (r *reader) atomicOp() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 0x02, sub >= 0x10 && sub <= 0x4e: // notify, wait, loads, stores, read-modify-write
		return r.memarg()
	case sub == 0x03: // atomic.fence
		c, err := r.byte()
		if err == nil && c != 0 {
			err = fmt.Errorf("atomic.fence: reserved byte 0x%02x", c)
		}
		return err
	}
	return fmt.Errorf("0xfe %d: %w", sub, errUnknownOpcode)
}

// memarg reads a memory argument: alignment, then (when bit 6 of the alignment is set, as in
// multi-memory) a memory index, then the offset (64-bit in memory64).
func (r *reader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	_, err = r.uleb(64)
	return err
}

// blockType reads a block type: 0x40, a value type or a type index, all as one signed LEB128
// (s33); a reference type (0x63, 0x64) is followed by its heap type.
func (r *reader) blockType() error {
	v, err := r.s33()
	if err != nil {
		return err
	}
	if v == -29 || v == -28 { // 0x63 (ref null ht), 0x64 (ref ht)
		_, err = r.s33()
	}
	return err
}

// catches reads the catch clauses of try_table.
func (r *reader) catches() error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00, 0x01: // catch tag label, catch_ref tag label
			if _, err := r.u32(); err != nil {
				return err
			}
		case 0x02, 0x03: // catch_all label, catch_all_ref label
		default:
			return fmt.Errorf("unknown catch kind 0x%02x", kind)
		}
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) brTable() error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint64(0); i <= uint64(n); i++ { // n labels and the default
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// valType reads a value type: one byte, or 0x63/0x64 and a heap type (typed function references).
func (r *reader) valType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69: // i32 i64 f32 f64 v128 funcref externref exnref
		return nil
	case 0x63, 0x64: // (ref null ht), (ref ht)
		_, err = r.s33()
		return err
	}
	return fmt.Errorf("unknown value type 0x%02x", c)
}

// valTypes reads a vector of value types and returns its length.
func (r *reader) valTypes() (uint32, error) {
	n, err := r.count()
	if err != nil {
		return 0, err
	}
	for i := uint32(0); i < n; i++ {
		if err := r.valType(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// skipLEB skips a LEB128 number of at most max bytes. Signed immediates (constants, heap types)
// are only skipped: their values don't matter here, and wazero checks them.
func (r *reader) skipLEB(max int) error {
	for i := 0; i < max; i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return errors.New("integer too large")
}

// s33 reads a signed 33-bit LEB128 number (a block type or heap type) as wazero 1.12 reads it: at
// most 5 bytes, the fifth ending the number whatever its continuation bit, the value taken modulo
// 2^33. The spec calls some of these encodings malformed, but wazero accepts them, and an
// instruction boundary here must be where wazero sees it.
func (r *reader) s33() (int64, error) {
	var v int64
	var c byte
	shift := uint(0)
	for shift < 35 {
		var err error
		if c, err = r.byte(); err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			break
		}
	}
	if shift < 33 && c&0x40 != 0 {
		v |= -1 << shift
	}
	v &= 1<<33 - 1
	if v&(1<<32) != 0 {
		v -= 1 << 33
	}
	return v, nil
}

// editor copies src to out, with replacements and insertions at increasing offsets.
type editor struct {
	src  []byte
	out  []byte
	next int // src[next:] is not yet copied
}

// flush copies src up to offset to.
func (e *editor) flush(to int) {
	e.out = append(e.out, e.src[e.next:to]...)
	e.next = to
}

func (e *editor) insert(at int, b []byte) {
	e.flush(at)
	e.out = append(e.out, b...)
}

// finish copies the rest of src and returns the result.
func (e *editor) finish() []byte {
	e.flush(len(e.src))
	return e.out
}

func appendULEB(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendULEB(b, uint64(len(s)))
	return append(b, s...)
}
