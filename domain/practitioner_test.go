package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// TestDecidePractitioner: 仁济医院's medical affairs office registers 沈建伟 (主任医师,
// 消化内科) in the directory, updates his profile and deactivates him when he retires.
func TestDecidePractitioner(t *testing.T) {
	renji := domain.Hospital{}.Evolve(domain.HospitalRegistered{HospitalID: id(60), Name: "上海交通大学医学院附属仁济医院",
		RegionCode: "310115", Level: domain.LevelTertiary, Departments: []domain.Department{
			{ID: "gastroenterology", Name: "消化内科"}, {ID: "medical-affairs", Name: "医务处"}}})
	office := domain.Actor{HospitalID: id(60), DepartmentID: "medical-affairs", Role: "member"}
	gi := domain.Actor{HospitalID: id(60), DepartmentID: "gastroenterology", Role: "lead"}
	admin := domain.Actor{UserID: "ops", Role: domain.RoleAdmin}
	other := domain.Actor{HospitalID: id(62), DepartmentID: "medical-affairs", Role: "lead"}
	auditor := domain.Actor{HospitalID: id(69), Role: "auditor"}
	pid := id(90)

	register := domain.RegisterPractitioner{PractitionerID: pid, Home: renji, HomeHospitalID: id(60), DepartmentID: "gastroenterology",
		Name: " 沈建伟 ", Title: "主任医师", Specialties: []string{"消化内镜", " 消化道早癌 "}, By: office, At: t0}
	reg := func(f func(*domain.RegisterPractitioner)) domain.RegisterPractitioner { c := register; f(&c); return c }
	registered := domain.PractitionerRegistered{PractitionerID: pid, HomeHospitalID: id(60), HomeDepartmentID: "gastroenterology",
		Name: "沈建伟", Title: "主任医师", Specialties: []string{"消化内镜", "消化道早癌"}, RegisteredAt: t0}
	given := []domain.Event{registered}
	update := domain.UpdatePractitionerProfile{PractitionerID: pid, Name: "沈建伟", Title: "主任医师 教授",
		Specialties: []string{"消化内镜", "消化道早癌", "胰胆疾病"}, By: gi, At: t0.Add(time.Hour)}
	upd := func(f func(*domain.UpdatePractitionerProfile)) domain.UpdatePractitionerProfile {
		c := update
		f(&c)
		return c
	}
	updated := domain.PractitionerProfileUpdated{PractitionerID: pid, HomeHospitalID: id(60), Name: "沈建伟", Title: "主任医师 教授",
		Specialties: []string{"消化内镜", "消化道早癌", "胰胆疾病"}, UpdatedAt: t0.Add(time.Hour)}
	deactivate := domain.DeactivatePractitioner{PractitionerID: pid, Reason: "退休", By: office, At: t0.Add(2 * time.Hour)}
	deactivated := domain.PractitionerDeactivated{PractitionerID: pid, HomeHospitalID: id(60), Reason: "退休", DeactivatedAt: t0.Add(2 * time.Hour)}
	reactivate := domain.ReactivatePractitioner{PractitionerID: pid, Reason: "返聘", By: admin, At: t0.Add(3 * time.Hour)}

	runSpecs(t, domain.DecidePractitioner, []spec[domain.PractitionerCommand]{
		// register
		{name: "the home hospital's office registers", when: register, want: []domain.Event{registered}},
		{name: "an admin registers for any hospital", when: reg(func(c *domain.RegisterPractitioner) { c.By = admin }), want: []domain.Event{registered}},
		{name: "another hospital cannot register", when: reg(func(c *domain.RegisterPractitioner) { c.By = other }), wantCode: domain.CodeForbidden},
		{name: "another hospital learns nothing of an unknown hospital", when: reg(func(c *domain.RegisterPractitioner) {
			c.By, c.Home = other, domain.Hospital{}
		}), wantCode: domain.CodeForbidden},
		{name: "an auditor cannot register", when: reg(func(c *domain.RegisterPractitioner) { c.By = auditor }), wantCode: domain.CodeForbidden},
		{name: "register twice", given: given, when: register, wantCode: domain.CodeAlreadyExists},
		{name: "unregistered hospital", when: reg(func(c *domain.RegisterPractitioner) { c.Home = domain.Hospital{} }), wantCode: domain.CodeNotFound},
		{name: "unknown department", when: reg(func(c *domain.RegisterPractitioner) { c.DepartmentID = "cardiology" }), wantCode: domain.CodeInvalidInput},
		{name: "no department", when: reg(func(c *domain.RegisterPractitioner) { c.DepartmentID = " " }), wantCode: domain.CodeInvalidInput},
		{name: "bad id", when: reg(func(c *domain.RegisterPractitioner) { c.PractitionerID = "dr-shen" }), wantCode: domain.CodeInvalidInput},
		{name: "no time", when: reg(func(c *domain.RegisterPractitioner) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "no name", when: reg(func(c *domain.RegisterPractitioner) { c.Name = "" }), wantCode: domain.CodeInvalidInput},
		{name: "name too long", when: reg(func(c *domain.RegisterPractitioner) { c.Name = strings.Repeat("沈", 101) }), wantCode: domain.CodeInvalidInput},
		{name: "no title", when: reg(func(c *domain.RegisterPractitioner) { c.Title = "  " }), wantCode: domain.CodeInvalidInput},
		{name: "an ID-card number in the name", when: reg(func(c *domain.RegisterPractitioner) { c.Name = "沈建伟 310115196501012345" }), wantCode: domain.CodeInvalidInput},
		{name: "a phone number in the title", when: reg(func(c *domain.RegisterPractitioner) { c.Title = "主任医师 13812345678" }), wantCode: domain.CodeInvalidInput},
		{name: "a phone number in a specialty", when: reg(func(c *domain.RegisterPractitioner) { c.Specialties = []string{"内镜 021-58752345"} }), wantCode: domain.CodeInvalidInput},
		{name: "short numbers are fine", when: reg(func(c *domain.RegisterPractitioner) { c.Specialties = []string{"2型糖尿病"} }),
			want: []domain.Event{func() domain.Event { e := registered; e.Specialties = []string{"2型糖尿病"}; return e }()}},
		{name: "no specialty", when: reg(func(c *domain.RegisterPractitioner) { c.Specialties = nil }), wantCode: domain.CodeInvalidInput},
		{name: "a specialty twice", when: reg(func(c *domain.RegisterPractitioner) { c.Specialties = []string{"内镜", " 内镜"} }), wantCode: domain.CodeInvalidInput},
		{name: "an empty specialty", when: reg(func(c *domain.RegisterPractitioner) { c.Specialties = []string{""} }), wantCode: domain.CodeInvalidInput},
		{name: "too many specialties", when: reg(func(c *domain.RegisterPractitioner) {
			c.Specialties = nil
			for i := range 21 {
				c.Specialties = append(c.Specialties, "专科"+string(rune('a'+i)))
			}
		}), wantCode: domain.CodeInvalidInput},

		// update
		{name: "the home hospital's lead department updates", given: given, when: update, want: []domain.Event{updated}},
		{name: "the same profile again changes nothing", given: given, when: upd(func(c *domain.UpdatePractitionerProfile) {
			c.Title, c.Specialties = "主任医师", []string{"消化内镜", "消化道早癌"}
		})},
		{name: "another hospital cannot update", given: given, when: upd(func(c *domain.UpdatePractitionerProfile) { c.By = other }), wantCode: domain.CodeForbidden},
		{name: "update an unknown practitioner", when: update, wantCode: domain.CodeNotFound},
		{name: "update before the registration", given: given, when: upd(func(c *domain.UpdatePractitionerProfile) { c.At = t0.Add(-time.Minute) }), wantCode: domain.CodeInvalidInput},
		{name: "update with a phone number", given: given, when: upd(func(c *domain.UpdatePractitionerProfile) { c.Name = "沈建伟13812345678" }), wantCode: domain.CodeInvalidInput},
		{name: "update without specialties", given: given, when: upd(func(c *domain.UpdatePractitionerProfile) { c.Specialties = []string{} }), wantCode: domain.CodeInvalidInput},

		// deactivate and reactivate
		{name: "deactivate", given: given, when: deactivate, want: []domain.Event{deactivated}},
		{name: "deactivate twice", given: append(given, deactivated), when: upd2(deactivate, t0.Add(3*time.Hour)), wantCode: domain.CodeForbiddenTransition},
		{name: "deactivate without reason", given: given, when: domain.DeactivatePractitioner{PractitionerID: pid, By: office, At: t0.Add(time.Hour)}, wantCode: domain.CodeInvalidInput},
		{name: "another hospital cannot deactivate", given: given, when: domain.DeactivatePractitioner{PractitionerID: pid, Reason: "x", By: other, At: t0.Add(time.Hour)}, wantCode: domain.CodeForbidden},
		{name: "reactivate", given: append(given, deactivated), when: reactivate, want: []domain.Event{domain.PractitionerReactivated{
			PractitionerID: pid, HomeHospitalID: id(60), Reason: "返聘", ReactivatedAt: t0.Add(3 * time.Hour)}}},
		{name: "reactivate an active practitioner", given: given, when: reactivate, wantCode: domain.CodeForbiddenTransition},
	})
}

// upd2 is deactivate at another time.
func upd2(c domain.DeactivatePractitioner, at time.Time) domain.DeactivatePractitioner {
	c.At = at
	return c
}

// TestPractitionerBookingRule: only the expert's home hospital's alliances book the
// expert, through the department the expert is registered under, only while active, and a refusal for another hospital's expert reads exactly
// like one for an id nobody registered.
func TestPractitionerBookingRule(t *testing.T) {
	home, other := id(60), id(62)
	p := domain.Practitioner{}.Evolve(domain.PractitionerRegistered{PractitionerID: id(90), HomeHospitalID: home,
		HomeDepartmentID: "gastroenterology", Name: "沈建伟", Title: "主任医师", Specialties: []string{"消化内镜"}, RegisteredAt: t0})
	retired := p.Evolve(domain.PractitionerDeactivated{PractitionerID: id(90), HomeHospitalID: home, Reason: "退休", DeactivatedAt: t0})
	tests := []struct {
		name     string
		p        domain.Practitioner
		expertID string
		lead     string
		dept     string
		want     domain.Code
	}{
		{"the home hospital's lead department", p, id(90), home, "gastroenterology", ""},
		{"another lead department of the home hospital", p, id(90), home, "gastrointestinal-surgery", domain.CodeForbidden},
		{"another hospital's lead", p, id(90), other, "gastroenterology", domain.CodeForbidden},
		{"an id nobody registered (or a legacy free-form id)", domain.Practitioner{}, id(91), other, "gastroenterology", domain.CodeForbidden},
		{"facts of another practitioner", p, id(91), home, "gastroenterology", domain.CodeForbidden},
		{"deactivated", retired, id(90), home, "gastroenterology", domain.CodeForbiddenTransition},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.RequireBookableBy(tc.expertID, tc.lead, tc.dept)
			if got := domain.ErrorCode(err); got != tc.want {
				t.Fatalf("got %v (code %q), want code %q", err, got, tc.want)
			}
			if err != nil && tc.dept == "gastroenterology" && (strings.Contains(err.Error(), home) || strings.Contains(err.Error(), "沈建伟")) {
				t.Errorf("refusal %q names the expert's home hospital or name", err)
			}
		})
	}
	foreign := domain.ErrorMessage(p.RequireBookableBy(id(90), other, "gastroenterology"))
	unknown := domain.ErrorMessage(domain.Practitioner{}.RequireBookableBy(id(90), other, "gastroenterology"))
	if foreign != unknown {
		t.Errorf("another hospital's expert is refused with %q, an unknown id with %q; want the same answer", foreign, unknown)
	}
}
