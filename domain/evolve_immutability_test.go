package domain_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// foldable is any aggregate state: the zero value is the state before the first event.
type foldable[S any] interface{ Evolve(domain.Event) S }

// checkEvolveImmutable folds events and, from every intermediate state, also folds each
// event on its own (the branches goroutines sharing a cached state take; an event out
// of order is still an input Evolve must not corrupt anything with). It
// then checks that no state, branch or event changed: each must still equal a fresh,
// independent fold of the same events. An Evolve that writes into its receiver's slices
// or maps, or into the event's, makes an earlier state or a sibling branch differ.
func checkEvolveImmutable[S foldable[S]](t *testing.T, events []domain.Event) {
	t.Helper()
	fresh := func(n int) S {
		var s S
		for _, e := range events[:n] {
			s = s.Evolve(e)
		}
		return s
	}
	encoded := make([][]byte, len(events))
	for i, e := range events {
		_, _, data, err := domain.EncodeEvent(e)
		if err != nil {
			t.Fatalf("encode event %d (%T): %v", i, e, err)
		}
		encoded[i] = data
	}

	states := make([]S, len(events)+1)
	for i, e := range events {
		states[i+1] = states[i].Evolve(e)
	}
	type branch struct {
		from, event int
		state       S
	}
	var branches []branch
	for i := range states {
		for j := range events {
			branches = append(branches, branch{from: i, event: j, state: states[i].Evolve(events[j])})
		}
	}

	if reflect.DeepEqual(states[0], states[len(events)]) {
		t.Fatalf("folding %d events left the zero state: the sequence does not exercise Evolve", len(events))
	}
	for i, s := range states {
		if want := fresh(i); !reflect.DeepEqual(s, want) {
			t.Errorf("state after %d events changed when later events were folded:\n got %+v\nwant %+v", i, s, want)
		}
	}
	for _, b := range branches {
		if want := fresh(b.from).Evolve(events[b.event]); !reflect.DeepEqual(b.state, want) {
			t.Errorf("state after %d events then event %d (%T) changed when sibling branches were folded:\n got %+v\nwant %+v",
				b.from, b.event, events[b.event], b.state, want)
		}
	}
	for i, e := range events {
		_, _, data, err := domain.EncodeEvent(e)
		if err != nil || !bytes.Equal(data, encoded[i]) {
			t.Errorf("event %d (%T) changed while folding: %s, then %s (%v)", i, e, encoded[i], data, err)
		}
	}
}

// TestEvolveNeverMutatesSharedState checks every aggregate's Evolve is copy-on-write:
// the command path caches folded states and shares them between goroutines.
func TestEvolveNeverMutatesSharedState(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return at.AddDate(0, 0, n) }
	const (
		alliance = "01JQ0000000000000000000ALL"
		protocol = "01JQ0000000000000000000PRT"
		ruijin   = "01JQ0000000000000000000RJH"
		punan    = "01JQ0000000000000000000PNH"
		jiading  = "01JQ0000000000000000000JDH"
	)
	dev := func(step, kind string, d int) domain.LocalDeviation {
		return domain.LocalDeviation{StepID: step, Kind: kind, Description: "院内无利妥昔单抗，改用生物类似药",
			Substitute: "汉利康", DeclaredAt: day(d)}
	}
	steps := []domain.PlanStep{
		{StepID: "c1-r", DayOffset: 0, DueDate: day(0), Activity: "利妥昔单抗静滴", Drug: "rituximab", Dose: "375 mg/m2", Status: domain.StepStatusPending},
		{StepID: "c1-chop", DayOffset: 1, DueDate: day(1), Activity: "CHOP 化疗", Status: domain.StepStatusPending},
		{StepID: "c2-r", DayOffset: 21, DueDate: day(21), Activity: "利妥昔单抗静滴", Status: domain.StepStatusPending},
		{StepID: "eval", DayOffset: 42, DueDate: day(42), Activity: "PET-CT 疗效评估", Status: domain.StepStatusPending},
	}
	protoSteps := []domain.ProtocolStep{{StepID: "c1-r", Activity: "利妥昔单抗静滴", Drug: "rituximab"}, {StepID: "eval", DayOffset: 42, Activity: "PET-CT"}}
	window := domain.Window{Start: day(7), End: day(9)}
	opinion := domain.Opinion{Text: "考虑急性下壁心肌梗死，建议立即转诊行PCI", Recommendations: []string{"阿司匹林 300 mg 嚼服", "联系胸痛中心"}, AdviseEscalation: true}

	cases := []struct {
		name  string
		check func(*testing.T)
	}{
		{"Hospital", func(t *testing.T) {
			checkEvolveImmutable[domain.Hospital](t, []domain.Event{
				domain.HospitalRegistered{HospitalID: ruijin, Name: "上海交通大学医学院附属瑞金医院", RegionCode: "310101",
					Level: domain.LevelTertiary, Departments: []domain.Department{{ID: "haematology", Name: "血液科"}}},
				domain.HospitalDepartmentAdded{HospitalID: ruijin, Department: domain.Department{ID: "cardiology", Name: "心内科"}},
				domain.HospitalDepartmentAdded{HospitalID: ruijin, Department: domain.Department{ID: "oncology", Name: "肿瘤科"}},
				domain.HospitalDepartmentAdded{HospitalID: ruijin, Department: domain.Department{ID: "icu", Name: "重症医学科"}},
			})
		}},
		{"Alliance", func(t *testing.T) {
			checkEvolveImmutable[domain.Alliance](t, []domain.Event{
				domain.AllianceFounded{AllianceID: alliance, Name: "瑞金淋巴瘤专科联盟", Specialty: "haematology", Kind: "specialist",
					LeadHospitalID: ruijin, LeadHospitalName: "瑞金医院", LeadDepartmentID: "haematology", LeadRegionCode: "310101", FoundedAt: day(0)},
				domain.AllianceMemberAdmitted{AllianceID: alliance, HospitalID: punan, HospitalName: "浦南医院", RegionCode: "310115", Tier: domain.TierMember, AdmittedAt: day(1)},
				domain.AllianceMemberAdmitted{AllianceID: alliance, HospitalID: jiading, HospitalName: "嘉定区中心医院", RegionCode: "310114", Tier: domain.TierCore, AdmittedAt: day(2)},
				domain.AllianceMemberSuspended{AllianceID: alliance, HospitalID: punan, Reason: "质控不达标", SuspendedAt: day(3)},
				domain.AllianceMemberReinstated{AllianceID: alliance, HospitalID: punan, Reason: "整改完成", ReinstatedAt: day(4)},
				domain.AllianceMemberWithdrawn{AllianceID: alliance, HospitalID: jiading, Reason: "自愿退出", WithdrawnAt: day(5)},
				domain.AllianceMemberAdmitted{AllianceID: alliance, HospitalID: jiading, HospitalName: "嘉定区中心医院", RegionCode: "310114", Tier: domain.TierMember, AdmittedAt: day(6)},
			})
		}},
		{"Protocol", func(t *testing.T) {
			checkEvolveImmutable[domain.Protocol](t, []domain.Event{
				domain.ProtocolDrafted{ProtocolID: protocol, AllianceID: alliance, Title: "弥漫大B细胞淋巴瘤 R-CHOP 方案", Indication: "DLBCL",
					LeadHospitalID: ruijin, LeadDepartmentID: "haematology", DraftedAt: day(0)},
				domain.ProtocolVersionPublished{ProtocolID: protocol, AllianceID: alliance, Version: 1, Steps: protoSteps, ContentHash: "h1", PublishedAt: day(1)},
				domain.ProtocolVersionPublished{ProtocolID: protocol, AllianceID: alliance, Version: 2, Steps: protoSteps[:1], ContentHash: "h2", ChangeNote: "取消中期评估", PublishedAt: day(2)},
				domain.ProtocolVersionWithdrawn{ProtocolID: protocol, AllianceID: alliance, Version: 1, Reason: "剂量错误", WithdrawnAt: day(3)},
				domain.ProtocolVersionWithdrawn{ProtocolID: protocol, AllianceID: alliance, Version: 2, Reason: "指南更新", WithdrawnAt: day(4)},
				domain.ProtocolRetired{ProtocolID: protocol, AllianceID: alliance, Reason: "被新方案取代", RetiredAt: day(5)},
			})
		}},
		{"Adoption", func(t *testing.T) {
			checkEvolveImmutable[domain.Adoption](t, []domain.Event{
				domain.ProtocolAdopted{ProtocolID: protocol, AllianceID: alliance, HospitalID: punan, Version: 1, ContentHash: "h1", AdoptedAt: day(0)},
				domain.AdoptionDeviationDeclared{ProtocolID: protocol, AllianceID: alliance, HospitalID: punan, Version: 1, Deviation: dev("c1-r", "substitute", 1)},
				domain.AdoptionDeviationDeclared{ProtocolID: protocol, AllianceID: alliance, HospitalID: punan, Version: 1, Deviation: dev("eval", "omit", 2)},
				domain.AdoptionDeviationRevoked{ProtocolID: protocol, AllianceID: alliance, HospitalID: punan, Version: 1, StepID: "c1-r", Kind: "substitute", Reason: "药品到货", RevokedAt: day(3)},
				domain.AdoptionDeviationDeclared{ProtocolID: protocol, AllianceID: alliance, HospitalID: punan, Version: 1, Deviation: dev("c2-r", "substitute", 4)},
				domain.AdoptionUpgraded{ProtocolID: protocol, AllianceID: alliance, HospitalID: punan, FromVersion: 1, ToVersion: 2, ContentHash: "h2", UpgradedAt: day(5)},
				domain.AdoptionDeviationDeclared{ProtocolID: protocol, AllianceID: alliance, HospitalID: punan, Version: 2, Deviation: dev("c1-r", "substitute", 6)},
				domain.AdoptionWithdrawn{ProtocolID: protocol, AllianceID: alliance, HospitalID: punan, Version: 2, Reason: "停止开展", WithdrawnAt: day(7)},
			})
		}},
		{"Plan", func(t *testing.T) {
			const plan = "01JQ0000000000000000000PLN"
			checkEvolveImmutable[domain.Plan](t, []domain.Event{
				domain.PlanInitiated{PlanID: plan, AllianceID: alliance, ProtocolID: protocol, ProtocolVersion: 1, ContentHash: "h1",
					PatientRef: "pt_7f3a9c", StartDate: day(0), LeadHospitalID: ruijin, LeadDepartmentID: "haematology", Steps: steps, At: day(0)},
				domain.PlanStepCompleted{PlanID: plan, StepID: "c1-r", HospitalID: ruijin, DepartmentID: "haematology", UserID: "dr-wang", AdministeredDose: "600 mg", At: day(0)},
				domain.PlanHandedOver{PlanID: plan, FromHospitalID: ruijin, ToHospitalID: punan, AdoptedVersion: 1,
					LocalDeviations: []domain.LocalDeviation{dev("c2-r", "substitute", 1)}, At: day(1)},
				domain.PlanStepSkipped{PlanID: plan, StepID: "c1-chop", HospitalID: punan, Reason: "中性粒细胞减少", At: day(1)},
				domain.PlanDeviationReported{PlanID: plan, DeviationID: "d1", StepID: "c1-chop", Description: "推迟化疗", Severity: domain.DeviationSeverityMinor, HospitalID: punan, At: day(2)},
				domain.PlanDeviationReported{PlanID: plan, DeviationID: "d2", StepID: "c2-r", Description: "输注反应", Severity: domain.DeviationSeverityMajor, HospitalID: punan, At: day(21)},
				domain.PlanDeviationAcknowledged{PlanID: plan, DeviationID: "d1", Note: "同意", At: day(22)},
				domain.PlanFlagged{PlanID: plan, ProtocolID: protocol, Version: 1, Reason: "版本撤回", At: day(23)},
				domain.PlanRevised{PlanID: plan, Revision: 1, Reason: "升级到第2版", FromVersion: 1, ToVersion: 2, ContentHash: "h2", FlagCleared: true, At: day(24),
					Changes: []domain.PlanStepChange{
						{Action: domain.PlanChangeModify, StepID: "c2-r", DayOffset: 25, Activity: "利妥昔单抗静滴（减速）"},
						{Action: domain.PlanChangeCancel, StepID: "eval"},
						{Action: domain.PlanChangeAdd, StepID: "eval2", DayOffset: 60, Activity: "增强CT评估"},
					}},
				domain.PlanStepCompleted{PlanID: plan, StepID: "c2-r", HospitalID: punan, At: day(25)},
				domain.PlanHandedOn{PlanID: plan, FromHospitalID: punan, ToHospitalID: jiading, ViaAllianceID: "01JQ0000000000000000000AL2", AdoptedVersion: 2,
					LocalDeviations: []domain.LocalDeviation{dev("eval2", "omitted", 2)}, At: day(26)},
				domain.PlanEscalated{PlanID: plan, FromHospitalID: jiading, ToHospitalID: punan, Reason: "发热", At: day(28),
					LocalDeviations: []domain.LocalDeviation{dev("c2-r", "substitute", 2)}},
				domain.PlanEscalated{PlanID: plan, FromHospitalID: punan, ToHospitalID: ruijin, Reason: "疾病进展", Urgent: true, At: day(30)},
				domain.PlanStepCompleted{PlanID: plan, StepID: "eval2", HospitalID: ruijin, At: day(60)},
				domain.PlanCompleted{PlanID: plan, At: day(61)},
			})
		}},
		{"Dispatch", func(t *testing.T) {
			const dispatch = "01JQ0000000000000000000DSP"
			checkEvolveImmutable[domain.Dispatch](t, []domain.Event{
				domain.DispatchRequested{DispatchID: dispatch, AllianceID: alliance, RequestingHospitalID: jiading, LeadHospitalID: ruijin,
					LeadDepartmentID: "haematology", Kind: "visit", Specialty: "haematology", Window: window, Notes: "骨髓穿刺带教", RequestedAt: day(0)},
				domain.ExpertAssigned{DispatchID: dispatch, ExpertID: "dr-li", ExpertName: "李主任", Window: window, AssignedAt: day(1)},
				domain.ExpertReassigned{DispatchID: dispatch, PreviousExpertID: "dr-li", ExpertID: "dr-zhao", ExpertName: "赵主任", Window: window, Reason: "出差", ReassignedAt: day(2)},
				domain.ExpertCheckedIn{DispatchID: dispatch, ExpertID: "dr-zhao", CheckedInAt: day(7)},
				domain.DispatchVisitReported{DispatchID: dispatch, ExpertID: "dr-zhao", Report: domain.VisitReport{PatientsSeen: 12, ProceduresGuided: 3, TeachingSessions: 1, Summary: "查房"}, ReportedAt: day(7)},
				domain.DispatchVisitReported{DispatchID: dispatch, ExpertID: "dr-zhao", Report: domain.VisitReport{PatientsSeen: 8, TeachingSessions: 2, Summary: "讲座"}, ReportedAt: day(8)},
				domain.DispatchCompleted{DispatchID: dispatch, ExpertID: "dr-zhao", CompletedAt: day(9)},
			})
		}},
		{"ExpertSchedule", func(t *testing.T) {
			checkEvolveImmutable[domain.ExpertSchedule](t, []domain.Event{
				domain.ExpertBooked{ExpertID: "dr-zhao", DispatchID: "d-3", Window: domain.Window{Start: day(20), End: day(21)}},
				domain.ExpertBooked{ExpertID: "dr-zhao", DispatchID: "d-1", Window: domain.Window{Start: day(1), End: day(2)}},
				domain.ExpertBooked{ExpertID: "dr-zhao", DispatchID: "d-2", Window: domain.Window{Start: day(10), End: day(11)}},
				domain.ExpertBookingReleased{ExpertID: "dr-zhao", DispatchID: "d-1", Window: domain.Window{Start: day(1), End: day(2)}, Reason: "取消"},
				domain.ExpertBooked{ExpertID: "dr-zhao", DispatchID: "d-2", Window: domain.Window{Start: day(12), End: day(13)}},
				domain.ExpertBooked{ExpertID: "dr-zhao", DispatchID: "d-4", Window: domain.Window{Start: day(5), End: day(6)}},
			})
		}},
		{"Consult", func(t *testing.T) {
			const consult = "01JQ0000000000000000000CNS"
			amended := opinion
			amended.Recommendations = []string{"急诊PCI", "双抗治疗"}
			checkEvolveImmutable[domain.Consult](t, []domain.Event{
				domain.ConsultRequested{ConsultID: consult, AllianceID: alliance, RequestingHospitalID: jiading, LeadHospitalID: ruijin,
					LeadDepartmentID: "cardiology", RequesterRegionCode: "310114", LeadRegionCode: "310101", Specialty: "cardiology",
					Urgency: domain.UrgencyRoutine, Question: "心电图ST段抬高，请会诊", ConsentRef: "consent-81",
					Attachments: []domain.Attachment{{Name: "ecg.pdf", MediaType: "application/pdf", SHA256: "ab", SizeBytes: 2048}},
					PatientRef:  "pt_19be", RequestedAt: day(0), Deadline: day(1)},
				domain.ConsultAccepted{ConsultID: consult, SpecialistID: "dr-chen", SpecialistName: "陈主任", AcceptedAt: day(0)},
				domain.ConsultOpinionGiven{ConsultID: consult, SpecialistID: "dr-chen", SpecialistName: "陈主任", Opinion: opinion, WithinDeadline: true, GivenAt: day(0)},
				domain.ConsultOpinionAmended{ConsultID: consult, Opinion: amended, Reason: "补充", AmendedAt: day(1)},
				domain.ConsultClosed{ConsultID: consult, Outcome: "已转诊", ClosedAt: day(2)},
			})
		}},
		{"IdempotencyClaim", func(t *testing.T) {
			checkEvolveImmutable[domain.IdempotencyClaim](t, []domain.Event{
				domain.IdempotencyKeyClaimed{HospitalID: punan, Operation: "RequestConsult", AggregateID: "01JQ0000000000000000000AG1", ClaimedAt: day(0)},
				domain.IdempotencyKeyClaimed{HospitalID: punan, Operation: "RequestConsult", AggregateID: "01JQ0000000000000000000AG2", ClaimedAt: day(1)},
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.check)
	}
}
