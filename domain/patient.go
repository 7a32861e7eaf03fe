package domain

import "regexp"

// patientRefPattern is the shape of a pseudonymous patient reference: "pr_" and 26 to 64
// lowercase base32 characters. The service derives it with an HMAC of the hospital and
// the record number (adapters/app.Pseudonymizer), so the domain never sees identifying
// data, and anything else (a name, an ID-card or record number) is refused.
var patientRefPattern = regexp.MustCompile(`^pr_[0-9a-z]{26,64}$`)

// validatePatientRef is the one check of a patientRef, for plans and consults alike.
func validatePatientRef(ref string) error {
	if !patientRefPattern.MatchString(ref) {
		return Errorf(CodeInvalidInput, "patientRef must be a pseudonymous token matching ^pr_[0-9a-z]{26,64}$ derived from the patient id; never send a name, ID-card or record number")
	}
	return nil
}
