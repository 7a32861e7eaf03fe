package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) healthz(c echo.Context, _ *Claims) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the event store answers and the projections are no more than
// ReadyMaxLag events behind; otherwise 503 with what is wrong.
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
		case lag.Events > s.cfg.ReadyMaxLag:
			out["status"], out["projections"], out["lag"] = "unavailable", "behind", lag
			status = http.StatusServiceUnavailable
		default:
			out["projections"], out["lag"] = "ok", lag
		}
	}
	return c.JSON(status, out)
}

func (s *Server) metricsHandler(c echo.Context, _ *Claims) error {
	promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}
