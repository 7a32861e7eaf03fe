package httpapi

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/domain"
)

// bodyDeadline bounds the time a request's body may take to arrive
// (Config.BodyReadTimeout), so a client sending its body at one byte a second cannot
// hold a connection and a handler forever (slow loris): once the deadline passes, the
// read fails, the request answers 408 request_timeout and the server closes the
// connection. The deadline is set on the connection for this request only, through
// http.ResponseController, and lifted as soon as the body has been read, so a command
// that takes longer than the deadline after its body arrived is not cut short. It is
// not http.Server.ReadTimeout: that one also ends long-lived responses (the plan's
// Server-Sent Events), whose connection it would close once the timeout passed.
func (s *Server) bodyDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
			return next(c)
		}
		rc := http.NewResponseController(c.Response())
		if err := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyReadTimeout)); err != nil {
			return next(c) // not a real connection (an in-memory test recorder)
		}
		req.Body = &deadlineBody{ReadCloser: req.Body, rc: rc, timeout: s.cfg.BodyReadTimeout}
		return next(c)
	}
}

// deadlineBody is a request body read under a connection read deadline: a read that
// hits the deadline returns a request_timeout error, and the end of the body lifts the
// deadline (the server keeps reading the connection in the background while the
// handler runs, to notice a client that goes away, and that read must not time out;
// net/http lifts it too when it starts that read, this makes sure).
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	done    bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == nil || b.done {
		return n, err
	}
	b.done = true
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, domain.Errorf(CodeRequestTimeout, "the request body did not arrive within %s", b.timeout)
	}
	_ = b.rc.SetReadDeadline(time.Time{})
	return n, err
}

// readsAtPosition reports whether a route takes ?minPosition=.
func readsAtPosition(r route) bool {
	for _, q := range r.query {
		if q.name == minPosParam.name {
			return true
		}
	}
	return false
}

// checkMinPosition refuses at once, with 400 position_beyond_head, a ?minPosition= that
// lies beyond the end of the log: no view will ever reach it (a position from another
// deployment, a restored backup, or a typo), so waiting for it would only end in a
// timeout. Positions up to the highest one this server has seen (commands it answered,
// earlier checks) pass without asking the store; a higher one costs one Head call. If
// the store cannot say, the read goes on to its bounded wait as before (the views may
// well have the position). A malformed value is left to the handler, which reports it.
func (s *Server) checkMinPosition(c echo.Context) error {
	v := c.QueryParam("minPosition")
	if v == "" {
		return nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n <= s.head.Load() {
		return nil
	}
	head, err := s.deps.Store.Head(c.Request().Context())
	if err != nil {
		s.log.Warn("minPosition not checked against the log's head", "request_id", requestID(c), "err", err)
		return nil
	}
	s.sawPosition(uint64(head))
	if n > uint64(head) {
		return domain.Errorf(CodePositionBeyondHead, "minPosition %d is beyond the end of the log; send a position that a command returned", n)
	}
	return nil
}

// sawPosition records that the log reaches at least pos.
func (s *Server) sawPosition(pos uint64) {
	for {
		cur := s.head.Load()
		if pos <= cur || s.head.CompareAndSwap(cur, pos) {
			return
		}
	}
}
