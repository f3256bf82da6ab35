package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/splicehq/splice/host/server"
)

// TestRetention runs a server that keeps what ended for a second and prunes every 200 ms: the
// runs that succeeded go (from every listing, their records gone), with their activity entries;
// the run that failed stays, replayable; /metrics counts the deleted records.
func TestRetention(t *testing.T) {
	for _, every := range []time.Duration{-time.Second, time.Nanosecond, 99 * time.Millisecond} {
		if _, err := server.Open(context.Background(), server.Options{DataDir: t.TempDir(), PruneEvery: every}); err == nil || !strings.Contains(err.Error(), "prune interval") {
			t.Fatalf("Open with a prune interval of %s: %v, want an error naming it", every, err)
		}
	}
	h := start(t, t.TempDir(), func(o *server.Options) {
		o.Retention = time.Second // long enough for the polls below to see a run before it goes
		o.PruneEvery = 200 * time.Millisecond
	})
	tok := h.setup("acme")
	var good, bad automationView
	h.json("POST", "/v1/envs/development/automations", tok, `{"name": "good", "trigger": {"appKey": "echo", "triggerKey": "received"},
	 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger}}", "paths": ["id"]}}]}`, 201, &good)
	h.json("POST", "/v1/envs/development/automations", tok, `{"name": "bad", "trigger": {"appKey": "echo", "triggerKey": "received"}, "retry": {"maxAttempts": 1},
	 "steps": [{"id": "pick", "appKey": "json", "transformKey": "pick", "inputParams": {"value": "{{trigger.id}}", "paths": ["id"]}}]}`, 201, &bad)
	for i := range 20 {
		a := good
		if i == 0 {
			a = bad
		}
		resp, err := http.Post(h.url+"/hooks/development/"+a.ID, "application/json", strings.NewReader(fmt.Sprintf(`{"id": %d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("webhook %d: %d", i, resp.StatusCode)
		}
	}
	type runList struct {
		Items []struct {
			ID, Status string
		} `json:"items"`
	}
	var runs runList
	seen := false // a good run was listed before it was pruned
	for deadline := time.Now().Add(30 * time.Second); ; {
		var ofGood runList
		h.json("GET", "/v1/envs/development/runs?automation="+good.ID, tok, "", 200, &ofGood)
		h.json("GET", "/v1/envs/development/runs", tok, "", 200, &runs)
		seen = seen || len(ofGood.Items) > 0
		if seen && len(runs.Items) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs left after 30 s: %+v (a succeeded one listed: %v)", runs.Items, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
	failed := runs.Items[0]
	if failed.Status != "failed" && failed.Status != "dead" {
		t.Fatalf("the run left is %s, want the failed one", failed.Status)
	}
	var ok runList
	h.json("GET", "/v1/envs/development/runs?status=succeeded", tok, "", 200, &ok)
	if len(ok.Items) != 0 {
		t.Errorf("succeeded runs listed after pruning: %d", len(ok.Items))
	}
	var replayed struct{}
	h.json("POST", "/v1/envs/development/runs/"+failed.ID+"/replay", tok, "", 202, &replayed)

	resp, err := http.Get(h.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := regexp.MustCompile(`(?m)^splice_retention_pruned_total\{env="development"\} (\d+)$`).FindSubmatch(m)
	// 19 runs, each with its step, event and activity entries.
	if got == nil {
		t.Fatal("/metrics lacks splice_retention_pruned_total")
	}
	if n, _ := strconv.Atoi(string(got[1])); n < 19*3 {
		t.Errorf("splice_retention_pruned_total: %q, want at least %d", got, 19*3)
	}
}
