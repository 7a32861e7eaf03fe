package domain_test

import (
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// lihuiliLeads is 李惠利医院's alliance with 消化内科 (founding) and 胃肠外科 both leading,
// and 北仑三院 an active member.
type lihuiliLeads struct {
	lihuili, beilun            domain.Hospital
	gastro, surgery, beilunDoc domain.Actor
	alliance                   domain.Alliance
	qiu                        domain.Practitioner // 胃肠外科's registered expert
}

func newLihuiliLeads() lihuiliLeads {
	var w lihuiliLeads
	w.lihuili = domain.Hospital{ID: id(1), Name: "宁波市医疗中心李惠利医院", RegionCode: "330212", Level: domain.LevelTertiary,
		Departments: []domain.Department{{ID: "gastroenterology", Name: "消化内科"}, {ID: "gi-surgery", Name: "胃肠外科"}}}
	w.beilun = domain.Hospital{ID: id(2), Name: "北仑区第三人民医院", RegionCode: "330206", Level: domain.LevelSecondary}
	w.gastro = domain.Actor{HospitalID: id(1), DepartmentID: "gastroenterology", UserID: "dr-shen", Role: "lead"}
	w.surgery = domain.Actor{HospitalID: id(1), DepartmentID: "gi-surgery", UserID: "dr-qiu", Role: "lead"}
	w.beilunDoc = domain.Actor{HospitalID: id(2), DepartmentID: "gi-surgery", UserID: "beilun-office", Role: "member"}
	for _, e := range []domain.Event{
		domain.AllianceFounded{AllianceID: id(10), Name: "李惠利医院医联体", Specialty: "消化", Kind: domain.AllianceCity,
			LeadHospitalID: id(1), LeadHospitalName: w.lihuili.Name, LeadDepartmentID: "gastroenterology", LeadRegionCode: "330212", FoundedAt: t0},
		domain.AllianceLeadDepartmentAdded{AllianceID: id(10), HospitalID: id(1), DepartmentID: "gi-surgery", AddedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(10), HospitalID: id(2), HospitalName: w.beilun.Name, RegionCode: "330206",
			Tier: domain.TierMember, AdmittedAt: t0},
	} {
		w.alliance = w.alliance.Evolve(e)
	}
	w.qiu = w.qiu.Evolve(domain.PractitionerRegistered{PractitionerID: id(40), HomeHospitalID: id(1), HomeDepartmentID: "gi-surgery",
		Name: "邱峰", Title: "主任医师", Specialties: []string{"胃肠外科"}, RegisteredAt: t0})
	return w
}

// TestConsultAddressedToALeadDepartment: a consult goes to the lead department it names
// (the founding one by default); only that department accepts, declines and answers it.
func TestConsultAddressedToALeadDepartment(t *testing.T) {
	w := newLihuiliLeads()
	at := t0.Add(time.Hour)
	req := domain.RequestConsult{ConsultID: id(20), Alliance: w.alliance, Requester: w.beilun, Lead: w.lihuili, By: w.beilunDoc,
		Specialty: "gastrointestinal surgery", Urgency: domain.UrgencyUrgent, Question: "胃癌术后吻合口瘘可疑，是否需上转再手术？",
		ConsentRef: "BL3-CONSENT-0042", PatientRef: "pr_0123456789abcdefghijklmnop", RequestedAt: at,
		Policy: domain.DefaultDeadlinePolicy(), LeadDepartmentID: "gi-surgery"}
	with := func(f func(*domain.RequestConsult)) domain.RequestConsult { c := req; f(&c); return c }
	requested := domain.ConsultRequested{ConsultID: id(20), AllianceID: id(10), RequestingHospitalID: id(2), LeadHospitalID: id(1),
		LeadDepartmentID: "gi-surgery", RequesterRegionCode: "330206", LeadRegionCode: "330212", CrossRegion: true,
		Specialty: req.Specialty, Urgency: domain.UrgencyUrgent, Question: req.Question, ConsentRef: req.ConsentRef,
		PatientRef: req.PatientRef, RequestedAt: at, Deadline: at.Add(4 * time.Hour)}
	toFounding := requested
	toFounding.LeadDepartmentID = "gastroenterology"
	accept := func(by domain.Actor) domain.AcceptConsult {
		return domain.AcceptConsult{ConsultID: id(20), By: by, At: at.Add(time.Minute)}
	}
	accepted := domain.ConsultAccepted{ConsultID: id(20), AcceptedAt: at.Add(time.Minute)}
	opinion := domain.Opinion{Text: "建议上转胃肠外科行腹部CT及再次探查评估", AdviseEscalation: true}
	give := func(by domain.Actor) domain.GiveOpinion {
		return domain.GiveOpinion{ConsultID: id(20), Opinion: opinion, By: by, At: at.Add(time.Hour)}
	}

	runSpecs(t, domain.DecideConsult, []spec[domain.ConsultCommand]{
		{name: "addressed to the second lead department", when: req, want: []domain.Event{requested}},
		{name: "no department: the founding lead department", when: with(func(c *domain.RequestConsult) { c.LeadDepartmentID = "" }),
			want: []domain.Event{toFounding}},
		{name: "a department that does not lead", when: with(func(c *domain.RequestConsult) { c.LeadDepartmentID = "cardiology" }),
			wantCode: domain.CodeInvalidInput},
		{name: "胃肠外科 accepts its own consult", given: []domain.Event{requested}, when: accept(w.surgery), want: []domain.Event{accepted}},
		{name: "消化内科 may not accept 胃肠外科's consult", given: []domain.Event{requested}, when: accept(w.gastro), wantCode: domain.CodeForbidden},
		{name: "消化内科 may not answer 胃肠外科's consult", given: []domain.Event{requested, accepted}, when: give(w.gastro), wantCode: domain.CodeForbidden},
		{name: "胃肠外科 answers", given: []domain.Event{requested, accepted}, when: give(w.surgery),
			want: []domain.Event{domain.ConsultOpinionGiven{ConsultID: id(20), Opinion: opinion, WithinDeadline: true, GivenAt: at.Add(time.Hour)}}},
		{name: "胃肠外科 may not decline the founding department's consult", given: []domain.Event{toFounding},
			when: domain.DeclineConsult{ConsultID: id(20), Reason: "not ours", By: w.surgery, At: at.Add(time.Minute)}, wantCode: domain.CodeForbidden},
		{name: "a consult from before several lead departments stays the founding department's", given: []domain.Event{toFounding},
			when: accept(w.gastro), want: []domain.Event{accepted}},
	})
}

// TestDispatchAddressedToALeadDepartment: 北仑三院 asks 胃肠外科 for its expert studio;
// 胃肠外科 assigns its own registered expert and reports, 消化内科 may not.
func TestDispatchAddressedToALeadDepartment(t *testing.T) {
	w := newLihuiliLeads()
	at := t0.Add(time.Hour)
	year := domain.Window{Start: t0.Add(24 * time.Hour), End: t0.Add(300 * 24 * time.Hour)}
	req := domain.RequestDispatch{DispatchID: id(30), Alliance: w.alliance, By: w.beilunDoc, Kind: domain.DispatchWorkstation,
		Specialty: "gastrointestinal surgery", Window: year, Notes: "胃肠外科专家工作室", At: at, LeadDepartmentID: "gi-surgery"}
	with := func(f func(*domain.RequestDispatch)) domain.RequestDispatch { c := req; f(&c); return c }
	requested := domain.DispatchRequested{DispatchID: id(30), AllianceID: id(10), RequestingHospitalID: id(2), LeadHospitalID: id(1),
		LeadDepartmentID: "gi-surgery", Kind: domain.DispatchWorkstation, Specialty: req.Specialty, Window: year, Notes: req.Notes, RequestedAt: at}
	toFounding := requested
	toFounding.LeadDepartmentID = "gastroenterology"
	assign := func(by domain.Actor) domain.AssignExpert {
		return domain.AssignExpert{DispatchID: id(30), ExpertID: id(40), Expert: w.qiu, By: by, At: at.Add(time.Minute)}
	}
	assigned := domain.ExpertAssigned{DispatchID: id(30), ExpertID: id(40), ExpertName: "邱峰", Window: year, AssignedAt: at.Add(time.Minute)}

	runSpecs(t, domain.DecideDispatch, []spec[domain.DispatchCommand]{
		{name: "addressed to 胃肠外科", when: req, want: []domain.Event{requested}},
		{name: "no department: the founding lead department", when: with(func(c *domain.RequestDispatch) { c.LeadDepartmentID = "" }),
			want: []domain.Event{toFounding}},
		{name: "a department that does not lead", when: with(func(c *domain.RequestDispatch) { c.LeadDepartmentID = "cardiology" }),
			wantCode: domain.CodeInvalidInput},
		{name: "胃肠外科 assigns its own expert", given: []domain.Event{requested}, when: assign(w.surgery), want: []domain.Event{assigned}},
		{name: "消化内科 may not assign on 胃肠外科's dispatch", given: []domain.Event{requested}, when: assign(w.gastro), wantCode: domain.CodeForbidden},
		{name: "胃肠外科 may not assign on the founding department's dispatch", given: []domain.Event{toFounding}, when: assign(w.surgery),
			wantCode: domain.CodeForbidden},
	})
}

// TestProtocolOfSecondLeadDepartment: a protocol 胃肠外科 drafts is led by 胃肠外科;
// 消化内科 may not retire it, 胃肠外科 may.
func TestProtocolOfSecondLeadDepartment(t *testing.T) {
	w := newLihuiliLeads()
	draft := domain.DraftProtocol{ProtocolID: id(50), Alliance: w.alliance, Title: "胃癌术后辅助化疗 XELOX", Indication: "II-III 期胃癌根治术后",
		By: w.surgery, At: t0.Add(time.Hour)}
	drafted := domain.ProtocolDrafted{ProtocolID: id(50), AllianceID: id(10), Title: draft.Title, Indication: draft.Indication,
		LeadHospitalID: id(1), LeadDepartmentID: "gi-surgery", DraftedAt: t0.Add(time.Hour)}
	retire := func(by domain.Actor) domain.RetireProtocol {
		return domain.RetireProtocol{ProtocolID: id(50), Reason: "superseded", By: by, At: t0.Add(2 * time.Hour)}
	}
	runSpecs(t, domain.DecideProtocol, []spec[domain.ProtocolCommand]{
		{name: "胃肠外科 drafts its own protocol", when: draft, want: []domain.Event{drafted}},
		{name: "消化内科 may not retire 胃肠外科's protocol", given: []domain.Event{drafted}, when: retire(w.gastro), wantCode: domain.CodeForbidden},
		{name: "胃肠外科 retires its own", given: []domain.Event{drafted}, when: retire(w.surgery),
			want: []domain.Event{domain.ProtocolRetired{ProtocolID: id(50), AllianceID: id(10), Reason: "superseded", RetiredAt: t0.Add(2 * time.Hour)}}},
	})
}

// TestReferralHoldsSlot: only a recorded acceptance of that very slot, in that
// department, holds it, until the referral ends short of arrival.
func TestReferralHoldsSlot(t *testing.T) {
	slot := &domain.SlotRef{SlotID: id(61), Kind: domain.SlotBed}
	base := domain.Referral{ID: id(60), ToHospitalID: id(1), ReceivingDeptID: "gi-surgery", Slot: slot, Status: domain.ReferralStatusAccepted}
	with := func(f func(*domain.Referral)) domain.Referral { r := base; f(&r); return r }
	for _, tc := range []struct {
		name string
		r    domain.Referral
		slot string
		want bool
	}{
		{"accepted with the slot", base, id(61), true},
		{"admitted keeps it", with(func(r *domain.Referral) { r.Status = domain.ReferralStatusAdmitted }), id(61), true},
		{"completed keeps it", with(func(r *domain.Referral) { r.Status = domain.ReferralStatusCompleted }), id(61), true},
		{"another slot", base, id(62), false},
		{"never recorded (still requested)", with(func(r *domain.Referral) {
			r.Status, r.Slot, r.ReceivingDeptID = domain.ReferralStatusRequested, nil, ""
		}), id(61), false},
		{"cancelled", with(func(r *domain.Referral) { r.Status = domain.ReferralStatusCancelled }), id(61), false},
		{"no-show", with(func(r *domain.Referral) { r.Status = domain.ReferralStatusNoShow }), id(61), false},
		{"another department", with(func(r *domain.Referral) { r.ReceivingDeptID = "gastroenterology" }), id(61), false},
		{"no referral", domain.Referral{}, id(61), false},
	} {
		if got := tc.r.HoldsSlot(id(1), "gi-surgery", tc.slot); got != tc.want {
			t.Errorf("%s: HoldsSlot = %v, want %v", tc.name, got, tc.want)
		}
	}
}
