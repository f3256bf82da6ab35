// Package metrics is Splice's Prometheus metrics (github.com/prometheus/client_golang): the
// registry, every metric the server exports and the handler of GET /metrics. Names follow
// splice_<subsystem>_<name>_<unit>. It is the only package that imports client_golang; callers
// record through methods that take plain values. A *Metrics is safe for concurrent use; a nil
// *Metrics records nothing, so tests and tools need none.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the server's metrics.
type Metrics struct {
	reg *prometheus.Registry

	webhooksReceived *prometheus.CounterVec
	webhooksAccepted *prometheus.CounterVec
	webhooksRejected *prometheus.CounterVec
	ackSeconds       *prometheus.HistogramVec
	runsEnded        *prometheus.CounterVec
	stepSeconds      *prometheus.HistogramVec
	guestCalls       *prometheus.CounterVec
	limitBreaches    *prometheus.CounterVec
	brokerRequests   *prometheus.CounterVec
}

// latencyBuckets span 100 µs to 30 s.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New returns the metrics, registered with a registry of their own (with the Go runtime's and
// the process's collectors).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.webhooksReceived = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "splice_ingress_webhooks_received_total",
		Help: "Webhook requests received, by environment."}, []string{"env"})
	m.webhooksAccepted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "splice_ingress_webhooks_accepted_total",
		Help: "Webhook requests whose events were durably stored, by environment."}, []string{"env"})
	m.webhooksRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "splice_ingress_webhooks_rejected_total",
		Help: "Webhook requests refused, by environment and reason (the error code answered)."}, []string{"env", "reason"})
	m.ackSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "splice_ingress_ack_seconds",
		Help: "Time from a webhook request's arrival to its answer, for accepted ones.", Buckets: latencyBuckets}, []string{"env"})
	m.runsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "splice_engine_runs_total",
		Help: "Runs that ended, by environment and final status."}, []string{"env", "status"})
	m.stepSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "splice_engine_step_seconds",
		Help: "Time to run one step, by environment, step kind and outcome.", Buckets: latencyBuckets}, []string{"env", "kind", "status"})
	m.guestCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "splice_sandbox_calls_total",
		Help: "Guest calls, by environment, export and outcome (ok, or the error kind)."}, []string{"env", "export", "outcome"})
	m.limitBreaches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "splice_sandbox_limit_breaches_total",
		Help: "Guest calls ended by a limit, by environment and kind."}, []string{"env", "kind"})
	m.brokerRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "splice_broker_requests_total",
		Help: "Outbound HTTP requests of connectors, by environment and outcome (2xx..5xx, or the refusal or failure kind)."}, []string{"env", "outcome"})
	m.reg.MustRegister(m.webhooksReceived, m.webhooksAccepted, m.webhooksRejected, m.ackSeconds, m.runsEnded, m.stepSeconds,
		m.guestCalls, m.limitBreaches, m.brokerRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Webhook records one webhook: reason "" for one accepted (its latency observed), else the
// error code it was answered with.
func (m *Metrics) Webhook(env, reason string, took time.Duration) {
	if m == nil {
		return
	}
	m.webhooksReceived.WithLabelValues(env).Inc()
	if reason != "" {
		m.webhooksRejected.WithLabelValues(env, reason).Inc()
		return
	}
	m.webhooksAccepted.WithLabelValues(env).Inc()
	m.ackSeconds.WithLabelValues(env).Observe(took.Seconds())
}

// RunEnded records a run's end.
func (m *Metrics) RunEnded(env, status string) {
	if m == nil {
		return
	}
	m.runsEnded.WithLabelValues(env, status).Inc()
}

// Step records a step's time and outcome.
func (m *Metrics) Step(env, kind, status string, took time.Duration) {
	if m == nil {
		return
	}
	m.stepSeconds.WithLabelValues(env, kind, status).Observe(took.Seconds())
}

// limitKinds are the error kinds of the sandbox that are limit breaches.
var limitKinds = map[string]bool{"timeout": true, "memory_limit": true, "output_too_large": true, "log_too_large": true}

// GuestCall records a guest call's outcome: "ok" or the sandbox's error kind.
func (m *Metrics) GuestCall(env, export, outcome string) {
	if m == nil {
		return
	}
	m.guestCalls.WithLabelValues(env, export, outcome).Inc()
	if limitKinds[outcome] {
		m.limitBreaches.WithLabelValues(env, outcome).Inc()
	}
}

// BrokerRequest records an outbound request's outcome.
func (m *Metrics) BrokerRequest(env, outcome string) {
	if m == nil {
		return
	}
	m.brokerRequests.WithLabelValues(env, outcome).Inc()
}

// Gauge registers a gauge read at each scrape, with the environment as its one label value
// (the queue depth, the instances pooled).
func (m *Metrics) Gauge(name, help, env string, read func() float64) {
	if m == nil {
		return
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"env": env}}, read)
	_ = m.reg.Register(g) // a second environment of the same name cannot exist; a failure only drops the gauge
}

// Counter registers a counter for environment env whose value read returns at each scrape; read
// must only grow (it is called concurrently with everything else, so it must be safe for that).
func (m *Metrics) Counter(name, help, env string, read func() float64) {
	if m == nil {
		return
	}
	c := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"env": env}}, read)
	_ = m.reg.Register(c) // as for Gauge
}

// GaugeAll registers a gauge with no labels.
func (m *Metrics) GaugeAll(name, help string, read func() float64) {
	if m == nil {
		return
	}
	_ = m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
}
