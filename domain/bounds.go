package domain

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// The bounds every command is held to, in one place. An accepted command becomes events
// that are stored for good and projected into every tenant's views, so whatever a
// decide function accepts must stay writable as JSON and placeable on a calendar,
// whatever the client sent: an instant in the year 9999 plus a ten-year offset is past
// the last year JSON can write, and would stop the views of every hospital. The bounds
// are clinical, far wider than any real schedule and far narrower than what breaks.
const (
	// EarliestYear and LatestYear bound every instant a command carries or derives
	// (command times, start dates, due dates, windows, deadlines): from 1900-01-01
	// inclusive to 2200-01-01 exclusive, in UTC.
	EarliestYear = 1900
	LatestYear   = 2200
	// MaxDayOffset is the latest day of a schedule, counted from day 0: ten years covers
	// maintenance therapy.
	MaxDayOffset = 3650
	// MaxPlanSteps bounds the steps of one plan, its published schedule and every step
	// its revisions add; MaxPlanDeviations bounds the deviations reported on one plan.
	// The plan is one view document, read on every ward round.
	MaxPlanSteps      = 1000
	MaxPlanDeviations = 1000
	// MaxDepartments bounds the departments of one hospital's directory entry.
	MaxDepartments = 200
)

var (
	earliestInstant = time.Date(EarliestYear, 1, 1, 0, 0, 0, 0, time.UTC)
	latestInstant   = time.Date(LatestYear, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxZoneOffset is the widest UTC offset an instant may carry: RFC 3339 (and so JSON)
// writes offsets of at most 23:59; real zones stay within ±14 hours.
const maxZoneOffset = 24*time.Hour - time.Minute

// checkInstant checks an instant a command carries: present, with a UTC offset RFC 3339
// can write, and within [EarliestYear, LatestYear). field names it in the message.
func checkInstant(field string, t time.Time) error {
	if t.IsZero() {
		return Errorf(CodeInvalidInput, "%s is required", field)
	}
	if _, off := t.Zone(); time.Duration(off)*time.Second > maxZoneOffset || time.Duration(-off)*time.Second > maxZoneOffset {
		return Errorf(CodeInvalidInput, "%s has a UTC offset of %d seconds; an offset must be within ±23:59", field, off)
	}
	return checkInRange(field, t)
}

// checkDerived checks an instant computed from a command's values (a due date, a
// deadline): it must stay in the same range as the instants a command carries. how
// says how it was derived, for the message.
func checkDerived(field string, t time.Time, how string) error {
	if err := checkInRange(field, t); err != nil {
		return Errorf(CodeInvalidInput, "%s (%s)", ErrorMessage(err), how)
	}
	return nil
}

func checkInRange(field string, t time.Time) error {
	if t.Before(earliestInstant) || !t.Before(latestInstant) {
		return Errorf(CodeInvalidInput, "%s %s is outside the accepted range: on or after %s and before %s",
			field, formatInstant(t), earliestInstant.Format(time.RFC3339), latestInstant.Format(time.RFC3339)).
			WithDetail("field", field).WithDetail("earliest", earliestInstant.Format(time.RFC3339)).
			WithDetail("latest", latestInstant.Format(time.RFC3339))
	}
	return nil
}

// formatInstant writes t in UTC for a message; unlike MarshalJSON it never fails.
func formatInstant(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkDayOffset checks a day of a schedule: between 0 and MaxDayOffset.
func checkDayOffset(field string, n int) error {
	if n < 0 || n > MaxDayOffset {
		return Errorf(CodeInvalidInput, "%s %d must be between 0 and %d", field, n, MaxDayOffset).
			WithDetail("field", field).WithDetail("max", MaxDayOffset)
	}
	return nil
}

// checkCount checks the length of a list a command adds to: have already held and
// adding more, at most max in all.
func checkCount(what string, have, adding, max int) error {
	if have+adding > max {
		return Errorf(CodeInvalidInput, "%s would number %d; the limit is %d", what, have+adding, max).
			WithDetail("max", max)
	}
	return nil
}

// checkText checks that free text is valid UTF-8 (JSON would silently replace the bad
// bytes, so the stored text would differ from the decided one) and at most max runes.
func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return Errorf(CodeInvalidInput, "%s is not valid UTF-8 text", field)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return Errorf(CodeInvalidInput, "%s is %d characters long; the limit is %d", field, n, max).
			WithDetail("field", field).WithDetail("max", max)
	}
	return nil
}

// checkDueDate checks that a step's due date, start plus dayOffset days, stays in range:
// both may be valid on their own and still place the step past the latest date.
func checkDueDate(start time.Time, stepID string, dayOffset int) error {
	due := planDueDate(start, dayOffset)
	return checkDerived("step "+stepID+"'s due date", due,
		"startDate "+start.Format(time.DateOnly)+" plus dayOffset "+itoa(dayOffset))
}

func itoa(n int) string { return strconv.Itoa(n) }
