package domain

import "time"

// The plan's events. Each carries the plan id and the instant the command gave (At), so
// a plan view or an auditor can read the clinical timeline from the events alone; the
// envelope's actor says who acted. Step events also name the performing hospital,
// department and user, because "who gave this dose" belongs to the clinical record
// itself, not only to the audit metadata.

// PlanStep is one concrete, dated step of a patient's plan: a protocol step placed on
// the calendar (DueDate = StartDate + DayOffset days) and, once done, its record.
type PlanStep struct {
	StepID    string    `json:"stepId"`
	DayOffset int       `json:"dayOffset"`
	DueDate   time.Time `json:"dueDate"`
	Activity  string    `json:"activity"`
	Drug      string    `json:"drug,omitempty"`
	Dose      string    `json:"dose,omitempty"`
	Route     string    `json:"route,omitempty"`
	Notes     string    `json:"notes,omitempty"`
	Status    string    `json:"status"`
	// Version is the protocol version the step's content comes from; 0 for a
	// plan-specific step the lead added or changed for this patient. It lets a revision
	// onto a newer version tell the steps it must bring up to date from the lead's own
	// adjustments, and the withdrawal flag clear only once no pending step comes from
	// the withdrawn version. Plans initiated before it existed get the plan's version on
	// replay (Plan.Evolve), which is what their steps came from.
	Version int `json:"version,omitempty"`
	// Record says who completed or skipped the step, when, and what was given; nil while
	// the step is pending or after a cancellation.
	Record *PlanStepRecord `json:"record,omitempty"`
}

// PlanStepRecord is what happened at one step: the performing hospital, department and
// user, the instant, and the administered dose and notes or the reason for skipping.
type PlanStepRecord struct {
	HospitalID       string    `json:"hospitalId"`
	DepartmentID     string    `json:"departmentId,omitempty"`
	UserID           string    `json:"userId,omitempty"`
	At               time.Time `json:"at"`
	AdministeredDose string    `json:"administeredDose,omitempty"`
	Notes            string    `json:"notes,omitempty"`
	SkipReason       string    `json:"skipReason,omitempty"`
}

// PlanStepChange is one step change of a revision. For modify and add, the fields are
// the step as it must be from now on (the whole step, not a patch, so a revision reads
// without the previous state); for cancel only StepID counts. Version is the protocol
// version the new content comes from: set on the changes a move onto a newer version
// brings (PlanRevised.VersionChanges), always 0 on the lead's own changes.
type PlanStepChange struct {
	Action    string `json:"action"`
	StepID    string `json:"stepId"`
	Version   int    `json:"version,omitempty"`
	DayOffset int    `json:"dayOffset,omitempty"`
	Activity  string `json:"activity,omitempty"`
	Drug      string `json:"drug,omitempty"`
	Dose      string `json:"dose,omitempty"`
	Route     string `json:"route,omitempty"`
	Notes     string `json:"notes,omitempty"`
}

// PlanInitiated records that the lead department created a patient's plan from one
// published protocol version, with the concrete schedule that version yields.
type PlanInitiated struct {
	PlanID           string     `json:"planId"`
	AllianceID       string     `json:"allianceId"`
	ProtocolID       string     `json:"protocolId"`
	ProtocolVersion  int        `json:"protocolVersion"`
	ContentHash      string     `json:"contentHash"` // hash of the version's content the schedule was built from
	PatientRef       string     `json:"patientRef"`  // pseudonymous token, never identifying data
	StartDate        time.Time  `json:"startDate"`   // day 0, midnight UTC
	LeadHospitalID   string     `json:"leadHospitalId"`
	LeadDepartmentID string     `json:"leadDepartmentId"`
	Steps            []PlanStep `json:"steps"`
	At               time.Time  `json:"at"`
}

// PlanHandedOver records a downward referral (下转): the lead hands the patient to a
// member hospital, which becomes responsible. The member's declared local deviations
// from the protocol are copied here so the plan view shows, next to each step, where
// this hospital will differ (e.g. a drug missing from its formulary).
type PlanHandedOver struct {
	PlanID          string           `json:"planId"`
	FromHospitalID  string           `json:"fromHospitalId"`
	ToHospitalID    string           `json:"toHospitalId"`
	AdoptedVersion  int              `json:"adoptedVersion"`
	LocalDeviations []LocalDeviation `json:"localDeviations,omitempty"`
	At              time.Time        `json:"at"`
}

// PlanStepCompleted records that the responsible hospital carried out one step.
type PlanStepCompleted struct {
	PlanID           string    `json:"planId"`
	StepID           string    `json:"stepId"`
	HospitalID       string    `json:"hospitalId"`
	DepartmentID     string    `json:"departmentId,omitempty"`
	UserID           string    `json:"userId,omitempty"`
	AdministeredDose string    `json:"administeredDose,omitempty"` // what was actually given, when it differs or must be documented
	Notes            string    `json:"notes,omitempty"`
	At               time.Time `json:"at"`
}

// PlanStepSkipped records that the responsible hospital deliberately did not carry out
// one step, and why (e.g. neutropenia, patient refused).
type PlanStepSkipped struct {
	PlanID       string    `json:"planId"`
	StepID       string    `json:"stepId"`
	HospitalID   string    `json:"hospitalId"`
	DepartmentID string    `json:"departmentId,omitempty"`
	UserID       string    `json:"userId,omitempty"`
	Reason       string    `json:"reason"`
	At           time.Time `json:"at"`
}

// PlanRevised records a numbered revision by the lead: the reason, the exact step
// changes, and, when the plan moved to a newer published protocol version, the version
// and its content hash. FlagCleared says the revision lifted a withdrawn-version flag.
//
// VersionChanges are the step changes the move onto ToVersion brought (the new
// version's steps; applied first), Changes the lead's plan-specific changes on top
// (applied after). Both are stated in full, so replay never needs the protocol.
// LocalDeviationsVersion, when not 0, says the responsible member's declared deviations
// were re-read from its adoption of that version and are now LocalDeviations. Revisions
// recorded before these fields existed have them empty and replay as they always did
// (the fields are additive, so the schema version stays 1).
type PlanRevised struct {
	PlanID                 string           `json:"planId"`
	Revision               int              `json:"revision"`
	Reason                 string           `json:"reason"`
	FromVersion            int              `json:"fromVersion"`
	ToVersion              int              `json:"toVersion"`
	ContentHash            string           `json:"contentHash"`
	VersionChanges         []PlanStepChange `json:"versionChanges,omitempty"`
	Changes                []PlanStepChange `json:"changes,omitempty"`
	FlagCleared            bool             `json:"flagCleared,omitempty"`
	LocalDeviationsVersion int              `json:"localDeviationsVersion,omitempty"`
	LocalDeviations        []LocalDeviation `json:"localDeviations,omitempty"`
	At                     time.Time        `json:"at"`
}

// PlanDeviationReported records that the responsible hospital departed from the plan
// (a delayed day, a reduced dose, a substituted drug) and told the lead.
type PlanDeviationReported struct {
	PlanID       string    `json:"planId"`
	DeviationID  string    `json:"deviationId"`
	StepID       string    `json:"stepId,omitempty"`
	Description  string    `json:"description"`
	Severity     string    `json:"severity"`
	HospitalID   string    `json:"hospitalId"`
	DepartmentID string    `json:"departmentId,omitempty"`
	UserID       string    `json:"userId,omitempty"`
	At           time.Time `json:"at"`
}

// PlanDeviationAcknowledged records that the lead reviewed a reported deviation.
type PlanDeviationAcknowledged struct {
	PlanID      string    `json:"planId"`
	DeviationID string    `json:"deviationId"`
	Note        string    `json:"note,omitempty"`
	At          time.Time `json:"at"`
}

// PlanEscalated records an upward referral (上转): the responsible hospital sent the
// patient one link up the plan's chain (to the lead, or with three tiers to the middle
// tier that handed the plan on), which is responsible again. Urgent marks the green
// channel (绿色通道), which the receiving ward must answer first.
type PlanEscalated struct {
	PlanID         string `json:"planId"`
	FromHospitalID string `json:"fromHospitalId"`
	ToHospitalID   string `json:"toHospitalId"`
	Reason         string `json:"reason"`
	Urgent         bool   `json:"urgent"`
	// LocalDeviations are the receiving hospital's declared deviations when it is a
	// middle tier taking the plan back (from its adoption of the plan's version); empty
	// when the lead receives it. Escalations recorded before three tiers have none,
	// which is what they meant (the lead follows its own protocol).
	LocalDeviations []LocalDeviation `json:"localDeviations,omitempty"`
	At              time.Time        `json:"at"`
}

// PlanCompleted records that the lead closed the plan with every step accounted for.
type PlanCompleted struct {
	PlanID string    `json:"planId"`
	At     time.Time `json:"at"`
}

// PlanDiscontinued records that the lead stopped the plan before it ran its course.
type PlanDiscontinued struct {
	PlanID string    `json:"planId"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// PlanFlagged records that the protocol version the plan follows was withdrawn for
// safety: until the lead revises the plan onto a published version, no further step may
// be recorded as completed.
type PlanFlagged struct {
	PlanID     string    `json:"planId"`
	ProtocolID string    `json:"protocolId"`
	Version    int       `json:"version"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// EventType implements Event.
func (PlanInitiated) EventType() string { return "PlanInitiated" }

// EventType implements Event.
func (PlanHandedOver) EventType() string { return "PlanHandedOver" }

// EventType implements Event.
func (PlanStepCompleted) EventType() string { return "PlanStepCompleted" }

// EventType implements Event.
func (PlanStepSkipped) EventType() string { return "PlanStepSkipped" }

// EventType implements Event.
func (PlanRevised) EventType() string { return "PlanRevised" }

// EventType implements Event.
func (PlanDeviationReported) EventType() string { return "PlanDeviationReported" }

// EventType implements Event.
func (PlanDeviationAcknowledged) EventType() string { return "PlanDeviationAcknowledged" }

// EventType implements Event.
func (PlanEscalated) EventType() string { return "PlanEscalated" }

// EventType implements Event.
func (PlanCompleted) EventType() string { return "PlanCompleted" }

// EventType implements Event.
func (PlanDiscontinued) EventType() string { return "PlanDiscontinued" }

// EventType implements Event.
func (PlanFlagged) EventType() string { return "PlanFlagged" }

func init() {
	Register[PlanInitiated](PlanAggregate, 1, nil)
	Register[PlanHandedOver](PlanAggregate, 1, nil)
	Register[PlanStepCompleted](PlanAggregate, 1, nil)
	Register[PlanStepSkipped](PlanAggregate, 1, nil)
	Register[PlanRevised](PlanAggregate, 1, nil)
	Register[PlanDeviationReported](PlanAggregate, 1, nil)
	Register[PlanDeviationAcknowledged](PlanAggregate, 1, nil)
	Register[PlanEscalated](PlanAggregate, 1, nil)
	Register[PlanCompleted](PlanAggregate, 1, nil)
	Register[PlanDiscontinued](PlanAggregate, 1, nil)
	Register[PlanFlagged](PlanAggregate, 1, nil)
}
