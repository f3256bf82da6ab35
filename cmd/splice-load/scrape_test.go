package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestScrape reads the runs and the committer's busy time from a /metrics page as the server
// writes it, and the busy share between two scrapes; a server without the storage metric gives
// -1, and so does the share.
func TestScrape(t *testing.T) {
	t.Parallel()
	var page atomic.Value // the /metrics page served
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(page.Load().(string)))
	}))
	defer srv.Close()
	p := &spliceProc{url: srv.URL}

	page.Store(`# HELP splice_engine_runs_total Runs that ended.
splice_engine_runs_total{env="development",status="succeeded"} 40
splice_engine_runs_total{env="development",status="filtered"} 2
splice_engine_runs_total{env="development",status="failed"} 3
splice_engine_runs_total{env="development",status="dead"} 1
splice_engine_runs_total{env="sandbox",status="succeeded"} 500
splice_storage_commit_busy_seconds_total{env="sandbox"} 99
splice_storage_commit_busy_seconds_total{env="development"} 1.5
`)
	a, err := p.scrape(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if a.runsOK != 42 || a.runsBad != 4 || a.busy != 1.5 {
		t.Fatalf("scrape: %+v, want 42 ok, 4 bad, 1.5 s busy (development only)", a)
	}
	page.Store(`splice_storage_commit_busy_seconds_total{env="development"} 3.9` + "\n")
	b, err := p.scrape(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := busyShare(a, b, 3*time.Second); got < 0.799 || got > 0.801 {
		t.Errorf("busy share of 2.4 s in 3 s: %v, want 0.8", got)
	}

	page.Store(`splice_engine_runs_total{env="development",status="succeeded"} 1` + "\n")
	old, err := p.scrape(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if old.busy != -1 || busyShare(old, b, time.Second) != -1 || busyShare(a, b, 0) != -1 {
		t.Errorf("without the metric: busy %v, shares %v and %v, want -1", old.busy, busyShare(old, b, time.Second), busyShare(a, b, 0))
	}
}
