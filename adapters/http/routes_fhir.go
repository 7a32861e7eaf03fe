package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/fhir"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
	"github.com/oklog/ulid/v2"
)

// FHIRBase is where the FHIR R4 interface is mounted.
const FHIRBase = "/fhir/R4"

// MIMEFHIRJSON is FHIR's JSON media type; bulk export files are MIMEFHIRNDJSON.
const (
	MIMEFHIRJSON   = "application/fhir+json"
	MIMEFHIRNDJSON = "application/fhir+ndjson"
)

// HeaderPosition carries a FHIR write's log position (the /v1 commands' "position").
const HeaderPosition = "X-Allianced-Position"

// fhirState is the FHIR interface's own state: the index of current resources (folded
// from the log at each use) and the bulk exports of this process.
type fhirState struct {
	index    *fhir.Index
	exporter *fhir.Exporter

	// encoded keeps the JSON of resources read, by "Type/id", with the log position of
	// the aggregate state it was encoded from: a read of an unchanged aggregate writes
	// the stored bytes (a plan is read far more often than it changes).
	mu      sync.RWMutex
	encoded map[string]encodedResource
}

// encodedResource is a resource with its JSON, as of its aggregate's position.
type encodedResource struct {
	pos  eventstore.Position
	res  fhir.Resource
	vid  string
	body []byte
}

// maxEncoded bounds the cache of encoded resources (it starts over when full).
const maxEncoded = 50_000

func (f *fhirState) cached(key string, pos eventstore.Position) (encodedResource, bool) {
	f.mu.RLock()
	e, ok := f.encoded[key]
	f.mu.RUnlock()
	return e, ok && e.pos == pos
}

func (f *fhirState) keep(key string, e encodedResource) {
	f.mu.Lock()
	if len(f.encoded) >= maxEncoded {
		f.encoded = map[string]encodedResource{}
	}
	f.encoded[key] = e
	f.mu.Unlock()
}

func newFHIRState(store eventstore.Store, now func() time.Time) *fhirState {
	return &fhirState{index: fhir.NewIndex(store), encoded: map[string]encodedResource{},
		exporter: fhir.NewExporter(store, now, func() string { return strings.ToLower(ulid.Make().String()) })}
}

// fhirRoutes lists the FHIR R4 routes: per resource type search, read, history and
// vread; the inbound writes; the bulk export; the CapabilityStatement.
func (s *Server) fhirRoutes() []route {
	r := []route{
		{method: http.MethodGet, path: FHIRBase + "/metadata", op: "fhirMetadata", summary: "FHIR: the CapabilityStatement.", public: true, kind: respJSON, h: s.fhirMetadata},
		{method: http.MethodPost, path: FHIRBase + "/ServiceRequest", op: "fhirCreateServiceRequest", summary: "FHIR: a member's HIS creates a referral or a remote consult (ServiceRequest, category referral or consult).",
			roles: leadMember, kind: respJSON, h: s.fhirCreateServiceRequest},
		{method: http.MethodPost, path: FHIRBase + "/Task", op: "fhirCreateTask", summary: "FHIR: move a referral or consult through its life cycle (Task with focus ServiceRequest/{id}).",
			roles: leadMember, kind: respJSON, h: s.fhirUpdateTask},
		{method: http.MethodPut, path: FHIRBase + "/Task/:id", op: "fhirUpdateTask", summary: "FHIR: move a referral or consult through its life cycle (its Task).",
			roles: leadMember, kind: respJSON, h: s.fhirUpdateTask},
		{method: http.MethodGet, path: FHIRBase + "/$export", op: "fhirExportSystem", summary: "FHIR Bulk Data: export every resource (auditors); 202 with Content-Location.",
			roles: []string{RoleAuditor}, kind: respJSON, query: []param{{"_type", "string", "comma-separated resource types"}}, h: s.fhirExport},
		{method: http.MethodGet, path: FHIRBase + "/Group/:id/$export", op: "fhirExportGroup", summary: "FHIR Bulk Data: export an alliance's resources (its lead departments and auditors); 202 with Content-Location.",
			roles: []string{RoleLead, RoleAuditor}, kind: respJSON, query: []param{{"_type", "string", "comma-separated resource types"}}, h: s.fhirExport},
		{method: http.MethodGet, path: FHIRBase + "/_export/:job", op: "fhirExportStatus", summary: "FHIR Bulk Data: an export's status (202 with X-Progress while running, 200 with the manifest when done).",
			kind: respJSON, h: s.fhirExportStatus},
		{method: http.MethodDelete, path: FHIRBase + "/_export/:job", op: "fhirExportDelete", summary: "FHIR Bulk Data: cancel an export or delete its files (its owner, auditors included).",
			kind: respJSON, auditorMay: true, h: s.fhirExportDelete},
		{method: http.MethodGet, path: FHIRBase + "/_export/:job/:file", op: "fhirExportFile", summary: "FHIR Bulk Data: one NDJSON output file of a finished export, streamed.",
			kind: respJSON, h: s.fhirExportFile},
	}
	for _, typ := range fhir.Types {
		typ := typ
		r = append(r,
			route{method: http.MethodGet, path: FHIRBase + "/" + typ, op: "fhirSearch" + typ, summary: "FHIR: search " + typ + " (searchset Bundle, paged).", kind: respJSON,
				query: []param{{"_id", "string", "ids"}, {"patient", "string", "pseudonymous patient reference pr_..."}, {"status", "string", "FHIR status"},
					{"organization", "string", "Organization id"}, {"_lastUpdated", "string", "prefixed date"}, {"_count", "integer", "page size"}, {"_offset", "integer", "page start"}},
				h: func(c echo.Context, p *Claims) error { return s.fhirSearch(c, p, typ) }},
			route{method: http.MethodGet, path: FHIRBase + "/" + typ + "/:id", op: "fhirRead" + typ, summary: "FHIR: read a " + typ + ".", kind: respJSON,
				h: func(c echo.Context, p *Claims) error { return s.fhirRead(c, p, typ) }},
			route{method: http.MethodGet, path: FHIRBase + "/" + typ + "/:id/_history", op: "fhirHistory" + typ, summary: "FHIR: every version of a " + typ + " (history Bundle from the event log).", kind: respJSON,
				h: func(c echo.Context, p *Claims) error { return s.fhirHistory(c, p, typ, "") }},
			route{method: http.MethodGet, path: FHIRBase + "/" + typ + "/:id/_history/:vid", op: "fhirVread" + typ, summary: "FHIR: one version of a " + typ + " (vread).", kind: respJSON,
				h: func(c echo.Context, p *Claims) error { return s.fhirHistory(c, p, typ, c.Param("vid")) }},
		)
	}
	return r
}

// isFHIR says whether a request is on the FHIR interface (its errors are
// OperationOutcomes).
func isFHIR(c echo.Context) bool {
	p := c.Request().URL.Path
	return p == FHIRBase || strings.HasPrefix(p, FHIRBase+"/")
}

// fhirError writes an error as an OperationOutcome with the status of its code.
func (s *Server) fhirError(c echo.Context, body ErrorBody, status int) error {
	b, err := json.Marshal(fhir.Outcome(body.Code, body.Message))
	if err != nil {
		return err
	}
	return c.Blob(status, MIMEFHIRJSON, b)
}

// fhirJSON writes a resource (or Bundle) as application/fhir+json.
func fhirJSON(c echo.Context, status int, v any) error {
	b, err := fhir.Encode(v)
	if err != nil {
		return err
	}
	return fhirBlob(c, status, b)
}

// fhirBaseURL is the absolute base of the interface as the client reached it.
func fhirBaseURL(c echo.Context) string {
	return c.Scheme() + "://" + c.Request().Host + FHIRBase
}

func (s *Server) fhirMetadata(c echo.Context, _ *Claims) error {
	return fhirJSON(c, http.StatusOK, fhir.CapabilityStatement(fhirBaseURL(c), s.deps.Now()))
}

// fhirMayRead applies the /v1 read rule of the resource's source: the directory to
// anyone, an alliance's views to its lead, its admitted hospitals and auditors, a plan
// with mayReadPlan, a referral, consult or dispatch with partyOrAuditor, the access log
// to auditors.
func fhirMayRead(p *Claims, r fhir.Resource, f *fhir.Fold) error {
	a := r.Access
	switch a.Rule {
	case fhir.RuleAnyone:
		return nil
	case fhir.RuleAlliance:
		if readAll(p) {
			return nil
		}
		if agg := f.Get(fhir.KindAlliance, a.AllianceID); agg != nil {
			al := agg.State.(domain.Alliance)
			if al.LeadHospitalID == p.HospitalID || slices.ContainsFunc(al.Members, func(m domain.Member) bool { return m.HospitalID == p.HospitalID }) {
				return nil
			}
		}
		return domain.Errorf(domain.CodeForbidden, "only the alliance's lead, its member hospitals and auditors read an alliance's views")
	case fhir.RulePlan:
		return mayReadPlan(p, projections.PlanDoc{Responsible: a.Responsible, Lead: a.Lead, LeadDepartment: a.LeadDepartment, FormerHolders: a.Holders})
	case fhir.RuleParties:
		if len(a.Parties) == 2 {
			return partyOrAuditor(p, a.Parties[0], a.Parties[1])
		}
	case fhir.RuleAuditor:
		if readAll(p) {
			return nil
		}
		return domain.Errorf(domain.CodeForbidden, "only auditors read the access log")
	}
	return domain.Errorf(domain.CodeForbidden, "forbidden")
}

// fhirID validates a resource id (FHIR: [A-Za-z0-9-.]{1,64}).
func fhirID(id string) error {
	if id == "" || len(id) > 64 {
		return domain.Errorf(domain.CodeInvalidInput, "a FHIR id has 1 to 64 characters")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return domain.Errorf(domain.CodeInvalidInput, "a FHIR id has only letters, digits, '-' and '.'")
		}
	}
	return nil
}

func notFound(typ, id string) error {
	return domain.Errorf(domain.CodeNotFound, "%s/%s is not known", typ, id)
}

// current finds the current version of typ/id in the index (Provenance and AuditEvent
// come from their event), with the read authorisation applied.
func (s *Server) current(ctx context.Context, p *Claims, typ, id string) (encodedResource, error) {
	var out encodedResource
	err := s.fhir.index.View(ctx, func(f *fhir.Fold) error {
		switch typ {
		case "Provenance":
			stream, v, _, ok := fhir.ParseChangeID(id, false)
			if !ok {
				return notFound(typ, id)
			}
			cs, agg, err := fhir.Changes(ctx, s.deps.Store, stream, v)
			if err != nil {
				return err
			}
			if len(cs) == 0 || cs[len(cs)-1].Version != v {
				return notFound(typ, id)
			}
			r, ok := fhir.Provenance(cs[len(cs)-1])
			if !ok {
				return notFound(typ, id)
			}
			if err := s.mayReadAggregate(p, agg, f); err != nil {
				return err
			}
			out = encodedResource{res: r, vid: "1"}
			return nil
		case "AuditEvent":
			stream, v, i, ok := fhir.ParseChangeID(id, true)
			if !ok {
				return notFound(typ, id)
			}
			if !readAll(p) {
				return domain.Errorf(domain.CodeForbidden, "only auditors read the access log")
			}
			as, err := fhir.Audits(ctx, s.deps.Store, stream, v)
			if err != nil {
				return err
			}
			if i >= len(as) {
				return notFound(typ, id)
			}
			out = encodedResource{res: fhir.AuditEvent(as[i]), vid: "1"}
			return nil
		}
		key := typ + "/" + id
		for _, stream := range fhir.Locate(typ, id) {
			kind, aggID := fhir.KindOf(stream)
			agg := f.Get(kind, aggID)
			if agg == nil {
				continue
			}
			if e, ok := s.fhir.cached(key, agg.Position); ok {
				if err := fhirMayRead(p, e.res, f); err != nil {
					return err
				}
				out = e
				return nil
			}
			if r, ok := fhir.Find(agg, typ, id); ok {
				if err := fhirMayRead(p, r, f); err != nil {
					return err
				}
				body, err := fhir.Encode(r.Body)
				if err != nil {
					return err
				}
				out = encodedResource{pos: agg.Position, res: r, vid: agg.VersionID(), body: body}
				s.fhir.keep(key, out)
				return nil
			}
		}
		return notFound(typ, id)
	})
	if err == nil && out.body == nil {
		out.body, err = fhir.Encode(out.res.Body)
	}
	return out, err
}

// mayReadAggregate: a Provenance is read by those who read what its aggregate maps to.
func (s *Server) mayReadAggregate(p *Claims, agg *fhir.Agg, f *fhir.Fold) error {
	rs := fhir.ResourcesOf(agg)
	if len(rs) == 0 {
		if readAll(p) {
			return nil
		}
		return domain.Errorf(domain.CodeForbidden, "forbidden")
	}
	return fhirMayRead(p, rs[0], f)
}

func accessOutcome(err error) string {
	switch domain.ErrorCode(err) {
	case domain.CodeForbidden:
		return domain.AccessDenied
	case domain.CodeNotFound:
		return domain.AccessNotFound
	}
	return ""
}

func (s *Server) fhirRead(c echo.Context, p *Claims, typ string) error {
	id := c.Param("id")
	if err := fhirID(id); err != nil {
		return err
	}
	e, err := s.current(c.Request().Context(), p, typ, id)
	if err != nil {
		if o := accessOutcome(err); o != "" {
			s.recordAccess(p, fhir.AccessResource(typ, false), id, o)
		}
		return err
	}
	s.recordAccess(p, fhir.AccessResource(typ, false), id, domain.AccessAllowed)
	h := c.Response().Header()
	h.Set("ETag", `W/"`+e.vid+`"`)
	h.Set("Last-Modified", e.res.Updated.UTC().Format(http.TimeFormat))
	return fhirBlob(c, http.StatusOK, e.body)
}

// fhirBlob writes encoded FHIR JSON with its length (one write, not chunked).
func fhirBlob(c echo.Context, status int, b []byte) error {
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	return c.Blob(status, MIMEFHIRJSON, b)
}

func (s *Server) fhirHistory(c echo.Context, p *Claims, typ, vid string) error {
	id := c.Param("id")
	if err := fhirID(id); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var versions []fhir.Version
	switch typ {
	case "Provenance", "AuditEvent":
		// Records of the log itself: one version, never changed.
		e, err := s.current(ctx, p, typ, id)
		if err != nil {
			return err
		}
		versions = []fhir.Version{{Resource: e.res, Agg: fhir.Agg{Updated: e.res.Updated}}}
	default:
		// The authorisation is that of the current version (as a /v1 read).
		if _, err := s.current(ctx, p, typ, id); err != nil {
			if o := accessOutcome(err); o != "" {
				s.recordAccess(p, fhir.AccessResource(typ, false), id, o)
			}
			return err
		}
		var err error
		if versions, err = fhir.History(ctx, s.deps.Store, typ, id); err != nil {
			return err
		}
	}
	s.recordAccess(p, fhir.AccessResource(typ, false), id, domain.AccessAllowed)
	if vid != "" {
		for _, v := range versions {
			if v.Agg.VersionID() == vid {
				c.Response().Header().Set("ETag", `W/"`+vid+`"`)
				return fhirJSON(c, http.StatusOK, v.Resource.Body)
			}
		}
		return domain.Errorf(domain.CodeNotFound, "%s/%s has no version %s", typ, id, truncate(vid, 20))
	}
	b, err := fhir.HistoryBundle(fhirBaseURL(c), fhirBaseURL(c)+"/"+typ+"/"+id+"/_history", versions, s.deps.Now())
	if err != nil {
		return err
	}
	return fhirJSON(c, http.StatusOK, b)
}

func (s *Server) fhirSearch(c echo.Context, p *Claims, typ string) error {
	vals := c.QueryParams()
	q, err := fhir.ParseQuery(typ, vals)
	if err != nil {
		return err
	}
	if typ == "AuditEvent" && !readAll(p) {
		s.recordAccess(p, fhir.AccessResource(typ, true), "", domain.AccessDenied)
		return domain.Errorf(domain.CodeForbidden, "only auditors read the access log")
	}
	ctx := c.Request().Context()
	var matches []fhir.Resource
	err = s.fhir.index.View(ctx, func(f *fhir.Fold) error {
		switch typ {
		case "Provenance":
			if q.Target == "" {
				return domain.Errorf(domain.CodeInvalidInput, "search Provenance by target (Type/id); the bulk export has every Provenance")
			}
			ttyp, tid, _ := strings.Cut(q.Target, "/")
			for _, stream := range fhir.Locate(ttyp, tid) {
				cs, agg, err := fhir.Changes(ctx, s.deps.Store, stream, eventstore.End)
				if err != nil {
					return err
				}
				if len(cs) == 0 {
					continue
				}
				if err := s.mayReadAggregate(p, agg, f); err != nil {
					return err
				}
				for _, ch := range cs {
					if slices.Contains(ch.Targets, q.Target) {
						if r, ok := fhir.Provenance(ch); ok && q.Match(r) {
							matches = append(matches, r)
						}
					}
				}
			}
			return nil
		case "AuditEvent":
			for _, a := range f.Audits {
				if q.Entity != "" && fhir.AuditTarget(a) != q.Entity {
					continue
				}
				if r := fhir.AuditEvent(a); q.Match(r) {
					matches = append(matches, r)
				}
			}
			return nil
		}
		for _, kind := range fhir.KindsOf(typ) {
			for _, a := range f.OfKind(kind) {
				for _, r := range fhir.ResourcesOf(a) {
					if r.Type == typ && q.Match(r) && fhirMayRead(p, r, f) == nil {
						matches = append(matches, r)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.recordAccess(p, fhir.AccessResource(typ, true), strconv.Itoa(len(matches)), domain.AccessAllowed)
	total := len(matches)
	lo := min(q.Offset, total)
	hi := min(lo+q.Count, total)
	links := map[string]string{}
	page := func(off int) string {
		v := url.Values{}
		for k, vs := range vals {
			if k != "_offset" {
				v[k] = vs
			}
		}
		v.Set("_offset", strconv.Itoa(off))
		v.Set("_count", strconv.Itoa(q.Count))
		return fhirBaseURL(c) + "/" + typ + "?" + v.Encode()
	}
	links["self"] = page(lo)
	links["first"] = page(0)
	if hi < total && q.Count > 0 {
		links["next"] = page(hi)
	}
	if lo > 0 {
		links["previous"] = page(max(0, lo-q.Count))
	}
	b, err := fhir.Searchset(fhirBaseURL(c), matches[lo:hi], total, links, s.deps.Now())
	if err != nil {
		return err
	}
	return fhirJSON(c, http.StatusOK, b)
}

// fhirBody reads a FHIR JSON request body within the body limit.
func (s *Server) fhirBody(c echo.Context) ([]byte, error) {
	req := c.Request()
	if ct := strings.ToLower(req.Header.Get(echo.HeaderContentType)); ct != "" && !strings.HasPrefix(ct, MIMEFHIRJSON) && !strings.HasPrefix(ct, "application/json") {
		return nil, domain.Errorf(domain.CodeInvalidInput, "send the resource as application/fhir+json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, domain.Errorf(CodePayloadTooLarge, "the request body exceeds the limit of %d bytes", s.cfg.MaxBodyBytes)
		}
		if domain.ErrorCode(err) == CodeRequestTimeout {
			return nil, err
		}
		return nil, domain.Errorf(domain.CodeInvalidInput, "the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, domain.Errorf(domain.CodeInvalidInput, "send a FHIR resource")
	}
	return body, nil
}

// fhirCall is the use case's call for a FHIR write: the caller's actor, its
// Idempotency-Key bound to this request, If-Match.
func (s *Server) fhirCall(c echo.Context, p *Claims, body []byte) (app.Call, error) {
	call, err := s.call(c, p, leadMember)
	if err != nil {
		return call, err
	}
	if call.IdempotencyKey != "" {
		call.Operation = c.Request().Method + " " + c.Path()
		call.RequestDigest = requestDigest(call.Operation, c.ParamNames(), c.ParamValues(), body)
	}
	return call, nil
}

// fhirCreateServiceRequest turns an inbound ServiceRequest into a referral or a consult.
func (s *Server) fhirCreateServiceRequest(c echo.Context, p *Claims) error {
	body, err := s.fhirBody(c)
	if err != nil {
		return err
	}
	in, err := fhir.ParseServiceRequest(body)
	if err != nil {
		return err
	}
	if in.RequesterHospitalID != p.HospitalID {
		return domain.Errorf(domain.CodeForbidden, "a hospital asks only for itself: requester must be your own Organization")
	}
	call, err := s.fhirCall(c, p, body)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var out app.Outcome
	switch in.Category {
	case fhir.CategoryReferral:
		dir := "up"
		if p.Has(RoleLead) {
			// A lead department refers down to a member; a member refers up to the lead.
			if err := s.fhir.index.View(ctx, func(f *fhir.Fold) error {
				if a := f.Get(fhir.KindAlliance, in.AllianceID); a != nil && a.State.(domain.Alliance).LeadHospitalID == p.HospitalID {
					dir = "down"
				}
				return nil
			}); err != nil {
				return err
			}
		}
		out, err = s.deps.App.RequestReferral(ctx, call, app.RequestReferralInput{AllianceID: in.AllianceID, Direction: dir,
			ToHospitalID: in.ToHospitalID, ToDepartmentID: in.ToDepartmentID, Urgency: in.Urgency, Reason: in.Reason,
			ClinicalSummary: in.Note, PatientRef: in.PatientRef, MedicalRecordNumber: in.MRN, PractitionerID: in.PractitionerID, PlanID: in.PlanID})
	case fhir.CategoryDiagnostic:
		out, err = s.deps.App.SubmitDiagnostic(ctx, call, app.SubmitDiagnosticInput{CentreID: in.CentreID, Modality: in.Specialty,
			ClinicalQuestion: nonEmptyStr(in.Reason, in.Note), Urgency: in.Urgency, PatientRef: in.PatientRef, MedicalRecordNumber: in.MRN})
	case fhir.CategoryConsult:
		if !p.Has(RoleMember) {
			return domain.Errorf(domain.CodeForbidden, "a member hospital asks for a consult")
		}
		call.Actor.Role = RoleMember
		out, err = s.deps.App.RequestConsult(ctx, call, app.RequestConsultInput{AllianceID: in.AllianceID, Specialty: in.Specialty,
			Urgency: in.Urgency, Question: nonEmptyStr(in.Reason, in.Note), ConsentRef: in.ConsentRef, PatientRef: in.PatientRef, MedicalRecordNumber: in.MRN})
	}
	if err != nil {
		return err
	}
	return s.fhirWritten(c, p, "ServiceRequest", out, http.StatusCreated)
}

func nonEmptyStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fhirWritten answers a write with the resource as it now stands (read from the log
// at the write's position), Location and ETag.
func (s *Server) fhirWritten(c echo.Context, p *Claims, typ string, out app.Outcome, status int) error {
	s.sawPosition(uint64(out.Position))
	e, err := s.current(c.Request().Context(), p, typ, out.ID)
	if err != nil {
		return err
	}
	vid := strconv.FormatUint(out.Version+1, 10)
	h := c.Response().Header()
	h.Set("Location", fhirBaseURL(c)+"/"+typ+"/"+out.ID+"/_history/"+vid)
	h.Set("ETag", `W/"`+vid+`"`)
	// The write's log position: /v1 reads with ?minPosition= of it see the write.
	h.Set(HeaderPosition, strconv.FormatUint(uint64(out.Position), 10))
	if out.Replayed {
		h.Set("Idempotent-Replayed", "true")
	}
	return fhirBlob(c, status, e.body)
}

// fhirUpdateTask moves the referral or consult a Task focuses on to the status the Task
// asks for: the transition is the /v1 command of the same name, with its authority
// checks; asking for the status it already has changes nothing (200).
func (s *Server) fhirUpdateTask(c echo.Context, p *Claims) error {
	body, err := s.fhirBody(c)
	if err != nil {
		return err
	}
	in, err := fhir.ParseTask(body)
	if err != nil {
		return err
	}
	if id := c.Param("id"); id != "" && id != in.RequestID {
		return domain.Errorf(domain.CodeInvalidInput, "the Task's id is its ServiceRequest's: PUT Task/%s needs focus ServiceRequest/%s", truncate(id, 40), truncate(id, 40))
	}
	call, err := s.fhirCall(c, p, body)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, err := s.current(ctx, p, "Task", in.RequestID)
	if err != nil {
		return err
	}
	var ref domain.Referral
	var con domain.Consult
	var dia domain.Diagnostic
	isReferral, isDiagnostic := false, false
	if err := s.fhir.index.View(ctx, func(f *fhir.Fold) error {
		if a := f.Get(fhir.KindReferral, in.RequestID); a != nil {
			ref, isReferral = a.State.(domain.Referral), true
		} else if a := f.Get(fhir.KindConsult, in.RequestID); a != nil {
			con = a.State.(domain.Consult)
		} else if a := f.Get(fhir.KindDiagnostic, in.RequestID); a != nil {
			dia, isDiagnostic = a.State.(domain.Diagnostic), true
		}
		return nil
	}); err != nil {
		return err
	}
	if cur.res.Status == in.Status && (in.Business == "" || in.Business == ref.Status || in.Business == con.Status || in.Business == dia.Status) {
		return fhirBlob(c, http.StatusOK, cur.body)
	}
	id := in.RequestID
	var out app.Outcome
	a := s.deps.App
	refused := domain.Errorf(domain.CodeForbiddenTransition, "this Task status (%s, businessStatus %q) is not a step this request can take now", in.Status, truncate(in.Business, 20))
	if isDiagnostic {
		// The requester withdraws a study; reading and reporting are the centre's, on /v1.
		if in.Status != "cancelled" {
			return refused
		}
		out, err = a.CancelDiagnostic(ctx, call, app.CancelDiagnosticInput{RequestID: id, Reason: in.Reason})
	} else if isReferral {
		switch {
		case in.Status == "accepted":
			arr := in.ExpectedArrival
			if arr.IsZero() {
				arr = ref.AdmitDeadline
			}
			out, err = a.AcceptReferral(ctx, call, app.AcceptReferralInput{ReferralID: id, DepartmentID: in.DepartmentID, ExpectedArrival: arr})
		case in.Status == "rejected":
			out, err = a.DeclineReferral(ctx, call, app.DeclineReferralInput{ReferralID: id, Reason: in.Reason, Alternative: in.Note})
		case in.Status == "in-progress" && (in.Business == "" || in.Business == domain.ReferralStatusArrived) && ref.Status == domain.ReferralStatusAccepted:
			out, err = a.RecordReferralArrival(ctx, call, app.ReferralInput{ReferralID: id})
		case in.Status == "in-progress" && (in.Business == domain.ReferralStatusAdmitted || (in.Business == "" && ref.Status == domain.ReferralStatusArrived)):
			out, err = a.AdmitReferral(ctx, call, app.ReferralInput{ReferralID: id})
		case in.Status == "completed":
			out, err = a.CompleteReferral(ctx, call, app.CompleteReferralInput{ReferralID: id, Summary: in.Note})
		case in.Status == "cancelled":
			out, err = a.CancelReferral(ctx, call, app.CancelReferralInput{ReferralID: id, Reason: in.Reason})
		case in.Status == "failed" && (in.Business == "" || in.Business == domain.ReferralStatusNoShow):
			out, err = a.RecordNoShow(ctx, call, app.NoShowInput{ReferralID: id, Note: in.Note})
		default:
			return refused
		}
	} else {
		switch {
		case in.Status == "in-progress" || in.Status == "accepted":
			out, err = a.AcceptConsult(ctx, call, app.AcceptConsultInput{ConsultID: id})
		case in.Status == "rejected":
			out, err = a.DeclineConsult(ctx, call, app.ConsultReasonInput{ConsultID: id, Reason: in.Reason})
		case in.Status == "cancelled":
			out, err = a.CancelConsult(ctx, call, app.ConsultReasonInput{ConsultID: id, Reason: in.Reason})
		case in.Status == "completed" && con.Status == domain.ConsultStatusAccepted:
			out, err = a.GiveOpinion(ctx, call, app.OpinionInput{ConsultID: id, Opinion: domain.Opinion{Text: in.Note}})
		case in.Status == "completed" && con.Status == domain.ConsultStatusAnswered:
			out, err = a.CloseConsult(ctx, call, app.CloseConsultInput{ConsultID: id, Outcome: in.Note})
		default:
			return refused
		}
	}
	if err != nil {
		return err
	}
	return s.fhirWritten(c, p, "Task", out, http.StatusOK)
}

// fhirExport kicks a bulk export off: the whole system (auditors) or one alliance's
// resources (Group/{allianceId}: its lead departments and auditors).
func (s *Server) fhirExport(c echo.Context, p *Claims) error {
	if f := c.QueryParam("_outputFormat"); f != "" && !slices.Contains([]string{"application/fhir+ndjson", "application/ndjson", "ndjson"}, f) {
		return domain.Errorf(domain.CodeInvalidInput, "_outputFormat must be application/fhir+ndjson")
	}
	if c.QueryParam("_since") != "" {
		return domain.Errorf(domain.CodeInvalidInput, "_since is not supported: an export is of the whole log")
	}
	types, err := fhir.ParseTypes(c.QueryParam("_type"))
	if err != nil {
		return err
	}
	group := c.Param("id")
	if group != "" {
		if err := domain.ValidateID("allianceId", group); err != nil {
			return err
		}
		if !readAll(p) {
			allowed := false
			if err := s.fhir.index.View(c.Request().Context(), func(f *fhir.Fold) error {
				if a := f.Get(fhir.KindAlliance, group); a != nil {
					al := a.State.(domain.Alliance)
					allowed = al.LeadHospitalID == p.HospitalID && (slices.Contains(al.LeadDepartments, p.DepartmentID) || al.LeadDepartmentID == p.DepartmentID)
				}
				return nil
			}); err != nil {
				return err
			}
			if !allowed {
				s.recordAccess(p, "fhir-export", group, domain.AccessDenied)
				return domain.Errorf(domain.CodeForbidden, "only the alliance's lead departments and auditors export it")
			}
		}
	} else if !readAll(p) {
		return domain.Errorf(domain.CodeForbidden, "only auditors export everything")
	}
	s.recordAccess(p, "fhir-export", group, domain.AccessAllowed)
	job, err := s.fhir.exporter.Start(fhir.ExportRequest{Owner: exportOwner(p), Group: group, Types: types, Request: c.Request().URL.String()})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Location", fhirBaseURL(c)+"/_export/"+job.ID)
	return fhirJSON(c, http.StatusAccepted, fhir.Info("export "+job.ID+" started; poll its Content-Location"))
}

func exportOwner(p *Claims) string { return p.HospitalID + "/" + p.DepartmentID + "/" + p.Subject }

// exportJob returns the caller's own export job; another caller's is not found.
func (s *Server) exportJob(c echo.Context, p *Claims) (*fhir.ExportJob, error) {
	j, ok := s.fhir.exporter.Job(c.Param("job"))
	if !ok || j.Req.Owner != exportOwner(p) {
		return nil, domain.Errorf(domain.CodeNotFound, "no such export")
	}
	return j, nil
}

func (s *Server) fhirExportStatus(c echo.Context, p *Claims) error {
	j, err := s.exportJob(c, p)
	if err != nil {
		return err
	}
	progress, done, jerr, tt, files := j.Status()
	if !done {
		c.Response().Header().Set("X-Progress", progress)
		c.Response().Header().Set("Retry-After", "1")
		return c.NoContent(http.StatusAccepted)
	}
	if jerr != nil {
		s.log.Warn("bulk export failed", "job", j.ID, "err", jerr.Error())
		return domain.Errorf(domain.CodeUnavailable, "the export failed (the event store could not be read); start another")
	}
	for i := range files {
		files[i].URL = fhirBaseURL(c) + "/_export/" + j.ID + "/" + files[i].Type + ".ndjson"
	}
	if files == nil {
		files = []fhir.ExportFile{}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"transactionTime": tt.UTC().Format(time.RFC3339Nano), "request": j.Req.Request, "requiresAccessToken": true,
		"output": files, "error": []any{},
	})
}

func (s *Server) fhirExportDelete(c echo.Context, p *Claims) error {
	j, err := s.exportJob(c, p)
	if err != nil {
		return err
	}
	s.fhir.exporter.Delete(j.ID)
	return c.NoContent(http.StatusAccepted)
}

func (s *Server) fhirExportFile(c echo.Context, p *Claims) error {
	j, err := s.exportJob(c, p)
	if err != nil {
		return err
	}
	typ, ok := strings.CutSuffix(c.Param("file"), ".ndjson")
	path, found := j.File(typ)
	if !ok || !found {
		return domain.Errorf(domain.CodeNotFound, "no such export file")
	}
	f, err := os.Open(path)
	if err != nil {
		return domain.Errorf(domain.CodeNotFound, "the export's files were deleted")
	}
	defer f.Close()
	return c.Stream(http.StatusOK, MIMEFHIRNDJSON, f)
}
