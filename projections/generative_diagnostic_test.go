package projections_test

import (
	"fmt"
	"math"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// The walk's diagnostic centres: centres opened by a lead department, readers from the
// practitioner directory, duty shifts, and studies through their whole life cycle with
// critical values, so every event of the centre and diagnostic aggregates the domain
// accepts is proven storable, projectable and encodable.

func (w *walk) diagPolicy() domain.DiagnosticPolicy {
	p := domain.DefaultDiagnosticPolicy()
	if w.r.Intn(5) == 0 {
		p.ECG = domain.DeadlinePolicy{Emergency: w.duration(time.Hour), Urgent: w.duration(8 * time.Hour), Routine: w.duration(72 * time.Hour)}
		p.CriticalAck = w.duration(time.Hour)
	}
	return p
}

func (w *walk) openCentre() error {
	a := w.alliance()
	op := a.LeadHospitalID
	if len(a.Members) > 0 && w.r.Intn(3) == 0 {
		op = a.Members[w.r.Intn(len(a.Members))].HospitalID
	}
	operator := domain.Hospital{}
	if op != "" {
		operator = load[domain.Hospital](w, domain.HospitalStream(op))
	}
	id := w.createID(w.centres)
	cmd := domain.OpenCentre{CentreID: id, Alliance: a, Operator: operator, Kind: w.maybe(domain.CentreKinds[w.r.Intn(len(domain.CentreKinds))], "xray", ""),
		Name: w.text(), DepartmentID: w.maybe("d1", "d9", ""), By: lead(a), At: w.at()}
	ok, err := handle(w, domain.CentreStream(id), cmd.By, cmd.At, "OpenCentre "+id,
		func(s domain.Centre) ([]domain.Event, error) { return domain.DecideCentre(s, cmd) })
	if ok {
		w.centres = append(w.centres, id)
	}
	return err
}

func (w *walk) centre() domain.Centre {
	return load[domain.Centre](w, domain.CentreStream(w.id(w.centres)))
}

func operator(c domain.Centre) domain.Actor {
	return domain.Actor{HospitalID: c.OperatorHospitalID, DepartmentID: c.DepartmentID, UserID: "u-centre"}
}

// addReader registers a practitioner of the centre's operator and adds it as a reader.
func (w *walk) addReader() error {
	c := w.centre()
	home := load[domain.Hospital](w, domain.HospitalStream(c.OperatorHospitalID))
	pid := w.newID()
	reg := domain.RegisterPractitioner{PractitionerID: pid, Home: home, HomeHospitalID: c.OperatorHospitalID, DepartmentID: "d1",
		Name: "reader " + pid[20:], Title: "主任医师", Specialties: []string{"心电诊断"}, By: operator(c), At: w.clock}
	if ok, err := handle(w, domain.PractitionerStream(pid), reg.By, reg.At, "RegisterPractitioner "+pid,
		func(s domain.Practitioner) ([]domain.Event, error) { return domain.DecidePractitioner(s, reg) }); !ok {
		return err
	}
	w.readers = append(w.readers, pid)
	p := load[domain.Practitioner](w, domain.PractitionerStream(w.id(w.readers)))
	cmd := domain.AddCentreReader{CentreID: c.ID, Practitioner: p, By: operator(c), At: w.at()}
	_, err := handle(w, domain.CentreStream(c.ID), cmd.By, cmd.At, "AddCentreReader",
		func(s domain.Centre) ([]domain.Event, error) { return domain.DecideCentre(s, cmd) })
	return err
}

func (w *walk) reader(c domain.Centre) string {
	if len(c.Readers) == 0 || w.r.Intn(10) == 0 {
		return w.id(w.readers)
	}
	return c.Readers[w.r.Intn(len(c.Readers))].PractitionerID
}

func (w *walk) rosterChange() error {
	c := w.centre()
	by := operator(c)
	at := w.at()
	var cmd domain.CentreCommand
	switch k := w.r.Intn(10); {
	case k == 0:
		cmd = domain.RemoveCentreReader{CentreID: c.ID, PractitionerID: w.reader(c), Reason: w.text(), By: by, At: at}
	case k == 1 && len(c.Shifts) > 0:
		cmd = domain.CancelShift{CentreID: c.ID, ShiftID: c.Shifts[w.r.Intn(len(c.Shifts))].ShiftID, Reason: w.text(), By: by, At: at}
	default:
		start := w.clock.Add(time.Duration(w.r.Intn(48)-24) * time.Hour)
		win := domain.Window{Start: start, End: start.Add(w.duration(24 * time.Hour))}
		if !w.calm && w.extreme.window && w.r.Intn(4) == 0 {
			win = w.window()
		}
		cmd = domain.ScheduleShift{CentreID: c.ID, ShiftID: w.newID(), PractitionerID: w.reader(c), Window: win, By: by, At: at}
	}
	_, err := handle(w, domain.CentreStream(c.ID), by, at, fmt.Sprintf("%T", cmd),
		func(s domain.Centre) ([]domain.Event, error) { return domain.DecideCentre(s, cmd) })
	return err
}

func (w *walk) studyAttachments(kind string) []domain.StudyAttachment {
	var out []domain.StudyAttachment
	for range w.r.Intn(3) {
		size := int64(40_000)
		if !w.calm && w.extreme.count {
			size = []int64{1, 2 << 30, 2<<30 + 1, 0, -1, math.MaxInt64}[w.r.Intn(6)]
		}
		a := domain.StudyAttachment{Attachment: domain.Attachment{Name: w.text(), MediaType: w.maybe("application/dicom", "text", "image/jpeg"),
			SHA256: w.hexDigest(), SizeBytes: size}}
		switch w.r.Intn(3) {
		case 0:
			a.Link = w.maybe("https://pacs.example/s/"+w.newID(), "http://x", "https://h/?q=1", w.text())
		case 1:
			a.StudyInstanceUID = w.maybe("1.2.840.113619.2.55."+fmt.Sprint(w.r.Intn(1e6)), "1.02.3", "abc", w.text())
		}
		out = append(out, a)
	}
	return out
}

func (w *walk) submitStudy() error {
	c := w.centre()
	a := load[domain.Alliance](w, domain.AllianceStream(c.AllianceID))
	by := w.member(a)
	id := w.createID(w.studies)
	cmd := domain.SubmitDiagnostic{RequestID: id, Alliance: a, Centre: c, Modality: w.text(), ClinicalQuestion: w.text(),
		Urgency:    w.maybe(w.pick(domain.UrgencyEmergency, domain.UrgencyUrgent, domain.UrgencyRoutine), "stat"),
		PatientRef: w.maybe(w.patientRef(), "张三"), Attachments: w.studyAttachments(c.Kind), By: by, At: w.at(), Policy: w.diagPolicy()}
	ok, err := handle(w, domain.DiagnosticStream(id), by, cmd.At, "SubmitDiagnostic "+id,
		func(s domain.Diagnostic) ([]domain.Event, error) { return domain.DecideDiagnostic(s, cmd) })
	if ok {
		w.studies = append(w.studies, id)
	}
	return err
}

func (w *walk) findings(kind string) []domain.Finding {
	var out []domain.Finding
	for _, item := range domain.ReportTemplates[kind] {
		if w.calm || w.r.Intn(10) != 0 {
			out = append(out, domain.Finding{Item: item, Value: w.text(), Unit: w.maybe("", "bpm", w.text()), Flag: w.maybe("", domain.FlagCritical, "weird")})
		}
	}
	for range w.r.Intn(3) {
		out = append(out, domain.Finding{Item: w.maybe("troponin_i", "Bad Item", ""), Value: w.text(), Flag: w.pick("", domain.FlagHigh, domain.FlagCritical)})
	}
	if !w.calm && w.extreme.count && w.r.Intn(10) == 0 {
		for i := range 300 {
			out = append(out, domain.Finding{Item: fmt.Sprintf("x%d", i), Value: "1"})
		}
	}
	return out
}

func (w *walk) critical() *domain.CriticalInput {
	if w.r.Intn(2) == 0 {
		return nil
	}
	return &domain.CriticalInput{Finding: w.text()}
}

func (w *walk) studyProgress() error {
	d := load[domain.Diagnostic](w, domain.DiagnosticStream(w.id(w.studies)))
	c := load[domain.Centre](w, domain.CentreStream(d.CentreID))
	centreBy := operator(c)
	requester := domain.Actor{HospitalID: d.FromHospitalID, DepartmentID: d.FromDepartmentID, UserID: "u-member"}
	at := w.at()
	by := centreBy
	var cmd domain.DiagnosticCommand
	k := w.r.Intn(12)
	switch {
	case d.Status == domain.DiagnosticStatusSubmitted && k < 4:
		cmd = domain.RouteDiagnostic{RequestID: d.ID, Centre: c, ReaderID: w.pick("", w.reader(c)), By: by, At: at}
	case d.Status == domain.DiagnosticStatusSubmitted && k < 8:
		cmd = domain.ClaimDiagnostic{RequestID: d.ID, Centre: c, ReaderID: w.reader(c), By: by, At: at}
	case (d.Status == domain.DiagnosticStatusSubmitted || d.Status == domain.DiagnosticStatusAssigned) && k == 8:
		cmd = domain.SendBackDiagnostic{RequestID: d.ID, ReasonCode: w.maybe(domain.QCUnreadable, "bad"), Reason: w.text(), By: by, At: at}
	case (d.Status == domain.DiagnosticStatusSubmitted || d.Status == domain.DiagnosticStatusAssigned) && k == 9:
		by = requester
		cmd = domain.CancelDiagnostic{RequestID: d.ID, Reason: w.text(), By: by, At: at}
	case d.Status == domain.DiagnosticStatusAssigned:
		cmd = domain.ReportDiagnostic{RequestID: d.ID, Centre: c, Findings: w.findings(d.Kind), Impression: w.text(), Critical: w.critical(),
			By: by, At: at, Policy: w.diagPolicy()}
	case d.Status == domain.DiagnosticStatusSentBack:
		by = requester
		cmd = domain.ResubmitDiagnostic{RequestID: d.ID, Centre: c, Note: w.text(), Attachments: w.studyAttachments(d.Kind), By: by, At: at, Policy: w.diagPolicy()}
	case d.Status == domain.DiagnosticStatusReported && k < 3:
		cmd = domain.AmendReport{RequestID: d.ID, Centre: c, Reason: w.text(), Findings: w.findings(d.Kind), Impression: w.text(),
			Critical: w.critical(), By: by, At: at, Policy: w.diagPolicy()}
	case d.Status == domain.DiagnosticStatusReported && k < 7:
		by = requester
		cmd = domain.AcknowledgeCritical{RequestID: d.ID, Seq: w.r.Intn(3), Note: w.text(), By: by, At: at}
	case d.Status == domain.DiagnosticStatusReported && k < 10:
		by = domain.Actor{UserID: "allianced-reactor", Role: "system"}
		cmd = domain.EscalateCritical{RequestID: d.ID, Seq: w.r.Intn(3), At: at}
	case d.Status == domain.DiagnosticStatusReported:
		by = requester
		cmd = domain.RecordCriticalReferral{RequestID: d.ID, Seq: w.r.Intn(3), ReferralID: w.id(nil), By: by, At: at}
	default:
		return nil
	}
	_, err := handle(w, domain.DiagnosticStream(d.ID), by, at, fmt.Sprintf("%T", cmd),
		func(s domain.Diagnostic) ([]domain.Event, error) { return domain.DecideDiagnostic(s, cmd) })
	return err
}

// diagnosticReads adds every diagnostic view of the walk's ids to checkViews' reads.
func (w *walk) diagnosticReads(q *projections.Queries, add func(what string, list bool, get func() (any, error))) {
	ctx := w.ctx
	for _, id := range w.alliances {
		add("centres of alliance "+id, true, func() (any, error) { return q.AllianceCentres(ctx, id, 0) })
	}
	for _, id := range w.hospitals {
		add("diagnostics of hospital "+id, true, func() (any, error) { return q.HospitalDiagnostics(ctx, id, projections.StudiesAll, 0) })
		add("critical inbox of hospital "+id, true, func() (any, error) { return q.CriticalInbox(ctx, id, 0) })
	}
	for _, id := range w.centres {
		add("centre "+id, false, func() (any, error) { return q.Centre(ctx, id, 0) })
		add("worklist of centre "+id, true, func() (any, error) { return q.CentreWorklist(ctx, id, 500, 0) })
		add("critical board of centre "+id, true, func() (any, error) { return q.CentreCriticalBoard(ctx, id, 0) })
		add("turnaround of centre "+id, true, func() (any, error) { return q.CentreTurnaround(ctx, id, 0) })
		for _, r := range w.readers {
			add("worklist of reader "+r, true, func() (any, error) { return q.ReaderWorklist(ctx, id, r, 500, 0) })
		}
	}
	for _, id := range w.studies {
		add("study "+id, false, func() (any, error) { return q.Diagnostic(ctx, id, 0) })
	}
}
