package domain

import (
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// Meta is what every command carries besides its own fields: who is acting and the ids
// that tie it to a request. The command path copies it into each event's envelope.
type Meta struct {
	Actor          Actor
	At             time.Time
	CorrelationID  string
	CausationID    string
	IdempotencyKey string
	// RequestFingerprint identifies the request the idempotency key was sent with
	// (operation, target and canonical body, as a keyed hash); "" when the caller did
	// not bind the key to a request (internal callers).
	RequestFingerprint string
}

// ValidateID checks that id is a ULID in its canonical 26-character text form; what names
// the field in the error message (e.g. "planId").
func ValidateID(what, id string) error {
	if id == "" {
		return Errorf(CodeInvalidInput, "%s is required", what)
	}
	if len(id) != ulid.EncodedSize {
		return Errorf(CodeInvalidInput, "%s %q is not a ULID (26 characters)", what, truncate(id, 40))
	}
	if _, err := ulid.ParseStrict(id); err != nil {
		return Errorf(CodeInvalidInput, "%s %q is not a valid ULID", what, truncate(id, 40))
	}
	return nil
}

// required checks that a text field is present and not longer than max runes.
func required(what, v string, max int) error {
	if strings.TrimSpace(v) == "" {
		return Errorf(CodeInvalidInput, "%s is required", what)
	}
	return optional(what, v, max)
}

// optional checks that a text field, when present, is valid UTF-8 and not longer than
// max runes (see checkText).
func optional(what, v string, max int) error { return checkText(what, v, max) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// firstErr returns the first non-nil error, so validations read as one list.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
