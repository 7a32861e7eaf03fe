package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// lymphomaWorld is the scenario the alliance, protocol and adoption tests share: the
// lymphoma alliance led by 瑞金医院血液科 with 浦南医院 and 嘉定区中心医院 admitted, and
// its R-CHOP protocol. Its methods fold the events into each aggregate's state, as the
// caller of a Decide function would load them.
type lymphomaWorld struct {
	ruijin, punan, jiading, shuyuan domain.Hospital
	lead                            domain.Actor // 瑞金医院血液科
	allianceID, protocolID          string
	founded                         domain.AllianceFounded
	admitPunan, admitJiading        domain.AllianceMemberAdmitted
	drafted                         domain.ProtocolDrafted
	v1                              domain.ProtocolVersionPublished
}

func newLymphomaWorld() lymphomaWorld {
	haem := domain.Department{ID: "haematology", Name: "血液科"}
	w := lymphomaWorld{
		ruijin: domain.Hospital{ID: id(1), Name: "上海交通大学医学院附属瑞金医院", RegionCode: "310101",
			Level: domain.LevelTertiary, Departments: []domain.Department{haem}},
		punan: domain.Hospital{ID: id(2), Name: "浦东新区浦南医院", RegionCode: "310115",
			Level: domain.LevelSecondary, Departments: []domain.Department{haem}},
		jiading: domain.Hospital{ID: id(3), Name: "嘉定区中心医院", RegionCode: "310114",
			Level: domain.LevelSecondary, Departments: []domain.Department{haem}},
		shuyuan: domain.Hospital{ID: id(4), Name: "浦东新区书院社区卫生服务中心", RegionCode: "310115",
			Level: domain.LevelCommunity},
		lead:       domain.Actor{HospitalID: id(1), DepartmentID: "haematology", UserID: "dr-zhao", Role: "lead"},
		allianceID: id(10),
		protocolID: id(20),
	}
	w.founded = domain.AllianceFounded{AllianceID: w.allianceID, Name: "瑞金医院淋巴瘤专科联盟", Specialty: "血液科·淋巴瘤",
		Kind: domain.AllianceSpecialist, LeadHospitalID: id(1), LeadHospitalName: w.ruijin.Name,
		LeadDepartmentID: "haematology", LeadRegionCode: "310101", FoundedAt: t0}
	w.admitPunan = domain.AllianceMemberAdmitted{AllianceID: w.allianceID, HospitalID: id(2), HospitalName: w.punan.Name,
		RegionCode: "310115", Tier: domain.TierCore, AdmittedAt: t0.Add(time.Hour)}
	w.admitJiading = domain.AllianceMemberAdmitted{AllianceID: w.allianceID, HospitalID: id(3), HospitalName: w.jiading.Name,
		RegionCode: "310114", Tier: domain.TierMember, AdmittedAt: t0.Add(2 * time.Hour)}
	w.drafted = domain.ProtocolDrafted{ProtocolID: w.protocolID, AllianceID: w.allianceID, Title: "R-CHOP 方案",
		Indication: "弥漫大B细胞淋巴瘤 (DLBCL)", LeadHospitalID: id(1), LeadDepartmentID: "haematology", DraftedAt: t0.Add(3 * time.Hour)}
	steps := rchopSteps()
	w.v1 = domain.ProtocolVersionPublished{ProtocolID: w.protocolID, AllianceID: w.allianceID, Version: 1, Steps: steps,
		Eligibility: rchopEligibility, ContentHash: domain.ProtocolContentHash(steps, rchopEligibility),
		ChangeNote: "首版", PublishedAt: t0.Add(4 * time.Hour)}
	return w
}

// rchopEligibility is the eligibility text of R-CHOP version 1.
const rchopEligibility = "CD20 阳性弥漫大B细胞淋巴瘤,初治,ECOG 0-2,LVEF ≥ 50%"

// rchopSteps is one 21-day R-CHOP cycle: the four infusions on day 0 and prednisone
// orally on days 0 to 4.
func rchopSteps() []domain.ProtocolStep {
	steps := []domain.ProtocolStep{
		{StepID: "rituximab", DayOffset: 0, Activity: "静脉输注", Drug: "利妥昔单抗 rituximab", Dose: "375 mg/m2", Route: domain.RouteIV, Notes: "首次输注减慢速度"},
		{StepID: "cyclophosphamide", DayOffset: 0, Activity: "静脉输注", Drug: "环磷酰胺 cyclophosphamide", Dose: "750 mg/m2", Route: domain.RouteIV},
		{StepID: "doxorubicin", DayOffset: 0, Activity: "静脉输注", Drug: "多柔比星 doxorubicin", Dose: "50 mg/m2", Route: domain.RouteIV},
		{StepID: "vincristine", DayOffset: 0, Activity: "静脉推注", Drug: "长春新碱 vincristine", Dose: "1.4 mg/m2", Route: domain.RouteIV, Notes: "单次最大 2 mg"},
	}
	for d := 0; d <= 4; d++ {
		steps = append(steps, domain.ProtocolStep{StepID: "prednisone-d" + string(rune('0'+d)), DayOffset: d,
			Activity: "口服", Drug: "泼尼松 prednisone", Dose: "100 mg", Route: domain.RouteOral})
	}
	return append(steps, domain.ProtocolStep{StepID: "blood-count", DayOffset: 10, Activity: "血常规复查"})
}

// alliance folds the founding, both admissions and any extra events.
func (w lymphomaWorld) alliance(extra ...domain.Event) domain.Alliance {
	var a domain.Alliance
	for _, e := range append([]domain.Event{w.founded, w.admitPunan, w.admitJiading}, extra...) {
		a = a.Evolve(e)
	}
	return a
}

// protocol folds the drafting, version 1 and any extra events.
func (w lymphomaWorld) protocol(extra ...domain.Event) domain.Protocol {
	var p domain.Protocol
	for _, e := range append([]domain.Event{w.drafted, w.v1}, extra...) {
		p = p.Evolve(e)
	}
	return p
}

func TestDecideAlliance(t *testing.T) {
	w := newLymphomaWorld()
	found := domain.FoundAlliance{AllianceID: w.allianceID, Name: w.founded.Name, Specialty: w.founded.Specialty,
		Kind: domain.AllianceSpecialist, Lead: w.ruijin, LeadDepartmentID: "haematology", By: w.lead, At: t0}
	withFound := func(f func(*domain.FoundAlliance)) domain.FoundAlliance { c := found; f(&c); return c }
	admit := domain.AdmitMember{AllianceID: w.allianceID, Hospital: w.shuyuan, Tier: domain.TierCommunity, By: w.lead, At: t0.Add(5 * time.Hour)}
	withAdmit := func(f func(*domain.AdmitMember)) domain.AdmitMember { c := admit; f(&c); return c }
	admitted := domain.AllianceMemberAdmitted{AllianceID: w.allianceID, HospitalID: id(4), HospitalName: w.shuyuan.Name,
		RegionCode: "310115", Tier: domain.TierCommunity, AdmittedAt: t0.Add(5 * time.Hour)}
	members := []domain.Event{w.founded, w.admitPunan, w.admitJiading}
	and := func(es ...domain.Event) []domain.Event { return append(append([]domain.Event{}, members...), es...) }
	at := t0.Add(24 * time.Hour)
	suspend := domain.SuspendMember{AllianceID: w.allianceID, HospitalID: id(2), Reason: "质控检查未通过", By: w.lead, At: at}
	suspended := domain.AllianceMemberSuspended{AllianceID: w.allianceID, HospitalID: id(2), Reason: "质控检查未通过", SuspendedAt: at}
	reinstate := domain.ReinstateMember{AllianceID: w.allianceID, HospitalID: id(2), Reason: "整改完成", By: w.lead, At: at.Add(time.Hour)}
	reinstated := domain.AllianceMemberReinstated{AllianceID: w.allianceID, HospitalID: id(2), Reason: "整改完成", ReinstatedAt: at.Add(time.Hour)}
	withdraw := domain.WithdrawMember{AllianceID: w.allianceID, HospitalID: id(2), Reason: "合作协议到期", By: w.lead, At: at}
	withdrawn := domain.AllianceMemberWithdrawn{AllianceID: w.allianceID, HospitalID: id(2), Reason: "合作协议到期", ByLead: true, WithdrawnAt: at}
	punanActor := domain.Actor{HospitalID: id(2), DepartmentID: "haematology"}
	otherDept := domain.Actor{HospitalID: id(1), DepartmentID: "cardiology"}

	runSpecs(t, domain.DecideAlliance, []spec[domain.AllianceCommand]{
		{name: "found", when: found, want: []domain.Event{w.founded}},
		{name: "found a county community led by a regional centre", when: withFound(func(c *domain.FoundAlliance) {
			c.Kind, c.Lead, c.By = domain.AllianceCounty, w.punan, punanActor
		}), want: []domain.Event{domain.AllianceFounded{AllianceID: w.allianceID, Name: w.founded.Name, Specialty: w.founded.Specialty,
			Kind: domain.AllianceCounty, LeadHospitalID: id(2), LeadHospitalName: w.punan.Name, LeadDepartmentID: "haematology",
			LeadRegionCode: "310115", FoundedAt: t0}}},
		{name: "found twice", given: []domain.Event{w.founded}, when: found, wantCode: domain.CodeAlreadyExists},
		{name: "found with a bad id", when: withFound(func(c *domain.FoundAlliance) { c.AllianceID = "alliance-1" }), wantCode: domain.CodeInvalidInput},
		{name: "found without a name", when: withFound(func(c *domain.FoundAlliance) { c.Name = "  " }), wantCode: domain.CodeInvalidInput},
		{name: "found with a name too long", when: withFound(func(c *domain.FoundAlliance) { c.Name = strings.Repeat("联", 201) }), wantCode: domain.CodeInvalidInput},
		{name: "found without a specialty", when: withFound(func(c *domain.FoundAlliance) { c.Specialty = "" }), wantCode: domain.CodeInvalidInput},
		{name: "found with an unknown kind", when: withFound(func(c *domain.FoundAlliance) { c.Kind = "national" }), wantCode: domain.CodeInvalidInput},
		{name: "found without a lead department", when: withFound(func(c *domain.FoundAlliance) { c.LeadDepartmentID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "found without a time", when: withFound(func(c *domain.FoundAlliance) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "found with an unregistered lead", when: withFound(func(c *domain.FoundAlliance) { c.Lead = domain.Hospital{} }), wantCode: domain.CodeNotFound},
		{name: "found with a department the lead lacks", when: withFound(func(c *domain.FoundAlliance) {
			c.LeadDepartmentID, c.By.DepartmentID = "oncology", "oncology"
		}), wantCode: domain.CodeInvalidInput},
		{name: "found by another department of the lead hospital", when: withFound(func(c *domain.FoundAlliance) { c.By = otherDept }), wantCode: domain.CodeForbidden},
		{name: "found by another hospital", when: withFound(func(c *domain.FoundAlliance) { c.By = punanActor }), wantCode: domain.CodeForbidden},

		{name: "admit", given: members, when: admit, want: []domain.Event{admitted}},
		{name: "admit to an unknown alliance", when: admit, wantCode: domain.CodeNotFound},
		{name: "admit with a bad alliance id", given: members, when: withAdmit(func(c *domain.AdmitMember) { c.AllianceID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "admit with an unknown tier", given: members, when: withAdmit(func(c *domain.AdmitMember) { c.Tier = "gold" }), wantCode: domain.CodeInvalidInput},
		{name: "admit without a time", given: members, when: withAdmit(func(c *domain.AdmitMember) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "admit by a member", given: members, when: withAdmit(func(c *domain.AdmitMember) { c.By = punanActor }), wantCode: domain.CodeForbidden},
		{name: "admit by another department of the lead hospital", given: members, when: withAdmit(func(c *domain.AdmitMember) { c.By = otherDept }), wantCode: domain.CodeForbidden},
		{name: "admit an unregistered hospital", given: members, when: withAdmit(func(c *domain.AdmitMember) { c.Hospital = domain.Hospital{} }), wantCode: domain.CodeNotFound},
		{name: "admit the lead as its own member", given: members, when: withAdmit(func(c *domain.AdmitMember) { c.Hospital = w.ruijin }), wantCode: domain.CodeForbiddenTransition},
		{name: "admit an active member again", given: members, when: withAdmit(func(c *domain.AdmitMember) { c.Hospital = w.punan }), wantCode: domain.CodeAlreadyExists},
		{name: "admit a suspended member again", given: and(suspended), when: withAdmit(func(c *domain.AdmitMember) { c.Hospital = w.punan }), wantCode: domain.CodeAlreadyExists},
		{name: "re-admit a withdrawn member", given: and(withdrawn), when: withAdmit(func(c *domain.AdmitMember) { c.Hospital = w.punan; c.Tier = domain.TierMember }),
			want: []domain.Event{domain.AllianceMemberAdmitted{AllianceID: w.allianceID, HospitalID: id(2), HospitalName: w.punan.Name,
				RegionCode: "310115", Tier: domain.TierMember, AdmittedAt: admit.At}}},

		{name: "suspend", given: members, when: suspend, want: []domain.Event{suspended}},
		{name: "suspend in an unknown alliance", when: suspend, wantCode: domain.CodeNotFound},
		{name: "suspend by a member", given: members, when: func() domain.SuspendMember { c := suspend; c.By = punanActor; return c }(), wantCode: domain.CodeForbidden},
		{name: "suspend without a reason", given: members, when: func() domain.SuspendMember { c := suspend; c.Reason = ""; return c }(), wantCode: domain.CodeInvalidInput},
		{name: "suspend with a reason too long", given: members, when: func() domain.SuspendMember { c := suspend; c.Reason = strings.Repeat("因", 1001); return c }(), wantCode: domain.CodeInvalidInput},
		{name: "suspend with a bad hospital id", given: members, when: func() domain.SuspendMember { c := suspend; c.HospitalID = "浦南"; return c }(), wantCode: domain.CodeInvalidInput},
		{name: "suspend without a time", given: members, when: func() domain.SuspendMember { c := suspend; c.At = time.Time{}; return c }(), wantCode: domain.CodeInvalidInput},
		{name: "suspend a hospital never admitted", given: members, when: func() domain.SuspendMember { c := suspend; c.HospitalID = id(4); return c }(), wantCode: domain.CodeNotFound},
		{name: "suspend a suspended member", given: and(suspended), when: suspend, wantCode: domain.CodeForbiddenTransition},
		{name: "suspend a withdrawn member", given: and(withdrawn), when: suspend, wantCode: domain.CodeForbiddenTransition},

		{name: "reinstate", given: and(suspended), when: reinstate, want: []domain.Event{reinstated}},
		{name: "reinstate an active member", given: members, when: reinstate, wantCode: domain.CodeForbiddenTransition},
		{name: "reinstate a withdrawn member", given: and(suspended, withdrawn), when: reinstate, wantCode: domain.CodeForbiddenTransition},
		{name: "reinstate by the member itself", given: and(suspended), when: func() domain.ReinstateMember { c := reinstate; c.By = punanActor; return c }(), wantCode: domain.CodeForbidden},
		{name: "reinstate without a reason", given: and(suspended), when: func() domain.ReinstateMember { c := reinstate; c.Reason = " "; return c }(), wantCode: domain.CodeInvalidInput},
		{name: "reinstate a hospital never admitted", given: and(suspended), when: func() domain.ReinstateMember { c := reinstate; c.HospitalID = id(4); return c }(), wantCode: domain.CodeNotFound},

		{name: "withdraw by the lead", given: members, when: withdraw, want: []domain.Event{withdrawn}},
		{name: "withdraw by the member itself", given: members, when: func() domain.WithdrawMember { c := withdraw; c.By = punanActor; return c }(),
			want: []domain.Event{domain.AllianceMemberWithdrawn{AllianceID: w.allianceID, HospitalID: id(2), Reason: "合作协议到期", WithdrawnAt: at}}},
		{name: "withdraw a suspended member", given: and(suspended), when: withdraw, want: []domain.Event{withdrawn}},
		{name: "withdraw by another member", given: members, when: func() domain.WithdrawMember {
			c := withdraw
			c.By = domain.Actor{HospitalID: id(3), DepartmentID: "haematology"}
			return c
		}(), wantCode: domain.CodeForbidden},
		{name: "withdraw twice", given: and(withdrawn), when: withdraw, wantCode: domain.CodeForbiddenTransition},
		{name: "withdraw a hospital never admitted", given: members, when: func() domain.WithdrawMember { c := withdraw; c.HospitalID = id(4); return c }(), wantCode: domain.CodeNotFound},
		{name: "withdraw without a reason", given: members, when: func() domain.WithdrawMember { c := withdraw; c.Reason = ""; return c }(), wantCode: domain.CodeInvalidInput},
		{name: "withdraw with a bad hospital id", given: members, when: func() domain.WithdrawMember { c := withdraw; c.HospitalID = id(2)[:25]; return c }(), wantCode: domain.CodeInvalidInput},
		{name: "withdraw from an unknown alliance", when: withdraw, wantCode: domain.CodeNotFound},
		{name: "nil command", given: members, when: nil, wantCode: domain.CodeInvalidInput},
	})
}

func TestAllianceMembership(t *testing.T) {
	w := newLymphomaWorld()
	at := t0.Add(24 * time.Hour)
	suspended := domain.AllianceMemberSuspended{AllianceID: w.allianceID, HospitalID: id(2), Reason: "质控检查未通过", SuspendedAt: at}
	withdrawn := domain.AllianceMemberWithdrawn{AllianceID: w.allianceID, HospitalID: id(3), Reason: "合作协议到期", WithdrawnAt: at}
	a := w.alliance(suspended, withdrawn)

	t.Run("lead", func(t *testing.T) {
		if !a.IsLead(id(1), "haematology") {
			t.Errorf("IsLead(ruijin, haematology) = false, want true")
		}
		for _, c := range [][2]string{{id(1), "cardiology"}, {id(1), ""}, {id(2), "haematology"}, {"", ""}} {
			if a.IsLead(c[0], c[1]) {
				t.Errorf("IsLead(%q, %q) = true, want false", c[0], c[1])
			}
		}
		if !a.IsLeadHospital(id(1)) || a.IsLeadHospital(id(2)) || a.IsLeadHospital("") {
			t.Errorf("IsLeadHospital: got true for a non-lead or false for the lead")
		}
		if (domain.Alliance{}).IsLead("", "") || (domain.Alliance{}).IsLeadHospital("") {
			t.Errorf("an alliance that does not exist has a lead")
		}
	})

	t.Run("member", func(t *testing.T) {
		m, ok := a.Member(id(2))
		want := domain.Member{HospitalID: id(2), HospitalName: w.punan.Name, Tier: domain.TierCore, Status: domain.MemberStatusSuspended,
			RegionCode: "310115", AdmittedAt: t0.Add(time.Hour), StatusReason: "质控检查未通过", StatusChangedAt: at}
		if !ok || m != want {
			t.Errorf("Member(punan) = %+v, %v; want %+v, true", m, ok, want)
		}
		if _, ok := a.Member(id(4)); ok {
			t.Errorf("Member(shuyuan) found a hospital never admitted")
		}
		if got := a.ActiveMembers(); len(got) != 0 {
			t.Errorf("ActiveMembers() = %+v, want none", got)
		}
		if got := w.alliance().ActiveMembers(); len(got) != 2 || got[0].HospitalID != id(2) || got[1].HospitalID != id(3) {
			t.Errorf("ActiveMembers() = %+v, want 浦南医院 and 嘉定区中心医院 in admission order", got)
		}
		unchanged := a.Evolve(domain.AllianceMemberSuspended{AllianceID: w.allianceID, HospitalID: id(4), Reason: "x", SuspendedAt: at})
		if len(unchanged.Members) != 2 {
			t.Errorf("suspending a hospital never admitted added a member: %+v", unchanged.Members)
		}
	})

	for _, tc := range []struct {
		name     string
		a        domain.Alliance
		hospital string
		wantCode domain.Code
		wantText string
	}{
		{"active member", w.alliance(), id(2), "", ""},
		{"no alliance", domain.Alliance{}, id(2), domain.CodeNotFound, "does not exist"},
		{"lead", a, id(1), domain.CodeNotMember, "lead hospital"},
		{"never admitted", a, id(4), domain.CodeNotMember, "admit it first"},
		{"suspended", a, id(2), domain.CodeNotMember, "suspended"},
		{"withdrawn", a, id(3), domain.CodeNotMember, "withdrawn"},
		{"re-admitted", a.Evolve(domain.AllianceMemberAdmitted{AllianceID: w.allianceID, HospitalID: id(3), Tier: domain.TierMember, AdmittedAt: at}), id(3), "", ""},
	} {
		t.Run("require active member/"+tc.name, func(t *testing.T) {
			err := tc.a.RequireActiveMember(tc.hospital)
			if code := domain.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("RequireActiveMember(%s) = %v (code %q), want code %q", tc.hospital, err, code, tc.wantCode)
			}
			if err != nil && !strings.Contains(domain.ErrorMessage(err), tc.wantText) {
				t.Errorf("message %q does not say %q", domain.ErrorMessage(err), tc.wantText)
			}
		})
	}

	t.Run("evolve does not change earlier states", func(t *testing.T) {
		before := w.alliance()
		after := before.Evolve(suspended)
		if m, _ := before.Member(id(2)); m.Status != domain.MemberStatusActive {
			t.Errorf("suspending changed the earlier state: status %q", m.Status)
		}
		if m, _ := after.Member(id(2)); m.Status != domain.MemberStatusSuspended {
			t.Errorf("status after suspension = %q, want suspended", m.Status)
		}
	})

	t.Run("re-admission keeps one entry", func(t *testing.T) {
		readmitted := a.Evolve(domain.AllianceMemberAdmitted{AllianceID: w.allianceID, HospitalID: id(3), Tier: domain.TierCommunity, AdmittedAt: at})
		if len(readmitted.Members) != 2 {
			t.Fatalf("got %d members, want 2", len(readmitted.Members))
		}
		m, _ := readmitted.Member(id(3))
		if m.Status != domain.MemberStatusActive || m.Tier != domain.TierCommunity || !m.AdmittedAt.Equal(at) || m.StatusReason != "" {
			t.Errorf("re-admitted member = %+v, want a fresh active community admission", m)
		}
	})
}

func TestCatalogueOfAllianceProtocolAdoption(t *testing.T) {
	want := map[string][]string{
		domain.AllianceAggregate: {"AllianceFounded", "AllianceLeadDepartmentAdded", "AllianceMemberAdmitted", "AllianceMemberReinstated", "AllianceMemberSuspended", "AllianceMemberWithdrawn"},
		domain.ProtocolAggregate: {"ProtocolDrafted", "ProtocolRetired", "ProtocolVersionPublished", "ProtocolVersionWithdrawn"},
		domain.AdoptionAggregate: {"AdoptionDeviationDeclared", "AdoptionDeviationRevoked", "AdoptionUpgraded", "AdoptionWithdrawn", "ProtocolAdopted"},
	}
	cat := domain.EventCatalogue()
	for agg, types := range want {
		if got := strings.Join(cat[agg], ","); got != strings.Join(types, ",") {
			t.Errorf("catalogue[%s] = %s, want %s", agg, got, strings.Join(types, ","))
		}
		for _, typ := range types {
			if v, err := domain.SchemaVersion(typ); err != nil || v != 1 {
				t.Errorf("SchemaVersion(%s) = %d, %v; want 1", typ, v, err)
			}
		}
	}
}
