package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/medalliance/allianced/domain"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// InboundRequest is what a member's HIS asks for with POST ServiceRequest: a referral
// or a remote consult, in the service's terms.
type InboundRequest struct {
	Category   string // CategoryReferral or CategoryConsult
	AllianceID string
	Urgency    string // emergency, urgent, routine
	// Exactly one of PatientRef and MRN (the sender's record number, pseudonymized at
	// once by the use case and never stored).
	PatientRef string
	MRN        string
	// RequesterHospitalID is the hospital the resource says asks (checked against the
	// caller's token).
	RequesterHospitalID string
	ToHospitalID        string
	ToDepartmentID      string
	PractitionerID      string
	PlanID              string
	Reason              string
	Note                string
	Specialty           string
	ConsentRef          string
	// CentreID is a diagnostic study's centre (performer Organization/<centreId>).
	CentreID string
}

// strictDecode decodes a FHIR JSON resource of resourceType typ into v, refusing other
// types, unknown elements, malformed values and trailing data.
func strictDecode(body []byte, typ string, v any) error {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return domain.Errorf(domain.CodeInvalidInput, "the body is not a JSON object")
	}
	if head.ResourceType != typ {
		return domain.Errorf(domain.CodeInvalidInput, "the body must be a %s resource (resourceType %q)", typ, truncate(head.ResourceType, 40))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return domain.Errorf(domain.CodeInvalidInput, "the body is not a JSON object")
	}
	delete(m, "resourceType")
	rest, _ := json.Marshal(m)
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return domain.Errorf(domain.CodeInvalidInput, "the %s is not valid FHIR R4: %s", typ, decodeProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Errorf(domain.CodeInvalidInput, "the body has data after its end")
	}
	return nil
}

func decodeProblem(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return "element " + typ.Field + " has the wrong type"
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		return "unknown element " + strings.TrimPrefix(msg, "json: unknown field ")
	}
	if strings.HasPrefix(msg, "unknown ") { // the library's code enums: unknown RequestStatus code `x`
		return truncate(msg, 120)
	}
	return "malformed JSON"
}

// orgID reads "Organization/<id>" into a hospital id and, for a department's
// Organization (<hospital>-<department>), the department.
func orgID(r *r4.Reference) (hospital, department string, ok bool) {
	if r == nil || r.Reference == nil {
		return "", "", false
	}
	id, found := strings.CutPrefix(*r.Reference, "Organization/")
	if !found {
		return "", "", false
	}
	hospital, department, _ = strings.Cut(id, "-")
	return hospital, department, domain.ValidateID("organization", hospital) == nil
}

func refID(r r4.Reference, typ string) (string, bool) {
	if r.Reference == nil {
		return "", false
	}
	id, ok := strings.CutPrefix(*r.Reference, typ+"/")
	return id, ok && id != ""
}

// ParseServiceRequest reads an inbound ServiceRequest. It needs: status active, intent
// order, a category of referral or consult (the service's code or its SNOMED CT code),
// the alliance (extension ExtAlliance), the subject as an identifier (SysPatientRef:
// a pseudonymous reference; SysMRN: the sender's record number), the requester
// (Organization/<the caller's hospital>); a referral names its receiving Organization
// as performer (optional upward: the lead), a consult its specialty as code.text, a
// diagnostic study its centre as performer and its modality as code.text (the centre
// gives the alliance).
func ParseServiceRequest(body []byte) (InboundRequest, error) {
	var sr r4.ServiceRequest
	if err := strictDecode(body, "ServiceRequest", &sr); err != nil {
		return InboundRequest{}, err
	}
	in := InboundRequest{}
	if sr.Status != r4.RequestStatusActive {
		return in, domain.Errorf(domain.CodeInvalidInput, "status must be active (a request to carry out now)")
	}
	if sr.Intent != r4.RequestIntentOrder && sr.Intent != r4.RequestIntentOriginalOrder {
		return in, domain.Errorf(domain.CodeInvalidInput, "intent must be order")
	}
	for _, c := range sr.Category {
		for _, cd := range c.Coding {
			if cd.Code == nil {
				continue
			}
			switch {
			case *cd.Code == CategoryReferral || *cd.Code == "3457005":
				in.Category = CategoryReferral
			case *cd.Code == CategoryConsult || *cd.Code == "11429006":
				in.Category = CategoryConsult
			case *cd.Code == CategoryDiagnostic || *cd.Code == "103693007":
				in.Category = CategoryDiagnostic
			}
		}
	}
	if in.Category == "" {
		return in, domain.Errorf(domain.CodeInvalidInput, "category must say referral (%srequest-category|referral or SNOMED CT 3457005), consult (|consult or 11429006) or diagnostic (|diagnostic or 103693007)", SysCode)
	}
	for _, e := range sr.Extension {
		if e.Url == ExtAlliance && e.ValueReference != nil {
			if id, ok := refID(*e.ValueReference, "Organization"); ok {
				in.AllianceID = id
			}
		}
	}
	if in.AllianceID == "" && in.Category != CategoryDiagnostic { // a study names its centre, which knows its alliance
		return in, domain.Errorf(domain.CodeInvalidInput, "name the alliance: extension %s with valueReference Organization/<allianceId>", ExtAlliance)
	}
	in.Urgency = "routine"
	if sr.Priority != nil {
		switch *sr.Priority {
		case r4.RequestPriorityStat:
			in.Urgency = "emergency"
		case r4.RequestPriorityUrgent, r4.RequestPriorityAsap:
			in.Urgency = "urgent"
		}
	}
	id := sr.Subject.Identifier
	if id == nil || id.Value == nil || id.System == nil {
		return in, domain.Errorf(domain.CodeInvalidInput, "subject must be an identifier: %s (pr_...) or %s (the record number, pseudonymized at once)", SysPatientRef, SysMRN)
	}
	switch *id.System {
	case SysPatientRef:
		in.PatientRef = *id.Value
	case SysMRN:
		in.MRN = *id.Value
	default:
		return in, domain.Errorf(domain.CodeInvalidInput, "subject.identifier.system must be %s or %s", SysPatientRef, SysMRN)
	}
	h, _, ok := orgID(sr.Requester)
	if !ok {
		return in, domain.Errorf(domain.CodeInvalidInput, "requester must be Organization/<your hospital id>")
	}
	in.RequesterHospitalID = h
	for _, p := range sr.Performer {
		if in.Category == CategoryDiagnostic {
			if id, ok := refID(p, "Organization"); ok {
				in.CentreID = id
			}
			continue
		}
		if hid, dept, ok := orgID(&p); ok {
			in.ToHospitalID, in.ToDepartmentID = hid, dept
		} else if pid, ok := refID(p, "Practitioner"); ok {
			in.PractitionerID = pid
		}
	}
	for _, b := range sr.BasedOn {
		if pid, ok := refID(b, "CarePlan"); ok {
			in.PlanID = pid
		}
	}
	if len(sr.ReasonCode) > 0 && sr.ReasonCode[0].Text != nil {
		in.Reason = *sr.ReasonCode[0].Text
	}
	var notes []string
	for _, n := range sr.Note {
		notes = append(notes, n.Text)
	}
	in.Note = strings.Join(notes, "\n")
	if sr.Code != nil && sr.Code.Text != nil {
		in.Specialty = *sr.Code.Text
	}
	for _, s := range sr.SupportingInfo {
		if s.Identifier != nil && s.Identifier.Value != nil && s.Type != nil && *s.Type == "Consent" {
			in.ConsentRef = *s.Identifier.Value
		}
	}
	if in.Category == CategoryDiagnostic && domain.ValidateID("centre", in.CentreID) != nil {
		return in, domain.Errorf(domain.CodeInvalidInput, "a diagnostic request names its centre as performer: Organization/<centreId>")
	}
	return in, nil
}

// InboundTask is a Task a member's HIS sends to move a referral or consult on.
type InboundTask struct {
	RequestID string // the focal ServiceRequest's id
	Status    string // the Task status code asked for
	// Business is the businessStatus code (arrived, admitted, no_show ... of the
	// service's referral-status or consult-status), "" when none.
	Business        string
	Reason          string
	Note            string
	ExpectedArrival time.Time
	DepartmentID    string
}

// ParseTask reads an inbound Task: focus (or basedOn) ServiceRequest/<id>, the status
// asked for, and what the transition needs (statusReason.text as the reason, note as a
// summary or an alternative, executionPeriod.start as the expected arrival, owner as the
// receiving department).
func ParseTask(body []byte) (InboundTask, error) {
	var t r4.Task
	if err := strictDecode(body, "Task", &t); err != nil {
		return InboundTask{}, err
	}
	in := InboundTask{Status: t.Status.Code()}
	if t.Focus != nil {
		in.RequestID, _ = refID(*t.Focus, "ServiceRequest")
	}
	for _, b := range t.BasedOn {
		if id, ok := refID(b, "ServiceRequest"); ok && in.RequestID == "" {
			in.RequestID = id
		}
	}
	if in.RequestID == "" || domain.ValidateID("ServiceRequest", in.RequestID) != nil {
		return in, domain.Errorf(domain.CodeInvalidInput, "focus must be ServiceRequest/<id> of a referral or consult")
	}
	if t.BusinessStatus != nil {
		for _, c := range t.BusinessStatus.Coding {
			if c.Code != nil {
				in.Business = *c.Code
			}
		}
		if in.Business == "" && t.BusinessStatus.Text != nil {
			in.Business = *t.BusinessStatus.Text
		}
	}
	if t.StatusReason != nil && t.StatusReason.Text != nil {
		in.Reason = *t.StatusReason.Text
	}
	var notes []string
	for _, n := range t.Note {
		notes = append(notes, n.Text)
	}
	in.Note = strings.Join(notes, "\n")
	if t.ExecutionPeriod != nil && t.ExecutionPeriod.Start != nil {
		at, err := time.Parse(time.RFC3339, *t.ExecutionPeriod.Start)
		if err != nil {
			return in, domain.Errorf(domain.CodeInvalidInput, "executionPeriod.start must be a dateTime with a time zone")
		}
		in.ExpectedArrival = at
	}
	if _, dept, ok := orgID(t.Owner); ok {
		in.DepartmentID = dept
	}
	return in, nil
}
