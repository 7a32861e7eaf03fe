package projections

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Three tiers in the plan view: the current chain of responsibility and the timeline of
// who was responsible when (see domain/plan_tiers.go).

// chainOrDerived returns the plan's chain, derived for a view stored before the chain
// was recorded (the lead, and the responsible hospital when it is not the lead: the
// only chains two tiers had).
func (p *PlanView) chainOrDerived() []PlanChainLink {
	if len(p.Chain) > 0 {
		return p.Chain
	}
	out := []PlanChainLink{{HospitalID: p.Lead.HospitalID, AllianceID: p.AllianceID}}
	if p.ResponsibleHospitalID != "" && p.ResponsibleHospitalID != p.Lead.HospitalID {
		out = append(out, PlanChainLink{HospitalID: p.ResponsibleHospitalID, AllianceID: p.AllianceID})
	}
	return out
}

// passDown records a handover or a hand-on: the chain grows by the receiver, the
// sender's period ends and the receiver's begins.
func (p *PlanView) passDown(from, to, allianceID, how string, at time.Time) {
	p.Chain = append(slices.Clone(p.chainOrDerived()), PlanChainLink{HospitalID: to, AllianceID: allianceID})
	p.endCustody(at)
	p.Responsibility = append(p.Responsibility, PlanCustodyView{HospitalID: to, AllianceID: allianceID, How: how, ByHospitalID: from, From: at})
}

// passUp records an escalation: the chain is cut after the receiver, whose new period
// is held through the alliance it holds the plan through.
func (p *PlanView) passUp(from, to string, at time.Time) {
	chain := p.chainOrDerived()
	i := slices.IndexFunc(chain, func(l PlanChainLink) bool { return l.HospitalID == to })
	if i < 0 {
		i = 0
	}
	p.Chain = slices.Clone(chain[:i+1])
	p.endCustody(at)
	p.Responsibility = append(p.Responsibility, PlanCustodyView{HospitalID: to, AllianceID: p.Chain[i].AllianceID,
		How: CustodyEscalation, ByHospitalID: from, From: at})
}

// endCustody ends the current period of responsibility at at (a transfer or the close).
func (p *PlanView) endCustody(at time.Time) {
	if n := len(p.Responsibility); n > 0 && p.Responsibility[n-1].Until == nil {
		p.Responsibility[n-1].Until = timePtr(at)
	}
}

// TierThrough is the tier of an adoption matrix row for a hospital that is no member
// and follows the alliance's protocols through a middle tier's alliance.
const TierThrough = "through"

// throughRows returns, for an alliance's adoption matrix, a row source for every
// hospital that adopted one of its protocols through a middle tier's alliance without
// being a member (in hospital id order), and the via alliance of each.
func throughRows(members []MemberView, adopted map[string]string) ([]MemberView, map[string]string, error) {
	via := map[string]string{}
	for key, raw := range adopted {
		_, hid, ok := strings.Cut(key, ":")
		if !ok || !strings.Contains(raw, `"viaAllianceId"`) {
			continue
		}
		var ad AdoptionView
		if err := json.Unmarshal([]byte(raw), &ad); err != nil {
			return nil, nil, fmt.Errorf("adoption view is malformed: %w", err)
		}
		if ad.ViaAllianceID != "" && !slices.ContainsFunc(members, func(m MemberView) bool { return m.HospitalID == hid }) {
			via[hid] = ad.ViaAllianceID
		}
	}
	out := make([]MemberView, 0, len(via))
	for hid := range via {
		out = append(out, MemberView{HospitalID: hid, Tier: TierThrough})
	}
	slices.SortFunc(out, func(a, b MemberView) int { return strings.Compare(a.HospitalID, b.HospitalID) })
	return out, via, nil
}
