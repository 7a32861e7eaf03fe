package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// diagnosticRoutes are the commands of the shared diagnostic centres (心电/影像/检验/病理/
// 超声 中心) and their studies. Centre staff (the operator hospital) and members hold
// lead or member tokens; the domain checks who may do what on each centre and study.
func (s *Server) diagnosticRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/centres", op: "openCentre", summary: "Open a diagnostic centre (ecg, imaging, lab, pathology, ultrasound) of an alliance, run by its lead hospital or a member it designates (a lead department).",
			roles: leadOnly, body: app.OpenCentreInput{}, h: command(s, leadOnly, true, nil, s.deps.App.OpenCentre)},
		{method: http.MethodPost, path: "/v1/centres/:id/readers", op: "addCentreReader", summary: "Make a practitioner of the operator hospital's directory a reader of the centre (the operator hospital).",
			roles: leadMember, body: app.CentreReaderInput{}, h: command(s, leadMember, false, bindID(func(in *app.CentreReaderInput, id string) { in.CentreID = id }), s.deps.App.AddCentreReader)},
		{method: http.MethodPost, path: "/v1/centres/:id/readers/:pid/remove", op: "removeCentreReader", summary: "Take a reader off the centre, with a reason; the reader's shifts route nothing more (the operator hospital).",
			roles: leadMember, body: app.CentreReaderInput{}, h: command(s, leadMember, false, func(c echo.Context, in *app.CentreReaderInput) error {
				in.CentreID, in.PractitionerID = c.Param("id"), c.Param("pid")
				return nil
			}, s.deps.App.RemoveCentreReader)},
		{method: http.MethodPost, path: "/v1/centres/:id/shifts", op: "scheduleShift", summary: "Put a reader on the duty roster for a window of at most 72 hours; studies submitted during it go to that reader (the operator hospital). Answers shiftId.",
			roles: leadMember, body: app.ScheduleShiftInput{}, h: command(s, leadMember, true, bindID(func(in *app.ScheduleShiftInput, id string) { in.CentreID = id }), s.deps.App.ScheduleShift)},
		{method: http.MethodPost, path: "/v1/centres/:id/shifts/:sid/cancel", op: "cancelShift", summary: "Take a shift off the roster, with a reason (the operator hospital).",
			roles: leadMember, body: app.CancelShiftInput{}, h: command(s, leadMember, false, func(c echo.Context, in *app.CancelShiftInput) error {
				in.CentreID, in.ShiftID = c.Param("id"), c.Param("sid")
				return nil
			}, s.deps.App.CancelShift)},
		{method: http.MethodPost, path: "/v1/diagnostics", op: "submitDiagnostic", summary: "Send a study to a centre (a hospital of its alliance): kind from the centre, modality, clinical question, urgency, pseudonymous patient, attachments by digest with an https link or a DICOM Study Instance UID (never pixel data); the reader on duty gets it at once.",
			roles: leadMember, body: app.SubmitDiagnosticInput{}, h: command(s, leadMember, true, nil, s.deps.App.SubmitDiagnostic)},
		{method: http.MethodPost, path: "/v1/diagnostics/:id/route", op: "routeDiagnostic", summary: "Give a study to a reader, by default the reader on duty (the centre).",
			roles: leadMember, body: app.AssignReaderInput{}, h: command(s, leadMember, false, bindID(func(in *app.AssignReaderInput, id string) { in.RequestID = id }), s.deps.App.RouteDiagnostic)},
		{method: http.MethodPost, path: "/v1/diagnostics/:id/claim", op: "claimDiagnostic", summary: "A reader takes a waiting study from the worklist (the centre).",
			roles: leadMember, body: app.AssignReaderInput{}, h: command(s, leadMember, false, bindID(func(in *app.AssignReaderInput, id string) { in.RequestID = id }), s.deps.App.ClaimDiagnostic)},
		{method: http.MethodPost, path: "/v1/diagnostics/:id/send-back", op: "sendBackDiagnostic", summary: "Quality control returns a study (unreadable, incomplete, wrong_study, specimen, other) with a reason; the member may resubmit (the centre).",
			roles: leadMember, body: app.SendBackInput{}, h: command(s, leadMember, false, bindID(func(in *app.SendBackInput, id string) { in.RequestID = id }), s.deps.App.SendBackDiagnostic)},
		{method: http.MethodPost, path: "/v1/diagnostics/:id/resubmit", op: "resubmitDiagnostic", summary: "Send a returned study again, optionally with new attachments; the deadline restarts (requesting hospital).",
			roles: leadMember, body: app.ResubmitInput{}, h: command(s, leadMember, false, bindID(func(in *app.ResubmitInput, id string) { in.RequestID = id }), s.deps.App.ResubmitDiagnostic)},
		{method: http.MethodPost, path: "/v1/diagnostics/:id/report", op: "reportDiagnostic", summary: "Publish the structured report (the kind's template items, impression) for the assigned reader; critical flags a critical value the requesting hospital must acknowledge (the centre).",
			roles: leadMember, body: app.ReportInput{}, h: command(s, leadMember, false, bindID(func(in *app.ReportInput, id string) { in.RequestID = id }), s.deps.App.ReportDiagnostic)},
		{method: http.MethodPost, path: "/v1/diagnostics/:id/amend", op: "amendReport", summary: "Publish a new version of the report with a reason (the centre).",
			roles: leadMember, body: app.ReportInput{}, h: command(s, leadMember, false, bindID(func(in *app.ReportInput, id string) { in.RequestID = id }), s.deps.App.AmendReport)},
		{method: http.MethodPost, path: "/v1/diagnostics/:id/cancel", op: "cancelDiagnostic", summary: "Withdraw a study before its report (requesting hospital).",
			roles: leadMember, body: app.CancelDiagnosticInput{}, h: command(s, leadMember, false, bindID(func(in *app.CancelDiagnosticInput, id string) { in.RequestID = id }), s.deps.App.CancelDiagnostic)},
		{method: http.MethodPost, path: "/v1/diagnostics/:id/critical/acknowledge", op: "acknowledgeCritical", summary: "Acknowledge a critical value (seq, default the oldest pending) within the acknowledgement time, else it has escalated (requesting hospital).",
			roles: leadMember, body: app.AcknowledgeCriticalInput{}, h: command(s, leadMember, false, bindID(func(in *app.AcknowledgeCriticalInput, id string) { in.RequestID = id }), s.deps.App.AcknowledgeCritical)},
		{method: http.MethodPost, path: "/v1/diagnostics/:id/critical/referral", op: "referOnCritical", summary: "Turn a critical value into an emergency referral up to the alliance's lead, linked to the report; answers referralId (requesting hospital).",
			roles: leadMember, body: app.ReferOnCriticalInput{}, h: command(s, leadMember, false, bindID(func(in *app.ReferOnCriticalInput, id string) { in.RequestID = id }), s.deps.App.ReferOnCritical)},
	}
}

// DiagnosticQueries are the diagnostic reads; the projections' Queries implements
// them. Its own interface, so a read model without centres answers 503, not 500.
type DiagnosticQueries interface {
	Centre(ctx context.Context, id string, minPos eventstore.Position) (projections.CentreView, error)
	AllianceCentres(ctx context.Context, allianceID string, minPos eventstore.Position) ([]projections.CentreView, error)
	CentreWorklist(ctx context.Context, centreID string, limit int, minPos eventstore.Position) (projections.Worklist, error)
	ReaderWorklist(ctx context.Context, centreID, readerID string, limit int, minPos eventstore.Position) (projections.Worklist, error)
	CentreCriticalBoard(ctx context.Context, centreID string, minPos eventstore.Position) (projections.CriticalBoard, error)
	CentreTurnaround(ctx context.Context, centreID string, minPos eventstore.Position) (projections.TurnaroundView, error)
	Diagnostic(ctx context.Context, id string, minPos eventstore.Position) (projections.DiagnosticView, error)
	HospitalDiagnostics(ctx context.Context, hospitalID, status string, minPos eventstore.Position) ([]projections.DiagnosticView, error)
	CriticalInbox(ctx context.Context, hospitalID string, minPos eventstore.Position) (projections.CriticalBoard, error)
	PatientReferrals(ctx context.Context, patientRef string, minPos eventstore.Position) ([]projections.ReferralView, error)
}

var _ DiagnosticQueries = (*projections.Queries)(nil)

func (s *Server) diagnosticQueries() (DiagnosticQueries, error) {
	if err := s.requireQueries(); err != nil {
		return nil, err
	}
	dq, ok := s.deps.Queries.(DiagnosticQueries)
	if !ok {
		return nil, domain.Errorf(domain.CodeUnavailable, "the read models do not serve diagnostic centres")
	}
	return dq, nil
}

// diagnosticQueryRoutes are the reads of centres and studies.
func (s *Server) diagnosticQueryRoutes() []route {
	q := []param{minPosParam}
	limit := param{"limit", "integer", "rows to return, 1 to 500 (default 100)"}
	return []route{
		{method: http.MethodGet, path: "/v1/alliances/:id/centres", op: "allianceCentres", resp: listOf[projections.CentreView](), summary: "The alliance's diagnostic centres with their readers, roster and report template (any authenticated caller: members choose where to send).", kind: respJSON, query: q, h: s.allianceCentres},
		{method: http.MethodGet, path: "/v1/centres/:id", op: "getCentre", resp: projections.CentreView{}, summary: "One centre with its readers, duty roster and report template (any authenticated caller).", kind: respJSON, query: q, h: s.getCentre},
		{method: http.MethodGet, path: "/v1/centres/:id/worklist", op: "centreWorklist", resp: projections.Worklist{}, summary: "The centre's worklist: waiting studies, emergency first, then by report deadline, with overdue flags and open/overdue counts (the operator hospital, or an auditor).", kind: respJSON, query: []param{limit, minPosParam}, h: s.centreWorklist},
		{method: http.MethodGet, path: "/v1/centres/:id/readers/:pid/worklist", op: "readerWorklist", resp: projections.Worklist{}, summary: "One reader's assigned studies, same order and flags (the operator hospital, or an auditor).", kind: respJSON, query: []param{limit, minPosParam}, h: s.readerWorklist},
		{method: http.MethodGet, path: "/v1/centres/:id/critical-values", op: "centreCriticalBoard", resp: projections.CriticalBoard{}, summary: "The centre's critical values still waiting for acknowledgement, escalated ones counted (the operator hospital, or an auditor).", kind: respJSON, query: q, h: s.centreCriticalBoard},
		{method: http.MethodGet, path: "/v1/centres/:id/turnaround", op: "centreTurnaround", resp: projections.TurnaroundView{}, summary: "The centre's statistics: reports per urgency with mean and longest turnaround and the share within target; critical values flagged, acknowledged (within time), escalated (the operator hospital, or an auditor).", kind: respJSON, query: q, h: s.centreTurnaround},
		{method: http.MethodGet, path: "/v1/hospitals/:id/diagnostics", op: "hospitalDiagnostics", resp: listOf[projections.DiagnosticView](), summary: "The studies a hospital sent, newest first; status=pending|reported|all (the hospital itself, or an auditor).", kind: respJSON,
			query: []param{{"status", "string", "pending (submitted, assigned, sent back), reported, or all (default)"}, minPosParam}, h: s.hospitalDiagnostics},
		{method: http.MethodGet, path: "/v1/hospitals/:id/critical-values", op: "criticalInbox", resp: projections.CriticalBoard{}, summary: "The hospital's critical-value inbox: its studies with a critical value waiting for its acknowledgement, earliest deadline first (the hospital itself, or an auditor).", kind: respJSON, query: q, h: s.criticalInbox},
		{method: http.MethodGet, path: "/v1/diagnostics/:id", op: "getDiagnostic", resp: projections.DiagnosticView{}, summary: "One study and its report (结果互认): the requesting hospital, the centre, a hospital the patient was referred to in the alliance after the study (once published), or an auditor.", kind: respJSON, query: q, h: s.getDiagnostic},
	}
}

func (s *Server) allianceCentres(c echo.Context, _ *Claims) error {
	dq, err := s.diagnosticQueries()
	if err != nil {
		return err
	}
	v, _, err := byID(s, c, "allianceId", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) ([]projections.CentreView, error) {
		return dq.AllianceCentres(ctx, id, mp)
	})
	if err != nil {
		return err
	}
	return list(c, v)
}

func (s *Server) getCentre(c echo.Context, _ *Claims) error {
	dq, err := s.diagnosticQueries()
	if err != nil {
		return err
	}
	v, _, err := byID(s, c, "centreId", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) (projections.CentreView, error) {
		return dq.Centre(ctx, id, mp)
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(v.Version))
	return c.JSON(http.StatusOK, v)
}

// centreStaff loads the centre named by the path and lets its operator hospital and
// auditors through; anyone else gets the generic 403 (recorded).
func (s *Server) centreStaff(c echo.Context, p *Claims, resource string) (DiagnosticQueries, string, eventstore.Position, error) {
	dq, err := s.diagnosticQueries()
	if err != nil {
		return nil, "", 0, err
	}
	ce, id, err := byID(s, c, "centreId", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) (projections.CentreView, error) {
		return dq.Centre(ctx, id, mp)
	})
	if err != nil {
		return nil, "", 0, err
	}
	if !readAll(p) && p.HospitalID != ce.OperatorHospitalID {
		s.recordAccess(p, resource, id, domain.AccessDenied)
		return nil, "", 0, domain.Errorf(domain.CodeForbidden, "only the centre's own staff read this")
	}
	s.recordAccess(p, resource, id, domain.AccessAllowed)
	mp, err := minPos(c)
	return dq, id, mp, err
}

func pageLimit(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > projections.MaxDeskPage {
		return 0, domain.Errorf(domain.CodeInvalidInput, "limit must be a number from 1 to %d", projections.MaxDeskPage)
	}
	return n, nil
}

func (s *Server) centreWorklist(c echo.Context, p *Claims) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	dq, id, mp, err := s.centreStaff(c, p, "centre-worklist")
	if err != nil {
		return err
	}
	w, err := dq.CentreWorklist(c.Request().Context(), id, limit, mp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

func (s *Server) readerWorklist(c echo.Context, p *Claims) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	reader := c.Param("pid")
	if err := domain.ValidateID("practitionerId", reader); err != nil {
		return err
	}
	dq, id, mp, err := s.centreStaff(c, p, "reader-worklist")
	if err != nil {
		return err
	}
	w, err := dq.ReaderWorklist(c.Request().Context(), id, reader, limit, mp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

func (s *Server) centreCriticalBoard(c echo.Context, p *Claims) error {
	dq, id, mp, err := s.centreStaff(c, p, "centre-critical-values")
	if err != nil {
		return err
	}
	b, err := dq.CentreCriticalBoard(c.Request().Context(), id, mp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

func (s *Server) centreTurnaround(c echo.Context, p *Claims) error {
	dq, id, mp, err := s.centreStaff(c, p, "centre-turnaround")
	if err != nil {
		return err
	}
	t, err := dq.CentreTurnaround(c.Request().Context(), id, mp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) hospitalDiagnostics(c echo.Context, p *Claims) error {
	dq, err := s.diagnosticQueries()
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	switch status {
	case "":
		status = projections.StudiesAll
	case projections.StudiesAll, projections.StudiesPending, projections.StudiesReported:
	default:
		return domain.Errorf(domain.CodeInvalidInput, "status must be pending, reported or all")
	}
	return hospitalList(s, c, p, "hospital-diagnostics", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) ([]projections.DiagnosticView, error) {
		return dq.HospitalDiagnostics(ctx, id, status, mp)
	})
}

func (s *Server) criticalInbox(c echo.Context, p *Claims) error {
	dq, err := s.diagnosticQueries()
	if err != nil {
		return err
	}
	id, err := pathID(c, "hospitalId")
	if err != nil {
		return err
	}
	if err := ownOrAuditor(p, id); err != nil {
		s.recordAccess(p, "critical-inbox", id, domain.AccessDenied)
		return err
	}
	mp, err := minPos(c)
	if err != nil {
		return err
	}
	s.recordAccess(p, "critical-inbox", id, domain.AccessAllowed)
	b, err := dq.CriticalInbox(c.Request().Context(), id, mp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

// getDiagnostic answers a study to the hospitals that may read it (结果互认, see
// app.CanReadDiagnostic): the requesting hospital and the centre; once published, a
// hospital the patient was referred to in the same alliance at or after the study's
// submission (from the patient's referral history by pseudonymous reference); and
// auditors. Anyone else gets the generic 403.
func (s *Server) getDiagnostic(c echo.Context, p *Claims) error {
	dq, err := s.diagnosticQueries()
	if err != nil {
		return err
	}
	v, id, err := byID(s, c, "requestId", func(_ Queries, ctx context.Context, id string, mp eventstore.Position) (projections.DiagnosticView, error) {
		return dq.Diagnostic(ctx, id, mp)
	})
	if err != nil {
		return err
	}
	allowed := readAll(p) || p.HospitalID == v.FromHospitalID || p.HospitalID == v.CentreHospitalID
	if !allowed && v.Status == domain.DiagnosticStatusReported {
		mp, _ := minPos(c)
		hist, err := dq.PatientReferrals(c.Request().Context(), v.PatientRef, mp)
		if err != nil {
			return err
		}
		var referredTo []string
		for _, r := range hist {
			if r.AllianceID == v.AllianceID && !r.RequestedAt.Before(v.SubmittedAt) {
				referredTo = append(referredTo, r.ToHospitalID)
			}
		}
		allowed = app.CanReadDiagnostic(p.HospitalID, v.FromHospitalID, v.CentreHospitalID, v.Status, referredTo)
	}
	if !allowed {
		s.recordAccess(p, "diagnostic", id, domain.AccessDenied)
		return domain.Errorf(domain.CodeForbidden, "this hospital may not read that study")
	}
	s.recordAccess(p, "diagnostic", id, domain.AccessAllowed)
	c.Response().Header().Set("ETag", etag(v.Version))
	return c.JSON(http.StatusOK, v)
}
