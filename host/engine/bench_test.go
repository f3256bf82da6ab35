package engine_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/ledger"
)

// BenchmarkRuns measures runs/s of a two-step automation (the json connector's pick transform,
// then the http-probe's fetch action POSTing to a loopback upstream with the credential injected)
// with the store on disk (fsync on), one consumer whose quota is all the workers, for several
// worker counts (workers mostly wait for their commit's fsync, which group commit shares). Each
// op is one run, from the event's Accept to the run's success; runs are counted as they end
// (Options.Observer), not by listing them.
func BenchmarkRuns(b *testing.B) {
	for _, workers := range []int{8, 32, 128} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchmarkRuns(b, workers) })
	}
}

// ended counts the runs that ended, by status.
type ended struct {
	ok, bad atomic.Int64
}

func (e *ended) RunEnded(status string) {
	if status == string(ledger.Succeeded) {
		e.ok.Add(1)
	} else {
		e.bad.Add(1)
	}
}
func (*ended) Step(string, string, time.Duration) {}
func (*ended) GuestCall(string, string)           {}
func (*ended) BrokerRequest(string)               {}

func benchmarkRuns(b *testing.B, workers int) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"ok":true}`) }))
	defer up.Close()
	var count ended
	f := newFixtureWith(b, 0, func(o *engine.Options) { o.Workers, o.MaxPerConsumer, o.Observer = workers, workers, &count })
	f.autos.put(b, "acme", "a1", fmt.Sprintf(`{"name": "two steps",
	 "trigger": {"appKey": "shop", "triggerKey": "new-order"},
	 "steps": [
	   {"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger.order}}", "paths": ["id", "total"]}},
	   {"id": "post", "appKey": "http-probe", "actionKey": "fetch", "credentialKey": "k",
	    "inputParams": {"method": "POST", "url": "%s/orders", "body": "order {{steps.pick.output.id}}", "auth": true}}]}`, up.URL))
	f.start(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += ledger.MaxAcceptEvents {
		var evs []ledger.NewEvent
		for j := i; j < min(b.N, i+ledger.MaxAcceptEvents); j++ {
			evs = append(evs, ledger.NewEvent{Consumer: "acme", Automation: "a1", Payload: json.RawMessage(fmt.Sprintf(`{"order":{"id":%d,"total":10}}`, j))})
		}
		if _, err := f.store.Accept(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	for count.ok.Load() < int64(b.N) {
		if n := count.bad.Load(); n > 0 {
			b.Fatalf("%d runs failed", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}

// BenchmarkReceive measures the accept path of the load benchmark's webhook in one process: a
// 1 KiB order through the C webhook connector's trigger (no webhook-id: its id is the body's
// SHA-256), its event validated and durably stored (fsync on, group commit), from 64 goroutines
// at once as from 64 connections. No worker runs. Each op is one webhook; on two cores, ns/op
// times two is about the CPU time a webhook's accept takes, without HTTP.
func BenchmarkReceive(b *testing.B) {
	f := newFixture(b, 0)
	f.autos.put(b, "acme", "hook", `{"name": "orders", "trigger": {"appKey": "webhook", "triggerKey": "json"},
	 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["id"]}}]}`)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"id":%d,"customer":{"name":"Grace Hopper","email":"grace.hopper@example.com"},"currency":"EUR","lines":[`, i) +
				strings.Repeat(`{"sku":"SKU-0042","qty":2,"price":19.90},`, 18) +
				`{"sku":"SKU-7781","qty":1,"price":83.60}],"total":123.40,"note":"Please leave the parcel at the front desk."}`
			req := &abi.HTTPRequest{Method: "POST", Path: "/hooks/development/hook",
				Headers: map[string][]string{"Content-Type": {"application/json"}, "User-Agent": {"splice-load"}}, Body: body}
			r, err := f.eng.Receive(ctx, "acme", "hook", req, "")
			if err != nil || len(r.Events) != 1 {
				b.Errorf("Receive: %+v, %v", r, err)
				return
			}
		}
	})
}
