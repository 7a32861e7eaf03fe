package app

import (
	"context"

	"github.com/medalliance/allianced/domain"
)

// HandOnInput names the member of the holder's own alliance that takes the patient on
// (three tiers: 徐汇 hands 中山's plan on to a community centre of 徐汇's alliance).
type HandOnInput struct {
	PlanID        string `json:"-"`
	ToHospitalID  string `json:"toHospitalId"`
	ViaAllianceID string `json:"viaAllianceId"`
	// Referral, when set, also opens a downward referral in the via alliance linked to
	// the plan, so the receiving centre's desk sees the patient coming and the transfer
	// is measured like any referral.
	Referral *HandOnReferralInput `json:"referral,omitempty"`
}

// HandOnReferralInput is what the referral adds to a hand-on.
type HandOnReferralInput struct {
	Reason          string `json:"reason,omitempty"`
	ClinicalSummary string `json:"clinicalSummary"`
	Urgency         string `json:"urgency,omitempty"` // default routine
	ToDepartmentID  string `json:"toDepartmentId,omitempty"`
}

// HandOnPlan hands the patient on from the hospital holding the plan to a member of an
// alliance it leads. It loads the via alliance, the alliance through which the holder
// holds the plan (the holder must still be an active member of it) and the receiver's
// adoption of the plan's protocol.
func (a *App) HandOnPlan(ctx context.Context, call Call, in HandOnInput) (Outcome, error) {
	if err := firstErr(validID("planId", in.PlanID), validID("toHospitalId", in.ToHospitalID), validID("viaAllianceId", in.ViaAllianceID)); err != nil {
		return Outcome{}, err
	}
	plan, err := loadLinked[domain.Plan](ctx, a, "plan", in.PlanID, domain.PlanStream)
	if err != nil {
		return Outcome{}, err
	}
	via, err := load[domain.Alliance](ctx, a, domain.AllianceStream(in.ViaAllianceID))
	if err != nil {
		return Outcome{}, err
	}
	through, err := load[domain.Alliance](ctx, a, domain.AllianceStream(plan.HeldThrough()))
	if err != nil {
		return Outcome{}, err
	}
	adoption, err := load[domain.Adoption](ctx, a, domain.AdoptionStream(plan.ProtocolID, in.ToHospitalID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	cmd := domain.HandOnPlan{PlanID: in.PlanID, ToHospitalID: in.ToHospitalID, Via: via, HeldThrough: through,
		Adoption: adoption, By: call.Actor, At: at}
	if in.Referral == nil {
		return a.planCmd(ctx, call, in.PlanID, at, cmd)
	}
	ref := domain.RequestReferral{Alliance: via, Direction: domain.ReferralDown, By: call.Actor, ToHospitalID: in.ToHospitalID,
		ToDepartmentID: in.Referral.ToDepartmentID, Urgency: cmpOr(in.Referral.Urgency, domain.UrgencyRoutine),
		Reason: cmpOr(in.Referral.Reason, "plan handed on"), ClinicalSummary: in.Referral.ClinicalSummary,
		PatientRef: plan.PatientRef, Plan: &plan, Policy: a.referralPolicy}
	// A referral that would be refused refuses the hand-on too, unless this is a retry
	// of a stored one (the receiver then holds the plan, and the retry replays).
	if plan.ResponsibleHospitalID() == call.Actor.HospitalID {
		if err := a.checkReferral(ref); err != nil {
			return Outcome{}, err
		}
	}
	out, err := a.planCmd(ctx, call, in.PlanID, at, cmd)
	if err != nil {
		return out, err
	}
	return a.openLinkedReferral(ctx, call, out, "HandOnReferral", ref)
}

// escalationAdoption loads the adoption of the hospital an escalation of plan goes to,
// when that is a middle tier (its declared deviations come back onto the plan); the
// lead needs none.
func (a *App) escalationAdoption(ctx context.Context, planID string) (domain.Adoption, error) {
	if err := validID("planId", planID); err != nil {
		return domain.Adoption{}, err
	}
	plan, err := load[domain.Plan](ctx, a, domain.PlanStream(planID))
	if err != nil || !plan.Exists() || plan.HeldByLead() {
		return domain.Adoption{}, err
	}
	to := plan.EscalationTarget()
	if to == plan.LeadHospitalID {
		return domain.Adoption{}, nil
	}
	return load[domain.Adoption](ctx, a, domain.AdoptionStream(plan.ProtocolID, to))
}

// adoptionRoute loads, for an adoption through a middle tier's alliance, that alliance
// and its lead hospital's own adoption of the protocol; both are zero for a direct one.
func (a *App) adoptionRoute(ctx context.Context, protocolID, viaAllianceID string) (domain.Alliance, domain.Adoption, error) {
	if viaAllianceID == "" {
		return domain.Alliance{}, domain.Adoption{}, nil
	}
	if err := validID("viaAllianceId", viaAllianceID); err != nil {
		return domain.Alliance{}, domain.Adoption{}, err
	}
	via, err := load[domain.Alliance](ctx, a, domain.AllianceStream(viaAllianceID))
	if err != nil {
		return via, domain.Adoption{}, err
	}
	if !via.Exists() {
		return via, domain.Adoption{}, domain.Errorf(domain.CodeNotFound, "alliance %s does not exist", viaAllianceID)
	}
	lead, err := load[domain.Adoption](ctx, a, domain.AdoptionStream(protocolID, via.LeadHospitalID))
	return via, lead, err
}

// existingRoute is adoptionRoute for a command on an adoption that exists: the route it
// was made by (the stored adoption names its via alliance).
func (a *App) existingRoute(ctx context.Context, protocolID, hospitalID string) (domain.Alliance, domain.Adoption, error) {
	if err := validID("hospitalId", hospitalID); err != nil {
		return domain.Alliance{}, domain.Adoption{}, err
	}
	cur, err := load[domain.Adoption](ctx, a, domain.AdoptionStream(protocolID, hospitalID))
	if err != nil {
		return domain.Alliance{}, domain.Adoption{}, err
	}
	return a.adoptionRoute(ctx, protocolID, cur.ViaAllianceID)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
