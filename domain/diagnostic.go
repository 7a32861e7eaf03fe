package domain

import (
	"slices"
	"time"
)

// DiagnosticAggregate names the diagnostic-request aggregate in the event catalogue.
const DiagnosticAggregate = "diagnostic"

// DiagnosticStream is the stream of one diagnostic request and its report.
func DiagnosticStream(id string) string { return "diagnostic-" + id }

// Diagnostic request statuses. submitted -> assigned (routed to the reader on duty, or
// claimed) -> reported; quality control sends a submitted or assigned study back
// (sent_back) and the member may resubmit it (submitted again); the member may cancel
// before the report. A reported study stays reported through its amendments.
const (
	DiagnosticStatusSubmitted = "submitted"
	DiagnosticStatusAssigned  = "assigned"
	DiagnosticStatusSentBack  = "sent_back"
	DiagnosticStatusReported  = "reported"
	DiagnosticStatusCancelled = "cancelled"
)

// Critical value statuses: flagged (waiting for the requesting hospital), escalated
// (its acknowledgement time passed; still waiting), acknowledged.
const (
	CriticalFlagged      = "flagged"
	CriticalEscalated    = "escalated"
	CriticalAcknowledged = "acknowledged"
)

// Escalation channels: a critical value nobody acknowledged goes to the requesting
// department's head, or to the hospital's duty line when the request named no department.
const (
	EscalateDepartmentHead = "department_head"
	EscalateDutyLine       = "duty_line"
)

// Report is the current version of a study's structured report.
type Report struct {
	Version    int       `json:"version"`
	ReaderID   string    `json:"readerId"`
	ReaderName string    `json:"readerName"`
	Findings   []Finding `json:"findings"`
	Impression string    `json:"impression"`
	ReportedAt time.Time `json:"reportedAt"` // the first version's instant
	AmendedAt  time.Time `json:"amendedAt,omitzero"`
	Reason     string    `json:"amendmentReason,omitempty"`
}

// CriticalValue is one critical finding (危急值) of a report and what became of it.
type CriticalValue struct {
	Seq            int       `json:"seq"`
	ReportVersion  int       `json:"reportVersion"`
	Finding        string    `json:"finding"`
	Status         string    `json:"status"`
	FlaggedAt      time.Time `json:"flaggedAt"`
	AckDeadline    time.Time `json:"ackDeadline"`
	EscalatedAt    time.Time `json:"escalatedAt,omitzero"`
	EscalatedTo    string    `json:"escalatedTo,omitempty"`
	AcknowledgedAt time.Time `json:"acknowledgedAt,omitzero"`
	AcknowledgedBy string    `json:"acknowledgedBy,omitempty"`
	ReferralID     string    `json:"referralId,omitempty"`
}

// Pending reports whether the critical value still waits for acknowledgement.
func (c CriticalValue) Pending() bool {
	return c.Status == CriticalFlagged || c.Status == CriticalEscalated
}

// Diagnostic is the state of one diagnostic request (a study a member sends to a
// centre) and its report. The patient is a pseudonymous reference only; attachments are
// digests and locations, never pixel data.
type Diagnostic struct {
	ID                 string
	AllianceID         string
	CentreID           string
	CentreHospitalID   string
	CentreDepartmentID string
	Kind               string
	Modality           string
	ClinicalQuestion   string
	Urgency            string
	PatientRef         string
	FromHospitalID     string
	FromDepartmentID   string
	Attachments        []StudyAttachment
	Status             string
	SubmittedAt        time.Time
	ReportDeadline     time.Time
	ReaderID           string
	ReaderName         string
	AssignedAt         time.Time
	SentBackAt         time.Time
	SentBackCode       string
	SentBackReason     string
	SendBacks          int
	Report             *Report
	Criticals          []CriticalValue
	CancelledAt        time.Time
	CancelReason       string
	UpdatedAt          time.Time
}

// Exists reports whether the request was submitted.
func (d Diagnostic) Exists() bool { return d.ID != "" }

// Open reports whether the study still waits for its report at the centre.
func (d Diagnostic) Open() bool {
	return d.Status == DiagnosticStatusSubmitted || d.Status == DiagnosticStatusAssigned
}

// Overdue reports whether the study waits for its report past its deadline.
func (d Diagnostic) Overdue(now time.Time) bool { return d.Open() && now.After(d.ReportDeadline) }

// Critical returns the critical value with sequence seq.
func (d Diagnostic) Critical(seq int) (CriticalValue, bool) {
	if seq < 1 || seq > len(d.Criticals) {
		return CriticalValue{}, false
	}
	return d.Criticals[seq-1], true
}

// DiagnosticSubmitted records a study sent to a centre, with the report deadline its
// kind and urgency gave it.
type DiagnosticSubmitted struct {
	RequestID          string            `json:"requestId"`
	AllianceID         string            `json:"allianceId"`
	CentreID           string            `json:"centreId"`
	CentreHospitalID   string            `json:"centreHospitalId"`
	CentreDepartmentID string            `json:"centreDepartmentId"`
	Kind               string            `json:"kind"`
	Modality           string            `json:"modality"`
	ClinicalQuestion   string            `json:"clinicalQuestion"`
	Urgency            string            `json:"urgency"`
	PatientRef         string            `json:"patientRef"`
	FromHospitalID     string            `json:"fromHospitalId"`
	FromDepartmentID   string            `json:"fromDepartmentId,omitempty"`
	Attachments        []StudyAttachment `json:"attachments,omitempty"`
	SubmittedAt        time.Time         `json:"submittedAt"`
	ReportDeadline     time.Time         `json:"reportDeadline"`
}

// DiagnosticRouted records that the centre gave the study to a reader: the reader on
// duty by the roster (ShiftID names the shift) or one the centre chose.
type DiagnosticRouted struct {
	RequestID  string    `json:"requestId"`
	ReaderID   string    `json:"readerId"`
	ReaderName string    `json:"readerName"`
	ShiftID    string    `json:"shiftId,omitempty"`
	RoutedAt   time.Time `json:"routedAt"`
}

// DiagnosticClaimed records that a reader took an unassigned study from the worklist.
type DiagnosticClaimed struct {
	RequestID  string    `json:"requestId"`
	ReaderID   string    `json:"readerId"`
	ReaderName string    `json:"readerName"`
	ClaimedAt  time.Time `json:"claimedAt"`
}

// DiagnosticSentBack records quality control returning the study to the member, with a
// reason code and text; the report deadline no longer runs until the member resubmits.
type DiagnosticSentBack struct {
	RequestID  string    `json:"requestId"`
	ReasonCode string    `json:"reasonCode"`
	Reason     string    `json:"reason"`
	ReaderID   string    `json:"readerId,omitempty"`
	SentBackAt time.Time `json:"sentBackAt"`
}

// DiagnosticResubmitted records the member sending the study again (e.g. a new
// tracing), with a new report deadline counted from the resubmission.
type DiagnosticResubmitted struct {
	RequestID      string            `json:"requestId"`
	Note           string            `json:"note,omitempty"`
	Attachments    []StudyAttachment `json:"attachments,omitempty"`
	ResubmittedAt  time.Time         `json:"resubmittedAt"`
	ReportDeadline time.Time         `json:"reportDeadline"`
}

// DiagnosticReported records the first version of the report (published to the member).
type DiagnosticReported struct {
	RequestID    string    `json:"requestId"`
	Version      int       `json:"version"`
	ReaderID     string    `json:"readerId"`
	ReaderName   string    `json:"readerName"`
	Kind         string    `json:"kind"`
	Findings     []Finding `json:"findings"`
	Impression   string    `json:"impression"`
	WithinTarget bool      `json:"withinTarget"`
	ReportedAt   time.Time `json:"reportedAt"`
}

// DiagnosticAmended records a new version of the report and why.
type DiagnosticAmended struct {
	RequestID  string    `json:"requestId"`
	Version    int       `json:"version"`
	ReaderID   string    `json:"readerId"`
	ReaderName string    `json:"readerName"`
	Reason     string    `json:"reason"`
	Findings   []Finding `json:"findings"`
	Impression string    `json:"impression"`
	AmendedAt  time.Time `json:"amendedAt"`
}

// DiagnosticCancelled records the member withdrawing the study before its report.
type DiagnosticCancelled struct {
	RequestID   string    `json:"requestId"`
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelledAt"`
}

// CriticalValueFlagged records a critical finding of a report version, the hospital
// that must acknowledge it and by when.
type CriticalValueFlagged struct {
	RequestID        string    `json:"requestId"`
	Seq              int       `json:"seq"`
	ReportVersion    int       `json:"reportVersion"`
	Finding          string    `json:"finding"`
	CentreID         string    `json:"centreId"`
	FromHospitalID   string    `json:"fromHospitalId"`
	FromDepartmentID string    `json:"fromDepartmentId,omitempty"`
	FlaggedAt        time.Time `json:"flaggedAt"`
	AckDeadline      time.Time `json:"ackDeadline"`
}

// CriticalValueAcknowledged records the requesting hospital confirming it received the
// critical value (who, when, and whether within the acknowledgement time).
type CriticalValueAcknowledged struct {
	RequestID      string    `json:"requestId"`
	Seq            int       `json:"seq"`
	AcknowledgedBy string    `json:"acknowledgedBy"`
	Note           string    `json:"note,omitempty"`
	WithinTarget   bool      `json:"withinTarget"`
	AcknowledgedAt time.Time `json:"acknowledgedAt"`
}

// CriticalValueEscalated records that a critical value was not acknowledged in time and
// went to the requesting department's head or the hospital's duty line. The service's
// timer makes it, on its injected clock; EscalatedAt is that instant.
type CriticalValueEscalated struct {
	RequestID    string    `json:"requestId"`
	Seq          int       `json:"seq"`
	HospitalID   string    `json:"hospitalId"`
	DepartmentID string    `json:"departmentId,omitempty"`
	Channel      string    `json:"channel"`
	AckDeadline  time.Time `json:"ackDeadline"`
	EscalatedAt  time.Time `json:"escalatedAt"`
}

// DiagnosticReferred records that the requesting hospital referred the patient on a
// critical value (the emergency referral's id).
type DiagnosticReferred struct {
	RequestID  string    `json:"requestId"`
	Seq        int       `json:"seq"`
	ReferralID string    `json:"referralId"`
	ReferredAt time.Time `json:"referredAt"`
}

// EventType implements Event.
func (DiagnosticSubmitted) EventType() string { return "DiagnosticSubmitted" }

// EventType implements Event.
func (DiagnosticRouted) EventType() string { return "DiagnosticRouted" }

// EventType implements Event.
func (DiagnosticClaimed) EventType() string { return "DiagnosticClaimed" }

// EventType implements Event.
func (DiagnosticSentBack) EventType() string { return "DiagnosticSentBack" }

// EventType implements Event.
func (DiagnosticResubmitted) EventType() string { return "DiagnosticResubmitted" }

// EventType implements Event.
func (DiagnosticReported) EventType() string { return "DiagnosticReported" }

// EventType implements Event.
func (DiagnosticAmended) EventType() string { return "DiagnosticAmended" }

// EventType implements Event.
func (DiagnosticCancelled) EventType() string { return "DiagnosticCancelled" }

// EventType implements Event.
func (CriticalValueFlagged) EventType() string { return "CriticalValueFlagged" }

// EventType implements Event.
func (CriticalValueAcknowledged) EventType() string { return "CriticalValueAcknowledged" }

// EventType implements Event.
func (CriticalValueEscalated) EventType() string { return "CriticalValueEscalated" }

// EventType implements Event.
func (DiagnosticReferred) EventType() string { return "DiagnosticReferred" }

func init() {
	Register[DiagnosticSubmitted](DiagnosticAggregate, 1, nil)
	Register[DiagnosticRouted](DiagnosticAggregate, 1, nil)
	Register[DiagnosticClaimed](DiagnosticAggregate, 1, nil)
	Register[DiagnosticSentBack](DiagnosticAggregate, 1, nil)
	Register[DiagnosticResubmitted](DiagnosticAggregate, 1, nil)
	Register[DiagnosticReported](DiagnosticAggregate, 1, nil)
	Register[DiagnosticAmended](DiagnosticAggregate, 1, nil)
	Register[DiagnosticCancelled](DiagnosticAggregate, 1, nil)
	Register[CriticalValueFlagged](DiagnosticAggregate, 1, nil)
	Register[CriticalValueAcknowledged](DiagnosticAggregate, 1, nil)
	Register[CriticalValueEscalated](DiagnosticAggregate, 1, nil)
	Register[DiagnosticReferred](DiagnosticAggregate, 1, nil)
}

// Evolve folds one event into the request's state. Slices are copied before a change,
// so an earlier state value never sees a later event.
func (d Diagnostic) Evolve(e Event) Diagnostic {
	switch e := e.(type) {
	case DiagnosticSubmitted:
		d = Diagnostic{ID: e.RequestID, AllianceID: e.AllianceID, CentreID: e.CentreID, CentreHospitalID: e.CentreHospitalID,
			CentreDepartmentID: e.CentreDepartmentID, Kind: e.Kind, Modality: e.Modality, ClinicalQuestion: e.ClinicalQuestion,
			Urgency: e.Urgency, PatientRef: e.PatientRef, FromHospitalID: e.FromHospitalID, FromDepartmentID: e.FromDepartmentID,
			Attachments: slices.Clone(e.Attachments), Status: DiagnosticStatusSubmitted, SubmittedAt: e.SubmittedAt,
			ReportDeadline: e.ReportDeadline, UpdatedAt: e.SubmittedAt}
	case DiagnosticRouted:
		d.Status, d.ReaderID, d.ReaderName, d.AssignedAt, d.UpdatedAt = DiagnosticStatusAssigned, e.ReaderID, e.ReaderName, e.RoutedAt, e.RoutedAt
	case DiagnosticClaimed:
		d.Status, d.ReaderID, d.ReaderName, d.AssignedAt, d.UpdatedAt = DiagnosticStatusAssigned, e.ReaderID, e.ReaderName, e.ClaimedAt, e.ClaimedAt
	case DiagnosticSentBack:
		d.Status, d.SentBackAt, d.SentBackCode, d.SentBackReason, d.UpdatedAt = DiagnosticStatusSentBack, e.SentBackAt, e.ReasonCode, e.Reason, e.SentBackAt
		d.ReaderID, d.ReaderName, d.AssignedAt = "", "", time.Time{}
		d.SendBacks++
	case DiagnosticResubmitted:
		d.Status, d.ReportDeadline, d.UpdatedAt = DiagnosticStatusSubmitted, e.ReportDeadline, e.ResubmittedAt
		if len(e.Attachments) > 0 {
			d.Attachments = slices.Clone(e.Attachments)
		}
	case DiagnosticReported:
		d.Status, d.UpdatedAt = DiagnosticStatusReported, e.ReportedAt
		d.Report = &Report{Version: e.Version, ReaderID: e.ReaderID, ReaderName: e.ReaderName,
			Findings: slices.Clone(e.Findings), Impression: e.Impression, ReportedAt: e.ReportedAt}
	case DiagnosticAmended:
		r := Report{ReportedAt: e.AmendedAt}
		if d.Report != nil {
			r = *d.Report
		}
		r.Version, r.ReaderID, r.ReaderName, r.Findings, r.Impression, r.AmendedAt, r.Reason =
			e.Version, e.ReaderID, e.ReaderName, slices.Clone(e.Findings), e.Impression, e.AmendedAt, e.Reason
		d.Report, d.UpdatedAt = &r, e.AmendedAt
	case DiagnosticCancelled:
		d.Status, d.CancelledAt, d.CancelReason, d.UpdatedAt = DiagnosticStatusCancelled, e.CancelledAt, e.Reason, e.CancelledAt
	case CriticalValueFlagged:
		d.Criticals = append(slices.Clip(d.Criticals), CriticalValue{Seq: e.Seq, ReportVersion: e.ReportVersion, Finding: e.Finding,
			Status: CriticalFlagged, FlaggedAt: e.FlaggedAt, AckDeadline: e.AckDeadline})
		d.UpdatedAt = e.FlaggedAt
	case CriticalValueAcknowledged:
		d.Criticals = d.withCritical(e.Seq, func(c *CriticalValue) {
			c.Status, c.AcknowledgedAt, c.AcknowledgedBy = CriticalAcknowledged, e.AcknowledgedAt, e.AcknowledgedBy
		})
		d.UpdatedAt = e.AcknowledgedAt
	case CriticalValueEscalated:
		d.Criticals = d.withCritical(e.Seq, func(c *CriticalValue) {
			c.Status, c.EscalatedAt, c.EscalatedTo = CriticalEscalated, e.EscalatedAt, e.Channel
		})
		d.UpdatedAt = e.EscalatedAt
	case DiagnosticReferred:
		d.Criticals = d.withCritical(e.Seq, func(c *CriticalValue) { c.ReferralID = e.ReferralID })
		d.UpdatedAt = e.ReferredAt
	}
	return d
}

func (d Diagnostic) withCritical(seq int, f func(*CriticalValue)) []CriticalValue {
	out := slices.Clone(d.Criticals)
	if seq >= 1 && seq <= len(out) {
		f(&out[seq-1])
	}
	return out
}
