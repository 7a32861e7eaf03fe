package domain

import "time"

// Shared rules of the talent aggregates (mentorship 师带徒 and training placement 进修,
// 派一送一). Both record work that happened on a ward or in a clinic and is often
// written down afterwards (a mentor's logbook is entered at the end of the week, a
// programme's paper records when the alliance office goes digital), so their commands
// may carry the instant the thing happened. The service's clock (the command's At)
// bounds it: never in the future, at most MaxTalentBackdate in the past, and never
// before the aggregate's latest instant, so the record reads in order.
const (
	// MaxTalentBackdate is how far before the command an instant it reports may lie:
	// three years covers a whole mentorship programme entered from paper records.
	MaxTalentBackdate = 3 * 366 * 24 * time.Hour
	// maxTalentCount bounds a count a session or evaluation reports (patients seen
	// together in one session, procedures supervised): far above a day's work.
	maxTalentCount = 1000
	// maxTalentNote bounds the free text of a session, an assessment or an evaluation.
	maxTalentNote = 2000
	// maxProgrammeName bounds a programme's or cohort's name.
	maxProgrammeName = 200
)

// Assessment and evaluation outcomes (优秀 / 合格 / 不合格). A mentorship completes
// only after a passing assessment; a placement's evaluation records one of them.
const (
	OutcomeExcellent = "excellent"
	OutcomePass      = "pass"
	OutcomeFail      = "fail"
)

var talentOutcomes = []string{OutcomeExcellent, OutcomePass, OutcomeFail}

// Passing reports whether an assessment outcome lets an apprentice complete.
func Passing(outcome string) bool { return outcome == OutcomeExcellent || outcome == OutcomePass }

// reportedInstant returns the instant a talent command records: given when the caller
// reports something that already happened, else at (the command's time). It refuses a
// given instant after at, more than MaxTalentBackdate before at, or before notBefore
// (the aggregate's latest instant; zero for none).
func reportedInstant(field string, given, at, notBefore time.Time) (time.Time, error) {
	if err := validateInstant("at", at); err != nil {
		return time.Time{}, err
	}
	if given.IsZero() {
		given = at
	} else if err := checkInstant(field, given); err != nil {
		return time.Time{}, err
	}
	if given.After(at) {
		return time.Time{}, Errorf(CodeInvalidInput, "%s %s is in the future (now %s); record it once it has happened",
			field, formatInstant(given), formatInstant(at)).WithDetail("field", field)
	}
	if at.Sub(given) > MaxTalentBackdate {
		return time.Time{}, Errorf(CodeInvalidInput, "%s %s is more than %d days ago; older records are not accepted",
			field, formatInstant(given), int(MaxTalentBackdate/(24*time.Hour))).WithDetail("field", field)
	}
	if given.Before(notBefore) {
		return time.Time{}, Errorf(CodeInvalidInput, "%s %s is before the record's latest change (%s); its times never run backwards",
			field, formatInstant(given), formatInstant(notBefore)).WithDetail("field", field)
	}
	return given, nil
}

func validateOutcome(outcome string) error {
	for _, o := range talentOutcomes {
		if o == outcome {
			return nil
		}
	}
	return Errorf(CodeInvalidInput, "outcome %q must be one of %v", truncate(outcome, 20), talentOutcomes)
}

// talentCount checks a count: between 0 and maxTalentCount.
func talentCount(field string, n int) error {
	if n < 0 || n > maxTalentCount {
		return Errorf(CodeInvalidInput, "%s is %d; it must be between 0 and %d", field, n, maxTalentCount).
			WithDetail("field", field).WithDetail("max", maxTalentCount)
	}
	return nil
}

// talentNote checks free text of a talent record: bounded and free of long numbers
// (a note about teaching never needs a patient's ID-card or phone number, and an
// event keeps it forever).
func talentNote(field, v string, need bool) error {
	check := optional
	if need {
		check = required
	}
	return firstErr(check(field, v, maxTalentNote), noIdentityNumber(field, v))
}

// requireMemberPractitioner checks that p is a registered, active practitioner at an active
// member of a (the apprentice or the placed member doctor). id is the id the command
// named.
func requireMemberPractitioner(a Alliance, p Practitioner, id, what string) error {
	if !p.Exists() || p.ID != id {
		return Errorf(CodeNotFound, "%s %s is not a registered practitioner", what, truncate(id, 40))
	}
	if !p.Active {
		return Errorf(CodeForbiddenTransition, "%s %s is deactivated in the directory", what, p.ID)
	}
	// The message does not say where the practitioner works: the caller may learn that
	// it is not an active member of its own alliance, nothing of another tenant.
	if a.RequireActiveMember(p.HomeHospitalID) != nil {
		return Errorf(CodeNotMember, "%s %s must work at an active member of alliance %s (not the lead, not a suspended or withdrawn member)", what, p.ID, a.ID).
			WithDetail("allianceId", a.ID)
	}
	return nil
}

// requireLeadPractitioner checks that p is a registered, active practitioner of the
// alliance's lead hospital (a mentor, or a lead doctor posted to a member). The refusal
// for another hospital's practitioner is the same as for an unknown id, as for
// bookings: the answer reveals nothing of another tenant's directory.
func requireLeadPractitioner(a Alliance, p Practitioner, id, what string) error {
	if !p.Exists() || p.ID != id || p.HomeHospitalID != a.LeadHospitalID {
		return Errorf(CodeForbidden, "%s %s is not a practitioner of the lead hospital's directory; only the lead hospital's registered practitioners may be named",
			what, truncate(id, 40))
	}
	if !p.Active {
		return Errorf(CodeForbiddenTransition, "%s %s is deactivated in the directory", what, p.ID)
	}
	return nil
}
