package projections_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

var refT0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func requested(id, from, to, urgency, patient string, at time.Time) domain.ReferralRequested {
	t, _ := domain.DefaultReferralPolicy().For(urgency)
	return domain.ReferralRequested{ReferralID: id, AllianceID: newID(), Direction: domain.ReferralUp, FromHospitalID: from,
		ToHospitalID: to, Urgency: urgency, Reason: "r", ClinicalSummary: "s", PatientRef: patient,
		RequestedAt: at, AcceptDeadline: at.Add(t.Accept), AdmitDeadline: at.Add(t.Admit)}
}

func TestReferralViews(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	desk, township, county := newID(), newID(), newID()
	patient := "pr_" + strings.Repeat("p", 26)
	actor := domain.Actor{HospitalID: township}
	routine, urgent, emergency, admitted := newID(), newID(), newID(), newID()
	for _, r := range []domain.ReferralRequested{
		requested(routine, township, desk, domain.UrgencyRoutine, patient, refT0),
		requested(urgent, county, desk, domain.UrgencyUrgent, "pr_"+strings.Repeat("q", 26), refT0),
		requested(emergency, township, desk, domain.UrgencyEmergency, "pr_"+strings.Repeat("r", 26), refT0.Add(time.Minute)),
		requested(admitted, township, desk, domain.UrgencyEmergency, patient, refT0),
	} {
		appendEvents(t, store, domain.ReferralStream(r.ReferralID), actor, r.RequestedAt, r)
	}
	appendEvents(t, store, domain.ReferralStream(admitted), domain.Actor{HospitalID: desk}, refT0,
		domain.ReferralAccepted{ReferralID: admitted, DepartmentID: "er", ExpectedArrival: refT0.Add(30 * time.Minute), WithinTarget: true, AcceptedAt: refT0.Add(4 * time.Minute)},
		domain.ReferralAdmitted{ReferralID: admitted, WithinTarget: true, AdmittedAt: refT0.Add(45 * time.Minute)})
	res := appendEvents(t, store, domain.ReferralStream(urgent), domain.Actor{HospitalID: desk}, refT0,
		domain.ReferralAccepted{ReferralID: urgent, DepartmentID: "er", ExpectedArrival: refT0.Add(3 * time.Hour), AcceptedAt: refT0.Add(30 * time.Minute)})

	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(t, p)
	now := refT0.Add(20 * time.Minute) // the emergency's 10-minute acceptance target has passed
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p, Now: func() time.Time { return now }})
	t.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()

	d, err := q.ReferralDesk(ctx, desk, 0, eventstore.Position(res.Position))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range d.Referrals {
		order = append(order, r.ReferralID)
	}
	// The green channel first, then urgent, then routine; the admitted one left the desk.
	if want := []string{emergency, urgent, routine}; !slices.Equal(order, want) || d.Open != 3 || d.Overdue != 1 {
		t.Fatalf("desk: order %v open %d overdue %d, want %v, 3, 1", order, d.Open, d.Overdue, want)
	}
	if !d.Referrals[0].AcceptOverdue || d.Referrals[1].AcceptOverdue || d.Referrals[2].AcceptOverdue {
		t.Fatalf("overdue flags: %+v", d.Referrals)
	}
	if d, _ := q.ReferralDesk(ctx, desk, 1, 0); len(d.Referrals) != 1 || d.Open != 3 {
		t.Fatalf("desk page of 1: %d rows, open %d", len(d.Referrals), d.Open)
	}

	sent, err := q.SentReferrals(ctx, township, 0)
	if err != nil || len(sent) != 3 {
		t.Fatalf("township's sent referrals: %d, %v", len(sent), err)
	}
	hist, err := q.PatientReferrals(ctx, patient, 0)
	if err != nil || len(hist) != 2 {
		t.Fatalf("patient history: %d, %v", len(hist), err)
	}
	for _, r := range hist {
		if r.ReferralID == admitted && (r.AcceptMinutes == nil || *r.AcceptMinutes != 4 || r.AdmitMinutes == nil || *r.AdmitMinutes != 45) {
			t.Fatalf("measures of the admitted referral: %+v", r)
		}
	}
	if !projections.HoldsOrHeld(hist, desk) || !projections.HoldsOrHeld(hist, township) || projections.HoldsOrHeld(hist, county) {
		t.Fatal("HoldsOrHeld: the desk and the township held the patient, the county did not")
	}
}

// BenchmarkReferralDesk reads the first page (100) of a referral desk holding 10,000
// open referrals, and reports the median and p99 latency of one read:
//
//	go test ./projections -run '^$' -bench ReferralDesk -benchtime 2000x
func BenchmarkReferralDesk(b *testing.B) {
	rdb := MustRedis(b)
	prefix := MustPrefix(b, rdb)
	store := MustStore(b)
	desk := newID()
	urgencies := []string{domain.UrgencyEmergency, domain.UrgencyUrgent, domain.UrgencyRoutine}
	const open = 10_000
	for i := 0; i < open; i += 100 {
		for j := i; j < i+100; j++ {
			last := requested(newID(), newID(), desk, urgencies[j%3], "pr_"+strings.Repeat("b", 26), refT0.Add(time.Duration(j)*time.Second))
			appendEvents(b, store, domain.ReferralStream(last.ReferralID), domain.Actor{HospitalID: last.FromHospitalID}, last.RequestedAt, last)
		}
	}
	p, _ := runProjector(b, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(b, p)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p})
	b.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		began := time.Now()
		d, err := q.ReferralDesk(ctx, desk, 100, 0)
		lat = append(lat, time.Since(began))
		if err != nil || d.Open != open || len(d.Referrals) != 100 {
			b.Fatalf("desk: open %d rows %d err %v", d.Open, len(d.Referrals), err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
