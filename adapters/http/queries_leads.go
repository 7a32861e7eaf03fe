package httpapi

import (
	"slices"

	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// consultQueueDepartment picks the lead department whose consult queue a read of an
// alliance's consults shows (empty: every department's). Each lead department answers
// its own consults (李惠利医院: 消化内科 and 胃肠外科 each their own), so a caller from a
// lead department sees its own queue unless it asks for another one or "all"; other
// readers (the lead hospital's other offices, auditors) see every queue unless they
// name one. A department that does not lead the alliance is a 400.
func consultQueueDepartment(asked string, al projections.AllianceView, p *Claims) (string, error) {
	leads := al.LeadDepartments
	if len(leads) == 0 && al.Lead.DepartmentID != "" {
		leads = []string{al.Lead.DepartmentID}
	}
	switch {
	case asked == "all":
		return "", nil
	case asked == "":
		if p.HospitalID == al.Lead.HospitalID && slices.Contains(leads, p.DepartmentID) {
			return p.DepartmentID, nil
		}
		return "", nil
	case len(asked) > 64 || !slices.Contains(leads, asked):
		return "", domain.Errorf(domain.CodeInvalidInput, "department must be one of the alliance's lead departments %v, or all", leads).
			WithDetail("department", truncateParam(asked))
	}
	return asked, nil
}

func truncateParam(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64])
	}
	return s
}
