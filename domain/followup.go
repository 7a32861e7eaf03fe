package domain

import (
	"slices"
	"time"
)

// followUp describes the record a follow-up command acts on (a consult, a dispatch, a
// referral, a diagnostic study), for checkFollowUp.
type followUp struct {
	idField string // the command's id field, e.g. "referralId"
	missing string // what a missing record is called, e.g. "diagnostic request"
	noun    string // what the record is called in messages, e.g. "study"
	exists  bool
	id      string
	status  string
	updated time.Time // the record's latest change
}

// checkFollowUp runs the checks every follow-up command shares: a valid id naming an
// existing record, a bounded time not before the record's latest change (times in a
// record never run backwards), and a status from allowed.
func checkFollowUp(f followUp, givenID string, at time.Time, what string, allowed []string) error {
	if err := ValidateID(f.idField, givenID); err != nil {
		return err
	}
	if !f.exists {
		return Errorf(CodeNotFound, "%s %s does not exist", f.missing, givenID)
	}
	if err := validateInstant("at", at); err != nil {
		return err
	}
	if !slices.Contains(allowed, f.status) {
		return Errorf(CodeForbiddenTransition, "cannot %s %s %s: it is %s (allowed when %v)", what, f.noun, f.id, f.status, allowed).
			WithDetail("status", f.status)
	}
	if at.Before(f.updated) {
		return Errorf(CodeInvalidInput, "time %s is before the %s's latest change (%s); times in a %s never run backwards",
			formatInstant(at), f.noun, formatInstant(f.updated), f.noun)
	}
	return nil
}
