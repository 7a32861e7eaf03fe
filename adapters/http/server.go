// Package httpapi is the service's HTTP adapter on echo: every command and query of the
// domain under /v1, bearer-JWT authentication with role checks, one error-code to status
// map, idempotent commands with If-Match, Server-Sent Events for live plan views, audit
// reads of the log, health, Prometheus metrics and an OpenAPI document of the routes.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// Config tunes the HTTP layer; zero values take the defaults named on each field.
type Config struct {
	Auth AuthConfig
	// MaxBodyBytes limits a request body (default 1 MiB); a larger one is 413.
	MaxBodyBytes int64
	// ReadyMaxLag is the projection lag (events) above which /readyz fails (default 10,000).
	ReadyMaxLag uint64
	// SSEHeartbeat is the interval of comment lines on idle event streams (default 15s).
	SSEHeartbeat time.Duration
	// RequestTimeout bounds a command or query (default 30s; streams are not bounded).
	RequestTimeout time.Duration
	// BodyReadTimeout bounds the time a request body may take to arrive (default 30s);
	// a slower body is 408 request_timeout and its connection is closed.
	BodyReadTimeout time.Duration
	// Logger receives structured logs (default slog.Default()). Bodies and patient data
	// are never logged; successful requests are logged at debug level.
	Logger *slog.Logger
}

// LagReporter reports how far the projections are behind the log; *projections.Projector
// implements it.
type LagReporter interface {
	Lag(ctx context.Context) (projections.Lag, error)
}

// Deps are the collaborators the server drives.
type Deps struct {
	App     *app.App         // the use cases (required)
	Store   eventstore.Store // audit reads and readiness (defaults to App.Store())
	Queries Queries          // the read models (required for queries)
	Lag     LagReporter      // projection lag for /readyz and /metrics (optional)
	Access  *app.AccessLog   // who-read-what log (optional)
	Metrics *Metrics         // defaults to NewMetrics()
	Now     func() time.Time // clock for query parameters like "now" (default time.Now)
}

// Server is the HTTP API. Build it with New and serve Handler().
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	verifier *Verifier
	e        *echo.Echo
	routes   []route
	metrics  *Metrics
	done     chan struct{} // closed by Shutdown: streams end
	stopOnce sync.Once
	// head is the highest log position this server knows the log reaches (see
	// checkMinPosition).
	head atomic.Uint64
	// fhir is the FHIR R4 interface's index and exports (routes_fhir.go).
	fhir *fhirState
}

// New builds the server and its routes. It fails only on a bad auth configuration.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.ReadyMaxLag == 0 {
		cfg.ReadyMaxLag = 10_000
	}
	if cfg.SSEHeartbeat <= 0 {
		cfg.SSEHeartbeat = 15 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if deps.App == nil {
		return nil, fmt.Errorf("httpapi: Deps.App is required")
	}
	if deps.Store == nil {
		deps.Store = deps.App.Store()
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	v, err := NewVerifier(cfg.Auth)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, log: cfg.Logger, verifier: v, metrics: deps.Metrics, done: make(chan struct{})}
	s.metrics.registerLag(deps.Lag)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.observe, s.bodyDeadline)
	s.e = e
	s.fhir = newFHIRState(deps.Store, deps.Now)
	s.routes = s.table()
	for _, r := range s.routes {
		e.Add(r.method, r.path, s.wrap(r))
	}
	return s, nil
}

// Handler returns the http.Handler serving every route.
func (s *Server) Handler() http.Handler { return s.e }

// Echo returns the echo instance (for tests that walk its routes).
func (s *Server) Echo() *echo.Echo { return s.e }

// Shutdown ends open event streams; call it before http.Server.Shutdown so that
// long-lived SSE responses do not hold the shutdown up.
func (s *Server) Shutdown() {
	s.stopOnce.Do(func() { close(s.done) })
}

// route is one endpoint: the echo registration, who may call it, and what the OpenAPI
// document says about it. The same table registers the routes and builds the document.
type route struct {
	method, path string
	op           string // operationId
	summary      string
	roles        []string // the caller needs one of these; empty: any authenticated caller
	public       bool     // no token needed
	body         any      // a value of the request body type (commands), or nil
	resp         any      // a value of the response type (queries), or nil: documented in OpenAPI
	query        []param  // query parameters
	kind         respKind
	// bounded says the handler bounds its own waits (the plan read: the queries' own
	// read-your-writes timeout), so wrap adds no request timeout (saves a timer per read).
	bounded bool
	// auditorMay lets an auditor call a non-GET route (deleting its own bulk export:
	// it changes no fact).
	auditorMay bool
	h          func(c echo.Context, p *Claims) error
}

type param struct {
	name, typ, desc string
}

type respKind int

const (
	respCommand respKind = iota // {id, version, position}
	respJSON                    // a JSON document
	respStream                  // text/event-stream
	respText                    // text/plain (metrics)
	respCSV                     // text/csv (the alliance report)
	respHTML                    // text/html (the alliance report's printable page)
)

// principalKey is where wrap stores the verified claims in the echo context.
const principalKey = "allianced.claims"

// wrap applies the route's authentication and authorization, the check of its
// ?minPosition= and the request timeout.
func (s *Server) wrap(r route) echo.HandlerFunc {
	atPosition := readsAtPosition(r)
	return func(c echo.Context) error {
		if r.public {
			return r.h(c, nil)
		}
		tok, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="allianced"`)
			return domain.Errorf(domain.CodeUnauthenticated, "send an Authorization: Bearer token")
		}
		p, err := s.verifier.Verify(tok)
		if err != nil {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="allianced", error="invalid_token"`)
			return err
		}
		c.Set(principalKey, p)
		if r.method != http.MethodGet && p.AuditorOnly() && !r.auditorMay {
			return domain.Errorf(domain.CodeForbidden, "an auditor reads the history and changes nothing")
		}
		if len(r.roles) > 0 && !hasAny(p, r.roles) {
			return domain.Errorf(domain.CodeForbidden, "this needs one of the roles %v", r.roles)
		}
		if atPosition {
			if err := s.checkMinPosition(c); err != nil {
				return err
			}
		}
		if r.kind == respStream || r.bounded {
			return r.h(c, p)
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return r.h(c, p)
	}
}

func hasAny(p *Claims, roles []string) bool {
	for _, r := range roles {
		if p.Has(r) {
			return true
		}
	}
	return false
}

// actingRole picks the role the caller acts under for a route (recorded in envelopes).
func actingRole(p *Claims, roles []string) string {
	for _, r := range roles {
		if p.Has(r) {
			return r
		}
	}
	if len(p.Roles) > 0 {
		return p.Roles[0]
	}
	return ""
}

// observe is the outermost middleware: request id, panic recovery, metrics and the
// request log line.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		start := time.Now()
		req, res := c.Request(), c.Response()
		rid := req.Header.Get(echo.HeaderXRequestID)
		if !validRequestID(rid) {
			rid = newRequestID()
		}
		res.Header().Set(echo.HeaderXRequestID, rid)
		c.Set(echo.HeaderXRequestID, rid)
		defer func() {
			if rec := recover(); rec != nil {
				s.log.Error("panic serving request", "request_id", rid, "route", c.Path(), "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", rec)
			}
			if err != nil {
				c.Error(err)
				err = nil
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			status := res.Status
			s.metrics.observeRequest(route, req.Method, status, d)
			level := slog.LevelDebug
			switch {
			case status >= 500:
				level = slog.LevelError
			case status >= 400:
				level = slog.LevelInfo
			}
			if s.log.Enabled(req.Context(), level) {
				s.log.LogAttrs(req.Context(), level, "request", slog.String("request_id", rid), slog.String("method", req.Method),
					slog.String("route", route), slog.Int("status", status), slog.Duration("duration", d))
			}
		}()
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

// requestIDPrefix makes the generated request ids of this process distinct from other
// processes' (replicas, restarts); requestIDSeq numbers them within the process, so a
// request id costs no system call for randomness.
var (
	requestIDPrefix = func() string {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:]) + "-"
	}()
	requestIDSeq atomic.Uint64
)

func newRequestID() string {
	return requestIDPrefix + strconv.FormatUint(requestIDSeq.Add(1), 36)
}

func requestID(c echo.Context) string {
	if v, ok := c.Get(echo.HeaderXRequestID).(string); ok {
		return v
	}
	return ""
}
