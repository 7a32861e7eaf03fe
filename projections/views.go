package projections

import (
	"github.com/medalliance/allianced/domain"
)

// Document references of the views (see doc.go for the key layout).

func hospitalRef(ks keyspace, id string) docRef { return docRef{ks.hospitals(), id} }
func allianceRef(ks keyspace, id string) docRef { return docRef{ks.alliance(id), ""} }
func memberRef(ks keyspace, allianceID, hospitalID string) docRef {
	return docRef{ks.allianceMembers(allianceID), hospitalID}
}
func protocolRef(ks keyspace, allianceID, protocolID string) docRef {
	return docRef{ks.allianceProtocols(allianceID), protocolID}
}
func adoptionRef(ks keyspace, allianceID, protocolID, hospitalID string) docRef {
	return docRef{ks.allianceAdoptions(allianceID), protocolID + ":" + hospitalID}
}
func planRef(ks keyspace, id string) docRef     { return docRef{ks.plan(id), "json"} }
func dispatchRef(ks keyspace, id string) docRef { return docRef{ks.dispatch(id), ""} }
func consultRef(ks keyspace, id string) docRef  { return docRef{ks.consult(id), ""} }
func calendarRef(ks keyspace, expertID, dispatchID string) docRef {
	return docRef{ks.expertCalendar(expertID), dispatchID}
}

// needs lists the documents applying e will read, so a batch loads them all in one
// round trip. Documents found only through another document (a plan's protocol, known
// from the plan) are loaded on first use instead.
func needs(ks keyspace, e event) []docRef {
	switch ev := e.ev.(type) {
	case domain.HospitalRegistered:
		return []docRef{hospitalRef(ks, ev.HospitalID)}
	case domain.HospitalDepartmentAdded:
		return []docRef{hospitalRef(ks, ev.HospitalID)}
	case domain.AllianceFounded:
		return []docRef{allianceRef(ks, ev.AllianceID)}
	case domain.AllianceLeadDepartmentAdded:
		return []docRef{allianceRef(ks, ev.AllianceID)}
	case domain.AllianceMemberAdmitted:
		return []docRef{allianceRef(ks, ev.AllianceID), memberRef(ks, ev.AllianceID, ev.HospitalID)}
	case domain.AllianceMemberSuspended:
		return []docRef{allianceRef(ks, ev.AllianceID), memberRef(ks, ev.AllianceID, ev.HospitalID)}
	case domain.AllianceMemberReinstated:
		return []docRef{allianceRef(ks, ev.AllianceID), memberRef(ks, ev.AllianceID, ev.HospitalID)}
	case domain.AllianceMemberWithdrawn:
		return []docRef{allianceRef(ks, ev.AllianceID), memberRef(ks, ev.AllianceID, ev.HospitalID)}
	case domain.ProtocolDrafted:
		return []docRef{protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.ProtocolVersionPublished:
		return []docRef{protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.ProtocolVersionWithdrawn:
		return []docRef{protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.ProtocolRetired:
		return []docRef{protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.ProtocolAdopted:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.AdoptionUpgraded:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.AdoptionDeviationDeclared:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.AdoptionDeviationRevoked:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.AdoptionWithdrawn:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.PlanInitiated:
		return []docRef{planRef(ks, ev.PlanID), protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.PlanHandedOver:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanHandedOn:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanStepCompleted:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanStepSkipped:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanRevised:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanDeviationReported:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanDeviationAcknowledged:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanEscalated:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanCompleted:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanDiscontinued:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanFlagged:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.DispatchRequested:
		return []docRef{dispatchRef(ks, ev.DispatchID)}
	case domain.ExpertAssigned:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.ExpertReassigned:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.ExpertCheckedIn:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.DispatchVisitReported:
		return []docRef{dispatchRef(ks, ev.DispatchID)}
	case domain.DispatchCompleted:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.DispatchCancelled:
		refs := []docRef{dispatchRef(ks, ev.DispatchID)}
		if ev.ExpertID != "" {
			refs = append(refs, calendarRef(ks, ev.ExpertID, ev.DispatchID))
		}
		return refs
	case domain.ExpertBooked:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.ExpertBookingReleased:
		return []docRef{calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.PractitionerRegistered:
		return []docRef{practitionerRef(ks, ev.PractitionerID)}
	case domain.PractitionerProfileUpdated:
		return []docRef{practitionerRef(ks, ev.PractitionerID)}
	case domain.PractitionerDeactivated:
		return []docRef{practitionerRef(ks, ev.PractitionerID)}
	case domain.PractitionerReactivated:
		return []docRef{practitionerRef(ks, ev.PractitionerID)}
	case domain.ConsultRequested:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultAccepted:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultDeclined:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultOpinionGiven:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultOpinionAmended:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultClosed:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultCancelled:
		return []docRef{consultRef(ks, ev.ConsultID)}
	}
	if refs := referralNeeds(ks, e.ev); refs != nil {
		return refs
	}
	if refs := talentNeeds(ks, e.ev); refs != nil {
		return refs
	}
	if refs := diagnosticNeeds(ks, e.ev); refs != nil {
		return refs
	}
	if refs := capacityNeeds(ks, e.ev); refs != nil {
		return refs
	}
	return nil
}

// applyEvent folds one event into the views and the alliance report's figures.
func applyEvent(b *batch, e event) error {
	if err := applyViews(b, e); err != nil {
		return err
	}
	return applyReport(b, e)
}

// applyViews folds one event into the views. Events of no view's interest (idempotency
// claims, access-log entries) change nothing but the checkpoint.
func applyViews(b *batch, e event) error {
	switch e.ev.(type) {
	case domain.HospitalRegistered, domain.HospitalDepartmentAdded:
		return applyHospital(b, e)
	case domain.AllianceFounded, domain.AllianceMemberAdmitted, domain.AllianceMemberSuspended,
		domain.AllianceMemberReinstated, domain.AllianceMemberWithdrawn, domain.AllianceLeadDepartmentAdded:
		return applyAlliance(b, e)
	case domain.ProtocolDrafted, domain.ProtocolVersionPublished, domain.ProtocolVersionWithdrawn, domain.ProtocolRetired:
		return applyProtocol(b, e)
	case domain.ProtocolAdopted, domain.AdoptionUpgraded, domain.AdoptionDeviationDeclared,
		domain.AdoptionDeviationRevoked, domain.AdoptionWithdrawn:
		return applyAdoption(b, e)
	case domain.PlanInitiated, domain.PlanHandedOver, domain.PlanStepCompleted, domain.PlanStepSkipped,
		domain.PlanRevised, domain.PlanDeviationReported, domain.PlanDeviationAcknowledged, domain.PlanEscalated,
		domain.PlanCompleted, domain.PlanDiscontinued, domain.PlanFlagged, domain.PlanHandedOn:
		return applyPlan(b, e)
	case domain.DispatchRequested, domain.ExpertAssigned, domain.ExpertReassigned, domain.ExpertCheckedIn,
		domain.DispatchVisitReported, domain.DispatchCompleted, domain.DispatchCancelled:
		return applyDispatch(b, e)
	case domain.ExpertBooked, domain.ExpertBookingReleased:
		return applyExpert(b, e)
	case domain.PractitionerRegistered, domain.PractitionerProfileUpdated, domain.PractitionerDeactivated, domain.PractitionerReactivated:
		return applyPractitioner(b, e)
	case domain.ConsultRequested, domain.ConsultAccepted, domain.ConsultDeclined, domain.ConsultOpinionGiven,
		domain.ConsultOpinionAmended, domain.ConsultClosed, domain.ConsultCancelled:
		return applyConsult(b, e)
	case domain.ReferralRequested, domain.ReferralAccepted, domain.ReferralDeclined, domain.ReferralArrived,
		domain.ReferralAdmitted, domain.ReferralCompleted, domain.ReferralCancelled, domain.ReferralNoShow:
		return applyReferral(b, e)
	case domain.MentorshipStarted, domain.MentorshipSessionLogged, domain.MentorshipAssessed, domain.MentorshipCompleted, domain.MentorshipWithdrawn:
		return applyMentorship(b, e)
	case domain.PlacementPlanned, domain.PlacementArrived, domain.PlacementCompleted, domain.PlacementEvaluated, domain.PlacementCancelled:
		return applyPlacement(b, e)
	case domain.ReservedSlotsPublished, domain.ReservedSlotBooked, domain.ReservedSlotReleased:
		return applyCapacity(b, e)
	}
	if isDiagnosticEvent(e.ev) {
		return applyDiagnosticViews(b, e)
	}
	return nil
}

// ProjectedEventTypes lists, sorted, the registered event types the views project (the
// others, such as idempotency claims and access-log entries, only move the checkpoint).
// A test checks it covers every event of the aggregates the views show.
func ProjectedEventTypes() []string {
	var out []string
	for _, typ := range domain.EventTypes() {
		ev, err := domain.NewEventOfType(typ)
		if err == nil && needs(keyspace{}, event{ev: ev}) != nil {
			out = append(out, typ)
		}
	}
	return out
}
