package domain

import "slices"

// HospitalAggregate names the hospital directory aggregate in the event catalogue.
const HospitalAggregate = "hospital"

// HospitalStream is the stream of one hospital's directory entry.
func HospitalStream(id string) string { return "hospital-" + id }

// Hospital levels follow the Chinese grading (三级/二级/一级) plus primary-care centres.
const (
	LevelTertiary  = "tertiary"  // 三级医院
	LevelSecondary = "secondary" // 二级医院
	LevelPrimary   = "primary"   // 一级医院
	LevelCommunity = "community" // 社区卫生服务中心 / 乡镇卫生院
)

var hospitalLevels = []string{LevelTertiary, LevelSecondary, LevelPrimary, LevelCommunity}

// Department is one clinical department of a hospital (e.g. haematology).
type Department struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Hospital is a directory entry: who a hospital is and where, so that alliances can
// admit it and consults can tell whether they cross a region.
type Hospital struct {
	ID          string
	Name        string
	RegionCode  string // administrative division code, e.g. 310115 (Pudong)
	Level       string
	Departments []Department
}

// Exists reports whether the hospital has been registered.
func (h Hospital) Exists() bool { return h.ID != "" }

// HasDepartment reports whether the hospital has a department with that id.
func (h Hospital) HasDepartment(id string) bool {
	return slices.ContainsFunc(h.Departments, func(d Department) bool { return d.ID == id })
}

// HospitalRegistered records a new directory entry.
type HospitalRegistered struct {
	HospitalID  string       `json:"hospitalId"`
	Name        string       `json:"name"`
	RegionCode  string       `json:"regionCode"`
	Level       string       `json:"level"`
	Departments []Department `json:"departments"`
}

// HospitalDepartmentAdded records a department opened after registration.
type HospitalDepartmentAdded struct {
	HospitalID string     `json:"hospitalId"`
	Department Department `json:"department"`
}

// EventType implements Event.
func (HospitalRegistered) EventType() string { return "HospitalRegistered" }

// EventType implements Event.
func (HospitalDepartmentAdded) EventType() string { return "HospitalDepartmentAdded" }

func init() {
	Register[HospitalRegistered](HospitalAggregate, 1, nil)
	Register[HospitalDepartmentAdded](HospitalAggregate, 1, nil)
}

// Evolve folds one event into the hospital's state.
func (h Hospital) Evolve(e Event) Hospital {
	switch e := e.(type) {
	case HospitalRegistered:
		h = Hospital{ID: e.HospitalID, Name: e.Name, RegionCode: e.RegionCode, Level: e.Level,
			Departments: slices.Clone(e.Departments)}
	case HospitalDepartmentAdded:
		h.Departments = append(slices.Clone(h.Departments), e.Department)
	}
	return h
}

// HospitalCommand is a command handled by the hospital aggregate.
type HospitalCommand interface{ hospitalCommand() }

// RegisterHospital adds a hospital to the directory.
type RegisterHospital struct {
	HospitalID  string
	Name        string
	RegionCode  string
	Level       string
	Departments []Department
}

// AddDepartment adds a department to a registered hospital.
type AddDepartment struct {
	HospitalID string
	Department Department
}

func (RegisterHospital) hospitalCommand() {}
func (AddDepartment) hospitalCommand()    {}

// DecideHospital decides a hospital command against the hospital's current state.
func DecideHospital(h Hospital, c HospitalCommand) ([]Event, error) {
	switch c := c.(type) {
	case RegisterHospital:
		if h.Exists() {
			return nil, Errorf(CodeAlreadyExists, "hospital %s is already registered", c.HospitalID)
		}
		if err := firstErr(
			ValidateID("hospitalId", c.HospitalID),
			required("name", c.Name, 200),
			validateRegion(c.RegionCode),
			validateLevel(c.Level),
			validateDepartments(c.Departments),
		); err != nil {
			return nil, err
		}
		return []Event{HospitalRegistered{HospitalID: c.HospitalID, Name: c.Name, RegionCode: c.RegionCode,
			Level: c.Level, Departments: slices.Clone(c.Departments)}}, nil
	case AddDepartment:
		if !h.Exists() {
			return nil, Errorf(CodeNotFound, "hospital %s is not registered", c.HospitalID)
		}
		if err := firstErr(
			validateDepartments([]Department{c.Department}),
			checkCount("hospital "+h.ID+"'s departments", len(h.Departments), 1, MaxDepartments),
		); err != nil {
			return nil, err
		}
		if h.HasDepartment(c.Department.ID) {
			return nil, Errorf(CodeAlreadyExists, "hospital %s already has department %q", h.ID, c.Department.ID)
		}
		return []Event{HospitalDepartmentAdded{HospitalID: h.ID, Department: c.Department}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown hospital command %T", c)
}

// validateRegion accepts a six-digit administrative division code (GB/T 2260).
func validateRegion(code string) error {
	if len(code) != 6 {
		return Errorf(CodeInvalidInput, "regionCode %q must be a six-digit administrative division code", truncate(code, 20))
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return Errorf(CodeInvalidInput, "regionCode %q must be a six-digit administrative division code", code)
		}
	}
	return nil
}

func validateLevel(level string) error {
	if !slices.Contains(hospitalLevels, level) {
		return Errorf(CodeInvalidInput, "level %q must be one of %v", truncate(level, 20), hospitalLevels)
	}
	return nil
}

func validateDepartments(ds []Department) error {
	if err := checkCount("a hospital's departments", 0, len(ds), MaxDepartments); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if err := firstErr(required("department id", d.ID, 64), required("department name", d.Name, 200)); err != nil {
			return err
		}
		if seen[d.ID] {
			return Errorf(CodeInvalidInput, "department %q is listed twice", d.ID)
		}
		seen[d.ID] = true
	}
	return nil
}
