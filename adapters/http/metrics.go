package httpapi

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the service's Prometheus metrics, on a registry of their own so that
// several servers (tests) never collide on the global one.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	appends  *prometheus.HistogramVec

	// observers caches the request counter and latency observer of each route, method
	// and status (an observerKey -> *requestObservers), so a request costs no label
	// hashing or status formatting once its combination was seen.
	observers sync.Map
}

type observerKey struct {
	route, method string
	status        int
}

type requestObservers struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// NewMetrics creates the metrics with the Go and process collectors registered.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "allianced_http_requests_total", Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "allianced_http_request_duration_seconds", Help: "HTTP request latency by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		appends: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "allianced_eventstore_append_duration_seconds", Help: "Event-store append latency (durable) by outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"outcome"}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.appends,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observeRequest(route, method string, status int, d time.Duration) {
	k := observerKey{route: route, method: method, status: status}
	v, ok := m.observers.Load(k)
	if !ok {
		v, _ = m.observers.LoadOrStore(k, &requestObservers{
			requests: m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
			latency:  m.latency.WithLabelValues(route, method),
		})
	}
	o := v.(*requestObservers)
	o.requests.Inc()
	o.latency.Observe(d.Seconds())
}

// registerLag exports the projection lag (events behind the log head), read at scrape.
func (m *Metrics) registerLag(lag LagReporter) {
	if lag == nil {
		return
	}
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "allianced_projection_lag_events", Help: "How many events the projections are behind the log head (-1 when unknown).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		l, err := lag.Lag(ctx)
		if err != nil {
			return -1
		}
		return float64(l.Events)
	}))
}

// InstrumentStore wraps store so that every append's latency is observed in m.
func (m *Metrics) InstrumentStore(store eventstore.Store) eventstore.Store {
	return &instrumentedStore{Store: store, m: m}
}

type instrumentedStore struct {
	eventstore.Store
	m *Metrics
}

// Append implements eventstore.Store, timing the durable append.
func (s *instrumentedStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	start := time.Now()
	res, err := s.Store.Append(ctx, stream, expected, events)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.m.appends.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	return res, err
}
