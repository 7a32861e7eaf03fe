package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// renjiWorld is the scenario of the dispatch and expert-schedule tests: 仁济医院's close
// city alliance (紧密型医联体) led by its gastroenterology department, with 嘉定区中心医院
// and 浦南医院 active members and 大场医院 suspended. 仁济 opens a 名医工作站 (standing
// expert workstation) at 嘉定区中心医院 for half a year.
type renjiWorld struct {
	alliance                       domain.Alliance
	lead, leadOtherDept            domain.Actor // 仁济消化科; 仁济心内科 (no authority)
	jiading, punan, dachang, outer domain.Actor // requester; other member; suspended; never admitted
	dispatchID, expertID, expert2  string
	expert, expert2P               domain.Practitioner // 陈主任医师 and 吴副主任医师, both of 仁济's directory
	foreignExpert                  domain.Practitioner // 嘉定's own practitioner: 仁济's alliances cannot book her
	ws                             domain.Window       // the workstation's half year
	requested                      domain.DispatchRequested
	assigned                       domain.ExpertAssigned
	checkedIn                      domain.ExpertCheckedIn
	reported                       domain.DispatchVisitReported
}

func newRenjiWorld() renjiWorld {
	w := renjiWorld{
		lead:          domain.Actor{HospitalID: id(60), DepartmentID: "gastroenterology", UserID: "renji-gi-office", Role: "lead"},
		leadOtherDept: domain.Actor{HospitalID: id(60), DepartmentID: "cardiology", Role: "lead"},
		jiading:       domain.Actor{HospitalID: id(62), DepartmentID: "medical-affairs", UserID: "jd-yiwuke", Role: "member"},
		punan:         domain.Actor{HospitalID: id(63), DepartmentID: "medical-affairs", Role: "member"},
		dachang:       domain.Actor{HospitalID: id(64), DepartmentID: "medical-affairs", Role: "member"},
		outer:         domain.Actor{HospitalID: id(65), DepartmentID: "medical-affairs", Role: "member"},
		dispatchID:    id(70),
		expertID:      id(80),
		expert2:       id(81),
		ws:            domain.Window{Start: t0.Add(7 * 24 * time.Hour), End: t0.Add((7 + 182) * 24 * time.Hour)},
	}
	for _, e := range []domain.Event{
		domain.AllianceFounded{AllianceID: id(61), Name: "仁济医院紧密型医联体", Specialty: "消化内科", Kind: domain.AllianceCity,
			LeadHospitalID: id(60), LeadHospitalName: "上海交通大学医学院附属仁济医院", LeadDepartmentID: "gastroenterology",
			LeadRegionCode: "310115", FoundedAt: t0.Add(-365 * 24 * time.Hour)},
		domain.AllianceMemberAdmitted{AllianceID: id(61), HospitalID: id(62), HospitalName: "嘉定区中心医院", RegionCode: "310114",
			Tier: domain.TierCore, AdmittedAt: t0.Add(-300 * 24 * time.Hour)},
		domain.AllianceMemberAdmitted{AllianceID: id(61), HospitalID: id(63), HospitalName: "浦东新区浦南医院", RegionCode: "310115",
			Tier: domain.TierCore, AdmittedAt: t0.Add(-300 * 24 * time.Hour)},
		domain.AllianceMemberAdmitted{AllianceID: id(61), HospitalID: id(64), HospitalName: "宝山区大场医院", RegionCode: "310113",
			Tier: domain.TierCore, AdmittedAt: t0.Add(-300 * 24 * time.Hour)},
		domain.AllianceMemberSuspended{AllianceID: id(61), HospitalID: id(64), Reason: "质控整改期间暂停", SuspendedAt: t0.Add(-24 * time.Hour)},
	} {
		w.alliance = w.alliance.Evolve(e)
	}
	fold := func(es ...domain.Event) domain.Practitioner {
		var p domain.Practitioner
		for _, e := range es {
			p = p.Evolve(e)
		}
		return p
	}
	w.expert = fold(domain.PractitionerRegistered{PractitionerID: w.expertID, HomeHospitalID: id(60), HomeDepartmentID: "gastroenterology",
		Name: "陈主任医师", Title: "主任医师", Specialties: []string{"消化内镜"}, RegisteredAt: t0.Add(-30 * 24 * time.Hour)})
	w.expert2P = fold(domain.PractitionerRegistered{PractitionerID: w.expert2, HomeHospitalID: id(60), HomeDepartmentID: "gastroenterology",
		Name: "吴副主任医师", Title: "副主任医师", Specialties: []string{"胃肠病"}, RegisteredAt: t0.Add(-30 * 24 * time.Hour)})
	w.foreignExpert = fold(domain.PractitionerRegistered{PractitionerID: id(82), HomeHospitalID: id(62), HomeDepartmentID: "medical-affairs",
		Name: "林医生", Title: "主治医师", Specialties: []string{"全科"}, RegisteredAt: t0.Add(-30 * 24 * time.Hour)})
	w.requested = domain.DispatchRequested{DispatchID: w.dispatchID, AllianceID: id(61), RequestingHospitalID: id(62),
		LeadHospitalID: id(60), LeadDepartmentID: "gastroenterology", Kind: domain.DispatchWorkstation, Specialty: "消化内科·内镜诊疗",
		Window: w.ws, Notes: "名医工作站:每周二、四专家门诊,内镜下微创治疗带教", RequestedAt: t0}
	w.assigned = domain.ExpertAssigned{DispatchID: w.dispatchID, ExpertID: w.expertID, ExpertName: "陈主任医师",
		Window: w.ws, AssignedAt: t0.Add(2 * time.Hour)}
	w.checkedIn = domain.ExpertCheckedIn{DispatchID: w.dispatchID, ExpertID: w.expertID, CheckedInAt: w.ws.Start}
	w.reported = domain.DispatchVisitReported{DispatchID: w.dispatchID, ExpertID: w.expertID, ReportedAt: w.ws.Start.Add(30 * 24 * time.Hour),
		Report: domain.VisitReport{PatientsSeen: 312, ProceduresGuided: 24, TeachingSessions: 6,
			Summary: "首月:专家门诊 8 次,内镜下黏膜病变微创治疗指导 24 例,带教 6 次"}}
	return w
}

// request is the workstation request that produces w.requested.
func (w renjiWorld) request() domain.RequestDispatch {
	return domain.RequestDispatch{DispatchID: w.dispatchID, Alliance: w.alliance, By: w.jiading, Kind: domain.DispatchWorkstation,
		Specialty: w.requested.Specialty, Window: w.ws, Notes: w.requested.Notes, At: t0}
}

func TestDecideDispatch(t *testing.T) {
	w := newRenjiWorld()
	day := 24 * time.Hour
	req := func(f func(*domain.RequestDispatch)) domain.RequestDispatch { c := w.request(); f(&c); return c }
	clinic := domain.Window{Start: t0.Add(day), End: t0.Add(day + 4*time.Hour)}
	requested := []domain.Event{w.requested}
	assigned := []domain.Event{w.requested, w.assigned}
	inProgress := []domain.Event{w.requested, w.assigned, w.checkedIn}
	reported := []domain.Event{w.requested, w.assigned, w.checkedIn, w.reported}
	completed := append(reported[:4:4], domain.DispatchCompleted{DispatchID: w.dispatchID, ExpertID: w.expertID, CompletedAt: w.ws.End})
	cancelled := []domain.Event{w.requested, domain.DispatchCancelled{DispatchID: w.dispatchID, Reason: "院内安排调整", CancelledAt: t0.Add(time.Hour)}}
	assign := domain.AssignExpert{DispatchID: w.dispatchID, ExpertID: w.expertID, ExpertName: "陈主任医师", Expert: w.expert, By: w.lead, At: t0.Add(2 * time.Hour)}
	asg := func(f func(*domain.AssignExpert)) domain.AssignExpert { c := assign; f(&c); return c }
	reassign := domain.ReassignExpert{DispatchID: w.dispatchID, ExpertID: w.expert2, ExpertName: "吴副主任医师", Expert: w.expert2P,
		Reason: "陈主任医师援外任务冲突", By: w.lead, At: t0.Add(3 * 24 * time.Hour)}
	rsg := func(f func(*domain.ReassignExpert)) domain.ReassignExpert { c := reassign; f(&c); return c }
	checkIn := domain.CheckInExpert{DispatchID: w.dispatchID, By: w.lead, At: w.ws.Start}
	report := domain.ReportVisit{DispatchID: w.dispatchID, Report: w.reported.Report, By: w.lead, At: w.reported.ReportedAt}
	rpt := func(f func(*domain.ReportVisit)) domain.ReportVisit { c := report; f(&c); return c }
	complete := domain.CompleteDispatch{DispatchID: w.dispatchID, By: w.jiading, At: w.ws.End}
	cancel := domain.CancelDispatch{DispatchID: w.dispatchID, Reason: "院内安排调整", By: w.jiading, At: t0.Add(time.Hour)}

	runSpecs(t, domain.DecideDispatch, []spec[domain.DispatchCommand]{
		// request
		{name: "request a workstation", when: w.request(), want: []domain.Event{w.requested}},
		{name: "request a half-day clinic", when: req(func(c *domain.RequestDispatch) {
			c.Kind, c.Window, c.Notes = domain.DispatchClinic, clinic, ""
		}), want: []domain.Event{domain.DispatchRequested{DispatchID: w.dispatchID, AllianceID: id(61), RequestingHospitalID: id(62),
			LeadHospitalID: id(60), LeadDepartmentID: "gastroenterology", Kind: domain.DispatchClinic, Specialty: w.requested.Specialty,
			Window: clinic, RequestedAt: t0}}},
		{name: "a workstation may run a full year", when: req(func(c *domain.RequestDispatch) {
			c.Window.End = c.Window.Start.Add(domain.MaxWorkstationWindow)
		}), want: []domain.Event{func() domain.Event {
			e := w.requested
			e.Window.End = e.Window.Start.Add(domain.MaxWorkstationWindow)
			return e
		}()}},
		{name: "request twice", given: requested, when: w.request(), wantCode: domain.CodeAlreadyExists},
		{name: "bad dispatch id", when: req(func(c *domain.RequestDispatch) { c.DispatchID = "dispatch-1" }), wantCode: domain.CodeInvalidInput},
		{name: "unknown kind", when: req(func(c *domain.RequestDispatch) { c.Kind = "consult" }), wantCode: domain.CodeInvalidInput},
		{name: "no specialty", when: req(func(c *domain.RequestDispatch) { c.Specialty = "  " }), wantCode: domain.CodeInvalidInput},
		{name: "notes too long", when: req(func(c *domain.RequestDispatch) { c.Notes = strings.Repeat("注", 2001) }), wantCode: domain.CodeInvalidInput},
		{name: "no time", when: req(func(c *domain.RequestDispatch) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "window without end", when: req(func(c *domain.RequestDispatch) { c.Window.End = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "window ends before it starts", when: req(func(c *domain.RequestDispatch) {
			c.Window = domain.Window{Start: w.ws.End, End: w.ws.Start}
		}), wantCode: domain.CodeInvalidInput},
		{name: "empty window", when: req(func(c *domain.RequestDispatch) { c.Window.End = c.Window.Start }), wantCode: domain.CodeInvalidInput},
		{name: "a clinic longer than 14 days", when: req(func(c *domain.RequestDispatch) {
			c.Kind, c.Window = domain.DispatchClinic, domain.Window{Start: clinic.Start, End: clinic.Start.Add(domain.MaxVisitWindow + time.Minute)}
		}), wantCode: domain.CodeInvalidInput},
		{name: "a workstation longer than a year", when: req(func(c *domain.RequestDispatch) {
			c.Window.End = c.Window.Start.Add(domain.MaxWorkstationWindow + time.Hour)
		}), wantCode: domain.CodeInvalidInput},
		{name: "window already over", when: req(func(c *domain.RequestDispatch) {
			c.Kind, c.Window = domain.DispatchTeaching, domain.Window{Start: t0.Add(-2 * day), End: t0}
		}), wantCode: domain.CodeInvalidInput},
		{name: "no alliance", when: req(func(c *domain.RequestDispatch) { c.Alliance = domain.Alliance{} }), wantCode: domain.CodeNotFound},
		{name: "suspended member", when: req(func(c *domain.RequestDispatch) { c.By = w.dachang }), wantCode: domain.CodeNotMember},
		{name: "hospital never admitted", when: req(func(c *domain.RequestDispatch) { c.By = w.outer }), wantCode: domain.CodeNotMember},
		{name: "the lead cannot request from itself", when: req(func(c *domain.RequestDispatch) { c.By = w.lead }), wantCode: domain.CodeNotMember},

		// assign
		{name: "assign", given: requested, when: assign, want: []domain.Event{w.assigned}},
		{name: "assign unknown dispatch", when: assign, wantCode: domain.CodeNotFound},
		{name: "assign with bad dispatch id", given: requested, when: asg(func(c *domain.AssignExpert) { c.DispatchID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "assign with bad expert id", given: requested, when: asg(func(c *domain.AssignExpert) { c.ExpertID = "陈主任" }), wantCode: domain.CodeInvalidInput},
		{name: "assign without expert name records the directory's", given: requested, when: asg(func(c *domain.AssignExpert) { c.ExpertName = "" }), want: []domain.Event{w.assigned}},
		{name: "assign under a name that is not the directory's", given: requested, when: asg(func(c *domain.AssignExpert) { c.ExpertName = "王主任医师" }), wantCode: domain.CodeInvalidInput},
		{name: "assign an unregistered (free-form) expert", given: requested, when: asg(func(c *domain.AssignExpert) { c.Expert = domain.Practitioner{} }), wantCode: domain.CodeForbidden},
		{name: "assign another hospital's expert", given: requested, when: asg(func(c *domain.AssignExpert) {
			c.ExpertID, c.ExpertName, c.Expert = w.foreignExpert.ID, "", w.foreignExpert
		}), wantCode: domain.CodeForbidden},
		{name: "assign with facts of another practitioner than the id", given: requested, when: asg(func(c *domain.AssignExpert) { c.Expert = w.expert2P }), wantCode: domain.CodeForbidden},
		{name: "assign a deactivated expert", given: requested, when: asg(func(c *domain.AssignExpert) {
			c.Expert = c.Expert.Evolve(domain.PractitionerDeactivated{PractitionerID: w.expertID, HomeHospitalID: id(60), Reason: "退休", DeactivatedAt: t0})
		}), wantCode: domain.CodeForbiddenTransition},
		{name: "assign without time", given: requested, when: asg(func(c *domain.AssignExpert) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "assign before the request", given: requested, when: asg(func(c *domain.AssignExpert) { c.At = t0.Add(-time.Minute) }), wantCode: domain.CodeInvalidInput},
		{name: "member cannot assign", given: requested, when: asg(func(c *domain.AssignExpert) { c.By = w.jiading }), wantCode: domain.CodeForbidden},
		{name: "another lead department cannot assign", given: requested, when: asg(func(c *domain.AssignExpert) { c.By = w.leadOtherDept }), wantCode: domain.CodeForbidden},
		{name: "assign twice", given: assigned, when: asg(func(c *domain.AssignExpert) { c.ExpertID = w.expert2 }), wantCode: domain.CodeForbiddenTransition},
		{name: "assign a cancelled dispatch", given: cancelled, when: assign, wantCode: domain.CodeForbiddenTransition},

		// reassign
		{name: "reassign", given: assigned, when: reassign, want: []domain.Event{domain.ExpertReassigned{DispatchID: w.dispatchID,
			PreviousExpertID: w.expertID, PreviousExpertName: "陈主任医师", ExpertID: w.expert2, ExpertName: "吴副主任医师",
			Window: w.ws, Reason: reassign.Reason, ReassignedAt: reassign.At}}},
		{name: "reassign to the same expert", given: assigned, when: rsg(func(c *domain.ReassignExpert) { c.ExpertID = w.expertID }), wantCode: domain.CodeInvalidInput},
		{name: "reassign without reason", given: assigned, when: rsg(func(c *domain.ReassignExpert) { c.Reason = "" }), wantCode: domain.CodeInvalidInput},
		{name: "reassign with bad expert id", given: assigned, when: rsg(func(c *domain.ReassignExpert) { c.ExpertID = "x" }), wantCode: domain.CodeInvalidInput},
		{name: "reassign to another hospital's expert", given: assigned, when: rsg(func(c *domain.ReassignExpert) {
			c.ExpertID, c.ExpertName, c.Expert = w.foreignExpert.ID, "", w.foreignExpert
		}), wantCode: domain.CodeForbidden},
		{name: "reassign to an unregistered expert", given: assigned, when: rsg(func(c *domain.ReassignExpert) { c.Expert = domain.Practitioner{} }), wantCode: domain.CodeForbidden},
		{name: "reassign under a wrong name", given: assigned, when: rsg(func(c *domain.ReassignExpert) { c.ExpertName = "陈主任医师" }), wantCode: domain.CodeInvalidInput},
		{name: "member cannot reassign", given: assigned, when: rsg(func(c *domain.ReassignExpert) { c.By = w.jiading }), wantCode: domain.CodeForbidden},
		{name: "reassign before any assignment", given: requested, when: reassign, wantCode: domain.CodeForbiddenTransition},
		{name: "reassign after check-in", given: inProgress, when: reassign, wantCode: domain.CodeForbiddenTransition},

		// check in
		{name: "expert checks in at the start", given: assigned, when: checkIn, want: []domain.Event{w.checkedIn}},
		{name: "host hospital records arrival the evening before", given: assigned,
			when: domain.CheckInExpert{DispatchID: w.dispatchID, By: w.jiading, At: w.ws.Start.Add(-domain.CheckInEarly)},
			want: []domain.Event{domain.ExpertCheckedIn{DispatchID: w.dispatchID, ExpertID: w.expertID, CheckedInAt: w.ws.Start.Add(-domain.CheckInEarly)}}},
		{name: "check in too early", given: assigned,
			when: domain.CheckInExpert{DispatchID: w.dispatchID, By: w.lead, At: w.ws.Start.Add(-domain.CheckInEarly - time.Minute)}, wantCode: domain.CodeInvalidInput},
		{name: "check in when the window has ended", given: assigned,
			when: domain.CheckInExpert{DispatchID: w.dispatchID, By: w.lead, At: w.ws.End}, wantCode: domain.CodeInvalidInput},
		{name: "check in without an expert", given: requested, when: checkIn, wantCode: domain.CodeForbiddenTransition},
		{name: "check in twice", given: inProgress, when: checkIn, wantCode: domain.CodeForbiddenTransition},
		{name: "another member cannot check in", given: assigned,
			when: domain.CheckInExpert{DispatchID: w.dispatchID, By: w.punan, At: w.ws.Start}, wantCode: domain.CodeForbidden},
		{name: "check in unknown dispatch", when: checkIn, wantCode: domain.CodeNotFound},

		// report
		{name: "report", given: inProgress, when: report, want: []domain.Event{w.reported}},
		{name: "report again (workstations report monthly)", given: reported, when: report, want: []domain.Event{w.reported}},
		{name: "negative count", given: inProgress, when: rpt(func(c *domain.ReportVisit) { c.Report.PatientsSeen = -1 }), wantCode: domain.CodeInvalidInput},
		{name: "implausible count", given: inProgress, when: rpt(func(c *domain.ReportVisit) { c.Report.TeachingSessions = 100001 }), wantCode: domain.CodeInvalidInput},
		{name: "report without summary", given: inProgress, when: rpt(func(c *domain.ReportVisit) { c.Report.Summary = "" }), wantCode: domain.CodeInvalidInput},
		{name: "report dated before the check-in", given: inProgress, when: rpt(func(c *domain.ReportVisit) { c.At = w.ws.Start.Add(-time.Minute) }), wantCode: domain.CodeInvalidInput},
		{name: "report before check-in", given: assigned, when: report, wantCode: domain.CodeForbiddenTransition},
		{name: "host hospital cannot report for the expert", given: inProgress, when: rpt(func(c *domain.ReportVisit) { c.By = w.jiading }), wantCode: domain.CodeForbidden},

		// complete
		{name: "host hospital completes", given: reported, when: complete, want: []domain.Event{
			domain.DispatchCompleted{DispatchID: w.dispatchID, ExpertID: w.expertID, CompletedAt: w.ws.End}}},
		{name: "lead completes", given: reported, when: domain.CompleteDispatch{DispatchID: w.dispatchID, By: w.lead, At: w.ws.End},
			want: []domain.Event{domain.DispatchCompleted{DispatchID: w.dispatchID, ExpertID: w.expertID, CompletedAt: w.ws.End}}},
		{name: "complete without a report", given: inProgress, when: complete, wantCode: domain.CodeForbiddenTransition},
		{name: "complete before check-in", given: assigned, when: complete, wantCode: domain.CodeForbiddenTransition},
		{name: "complete twice", given: completed, when: complete, wantCode: domain.CodeForbiddenTransition},
		{name: "another member cannot complete", given: reported,
			when: domain.CompleteDispatch{DispatchID: w.dispatchID, By: w.punan, At: w.ws.End}, wantCode: domain.CodeForbidden},

		// cancel
		{name: "requester cancels before assignment", given: requested, when: cancel, want: []domain.Event{
			domain.DispatchCancelled{DispatchID: w.dispatchID, Reason: cancel.Reason, CancelledAt: cancel.At}}},
		{name: "lead cancels an assigned dispatch (booking to release)", given: assigned,
			when: domain.CancelDispatch{DispatchID: w.dispatchID, Reason: "专家临时援疆", By: w.lead, At: t0.Add(day)},
			want: []domain.Event{domain.DispatchCancelled{DispatchID: w.dispatchID, ExpertID: w.expertID, Reason: "专家临时援疆", ByLead: true, CancelledAt: t0.Add(day)}}},
		{name: "cancel a running workstation", given: reported,
			when: domain.CancelDispatch{DispatchID: w.dispatchID, Reason: "院区搬迁,工作站提前结束", By: w.jiading, At: w.ws.Start.Add(60 * day)},
			want: []domain.Event{domain.DispatchCancelled{DispatchID: w.dispatchID, ExpertID: w.expertID, Reason: "院区搬迁,工作站提前结束", CancelledAt: w.ws.Start.Add(60 * day)}}},
		{name: "cancel without reason", given: requested, when: domain.CancelDispatch{DispatchID: w.dispatchID, By: w.jiading, At: t0}, wantCode: domain.CodeInvalidInput},
		{name: "another member cannot cancel", given: requested,
			when: domain.CancelDispatch{DispatchID: w.dispatchID, Reason: "x", By: w.punan, At: t0}, wantCode: domain.CodeForbidden},
		{name: "cancel a completed dispatch", given: completed, when: cancel, wantCode: domain.CodeForbiddenTransition},
		{name: "cancel twice", given: cancelled, when: cancel, wantCode: domain.CodeForbiddenTransition},
		{name: "cancel unknown dispatch", when: cancel, wantCode: domain.CodeNotFound},

		{name: "nil command", when: nil, wantCode: domain.CodeInvalidInput},
	})
}

func TestDispatchEvolve(t *testing.T) {
	w := newRenjiWorld()
	second := w.reported
	second.Report = domain.VisitReport{PatientsSeen: 280, ProceduresGuided: 19, TeachingSessions: 4, Summary: "第二月"}
	var d domain.Dispatch
	for _, e := range []domain.Event{w.requested, w.assigned,
		domain.ExpertReassigned{DispatchID: w.dispatchID, PreviousExpertID: w.expertID, ExpertID: w.expert2, ExpertName: "吴副主任医师", ReassignedAt: t0.Add(time.Hour)},
		w.checkedIn, w.reported, second} {
		d = d.Evolve(e)
	}
	want := domain.VisitReport{PatientsSeen: 592, ProceduresGuided: 43, TeachingSessions: 10, Summary: "第二月"}
	if d.Status != domain.DispatchStatusInProgress || d.ExpertID != w.expert2 || d.Reports != 2 || d.Totals != want || !d.Open() {
		t.Fatalf("got status %s expert %s reports %d totals %+v open %v; want in_progress, %s, 2, %+v, open",
			d.Status, d.ExpertID, d.Reports, d.Totals, d.Open(), w.expert2, want)
	}
	d = d.Evolve(domain.DispatchCompleted{DispatchID: w.dispatchID, CompletedAt: w.ws.End})
	if d.Open() || d.Status != domain.DispatchStatusCompleted || !d.CompletedAt.Equal(w.ws.End) {
		t.Fatalf("after completion: status %s open %v completedAt %v", d.Status, d.Open(), d.CompletedAt)
	}
}

func TestWindowOverlaps(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	base := domain.Window{Start: h(8), End: h(12)}
	tests := []struct {
		name string
		o    domain.Window
		want bool
	}{
		{"ends where base starts", domain.Window{Start: h(6), End: h(8)}, false},
		{"starts where base ends", domain.Window{Start: h(12), End: h(14)}, false},
		{"entirely before", domain.Window{Start: h(1), End: h(2)}, false},
		{"overlaps the start", domain.Window{Start: h(7), End: h(9)}, true},
		{"overlaps the end", domain.Window{Start: h(11), End: h(13)}, true},
		{"inside", domain.Window{Start: h(9), End: h(10)}, true},
		{"contains", domain.Window{Start: h(0), End: h(20)}, true},
		{"identical", base, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := base.Overlaps(tc.o); got != tc.want {
				t.Errorf("%s.Overlaps(%s) = %v, want %v", base, tc.o, got, tc.want)
			}
			if got := tc.o.Overlaps(base); got != tc.want {
				t.Errorf("%s.Overlaps(%s) = %v, want %v (overlap must be symmetric)", tc.o, base, got, tc.want)
			}
		})
	}
}

func TestDispatchHoldsBooking(t *testing.T) {
	w := newRenjiWorld()
	fold := func(es ...domain.Event) domain.Dispatch {
		var d domain.Dispatch
		for _, e := range es {
			d = d.Evolve(e)
		}
		return d
	}
	reassigned := domain.ExpertReassigned{DispatchID: w.dispatchID, PreviousExpertID: w.expertID, ExpertID: w.expert2,
		ExpertName: "吴副主任医师", Reason: "r", ReassignedAt: t0.Add(3 * time.Hour)}
	cancelled := domain.DispatchCancelled{DispatchID: w.dispatchID, ExpertID: w.expertID, Reason: "r", ByLead: true, CancelledAt: t0.Add(time.Hour)}
	tests := []struct {
		name   string
		d      domain.Dispatch
		expert string
		want   bool
	}{
		{"no dispatch", domain.Dispatch{}, w.expertID, false},
		{"requested, never assigned (orphan of a crashed assignment)", fold(w.requested), w.expertID, false},
		{"assigned to the expert", fold(w.requested, w.assigned), w.expertID, true},
		{"assigned to another expert", fold(w.requested, w.assigned), w.expert2, false},
		{"reassigned away from the expert", fold(w.requested, w.assigned, reassigned), w.expertID, false},
		{"reassigned to the expert", fold(w.requested, w.assigned, reassigned), w.expert2, true},
		{"in progress", fold(w.requested, w.assigned, w.checkedIn), w.expertID, true},
		{"completed keeps the booking", fold(w.requested, w.assigned, w.checkedIn, w.reported,
			domain.DispatchCompleted{DispatchID: w.dispatchID, ExpertID: w.expertID, CompletedAt: w.ws.End}), w.expertID, true},
		{"cancelled", fold(w.requested, w.assigned, cancelled), w.expertID, false},
		{"empty expert id", fold(w.requested), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.HoldsBooking(tc.expert); got != tc.want {
				t.Errorf("HoldsBooking(%s) with status %q, expert %q = %v, want %v", tc.expert, tc.d.Status, tc.d.ExpertID, got, tc.want)
			}
		})
	}
}
