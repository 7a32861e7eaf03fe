package app

import (
	"context"
	"strconv"

	"github.com/medalliance/allianced/domain"
)

// OpenCentreInput opens a diagnostic centre of an alliance. OperatorHospitalID defaults
// to the caller's (lead) hospital; a member designated by the alliance may be named.
type OpenCentreInput struct {
	AllianceID         string `json:"allianceId"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	OperatorHospitalID string `json:"operatorHospitalId,omitempty"`
	DepartmentID       string `json:"departmentId"`
}

// OpenCentre opens a centre (a lead department of the alliance), with a generated id.
func (a *App) OpenCentre(ctx context.Context, call Call, in OpenCentreInput) (Outcome, error) {
	if err := validID("allianceId", in.AllianceID); err != nil {
		return Outcome{}, err
	}
	op := in.OperatorHospitalID
	if op == "" {
		op = call.Actor.HospitalID
	}
	if err := validID("operatorHospitalId", op); err != nil {
		return Outcome{}, err
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(in.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	if !al.Exists() {
		return Outcome{}, domain.Errorf(domain.CodeNotFound, "alliance %s does not exist", in.AllianceID)
	}
	operator, err := load[domain.Hospital](ctx, a, domain.HospitalStream(op))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "OpenCentre", at)
	if err != nil {
		return Outcome{}, err
	}
	cmd := domain.OpenCentre{CentreID: id, Alliance: al, Operator: operator, Kind: in.Kind, Name: in.Name,
		DepartmentID: in.DepartmentID, By: call.Actor, At: at}
	return handle(ctx, a, call, at, id, domain.CentreStream(id), func(c domain.Centre) ([]domain.Event, error) {
		return domain.DecideCentre(c, cmd)
	})
}

// CentreReaderInput names a practitioner of the directory for a centre.
type CentreReaderInput struct {
	CentreID       string `json:"-"`
	PractitionerID string `json:"practitionerId"`
	Reason         string `json:"reason,omitempty"`
}

// AddCentreReader makes a practitioner of the operator hospital a reader (operator).
func (a *App) AddCentreReader(ctx context.Context, call Call, in CentreReaderInput) (Outcome, error) {
	if err := validID("practitionerId", in.PractitionerID); err != nil {
		return Outcome{}, err
	}
	p, err := load[domain.Practitioner](ctx, a, domain.PractitionerStream(in.PractitionerID))
	if err != nil {
		return Outcome{}, err
	}
	return a.centreCmd(ctx, call, in.CentreID, func(at timeT) domain.CentreCommand {
		return domain.AddCentreReader{CentreID: in.CentreID, Practitioner: p, By: call.Actor, At: at}
	})
}

// RemoveCentreReader takes a reader off a centre, with a reason (operator).
func (a *App) RemoveCentreReader(ctx context.Context, call Call, in CentreReaderInput) (Outcome, error) {
	return a.centreCmd(ctx, call, in.CentreID, func(at timeT) domain.CentreCommand {
		return domain.RemoveCentreReader{CentreID: in.CentreID, PractitionerID: in.PractitionerID, Reason: in.Reason, By: call.Actor, At: at}
	})
}

// ScheduleShiftInput puts a reader on duty for a window.
type ScheduleShiftInput struct {
	CentreID       string        `json:"-"`
	PractitionerID string        `json:"practitionerId"`
	Window         domain.Window `json:"window"`
}

// ScheduleShift adds a shift to the centre's duty roster (operator); the outcome's
// ShiftID is the shift's id (the first one's, on a retry).
func (a *App) ScheduleShift(ctx context.Context, call Call, in ScheduleShiftInput) (Outcome, error) {
	shiftID := a.newID()
	out, err := a.centreCmd(ctx, call, in.CentreID, func(at timeT) domain.CentreCommand {
		return domain.ScheduleShift{CentreID: in.CentreID, ShiftID: shiftID, PractitionerID: in.PractitionerID, Window: in.Window, By: call.Actor, At: at}
	})
	for _, e := range out.Events {
		if s, ok := e.(domain.CentreShiftScheduled); ok {
			out.ShiftID = s.ShiftID
		}
	}
	return out, err
}

// CancelShiftInput names a shift to take off the roster.
type CancelShiftInput struct {
	CentreID string `json:"-"`
	ShiftID  string `json:"-"`
	Reason   string `json:"reason"`
}

// CancelShift removes a shift from the roster (operator).
func (a *App) CancelShift(ctx context.Context, call Call, in CancelShiftInput) (Outcome, error) {
	return a.centreCmd(ctx, call, in.CentreID, func(at timeT) domain.CentreCommand {
		return domain.CancelShift{CentreID: in.CentreID, ShiftID: in.ShiftID, Reason: in.Reason, By: call.Actor, At: at}
	})
}

func (a *App) centreCmd(ctx context.Context, call Call, id string, build func(timeT) domain.CentreCommand) (Outcome, error) {
	if err := validID("centreId", id); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, id, domain.CentreStream(id), func(c domain.Centre) ([]domain.Event, error) {
		return domain.DecideCentre(c, build(at))
	})
}

// SubmitDiagnosticInput is a study a member sends to a centre. The patient is named by
// PatientRef or by the sender's medical record number (pseudonymized here, never
// stored); attachments are digests with where the files live, never the files.
type SubmitDiagnosticInput struct {
	CentreID            string                   `json:"centreId"`
	Modality            string                   `json:"modality"`
	ClinicalQuestion    string                   `json:"clinicalQuestion"`
	Urgency             string                   `json:"urgency"`
	PatientRef          string                   `json:"patientRef,omitempty"`
	MedicalRecordNumber string                   `json:"medicalRecordNumber,omitempty"`
	Attachments         []domain.StudyAttachment `json:"attachments,omitempty"`
}

// SubmitDiagnostic sends a study to a centre (a hospital of the centre's alliance),
// with a generated id; a reader on duty gets it at once.
func (a *App) SubmitDiagnostic(ctx context.Context, call Call, in SubmitDiagnosticInput) (Outcome, error) {
	if err := firstErr(validID("centreId", in.CentreID), validID("hospitalId", call.Actor.HospitalID)); err != nil {
		return Outcome{}, err
	}
	ref, err := a.patientRef(call.Actor.HospitalID, in.PatientRef, in.MedicalRecordNumber)
	if err != nil {
		return Outcome{}, err
	}
	ce, err := loadLinked[domain.Centre](ctx, a, "centreId", in.CentreID, domain.CentreStream)
	if err != nil {
		return Outcome{}, err
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(ce.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "SubmitDiagnostic", at)
	if err != nil {
		return Outcome{}, err
	}
	cmd := domain.SubmitDiagnostic{RequestID: id, Alliance: al, Centre: ce, Modality: in.Modality, ClinicalQuestion: in.ClinicalQuestion,
		Urgency: in.Urgency, PatientRef: ref, Attachments: in.Attachments, By: call.Actor, At: at, Policy: a.diagPolicy}
	return handle(ctx, a, call, at, id, domain.DiagnosticStream(id), func(d domain.Diagnostic) ([]domain.Event, error) {
		return domain.DecideDiagnostic(d, cmd)
	})
}

// AssignReaderInput routes a study to a reader, or lets a reader claim it. An empty
// ReaderID in a route means the reader on duty.
type AssignReaderInput struct {
	RequestID string `json:"-"`
	ReaderID  string `json:"readerId,omitempty"`
}

// RouteDiagnostic gives a study to a reader, by default the reader on duty (centre).
func (a *App) RouteDiagnostic(ctx context.Context, call Call, in AssignReaderInput) (Outcome, error) {
	return a.centreDiagnosticCmd(ctx, call, in.RequestID, func(ce domain.Centre, at timeT) domain.DiagnosticCommand {
		return domain.RouteDiagnostic{RequestID: in.RequestID, Centre: ce, ReaderID: in.ReaderID, By: call.Actor, At: at}
	})
}

// ClaimDiagnostic lets a reader take a waiting study (centre).
func (a *App) ClaimDiagnostic(ctx context.Context, call Call, in AssignReaderInput) (Outcome, error) {
	return a.centreDiagnosticCmd(ctx, call, in.RequestID, func(ce domain.Centre, at timeT) domain.DiagnosticCommand {
		return domain.ClaimDiagnostic{RequestID: in.RequestID, Centre: ce, ReaderID: in.ReaderID, By: call.Actor, At: at}
	})
}

// SendBackInput is quality control's reason for returning a study.
type SendBackInput struct {
	RequestID  string `json:"-"`
	ReasonCode string `json:"reasonCode"`
	Reason     string `json:"reason"`
}

// SendBackDiagnostic returns a study to the member (centre's quality control).
func (a *App) SendBackDiagnostic(ctx context.Context, call Call, in SendBackInput) (Outcome, error) {
	return a.diagnosticCmd(ctx, call, in.RequestID, func(at timeT) domain.DiagnosticCommand {
		return domain.SendBackDiagnostic{RequestID: in.RequestID, ReasonCode: in.ReasonCode, Reason: in.Reason, By: call.Actor, At: at}
	})
}

// ResubmitInput is the member's note and, optionally, new attachments.
type ResubmitInput struct {
	RequestID   string                   `json:"-"`
	Note        string                   `json:"note,omitempty"`
	Attachments []domain.StudyAttachment `json:"attachments,omitempty"`
}

// ResubmitDiagnostic sends a returned study again (requesting hospital).
func (a *App) ResubmitDiagnostic(ctx context.Context, call Call, in ResubmitInput) (Outcome, error) {
	return a.centreDiagnosticCmd(ctx, call, in.RequestID, func(ce domain.Centre, at timeT) domain.DiagnosticCommand {
		return domain.ResubmitDiagnostic{RequestID: in.RequestID, Centre: ce, Note: in.Note, Attachments: in.Attachments,
			By: call.Actor, At: at, Policy: a.diagPolicy}
	})
}

// ReportInput is a report version: the reader, the structured findings, the impression
// and, when there is one, the critical value. Reason is required on an amendment.
type ReportInput struct {
	RequestID  string                `json:"-"`
	ReaderID   string                `json:"readerId,omitempty"`
	Findings   []domain.Finding      `json:"findings"`
	Impression string                `json:"impression"`
	Critical   *domain.CriticalInput `json:"critical,omitempty"`
	Reason     string                `json:"reason,omitempty"`
}

// ReportDiagnostic publishes the report (centre, for the assigned reader).
func (a *App) ReportDiagnostic(ctx context.Context, call Call, in ReportInput) (Outcome, error) {
	if in.Reason != "" {
		return Outcome{}, domain.Errorf(domain.CodeInvalidInput, "a first report has no amendment reason; send reason only to /amend")
	}
	return a.centreDiagnosticCmd(ctx, call, in.RequestID, func(ce domain.Centre, at timeT) domain.DiagnosticCommand {
		return domain.ReportDiagnostic{RequestID: in.RequestID, Centre: ce, ReaderID: in.ReaderID, Findings: in.Findings,
			Impression: in.Impression, Critical: in.Critical, By: call.Actor, At: at, Policy: a.diagPolicy}
	})
}

// AmendReport publishes a new version of the report with its reason (centre).
func (a *App) AmendReport(ctx context.Context, call Call, in ReportInput) (Outcome, error) {
	return a.centreDiagnosticCmd(ctx, call, in.RequestID, func(ce domain.Centre, at timeT) domain.DiagnosticCommand {
		return domain.AmendReport{RequestID: in.RequestID, Centre: ce, ReaderID: in.ReaderID, Reason: in.Reason, Findings: in.Findings,
			Impression: in.Impression, Critical: in.Critical, By: call.Actor, At: at, Policy: a.diagPolicy}
	})
}

// CancelDiagnosticInput is the member's reason for withdrawing a study.
type CancelDiagnosticInput struct {
	RequestID string `json:"-"`
	Reason    string `json:"reason"`
}

// CancelDiagnostic withdraws a study before its report (requesting hospital).
func (a *App) CancelDiagnostic(ctx context.Context, call Call, in CancelDiagnosticInput) (Outcome, error) {
	return a.diagnosticCmd(ctx, call, in.RequestID, func(at timeT) domain.DiagnosticCommand {
		return domain.CancelDiagnostic{RequestID: in.RequestID, Reason: in.Reason, By: call.Actor, At: at}
	})
}

// AcknowledgeCriticalInput confirms receipt of a critical value; Seq 0 is the oldest
// pending one.
type AcknowledgeCriticalInput struct {
	RequestID string `json:"-"`
	Seq       int    `json:"seq,omitempty"`
	Note      string `json:"note,omitempty"`
}

// AcknowledgeCritical records the requesting hospital's acknowledgement.
func (a *App) AcknowledgeCritical(ctx context.Context, call Call, in AcknowledgeCriticalInput) (Outcome, error) {
	return a.diagnosticCmd(ctx, call, in.RequestID, func(at timeT) domain.DiagnosticCommand {
		return domain.AcknowledgeCritical{RequestID: in.RequestID, Seq: in.Seq, Note: in.Note, By: call.Actor, At: at}
	})
}

// EscalateCritical escalates an unacknowledged critical value past its time. Only the
// CriticalEscalator calls it, on the injected clock; the idempotency key derived from
// the value makes two replicas' timers escalate it once.
func (a *App) EscalateCritical(ctx context.Context, requestID string, seq int) (Outcome, error) {
	call := Call{Actor: reactorActor, IdempotencyKey: "escalate-critical:" + requestID + ":" + strconv.Itoa(seq)}
	return a.diagnosticCmd(ctx, call, requestID, func(at timeT) domain.DiagnosticCommand {
		return domain.EscalateCritical{RequestID: requestID, Seq: seq, At: at}
	})
}

// ReferOnCriticalInput turns a critical value into an emergency upward referral: the
// patient, alliance and report link come from the study.
type ReferOnCriticalInput struct {
	RequestID       string `json:"-"`
	Seq             int    `json:"seq,omitempty"`
	ToDepartmentID  string `json:"toDepartmentId,omitempty"`
	Reason          string `json:"reason,omitempty"`
	ClinicalSummary string `json:"clinicalSummary"`
	Urgency         string `json:"urgency,omitempty"`
}

// ReferOnCritical opens an emergency referral up to the alliance's lead for the
// patient of a critical value (requesting hospital), linked to the report, then records
// the link on the study. The outcome is the study's, with ReferralID naming the referral.
func (a *App) ReferOnCritical(ctx context.Context, call Call, in ReferOnCriticalInput) (Outcome, error) {
	d, err := loadLinked[domain.Diagnostic](ctx, a, "requestId", in.RequestID, domain.DiagnosticStream)
	if err != nil {
		return Outcome{}, err
	}
	if call.Actor.HospitalID != d.FromHospitalID {
		return Outcome{}, domain.Errorf(domain.CodeForbidden, "only the hospital that sent the study refers on its critical value")
	}
	seq := in.Seq
	if seq == 0 {
		seq = len(d.Criticals)
	}
	cv, ok := d.Critical(seq)
	if !ok {
		return Outcome{}, domain.Errorf(domain.CodeForbiddenTransition, "study %s has no critical value to refer on", d.ID)
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(d.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	reason := in.Reason
	if reason == "" {
		reason = truncateRunes("critical value on "+d.Kind+" report "+d.ID+": "+cv.Finding, 1000)
	}
	urgency := in.Urgency
	if urgency == "" {
		urgency = domain.UrgencyEmergency
	}
	var attachments []domain.Attachment
	for _, s := range d.Attachments {
		attachments = append(attachments, s.Attachment)
	}
	ref := domain.RequestReferral{Alliance: al, Direction: domain.ReferralUp, By: call.Actor, ToDepartmentID: in.ToDepartmentID,
		Urgency: urgency, Reason: reason, ClinicalSummary: in.ClinicalSummary, PatientRef: d.PatientRef, ReportID: d.ID,
		Attachments: attachments, Policy: a.referralPolicy}
	if cv.ReferralID == "" {
		// Refuse before opening anything when the study would refuse the link.
		probe := domain.RecordCriticalReferral{RequestID: d.ID, Seq: seq, ReferralID: d.ID, By: call.Actor, At: a.Now()}
		if _, err := domain.DecideDiagnostic(d, probe); err != nil {
			return Outcome{}, err
		}
		if err := a.checkReferral(ref); err != nil {
			return Outcome{}, err
		}
	}
	rc := Call{Actor: call.Actor, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
	if call.IdempotencyKey != "" {
		rc.IdempotencyKey = call.IdempotencyKey + "/referral"
	}
	referral, err := a.openReferral(ctx, rc, "CriticalReferral", ref)
	if err != nil {
		return Outcome{}, err
	}
	out, err := a.diagnosticCmd(ctx, call, d.ID, func(at timeT) domain.DiagnosticCommand {
		return domain.RecordCriticalReferral{RequestID: d.ID, Seq: seq, ReferralID: referral.ID, By: call.Actor, At: at}
	})
	if err != nil {
		return out, err
	}
	out.ReferralID, out.Position = referral.ID, max(out.Position, referral.Position)
	return out, nil
}

func (a *App) diagnosticCmd(ctx context.Context, call Call, id string, build func(timeT) domain.DiagnosticCommand) (Outcome, error) {
	if err := validID("requestId", id); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, id, domain.DiagnosticStream(id), func(d domain.Diagnostic) ([]domain.Event, error) {
		return domain.DecideDiagnostic(d, build(at))
	})
}

// centreDiagnosticCmd runs a command that needs the study's centre (its readers and
// roster), loaded from the study's stream first.
func (a *App) centreDiagnosticCmd(ctx context.Context, call Call, id string, build func(domain.Centre, timeT) domain.DiagnosticCommand) (Outcome, error) {
	if err := validID("requestId", id); err != nil {
		return Outcome{}, err
	}
	d, err := load[domain.Diagnostic](ctx, a, domain.DiagnosticStream(id))
	if err != nil {
		return Outcome{}, err
	}
	var ce domain.Centre
	if d.Exists() {
		if ce, err = load[domain.Centre](ctx, a, domain.CentreStream(d.CentreID)); err != nil {
			return Outcome{}, err
		}
	}
	at := a.Now()
	return handle(ctx, a, call, at, id, domain.DiagnosticStream(id), func(d domain.Diagnostic) ([]domain.Event, error) {
		return domain.DecideDiagnostic(d, build(ce, at))
	})
}

// CanReadDiagnostic says whether a hospital may read a study and its report (结果互认):
// the requesting hospital and the centre always; once the report is published, also a
// hospital the patient was referred to in the same alliance after the study was sent
// (referredTo lists the receiving hospitals of the patient's referrals in that alliance
// requested since). Auditors are let through by the caller.
func CanReadDiagnostic(hospitalID, fromHospitalID, centreHospitalID, status string, referredTo []string) bool {
	if hospitalID == "" {
		return false
	}
	if hospitalID == fromHospitalID || hospitalID == centreHospitalID {
		return true
	}
	if status != domain.DiagnosticStatusReported {
		return false
	}
	for _, h := range referredTo {
		if h == hospitalID {
			return true
		}
	}
	return false
}
