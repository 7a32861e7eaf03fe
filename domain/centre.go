package domain

import (
	"cmp"
	"slices"
	"time"
)

// CentreAggregate names the diagnostic-centre aggregate in the event catalogue.
const CentreAggregate = "centre"

// CentreStream is the stream of one diagnostic centre: its readers and duty roster.
func CentreStream(id string) string { return "centre-" + id }

// Centre kinds: the five shared centres of a county medical community (心电、影像、检验、
// 病理、超声 中心). A centre reads studies of its one kind.
const (
	CentreECG        = "ecg"
	CentreImaging    = "imaging"
	CentreLab        = "lab"
	CentrePathology  = "pathology"
	CentreUltrasound = "ultrasound"
)

// CentreKinds lists the kinds a centre may be, in a stable order.
var CentreKinds = []string{CentreECG, CentreImaging, CentreLab, CentrePathology, CentreUltrasound}

// Limits of the centre aggregate.
const (
	maxCentreName    = 200
	maxCentreReaders = 200
	// maxShiftLength bounds one duty shift: a 72-hour weekend duty is the longest roster
	// entry county centres use.
	maxShiftLength = 72 * time.Hour
	// maxOpenShifts bounds the shifts a roster holds; shifts that ended more than
	// shiftRetention before a new one is scheduled are dropped from the state (the
	// events keep them).
	maxOpenShifts  = 1000
	shiftRetention = 30 * 24 * time.Hour
)

// CentreReader is a practitioner of the directory who reads the centre's studies.
type CentreReader struct {
	PractitionerID string    `json:"practitionerId"`
	Name           string    `json:"name"`
	Title          string    `json:"title"`
	AddedAt        time.Time `json:"addedAt"`
}

// Shift is one entry of the duty roster: a reader on duty for a window.
type Shift struct {
	ShiftID        string `json:"shiftId"`
	PractitionerID string `json:"practitionerId"`
	Window         Window `json:"window"`
}

// Centre is a shared diagnostic centre of an alliance, run by its lead hospital or by a
// member hospital the alliance designates (the operator), in one of the operator's
// departments. Its readers come from the practitioner directory (the operator's own
// staff); its roster says who reads when, so a study submitted at 03:00 goes to the
// reader on night duty.
type Centre struct {
	ID                 string
	AllianceID         string
	Kind               string
	Name               string
	OperatorHospitalID string
	DepartmentID       string
	Readers            []CentreReader
	Shifts             []Shift
	OpenedAt           time.Time
	UpdatedAt          time.Time
}

// Exists reports whether the centre was opened.
func (c Centre) Exists() bool { return c.ID != "" }

// Reader returns the current reader with that practitioner id.
func (c Centre) Reader(practitionerID string) (CentreReader, bool) {
	for _, r := range c.Readers {
		if r.PractitionerID == practitionerID {
			return r, true
		}
	}
	return CentreReader{}, false
}

// OnDuty returns the shifts covering at whose reader is still a reader, earliest start
// first (then by shift id), so routing is deterministic: the reader who came on duty
// first takes the study.
func (c Centre) OnDuty(at time.Time) []Shift {
	var out []Shift
	for _, s := range c.Shifts {
		if _, ok := c.Reader(s.PractitionerID); !ok {
			continue
		}
		if !at.Before(s.Window.Start) && at.Before(s.Window.End) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Shift) int {
		return cmp.Or(a.Window.Start.Compare(b.Window.Start), cmp.Compare(a.ShiftID, b.ShiftID))
	})
	return out
}

// CentreOpened records a centre of an alliance, its kind, operator and department.
type CentreOpened struct {
	CentreID           string    `json:"centreId"`
	AllianceID         string    `json:"allianceId"`
	Kind               string    `json:"kind"`
	Name               string    `json:"name"`
	OperatorHospitalID string    `json:"operatorHospitalId"`
	DepartmentID       string    `json:"departmentId"`
	OpenedAt           time.Time `json:"openedAt"`
}

// CentreReaderAdded records a practitioner of the directory as one of the centre's readers.
type CentreReaderAdded struct {
	CentreID       string    `json:"centreId"`
	PractitionerID string    `json:"practitionerId"`
	Name           string    `json:"name"`
	Title          string    `json:"title"`
	AddedAt        time.Time `json:"addedAt"`
}

// CentreReaderRemoved records that a practitioner no longer reads for the centre; the
// roster's shifts of that reader no longer route studies.
type CentreReaderRemoved struct {
	CentreID       string    `json:"centreId"`
	PractitionerID string    `json:"practitionerId"`
	Reason         string    `json:"reason"`
	RemovedAt      time.Time `json:"removedAt"`
}

// CentreShiftScheduled records one duty shift of a reader.
type CentreShiftScheduled struct {
	CentreID       string    `json:"centreId"`
	ShiftID        string    `json:"shiftId"`
	PractitionerID string    `json:"practitionerId"`
	Window         Window    `json:"window"`
	ScheduledAt    time.Time `json:"scheduledAt"`
}

// CentreShiftCancelled records that a scheduled shift will not be worked.
type CentreShiftCancelled struct {
	CentreID    string    `json:"centreId"`
	ShiftID     string    `json:"shiftId"`
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelledAt"`
}

// EventType implements Event.
func (CentreOpened) EventType() string { return "CentreOpened" }

// EventType implements Event.
func (CentreReaderAdded) EventType() string { return "CentreReaderAdded" }

// EventType implements Event.
func (CentreReaderRemoved) EventType() string { return "CentreReaderRemoved" }

// EventType implements Event.
func (CentreShiftScheduled) EventType() string { return "CentreShiftScheduled" }

// EventType implements Event.
func (CentreShiftCancelled) EventType() string { return "CentreShiftCancelled" }

func init() {
	Register[CentreOpened](CentreAggregate, 1, nil)
	Register[CentreReaderAdded](CentreAggregate, 1, nil)
	Register[CentreReaderRemoved](CentreAggregate, 1, nil)
	Register[CentreShiftScheduled](CentreAggregate, 1, nil)
	Register[CentreShiftCancelled](CentreAggregate, 1, nil)
}

// Evolve folds one event into the centre's state. Slices are copied, never appended to
// in place, so an earlier state value never sees a later event.
func (c Centre) Evolve(e Event) Centre {
	switch e := e.(type) {
	case CentreOpened:
		c = Centre{ID: e.CentreID, AllianceID: e.AllianceID, Kind: e.Kind, Name: e.Name,
			OperatorHospitalID: e.OperatorHospitalID, DepartmentID: e.DepartmentID, OpenedAt: e.OpenedAt, UpdatedAt: e.OpenedAt}
	case CentreReaderAdded:
		c.Readers = append(slices.Clip(c.Readers), CentreReader{PractitionerID: e.PractitionerID, Name: e.Name, Title: e.Title, AddedAt: e.AddedAt})
		c.UpdatedAt = e.AddedAt
	case CentreReaderRemoved:
		c.Readers = slices.DeleteFunc(slices.Clone(c.Readers), func(r CentreReader) bool { return r.PractitionerID == e.PractitionerID })
		c.UpdatedAt = e.RemovedAt
	case CentreShiftScheduled:
		cutoff := e.ScheduledAt.Add(-shiftRetention)
		kept := slices.DeleteFunc(slices.Clone(c.Shifts), func(s Shift) bool { return s.Window.End.Before(cutoff) })
		c.Shifts = append(kept, Shift{ShiftID: e.ShiftID, PractitionerID: e.PractitionerID, Window: e.Window})
		c.UpdatedAt = e.ScheduledAt
	case CentreShiftCancelled:
		c.Shifts = slices.DeleteFunc(slices.Clone(c.Shifts), func(s Shift) bool { return s.ShiftID == e.ShiftID })
		c.UpdatedAt = e.CancelledAt
	}
	return c
}

// CentreCommand is a command handled by the centre aggregate.
type CentreCommand interface{ centreCommand() }

// OpenCentre opens a centre of Alliance. Only a lead department of the alliance opens
// one; the operator is the lead hospital or an active member the alliance designates
// (松江's plan puts the lab at one member and the imaging centre at another), and
// DepartmentID must be one of the operator's departments (Operator is its state, loaded
// by the caller).
type OpenCentre struct {
	CentreID     string
	Alliance     Alliance
	Operator     Hospital
	Kind         string
	Name         string
	DepartmentID string
	By           Actor
	At           time.Time
}

// AddCentreReader makes a directory practitioner (Practitioner, loaded by the caller) a
// reader. Only the operator hospital adds readers, and only its own active staff.
type AddCentreReader struct {
	CentreID     string
	Practitioner Practitioner
	By           Actor
	At           time.Time
}

// RemoveCentreReader takes a reader off the centre (operator hospital).
type RemoveCentreReader struct {
	CentreID       string
	PractitionerID string
	Reason         string
	By             Actor
	At             time.Time
}

// ScheduleShift puts a reader on duty for a window (operator hospital). A reader's
// shifts never overlap; several readers may be on duty at once.
type ScheduleShift struct {
	CentreID       string
	ShiftID        string
	PractitionerID string
	Window         Window
	By             Actor
	At             time.Time
}

// CancelShift removes a scheduled shift (operator hospital).
type CancelShift struct {
	CentreID string
	ShiftID  string
	Reason   string
	By       Actor
	At       time.Time
}

func (OpenCentre) centreCommand()         {}
func (AddCentreReader) centreCommand()    {}
func (RemoveCentreReader) centreCommand() {}
func (ScheduleShift) centreCommand()      {}
func (CancelShift) centreCommand()        {}

// DecideCentre decides a centre command against the centre's current state.
func DecideCentre(c Centre, cmd CentreCommand) ([]Event, error) {
	switch cmd := cmd.(type) {
	case OpenCentre:
		return decideOpenCentre(c, cmd)
	case AddCentreReader:
		if err := c.check(cmd.CentreID, cmd.At, cmd.By, "add a reader to"); err != nil {
			return nil, err
		}
		p := cmd.Practitioner
		if !p.Exists() || p.HomeHospitalID != c.OperatorHospitalID {
			// The same answer for an unknown id and another hospital's practitioner.
			return nil, Errorf(CodeForbidden, "a centre's readers are active practitioners registered under its operator hospital")
		}
		if !p.Active {
			return nil, Errorf(CodeForbiddenTransition, "practitioner %s is deactivated; reactivate it before it reads for centre %s", p.ID, c.ID)
		}
		if _, ok := c.Reader(p.ID); ok {
			return nil, Errorf(CodeAlreadyExists, "practitioner %s already reads for centre %s", p.ID, c.ID)
		}
		if err := checkCount("readers of a centre", len(c.Readers), 1, maxCentreReaders); err != nil {
			return nil, err
		}
		return []Event{CentreReaderAdded{CentreID: c.ID, PractitionerID: p.ID, Name: p.Name, Title: p.Title, AddedAt: cmd.At}}, nil
	case RemoveCentreReader:
		if err := c.check(cmd.CentreID, cmd.At, cmd.By, "remove a reader from"); err != nil {
			return nil, err
		}
		if err := firstErr(ValidateID("practitionerId", cmd.PractitionerID), required("reason", cmd.Reason, maxReferralReason)); err != nil {
			return nil, err
		}
		if _, ok := c.Reader(cmd.PractitionerID); !ok {
			return nil, Errorf(CodeNotFound, "practitioner %s does not read for centre %s", cmd.PractitionerID, c.ID)
		}
		return []Event{CentreReaderRemoved{CentreID: c.ID, PractitionerID: cmd.PractitionerID, Reason: cmd.Reason, RemovedAt: cmd.At}}, nil
	case ScheduleShift:
		return decideScheduleShift(c, cmd)
	case CancelShift:
		if err := c.check(cmd.CentreID, cmd.At, cmd.By, "cancel a shift of"); err != nil {
			return nil, err
		}
		if err := firstErr(ValidateID("shiftId", cmd.ShiftID), required("reason", cmd.Reason, maxReferralReason)); err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(c.Shifts, func(s Shift) bool { return s.ShiftID == cmd.ShiftID }) {
			return nil, Errorf(CodeNotFound, "shift %s is not on centre %s's roster", cmd.ShiftID, c.ID)
		}
		return []Event{CentreShiftCancelled{CentreID: c.ID, ShiftID: cmd.ShiftID, Reason: cmd.Reason, CancelledAt: cmd.At}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown centre command %T", cmd)
}

func decideOpenCentre(c Centre, cmd OpenCentre) ([]Event, error) {
	if c.Exists() {
		return nil, Errorf(CodeAlreadyExists, "centre %s was already opened", cmd.CentreID)
	}
	if err := firstErr(
		ValidateID("centreId", cmd.CentreID),
		validateCentreKind(cmd.Kind),
		required("name", cmd.Name, maxCentreName),
		required("departmentId", cmd.DepartmentID, maxDepartmentID),
		validateInstant("openedAt", cmd.At),
	); err != nil {
		return nil, err
	}
	al := cmd.Alliance
	if !al.Exists() {
		return nil, Errorf(CodeNotFound, "the alliance does not exist")
	}
	if !al.IsLeadDepartment(cmd.By.HospitalID, cmd.By.DepartmentID) {
		return nil, Errorf(CodeForbidden, "only a lead department of alliance %s opens its centres", al.ID)
	}
	op := cmd.Operator
	if !op.Exists() {
		return nil, Errorf(CodeNotFound, "the operator hospital does not exist")
	}
	if !al.IsLeadHospital(op.ID) {
		if err := al.RequireActiveMember(op.ID); err != nil {
			return nil, err
		}
	}
	if !op.HasDepartment(cmd.DepartmentID) {
		return nil, Errorf(CodeInvalidInput, "hospital %s has no department %q; register it first", op.ID, truncate(cmd.DepartmentID, 64))
	}
	return []Event{CentreOpened{CentreID: cmd.CentreID, AllianceID: al.ID, Kind: cmd.Kind, Name: cmd.Name,
		OperatorHospitalID: op.ID, DepartmentID: cmd.DepartmentID, OpenedAt: cmd.At}}, nil
}

func decideScheduleShift(c Centre, cmd ScheduleShift) ([]Event, error) {
	if err := c.check(cmd.CentreID, cmd.At, cmd.By, "schedule a shift of"); err != nil {
		return nil, err
	}
	if err := firstErr(ValidateID("shiftId", cmd.ShiftID), ValidateID("practitionerId", cmd.PractitionerID),
		validateWindow(cmd.Window, maxShiftLength, "shift")); err != nil {
		return nil, err
	}
	if cmd.Window.Duration() > maxShiftLength {
		return nil, Errorf(CodeInvalidInput, "a shift may last at most %s; %s lasts %s", maxShiftLength, cmd.Window, cmd.Window.Duration())
	}
	if _, ok := c.Reader(cmd.PractitionerID); !ok {
		return nil, Errorf(CodeNotFound, "practitioner %s does not read for centre %s; add the reader first", cmd.PractitionerID, c.ID)
	}
	if !cmd.Window.End.After(cmd.At) {
		return nil, Errorf(CodeInvalidInput, "shift %s ends before it is scheduled; the roster plans duty ahead", cmd.Window)
	}
	for _, s := range c.Shifts {
		if s.ShiftID == cmd.ShiftID {
			return nil, Errorf(CodeAlreadyExists, "shift %s is already on the roster", cmd.ShiftID)
		}
		if s.PractitionerID == cmd.PractitionerID && s.Window.Overlaps(cmd.Window) {
			return nil, Errorf(CodeScheduleOverlap, "the reader is already on duty %s, which overlaps %s", s.Window, cmd.Window).
				WithDetail("shiftId", s.ShiftID)
		}
	}
	cutoff := cmd.At.Add(-shiftRetention)
	live := 0
	for _, s := range c.Shifts {
		if !s.Window.End.Before(cutoff) {
			live++
		}
	}
	if err := checkCount("shifts on a centre's roster", live, 1, maxOpenShifts); err != nil {
		return nil, err
	}
	return []Event{CentreShiftScheduled{CentreID: c.ID, ShiftID: cmd.ShiftID, PractitionerID: cmd.PractitionerID,
		Window: cmd.Window, ScheduledAt: cmd.At}}, nil
}

// check runs the checks every follow-up command shares: the centre exists, the time is
// valid and not before the latest change, and the caller is the operator hospital.
func (c Centre) check(centreID string, at time.Time, by Actor, what string) error {
	if err := ValidateID("centreId", centreID); err != nil {
		return err
	}
	if !c.Exists() {
		return Errorf(CodeNotFound, "centre %s does not exist", centreID)
	}
	if err := validateInstant("at", at); err != nil {
		return err
	}
	if by.HospitalID == "" || by.HospitalID != c.OperatorHospitalID {
		return Errorf(CodeForbidden, "only the hospital operating centre %s may %s it", c.ID, what)
	}
	if at.Before(c.UpdatedAt) {
		return Errorf(CodeInvalidInput, "time %s is before the centre's latest change (%s)", formatInstant(at), formatInstant(c.UpdatedAt))
	}
	return nil
}

func validateCentreKind(k string) error {
	if !slices.Contains(CentreKinds, k) {
		return Errorf(CodeInvalidInput, "kind %q must be one of %v", truncate(k, 20), CentreKinds)
	}
	return nil
}
