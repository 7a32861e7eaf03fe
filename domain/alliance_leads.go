package domain

import (
	"slices"
	"time"
)

// AllianceLeadDepartmentAdded records that another department of the lead hospital
// leads the alliance alongside the existing ones (李惠利医院's 胃肠外科 next to its
// 消化内科). AllianceFounded is unchanged: its LeadDepartmentID is the first lead
// department, so stored logs replay as before without an upcaster.
type AllianceLeadDepartmentAdded struct {
	AllianceID   string    `json:"allianceId"`
	HospitalID   string    `json:"hospitalId"`
	DepartmentID string    `json:"departmentId"`
	AddedAt      time.Time `json:"addedAt"`
}

// EventType implements Event.
func (AllianceLeadDepartmentAdded) EventType() string { return "AllianceLeadDepartmentAdded" }

func init() {
	Register[AllianceLeadDepartmentAdded](AllianceAggregate, 1, nil)
}

// AddLeadDepartment makes another department of the lead hospital a lead department.
// Lead is the lead hospital as the directory knows it (loaded by the caller), so the
// department can be checked to exist. Only a current lead department adds one.
type AddLeadDepartment struct {
	AllianceID   string
	Lead         Hospital
	DepartmentID string
	By           Actor
	At           time.Time
}

func (AddLeadDepartment) allianceCommand() {}

func decideAddLeadDepartment(a Alliance, c AddLeadDepartment) ([]Event, error) {
	if err := a.requireExists(c.AllianceID); err != nil {
		return nil, err
	}
	if err := firstErr(
		required("departmentId", c.DepartmentID, 64),
		validateCommandTime(c.At),
	); err != nil {
		return nil, err
	}
	if !a.IsLead(c.By.HospitalID, c.By.DepartmentID) {
		return nil, a.leadOnly("add a lead department")
	}
	if c.Lead.ID != a.LeadHospitalID {
		return nil, Errorf(CodeInvalidInput, "the hospital passed (%q) is not the alliance's lead hospital %s", truncate(c.Lead.ID, 40), a.LeadHospitalID)
	}
	if !c.Lead.HasDepartment(c.DepartmentID) {
		return nil, Errorf(CodeInvalidInput, "hospital %s has no department %q; add the department to the hospital first", a.LeadHospitalID, truncate(c.DepartmentID, 64)).
			WithDetail("departmentId", c.DepartmentID)
	}
	if slices.Contains(a.LeadDepartments, c.DepartmentID) {
		return nil, Errorf(CodeAlreadyExists, "department %s already leads alliance %s", c.DepartmentID, a.ID)
	}
	return []Event{AllianceLeadDepartmentAdded{AllianceID: a.ID, HospitalID: a.LeadHospitalID, DepartmentID: c.DepartmentID, AddedAt: c.At}}, nil
}

// AddressedLead returns the lead department a consult or dispatch request is addressed
// to: departmentID when it leads the alliance, the founding lead department when it is
// empty (so clients from before several lead departments keep reaching the one they
// always did). A department that does not lead the alliance is refused as invalid
// input naming the field, not as a 403: the requester did nothing unauthorised, it
// named the wrong recipient.
func (a Alliance) AddressedLead(departmentID string) (string, error) {
	if departmentID == "" {
		return a.LeadDepartmentID, nil
	}
	if err := required("leadDepartmentId", departmentID, maxDepartmentID); err != nil {
		return "", err
	}
	if !slices.Contains(a.LeadDepartments, departmentID) {
		return "", Errorf(CodeInvalidInput, "department %q does not lead alliance %s; address one of its lead departments %v",
			truncate(departmentID, 64), a.ID, a.LeadDepartments).WithDetail("leadDepartmentId", truncate(departmentID, 64))
	}
	return departmentID, nil
}
