package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// auditReaders may read the audit endpoints: auditors only (least privilege: an
// administrator registers hospitals but does not read the history).
var auditReaders = []string{RoleAuditor}

func (s *Server) auditRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/v1/audit/events", op: "auditEvents", summary: "The global log from a position: envelopes and payloads, in order.",
			roles: auditReaders, kind: respJSON, h: s.auditEvents,
			query: []param{{"from", "integer", "return events after this global position (default 0)"}, {"limit", "integer", "at most this many events (default 100, max 1000)"}}},
		{method: http.MethodGet, path: "/v1/audit/streams/:stream", op: "auditStream", summary: "One stream's events from a revision: envelopes and payloads.",
			roles: auditReaders, kind: respJSON, h: s.auditStream,
			query: []param{{"from", "integer", "first revision (default 0)"}, {"limit", "integer", "at most this many events (default 100, max 1000)"}}},
		{method: http.MethodGet, path: "/v1/audit/plans/:id", op: "auditPlanAsOf", resp: PlanAsOf{}, summary: "Replay a plan as it stood at an instant: its events with occurredAt <= asOf, folded.",
			roles: auditReaders, kind: respJSON, h: s.auditPlanAsOf,
			query: []param{{"asOf", "string", "RFC 3339 instant (default now)"}}},
		{method: http.MethodGet, path: "/v1/audit/verify", op: "auditVerify", summary: "Walk the whole log and check every stream's hash chain and revisions; report breaks.",
			roles: auditReaders, kind: respJSON, h: s.auditVerify},
		{method: http.MethodGet, path: "/v1/audit/access", op: "auditAccess", summary: "Who read what: the access log of one UTC day.",
			roles: auditReaders, kind: respJSON, h: s.auditAccess,
			query: []param{{"date", "string", "UTC day as YYYY-MM-DD (default today)"}, {"hospitalId", "string", "only reads by this hospital"},
				{"userId", "string", "only reads by this user"}, {"resource", "string", "only this resource kind (plan, consult, dispatch)"},
				{"id", "string", "only reads of this resource id"}, {"limit", "integer", "at most this many entries (default 1000)"}}},
	}
}

// AuditEvent is one stored event as an auditor sees it: its place in the log, its
// envelope and its payload verbatim.
type AuditEvent struct {
	Position uint64          `json:"position"`
	Stream   string          `json:"stream"`
	Version  uint64          `json:"version"`
	Type     string          `json:"type"`
	Envelope domain.Envelope `json:"envelope"`
	Data     json.RawMessage `json:"data"`
}

func auditEvent(rec eventstore.RecordedEvent) AuditEvent {
	var env domain.Envelope
	_ = json.Unmarshal(rec.Metadata, &env) // a malformed envelope shows as zero; verify reports it
	data := json.RawMessage(rec.Data)
	if !json.Valid(data) {
		data = json.RawMessage("null")
	}
	return AuditEvent{Position: uint64(rec.Position), Stream: rec.Stream, Version: rec.Version, Type: rec.Type, Envelope: env, Data: data}
}

func queryUint(c echo.Context, name string, def uint64) (uint64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, domain.Errorf(domain.CodeInvalidInput, "query parameter %s must be a non-negative integer", name)
	}
	return n, nil
}

func queryLimit(c echo.Context, def, max int) (int, error) {
	n, err := queryUint(c, "limit", uint64(def))
	if err != nil {
		return 0, err
	}
	if n == 0 || n > uint64(max) {
		return 0, domain.Errorf(domain.CodeInvalidInput, "limit must be between 1 and %d", max)
	}
	return int(n), nil
}

func (s *Server) auditEvents(c echo.Context, _ *Claims) error {
	from, err := queryUint(c, "from", 0)
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, 100, 1000)
	if err != nil {
		return err
	}
	recs, err := s.deps.Store.ReadAll(c.Request().Context(), eventstore.Position(from), limit)
	if err != nil {
		return err
	}
	out := struct {
		Events []AuditEvent `json:"events"`
		Next   uint64       `json:"next"`
	}{Events: make([]AuditEvent, 0, len(recs)), Next: from}
	for _, rec := range recs {
		out.Events = append(out.Events, auditEvent(rec))
		out.Next = uint64(rec.Position)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) auditStream(c echo.Context, _ *Claims) error {
	stream := c.Param("stream")
	if stream == "" || len(stream) > 200 {
		return domain.Errorf(domain.CodeInvalidInput, "the stream name must be 1 to 200 characters")
	}
	from, err := queryUint(c, "from", 0)
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, 100, 1000)
	if err != nil {
		return err
	}
	recs, err := s.deps.Store.ReadStream(c.Request().Context(), stream, eventstore.Forwards, from, limit)
	if err != nil {
		return err
	}
	out := struct {
		Stream string       `json:"stream"`
		Events []AuditEvent `json:"events"`
	}{Stream: stream, Events: make([]AuditEvent, 0, len(recs))}
	for _, rec := range recs {
		out.Events = append(out.Events, auditEvent(rec))
	}
	return c.JSON(http.StatusOK, out)
}

// auditVerify walks the whole log once and checks every stream's hash chain and
// revisions (eventstore.Verify); breaks are listed, not fatal.
func (s *Server) auditVerify(c echo.Context, _ *Claims) error {
	rep, err := eventstore.Verify(c.Request().Context(), s.deps.Store)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

func (s *Server) auditAccess(c echo.Context, _ *Claims) error {
	day := s.deps.Now().UTC()
	if d := c.QueryParam("date"); d != "" {
		t, err := time.Parse("2006-01-02", d)
		if err != nil {
			return domain.Errorf(domain.CodeInvalidInput, "date must be YYYY-MM-DD")
		}
		day = t
	}
	limit, err := queryLimit(c, 1000, 10000)
	if err != nil {
		return err
	}
	entries, err := s.deps.App.AccessEntries(c.Request().Context(), day, app.AccessFilter{
		HospitalID: c.QueryParam("hospitalId"), UserID: c.QueryParam("userId"), Resource: c.QueryParam("resource"),
		ID: c.QueryParam("id"), Limit: limit})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		Date    string               `json:"date"`
		Entries []domain.AccessEntry `json:"entries"`
	}{Date: day.Format("2006-01-02"), Entries: entries})
}

// PlanAsOf is a plan replayed to an instant: the folded state (null before the plan
// existed), the revision of the last event applied and its position, and every event
// applied.
type PlanAsOf struct {
	PlanID   string          `json:"planId"`
	AsOf     time.Time       `json:"asOf"`
	Exists   bool            `json:"exists"`
	Version  *uint64         `json:"version"`
	Position uint64          `json:"position"`
	State    *AuditPlanState `json:"state"`
	Events   []AuditEvent    `json:"events"`
}

// AuditPlanState is a plan's folded domain state as the audit API shows it, in the
// camelCase of every other body. The domain's state types carry no JSON shape (they are
// never stored: events are), so the audit API maps them here, field by field.
type AuditPlanState struct {
	PlanID                string    `json:"planId"`
	AllianceID            string    `json:"allianceId"`
	ProtocolID            string    `json:"protocolId"`
	ProtocolVersion       int       `json:"protocolVersion"`
	ContentHash           string    `json:"contentHash"`
	PatientRef            string    `json:"patientRef"`
	StartDate             time.Time `json:"startDate"`
	LeadHospitalID        string    `json:"leadHospitalId"`
	LeadDepartmentID      string    `json:"leadDepartmentId"`
	ResponsibleHospitalID string    `json:"responsibleHospitalId"`
	// Chain is the line of responsibility at the instant, lead first (three tiers).
	Chain           []AuditPlanLink         `json:"chain"`
	LocalDeviations []domain.LocalDeviation `json:"localDeviations"`
	Status          string                  `json:"status"`
	Steps           []domain.PlanStep       `json:"steps"`
	Revision        int                     `json:"revision"`
	Deviations      []AuditPlanDeviation    `json:"deviations"`
	Flag            *AuditPlanFlag          `json:"flag"` // null while the plan is not flagged
	InitiatedAt     time.Time               `json:"initiatedAt"`
	ClosedAt        *time.Time              `json:"closedAt,omitempty"`
	CloseReason     string                  `json:"closeReason,omitempty"`
}

// AuditPlanLink is one link of a plan's chain of responsibility: the hospital, the
// alliance through which it holds the plan, and since when.
type AuditPlanLink struct {
	HospitalID string    `json:"hospitalId"`
	AllianceID string    `json:"allianceId"`
	Since      time.Time `json:"since"`
}

// AuditPlanDeviation is one reported deviation in a plan's audited state.
type AuditPlanDeviation struct {
	DeviationID    string     `json:"deviationId"`
	StepID         string     `json:"stepId,omitempty"`
	Description    string     `json:"description"`
	Severity       string     `json:"severity"`
	HospitalID     string     `json:"hospitalId"`
	ReportedAt     time.Time  `json:"reportedAt"`
	Acknowledged   bool       `json:"acknowledged"`
	AckNote        string     `json:"ackNote,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt,omitempty"`
}

// AuditPlanFlag says which protocol version of the plan was withdrawn, why and when.
type AuditPlanFlag struct {
	Version int       `json:"version"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// auditPlanState maps a plan's domain state to its audit shape.
func auditPlanState(p domain.Plan) *AuditPlanState {
	out := &AuditPlanState{PlanID: p.ID, AllianceID: p.AllianceID, ProtocolID: p.ProtocolID, ProtocolVersion: p.ProtocolVersion,
		ContentHash: p.ContentHash, PatientRef: p.PatientRef, StartDate: p.StartDate, LeadHospitalID: p.LeadHospitalID,
		LeadDepartmentID: p.LeadDepartmentID, ResponsibleHospitalID: p.ResponsibleHospital, Status: p.Status,
		LocalDeviations: append([]domain.LocalDeviation{}, p.LocalDeviations...), Steps: append([]domain.PlanStep{}, p.Steps...),
		Revision: p.Revision, Deviations: make([]AuditPlanDeviation, 0, len(p.Deviations)), InitiatedAt: p.InitiatedAt,
		ClosedAt: nonZero(p.ClosedAt), CloseReason: p.CloseReason}
	for _, d := range p.Deviations {
		out.Deviations = append(out.Deviations, AuditPlanDeviation{DeviationID: d.DeviationID, StepID: d.StepID, Description: d.Description,
			Severity: d.Severity, HospitalID: d.HospitalID, ReportedAt: d.ReportedAt, Acknowledged: d.Acknowledged, AckNote: d.AckNote,
			AcknowledgedAt: nonZero(d.AcknowledgedAt)})
	}
	if p.Flagged() {
		out.Flag = &AuditPlanFlag{Version: p.Flag.Version, Reason: p.Flag.Reason, At: p.Flag.At}
	}
	out.Chain = make([]AuditPlanLink, 0, len(p.Chain))
	for _, l := range p.Chain {
		out.Chain = append(out.Chain, AuditPlanLink{HospitalID: l.HospitalID, AllianceID: l.AllianceID, Since: l.Since})
	}
	return out
}

// nonZero returns a pointer to t, or nil for the zero time (shown as an absent field).
func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// auditPlanAsOf folds the plan's stream up to the last event that occurred at or
// before asOf: the plan exactly as the system knew it then.
func (s *Server) auditPlanAsOf(c echo.Context, _ *Claims) error {
	id := c.Param("id")
	if err := domain.ValidateID("planId", id); err != nil {
		return err
	}
	asOf := s.deps.Now().UTC()
	if v := c.QueryParam("asOf"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return domain.Errorf(domain.CodeInvalidInput, "asOf must be an RFC 3339 instant, e.g. 2026-11-23T08:00:00Z")
		}
		asOf = t.UTC()
	}
	out := PlanAsOf{PlanID: id, AsOf: asOf, Events: []AuditEvent{}}
	var state domain.Plan
	answer := func() error {
		if out.Exists {
			out.State = auditPlanState(state)
		}
		return c.JSON(http.StatusOK, out)
	}
	ctx := c.Request().Context()
	from := uint64(0)
	for {
		recs, err := s.deps.Store.ReadStream(ctx, domain.PlanStream(id), eventstore.Forwards, from, 512)
		if domain.ErrorCode(err) == domain.CodeNotFound {
			break
		}
		if err != nil {
			return err
		}
		for _, rec := range recs {
			env, ev, err := eventstore.Decode(rec)
			if err != nil {
				return err
			}
			if env.OccurredAt.After(asOf) {
				return answer()
			}
			state = state.Evolve(ev)
			v := rec.Version
			out.Exists, out.Version, out.Position = true, &v, uint64(rec.Position)
			out.Events = append(out.Events, auditEvent(rec))
		}
		if len(recs) < 512 {
			break
		}
		from = recs[len(recs)-1].Version + 1
	}
	if !out.Exists && from == 0 {
		return domain.Errorf(domain.CodeNotFound, "plan %s does not exist", id)
	}
	return answer()
}
