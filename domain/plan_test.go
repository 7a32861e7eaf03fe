package domain_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// planWorld is the scenario every plan test starts from: 瑞金医院血液科 leads a lymphoma
// alliance with an R-CHOP protocol; 浦南医院 has adopted version 1 (with a biosimilar
// rituximab from its formulary), 大场医院 has adopted version 2, 嘉定 is suspended.
type planWorld struct {
	lead, leadOncology, punan, dachang domain.Actor
	alliance, otherAlliance            domain.Alliance
	protocol                           domain.Protocol // v1 and v2 published
	protocolV1Withdrawn                domain.Protocol // v1 withdrawn, v2 published
	protocolV2Withdrawn                domain.Protocol // v1 published, v2 withdrawn
	foreignProtocol                    domain.Protocol // belongs to another alliance
	emptyProtocol                      domain.Protocol // a version recorded without steps
	punanAdoption, dachangAdoption     domain.Adoption
	withdrawnAdoption                  domain.Adoption
	v1, v2                             domain.ProtocolVersion
	day0                               time.Time
	initiate                           domain.InitiatePlan
	initiated                          domain.PlanInitiated
	handOver                           domain.HandOverPlan
	handedOver                         domain.PlanHandedOver
	escalated                          domain.PlanEscalated
	flagged                            domain.PlanFlagged
}

// R-CHOP, one 21-day cycle: day 0 rituximab, cyclophosphamide, doxorubicin, vincristine;
// prednisone on days 0 to 4.
func planRCHOP(vincristineNote string) []domain.ProtocolStep {
	steps := []domain.ProtocolStep{
		{StepID: "d0-rituximab", DayOffset: 0, Activity: "rituximab infusion", Drug: "rituximab", Dose: "375 mg/m2", Route: domain.RouteIV},
		{StepID: "d0-cyclophosphamide", DayOffset: 0, Activity: "cyclophosphamide infusion", Drug: "cyclophosphamide", Dose: "750 mg/m2", Route: domain.RouteIV},
		{StepID: "d0-doxorubicin", DayOffset: 0, Activity: "doxorubicin infusion", Drug: "doxorubicin", Dose: "50 mg/m2", Route: domain.RouteIV},
		{StepID: "d0-vincristine", DayOffset: 0, Activity: "vincristine push", Drug: "vincristine", Dose: "1.4 mg/m2", Route: domain.RouteIV, Notes: vincristineNote},
	}
	for d := 0; d <= 4; d++ {
		steps = append(steps, domain.ProtocolStep{StepID: fmt.Sprintf("d%d-prednisone", d), DayOffset: d,
			Activity: "prednisone tablets", Drug: "prednisone", Dose: "100 mg", Route: domain.RouteOral})
	}
	return steps
}

func newPlanWorld() planWorld {
	var w planWorld
	w.lead = domain.Actor{HospitalID: id(1), DepartmentID: "haematology", UserID: "dr-zhao", Role: "lead"}
	w.leadOncology = domain.Actor{HospitalID: id(1), DepartmentID: "oncology", UserID: "dr-qian", Role: "lead"}
	w.punan = domain.Actor{HospitalID: id(2), DepartmentID: "haematology", UserID: "nurse-li", Role: "member"}
	w.dachang = domain.Actor{HospitalID: id(3), DepartmentID: "internal-medicine", UserID: "dr-sun", Role: "member"}

	fold := func(events ...domain.Event) domain.Alliance {
		var a domain.Alliance
		for _, e := range events {
			a = a.Evolve(e)
		}
		return a
	}
	w.alliance = fold(
		domain.AllianceFounded{AllianceID: id(10), Name: "瑞金医院淋巴瘤专科联盟", Specialty: "血液科", Kind: domain.AllianceSpecialist,
			LeadHospitalID: id(1), LeadHospitalName: "上海交通大学医学院附属瑞金医院", LeadDepartmentID: "haematology", LeadRegionCode: "310101", FoundedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(10), HospitalID: id(2), HospitalName: "浦南医院", RegionCode: "310115", Tier: domain.TierMember, AdmittedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(10), HospitalID: id(3), HospitalName: "大场医院", RegionCode: "310113", Tier: domain.TierMember, AdmittedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(10), HospitalID: id(4), HospitalName: "嘉定区中心医院", RegionCode: "310114", Tier: domain.TierCore, AdmittedAt: t0},
		domain.AllianceMemberSuspended{AllianceID: id(10), HospitalID: id(4), Reason: "quality review of chemotherapy records", SuspendedAt: t0},
	)
	w.otherAlliance = fold(domain.AllianceFounded{AllianceID: id(11), Name: "仁济医院医联体", Specialty: "综合", Kind: domain.AllianceCity,
		LeadHospitalID: id(5), LeadHospitalName: "仁济医院", LeadDepartmentID: "haematology", LeadRegionCode: "310115", FoundedAt: t0})

	drafted := domain.ProtocolDrafted{ProtocolID: id(20), AllianceID: id(10), Title: "弥漫大B细胞淋巴瘤 R-CHOP-21",
		Indication: "DLBCL", LeadHospitalID: id(1), LeadDepartmentID: "haematology", DraftedAt: t0}
	stepsV1, stepsV2 := planRCHOP(""), planRCHOP("cap at 2 mg absolute dose")
	pub1 := domain.ProtocolVersionPublished{ProtocolID: id(20), AllianceID: id(10), Version: 1, Steps: stepsV1,
		ContentHash: domain.ProtocolContentHash(stepsV1, ""), PublishedAt: t0}
	pub2 := domain.ProtocolVersionPublished{ProtocolID: id(20), AllianceID: id(10), Version: 2, Steps: stepsV2,
		ContentHash: domain.ProtocolContentHash(stepsV2, ""), ChangeNote: "vincristine dose cap", PublishedAt: t0.Add(24 * time.Hour)}
	foldP := func(events ...domain.Event) domain.Protocol {
		var p domain.Protocol
		for _, e := range events {
			p = p.Evolve(e)
		}
		return p
	}
	w.protocol = foldP(drafted, pub1, pub2)
	w.protocolV1Withdrawn = foldP(drafted, pub1, pub2, domain.ProtocolVersionWithdrawn{ProtocolID: id(20), AllianceID: id(10),
		Version: 1, Reason: "vincristine dose not capped at 2 mg", WithdrawnAt: t0.Add(48 * time.Hour)})
	w.protocolV2Withdrawn = foldP(drafted, pub1, pub2, domain.ProtocolVersionWithdrawn{ProtocolID: id(20), AllianceID: id(10),
		Version: 2, Reason: "typo in the prednisone schedule", WithdrawnAt: t0.Add(48 * time.Hour)})
	foreign := drafted
	foreign.ProtocolID, foreign.AllianceID = id(21), id(11)
	foreignPub := pub1
	foreignPub.ProtocolID, foreignPub.AllianceID = id(21), id(11)
	w.foreignProtocol = foldP(foreign, foreignPub)
	w.emptyProtocol = foldP(drafted, domain.ProtocolVersionPublished{ProtocolID: id(20), AllianceID: id(10), Version: 1, PublishedAt: t0})
	w.v1, _ = w.protocol.Version(1)
	w.v2, _ = w.protocol.Version(2)

	foldA := func(events ...domain.Event) domain.Adoption {
		var a domain.Adoption
		for _, e := range events {
			a = a.Evolve(e)
		}
		return a
	}
	adopted := domain.ProtocolAdopted{ProtocolID: id(20), AllianceID: id(10), HospitalID: id(2), Version: 1, ContentHash: pub1.ContentHash, AdoptedAt: t0}
	biosimilar := domain.LocalDeviation{StepID: "d0-rituximab", Kind: domain.DeviationDrugSubstitution,
		Description: "formulary carries the rituximab biosimilar HLX01 (汉利康) only", Substitute: "rituximab biosimilar HLX01", DeclaredAt: t0}
	w.punanAdoption = foldA(adopted, domain.AdoptionDeviationDeclared{ProtocolID: id(20), AllianceID: id(10), HospitalID: id(2), Version: 1, Deviation: biosimilar})
	w.dachangAdoption = foldA(domain.ProtocolAdopted{ProtocolID: id(20), AllianceID: id(10), HospitalID: id(3), Version: 2, ContentHash: pub2.ContentHash, AdoptedAt: t0})
	w.withdrawnAdoption = foldA(adopted, domain.AdoptionWithdrawn{ProtocolID: id(20), AllianceID: id(10), HospitalID: id(2), Version: 1,
		Reason: "ward closed for renovation", WithdrawnAt: t0})

	w.day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	w.initiate = domain.InitiatePlan{PlanID: id(30), Alliance: w.alliance, Protocol: w.protocol, Version: 1,
		PatientRef: "pr_0k3q9v7m2x8c4n6b1z5h0j7w3t9r", StartDate: t0, By: w.lead, At: t0}
	var steps []domain.PlanStep
	for _, s := range stepsV1 {
		steps = append(steps, domain.PlanStep{StepID: s.StepID, DayOffset: s.DayOffset, DueDate: w.day0.AddDate(0, 0, s.DayOffset),
			Activity: s.Activity, Drug: s.Drug, Dose: s.Dose, Route: s.Route, Notes: s.Notes, Status: domain.StepStatusPending, Version: 1})
	}
	w.initiated = domain.PlanInitiated{PlanID: id(30), AllianceID: id(10), ProtocolID: id(20), ProtocolVersion: 1,
		ContentHash: pub1.ContentHash, PatientRef: w.initiate.PatientRef, StartDate: w.day0,
		LeadHospitalID: id(1), LeadDepartmentID: "haematology", Steps: steps, At: t0}
	w.handOver = domain.HandOverPlan{PlanID: id(30), ToHospitalID: id(2), Alliance: w.alliance, Adoption: w.punanAdoption,
		By: w.lead, At: t0.Add(2 * time.Hour)}
	w.handedOver = domain.PlanHandedOver{PlanID: id(30), FromHospitalID: id(1), ToHospitalID: id(2), AdoptedVersion: 1,
		LocalDeviations: []domain.LocalDeviation{biosimilar}, At: t0.Add(2 * time.Hour)}
	w.escalated = domain.PlanEscalated{PlanID: id(30), FromHospitalID: id(2), ToHospitalID: id(1),
		Reason: "febrile neutropenia, ANC 0.3×10^9/L", Urgent: true, At: t0.Add(72 * time.Hour)}
	w.flagged = domain.PlanFlagged{PlanID: id(30), ProtocolID: id(20), Version: 1,
		Reason: "vincristine dose not capped at 2 mg", At: t0.Add(48 * time.Hour)}
	return w
}

// given is a readable shorthand for a list of events.
func planGiven(events ...domain.Event) []domain.Event { return events }

// completedBy is the event of actor completing a step.
func planStepCompleted(by domain.Actor, stepID string, at time.Time) domain.PlanStepCompleted {
	return domain.PlanStepCompleted{PlanID: id(30), StepID: stepID, HospitalID: by.HospitalID, DepartmentID: by.DepartmentID,
		UserID: by.UserID, At: at}
}

func TestDecidePlanInitiate(t *testing.T) {
	w := newPlanWorld()
	with := func(f func(*domain.InitiatePlan)) domain.InitiatePlan { c := w.initiate; f(&c); return c }
	shanghai := time.FixedZone("CST", 8*3600)
	// 01:30 on 3 March in Shanghai is still 2 March in UTC: the patient's calendar day counts.
	lateStart := with(func(c *domain.InitiatePlan) { c.StartDate = time.Date(2026, 3, 3, 1, 30, 0, 0, shanghai) })
	lateWant := w.initiated
	lateWant.StartDate = w.day0.AddDate(0, 0, 1)
	lateWant.Steps = nil
	for _, s := range w.initiated.Steps {
		s.DueDate = s.DueDate.AddDate(0, 0, 1)
		lateWant.Steps = append(lateWant.Steps, s)
	}

	runSpecs(t, domain.DecidePlan, []spec[domain.PlanCommand]{
		{name: "initiate from published version", when: w.initiate, want: planGiven(w.initiated)},
		{name: "start date is the calendar date in its own zone", when: lateStart, want: planGiven(lateWant)},
		{name: "initiate twice", given: planGiven(w.initiated), when: w.initiate, wantCode: domain.CodeAlreadyExists},
		{name: "bad plan id", when: with(func(c *domain.InitiatePlan) { c.PlanID = "plan-1" }), wantCode: domain.CodeInvalidInput},
		{name: "patient name as ref", when: with(func(c *domain.InitiatePlan) { c.PatientRef = "张三" }), wantCode: domain.CodeInvalidInput},
		{name: "ID-card number as ref", when: with(func(c *domain.InitiatePlan) { c.PatientRef = "310101199001011234" }), wantCode: domain.CodeInvalidInput},
		{name: "upper-case ref", when: with(func(c *domain.InitiatePlan) { c.PatientRef = "pr_0K3Q9V7M2X8C4N6B1Z5H0J7W3T9R" }), wantCode: domain.CodeInvalidInput},
		{name: "ref too short", when: with(func(c *domain.InitiatePlan) { c.PatientRef = "pr_0k3q9v7m2x" }), wantCode: domain.CodeInvalidInput},
		{name: "ref too long", when: with(func(c *domain.InitiatePlan) { c.PatientRef = "pr_" + strings.Repeat("a", 65) }), wantCode: domain.CodeInvalidInput},
		{name: "version zero", when: with(func(c *domain.InitiatePlan) { c.Version = 0 }), wantCode: domain.CodeInvalidInput},
		{name: "no time", when: with(func(c *domain.InitiatePlan) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "no start date", when: with(func(c *domain.InitiatePlan) { c.StartDate = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "alliance missing", when: with(func(c *domain.InitiatePlan) { c.Alliance = domain.Alliance{} }), wantCode: domain.CodeNotFound},
		{name: "member hospital may not plan", when: with(func(c *domain.InitiatePlan) { c.By = w.punan }), wantCode: domain.CodeForbidden},
		{name: "another department of the lead hospital may not plan",
			when: with(func(c *domain.InitiatePlan) { c.By = w.leadOncology }), wantCode: domain.CodeForbidden},
		{name: "protocol missing", when: with(func(c *domain.InitiatePlan) { c.Protocol = domain.Protocol{} }), wantCode: domain.CodeNotFound},
		{name: "protocol of another alliance",
			when: with(func(c *domain.InitiatePlan) { c.Protocol = w.foreignProtocol }), wantCode: domain.CodeInvalidInput},
		{name: "withdrawn version", when: with(func(c *domain.InitiatePlan) { c.Protocol = w.protocolV1Withdrawn }),
			wantCode: domain.CodeForbiddenTransition},
		{name: "unpublished version", when: with(func(c *domain.InitiatePlan) { c.Version = 3 }), wantCode: domain.CodeNotFound},
		{name: "version without steps", when: with(func(c *domain.InitiatePlan) { c.Protocol, c.Version = w.emptyProtocol, 1 }),
			wantCode: domain.CodeInvalidInput},
		{name: "unknown command", when: nil, wantCode: domain.CodeInvalidInput},
	})
}

func TestDecidePlanHandOver(t *testing.T) {
	w := newPlanWorld()
	with := func(f func(*domain.HandOverPlan)) domain.HandOverPlan { c := w.handOver; f(&c); return c }
	discontinued := domain.PlanDiscontinued{PlanID: id(30), Reason: "patient transferred out of the alliance", At: t0.Add(time.Hour)}
	again := with(func(c *domain.HandOverPlan) { c.At = t0.Add(96 * time.Hour) })
	againWant := w.handedOver
	againWant.At = again.At
	otherPlan := with(func(c *domain.HandOverPlan) { c.PlanID = id(31) })

	runSpecs(t, domain.DecidePlan, []spec[domain.PlanCommand]{
		{name: "hand over to an adopting member", given: planGiven(w.initiated), when: w.handOver, want: planGiven(w.handedOver)},
		{name: "hand over again after an escalation", given: planGiven(w.initiated, w.handedOver, w.escalated),
			when: again, want: planGiven(againWant)},
		{name: "plan missing", when: w.handOver, wantCode: domain.CodeNotFound},
		{name: "command names another plan", given: planGiven(w.initiated), when: otherPlan, wantCode: domain.CodeInvalidInput},
		{name: "closed plan", given: planGiven(w.initiated, discontinued), when: w.handOver, wantCode: domain.CodeForbiddenTransition},
		{name: "bad hospital id", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.ToHospitalID = "浦南医院" }), wantCode: domain.CodeInvalidInput},
		{name: "no time", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "member may not hand over", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.By = w.punan }), wantCode: domain.CodeForbidden},
		{name: "facts of another alliance", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.Alliance = w.otherAlliance }), wantCode: domain.CodeInvalidInput},
		{name: "already held by a member", given: planGiven(w.initiated, w.handedOver),
			when:     with(func(c *domain.HandOverPlan) { c.ToHospitalID, c.Adoption = id(3), w.dachangAdoption }),
			wantCode: domain.CodeForbiddenTransition},
		{name: "flagged plan", given: planGiven(w.initiated, w.flagged), when: w.handOver, wantCode: domain.CodeForbiddenTransition},
		{name: "not a member", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.ToHospitalID = id(6) }), wantCode: domain.CodeNotMember},
		{name: "suspended member", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.ToHospitalID = id(4) }), wantCode: domain.CodeNotMember},
		{name: "to the lead itself", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.ToHospitalID = id(1) }), wantCode: domain.CodeNotMember},
		{name: "member has not adopted the protocol", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.Adoption = domain.Adoption{} }), wantCode: domain.CodeForbiddenTransition},
		{name: "member withdrew its adoption", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.Adoption = w.withdrawnAdoption }), wantCode: domain.CodeForbiddenTransition},
		{name: "adoption of another hospital", given: planGiven(w.initiated),
			when: with(func(c *domain.HandOverPlan) { c.Adoption = w.dachangAdoption }), wantCode: domain.CodeInvalidInput},
		{name: "member adopted another version", given: planGiven(w.initiated),
			when:     with(func(c *domain.HandOverPlan) { c.ToHospitalID, c.Adoption = id(3), w.dachangAdoption }),
			wantCode: domain.CodeForbiddenTransition},
	})
}

func TestDecidePlanSteps(t *testing.T) {
	w := newPlanWorld()
	at := t0.Add(26 * time.Hour)
	complete := domain.CompletePlanStep{PlanID: id(30), StepID: "d1-prednisone", AdministeredDose: "100 mg",
		Notes: "taken with breakfast, no nausea", By: w.punan, At: at}
	withC := func(f func(*domain.CompletePlanStep)) domain.CompletePlanStep { c := complete; f(&c); return c }
	skip := domain.SkipPlanStep{PlanID: id(30), StepID: "d4-prednisone", Reason: "steroid-induced hyperglycaemia, glucose 18 mmol/L", By: w.punan, At: at}
	withS := func(f func(*domain.SkipPlanStep)) domain.SkipPlanStep { c := skip; f(&c); return c }
	skipped := domain.PlanStepSkipped{PlanID: id(30), StepID: "d4-prednisone", HospitalID: id(2), DepartmentID: "haematology",
		UserID: "nurse-li", Reason: skip.Reason, At: at}
	cancelled := domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: "prednisone stopped", FromVersion: 1, ToVersion: 1,
		ContentHash: w.v1.ContentHash, Changes: []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d4-prednisone"}}, At: at}
	onV2 := domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: "move to version 2 with the vincristine cap", FromVersion: 1,
		ToVersion: 2, ContentHash: w.v2.ContentHash, FlagCleared: true, At: at}
	stayOnV1 := domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: "hold vincristine", FromVersion: 1, ToVersion: 1,
		ContentHash: w.v1.ContentHash, Changes: []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d0-vincristine"}}, At: at}
	closed := domain.PlanDiscontinued{PlanID: id(30), Reason: "progressive disease on PET-CT", At: at}

	runSpecs(t, domain.DecidePlan, []spec[domain.PlanCommand]{
		{name: "lead records a step while it holds the plan", given: planGiven(w.initiated),
			when: domain.CompletePlanStep{PlanID: id(30), StepID: "d0-rituximab", By: w.lead, At: t0.Add(5 * time.Hour)},
			want: planGiven(planStepCompleted(w.lead, "d0-rituximab", t0.Add(5*time.Hour)))},
		{name: "member records a step with dose and notes", given: planGiven(w.initiated, w.handedOver), when: complete,
			want: planGiven(domain.PlanStepCompleted{PlanID: id(30), StepID: "d1-prednisone", HospitalID: id(2), DepartmentID: "haematology",
				UserID: "nurse-li", AdministeredDose: "100 mg", Notes: complete.Notes, At: at})},
		{name: "member not yet responsible", given: planGiven(w.initiated), when: complete, wantCode: domain.CodeForbidden},
		{name: "lead after handing over", given: planGiven(w.initiated, w.handedOver),
			when: withC(func(c *domain.CompletePlanStep) { c.By = w.lead }), wantCode: domain.CodeForbidden},
		{name: "another member", given: planGiven(w.initiated, w.handedOver),
			when: withC(func(c *domain.CompletePlanStep) { c.By = w.dachang }), wantCode: domain.CodeForbidden},
		{name: "unknown step", given: planGiven(w.initiated, w.handedOver),
			when: withC(func(c *domain.CompletePlanStep) { c.StepID = "d5-pegfilgrastim" }), wantCode: domain.CodeNotFound},
		{name: "complete twice", given: planGiven(w.initiated, w.handedOver, planStepCompleted(w.punan, "d1-prednisone", at)),
			when: complete, wantCode: domain.CodeForbiddenTransition},
		{name: "complete a skipped step", given: planGiven(w.initiated, w.handedOver, skipped),
			when: withC(func(c *domain.CompletePlanStep) { c.StepID = "d4-prednisone" }), wantCode: domain.CodeForbiddenTransition},
		{name: "complete a cancelled step", given: planGiven(w.initiated, cancelled, w.handedOver),
			when: withC(func(c *domain.CompletePlanStep) { c.StepID = "d4-prednisone" }), wantCode: domain.CodeForbiddenTransition},
		{name: "complete on a withdrawn version", given: planGiven(w.initiated, w.handedOver, w.flagged),
			when: complete, wantCode: domain.CodeForbiddenTransition},
		{name: "a revision on the same version keeps the flag", given: planGiven(w.initiated, w.handedOver, w.flagged, stayOnV1),
			when: complete, wantCode: domain.CodeForbiddenTransition},
		{name: "complete after the revision onto a published version", given: planGiven(w.initiated, w.handedOver, w.flagged, onV2),
			when: complete, want: planGiven(domain.PlanStepCompleted{PlanID: id(30), StepID: "d1-prednisone", HospitalID: id(2),
				DepartmentID: "haematology", UserID: "nurse-li", AdministeredDose: "100 mg", Notes: complete.Notes, At: at})},
		{name: "complete on a closed plan", given: planGiven(w.initiated, w.handedOver, closed), when: complete,
			wantCode: domain.CodeForbiddenTransition},
		{name: "no step id", given: planGiven(w.initiated, w.handedOver),
			when: withC(func(c *domain.CompletePlanStep) { c.StepID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "dose too long", given: planGiven(w.initiated, w.handedOver),
			when: withC(func(c *domain.CompletePlanStep) { c.AdministeredDose = strings.Repeat("1", 101) }), wantCode: domain.CodeInvalidInput},
		{name: "notes too long", given: planGiven(w.initiated, w.handedOver),
			when: withC(func(c *domain.CompletePlanStep) { c.Notes = strings.Repeat("注", 2001) }), wantCode: domain.CodeInvalidInput},
		{name: "no time", given: planGiven(w.initiated, w.handedOver),
			when: withC(func(c *domain.CompletePlanStep) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "bad plan id", given: planGiven(w.initiated, w.handedOver),
			when: withC(func(c *domain.CompletePlanStep) { c.PlanID = "" }), wantCode: domain.CodeInvalidInput},

		{name: "skip with a reason", given: planGiven(w.initiated, w.handedOver), when: skip, want: planGiven(skipped)},
		{name: "skip is allowed on a withdrawn version", given: planGiven(w.initiated, w.handedOver, w.flagged), when: skip,
			want: planGiven(skipped)},
		{name: "skip without a reason", given: planGiven(w.initiated, w.handedOver),
			when: withS(func(c *domain.SkipPlanStep) { c.Reason = " " }), wantCode: domain.CodeInvalidInput},
		{name: "skip without a step id", given: planGiven(w.initiated, w.handedOver),
			when: withS(func(c *domain.SkipPlanStep) { c.StepID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "skip a completed step", given: planGiven(w.initiated, w.handedOver, planStepCompleted(w.punan, "d4-prednisone", at)),
			when: skip, wantCode: domain.CodeForbiddenTransition},
		{name: "skip twice", given: planGiven(w.initiated, w.handedOver, skipped), when: skip, wantCode: domain.CodeForbiddenTransition},
		{name: "skip by a hospital not responsible", given: planGiven(w.initiated, w.handedOver),
			when: withS(func(c *domain.SkipPlanStep) { c.By = w.lead }), wantCode: domain.CodeForbidden},
		{name: "skip an unknown step", given: planGiven(w.initiated, w.handedOver),
			when: withS(func(c *domain.SkipPlanStep) { c.StepID = "d9-prednisone" }), wantCode: domain.CodeNotFound},
		{name: "skip on a missing plan", when: skip, wantCode: domain.CodeNotFound},
	})
}

func TestDecidePlanRevise(t *testing.T) {
	w := newPlanWorld()
	at := t0.Add(50 * time.Hour)
	capDose := domain.PlanStepChange{Action: domain.PlanChangeModify, StepID: "d0-vincristine", DayOffset: 0,
		Activity: "vincristine push", Drug: "vincristine", Dose: "1.4 mg/m2", Route: domain.RouteIV, Notes: "cap at 2 mg absolute dose"}
	gcsf := domain.PlanStepChange{Action: domain.PlanChangeAdd, StepID: "d2-pegfilgrastim", DayOffset: 2,
		Activity: "primary G-CSF prophylaxis", Drug: "pegfilgrastim", Dose: "6 mg", Route: domain.RouteSC}
	stopPred := domain.PlanStepChange{Action: domain.PlanChangeCancel, StepID: "d4-prednisone", Drug: "ignored for a cancel"}
	revise := domain.RevisePlan{PlanID: id(30), Reason: "age 78: cap vincristine, add G-CSF, shorten prednisone",
		Changes: []domain.PlanStepChange{capDose, gcsf, stopPred}, By: w.lead, At: at}
	with := func(f func(*domain.RevisePlan)) domain.RevisePlan { c := revise; f(&c); return c }
	revised := domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: revise.Reason, FromVersion: 1, ToVersion: 1,
		ContentHash: w.v1.ContentHash, At: at, Changes: []domain.PlanStepChange{capDose, gcsf,
			{Action: domain.PlanChangeCancel, StepID: "d4-prednisone"}}}
	moveV2 := domain.RevisePlan{PlanID: id(30), Reason: "version 1 withdrawn: move to version 2", Version: 2, Protocol: w.protocolV1Withdrawn,
		By: w.lead, At: at}
	withM := func(f func(*domain.RevisePlan)) domain.RevisePlan { c := moveV2; f(&c); return c }
	movedV2 := domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: moveV2.Reason, FromVersion: 1, ToVersion: 2,
		ContentHash: w.v2.ContentHash, VersionChanges: stepsAsChanges(w.v2.Steps, 2), FlagCleared: true, At: at}
	// after the first revision: d4-prednisone is cancelled (history), the lead's G-CSF
	// step is its own and stays, every other pending step becomes version 2's.
	onV2 := func(r domain.PlanRevised) domain.PlanRevised {
		r.FlagCleared, r.Revision = false, 2
		r.VersionChanges = stepsAsChanges(w.v2.Steps, 2, "d4-prednisone")
		return r
	}(movedV2)
	d0Done := planStepCompleted(w.lead, "d0-vincristine", t0.Add(4*time.Hour))

	runSpecs(t, domain.DecidePlan, []spec[domain.PlanCommand]{
		{name: "revise pending steps", given: planGiven(w.initiated), when: revise, want: planGiven(revised)},
		{name: "lead revises a plan a member holds", given: planGiven(w.initiated, w.handedOver), when: revise, want: planGiven(revised)},
		{name: "revisions are numbered", given: planGiven(w.initiated, revised),
			when: with(func(c *domain.RevisePlan) {
				c.Changes = []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d3-prednisone"}}
			}),
			want: planGiven(domain.PlanRevised{PlanID: id(30), Revision: 2, Reason: revise.Reason, FromVersion: 1, ToVersion: 1,
				ContentHash: w.v1.ContentHash, At: at, Changes: []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d3-prednisone"}}})},
		{name: "move onto a newer version clears the flag", given: planGiven(w.initiated, w.flagged), when: moveV2, want: planGiven(movedV2)},
		{name: "move onto a newer version without a flag", given: planGiven(w.initiated, revised),
			when: withM(func(c *domain.RevisePlan) { c.Protocol = w.protocol }), want: planGiven(onV2)},
		{name: "move to the current version is no move", given: planGiven(w.initiated),
			when: withM(func(c *domain.RevisePlan) { c.Version = 1 }), wantCode: domain.CodeInvalidInput},
		{name: "move to an older version", given: planGiven(w.initiated, movedV2),
			when: withM(func(c *domain.RevisePlan) { c.Version = 1; c.Protocol = w.protocol }), wantCode: domain.CodeInvalidInput},
		{name: "move to a withdrawn version", given: planGiven(w.initiated),
			when: withM(func(c *domain.RevisePlan) { c.Protocol = w.protocolV2Withdrawn }), wantCode: domain.CodeForbiddenTransition},
		{name: "move to an unpublished version", given: planGiven(w.initiated),
			when: withM(func(c *domain.RevisePlan) { c.Version = 3 }), wantCode: domain.CodeNotFound},
		{name: "move with another protocol", given: planGiven(w.initiated),
			when: withM(func(c *domain.RevisePlan) { c.Protocol = w.foreignProtocol }), wantCode: domain.CodeInvalidInput},
		{name: "member may not revise", given: planGiven(w.initiated, w.handedOver),
			when: with(func(c *domain.RevisePlan) { c.By = w.punan }), wantCode: domain.CodeForbidden},
		{name: "another lead department may not revise", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) { c.By = w.leadOncology }), wantCode: domain.CodeForbidden},
		{name: "no reason", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) { c.Reason = "" }), wantCode: domain.CodeInvalidInput},
		{name: "nothing to revise", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) { c.Changes = nil }), wantCode: domain.CodeInvalidInput},
		{name: "change a completed step", given: planGiven(w.initiated, d0Done), when: revise, wantCode: domain.CodeForbiddenTransition},
		{name: "cancel a cancelled step", given: planGiven(w.initiated, revised),
			when: with(func(c *domain.RevisePlan) { c.Changes = []domain.PlanStepChange{stopPred} }), wantCode: domain.CodeForbiddenTransition},
		{name: "change an unknown step", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) {
				c.Changes = []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d7-prednisone"}}
			}), wantCode: domain.CodeNotFound},
		{name: "add an existing step", given: planGiven(w.initiated, revised),
			when: with(func(c *domain.RevisePlan) { c.Changes = []domain.PlanStepChange{gcsf} }), wantCode: domain.CodeAlreadyExists},
		{name: "change one step twice", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) { c.Changes = []domain.PlanStepChange{capDose, capDose} }), wantCode: domain.CodeInvalidInput},
		{name: "unknown action", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) {
				c.Changes = []domain.PlanStepChange{{Action: "double", StepID: "d0-rituximab"}}
			}), wantCode: domain.CodeInvalidInput},
		{name: "unknown route", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) {
				g := gcsf
				g.Route = "intravenous drip"
				c.Changes = []domain.PlanStepChange{g}
			}),
			wantCode: domain.CodeInvalidInput},
		{name: "drug without a dose", given: planGiven(w.initiated),
			when:     with(func(c *domain.RevisePlan) { g := gcsf; g.Dose = ""; c.Changes = []domain.PlanStepChange{g} }),
			wantCode: domain.CodeInvalidInput},
		{name: "step id unsafe in a URL", given: planGiven(w.initiated),
			when:     with(func(c *domain.RevisePlan) { g := gcsf; g.StepID = "d2/peg"; c.Changes = []domain.PlanStepChange{g} }),
			wantCode: domain.CodeInvalidInput},
		{name: "cancel with a step id unsafe in a URL", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) {
				c.Changes = []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d4 prednisone"}}
			}), wantCode: domain.CodeInvalidInput},
		{name: "negative day", given: planGiven(w.initiated),
			when:     with(func(c *domain.RevisePlan) { g := gcsf; g.DayOffset = -1; c.Changes = []domain.PlanStepChange{g} }),
			wantCode: domain.CodeInvalidInput},
		{name: "too many changes", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) { c.Changes = make([]domain.PlanStepChange, 201) }), wantCode: domain.CodeInvalidInput},
		{name: "revise a completed plan", given: planGiven(w.initiated, domain.PlanCompleted{PlanID: id(30), At: at}),
			when: revise, wantCode: domain.CodeForbiddenTransition},
	})
}

func TestDecidePlanDeviations(t *testing.T) {
	w := newPlanWorld()
	at := t0.Add(30 * time.Hour)
	report := domain.ReportPlanDeviation{PlanID: id(30), DeviationID: id(40), StepID: "d1-prednisone",
		Description: "prednisone given 6 hours late: pharmacy delivery delayed", Severity: domain.DeviationSeverityMinor, By: w.punan, At: at}
	withR := func(f func(*domain.ReportPlanDeviation)) domain.ReportPlanDeviation { c := report; f(&c); return c }
	reported := domain.PlanDeviationReported{PlanID: id(30), DeviationID: id(40), StepID: "d1-prednisone", Description: report.Description,
		Severity: domain.DeviationSeverityMinor, HospitalID: id(2), DepartmentID: "haematology", UserID: "nurse-li", At: at}
	ack := domain.AcknowledgePlanDeviation{PlanID: id(30), DeviationID: id(40), Note: "acceptable; no change to the plan", By: w.lead, At: at.Add(time.Hour)}
	withA := func(f func(*domain.AcknowledgePlanDeviation)) domain.AcknowledgePlanDeviation {
		c := ack
		f(&c)
		return c
	}
	acked := domain.PlanDeviationAcknowledged{PlanID: id(30), DeviationID: id(40), Note: ack.Note, At: ack.At}

	runSpecs(t, domain.DecidePlan, []spec[domain.PlanCommand]{
		{name: "member reports a deviation", given: planGiven(w.initiated, w.handedOver), when: report, want: planGiven(reported)},
		{name: "deviation concerning the whole plan", given: planGiven(w.initiated, w.handedOver),
			when: withR(func(c *domain.ReportPlanDeviation) {
				c.StepID, c.Severity, c.Description = "", domain.DeviationSeverityMajor, "body surface area recalculated: weight down 6 kg"
			}),
			want: planGiven(domain.PlanDeviationReported{PlanID: id(30), DeviationID: id(40), Description: "body surface area recalculated: weight down 6 kg",
				Severity: domain.DeviationSeverityMajor, HospitalID: id(2), DepartmentID: "haematology", UserID: "nurse-li", At: at})},
		{name: "reported on a withdrawn version", given: planGiven(w.initiated, w.handedOver, w.flagged), when: report, want: planGiven(reported)},
		{name: "hospital not responsible", given: planGiven(w.initiated, w.handedOver),
			when: withR(func(c *domain.ReportPlanDeviation) { c.By = w.dachang }), wantCode: domain.CodeForbidden},
		{name: "duplicate deviation id", given: planGiven(w.initiated, w.handedOver, reported), when: report, wantCode: domain.CodeAlreadyExists},
		{name: "unknown step", given: planGiven(w.initiated, w.handedOver),
			when: withR(func(c *domain.ReportPlanDeviation) { c.StepID = "d9-prednisone" }), wantCode: domain.CodeNotFound},
		{name: "unknown severity", given: planGiven(w.initiated, w.handedOver),
			when: withR(func(c *domain.ReportPlanDeviation) { c.Severity = "critical" }), wantCode: domain.CodeInvalidInput},
		{name: "no description", given: planGiven(w.initiated, w.handedOver),
			when: withR(func(c *domain.ReportPlanDeviation) { c.Description = "" }), wantCode: domain.CodeInvalidInput},
		{name: "description too long", given: planGiven(w.initiated, w.handedOver),
			when: withR(func(c *domain.ReportPlanDeviation) { c.Description = strings.Repeat("延", 1001) }), wantCode: domain.CodeInvalidInput},
		{name: "bad deviation id", given: planGiven(w.initiated, w.handedOver),
			when: withR(func(c *domain.ReportPlanDeviation) { c.DeviationID = "dev-1" }), wantCode: domain.CodeInvalidInput},
		{name: "report on a missing plan", when: report, wantCode: domain.CodeNotFound},

		{name: "lead acknowledges", given: planGiven(w.initiated, w.handedOver, reported), when: ack, want: planGiven(acked)},
		{name: "acknowledge twice", given: planGiven(w.initiated, w.handedOver, reported, acked), when: ack, wantCode: domain.CodeForbiddenTransition},
		{name: "acknowledge an unknown deviation", given: planGiven(w.initiated, w.handedOver), when: ack, wantCode: domain.CodeNotFound},
		{name: "member may not acknowledge", given: planGiven(w.initiated, w.handedOver, reported),
			when: withA(func(c *domain.AcknowledgePlanDeviation) { c.By = w.punan }), wantCode: domain.CodeForbidden},
		{name: "note too long", given: planGiven(w.initiated, w.handedOver, reported),
			when: withA(func(c *domain.AcknowledgePlanDeviation) { c.Note = strings.Repeat("x", 1001) }), wantCode: domain.CodeInvalidInput},
		{name: "bad id to acknowledge", given: planGiven(w.initiated, w.handedOver, reported),
			when: withA(func(c *domain.AcknowledgePlanDeviation) { c.DeviationID = "" }), wantCode: domain.CodeInvalidInput},
	})
}

func TestDecidePlanEscalateAndClose(t *testing.T) {
	w := newPlanWorld()
	at := t0.Add(72 * time.Hour)
	escalate := domain.EscalatePlan{PlanID: id(30), Reason: w.escalated.Reason, Urgent: true, By: w.punan, At: at}
	withE := func(f func(*domain.EscalatePlan)) domain.EscalatePlan { c := escalate; f(&c); return c }
	end := t0.AddDate(0, 0, 5)
	complete := domain.CompletePlan{PlanID: id(30), By: w.lead, At: end}
	discontinue := domain.DiscontinuePlan{PlanID: id(30), Reason: "progressive disease on PET-CT; switching to salvage therapy", By: w.lead, At: end}
	reported := domain.PlanDeviationReported{PlanID: id(30), DeviationID: id(40), Description: "dose delayed one day",
		Severity: domain.DeviationSeverityMinor, HospitalID: id(2), At: at}
	acked := domain.PlanDeviationAcknowledged{PlanID: id(30), DeviationID: id(40), At: at}

	// allDone accounts for every step: eight recorded by 浦南医院, one skipped.
	allDone := planGiven(w.initiated, w.handedOver)
	for _, s := range w.initiated.Steps[:len(w.initiated.Steps)-1] {
		allDone = append(allDone, planStepCompleted(w.punan, s.StepID, s.DueDate.Add(10*time.Hour)))
	}
	allDone = append(allDone, domain.PlanStepSkipped{PlanID: id(30), StepID: "d4-prednisone", HospitalID: id(2), Reason: "hyperglycaemia", At: end})
	then := func(events ...domain.Event) []domain.Event {
		return append(append([]domain.Event{}, allDone...), events...)
	}
	completed := domain.PlanCompleted{PlanID: id(30), At: end}
	discontinued := domain.PlanDiscontinued{PlanID: id(30), Reason: discontinue.Reason, At: end}

	runSpecs(t, domain.DecidePlan, []spec[domain.PlanCommand]{
		{name: "green-channel escalation", given: planGiven(w.initiated, w.handedOver), when: escalate, want: planGiven(w.escalated)},
		{name: "routine escalation", given: planGiven(w.initiated, w.handedOver),
			when: withE(func(c *domain.EscalatePlan) { c.Urgent, c.Reason = false, "restaging PET-CT after cycle 4" }),
			want: planGiven(domain.PlanEscalated{PlanID: id(30), FromHospitalID: id(2), ToHospitalID: id(1),
				Reason: "restaging PET-CT after cycle 4", At: at})},
		{name: "escalation is allowed on a withdrawn version", given: planGiven(w.initiated, w.handedOver, w.flagged),
			when: escalate, want: planGiven(w.escalated)},
		{name: "lead already holds the plan", given: planGiven(w.initiated), when: escalate, wantCode: domain.CodeForbiddenTransition},
		{name: "escalated plan is held by the lead", given: planGiven(w.initiated, w.handedOver, w.escalated), when: escalate,
			wantCode: domain.CodeForbiddenTransition},
		{name: "escalation by a hospital not responsible", given: planGiven(w.initiated, w.handedOver),
			when: withE(func(c *domain.EscalatePlan) { c.By = w.dachang }), wantCode: domain.CodeForbidden},
		{name: "escalation without a reason", given: planGiven(w.initiated, w.handedOver),
			when: withE(func(c *domain.EscalatePlan) { c.Reason = "" }), wantCode: domain.CodeInvalidInput},
		{name: "escalate a closed plan", given: planGiven(w.initiated, w.handedOver, discontinued), when: escalate,
			wantCode: domain.CodeForbiddenTransition},

		{name: "complete when every step is accounted for", given: allDone, when: complete, want: planGiven(completed)},
		{name: "complete with acknowledged deviations", given: then(reported, acked), when: complete, want: planGiven(completed)},
		{name: "complete with pending steps", given: planGiven(w.initiated, w.handedOver), when: complete, wantCode: domain.CodeForbiddenTransition},
		{name: "complete with an open deviation", given: then(reported), when: complete, wantCode: domain.CodeForbiddenTransition},
		{name: "member may not complete", given: allDone,
			when: domain.CompletePlan{PlanID: id(30), By: w.punan, At: end}, wantCode: domain.CodeForbidden},
		{name: "complete twice", given: then(completed), when: complete, wantCode: domain.CodeForbiddenTransition},
		{name: "complete without a time", given: allDone,
			when: domain.CompletePlan{PlanID: id(30), By: w.lead}, wantCode: domain.CodeInvalidInput},
		{name: "nothing changes a completed plan", given: then(completed),
			when: domain.ReportPlanDeviation{PlanID: id(30), DeviationID: id(41), Description: "late entry", Severity: domain.DeviationSeverityMinor,
				By: w.punan, At: end}, wantCode: domain.CodeForbiddenTransition},

		{name: "discontinue", given: planGiven(w.initiated, w.handedOver), when: discontinue, want: planGiven(discontinued)},
		{name: "discontinue without a reason", given: planGiven(w.initiated),
			when: domain.DiscontinuePlan{PlanID: id(30), By: w.lead, At: end}, wantCode: domain.CodeInvalidInput},
		{name: "member may not discontinue", given: planGiven(w.initiated, w.handedOver),
			when: domain.DiscontinuePlan{PlanID: id(30), Reason: "patient moved away", By: w.punan, At: end}, wantCode: domain.CodeForbidden},
		{name: "discontinue a completed plan", given: then(completed), when: discontinue, wantCode: domain.CodeForbiddenTransition},
		{name: "discontinue a missing plan", when: discontinue, wantCode: domain.CodeNotFound},
	})
}

func TestDecidePlanFlag(t *testing.T) {
	w := newPlanWorld()
	flag := domain.FlagProtocolVersionWithdrawn{PlanID: id(30), ProtocolID: id(20), Version: 1, Reason: w.flagged.Reason, At: w.flagged.At}
	with := func(f func(*domain.FlagProtocolVersionWithdrawn)) domain.FlagProtocolVersionWithdrawn {
		c := flag
		f(&c)
		return c
	}
	movedV2 := domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: "move to version 2", FromVersion: 1, ToVersion: 2,
		ContentHash: w.v2.ContentHash, FlagCleared: true, At: w.flagged.At.Add(time.Hour)}

	runSpecs(t, domain.DecidePlan, []spec[domain.PlanCommand]{
		{name: "flag a plan on the withdrawn version", given: planGiven(w.initiated, w.handedOver), when: flag, want: planGiven(w.flagged)},
		{name: "already flagged yields nothing", given: planGiven(w.initiated, w.flagged), when: flag, want: nil},
		{name: "closed plan yields nothing", given: planGiven(w.initiated, domain.PlanDiscontinued{PlanID: id(30), Reason: "died", At: t0}),
			when: flag, want: nil},
		{name: "plan on another version", given: planGiven(w.initiated, w.flagged, movedV2), when: flag, wantCode: domain.CodeInvalidInput},
		{name: "plan on another protocol", given: planGiven(w.initiated),
			when: with(func(c *domain.FlagProtocolVersionWithdrawn) { c.ProtocolID = id(21) }), wantCode: domain.CodeInvalidInput},
		{name: "missing plan", when: flag, wantCode: domain.CodeNotFound},
		{name: "no reason", given: planGiven(w.initiated),
			when: with(func(c *domain.FlagProtocolVersionWithdrawn) { c.Reason = "" }), wantCode: domain.CodeInvalidInput},
		{name: "bad protocol id", given: planGiven(w.initiated),
			when: with(func(c *domain.FlagProtocolVersionWithdrawn) { c.ProtocolID = "R-CHOP" }), wantCode: domain.CodeInvalidInput},
		{name: "version zero", given: planGiven(w.initiated),
			when: with(func(c *domain.FlagProtocolVersionWithdrawn) { c.Version = 0 }), wantCode: domain.CodeInvalidInput},
		{name: "no time", given: planGiven(w.initiated),
			when: with(func(c *domain.FlagProtocolVersionWithdrawn) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
	})
}

// planFold folds events into a fresh plan.
func planFold(events ...domain.Event) domain.Plan {
	var p domain.Plan
	for _, e := range events {
		p = p.Evolve(e)
	}
	return p
}

func TestPlanQueries(t *testing.T) {
	w := newPlanWorld()
	if got, want := domain.PlanStream(id(30)), "plan-"+id(30); got != want {
		t.Errorf("PlanStream = %q, want %q", got, want)
	}
	if p := planFold(); p.Exists() || p.IsClosed() {
		t.Fatalf("zero plan: Exists %v IsClosed %v, want false false", p.Exists(), p.IsClosed())
	}
	if _, ok := planFold().NextDue(); ok {
		t.Fatal("zero plan has a next due step")
	}

	p := planFold(w.initiated)
	if !p.Exists() || p.IsClosed() || p.ResponsibleHospitalID() != id(1) || !p.HeldByLead() {
		t.Fatalf("initiated plan: Exists %v IsClosed %v responsible %s HeldByLead %v", p.Exists(), p.IsClosed(), p.ResponsibleHospitalID(), p.HeldByLead())
	}
	if got, want := len(p.Steps), 9; got != want {
		t.Fatalf("got %d steps, want %d (4 day-0 drugs and 5 prednisone days)", got, want)
	}
	if s, _ := p.Step("d4-prednisone"); !s.DueDate.Equal(time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("d4-prednisone due %v, want 2026-03-06", s.DueDate)
	}
	if next, _ := p.NextDue(); next.StepID != "d0-rituximab" {
		t.Errorf("next due %q, want d0-rituximab (first of day 0 in schedule order)", next.StepID)
	}

	at := t0.Add(5 * time.Hour)
	gcsf := domain.PlanStepChange{Action: domain.PlanChangeAdd, StepID: "d2-pegfilgrastim", DayOffset: 2,
		Activity: "primary G-CSF prophylaxis", Drug: "pegfilgrastim", Dose: "6 mg", Route: domain.RouteSC}
	events := []domain.Event{w.initiated}
	for _, s := range w.initiated.Steps[:5] { // day 0: four drugs and prednisone
		events = append(events, planStepCompleted(w.lead, s.StepID, at))
	}
	events = append(events,
		domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: "G-CSF, drop day 1 prednisone", FromVersion: 1, ToVersion: 1, ContentHash: w.v1.ContentHash,
			Changes: []domain.PlanStepChange{gcsf, {Action: domain.PlanChangeCancel, StepID: "d1-prednisone"}}, At: at},
		w.handedOver,
		domain.PlanDeviationReported{PlanID: id(30), DeviationID: id(40), StepID: "d2-prednisone", Description: "given late",
			Severity: domain.DeviationSeverityMinor, HospitalID: id(2), At: at},
		domain.PlanDeviationReported{PlanID: id(30), DeviationID: id(41), Description: "weight down 6 kg",
			Severity: domain.DeviationSeverityMajor, HospitalID: id(2), At: at},
		domain.PlanDeviationAcknowledged{PlanID: id(30), DeviationID: id(40), Note: "fine", At: at},
	)
	before := planFold(events[:len(events)-1]...)
	p = planFold(events...)

	if p.ResponsibleHospitalID() != id(2) || p.HeldByLead() {
		t.Errorf("after handover: responsible %s, HeldByLead %v; want %s, false", p.ResponsibleHospitalID(), p.HeldByLead(), id(2))
	}
	if !reflect.DeepEqual(p.LocalDeviations, w.handedOver.LocalDeviations) {
		t.Errorf("local deviations %v, want %v", p.LocalDeviations, w.handedOver.LocalDeviations)
	}
	if p.Revision != 1 {
		t.Errorf("revision %d, want 1", p.Revision)
	}
	next, ok := p.NextDue()
	if !ok || next.StepID != "d2-prednisone" {
		t.Errorf("next due %q (ok %v), want d2-prednisone (d1 was cancelled)", next.StepID, ok)
	}
	if s, _ := p.Step("d2-pegfilgrastim"); s.Status != domain.StepStatusPending || !s.DueDate.Equal(w.day0.AddDate(0, 0, 2)) || s.Dose != "6 mg" {
		t.Errorf("added step %+v, want pending, due day 2, 6 mg", s)
	}
	if s, _ := p.Step("d1-prednisone"); s.Status != domain.StepStatusCancelled {
		t.Errorf("d1-prednisone is %s, want cancelled", s.Status)
	}
	if s, _ := p.Step("d0-doxorubicin"); s.Status != domain.StepStatusCompleted || s.Record == nil ||
		s.Record.HospitalID != id(1) || s.Record.UserID != "dr-zhao" || !s.Record.At.Equal(at) {
		t.Errorf("d0-doxorubicin %+v (record %+v), want completed by dr-zhao of %s at %v", s, s.Record, id(1), at)
	}
	if got := p.PendingSteps(); got != 4 {
		t.Errorf("pending steps %d, want 4 (prednisone days 2-4 and G-CSF)", got)
	}
	open := p.OpenDeviations()
	if len(open) != 1 || open[0].DeviationID != id(41) || open[0].Severity != domain.DeviationSeverityMajor {
		t.Errorf("open deviations %+v, want only %s (major)", open, id(41))
	}
	if len(before.OpenDeviations()) != 2 {
		t.Errorf("folding the acknowledgement changed an earlier state: %d open deviations, want 2", len(before.OpenDeviations()))
	}

	p = p.Evolve(w.escalated)
	if !p.HeldByLead() || len(p.LocalDeviations) != 0 {
		t.Errorf("after escalation: HeldByLead %v, local deviations %v; want true and none", p.HeldByLead(), p.LocalDeviations)
	}
	p = p.Evolve(w.flagged)
	if !p.Flagged() || p.Flag.Version != 1 {
		t.Errorf("flag %+v, want version 1", p.Flag)
	}
	p = p.Evolve(domain.PlanDiscontinued{PlanID: id(30), Reason: "progressive disease", At: at})
	if !p.IsClosed() || p.Status != domain.PlanStatusDiscontinued || p.CloseReason != "progressive disease" {
		t.Errorf("discontinued plan: IsClosed %v status %s reason %q", p.IsClosed(), p.Status, p.CloseReason)
	}
}

// TestEvolveKeepsEarlierStates checks that folding a step event never changes a state
// value handed out before, which replays "as of" an instant rely on.
func TestPlanEvolveKeepsEarlierStates(t *testing.T) {
	w := newPlanWorld()
	before := planFold(w.initiated)
	after := before.Evolve(planStepCompleted(w.lead, "d0-rituximab", t0))
	after = after.Evolve(domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: "r", FromVersion: 1, ToVersion: 1,
		Changes: []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d1-prednisone"}}, At: t0})
	if s, _ := before.Step("d0-rituximab"); s.Status != domain.StepStatusPending || s.Record != nil {
		t.Errorf("earlier state changed: d0-rituximab %+v", s)
	}
	if s, _ := before.Step("d1-prednisone"); s.Status != domain.StepStatusPending {
		t.Errorf("earlier state changed: d1-prednisone %s", s.Status)
	}
	if s, _ := after.Step("d0-rituximab"); s.Status != domain.StepStatusCompleted {
		t.Errorf("d0-rituximab %s, want completed", s.Status)
	}
	if w.initiated.Steps[0].Status != domain.StepStatusPending {
		t.Error("folding changed the event's own steps")
	}
}

// TestPlanErrorsSayWhatToDo spot-checks that refusals tell a hospital IT department
// what is wrong and what to do.
func TestPlanErrorsSayWhatToDo(t *testing.T) {
	w := newPlanWorld()
	tests := []struct {
		name  string
		given []domain.Event
		when  domain.PlanCommand
		want  string
	}{
		{"flagged step", planGiven(w.initiated, w.flagged),
			domain.CompletePlanStep{PlanID: id(30), StepID: "d0-rituximab", By: w.lead, At: t0},
			"the protocol version this plan follows was withdrawn for safety; the lead department must revise the plan first"},
		{"patient ref", nil, func() domain.InitiatePlan { c := w.initiate; c.PatientRef = "张三"; return c }(),
			"pseudonymous token"},
		{"version mismatch", planGiven(w.initiated),
			domain.HandOverPlan{PlanID: id(30), ToHospitalID: id(3), Alliance: w.alliance, Adoption: w.dachangAdoption, By: w.lead, At: t0},
			"the member must adopt version 1, or the lead must revise the plan onto version 2"},
		{"not responsible", planGiven(w.initiated, w.handedOver),
			domain.SkipPlanStep{PlanID: id(30), StepID: "d1-prednisone", Reason: "r", By: w.lead, At: t0},
			"only the hospital responsible for the plan may skip its steps"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := domain.DecidePlan(planFold(tc.given...), tc.when)
			if err == nil || !strings.Contains(domain.ErrorMessage(err), tc.want) {
				t.Fatalf("got error %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "张三") {
				t.Errorf("error echoes the identifying value: %v", err)
			}
		})
	}
}

// stepsAsChanges is what a move onto version v brings for steps already in the plan:
// each step made exactly the version's step, except the ids named.
func stepsAsChanges(steps []domain.ProtocolStep, v int, except ...string) []domain.PlanStepChange {
	var out []domain.PlanStepChange
	for _, s := range steps {
		if slices.Contains(except, s.StepID) {
			continue
		}
		out = append(out, domain.PlanStepChange{Action: domain.PlanChangeModify, StepID: s.StepID, Version: v, DayOffset: s.DayOffset,
			Activity: s.Activity, Drug: s.Drug, Dose: s.Dose, Route: s.Route, Notes: s.Notes})
	}
	return out
}
