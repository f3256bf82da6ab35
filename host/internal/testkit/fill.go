package testkit

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"time"
)

// fillStrings are the strings Fill picks from: empty (to exercise omitempty), plain, and each kind
// of character a JSON encoder escapes or replaces.
var fillStrings = []string{"", "", "plain", "q\"uote \\ back", "nl\n tab\t nul\x00 del\x7f", "é 漢 🎉", "bad \xff",
	"<a href='x'>&</a>", "\u2028\u2029", `{"k":[1,2]}`}

// fillRaw are the JSON documents Fill picks for a json.RawMessage, all compact, as json.Marshal
// writes them.
var fillRaw = []string{"", "null", "1", `"s"`, `{"a":[1,{"b":"<"}]}`, "[]"}

// Fill sets every exported field of the struct *v points to, recursively, to values drawn from r:
// strings with characters to escape, numbers of every size (zero included), times with offsets,
// nil, empty and filled maps, slices and pointers. Tests of hand-written encoders run it over their
// types and compare with encoding/json, so that a field added to a type and not to its encoder
// fails them. Fields of kinds it does not know (channels, functions, interfaces) are left zero.
func Fill(v any, r *rand.Rand) {
	fill(reflect.ValueOf(v).Elem(), r, 0)
}

func fill(v reflect.Value, r *rand.Rand, depth int) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		switch r.IntN(4) {
		case 0: // the zero time
		case 1:
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(1<<35), r.Int64N(1e9)).UTC()))
		default:
			zone := time.FixedZone("z", (r.IntN(48)-24)*1800)
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(1<<35)-1<<34, r.Int64N(1e9)).In(zone)))
		}
		return
	}
	if v.Type() == reflect.TypeFor[json.RawMessage]() {
		if s := fillRaw[r.IntN(len(fillRaw))]; s != "" {
			v.SetBytes([]byte(s))
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fillStrings[r.IntN(len(fillStrings))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if r.IntN(3) > 0 {
			n := r.Int64N(int64(1) << min(v.Type().Bits()-1, 62))
			if r.IntN(2) == 0 {
				n = -n
			}
			v.SetInt(n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if r.IntN(3) > 0 {
			v.SetUint(r.Uint64() >> (64 - v.Type().Bits()))
		}
	case reflect.Float32, reflect.Float64:
		switch r.IntN(4) {
		case 0:
		case 1:
			v.SetFloat(r.Float64() * 1000)
		case 2:
			v.SetFloat(math.Ldexp(r.Float64(), r.IntN(200)-100))
		default:
			v.SetFloat(float64(r.IntN(100000)) / 1000)
		}
	case reflect.Pointer:
		if depth < 4 && r.IntN(2) == 1 {
			p := reflect.New(v.Type().Elem())
			fill(p.Elem(), r, depth+1)
			v.Set(p)
		}
	case reflect.Slice:
		switch n := r.IntN(4); {
		case n == 0 || depth >= 4:
		case n == 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range n - 1 {
				fill(s.Index(i), r, depth+1)
			}
			v.Set(s)
		}
	case reflect.Map:
		switch n := r.IntN(4); {
		case n == 0 || depth >= 4:
		case n == 1:
			v.Set(reflect.MakeMap(v.Type()))
		default:
			m := reflect.MakeMap(v.Type())
			for range n + 2 {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				fill(k, r, depth+1)
				fill(e, r, depth+1)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), r, depth+1)
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), r, depth+1)
		}
	}
}
