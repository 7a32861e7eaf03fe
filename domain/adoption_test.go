package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

func TestDecideAdoption(t *testing.T) {
	w := newLymphomaWorld()
	punanBy := domain.Actor{HospitalID: id(2), DepartmentID: "haematology", UserID: "dr-qian"}
	jiadingBy := domain.Actor{HospitalID: id(3), DepartmentID: "haematology"}
	at := t0.Add(72 * time.Hour)

	// Version 2 caps vincristine at 2 mg; version 3 was withdrawn for safety.
	v2Steps := rchopSteps()
	v2Steps[3].Dose = "1.4 mg/m2 (max 2 mg)"
	v2 := domain.ProtocolVersionPublished{ProtocolID: w.protocolID, AllianceID: w.allianceID, Version: 2, Steps: v2Steps,
		Eligibility: rchopEligibility, ContentHash: domain.ProtocolContentHash(v2Steps, rchopEligibility), PublishedAt: t0.Add(48 * time.Hour)}
	v3Steps := rchopSteps()[:9]
	v3 := domain.ProtocolVersionPublished{ProtocolID: w.protocolID, AllianceID: w.allianceID, Version: 3, Steps: v3Steps,
		Eligibility: rchopEligibility, ContentHash: domain.ProtocolContentHash(v3Steps, rchopEligibility), PublishedAt: t0.Add(50 * time.Hour)}
	v3Withdrawn := domain.ProtocolVersionWithdrawn{ProtocolID: w.protocolID, AllianceID: w.allianceID, Version: 3,
		Reason: "漏列血常规复查", WithdrawnAt: t0.Add(51 * time.Hour)}
	protocol := w.protocol(v2, v3, v3Withdrawn)
	alliance := w.alliance()
	suspendedAlliance := w.alliance(domain.AllianceMemberSuspended{AllianceID: w.allianceID, HospitalID: id(2), Reason: "质控检查未通过", SuspendedAt: at})
	withdrawnAlliance := w.alliance(domain.AllianceMemberWithdrawn{AllianceID: w.allianceID, HospitalID: id(2), Reason: "合作协议到期", WithdrawnAt: at})

	adopt := domain.AdoptProtocol{Alliance: alliance, Protocol: protocol, HospitalID: id(2), Version: 1, By: punanBy, At: at}
	withAdopt := func(f func(*domain.AdoptProtocol)) domain.AdoptProtocol { c := adopt; f(&c); return c }
	adopted := domain.ProtocolAdopted{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1,
		ContentHash: w.v1.ContentHash, AdoptedAt: at}

	dAt := at.Add(time.Hour)
	biosimilar := domain.LocalDeviation{StepID: "rituximab", Kind: domain.DeviationDrugSubstitution,
		Description: "原研利妥昔单抗未进本院药品目录,改用生物类似药", Substitute: "利妥昔单抗生物类似药 (汉利康)"}
	declare := domain.DeclareAdoptionDeviation{Alliance: alliance, Protocol: protocol, HospitalID: id(2), Deviation: biosimilar, By: punanBy, At: dAt}
	withDeclare := func(f func(*domain.DeclareAdoptionDeviation)) domain.DeclareAdoptionDeviation {
		c := declare
		f(&c)
		return c
	}
	withDeviation := func(f func(*domain.LocalDeviation)) domain.DeclareAdoptionDeviation {
		return withDeclare(func(c *domain.DeclareAdoptionDeviation) { f(&c.Deviation) })
	}
	declaredBiosimilar := biosimilar
	declaredBiosimilar.DeclaredAt = dAt
	declared := domain.AdoptionDeviationDeclared{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1,
		Deviation: declaredBiosimilar}
	omitBloodCount := domain.LocalDeviation{StepID: "blood-count", Kind: domain.DeviationStepOmitted,
		Description: "血常规由患者所在社区卫生服务中心完成并上传", DeclaredAt: dAt}
	omitted := domain.AdoptionDeviationDeclared{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1,
		Deviation: omitBloodCount}
	omitRituximab := domain.AdoptionDeviationDeclared{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1,
		Deviation: domain.LocalDeviation{StepID: "rituximab", Kind: domain.DeviationStepOmitted, Description: "患者自费意愿", DeclaredAt: dAt}}

	upAt := at.Add(2 * time.Hour)
	upgrade := domain.UpgradeAdoption{Alliance: alliance, Protocol: protocol, HospitalID: id(2), Version: 2, By: punanBy, At: upAt}
	withUpgrade := func(f func(*domain.UpgradeAdoption)) domain.UpgradeAdoption { c := upgrade; f(&c); return c }

	revoke := domain.RevokeAdoptionDeviation{ProtocolID: w.protocolID, HospitalID: id(2), StepID: "rituximab",
		Kind: domain.DeviationDrugSubstitution, Reason: "原研药已进入药品目录", By: punanBy, At: upAt}
	withRevoke := func(f func(*domain.RevokeAdoptionDeviation)) domain.RevokeAdoptionDeviation {
		c := revoke
		f(&c)
		return c
	}

	withdraw := domain.WithdrawAdoption{ProtocolID: w.protocolID, HospitalID: id(2), Reason: "本院改由肿瘤科收治淋巴瘤患者", By: punanBy, At: upAt}
	withWithdraw := func(f func(*domain.WithdrawAdoption)) domain.WithdrawAdoption { c := withdraw; f(&c); return c }
	withdrawn := domain.AdoptionWithdrawn{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1,
		Reason: withdraw.Reason, WithdrawnAt: upAt}

	runSpecs(t, domain.DecideAdoption, []spec[domain.AdoptionCommand]{
		{name: "adopt", when: adopt, want: []domain.Event{adopted}},
		{name: "adopt the latest published version", when: withAdopt(func(c *domain.AdoptProtocol) { c.Version = 2 }),
			want: []domain.Event{domain.ProtocolAdopted{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 2,
				ContentHash: v2.ContentHash, AdoptedAt: at}}},
		{name: "adopt again after withdrawing", given: []domain.Event{adopted, declared, withdrawn},
			when: withAdopt(func(c *domain.AdoptProtocol) { c.Version, c.At = 2, upAt.Add(time.Hour) }),
			want: []domain.Event{domain.ProtocolAdopted{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 2,
				ContentHash: v2.ContentHash, AdoptedAt: upAt.Add(time.Hour)}}},
		{name: "adopt while adopted", given: []domain.Event{adopted}, when: withAdopt(func(c *domain.AdoptProtocol) { c.Version = 2 }), wantCode: domain.CodeAlreadyExists},
		{name: "adopt for another hospital", when: withAdopt(func(c *domain.AdoptProtocol) { c.By = jiadingBy }), wantCode: domain.CodeForbidden},
		{name: "adopt on a member's behalf by the lead", when: withAdopt(func(c *domain.AdoptProtocol) { c.By = w.lead }), wantCode: domain.CodeForbidden},
		{name: "adopt with a bad hospital id", when: withAdopt(func(c *domain.AdoptProtocol) { c.HospitalID, c.By.HospitalID = "浦南医院", "浦南医院" }), wantCode: domain.CodeInvalidInput},
		{name: "adopt without a time", when: withAdopt(func(c *domain.AdoptProtocol) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "adopt an unknown protocol", when: withAdopt(func(c *domain.AdoptProtocol) { c.Protocol = domain.Protocol{} }), wantCode: domain.CodeNotFound},
		{name: "adopt in an unknown alliance", when: withAdopt(func(c *domain.AdoptProtocol) { c.Alliance = domain.Alliance{} }), wantCode: domain.CodeNotFound},
		{name: "adopt a protocol of another alliance", when: withAdopt(func(c *domain.AdoptProtocol) {
			c.Alliance = c.Alliance.Evolve(domain.AllianceFounded{AllianceID: id(11), Name: "浦南医共体", Specialty: "全科",
				Kind: domain.AllianceCounty, LeadHospitalID: id(2), LeadDepartmentID: "haematology", LeadRegionCode: "310115", FoundedAt: t0})
		}), wantCode: domain.CodeInvalidInput},
		{name: "adopt by a hospital never admitted", when: withAdopt(func(c *domain.AdoptProtocol) { c.HospitalID, c.By.HospitalID = id(4), id(4) }), wantCode: domain.CodeNotMember},
		{name: "adopt by the lead hospital", when: withAdopt(func(c *domain.AdoptProtocol) { c.HospitalID, c.By = id(1), w.lead }), wantCode: domain.CodeNotMember},
		{name: "adopt while suspended", when: withAdopt(func(c *domain.AdoptProtocol) { c.Alliance = suspendedAlliance }), wantCode: domain.CodeNotMember},
		{name: "adopt after leaving the alliance", when: withAdopt(func(c *domain.AdoptProtocol) { c.Alliance = withdrawnAlliance }), wantCode: domain.CodeNotMember},
		{name: "adopt a version withdrawn for safety", when: withAdopt(func(c *domain.AdoptProtocol) { c.Version = 3 }), wantCode: domain.CodeForbiddenTransition},
		{name: "adopt a version never published", when: withAdopt(func(c *domain.AdoptProtocol) { c.Version = 4 }), wantCode: domain.CodeNotFound},
		{name: "adopt version 0", when: withAdopt(func(c *domain.AdoptProtocol) { c.Version = 0 }), wantCode: domain.CodeNotFound},
		{name: "adopt a retired protocol", when: withAdopt(func(c *domain.AdoptProtocol) {
			c.Protocol = c.Protocol.Evolve(domain.ProtocolRetired{ProtocolID: w.protocolID, AllianceID: w.allianceID, Reason: "取代", RetiredAt: at})
		}), wantCode: domain.CodeForbiddenTransition},

		{name: "upgrade clears the deviations", given: []domain.Event{adopted, declared, omitted}, when: upgrade,
			want: []domain.Event{domain.AdoptionUpgraded{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2),
				FromVersion: 1, ToVersion: 2, ContentHash: v2.ContentHash,
				ClearedDeviations: []domain.LocalDeviation{declaredBiosimilar, omitBloodCount}, UpgradedAt: upAt}}},
		{name: "upgrade without deviations", given: []domain.Event{adopted}, when: upgrade,
			want: []domain.Event{domain.AdoptionUpgraded{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2),
				FromVersion: 1, ToVersion: 2, ContentHash: v2.ContentHash, UpgradedAt: upAt}}},
		{name: "upgrade to the same version", given: []domain.Event{adopted}, when: withUpgrade(func(c *domain.UpgradeAdoption) { c.Version = 1 }), wantCode: domain.CodeForbiddenTransition},
		{name: "downgrade", given: []domain.Event{domain.ProtocolAdopted{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 2,
			ContentHash: v2.ContentHash, AdoptedAt: at}}, when: withUpgrade(func(c *domain.UpgradeAdoption) { c.Version = 1 }), wantCode: domain.CodeForbiddenTransition},
		{name: "upgrade to a version withdrawn for safety", given: []domain.Event{adopted}, when: withUpgrade(func(c *domain.UpgradeAdoption) { c.Version = 3 }), wantCode: domain.CodeForbiddenTransition},
		{name: "upgrade to a version never published", given: []domain.Event{adopted}, when: withUpgrade(func(c *domain.UpgradeAdoption) { c.Version = 4 }), wantCode: domain.CodeNotFound},
		{name: "upgrade before adopting", when: upgrade, wantCode: domain.CodeNotFound},
		{name: "upgrade a withdrawn adoption", given: []domain.Event{adopted, withdrawn}, when: upgrade, wantCode: domain.CodeForbiddenTransition},
		{name: "upgrade while suspended", given: []domain.Event{adopted}, when: withUpgrade(func(c *domain.UpgradeAdoption) { c.Alliance = suspendedAlliance }), wantCode: domain.CodeNotMember},
		{name: "upgrade for another hospital", given: []domain.Event{adopted}, when: withUpgrade(func(c *domain.UpgradeAdoption) { c.By = jiadingBy }), wantCode: domain.CodeForbidden},
		{name: "upgrade without a time", given: []domain.Event{adopted}, when: withUpgrade(func(c *domain.UpgradeAdoption) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},

		{name: "declare a drug substitution", given: []domain.Event{adopted}, when: declare, want: []domain.Event{declared}},
		{name: "declare an omitted step without a drug", given: []domain.Event{adopted}, when: withDeclare(func(c *domain.DeclareAdoptionDeviation) { c.Deviation = omitBloodCount }),
			want: []domain.Event{omitted}},
		{name: "declare a dose adjustment next to a substitution", given: []domain.Event{adopted, declared}, when: withDeviation(func(d *domain.LocalDeviation) {
			d.Kind, d.Description, d.Substitute = domain.DeviationDoseAdjusted, "生物类似药按说明书剂量", "375 mg/m2 (生物类似药)"
		}), want: []domain.Event{domain.AdoptionDeviationDeclared{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1,
			Deviation: domain.LocalDeviation{StepID: "rituximab", Kind: domain.DeviationDoseAdjusted, Description: "生物类似药按说明书剂量",
				Substitute: "375 mg/m2 (生物类似药)", DeclaredAt: dAt}}}},
		{name: "declare a route change", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) {
			d.StepID, d.Kind, d.Description, d.Substitute = "prednisone-d0", domain.DeviationRouteChanged, "首日住院期间静脉给药", domain.RouteIV
		}), want: []domain.Event{domain.AdoptionDeviationDeclared{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1,
			Deviation: domain.LocalDeviation{StepID: "prednisone-d0", Kind: domain.DeviationRouteChanged, Description: "首日住院期间静脉给药",
				Substitute: domain.RouteIV, DeclaredAt: dAt}}}},
		{name: "declare on a step not in the adopted version", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) { d.StepID = "etoposide" }), wantCode: domain.CodeInvalidInput},
		{name: "declare on a step id that is not valid", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) { d.StepID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "declare a drug substitution on a step without a drug", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) { d.StepID = "blood-count" }), wantCode: domain.CodeInvalidInput},
		{name: "declare an unknown kind", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) { d.Kind = "drug_shortage" }), wantCode: domain.CodeInvalidInput},
		{name: "declare without a description", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) { d.Description = "" }), wantCode: domain.CodeInvalidInput},
		{name: "declare with a description too long", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) { d.Description = strings.Repeat("述", 1001) }), wantCode: domain.CodeInvalidInput},
		{name: "declare a substitution without the substitute", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) { d.Substitute = "" }), wantCode: domain.CodeInvalidInput},
		{name: "declare a dose adjustment without the dose", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) {
			d.Kind, d.Substitute = domain.DeviationDoseAdjusted, ""
		}), wantCode: domain.CodeInvalidInput},
		{name: "declare a route change to an unknown route", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) {
			d.Kind, d.Substitute = domain.DeviationRouteChanged, "ivgtt"
		}), wantCode: domain.CodeInvalidInput},
		{name: "declare an omitted step with a substitute", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) {
			d.Kind = domain.DeviationStepOmitted
		}), wantCode: domain.CodeInvalidInput},
		{name: "declare a substitution by the same drug", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) {
			d.Substitute = "利妥昔单抗 rituximab"
		}), wantCode: domain.CodeInvalidInput},
		{name: "declare a dose adjustment to the same dose", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) {
			d.Kind, d.Substitute = domain.DeviationDoseAdjusted, "375 mg/m2"
		}), wantCode: domain.CodeInvalidInput},
		{name: "declare a route change to the same route", given: []domain.Event{adopted}, when: withDeviation(func(d *domain.LocalDeviation) {
			d.Kind, d.Substitute = domain.DeviationRouteChanged, domain.RouteIV
		}), wantCode: domain.CodeInvalidInput},
		{name: "declare the same deviation twice", given: []domain.Event{adopted, declared}, when: declare, wantCode: domain.CodeAlreadyExists},
		{name: "declare a change to an omitted step", given: []domain.Event{adopted, omitRituximab}, when: declare, wantCode: domain.CodeForbiddenTransition},
		{name: "omit a step already changed", given: []domain.Event{adopted, declared}, when: withDeclare(func(c *domain.DeclareAdoptionDeviation) {
			c.Deviation = omitRituximab.Deviation
		}), wantCode: domain.CodeForbiddenTransition},
		{name: "declare before adopting", when: declare, wantCode: domain.CodeNotFound},
		{name: "declare on a withdrawn adoption", given: []domain.Event{adopted, withdrawn}, when: declare, wantCode: domain.CodeForbiddenTransition},
		{name: "declare while suspended", given: []domain.Event{adopted}, when: withDeclare(func(c *domain.DeclareAdoptionDeviation) { c.Alliance = suspendedAlliance }), wantCode: domain.CodeNotMember},
		{name: "declare for another hospital", given: []domain.Event{adopted}, when: withDeclare(func(c *domain.DeclareAdoptionDeviation) { c.By = jiadingBy }), wantCode: domain.CodeForbidden},
		{name: "declare against a stale protocol state", given: []domain.Event{domain.ProtocolAdopted{ProtocolID: w.protocolID, AllianceID: w.allianceID,
			HospitalID: id(2), Version: 2, ContentHash: v2.ContentHash, AdoptedAt: at}}, when: withDeclare(func(c *domain.DeclareAdoptionDeviation) { c.Protocol = w.protocol() }),
			wantCode: domain.CodeNotFound},

		{name: "revoke a deviation", given: []domain.Event{adopted, declared}, when: revoke,
			want: []domain.Event{domain.AdoptionDeviationRevoked{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1,
				StepID: "rituximab", Kind: domain.DeviationDrugSubstitution, Reason: revoke.Reason, RevokedAt: upAt}}},
		{name: "revoke a deviation never declared", given: []domain.Event{adopted, omitted}, when: revoke, wantCode: domain.CodeNotFound},
		{name: "revoke a deviation of another kind", given: []domain.Event{adopted, declared}, when: withRevoke(func(c *domain.RevokeAdoptionDeviation) {
			c.Kind = domain.DeviationDoseAdjusted
		}), wantCode: domain.CodeNotFound},
		{name: "revoke without a reason", given: []domain.Event{adopted, declared}, when: withRevoke(func(c *domain.RevokeAdoptionDeviation) { c.Reason = "" }), wantCode: domain.CodeInvalidInput},
		{name: "revoke an unknown kind", given: []domain.Event{adopted, declared}, when: withRevoke(func(c *domain.RevokeAdoptionDeviation) { c.Kind = "other" }), wantCode: domain.CodeInvalidInput},
		{name: "revoke with a bad step id", given: []domain.Event{adopted, declared}, when: withRevoke(func(c *domain.RevokeAdoptionDeviation) { c.StepID = "d 0" }), wantCode: domain.CodeInvalidInput},
		{name: "revoke for another hospital", given: []domain.Event{adopted, declared}, when: withRevoke(func(c *domain.RevokeAdoptionDeviation) { c.By = jiadingBy }), wantCode: domain.CodeForbidden},
		{name: "revoke on a withdrawn adoption", given: []domain.Event{adopted, declared, withdrawn}, when: revoke, wantCode: domain.CodeForbiddenTransition},
		{name: "revoke before adopting", when: revoke, wantCode: domain.CodeNotFound},

		{name: "withdraw", given: []domain.Event{adopted, declared}, when: withdraw, want: []domain.Event{withdrawn}},
		{name: "withdraw twice", given: []domain.Event{adopted, withdrawn}, when: withdraw, wantCode: domain.CodeForbiddenTransition},
		{name: "withdraw before adopting", when: withdraw, wantCode: domain.CodeNotFound},
		{name: "withdraw by the lead", given: []domain.Event{adopted}, when: withWithdraw(func(c *domain.WithdrawAdoption) { c.By = w.lead }), wantCode: domain.CodeForbidden},
		{name: "withdraw without a reason", given: []domain.Event{adopted}, when: withWithdraw(func(c *domain.WithdrawAdoption) { c.Reason = " " }), wantCode: domain.CodeInvalidInput},
		{name: "withdraw with a bad protocol id", given: []domain.Event{adopted}, when: withWithdraw(func(c *domain.WithdrawAdoption) { c.ProtocolID = "R-CHOP" }), wantCode: domain.CodeInvalidInput},
		{name: "withdraw without a time", given: []domain.Event{adopted}, when: withWithdraw(func(c *domain.WithdrawAdoption) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "nil command", given: []domain.Event{adopted}, when: nil, wantCode: domain.CodeInvalidInput},
	})
}

func TestAdoptionState(t *testing.T) {
	w := newLymphomaWorld()
	at := t0.Add(72 * time.Hour)
	adopted := domain.ProtocolAdopted{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1, ContentHash: w.v1.ContentHash, AdoptedAt: at}
	sub := domain.LocalDeviation{StepID: "rituximab", Kind: domain.DeviationDrugSubstitution, Description: "目录外", Substitute: "生物类似药", DeclaredAt: at.Add(time.Hour)}
	dose := domain.LocalDeviation{StepID: "rituximab", Kind: domain.DeviationDoseAdjusted, Description: "说明书剂量", Substitute: "375 mg/m2", DeclaredAt: at.Add(2 * time.Hour)}
	omit := domain.LocalDeviation{StepID: "blood-count", Kind: domain.DeviationStepOmitted, Description: "社区完成", DeclaredAt: at.Add(3 * time.Hour)}
	declared := func(d domain.LocalDeviation) domain.Event {
		return domain.AdoptionDeviationDeclared{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 1, Deviation: d}
	}
	fold := func(es ...domain.Event) domain.Adoption {
		var a domain.Adoption
		for _, e := range es {
			a = a.Evolve(e)
		}
		return a
	}

	if a := (domain.Adoption{}); a.Exists() || a.Active() {
		t.Errorf("the zero adoption exists or is active")
	}
	a := fold(adopted, declared(sub), declared(dose), declared(omit))
	if !a.Active() || a.Version != 1 || a.ContentHash != w.v1.ContentHash || len(a.Deviations) != 3 {
		t.Fatalf("adoption = %+v; want active at version 1 with 3 deviations", a)
	}
	if got := a.DeviationsFor("rituximab"); len(got) != 2 || got[0] != sub || got[1] != dose {
		t.Errorf("DeviationsFor(rituximab) = %+v, want the substitution and the dose adjustment", got)
	}
	if got := a.DeviationsFor("doxorubicin"); len(got) != 0 {
		t.Errorf("DeviationsFor(doxorubicin) = %+v, want none", got)
	}

	revoked := a.Evolve(domain.AdoptionDeviationRevoked{ProtocolID: w.protocolID, HospitalID: id(2), Version: 1, StepID: "rituximab",
		Kind: domain.DeviationDrugSubstitution, Reason: "进入目录", RevokedAt: at.Add(4 * time.Hour)})
	if got := revoked.DeviationsFor("rituximab"); len(got) != 1 || got[0] != dose {
		t.Errorf("after revoking the substitution: %+v, want only the dose adjustment", got)
	}
	if len(a.Deviations) != 3 {
		t.Errorf("revoking changed the earlier state: %d deviations", len(a.Deviations))
	}
	if !revoked.UpdatedAt.Equal(at.Add(4 * time.Hour)) {
		t.Errorf("UpdatedAt = %v, want the revocation time", revoked.UpdatedAt)
	}

	upgraded := a.Evolve(domain.AdoptionUpgraded{ProtocolID: w.protocolID, HospitalID: id(2), FromVersion: 1, ToVersion: 2,
		ContentHash: "h2", UpgradedAt: at.Add(5 * time.Hour)})
	if upgraded.Version != 2 || upgraded.ContentHash != "h2" || len(upgraded.Deviations) != 0 || !upgraded.AdoptedAt.Equal(at) {
		t.Errorf("after upgrade: %+v; want version 2, no deviations, adoption time kept", upgraded)
	}

	withdrawn := a.Evolve(domain.AdoptionWithdrawn{ProtocolID: w.protocolID, HospitalID: id(2), Version: 1, Reason: "改由肿瘤科收治", WithdrawnAt: at.Add(6 * time.Hour)})
	if withdrawn.Active() || withdrawn.Status != domain.AdoptionStatusWithdrawn || withdrawn.WithdrawnReason != "改由肿瘤科收治" {
		t.Errorf("after withdrawal: %+v; want withdrawn with its reason", withdrawn)
	}
	readopted := withdrawn.Evolve(domain.ProtocolAdopted{ProtocolID: w.protocolID, AllianceID: w.allianceID, HospitalID: id(2), Version: 2,
		ContentHash: "h2", AdoptedAt: at.Add(7 * time.Hour)})
	if !readopted.Active() || readopted.Version != 2 || len(readopted.Deviations) != 0 || readopted.WithdrawnReason != "" || !readopted.AdoptedAt.Equal(at.Add(7*time.Hour)) {
		t.Errorf("after re-adoption: %+v; want a fresh active adoption of version 2", readopted)
	}

	if got, want := domain.AdoptionStream(w.protocolID, id(2)), "adoption-"+w.protocolID+"-"+id(2); got != want {
		t.Errorf("AdoptionStream = %q, want %q", got, want)
	}
	if got := domain.AllianceStream(w.allianceID); got != "alliance-"+w.allianceID {
		t.Errorf("AllianceStream = %q", got)
	}
	if got := domain.ProtocolStream(w.protocolID); got != "protocol-"+w.protocolID {
		t.Errorf("ProtocolStream = %q", got)
	}
}
