package fhir

import (
	"github.com/medalliance/allianced/domain"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Aggregate kinds of the alliance's talent programmes.
const (
	KindMentorship = "mentorship"
	KindPlacement  = "placement"
)

// mentorshipResources maps a mentorship (师带徒) to the mentor's PractitionerRole in
// it: the mentor at the lead department, for the programme's period, active while the
// mentorship runs.
func mentorshipResources(a *Agg, m domain.Mentorship) []Resource {
	if m.ID == "" {
		return nil
	}
	active := m.Status == domain.MentorshipStatusActive
	role := r4.PractitionerRole{Id: ptr(m.ID), Meta: meta(a), Active: ptr(active),
		Identifier:   []r4.Identifier{ident(SysCode+"mentorship", m.ID)},
		Practitioner: &r4.Reference{Reference: ptr("Practitioner/" + m.MentorID), Display: optString(m.MentorName)},
		Organization: ptr(orgOf(m.LeadHospitalID, nonEmpty(m.MentorDepartmentID, m.LeadDepartmentID))),
		Code:         []r4.CodeableConcept{ownCode("practitioner-role", "mentor")},
		Period:       &r4.Period{Start: optInstant(m.StartedAt), End: optInstant(firstNonZero(m.CompletedAt, m.WithdrawnAt, m.PlannedEndAt))},
	}
	if m.Programme != "" {
		role.Code[0].Text = ptr("mentor: " + m.Programme)
	}
	return []Resource{{Type: "PractitionerRole", ID: m.ID, Body: role, Status: m.Status,
		Orgs: []string{m.AllianceID, m.LeadHospitalID, m.ApprenticeHospitalID}, Updated: a.Updated,
		Access: Access{Rule: RuleParties, Parties: []string{m.LeadHospitalID, m.ApprenticeHospitalID}}}}
}

// placementResources maps a training placement (进修, 派一送一) to the placed
// practitioner's PractitionerRole at the host department for the placement's period.
func placementResources(a *Agg, p domain.Placement) []Resource {
	if p.ID == "" {
		return nil
	}
	active := p.Status == domain.PlacementStatusPlanned || p.Status == domain.PlacementStatusArrived
	role := r4.PractitionerRole{Id: ptr(p.ID), Meta: meta(a), Active: ptr(active),
		Identifier:   []r4.Identifier{ident(SysCode+"placement", p.ID)},
		Practitioner: &r4.Reference{Reference: ptr("Practitioner/" + p.PractitionerID), Display: optString(p.PractitionerName)},
		Organization: ptr(orgOf(p.HostHospitalID, p.HostDepartmentID)),
		Code:         []r4.CodeableConcept{ownCode("practitioner-role", "placement"), ownCode("placement-kind", p.Kind)},
		Period:       &r4.Period{Start: optInstant(p.Period.Start), End: optInstant(p.Period.End)},
	}
	return []Resource{{Type: "PractitionerRole", ID: p.ID, Body: role, Status: p.Status,
		Orgs: []string{p.AllianceID, p.HomeHospitalID, p.HostHospitalID}, Updated: a.Updated,
		Access: Access{Rule: RuleParties, Parties: []string{p.HomeHospitalID, p.HostHospitalID}}}}
}
