package projections_test

import (
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// scenario is a scripted alliance: a lymphoma alliance led by a haematology department,
// two members, a protocol with two versions (the first withdrawn), a plan handed over
// and escalated back, dispatches and consults.
type scenario struct {
	t0                          time.Time
	lead, m1, m2                string
	alliance, protocol          string
	plan, plan2                 string
	dispatch, dispatch2, expert string
	consult, consult2           string
	doctor, retired             string // practitioners of the lead hospital (the expert above is a legacy free-form id)
	leadActor, m1Actor          domain.Actor
	planPositions               []eventstore.Position
	head                        eventstore.Position
}

func newScenario() *scenario {
	s := &scenario{t0: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		lead: newID(), m1: newID(), m2: newID(), alliance: newID(), protocol: newID(), plan: newID(), plan2: newID(),
		dispatch: newID(), dispatch2: newID(), expert: newID(), consult: newID(), consult2: newID(),
		doctor: newID(), retired: newID()}
	s.leadActor = domain.Actor{HospitalID: s.lead, DepartmentID: "haematology", UserID: "dr-wang", Role: "lead"}
	s.m1Actor = domain.Actor{HospitalID: s.m1, DepartmentID: "haematology", UserID: "dr-li", Role: "member"}
	return s
}

var protocolSteps = []domain.ProtocolStep{
	{StepID: "c1d1-rituximab", DayOffset: 0, Activity: "R-CHOP cycle 1", Drug: "rituximab", Dose: "375 mg/m2", Route: domain.RouteIV},
	{StepID: "c2d1-rituximab", DayOffset: 21, Activity: "R-CHOP cycle 2", Drug: "rituximab", Dose: "375 mg/m2", Route: domain.RouteIV},
	{StepID: "c3d1-rituximab", DayOffset: 42, Activity: "R-CHOP cycle 3", Drug: "rituximab", Dose: "375 mg/m2", Route: domain.RouteIV},
}

func planSteps(start time.Time) []domain.PlanStep {
	out := make([]domain.PlanStep, len(protocolSteps))
	for i, st := range protocolSteps {
		out[i] = domain.PlanStep{StepID: st.StepID, DayOffset: st.DayOffset, DueDate: start.AddDate(0, 0, st.DayOffset),
			Activity: st.Activity, Drug: st.Drug, Dose: st.Dose, Route: st.Route, Status: domain.StepStatusPending}
	}
	return out
}

// run appends the whole scenario to store.
func (s *scenario) run(t testing.TB, store eventstore.Store) {
	t.Helper()
	at := func(h int) time.Time { return s.t0.Add(time.Duration(h) * time.Hour) }
	app := func(stream string, actor domain.Actor, when time.Time, evs ...domain.Event) eventstore.AppendResult {
		return appendEvents(t, store, stream, actor, when, evs...)
	}
	admin := domain.Actor{UserID: "admin", Role: "admin"}
	app(domain.HospitalStream(s.lead), admin, at(0), domain.HospitalRegistered{HospitalID: s.lead, Name: "瑞金医院", RegionCode: "310101",
		Level: domain.LevelTertiary, Departments: []domain.Department{{ID: "haematology", Name: "血液科"}}})
	app(domain.HospitalStream(s.m1), admin, at(0), domain.HospitalRegistered{HospitalID: s.m1, Name: "浦东医院", RegionCode: "310115",
		Level: domain.LevelSecondary, Departments: []domain.Department{{ID: "haematology", Name: "血液科"}}})
	app(domain.HospitalStream(s.m2), admin, at(0), domain.HospitalRegistered{HospitalID: s.m2, Name: "周浦社区卫生服务中心", RegionCode: "310115",
		Level: domain.LevelCommunity})
	app(domain.HospitalStream(s.m1), admin, at(0), domain.HospitalDepartmentAdded{HospitalID: s.m1, Department: domain.Department{ID: "cardiology", Name: "心内科"}})

	app(domain.AllianceStream(s.alliance), s.leadActor, at(1),
		domain.AllianceFounded{AllianceID: s.alliance, Name: "淋巴瘤专科联盟", Specialty: "lymphoma", Kind: domain.AllianceSpecialist,
			LeadHospitalID: s.lead, LeadHospitalName: "瑞金医院", LeadDepartmentID: "haematology", LeadRegionCode: "310101", FoundedAt: at(1)},
		domain.AllianceMemberAdmitted{AllianceID: s.alliance, HospitalID: s.m1, HospitalName: "浦东医院", RegionCode: "310115", Tier: domain.TierCore, AdmittedAt: at(1)},
		domain.AllianceMemberAdmitted{AllianceID: s.alliance, HospitalID: s.m2, HospitalName: "周浦社区卫生服务中心", RegionCode: "310115", Tier: domain.TierCommunity, AdmittedAt: at(2)},
		domain.AllianceMemberSuspended{AllianceID: s.alliance, HospitalID: s.m2, Reason: "质控整改", SuspendedAt: at(3)})

	ps := domain.ProtocolStream(s.protocol)
	app(ps, s.leadActor, at(4),
		domain.ProtocolDrafted{ProtocolID: s.protocol, AllianceID: s.alliance, Title: "DLBCL R-CHOP", Indication: "弥漫大B细胞淋巴瘤",
			LeadHospitalID: s.lead, LeadDepartmentID: "haematology", DraftedAt: at(4)},
		domain.ProtocolVersionPublished{ProtocolID: s.protocol, AllianceID: s.alliance, Version: 1, Steps: protocolSteps,
			ContentHash: domain.ProtocolContentHash(protocolSteps, ""), PublishedAt: at(4)})
	app(domain.AdoptionStream(s.protocol, s.m1), s.m1Actor, at(5),
		domain.ProtocolAdopted{ProtocolID: s.protocol, AllianceID: s.alliance, HospitalID: s.m1, Version: 1, AdoptedAt: at(5)},
		domain.AdoptionDeviationDeclared{ProtocolID: s.protocol, AllianceID: s.alliance, HospitalID: s.m1, Version: 1,
			Deviation: domain.LocalDeviation{StepID: "c2d1-rituximab", Kind: domain.DeviationDrugSubstitution,
				Description: "原研药不在目录", Substitute: "rituximab biosimilar", DeclaredAt: at(5)}})

	start := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	plan := domain.PlanStream(s.plan)
	r := app(plan, s.leadActor, at(6), domain.PlanInitiated{PlanID: s.plan, AllianceID: s.alliance, ProtocolID: s.protocol, ProtocolVersion: 1,
		PatientRef: "pr_0123456789abcdefghijklmnop", StartDate: start, LeadHospitalID: s.lead, LeadDepartmentID: "haematology",
		Steps: planSteps(start), At: at(6)})
	s.planPositions = append(s.planPositions, r.Position)
	r = app(plan, s.leadActor, at(7), domain.PlanHandedOver{PlanID: s.plan, FromHospitalID: s.lead, ToHospitalID: s.m1, AdoptedVersion: 1,
		LocalDeviations: []domain.LocalDeviation{{StepID: "c2d1-rituximab", Kind: domain.DeviationDrugSubstitution, Description: "原研药不在目录", DeclaredAt: at(5)}},
		At:              at(7)})
	s.planPositions = append(s.planPositions, r.Position)
	r = app(plan, s.m1Actor, at(24), domain.PlanStepCompleted{PlanID: s.plan, StepID: "c1d1-rituximab", HospitalID: s.m1,
		DepartmentID: "haematology", UserID: "nurse-zhao", AdministeredDose: "700 mg", At: at(24)})
	s.planPositions = append(s.planPositions, r.Position)

	app(ps, s.leadActor, at(30), domain.ProtocolVersionPublished{ProtocolID: s.protocol, AllianceID: s.alliance, Version: 2, Steps: protocolSteps,
		Eligibility: "ECOG 0-2", ContentHash: domain.ProtocolContentHash(protocolSteps, "ECOG 0-2"), ChangeNote: "eligibility", PublishedAt: at(30)})
	app(plan, s.leadActor, at(31), domain.PlanRevised{PlanID: s.plan, Revision: 1, Reason: "延后第三周期", FromVersion: 1, ToVersion: 1,
		Changes: []domain.PlanStepChange{{Action: domain.PlanChangeModify, StepID: "c3d1-rituximab", DayOffset: 49,
			Activity: "R-CHOP cycle 3", Drug: "rituximab", Dose: "375 mg/m2", Route: domain.RouteIV}}, At: at(31)})
	app(plan, s.m1Actor, at(32), domain.PlanDeviationReported{PlanID: s.plan, DeviationID: "dev-1", StepID: "c2d1-rituximab",
		Description: "中性粒细胞减少, 剂量减半", Severity: domain.DeviationSeverityMajor, HospitalID: s.m1, At: at(32)})
	app(ps, s.leadActor, at(33), domain.ProtocolVersionWithdrawn{ProtocolID: s.protocol, AllianceID: s.alliance, Version: 1, Reason: "剂量表错误", WithdrawnAt: at(33)})
	app(plan, s.leadActor, at(33), domain.PlanFlagged{PlanID: s.plan, ProtocolID: s.protocol, Version: 1, Reason: "剂量表错误", At: at(33)})
	app(plan, s.m1Actor, at(34), domain.PlanEscalated{PlanID: s.plan, FromHospitalID: s.m1, ToHospitalID: s.lead, Reason: "高热", Urgent: true, At: at(34)})

	// A second plan, staying with the lead, whose first step is due earlier.
	start2 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	app(domain.PlanStream(s.plan2), s.leadActor, at(35), domain.PlanInitiated{PlanID: s.plan2, AllianceID: s.alliance, ProtocolID: s.protocol,
		ProtocolVersion: 2, PatientRef: "pr_abcdefghijklmnop0123456789", StartDate: start2, LeadHospitalID: s.lead,
		LeadDepartmentID: "haematology", Steps: planSteps(start2), At: at(35)})

	win := domain.Window{Start: at(48), End: at(56)}
	d := domain.DispatchStream(s.dispatch)
	app(d, s.m1Actor, at(36), domain.DispatchRequested{DispatchID: s.dispatch, AllianceID: s.alliance, RequestingHospitalID: s.m1,
		LeadHospitalID: s.lead, LeadDepartmentID: "haematology", Kind: domain.DispatchWardRound, Specialty: "lymphoma", Window: win, RequestedAt: at(36)})
	app(domain.ExpertStream(s.expert), s.leadActor, at(37), domain.ExpertBooked{ExpertID: s.expert, DispatchID: s.dispatch, Window: win})
	app(d, s.leadActor, at(37), domain.ExpertAssigned{DispatchID: s.dispatch, ExpertID: s.expert, ExpertName: "王主任", Window: win, AssignedAt: at(37)})
	app(d, s.leadActor, at(48), domain.ExpertCheckedIn{DispatchID: s.dispatch, ExpertID: s.expert, CheckedInAt: at(48)})
	app(d, s.leadActor, at(55), domain.DispatchVisitReported{DispatchID: s.dispatch, ExpertID: s.expert,
		Report: domain.VisitReport{PatientsSeen: 12, TeachingSessions: 1, Summary: "查房 12 人"}, ReportedAt: at(55)})

	win2 := domain.Window{Start: at(72), End: at(80)}
	d2 := domain.DispatchStream(s.dispatch2)
	app(d2, s.m1Actor, at(38), domain.DispatchRequested{DispatchID: s.dispatch2, AllianceID: s.alliance, RequestingHospitalID: s.m1,
		LeadHospitalID: s.lead, LeadDepartmentID: "haematology", Kind: domain.DispatchClinic, Specialty: "lymphoma", Window: win2, RequestedAt: at(38)})
	app(domain.ExpertStream(s.expert), s.leadActor, at(39), domain.ExpertBooked{ExpertID: s.expert, DispatchID: s.dispatch2, Window: win2})
	app(d2, s.leadActor, at(39), domain.ExpertAssigned{DispatchID: s.dispatch2, ExpertID: s.expert, ExpertName: "王主任", Window: win2, AssignedAt: at(39)})
	app(d2, s.m1Actor, at(40), domain.DispatchCancelled{DispatchID: s.dispatch2, ExpertID: s.expert, Reason: "患者转院", CancelledAt: at(40)})
	app(domain.ExpertStream(s.expert), s.leadActor, at(40), domain.ExpertBookingReleased{ExpertID: s.expert, DispatchID: s.dispatch2, Window: win2, Reason: "cancelled"})

	c := domain.ConsultStream(s.consult)
	app(c, s.m1Actor, at(41), domain.ConsultRequested{ConsultID: s.consult, AllianceID: s.alliance, RequestingHospitalID: s.m1,
		LeadHospitalID: s.lead, LeadDepartmentID: "haematology", RequesterRegionCode: "310115", LeadRegionCode: "310101", CrossRegion: true,
		Specialty: "lymphoma", Urgency: domain.UrgencyEmergency, Question: "高热伴中性粒细胞缺乏", ConsentRef: "JC-1",
		PatientRef: "pr_0123456789abcdefghijklmnop", RequestedAt: at(41), Deadline: at(41).Add(30 * time.Minute)})
	c2 := domain.ConsultStream(s.consult2)
	app(c2, s.m1Actor, at(42), domain.ConsultRequested{ConsultID: s.consult2, AllianceID: s.alliance, RequestingHospitalID: s.m1,
		LeadHospitalID: s.lead, LeadDepartmentID: "haematology", Specialty: "lymphoma", Urgency: domain.UrgencyRoutine, Question: "复查 PET-CT 时机",
		ConsentRef: "JC-2", PatientRef: "pr_abcdefghijklmnop0123456789", RequestedAt: at(42), Deadline: at(42).Add(48 * time.Hour)})
	app(c2, s.leadActor, at(43), domain.ConsultAccepted{ConsultID: s.consult2, SpecialistID: "dr-wang", SpecialistName: "王主任", AcceptedAt: at(43)})
	r = app(c2, s.leadActor, at(44), domain.ConsultOpinionGiven{ConsultID: s.consult2, Opinion: domain.Opinion{Text: "第四周期后复查"},
		WithinDeadline: true, GivenAt: at(44)})
	app(domain.PractitionerStream(s.doctor), s.leadActor, at(45), domain.PractitionerRegistered{PractitionerID: s.doctor, HomeHospitalID: s.lead,
		HomeDepartmentID: "haematology", Name: "王振义", Title: "主治医师", Specialties: []string{"淋巴瘤"}, RegisteredAt: at(45)})
	app(domain.PractitionerStream(s.doctor), s.leadActor, at(46), domain.PractitionerProfileUpdated{PractitionerID: s.doctor, HomeHospitalID: s.lead,
		Name: "王振义", Title: "主任医师", Specialties: []string{"淋巴瘤", "白血病"}, UpdatedAt: at(46)})
	app(domain.PractitionerStream(s.retired), s.leadActor, at(45), domain.PractitionerRegistered{PractitionerID: s.retired, HomeHospitalID: s.lead,
		HomeDepartmentID: "haematology", Name: "陈竺", Title: "主任医师", Specialties: []string{"血液病"}, RegisteredAt: at(45)})
	r = app(domain.PractitionerStream(s.retired), s.leadActor, at(47), domain.PractitionerDeactivated{PractitionerID: s.retired, HomeHospitalID: s.lead,
		Reason: "退休", DeactivatedAt: at(47)})
	s.head = r.Position
}
