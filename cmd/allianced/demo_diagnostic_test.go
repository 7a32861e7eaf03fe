package main

import (
	"context"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// TestDemoDiagnostics: 梅子铺's ECG read by 恒口's centre, its acute MI flagged critical,
// acknowledged and the patient referred up and admitted; 松江's five centres with the
// district's 20 institutions' studies, 15 reported and 5 on the worklists.
func TestDemoDiagnostics(t *testing.T) {
	now := time.Date(2026, 5, 17, 8, 0, 0, 0, time.UTC)
	a, store := openDemoApp(t, t.TempDir(), now)
	sum, err := loadDemo(context.Background(), a, now)
	if err != nil {
		t.Fatal(err)
	}
	stemi := load[domain.Diagnostic](t, store, domain.DiagnosticStream(sum.id("diagnostic:meizipu-stemi")))
	cv, ok := stemi.Critical(1)
	if stemi.Status != domain.DiagnosticStatusReported || !ok || cv.Status != domain.CriticalAcknowledged || cv.ReferralID == "" ||
		cv.AcknowledgedAt.Sub(cv.FlaggedAt) > 10*time.Minute {
		t.Fatalf("梅子铺's ECG: %s, critical %+v", stemi.Status, cv)
	}
	ref := load[domain.Referral](t, store, domain.ReferralStream(cv.ReferralID))
	if ref.Status != domain.ReferralStatusAdmitted || ref.Links.ReportID != stemi.ID || ref.Urgency != domain.UrgencyEmergency {
		t.Fatalf("the STEMI referral: %+v", ref)
	}
	reported, waiting := 0, 0 // studies reported; studies submitted
	for _, k := range []string{"sj-ecg", "sj-imaging", "sj-lab", "sj-pathology", "sj-ultrasound"} {
		c := load[domain.Centre](t, store, domain.CentreStream(sum.id("centre:"+k)))
		if !c.Exists() || len(c.Readers) == 0 || len(c.OnDuty(now)) != 1 {
			t.Fatalf("centre %s: %+v", k, c)
		}
	}
	recs, err := store.ReadAll(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	senders := map[string]bool{}
	submitted := 0
	for _, r := range recs {
		_, ev, err := eventstore.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		switch e := ev.(type) {
		case domain.DiagnosticSubmitted:
			if e.SubmittedAt.Before(now.Add(-24 * time.Hour)) {
				continue // the year of 恒口's ECG centre the report demo records (demo_report.go)
			}
			submitted++
			senders[e.FromHospitalID] = true
		case domain.DiagnosticReported:
			if e.ReportedAt.Before(now.Add(-24 * time.Hour)) {
				continue
			}
			reported++
		}
	}
	for _, m := range songjiangMembers() {
		if !senders[sum.id(m.Key)] {
			t.Errorf("松江's %s sent no study", m.Name)
		}
	}
	waiting = submitted
	if waiting != 21 || reported != 16 {
		t.Fatalf("studies submitted %d, reported %d; want 21 (20 from 松江, 1 from 梅子铺) and 16", waiting, reported)
	}
}
