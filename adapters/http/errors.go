package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// Codes of the HTTP layer itself, beside the domain's: a body over the configured limit,
// a method the path does not serve, a body that did not arrive in time, a minPosition
// the log has not reached.
const (
	CodePayloadTooLarge    domain.Code = "payload_too_large"
	CodeMethodNotAllowed   domain.Code = "method_not_allowed"
	CodeRequestTimeout     domain.Code = "request_timeout"
	CodePositionBeyondHead domain.Code = "position_beyond_head"
)

// statusByCode is the one map from error codes to HTTP statuses. not_member is 422: the
// caller is authenticated and may act in principle, but the alliance's current state
// (the hospital is not an active member) makes the request unprocessable; 403 stays
// reserved for what the caller's token or department may never do.
var statusByCode = map[domain.Code]int{
	domain.CodeInvalidInput:         http.StatusBadRequest,
	domain.CodeUnauthenticated:      http.StatusUnauthorized,
	domain.CodeForbidden:            http.StatusForbidden,
	domain.CodeNotFound:             http.StatusNotFound,
	domain.CodeConflict:             http.StatusConflict,
	domain.CodeAlreadyExists:        http.StatusConflict,
	domain.CodeForbiddenTransition:  http.StatusConflict,
	domain.CodeScheduleOverlap:      http.StatusConflict,
	domain.CodeNotMember:            http.StatusUnprocessableEntity,
	domain.CodeIdempotencyKeyReused: http.StatusUnprocessableEntity,
	domain.CodeTimeout:              http.StatusGatewayTimeout,
	domain.CodeUnavailable:          http.StatusServiceUnavailable,
	domain.CodeInternal:             http.StatusInternalServerError,
	CodePayloadTooLarge:             http.StatusRequestEntityTooLarge,
	CodeMethodNotAllowed:            http.StatusMethodNotAllowed,
	projections.CodeViewDegraded:    http.StatusServiceUnavailable,
	projections.CodeViewsCatchingUp: http.StatusServiceUnavailable,
	CodeRequestTimeout:              http.StatusRequestTimeout,
	CodePositionBeyondHead:          http.StatusBadRequest,
	domain.CodeNoCapacity:           http.StatusConflict,
}

// retryAfterSeconds is the Retry-After of a read answered while the views catch up: a
// catch-up applies some hundred thousand events a second, so a client asking again
// after a second usually finds its view.
const retryAfterSeconds = "1"

// StatusOf returns the HTTP status of an error code (500 for a code not in the map).
func StatusOf(code domain.Code) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Code    domain.Code    `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// errorBody turns err into its response: code, a message safe to show, details.
func errorBody(err error) ErrorBody {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return echoErrorBody(he)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ErrorBody{Code: domain.CodeTimeout, Message: "the request took too long"}
	case errors.Is(err, context.Canceled):
		return ErrorBody{Code: domain.CodeUnavailable, Message: "the request was cancelled"}
	}
	code := domain.ErrorCode(err)
	body := ErrorBody{Code: code, Message: domain.ErrorMessage(err)}
	var de *domain.Error
	if errors.As(err, &de) && len(de.Details) > 0 {
		body.Details = de.Details
	}
	var wrong *eventstore.WrongExpectedVersionError
	if errors.As(err, &wrong) {
		body.Message = "the resource changed since you read it; reload and retry"
		var current any // null when the stream does not exist yet
		if wrong.Exists {
			current = wrong.Actual
		}
		body.Details = map[string]any{"currentVersion": current}
	}
	var unavail *eventstore.UnavailableError
	if errors.As(err, &unavail) {
		body.Message = "the event store cannot be reached; retry later"
	}
	if code == domain.CodeInternal {
		body.Message = domain.ErrorMessage(err) // generic; the cause is logged
		body.Details = nil
	}
	return body
}

func echoErrorBody(he *echo.HTTPError) ErrorBody {
	switch he.Code {
	case http.StatusNotFound:
		return ErrorBody{Code: domain.CodeNotFound, Message: "no such route"}
	case http.StatusMethodNotAllowed:
		return ErrorBody{Code: CodeMethodNotAllowed, Message: "this method is not allowed on this route"}
	case http.StatusRequestEntityTooLarge:
		return ErrorBody{Code: CodePayloadTooLarge, Message: "the request body is too large"}
	case http.StatusUnauthorized:
		return ErrorBody{Code: domain.CodeUnauthenticated, Message: "authentication is required"}
	case http.StatusForbidden:
		return ErrorBody{Code: domain.CodeForbidden, Message: "forbidden"}
	case http.StatusServiceUnavailable:
		return ErrorBody{Code: domain.CodeUnavailable, Message: "the service is unavailable"}
	}
	if he.Code >= 400 && he.Code < 500 {
		return ErrorBody{Code: domain.CodeInvalidInput, Message: http.StatusText(he.Code)}
	}
	return ErrorBody{Code: domain.CodeInternal, Message: domain.ErrorMessage(errors.New("internal"))}
}

// handleError is echo's error handler: it writes the JSON error and logs internal ones
// with their cause (never the request body).
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	body := errorBody(err)
	status := StatusOf(body.Code)
	if body.Code == domain.CodeInternal {
		s.log.LogAttrs(c.Request().Context(), slog.LevelError, "internal error",
			slog.String("request_id", requestID(c)), slog.String("route", c.Path()), slog.String("err", err.Error()))
	}
	if body.Code == projections.CodeViewsCatchingUp {
		c.Response().Header().Set("Retry-After", retryAfterSeconds)
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(status)
	} else if isFHIR(c) {
		werr = s.fhirError(c, body, status)
	} else {
		werr = c.JSON(status, body)
	}
	if werr != nil {
		s.log.Debug("write error response", "err", werr)
	}
}
