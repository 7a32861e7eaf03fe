package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
	"github.com/medalliance/allianced/projections/report"
)

// reportHistory generates two alliances' activity from July 2025 to November 2026.
func reportHistory(seed int64) (*history, []histAlliance, time.Time, time.Time) {
	h := newHistory(seed)
	start := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	a := []histAlliance{h.alliance(12, start, end), h.alliance(5, start, end)}
	for d := start.AddDate(0, 0, 1); d.Before(end); d = d.AddDate(0, 0, 1) {
		h.day(a[0], d, 2)
		h.day(a[1], d, 1)
	}
	return h, a, start, end
}

// decodeLog returns the domain events and envelopes of the log, in log order.
func decodeLog(t testing.TB, store *memStore) ([]domain.Event, []domain.Envelope) {
	t.Helper()
	var evs []domain.Event
	var envs []domain.Envelope
	for _, rec := range store.log {
		env, ev, err := eventstore.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		evs, envs = append(evs, ev), append(envs, env)
	}
	return evs, envs
}

// periodsBetween lists every month, quarter and year from start to end.
func periodsBetween(start, end time.Time) []report.Period {
	seen := map[string]bool{}
	var out []report.Period
	for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
		for _, k := range []string{report.Month, report.Quarter, report.Year} {
			p := report.PeriodOf(k, d)
			if !seen[p.Key] {
				seen[p.Key] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// sameReport fails t with the first differing scope when got and want differ. Names
// come from the hospital directory, which the recompute does not read.
func sameReport(t *testing.T, what string, got, want report.Report) {
	t.Helper()
	for i := range got.Members {
		got.Members[i].Name = ""
	}
	if reflect.DeepEqual(got, want) {
		return
	}
	// Name the first scope that differs.
	gt, _ := json.Marshal(got.Total)
	wt, _ := json.Marshal(want.Total)
	if string(gt) != string(wt) {
		t.Fatalf("%s: the views' totals differ from the recompute\n got: %s\nwant: %s", what, gt, wt)
	}
	for i := 0; i < max(len(got.Members), len(want.Members)); i++ {
		var g, w []byte
		if i < len(got.Members) {
			g, _ = json.Marshal(got.Members[i])
		}
		if i < len(want.Members) {
			w, _ = json.Marshal(want.Members[i])
		}
		if string(g) != string(w) {
			t.Fatalf("%s: row %d differs from the recompute\n got: %s\nwant: %s", what, i, g, w)
		}
	}
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	t.Fatalf("%s: the views' report differs from the recompute\n got: %s\nwant: %s", what, clipText(string(g)), clipText(string(w)))
}

func clipText(s string) string {
	if len(s) > 6000 {
		return s[:6000] + "..."
	}
	return s
}

// TestReportViewsEqualRecompute projects a generated history of two alliances over
// seventeen months (tens of thousands of events) through the projector's batches, then
// checks, for every month, quarter and year, per alliance and per member, that the
// report read from the incremental views equals the report recomputed from the log; and,
// at random as-of dates, that the views' report as of the date equals both the
// recompute with that cut and the report computed on the log cut at the end of the date.
func TestReportViewsEqualRecompute(t *testing.T) {
	ctx := context.Background()
	h, alliances, start, end := reportHistory(7)
	store := newMemStore()
	if err := writeHistory(store, h.sorted()); err != nil {
		t.Fatal(err)
	}
	rdb, stop, err := projections.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	const prefix = "reporttest"
	if err := projections.Rebuild(ctx, store, rdb, prefix, nil); err != nil {
		t.Fatal(err)
	}
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix})
	defer q.Close()
	evs, envs := decodeLog(t, store)
	facts, err := report.Facts(evs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, %d facts", len(evs), len(facts))
	if len(evs) < 5000 {
		t.Fatalf("the history has only %d events", len(evs))
	}
	periods := periodsBetween(start, end)
	checked := 0
	for _, a := range alliances {
		for _, p := range periods {
			rq := report.Query{AllianceID: a.ID, Period: p}
			got, err := q.AllianceReport(ctx, rq, 0)
			if err != nil {
				t.Fatal(err)
			}
			sameReport(t, fmt.Sprintf("alliance %s, %s", a.ID, p.Key), got, report.Sum(facts, rq))
			checked++
			// A member's own rows and the totals.
			only := a.Members[checked%len(a.Members)]
			rq.Only = only
			got, err = q.AllianceReport(ctx, rq, 0)
			if err != nil {
				t.Fatal(err)
			}
			sameReport(t, fmt.Sprintf("member %s of %s, %s", only, a.ID, p.Key), got, report.Sum(facts, rq))
			rq.Only, rq.TotalsOnly = "", true
			got, err = q.AllianceReport(ctx, rq, 0)
			if err != nil {
				t.Fatal(err)
			}
			sameReport(t, fmt.Sprintf("totals of %s, %s", a.ID, p.Key), got, report.Sum(facts, rq))
		}
	}
	// The figures move: the test would not notice a report of zeros.
	year := report.PeriodOf(report.Year, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	full := report.Sum(facts, report.Query{AllianceID: alliances[0].ID, Period: year})
	tot := full.Total
	if tot.Referrals.Up == 0 || tot.Referrals.GreenChannel.MedianMinutes == nil || tot.Consults.Answered == 0 || tot.Visits.PatientsSeen == 0 ||
		tot.Plans.Active == 0 || tot.Adherence.Share == nil || tot.Deviations.Total == 0 || tot.Protocols.Adoptions == 0 || len(full.Members) < 12 ||
		tot.Visits.PatientsAdmitted == 0 || tot.Talent.MentorshipsActive == 0 || tot.Talent.MentoringSessions == 0 || tot.Talent.PlacementsActive == 0 ||
		tot.Talent.StudyPlacements == 0 || tot.Talent.Postings == 0 || tot.Talent.PlacementsCancelled == 0 ||
		tot.Diagnostics.Kinds[0].P90Minutes == nil || tot.Diagnostics.Kinds[4].Reported == 0 || tot.Diagnostics.Critical.Escalated == 0 ||
		tot.Diagnostics.Critical.WithinTarget == 0 || tot.Diagnostics.Critical.WithinTarget == tot.Diagnostics.Critical.Acknowledged {
		t.Fatalf("the generated year has empty figures: %+v", tot)
	}

	r := rand.New(rand.NewSource(1))
	span := int(end.Sub(start).Hours()/24) + 10
	for i := range 24 {
		date := start.AddDate(0, 0, r.Intn(span)-5).Format(time.DateOnly)
		cut, err := report.ParseAsOf(date)
		if err != nil {
			t.Fatal(err)
		}
		var cutLog []domain.Event
		for j, env := range envs {
			if env.OccurredAt.Before(cut) {
				cutLog = append(cutLog, evs[j])
			}
		}
		kind := []string{report.Month, report.Quarter, report.Year}[i%3]
		p := report.PeriodOf(kind, cut.AddDate(0, 0, -1-r.Intn(40)))
		a := alliances[i%2]
		rq := report.Query{AllianceID: a.ID, Period: p, AsOf: date, Cut: cut}
		got, err := q.AllianceReport(ctx, rq, 0)
		if err != nil {
			t.Fatal(err)
		}
		sameReport(t, fmt.Sprintf("%s as of %s", p.Key, date), got, report.Sum(facts, rq))
		onCut, err := report.Recompute(cutLog, report.Query{AllianceID: a.ID, Period: p})
		if err != nil {
			t.Fatal(err)
		}
		// The cut log's report runs to the period's end; only its Through differs.
		onCut.AsOf, onCut.Through = got.AsOf, got.Through
		sameReport(t, fmt.Sprintf("%s as of %s against the log cut at the end of that day", p.Key, date), got, onCut)
	}
	t.Logf("%d period reports and 24 as-of reports equal their recompute", 3*checked)
}

// TestReportViewsEqualRecomputeOnRandomWalks checks the same equality on the seeded
// random walks of the generative test (extreme instants, revisions, withdrawals), for
// every alliance and every period any fact falls in.
func TestReportViewsEqualRecomputeOnRandomWalks(t *testing.T) {
	rdb, stop, err := projections.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := context.Background()
	for seed := int64(1); seed <= 6; seed++ {
		w := newWalk(ctx, seed)
		if err := w.run(400); err != nil {
			t.Fatal(err)
		}
		prefix := fmt.Sprintf("walk%d", seed)
		if err := projections.Rebuild(ctx, w.store, rdb, prefix, nil); err != nil {
			t.Fatal(err)
		}
		q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix})
		evs, _ := decodeLog(t, w.store)
		facts, err := report.Facts(evs)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, f := range facts {
			for _, k := range []string{report.Month, report.Quarter, report.Year} {
				p := report.PeriodOf(k, f.At)
				if seen[f.Alliance+p.Key] {
					continue
				}
				seen[f.Alliance+p.Key] = true
				rq := report.Query{AllianceID: f.Alliance, Period: p}
				got, err := q.AllianceReport(ctx, rq, 0)
				if err != nil {
					t.Fatal(err)
				}
				sameReport(t, fmt.Sprintf("walk %d, alliance %s, %s", seed, f.Alliance, p.Key), got, report.Sum(facts, rq))
			}
		}
		q.Close()
		if len(facts) == 0 {
			t.Fatalf("walk %d derived no facts", seed)
		}
	}
}
