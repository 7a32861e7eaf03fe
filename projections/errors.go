package projections

import (
	"context"
	"errors"

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
