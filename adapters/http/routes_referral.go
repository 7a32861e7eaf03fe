package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// referralRoutes are the commands of two-way referral (双向转诊) and reserved capacity
// (号源/床位下沉). Both a lead and a member may send (a middle tier leads its own alliance
// and is a member of a higher one); the domain checks who may do what on each referral.
func (s *Server) referralRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/referrals", op: "requestReferral", summary: "Refer a patient up (member -> a hospital leading its alliance) or down (lead -> an active member); urgency sets the acceptance and admission deadlines; a medical record number is pseudonymized, never stored.",
			roles: leadMember, body: app.RequestReferralInput{}, h: command(s, leadMember, true, nil, s.deps.App.RequestReferral)},
		{method: http.MethodPost, path: "/v1/consults/:id/referral", op: "referFromConsult", summary: "Turn a consult whose opinion advises escalation into an upward referral (requesting hospital).",
			roles: memberOnly, body: app.ReferFromConsultInput{}, h: command(s, memberOnly, true, bindID(func(in *app.ReferFromConsultInput, id string) { in.ConsultID = id }), s.deps.App.ReferFromConsult)},
		{method: http.MethodPost, path: "/v1/referrals/:id/accept", op: "acceptReferral", summary: "Accept a referral (receiving hospital); reserve or slotId books a reserved slot or bed, no_capacity when none is left.",
			roles: leadMember, body: app.AcceptReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.AcceptReferralInput, id string) { in.ReferralID = id }), s.deps.App.AcceptReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/decline", op: "declineReferral", summary: "Decline a requested referral with a reason and what to do instead (receiving hospital).",
			roles: leadMember, body: app.DeclineReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.DeclineReferralInput, id string) { in.ReferralID = id }), s.deps.App.DeclineReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/arrive", op: "recordReferralArrival", summary: "Record the patient's arrival (receiving hospital).",
			roles: leadMember, body: app.ReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.ReferralInput, id string) { in.ReferralID = id }), s.deps.App.RecordReferralArrival)},
		{method: http.MethodPost, path: "/v1/referrals/:id/admit", op: "admitReferral", summary: "Record the admission (receiving hospital).",
			roles: leadMember, body: app.ReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.ReferralInput, id string) { in.ReferralID = id }), s.deps.App.AdmitReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/complete", op: "completeReferral", summary: "Complete with the summary sent back; returnDown also refers the patient back down to the sender (receiving hospital).",
			roles: leadMember, body: app.CompleteReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.CompleteReferralInput, id string) { in.ReferralID = id }), s.deps.App.CompleteReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/cancel", op: "cancelReferral", summary: "Withdraw a referral before arrival; its reserved slot is released (sending hospital).",
			roles: leadMember, body: app.CancelReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.CancelReferralInput, id string) { in.ReferralID = id }), s.deps.App.CancelReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/no-show", op: "recordReferralNoShow", summary: "Record that an accepted patient never came; its reserved slot is released (receiving hospital).",
			roles: leadMember, body: app.NoShowInput{}, h: command(s, leadMember, false, bindID(func(in *app.NoShowInput, id string) { in.ReferralID = id }), s.deps.App.RecordNoShow)},
		{method: http.MethodPost, path: "/v1/reserved-slots", op: "publishReservedSlots", summary: "Publish outpatient slots or beds of the caller's department reserved for an alliance's referrals.",
			roles: leadMember, body: app.PublishSlotsInput{}, h: command(s, leadMember, true, nil, s.deps.App.PublishReservedSlots)},
	}
}

// ReferralQueries are the referral reads; the projections' Queries implements them. It
// is its own interface so that a read model without referrals answers 503, not 500.
type ReferralQueries interface {
	ReferralDesk(ctx context.Context, hospitalID string, limit int, minPos eventstore.Position) (projections.ReferralDesk, error)
	SentReferrals(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]projections.ReferralView, error)
	Referral(ctx context.Context, id string, minPos eventstore.Position) (projections.ReferralView, error)
	PatientReferrals(ctx context.Context, patientRef string, minPos eventstore.Position) ([]projections.ReferralView, error)
}

var _ ReferralQueries = (*projections.Queries)(nil)

// referralQueries returns the read model's referral reads, or unavailable.
func (s *Server) referralQueries() (ReferralQueries, error) {
	if err := s.requireQueries(); err != nil {
		return nil, err
	}
	rq, ok := s.deps.Queries.(ReferralQueries)
	if !ok {
		return nil, domain.Errorf(domain.CodeUnavailable, "the read models do not serve referrals")
	}
	return rq, nil
}

// referralQueryRoutes are the referral reads: the receiving desk, the sender's list,
// one referral, and a patient's referral history.
func (s *Server) referralQueryRoutes() []route {
	q := []param{minPosParam}
	return []route{
		{method: http.MethodGet, path: "/v1/hospitals/:id/referral-desk", op: "referralDesk", resp: projections.ReferralDesk{}, summary: "The 24-hour referral desk: open referrals the hospital receives, green channel first, then by deadline, with overdue flags (the hospital itself, or an auditor).", kind: respJSON,
			query: []param{{"limit", "integer", "rows to return, 1 to 500 (default 100)"}, minPosParam}, h: s.referralDesk},
		{method: http.MethodGet, path: "/v1/hospitals/:id/referrals", op: "sentReferrals", resp: listOf[projections.ReferralView](), summary: "The referrals a hospital sent and their state, newest first (the hospital itself, or an auditor).", kind: respJSON, query: q, h: s.sentReferrals},
		{method: http.MethodGet, path: "/v1/referrals/:id", op: "getReferral", resp: projections.ReferralView{}, summary: "One referral with its measured times (the sending or receiving hospital, or an auditor).", kind: respJSON, query: q, h: s.getReferral},
		{method: http.MethodGet, path: "/v1/patients/:ref/referrals", op: "patientReferrals", resp: listOf[projections.ReferralView](), summary: "A patient's referral history by pseudonymous reference (hospitals that hold or held the patient, or an auditor).", kind: respJSON, query: q, h: s.patientReferrals},
	}
}

func (s *Server) referralDesk(c echo.Context, p *Claims) error {
	rq, err := s.referralQueries()
	if err != nil {
		return err
	}
	id, err := pathID(c, "hospitalId")
	if err != nil {
		return err
	}
	if err := ownOrAuditor(p, id); err != nil {
		s.recordAccess(p, "referral-desk", id, domain.AccessDenied)
		return err
	}
	limit := 0
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > projections.MaxDeskPage {
			return domain.Errorf(domain.CodeInvalidInput, "limit must be a number from 1 to %d", projections.MaxDeskPage)
		}
	}
	mp, err := minPos(c)
	if err != nil {
		return err
	}
	s.recordAccess(p, "referral-desk", id, domain.AccessAllowed)
	d, err := rq.ReferralDesk(c.Request().Context(), id, limit, mp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) sentReferrals(c echo.Context, p *Claims) error {
	rq, err := s.referralQueries()
	if err != nil {
		return err
	}
	return hospitalList(s, c, p, "sent-referrals", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) ([]projections.ReferralView, error) {
		return rq.SentReferrals(ctx, id, mp)
	})
}

func (s *Server) getReferral(c echo.Context, p *Claims) error {
	rq, err := s.referralQueries()
	if err != nil {
		return err
	}
	v, id, err := byID(s, c, "referralId", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) (projections.ReferralView, error) {
		return rq.Referral(ctx, id, mp)
	})
	if err != nil {
		return err
	}
	if err := partyOrAuditor(p, v.FromHospitalID, v.ToHospitalID); err != nil {
		s.recordAccess(p, "referral", id, domain.AccessDenied)
		return err
	}
	s.recordAccess(p, "referral", id, domain.AccessAllowed)
	c.Response().Header().Set("ETag", etag(v.Version))
	return c.JSON(http.StatusOK, v)
}

// patientReferrals answers a patient's history only to a hospital that sent or
// received one of the patient's referrals, to one that may read a plan one of them
// links (the top lead along a three-tier chain), and to auditors; anyone else gets not_found,
// so the answer does not even tell whether the reference is known.
func (s *Server) patientReferrals(c echo.Context, p *Claims) error {
	rq, err := s.referralQueries()
	if err != nil {
		return err
	}
	ref := c.Param("ref")
	if !strings.HasPrefix(ref, "pr_") || len(ref) > 67 {
		return domain.Errorf(domain.CodeInvalidInput, "the path names a pseudonymous patient reference (pr_...), never a record number")
	}
	mp, err := minPos(c)
	if err != nil {
		return err
	}
	hist, err := rq.PatientReferrals(c.Request().Context(), ref, mp)
	if err != nil {
		return err
	}
	if !readAll(p) && !projections.HoldsOrHeld(hist, p.HospitalID) && !s.readsLinkedPlan(c.Request().Context(), p, hist) {
		s.recordAccess(p, "patient-referrals", ref, domain.AccessDenied)
		return domain.Errorf(domain.CodeNotFound, "no referral history this hospital may read for that patient")
	}
	s.recordAccess(p, "patient-referrals", ref, domain.AccessAllowed)
	return list(c, hist)
}
