package projections

import (
	"context"
	"errors"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// RedisError wraps a failure to talk to Redis so that the HTTP layer answers 503
// (domain code unavailable) rather than 500.
type RedisError struct{ Err error }

// Error implements error.
func (e *RedisError) Error() string { return "redis: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *RedisError) Unwrap() error { return e.Err }

// ErrorCode maps the error to the domain's unavailable code.
func (e *RedisError) ErrorCode() domain.Code { return domain.CodeUnavailable }

// unavailable wraps a Redis client error; nil, redis.Nil, transaction aborts and
// context errors pass through unchanged.
func unavailable(err error) error {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *RedisError
	if errors.As(err, &re) {
		return err
	}
	return &RedisError{Err: err}
}

func notFound(format string, args ...any) error {
	return domain.Errorf(domain.CodeNotFound, format, args...)
}

// Codes of the read side, beside the domain's: the HTTP layer maps both to 503.
const (
	// CodeViewDegraded says a document the read needs could not be brought up to date:
	// applying an event to it failed, so it is kept as it was before that event and not
	// served until an operator fixes the cause and rebuilds the views.
	CodeViewDegraded domain.Code = "view_degraded"
	// CodeViewsCatchingUp says the views are still applying the log as it stood when
	// they (re)started, so "not found" cannot be told yet; retry shortly.
	CodeViewsCatchingUp domain.Code = "views_catching_up"
)

// domainDegraded is the error of a read of a degraded document. The document's name
// stays in the logs and in Redis; clients get the event's position and the reason.
func domainDegraded(d Degradation) error {
	err := domain.Errorf(CodeViewDegraded, "this view cannot be shown: the views could not apply an event to it; it stays unavailable until the cause is fixed and the views are rebuilt")
	if d.Position > 0 {
		err = err.WithDetail("position", uint64(d.Position)).WithDetail("reason", d.Reason)
	}
	return err
}

// catchingUp is the error of a read that would say "not found" while the views are
// still applying the log as it stood when they (re)started.
func catchingUp(checkpoint, target eventstore.Position) error {
	return domain.Errorf(CodeViewsCatchingUp, "the views are catching up with the log (at position %d of %d); retry shortly", checkpoint, target).
		WithDetail("checkpoint", uint64(checkpoint)).WithDetail("target", uint64(target))
}
