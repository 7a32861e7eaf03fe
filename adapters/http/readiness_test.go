package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
	httpapi "github.com/medalliance/allianced/adapters/http"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// erringQueries answers every plan read with err.
type erringQueries struct {
	httpapi.Queries
	err error
}

func (q erringQueries) Plan(context.Context, string, eventstore.Position) (projections.PlanDoc, error) {
	return projections.PlanDoc{}, q.err
}

// TestViewErrorsAre503 checks the two read-side codes: views_catching_up is 503 with
// Retry-After (the view may well exist; ask again shortly), view_degraded is 503
// without it (it needs a fix and a rebuild) and with the failing event's position.
func TestViewErrorsAre503(t *testing.T) {
	tests := []struct {
		name, code, retryAfter string
		err                    error
	}{
		{"catching up", "views_catching_up", "1",
			domain.Errorf(projections.CodeViewsCatchingUp, "the views are catching up").WithDetail("checkpoint", uint64(3))},
		{"degraded", "view_degraded", "",
			domain.Errorf(projections.CodeViewDegraded, "this view cannot be shown").WithDetail("position", uint64(42))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(_ *httpapi.Config, d *httpapi.Deps) { d.Queries = erringQueries{err: tc.err} })
			tok := f.token("u", "01J00000000000000000000001", "haem", httpapi.RoleMember)
			r := f.do("GET", "/v1/plans/01J00000000000000000000002", tok, "")
			if r.status != 503 || r.code(t) != tc.code || r.header.Get("Retry-After") != tc.retryAfter {
				t.Fatalf("got %d %s Retry-After %q, want 503 %s Retry-After %q", r.status, r.body, r.header.Get("Retry-After"), tc.code, tc.retryAfter)
			}
		})
	}
}

// TestReadyzWhileCatchingUp checks that /readyz is not ready while the views catch up,
// even with a lag under the threshold, and stays ready (saying so) with degraded
// documents; the metrics carry both.
func TestReadyzWhileCatchingUp(t *testing.T) {
	tests := []struct {
		name     string
		lag      projections.Lag
		want     int
		contains []string
	}{
		{"catching up", projections.Lag{Events: 5, CatchingUp: true, Target: 70_000, Checkpoint: 69_995}, 503,
			[]string{`"projections":"catching_up"`}},
		{"degraded", projections.Lag{Degraded: 2}, 200, []string{`"degraded":{"documents":2}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(_ *httpapi.Config, d *httpapi.Deps) { d.Lag = fixedLag{lag: tc.lag} })
			r := f.do("GET", "/readyz", "", "")
			if r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
			for _, s := range tc.contains {
				if !strings.Contains(string(r.body), s) {
					t.Fatalf("readyz %s lacks %s", r.body, s)
				}
			}
		})
	}
	f := newFixture(t, func(_ *httpapi.Config, d *httpapi.Deps) {
		d.Lag = fixedLag{lag: projections.Lag{CatchingUp: true, Degraded: 4}}
	})
	m := string(f.do("GET", "/metrics", "", "").body)
	for _, want := range []string{"allianced_projection_catching_up 1", "allianced_projection_degraded_documents 4"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestReadyzWithTheProjector checks /readyz against the real projector: ready once the
// views caught up with a fresh log, and the failure counter is exported.
func TestReadyzWithTheProjector(t *testing.T) {
	f := newFixture(t, withViews(t))
	f.world()
	ready := false
	for i := 0; i < 500 && !ready; i++ {
		ready = f.do("GET", "/readyz", "", "").status == 200
	}
	if !ready {
		t.Fatalf("never ready: %s", f.do("GET", "/readyz", "", "").body)
	}
	if m := string(f.do("GET", "/metrics", "", "").body); !strings.Contains(m, "allianced_projection_event_failures_total 0") {
		t.Fatalf("metrics lack the failure counter")
	}
}
