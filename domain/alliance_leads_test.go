package domain_test

import (
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// 李惠利医院 founds its alliance with 消化内科; 胃肠外科 becomes a second lead department.
func TestDecideAddLeadDepartment(t *testing.T) {
	gastro := domain.Department{ID: "gastroenterology", Name: "消化内科"}
	surgery := domain.Department{ID: "gi-surgery", Name: "胃肠外科"}
	lihuili := domain.Hospital{ID: id(1), Name: "宁波市医疗中心李惠利医院", RegionCode: "330212", Level: domain.LevelTertiary,
		Departments: []domain.Department{gastro, surgery, {ID: "cardiology", Name: "心内科"}}}
	beilun := domain.Hospital{ID: id(2), Name: "北仑区第三人民医院", RegionCode: "330206", Level: domain.LevelSecondary}
	gastroLead := domain.Actor{HospitalID: id(1), DepartmentID: "gastroenterology", UserID: "dr-wang", Role: "lead"}
	surgeryLead := domain.Actor{HospitalID: id(1), DepartmentID: "gi-surgery", UserID: "dr-chen", Role: "lead"}
	founded := domain.AllianceFounded{AllianceID: id(10), Name: "李惠利医院北仑医联体", Specialty: "消化", Kind: domain.AllianceSpecialist,
		LeadHospitalID: id(1), LeadHospitalName: lihuili.Name, LeadDepartmentID: "gastroenterology", LeadRegionCode: "330212", FoundedAt: t0}
	at := t0.Add(time.Hour)
	add := domain.AddLeadDepartment{AllianceID: id(10), Lead: lihuili, DepartmentID: "gi-surgery", By: gastroLead, At: at}
	with := func(f func(*domain.AddLeadDepartment)) domain.AddLeadDepartment { c := add; f(&c); return c }
	added := domain.AllianceLeadDepartmentAdded{AllianceID: id(10), HospitalID: id(1), DepartmentID: "gi-surgery", AddedAt: at}
	admitBySurgery := domain.AdmitMember{AllianceID: id(10), Hospital: beilun, Tier: domain.TierMember, By: surgeryLead, At: at.Add(time.Hour)}
	admitted := domain.AllianceMemberAdmitted{AllianceID: id(10), HospitalID: id(2), HospitalName: beilun.Name, RegionCode: "330206",
		Tier: domain.TierMember, AdmittedAt: at.Add(time.Hour)}

	runSpecs(t, domain.DecideAlliance, []spec[domain.AllianceCommand]{
		{name: "a lead department adds another", given: []domain.Event{founded}, when: add, want: []domain.Event{added}},
		{name: "the added department admits members", given: []domain.Event{founded, added}, when: admitBySurgery, want: []domain.Event{admitted}},
		{name: "before it was added it may not", given: []domain.Event{founded}, when: admitBySurgery, wantCode: domain.CodeForbidden},
		{name: "added twice", given: []domain.Event{founded, added}, when: add, wantCode: domain.CodeAlreadyExists},
		{name: "the founding department again", given: []domain.Event{founded},
			when: with(func(c *domain.AddLeadDepartment) { c.DepartmentID = "gastroenterology" }), wantCode: domain.CodeAlreadyExists},
		{name: "a department the hospital does not have", given: []domain.Event{founded},
			when: with(func(c *domain.AddLeadDepartment) { c.DepartmentID = "oncology" }), wantCode: domain.CodeInvalidInput},
		{name: "another department of the lead hospital may not add", given: []domain.Event{founded},
			when: with(func(c *domain.AddLeadDepartment) { c.By.DepartmentID = "cardiology" }), wantCode: domain.CodeForbidden},
		{name: "a member may not add", given: []domain.Event{founded},
			when: with(func(c *domain.AddLeadDepartment) { c.By = domain.Actor{HospitalID: id(2), DepartmentID: "gi-surgery"} }), wantCode: domain.CodeForbidden},
		{name: "the hospital passed is not the lead", given: []domain.Event{founded},
			when: with(func(c *domain.AddLeadDepartment) { c.Lead = beilun }), wantCode: domain.CodeInvalidInput},
		{name: "no department", given: []domain.Event{founded},
			when: with(func(c *domain.AddLeadDepartment) { c.DepartmentID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "no alliance", when: add, wantCode: domain.CodeNotFound},
	})

	var a domain.Alliance
	for _, e := range []domain.Event{founded, added} {
		a = a.Evolve(e)
	}
	for _, tc := range []struct {
		hospital, dept string
		want           bool
	}{{id(1), "gastroenterology", true}, {id(1), "gi-surgery", true}, {id(1), "cardiology", false}, {id(2), "gi-surgery", false}, {id(1), "", false}} {
		if got := a.IsLeadDepartment(tc.hospital, tc.dept); got != tc.want {
			t.Errorf("IsLeadDepartment(%s, %q) = %v, want %v", tc.hospital, tc.dept, got, tc.want)
		}
	}
	// an alliance founded before several lead departments existed replays unchanged
	var old domain.Alliance
	old = old.Evolve(founded)
	if !old.IsLead(id(1), "gastroenterology") || old.IsLead(id(1), "gi-surgery") || old.LeadDepartmentID != "gastroenterology" {
		t.Errorf("founded-only alliance: %+v", old)
	}
}

// Each lead department acts for its own plans: a plan 胃肠外科 initiates is led by it,
// and 消化内科 may not revise it.
func TestPlanOfSecondLeadDepartment(t *testing.T) {
	w := newPlanWorld()
	second := domain.AllianceLeadDepartmentAdded{AllianceID: id(10), HospitalID: id(1), DepartmentID: "oncology", AddedAt: t0}
	c := w.initiate
	c.Alliance = w.alliance.Evolve(second)
	c.By = w.leadOncology
	events, err := domain.DecidePlan(domain.Plan{}, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := events[0].(domain.PlanInitiated).LeadDepartmentID; got != "oncology" {
		t.Fatalf("plan led by %q, want the initiating department oncology", got)
	}
	p := planFold(events...)
	_, err = domain.DecidePlan(p, domain.DiscontinuePlan{PlanID: id(30), Reason: "not mine", By: w.lead, At: t0.Add(time.Hour)})
	if domain.ErrorCode(err) != domain.CodeForbidden {
		t.Errorf("another lead department acting on the plan: %v, want forbidden", err)
	}
	if _, err := domain.DecidePlan(p, domain.DiscontinuePlan{PlanID: id(30), Reason: "progression", By: w.leadOncology, At: t0.Add(time.Hour)}); err != nil {
		t.Errorf("its own department: %v", err)
	}
}
