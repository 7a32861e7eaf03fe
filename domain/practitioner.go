package domain

import (
	"slices"
	"strings"
	"time"
	"unicode"
)

// PractitionerAggregate names the practitioner directory aggregate in the event catalogue.
const PractitionerAggregate = "practitioner"

// PractitionerStream is the stream of one practitioner's directory entry.
func PractitionerStream(id string) string { return "practitioner-" + id }

// RoleAdmin is the actor role of the platform's administrators (the HTTP adapter's
// token role of the same name): an admin registers hospitals and, for any hospital,
// practitioners.
const RoleAdmin = "admin"

// Limits of a practitioner's directory entry, in runes and items.
const (
	maxPractitionerTitle = 100
	maxSpecialties       = 20
	// maxDigitRun is the longest run of digits a name, title or specialty may hold: a
	// mainland ID-card number has 18 characters and a mobile number 11, so a run of 7 or
	// more is refused as a likely identity or phone number (the directory records none).
	maxDigitRun = 6
)

// Practitioner is an expert, reader or mentor registered in the directory under a home
// hospital and department. The directory holds what colleagues need to know to book or
// refer (name, professional title, specialties) and nothing personal: no national id,
// no phone number. Its home never changes: a practitioner who moves to another hospital
// is deactivated here and registered there anew, so every booking made under the old
// home keeps meaning what it meant.
//
// Who registers and updates: the home hospital's own staff (any of its departments,
// typically the medical affairs office) or a platform admin. Dispatches, and later
// referrals, diagnostic centres and mentorships, name practitioners by id.
type Practitioner struct {
	ID               string
	HomeHospitalID   string
	HomeDepartmentID string
	Name             string
	Title            string
	Specialties      []string
	Active           bool
	RegisteredAt     time.Time
	UpdatedAt        time.Time
}

// Exists reports whether the practitioner has been registered.
func (p Practitioner) Exists() bool { return p.ID != "" }

// PractitionerRegistered records a new practitioner in the directory.
type PractitionerRegistered struct {
	PractitionerID   string    `json:"practitionerId"`
	HomeHospitalID   string    `json:"homeHospitalId"`
	HomeDepartmentID string    `json:"homeDepartmentId"`
	Name             string    `json:"name"`
	Title            string    `json:"title"`
	Specialties      []string  `json:"specialties"`
	RegisteredAt     time.Time `json:"registeredAt"`
}

// PractitionerProfileUpdated records a new name, title or list of specialties (a
// promotion, a new subspecialty, a corrected spelling). It carries the whole profile,
// so a reader needs no earlier event to show it.
type PractitionerProfileUpdated struct {
	PractitionerID string    `json:"practitionerId"`
	HomeHospitalID string    `json:"homeHospitalId"`
	Name           string    `json:"name"`
	Title          string    `json:"title"`
	Specialties    []string  `json:"specialties"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// PractitionerDeactivated records that the practitioner may no longer be booked
// (retired, left the hospital, on long leave). Bookings already made stay; the lead
// reassigns or cancels them.
type PractitionerDeactivated struct {
	PractitionerID string    `json:"practitionerId"`
	HomeHospitalID string    `json:"homeHospitalId"`
	Reason         string    `json:"reason"`
	DeactivatedAt  time.Time `json:"deactivatedAt"`
}

// PractitionerReactivated records that a deactivated practitioner may be booked again.
type PractitionerReactivated struct {
	PractitionerID string    `json:"practitionerId"`
	HomeHospitalID string    `json:"homeHospitalId"`
	Reason         string    `json:"reason"`
	ReactivatedAt  time.Time `json:"reactivatedAt"`
}

// EventType implements Event.
func (PractitionerRegistered) EventType() string { return "PractitionerRegistered" }

// EventType implements Event.
func (PractitionerProfileUpdated) EventType() string { return "PractitionerProfileUpdated" }

// EventType implements Event.
func (PractitionerDeactivated) EventType() string { return "PractitionerDeactivated" }

// EventType implements Event.
func (PractitionerReactivated) EventType() string { return "PractitionerReactivated" }

func init() {
	Register[PractitionerRegistered](PractitionerAggregate, 1, nil)
	Register[PractitionerProfileUpdated](PractitionerAggregate, 1, nil)
	Register[PractitionerDeactivated](PractitionerAggregate, 1, nil)
	Register[PractitionerReactivated](PractitionerAggregate, 1, nil)
}

// Evolve folds one event into the practitioner's state.
func (p Practitioner) Evolve(e Event) Practitioner {
	switch e := e.(type) {
	case PractitionerRegistered:
		p = Practitioner{ID: e.PractitionerID, HomeHospitalID: e.HomeHospitalID, HomeDepartmentID: e.HomeDepartmentID,
			Name: e.Name, Title: e.Title, Specialties: slices.Clone(e.Specialties), Active: true,
			RegisteredAt: e.RegisteredAt, UpdatedAt: e.RegisteredAt}
	case PractitionerProfileUpdated:
		p.Name, p.Title, p.Specialties, p.UpdatedAt = e.Name, e.Title, slices.Clone(e.Specialties), e.UpdatedAt
	case PractitionerDeactivated:
		p.Active, p.UpdatedAt = false, e.DeactivatedAt
	case PractitionerReactivated:
		p.Active, p.UpdatedAt = true, e.ReactivatedAt
	}
	return p
}

// PractitionerCommand is a command handled by the practitioner aggregate.
type PractitionerCommand interface{ practitionerCommand() }

// RegisterPractitioner adds a practitioner to the directory. Home is the home
// hospital's directory entry, loaded by the caller; DepartmentID must be one of its
// departments. By must act for the home hospital, or be an admin.
type RegisterPractitioner struct {
	PractitionerID string
	Home           Hospital
	HomeHospitalID string // the hospital named by the request (Home is its state, zero when unknown)
	DepartmentID   string
	Name           string
	Title          string
	Specialties    []string
	By             Actor
	At             time.Time
}

// UpdatePractitionerProfile replaces the practitioner's name, title and specialties.
type UpdatePractitionerProfile struct {
	PractitionerID string
	Name           string
	Title          string
	Specialties    []string
	By             Actor
	At             time.Time
}

// DeactivatePractitioner stops new bookings of the practitioner, with a reason.
type DeactivatePractitioner struct {
	PractitionerID string
	Reason         string
	By             Actor
	At             time.Time
}

// ReactivatePractitioner allows bookings of a deactivated practitioner again.
type ReactivatePractitioner struct {
	PractitionerID string
	Reason         string
	By             Actor
	At             time.Time
}

func (RegisterPractitioner) practitionerCommand()      {}
func (UpdatePractitionerProfile) practitionerCommand() {}
func (DeactivatePractitioner) practitionerCommand()    {}
func (ReactivatePractitioner) practitionerCommand()    {}

// DecidePractitioner decides a practitioner command against the practitioner's state.
func DecidePractitioner(p Practitioner, c PractitionerCommand) ([]Event, error) {
	switch c := c.(type) {
	case RegisterPractitioner:
		if err := firstErr(ValidateID("practitionerId", c.PractitionerID), ValidateID("hospitalId", c.HomeHospitalID),
			validateInstant("at", c.At)); err != nil {
			return nil, err
		}
		// Authority first: a caller of another hospital learns nothing, not even
		// whether the hospital or department exists.
		if err := mayManagePractitioners(c.By, c.HomeHospitalID); err != nil {
			return nil, err
		}
		if p.Exists() {
			return nil, Errorf(CodeAlreadyExists, "practitioner %s is already registered", c.PractitionerID)
		}
		if !c.Home.Exists() || c.Home.ID != c.HomeHospitalID {
			return nil, Errorf(CodeNotFound, "hospital %s is not registered", c.HomeHospitalID)
		}
		if err := required("departmentId", c.DepartmentID, 64); err != nil {
			return nil, err
		}
		if !c.Home.HasDepartment(c.DepartmentID) {
			return nil, Errorf(CodeInvalidInput, "hospital %s has no department %q; open it first", c.Home.ID, truncate(c.DepartmentID, 64))
		}
		if err := validateProfile(c.Name, c.Title, c.Specialties); err != nil {
			return nil, err
		}
		return []Event{PractitionerRegistered{PractitionerID: c.PractitionerID, HomeHospitalID: c.Home.ID,
			HomeDepartmentID: c.DepartmentID, Name: strings.TrimSpace(c.Name), Title: strings.TrimSpace(c.Title),
			Specialties: trimAll(c.Specialties), RegisteredAt: c.At}}, nil
	case UpdatePractitionerProfile:
		if err := p.check(c.PractitionerID, c.By, c.At); err != nil {
			return nil, err
		}
		if err := validateProfile(c.Name, c.Title, c.Specialties); err != nil {
			return nil, err
		}
		name, title, specs := strings.TrimSpace(c.Name), strings.TrimSpace(c.Title), trimAll(c.Specialties)
		if name == p.Name && title == p.Title && slices.Equal(specs, p.Specialties) {
			return nil, nil // the same profile again: nothing changed
		}
		return []Event{PractitionerProfileUpdated{PractitionerID: p.ID, HomeHospitalID: p.HomeHospitalID,
			Name: name, Title: title, Specialties: specs, UpdatedAt: c.At}}, nil
	case DeactivatePractitioner:
		if err := firstErr(p.check(c.PractitionerID, c.By, c.At), required("reason", c.Reason, maxReason)); err != nil {
			return nil, err
		}
		if !p.Active {
			return nil, Errorf(CodeForbiddenTransition, "practitioner %s is already deactivated", p.ID)
		}
		return []Event{PractitionerDeactivated{PractitionerID: p.ID, HomeHospitalID: p.HomeHospitalID, Reason: c.Reason, DeactivatedAt: c.At}}, nil
	case ReactivatePractitioner:
		if err := firstErr(p.check(c.PractitionerID, c.By, c.At), required("reason", c.Reason, maxReason)); err != nil {
			return nil, err
		}
		if p.Active {
			return nil, Errorf(CodeForbiddenTransition, "practitioner %s is active", p.ID)
		}
		return []Event{PractitionerReactivated{PractitionerID: p.ID, HomeHospitalID: p.HomeHospitalID, Reason: c.Reason, ReactivatedAt: c.At}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown practitioner command %T", c)
}

// check runs the checks every follow-up command shares: a valid id naming a registered
// practitioner, the caller's authority over it, and a time not before its latest change.
func (p Practitioner) check(id string, by Actor, at time.Time) error {
	if err := firstErr(ValidateID("practitionerId", id), validateInstant("at", at)); err != nil {
		return err
	}
	if !p.Exists() {
		return Errorf(CodeNotFound, "practitioner %s is not registered", id)
	}
	if err := mayManagePractitioners(by, p.HomeHospitalID); err != nil {
		return err
	}
	if at.Before(p.UpdatedAt) {
		return Errorf(CodeInvalidInput, "time %s is before the practitioner's latest change (%s)",
			at.UTC().Format(time.RFC3339), p.UpdatedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// mayManagePractitioners: a hospital's own staff, or an admin, keep its practitioners'
// entries. The message names nothing of the other hospital.
func mayManagePractitioners(by Actor, homeHospitalID string) error {
	if by.Role == RoleAdmin || (by.HospitalID != "" && by.HospitalID == homeHospitalID) {
		return nil
	}
	return Errorf(CodeForbidden, "a hospital registers and updates only its own practitioners")
}

func validateProfile(name, title string, specialties []string) error {
	if err := firstErr(required("name", name, maxPersonName), required("title", title, maxPractitionerTitle),
		noIdentityNumber("name", name), noIdentityNumber("title", title)); err != nil {
		return err
	}
	if len(specialties) == 0 || len(specialties) > maxSpecialties {
		return Errorf(CodeInvalidInput, "specialties must list 1 to %d specialties; got %d", maxSpecialties, len(specialties))
	}
	seen := map[string]bool{}
	for _, s := range specialties {
		if err := firstErr(required("specialty", s, maxSpecialty), noIdentityNumber("specialty", s)); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if seen[s] {
			return Errorf(CodeInvalidInput, "specialty %q is listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

// noIdentityNumber refuses text holding a run of digits long enough to be an ID-card or
// phone number: the directory never records either, and a stray one in a name field
// would otherwise be kept forever in an immutable event.
func noIdentityNumber(what, v string) error {
	run := 0
	for _, r := range v {
		if unicode.IsDigit(r) {
			run++
			if run > maxDigitRun {
				return Errorf(CodeInvalidInput, "%s holds a long number (an ID-card or phone number?); the directory records neither", what)
			}
			continue
		}
		run = 0
	}
	return nil
}

func trimAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

// RequireBookableBy is the booking rule of an expert: only a lead department of an
// alliance led by the expert's home hospital books the expert (leadHospitalID is the
// dispatch's lead hospital, whose lead department the dispatch already checked), only
// the department the expert is registered under (with several lead departments, each
// dispatches its own experts: 胃肠外科 does not send 消化内科's), and only while the
// expert is active. expertID is the id the command names: when p does
// not exist (no such practitioner, or a free-form id from before the directory), the
// refusal is the same as for another hospital's expert, so the answer reveals nothing
// of another tenant, not even whether the id is registered.
func (p Practitioner) RequireBookableBy(expertID, leadHospitalID, leadDepartmentID string) error {
	if !p.Exists() || p.ID != expertID || p.HomeHospitalID != leadHospitalID {
		return Errorf(CodeForbidden, "expert %s is not a practitioner of your hospital's directory; only your hospital's registered practitioners may be booked by its alliances",
			truncate(expertID, 40))
	}
	if p.HomeDepartmentID != leadDepartmentID {
		return Errorf(CodeForbidden, "expert %s is registered under department %s; only that department's dispatches book the expert",
			p.ID, p.HomeDepartmentID)
	}
	if !p.Active {
		return Errorf(CodeForbiddenTransition, "practitioner %s is deactivated and cannot be booked; reactivate the entry or choose another expert", p.ID)
	}
	return nil
}

// BookingName returns the name recorded when the practitioner is booked: the
// directory's. A name the caller gave must be that name (it catches a booking under a
// mistyped id); an empty one takes the directory's.
func (p Practitioner) BookingName(given string) (string, error) {
	if given = strings.TrimSpace(given); given != "" && given != p.Name {
		return "", Errorf(CodeInvalidInput, "expertName %q is not the directory's name of practitioner %s (%q); omit expertName or correct the id",
			truncate(given, 40), p.ID, p.Name)
	}
	return p.Name, nil
}
