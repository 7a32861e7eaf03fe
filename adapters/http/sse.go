package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// streamPlan pushes every change of a plan's view as a Server-Sent Event: id is the
// view's global position, data the plan JSON. It watches the plan before it reads the
// current view, so no change falls between the two; a reconnecting client sends
// Last-Event-ID and gets the current view at once only if it is newer than that. Idle
// streams get a comment line every SSEHeartbeat; the stream ends when the client goes
// away, the server shuts down, the caller may no longer read the plan (a final
// "revoked" event says so), or the token it was opened with expires: a stream outlives
// no token, so a final "expired" event tells the client to reconnect with a fresh token
// and Last-Event-ID (it misses nothing).
func (s *Server) streamPlan(c echo.Context, p *Claims) error {
	if err := s.requireQueries(); err != nil {
		return err
	}
	id, err := pathID(c, "planId")
	if err != nil {
		return err
	}
	last, err := lastEventID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	changes, stop, err := s.deps.Queries.WatchPlan(ctx, id)
	if err != nil {
		return err
	}
	defer stop()
	doc, err := s.deps.Queries.Plan(ctx, id, 0)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeNotFound {
			s.recordAccess(p, "plan-stream", id, domain.AccessNotFound)
		}
		return err
	}
	if err := mayReadPlan(p, doc); err != nil {
		s.recordAccess(p, "plan-stream", id, domain.AccessDenied)
		return err
	}
	s.recordAccess(p, "plan-stream", id, domain.AccessAllowed)

	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	res.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(res.Writer)
	var buf bytes.Buffer
	flush := func() error {
		if _, err := res.Write(buf.Bytes()); err != nil {
			return err
		}
		buf.Reset()
		return rc.Flush()
	}
	send := func(d projections.PlanDoc) error {
		if uint64(d.Position) <= last {
			return nil
		}
		buf.WriteString("id: ")
		buf.WriteString(strconv.FormatUint(uint64(d.Position), 10))
		buf.WriteString("\nevent: plan\n")
		for _, line := range bytes.Split(d.JSON, []byte("\n")) {
			buf.WriteString("data: ")
			buf.Write(line)
			buf.WriteByte('\n')
		}
		buf.WriteByte('\n')
		last = uint64(d.Position)
		return flush()
	}
	buf.WriteString("retry: 2000\n\n")
	if err := send(doc); err != nil {
		return nil
	}
	if err := flush(); err != nil {
		return nil
	}
	beat := time.NewTicker(s.cfg.SSEHeartbeat)
	defer beat.Stop()
	expiry := time.NewTimer(s.verifier.validFor(p))
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case <-expiry.C:
			buf.WriteString(expiredEvent)
			_ = flush()
			return nil
		case <-beat.C:
			buf.WriteString(": heartbeat\n\n")
			if err := flush(); err != nil {
				return nil
			}
		case pos, ok := <-changes:
			if !ok {
				return nil // the watch ended (queries closed); the client reconnects
			}
			if uint64(pos) <= last {
				continue
			}
			d, err := s.deps.Queries.Plan(ctx, id, pos)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("plan stream: read failed; ending the stream so the client resumes", "request_id", requestID(c), "code", domain.ErrorCode(err))
				}
				return nil
			}
			if mayReadPlan(p, d) != nil {
				buf.WriteString("event: revoked\ndata: {\"code\":\"forbidden\"}\n\n")
				_ = flush()
				return nil
			}
			if err := send(d); err != nil {
				return nil
			}
		}
	}
}

// expiredEvent is the last event of a stream whose token expired.
const expiredEvent = "event: expired\ndata: {\"code\":\"token_expired\",\"message\":\"the bearer token expired; reconnect with a fresh token and Last-Event-ID\"}\n\n"

// lastEventID reads the resume point of a reconnecting SSE client (the header, or the
// lastEventId query parameter for clients that cannot set headers).
func lastEventID(c echo.Context) (uint64, error) {
	v := strings.TrimSpace(c.Request().Header.Get("Last-Event-ID"))
	if v == "" {
		v = c.QueryParam("lastEventId")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, domain.Errorf(domain.CodeInvalidInput, "Last-Event-ID must be a position sent by this stream")
	}
	return n, nil
}
