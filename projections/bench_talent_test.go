package projections_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// BenchmarkTalentRead projects an alliance's mentorship programme of 1,000 pairings
// (start, three sessions, assessment, completion for three in four: 5,500 events) and
// 300 placements, then reads the alliance's mentorship list with its programme
// summary and a hospital's list, and reports p50 and p99:
//
//	go test ./projections -run '^$' -bench TalentRead -benchtime 1x
func BenchmarkTalentRead(b *testing.B) {
	rdb := MustRedis(b)
	prefix := MustPrefix(b, rdb)
	store := MustStore(b)
	s := newScenario()
	s.run(b, store)
	start := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 1000 {
		id := newID()
		at := start.Add(time.Duration(i) * time.Hour)
		evs := []domain.Event{domain.MentorshipStarted{MentorshipID: id, AllianceID: s.alliance, Programme: fmt.Sprintf("导师制培养项目 %d", i%4),
			LeadHospitalID: s.lead, LeadDepartmentID: "haematology", MentorID: newID(), MentorName: "导师", MentorDepartmentID: "haematology",
			ApprenticeID: newID(), ApprenticeName: "全科医师", ApprenticeHospitalID: s.m1, ApprenticeDepartmentID: "haematology", StartedAt: at}}
		for k := 1; k <= 3; k++ {
			evs = append(evs, domain.MentorshipSessionLogged{MentorshipID: id, AllianceID: s.alliance, ApprenticeHospitalID: s.m1, SessionNo: k,
				Kind: domain.SessionJointConsult, SessionAt: at.AddDate(0, k, 0), DurationMinutes: 120, Patients: 12, LoggedByHospitalID: s.m1})
		}
		if i%4 != 0 {
			evs = append(evs, domain.MentorshipAssessed{MentorshipID: id, AllianceID: s.alliance, ApprenticeHospitalID: s.m1, Outcome: domain.OutcomePass,
				Comment: "合格", AssessedAt: at.AddDate(0, 5, 0)},
				domain.MentorshipCompleted{MentorshipID: id, AllianceID: s.alliance, ApprenticeHospitalID: s.m1, Sessions: 3, CompletedAt: at.AddDate(0, 6, 0)})
		}
		appendEvents(b, store, domain.MentorshipStream(id), s.leadActor, at, evs...)
	}
	for i := range 300 {
		id := newID()
		at := start.Add(time.Duration(i) * time.Hour)
		appendEvents(b, store, domain.PlacementStream(id), s.leadActor, at, domain.PlacementPlanned{PlacementID: id, AllianceID: s.alliance,
			Kind: domain.PlacementStudy, Programme: "进修", Cohort: fmt.Sprintf("第%d批", i%3+1), PractitionerID: newID(), PractitionerName: "全科医师",
			HomeHospitalID: s.m1, HomeDepartmentID: "haematology", HostHospitalID: s.lead, HostDepartmentID: "haematology", LeadHospitalID: s.lead,
			LeadDepartmentID: "haematology", MemberHospitalID: s.m1, Period: domain.Window{Start: at, End: at.AddDate(0, 3, 0)}, PlannedAt: at},
			domain.PlacementArrived{PlacementID: id, AllianceID: s.alliance, MemberHospitalID: s.m1, ArrivedAt: at})
	}
	head, _ := store.Head(context.Background())
	p, _ := runProjector(b, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(b, p)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p})
	b.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()
	const reads = 500
	lat := make([]time.Duration, reads)
	b.ResetTimer()
	for iter := 0; iter < b.N; iter++ {
		for i := range lat {
			began := time.Now()
			v, err := q.AllianceMentorships(ctx, s.alliance, head)
			if err != nil || len(v.Mentorships) != 1000 {
				b.Fatalf("read: %v (%d rows)", err, len(v.Mentorships))
			}
			lat[i] = time.Since(began)
		}
		slices.Sort(lat)
		b.ReportMetric(ms(lat[len(lat)/2]), "alliance-1000-p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "alliance-1000-p99-ms")
		for i := range lat {
			began := time.Now()
			if _, err := q.HospitalPlacements(ctx, s.m1, head); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(began)
		}
		slices.Sort(lat)
		b.ReportMetric(ms(lat[len(lat)/2]), "hospital-300-p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "hospital-300-p99-ms")
	}
}
