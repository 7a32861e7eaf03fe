package domain

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. Clients and the HTTP layer switch on it;
// the set is small and closed so a hospital's IT department can document every case.
type Code string

// The closed set of error codes. The HTTP adapter holds the single code -> status map.
const (
	CodeInvalidInput        Code = "invalid_input"        // the command or request is malformed or fails validation
	CodeNotFound            Code = "not_found"            // the aggregate or view does not exist
	CodeAlreadyExists       Code = "already_exists"       // a create command named an aggregate that exists
	CodeConflict            Code = "conflict"             // the stream moved on (expected version mismatch)
	CodeForbiddenTransition Code = "forbidden_transition" // the aggregate's state does not allow the command
	CodeNotMember           Code = "not_member"           // the hospital is not an active member of the alliance
	CodeScheduleOverlap     Code = "schedule_overlap"     // an expert is already booked for an overlapping window
	CodeNoCapacity          Code = "no_capacity"          // no reserved slot or bed is left (or the named one is taken)
	CodeUnauthenticated     Code = "unauthenticated"      // no or invalid credentials
	CodeForbidden           Code = "forbidden"            // the caller's hospital or role may not do this
	CodeUnavailable         Code = "unavailable"          // a dependency (event store, Redis) cannot be reached
	CodeTimeout             Code = "timeout"              // a bounded wait (e.g. read-your-writes) ran out
	CodeInternal            Code = "internal"             // anything unexpected; details are logged, not shown
	// CodeIdempotencyKeyReused: an Idempotency-Key already bound to another request
	// (another operation, target or body) was sent with this one.
	CodeIdempotencyKeyReused Code = "idempotency_key_reused"
)

// Error is the one error type of the domain: a code, a message a person can act on, and
// optional structured details (e.g. the current stream version on a conflict).
type Error struct {
	Code    Code
	Message string
	Details map[string]any
}

// Error implements the error interface.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// ErrorCode lets any error that carries a code take part in ErrorCode.
func (e *Error) ErrorCode() Code { return e.Code }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetail returns a copy of e with one more detail set.
func (e *Error) WithDetail(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// coder is implemented by errors of other packages that map onto a domain code (for
// example the event store's wrong-expected-version error, which is a conflict).
type coder interface{ ErrorCode() Code }

// ErrorCode returns the code of err, looking through wrapped errors; nil has no code and
// anything unknown is internal.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var c coder
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return CodeInternal
}

// ErrorMessage returns the human message of a coded error, or a generic one for
// internal errors so that no internal detail leaks to a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if ErrorCode(err) != CodeInternal {
		return err.Error()
	}
	return "an internal error occurred; it has been logged"
}
