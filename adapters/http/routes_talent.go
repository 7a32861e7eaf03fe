package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// talentRoutes are the commands of mentorships (师带徒) and training placements (进修,
// 派一送一). The roles here only say which kind of token may try; the domain decides on
// each mentorship or placement (a lead department opens and assesses, the two hospitals
// log sessions, the host evaluates).
func (s *Server) talentRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/mentorships", op: "startMentorship", summary: "Pair a mentor of the lead hospital with an apprentice of an active member in a programme (a lead department); startedAt may lie in the past, for records entered afterwards.",
			roles: leadOnly, body: app.StartMentorshipInput{}, h: command(s, leadOnly, true, nil, s.deps.App.StartMentorship)},
		{method: http.MethodPost, path: "/v1/mentorships/:id/sessions", op: "logMentorshipSession", summary: "Log a teaching round, joint consult or supervised procedure: when, how long, how many patients and procedures, no patient identity (the mentor's or the apprentice's hospital).",
			roles: leadMember, body: app.LogSessionInput{}, h: command(s, leadMember, false, bindID(func(in *app.LogSessionInput, id string) { in.MentorshipID = id }), s.deps.App.LogMentorshipSession)},
		{method: http.MethodPost, path: "/v1/mentorships/:id/assessments", op: "assessMentorship", summary: "Assess the apprentice: excellent, pass or fail, with a comment (a lead department).",
			roles: leadOnly, body: app.AssessInput{}, h: command(s, leadOnly, false, bindID(func(in *app.AssessInput, id string) { in.MentorshipID = id }), s.deps.App.AssessMentorship)},
		{method: http.MethodPost, path: "/v1/mentorships/:id/complete", op: "completeMentorship", summary: "Record completion (学成结业) after at least one session and a passing latest assessment (a lead department).",
			roles: leadOnly, body: app.CompleteMentorshipInput{}, h: command(s, leadOnly, false, bindID(func(in *app.CompleteMentorshipInput, id string) { in.MentorshipID = id }), s.deps.App.CompleteMentorship)},
		{method: http.MethodPost, path: "/v1/mentorships/:id/withdraw", op: "withdrawMentorship", summary: "End an active mentorship without completion, with a reason (a lead department or the apprentice's hospital).",
			roles: leadMember, body: app.WithdrawMentorshipInput{}, h: command(s, leadMember, false, bindID(func(in *app.WithdrawMentorshipInput, id string) { in.MentorshipID = id }), s.deps.App.WithdrawMentorship)},
		{method: http.MethodPost, path: "/v1/placements", op: "planPlacement", summary: "Plan a placement: kind study (进修, a member's practitioner in a lead department) or posting (派一送一, a lead practitioner at a member), for a period of at most a year (a lead department).",
			roles: leadOnly, body: app.PlanPlacementInput{}, h: command(s, leadOnly, true, nil, s.deps.App.PlanPlacement)},
		{method: http.MethodPost, path: "/v1/placements/:id/arrive", op: "recordPlacementArrival", summary: "Record the practitioner's arrival at the host (the home or the host hospital).",
			roles: leadMember, body: app.PlacementStepInput{}, h: command(s, leadMember, false, bindID(func(in *app.PlacementStepInput, id string) { in.PlacementID = id }), s.deps.App.RecordPlacementArrival)},
		{method: http.MethodPost, path: "/v1/placements/:id/complete", op: "completePlacement", summary: "Record the end of an arrived placement (the home or the host hospital).",
			roles: leadMember, body: app.PlacementStepInput{}, h: command(s, leadMember, false, bindID(func(in *app.PlacementStepInput, id string) { in.PlacementID = id }), s.deps.App.CompletePlacement)},
		{method: http.MethodPost, path: "/v1/placements/:id/evaluate", op: "evaluatePlacement", summary: "Evaluate a completed placement: excellent, pass or fail, with a comment, once (the host hospital).",
			roles: leadMember, body: app.EvaluatePlacementInput{}, h: command(s, leadMember, false, bindID(func(in *app.EvaluatePlacementInput, id string) { in.PlacementID = id }), s.deps.App.EvaluatePlacement)},
		{method: http.MethodPost, path: "/v1/placements/:id/cancel", op: "cancelPlacement", summary: "Call off a planned placement before arrival, with a reason (a lead department or the member hospital).",
			roles: leadMember, body: app.CancelPlacementInput{}, h: command(s, leadMember, false, bindID(func(in *app.CancelPlacementInput, id string) { in.PlacementID = id }), s.deps.App.CancelPlacement)},
	}
}

// TalentQueries are the talent reads; the projections' Queries implements them. Its
// own interface, so a read model without them answers 503, not 500.
type TalentQueries interface {
	Mentorship(ctx context.Context, id string, minPos eventstore.Position) (projections.MentorshipView, error)
	AllianceMentorships(ctx context.Context, allianceID string, minPos eventstore.Position) (projections.AllianceMentorships, error)
	HospitalMentorships(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]projections.MentorshipView, error)
	PractitionerMentorships(ctx context.Context, practitionerID string, minPos eventstore.Position) ([]projections.MentorshipView, error)
	Placement(ctx context.Context, id string, minPos eventstore.Position) (projections.PlacementView, error)
	AlliancePlacements(ctx context.Context, allianceID string, minPos eventstore.Position) (projections.AlliancePlacements, error)
	HospitalPlacements(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]projections.PlacementView, error)
	PractitionerPlacements(ctx context.Context, practitionerID string, minPos eventstore.Position) ([]projections.PlacementView, error)
}

var _ TalentQueries = (*projections.Queries)(nil)

func (s *Server) talentQueries() (TalentQueries, error) {
	if err := s.requireQueries(); err != nil {
		return nil, err
	}
	tq, ok := s.deps.Queries.(TalentQueries)
	if !ok {
		return nil, domain.Errorf(domain.CodeUnavailable, "the read models do not serve mentorships and placements")
	}
	return tq, nil
}

// talentQueryRoutes are the talent reads. Who reads: a mentorship, its mentor's (lead)
// and apprentice's hospitals; a placement, its home and host hospitals; an alliance's
// lists, its lead hospital; a hospital's lists, the hospital; auditors everything. A
// practitioner's list shows only the rows the caller's hospital takes part in.
func (s *Server) talentQueryRoutes() []route {
	q := []param{minPosParam}
	return []route{
		{method: http.MethodGet, path: "/v1/mentorships/:id", op: "getMentorship", resp: projections.MentorshipView{}, summary: "One mentorship with its session counts and latest assessment (the mentor's or the apprentice's hospital, or an auditor).", kind: respJSON, query: q, h: s.getMentorship},
		{method: http.MethodGet, path: "/v1/alliances/:id/mentorships", op: "allianceMentorships", resp: projections.AllianceMentorships{}, summary: "An alliance's mentorship programmes (active, completed, withdrawn) and pairings (the lead hospital, or an auditor).", kind: respJSON, query: q, h: s.allianceMentorships},
		{method: http.MethodGet, path: "/v1/hospitals/:id/mentorships", op: "hospitalMentorships", resp: listOf[projections.MentorshipView](), summary: "The mentorships a hospital mentors in or sends apprentices to (the hospital itself, or an auditor).", kind: respJSON, query: q, h: s.hospitalMentorships},
		{method: http.MethodGet, path: "/v1/practitioners/:id/mentorships", op: "practitionerMentorships", resp: listOf[projections.MentorshipView](), summary: "A practitioner's mentorships as mentor or apprentice (rows the caller's hospital takes part in; auditors all).", kind: respJSON, query: q, h: s.practitionerMentorships},
		{method: http.MethodGet, path: "/v1/placements/:id", op: "getPlacement", resp: projections.PlacementView{}, summary: "One training placement (the home or the host hospital, or an auditor).", kind: respJSON, query: q, h: s.getPlacement},
		{method: http.MethodGet, path: "/v1/alliances/:id/placements", op: "alliancePlacements", resp: projections.AlliancePlacements{}, summary: "An alliance's placements, summed per programme, cohort and kind (the lead hospital, or an auditor).", kind: respJSON, query: q, h: s.alliancePlacements},
		{method: http.MethodGet, path: "/v1/hospitals/:id/placements", op: "hospitalPlacements", resp: listOf[projections.PlacementView](), summary: "The placements a hospital sends or hosts (the hospital itself, or an auditor).", kind: respJSON, query: q, h: s.hospitalPlacements},
		{method: http.MethodGet, path: "/v1/practitioners/:id/placements", op: "practitionerPlacements", resp: listOf[projections.PlacementView](), summary: "A practitioner's placements (rows the caller's hospital takes part in; auditors all).", kind: respJSON, query: q, h: s.practitionerPlacements},
	}
}

// talentOne reads one talent document and applies its read rule.
func talentOne[T any](s *Server, c echo.Context, p *Claims, what, resource string, get func(TalentQueries, context.Context, string, eventstore.Position) (T, error), readable func(T, string) bool) error {
	tq, err := s.talentQueries()
	if err != nil {
		return err
	}
	v, id, err := byID(s, c, what, func(_ Queries, ctx context.Context, id string, mp eventstore.Position) (T, error) {
		return get(tq, ctx, id, mp)
	})
	if err != nil {
		return err
	}
	if !readAll(p) && !readable(v, p.HospitalID) {
		s.recordAccess(p, resource, id, domain.AccessDenied)
		return domain.Errorf(domain.CodeForbidden, "only the hospitals taking part read this")
	}
	s.recordAccess(p, resource, id, domain.AccessAllowed)
	return c.JSON(http.StatusOK, v)
}

func (s *Server) getMentorship(c echo.Context, p *Claims) error {
	return talentOne(s, c, p, "mentorshipId", "mentorship", TalentQueries.Mentorship, projections.MentorshipView.Readable)
}

func (s *Server) getPlacement(c echo.Context, p *Claims) error {
	return talentOne(s, c, p, "placementId", "placement", TalentQueries.Placement, projections.PlacementView.Readable)
}

// allianceTalent answers an alliance's list to its lead hospital and auditors.
func allianceTalent[T any](s *Server, c echo.Context, p *Claims, resource string, get func(TalentQueries, context.Context, string, eventstore.Position) (T, error)) error {
	tq, err := s.talentQueries()
	if err != nil {
		return err
	}
	al, id, err := byID(s, c, "allianceId", Queries.Alliance)
	if err != nil {
		return err
	}
	if !readAll(p) && p.HospitalID != al.Lead.HospitalID {
		s.recordAccess(p, resource, id, domain.AccessDenied)
		return domain.Errorf(domain.CodeForbidden, "only the alliance's lead hospital reads the alliance's lists; a member reads its own hospital's lists")
	}
	s.recordAccess(p, resource, id, domain.AccessAllowed)
	mp, err := minPos(c)
	if err != nil {
		return err
	}
	v, err := get(tq, c.Request().Context(), id, mp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) allianceMentorships(c echo.Context, p *Claims) error {
	return allianceTalent(s, c, p, "alliance-mentorships", TalentQueries.AllianceMentorships)
}

func (s *Server) alliancePlacements(c echo.Context, p *Claims) error {
	return allianceTalent(s, c, p, "alliance-placements", TalentQueries.AlliancePlacements)
}

func (s *Server) hospitalMentorships(c echo.Context, p *Claims) error {
	tq, err := s.talentQueries()
	if err != nil {
		return err
	}
	return hospitalList(s, c, p, "hospital-mentorships", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) ([]projections.MentorshipView, error) {
		return tq.HospitalMentorships(ctx, id, mp)
	})
}

func (s *Server) hospitalPlacements(c echo.Context, p *Claims) error {
	tq, err := s.talentQueries()
	if err != nil {
		return err
	}
	return hospitalList(s, c, p, "hospital-placements", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) ([]projections.PlacementView, error) {
		return tq.HospitalPlacements(ctx, id, mp)
	})
}

// practitionerTalent answers a practitioner's list, keeping the rows the caller's
// hospital takes part in (all for auditors).
func practitionerTalent[T any](s *Server, c echo.Context, p *Claims, resource string, get func(TalentQueries, context.Context, string, eventstore.Position) ([]T, error), readable func(T, string) bool) error {
	tq, err := s.talentQueries()
	if err != nil {
		return err
	}
	rows, id, err := byID(s, c, "practitionerId", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) ([]T, error) {
		return get(tq, ctx, id, mp)
	})
	if err != nil {
		return err
	}
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		if readAll(p) || readable(r, p.HospitalID) {
			out = append(out, r)
		}
	}
	s.recordAccess(p, resource, id, domain.AccessAllowed)
	return list(c, out)
}

func (s *Server) practitionerMentorships(c echo.Context, p *Claims) error {
	return practitionerTalent(s, c, p, "practitioner-mentorships", TalentQueries.PractitionerMentorships, projections.MentorshipView.Readable)
}

func (s *Server) practitionerPlacements(c echo.Context, p *Claims) error {
	return practitionerTalent(s, c, p, "practitioner-placements", TalentQueries.PractitionerPlacements, projections.PlacementView.Readable)
}
