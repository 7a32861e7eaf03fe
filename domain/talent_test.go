package domain_test

import (
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// talentWorld is 仁济's alliance (renjiWorld) training people: 陈主任医师 of the lead's
// gastroenterology department mentors 嘉定's 林医生 (师带徒); 林医生 also studies at 仁济
// for three months (进修), and 陈主任医师 is posted to 浦南 (派一送一).
type talentWorld struct {
	renjiWorld
	mentor, apprentice          domain.Practitioner
	dachangDoc, outerDoc, gone  domain.Practitioner // at a suspended member; at a non-member; deactivated
	leadHosp, jiadingHosp, pnHo domain.Hospital
	mID, pID                    string
	started                     domain.MentorshipStarted
	session                     domain.MentorshipSessionLogged
	passed                      domain.MentorshipAssessed
	period                      domain.Window
	planned                     domain.PlacementPlanned
	arrived                     domain.PlacementArrived
	done                        domain.PlacementCompleted
}

func newTalentWorld() talentWorld {
	w := talentWorld{renjiWorld: newRenjiWorld(), mID: id(100), pID: id(101)}
	w.mentor, w.apprentice = w.expert, w.foreignExpert
	reg := func(n byte, hosp byte, name string) domain.Practitioner {
		return domain.Practitioner{}.Evolve(domain.PractitionerRegistered{PractitionerID: id(n), HomeHospitalID: id(hosp),
			HomeDepartmentID: "general", Name: name, Title: "主治医师", Specialties: []string{"全科"}, RegisteredAt: t0.Add(-30 * 24 * time.Hour)})
	}
	w.dachangDoc, w.outerDoc = reg(83, 64, "大场医生"), reg(84, 65, "外院医生")
	w.gone = reg(85, 62, "离职医生").Evolve(domain.PractitionerDeactivated{PractitionerID: id(85), HomeHospitalID: id(62), Reason: "离职", DeactivatedAt: t0.Add(-time.Hour)})
	w.leadHosp = domain.Hospital{ID: id(60), Departments: []domain.Department{{ID: "gastroenterology"}, {ID: "cardiology"}}}
	w.pnHo = domain.Hospital{ID: id(63), Departments: []domain.Department{{ID: "medical-affairs"}, {ID: "general"}}}
	w.started = domain.MentorshipStarted{MentorshipID: w.mID, AllianceID: id(61), Programme: "一对一师带徒 2026",
		LeadHospitalID: id(60), LeadDepartmentID: "gastroenterology", MentorID: w.mentor.ID, MentorName: "陈主任医师",
		MentorDepartmentID: "gastroenterology", ApprenticeID: w.apprentice.ID, ApprenticeName: "林医生",
		ApprenticeHospitalID: id(62), ApprenticeDepartmentID: "medical-affairs", Goal: "消化内镜基本操作", StartedAt: t0}
	w.session = domain.MentorshipSessionLogged{MentorshipID: w.mID, AllianceID: id(61), ApprenticeHospitalID: id(62), SessionNo: 1,
		Kind: domain.SessionTeachingRound, SessionAt: t0.Add(24 * time.Hour), DurationMinutes: 90, Patients: 12, LoggedByHospitalID: id(62)}
	w.passed = domain.MentorshipAssessed{MentorshipID: w.mID, AllianceID: id(61), ApprenticeHospitalID: id(62), Outcome: domain.OutcomePass,
		Comment: "能独立完成胃镜检查", AssessedAt: t0.Add(90 * 24 * time.Hour)}
	w.period = domain.Window{Start: t0.Add(7 * 24 * time.Hour), End: t0.Add(97 * 24 * time.Hour)}
	w.planned = domain.PlacementPlanned{PlacementID: w.pID, AllianceID: id(61), Kind: domain.PlacementStudy, Programme: "社区医生进修培训计划",
		Cohort: "第一批", PractitionerID: w.apprentice.ID, PractitionerName: "林医生", HomeHospitalID: id(62), HomeDepartmentID: "medical-affairs",
		HostHospitalID: id(60), HostDepartmentID: "gastroenterology", LeadHospitalID: id(60), LeadDepartmentID: "gastroenterology",
		MemberHospitalID: id(62), Period: w.period, PlannedAt: t0}
	w.arrived = domain.PlacementArrived{PlacementID: w.pID, AllianceID: id(61), MemberHospitalID: id(62), ArrivedAt: w.period.Start}
	w.done = domain.PlacementCompleted{PlacementID: w.pID, AllianceID: id(61), MemberHospitalID: id(62), CompletedAt: w.period.End}
	return w
}

func (w talentWorld) start() domain.StartMentorship {
	return domain.StartMentorship{MentorshipID: w.mID, Alliance: w.alliance, Programme: " 一对一师带徒 2026 ", MentorID: w.mentor.ID, Mentor: w.mentor,
		ApprenticeID: w.apprentice.ID, Apprentice: w.apprentice, Goal: "消化内镜基本操作", By: w.lead, At: t0}
}

func TestDecideStartMentorship(t *testing.T) {
	w := newTalentWorld()
	with := func(f func(*domain.StartMentorship)) domain.StartMentorship { c := w.start(); f(&c); return c }
	secondLead := w.alliance.Evolve(domain.AllianceLeadDepartmentAdded{AllianceID: id(61), HospitalID: id(60), DepartmentID: "cardiology", AddedAt: t0})
	backdated := w.started
	backdated.StartedAt, backdated.PlannedEndAt = t0.Add(-400*24*time.Hour), t0.Add(300*24*time.Hour)
	byCardio := w.started
	byCardio.LeadDepartmentID = "cardiology"
	runSpecs(t, domain.DecideMentorship, []spec[domain.MentorshipCommand]{
		{name: "the lead department pairs its mentor with a member's apprentice", when: w.start(), want: []domain.Event{w.started}},
		{name: "a second lead department may start one too",
			when: with(func(c *domain.StartMentorship) { c.Alliance, c.By = secondLead, w.leadOtherDept }), want: []domain.Event{byCardio}},
		{name: "a programme entered from paper records starts in the past",
			when: with(func(c *domain.StartMentorship) {
				c.StartedAt, c.PlannedEndAt = backdated.StartedAt, backdated.PlannedEndAt
			}),
			want: []domain.Event{backdated}},
		{name: "another department of the lead hospital may not", when: with(func(c *domain.StartMentorship) { c.By = w.leadOtherDept }), wantCode: domain.CodeForbidden},
		{name: "a member may not", when: with(func(c *domain.StartMentorship) { c.By = w.jiading }), wantCode: domain.CodeForbidden},
		{name: "the mentor must be at the lead hospital",
			when: with(func(c *domain.StartMentorship) { c.MentorID, c.Mentor = w.apprentice.ID, w.apprentice }), wantCode: domain.CodeForbidden},
		{name: "an unregistered mentor is refused like a foreign one",
			when: with(func(c *domain.StartMentorship) { c.MentorID, c.Mentor = id(99), domain.Practitioner{} }), wantCode: domain.CodeForbidden},
		{name: "the apprentice must not be at the lead",
			when: with(func(c *domain.StartMentorship) { c.ApprenticeID, c.Apprentice = w.expert2, w.expert2P }), wantCode: domain.CodeNotMember},
		{name: "the apprentice's hospital must be a member",
			when: with(func(c *domain.StartMentorship) { c.ApprenticeID, c.Apprentice = w.outerDoc.ID, w.outerDoc }), wantCode: domain.CodeNotMember},
		{name: "a suspended member's apprentice is refused",
			when: with(func(c *domain.StartMentorship) { c.ApprenticeID, c.Apprentice = w.dachangDoc.ID, w.dachangDoc }), wantCode: domain.CodeNotMember},
		{name: "a deactivated apprentice is refused",
			when: with(func(c *domain.StartMentorship) { c.ApprenticeID, c.Apprentice = w.gone.ID, w.gone }), wantCode: domain.CodeForbiddenTransition},
		{name: "an unregistered apprentice is not found",
			when: with(func(c *domain.StartMentorship) { c.ApprenticeID, c.Apprentice = id(98), domain.Practitioner{} }), wantCode: domain.CodeNotFound},
		{name: "a programme is required", when: with(func(c *domain.StartMentorship) { c.Programme = " " }), wantCode: domain.CodeInvalidInput},
		{name: "a goal holding a phone number is refused", when: with(func(c *domain.StartMentorship) { c.Goal = "联系 13800138000" }), wantCode: domain.CodeInvalidInput},
		{name: "a start in the future is refused", when: with(func(c *domain.StartMentorship) { c.StartedAt = t0.Add(time.Hour) }), wantCode: domain.CodeInvalidInput},
		{name: "a start beyond the backdating limit is refused",
			when: with(func(c *domain.StartMentorship) { c.StartedAt = t0.Add(-domain.MaxTalentBackdate - time.Hour) }), wantCode: domain.CodeInvalidInput},
		{name: "a planned end before the start is refused", when: with(func(c *domain.StartMentorship) { c.PlannedEndAt = t0.Add(-time.Hour) }), wantCode: domain.CodeInvalidInput},
		{name: "a planned end beyond five years is refused",
			when: with(func(c *domain.StartMentorship) { c.PlannedEndAt = t0.Add(domain.MaxMentorshipSpan + time.Hour) }), wantCode: domain.CodeInvalidInput},
		{name: "an unknown alliance is not found", when: with(func(c *domain.StartMentorship) { c.Alliance = domain.Alliance{} }), wantCode: domain.CodeNotFound},
		{name: "a bad id is refused", when: with(func(c *domain.StartMentorship) { c.MentorshipID = "x" }), wantCode: domain.CodeInvalidInput},
		{name: "a started mentorship cannot start again", given: []domain.Event{w.started}, when: w.start(), wantCode: domain.CodeAlreadyExists},
	})
}

func TestDecideMentorshipFollowUps(t *testing.T) {
	w := newTalentWorld()
	log := func(f func(*domain.LogMentorshipSession)) domain.MentorshipCommand {
		c := domain.LogMentorshipSession{MentorshipID: w.mID, Kind: domain.SessionTeachingRound, SessionAt: t0.Add(24 * time.Hour),
			DurationMinutes: 90, Patients: 12, By: w.jiading, At: t0.Add(48 * time.Hour)}
		if f != nil {
			f(&c)
		}
		return c
	}
	assess := func(outcome string, f func(*domain.AssessMentorship)) domain.MentorshipCommand {
		c := domain.AssessMentorship{MentorshipID: w.mID, Alliance: w.alliance, Outcome: outcome, Comment: "能独立完成胃镜检查",
			AssessedAt: t0.Add(90 * 24 * time.Hour), By: w.lead, At: t0.Add(91 * 24 * time.Hour)}
		if f != nil {
			f(&c)
		}
		return c
	}
	complete := func(by domain.Actor) domain.MentorshipCommand {
		return domain.CompleteMentorship{MentorshipID: w.mID, Alliance: w.alliance, By: by, At: t0.Add(100 * 24 * time.Hour)}
	}
	withdraw := func(by domain.Actor) domain.MentorshipCommand {
		return domain.WithdrawMentorship{MentorshipID: w.mID, Alliance: w.alliance, Reason: "调岗", By: by, At: t0.Add(50 * 24 * time.Hour)}
	}
	second := w.session
	second.SessionNo, second.Kind, second.SessionAt, second.DurationMinutes, second.Patients, second.Procedures, second.LoggedByHospitalID =
		2, domain.SessionSupervisedProcedure, t0.Add(30*24*time.Hour), 240, 3, 3, id(60)
	failed := w.passed
	failed.Outcome = domain.OutcomeFail
	completed := domain.MentorshipCompleted{MentorshipID: w.mID, AllianceID: id(61), ApprenticeHospitalID: id(62), Sessions: 1, CompletedAt: t0.Add(100 * 24 * time.Hour)}
	withdrawnByMember := domain.MentorshipWithdrawn{MentorshipID: w.mID, AllianceID: id(61), ApprenticeHospitalID: id(62), Reason: "调岗", WithdrawnAt: t0.Add(50 * 24 * time.Hour)}
	withdrawnByLead := withdrawnByMember
	withdrawnByLead.ByLead = true
	s := []domain.Event{w.started}
	ss := []domain.Event{w.started, w.session}
	runSpecs(t, domain.DecideMentorship, []spec[domain.MentorshipCommand]{
		{name: "the apprentice's hospital logs a teaching round", given: s, when: log(nil), want: []domain.Event{w.session}},
		{name: "the mentor's hospital logs a supervised procedure", given: ss, when: log(func(c *domain.LogMentorshipSession) {
			c.Kind, c.SessionAt, c.DurationMinutes, c.Patients, c.Procedures, c.By, c.At = domain.SessionSupervisedProcedure, second.SessionAt, 240, 3, 3, w.leadOtherDept, second.SessionAt
		}), want: []domain.Event{second}},
		{name: "another member may not log", given: s, when: log(func(c *domain.LogMentorshipSession) { c.By = w.punan }), wantCode: domain.CodeForbidden},
		{name: "an unknown kind is refused", given: s, when: log(func(c *domain.LogMentorshipSession) { c.Kind = "karaoke" }), wantCode: domain.CodeInvalidInput},
		{name: "a zero duration is refused", given: s, when: log(func(c *domain.LogMentorshipSession) { c.DurationMinutes = 0 }), wantCode: domain.CodeInvalidInput},
		{name: "a session over twelve hours is refused", given: s, when: log(func(c *domain.LogMentorshipSession) { c.DurationMinutes = domain.MaxSessionMinutes + 1 }), wantCode: domain.CodeInvalidInput},
		{name: "a negative count is refused", given: s, when: log(func(c *domain.LogMentorshipSession) { c.Procedures = -1 }), wantCode: domain.CodeInvalidInput},
		{name: "a count over the bound is refused", given: s, when: log(func(c *domain.LogMentorshipSession) { c.Patients = 1001 }), wantCode: domain.CodeInvalidInput},
		{name: "a note with an ID-card number is refused", given: s, when: log(func(c *domain.LogMentorshipSession) { c.Note = "患者 310115199001011234" }), wantCode: domain.CodeInvalidInput},
		{name: "a session before the start is refused", given: s, when: log(func(c *domain.LogMentorshipSession) { c.SessionAt = t0.Add(-time.Hour) }), wantCode: domain.CodeInvalidInput},
		{name: "a session in the future is refused", given: s, when: log(func(c *domain.LogMentorshipSession) { c.SessionAt = c.At.Add(time.Minute) }), wantCode: domain.CodeInvalidInput},
		{name: "a session of an unknown mentorship is not found", when: log(nil), wantCode: domain.CodeNotFound},
		{name: "no session after completion", given: []domain.Event{w.started, w.session, w.passed, completed},
			when: log(func(c *domain.LogMentorshipSession) {
				c.SessionAt, c.At = t0.Add(101*24*time.Hour), t0.Add(101*24*time.Hour)
			}), wantCode: domain.CodeForbiddenTransition},
		{name: "no session after withdrawal", given: []domain.Event{w.started, withdrawnByMember},
			when: log(func(c *domain.LogMentorshipSession) {
				c.SessionAt, c.At = t0.Add(60*24*time.Hour), t0.Add(60*24*time.Hour)
			}), wantCode: domain.CodeForbiddenTransition},

		{name: "the lead department assesses", given: ss, when: assess(domain.OutcomePass, nil), want: []domain.Event{w.passed}},
		{name: "a member may not assess", given: ss, when: assess(domain.OutcomePass, func(c *domain.AssessMentorship) { c.By = w.jiading }), wantCode: domain.CodeForbidden},
		{name: "another department of the lead may not assess", given: ss, when: assess(domain.OutcomePass, func(c *domain.AssessMentorship) { c.By = w.leadOtherDept }), wantCode: domain.CodeForbidden},
		{name: "an unknown outcome is refused", given: ss, when: assess("great", nil), wantCode: domain.CodeInvalidInput},
		{name: "an assessment needs a comment", given: ss, when: assess(domain.OutcomePass, func(c *domain.AssessMentorship) { c.Comment = "" }), wantCode: domain.CodeInvalidInput},
		{name: "an assessment before the latest session is refused", given: ss,
			when: assess(domain.OutcomePass, func(c *domain.AssessMentorship) { c.AssessedAt = t0.Add(time.Hour) }), wantCode: domain.CodeInvalidInput},

		{name: "the lead completes after a passing assessment", given: []domain.Event{w.started, w.session, w.passed}, when: complete(w.lead), want: []domain.Event{completed}},
		{name: "completion needs a passing latest assessment", given: []domain.Event{w.started, w.session, w.passed, failed}, when: complete(w.lead), wantCode: domain.CodeForbiddenTransition},
		{name: "completion needs an assessment", given: ss, when: complete(w.lead), wantCode: domain.CodeForbiddenTransition},
		{name: "completion needs a session", given: []domain.Event{w.started, w.passed}, when: complete(w.lead), wantCode: domain.CodeForbiddenTransition},
		{name: "the apprentice's hospital may not complete", given: []domain.Event{w.started, w.session, w.passed}, when: complete(w.jiading), wantCode: domain.CodeForbidden},
		{name: "a completed mentorship cannot complete again", given: []domain.Event{w.started, w.session, w.passed, completed}, when: complete(w.lead), wantCode: domain.CodeForbiddenTransition},

		{name: "the apprentice's hospital withdraws", given: ss, when: withdraw(w.jiading), want: []domain.Event{withdrawnByMember}},
		{name: "the lead withdraws", given: ss, when: withdraw(w.lead), want: []domain.Event{withdrawnByLead}},
		{name: "another member may not withdraw", given: ss, when: withdraw(w.punan), wantCode: domain.CodeForbidden},
		{name: "a withdrawal needs a reason", given: ss, when: domain.WithdrawMentorship{MentorshipID: w.mID, By: w.lead, At: t0.Add(50 * 24 * time.Hour)}, wantCode: domain.CodeInvalidInput},
		{name: "a completed mentorship cannot be withdrawn", given: []domain.Event{w.started, w.session, w.passed, completed},
			when: domain.WithdrawMentorship{MentorshipID: w.mID, Reason: "x", By: w.lead, At: t0.Add(200 * 24 * time.Hour)}, wantCode: domain.CodeForbiddenTransition},
	})
}

func TestMentorshipEvolveCounts(t *testing.T) {
	w := newTalentWorld()
	second := w.session
	second.SessionNo, second.Kind, second.DurationMinutes, second.Patients, second.Procedures = 2, domain.SessionSupervisedProcedure, 240, 3, 3
	var m domain.Mentorship
	for _, e := range []domain.Event{w.started, w.session, second, w.passed} {
		m = m.Evolve(e)
	}
	want := domain.MentorshipSessionCounts{Sessions: 2, Minutes: 330, TeachingRounds: 1, SupervisedProcedure: 1, Patients: 15, Procedures: 3}
	if m.Counts != want || m.Status != domain.MentorshipStatusActive || !m.UpdatedAt.Equal(w.passed.AssessedAt) {
		t.Fatalf("got counts %+v status %s updated %v; want %+v active %v", m.Counts, m.Status, m.UpdatedAt, want, w.passed.AssessedAt)
	}
	if a, ok := m.LatestAssessment(); !ok || a.Outcome != domain.OutcomePass {
		t.Fatalf("latest assessment %+v %v", a, ok)
	}
}

func (w talentWorld) plan() domain.PlanPlacement {
	return domain.PlanPlacement{PlacementID: w.pID, Alliance: w.alliance, Kind: domain.PlacementStudy, Programme: "社区医生进修培训计划", Cohort: "第一批",
		PractitionerID: w.apprentice.ID, Practitioner: w.apprentice, HostDepartmentID: "gastroenterology", Host: w.leadHosp, Period: w.period, By: w.lead, At: t0}
}

func TestDecidePlanPlacement(t *testing.T) {
	w := newTalentWorld()
	with := func(f func(*domain.PlanPlacement)) domain.PlanPlacement { c := w.plan(); f(&c); return c }
	posting := func(c *domain.PlanPlacement) {
		c.Kind, c.PractitionerID, c.Practitioner, c.HostHospitalID, c.HostDepartmentID, c.Host, c.Cohort = domain.PlacementPosting, w.mentor.ID, w.mentor, id(63), "general", w.pnHo, ""
	}
	posted := domain.PlacementPlanned{PlacementID: w.pID, AllianceID: id(61), Kind: domain.PlacementPosting, Programme: "社区医生进修培训计划",
		PractitionerID: w.mentor.ID, PractitionerName: "陈主任医师", HomeHospitalID: id(60), HomeDepartmentID: "gastroenterology",
		HostHospitalID: id(63), HostDepartmentID: "general", LeadHospitalID: id(60), LeadDepartmentID: "gastroenterology",
		MemberHospitalID: id(63), Period: w.period, PlannedAt: t0}
	runSpecs(t, domain.DecidePlacement, []spec[domain.PlacementCommand]{
		{name: "a member's doctor studies in the lead department (进修)", when: w.plan(), want: []domain.Event{w.planned}},
		{name: "naming the lead as host is the same", when: with(func(c *domain.PlanPlacement) { c.HostHospitalID = id(60) }), want: []domain.Event{w.planned}},
		{name: "a lead doctor is posted to a member (派一送一)", when: with(posting), want: []domain.Event{posted}},
		{name: "a member may not plan", when: with(func(c *domain.PlanPlacement) { c.By = w.jiading }), wantCode: domain.CodeForbidden},
		{name: "a study placement is hosted by the lead", when: with(func(c *domain.PlanPlacement) { c.HostHospitalID = id(63) }), wantCode: domain.CodeInvalidInput},
		{name: "a study placement's doctor must be at a member",
			when: with(func(c *domain.PlanPlacement) { c.PractitionerID, c.Practitioner = w.outerDoc.ID, w.outerDoc }), wantCode: domain.CodeNotMember},
		{name: "a posting's doctor must be at the lead",
			when: with(func(c *domain.PlanPlacement) {
				posting(c)
				c.PractitionerID, c.Practitioner = w.apprentice.ID, w.apprentice
			}), wantCode: domain.CodeForbidden},
		{name: "a posting goes to an active member",
			when: with(func(c *domain.PlanPlacement) { posting(c); c.HostHospitalID = id(64) }), wantCode: domain.CodeNotMember},
		{name: "the host department must exist", when: with(func(c *domain.PlanPlacement) { c.HostDepartmentID = "oncology" }), wantCode: domain.CodeInvalidInput},
		{name: "an unknown kind is refused", when: with(func(c *domain.PlanPlacement) { c.Kind = "holiday" }), wantCode: domain.CodeInvalidInput},
		{name: "a period over a year is refused",
			when: with(func(c *domain.PlanPlacement) {
				c.Period.End = c.Period.Start.Add(domain.MaxPlacementPeriod + time.Hour)
			}), wantCode: domain.CodeInvalidInput},
		{name: "a period ending before it starts is refused", when: with(func(c *domain.PlanPlacement) { c.Period.End = c.Period.Start }), wantCode: domain.CodeInvalidInput},
		{name: "a period started beyond the backdating limit is refused",
			when: with(func(c *domain.PlanPlacement) {
				c.Period = domain.Window{Start: t0.Add(-domain.MaxTalentBackdate - 24*time.Hour), End: t0.Add(-domain.MaxTalentBackdate + 24*time.Hour)}
			}), wantCode: domain.CodeInvalidInput},
		{name: "a programme is required", when: with(func(c *domain.PlanPlacement) { c.Programme = "" }), wantCode: domain.CodeInvalidInput},
		{name: "a planned placement cannot be planned again", given: []domain.Event{w.planned}, when: w.plan(), wantCode: domain.CodeAlreadyExists},
	})
}

func TestDecidePlacementFollowUps(t *testing.T) {
	w := newTalentWorld()
	now := w.period.End.Add(24 * time.Hour)
	arrive := func(by domain.Actor, at time.Time) domain.PlacementCommand {
		return domain.RecordPlacementArrival{PlacementID: w.pID, ArrivedAt: at, By: by, At: now}
	}
	complete := func(by domain.Actor, at time.Time) domain.PlacementCommand {
		return domain.CompletePlacement{PlacementID: w.pID, CompletedAt: at, By: by, At: now}
	}
	evaluate := func(by domain.Actor, outcome string) domain.PlacementCommand {
		return domain.EvaluatePlacement{PlacementID: w.pID, Outcome: outcome, Comment: "全科思维处理复杂问题能力提升", By: by, At: now}
	}
	cancel := func(by domain.Actor) domain.PlacementCommand {
		return domain.CancelPlacement{PlacementID: w.pID, Alliance: w.alliance, Reason: "人员紧张, 延至下一批", By: by, At: t0.Add(time.Hour)}
	}
	evaluated := domain.PlacementEvaluated{PlacementID: w.pID, AllianceID: id(61), MemberHospitalID: id(62), Outcome: domain.OutcomeExcellent,
		Comment: "全科思维处理复杂问题能力提升", EvaluatedAt: now}
	cancelled := domain.PlacementCancelled{PlacementID: w.pID, AllianceID: id(61), MemberHospitalID: id(62), Reason: "人员紧张, 延至下一批", CancelledAt: t0.Add(time.Hour)}
	late := w.planned
	late.PlannedAt = w.period.End
	p := []domain.Event{w.planned}
	pa := []domain.Event{w.planned, w.arrived}
	pad := []domain.Event{w.planned, w.arrived, w.done}
	runSpecs(t, domain.DecidePlacement, []spec[domain.PlacementCommand]{
		{name: "the host records the arrival", given: p, when: arrive(w.lead, w.period.Start), want: []domain.Event{w.arrived}},
		{name: "a cohort entered after the fact records its past arrival", given: []domain.Event{late},
			when: arrive(w.lead, w.period.Start), want: []domain.Event{w.arrived}},
		{name: "the home hospital may record it", given: p, when: arrive(w.jiading, w.period.Start), want: []domain.Event{w.arrived}},
		{name: "another member may not", given: p, when: arrive(w.punan, w.period.Start), wantCode: domain.CodeForbidden},
		{name: "an arrival long before the period is refused", given: p, when: arrive(w.lead, w.period.Start.Add(-domain.ArriveEarly-time.Hour)), wantCode: domain.CodeInvalidInput},
		{name: "an arrival after the period is refused", given: p, when: arrive(w.lead, w.period.End), wantCode: domain.CodeInvalidInput},
		{name: "an arrival in the future is refused", given: p, when: domain.RecordPlacementArrival{PlacementID: w.pID, ArrivedAt: t0.Add(8 * 24 * time.Hour), By: w.lead, At: t0}, wantCode: domain.CodeInvalidInput},
		{name: "no second arrival", given: pa, when: arrive(w.lead, w.period.Start), wantCode: domain.CodeForbiddenTransition},
		{name: "an unknown placement is not found", when: arrive(w.lead, w.period.Start), wantCode: domain.CodeNotFound},

		{name: "the host completes", given: pa, when: complete(w.lead, w.period.End), want: []domain.Event{w.done}},
		{name: "completion before the arrival is refused", given: pa, when: complete(w.lead, w.period.Start.Add(-time.Hour)), wantCode: domain.CodeInvalidInput},
		{name: "completion long after the period is refused", given: pa,
			when:     domain.CompletePlacement{PlacementID: w.pID, CompletedAt: w.period.End.Add(domain.MaxPlacementOverrun + time.Hour), By: w.lead, At: w.period.End.Add(60 * 24 * time.Hour)},
			wantCode: domain.CodeInvalidInput},
		{name: "a planned placement cannot complete", given: p, when: complete(w.lead, w.period.End), wantCode: domain.CodeForbiddenTransition},

		{name: "the host evaluates a completed placement", given: pad, when: evaluate(w.lead, domain.OutcomeExcellent), want: []domain.Event{evaluated}},
		{name: "the home hospital may not evaluate", given: pad, when: evaluate(w.jiading, domain.OutcomePass), wantCode: domain.CodeForbidden},
		{name: "an arrived placement is not evaluated yet", given: pa, when: evaluate(w.lead, domain.OutcomePass), wantCode: domain.CodeForbiddenTransition},
		{name: "a placement is evaluated once", given: []domain.Event{w.planned, w.arrived, w.done, evaluated}, when: evaluate(w.lead, domain.OutcomePass), wantCode: domain.CodeForbiddenTransition},
		{name: "an unknown outcome is refused", given: pad, when: evaluate(w.lead, "ok"), wantCode: domain.CodeInvalidInput},

		{name: "the lead cancels a planned placement", given: p, when: cancel(w.lead), want: []domain.Event{cancelled}},
		{name: "the member side cancels", given: p, when: cancel(w.jiading), want: []domain.Event{cancelled}},
		{name: "another member may not cancel", given: p, when: cancel(w.punan), wantCode: domain.CodeForbidden},
		{name: "an arrived placement is not cancelled", given: pa, when: cancel(w.lead), wantCode: domain.CodeForbiddenTransition},
		{name: "a cancellation needs a reason", given: p, when: domain.CancelPlacement{PlacementID: w.pID, By: w.lead, At: t0.Add(time.Hour)}, wantCode: domain.CodeInvalidInput},
	})
}

func TestVisitReportCountsAdmitted(t *testing.T) {
	w := newRenjiWorld()
	given := []domain.Event{w.requested, w.assigned, w.checkedIn}
	at := w.ws.Start.Add(time.Hour)
	report := func(r domain.VisitReport) domain.DispatchCommand {
		return domain.ReportVisit{DispatchID: w.dispatchID, Report: r, By: w.lead, At: at}
	}
	ok := domain.VisitReport{PatientsSeen: 86, PatientsAdmitted: 10, ProceduresGuided: 4, TeachingSessions: 2, Summary: "坐诊"}
	runSpecs(t, domain.DecideDispatch, []spec[domain.DispatchCommand]{
		{name: "a report counts the patients admitted", given: given, when: report(ok),
			want: []domain.Event{domain.DispatchVisitReported{DispatchID: w.dispatchID, ExpertID: w.expertID, Report: ok, ReportedAt: at}}},
		{name: "admitted cannot be negative", given: given, when: report(domain.VisitReport{PatientsSeen: 3, PatientsAdmitted: -1, Summary: "x"}), wantCode: domain.CodeInvalidInput},
		{name: "admitted cannot exceed seen", given: given, when: report(domain.VisitReport{PatientsSeen: 3, PatientsAdmitted: 4, Summary: "x"}), wantCode: domain.CodeInvalidInput},
		{name: "admitted is bounded", given: given, when: report(domain.VisitReport{PatientsSeen: 100001, PatientsAdmitted: 100001, Summary: "x"}), wantCode: domain.CodeInvalidInput},
	})
}

// TestVisitReportedBeforeAdmittedCountsLoads: a report stored before patientsAdmitted
// existed decodes with 0 admitted and its other counts intact.
func TestVisitReportedBeforeAdmittedCountsLoads(t *testing.T) {
	old := `{"dispatchId":"` + id(70) + `","expertId":"` + id(80) + `","report":{"patientsSeen":312,"proceduresGuided":24,"teachingSessions":6,"summary":"首月"},"reportedAt":"2026-03-09T08:00:00Z"}`
	e, err := domain.DecodeEvent("DispatchVisitReported", 1, []byte(old))
	if err != nil {
		t.Fatal(err)
	}
	r := e.(domain.DispatchVisitReported).Report
	if r.PatientsSeen != 312 || r.PatientsAdmitted != 0 || r.ProceduresGuided != 24 || r.TeachingSessions != 6 {
		t.Fatalf("decoded %+v", r)
	}
	var d domain.Dispatch
	d = d.Evolve(e).Evolve(domain.DispatchVisitReported{DispatchID: id(70), Report: domain.VisitReport{PatientsSeen: 10, PatientsAdmitted: 2}})
	if d.Totals.PatientsSeen != 322 || d.Totals.PatientsAdmitted != 2 {
		t.Fatalf("totals %+v", d.Totals)
	}
}
