package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// TestDemoTalent: the demo's talent flows carry the seeds' figures.
func TestDemoTalent(t *testing.T) {
	now := time.Date(2026, 5, 17, 8, 0, 0, 0, time.UTC)
	a, store := openDemoApp(t, t.TempDir(), now)
	sum, err := loadDemo(context.Background(), a, now)
	if err != nil {
		t.Fatal(err)
	}
	mentorship := func(key string) domain.Mentorship {
		return load[domain.Mentorship](t, store, domain.MentorshipStream(sum.id("mentorship:"+key)))
	}
	completed, active, sessions := 0, 0, 0
	for i := range songjiangMentees {
		m := mentorship(fmt.Sprintf("songjiang-%03d", i+1))
		if m.AllianceID != sum.id("songjiang-af") {
			t.Fatalf("songjiang mentorship %d: %+v", i+1, m)
		}
		switch m.Status {
		case domain.MentorshipStatusCompleted:
			completed++
		case domain.MentorshipStatusActive:
			active++
		}
		sessions += m.Counts.Sessions
	}
	if completed != 77 || active != 29 || sessions != 3*106 {
		t.Fatalf("松江: %d completed, %d active, %d sessions; want 77, 29, 318", completed, active, sessions)
	}
	mentors := map[string]bool{}
	for _, key := range []string{"hb-chc-luonan", "hb-chc-qingling", "hb-chc-shouyi", "hb-chc-hongwei", "hb-chc-guandong", "hb-thc-gedian"} {
		m := mentorship("hubei-" + key)
		if m.Status != domain.MentorshipStatusActive || m.ApprenticeHospitalID != sum.id(key) || m.LeadHospitalID != sum.id("hubei-tcm") || m.Counts.JointConsults != 1 {
			t.Fatalf("湖北 %s: %+v", key, m)
		}
		mentors[m.MentorID] = true
	}
	if len(mentors) != 6 {
		t.Fatalf("湖北: %d distinct mentors, want 6 department heads", len(mentors))
	}
	byCohort := map[string][2]int{} // cohort -> completed, arrived
	for g := 1; g <= 3; g++ {
		for j := 1; j <= 4; j++ {
			p := load[domain.Placement](t, store, domain.PlacementStream(sum.id(fmt.Sprintf("placement:baoshan-%d-%d", g, j))))
			if p.Kind != domain.PlacementStudy || p.HostHospitalID != sum.id("renji-baoshan") {
				t.Fatalf("宝山 %d-%d: %+v", g, j, p)
			}
			c := byCohort[p.Cohort]
			if p.Status == domain.PlacementStatusCompleted && p.Evaluated {
				c[0]++
			} else if p.Status == domain.PlacementStatusArrived {
				c[1]++
			}
			byCohort[p.Cohort] = c
		}
	}
	if byCohort["第一批"] != [2]int{4, 0} || byCohort["第二批"] != [2]int{4, 0} || byCohort["第三批"] != [2]int{0, 4} {
		t.Fatalf("仁济宝山 cohorts: %v", byCohort)
	}
	for _, town := range []string{"meizipu", "datong", "guanmiao"} {
		down := load[domain.Placement](t, store, domain.PlacementStream(sum.id("placement:hengkou-down-"+town)))
		up := load[domain.Placement](t, store, domain.PlacementStream(sum.id("placement:hengkou-up-"+town)))
		if down.Kind != domain.PlacementPosting || down.HostHospitalID != sum.id(town) || down.Status != domain.PlacementStatusArrived ||
			up.Kind != domain.PlacementStudy || up.HomeHospitalID != sum.id(town) || up.Status != domain.PlacementStatusArrived {
			t.Fatalf("恒口 派一送一 %s: down %+v up %+v", town, down, up)
		}
	}
	visit := load[domain.Dispatch](t, store, domain.DispatchStream(sum.id("dispatch:hengkou-expert-group")))
	if visit.Totals.PatientsSeen != 860 || visit.Totals.PatientsAdmitted != 100 {
		t.Fatalf("恒口 expert group: %+v", visit.Totals)
	}
}
