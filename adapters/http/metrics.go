package httpapi

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/projections"
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

// registerLag exports the state of the projections, measured once per scrape: the lag
// (events behind the log head), whether they are still catching up, and how many view
// documents are degraded; and, when lag also reports the in-process projector's Status,
// the count of events it could not apply.
func (m *Metrics) registerLag(lag LagReporter) {
	if lag == nil {
		return
	}
	m.Registry.MustRegister(&lagCollector{lag: lag,
		lagDesc: prometheus.NewDesc("allianced_projection_lag_events",
			"How many events the projections are behind the log head (-1 when unknown).", nil, nil),
		catchingUpDesc: prometheus.NewDesc("allianced_projection_catching_up",
			"1 while the views are still applying the log as it stood when they (re)started, else 0 (-1 when unknown).", nil, nil),
		degradedDesc: prometheus.NewDesc("allianced_projection_degraded_documents",
			"View documents an event could not be applied to, served as 503 view_degraded until a rebuild (-1 when unknown).", nil, nil),
	})
	if st, ok := lag.(interface{ Status() projections.Status }); ok {
		m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "allianced_projection_event_failures_total",
			Help: "Events this process's projector could not apply to the views (each degraded the documents it was changing).",
		}, func() float64 { return float64(st.Status().Failed) }))
	}
}

// lagCollector measures the projections' lag once per scrape for its three gauges.
type lagCollector struct {
	lag                                   LagReporter
	lagDesc, catchingUpDesc, degradedDesc *prometheus.Desc
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lagDesc
	ch <- c.catchingUpDesc
	ch <- c.degradedDesc
}

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	events, catching, degraded := -1.0, -1.0, -1.0
	if l, err := c.lag.Lag(ctx); err == nil {
		events, catching, degraded = float64(l.Events), 0, float64(l.Degraded)
		if l.CatchingUp {
			catching = 1
		}
	}
	ch <- prometheus.MustNewConstMetric(c.lagDesc, prometheus.GaugeValue, events)
	ch <- prometheus.MustNewConstMetric(c.catchingUpDesc, prometheus.GaugeValue, catching)
	ch <- prometheus.MustNewConstMetric(c.degradedDesc, prometheus.GaugeValue, degraded)
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
