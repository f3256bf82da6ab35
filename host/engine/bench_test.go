package engine_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/ledger"
)

// BenchmarkRuns measures runs/s of a two-step automation (the json connector's pick transform,
// then the http-probe's fetch action POSTing to a loopback upstream with the credential injected)
// with the store on disk (fsync on), 8 workers, one consumer (its quota raised to all 8). Each op
// is one run, from the event's Accept to the run's success.
func BenchmarkRuns(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"ok":true}`) }))
	defer up.Close()
	f := newFixtureWith(b, 0, func(o *engine.Options) { o.Workers, o.MaxPerConsumer = 8, 8 })
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
	for {
		n := countRuns(b, f, "acme", ledger.Succeeded)
		if n >= b.N {
			break
		}
		if failed := countRuns(b, f, "acme", ledger.Failed) + countRuns(b, f, "acme", ledger.Dead); failed > 0 {
			b.Fatalf("%d runs failed", failed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}
