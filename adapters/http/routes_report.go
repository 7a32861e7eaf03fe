package httpapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
	"github.com/medalliance/allianced/projections/report"
)

// ReportQueries is the alliance report's read; the projections' Queries implements it.
// It is its own interface so that a read model without the report answers 503, not 500.
type ReportQueries interface {
	AllianceReport(ctx context.Context, rq report.Query, minPos eventstore.Position) (report.Report, error)
}

var _ ReportQueries = (*projections.Queries)(nil)

func (s *Server) reportQueries() (ReportQueries, error) {
	if err := s.requireQueries(); err != nil {
		return nil, err
	}
	rq, ok := s.deps.Queries.(ReportQueries)
	if !ok {
		return nil, domain.Errorf(domain.CodeUnavailable, "the read models do not serve the alliance report")
	}
	return rq, nil
}

// reportParams are the report routes' query parameters.
var reportParams = []param{
	{"period", "string", "a month (2026-11), a quarter (2026-Q4) or a year (2026), UTC; default the current quarter"},
	{"asOf", "string", "a date (2026-11-15): the figures as they stood at the end of that day (UTC), counting only facts dated before it"},
	minPosParam,
}

// reportRoutes serve the alliance report in three forms: JSON, CSV (one row per scope,
// for the commission's spreadsheets) and a printable HTML page with charts drawn as
// inline SVG on the server (no script, no network: it prints and works offline). The
// alliance's lead departments and auditors read every member's figures; a member reads
// its own row and the alliance's totals; anyone else gets the generic 403.
func (s *Server) reportRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/v1/alliances/:id/report", op: "allianceReport", resp: report.Report{}, kind: respJSON, query: reportParams,
			summary: "The alliance's performance and quality report for a month, quarter or year, as of any past date: referrals up and down with green-channel times, consults, expert visits, plans, adherence, deviations, protocol currency, per member and in total (lead departments and auditors: every member; a member: its own row and the totals).",
			h:       s.reportJSON},
		{method: http.MethodGet, path: "/v1/alliances/:id/report.csv", op: "allianceReportCSV", kind: respCSV, query: reportParams,
			summary: "The alliance report as CSV (UTF-8 with BOM): one row for the alliance's totals and one per member the caller may read.",
			h:       s.reportCSV},
		{method: http.MethodGet, path: "/v1/alliances/:id/report.html", op: "allianceReportHTML", kind: respHTML, query: reportParams,
			summary: "The alliance report as a printable HTML page with charts (inline SVG, no script or network needed).",
			h:       s.reportHTML},
	}
}

// reportScope is what the caller may read of an alliance's report.
type reportScope struct {
	all  bool   // every member's figures (lead departments, auditors)
	only string // otherwise: this member's own row (and the totals)
}

// reportReader decides what p may read of the alliance's report (from the roster as of
// the request's minPosition, so a member admitted just before reads at once): auditors and the
// alliance's lead departments everything, a hospital the alliance admitted (whatever its
// status now) its own figures and the totals, anyone else nothing.
func (s *Server) reportReader(ctx context.Context, p *Claims, allianceID string, mp eventstore.Position) (reportScope, projections.AllianceView, error) {
	al, err := s.deps.Queries.Alliance(ctx, allianceID, mp)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeNotFound && !readAll(p) {
			// An unknown alliance answers like a foreign one: nothing to learn from probing ids.
			return reportScope{}, al, reportForbidden()
		}
		return reportScope{}, al, err
	}
	if readAll(p) {
		return reportScope{all: true}, al, nil
	}
	leads := al.LeadDepartments
	if len(leads) == 0 {
		leads = []string{al.Lead.DepartmentID}
	}
	if p.HospitalID == al.Lead.HospitalID && p.Has(RoleLead) && slices.Contains(leads, p.DepartmentID) {
		return reportScope{all: true}, al, nil
	}
	members, err := s.deps.Queries.AllianceMembers(ctx, allianceID, mp)
	if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
		return reportScope{}, al, err
	}
	for _, m := range members {
		if m.HospitalID == p.HospitalID && p.Has(RoleMember) {
			return reportScope{only: p.HospitalID}, al, nil
		}
	}
	return reportScope{}, al, reportForbidden()
}

func reportForbidden() error {
	return domain.Errorf(domain.CodeForbidden, "only the alliance's lead departments, its member hospitals (their own figures) and auditors read the alliance's report")
}

// reportQuery reads the period and as-of parameters.
func (s *Server) reportQuery(c echo.Context, allianceID string, sc reportScope) (report.Query, error) {
	rq := report.Query{AllianceID: allianceID, Only: sc.only}
	if v := c.QueryParam("period"); v != "" {
		p, err := report.ParsePeriod(v)
		if err != nil {
			return rq, err
		}
		rq.Period = p
	} else {
		rq.Period = report.PeriodOf(report.Quarter, s.now())
	}
	if v := c.QueryParam("asOf"); v != "" {
		cut, err := report.ParseAsOf(v)
		if err != nil {
			return rq, err
		}
		rq.AsOf, rq.Cut = v, cut
	}
	return rq, nil
}

// now is the service's clock.
func (s *Server) now() time.Time { return s.deps.Now().UTC() }

// loadReport checks the caller and reads the report the request asks for.
func (s *Server) loadReport(c echo.Context, p *Claims) (report.Report, report.Query, projections.AllianceView, reportScope, error) {
	rqs, err := s.reportQueries()
	if err != nil {
		return report.Report{}, report.Query{}, projections.AllianceView{}, reportScope{}, err
	}
	id, err := pathID(c, "allianceId")
	if err != nil {
		return report.Report{}, report.Query{}, projections.AllianceView{}, reportScope{}, err
	}
	mp, err := minPos(c)
	if err != nil {
		return report.Report{}, report.Query{}, projections.AllianceView{}, reportScope{}, err
	}
	ctx := c.Request().Context()
	sc, al, err := s.reportReader(ctx, p, id, mp)
	if err != nil {
		s.recordAccess(p, "alliance-report", id, domain.AccessDenied)
		return report.Report{}, report.Query{}, al, sc, err
	}
	rq, err := s.reportQuery(c, id, sc)
	if err != nil {
		return report.Report{}, rq, al, sc, err
	}
	s.recordAccess(p, "alliance-report", id, domain.AccessAllowed)
	rep, err := rqs.AllianceReport(ctx, rq, mp)
	return rep, rq, al, sc, err
}

func (s *Server) reportJSON(c echo.Context, p *Claims) error {
	rep, _, _, _, err := s.loadReport(c, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

func (s *Server) reportCSV(c echo.Context, p *Claims) error {
	rep, _, al, _, err := s.loadReport(c, p)
	if err != nil {
		return err
	}
	data, err := reportCSV(rep, al.Name)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="alliance-report-`+rep.Period.Key+`.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", data)
}

func (s *Server) reportHTML(c echo.Context, p *Claims) error {
	rep, rq, al, _, err := s.loadReport(c, p)
	if err != nil {
		return err
	}
	rqs, _ := s.reportQueries()
	// The trend chart's months: the period's months, or the six months up to a month.
	var trend []report.Report
	for _, m := range trendMonths(rq.Period) {
		tq := rq
		tq.Period, tq.TotalsOnly = m, true
		r, err := rqs.AllianceReport(c.Request().Context(), tq, 0)
		if err != nil {
			return err
		}
		trend = append(trend, r)
	}
	page, err := renderReportHTML(rep, al, trend, s.now())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	return c.HTMLBlob(http.StatusOK, page)
}

// trendMonths are the months the HTML page's trend chart shows for period p.
func trendMonths(p report.Period) []report.Period {
	start, end := p.Start, p.End
	if p.Kind == report.Month {
		start = p.Start.AddDate(0, -5, 0)
	}
	var out []report.Period
	for t := start; t.Before(end); t = t.AddDate(0, 1, 0) {
		out = append(out, report.PeriodOf(report.Month, t))
	}
	return out
}
