package broker

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/splicehq/splice/host/internal/testkit"
)

func TestExchangeAppendJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var x Exchange
		testkit.Fill(&x, r)
		checkExchange(t, &x)
	}
	checkExchange(t, &Exchange{DurationMS: math.NaN()})
	checkExchange(t, &Exchange{DurationMS: math.Inf(1)})
	checkExchange(t, &Exchange{StartedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
}

// checkExchange checks that AppendJSON writes what json.Marshal writes for x, or fails where it fails.
func checkExchange(t *testing.T, x *Exchange) {
	t.Helper()
	want, err := json.Marshal(x)
	got, ok := x.AppendJSON([]byte("x"))
	if ok != (err == nil) {
		t.Fatalf("%+v: ok %v, json.Marshal's error %v", x, ok, err)
	}
	if !ok {
		if string(got) != "x" {
			t.Fatalf("%+v: failed but appended %q", x, got)
		}
		return
	}
	if string(got) != "x"+string(want) {
		t.Fatalf("%+v:\n got %s\nwant %s", x, got[1:], want)
	}
}
