package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// Queries is the read side the server needs; *projections.Queries implements it. Every
// method takes minPos: the read waits, bounded, until the views applied that position.
type Queries interface {
	Plan(ctx context.Context, planID string, minPos eventstore.Position) (projections.PlanDoc, error)
	HospitalPlans(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]projections.PlanSummary, error)
	HospitalDispatches(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]projections.DispatchView, error)
	HospitalConsults(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]projections.ConsultSummary, error)
	Hospital(ctx context.Context, id string, minPos eventstore.Position) (projections.HospitalView, error)
	Hospitals(ctx context.Context, minPos eventstore.Position) ([]projections.HospitalView, error)
	Alliance(ctx context.Context, id string, minPos eventstore.Position) (projections.AllianceView, error)
	AllianceMembers(ctx context.Context, allianceID string, minPos eventstore.Position) ([]projections.MemberView, error)
	AllianceProtocols(ctx context.Context, allianceID string, minPos eventstore.Position) ([]projections.ProtocolView, error)
	AdoptionMatrix(ctx context.Context, allianceID string, minPos eventstore.Position) (projections.AdoptionMatrix, error)
	AllianceConsults(ctx context.Context, allianceID, status string, now time.Time, minPos eventstore.Position) ([]projections.ConsultSummary, error)
	Consult(ctx context.Context, id string, minPos eventstore.Position) (projections.ConsultView, error)
	Dispatch(ctx context.Context, id string, minPos eventstore.Position) (projections.DispatchView, error)
	ExpertCalendar(ctx context.Context, expertID string, minPos eventstore.Position) ([]projections.CalendarEntry, error)
	Practitioner(ctx context.Context, id string, minPos eventstore.Position) (projections.PractitionerView, error)
	HospitalPractitioners(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]projections.PractitionerView, error)
	PlansOnProtocolVersion(ctx context.Context, protocolID string, version int, minPos eventstore.Position) ([]string, error)
	WatchPlan(ctx context.Context, planID string) (<-chan eventstore.Position, func(), error)
}

var _ Queries = (*projections.Queries)(nil)

var minPosParam = param{"minPosition", "integer", "wait (bounded) until the views applied this global position (read your writes)"}

func (s *Server) queryRoutes() []route {
	q := []param{minPosParam}
	return []route{
		{method: http.MethodGet, path: "/v1/hospitals", op: "listHospitals", resp: listOf[projections.HospitalView](), summary: "The hospital directory.", kind: respJSON, query: q, h: s.getHospitals},
		{method: http.MethodGet, path: "/v1/hospitals/:id", op: "getHospital", resp: projections.HospitalView{}, summary: "One hospital's directory entry.", kind: respJSON, query: q, h: s.getHospital},
		{method: http.MethodGet, path: "/v1/hospitals/:id/practitioners", op: "hospitalPractitioners", resp: listOf[projections.PractitionerView](), summary: "The practitioners registered under a hospital, active first (the directory: any authenticated caller).", kind: respJSON, query: q, h: s.hospitalPractitioners},
		{method: http.MethodGet, path: "/v1/practitioners/:id", op: "getPractitioner", resp: projections.PractitionerView{}, summary: "One practitioner's directory entry (any authenticated caller).", kind: respJSON, query: q, h: s.getPractitioner},
		{method: http.MethodGet, path: "/v1/hospitals/:id/plans", op: "hospitalPlans", resp: listOf[projections.PlanSummary](), summary: "The plans a hospital leads or is responsible for (the hospital itself, or an auditor).", kind: respJSON, query: q, h: s.hospitalPlans},
		{method: http.MethodGet, path: "/v1/hospitals/:id/dispatches", op: "hospitalDispatches", resp: listOf[projections.DispatchView](), summary: "The dispatches a hospital requested or serves as lead (the hospital itself, or an auditor).", kind: respJSON, query: q, h: s.hospitalDispatches},
		{method: http.MethodGet, path: "/v1/hospitals/:id/consults", op: "hospitalConsults", resp: listOf[projections.ConsultSummary](), summary: "The consults a hospital requested or receives as lead (the hospital itself, or an auditor).", kind: respJSON, query: q, h: s.hospitalConsults},
		{method: http.MethodGet, path: "/v1/alliances/:id", op: "getAlliance", resp: projections.AllianceView{}, summary: "An alliance's header: lead and member counts.", kind: respJSON, query: q, h: s.getAlliance},
		{method: http.MethodGet, path: "/v1/alliances/:id/members", op: "allianceMembers", resp: listOf[projections.MemberView](), summary: "An alliance's roster.", kind: respJSON, query: q, h: s.allianceMembers},
		{method: http.MethodGet, path: "/v1/alliances/:id/protocols", op: "allianceProtocols", resp: listOf[projections.ProtocolView](), summary: "An alliance's protocol catalogue with every version.", kind: respJSON, query: q, h: s.allianceProtocols},
		{method: http.MethodGet, path: "/v1/alliances/:id/adoption-matrix", op: "adoptionMatrix", resp: projections.AdoptionMatrix{}, summary: "Members against protocols: who follows which version, with declared deviations.", kind: respJSON, query: q, h: s.adoptionMatrix},
		{method: http.MethodGet, path: "/v1/alliances/:id/consults", op: "allianceConsults", resp: listOf[projections.ConsultSummary](), summary: "An alliance's consults by response deadline (the lead hospital, or an auditor).", kind: respJSON,
			query: []param{{"status", "string", "open (default: requested or accepted), or one status, or all"},
				{"department", "string", "the lead department whose queue to read (default: the caller's own when it leads the alliance, else all), or all"}, minPosParam}, h: s.allianceConsults},
		{method: http.MethodGet, path: "/v1/plans/:id", op: "getPlan", resp: projections.PlanView{}, summary: "One plan's view (the responsible hospital, the alliance's lead department, or an auditor).", kind: respJSON, query: q, bounded: true, h: s.getPlan},
		{method: http.MethodGet, path: "/v1/plans/:id/stream", op: "streamPlan", summary: "Server-Sent Events: every change of the plan's view; resumes after Last-Event-ID.", kind: respStream, h: s.streamPlan},
		{method: http.MethodGet, path: "/v1/dispatches/:id", op: "getDispatch", resp: projections.DispatchView{}, summary: "One expert dispatch (the requesting or lead hospital, or an auditor).", kind: respJSON, query: q, h: s.getDispatch},
		{method: http.MethodGet, path: "/v1/consults/:id", op: "getConsult", resp: projections.ConsultView{}, summary: "One remote consult (the requesting or lead hospital, or an auditor).", kind: respJSON, query: q, h: s.getConsult},
		{method: http.MethodGet, path: "/v1/experts/:id/calendar", op: "expertCalendar", resp: listOf[projections.CalendarEntry](), summary: "An expert's live bookings (the expert's home hospital, the lead departments that dispatch the expert, and auditors).", kind: respJSON, query: q, h: s.expertCalendar},
		{method: http.MethodGet, path: "/v1/protocols/:id/versions/:v/plans", op: "plansOnProtocolVersion", resp: listOf[string](), summary: "The ids of the plans following one protocol version (lead departments and auditors).", roles: []string{RoleLead, RoleAuditor}, kind: respJSON, query: q, h: s.plansOnVersion},
	}
}

// minPos reads ?minPosition=.
func minPos(c echo.Context) (eventstore.Position, error) {
	v := c.QueryParam("minPosition")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, domain.Errorf(domain.CodeInvalidInput, "minPosition must be a non-negative integer (a position from a command's response)")
	}
	return eventstore.Position(n), nil
}

// pathID validates the :id parameter as a ULID.
func pathID(c echo.Context, what string) (string, error) {
	id := c.Param("id")
	return id, domain.ValidateID(what, id)
}

// readAll is true for callers who read everything: auditors.
func readAll(p *Claims) bool { return p.Has(RoleAuditor) }

// ownOrAuditor allows a hospital's own lists to the hospital and to auditors.
func ownOrAuditor(p *Claims, hospitalID string) error {
	if readAll(p) || p.HospitalID == hospitalID {
		return nil
	}
	return domain.Errorf(domain.CodeForbidden, "a hospital reads only its own lists")
}

func (s *Server) requireQueries() error {
	if s.deps.Queries == nil {
		return domain.Errorf(domain.CodeUnavailable, "the read models are not configured")
	}
	return nil
}

// list answers a JSON list, never null.
func list[T any](c echo.Context, items []T) error {
	if items == nil {
		items = []T{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// byID runs a query taking (ctx, id, minPos) after the common checks. q is a method
// expression (Queries.Plan) so that nothing touches s.deps.Queries before it is checked.
func byID[T any](s *Server, c echo.Context, what string, q func(Queries, context.Context, string, eventstore.Position) (T, error)) (T, string, error) {
	var zero T
	if err := s.requireQueries(); err != nil {
		return zero, "", err
	}
	id, err := pathID(c, what)
	if err != nil {
		return zero, id, err
	}
	mp, err := minPos(c)
	if err != nil {
		return zero, id, err
	}
	v, err := q(s.deps.Queries, c.Request().Context(), id, mp)
	return v, id, err
}

func (s *Server) getHospitals(c echo.Context, _ *Claims) error {
	if err := s.requireQueries(); err != nil {
		return err
	}
	mp, err := minPos(c)
	if err != nil {
		return err
	}
	hs, err := s.deps.Queries.Hospitals(c.Request().Context(), mp)
	if err != nil {
		return err
	}
	return list(c, hs)
}

func (s *Server) getHospital(c echo.Context, _ *Claims) error {
	h, _, err := byID(s, c, "hospitalId", Queries.Hospital)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(h.Version))
	return c.JSON(http.StatusOK, h)
}

// hospitalList answers one of a hospital's own lists: to the hospital itself or an
// auditor, recording the access either way.
func hospitalList[T any](s *Server, c echo.Context, p *Claims, resource string,
	q func(Queries, context.Context, string, eventstore.Position) ([]T, error)) error {
	id := c.Param("id")
	if err := ownOrAuditor(p, id); err != nil {
		s.recordAccess(p, resource, id, domain.AccessDenied)
		return err
	}
	s.recordAccess(p, resource, id, domain.AccessAllowed)
	v, _, err := byID(s, c, "hospitalId", q)
	if err != nil {
		return err
	}
	return list(c, v)
}

func (s *Server) hospitalPlans(c echo.Context, p *Claims) error {
	return hospitalList(s, c, p, "hospital-plans", Queries.HospitalPlans)
}

func (s *Server) hospitalDispatches(c echo.Context, p *Claims) error {
	return hospitalList(s, c, p, "hospital-dispatches", Queries.HospitalDispatches)
}

func (s *Server) hospitalConsults(c echo.Context, p *Claims) error {
	return hospitalList(s, c, p, "hospital-consults", Queries.HospitalConsults)
}

// allianceReader allows an alliance's own views to auditors, its lead hospital and the
// hospitals it admitted (whatever their status), and to no one else: a hospital outside
// the alliance learns nothing of its roster, catalogue or adoptions.
func (s *Server) allianceReader(c echo.Context, p *Claims, allianceID string) error {
	if readAll(p) {
		return nil
	}
	ctx := c.Request().Context()
	al, err := s.deps.Queries.Alliance(ctx, allianceID, 0)
	if err != nil {
		return err
	}
	if al.Lead.HospitalID == p.HospitalID {
		return nil
	}
	members, err := s.deps.Queries.AllianceMembers(ctx, allianceID, 0)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.HospitalID == p.HospitalID {
			return nil
		}
	}
	return domain.Errorf(domain.CodeForbidden, "only the alliance's lead, its member hospitals and auditors read an alliance's views")
}

func (s *Server) getAlliance(c echo.Context, p *Claims) error {
	v, id, err := byID(s, c, "allianceId", Queries.Alliance)
	if err != nil {
		return err
	}
	if err := s.allianceReader(c, p, id); err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(v.Version))
	return c.JSON(http.StatusOK, v)
}

func (s *Server) allianceMembers(c echo.Context, p *Claims) error {
	v, id, err := byID(s, c, "allianceId", Queries.AllianceMembers)
	if err != nil {
		return err
	}
	if err := s.allianceReader(c, p, id); err != nil {
		return err
	}
	return list(c, v)
}

func (s *Server) allianceProtocols(c echo.Context, p *Claims) error {
	v, id, err := byID(s, c, "allianceId", Queries.AllianceProtocols)
	if err != nil {
		return err
	}
	if err := s.allianceReader(c, p, id); err != nil {
		return err
	}
	return list(c, v)
}

func (s *Server) adoptionMatrix(c echo.Context, p *Claims) error {
	v, id, err := byID(s, c, "allianceId", Queries.AdoptionMatrix)
	if err != nil {
		return err
	}
	if err := s.allianceReader(c, p, id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) allianceConsults(c echo.Context, p *Claims) error {
	al, id, err := byID(s, c, "allianceId", Queries.Alliance)
	if err != nil {
		return err
	}
	if !readAll(p) && p.HospitalID != al.Lead.HospitalID {
		s.recordAccess(p, "alliance-consults", id, domain.AccessDenied)
		return domain.Errorf(domain.CodeForbidden, "only the alliance's lead hospital reads its consult queue")
	}
	s.recordAccess(p, "alliance-consults", id, domain.AccessAllowed)
	status := c.QueryParam("status")
	if len(status) > 40 {
		return domain.Errorf(domain.CodeInvalidInput, "status is too long")
	}
	dept, err := consultQueueDepartment(c.QueryParam("department"), al, p)
	if err != nil {
		return err
	}
	v, err := s.deps.Queries.AllianceConsults(c.Request().Context(), id, status, s.deps.Now(), 0)
	if err != nil {
		return err
	}
	if dept != "" {
		v = slices.DeleteFunc(v, func(k projections.ConsultSummary) bool { return k.LeadDepartmentID != dept })
	}
	return list(c, v)
}

// getPlan is the hot read: one Redis round trip, the stored JSON written as is, the
// read recorded in the access log off the request path.
func (s *Server) getPlan(c echo.Context, p *Claims) error {
	doc, id, err := byID(s, c, "planId", Queries.Plan)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeNotFound {
			s.recordAccess(p, "plan", id, domain.AccessNotFound)
		}
		return err
	}
	if err := mayReadPlan(p, doc); err != nil {
		s.recordAccess(p, "plan", id, domain.AccessDenied)
		return err
	}
	s.recordAccess(p, "plan", id, domain.AccessAllowed)
	h := c.Response().Header()
	h.Set("ETag", etag(doc.Version))
	// With its length known the body goes out in one piece rather than chunked (a
	// plan view is larger than net/http's buffer, which would otherwise switch to
	// chunked encoding and write a terminating chunk of its own).
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(doc.JSON)))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc.JSON)
}

// mayReadPlan: the responsible hospital, the lead department of the plan's alliance,
// auditors, and every hospital that held the plan before read a plan.
//
// A former holder reads the plan's whole timeline, also what happened after it passed
// the patient on (浦南 sees the outcome after sending the patient up): "for the time it
// held it" is why it may read (its own care is part of the record and the patient may
// come back), not a cut-off of what it reads. It can no longer change anything: the
// commands check the responsible hospital, and the plan leaves its work list.
func mayReadPlan(p *Claims, doc projections.PlanDoc) error {
	switch {
	case readAll(p):
		return nil
	case p.HospitalID == doc.Responsible:
		return nil
	case p.HospitalID != "" && slices.Contains(doc.FormerHolders, p.HospitalID):
		return nil
	case p.HospitalID == doc.Lead && (doc.LeadDepartment == "" || p.DepartmentID == doc.LeadDepartment):
		return nil
	}
	return domain.Errorf(domain.CodeForbidden, "only the responsible hospital, hospitals that held the plan before, and the alliance's lead department read this plan")
}

// partyOrAuditor allows a dispatch or consult to its requesting hospital, its lead
// hospital and auditors.
func partyOrAuditor(p *Claims, requesting, lead string) error {
	if readAll(p) || p.HospitalID == requesting || p.HospitalID == lead {
		return nil
	}
	return domain.Errorf(domain.CodeForbidden, "only the requesting and the lead hospital read this")
}

func (s *Server) getDispatch(c echo.Context, p *Claims) error {
	v, id, err := byID(s, c, "dispatchId", Queries.Dispatch)
	if err != nil {
		return err
	}
	if err := partyOrAuditor(p, v.RequestingHospitalID, v.LeadHospitalID); err != nil {
		s.recordAccess(p, "dispatch", id, domain.AccessDenied)
		return err
	}
	s.recordAccess(p, "dispatch", id, domain.AccessAllowed)
	c.Response().Header().Set("ETag", etag(v.Version))
	return c.JSON(http.StatusOK, v)
}

func (s *Server) getConsult(c echo.Context, p *Claims) error {
	v, id, err := byID(s, c, "consultId", Queries.Consult)
	if err != nil {
		return err
	}
	if err := partyOrAuditor(p, v.RequestingHospitalID, v.LeadHospitalID); err != nil {
		s.recordAccess(p, "consult", id, domain.AccessDenied)
		return err
	}
	s.recordAccess(p, "consult", id, domain.AccessAllowed)
	c.Response().Header().Set("ETag", etag(v.Version))
	return c.JSON(http.StatusOK, v)
}

func (s *Server) expertCalendar(c echo.Context, p *Claims) error {
	v, id, err := byID(s, c, "expertId", Queries.ExpertCalendar)
	if err != nil {
		return err
	}
	v, err = s.calendarFor(c, p, id, v)
	if err != nil {
		s.recordAccess(p, "expert-calendar", id, domain.AccessDenied)
		return err
	}
	s.recordAccess(p, "expert-calendar", id, domain.AccessAllowed)
	return list(c, v)
}

// calendarFor returns the part of an expert's calendar p may read: all of it for
// auditors and for the expert's home hospital; for a lead department that dispatches
// the expert, the entries it leads (with registered experts only the home hospital's
// leads book, so this matters for legacy experts: free-form ids from before the
// directory, which have no home); nobody else reads anything. The refusal names
// nothing of the expert or of another hospital.
func (s *Server) calendarFor(c echo.Context, p *Claims, expertID string, entries []projections.CalendarEntry) ([]projections.CalendarEntry, error) {
	if readAll(p) {
		return entries, nil
	}
	ctx := c.Request().Context()
	home, err := s.deps.Queries.Practitioner(ctx, expertID, 0)
	switch {
	case err == nil && home.HospitalID == p.HospitalID:
		return entries, nil
	case err != nil && domain.ErrorCode(err) != domain.CodeNotFound:
		return nil, err
	}
	var own []projections.CalendarEntry
	if p.Has(RoleLead) {
		for _, e := range entries {
			if e.LeadHospitalID == "" {
				// Projected before entries recorded their lead: the dispatch knows it.
				d, err := s.deps.Queries.Dispatch(ctx, e.DispatchID, 0)
				if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
					return nil, err
				}
				e.LeadHospitalID, e.LeadDepartmentID = d.LeadHospitalID, d.LeadDepartmentID
			}
			if e.LeadHospitalID == p.HospitalID && e.LeadDepartmentID == p.DepartmentID {
				own = append(own, e)
			}
		}
	}
	if len(own) == 0 {
		return nil, domain.Errorf(domain.CodeForbidden, "only the expert's home hospital, the lead departments that dispatch the expert, and auditors read an expert's calendar")
	}
	return own, nil
}

func (s *Server) getPractitioner(c echo.Context, _ *Claims) error {
	v, _, err := byID(s, c, "practitionerId", Queries.Practitioner)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(v.Version))
	return c.JSON(http.StatusOK, v)
}

func (s *Server) hospitalPractitioners(c echo.Context, _ *Claims) error {
	v, _, err := byID(s, c, "hospitalId", Queries.HospitalPractitioners)
	if err != nil {
		return err
	}
	return list(c, v)
}

func (s *Server) plansOnVersion(c echo.Context, p *Claims) error {
	if err := s.requireQueries(); err != nil {
		return err
	}
	id, err := pathID(c, "protocolId")
	if err != nil {
		return err
	}
	if !readAll(p) {
		// Which patients' plans follow a version is the lead's to know: the protocol
		// records its lead hospital when drafted.
		pr, err := eventstore.Load[domain.Protocol](c.Request().Context(), s.deps.Store, domain.ProtocolStream(id))
		if err != nil {
			return err
		}
		if !pr.Exists {
			return domain.Errorf(domain.CodeNotFound, "protocol %s not found", id)
		}
		if pr.State.LeadHospitalID != p.HospitalID {
			return domain.Errorf(domain.CodeForbidden, "only the protocol's lead hospital and auditors list the plans on its versions")
		}
	}
	v, err := strconv.Atoi(c.Param("v"))
	if err != nil || v < 1 {
		return domain.Errorf(domain.CodeInvalidInput, "the version in the path must be a positive number")
	}
	mp, err := minPos(c)
	if err != nil {
		return err
	}
	ids, err := s.deps.Queries.PlansOnProtocolVersion(c.Request().Context(), id, v, mp)
	if err != nil {
		return err
	}
	return list(c, ids)
}

// recordAccess queues one read for the access log (never blocks).
func (s *Server) recordAccess(p *Claims, resource, id, outcome string) {
	if s.deps.Access == nil || p == nil {
		return
	}
	role := RoleMember
	if readAll(p) {
		role = RoleAuditor
	} else if p.Has(RoleLead) {
		role = RoleLead
	}
	s.deps.Access.Record(domain.AccessEntry{Actor: p.Actor(role), Resource: resource, ID: truncate(id, 40), Outcome: outcome, At: s.deps.Now().UTC()})
}

// listOf is the documented shape of a list response.
func listOf[T any]() any {
	return struct {
		Items []T `json:"items"`
	}{}
}
