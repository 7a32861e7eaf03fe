package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// ecgWorld is 恒口示范区's county community: the county hospital (lead, id(1)) runs
// the remote ECG centre in its 心电图室; 梅子铺 township health centre (id(2)) sends an
// ECG of chest pain; 大河 (id(3)) is a suspended member and 外县 (id(4)) never joined.
type ecgWorld struct {
	alliance                     domain.Alliance
	county, countyCardio         domain.Actor
	meizipu, dahe, outer, system domain.Actor
	countyH, meizipuH            domain.Hospital
	reader, reader2              domain.Practitioner
	centre                       domain.Centre
	opened                       domain.CentreOpened
	readerAdded, reader2Added    domain.CentreReaderAdded
	shift                        domain.CentreShiftScheduled
	reqID, patient               string
	submitted                    domain.DiagnosticSubmitted
	routed                       domain.DiagnosticRouted
	reported                     domain.DiagnosticReported
	flagged                      domain.CriticalValueFlagged
	ecg                          []domain.StudyAttachment
	findings                     []domain.Finding
	policy                       domain.DiagnosticPolicy
}

func newECGWorld() ecgWorld {
	w := ecgWorld{
		county:       domain.Actor{HospitalID: id(1), DepartmentID: "ecg-room", UserID: "hk-ecg-office", Role: "lead"},
		countyCardio: domain.Actor{HospitalID: id(1), DepartmentID: "cardiology", Role: "lead"},
		meizipu:      domain.Actor{HospitalID: id(2), DepartmentID: "general-practice", UserID: "mzp-dr-li", Role: "member"},
		dahe:         domain.Actor{HospitalID: id(3), DepartmentID: "general-practice", Role: "member"},
		outer:        domain.Actor{HospitalID: id(4), DepartmentID: "general-practice", Role: "member"},
		system:       domain.Actor{UserID: "allianced-reactor", Role: "system"},
		countyH:      domain.Hospital{ID: id(1), Name: "恒口示范区人民医院", Departments: []domain.Department{{ID: "ecg-room", Name: "心电图室"}, {ID: "cardiology", Name: "心内科"}}},
		meizipuH:     domain.Hospital{ID: id(2), Name: "梅子铺镇卫生院", Departments: []domain.Department{{ID: "general-practice", Name: "全科"}}},
		reader:       domain.Practitioner{ID: id(20), HomeHospitalID: id(1), HomeDepartmentID: "ecg-room", Name: "王建国", Title: "主任医师", Specialties: []string{"心电诊断"}, Active: true},
		reader2:      domain.Practitioner{ID: id(21), HomeHospitalID: id(1), HomeDepartmentID: "ecg-room", Name: "刘芳", Title: "主治医师", Specialties: []string{"心电诊断"}, Active: true},
		reqID:        id(30),
		patient:      "pr_" + "0123456789abcdefghijklmnop",
		policy:       domain.DefaultDiagnosticPolicy(),
	}
	for _, e := range []domain.Event{
		domain.AllianceFounded{AllianceID: id(10), Name: "恒口示范区医共体", Specialty: "全科", Kind: domain.AllianceCounty,
			LeadHospitalID: id(1), LeadHospitalName: w.countyH.Name, LeadDepartmentID: "ecg-room", LeadRegionCode: "610902", FoundedAt: t0.Add(-365 * 24 * time.Hour)},
		domain.AllianceMemberAdmitted{AllianceID: id(10), HospitalID: id(2), HospitalName: w.meizipuH.Name, Tier: domain.TierCommunity, AdmittedAt: t0.Add(-300 * 24 * time.Hour)},
		domain.AllianceMemberAdmitted{AllianceID: id(10), HospitalID: id(3), HospitalName: "大河镇卫生院", Tier: domain.TierCommunity, AdmittedAt: t0.Add(-300 * 24 * time.Hour)},
		domain.AllianceMemberSuspended{AllianceID: id(10), HospitalID: id(3), Reason: "整改", SuspendedAt: t0.Add(-10 * 24 * time.Hour)},
	} {
		w.alliance = w.alliance.Evolve(e)
	}
	w.opened = domain.CentreOpened{CentreID: id(11), AllianceID: id(10), Kind: domain.CentreECG, Name: "恒口远程心电诊断中心",
		OperatorHospitalID: id(1), DepartmentID: "ecg-room", OpenedAt: t0.Add(-30 * 24 * time.Hour)}
	w.readerAdded = domain.CentreReaderAdded{CentreID: id(11), PractitionerID: id(20), Name: "王建国", Title: "主任医师", AddedAt: t0.Add(-29 * 24 * time.Hour)}
	w.reader2Added = domain.CentreReaderAdded{CentreID: id(11), PractitionerID: id(21), Name: "刘芳", Title: "主治医师", AddedAt: t0.Add(-29 * 24 * time.Hour)}
	w.shift = domain.CentreShiftScheduled{CentreID: id(11), ShiftID: id(12), PractitionerID: id(20),
		Window: domain.Window{Start: t0.Add(-2 * time.Hour), End: t0.Add(6 * time.Hour)}, ScheduledAt: t0.Add(-24 * time.Hour)}
	for _, e := range []domain.Event{w.opened, w.readerAdded, w.reader2Added, w.shift} {
		w.centre = w.centre.Evolve(e)
	}
	w.ecg = []domain.StudyAttachment{{Attachment: domain.Attachment{Name: "12导联心电图 08:02.xml", MediaType: "text/xml",
		SHA256: strings.Repeat("ab", 32), SizeBytes: 48_000}, Link: "https://ecg.hengkou.example/studies/7f3a"}}
	w.findings = []domain.Finding{{Item: "rhythm", Value: "窦性心律"}, {Item: "rate", Value: "92", Unit: "bpm", ReferenceRange: "60-100", Flag: domain.FlagNormal},
		{Item: "st_t", Value: "II、III、aVF 导联 ST 段抬高 0.3 mV", Flag: domain.FlagCritical}}
	w.submitted = domain.DiagnosticSubmitted{RequestID: w.reqID, AllianceID: id(10), CentreID: id(11), CentreHospitalID: id(1),
		CentreDepartmentID: "ecg-room", Kind: domain.CentreECG, Modality: "12-lead resting ECG", ClinicalQuestion: "胸痛2小时,排除急性心梗",
		Urgency: domain.UrgencyEmergency, PatientRef: w.patient, FromHospitalID: id(2), FromDepartmentID: "general-practice",
		Attachments: w.ecg, SubmittedAt: t0, ReportDeadline: t0.Add(15 * time.Minute)}
	w.routed = domain.DiagnosticRouted{RequestID: w.reqID, ReaderID: id(20), ReaderName: "王建国", ShiftID: id(12), RoutedAt: t0}
	w.reported = domain.DiagnosticReported{RequestID: w.reqID, Version: 1, ReaderID: id(20), ReaderName: "王建国", Kind: domain.CentreECG,
		Findings: w.findings, Impression: "急性下壁ST段抬高型心肌梗死", WithinTarget: true, ReportedAt: t0.Add(6 * time.Minute)}
	w.flagged = domain.CriticalValueFlagged{RequestID: w.reqID, Seq: 1, ReportVersion: 1, Finding: "急性下壁STEMI", CentreID: id(11),
		FromHospitalID: id(2), FromDepartmentID: "general-practice", FlaggedAt: t0.Add(6 * time.Minute), AckDeadline: t0.Add(16 * time.Minute)}
	return w
}

func (w ecgWorld) submit() domain.SubmitDiagnostic {
	return domain.SubmitDiagnostic{RequestID: w.reqID, Alliance: w.alliance, Centre: w.centre, Modality: "12-lead resting ECG",
		ClinicalQuestion: "胸痛2小时,排除急性心梗", Urgency: domain.UrgencyEmergency, PatientRef: w.patient, Attachments: w.ecg,
		By: w.meizipu, At: t0, Policy: w.policy}
}

func (w ecgWorld) report() domain.ReportDiagnostic {
	return domain.ReportDiagnostic{RequestID: w.reqID, Centre: w.centre, Findings: w.findings, Impression: "急性下壁ST段抬高型心肌梗死",
		Critical: &domain.CriticalInput{Finding: "急性下壁STEMI"}, By: w.county, At: t0.Add(6 * time.Minute), Policy: w.policy}
}

func TestDecideOpenCentreAndRoster(t *testing.T) {
	w := newECGWorld()
	open := domain.OpenCentre{CentreID: id(11), Alliance: w.alliance, Operator: w.countyH, Kind: domain.CentreECG, Name: "恒口远程心电诊断中心",
		DepartmentID: "ecg-room", By: w.county, At: t0.Add(-30 * 24 * time.Hour)}
	openWith := func(f func(*domain.OpenCentre)) domain.OpenCentre { c := open; f(&c); return c }
	opened := []domain.Event{w.opened}
	base := []domain.Event{w.opened}
	shift := func(f func(*domain.ScheduleShift)) domain.ScheduleShift {
		c := domain.ScheduleShift{CentreID: id(11), ShiftID: id(13), PractitionerID: id(20),
			Window: domain.Window{Start: t0.Add(6 * time.Hour), End: t0.Add(14 * time.Hour)}, By: w.county, At: t0}
		f(&c)
		return c
	}
	runSpecs(t, domain.DecideCentre, []spec[domain.CentreCommand]{
		{name: "a lead department opens an ECG centre run by its hospital", when: open, want: opened},
		{name: "a member designated by the alliance operates the centre",
			when: openWith(func(c *domain.OpenCentre) { c.Operator, c.DepartmentID = w.meizipuH, "general-practice" }),
			want: []domain.Event{domain.CentreOpened{CentreID: id(11), AllianceID: id(10), Kind: domain.CentreECG, Name: "恒口远程心电诊断中心",
				OperatorHospitalID: id(2), DepartmentID: "general-practice", OpenedAt: t0.Add(-30 * 24 * time.Hour)}}},
		{name: "another department of the lead cannot open one", when: openWith(func(c *domain.OpenCentre) { c.By = w.countyCardio }), wantCode: domain.CodeForbidden},
		{name: "a member cannot open one", when: openWith(func(c *domain.OpenCentre) { c.By = w.meizipu }), wantCode: domain.CodeForbidden},
		{name: "a hospital outside the alliance cannot operate one",
			when: openWith(func(c *domain.OpenCentre) {
				c.Operator = domain.Hospital{ID: id(4), Departments: []domain.Department{{ID: "x"}}}
				c.DepartmentID = "x"
			}),
			wantCode: domain.CodeNotMember},
		{name: "the department must be the operator's", when: openWith(func(c *domain.OpenCentre) { c.DepartmentID = "radiology" }), wantCode: domain.CodeInvalidInput},
		{name: "an unknown kind is refused", when: openWith(func(c *domain.OpenCentre) { c.Kind = "xray" }), wantCode: domain.CodeInvalidInput},
		{name: "opened twice", given: base, when: open, wantCode: domain.CodeAlreadyExists},
		{name: "the operator adds its practitioner as a reader", given: base,
			when: domain.AddCentreReader{CentreID: id(11), Practitioner: w.reader, By: w.countyCardio, At: t0.Add(-29 * 24 * time.Hour)},
			want: []domain.Event{w.readerAdded}},
		{name: "another hospital's practitioner is refused", given: base,
			when:     domain.AddCentreReader{CentreID: id(11), Practitioner: domain.Practitioner{ID: id(22), HomeHospitalID: id(2), Active: true}, By: w.county, At: t0},
			wantCode: domain.CodeForbidden},
		{name: "a deactivated practitioner is refused", given: base,
			when:     domain.AddCentreReader{CentreID: id(11), Practitioner: func() domain.Practitioner { p := w.reader; p.Active = false; return p }(), By: w.county, At: t0},
			wantCode: domain.CodeForbiddenTransition},
		{name: "a member cannot add readers", given: base,
			when: domain.AddCentreReader{CentreID: id(11), Practitioner: w.reader, By: w.meizipu, At: t0}, wantCode: domain.CodeForbidden},
		{name: "a reader added twice", given: []domain.Event{w.opened, w.readerAdded},
			when: domain.AddCentreReader{CentreID: id(11), Practitioner: w.reader, By: w.county, At: t0}, wantCode: domain.CodeAlreadyExists},
		{name: "a shift of a reader", given: []domain.Event{w.opened, w.readerAdded, w.shift}, when: shift(func(*domain.ScheduleShift) {}),
			want: []domain.Event{domain.CentreShiftScheduled{CentreID: id(11), ShiftID: id(13), PractitionerID: id(20),
				Window: domain.Window{Start: t0.Add(6 * time.Hour), End: t0.Add(14 * time.Hour)}, ScheduledAt: t0}}},
		{name: "a reader's overlapping shift is refused", given: []domain.Event{w.opened, w.readerAdded, w.shift},
			when: shift(func(c *domain.ScheduleShift) { c.Window.Start = t0.Add(5 * time.Hour) }), wantCode: domain.CodeScheduleOverlap},
		{name: "a shift longer than 72 hours is refused", given: []domain.Event{w.opened, w.readerAdded},
			when: shift(func(c *domain.ScheduleShift) { c.Window.End = c.Window.Start.Add(73 * time.Hour) }), wantCode: domain.CodeInvalidInput},
		{name: "a shift of someone who is not a reader", given: base, when: shift(func(*domain.ScheduleShift) {}), wantCode: domain.CodeNotFound},
		{name: "a shift already over is refused", given: []domain.Event{w.opened, w.readerAdded},
			when: shift(func(c *domain.ScheduleShift) {
				c.Window = domain.Window{Start: t0.Add(-9 * time.Hour), End: t0.Add(-time.Hour)}
			}), wantCode: domain.CodeInvalidInput},
		{name: "cancel a shift", given: []domain.Event{w.opened, w.readerAdded, w.shift},
			when: domain.CancelShift{CentreID: id(11), ShiftID: id(12), Reason: "病假", By: w.county, At: t0},
			want: []domain.Event{domain.CentreShiftCancelled{CentreID: id(11), ShiftID: id(12), Reason: "病假", CancelledAt: t0}}},
		{name: "remove a reader", given: []domain.Event{w.opened, w.readerAdded},
			when: domain.RemoveCentreReader{CentreID: id(11), PractitionerID: id(20), Reason: "调离", By: w.county, At: t0},
			want: []domain.Event{domain.CentreReaderRemoved{CentreID: id(11), PractitionerID: id(20), Reason: "调离", RemovedAt: t0}}},
	})
}

func TestCentreOnDuty(t *testing.T) {
	w := newECGWorld()
	if duty := w.centre.OnDuty(t0); len(duty) != 1 || duty[0].PractitionerID != id(20) {
		t.Fatalf("on duty at t0: got %+v, want 王建国's shift", duty)
	}
	if duty := w.centre.OnDuty(t0.Add(6 * time.Hour)); len(duty) != 0 {
		t.Fatalf("the shift's end is exclusive: got %+v", duty)
	}
	removed := w.centre.Evolve(domain.CentreReaderRemoved{CentreID: id(11), PractitionerID: id(20), Reason: "调离", RemovedAt: t0})
	if duty := removed.OnDuty(t0); len(duty) != 0 {
		t.Fatalf("a removed reader's shift routes nothing: got %+v", duty)
	}
}

func TestDecideSubmitDiagnostic(t *testing.T) {
	w := newECGWorld()
	with := func(f func(*domain.SubmitDiagnostic)) domain.SubmitDiagnostic { c := w.submit(); f(&c); return c }
	noDuty := w.centre.Evolve(domain.CentreShiftCancelled{CentreID: id(11), ShiftID: id(12), Reason: "x", CancelledAt: t0.Add(-time.Hour)})
	attach := func(f func(*domain.StudyAttachment)) []domain.StudyAttachment {
		a := w.ecg[0]
		f(&a)
		return []domain.StudyAttachment{a}
	}
	runSpecs(t, domain.DecideDiagnostic, []spec[domain.DiagnosticCommand]{
		{name: "a member's emergency ECG goes to the reader on duty", when: w.submit(), want: []domain.Event{w.submitted, w.routed}},
		{name: "with nobody on duty it waits on the worklist", when: with(func(c *domain.SubmitDiagnostic) { c.Centre = noDuty }),
			want: []domain.Event{w.submitted}},
		{name: "routine gets the routine target", when: with(func(c *domain.SubmitDiagnostic) { c.Centre, c.Urgency = noDuty, domain.UrgencyRoutine }),
			want: []domain.Event{func() domain.Event {
				e := w.submitted
				e.Urgency, e.ReportDeadline = domain.UrgencyRoutine, t0.Add(24*time.Hour)
				return e
			}()}},
		{name: "a suspended member cannot send", when: with(func(c *domain.SubmitDiagnostic) { c.By = w.dahe }), wantCode: domain.CodeNotMember},
		{name: "a hospital outside the alliance cannot send", when: with(func(c *domain.SubmitDiagnostic) { c.By = w.outer }), wantCode: domain.CodeNotMember},
		{name: "a clear-text patient id is refused", when: with(func(c *domain.SubmitDiagnostic) { c.PatientRef = "张三 610902198001011234" }), wantCode: domain.CodeInvalidInput},
		{name: "an attachment without a location is refused", when: with(func(c *domain.SubmitDiagnostic) {
			c.Attachments = attach(func(a *domain.StudyAttachment) { a.Link = "" })
		}), wantCode: domain.CodeInvalidInput},
		{name: "a link with a query string is refused", when: with(func(c *domain.SubmitDiagnostic) {
			c.Attachments = attach(func(a *domain.StudyAttachment) { a.Link = "https://pacs.example/s?patient=张三" })
		}), wantCode: domain.CodeInvalidInput},
		{name: "a plain http link is refused", when: with(func(c *domain.SubmitDiagnostic) {
			c.Attachments = attach(func(a *domain.StudyAttachment) { a.Link = "http://pacs.example/s/1" })
		}), wantCode: domain.CodeInvalidInput},
		{name: "a malformed DICOM UID is refused", when: with(func(c *domain.SubmitDiagnostic) {
			c.Attachments = attach(func(a *domain.StudyAttachment) { a.StudyInstanceUID = "1.2.03.abc" })
		}), wantCode: domain.CodeInvalidInput},
		{name: "a DICOM UID is a location", when: with(func(c *domain.SubmitDiagnostic) {
			c.Centre = noDuty
			c.Attachments = attach(func(a *domain.StudyAttachment) { a.Link, a.StudyInstanceUID = "", "1.2.840.113619.2.55.3.604688119" })
		}), want: []domain.Event{func() domain.Event {
			e := w.submitted
			e.Attachments = attach(func(a *domain.StudyAttachment) { a.Link, a.StudyInstanceUID = "", "1.2.840.113619.2.55.3.604688119" })
			return e
		}()}},
		{name: "a bad digest is refused", when: with(func(c *domain.SubmitDiagnostic) {
			c.Attachments = attach(func(a *domain.StudyAttachment) { a.SHA256 = "not-hex" })
		}), wantCode: domain.CodeInvalidInput},
		{name: "an unknown urgency is refused", when: with(func(c *domain.SubmitDiagnostic) { c.Urgency = "stat" }), wantCode: domain.CodeInvalidInput},
		{name: "submitted twice", given: []domain.Event{w.submitted}, when: w.submit(), wantCode: domain.CodeAlreadyExists},
	})
}

func TestDecideDiagnosticLifeCycle(t *testing.T) {
	w := newECGWorld()
	assigned := []domain.Event{w.submitted, w.routed}
	reportedEvs := []domain.Event{w.submitted, w.routed, w.reported, w.flagged}
	noCritical := w.report()
	noCritical.Critical = nil
	noCritical.Findings = []domain.Finding{{Item: "rhythm", Value: "窦性心律"}, {Item: "rate", Value: "72", Unit: "bpm"}, {Item: "st_t", Value: "未见异常"}}
	sentBack := domain.DiagnosticSentBack{RequestID: w.reqID, ReasonCode: domain.QCUnreadable, Reason: "基线漂移严重,无法判读", ReaderID: id(20), SentBackAt: t0.Add(3 * time.Minute)}
	amend := domain.AmendReport{RequestID: w.reqID, Centre: w.centre, Reason: "补充:合并右室受累", Findings: w.findings,
		Impression: "急性下壁合并右室ST段抬高型心肌梗死", By: w.county, At: t0.Add(20 * time.Minute), Policy: w.policy}
	runSpecs(t, domain.DecideDiagnostic, []spec[domain.DiagnosticCommand]{
		{name: "the assigned reader reports and flags the critical value", given: assigned, when: w.report(), want: []domain.Event{w.reported, w.flagged}},
		{name: "a critical finding without a critical value is refused", given: assigned,
			when: func() domain.ReportDiagnostic { c := w.report(); c.Critical = nil; return c }(), wantCode: domain.CodeInvalidInput},
		{name: "a report missing the template's items is refused", given: assigned,
			when: func() domain.ReportDiagnostic { c := w.report(); c.Findings = w.findings[:1]; return c }(), wantCode: domain.CodeInvalidInput},
		{name: "another reader cannot report a study assigned elsewhere", given: assigned,
			when: func() domain.ReportDiagnostic { c := w.report(); c.ReaderID = id(21); return c }(), wantCode: domain.CodeForbiddenTransition},
		{name: "the member cannot report", given: assigned,
			when: func() domain.ReportDiagnostic { c := w.report(); c.By = w.meizipu; return c }(), wantCode: domain.CodeForbidden},
		{name: "an unassigned study cannot be reported", given: []domain.Event{w.submitted}, when: w.report(), wantCode: domain.CodeForbiddenTransition},
		{name: "a late report is recorded as outside the target", given: assigned,
			when: func() domain.ReportDiagnostic { c := noCritical; c.At = t0.Add(20 * time.Minute); return c }(),
			want: []domain.Event{domain.DiagnosticReported{RequestID: w.reqID, Version: 1, ReaderID: id(20), ReaderName: "王建国", Kind: domain.CentreECG,
				Findings: noCritical.Findings, Impression: noCritical.Impression, WithinTarget: false, ReportedAt: t0.Add(20 * time.Minute)}}},
		{name: "a reader claims a waiting study", given: []domain.Event{w.submitted},
			when: domain.ClaimDiagnostic{RequestID: w.reqID, Centre: w.centre, ReaderID: id(21), By: w.county, At: t0.Add(time.Minute)},
			want: []domain.Event{domain.DiagnosticClaimed{RequestID: w.reqID, ReaderID: id(21), ReaderName: "刘芳", ClaimedAt: t0.Add(time.Minute)}}},
		{name: "an assigned study cannot be claimed", given: assigned,
			when: domain.ClaimDiagnostic{RequestID: w.reqID, Centre: w.centre, ReaderID: id(21), By: w.county, At: t0.Add(time.Minute)}, wantCode: domain.CodeForbiddenTransition},
		{name: "a non-reader cannot claim", given: []domain.Event{w.submitted},
			when: domain.ClaimDiagnostic{RequestID: w.reqID, Centre: w.centre, ReaderID: id(22), By: w.county, At: t0.Add(time.Minute)}, wantCode: domain.CodeNotFound},
		{name: "route to the reader on duty", given: []domain.Event{w.submitted},
			when: domain.RouteDiagnostic{RequestID: w.reqID, Centre: w.centre, By: w.county, At: t0}, want: []domain.Event{w.routed}},
		{name: "reroute to a named reader", given: assigned,
			when: domain.RouteDiagnostic{RequestID: w.reqID, Centre: w.centre, ReaderID: id(21), By: w.county, At: t0.Add(time.Minute)},
			want: []domain.Event{domain.DiagnosticRouted{RequestID: w.reqID, ReaderID: id(21), ReaderName: "刘芳", RoutedAt: t0.Add(time.Minute)}}},
		{name: "quality control sends an unreadable tracing back", given: assigned,
			when: domain.SendBackDiagnostic{RequestID: w.reqID, ReasonCode: domain.QCUnreadable, Reason: "基线漂移严重,无法判读", By: w.county, At: t0.Add(3 * time.Minute)},
			want: []domain.Event{sentBack}},
		{name: "a send-back needs a known reason code", given: assigned,
			when: domain.SendBackDiagnostic{RequestID: w.reqID, ReasonCode: "bad", Reason: "x", By: w.county, At: t0.Add(3 * time.Minute)}, wantCode: domain.CodeInvalidInput},
		{name: "the member cannot send back", given: assigned,
			when: domain.SendBackDiagnostic{RequestID: w.reqID, ReasonCode: domain.QCUnreadable, Reason: "x", By: w.meizipu, At: t0.Add(3 * time.Minute)}, wantCode: domain.CodeForbidden},
		{name: "the member resubmits: a new deadline, routed by the roster", given: []domain.Event{w.submitted, w.routed, sentBack},
			when: domain.ResubmitDiagnostic{RequestID: w.reqID, Centre: w.centre, Note: "重新描记", By: w.meizipu, At: t0.Add(8 * time.Minute), Policy: w.policy},
			want: []domain.Event{domain.DiagnosticResubmitted{RequestID: w.reqID, Note: "重新描记", ResubmittedAt: t0.Add(8 * time.Minute), ReportDeadline: t0.Add(23 * time.Minute)},
				domain.DiagnosticRouted{RequestID: w.reqID, ReaderID: id(20), ReaderName: "王建国", ShiftID: id(12), RoutedAt: t0.Add(8 * time.Minute)}}},
		{name: "the centre cannot resubmit", given: []domain.Event{w.submitted, w.routed, sentBack},
			when: domain.ResubmitDiagnostic{RequestID: w.reqID, Centre: w.centre, By: w.county, At: t0.Add(8 * time.Minute), Policy: w.policy}, wantCode: domain.CodeForbidden},
		{name: "a study not sent back cannot be resubmitted", given: assigned,
			when: domain.ResubmitDiagnostic{RequestID: w.reqID, Centre: w.centre, By: w.meizipu, At: t0.Add(8 * time.Minute), Policy: w.policy}, wantCode: domain.CodeForbiddenTransition},
		{name: "an amendment is a new version with its reason", given: reportedEvs, when: amend,
			want: []domain.Event{domain.DiagnosticAmended{RequestID: w.reqID, Version: 2, ReaderID: id(20), ReaderName: "王建国", Reason: amend.Reason,
				Findings: w.findings, Impression: amend.Impression, AmendedAt: t0.Add(20 * time.Minute)}}},
		{name: "an amendment needs a reason", given: reportedEvs,
			when: func() domain.AmendReport { c := amend; c.Reason = ""; return c }(), wantCode: domain.CodeInvalidInput},
		{name: "an unreported study cannot be amended", given: assigned, when: amend, wantCode: domain.CodeForbiddenTransition},
		{name: "the member cancels a waiting study", given: assigned,
			when: domain.CancelDiagnostic{RequestID: w.reqID, Reason: "患者已转上级医院", By: w.meizipu, At: t0.Add(time.Minute)},
			want: []domain.Event{domain.DiagnosticCancelled{RequestID: w.reqID, Reason: "患者已转上级医院", CancelledAt: t0.Add(time.Minute)}}},
		{name: "a reported study cannot be cancelled", given: reportedEvs,
			when: domain.CancelDiagnostic{RequestID: w.reqID, Reason: "x", By: w.meizipu, At: t0.Add(time.Hour)}, wantCode: domain.CodeForbiddenTransition},
		{name: "times never run backwards", given: reportedEvs,
			when: func() domain.AmendReport { c := amend; c.At = t0; return c }(), wantCode: domain.CodeInvalidInput},
	})
}

func TestDecideCriticalValue(t *testing.T) {
	w := newECGWorld()
	reportedEvs := []domain.Event{w.submitted, w.routed, w.reported, w.flagged}
	ack := domain.AcknowledgeCritical{RequestID: w.reqID, Note: "已电话确认,启动胸痛绿色通道", By: w.meizipu, At: t0.Add(9 * time.Minute)}
	escalated := domain.CriticalValueEscalated{RequestID: w.reqID, Seq: 1, HospitalID: id(2), DepartmentID: "general-practice",
		Channel: domain.EscalateDepartmentHead, AckDeadline: t0.Add(16 * time.Minute), EscalatedAt: t0.Add(16*time.Minute + time.Second)}
	runSpecs(t, domain.DecideDiagnostic, []spec[domain.DiagnosticCommand]{
		{name: "the requesting hospital acknowledges within minutes", given: reportedEvs, when: ack,
			want: []domain.Event{domain.CriticalValueAcknowledged{RequestID: w.reqID, Seq: 1, AcknowledgedBy: "mzp-dr-li", Note: ack.Note,
				WithinTarget: true, AcknowledgedAt: t0.Add(9 * time.Minute)}}},
		{name: "the centre cannot acknowledge for the member", given: reportedEvs,
			when: func() domain.AcknowledgeCritical { c := ack; c.By = w.county; return c }(), wantCode: domain.CodeForbidden},
		{name: "acknowledged twice", given: append(reportedEvs, domain.CriticalValueAcknowledged{RequestID: w.reqID, Seq: 1, AcknowledgedBy: "x", AcknowledgedAt: t0.Add(9 * time.Minute)}),
			when: func() domain.AcknowledgeCritical { c := ack; c.Seq = 1; return c }(), wantCode: domain.CodeForbiddenTransition},
		{name: "the timer escalates after the acknowledgement time", given: reportedEvs,
			when: domain.EscalateCritical{RequestID: w.reqID, Seq: 1, At: t0.Add(16*time.Minute + time.Second)}, want: []domain.Event{escalated}},
		{name: "not before the acknowledgement time", given: reportedEvs,
			when: domain.EscalateCritical{RequestID: w.reqID, Seq: 1, At: t0.Add(16 * time.Minute)}, wantCode: domain.CodeForbiddenTransition},
		{name: "not an acknowledged value", given: append(reportedEvs, domain.CriticalValueAcknowledged{RequestID: w.reqID, Seq: 1, AcknowledgedBy: "x", AcknowledgedAt: t0.Add(9 * time.Minute)}),
			when: domain.EscalateCritical{RequestID: w.reqID, Seq: 1, At: t0.Add(20 * time.Minute)}, wantCode: domain.CodeForbiddenTransition},
		{name: "not twice", given: append(reportedEvs, escalated),
			when: domain.EscalateCritical{RequestID: w.reqID, Seq: 1, At: t0.Add(20 * time.Minute)}, wantCode: domain.CodeForbiddenTransition},
		{name: "an escalated value is still acknowledged, late", given: append(reportedEvs, escalated),
			when: func() domain.AcknowledgeCritical { c := ack; c.At = t0.Add(25 * time.Minute); return c }(),
			want: []domain.Event{domain.CriticalValueAcknowledged{RequestID: w.reqID, Seq: 1, AcknowledgedBy: "mzp-dr-li", Note: ack.Note,
				WithinTarget: false, AcknowledgedAt: t0.Add(25 * time.Minute)}}},
		{name: "a request without a department escalates to the duty line",
			given: []domain.Event{func() domain.Event { e := w.submitted; e.FromDepartmentID = ""; return e }(), w.routed, w.reported, w.flagged},
			when:  domain.EscalateCritical{RequestID: w.reqID, Seq: 1, At: t0.Add(17 * time.Minute)},
			want: []domain.Event{domain.CriticalValueEscalated{RequestID: w.reqID, Seq: 1, HospitalID: id(2), Channel: domain.EscalateDutyLine,
				AckDeadline: t0.Add(16 * time.Minute), EscalatedAt: t0.Add(17 * time.Minute)}}},
		{name: "the referral opened on the critical value is linked", given: reportedEvs,
			when: domain.RecordCriticalReferral{RequestID: w.reqID, Seq: 1, ReferralID: id(40), By: w.meizipu, At: t0.Add(10 * time.Minute)},
			want: []domain.Event{domain.DiagnosticReferred{RequestID: w.reqID, Seq: 1, ReferralID: id(40), ReferredAt: t0.Add(10 * time.Minute)}}},
		{name: "referred twice", given: append(reportedEvs, domain.DiagnosticReferred{RequestID: w.reqID, Seq: 1, ReferralID: id(40), ReferredAt: t0.Add(10 * time.Minute)}),
			when: domain.RecordCriticalReferral{RequestID: w.reqID, Seq: 1, ReferralID: id(41), By: w.meizipu, At: t0.Add(11 * time.Minute)}, wantCode: domain.CodeAlreadyExists},
		{name: "a critical value on an amendment is flagged anew", given: append(reportedEvs, domain.CriticalValueAcknowledged{RequestID: w.reqID, Seq: 1, AcknowledgedBy: "x", AcknowledgedAt: t0.Add(9 * time.Minute)}),
			when: domain.AmendReport{RequestID: w.reqID, Centre: w.centre, Reason: "补充", Findings: w.findings, Impression: "下壁STEMI合并三度房室传导阻滞",
				Critical: &domain.CriticalInput{Finding: "三度房室传导阻滞"}, By: w.county, At: t0.Add(30 * time.Minute), Policy: w.policy},
			want: []domain.Event{domain.DiagnosticAmended{RequestID: w.reqID, Version: 2, ReaderID: id(20), ReaderName: "王建国", Reason: "补充",
				Findings: w.findings, Impression: "下壁STEMI合并三度房室传导阻滞", AmendedAt: t0.Add(30 * time.Minute)},
				domain.CriticalValueFlagged{RequestID: w.reqID, Seq: 2, ReportVersion: 2, Finding: "三度房室传导阻滞", CentreID: id(11),
					FromHospitalID: id(2), FromDepartmentID: "general-practice", FlaggedAt: t0.Add(30 * time.Minute), AckDeadline: t0.Add(40 * time.Minute)}}},
	})
}

func TestDiagnosticPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*domain.DiagnosticPolicy)
		ok   bool
	}{
		{"default", func(*domain.DiagnosticPolicy) {}, true},
		{"zero target", func(p *domain.DiagnosticPolicy) { p.Lab.Urgent = 0 }, false},
		{"emergency slower than urgent", func(p *domain.DiagnosticPolicy) { p.ECG.Emergency = 2 * time.Hour }, false},
		{"no acknowledgement time", func(p *domain.DiagnosticPolicy) { p.CriticalAck = 0 }, false},
		{"a 2-second acknowledgement time (e2e)", func(p *domain.DiagnosticPolicy) { p.CriticalAck = 2 * time.Second }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := domain.DefaultDiagnosticPolicy()
			tc.edit(&p)
			if err := p.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
