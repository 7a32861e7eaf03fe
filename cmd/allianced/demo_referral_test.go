package main

import (
	"context"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// TestDemoReferrals: the demo's referral scenarios end where the seeds say.
func TestDemoReferrals(t *testing.T) {
	now := time.Date(2026, 5, 17, 8, 0, 0, 0, time.UTC)
	a, store := openDemoApp(t, t.TempDir(), now)
	sum, err := loadDemo(context.Background(), a, now)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(key string) domain.Referral {
		return load[domain.Referral](t, store, domain.ReferralStream(sum.id(key)))
	}
	up, back := ref("referral:punan-aorta"), ref("referral:punan-aorta-back")
	if up.Status != domain.ReferralStatusCompleted || up.Slot == nil || up.Urgency != domain.UrgencyEmergency {
		t.Fatalf("浦南 up: %s slot %v", up.Status, up.Slot)
	}
	if back.Direction != domain.ReferralDown || back.Links.ReturnOfID != up.ID || back.Status != domain.ReferralStatusAccepted || back.ToHospitalID != sum.id("punan") {
		t.Fatalf("浦南 back: %+v", back)
	}
	chest := ref("referral:meizipu-chest-pain")
	if d, ok := chest.TimeToAdmit(); !ok || d > time.Hour || chest.Links.ConsultID != sum.id("consult:ecg") {
		t.Fatalf("梅子铺: admitted after %s (%v), links %+v", d, ok, chest.Links)
	}
	capacity := load[domain.Capacity](t, store, domain.CapacityStream(sum.id("hubei-tcm"), "referral-centre"))
	held := 0
	for _, s := range capacity.Slots() {
		if s.ReferralID != "" {
			held++
		}
	}
	if held != 2 || ref("referral:hubei-HB-0103").Status != domain.ReferralStatusRequested {
		t.Fatalf("湖北省中医院: %d slots held, want 2, and one referral left on the desk", held)
	}
}
