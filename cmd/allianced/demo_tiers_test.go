package main

import (
	"context"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// TestDemoTiers: 中山 -> 徐汇 -> 8 community centres; the post-operative patient was
// handed down twice and is back at 徐汇 after the escalation, the stable one is at 斜土.
func TestDemoTiers(t *testing.T) {
	now := time.Date(2026, 5, 17, 8, 0, 0, 0, time.UTC)
	a, store := openDemoApp(t, t.TempDir(), now)
	sum, err := loadDemo(context.Background(), a, now)
	if err != nil {
		t.Fatal(err)
	}
	community := load[domain.Alliance](t, store, domain.AllianceStream(sum.id("xuhui-community")))
	top := load[domain.Alliance](t, store, domain.AllianceStream(sum.id("zhongshan-xuhui")))
	if len(community.ActiveMembers()) != 8 || community.LeadHospitalID != sum.id("xuhui-central") || top.RequireActiveMember(sum.id("xuhui-central")) != nil {
		t.Fatalf("tiers: 徐汇's alliance has %d active members, lead %s; 徐汇 in 中山's: %v",
			len(community.ActiveMembers()), community.LeadHospitalID, top.RequireActiveMember(sum.id("xuhui-central")))
	}
	postop := load[domain.Plan](t, store, domain.PlanStream(sum.id("plan:zs-postop")))
	if postop.ResponsibleHospitalID() != sum.id("xuhui-central") || len(postop.Chain) != 2 {
		t.Fatalf("post-operative plan: responsible %s, chain %+v; want back at 徐汇", postop.ResponsibleHospitalID(), postop.Chain)
	}
	down := load[domain.Referral](t, store, domain.ReferralStream(sum.id("referral:zs-postop-down")))
	up := load[domain.Referral](t, store, domain.ReferralStream(sum.id("referral:zs-postop-up")))
	if down.FromHospitalID != sum.id("xuhui-central") || down.ToHospitalID != sum.id("xh-fenglin") || down.Links.PlanID != postop.ID {
		t.Fatalf("hand-on referral: %+v", down)
	}
	if up.ToHospitalID != sum.id("xuhui-central") || up.Status != domain.ReferralStatusAdmitted || up.Links.PlanID != postop.ID {
		t.Fatalf("escalation referral: %+v", up)
	}
	stable := load[domain.Plan](t, store, domain.PlanStream(sum.id("plan:zs-stable")))
	if stable.ResponsibleHospitalID() != sum.id("xh-xietu") || len(stable.Chain) != 3 {
		t.Fatalf("stable plan: responsible %s, chain %+v; want at 斜土 three links down", stable.ResponsibleHospitalID(), stable.Chain)
	}
	via := load[domain.Adoption](t, store, domain.AdoptionStream(sum.id("postgastrectomy"), sum.id("xh-xietu")))
	if via.ViaAllianceID != community.ID || !via.Active() {
		t.Fatalf("斜土's adoption: %+v", via)
	}
}
