package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/projections"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) healthz(c echo.Context, _ *Claims) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// DegradedReporter lists degraded view documents; *projections.Projector implements it.
type DegradedReporter interface {
	Degraded(ctx context.Context, limit int) ([]projections.Degradation, uint64, error)
}

// readyz answers 200 when the event store answers and the views have caught up with
// the log as it stood when they (re)started and are, since then, no more than
// ReadyMaxLag events behind; otherwise 503 with what is wrong. Degraded view documents
// are reported (how many, and the events that degraded the first few, without naming
// the documents: this endpoint needs no token) but do not make the service unready:
// every other view still serves, and a replica that is not ready would not mend them.
func (s *Server) readyz(c echo.Context, _ *Claims) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	out := map[string]any{"status": "ready"}
	status := http.StatusOK
	head, err := s.deps.Store.Head(ctx)
	if err != nil {
		s.log.Warn("readyz: event store", "err", err)
		out["status"], out["eventStore"] = "unavailable", "unreachable"
		status = http.StatusServiceUnavailable
	} else {
		out["eventStore"], out["head"] = "ok", head
	}
	if s.deps.Lag != nil {
		lag, err := s.deps.Lag.Lag(ctx)
		switch {
		case err != nil:
			s.log.Warn("readyz: projection lag", "err", err)
			out["status"], out["projections"] = "unavailable", "unreachable"
			status = http.StatusServiceUnavailable
		case lag.CatchingUp:
			out["status"], out["projections"], out["lag"] = "unavailable", "catching_up", lag
			status = http.StatusServiceUnavailable
		case lag.Events > s.cfg.ReadyMaxLag:
			out["status"], out["projections"], out["lag"] = "unavailable", "behind", lag
			status = http.StatusServiceUnavailable
		default:
			out["projections"], out["lag"] = "ok", lag
		}
		if err == nil && lag.Degraded > 0 {
			out["degraded"] = s.degradedSummary(ctx, lag.Degraded)
		}
	}
	return c.JSON(status, out)
}

// degradedSummary is /readyz's account of the degraded documents.
func (s *Server) degradedSummary(ctx context.Context, n uint64) map[string]any {
	out := map[string]any{"documents": n}
	dr, ok := s.deps.Lag.(DegradedReporter)
	if !ok {
		return out
	}
	list, _, err := dr.Degraded(ctx, 10)
	if err != nil {
		return out
	}
	events := make([]map[string]any, 0, len(list))
	for _, d := range list {
		events = append(events, map[string]any{"position": d.Position, "eventType": d.EventType, "reason": d.Reason})
	}
	out["events"] = events
	return out
}

func (s *Server) metricsHandler(c echo.Context, _ *Claims) error {
	promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}
