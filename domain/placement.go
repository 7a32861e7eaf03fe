package domain

import (
	"strings"
	"time"
)

// PlacementAggregate names the training-placement aggregate (进修, 派一送一) in the
// event catalogue.
const PlacementAggregate = "placement"

// PlacementStream is the stream of one placement.
func PlacementStream(id string) string { return "placement-" + id }

// Placement kinds: which way the practitioner goes.
const (
	// PlacementStudy (进修, 上修): a member's practitioner studies in a lead department
	// for a period (仁济宝山's community GPs at 仁济).
	PlacementStudy = "study"
	// PlacementPosting (下沉, 派一送一): a lead practitioner is posted to a member for a
	// period (恒口's county doctors in the township centres).
	PlacementPosting = "posting"
)

var placementKinds = []string{PlacementStudy, PlacementPosting}

// Placement statuses: planned -> arrived -> completed (-> evaluated), or cancelled
// before arrival.
const (
	PlacementStatusPlanned   = "planned"
	PlacementStatusArrived   = "arrived"
	PlacementStatusCompleted = "completed"
	PlacementStatusCancelled = "cancelled"
)

// Limits of a placement.
const (
	// MaxPlacementPeriod bounds a placement's planned period: 进修 runs 3 to 12 months.
	MaxPlacementPeriod = 366 * 24 * time.Hour
	// ArriveEarly is how long before the period starts an arrival may be recorded.
	ArriveEarly = 7 * 24 * time.Hour
	// MaxPlacementOverrun is how long after the planned end a placement may still be
	// completed (a delayed return, the paperwork of the last week).
	MaxPlacementOverrun = 31 * 24 * time.Hour
)

// Placement is the state of one training placement within an alliance: who goes, from
// which hospital to which department of which hospital, for which period, and how it
// went. One side is always the lead hospital and the other an active member at the
// time of planning: MemberHospitalID names the member side either way, so a member's
// lists find the placements it sends and the ones it hosts.
type Placement struct {
	ID                string
	AllianceID        string
	Kind              string
	Programme         string
	Cohort            string
	PractitionerID    string
	PractitionerName  string
	HomeHospitalID    string
	HomeDepartmentID  string
	HostHospitalID    string
	HostDepartmentID  string
	LeadHospitalID    string
	LeadDepartmentID  string // the lead department that planned it
	MemberHospitalID  string
	Period            Window
	Status            string
	PlannedAt         time.Time
	ArrivedAt         time.Time
	CompletedAt       time.Time
	Evaluated         bool
	EvaluationOutcome string
	EvaluationComment string
	EvaluatedAt       time.Time
	CancelledAt       time.Time
	CancelReason      string
	UpdatedAt         time.Time
}

// Exists reports whether the placement was planned.
func (p Placement) Exists() bool { return p.ID != "" }

// IsParty reports whether hospitalID is the home or the host hospital.
func (p Placement) IsParty(hospitalID string) bool {
	return hospitalID != "" && (hospitalID == p.HomeHospitalID || hospitalID == p.HostHospitalID)
}

// PlacementPlanned records a planned placement and its period.
type PlacementPlanned struct {
	PlacementID      string    `json:"placementId"`
	AllianceID       string    `json:"allianceId"`
	Kind             string    `json:"kind"`
	Programme        string    `json:"programme"`
	Cohort           string    `json:"cohort,omitempty"`
	PractitionerID   string    `json:"practitionerId"`
	PractitionerName string    `json:"practitionerName"`
	HomeHospitalID   string    `json:"homeHospitalId"`
	HomeDepartmentID string    `json:"homeDepartmentId"`
	HostHospitalID   string    `json:"hostHospitalId"`
	HostDepartmentID string    `json:"hostDepartmentId"`
	LeadHospitalID   string    `json:"leadHospitalId"`
	LeadDepartmentID string    `json:"leadDepartmentId"`
	MemberHospitalID string    `json:"memberHospitalId"`
	Period           Window    `json:"period"`
	PlannedAt        time.Time `json:"plannedAt"`
}

// PlacementArrived records the practitioner's arrival at the host.
type PlacementArrived struct {
	PlacementID      string    `json:"placementId"`
	AllianceID       string    `json:"allianceId"`
	MemberHospitalID string    `json:"memberHospitalId"`
	ArrivedAt        time.Time `json:"arrivedAt"`
}

// PlacementCompleted records the end of the placement (the practitioner left the host).
type PlacementCompleted struct {
	PlacementID      string    `json:"placementId"`
	AllianceID       string    `json:"allianceId"`
	MemberHospitalID string    `json:"memberHospitalId"`
	CompletedAt      time.Time `json:"completedAt"`
}

// PlacementEvaluated records the host's evaluation of a completed placement.
type PlacementEvaluated struct {
	PlacementID      string    `json:"placementId"`
	AllianceID       string    `json:"allianceId"`
	MemberHospitalID string    `json:"memberHospitalId"`
	Outcome          string    `json:"outcome"`
	Comment          string    `json:"comment"`
	EvaluatedAt      time.Time `json:"evaluatedAt"`
}

// PlacementCancelled records that a planned placement will not take place.
type PlacementCancelled struct {
	PlacementID      string    `json:"placementId"`
	AllianceID       string    `json:"allianceId"`
	MemberHospitalID string    `json:"memberHospitalId"`
	Reason           string    `json:"reason"`
	CancelledAt      time.Time `json:"cancelledAt"`
}

// EventType implements Event.
func (PlacementPlanned) EventType() string { return "PlacementPlanned" }

// EventType implements Event.
func (PlacementArrived) EventType() string { return "PlacementArrived" }

// EventType implements Event.
func (PlacementCompleted) EventType() string { return "PlacementCompleted" }

// EventType implements Event.
func (PlacementEvaluated) EventType() string { return "PlacementEvaluated" }

// EventType implements Event.
func (PlacementCancelled) EventType() string { return "PlacementCancelled" }

func init() {
	Register[PlacementPlanned](PlacementAggregate, 1, nil)
	Register[PlacementArrived](PlacementAggregate, 1, nil)
	Register[PlacementCompleted](PlacementAggregate, 1, nil)
	Register[PlacementEvaluated](PlacementAggregate, 1, nil)
	Register[PlacementCancelled](PlacementAggregate, 1, nil)
}

// Evolve folds one event into the placement's state.
func (p Placement) Evolve(e Event) Placement {
	switch e := e.(type) {
	case PlacementPlanned:
		p = Placement{ID: e.PlacementID, AllianceID: e.AllianceID, Kind: e.Kind, Programme: e.Programme, Cohort: e.Cohort,
			PractitionerID: e.PractitionerID, PractitionerName: e.PractitionerName, HomeHospitalID: e.HomeHospitalID,
			HomeDepartmentID: e.HomeDepartmentID, HostHospitalID: e.HostHospitalID, HostDepartmentID: e.HostDepartmentID,
			LeadHospitalID: e.LeadHospitalID, LeadDepartmentID: e.LeadDepartmentID, MemberHospitalID: e.MemberHospitalID,
			Period: e.Period, Status: PlacementStatusPlanned, PlannedAt: e.PlannedAt}
	case PlacementArrived:
		p.Status, p.ArrivedAt, p.UpdatedAt = PlacementStatusArrived, e.ArrivedAt, later(p.UpdatedAt, e.ArrivedAt)
	case PlacementCompleted:
		p.Status, p.CompletedAt, p.UpdatedAt = PlacementStatusCompleted, e.CompletedAt, later(p.UpdatedAt, e.CompletedAt)
	case PlacementEvaluated:
		p.Evaluated, p.EvaluationOutcome, p.EvaluationComment, p.EvaluatedAt = true, e.Outcome, e.Comment, e.EvaluatedAt
		p.UpdatedAt = later(p.UpdatedAt, e.EvaluatedAt)
	case PlacementCancelled:
		p.Status, p.CancelledAt, p.CancelReason, p.UpdatedAt = PlacementStatusCancelled, e.CancelledAt, e.Reason, later(p.UpdatedAt, e.CancelledAt)
	}
	return p
}

// PlacementCommand is a command handled by the placement aggregate.
type PlacementCommand interface{ placementCommand() }

// PlanPlacement plans a placement in Alliance. By must be one of the alliance's lead
// departments (the alliance office arranges both directions). Practitioner is the
// directory entry of PractitionerID (zero when not registered): for a study placement
// an active practitioner of an active member, hosted by HostDepartmentID of the lead
// hospital; for a posting an active practitioner of the lead hospital, hosted by
// HostHospitalID (an active member) in HostDepartmentID. Host is the host hospital's
// directory entry, loaded by the caller, so the department can be checked.
type PlanPlacement struct {
	PlacementID      string
	Alliance         Alliance
	Kind             string
	Programme        string
	Cohort           string
	PractitionerID   string
	Practitioner     Practitioner
	HostHospitalID   string // a posting's member; for a study placement empty or the lead hospital
	HostDepartmentID string
	Host             Hospital
	Period           Window
	By               Actor
	At               time.Time
}

// RecordPlacementArrival records the arrival. The host or the home hospital records it,
// from ArriveEarly before the period starts until the period ends (and not in the future).
type RecordPlacementArrival struct {
	PlacementID string
	ArrivedAt   time.Time
	By          Actor
	At          time.Time
}

// CompletePlacement records the end of an arrived placement (host or home hospital), at
// most MaxPlacementOverrun after the planned end.
type CompletePlacement struct {
	PlacementID string
	CompletedAt time.Time
	By          Actor
	At          time.Time
}

// EvaluatePlacement records the host hospital's evaluation of a completed placement,
// once.
type EvaluatePlacement struct {
	PlacementID string
	Outcome     string
	Comment     string
	EvaluatedAt time.Time
	By          Actor
	At          time.Time
}

// CancelPlacement calls off a planned placement before arrival (a lead department of
// the alliance, or the member side), with a reason.
type CancelPlacement struct {
	PlacementID string
	Alliance    Alliance
	Reason      string
	By          Actor
	At          time.Time
}

func (PlanPlacement) placementCommand()          {}
func (RecordPlacementArrival) placementCommand() {}
func (CompletePlacement) placementCommand()      {}
func (EvaluatePlacement) placementCommand()      {}
func (CancelPlacement) placementCommand()        {}

// DecidePlacement decides a placement command against the placement's state.
func DecidePlacement(p Placement, c PlacementCommand) ([]Event, error) {
	switch c := c.(type) {
	case PlanPlacement:
		return decidePlanPlacement(p, c)
	case RecordPlacementArrival:
		if err := p.check(c.PlacementID, c.By, "record the arrival"); err != nil {
			return nil, err
		}
		if err := p.requireStatus("record the arrival of", PlacementStatusPlanned); err != nil {
			return nil, err
		}
		at, err := reportedInstant("arrivedAt", c.ArrivedAt, c.At, p.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if at.Before(p.Period.Start.Add(-ArriveEarly)) || !at.Before(p.Period.End) {
			return nil, Errorf(CodeInvalidInput, "arrival at %s is outside the placement's period %s (arrival opens %d days before the start)",
				formatInstant(at), p.Period, int(ArriveEarly/(24*time.Hour))).WithDetail("period", p.Period.String())
		}
		return []Event{PlacementArrived{PlacementID: p.ID, AllianceID: p.AllianceID, MemberHospitalID: p.MemberHospitalID, ArrivedAt: at}}, nil
	case CompletePlacement:
		if err := p.check(c.PlacementID, c.By, "complete"); err != nil {
			return nil, err
		}
		if err := p.requireStatus("complete", PlacementStatusArrived); err != nil {
			return nil, err
		}
		at, err := reportedInstant("completedAt", c.CompletedAt, c.At, p.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if at.After(p.Period.End.Add(MaxPlacementOverrun)) {
			return nil, Errorf(CodeInvalidInput, "completion at %s is more than %d days after the placement's planned end %s",
				formatInstant(at), int(MaxPlacementOverrun/(24*time.Hour)), formatInstant(p.Period.End))
		}
		return []Event{PlacementCompleted{PlacementID: p.ID, AllianceID: p.AllianceID, MemberHospitalID: p.MemberHospitalID, CompletedAt: at}}, nil
	case EvaluatePlacement:
		if err := p.check(c.PlacementID, c.By, "evaluate"); err != nil {
			return nil, err
		}
		if c.By.HospitalID != p.HostHospitalID {
			return nil, Errorf(CodeForbidden, "only the host hospital evaluates a placement")
		}
		if err := p.requireStatus("evaluate", PlacementStatusCompleted); err != nil {
			return nil, err
		}
		if p.Evaluated {
			return nil, Errorf(CodeForbiddenTransition, "placement %s was already evaluated", p.ID)
		}
		at, err := reportedInstant("evaluatedAt", c.EvaluatedAt, c.At, p.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if err := firstErr(validateOutcome(c.Outcome), talentNote("comment", c.Comment, true)); err != nil {
			return nil, err
		}
		return []Event{PlacementEvaluated{PlacementID: p.ID, AllianceID: p.AllianceID, MemberHospitalID: p.MemberHospitalID,
			Outcome: c.Outcome, Comment: c.Comment, EvaluatedAt: at}}, nil
	case CancelPlacement:
		if err := ValidateID("placementId", c.PlacementID); err != nil {
			return nil, err
		}
		if !p.Exists() || p.ID != c.PlacementID {
			return nil, Errorf(CodeNotFound, "placement %s does not exist", c.PlacementID)
		}
		lead := c.By.HospitalID == p.LeadHospitalID && (c.By.DepartmentID == p.LeadDepartmentID ||
			(c.Alliance.ID == p.AllianceID && c.Alliance.IsLeadDepartment(c.By.HospitalID, c.By.DepartmentID)))
		if !lead && (c.By.HospitalID == "" || c.By.HospitalID != p.MemberHospitalID) {
			return nil, Errorf(CodeForbidden, "only a lead department of the alliance or the member hospital may cancel a placement")
		}
		if err := p.requireStatus("cancel", PlacementStatusPlanned); err != nil {
			return nil, err
		}
		at, err := reportedInstant("at", time.Time{}, c.At, p.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxReason); err != nil {
			return nil, err
		}
		return []Event{PlacementCancelled{PlacementID: p.ID, AllianceID: p.AllianceID, MemberHospitalID: p.MemberHospitalID,
			Reason: c.Reason, CancelledAt: at}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown placement command %T", c)
}

func decidePlanPlacement(p Placement, c PlanPlacement) ([]Event, error) {
	if err := firstErr(ValidateID("placementId", c.PlacementID), validateInstant("at", c.At)); err != nil {
		return nil, err
	}
	if p.Exists() {
		return nil, Errorf(CodeAlreadyExists, "placement %s was already planned", c.PlacementID)
	}
	a := c.Alliance
	if !a.Exists() {
		return nil, Errorf(CodeNotFound, "the alliance does not exist")
	}
	if !a.IsLeadDepartment(c.By.HospitalID, c.By.DepartmentID) {
		return nil, a.leadOnly("plan a placement")
	}
	if err := firstErr(required("programme", c.Programme, maxProgrammeName), noIdentityNumber("programme", c.Programme),
		optional("cohort", c.Cohort, maxProgrammeName), noIdentityNumber("cohort", c.Cohort),
		ValidateID("practitionerId", c.PractitionerID), required("hostDepartmentId", c.HostDepartmentID, maxDepartmentID)); err != nil {
		return nil, err
	}
	if err := validateWindow(c.Period, MaxPlacementPeriod, "placement"); err != nil {
		return nil, err
	}
	// A placement may be entered up to MaxTalentBackdate after its period started (a
	// programme's earlier groups are recorded from paper), no earlier.
	if c.At.Sub(c.Period.Start) > MaxTalentBackdate {
		return nil, Errorf(CodeInvalidInput, "period %s started more than %d days ago; older records are not accepted",
			c.Period, int(MaxTalentBackdate/(24*time.Hour)))
	}
	ev := PlacementPlanned{PlacementID: c.PlacementID, AllianceID: a.ID, Kind: c.Kind, Programme: strings.TrimSpace(c.Programme),
		Cohort: strings.TrimSpace(c.Cohort), PractitionerID: c.PractitionerID, HostDepartmentID: c.HostDepartmentID,
		LeadHospitalID: a.LeadHospitalID, LeadDepartmentID: c.By.DepartmentID, Period: c.Period, PlannedAt: c.At}
	switch c.Kind {
	case PlacementStudy:
		if c.HostHospitalID != "" && c.HostHospitalID != a.LeadHospitalID {
			return nil, Errorf(CodeInvalidInput, "a study placement (进修) is hosted by the lead hospital %s; omit hostHospitalId or name it", a.LeadHospitalID)
		}
		if err := requireMemberPractitioner(a, c.Practitioner, c.PractitionerID, "practitioner"); err != nil {
			return nil, err
		}
		ev.HostHospitalID, ev.MemberHospitalID = a.LeadHospitalID, c.Practitioner.HomeHospitalID
	case PlacementPosting:
		if err := ValidateID("hostHospitalId", c.HostHospitalID); err != nil {
			return nil, err
		}
		if err := a.RequireActiveMember(c.HostHospitalID); err != nil {
			return nil, err
		}
		if err := requireLeadPractitioner(a, c.Practitioner, c.PractitionerID, "practitioner"); err != nil {
			return nil, err
		}
		ev.HostHospitalID, ev.MemberHospitalID = c.HostHospitalID, c.HostHospitalID
	default:
		return nil, Errorf(CodeInvalidInput, "kind %q must be one of %v", truncate(c.Kind, 20), placementKinds)
	}
	if !c.Host.Exists() || c.Host.ID != ev.HostHospitalID || !c.Host.HasDepartment(c.HostDepartmentID) {
		return nil, Errorf(CodeInvalidInput, "host hospital %s has no department %q", ev.HostHospitalID, truncate(c.HostDepartmentID, 64)).
			WithDetail("hostDepartmentId", c.HostDepartmentID)
	}
	ev.PractitionerName, ev.HomeHospitalID, ev.HomeDepartmentID = c.Practitioner.Name, c.Practitioner.HomeHospitalID, c.Practitioner.HomeDepartmentID
	return []Event{ev}, nil
}

// check runs the checks arrival, completion and evaluation share: a valid id naming
// this placement, and a caller of the home or the host hospital.
func (p Placement) check(id string, by Actor, what string) error {
	if err := ValidateID("placementId", id); err != nil {
		return err
	}
	if !p.Exists() || p.ID != id {
		return Errorf(CodeNotFound, "placement %s does not exist", id)
	}
	if !p.IsParty(by.HospitalID) {
		return Errorf(CodeForbidden, "only the home or the host hospital may %s a placement", what)
	}
	return nil
}

func (p Placement) requireStatus(what string, want string) error {
	if p.Status != want {
		return Errorf(CodeForbiddenTransition, "cannot %s placement %s: it is %s (allowed when %s)", what, p.ID, p.Status, want).
			WithDetail("status", p.Status)
	}
	return nil
}
