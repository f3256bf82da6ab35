package api_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/api"
)

// TestHealthzLogsChanges checks that GET /healthz answers each probe from Health, and that the
// log tells a change of state once (a warning when it turns unhealthy, a note when it recovers),
// not every probe of a load balancer.
func TestHealthzLogsChanges(t *testing.T) {
	t.Parallel()
	// The probes are served on this goroutine (ServeHTTP, no server), so nothing here is shared.
	var failing error
	var logs bytes.Buffer
	a, err := api.New(api.Options{
		Environments:  &openAPIEnvs{},
		OperatorToken: "x",
		Logger:        slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Health:        func() error { return failing },
	})
	if err != nil {
		t.Fatal(err)
	}
	probe := func(want int) {
		t.Helper()
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != want {
			t.Fatalf("GET /healthz: %d, want %d", rec.Code, want)
		}
		if want == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
	count := func(s string) int { return strings.Count(logs.String(), s) }

	probe(http.StatusOK)
	failing = errors.New("disk full")
	for range 5 {
		probe(http.StatusServiceUnavailable)
	}
	if n := count("unhealthy"); n != 1 {
		t.Errorf("five unhealthy probes logged %d times, want once:\n%s", n, logs.String())
	}
	if count("disk full") != 1 {
		t.Errorf("the log does not name the error once:\n%s", logs.String())
	}
	failing = nil
	probe(http.StatusOK)
	probe(http.StatusOK)
	if n := count("healthy again"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, logs.String())
	}
	failing = errors.New("disk full")
	probe(http.StatusServiceUnavailable)
	if n := count("level=WARN"); n != 2 {
		t.Errorf("a second failure logged %d warnings in all, want 2:\n%s", n, logs.String())
	}
}
