package jsonw

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

var stringCases = []string{"", "plain", `q"uote`, `back\slash`, "nl\n cr\r tab\t bs\b ff\f nul\x00 us\x1f del\x7f",
	"é ü 漢 🎉", "bad \xff byte", "cut \xe6\xbc", "\u2028 \u2029", "<a href='x'>&</a>", strings.Repeat("{\"k\":1}", 100)}

func FuzzString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("String(%q) = %q, json.Marshal %q", s, got[1:], want)
		}
	})
}

// checkFloat checks Float against json.Marshal for f.
func checkFloat(t *testing.T, f float64) {
	t.Helper()
	want, err := json.Marshal(f)
	got, ok := Float([]byte("x"), f)
	if ok != (err == nil) {
		t.Fatalf("Float(%v): ok %v, json.Marshal's error %v", f, ok, err)
	}
	if !ok {
		if string(got) != "x" {
			t.Fatalf("Float(%v) failed but appended %q", f, got)
		}
		return
	}
	if string(got) != "x"+string(want) {
		t.Fatalf("Float(%v) = %q, json.Marshal %q", f, got[1:], want)
	}
}

func TestFloat(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, 9.99e-7, 1e-7, -1e-7, 1e20, 1e21, 1e-300,
		123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, 0.168, 22.043, math.NaN(), math.Inf(1), math.Inf(-1)} {
		checkFloat(t, f)
	}
}

func FuzzFloat(f *testing.F) {
	for _, x := range []float64{0, 1e-7, 1e21, 0.1, 7.999} {
		f.Add(x)
	}
	f.Fuzz(checkFloat)
}

// checkTime checks Time against time.Time's MarshalJSON (what json.Marshal writes) for tm.
func checkTime(t *testing.T, tm time.Time) {
	t.Helper()
	want, err := tm.MarshalJSON()
	got, ok := Time([]byte("x"), tm)
	if ok != (err == nil) {
		t.Fatalf("Time(%v): ok %v, MarshalJSON's error %v", tm, ok, err)
	}
	if !ok {
		if string(got) != "x" {
			t.Fatalf("Time(%v) failed but appended %q", tm, got)
		}
		return
	}
	if string(got) != "x"+string(want) {
		t.Fatalf("Time(%v) = %q, MarshalJSON %q", tm, got[1:], want)
	}
}

func TestTime(t *testing.T) {
	for _, tm := range []time.Time{{}, time.Now(), time.Now().UTC(), time.Date(2026, 12, 7, 14, 31, 22, 750498621, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 5*3600+1800)), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 24*3600)), time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", -24*3600)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("near", 23*3600+59*60)), time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("h", 100*3600))} {
		checkTime(t, tm)
	}
}

func FuzzTime(f *testing.F) {
	f.Add(int64(0), int64(0), 0)
	f.Add(int64(1796654400), int64(123456789), 3600)
	f.Add(int64(-62135596800), int64(0), -86400)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		checkTime(t, time.Unix(sec, nsec).In(time.FixedZone("z", offset)))
	})
}

func TestStringMap(t *testing.T) {
	for _, m := range []map[string]string{nil, {}, {"b": "2", "a": "1", "<&>": "\u2028"},
		{"Content-Type": "application/json", "Authorization": "[redacted]", "Idempotency-Key": "x", "User-Agent": "splice", "Accept": "*/*"}} {
		want, _ := json.Marshal(m)
		if got := StringMap([]byte("x"), m); string(got) != "x"+string(want) {
			t.Fatalf("StringMap(%q) = %q, json.Marshal %q", m, got[1:], want)
		}
	}
	big := map[string]string{}
	for i := range 40 {
		big[strings.Repeat("k", 40-i)] = strings.Repeat("v", i)
	}
	want, _ := json.Marshal(big)
	if got := StringMap(nil, big); string(got) != string(want) {
		t.Fatalf("StringMap of 40 keys = %q, json.Marshal %q", got, want)
	}
}

func FuzzStringMap(f *testing.F) {
	f.Add("a", "1", "b", "2")
	f.Add("", "", "\xff", "<")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		m := map[string]string{k1: v1, k2: v2}
		want, _ := json.Marshal(m)
		if got := StringMap([]byte("x"), m); string(got) != "x"+string(want) {
			t.Fatalf("StringMap(%q) = %q, json.Marshal %q", m, got[1:], want)
		}
	})
}
