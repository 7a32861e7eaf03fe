package httpapi

import (
	"context"
	"net/http"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/projections"
)

// tierRoutes are the commands of three tiers (中山 -> 徐汇 -> community centres): the
// hospital holding a plan hands it on to a member of an alliance it leads. The caller
// acts as a lead department of that alliance, so the route needs the lead role; the
// domain checks that its hospital holds the plan.
func (s *Server) tierRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/plans/:id/hand-on", op: "handOnPlan", summary: "Hand a plan the caller's hospital holds on to an active member of an alliance it leads (three tiers: 徐汇 to a community centre), which must have adopted the plan's version; referral also opens a downward referral linked to the plan (a lead department of viaAllianceId).",
			roles: leadOnly, body: app.HandOnInput{}, h: command(s, leadOnly, false, bindID(func(in *app.HandOnInput, id string) { in.PlanID = id }), s.deps.App.HandOnPlan)},
	}
}

// maxLinkedPlanChecks bounds the plans one patient-history read looks up to authorize
// a caller through them.
const maxLinkedPlanChecks = 20

// readsLinkedPlan reports whether the caller may read a plan that one of the patient's
// referrals links: the top lead (中山) follows its patient down a three-tier chain in
// which 徐汇 and the community centre refer each other, the plan's former holders keep
// reading the history they took part in. The plan's own read rule decides (mayReadPlan).
func (s *Server) readsLinkedPlan(ctx context.Context, p *Claims, hist []projections.ReferralView) bool {
	if p.HospitalID == "" {
		return false
	}
	seen := map[string]bool{}
	for _, r := range hist {
		id := r.Links.PlanID
		if id == "" || seen[id] {
			continue
		}
		if seen[id] = true; len(seen) > maxLinkedPlanChecks {
			return false
		}
		doc, err := s.deps.Queries.Plan(ctx, id, 0)
		if err == nil && mayReadPlan(p, doc) == nil {
			return true
		}
	}
	return false
}
