package sandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// The test modules below were compiled with wat2wasm (wabt 1.0.32) from the WAT beside them, or
// assembled by hand where wabt lacks the proposal (exception handling with try_table, typed function
// references). go test needs no toolchain.

// instrEnvWasm provides module env:
//
//	(module
//	  (func (export "add3") (param i32) (result i32) (i32.add (local.get 0) (i32.const 3)))
//	  (global (export "base") i32 (i32.const 100)))
var instrEnvWasm = wHex(`
	0061736d0100000001060160017f017f030201000607017f0041e4000b070f0204616464330000046261736503000a09
	010700200041036a0b`)

// instrSpinWasm is the loop of BenchmarkInstrumentedLoop; spin(n) runs its loop header n times.
//
//	(module
//	  (func (export "spin") (param $n i32) (result i32)
//	    (local $acc i32)
//	    (loop $l
//	      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
//	      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
//	    (local.get $acc)))
var instrSpinWasm = wHex(`
	0061736d0100000001060160017f017f03020100070801047370696e00000a1b011901017f0340200120006a21012000
	41016b22000d000b20010b`)

// instrComputeWasm computes with loops, recursion, a multi-value loop, br_table, an imported
// function and global, tables and element segments, ref.func in a global, and a start function:
//
//	(module
//	  (type $i2i (func (param i32) (result i32)))
//	  (import "env" "add3" (func $add3 (param i32) (result i32)))
//	  (import "env" "base" (global $base i32))
//	  (table 4 funcref)
//	  (elem (i32.const 0) $double $square $add3 $neg)
//	  (elem (i32.const 3) funcref (ref.func $neg))
//	  (elem declare func $square)
//	  (global $g (mut i32) (i32.const 0))
//	  (global $fr funcref (ref.func $square))
//	  (start $init)
//	  (func $init (global.set $g (i32.add (global.get $base) (i32.const 7))))
//	  (func $double (type $i2i) (i32.mul (local.get 0) (i32.const 2)))
//	  (func $square (type $i2i) (i32.mul (local.get 0) (local.get 0)))
//	  (func $neg (type $i2i) (i32.sub (i32.const 0) (local.get 0)))
//	  (func (export "fib") (param $n i32) (result i64)
//	    (local $a i64) (local $b i64) (local $t i64)
//	    (local.set $b (i64.const 1))
//	    (block $done
//	      (loop $next
//	        (br_if $done (i32.eqz (local.get $n)))
//	        (local.set $t (i64.add (local.get $a) (local.get $b)))
//	        (local.set $a (local.get $b))
//	        (local.set $b (local.get $t))
//	        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
//	        (br $next)))
//	    (local.get $a))
//	  (func $fact (export "fact") (param $n i64) (result i64)
//	    (if (result i64) (i64.le_u (local.get $n) (i64.const 1))
//	      (then (i64.const 1))
//	      (else (i64.mul (local.get $n) (call $fact (i64.sub (local.get $n) (i64.const 1)))))))
//	  (func (export "sum") (param $n i32) (result i32)
//	    (i32.const 0) (local.get $n)
//	    (loop $l (param i32 i32) (result i32)
//	      (local.tee $n)
//	      (i32.add)
//	      (br_if 1 (i32.eqz (local.get $n)))
//	      (i32.sub (local.get $n) (i32.const 1))
//	      (br $l)))
//	  (func (export "dispatch") (param $i i32) (param $x i32) (result i32)
//	    (call_indirect (type $i2i) (local.get $x) (local.get $i)))
//	  (func (export "switch") (param $i i32) (result i32)
//	    (block $c (block $b (block $a (br_table $a $b $c (local.get $i)))
//	      (return (i32.const 10))) (return (i32.const 20))) (i32.const 30))
//	  (func (export "g") (result i32) (global.get $g))
//	  (func (export "via_global") (param $x i32) (result i32)
//	    (table.set 0 (i32.const 1) (global.get $fr))
//	    (call_indirect (type $i2i) (local.get $x) (i32.const 1)))
//	  (func (export "imported") (param $x i32) (result i32)
//	    (call $add3 (call $double (local.get $x))))
//	  (func (export "spin") (param $n i32) (result i32)
//	    (local $acc i32)
//	    (loop $l
//	      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
//	      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
//	    (local.get $acc)))
var instrComputeWasm = wHex(`
	0061736d01000000011d0660017f017f60000060017f017e60017e017e60027f7f017f6000017f02180203656e760461
	646433000003656e760462617365037f00030e0d01000000020300040005000000040401700004060b027f0141000b70
	00d2030b074b09036669620005046661637400060373756d000708646973706174636800080673776974636800090167
	000a0a7669615f676c6f62616c000b08696d706f72746564000c047370696e000d0801010914030041000b0402030004
	0041030b0104030001030adf010d0900230041076a24010b0700200041026c0b0700200020006c0b0700410020006b0b
	2d01037e42012102024003402000450d01200120027c21032002210120032102200041016b21000c000b0b20010b1700
	2000420158047e4201052000200042017d10067e0b0b180041002000030422006a2000450d01200041016b0c000b0b09
	00200120001100000b1a0002400240024020000e020001020b410a0f0b41140f0b411e0b040023010b0f004101230226
	00200041011100000b08002000100210000b1901017f0340200120006a2101200041016b22000d000b20010b`)

// instrFeaturesWasm uses SIMD, threads, bulk memory, reference types and tail calls
// (wat2wasm --enable-threads --enable-tail-call):
//
//	(module
//	  (type $i2i (func (param i32) (result i32)))
//	  (import "env" "add3" (func $add3 (param i32) (result i32)))
//	  (memory 1 1 shared)
//	  (table $t 4 funcref)
//	  (table $u 2 externref)
//	  (data $d "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
//	  (elem $e func $double $add3)
//	  (func $double (type $i2i) (i32.mul (local.get 0) (i32.const 2)))
//	  (func (export "simd") (param $x i32) (result i64)
//	    (local $v v128)
//	    (i32.store (i32.const 64) (local.get $x))
//	    (local.set $v (v128.load offset=0 align=16 (i32.const 0)))
//	    (local.set $v (v128.load8_lane 3 (i32.const 64) (local.get $v)))
//	    (local.set $v (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (local.get $v) (v128.const i32x4 1 2 3 4)))
//	    (local.set $v (i16x8.add (local.get $v) (i16x8.splat (local.get $x))))
//	    (local.set $v (i32x4.replace_lane 2 (local.get $v) (i32.const 99)))
//	    (local.set $v (f64x2.convert_low_i32x4_u (local.get $v)))
//	    (v128.store64_lane 1 (i32.const 128) (local.get $v))
//	    (drop (v128.load32_zero (i32.const 4)))
//	    (i64.add (i64.load (i32.const 128))
//	      (i64.add (i64x2.extract_lane 0 (local.get $v))
//	        (i64.extend_i32_u (i8x16.extract_lane_u 15 (local.get $v))))))
//	  (func (export "atomics") (param $x i32) (result i64)
//	    (drop (i32.atomic.rmw.add (i32.const 8) (local.get $x)))
//	    (atomic.fence)
//	    (drop (memory.atomic.notify (i32.const 8) (i32.const 0)))
//	    (drop (i64.atomic.rmw32.cmpxchg_u (i32.const 16) (i64.const 0) (i64.const 5)))
//	    (i64.add (i64.extend_i32_u (i32.atomic.load (i32.const 8))) (i64.atomic.load (i32.const 16))))
//	  (func (export "bulk") (param $x i32) (result i32)
//	    (memory.init $d (i32.const 256) (i32.const 0) (i32.const 16))
//	    (data.drop $d)
//	    (memory.copy (i32.const 512) (i32.const 256) (i32.const 16))
//	    (memory.fill (i32.const 520) (local.get $x) (i32.const 2))
//	    (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 2))
//	    (elem.drop $e)
//	    (table.copy $t $t (i32.const 2) (i32.const 0) (i32.const 2))
//	    (drop (table.grow $t (ref.func $double) (i32.const 1)))
//	    (table.fill $u (i32.const 0) (ref.null extern) (i32.const 2))
//	    (i32.add
//	      (i32.add (i32.load (i32.const 516)) (i32.load (i32.const 520)))
//	      (i32.add (table.size $t)
//	        (i32.add (i32.extend8_s (i32.const 0x80))
//	          (i32.add (i32.trunc_sat_f32_s (f32.const 1e10))
//	            (i32.add (ref.is_null (table.get $u (i32.const 0)))
//	              (select (result i32) (call_indirect (type $i2i) (local.get $x) (i32.const 3))
//	                (i32.const 0) (local.get $x))))))))
//	  (func $count (param $n i32) (param $acc i64) (result i64)
//	    (if (result i64) (i32.eqz (local.get $n))
//	      (then (local.get $acc))
//	      (else (return_call $count (i32.sub (local.get $n) (i32.const 1))
//	        (i64.add (local.get $acc) (i64.const 1))))))
//	  (func (export "tail") (param $n i32) (result i64)
//	    (return_call $count (local.get $n) (i64.const 0)))
//	  (func (export "tail_indirect") (param $x i32) (result i32)
//	    (table.set $t (i32.const 0) (ref.func $double))
//	    (return_call_indirect $t (type $i2i) (local.get $x) (i32.const 0))))
var instrFeaturesWasm = wHex(`
	0061736d0100000001110360017f017f60017f017e60027f7e017e020c0103656e760461646433000003080700010100
	0201000407027000046f00020504010301010730050473696d6400020761746f6d69637300030462756c6b0004047461
	696c00060d7461696c5f696e646972656374000709060101000201000c01010af802070700200041026c0b880101017b
	41c00020003602004100fd000400210141c0002001fd5400000321012001fd0c01000000020000000300000004000000
	fd0d0f0e0d0c0b0a09080706050403020100210120012000fd10fd8e012101200141e300fd1c0221012001fdff012101
	4180012001fd5b0300014104fd5c02001a4180012903002001fd1d002001fd160fad7c7c0b300041082000fe1e02001a
	fe030041084100fe0002001a411042004205fe4e02001a4108fe100200ad4110fe1103007c0b81010041800241004110
	fc080000fc09004180044180024110fc0a000041880420004102fc0b00410041004102fc0c0000fc0d00410241004102
	fc0e0000d2014101fc0f001a4100d06f4102fc11014184042802004188042802006afc1000418001c043f9021550fc00
	41002501d120004103110000410020001c017f6a6a6a6a6a0b1700200045047e200105200041016b200142017c12050b
	0b08002000420012050b0f004100d2012600200041001300000b0b130101100102030405060708090a0b0c0d0e0f10`)

// instrEHRefsWasm is assembled by hand (see instrEHRefsModule): exception handling (tag, throw,
// try_table with catch and catch_all_ref, throw_ref, exnref) and typed function references (a
// table of (ref $i2i) with an initializer, call_ref, ref.as_non_null, br_on_null, ref.null of a
// concrete type), plus return_call. Function 0 is the import env.add3.
var instrEHRefsWasm = instrEHRefsModule()

func instrEHRefsModule() []byte {
	code := [][]byte{
		// 1 thrower (param i32): throw $e (local.get 0)
		wFn(0x20, 0, 0x08, 0, 0x0b),
		// 2 catch (param i32) (result i32): block i32 (try_table (catch $e 0) (call 1 (local.get 0))) -1 end
		wFn(0x02, 0x7f, 0x1f, 0x40, 1, 0x00, 0, 0, 0x20, 0, 0x10, 1, 0x0b, 0x41, 0x7f, 0x0b, 0x0b),
		// 3 callref: call_ref $i2i (local.get 0) (table.get 0 (i32.const 0))
		wFn(0x20, 0, 0x41, 0, 0x25, 0, 0x14, 2, 0x0b),
		// 4 double: (i32.mul (local.get 0) (i32.const 2))
		wFn(0x20, 0, 0x41, 2, 0x6c, 0x0b),
		// 5 brnull: block (br_on_null 0 (ref.null $i2i)) drop (return (i32.const 1)) end
		//           call_ref $i2i (local.get 0) (ref.as_non_null (ref.func 4))
		wFn(0x02, 0x40, 0xd0, 2, 0xd5, 0, 0x1a, 0x41, 1, 0x0f, 0x0b, 0x20, 0, 0xd2, 4, 0xd4, 0x14, 2, 0x0b),
		// 6 tail: return_call 4 (local.get 0)
		wFn(0x20, 0, 0x12, 4, 0x0b),
		// 7 rethrow: block i32 (try_table (catch $e 0)
		//              block exnref (try_table (catch_all_ref 0) (call 1 (local.get 0))) ref.null exn end
		//              throw_ref) -1 end
		wFn(0x02, 0x7f, 0x1f, 0x40, 1, 0x00, 0, 0,
			0x02, 0x69, 0x1f, 0x40, 1, 0x03, 0, 0x20, 0, 0x10, 1, 0x0b, 0xd0, 0x69, 0x0b, 0x0a,
			0x0b, 0x41, 0x7f, 0x0b, 0x0b),
	}
	return wasmModule(
		wSection(secType, wVec([]byte{0x60, 0, 0}, []byte{0x60, 1, 0x7f, 0}, []byte{0x60, 1, 0x7f, 1, 0x7f})),
		wSection(secImport, wVec(wCat(wName("env"), wName("add3"), []byte{0, 2}))),
		wSection(secFunction, wVec([]byte{1}, []byte{2}, []byte{2}, []byte{2}, []byte{2}, []byte{2}, []byte{2})),
		// (table 1 (ref $i2i) (ref.func 4))
		wSection(secTable, wVec([]byte{0x40, 0, 0x64, 2, 0, 1, 0xd2, 4, 0x0b})),
		wSection(secTag, wVec([]byte{0, 1})),
		wSection(secExport, wVec(
			wCat(wName("catch"), []byte{0, 2}), wCat(wName("callref"), []byte{0, 3}),
			wCat(wName("brnull"), []byte{0, 5}), wCat(wName("tail"), []byte{0, 6}),
			wCat(wName("rethrow"), []byte{0, 7}))),
		wSection(secElement, wVec([]byte{3, 0, 1, 4})), // (elem declare func 4)
		wSection(secCode, wVec(code...)),
	)
}

// Module assembly helpers.

func wHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func wCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func wVec(items ...[]byte) []byte { return wCat(appendULEB(nil, uint64(len(items))), wCat(items...)) }

func wName(s string) []byte { return appendName(nil, s) }

func wSection(id byte, content []byte) []byte {
	return wCat([]byte{id}, appendULEB(nil, uint64(len(content))), content)
}

// fn is a function body without locals.
func wFn(code ...byte) []byte { return wCat(appendULEB(nil, uint64(len(code)+1)), []byte{0}, code) }

func wasmModule(sections ...[]byte) []byte {
	return wCat([]byte("\x00asm\x01\x00\x00\x00"), wCat(sections...))
}

// instrFeatures is every feature wazero 1.12 has, experimental ones included.
const instrFeatures = api.CoreFeaturesV2 | experimental.CoreFeaturesThreads | experimental.CoreFeaturesTailCall |
	experimental.CoreFeaturesExtendedConst | experimental.CoreFeaturesExceptionHandling |
	experimental.CoreFeaturesTypedFunctionReferences

var instrEngines = []struct {
	name string
	cfg  func() wazero.RuntimeConfig
}{
	{"compiler", wazero.NewRuntimeConfigCompiler},
	{"interpreter", wazero.NewRuntimeConfigInterpreter},
}

// instrGuests lists every guest the repository has: the committed ones and those make guests built.
func instrGuests(t testing.TB) []string {
	files := append(guestFiles(t), "../../testdata/conformance/conformance.wasm")
	built, _ := filepath.Glob("../../.build/wasm/*.wasm")
	if len(built) == 0 {
		t.Log("no built guests in ../../.build/wasm; run make guests")
	}
	return append(files, built...)
}

type funcSig struct{ Module, Name, Params, Results string }

func sigOf(d api.FunctionDefinition) funcSig {
	mod, name, _ := d.Import()
	types := func(ts []api.ValueType) string {
		var s []string
		for _, t := range ts {
			s = append(s, api.ValueTypeName(t))
		}
		return strings.Join(s, ",")
	}
	return funcSig{mod, name, types(d.ParamTypes()), types(d.ResultTypes())}
}

// TestInstrumentGuestsCompile instruments every guest: whatever wazero compiles, it compiles
// instrumented, with the same imports plus splice_yield, the same exports, the same custom
// sections but "name", and "name" renumbered so that exports keep their debug names.
func TestInstrumentGuestsCompile(t *testing.T) {
	ctx := context.Background()
	for _, f := range instrGuests(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			wasm, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCustomSections(true))
			defer rt.Close(ctx)
			start := time.Now()
			out, ierr := instrument(wasm)
			took := time.Since(start)
			orig, err := rt.CompileModule(ctx, wasm)
			if err != nil {
				t.Logf("wazero refuses the original (%v); instrument says %v", err, ierr)
				return
			}
			if ierr != nil {
				t.Fatalf("wazero compiles it, instrument refuses it: %v", ierr)
			}
			t.Logf("%d -> %d bytes (+%.1f%%) in %v", len(wasm), len(out),
				100*float64(len(out)-len(wasm))/float64(len(wasm)), took)
			inst, err := rt.CompileModule(ctx, out)
			if err != nil {
				t.Fatalf("wazero refuses the instrumented module: %v", err)
			}

			var want, got []funcSig
			for _, d := range orig.ImportedFunctions() {
				want = append(want, sigOf(d))
			}
			want = append(want, funcSig{Module: yieldModule, Name: yieldName})
			for _, d := range inst.ImportedFunctions() {
				got = append(got, sigOf(d))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("imports (-want +got):\n%s", diff)
			}

			exports := func(cm wazero.CompiledModule) map[string]funcSig {
				m := map[string]funcSig{}
				for n, d := range cm.ExportedFunctions() {
					m[n] = sigOf(d)
				}
				return m
			}
			if diff := cmp.Diff(exports(orig), exports(inst)); diff != "" {
				t.Errorf("exported functions (-want +got):\n%s", diff)
			}
			memories := func(cm wazero.CompiledModule) map[string][2]uint32 {
				m := map[string][2]uint32{}
				for n, d := range cm.ExportedMemories() {
					max, _ := d.Max()
					m[n] = [2]uint32{d.Min(), max}
				}
				return m
			}
			if diff := cmp.Diff(memories(orig), memories(inst)); diff != "" {
				t.Errorf("exported memories (-want +got):\n%s", diff)
			}

			customs := func(cm wazero.CompiledModule) (s []string) {
				for _, c := range cm.CustomSections() {
					if c.Name() != "name" {
						s = append(s, c.Name()+":"+hex.EncodeToString(c.Data()))
					}
				}
				return s
			}
			if diff := cmp.Diff(customs(orig), customs(inst)); diff != "" {
				t.Errorf("custom sections (-want +got):\n%s", diff)
			}
			// The name section is renumbered, not dropped: exported functions keep their debug names.
			for n, d := range orig.ExportedFunctions() {
				if got := inst.ExportedFunctions()[n].Name(); got != d.Name() {
					t.Errorf("export %q: debug name %q, want %q", n, got, d.Name())
				}
			}
		})
	}
}

// yieldCounter is splice_yield for tests: it counts calls and panics at the limit-th (0: never).
type yieldCounter struct{ calls, limit int }

var errEnoughYields = errors.New("enough yields")

func (y *yieldCounter) yield() {
	y.calls++
	if y.limit > 0 && y.calls >= y.limit {
		panic(errEnoughYields)
	}
}

// instrHost serves a test guest's host imports on raw wazero: splice_yield (y), a minimal Extism
// memory (input, alloc, stores, output) and -1 from Splice's fast-path functions, so that PDKs
// fall back to Extism's. Anything else returns zeros.
type instrHost struct {
	y      yieldCounter
	input  []byte
	mem    []byte // Extism memory: offset o (o > 0) is mem[o-1]
	output []byte
}

func (h *instrHost) serve(mod, name string, results int) api.GoModuleFunc {
	return func(_ context.Context, _ api.Module, stack []uint64) {
		switch mod + "." + name {
		case yieldModule + "." + yieldName:
			h.y.yield()
		case "extism:host/env.input_length":
			stack[0] = uint64(len(h.input))
		case "extism:host/env.input_load_u8":
			stack[0] = uint64(h.input[stack[0]])
		case "extism:host/env.input_load_u64":
			stack[0] = binary.LittleEndian.Uint64(h.input[stack[0]:])
		case "extism:host/env.alloc":
			off := uint64(len(h.mem)) + 1
			h.mem = append(h.mem, make([]byte, stack[0])...)
			stack[0] = off
		case "extism:host/env.store_u8":
			h.mem[stack[0]-1] = byte(stack[1])
		case "extism:host/env.store_u64":
			binary.LittleEndian.PutUint64(h.mem[stack[0]-1:], stack[1])
		case "extism:host/env.output_set":
			h.output = bytes.Clone(h.mem[stack[0]-1 : stack[0]-1+stack[1]])
		default:
			v := uint64(0)
			if strings.HasPrefix(name, "splice_") {
				v = api.EncodeI32(-1)
			}
			for i := range results {
				stack[i] = v
			}
		}
	}
}

// instrInstantiate instantiates guest on rt, a raw wazero runtime, after the modules it imports:
// env (instrEnvWasm), WASI, and host modules served by h (extism:host/user always has splice_yield,
// so that one runtime can hold a guest and its instrumented copy).
func instrInstantiate(t testing.TB, ctx context.Context, rt wazero.Runtime, guest []byte, h *instrHost) api.Module {
	t.Helper()
	cm, err := rt.CompileModule(ctx, guest)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	type fnDef struct {
		name            string
		params, results []api.ValueType
	}
	imports := map[string][]fnDef{}
	for _, d := range cm.ImportedFunctions() {
		mod, name, _ := d.Import()
		imports[mod] = append(imports[mod], fnDef{name, d.ParamTypes(), d.ResultTypes()})
	}
	for mod, defs := range imports {
		if rt.Module(mod) != nil {
			continue
		}
		switch mod {
		case "env":
			_, err = rt.InstantiateWithConfig(ctx, instrEnvWasm, wazero.NewModuleConfig().WithName("env"))
		case wasi_snapshot_preview1.ModuleName:
			_, err = wasi_snapshot_preview1.Instantiate(ctx, rt)
		default:
			b := rt.NewHostModuleBuilder(mod)
			if mod == yieldModule && !slices.ContainsFunc(defs, func(d fnDef) bool { return d.name == yieldName }) {
				defs = append(defs, fnDef{name: yieldName})
			}
			seen := map[string]bool{}
			for _, d := range defs {
				if !seen[d.name] {
					seen[d.name] = true
					b.NewFunctionBuilder().WithGoModuleFunction(h.serve(mod, d.name, len(d.results)), d.params, d.results).Export(d.name)
				}
			}
			_, err = b.Instantiate(ctx)
		}
		if err != nil {
			t.Fatalf("instantiate %s: %v", mod, err)
		}
	}
	m, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return m
}

func mustInstrument(t testing.TB, wasm []byte) []byte {
	t.Helper()
	out, err := instrument(wasm)
	if err != nil {
		t.Fatalf("instrument: %v", err)
	}
	return out
}

// TestInstrumentYieldsStopRunawayGuests runs hostile guests instrumented on raw wazero, without
// WithCloseOnContextDone: a loop that never ends and a loop-free call tree both reach splice_yield,
// and a splice_yield that fails ends the call.
func TestInstrumentYieldsStopRunawayGuests(t *testing.T) {
	cases := []struct {
		name, guest string
		input       string
	}{
		{"loop_forever", "loop_forever.wasm", ""},
		{"call_tree", "call_tree.wasm", "30"},
	}
	for _, eng := range instrEngines {
		for _, tc := range cases {
			t.Run(eng.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				wasm, err := os.ReadFile(filepath.Join("../../testdata/guests", tc.guest))
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				rt := wazero.NewRuntimeWithConfig(ctx, eng.cfg())
				defer rt.Close(ctx)
				h := &instrHost{y: yieldCounter{limit: 5}, input: []byte(tc.input)}
				m := instrInstantiate(t, ctx, rt, mustInstrument(t, wasm), h)
				done := make(chan error, 1)
				go func() {
					_, err := m.ExportedFunction("run").Call(ctx)
					done <- err
				}()
				select {
				case err = <-done:
				case <-time.After(time.Minute):
					t.Fatal("run did not return within a minute")
				}
				if !errors.Is(err, errEnoughYields) {
					t.Errorf("run: %v, want the panic of splice_yield", err)
				}
				if h.y.calls != 5 {
					t.Errorf("splice_yield called %d times, want 5", h.y.calls)
				}
			})
		}
	}
}

// TestInstrumentPreservesResults runs modules that use every construct the instrumenter rewrites,
// as written and instrumented, and compares the results.
func TestInstrumentPreservesResults(t *testing.T) {
	type call struct {
		export string
		args   []uint64
		want   []uint64 // nil: only compare
	}
	i32 := func(v int32) uint64 { return api.EncodeI32(v) }
	modules := []struct {
		name  string
		wasm  []byte
		calls []call
	}{
		{"compute", instrComputeWasm, []call{
			{"fib", []uint64{10}, []uint64{55}},
			{"fib", []uint64{90}, []uint64{2880067194370816120}},
			{"fact", []uint64{20}, []uint64{2432902008176640000}},
			{"sum", []uint64{100}, []uint64{5050}},
			{"dispatch", []uint64{0, 21}, []uint64{42}},
			{"dispatch", []uint64{1, 7}, []uint64{49}},
			{"dispatch", []uint64{2, 5}, []uint64{8}},
			{"dispatch", []uint64{3, 9}, []uint64{i32(-9)}},
			{"switch", []uint64{0}, []uint64{10}},
			{"switch", []uint64{1}, []uint64{20}},
			{"switch", []uint64{2}, []uint64{30}},
			{"switch", []uint64{7}, []uint64{30}},
			{"g", nil, []uint64{107}},
			{"via_global", []uint64{6}, []uint64{36}},
			{"imported", []uint64{5}, []uint64{13}},
			{"spin", []uint64{10}, []uint64{55}},
		}},
		{"features", instrFeaturesWasm, []call{
			{"simd", []uint64{7}, nil},
			{"simd", []uint64{1 << 20}, nil},
			{"atomics", []uint64{3}, nil},
			{"atomics", []uint64{4}, nil},
			{"bulk", []uint64{0x41}, nil},
			{"tail", []uint64{100000}, []uint64{100000}},
			{"tail_indirect", []uint64{21}, []uint64{42}},
		}},
		{"eh_refs", instrEHRefsWasm, []call{
			{"catch", []uint64{7}, []uint64{7}},
			{"callref", []uint64{7}, []uint64{14}},
			{"brnull", []uint64{7}, []uint64{14}},
			{"tail", []uint64{7}, []uint64{14}},
			{"rethrow", []uint64{7}, []uint64{7}},
		}},
	}
	for _, eng := range instrEngines {
		for _, mod := range modules {
			t.Run(eng.name+"/"+mod.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				rt := wazero.NewRuntimeWithConfig(ctx, eng.cfg().WithCoreFeatures(instrFeatures))
				defer rt.Close(ctx)
				h := &instrHost{}
				orig := instrInstantiate(t, ctx, rt, mod.wasm, h)
				inst := instrInstantiate(t, ctx, rt, mustInstrument(t, mod.wasm), h)
				for _, c := range mod.calls {
					want, werr := orig.ExportedFunction(c.export).Call(ctx, c.args...)
					got, gerr := inst.ExportedFunction(c.export).Call(ctx, c.args...)
					if werr != nil || gerr != nil {
						t.Errorf("%s%v: original: %v, instrumented: %v", c.export, c.args, werr, gerr)
						continue
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%s%v (-original +instrumented):\n%s", c.export, c.args, diff)
					}
					if c.want != nil && !cmp.Equal(c.want, got) {
						t.Errorf("%s%v = %v, want %v", c.export, c.args, got, c.want)
					}
				}
			})
		}
	}
}

// TestInstrumentFuelCount pins where the checkpoints run: once per function entry (the start
// function's included) and once per loop iteration, yielding every fuelTicks ticks.
func TestInstrumentFuelCount(t *testing.T) {
	wasm := mustInstrument(t, instrComputeWasm)
	// Instantiating runs $init (1 tick); spin(n) burns 1 + n.
	for _, tc := range []struct {
		n     uint64
		yield int
	}{
		{1, 0},
		{fuelTicks - 3, 0},
		{fuelTicks - 2, 1},
		{3*fuelTicks - 3, 2},
		{3*fuelTicks - 2, 3},
	} {
		ctx := context.Background()
		rt := wazero.NewRuntime(ctx)
		h := &instrHost{}
		m := instrInstantiate(t, ctx, rt, wasm, h)
		if _, err := m.ExportedFunction("spin").Call(ctx, tc.n); err != nil {
			t.Fatal(err)
		}
		if h.y.calls != tc.yield {
			t.Errorf("spin(%d): %d yields, want %d", tc.n, h.y.calls, tc.yield)
		}
		rt.Close(ctx)
	}
}

// TestInstrumentBuiltGuestsRun runs the built connectors' describe, as written and instrumented,
// and compares their manifests: the Go runtime (scheduler, allocator, init) and clang's code run
// unchanged with checkpoints.
func TestInstrumentBuiltGuestsRun(t *testing.T) {
	files, _ := filepath.Glob("../../.build/wasm/connector-*.wasm")
	if len(files) == 0 {
		t.Skip("no built connectors in ../../.build/wasm; run make guests")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			wasm, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var outputs [2][]byte
			for i, guest := range [][]byte{wasm, mustInstrument(t, wasm)} {
				ctx := context.Background()
				rt := wazero.NewRuntime(ctx)
				h := &instrHost{}
				m := instrInstantiate(t, ctx, rt, guest, h)
				if init := m.ExportedFunction("_initialize"); init != nil {
					if _, err := init.Call(ctx); err != nil {
						t.Fatalf("_initialize: %v", err)
					}
				}
				if res, err := m.ExportedFunction("describe").Call(ctx); err != nil || res[0] != 0 {
					t.Fatalf("describe: %v %v", res, err)
				}
				if len(h.output) == 0 {
					t.Fatal("describe: no output")
				}
				outputs[i] = h.output
				if i == 1 {
					t.Logf("%d yields, %d-byte manifest", h.y.calls, len(h.output))
				}
				rt.Close(ctx)
			}
			if !bytes.Equal(outputs[0], outputs[1]) {
				t.Errorf("describe: instrumented output differs:\n%s\n%s", outputs[0], outputs[1])
			}
		})
	}
}

// TestInstrumentGolden pins the output byte for byte.
func TestInstrumentGolden(t *testing.T) {
	hdr := "0061736d01000000"
	yieldImport := "10" + hex.EncodeToString([]byte(yieldModule)) + "0c" + hex.EncodeToString([]byte(yieldName)) + "00"
	fuelGlobal := "7f01418080040b" // (global (mut i32) (i32.const 65536))
	// checkpoint with splice_yield = function 0 and $fuel = global 0
	cp0 := "2300 41016b 2400 2300 45 0440 1000 41808004 2400 0b"
	// checkpoint with splice_yield = function 1 and $fuel = global 2
	cp1 := "2302 41016b 2402 2302 45 0440 1001 41808004 2402 0b"
	cases := []struct{ name, in, want string }{
		{
			name: "empty module gets type, import and global sections",
			in:   hdr,
			want: hdr + "01 04 01 600000" + "02 21 01" + yieldImport + "00" + "06 08 01" + fuelGlobal,
		},
		{
			// (module (type (func)) (func (export "f") (loop (br 0)))) + custom "name" and "keep"
			name: "loop, () -> () reused, name section renumbered",
			in: hdr + "01 04 01 600000" + "03 02 01 00" + "07 05 01 0166 00 00" +
				"0a 09 01 07 00 0340 0c00 0b 0b" + "00 0b 046e616d65 01 04 01 00 01 66" + "00 06 046b656570 2a",
			want: hdr + "01 04 01 600000" + "02 21 01" + yieldImport + "00" + "03 02 01 00" +
				"06 08 01" + fuelGlobal + "07 05 01 0166 00 01" +
				"0a 33 01 31 00" + cp0 + "0340" + cp0 + "0c00 0b 0b" +
				"00 0b 046e616d65 01 04 01 01 01 66" + "00 06 046b656570 2a", // "f" is function 1 now
		},
		{
			// types: (i32) -> i32; imports: function m.f, global m.g; one function calling both
			// functions; a funcref global initialized with ref.func 1; element segments in all 8
			// encodings naming functions 0 and 1; exports of both functions.
			name: "indices shift past the import everywhere",
			in: hdr + "01 06 01 60017f017f" +
				"02 0e 02 016d 0166 00 00 016d 0167 03 7f00" +
				"03 02 01 00" + "04 04 01 70 00 02" +
				"06 06 01 7000 d201 0b" +
				"07 09 02 0165 00 01 0169 00 00" +
				"09 45 08" +
				"00 41000b 02 00 01" + "01 00 02 00 01" + "02 00 41000b 00 02 00 01" + "03 00 02 00 01" +
				"04 41000b 02 d2000b d2010b" + "05 70 02 d2000b d2010b" +
				"06 00 41000b 70 02 d2000b d2010b" + "07 70 02 d2000b d2010b" +
				"0a 0a 01 08 00 2000 1000 1001 0b",
			want: hdr + "01 09 02 60017f017f 600000" +
				"02 2e 03 016d 0166 00 00 016d 0167 03 7f00 " + yieldImport + "01" +
				"03 02 01 00" + "04 04 01 70 00 02" +
				"06 0d 02 7000 d202 0b" + fuelGlobal +
				"07 09 02 0165 00 02 0169 00 00" +
				"09 45 08" +
				"00 41000b 02 00 02" + "01 00 02 00 02" + "02 00 41000b 00 02 00 02" + "03 00 02 00 02" +
				"04 41000b 02 d2000b d2020b" + "05 70 02 d2000b d2020b" +
				"06 00 41000b 70 02 d2000b d2020b" + "07 70 02 d2000b d2020b" +
				"0a 1f 01 1d 00" + cp1 + "2000 1000 1002 0b",
		},
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, want := wHex(tc.in), wHex(tc.want)
			got, err := instrument(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
			if _, err := rt.CompileModule(ctx, in); err != nil {
				t.Fatalf("test input invalid: %v", err)
			}
			if _, err := rt.CompileModule(ctx, got); err != nil {
				t.Errorf("wazero refuses the output: %v", err)
			}
		})
	}
}

const instrFF16 = " ffffffffffffffffffffffffffffffff" // 16 bytes that are no instruction

// instrImmediates are instructions with each kind of immediate, as hex, and what instrument makes
// of them (want; "": unchanged, #cp: the checkpoint) in a module with no imports and one global.
var instrImmediates = []struct{ name, instr, want string }{
	{name: "unreachable nop", instr: "00 01"},
	{name: "block i32", instr: "027f 0b"},
	{name: "block type index 200", instr: "02c801 0b"},
	{name: "block (ref null 5)", instr: "026305 0b"},
	{name: "block (ref 200)", instr: "0264c801 0b"},
	{name: "if else", instr: "0440 05 0b"},
	{name: "loop", instr: "0340 0b", want: "0340 #cp 0b"},
	{name: "nested loops", instr: "0340 0340 0b 0b", want: "0340 #cp 0340 #cp 0b 0b"},
	{name: "try_table with every catch kind", instr: "1f40 04 000102 010203 0204 0305 0b"},
	{name: "throw throw_ref", instr: "0803 0a"},
	{name: "br br_if br_table return", instr: "0c05 0d05 0e03 00010203 0f"},
	{name: "call", instr: "1000", want: "1001"},
	{name: "call 127 grows", instr: "107f", want: "108001"},
	{name: "call padded index", instr: "108080808000", want: "1001"},
	{name: "call_indirect", instr: "110500"},
	{name: "return_call", instr: "1203", want: "1204"},
	{name: "return_call_indirect", instr: "130501"},
	{name: "call_ref return_call_ref", instr: "1405 1505"},
	{name: "drop select", instr: "1a 1b"},
	{name: "select t", instr: "1c017f 1c0263c801 7f"},
	{name: "locals", instr: "207f 218001 2200"},
	{name: "global.get global.set", instr: "2300 2400"},
	{name: "table.get table.set", instr: "2501 2601"},
	{name: "i32.load", instr: "28028001"},
	{name: "i64.store32", instr: "3e0200"},
	{name: "load with memory index", instr: "2842010a"},
	{name: "memory.size memory.grow", instr: "3f00 4000"},
	{name: "i32.const", instr: "41ffffffff07 417f"},
	{name: "i64.const", instr: "4280808080808080808001 427f"},
	{name: "f32.const", instr: "43ffffffff"},
	{name: "f64.const", instr: "44ffffffffffffffff"},
	{name: "numeric", instr: "45 6a bf c0 c4"},
	{name: "ref.null ref.is_null", instr: "d070 d06f d069 d005 d1"},
	{name: "ref.func", instr: "d200", want: "d201"},
	{name: "typed references", instr: "d4 d500 d600"},
	{name: "trunc_sat", instr: "fc00 fc07"},
	{name: "bulk memory", instr: "fc080100 fc0901 fc0a0000 fc0b00"},
	{name: "tables", instr: "fc0c0100 fc0d01 fc0e0001 fc0f00 fc1000 fc1100"},
	{name: "v128.load v128.store", instr: "fd000400 fd0b0400"},
	{name: "v128.const", instr: "fd0c" + instrFF16},
	{name: "i8x16.shuffle", instr: "fd0d" + instrFF16},
	{name: "swizzle splat", instr: "fd0e fd14"},
	{name: "extract and replace lane", instr: "fd15ff fd16ff fd22ff"},
	{name: "compare bitwise", instr: "fd23 fd53"},
	{name: "load and store lane", instr: "fd540000ff fd5b0300ff"},
	{name: "load zero", instr: "fd5c0200 fd5d0300"},
	{name: "two-byte vector opcodes", instr: "fd5e fd8e01 fd9401 fdff01"},
	{name: "atomics", instr: "fe000200 fe010200 fe020300 fe1002 00 fe4e0300"},
	{name: "atomic.fence", instr: "fe0300"},
}

// TestInstrumentDecodesImmediates checks the decoder's idea of every instruction's length: each
// instruction of instrImmediates is the only one in a function body (after which comes end), so
// reading too little leaves bytes that are not instructions (0xff fillers) and reading too much
// eats the end.
func TestInstrumentDecodesImmediates(t *testing.T) {
	cp := hex.EncodeToString(checkpoint(0, 1))
	for _, tc := range instrImmediates {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.instr
			}
			want = strings.ReplaceAll(want, "#cp", cp)
			got, err := instrument(instrBodyModule(wHex(tc.instr)))
			if err != nil {
				t.Fatal(err)
			}
			wantModule := wasmModule(
				wSection(secType, wVec([]byte{0x60, 0, 0})),
				wSection(secImport, wVec(appendYieldImport(nil, 0))),
				wSection(secFunction, wVec([]byte{0})),
				wSection(secGlobal, wVec([]byte{0x7f, 1, 0x41, 0, 0x0b}, appendFuelGlobal(nil))),
				wSection(secCode, wVec(wFn(wCat(wHex(cp), wHex(want), []byte{0x0b})...))),
			)
			if !bytes.Equal(got, wantModule) {
				t.Errorf("got  %x\nwant %x", got, wantModule)
			}
		})
	}
}

// instrBodyModule is a module with one global and one function, whose body is code then end.
func instrBodyModule(code []byte) []byte {
	return wasmModule(
		wSection(secType, wVec([]byte{0x60, 0, 0})),
		wSection(secFunction, wVec([]byte{0})),
		wSection(secGlobal, wVec([]byte{0x7f, 1, 0x41, 0, 0x0b})),
		wSection(secCode, wVec(wFn(wCat(code, []byte{0x0b})...))),
	)
}

// TestInstrumentRefuses proves the refusals: malformed modules, instructions wazero does not
// accept, and references to the fuel global.
func TestInstrumentRefuses(t *testing.T) {
	body := func(code string) []byte { return instrBodyModule(wHex(code)) }
	cases := []struct {
		name     string
		wasm     []byte
		want     error // nil: any error
		stricter bool  // wazero would allocate for it (and accepts 50001 locals): not compiled here
	}{
		{name: "bad magic", wasm: []byte("\x00asn\x01\x00\x00\x00")},
		{name: "bad version", wasm: []byte("\x00asm\x02\x00\x00\x00")},
		{name: "short header", wasm: []byte("\x00asm")},
		{name: "section past the end", wasm: wHex("0061736d01000000 0105 0160")},
		{name: "sections out of order", wasm: wasmModule(wSection(secFunction, wVec()), wSection(secType, wVec()))},
		{name: "repeated section", wasm: wasmModule(wSection(secType, wVec()), wSection(secType, wVec()))},
		{name: "unnamed custom section", wasm: wasmModule(wSection(secCustom, nil))},
		{name: "legacy try", wasm: body("0640 0b"), want: errUnknownOpcode},
		{name: "legacy catch_all", wasm: body("19"), want: errUnknownOpcode},
		{name: "unassigned opcode", wasm: body("27"), want: errUnknownOpcode},
		{name: "GC ref.eq", wasm: body("d3"), want: errUnknownOpcode},
		{name: "0xfc 18", wasm: body("fc12"), want: errUnknownOpcode},
		{name: "unassigned vector opcode", wasm: body("fd9a01"), want: errUnknownOpcode},
		{name: "relaxed SIMD", wasm: body("fd8002"), want: errUnknownOpcode},
		{name: "unassigned atomic opcode", wasm: body("fe04"), want: errUnknownOpcode},
		{name: "atomic.fence reserved byte", wasm: body("fe0301")},
		{name: "unknown catch kind", wasm: body("1f40 01 0400 0b")},
		{name: "global.get of the fuel's index", wasm: body("2301 1a")},
		{name: "global.set of the fuel's index", wasm: body("4100 2401")},
		{name: "missing end", wasm: wasmModule(wSection(secType, wVec([]byte{0x60, 0, 0})),
			wSection(secFunction, wVec([]byte{0})), wSection(secCode, wVec(wFn(0x01))))},
		{name: "bytes after end", wasm: body("0b 01")},
		{name: "unknown local type", wasm: wasmModule(wSection(secType, wVec([]byte{0x60, 0, 0})),
			wSection(secFunction, wVec([]byte{0})), wSection(secCode, wVec([]byte{4, 1, 1, 0x7a, 0x0b})))},
		{name: "GC type form", wasm: wasmModule(wSection(secType, wVec([]byte{0x5f, 0})))},
		{name: "element flags 8", wasm: wasmModule(wSection(secElement, wVec([]byte{8})))},
		{name: "export of the fuel's index", wasm: wasmModule(wSection(secExport, wVec(wCat(wName("x"), []byte{3, 0}))))},
		{name: "function index 2^32-1", wasm: wasmModule(wSection(secStart, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}))},
		{name: "malformed.wasm", wasm: wHex("0061736d01000000 0105 01 60")},
		{name: "export count past the end", wasm: wHex("0061736d01000000 0704 ffffff0f"), want: errPastEnd, stricter: true},
		{name: "50001 locals", wasm: wasmModule(wSection(secType, wVec([]byte{0x60, 0, 0})),
			wSection(secFunction, wVec([]byte{0})), wSection(secCode, wVec([]byte{6, 1, 0xd1, 0x86, 3, 0x7f, 0x0b}))),
			want: errTooManyLocals, stricter: true},
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(instrFeatures))
	defer rt.Close(ctx)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := instrument(tc.wasm)
			if err == nil {
				t.Fatalf("instrument accepted it: %x", out)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if tc.stricter {
				return
			}
			if _, cerr := rt.CompileModule(ctx, tc.wasm); cerr == nil {
				t.Errorf("wazero compiles what instrument refuses (%v)", err)
			}
		})
	}
}

// FuzzInstrument: instrument never panics, and whatever wazero compiles (with every feature it
// has) it instruments into a module wazero compiles. The interpreter is used for speed; validation
// is the same for both engines. wazero allocates from sizes and counts before it checks them, so
// inputs where that would take gigabytes (see wazeroCanDecode) are not given to it.
func FuzzInstrument(f *testing.F) {
	for _, file := range guestFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := os.ReadFile("../../testdata/conformance/conformance.wasm"); err == nil {
		f.Add(b)
	}
	for _, b := range [][]byte{instrEnvWasm, instrSpinWasm, instrComputeWasm, instrFeaturesWasm, instrEHRefsWasm} {
		f.Add(b)
	}
	for _, tc := range instrImmediates {
		f.Add(instrBodyModule(wHex(tc.instr)))
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(instrFeatures))
	defer rt.Close(ctx)
	// compiles reports what wazero thinks of wasm. With exception handling enabled, wazero 1.12
	// panics on some invalid modules (a tag whose type index is out of range, in
	// func_validation.go); that counts as a refusal.
	compiles := func(wasm []byte) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("wazero panicked: %v", p)
			}
		}()
		cm, err := rt.CompileModule(ctx, wasm)
		if err == nil {
			cm.Close(ctx)
		}
		return err
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := instrument(wasm)
		if err == nil {
			if cerr := compiles(out); cerr != nil && wazeroCanDecode(wasm) && compiles(withoutNameSection(wasm)) == nil {
				t.Fatalf("wazero refuses the instrumented module: %v", cerr)
			}
			return
		}
		if wazeroCanDecode(wasm) && compiles(withoutNameSection(wasm)) == nil {
			t.Fatalf("wazero compiles it, instrument refuses it: %v", err)
		}
	})
}

// wazeroCanDecode reports whether wazero can be given wasm without its custom sections "name": no
// size, count or number of locals in it claims more than the input holds (or more than
// maxLocals), which wazero 1.12 would allocate before noticing. It reads every section with
// instrument's readers, past errors that are not about sizes, and every function body's locals.
func wazeroCanDecode(wasm []byte) bool {
	in := &instrumenter{g: math.MaxUint32 - 1}
	in.check = checkpoint(0, in.g)
	safe := true
	err := walkSections(wasm, func(id byte, body, _ []byte) {
		var err error
		switch id {
		case secType:
			_, _, _, err = addYieldType(body)
		case secImport:
			_, _, _, err = addYieldImport(body, 0)
		case secGlobal:
			_, err = in.globals(body)
		case secTable:
			_, err = in.tables(body)
		case secExport:
			_, err = in.exports(body)
		case secElement:
			_, err = in.elements(body)
		case secData:
			_, err = in.data(body)
		case secFunction, secMemory, secTag:
			err = checkSection(id, body)
		case secCode:
			err = codeLocals(body)
		}
		if errors.Is(err, errPastEnd) || errors.Is(err, errTooManyLocals) {
			safe = false
		}
	})
	return safe && !errors.Is(err, errPastEnd)
}

// walkSections calls fn with each section's ID, content and encoding, up to the first one whose
// size runs past the end (returning errPastEnd) or that is cut short.
func walkSections(wasm []byte, fn func(id byte, body, raw []byte)) error {
	if len(wasm) < 8 {
		return nil
	}
	r := reader{b: wasm, off: 8}
	for !r.done() {
		start := r.off
		id, err := r.byte()
		if err != nil {
			return err
		}
		body, err := r.sized()
		if err != nil {
			return err
		}
		fn(id, body, wasm[start:r.off])
	}
	return nil
}

// codeLocals reads the size and locals of every function body.
func codeLocals(body []byte) error {
	r := reader{b: body}
	n, err := r.count()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		fb, err := r.sized()
		if err != nil {
			return err
		}
		fr := reader{b: fb}
		m, err := fr.count()
		if err != nil {
			return err
		}
		locals := uint64(0)
		for j := uint32(0); j < m; j++ {
			c, err := fr.u32()
			if err != nil {
				break
			}
			if locals += uint64(c); locals > maxLocals {
				return errTooManyLocals
			}
			if fr.valType() != nil {
				break
			}
		}
	}
	return nil
}

// withoutNameSection drops the custom sections "name" (wazero allocates their entries from their
// counts).
func withoutNameSection(wasm []byte) []byte {
	if len(wasm) < 8 {
		return wasm
	}
	out, next := bytes.Clone(wasm[:8]), 8
	err := walkSections(wasm, func(id byte, body, raw []byte) {
		next += len(raw)
		r := reader{b: body}
		if name, err := r.sized(); id != secCustom || err != nil || string(name) != "name" {
			out = append(out, raw...)
		}
	})
	if err != nil { // the rest, as it is
		out = append(out, wasm[next:]...)
	}
	return out
}

// BenchmarkInstrumentedLoop compares ways to make a 16 Ki-iteration loop interruptible on raw
// wazero (compiler): WithCloseOnContextDone, fuel checkpoints, and neither (the floor).
func BenchmarkInstrumentedLoop(b *testing.B) {
	cases := []struct {
		name       string
		wasm       []byte
		closeOnCtx bool
	}{
		{"original/close-on-context-done", instrSpinWasm, true},
		{"instrumented", mustInstrument(b, instrSpinWasm), false},
		{"original/uninterruptible", instrSpinWasm, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(tc.closeOnCtx))
			defer rt.Close(ctx)
			spin := instrInstantiate(b, ctx, rt, tc.wasm, &instrHost{}).ExportedFunction("spin")
			stack := make([]uint64, 1)
			b.ReportAllocs()
			for b.Loop() {
				stack[0] = 16384
				if err := spin.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInstrument measures instrument on the largest Go guest.
func BenchmarkInstrument(b *testing.B) {
	wasm, err := os.ReadFile("../../.build/wasm/connector-json.wasm")
	if err != nil {
		b.Skipf("no Go guest (run make guests): %v", err)
	}
	out := mustInstrument(b, wasm)
	b.SetBytes(int64(len(wasm)))
	b.ReportMetric(100*float64(len(out)-len(wasm))/float64(len(wasm)), "%growth")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := instrument(wasm); err != nil {
			b.Fatal(err)
		}
	}
}
