package domain

import (
	"slices"
	"time"
)

// DiagnosticCommand is a command handled by the diagnostic-request aggregate.
type DiagnosticCommand interface{ diagnosticCommand() }

// CriticalInput flags a critical value on a report version: the finding in words
// (e.g. "急性下壁ST段抬高型心肌梗死 acute inferior STEMI").
type CriticalInput struct {
	Finding string `json:"finding"`
}

// SubmitDiagnostic sends a study to Centre (loaded by the caller with its Alliance). The
// sender is an active member of the centre's alliance or its lead hospital. When a
// reader is on duty at the instant, the study is routed to that reader in the same step.
type SubmitDiagnostic struct {
	RequestID        string
	Alliance         Alliance
	Centre           Centre
	Modality         string
	ClinicalQuestion string
	Urgency          string
	PatientRef       string
	Attachments      []StudyAttachment
	By               Actor
	At               time.Time
	Policy           DiagnosticPolicy
}

// RouteDiagnostic gives a waiting study to a reader (centre): ReaderID, or, when empty,
// the reader on duty by the roster. A study already with a reader may be routed to
// another (the first fell ill, a subspecialist is needed).
type RouteDiagnostic struct {
	RequestID string
	Centre    Centre
	ReaderID  string
	By        Actor
	At        time.Time
}

// ClaimDiagnostic lets a reader take a waiting, unassigned study from the worklist.
type ClaimDiagnostic struct {
	RequestID string
	Centre    Centre
	ReaderID  string
	By        Actor
	At        time.Time
}

// SendBackDiagnostic is quality control returning a study to the member (centre).
type SendBackDiagnostic struct {
	RequestID  string
	ReasonCode string
	Reason     string
	By         Actor
	At         time.Time
}

// ResubmitDiagnostic sends a study back to the centre after QC returned it (member);
// new attachments, if any, replace the old ones.
type ResubmitDiagnostic struct {
	RequestID   string
	Centre      Centre
	Note        string
	Attachments []StudyAttachment
	By          Actor
	At          time.Time
	Policy      DiagnosticPolicy
}

// ReportDiagnostic publishes the report (centre, for the assigned reader), flagging a
// critical value when Critical is set. A finding flagged critical requires it.
type ReportDiagnostic struct {
	RequestID  string
	Centre     Centre
	ReaderID   string
	Findings   []Finding
	Impression string
	Critical   *CriticalInput
	By         Actor
	At         time.Time
	Policy     DiagnosticPolicy
}

// AmendReport publishes a new version of the report with its reason (centre). A
// critical value on the amendment is flagged anew.
type AmendReport struct {
	RequestID  string
	Centre     Centre
	ReaderID   string
	Reason     string
	Findings   []Finding
	Impression string
	Critical   *CriticalInput
	By         Actor
	At         time.Time
	Policy     DiagnosticPolicy
}

// CancelDiagnostic withdraws a study before its report (member).
type CancelDiagnostic struct {
	RequestID string
	Reason    string
	By        Actor
	At        time.Time
}

// AcknowledgeCritical confirms receipt of a critical value (requesting hospital). Seq
// names it; 0 means the oldest still pending.
type AcknowledgeCritical struct {
	RequestID string
	Seq       int
	Note      string
	By        Actor
	At        time.Time
}

// EscalateCritical escalates a critical value whose acknowledgement time has passed.
// Only the service's timer issues it (no route takes it): At must be after the deadline.
type EscalateCritical struct {
	RequestID string
	Seq       int
	At        time.Time
}

// RecordCriticalReferral links the emergency referral opened on a critical value.
type RecordCriticalReferral struct {
	RequestID  string
	Seq        int
	ReferralID string
	By         Actor
	At         time.Time
}

func (SubmitDiagnostic) diagnosticCommand()       {}
func (RouteDiagnostic) diagnosticCommand()        {}
func (ClaimDiagnostic) diagnosticCommand()        {}
func (SendBackDiagnostic) diagnosticCommand()     {}
func (ResubmitDiagnostic) diagnosticCommand()     {}
func (ReportDiagnostic) diagnosticCommand()       {}
func (AmendReport) diagnosticCommand()            {}
func (CancelDiagnostic) diagnosticCommand()       {}
func (AcknowledgeCritical) diagnosticCommand()    {}
func (EscalateCritical) diagnosticCommand()       {}
func (RecordCriticalReferral) diagnosticCommand() {}

// DecideDiagnostic decides a diagnostic command against the request's current state.
func DecideDiagnostic(d Diagnostic, c DiagnosticCommand) ([]Event, error) {
	switch c := c.(type) {
	case SubmitDiagnostic:
		return decideSubmitDiagnostic(d, c)
	case RouteDiagnostic:
		if err := d.check(c.RequestID, c.At, "route", DiagnosticStatusSubmitted, DiagnosticStatusAssigned); err != nil {
			return nil, err
		}
		if err := d.centreOnly(c.By, c.Centre, "route"); err != nil {
			return nil, err
		}
		var shiftID string
		readerID := c.ReaderID
		if readerID == "" {
			duty := c.Centre.OnDuty(c.At)
			if len(duty) == 0 {
				return nil, Errorf(CodeForbiddenTransition, "no reader of centre %s is on duty at %s; name a reader or schedule a shift", c.Centre.ID, formatInstant(c.At))
			}
			readerID, shiftID = duty[0].PractitionerID, duty[0].ShiftID
		}
		r, err := centreReader(c.Centre, readerID)
		if err != nil {
			return nil, err
		}
		if d.Status == DiagnosticStatusAssigned && d.ReaderID == r.PractitionerID {
			return nil, Errorf(CodeForbiddenTransition, "study %s is already with that reader", d.ID)
		}
		return []Event{DiagnosticRouted{RequestID: d.ID, ReaderID: r.PractitionerID, ReaderName: r.Name, ShiftID: shiftID, RoutedAt: c.At}}, nil
	case ClaimDiagnostic:
		if err := d.check(c.RequestID, c.At, "claim", DiagnosticStatusSubmitted); err != nil {
			return nil, err
		}
		if err := d.centreOnly(c.By, c.Centre, "claim"); err != nil {
			return nil, err
		}
		r, err := centreReader(c.Centre, c.ReaderID)
		if err != nil {
			return nil, err
		}
		return []Event{DiagnosticClaimed{RequestID: d.ID, ReaderID: r.PractitionerID, ReaderName: r.Name, ClaimedAt: c.At}}, nil
	case SendBackDiagnostic:
		if err := d.check(c.RequestID, c.At, "send back", DiagnosticStatusSubmitted, DiagnosticStatusAssigned); err != nil {
			return nil, err
		}
		if c.By.HospitalID == "" || c.By.HospitalID != d.CentreHospitalID {
			return nil, Errorf(CodeForbidden, "only the centre reading study %s sends it back", d.ID)
		}
		if !slices.Contains(QCReasons, c.ReasonCode) {
			return nil, Errorf(CodeInvalidInput, "reasonCode %q must be one of %v", truncate(c.ReasonCode, 20), QCReasons)
		}
		if err := required("reason", c.Reason, maxDiagnosticNote); err != nil {
			return nil, err
		}
		return []Event{DiagnosticSentBack{RequestID: d.ID, ReasonCode: c.ReasonCode, Reason: c.Reason, ReaderID: d.ReaderID, SentBackAt: c.At}}, nil
	case ResubmitDiagnostic:
		return decideResubmitDiagnostic(d, c)
	case ReportDiagnostic:
		return decideReportDiagnostic(d, c)
	case AmendReport:
		return decideAmendReport(d, c)
	case CancelDiagnostic:
		if err := d.check(c.RequestID, c.At, "cancel", DiagnosticStatusSubmitted, DiagnosticStatusAssigned, DiagnosticStatusSentBack); err != nil {
			return nil, err
		}
		if err := d.requesterOnly(c.By, "cancel"); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxDiagnosticNote); err != nil {
			return nil, err
		}
		return []Event{DiagnosticCancelled{RequestID: d.ID, Reason: c.Reason, CancelledAt: c.At}}, nil
	case AcknowledgeCritical:
		if err := d.check(c.RequestID, c.At, "acknowledge a critical value of", DiagnosticStatusReported); err != nil {
			return nil, err
		}
		if err := d.requesterOnly(c.By, "acknowledge a critical value of"); err != nil {
			return nil, err
		}
		if err := optional("note", c.Note, maxDiagnosticNote); err != nil {
			return nil, err
		}
		cv, err := d.pendingCritical(c.Seq)
		if err != nil {
			return nil, err
		}
		by := cmpOr(c.By.UserID, c.By.HospitalID)
		return []Event{CriticalValueAcknowledged{RequestID: d.ID, Seq: cv.Seq, AcknowledgedBy: truncateRunes(by, 200), Note: c.Note,
			WithinTarget: !c.At.After(cv.AckDeadline), AcknowledgedAt: c.At}}, nil
	case EscalateCritical:
		if err := d.check(c.RequestID, c.At, "escalate a critical value of", DiagnosticStatusReported); err != nil {
			return nil, err
		}
		cv, ok := d.Critical(c.Seq)
		if !ok {
			return nil, Errorf(CodeNotFound, "study %s has no critical value %d", d.ID, c.Seq)
		}
		if cv.Status != CriticalFlagged {
			return nil, Errorf(CodeForbiddenTransition, "critical value %d of study %s is %s; only a flagged one escalates", cv.Seq, d.ID, cv.Status).
				WithDetail("status", cv.Status)
		}
		if !c.At.After(cv.AckDeadline) {
			return nil, Errorf(CodeForbiddenTransition, "critical value %d of study %s may be acknowledged until %s", cv.Seq, d.ID, formatInstant(cv.AckDeadline))
		}
		channel := EscalateDepartmentHead
		if d.FromDepartmentID == "" {
			channel = EscalateDutyLine
		}
		return []Event{CriticalValueEscalated{RequestID: d.ID, Seq: cv.Seq, HospitalID: d.FromHospitalID, DepartmentID: d.FromDepartmentID,
			Channel: channel, AckDeadline: cv.AckDeadline, EscalatedAt: c.At}}, nil
	case RecordCriticalReferral:
		if err := d.check(c.RequestID, c.At, "refer on a critical value of", DiagnosticStatusReported); err != nil {
			return nil, err
		}
		if err := d.requesterOnly(c.By, "refer on a critical value of"); err != nil {
			return nil, err
		}
		if err := ValidateID("referralId", c.ReferralID); err != nil {
			return nil, err
		}
		cv, ok := d.Critical(c.Seq)
		if !ok {
			return nil, Errorf(CodeNotFound, "study %s has no critical value %d", d.ID, c.Seq)
		}
		if cv.ReferralID != "" {
			return nil, Errorf(CodeAlreadyExists, "critical value %d of study %s was already referred (referral %s)", cv.Seq, d.ID, cv.ReferralID).
				WithDetail("referralId", cv.ReferralID)
		}
		return []Event{DiagnosticReferred{RequestID: d.ID, Seq: cv.Seq, ReferralID: c.ReferralID, ReferredAt: c.At}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown diagnostic command %T", c)
}

func decideSubmitDiagnostic(d Diagnostic, c SubmitDiagnostic) ([]Event, error) {
	if d.Exists() {
		return nil, Errorf(CodeAlreadyExists, "diagnostic request %s was already submitted", c.RequestID)
	}
	ce := c.Centre
	if !ce.Exists() {
		return nil, Errorf(CodeNotFound, "the centre does not exist")
	}
	if err := firstErr(
		ValidateID("requestId", c.RequestID),
		required("modality", c.Modality, maxModality),
		required("clinicalQuestion", c.ClinicalQuestion, maxClinicalQuest),
		validateUrgency(c.Urgency),
		validatePatientRef(c.PatientRef),
		validateStudyAttachments(ce.Kind, c.Attachments),
		validateInstant("submittedAt", c.At),
		c.Policy.Validate(),
	); err != nil {
		return nil, err
	}
	al := c.Alliance
	if !al.Exists() || al.ID != ce.AllianceID {
		return nil, Errorf(CodeNotFound, "the centre's alliance does not exist")
	}
	if c.By.HospitalID == "" {
		return nil, Errorf(CodeForbidden, "only a hospital of alliance %s sends studies to its centres", al.ID)
	}
	if !al.IsLeadHospital(c.By.HospitalID) {
		if err := al.RequireActiveMember(c.By.HospitalID); err != nil {
			return nil, err
		}
	}
	target, err := c.Policy.For(ce.Kind, c.Urgency)
	if err != nil {
		return nil, err
	}
	if err := checkDerived("reportDeadline", c.At.Add(target), "the submission's time plus the "+c.Urgency+" target"); err != nil {
		return nil, err
	}
	evs := []Event{DiagnosticSubmitted{RequestID: c.RequestID, AllianceID: al.ID, CentreID: ce.ID, CentreHospitalID: ce.OperatorHospitalID,
		CentreDepartmentID: ce.DepartmentID, Kind: ce.Kind, Modality: c.Modality, ClinicalQuestion: c.ClinicalQuestion,
		Urgency: c.Urgency, PatientRef: c.PatientRef, FromHospitalID: c.By.HospitalID, FromDepartmentID: c.By.DepartmentID,
		Attachments: slices.Clone(c.Attachments), SubmittedAt: c.At, ReportDeadline: c.At.Add(target)}}
	return append(evs, routeByRoster(c.RequestID, ce, c.At)...), nil
}

// routeByRoster routes a (re)submitted study to the first reader on duty, if any.
func routeByRoster(requestID string, ce Centre, at time.Time) []Event {
	duty := ce.OnDuty(at)
	if len(duty) == 0 {
		return nil
	}
	r, _ := ce.Reader(duty[0].PractitionerID)
	return []Event{DiagnosticRouted{RequestID: requestID, ReaderID: r.PractitionerID, ReaderName: r.Name, ShiftID: duty[0].ShiftID, RoutedAt: at}}
}

func decideResubmitDiagnostic(d Diagnostic, c ResubmitDiagnostic) ([]Event, error) {
	if err := d.check(c.RequestID, c.At, "resubmit", DiagnosticStatusSentBack); err != nil {
		return nil, err
	}
	if err := d.requesterOnly(c.By, "resubmit"); err != nil {
		return nil, err
	}
	if err := firstErr(optional("note", c.Note, maxDiagnosticNote), c.Policy.Validate()); err != nil {
		return nil, err
	}
	if len(c.Attachments) > 0 {
		if err := validateStudyAttachments(d.Kind, c.Attachments); err != nil {
			return nil, err
		}
	}
	target, err := c.Policy.For(d.Kind, d.Urgency)
	if err != nil {
		return nil, err
	}
	if err := checkDerived("reportDeadline", c.At.Add(target), "the resubmission's time plus the "+d.Urgency+" target"); err != nil {
		return nil, err
	}
	evs := []Event{DiagnosticResubmitted{RequestID: d.ID, Note: c.Note, Attachments: slices.Clone(c.Attachments),
		ResubmittedAt: c.At, ReportDeadline: c.At.Add(target)}}
	if c.Centre.ID == d.CentreID {
		evs = append(evs, routeByRoster(d.ID, c.Centre, c.At)...)
	}
	return evs, nil
}

func decideReportDiagnostic(d Diagnostic, c ReportDiagnostic) ([]Event, error) {
	if err := d.check(c.RequestID, c.At, "report", DiagnosticStatusAssigned); err != nil {
		return nil, err
	}
	if err := d.centreOnly(c.By, c.Centre, "report"); err != nil {
		return nil, err
	}
	r, err := d.reportingReader(c.Centre, c.ReaderID)
	if err != nil {
		return nil, err
	}
	if err := validateReportBody(d.Kind, c.Findings, c.Impression, c.Critical, false, c.At, c.Policy); err != nil {
		return nil, err
	}
	evs := []Event{DiagnosticReported{RequestID: d.ID, Version: 1, ReaderID: r.PractitionerID, ReaderName: r.Name, Kind: d.Kind,
		Findings: slices.Clone(c.Findings), Impression: c.Impression, WithinTarget: !c.At.After(d.ReportDeadline), ReportedAt: c.At}}
	return append(evs, d.flag(c.Critical, 1, c.At, c.Policy)...), nil
}

func decideAmendReport(d Diagnostic, c AmendReport) ([]Event, error) {
	if err := d.check(c.RequestID, c.At, "amend the report of", DiagnosticStatusReported); err != nil {
		return nil, err
	}
	if err := d.centreOnly(c.By, c.Centre, "amend"); err != nil {
		return nil, err
	}
	if err := required("reason", c.Reason, maxDiagnosticNote); err != nil {
		return nil, err
	}
	readerID := c.ReaderID
	if readerID == "" && d.Report != nil {
		readerID = d.Report.ReaderID
	}
	r, err := centreReader(c.Centre, readerID)
	if err != nil {
		return nil, err
	}
	if err := validateReportBody(d.Kind, c.Findings, c.Impression, c.Critical, len(d.Criticals) > 0, c.At, c.Policy); err != nil {
		return nil, err
	}
	version := 1
	if d.Report != nil {
		version = d.Report.Version + 1
	}
	if version-1 > maxAmendments {
		return nil, Errorf(CodeInvalidInput, "a report may be amended at most %d times", maxAmendments)
	}
	evs := []Event{DiagnosticAmended{RequestID: d.ID, Version: version, ReaderID: r.PractitionerID, ReaderName: r.Name, Reason: c.Reason,
		Findings: slices.Clone(c.Findings), Impression: c.Impression, AmendedAt: c.At}}
	return append(evs, d.flag(c.Critical, version, c.At, c.Policy)...), nil
}

// validateReportBody checks a report version. A finding flagged critical needs a
// critical value on the version, unless the study already flagged one (an amendment
// keeping the finding does not call the hospital back twice).
func validateReportBody(kind string, fs []Finding, impression string, critical *CriticalInput, flagged bool, at time.Time, policy DiagnosticPolicy) error {
	if err := firstErr(validateFindings(kind, fs), required("impression", impression, maxImpression), policy.Validate()); err != nil {
		return err
	}
	if critical != nil {
		return firstErr(required("critical.finding", critical.Finding, maxCriticalFinding),
			checkDerived("ackDeadline", at.Add(policy.CriticalAck), "the report's time plus the acknowledgement time"))
	}
	if !flagged && slices.ContainsFunc(fs, func(f Finding) bool { return f.Flag == FlagCritical }) {
		return Errorf(CodeInvalidInput, "a finding is flagged critical: the report must flag the critical value (critical.finding), so the requesting hospital is called back")
	}
	return nil
}

// flag returns the CriticalValueFlagged event of a report version carrying a critical value.
func (d Diagnostic) flag(c *CriticalInput, version int, at time.Time, p DiagnosticPolicy) []Event {
	if c == nil {
		return nil
	}
	return []Event{CriticalValueFlagged{RequestID: d.ID, Seq: len(d.Criticals) + 1, ReportVersion: version, Finding: c.Finding,
		CentreID: d.CentreID, FromHospitalID: d.FromHospitalID, FromDepartmentID: d.FromDepartmentID,
		FlaggedAt: at, AckDeadline: at.Add(p.CriticalAck)}}
}

// pendingCritical returns critical value seq, or the oldest pending one when seq is 0.
func (d Diagnostic) pendingCritical(seq int) (CriticalValue, error) {
	if seq == 0 {
		for _, c := range d.Criticals {
			if c.Pending() {
				return c, nil
			}
		}
		return CriticalValue{}, Errorf(CodeForbiddenTransition, "study %s has no critical value waiting for acknowledgement", d.ID)
	}
	cv, ok := d.Critical(seq)
	if !ok {
		return CriticalValue{}, Errorf(CodeNotFound, "study %s has no critical value %d", d.ID, seq)
	}
	if !cv.Pending() {
		return CriticalValue{}, Errorf(CodeForbiddenTransition, "critical value %d of study %s is already %s", seq, d.ID, cv.Status).
			WithDetail("status", cv.Status)
	}
	return cv, nil
}

// reportingReader is the reader who reports: the assigned reader (readerID empty or the
// same), still a reader of the centre.
func (d Diagnostic) reportingReader(ce Centre, readerID string) (CentreReader, error) {
	if readerID != "" && readerID != d.ReaderID {
		return CentreReader{}, Errorf(CodeForbiddenTransition, "study %s is assigned to another reader; route it first", d.ID)
	}
	return centreReader(ce, d.ReaderID)
}

func centreReader(ce Centre, readerID string) (CentreReader, error) {
	if err := ValidateID("readerId", readerID); err != nil {
		return CentreReader{}, err
	}
	r, ok := ce.Reader(readerID)
	if !ok {
		return CentreReader{}, Errorf(CodeNotFound, "practitioner %s does not read for centre %s", readerID, ce.ID)
	}
	return r, nil
}

// check runs the checks every follow-up command shares.
func (d Diagnostic) check(requestID string, at time.Time, what string, allowed ...string) error {
	return checkFollowUp(followUp{idField: "requestId", missing: "diagnostic request", noun: "study", exists: d.Exists(),
		id: d.ID, status: d.Status, updated: d.UpdatedAt}, requestID, at, what, allowed)
}

// centreOnly lets the centre's operator hospital act, with ce the centre's state (which
// the caller loaded, and which must be this study's centre).
func (d Diagnostic) centreOnly(by Actor, ce Centre, what string) error {
	if by.HospitalID == "" || by.HospitalID != d.CentreHospitalID || ce.ID != d.CentreID {
		return Errorf(CodeForbidden, "only the centre reading study %s may %s it", d.ID, what)
	}
	return nil
}

func (d Diagnostic) requesterOnly(by Actor, what string) error {
	if by.HospitalID == "" || by.HospitalID != d.FromHospitalID {
		return Errorf(CodeForbidden, "only the hospital that sent study %s may %s it", d.ID, what)
	}
	return nil
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
