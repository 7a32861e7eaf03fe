package domain

import (
	"slices"
	"time"
)

// Three tiers (中山 -> 徐汇区中心医院 -> community health centres).
//
// A plan belongs to one alliance and is led by its lead department (中山). The lead hands
// it over to a member (徐汇). A member that leads an alliance of its own may hand the plan
// on to one of its own members (徐汇 -> 枫林街道社区卫生服务中心): the plan stays in the
// top alliance, under the top lead's authority (revisions, completion), and its chain of
// responsibility grows by one link. An escalation goes one link up: the community centre
// escalates to 徐汇, which hands the patient on again or escalates on to 中山.

// MaxPlanChain bounds the links of a plan's chain of responsibility (the lead included):
// three tiers are the alliances of the reports; a few more leave room for a province ->
// city -> district -> community line without letting a chain grow without end.
const MaxPlanChain = 6

// PlanCustody is one link of a plan's chain of responsibility: the hospital, the
// alliance through which it received the plan (the plan's alliance for the lead and a
// handover, the hander-on's own alliance for a hand-on), and since when.
type PlanCustody struct {
	HospitalID string
	AllianceID string
	Since      time.Time
}

// HandOnPlan hands the patient on from the hospital holding the plan to a member of an
// alliance that hospital leads (徐汇 hands 中山's post-operative patient to a community
// centre of 徐汇's own alliance). The facts are loaded by the caller:
//
//   - Via is the alliance the holder leads and the receiver is an active member of; By
//     must act for one of Via's lead departments.
//   - HeldThrough is the alliance through which the holder holds the plan (the plan's
//     own alliance for 徐汇); the holder must still be an active member of it: a middle
//     tier suspended by the top lead passes nothing on (it can still escalate).
//   - Adoption is the receiver's adoption of the plan's protocol, which must be an
//     active adoption of exactly the plan's version (as for a handover). A community
//     centre adopts the top lead's protocol through its middle tier (AdoptProtocol with
//     Via), so there is one protocol and one version along the whole chain.
type HandOnPlan struct {
	PlanID       string
	ToHospitalID string
	Via          Alliance
	HeldThrough  Alliance
	Adoption     Adoption
	By           Actor
	At           time.Time
}

// PlanHandedOn records that the hospital holding the plan handed the patient on to a
// member of its own alliance (ViaAllianceID), which becomes responsible. The receiver's
// declared deviations are copied, as on a handover.
type PlanHandedOn struct {
	PlanID          string           `json:"planId"`
	FromHospitalID  string           `json:"fromHospitalId"`
	ToHospitalID    string           `json:"toHospitalId"`
	ViaAllianceID   string           `json:"viaAllianceId"`
	AdoptedVersion  int              `json:"adoptedVersion"`
	LocalDeviations []LocalDeviation `json:"localDeviations,omitempty"`
	At              time.Time        `json:"at"`
}

// EventType implements Event.
func (PlanHandedOn) EventType() string { return "PlanHandedOn" }

func init() {
	Register[PlanHandedOn](PlanAggregate, 1, nil)
}

// EscalationTarget returns the hospital an escalation sends the patient to: the link
// above the responsible hospital in the chain (the hospital that handed the plan to it),
// the lead for a plan without a recorded chain.
func (p Plan) EscalationTarget() string {
	if n := len(p.Chain); n >= 2 {
		return p.Chain[n-2].HospitalID
	}
	return p.LeadHospitalID
}

// HeldThrough returns the alliance through which the responsible hospital holds the plan.
func (p Plan) HeldThrough() string {
	if n := len(p.Chain); n > 0 {
		return p.Chain[n-1].AllianceID
	}
	return p.AllianceID
}

// InChain reports whether hospitalID is a link of the plan's current chain.
func (p Plan) InChain(hospitalID string) bool {
	return slices.ContainsFunc(p.Chain, func(c PlanCustody) bool { return c.HospitalID == hospitalID })
}

// ThroughAlliance reports whether the plan's alliance is allianceID or the plan is
// held through it now: a referral in a middle tier's own alliance may link the plan.
func (p Plan) ThroughAlliance(allianceID string) bool {
	return p.AllianceID == allianceID || slices.ContainsFunc(p.Chain, func(c PlanCustody) bool { return c.AllianceID == allianceID })
}

// chainUpTo returns the chain cut after hospitalID's link (an escalation's receiver); a
// receiver that is no link (not possible from the decide functions) leaves the lead.
func (p Plan) chainUpTo(hospitalID string) []PlanCustody {
	i := slices.IndexFunc(p.Chain, func(c PlanCustody) bool { return c.HospitalID == hospitalID })
	if i < 0 {
		return slices.Clone(p.Chain[:min(1, len(p.Chain))])
	}
	return slices.Clone(p.Chain[:i+1])
}

// returningDeviations are the deviations the plan shows after an escalation to to: none
// for the lead; a middle tier's declared deviations when its adoption is an active
// adoption of the plan's version (else none: the lead revises the plan or the middle
// tier adopts the version before the next step, as the plan view shows).
func (p Plan) returningDeviations(to string, a Adoption) []LocalDeviation {
	if to == p.LeadHospitalID || a.HospitalID != to || a.ProtocolID != p.ProtocolID || !a.Active() || a.Version != p.ProtocolVersion {
		return nil
	}
	return slices.Clone(a.Deviations)
}

// decideHandOnPlan checks a hand-on; see HandOnPlan for the rules.
func decideHandOnPlan(p Plan, c HandOnPlan) ([]Event, error) {
	if err := p.requireOpen(c.PlanID, c.At); err != nil {
		return nil, err
	}
	if err := ValidateID("toHospitalId", c.ToHospitalID); err != nil {
		return nil, err
	}
	if !c.Via.Exists() {
		return nil, Errorf(CodeNotFound, "the alliance to hand the plan on through does not exist")
	}
	if c.By.HospitalID == "" || c.By.HospitalID != p.ResponsibleHospital {
		return nil, p.responsibleOnly("hand it on")
	}
	if p.HeldByLead() {
		return nil, Errorf(CodeForbiddenTransition, "plan %s is held by its lead hospital, which hands it over to a member (handover); a hand-on passes a plan a member holds to a member of that member's own alliance", p.ID)
	}
	if !c.Via.IsLead(c.By.HospitalID, c.By.DepartmentID) {
		return nil, Errorf(CodeForbidden, "only a lead department of the alliance the plan is handed on through may hand it on")
	}
	if c.HeldThrough.ID != p.HeldThrough() {
		return nil, Errorf(CodeInvalidInput, "the alliance passed (%q) is not the alliance %s through which hospital %s holds plan %s",
			truncate(c.HeldThrough.ID, 40), p.HeldThrough(), p.ResponsibleHospital, p.ID)
	}
	if err := c.HeldThrough.RequireActiveMember(p.ResponsibleHospital); err != nil {
		return nil, Errorf(CodeNotMember, "hospital %s holds plan %s through alliance %s but is not an active member of it (%s); it cannot hand the plan on (it can still escalate the patient)",
			p.ResponsibleHospital, p.ID, c.HeldThrough.ID, ErrorMessage(err)).WithDetail("allianceId", c.HeldThrough.ID).WithDetail("hospitalId", p.ResponsibleHospital)
	}
	if p.Flagged() {
		return nil, Errorf(CodeForbiddenTransition, "plan %s follows version %d of its protocol, which was withdrawn for safety; the lead must revise the plan onto a published version before it is handed on",
			p.ID, p.ProtocolVersion)
	}
	if err := c.Via.RequireActiveMember(c.ToHospitalID); err != nil {
		return nil, err
	}
	if p.InChain(c.ToHospitalID) {
		return nil, Errorf(CodeForbiddenTransition, "hospital %s is already in plan %s's chain of responsibility; it takes the patient back by an escalation, not a hand-on", c.ToHospitalID, p.ID)
	}
	if len(p.Chain) >= MaxPlanChain {
		return nil, Errorf(CodeForbiddenTransition, "plan %s is already %d links down its chain of responsibility; the limit is %d", p.ID, len(p.Chain), MaxPlanChain).
			WithDetail("max", MaxPlanChain)
	}
	a := c.Adoption
	if a.HospitalID != "" && (a.HospitalID != c.ToHospitalID || a.ProtocolID != p.ProtocolID) {
		return nil, Errorf(CodeInvalidInput, "the adoption passed is hospital %s's adoption of protocol %s, not hospital %s's adoption of protocol %s",
			truncate(a.HospitalID, 40), truncate(a.ProtocolID, 40), c.ToHospitalID, p.ProtocolID)
	}
	if !a.Active() || a.Version != p.ProtocolVersion {
		adopted := 0
		if a.Active() {
			adopted = a.Version
		}
		return nil, Errorf(CodeForbiddenTransition, "hospital %s has not adopted version %d of protocol %s (its active adoption: %d); it must adopt that version (through alliance %s) before it can take over this plan",
			c.ToHospitalID, p.ProtocolVersion, p.ProtocolID, adopted, c.Via.ID).
			WithDetail("adoptedVersion", adopted).WithDetail("planVersion", p.ProtocolVersion)
	}
	return []Event{PlanHandedOn{PlanID: p.ID, FromHospitalID: p.ResponsibleHospital, ToHospitalID: c.ToHospitalID,
		ViaAllianceID: c.Via.ID, AdoptedVersion: a.Version, LocalDeviations: slices.Clone(a.Deviations), At: c.At}}, nil
}
