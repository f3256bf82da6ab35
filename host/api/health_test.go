package api_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/splicehq/splice/host/api"
)

// TestHealthzLogsChanges checks that GET /healthz answers each probe from Health, and that the
// log tells a change of state once (a warning when it turns unhealthy, a note when it recovers),
// not every probe of a load balancer.
func TestHealthzLogsChanges(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var failing error
	var logs bytes.Buffer
	a, err := api.New(api.Options{
		Environments:  &openAPIEnvs{},
		OperatorToken: "x",
		Logger:        slog.New(slog.NewTextHandler(&syncWriter{mu: &mu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Health: func() error {
			mu.Lock()
			defer mu.Unlock()
			return failing
		},
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
	set := func(err error) {
		mu.Lock()
		failing = err
		mu.Unlock()
	}
	count := func(s string) int {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(logs.String(), s)
	}

	probe(http.StatusOK)
	set(errors.New("disk full"))
	for range 5 {
		probe(http.StatusServiceUnavailable)
	}
	if n := count("unhealthy"); n != 1 {
		t.Errorf("five unhealthy probes logged %d times, want once:\n%s", n, logs.String())
	}
	if count("disk full") != 1 {
		t.Errorf("the log does not name the error once:\n%s", logs.String())
	}
	set(nil)
	probe(http.StatusOK)
	probe(http.StatusOK)
	if n := count("healthy again"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, logs.String())
	}
	set(errors.New("disk full"))
	probe(http.StatusServiceUnavailable)
	if n := count("level=WARN"); n != 2 {
		t.Errorf("a second failure logged %d warnings in all, want 2:\n%s", n, logs.String())
	}
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
