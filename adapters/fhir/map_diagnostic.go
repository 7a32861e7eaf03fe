package fhir

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/medalliance/allianced/domain"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Aggregate kinds of the diagnostic centres.
const (
	KindCentre     = "centre"
	KindDiagnostic = "diagnostic"
)

// CategoryDiagnostic is the ServiceRequest category of a study sent to a centre.
const CategoryDiagnostic = "diagnostic"

// centreResources maps a diagnostic centre (ECG, imaging, lab, pathology, ultrasound)
// to an Organization that is part of its operating department.
func centreResources(a *Agg, c domain.Centre) []Resource {
	if c.ID == "" {
		return nil
	}
	org := r4.Organization{Id: ptr(c.ID), Meta: meta(a), Active: ptr(true), Name: ptr(c.Name),
		Identifier: []r4.Identifier{ident(SysCode+"centre", c.ID)},
		Type: []r4.CodeableConcept{
			code("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider"),
			ownCode("centre-kind", c.Kind),
		},
		PartOf: ptr(orgOf(c.OperatorHospitalID, c.DepartmentID)),
	}
	out := []Resource{{Type: "Organization", ID: c.ID, Body: org, Status: "active",
		Orgs: []string{c.ID, c.AllianceID, c.OperatorHospitalID}, Updated: a.Updated,
		Access: Access{Rule: RuleAlliance, AllianceID: c.AllianceID}}}
	// Each reader's role at the centre.
	for _, rd := range c.Readers {
		id := ReaderRoleID(c.ID, rd.PractitionerID)
		role := r4.PractitionerRole{Id: ptr(id), Meta: meta(a), Active: ptr(true),
			Identifier:   []r4.Identifier{ident(SysCode+"centre-reader", id)},
			Practitioner: &r4.Reference{Reference: ptr("Practitioner/" + rd.PractitionerID), Display: optString(rd.Name)},
			Organization: refp("Organization", c.ID),
			Code:         []r4.CodeableConcept{ownCode("practitioner-role", "reader")},
			Period:       &r4.Period{Start: optInstant(rd.AddedAt)},
		}
		out = append(out, Resource{Type: "PractitionerRole", ID: id, Body: role, Status: "active",
			Orgs: []string{c.ID, c.AllianceID, c.OperatorHospitalID}, Updated: a.Updated, Access: Access{Rule: RuleAnyone}})
	}
	return out
}

// ReaderRoleID is the id of a centre reader's PractitionerRole.
func ReaderRoleID(centreID, practitionerID string) string { return centreID + "-r-" + practitionerID }

// diagnosticResources maps a study sent to a centre: its ServiceRequest and Task
// (submitted, assigned, sent back, reported, cancelled), its DiagnosticReport once
// reported (amended versions are the report's _history), and a Communication per
// critical value (notified, escalated, acknowledged).
func diagnosticResources(a *Agg, d domain.Diagnostic) []Resource {
	if d.ID == "" {
		return nil
	}
	acc := Access{Rule: RuleParties, Parties: []string{d.FromHospitalID, d.CentreHospitalID}}
	orgs := []string{d.AllianceID, d.FromHospitalID, d.CentreHospitalID, d.CentreID}
	centre := ref("Organization", d.CentreID)
	sr := r4.ServiceRequest{Id: ptr(d.ID), Meta: meta(a), Extension: allianceExt(d.AllianceID),
		Identifier:       []r4.Identifier{ident(SysCode+"diagnostic", d.ID)},
		Status:           diagnosticRequestStatus(d.Status),
		Intent:           r4.RequestIntentOrder,
		Category:         []r4.CodeableConcept{category(CategoryDiagnostic)},
		Priority:         priorityOf(d.Urgency),
		Code:             ptr(studyCode(d)),
		Subject:          patientRef(d.PatientRef),
		AuthoredOn:       optInstant(d.SubmittedAt),
		Requester:        ptr(orgOf(d.FromHospitalID, d.FromDepartmentID)),
		Performer:        []r4.Reference{centre},
		OccurrencePeriod: &r4.Period{Start: optInstant(d.SubmittedAt), End: optInstant(d.ReportDeadline)},
	}
	if d.ClinicalQuestion != "" {
		sr.ReasonCode = []r4.CodeableConcept{text(d.ClinicalQuestion)}
	}
	ts := diagnosticTaskStatus(d.Status)
	task := r4.Task{Id: ptr(d.ID), Meta: meta(a), Extension: allianceExt(d.AllianceID),
		Identifier:     []r4.Identifier{ident(SysCode+"diagnostic:task", d.ID)},
		BasedOn:        []r4.Reference{ref("ServiceRequest", d.ID)},
		Status:         ts,
		BusinessStatus: ptr(ownCode("diagnostic-status", d.Status)),
		Intent:         "order",
		Priority:       priorityOf(d.Urgency),
		Code:           ptr(code("http://hl7.org/fhir/CodeSystem/task-code", "fulfill", "Fulfill the focal request")),
		Focus:          refp("ServiceRequest", d.ID),
		For:            ptr(patientRef(d.PatientRef)),
		AuthoredOn:     optInstant(d.SubmittedAt),
		LastModified:   optInstant(a.Updated),
		Requester:      ptr(orgOf(d.FromHospitalID, d.FromDepartmentID)),
		Owner:          &centre,
		Restriction:    &r4.TaskRestriction{Period: &r4.Period{End: optInstant(d.ReportDeadline)}},
	}
	if d.ReaderID != "" {
		task.Owner = &r4.Reference{Reference: ptr("Practitioner/" + d.ReaderID), Display: optString(d.ReaderName)}
	}
	if !d.AssignedAt.IsZero() {
		task.ExecutionPeriod = &r4.Period{Start: optInstant(d.AssignedAt)}
	}
	switch d.Status {
	case domain.DiagnosticStatusSentBack:
		task.StatusReason = ptr(code(SysCode+"send-back-reason", nonEmpty(d.SentBackCode, "other"), ""))
		task.StatusReason.Text = optString(d.SentBackReason)
	case domain.DiagnosticStatusCancelled:
		task.StatusReason = ptr(text(nonEmpty(d.CancelReason, "cancelled")))
	}
	out := []Resource{
		{Type: "ServiceRequest", ID: d.ID, Body: sr, Status: sr.Status.Code(), Patient: d.PatientRef, Orgs: orgs, Updated: a.Updated, Access: acc},
		{Type: "Task", ID: d.ID, Body: task, Status: ts.Code(), Patient: d.PatientRef, Orgs: orgs, Updated: a.Updated, Access: acc},
	}
	if d.Report != nil {
		out = append(out, diagnosticReport(a, d, acc, orgs))
	}
	for _, cv := range d.Criticals {
		out = append(out, criticalCommunication(a, d, cv, acc, orgs))
	}
	return out
}

func studyCode(d domain.Diagnostic) r4.CodeableConcept {
	c := ownCode("study-kind", d.Kind)
	if d.Modality != "" {
		c.Text = ptr(d.Modality)
	}
	return c
}

func diagnosticReport(a *Agg, d domain.Diagnostic, acc Access, orgs []string) Resource {
	rp := d.Report
	status := r4.DiagnosticReportStatusFinal
	if rp.Version > 1 {
		status = r4.DiagnosticReportStatusAmended
	}
	var lines []string
	if rp.Impression != "" {
		lines = append(lines, rp.Impression)
	}
	for _, f := range rp.Findings {
		l := f.Item + ": " + f.Value
		if f.Unit != "" {
			l += " " + f.Unit
		}
		if f.ReferenceRange != "" {
			l += " (reference " + f.ReferenceRange + ")"
		}
		if f.Flag != "" {
			l += " [" + f.Flag + "]"
		}
		lines = append(lines, l)
	}
	dr := r4.DiagnosticReport{Id: ptr(d.ID), Meta: meta(a), Extension: allianceExt(d.AllianceID),
		Identifier:         []r4.Identifier{ident(SysCode+"diagnostic:report", d.ID)},
		BasedOn:            []r4.Reference{ref("ServiceRequest", d.ID)},
		Status:             status,
		Category:           []r4.CodeableConcept{ownCode("centre-kind", d.Kind)},
		Code:               studyCode(d),
		Subject:            ptr(patientRef(d.PatientRef)),
		Issued:             optInstant(firstNonZero(rp.AmendedAt, rp.ReportedAt)),
		EffectiveDateTime:  optInstant(d.SubmittedAt),
		Performer:          []r4.Reference{ref("Organization", d.CentreID)},
		ResultsInterpreter: []r4.Reference{{Reference: ptr("Practitioner/" + rp.ReaderID), Display: optString(rp.ReaderName)}},
		Conclusion:         optString(strings.Join(lines, "\n")),
	}
	if rp.ReaderID == "" {
		dr.ResultsInterpreter = nil
	}
	for _, f := range rp.Findings {
		if f.Flag == domain.FlagCritical {
			dr.ConclusionCode = append(dr.ConclusionCode, code("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "AA", "Critical abnormal"))
			break
		}
	}
	return Resource{Type: "DiagnosticReport", ID: d.ID, Body: dr, Status: status.Code(), Patient: d.PatientRef, Orgs: orgs, Updated: a.Updated, Access: acc}
}

// CommunicationID is the id of a critical value's Communication.
func CommunicationID(requestID string, seq int) string { return requestID + "-c" + strconv.Itoa(seq) }

// criticalCommunication maps a critical value: the centre notifies the requesting
// department (sent), escalates it when unacknowledged by its deadline (a note), and the
// requester's acknowledgement completes it (received).
func criticalCommunication(a *Agg, d domain.Diagnostic, cv domain.CriticalValue, acc Access, orgs []string) Resource {
	id := CommunicationID(d.ID, cv.Seq)
	status := r4.EventStatusInProgress
	if cv.Status == domain.CriticalAcknowledged {
		status = r4.EventStatusCompleted
	}
	cm := r4.Communication{Id: ptr(id), Meta: meta(a), Extension: allianceExt(d.AllianceID),
		Identifier: []r4.Identifier{ident(SysCode+"critical-value", id)},
		BasedOn:    []r4.Reference{ref("ServiceRequest", d.ID)},
		Status:     status,
		Category:   []r4.CodeableConcept{code("http://terminology.hl7.org/CodeSystem/communication-category", "alert", "Alert")},
		Priority:   ptr(r4.RequestPriorityStat),
		Subject:    ptr(patientRef(d.PatientRef)),
		Topic:      ptr(ownCode("critical-value-status", cv.Status)),
		About:      []r4.Reference{ref("DiagnosticReport", d.ID)},
		Sent:       optInstant(cv.FlaggedAt),
		Received:   optInstant(cv.AcknowledgedAt),
		Recipient:  []r4.Reference{orgOf(d.FromHospitalID, d.FromDepartmentID)},
		Sender:     refp("Organization", d.CentreID),
	}
	cm.Topic.Text = ptr("critical value: " + cv.Finding)
	if !cv.EscalatedAt.IsZero() {
		cm.Note = append(cm.Note, r4.Annotation{Text: "escalated (not acknowledged by " + instant(cv.AckDeadline) + ")" + nonEmptyPrefix(" to ", cv.EscalatedTo), Time: optInstant(cv.EscalatedAt)})
	}
	if cv.AcknowledgedBy != "" {
		cm.Note = append(cm.Note, r4.Annotation{Text: "acknowledged by " + cv.AcknowledgedBy, Time: optInstant(cv.AcknowledgedAt)})
	}
	if cv.ReferralID != "" {
		cm.Note = append(cm.Note, r4.Annotation{Text: "the patient was referred: ServiceRequest/" + cv.ReferralID})
	}
	// The library's CommunicationPayload has no omitempty on its choice elements, so the
	// payload (the finding as contentString) is added to the encoded resource.
	body, err := withPayload(cm, cv.Finding)
	if err != nil {
		body = nil
	}
	var b any = cm
	if body != nil {
		b = body
	}
	return Resource{Type: "Communication", ID: id, Body: b, Status: status.Code(), Patient: d.PatientRef, Orgs: orgs, Updated: a.Updated, Access: acc}
}

func nonEmptyPrefix(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func withPayload(cm r4.Communication, content string) (json.RawMessage, error) {
	b, err := json.Marshal(cm)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	p, err := json.Marshal([]map[string]string{{"contentString": content}})
	if err != nil {
		return nil, err
	}
	m["payload"] = p
	return json.Marshal(m)
}

func diagnosticRequestStatus(s string) r4.RequestStatus {
	switch s {
	case domain.DiagnosticStatusSubmitted, domain.DiagnosticStatusAssigned:
		return r4.RequestStatusActive
	case domain.DiagnosticStatusSentBack:
		return r4.RequestStatusOnHold
	case domain.DiagnosticStatusReported:
		return r4.RequestStatusCompleted
	case domain.DiagnosticStatusCancelled:
		return r4.RequestStatusRevoked
	}
	return r4.RequestStatusUnknown
}

func diagnosticTaskStatus(s string) r4.TaskStatus {
	switch s {
	case domain.DiagnosticStatusSubmitted:
		return r4.TaskStatusRequested
	case domain.DiagnosticStatusAssigned:
		return r4.TaskStatusInProgress
	case domain.DiagnosticStatusSentBack:
		return r4.TaskStatusOnHold
	case domain.DiagnosticStatusReported:
		return r4.TaskStatusCompleted
	case domain.DiagnosticStatusCancelled:
		return r4.TaskStatusCancelled
	}
	return r4.TaskStatusDraft
}
