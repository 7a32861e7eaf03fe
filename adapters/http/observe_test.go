package httpapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
	httpapi "github.com/medalliance/allianced/adapters/http"
	"github.com/medalliance/allianced/projections"
)

// panicQueries panics on a plan read, standing for any bug in a handler's path.
type panicQueries struct{ httpapi.Queries }

func (panicQueries) Plan(context.Context, string, eventstore.Position) (projections.PlanDoc, error) {
	panic("nil map in a view decoder")
}

func TestPanicIsInternal(t *testing.T) {
	f := newFixture(t, func(_ *httpapi.Config, d *httpapi.Deps) { d.Queries = panicQueries{} })
	tok := f.token("u", "01J00000000000000000000001", "haem", httpapi.RoleMember)
	r := f.do("GET", "/v1/plans/01J00000000000000000000002", tok, "")
	if r.status != 500 || r.code(t) != "internal" || strings.Contains(string(r.body), "nil map") {
		t.Fatalf("got %d %s, want 500 internal without the panic's text", r.status, r.body)
	}
	// The server keeps serving.
	if r := f.do("GET", "/healthz", "", ""); r.status != 200 {
		t.Fatalf("healthz after a panic: %d", r.status)
	}
}

type fixedLag struct {
	lag projections.Lag
	err error
}

func (l fixedLag) Lag(context.Context) (projections.Lag, error) { return l.lag, l.err }

func TestReadyz(t *testing.T) {
	tests := []struct {
		name string
		lag  httpapi.LagReporter
		want int
	}{
		{"no projector", nil, 200},
		{"caught up", fixedLag{lag: projections.Lag{Events: 3}}, 200},
		{"behind", fixedLag{lag: projections.Lag{Events: 50_000}}, 503},
		{"redis down", fixedLag{err: errors.New("dial tcp: refused")}, 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(_ *httpapi.Config, d *httpapi.Deps) { d.Lag = tc.lag })
			if r := f.do("GET", "/readyz", "", ""); r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
		})
	}
}

func TestMetricsAndRequestID(t *testing.T) {
	f := newFixture(t, func(_ *httpapi.Config, d *httpapi.Deps) { d.Lag = fixedLag{lag: projections.Lag{Events: 7}} })
	w := f.world()
	r := f.do("GET", "/v1/alliances/"+w.alliance+"/members/"+w.m1+"/suspend", w.leadTok, "")
	if r.status != 405 || r.code(t) != "method_not_allowed" {
		t.Fatalf("GET on a POST route: %d %s", r.status, r.body)
	}
	r = f.do("GET", "/healthz", "", "", "X-Request-ID", "req-42")
	if r.header.Get("X-Request-ID") != "req-42" {
		t.Fatalf("request id not echoed: %q", r.header.Get("X-Request-ID"))
	}
	if r := f.do("GET", "/healthz", "", "", "X-Request-ID", "bad id\n"); r.header.Get("X-Request-ID") == "" || strings.ContainsAny(r.header.Get("X-Request-ID"), " \n") {
		t.Fatalf("unsafe request id kept: %q", r.header.Get("X-Request-ID"))
	}
	m := string(f.do("GET", "/metrics", "", "").body)
	for _, want := range []string{
		`allianced_http_requests_total{method="POST",route="/v1/hospitals",status="201"} 3`,
		`allianced_http_request_duration_seconds_bucket{method="POST",route="/v1/alliances/:id/members"`,
		`allianced_projection_lag_events 7`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAppendLatencyMetric(t *testing.T) {
	m := httpapi.NewMetrics()
	f := newFixtureOn(t, m.InstrumentStore(mustOpenStore(t)), func(_ *httpapi.Config, d *httpapi.Deps) { d.Metrics = m })
	f.world()
	body := string(f.do("GET", "/metrics", "", "").body)
	if !strings.Contains(body, `allianced_eventstore_append_duration_seconds_count{outcome="ok"}`) {
		t.Fatalf("no append latency in the metrics")
	}
}
