package fhir

import (
	"strconv"
	"strings"

	"github.com/medalliance/allianced/domain"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// v1Resources names the FHIR type of what a /v1 read (as the access log records it)
// read; reads of lists and desks have no single resource and are named by identifier.
var v1Resources = map[string]string{
	"plan":        "CarePlan",
	"plan-stream": "CarePlan",
	"consult":     "ServiceRequest",
	"referral":    "ServiceRequest",
	"dispatch":    "Appointment",
	"diagnostic":  "ServiceRequest",
	"mentorship":  "PractitionerRole",
	"placement":   "PractitionerRole",
}

// FHIR reads are recorded in the access log under the resource type (a search under
// "Type?"), so the AuditEvent names the resource it was about.
const searchSuffix = "?"

// AccessResource is the access log's resource name of a FHIR read of typ (search: a
// type-level search).
func AccessResource(typ string, search bool) string {
	if search {
		return typ + searchSuffix
	}
	return typ
}

// AuditEvent maps one access-log entry after IHE's Basic Audit Log Patterns (BALP): a
// RESTful read (or search) by a user of a hospital, observed by this service, with the
// resource read as the entity and the outcome of the authorisation.
func AuditEvent(r AuditRecord) Resource {
	e := r.Entry
	typ, search := strings.CutSuffix(e.Resource, searchSuffix)
	fhirType := ""
	if _, ok := resourceTypes[typ]; ok {
		fhirType = typ
	} else if t, ok := v1Resources[e.Resource]; ok {
		fhirType = t
	}
	subtype, action := "read", r4.AuditEventActionR
	if search {
		subtype, action = "search-type", r4.AuditEventActionE
	}
	outcome := r4.AuditEventOutcome0
	if e.Outcome != domain.AccessAllowed {
		outcome = r4.AuditEventOutcome4
	}
	ae := r4.AuditEvent{Id: ptr(r.ID()),
		Meta:        &r4.Meta{VersionId: ptr("1"), LastUpdated: ptr(instant(e.At))},
		Type:        r4.Coding{System: ptr("http://terminology.hl7.org/CodeSystem/audit-event-type"), Code: ptr("rest"), Display: ptr("RESTful Operation")},
		Subtype:     []r4.Coding{{System: ptr("http://hl7.org/fhir/restful-interaction"), Code: ptr(subtype)}},
		Action:      ptr(action),
		Recorded:    instant(e.At),
		Outcome:     ptr(outcome),
		OutcomeDesc: ptr(e.Outcome),
		Source: r4.AuditEventSource{Observer: r4.Reference{Display: ptr("allianced")},
			Type: []r4.Coding{{System: ptr("http://terminology.hl7.org/CodeSystem/security-source-type"), Code: ptr("4"), Display: ptr("Application Server")}}},
	}
	if e.Reads() > 1 && !e.LastAt.IsZero() {
		ae.Period = &r4.Period{Start: ptr(instant(e.At)), End: ptr(instant(e.LastAt))}
	}
	user := r4.AuditEventAgent{Requestor: true,
		Type: ptr(code("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient")),
		Who:  &r4.Reference{Identifier: ptr(ident(SysUser, nonEmpty(e.Actor.UserID, "unknown"))), Display: ptr(nonEmpty(e.Actor.UserID, "unknown"))},
	}
	if e.Actor.Role != "" {
		user.Role = []r4.CodeableConcept{ownCode("role", e.Actor.Role)}
	}
	ae.Agent = []r4.AuditEventAgent{user}
	if e.Actor.HospitalID != "" {
		ae.Agent = append(ae.Agent, r4.AuditEventAgent{Requestor: false,
			Type: ptr(code("http://dicom.nema.org/resources/ontology/DCM", "110153", "Source Role ID")),
			Who:  ptr(orgOf(e.Actor.HospitalID, e.Actor.DepartmentID))})
	}
	ent := r4.AuditEventEntity{
		Type: &r4.Coding{System: ptr("http://terminology.hl7.org/CodeSystem/audit-entity-type"), Code: ptr("2"), Display: ptr("System Object")},
		Role: &r4.Coding{System: ptr("http://terminology.hl7.org/CodeSystem/object-role"), Code: ptr("4"), Display: ptr("Domain Resource")},
	}
	switch {
	case fhirType != "" && !search && e.ID != "":
		ent.What = refp(fhirType, e.ID)
	case e.ID != "":
		ent.What = &r4.Reference{Identifier: ptr(ident(SysCode+"read-resource:"+e.Resource, e.ID))}
	}
	desc := e.Resource
	if e.Reads() > 1 {
		desc += " (" + strconv.Itoa(e.Reads()) + " reads)"
	}
	ent.Description = ptr(desc)
	ae.Entity = []r4.AuditEventEntity{ent}
	var orgs []string
	if e.Actor.HospitalID != "" {
		orgs = []string{e.Actor.HospitalID}
	}
	return Resource{Type: "AuditEvent", ID: r.ID(), Body: ae, Status: e.Outcome, Orgs: orgs, Updated: e.At,
		Access: Access{Rule: RuleAuditor}}
}

// AuditTarget is the "Type/id" an AuditEvent's entity names ("" when none).
func AuditTarget(r AuditRecord) string {
	typ, search := strings.CutSuffix(r.Entry.Resource, searchSuffix)
	if search || r.Entry.ID == "" {
		return ""
	}
	if _, ok := resourceTypes[typ]; ok {
		return typ + "/" + r.Entry.ID
	}
	if t, ok := v1Resources[r.Entry.Resource]; ok {
		return t + "/" + r.Entry.ID
	}
	return ""
}

// Targets returns the resources one event changed, as "Type/id" (without version): the
// aggregate's resources as they stand after the event (after: the aggregate folded up
// to it), narrowed to the member or protocol version the event names.
func Targets(after *Agg, ev domain.Event) []string {
	switch e := ev.(type) {
	case domain.ProtocolDrafted:
		return nil // no version yet: nothing FHIR shows changed
	case domain.ProtocolVersionPublished:
		return []string{"PlanDefinition/" + PlanDefinitionID(e.ProtocolID, e.Version)}
	case domain.ProtocolVersionWithdrawn:
		return []string{"PlanDefinition/" + PlanDefinitionID(e.ProtocolID, e.Version)}
	case domain.AllianceMemberAdmitted:
		return []string{"OrganizationAffiliation/" + AffiliationID(e.AllianceID, e.HospitalID)}
	case domain.AllianceMemberSuspended:
		return []string{"OrganizationAffiliation/" + AffiliationID(e.AllianceID, e.HospitalID)}
	case domain.AllianceMemberReinstated:
		return []string{"OrganizationAffiliation/" + AffiliationID(e.AllianceID, e.HospitalID)}
	case domain.AllianceMemberWithdrawn:
		return []string{"OrganizationAffiliation/" + AffiliationID(e.AllianceID, e.HospitalID)}
	case domain.CriticalValueFlagged:
		return []string{"Communication/" + CommunicationID(e.RequestID, e.Seq)}
	case domain.CriticalValueEscalated:
		return []string{"Communication/" + CommunicationID(e.RequestID, e.Seq)}
	case domain.CriticalValueAcknowledged:
		return []string{"Communication/" + CommunicationID(e.RequestID, e.Seq)}
	case domain.DiagnosticReferred:
		return []string{"Communication/" + CommunicationID(e.RequestID, e.Seq)}
	case domain.DiagnosticReported:
		return []string{"ServiceRequest/" + e.RequestID, "Task/" + e.RequestID, "DiagnosticReport/" + e.RequestID}
	case domain.DiagnosticAmended:
		return []string{"DiagnosticReport/" + e.RequestID}
	case domain.AllianceFounded:
		return []string{"Organization/" + e.AllianceID}
	case domain.AllianceLeadDepartmentAdded:
		return []string{"Organization/" + e.AllianceID}
	}
	return resourceRefs(after)
}

// resourceRefs lists "Type/id" of every resource an aggregate maps to, without mapping
// them (the export computes it for every event).
func resourceRefs(a *Agg) []string {
	switch s := a.State.(type) {
	case domain.Hospital:
		out := []string{"Organization/" + s.ID}
		for _, d := range s.Departments {
			out = append(out, "Organization/"+DepartmentOrgID(s.ID, d.ID))
		}
		return out
	case domain.Alliance:
		out := []string{"Organization/" + s.ID}
		for _, m := range s.Members {
			out = append(out, "OrganizationAffiliation/"+AffiliationID(s.ID, m.HospitalID))
		}
		return out
	case domain.Practitioner:
		return []string{"Practitioner/" + s.ID, "PractitionerRole/" + s.ID}
	case domain.Protocol:
		var out []string
		for _, v := range s.Versions {
			out = append(out, "PlanDefinition/"+PlanDefinitionID(s.ID, v.Number))
		}
		return out
	case domain.Plan:
		return []string{"CarePlan/" + s.ID}
	case domain.Referral:
		return []string{"ServiceRequest/" + s.ID, "Task/" + s.ID}
	case domain.Consult:
		return []string{"ServiceRequest/" + s.ID, "Task/" + s.ID}
	case domain.Dispatch:
		return []string{"Appointment/" + s.ID}
	case domain.Centre:
		out := []string{"Organization/" + s.ID}
		for _, rd := range s.Readers {
			out = append(out, "PractitionerRole/"+ReaderRoleID(s.ID, rd.PractitionerID))
		}
		return out
	case domain.Mentorship:
		return []string{"PractitionerRole/" + s.ID}
	case domain.Placement:
		return []string{"PractitionerRole/" + s.ID}
	case domain.Diagnostic:
		out := []string{"ServiceRequest/" + s.ID, "Task/" + s.ID}
		if s.Report != nil {
			out = append(out, "DiagnosticReport/"+s.ID)
		}
		for _, cv := range s.Criticals {
			out = append(out, "Communication/"+CommunicationID(s.ID, cv.Seq))
		}
		return out
	}
	return nil
}
