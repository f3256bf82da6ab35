package broker_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/broker"
)

// BenchmarkRequest compares a brokered GET of a 1 KiB JSON document from a loopback upstream
// (decode, checks, guarded dial, credential injection, masking, recording, encode) with the same
// GET through a plain net/http client, in the same run. Both keep connections alive.
func BenchmarkRequest(b *testing.B) {
	payload := []byte(`{"items":["` + string(bytesOf('x', 1000)) + `"]}`)
	for _, latency := range []time.Duration{0, time.Millisecond} {
		up := newUpstream(b, func(w http.ResponseWriter, r *http.Request) {
			if latency > 0 {
				time.Sleep(latency) // an upstream that takes a millisecond, as a near one would
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(payload)
		})
		b.Run(fmt.Sprintf("upstream=%s/client=plain", latency), func(b *testing.B) {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, up.URL+"/items", nil)
				req.Header.Set("X-Api-Key", "sk_bench_1234")
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.ReadAll(resp.Body)
				resp.Body.Close()
			}
		})
		b.Run(fmt.Sprintf("upstream=%s/client=broker", latency), func(b *testing.B) {
			o := local()
			o.Credentials = newCreds("c", "k", map[string]string{"apiKey": "sk_bench_1234"})
			br := newBroker(b, o)
			m := manifest(abi.Auth{Type: abi.AuthAPIKey, In: "header", Name: "X-Api-Key"}, "127.0.0.1")
			doc, _ := json.Marshal(map[string]any{"url": up.URL + "/items", "auth": true})
			b.ReportAllocs()
			for b.Loop() {
				s := br.Session(broker.SessionOptions{Consumer: "c", Manifest: m, Credential: "k"})
				out := s.Do(ctx, doc)
				if len(out) < 1000 {
					b.Fatalf("response %s", out)
				}
			}
		})
	}
}

func bytesOf(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}
