package fhir

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/medalliance/allianced/domain"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Identifier and code systems of the service's own ids and codes (URNs: they name
// nothing that resolves on the network), and the URLs of its few extensions.
const (
	SysHospital     = "urn:medalliance:hospital"
	SysDepartment   = "urn:medalliance:department"
	SysAlliance     = "urn:medalliance:alliance"
	SysPractitioner = "urn:medalliance:practitioner"
	SysProtocol     = "urn:medalliance:protocol"
	SysPlan         = "urn:medalliance:plan"
	SysReferral     = "urn:medalliance:referral"
	SysConsult      = "urn:medalliance:consult"
	SysDispatch     = "urn:medalliance:dispatch"
	// SysPatientRef is the pseudonymous patient reference (pr_...): the only patient
	// identity the service knows; it is an identifier, never a Patient resource.
	SysPatientRef = "urn:medalliance:patient-ref"
	// SysMRN marks an inbound identifier as the sending hospital's medical record
	// number; it is turned into a patient reference at once and never stored.
	SysMRN  = "urn:medalliance:mrn"
	SysUser = "urn:medalliance:user"
	SysCode = "urn:medalliance:code:"

	ExtBase = "https://medalliance.cn/fhir/StructureDefinition/"
	// ExtAlliance names the alliance a request belongs to (valueReference to the
	// alliance's Organization).
	ExtAlliance = ExtBase + "alliance"
	// ExtStepDosage carries a protocol step's dose and route on its PlanDefinition action.
	ExtStepDosage = ExtBase + "step-dosage"
	// ExtWithdrawn marks a protocol version withdrawn for safety (valueString: why).
	ExtWithdrawn = ExtBase + "withdrawn-for-safety"
	// ExtProtocolFlag marks a plan whose protocol version was withdrawn.
	ExtProtocolFlag = ExtBase + "protocol-version-withdrawn"
	// ExtHashChain is a Provenance's link in its stream's hash chain.
	ExtHashChain = ExtBase + "hash-chain"

	protocolURLPrefix = "urn:medalliance:protocol:"
)

// Resource is one FHIR resource with what the search and the authorisation need.
type Resource struct {
	Type string
	ID   string
	// Body is the resource (a value of a golang-fhir-models type).
	Body any
	// Search keys: the FHIR status code, the patient reference, the organisations the
	// resource names (hospital, department and alliance ids), the last update.
	Status  string
	Patient string
	Orgs    []string
	Updated time.Time
	Access  Access
}

// Access says who may read a resource, with the same rules as the /v1 read of its
// source (the HTTP adapter applies them).
type Access struct {
	Rule string
	// AllianceID for RuleAlliance; Parties for RuleParties; the plan fields for RulePlan.
	AllianceID     string
	Parties        []string
	Lead           string
	LeadDepartment string
	Responsible    string
	Holders        []string
}

// Access rules.
const (
	RuleAnyone   = "anyone"   // the directory: any authenticated caller
	RuleAlliance = "alliance" // an alliance's own views: its lead, its admitted hospitals, auditors
	RulePlan     = "plan"     // a plan: responsible, former holders, the lead department, auditors
	RuleParties  = "parties"  // a referral, consult or dispatch: its two hospitals, auditors
	RuleAuditor  = "auditor"  // the access log: auditors
)

func ptr[T any](v T) *T { return &v }

func jsonInt(n int) json.Number { return json.Number(strconv.Itoa(n)) }

func instant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func optInstant(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return ptr(instant(t))
}

func ref(typ, id string) r4.Reference {
	return r4.Reference{Reference: ptr(typ + "/" + id)}
}

func refp(typ, id string) *r4.Reference { r := ref(typ, id); return &r }

func ident(system, value string) r4.Identifier {
	return r4.Identifier{System: ptr(system), Value: ptr(value)}
}

func code(system, c, display string) r4.CodeableConcept {
	cd := r4.Coding{System: ptr(system), Code: ptr(c)}
	if display != "" {
		cd.Display = ptr(display)
	}
	return r4.CodeableConcept{Coding: []r4.Coding{cd}}
}

func text(s string) r4.CodeableConcept { return r4.CodeableConcept{Text: ptr(s)} }

func optText(s string) *r4.CodeableConcept {
	if s == "" {
		return nil
	}
	return ptr(text(s))
}

func ownCode(system, c string) r4.CodeableConcept { return code(SysCode+system, c, "") }

func meta(a *Agg) *r4.Meta {
	return &r4.Meta{VersionId: ptr(a.VersionID()), LastUpdated: ptr(instant(a.Updated))}
}

// patientRef is the subject of a patient's resources: the pseudonymous reference as a
// logical identifier.
func patientRef(pr string) r4.Reference {
	return r4.Reference{Type: ptr("Patient"), Identifier: ptr(ident(SysPatientRef, pr))}
}

// DepartmentOrgID is the Organization id of a hospital's department.
func DepartmentOrgID(hospitalID, departmentID string) string { return hospitalID + "-" + departmentID }

// orgOf names a department's Organization when the department is known, else the
// hospital's.
func orgOf(hospitalID, departmentID string) r4.Reference {
	if departmentID != "" {
		return ref("Organization", DepartmentOrgID(hospitalID, departmentID))
	}
	return ref("Organization", hospitalID)
}

// PlanDefinitionID is the id of one protocol version's PlanDefinition.
func PlanDefinitionID(protocolID string, version int) string {
	return protocolID + "-v" + strconv.Itoa(version)
}

// ProtocolURL is the canonical URL of a protocol; a version is URL|N.
func ProtocolURL(protocolID string) string { return protocolURLPrefix + protocolID }

// AffiliationID is the id of a membership's OrganizationAffiliation.
func AffiliationID(allianceID, hospitalID string) string { return allianceID + "-" + hospitalID }

// ResourcesOf returns every resource an aggregate's state maps to.
func ResourcesOf(a *Agg) []Resource {
	if a == nil || a.State == nil {
		return nil
	}
	switch s := a.State.(type) {
	case domain.Hospital:
		return hospitalResources(a, s)
	case domain.Alliance:
		return allianceResources(a, s)
	case domain.Practitioner:
		return practitionerResources(a, s)
	case domain.Protocol:
		return protocolResources(a, s)
	case domain.Plan:
		return []Resource{CarePlan(a, s)}
	case domain.Referral:
		return referralResources(a, s)
	case domain.Consult:
		return consultResources(a, s)
	case domain.Dispatch:
		return []Resource{Appointment(a, s)}
	case domain.Centre:
		return centreResources(a, s)
	case domain.Diagnostic:
		return diagnosticResources(a, s)
	case domain.Mentorship:
		return mentorshipResources(a, s)
	case domain.Placement:
		return placementResources(a, s)
	}
	return nil
}

func hospitalResources(a *Agg, h domain.Hospital) []Resource {
	if h.ID == "" {
		return nil
	}
	org := r4.Organization{Id: ptr(h.ID), Meta: meta(a), Active: ptr(true), Name: ptr(h.Name),
		Identifier: []r4.Identifier{ident(SysHospital, h.ID)},
		Type: []r4.CodeableConcept{
			code("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider"),
		},
	}
	if h.Level != "" {
		org.Type = append(org.Type, ownCode("hospital-level", h.Level))
	}
	if h.RegionCode != "" {
		org.Address = []r4.Address{{District: ptr(h.RegionCode), Country: ptr("CN")}}
	}
	out := []Resource{{Type: "Organization", ID: h.ID, Body: org, Status: "active", Orgs: []string{h.ID}, Updated: a.Updated, Access: Access{Rule: RuleAnyone}}}
	for _, d := range h.Departments {
		id := DepartmentOrgID(h.ID, d.ID)
		dept := r4.Organization{Id: ptr(id), Meta: meta(a), Active: ptr(true), Name: ptr(d.Name),
			Identifier: []r4.Identifier{ident(SysDepartment, id)},
			Type:       []r4.CodeableConcept{code("http://terminology.hl7.org/CodeSystem/organization-type", "dept", "Hospital Department")},
			PartOf:     refp("Organization", h.ID),
		}
		out = append(out, Resource{Type: "Organization", ID: id, Body: dept, Status: "active", Orgs: []string{h.ID, id}, Updated: a.Updated, Access: Access{Rule: RuleAnyone}})
	}
	return out
}

func allianceResources(a *Agg, al domain.Alliance) []Resource {
	if al.ID == "" {
		return nil
	}
	acc := Access{Rule: RuleAlliance, AllianceID: al.ID}
	org := r4.Organization{Id: ptr(al.ID), Meta: meta(a), Active: ptr(true), Name: ptr(al.Name),
		Identifier: []r4.Identifier{ident(SysAlliance, al.ID)},
		Type: []r4.CodeableConcept{
			code("http://terminology.hl7.org/CodeSystem/organization-type", "other", "Other"),
			ownCode("alliance-kind", al.Kind),
		},
	}
	if al.Specialty != "" {
		org.Alias = []string{al.Specialty}
	}
	out := []Resource{{Type: "Organization", ID: al.ID, Body: org, Status: "active", Orgs: []string{al.ID, al.LeadHospitalID}, Updated: a.Updated, Access: acc}}
	for _, m := range al.Members {
		id := AffiliationID(al.ID, m.HospitalID)
		aff := r4.OrganizationAffiliation{Id: ptr(id), Meta: meta(a),
			Identifier:                []r4.Identifier{ident(SysAlliance+":membership", id)},
			Active:                    ptr(m.Status == domain.MemberStatusActive),
			Organization:              refp("Organization", al.LeadHospitalID),
			ParticipatingOrganization: refp("Organization", m.HospitalID),
			Network:                   []r4.Reference{ref("Organization", al.ID)},
			Code:                      []r4.CodeableConcept{ownCode("member-tier", m.Tier), ownCode("member-status", m.Status)},
			Period:                    &r4.Period{Start: optInstant(m.AdmittedAt)},
		}
		if m.HospitalName != "" {
			aff.ParticipatingOrganization.Display = ptr(m.HospitalName)
		}
		if m.Status == domain.MemberStatusWithdrawn {
			aff.Period.End = optInstant(m.StatusChangedAt)
		}
		out = append(out, Resource{Type: "OrganizationAffiliation", ID: id, Body: aff, Status: m.Status,
			Orgs: []string{al.ID, al.LeadHospitalID, m.HospitalID}, Updated: a.Updated, Access: acc})
	}
	return out
}

func practitionerResources(a *Agg, p domain.Practitioner) []Resource {
	if p.ID == "" {
		return nil
	}
	status := "active"
	if !p.Active {
		status = "inactive"
	}
	pr := r4.Practitioner{Id: ptr(p.ID), Meta: meta(a), Active: ptr(p.Active),
		Identifier: []r4.Identifier{ident(SysPractitioner, p.ID)},
		Name:       []r4.HumanName{{Text: ptr(p.Name)}},
	}
	if p.Title != "" {
		pr.Qualification = []r4.PractitionerQualification{{Code: text(p.Title), Issuer: refp("Organization", p.HomeHospitalID)}}
	}
	role := r4.PractitionerRole{Id: ptr(p.ID), Meta: meta(a), Active: ptr(p.Active),
		Identifier:   []r4.Identifier{ident(SysPractitioner+":role", p.ID)},
		Practitioner: &r4.Reference{Reference: ptr("Practitioner/" + p.ID), Display: ptr(p.Name)},
		Organization: ptr(orgOf(p.HomeHospitalID, p.HomeDepartmentID)),
		Code:         []r4.CodeableConcept{ownCode("practitioner-role", "expert")},
		Period:       &r4.Period{Start: optInstant(p.RegisteredAt)},
	}
	for _, s := range p.Specialties {
		role.Specialty = append(role.Specialty, text(s))
	}
	orgs := []string{p.HomeHospitalID, DepartmentOrgID(p.HomeHospitalID, p.HomeDepartmentID)}
	return []Resource{
		{Type: "Practitioner", ID: p.ID, Body: pr, Status: status, Orgs: orgs, Updated: a.Updated, Access: Access{Rule: RuleAnyone}},
		{Type: "PractitionerRole", ID: p.ID, Body: role, Status: status, Orgs: orgs, Updated: a.Updated, Access: Access{Rule: RuleAnyone}},
	}
}

func protocolResources(a *Agg, p domain.Protocol) []Resource {
	var out []Resource
	for _, v := range p.Versions {
		out = append(out, PlanDefinition(a, p, v))
	}
	return out
}

// PlanDefinition maps one protocol version: an action per step with its timing (the
// day offset) and dosage; a withdrawn version is retired and marked as withdrawn for
// safety, with its reason; a retired protocol retires every version.
func PlanDefinition(a *Agg, p domain.Protocol, v domain.ProtocolVersion) Resource {
	id := PlanDefinitionID(p.ID, v.Number)
	pd := r4.PlanDefinition{Id: ptr(id), Meta: meta(a),
		Url:             ptr(ProtocolURL(p.ID)),
		Identifier:      []r4.Identifier{ident(SysProtocol, p.ID)},
		Version:         ptr(strconv.Itoa(v.Number)),
		Title:           ptr(p.Title),
		Type:            ptr(code("http://terminology.hl7.org/CodeSystem/plan-definition-type", "clinical-protocol", "Clinical Protocol")),
		Status:          r4.PublicationStatusActive,
		Date:            optInstant(v.PublishedAt),
		Publisher:       ptr("Organization/" + DepartmentOrgID(p.LeadHospitalID, p.LeadDepartmentID)),
		Description:     ptr(p.Indication),
		Usage:           ptr(v.Eligibility),
		EffectivePeriod: &r4.Period{Start: optInstant(v.PublishedAt)},
	}
	if p.Indication == "" {
		pd.Description = nil
	}
	if v.Eligibility == "" {
		pd.Usage = nil
	}
	if v.ChangeNote != "" {
		pd.Purpose = ptr(v.ChangeNote)
	}
	status := "active"
	if v.Status == domain.VersionStatusWithdrawn {
		status = "retired"
		pd.Status = r4.PublicationStatusRetired
		pd.EffectivePeriod.End = optInstant(v.WithdrawnAt)
		pd.Extension = append(pd.Extension, r4.Extension{Url: ExtWithdrawn, ValueString: ptr(nonEmpty(v.WithdrawnReason, "withdrawn for safety"))})
		pd.Topic = append(pd.Topic, ownCode("protocol-version-status", "withdrawn-for-safety"))
	} else if p.Retired {
		status = "retired"
		pd.Status = r4.PublicationStatusRetired
		pd.EffectivePeriod.End = optInstant(p.RetiredAt)
	}
	for _, st := range v.Steps {
		act := r4.PlanDefinitionAction{Id: ptr(st.StepID), Title: ptr(st.Activity),
			TimingDuration: &r4.Duration{Value: ptr(jsonInt(st.DayOffset)), Unit: ptr("d"), System: ptr("http://unitsofmeasure.org"), Code: ptr("d")},
			TextEquivalent: ptr(stepText(st)),
		}
		if st.Notes != "" {
			act.Description = ptr(st.Notes)
		}
		if d := stepDosage(st); d != nil {
			act.Extension = []r4.Extension{{Url: ExtStepDosage, ValueDosage: d}}
		}
		if st.Drug != "" {
			act.Code = []r4.CodeableConcept{text(st.Drug)}
		}
		pd.Action = append(pd.Action, act)
	}
	return Resource{Type: "PlanDefinition", ID: id, Body: pd, Status: status,
		Orgs:    []string{p.AllianceID, p.LeadHospitalID, DepartmentOrgID(p.LeadHospitalID, p.LeadDepartmentID)},
		Updated: a.Updated, Access: Access{Rule: RuleAlliance, AllianceID: p.AllianceID}}
}

func stepText(st domain.ProtocolStep) string {
	parts := []string{"day " + strconv.Itoa(st.DayOffset), st.Activity}
	for _, s := range []string{st.Drug, st.Dose, st.Route} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

func stepDosage(st domain.ProtocolStep) *r4.Dosage {
	if st.Dose == "" && st.Route == "" {
		return nil
	}
	d := &r4.Dosage{Text: ptr(strings.TrimSpace(st.Dose + " " + st.Route))}
	if st.Route != "" {
		d.Route = ptr(text(st.Route))
	}
	return d
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CarePlan maps a plan: it instantiates its protocol version's PlanDefinition, has one
// activity per step with the step's status, and names the responsible hospital as the
// performer of the steps still to do.
func CarePlan(a *Agg, p domain.Plan) Resource {
	cp := r4.CarePlan{Id: ptr(p.ID), Meta: meta(a),
		Identifier:            []r4.Identifier{ident(SysPlan, p.ID)},
		InstantiatesCanonical: []string{ProtocolURL(p.ProtocolID) + "|" + strconv.Itoa(p.ProtocolVersion)},
		Status:                carePlanStatus(p.Status),
		Intent:                r4.CarePlanIntentPlan,
		Subject:               patientRef(p.PatientRef),
		Period:                &r4.Period{Start: optInstant(p.StartDate), End: optInstant(p.ClosedAt)},
		Created:               optInstant(p.InitiatedAt),
		Author:                ptr(orgOf(p.LeadHospitalID, p.LeadDepartmentID)),
		Contributor:           []r4.Reference{ref("Organization", p.ResponsibleHospital)},
	}
	if p.Flag.Version > 0 {
		cp.Extension = []r4.Extension{{Url: ExtProtocolFlag, ValueString: ptr(nonEmpty(p.Flag.Reason, "the protocol version was withdrawn"))}}
		cp.Note = append(cp.Note, r4.Annotation{Text: "Protocol version " + strconv.Itoa(p.Flag.Version) + " was withdrawn for safety: the plan takes no further steps until the lead revises it.", Time: optInstant(p.Flag.At)})
	}
	if p.CloseReason != "" {
		cp.Note = append(cp.Note, r4.Annotation{Text: p.CloseReason, Time: optInstant(p.ClosedAt)})
	}
	for _, st := range p.Steps {
		det := &r4.CarePlanActivityDetail{
			Kind:            ptr(r4.CarePlanActivityKindMedicationRequest),
			Code:            ptr(text(st.Activity)),
			Status:          activityStatus(st.Status),
			ScheduledTiming: &r4.Timing{Event: []string{instant(st.DueDate)}},
			Description:     ptr(stepText(domain.ProtocolStep{StepID: st.StepID, DayOffset: st.DayOffset, Activity: st.Activity, Drug: st.Drug, Dose: st.Dose, Route: st.Route})),
		}
		if st.Drug != "" {
			det.ProductCodeableConcept = ptr(text(st.Drug))
		}
		switch {
		case st.Record != nil && st.Record.HospitalID != "":
			det.Performer = []r4.Reference{ref("Organization", st.Record.HospitalID)}
		case st.Status == domain.StepStatusPending:
			det.Performer = []r4.Reference{ref("Organization", p.ResponsibleHospital)}
		}
		switch st.Status {
		case domain.StepStatusSkipped:
			det.StatusReason = ptr(text("skipped"))
		case domain.StepStatusCancelled:
			det.StatusReason = ptr(text("cancelled by a revision of the plan"))
		}
		cp.Activity = append(cp.Activity, r4.CarePlanActivity{Id: ptr(st.StepID), Detail: det})
	}
	orgs := []string{p.AllianceID, p.LeadHospitalID, p.ResponsibleHospital, DepartmentOrgID(p.LeadHospitalID, p.LeadDepartmentID)}
	return Resource{Type: "CarePlan", ID: p.ID, Body: cp, Status: cp.Status.Code(), Patient: p.PatientRef, Orgs: orgs, Updated: a.Updated,
		Access: Access{Rule: RulePlan, Lead: p.LeadHospitalID, LeadDepartment: p.LeadDepartmentID, Responsible: p.ResponsibleHospital, Holders: a.Holders}}
}

func carePlanStatus(s string) r4.RequestStatus {
	switch s {
	case domain.PlanStatusActive:
		return r4.RequestStatusActive
	case domain.PlanStatusCompleted:
		return r4.RequestStatusCompleted
	case domain.PlanStatusDiscontinued:
		return r4.RequestStatusRevoked
	}
	return r4.RequestStatusUnknown
}

func activityStatus(s string) r4.CarePlanActivityStatus {
	switch s {
	case domain.StepStatusPending:
		return r4.CarePlanActivityStatusScheduled
	case domain.StepStatusCompleted:
		return r4.CarePlanActivityStatusCompleted
	case domain.StepStatusSkipped, domain.StepStatusCancelled:
		return r4.CarePlanActivityStatusCancelled
	}
	return r4.CarePlanActivityStatusUnknown
}

func priorityOf(urgency string) *r4.RequestPriority {
	switch urgency {
	case "emergency":
		return ptr(r4.RequestPriorityStat)
	case "urgent":
		return ptr(r4.RequestPriorityUrgent)
	}
	return ptr(r4.RequestPriorityRoutine)
}

// Request categories of ServiceRequest (SNOMED CT codes beside the service's own).
const (
	CategoryReferral = "referral"
	CategoryConsult  = "consult"
)

func category(c string) r4.CodeableConcept {
	cc := ownCode("request-category", c)
	switch c {
	case CategoryReferral:
		cc.Coding = append(cc.Coding, r4.Coding{System: ptr("http://snomed.info/sct"), Code: ptr("3457005"), Display: ptr("Patient referral")})
	case CategoryConsult:
		cc.Coding = append(cc.Coding, r4.Coding{System: ptr("http://snomed.info/sct"), Code: ptr("11429006"), Display: ptr("Consultation")})
	case CategoryDiagnostic:
		cc.Coding = append(cc.Coding, r4.Coding{System: ptr("http://snomed.info/sct"), Code: ptr("103693007"), Display: ptr("Diagnostic procedure")})
	}
	return cc
}

func allianceExt(allianceID string) []r4.Extension {
	return []r4.Extension{{Url: ExtAlliance, ValueReference: refp("Organization", allianceID)}}
}

// referralResources maps a referral to its ServiceRequest and the Task that follows its
// life cycle (requested, accepted, arrived, admitted, completed; declined, cancelled,
// no-show).
func referralResources(a *Agg, r domain.Referral) []Resource {
	if r.ID == "" {
		return nil
	}
	acc := Access{Rule: RuleParties, Parties: []string{r.FromHospitalID, r.ToHospitalID}}
	orgs := []string{r.AllianceID, r.FromHospitalID, r.ToHospitalID}
	sr := r4.ServiceRequest{Id: ptr(r.ID), Meta: meta(a), Extension: allianceExt(r.AllianceID),
		Identifier:       []r4.Identifier{ident(SysReferral, r.ID)},
		Status:           referralRequestStatus(r.Status),
		Intent:           r4.RequestIntentOrder,
		Category:         []r4.CodeableConcept{category(CategoryReferral)},
		Priority:         priorityOf(r.Urgency),
		Code:             ptr(ownCode("referral-direction", r.Direction)),
		Subject:          patientRef(r.PatientRef),
		AuthoredOn:       optInstant(r.RequestedAt),
		Requester:        ptr(orgOf(r.FromHospitalID, r.FromDepartmentID)),
		Performer:        []r4.Reference{orgOf(r.ToHospitalID, r.ToDepartmentID)},
		ReasonCode:       []r4.CodeableConcept{text(r.Reason)},
		OccurrencePeriod: &r4.Period{Start: optInstant(r.RequestedAt), End: optInstant(r.AdmitDeadline)},
	}
	if r.Reason == "" {
		sr.ReasonCode = nil
	}
	if r.ClinicalSummary != "" {
		sr.Note = []r4.Annotation{{Text: r.ClinicalSummary}}
	}
	if r.PractitionerID != "" {
		sr.Performer = append(sr.Performer, ref("Practitioner", r.PractitionerID))
	}
	if r.Links.PlanID != "" {
		sr.BasedOn = append(sr.BasedOn, ref("CarePlan", r.Links.PlanID))
	}
	if r.Links.ConsultID != "" {
		sr.BasedOn = append(sr.BasedOn, ref("ServiceRequest", r.Links.ConsultID))
	}
	if r.Links.ReturnOfID != "" {
		sr.Replaces = append(sr.Replaces, ref("ServiceRequest", r.Links.ReturnOfID))
	}
	ts := referralTaskStatus(r.Status)
	task := r4.Task{Id: ptr(r.ID), Meta: meta(a), Extension: allianceExt(r.AllianceID),
		Identifier:     []r4.Identifier{ident(SysReferral+":task", r.ID)},
		BasedOn:        []r4.Reference{ref("ServiceRequest", r.ID)},
		Status:         ts,
		BusinessStatus: ptr(ownCode("referral-status", r.Status)),
		Intent:         "order",
		Priority:       priorityOf(r.Urgency),
		Code:           ptr(code("http://hl7.org/fhir/CodeSystem/task-code", "fulfill", "Fulfill the focal request")),
		Focus:          refp("ServiceRequest", r.ID),
		For:            ptr(patientRef(r.PatientRef)),
		AuthoredOn:     optInstant(r.RequestedAt),
		LastModified:   optInstant(a.Updated),
		Requester:      ptr(orgOf(r.FromHospitalID, r.FromDepartmentID)),
		Owner:          ptr(orgOf(r.ToHospitalID, nonEmpty(r.ReceivingDeptID, r.ToDepartmentID))),
		Restriction:    &r4.TaskRestriction{Period: &r4.Period{End: optInstant(r.AcceptDeadline)}},
	}
	if !r.AcceptedAt.IsZero() {
		task.ExecutionPeriod = &r4.Period{Start: optInstant(r.AcceptedAt), End: optInstant(firstNonZero(r.CompletedAt, r.CancelledAt, r.NoShowAt))}
	}
	switch r.Status {
	case domain.ReferralStatusDeclined:
		task.StatusReason = ptr(text(r.DeclineReason))
		if r.Alternative != "" {
			task.Note = append(task.Note, r4.Annotation{Text: r.Alternative, Time: optInstant(r.DeclinedAt)})
		}
	case domain.ReferralStatusCancelled:
		task.StatusReason = ptr(text(nonEmpty(r.CancelReason, "cancelled")))
	case domain.ReferralStatusNoShow:
		task.StatusReason = ptr(text("the patient did not arrive"))
	case domain.ReferralStatusCompleted:
		if r.CompletionSummary != "" {
			task.Note = append(task.Note, r4.Annotation{Text: r.CompletionSummary, Time: optInstant(r.CompletedAt)})
		}
	}
	return []Resource{
		{Type: "ServiceRequest", ID: r.ID, Body: sr, Status: sr.Status.Code(), Patient: r.PatientRef, Orgs: orgs, Updated: a.Updated, Access: acc},
		{Type: "Task", ID: r.ID, Body: task, Status: ts.Code(), Patient: r.PatientRef, Orgs: orgs, Updated: a.Updated, Access: acc},
	}
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func referralRequestStatus(s string) r4.RequestStatus {
	switch s {
	case domain.ReferralStatusRequested, domain.ReferralStatusAccepted, domain.ReferralStatusArrived, domain.ReferralStatusAdmitted:
		return r4.RequestStatusActive
	case domain.ReferralStatusCompleted:
		return r4.RequestStatusCompleted
	case domain.ReferralStatusDeclined, domain.ReferralStatusCancelled, domain.ReferralStatusNoShow:
		return r4.RequestStatusRevoked
	}
	return r4.RequestStatusUnknown
}

// ReferralTaskStatus maps a referral's status to its Task's; arrived and admitted are
// both in-progress and told apart by the Task's businessStatus.
func referralTaskStatus(s string) r4.TaskStatus {
	switch s {
	case domain.ReferralStatusRequested:
		return r4.TaskStatusRequested
	case domain.ReferralStatusAccepted:
		return r4.TaskStatusAccepted
	case domain.ReferralStatusArrived, domain.ReferralStatusAdmitted:
		return r4.TaskStatusInProgress
	case domain.ReferralStatusCompleted:
		return r4.TaskStatusCompleted
	case domain.ReferralStatusDeclined:
		return r4.TaskStatusRejected
	case domain.ReferralStatusCancelled:
		return r4.TaskStatusCancelled
	case domain.ReferralStatusNoShow:
		return r4.TaskStatusFailed
	}
	return r4.TaskStatusDraft
}

// consultResources maps a remote consult to its ServiceRequest and Task (requested,
// accepted = in progress, answered, closed; declined, cancelled).
func consultResources(a *Agg, c domain.Consult) []Resource {
	if c.ID == "" {
		return nil
	}
	acc := Access{Rule: RuleParties, Parties: []string{c.RequestingHospitalID, c.LeadHospitalID}}
	orgs := []string{c.AllianceID, c.RequestingHospitalID, c.LeadHospitalID}
	sr := r4.ServiceRequest{Id: ptr(c.ID), Meta: meta(a), Extension: allianceExt(c.AllianceID),
		Identifier:       []r4.Identifier{ident(SysConsult, c.ID)},
		Status:           consultRequestStatus(c.Status),
		Intent:           r4.RequestIntentOrder,
		Category:         []r4.CodeableConcept{category(CategoryConsult)},
		Priority:         priorityOf(c.Urgency),
		Code:             optText(c.Specialty),
		Subject:          patientRef(c.PatientRef),
		AuthoredOn:       optInstant(c.RequestedAt),
		Requester:        refp("Organization", c.RequestingHospitalID),
		Performer:        []r4.Reference{orgOf(c.LeadHospitalID, c.LeadDepartmentID)},
		OccurrencePeriod: &r4.Period{Start: optInstant(c.RequestedAt), End: optInstant(c.Deadline)},
	}
	if c.Question != "" {
		sr.ReasonCode = []r4.CodeableConcept{text(c.Question)}
	}
	if c.ConsentRef != "" {
		sr.SupportingInfo = []r4.Reference{{Type: ptr("Consent"), Identifier: ptr(ident(SysCode+"consent-ref", c.ConsentRef))}}
	}
	ts := consultTaskStatus(c.Status)
	task := r4.Task{Id: ptr(c.ID), Meta: meta(a), Extension: allianceExt(c.AllianceID),
		Identifier:     []r4.Identifier{ident(SysConsult+":task", c.ID)},
		BasedOn:        []r4.Reference{ref("ServiceRequest", c.ID)},
		Status:         ts,
		BusinessStatus: ptr(ownCode("consult-status", c.Status)),
		Intent:         "order",
		Priority:       priorityOf(c.Urgency),
		Code:           ptr(code("http://hl7.org/fhir/CodeSystem/task-code", "fulfill", "Fulfill the focal request")),
		Focus:          refp("ServiceRequest", c.ID),
		For:            ptr(patientRef(c.PatientRef)),
		AuthoredOn:     optInstant(c.RequestedAt),
		LastModified:   optInstant(a.Updated),
		Requester:      refp("Organization", c.RequestingHospitalID),
		Owner:          ptr(orgOf(c.LeadHospitalID, c.LeadDepartmentID)),
		Restriction:    &r4.TaskRestriction{Period: &r4.Period{End: optInstant(c.Deadline)}},
	}
	if c.SpecialistID != "" && domain.ValidateID("specialistId", c.SpecialistID) == nil {
		task.Owner = &r4.Reference{Reference: ptr("Practitioner/" + c.SpecialistID), Display: optString(c.SpecialistName)}
	}
	if !c.AcceptedAt.IsZero() {
		task.ExecutionPeriod = &r4.Period{Start: optInstant(c.AcceptedAt), End: optInstant(firstNonZero(c.ClosedAt, c.OpinionGivenAt))}
	}
	if c.Opinion.Text != "" {
		op := c.Opinion.Text
		if len(c.Opinion.Recommendations) > 0 {
			op += " — " + strings.Join(c.Opinion.Recommendations, "; ")
		}
		task.Note = append(task.Note, r4.Annotation{Text: op, Time: optInstant(c.OpinionGivenAt)})
	}
	switch c.Status {
	case domain.ConsultStatusDeclined:
		task.StatusReason = ptr(text(nonEmpty(c.DeclineReason, "declined")))
	case domain.ConsultStatusCancelled:
		task.StatusReason = ptr(text(nonEmpty(c.CancelReason, "cancelled")))
	}
	return []Resource{
		{Type: "ServiceRequest", ID: c.ID, Body: sr, Status: sr.Status.Code(), Patient: c.PatientRef, Orgs: orgs, Updated: a.Updated, Access: acc},
		{Type: "Task", ID: c.ID, Body: task, Status: ts.Code(), Patient: c.PatientRef, Orgs: orgs, Updated: a.Updated, Access: acc},
	}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func consultRequestStatus(s string) r4.RequestStatus {
	switch s {
	case domain.ConsultStatusRequested, domain.ConsultStatusAccepted, domain.ConsultStatusAnswered:
		return r4.RequestStatusActive
	case domain.ConsultStatusClosed:
		return r4.RequestStatusCompleted
	case domain.ConsultStatusDeclined, domain.ConsultStatusCancelled:
		return r4.RequestStatusRevoked
	}
	return r4.RequestStatusUnknown
}

func consultTaskStatus(s string) r4.TaskStatus {
	switch s {
	case domain.ConsultStatusRequested:
		return r4.TaskStatusRequested
	case domain.ConsultStatusAccepted:
		return r4.TaskStatusInProgress
	case domain.ConsultStatusAnswered, domain.ConsultStatusClosed:
		return r4.TaskStatusCompleted
	case domain.ConsultStatusDeclined:
		return r4.TaskStatusRejected
	case domain.ConsultStatusCancelled:
		return r4.TaskStatusCancelled
	}
	return r4.TaskStatusDraft
}

// Appointment maps an expert dispatch (专家下沉): the visit window, the expert once
// assigned, and the dispatch's life cycle.
func Appointment(a *Agg, d domain.Dispatch) Resource {
	ap := r4.Appointment{Id: ptr(d.ID), Meta: meta(a), Extension: allianceExt(d.AllianceID),
		Identifier:  []r4.Identifier{ident(SysDispatch, d.ID)},
		Status:      appointmentStatus(d.Status),
		ServiceType: []r4.CodeableConcept{ownCode("dispatch-kind", d.Kind)},
		Start:       optInstant(d.Window.Start),
		End:         optInstant(d.Window.End),
		Created:     optInstant(d.RequestedAt),
		Description: optString(d.Notes),
	}
	if d.Specialty != "" {
		ap.Specialty = []r4.CodeableConcept{text(d.Specialty)}
	}
	if d.Totals.Summary != "" {
		ap.Comment = ptr(d.Totals.Summary + " (patients seen " + strconv.Itoa(d.Totals.PatientsSeen) + ")")
	}
	if d.Status == domain.DispatchStatusCancelled {
		ap.CancelationReason = ptr(text(nonEmpty(d.CancelReason, "cancelled")))
	}
	expert := r4.AppointmentParticipant{Status: r4.ParticipationStatusNeedsAction,
		Type: []r4.CodeableConcept{code("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF", "primary performer")}}
	if d.ExpertID != "" {
		expert.Status = r4.ParticipationStatusAccepted
		if domain.ValidateID("expertId", d.ExpertID) == nil {
			expert.Actor = &r4.Reference{Reference: ptr("Practitioner/" + d.ExpertID), Display: optString(d.ExpertName)}
		} else {
			expert.Actor = &r4.Reference{Display: ptr(nonEmpty(d.ExpertName, d.ExpertID))}
		}
	}
	ap.Participant = []r4.AppointmentParticipant{expert}
	return Resource{Type: "Appointment", ID: d.ID, Body: ap, Status: ap.Status.Code(),
		Orgs: []string{d.AllianceID, d.RequestingHospitalID, d.LeadHospitalID}, Updated: a.Updated,
		Access: Access{Rule: RuleParties, Parties: []string{d.RequestingHospitalID, d.LeadHospitalID}}}
}

func appointmentStatus(s string) r4.AppointmentStatus {
	switch s {
	case domain.DispatchStatusRequested:
		return r4.AppointmentStatusProposed
	case domain.DispatchStatusAssigned:
		return r4.AppointmentStatusBooked
	case domain.DispatchStatusInProgress:
		return r4.AppointmentStatusArrived
	case domain.DispatchStatusCompleted:
		return r4.AppointmentStatusFulfilled
	case domain.DispatchStatusCancelled:
		return r4.AppointmentStatusCancelled
	}
	return r4.AppointmentStatusPending
}
