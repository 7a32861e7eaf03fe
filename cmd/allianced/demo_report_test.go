package main

import (
	"context"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections/report"
)

// TestDemoReportYear: the demo's year of 恒口示范区's county community adds up to the
// seed's figures: 240 expert visits whose reports count 860 patients, 130 referrals up
// (30 green-channel admissions, almost all within the hour), 120 consults answered, and
// plans with steps recorded, completed and discontinued.
func TestDemoReportYear(t *testing.T) {
	now := time.Date(2026, 5, 17, 8, 0, 0, 0, time.UTC)
	a, store := openDemoApp(t, t.TempDir(), now)
	started := time.Now()
	sum, err := loadDemo(context.Background(), a, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo loaded in %s (%d commands)", time.Since(started).Round(time.Millisecond), sum.Commands)
	var evs []domain.Event
	for from := eventstore.Position(0); ; {
		recs, err := store.ReadAll(context.Background(), from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			_, ev, err := eventstore.Decode(rec)
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
			from = rec.Position
		}
	}
	facts, err := report.Facts(evs)
	if err != nil {
		t.Fatal(err)
	}
	year := map[string]int64{}
	samples := 0
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	for _, f := range facts {
		if f.Alliance == sum.id("hengkou-county") && f.At.Before(today) {
			year[f.Metric] += f.Delta
			if f.Metric == report.SampleGreenAdmit {
				samples++
			}
		}
	}
	want := map[string]int64{report.VisitsCompleted: 240, report.PatientsSeen: 860, report.ReferralsUp: 130, report.GreenAdmitted: 30,
		report.ReferralsDown: 36, report.ConsultsAnswered: 120, report.PlansStarted: 30, report.PatientsAdmitted: 100,
		report.MentorshipsStarted: 3, report.MentorshipsCompleted: 2, report.MentoringSessions: 30, report.PlacementsStudyArrived: 6,
		report.PlacementsPostArrived: 6, report.PlacementsCompleted: 6, // the year's cohort, and the current one (demo_talent.go) begun 60 days ago
		report.DiagPrefix + "ecg.submitted": 150, report.DiagPrefix + "ecg.reported": 150}
	for m, n := range want {
		if year[m] != n {
			t.Errorf("%s over the year: got %d, want %d", m, year[m], n)
		}
	}
	// Yesterday, the heart-failure protocol's version 2 is followed by two of the three
	// townships (the post-PCI adoptions of today are not counted yet).
	yesterday := today.AddDate(0, 0, -1)
	rep := report.Sum(facts, report.Query{AllianceID: sum.id("hengkou-county"), Period: report.PeriodOf(report.Month, yesterday),
		AsOf: yesterday.Format(time.DateOnly), Cut: today})
	if p := rep.Total.Protocols; p != (report.ProtocolFigures{Adoptions: 3, AdoptionsOnCurrent: 2, MembersAdopting: 3, MembersOnCurrent: 2}) {
		t.Errorf("protocol currency yesterday: %+v", p)
	}
	if year[report.GreenWithinTarget] < 25 || samples != 30 || year[report.StepsOnSchedule] == 0 || year[report.StepsOnSchedule] == year[report.StepsRecorded] ||
		year[report.PlansCompleted] == 0 || year[report.PlansDiscontinued] == 0 {
		t.Errorf("the year's figures: %v", year)
	}
}
