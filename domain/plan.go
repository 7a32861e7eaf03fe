package domain

import (
	"slices"
	"time"
)

// PlanAggregate names the shared-treatment-plan aggregate in the event catalogue.
const PlanAggregate = "plan"

// PlanStream is the stream of one patient's shared treatment plan (共享治疗方案): every
// handover, administered step, revision and deviation, so an auditor can replay the plan
// as it stood at any instant.
func PlanStream(id string) string { return "plan-" + id }

// Plan statuses. A plan is active until the lead completes or discontinues it; a closed
// plan never changes again.
const (
	PlanStatusActive       = "active"
	PlanStatusCompleted    = "completed"
	PlanStatusDiscontinued = "discontinued"
)

// Step statuses. Pending is the only status a step leaves: completed and skipped record
// what happened to the patient and are final; cancelled is set by a lead's revision.
const (
	StepStatusPending   = "pending"
	StepStatusCompleted = "completed"
	StepStatusSkipped   = "skipped"
	StepStatusCancelled = "cancelled"
)

// Deviation severities, as a member reports them. Major deviations are the ones a lead
// must look at before the next step (a halved dose, a missed drug).
const (
	DeviationSeverityMinor = "minor"
	DeviationSeverityMajor = "major"
)

var deviationSeverities = []string{DeviationSeverityMinor, DeviationSeverityMajor}

// Step change actions of a revision.
const (
	PlanChangeModify = "modify" // replace a pending step's day, activity, drug, dose, route and notes
	PlanChangeAdd    = "add"    // add a new pending step
	PlanChangeCancel = "cancel" // cancel a pending step
)

var planChangeActions = []string{PlanChangeModify, PlanChangeAdd, PlanChangeCancel}

// Limits of the plan aggregate, in runes. Step fields of a revision follow the protocol's
// own step rules (validateStep), so a revised step is as well-formed as a published one.
const (
	planMaxText        = 1000 // reasons, descriptions, acknowledgement notes
	planMaxNotes       = 2000 // notes on an administered step
	planMaxStepChanges = 200
)

// PlanDeviation is a departure from the plan reported by the responsible hospital; it is
// open until the lead acknowledges it.
type PlanDeviation struct {
	DeviationID    string
	StepID         string
	Description    string
	Severity       string
	HospitalID     string
	ReportedAt     time.Time
	Acknowledged   bool
	AckNote        string
	AcknowledgedAt time.Time
}

// PlanFlag says the protocol version the plan follows was withdrawn; Version is 0 while
// the plan is not flagged.
type PlanFlag struct {
	Version int
	Reason  string
	At      time.Time
}

// Plan is the state of one patient's shared treatment plan.
type Plan struct {
	ID               string
	AllianceID       string
	ProtocolID       string
	ProtocolVersion  int
	ContentHash      string
	PatientRef       string
	StartDate        time.Time
	LeadHospitalID   string
	LeadDepartmentID string
	// ResponsibleHospital is the hospital treating the patient now: the lead hospital
	// until a handover, the member after it (a member of the member's own alliance after
	// a hand-on), the hospital one link up after an escalation.
	ResponsibleHospital string
	// LocalDeviations are the responsible member's declared deviations from the protocol
	// (from its adoption, copied at handover); empty while the lead is responsible.
	LocalDeviations []LocalDeviation
	// Chain is the line of responsibility from the lead down to the responsible hospital
	// (see PlanCustody): [lead], [lead, member] after a handover, [中山, 徐汇, 枫林] after
	// 徐汇 handed the plan on. An escalation goes one link up.
	Chain []PlanCustody
	// LastEscalation is the link the last escalation left: its sender and the alliance
	// through which the sender held the plan (a retried escalation's referral goes
	// through the same alliance as the first).
	LastEscalation PlanCustody
	Status         string
	Steps          []PlanStep
	Revision       int // number of the last revision; 0 before the first
	Deviations     []PlanDeviation
	Flag           PlanFlag
	InitiatedAt    time.Time
	ClosedAt       time.Time
	CloseReason    string // why the plan was discontinued
}

// Exists reports whether the plan has been initiated.
func (p Plan) Exists() bool { return p.ID != "" }

// IsClosed reports whether the plan was completed or discontinued; nothing changes it then.
func (p Plan) IsClosed() bool {
	return p.Status == PlanStatusCompleted || p.Status == PlanStatusDiscontinued
}

// ResponsibleHospitalID returns the hospital treating the patient now, which alone may
// record steps and report deviations.
func (p Plan) ResponsibleHospitalID() string { return p.ResponsibleHospital }

// HeldByLead reports whether the lead hospital is responsible for the patient.
func (p Plan) HeldByLead() bool { return p.Exists() && p.ResponsibleHospital == p.LeadHospitalID }

// Flagged reports whether the plan's protocol version was withdrawn and the lead has not
// yet revised the plan onto a published version.
func (p Plan) Flagged() bool { return p.Flag.Version != 0 }

// Step returns the step with that id.
func (p Plan) Step(stepID string) (PlanStep, bool) {
	i := p.stepIndex(stepID)
	if i < 0 {
		return PlanStep{}, false
	}
	return p.Steps[i], true
}

// NextDue returns the pending step with the earliest due date (the first in schedule
// order among equals), so a ward's work list shows what the patient needs next.
func (p Plan) NextDue() (PlanStep, bool) {
	var next PlanStep
	found := false
	for _, s := range p.Steps {
		if s.Status == StepStatusPending && (!found || s.DueDate.Before(next.DueDate)) {
			next, found = s, true
		}
	}
	return next, found
}

// PendingSteps counts the steps still to be done.
func (p Plan) PendingSteps() int {
	n := 0
	for _, s := range p.Steps {
		if s.Status == StepStatusPending {
			n++
		}
	}
	return n
}

// OpenDeviations returns the reported deviations the lead has not yet acknowledged, in
// reporting order.
func (p Plan) OpenDeviations() []PlanDeviation {
	var out []PlanDeviation
	for _, d := range p.Deviations {
		if !d.Acknowledged {
			out = append(out, d)
		}
	}
	return out
}

// Evolve folds one event into the plan's state. Slices are copied before they change so
// a state handed out earlier (e.g. a replay "as of" an instant) never changes under its
// holder.
func (p Plan) Evolve(e Event) Plan {
	switch e := e.(type) {
	case PlanInitiated:
		p = Plan{ID: e.PlanID, AllianceID: e.AllianceID, ProtocolID: e.ProtocolID, ProtocolVersion: e.ProtocolVersion,
			ContentHash: e.ContentHash, PatientRef: e.PatientRef, StartDate: e.StartDate,
			LeadHospitalID: e.LeadHospitalID, LeadDepartmentID: e.LeadDepartmentID, ResponsibleHospital: e.LeadHospitalID,
			Status: PlanStatusActive, Steps: stepsOfVersion(e.Steps, e.ProtocolVersion), InitiatedAt: e.At,
			Chain: []PlanCustody{{HospitalID: e.LeadHospitalID, AllianceID: e.AllianceID, Since: e.At}}}
	case PlanHandedOver:
		p.ResponsibleHospital = e.ToHospitalID
		p.LocalDeviations = slices.Clone(e.LocalDeviations)
		p.Chain = append(slices.Clone(p.Chain), PlanCustody{HospitalID: e.ToHospitalID, AllianceID: p.AllianceID, Since: e.At})
	case PlanHandedOn:
		p.ResponsibleHospital = e.ToHospitalID
		p.LocalDeviations = slices.Clone(e.LocalDeviations)
		p.Chain = append(slices.Clone(p.Chain), PlanCustody{HospitalID: e.ToHospitalID, AllianceID: e.ViaAllianceID, Since: e.At})
	case PlanStepCompleted:
		p.Steps = p.withStep(e.StepID, StepStatusCompleted, &PlanStepRecord{HospitalID: e.HospitalID,
			DepartmentID: e.DepartmentID, UserID: e.UserID, At: e.At, AdministeredDose: e.AdministeredDose, Notes: e.Notes})
	case PlanStepSkipped:
		p.Steps = p.withStep(e.StepID, StepStatusSkipped, &PlanStepRecord{HospitalID: e.HospitalID,
			DepartmentID: e.DepartmentID, UserID: e.UserID, At: e.At, SkipReason: e.Reason})
	case PlanRevised:
		p.Steps = p.applyChanges(e.VersionChanges)
		p.Steps = p.applyChanges(e.Changes)
		p.Revision = e.Revision
		if e.LocalDeviationsVersion != 0 {
			p.LocalDeviations = slices.Clone(e.LocalDeviations)
		}
		p.ProtocolVersion, p.ContentHash = e.ToVersion, e.ContentHash
		if e.FlagCleared {
			p.Flag = PlanFlag{}
		}
	case PlanDeviationReported:
		p.Deviations = append(slices.Clone(p.Deviations), PlanDeviation{DeviationID: e.DeviationID, StepID: e.StepID,
			Description: e.Description, Severity: e.Severity, HospitalID: e.HospitalID, ReportedAt: e.At})
	case PlanDeviationAcknowledged:
		if i := p.deviationIndex(e.DeviationID); i >= 0 {
			p.Deviations = slices.Clone(p.Deviations)
			p.Deviations[i].Acknowledged, p.Deviations[i].AckNote, p.Deviations[i].AcknowledgedAt = true, e.Note, e.At
		}
	case PlanEscalated:
		p.ResponsibleHospital = e.ToHospitalID
		p.LocalDeviations = slices.Clone(e.LocalDeviations)
		p.LastEscalation = PlanCustody{HospitalID: e.FromHospitalID, AllianceID: p.HeldThrough(), Since: e.At}
		p.Chain = p.chainUpTo(e.ToHospitalID)
	case PlanCompleted:
		p.Status, p.ClosedAt = PlanStatusCompleted, e.At
	case PlanDiscontinued:
		p.Status, p.ClosedAt, p.CloseReason = PlanStatusDiscontinued, e.At, e.Reason
	case PlanFlagged:
		p.Flag = PlanFlag{Version: e.Version, Reason: e.Reason, At: e.At}
	}
	return p
}

func (p Plan) stepIndex(stepID string) int {
	return slices.IndexFunc(p.Steps, func(s PlanStep) bool { return s.StepID == stepID })
}

func (p Plan) deviationIndex(deviationID string) int {
	return slices.IndexFunc(p.Deviations, func(d PlanDeviation) bool { return d.DeviationID == deviationID })
}

// withStep returns a copy of the steps with one step's status and record set.
func (p Plan) withStep(stepID, status string, rec *PlanStepRecord) []PlanStep {
	i := p.stepIndex(stepID)
	if i < 0 {
		return p.Steps
	}
	steps := slices.Clone(p.Steps)
	steps[i].Status, steps[i].Record = status, rec
	return steps
}

// stepsOfVersion returns a copy of an initiated plan's steps, each marked as coming from
// the plan's version; plans initiated before steps carried their version have 0 there.
func stepsOfVersion(steps []PlanStep, version int) []PlanStep {
	out := slices.Clone(steps)
	for i := range out {
		if out[i].Version == 0 {
			out[i].Version = version
		}
	}
	return out
}

// applyChanges returns a copy of the steps with a revision's changes applied in order.
// A change's Version becomes the step's: the new version's for the changes a move onto
// it brings, 0 (plan-specific) for the lead's own.
func (p Plan) applyChanges(changes []PlanStepChange) []PlanStep {
	steps := slices.Clone(p.Steps)
	for _, c := range changes {
		i := slices.IndexFunc(steps, func(s PlanStep) bool { return s.StepID == c.StepID })
		switch {
		case c.Action == PlanChangeAdd && i < 0:
			steps = append(steps, PlanStep{StepID: c.StepID, DayOffset: c.DayOffset, DueDate: planDueDate(p.StartDate, c.DayOffset),
				Activity: c.Activity, Drug: c.Drug, Dose: c.Dose, Route: c.Route, Notes: c.Notes, Status: StepStatusPending, Version: c.Version})
		case c.Action == PlanChangeModify && i >= 0:
			s := &steps[i]
			s.DayOffset, s.DueDate = c.DayOffset, planDueDate(p.StartDate, c.DayOffset)
			s.Activity, s.Drug, s.Dose, s.Route, s.Notes = c.Activity, c.Drug, c.Dose, c.Route, c.Notes
			s.Version = c.Version
		case c.Action == PlanChangeCancel && i >= 0:
			steps[i].Status = StepStatusCancelled
		}
	}
	return steps
}

// planDueDate places a day offset on the calendar.
func planDueDate(start time.Time, dayOffset int) time.Time { return start.AddDate(0, 0, dayOffset) }

// planStartDate keeps only the calendar date of t (in t's own location), as midnight
// UTC, so due dates are whole days whatever clock the caller's time came from.
func planStartDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// PlanCommand is a command handled by the plan aggregate. Facts owned by other
// aggregates (the alliance's lead and members, the protocol's published versions, a
// member's adoption) are loaded by the caller and carried on the command.
type PlanCommand interface{ planCommand() }

// InitiatePlan creates a patient's plan from one published version of Protocol. Only
// the alliance's lead department may plan treatment; the lead hospital is responsible
// for the patient until it hands the plan over.
type InitiatePlan struct {
	PlanID     string
	Alliance   Alliance
	Protocol   Protocol
	Version    int
	PatientRef string    // pseudonymous token pr_..., derived by the HTTP layer
	StartDate  time.Time // day 0 of the schedule; only its calendar date counts
	By         Actor
	At         time.Time
}

// HandOverPlan hands the patient down to a member hospital (下转). Alliance is the
// plan's alliance and Adoption the receiving hospital's adoption of the plan's protocol,
// both loaded by the caller. Only the lead department hands over, only while the lead
// holds the plan (one hospital is responsible at a time: a member hands the patient back
// by escalating), never while the plan is flagged, and only to an active member that has
// adopted exactly the plan's protocol version.
type HandOverPlan struct {
	PlanID       string
	ToHospitalID string
	Alliance     Alliance
	Adoption     Adoption
	By           Actor
	At           time.Time
}

// CompletePlanStep records that the responsible hospital carried out one step, with
// the dose actually administered and notes when they matter. Any department of the
// responsible hospital may record (the day ward, the pharmacy); the event names the
// department and user. Refused while the plan is flagged: no further dose is given
// under a version withdrawn for safety until the lead has revised the plan.
type CompletePlanStep struct {
	PlanID           string
	StepID           string
	AdministeredDose string
	Notes            string
	By               Actor
	At               time.Time
}

// SkipPlanStep records that the responsible hospital did not carry out one step, and why.
// It is allowed while the plan is flagged: not giving a step is always safe to record.
type SkipPlanStep struct {
	PlanID string
	StepID string
	Reason string
	By     Actor
	At     time.Time
}

// RevisePlan changes the plan's pending steps and, when Version names a newer version
// than the plan's, moves the plan onto it (Protocol must then be the plan's protocol, so
// the version can be checked as published and its steps brought in). Version 0 keeps the
// current version. Only the lead department revises, also while a member holds the
// plan; then Adoption is that member's adoption of the plan's protocol (loaded by the
// caller), which must be an active adoption of the version the plan moves to. A revision
// that stays on a withdrawn version (e.g. to cancel the unsafe step at once) is allowed
// but leaves the flag; see decideRevisePlan for when it clears.
type RevisePlan struct {
	PlanID   string
	Reason   string
	Version  int
	Protocol Protocol
	Adoption Adoption
	Changes  []PlanStepChange
	By       Actor
	At       time.Time
}

// ReportPlanDeviation records a departure from the plan by the responsible hospital
// (a member, or the lead while it holds the plan). StepID is optional: a deviation may
// concern the plan as a whole. DeviationID is a ULID chosen by the caller, so a retry
// is recognised (already_exists) instead of reporting twice.
type ReportPlanDeviation struct {
	PlanID      string
	DeviationID string
	StepID      string
	Description string
	Severity    string
	By          Actor
	At          time.Time
}

// AcknowledgePlanDeviation records that the lead reviewed a reported deviation.
type AcknowledgePlanDeviation struct {
	PlanID      string
	DeviationID string
	Note        string
	By          Actor
	At          time.Time
}

// EscalatePlan sends the patient one link up the plan's chain (上转): to the lead after
// a handover, to the hospital that handed the plan on after a hand-on (a community
// centre escalates to 徐汇, which may escalate on to 中山). Urgent asks for the green
// channel (绿色通道). Only the responsible hospital escalates. It needs no membership
// fact and works on a flagged plan: sending a patient back must never be blocked, even
// if the member was suspended after the handover. Adoption is the receiving hospital's
// adoption of the plan's protocol when that is not the lead (loaded by the caller): its
// declared deviations become the plan's again if it still follows the plan's version.
type EscalatePlan struct {
	PlanID   string
	Reason   string
	Urgent   bool
	Adoption Adoption
	By       Actor
	At       time.Time
}

// CompletePlan closes a plan whose every step is completed, skipped or cancelled and
// whose every reported deviation the lead has acknowledged. Only the lead department
// completes, whoever holds the plan: completion is the lead's clinical judgement that the
// course is over, and the acknowledgement rule makes sure it reviewed every deviation.
// A plan with steps still pending is discontinued, not completed.
type CompletePlan struct {
	PlanID string
	By     Actor
	At     time.Time
}

// DiscontinuePlan stops a plan before it ran its course (e.g. disease progression,
// transfer out of the alliance, death).
type DiscontinuePlan struct {
	PlanID string
	Reason string
	By     Actor
	At     time.Time
}

// FlagProtocolVersionWithdrawn is issued by the service for every plan on a protocol
// version the lead withdrew. It carries no actor: it follows from the withdrawal, whose
// own event names who withdrew the version and why.
type FlagProtocolVersionWithdrawn struct {
	PlanID     string
	ProtocolID string
	Version    int
	Reason     string
	At         time.Time
}

func (InitiatePlan) planCommand()                 {}
func (HandOverPlan) planCommand()                 {}
func (CompletePlanStep) planCommand()             {}
func (SkipPlanStep) planCommand()                 {}
func (RevisePlan) planCommand()                   {}
func (ReportPlanDeviation) planCommand()          {}
func (AcknowledgePlanDeviation) planCommand()     {}
func (EscalatePlan) planCommand()                 {}
func (CompletePlan) planCommand()                 {}
func (DiscontinuePlan) planCommand()              {}
func (FlagProtocolVersionWithdrawn) planCommand() {}
func (HandOnPlan) planCommand()                   {}

// DecidePlan decides a plan command against the plan's current state.
func DecidePlan(p Plan, c PlanCommand) ([]Event, error) {
	switch c := c.(type) {
	case InitiatePlan:
		return decideInitiatePlan(p, c)
	case HandOverPlan:
		return decideHandOverPlan(p, c)
	case HandOnPlan:
		return decideHandOnPlan(p, c)
	case CompletePlanStep:
		return decideCompletePlanStep(p, c)
	case SkipPlanStep:
		if err := p.requireOpen(c.PlanID, c.At); err != nil {
			return nil, err
		}
		if err := firstErr(required("stepId", c.StepID, maxStepID), required("reason", c.Reason, planMaxText)); err != nil {
			return nil, err
		}
		if err := p.requirePendingStepOfResponsible(c.StepID, c.By, "skip"); err != nil {
			return nil, err
		}
		return []Event{PlanStepSkipped{PlanID: p.ID, StepID: c.StepID, HospitalID: c.By.HospitalID,
			DepartmentID: c.By.DepartmentID, UserID: c.By.UserID, Reason: c.Reason, At: c.At}}, nil
	case RevisePlan:
		return decideRevisePlan(p, c)
	case ReportPlanDeviation:
		return decideReportPlanDeviation(p, c)
	case AcknowledgePlanDeviation:
		if err := p.requireOpen(c.PlanID, c.At); err != nil {
			return nil, err
		}
		if err := firstErr(ValidateID("deviationId", c.DeviationID), optional("note", c.Note, planMaxText)); err != nil {
			return nil, err
		}
		if !p.isLead(c.By) {
			return nil, p.leadOnly("acknowledge deviations")
		}
		i := p.deviationIndex(c.DeviationID)
		if i < 0 {
			return nil, Errorf(CodeNotFound, "plan %s has no deviation %s", p.ID, c.DeviationID)
		}
		if d := p.Deviations[i]; d.Acknowledged {
			return nil, Errorf(CodeForbiddenTransition, "deviation %s of plan %s was already acknowledged at %s",
				d.DeviationID, p.ID, d.AcknowledgedAt.Format(time.RFC3339))
		}
		return []Event{PlanDeviationAcknowledged{PlanID: p.ID, DeviationID: c.DeviationID, Note: c.Note, At: c.At}}, nil
	case EscalatePlan:
		if err := p.requireOpen(c.PlanID, c.At); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, planMaxText); err != nil {
			return nil, err
		}
		if p.HeldByLead() {
			return nil, Errorf(CodeForbiddenTransition, "plan %s is already held by its lead hospital; only a plan handed over to a member can be escalated", p.ID)
		}
		if c.By.HospitalID != p.ResponsibleHospital {
			return nil, p.responsibleOnly("escalate it")
		}
		to := p.EscalationTarget()
		return []Event{PlanEscalated{PlanID: p.ID, FromHospitalID: p.ResponsibleHospital, ToHospitalID: to,
			Reason: c.Reason, Urgent: c.Urgent, LocalDeviations: p.returningDeviations(to, c.Adoption), At: c.At}}, nil
	case CompletePlan:
		if err := p.requireOpen(c.PlanID, c.At); err != nil {
			return nil, err
		}
		if !p.isLead(c.By) {
			return nil, p.leadOnly("complete it")
		}
		if n := p.PendingSteps(); n > 0 {
			return nil, Errorf(CodeForbiddenTransition, "plan %s still has %d pending step(s); record or skip them, cancel them by a revision, or discontinue the plan", p.ID, n).
				WithDetail("pendingSteps", n)
		}
		if n := len(p.OpenDeviations()); n > 0 {
			return nil, Errorf(CodeForbiddenTransition, "plan %s has %d unacknowledged deviation(s); the lead department must acknowledge them before completing the plan", p.ID, n).
				WithDetail("openDeviations", n)
		}
		return []Event{PlanCompleted{PlanID: p.ID, At: c.At}}, nil
	case DiscontinuePlan:
		if err := p.requireOpen(c.PlanID, c.At); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, planMaxText); err != nil {
			return nil, err
		}
		if !p.isLead(c.By) {
			return nil, p.leadOnly("discontinue it")
		}
		return []Event{PlanDiscontinued{PlanID: p.ID, Reason: c.Reason, At: c.At}}, nil
	case FlagProtocolVersionWithdrawn:
		return decideFlagPlan(p, c)
	}
	return nil, Errorf(CodeInvalidInput, "unknown plan command %T", c)
}

func decideInitiatePlan(p Plan, c InitiatePlan) ([]Event, error) {
	if p.Exists() {
		return nil, Errorf(CodeAlreadyExists, "plan %s already exists", c.PlanID)
	}
	if err := firstErr(
		ValidateID("planId", c.PlanID),
		validatePatientRef(c.PatientRef),
		validatePlanVersion(c.Version),
		validateCommandTime(c.At),
	); err != nil {
		return nil, err
	}
	if c.StartDate.IsZero() {
		return nil, Errorf(CodeInvalidInput, "startDate (day 0 of the schedule) is required")
	}
	if err := checkInstant("startDate", c.StartDate); err != nil {
		return nil, err
	}
	if !c.Alliance.Exists() {
		return nil, Errorf(CodeNotFound, "the plan's alliance does not exist")
	}
	if !c.Alliance.IsLead(c.By.HospitalID, c.By.DepartmentID) {
		return nil, Errorf(CodeForbidden, "only a lead department of the alliance may initiate a treatment plan")
	}
	if !c.Protocol.Exists() {
		return nil, Errorf(CodeNotFound, "the plan's protocol does not exist")
	}
	if c.Protocol.AllianceID != c.Alliance.ID {
		return nil, Errorf(CodeInvalidInput, "protocol %s belongs to alliance %s, not to alliance %s", c.Protocol.ID, c.Protocol.AllianceID, c.Alliance.ID)
	}
	v, err := c.Protocol.RequirePublished(c.Version)
	if err != nil {
		return nil, err
	}
	if len(v.Steps) == 0 {
		return nil, Errorf(CodeInvalidInput, "version %d of protocol %s has no steps to schedule", v.Number, c.Protocol.ID)
	}
	start := planStartDate(c.StartDate)
	steps := make([]PlanStep, 0, len(v.Steps))
	for _, s := range v.Steps {
		if err := checkDueDate(start, s.StepID, s.DayOffset); err != nil {
			return nil, err
		}
		steps = append(steps, PlanStep{StepID: s.StepID, DayOffset: s.DayOffset, DueDate: planDueDate(start, s.DayOffset),
			Activity: s.Activity, Drug: s.Drug, Dose: s.Dose, Route: s.Route, Notes: s.Notes, Status: StepStatusPending, Version: v.Number})
	}
	return []Event{PlanInitiated{PlanID: c.PlanID, AllianceID: c.Alliance.ID, ProtocolID: c.Protocol.ID,
		ProtocolVersion: v.Number, ContentHash: v.ContentHash, PatientRef: c.PatientRef, StartDate: start,
		LeadHospitalID: c.Alliance.LeadHospitalID, LeadDepartmentID: c.By.DepartmentID, Steps: steps, At: c.At}}, nil
}

// decideHandOverPlan requires the receiving member to have adopted exactly the plan's
// protocol version: a member on an older version may not know a step or dose of it, and
// a newer version may differ from the plan's schedule. The lead either waits for the
// member to adopt the plan's version or revises the plan onto the member's version first.
func decideHandOverPlan(p Plan, c HandOverPlan) ([]Event, error) {
	if err := p.requireOpen(c.PlanID, c.At); err != nil {
		return nil, err
	}
	if err := ValidateID("toHospitalId", c.ToHospitalID); err != nil {
		return nil, err
	}
	if !p.isLead(c.By) {
		return nil, p.leadOnly("hand it over")
	}
	if c.Alliance.ID != p.AllianceID {
		return nil, Errorf(CodeInvalidInput, "the alliance passed (%q) is not the plan's alliance %s", truncate(c.Alliance.ID, 40), p.AllianceID)
	}
	if !p.HeldByLead() {
		return nil, Errorf(CodeForbiddenTransition, "plan %s is held by hospital %s; it must escalate the patient back to the lead before the plan can be handed over again",
			p.ID, p.ResponsibleHospital).WithDetail("responsibleHospitalId", p.ResponsibleHospital)
	}
	if p.Flagged() {
		return nil, Errorf(CodeForbiddenTransition, "plan %s follows version %d of its protocol, which was withdrawn for safety; revise the plan onto a published version before handing it over",
			p.ID, p.ProtocolVersion)
	}
	if err := c.Alliance.RequireActiveMember(c.ToHospitalID); err != nil {
		return nil, err
	}
	a := c.Adoption
	if a.HospitalID != "" && (a.HospitalID != c.ToHospitalID || a.ProtocolID != p.ProtocolID) {
		return nil, Errorf(CodeInvalidInput, "the adoption passed is hospital %s's adoption of protocol %s, not hospital %s's adoption of protocol %s",
			truncate(a.HospitalID, 40), truncate(a.ProtocolID, 40), c.ToHospitalID, p.ProtocolID)
	}
	if !a.Active() {
		return nil, Errorf(CodeForbiddenTransition, "hospital %s has no active adoption of protocol %s; it must adopt version %d before it can take over this plan",
			c.ToHospitalID, p.ProtocolID, p.ProtocolVersion)
	}
	if a.Version != p.ProtocolVersion {
		return nil, Errorf(CodeForbiddenTransition, "hospital %s follows version %d of protocol %s but the plan follows version %d; the member must adopt version %d, or the lead must revise the plan onto version %d",
			c.ToHospitalID, a.Version, p.ProtocolID, p.ProtocolVersion, p.ProtocolVersion, a.Version).
			WithDetail("adoptedVersion", a.Version).WithDetail("planVersion", p.ProtocolVersion)
	}
	return []Event{PlanHandedOver{PlanID: p.ID, FromHospitalID: p.ResponsibleHospital, ToHospitalID: c.ToHospitalID,
		AdoptedVersion: a.Version, LocalDeviations: slices.Clone(a.Deviations), At: c.At}}, nil
}

func decideCompletePlanStep(p Plan, c CompletePlanStep) ([]Event, error) {
	if err := p.requireOpen(c.PlanID, c.At); err != nil {
		return nil, err
	}
	if err := firstErr(
		required("stepId", c.StepID, maxStepID),
		optional("administeredDose", c.AdministeredDose, maxDose),
		optional("notes", c.Notes, planMaxNotes),
	); err != nil {
		return nil, err
	}
	if err := p.requirePendingStepOfResponsible(c.StepID, c.By, "complete"); err != nil {
		return nil, err
	}
	if p.Flagged() {
		return nil, Errorf(CodeForbiddenTransition, "the protocol version this plan follows was withdrawn for safety; the lead department must revise the plan first").
			WithDetail("withdrawnVersion", p.Flag.Version).WithDetail("reason", p.Flag.Reason)
	}
	return []Event{PlanStepCompleted{PlanID: p.ID, StepID: c.StepID, HospitalID: c.By.HospitalID, DepartmentID: c.By.DepartmentID,
		UserID: c.By.UserID, AdministeredDose: c.AdministeredDose, Notes: c.Notes, At: c.At}}, nil
}

// decideRevisePlan moves the plan onto a newer version safely and applies the lead's
// own changes on top.
//
// Moving onto version N brings N's steps (versionChanges): a pending step N removed is
// cancelled, a step N added is added, a pending step N changed (dose, route, day ...) is
// updated; completed, skipped and cancelled steps stay as history. A step the lead had
// adjusted for this patient (Version 0) keeps the adjustment when N left that step as
// the old version had it, and takes N's content when N changed it: the new version's
// change is the safety information, and the lead restates any adjustment in the same
// revision's changes. While a member holds the plan it must hold an active adoption of
// N (as a handover requires), and its declared local deviations are re-read from that
// adoption. The withdrawal flag clears only when the plan moves onto a newer published
// version and no pending step comes from the withdrawn version any more.
func decideRevisePlan(p Plan, c RevisePlan) ([]Event, error) {
	if err := p.requireOpen(c.PlanID, c.At); err != nil {
		return nil, err
	}
	if err := required("reason", c.Reason, planMaxText); err != nil {
		return nil, err
	}
	if len(c.Changes) > planMaxStepChanges {
		return nil, Errorf(CodeInvalidInput, "a revision may change at most %d steps; this one has %d", planMaxStepChanges, len(c.Changes))
	}
	if !p.isLead(c.By) {
		return nil, p.leadOnly("revise it")
	}
	ev := PlanRevised{PlanID: p.ID, Revision: p.Revision + 1, Reason: c.Reason, FromVersion: p.ProtocolVersion,
		ToVersion: p.ProtocolVersion, ContentHash: p.ContentHash, At: c.At}
	moved := p
	if c.Version != 0 && c.Version != p.ProtocolVersion {
		to, err := p.requireVersionMove(c)
		if err != nil {
			return nil, err
		}
		from, _ := c.Protocol.Version(p.ProtocolVersion)
		ev.ToVersion, ev.ContentHash = to.Number, to.ContentHash
		ev.VersionChanges = p.versionChanges(from, to)
		moved.Steps = p.applyChanges(ev.VersionChanges)
		if !p.HeldByLead() {
			ev.LocalDeviationsVersion, ev.LocalDeviations = c.Adoption.Version, slices.Clone(c.Adoption.Deviations)
		}
	}
	seen := map[string]bool{}
	added := 0
	for i, ch := range c.Changes {
		if err := validatePlanStepChange(i, ch); err != nil {
			return nil, err
		}
		if ch.Version != 0 {
			return nil, Errorf(CodeInvalidInput, "changes[%d]: version is set by the service (the lead's changes are plan-specific); leave it out", i)
		}
		if seen[ch.StepID] {
			return nil, Errorf(CodeInvalidInput, "changes[%d]: step %q is changed twice in one revision; state each step's change once", i, ch.StepID)
		}
		seen[ch.StepID] = true
		s, exists := moved.Step(ch.StepID)
		switch {
		case ch.Action == PlanChangeAdd && exists:
			return nil, Errorf(CodeAlreadyExists, "changes[%d]: plan %s already has a step %q; choose a new step id or modify the existing step", i, p.ID, ch.StepID)
		case ch.Action != PlanChangeAdd && !exists:
			return nil, Errorf(CodeNotFound, "changes[%d]: plan %s has no step %q", i, p.ID, ch.StepID)
		case ch.Action != PlanChangeAdd && s.Status != StepStatusPending:
			return nil, Errorf(CodeForbiddenTransition, "changes[%d]: step %q is %s; only pending steps can be changed", i, ch.StepID, s.Status).
				WithDetail("stepStatus", s.Status)
		}
		if ch.Action == PlanChangeCancel {
			ch = PlanStepChange{Action: PlanChangeCancel, StepID: ch.StepID}
		} else if err := checkDueDate(p.StartDate, ch.StepID, ch.DayOffset); err != nil {
			return nil, Errorf(CodeInvalidInput, "changes[%d]: %s", i, ErrorMessage(err))
		}
		if ch.Action == PlanChangeAdd {
			added++
		}
		ev.Changes = append(ev.Changes, ch)
	}
	if err := checkCount("plan "+p.ID+"'s steps", len(p.Steps), added, MaxPlanSteps); err != nil {
		return nil, err
	}
	if len(ev.Changes) == 0 && ev.ToVersion == ev.FromVersion {
		return nil, Errorf(CodeInvalidInput, "a revision must change at least one step or move the plan to a newer protocol version")
	}
	if p.Flagged() && ev.ToVersion != ev.FromVersion {
		moved.Steps = moved.applyChanges(ev.Changes)
		ev.FlagCleared = !moved.hasPendingStepOf(p.Flag.Version)
	}
	return []Event{ev}, nil
}

// requireVersionMove checks a move onto c.Version: newer than the plan's, of the plan's
// protocol, published, and, while a member holds the plan, actively adopted by it.
func (p Plan) requireVersionMove(c RevisePlan) (ProtocolVersion, error) {
	if c.Version < p.ProtocolVersion {
		return ProtocolVersion{}, Errorf(CodeInvalidInput, "plan %s follows version %d; a revision can only move it to a newer version, not to version %d", p.ID, p.ProtocolVersion, c.Version)
	}
	if c.Protocol.ID != p.ProtocolID {
		return ProtocolVersion{}, Errorf(CodeInvalidInput, "the protocol passed (%q) is not the plan's protocol %s", truncate(c.Protocol.ID, 40), p.ProtocolID)
	}
	to, err := c.Protocol.RequirePublished(c.Version)
	if err != nil {
		return ProtocolVersion{}, err
	}
	if p.HeldByLead() {
		return to, nil // the lead hospital follows its own alliance's protocols
	}
	a := c.Adoption
	if a.HospitalID != "" && (a.HospitalID != p.ResponsibleHospital || a.ProtocolID != p.ProtocolID) {
		return ProtocolVersion{}, Errorf(CodeInvalidInput, "the adoption passed is hospital %s's adoption of protocol %s, not hospital %s's adoption of protocol %s",
			truncate(a.HospitalID, 40), truncate(a.ProtocolID, 40), p.ResponsibleHospital, p.ProtocolID)
	}
	if !a.Active() || a.Version != to.Number {
		adopted := 0
		if a.Active() {
			adopted = a.Version
		}
		return ProtocolVersion{}, Errorf(CodeForbiddenTransition, "hospital %s holds plan %s but has not adopted version %d of protocol %s (its active adoption: %d); it must adopt version %d before the plan it holds can move onto it, or escalate the patient back first",
			p.ResponsibleHospital, p.ID, to.Number, p.ProtocolID, adopted, to.Number).
			WithDetail("responsibleHospitalId", p.ResponsibleHospital).WithDetail("adoptedVersion", adopted).WithDetail("requestedVersion", to.Number)
	}
	return to, nil
}

// versionChanges are the step changes that bring the plan from version from onto
// version to (see decideRevisePlan): in plan order for the plan's pending steps, then
// to's new steps in to's order. Steps that are not pending are history and never change.
func (p Plan) versionChanges(from, to ProtocolVersion) []PlanStepChange {
	var out []PlanStepChange
	for _, s := range p.Steps {
		if s.Status != StepStatusPending {
			continue
		}
		old, inFrom := from.Step(s.StepID)
		next, inTo := to.Step(s.StepID)
		switch {
		case !inTo && (inFrom || s.Version != 0):
			out = append(out, PlanStepChange{Action: PlanChangeCancel, StepID: s.StepID})
		case !inTo:
			// a step the lead added for this patient: the new version does not touch it
		case s.Version == 0 && inFrom && old == next:
			// the lead's adjustment of a step the new version left as it was: kept
		case s.Version == to.Number && sameStepContent(s, next):
			// already the new version's step
		default:
			out = append(out, changeTo(next, to.Number))
		}
	}
	for _, next := range to.Steps {
		if _, ok := p.Step(next.StepID); !ok {
			add := changeTo(next, to.Number)
			add.Action = PlanChangeAdd
			out = append(out, add)
		}
	}
	return out
}

// changeTo is a modify change that makes a step exactly the protocol step s of version v.
func changeTo(s ProtocolStep, v int) PlanStepChange {
	return PlanStepChange{Action: PlanChangeModify, StepID: s.StepID, Version: v, DayOffset: s.DayOffset,
		Activity: s.Activity, Drug: s.Drug, Dose: s.Dose, Route: s.Route, Notes: s.Notes}
}

// sameStepContent reports whether a plan step says what protocol step s says.
func sameStepContent(p PlanStep, s ProtocolStep) bool {
	return p.StepID == s.StepID && p.DayOffset == s.DayOffset && p.Activity == s.Activity && p.Drug == s.Drug &&
		p.Dose == s.Dose && p.Route == s.Route && p.Notes == s.Notes
}

// hasPendingStepOf reports whether a pending step's content comes from protocol version v.
func (p Plan) hasPendingStepOf(v int) bool {
	return slices.ContainsFunc(p.Steps, func(s PlanStep) bool { return s.Status == StepStatusPending && s.Version == v })
}

func decideReportPlanDeviation(p Plan, c ReportPlanDeviation) ([]Event, error) {
	if err := p.requireOpen(c.PlanID, c.At); err != nil {
		return nil, err
	}
	if err := firstErr(
		ValidateID("deviationId", c.DeviationID),
		optional("stepId", c.StepID, maxStepID),
		required("description", c.Description, planMaxText),
		validateDeviationSeverity(c.Severity),
	); err != nil {
		return nil, err
	}
	if c.By.HospitalID != p.ResponsibleHospital {
		return nil, p.responsibleOnly("report deviations")
	}
	if p.deviationIndex(c.DeviationID) >= 0 {
		return nil, Errorf(CodeAlreadyExists, "plan %s already has a deviation %s", p.ID, c.DeviationID)
	}
	if err := checkCount("plan "+p.ID+"'s reported deviations", len(p.Deviations), 1, MaxPlanDeviations); err != nil {
		return nil, err
	}
	if _, ok := p.Step(c.StepID); c.StepID != "" && !ok {
		return nil, Errorf(CodeNotFound, "plan %s has no step %q", p.ID, c.StepID)
	}
	return []Event{PlanDeviationReported{PlanID: p.ID, DeviationID: c.DeviationID, StepID: c.StepID, Description: c.Description,
		Severity: c.Severity, HospitalID: c.By.HospitalID, DepartmentID: c.By.DepartmentID, UserID: c.By.UserID, At: c.At}}, nil
}

// decideFlagPlan is idempotent because the service flags every plan on a withdrawn
// version and may retry: a plan already flagged, or already closed, yields no events.
func decideFlagPlan(p Plan, c FlagProtocolVersionWithdrawn) ([]Event, error) {
	if err := firstErr(
		ValidateID("planId", c.PlanID),
		ValidateID("protocolId", c.ProtocolID),
		validatePlanVersion(c.Version),
		required("reason", c.Reason, planMaxText),
		validateCommandTime(c.At),
	); err != nil {
		return nil, err
	}
	if !p.Exists() {
		return nil, Errorf(CodeNotFound, "plan %s does not exist", c.PlanID)
	}
	if p.IsClosed() {
		return nil, nil
	}
	if c.ProtocolID != p.ProtocolID || c.Version != p.ProtocolVersion {
		return nil, Errorf(CodeInvalidInput, "plan %s follows version %d of protocol %s, not version %d of protocol %s",
			p.ID, p.ProtocolVersion, p.ProtocolID, c.Version, c.ProtocolID)
	}
	if p.Flag.Version == c.Version {
		return nil, nil
	}
	return []Event{PlanFlagged{PlanID: p.ID, ProtocolID: c.ProtocolID, Version: c.Version, Reason: c.Reason, At: c.At}}, nil
}

// requireOpen runs the checks every command on an existing plan shares: a valid plan id
// and time, a plan that exists under that id, and one that is not closed.
func (p Plan) requireOpen(planID string, at time.Time) error {
	if err := firstErr(ValidateID("planId", planID), validateCommandTime(at)); err != nil {
		return err
	}
	if !p.Exists() {
		return Errorf(CodeNotFound, "plan %s does not exist", planID)
	}
	if planID != p.ID {
		return Errorf(CodeInvalidInput, "the command names plan %s but the state is plan %s", planID, p.ID)
	}
	if p.IsClosed() {
		return Errorf(CodeForbiddenTransition, "plan %s is %s; a closed plan cannot change", p.ID, p.Status).
			WithDetail("status", p.Status)
	}
	return nil
}

// requirePendingStepOfResponsible checks that by acts for the responsible hospital and
// that the step exists and is still pending: completed and skipped steps are final.
func (p Plan) requirePendingStepOfResponsible(stepID string, by Actor, verb string) error {
	if by.HospitalID != p.ResponsibleHospital {
		return p.responsibleOnly(verb + " its steps")
	}
	s, ok := p.Step(stepID)
	if !ok {
		return Errorf(CodeNotFound, "plan %s has no step %q", p.ID, stepID)
	}
	if s.Status != StepStatusPending {
		return Errorf(CodeForbiddenTransition, "step %q of plan %s is already %s; a recorded step is final (report a deviation to correct the record)", stepID, p.ID, s.Status).
			WithDetail("stepStatus", s.Status)
	}
	return nil
}

// isLead reports whether by acts for the plan's lead department.
func (p Plan) isLead(by Actor) bool {
	return by.HospitalID != "" && by.HospitalID == p.LeadHospitalID && by.DepartmentID == p.LeadDepartmentID
}

func (p Plan) leadOnly(what string) error {
	return Errorf(CodeForbidden, "only the plan's lead department may %s", what)
}

func (p Plan) responsibleOnly(what string) error {
	return Errorf(CodeForbidden, "only the hospital responsible for the plan may %s", what)
}

func validatePlanVersion(v int) error {
	if v < 1 {
		return Errorf(CodeInvalidInput, "version %d must be a protocol version number (1 or more)", v)
	}
	return nil
}

func validateDeviationSeverity(s string) error {
	if !slices.Contains(deviationSeverities, s) {
		return Errorf(CodeInvalidInput, "severity %q must be one of %v", truncate(s, 20), deviationSeverities)
	}
	return nil
}

// validatePlanStepChange checks one change: the action, and for add and modify the step
// as it will stand, by the same rules as a published protocol step.
func validatePlanStepChange(i int, c PlanStepChange) error {
	if !slices.Contains(planChangeActions, c.Action) {
		return Errorf(CodeInvalidInput, "changes[%d]: action %q must be one of %v", i, truncate(c.Action, 20), planChangeActions)
	}
	if c.Action == PlanChangeCancel {
		if err := validateStepID(c.StepID); err != nil {
			return Errorf(CodeInvalidInput, "changes[%d]: %s", i, ErrorMessage(err))
		}
		return nil
	}
	step := ProtocolStep{StepID: c.StepID, DayOffset: c.DayOffset, Activity: c.Activity, Drug: c.Drug, Dose: c.Dose, Route: c.Route, Notes: c.Notes}
	if err := validateStep(i, step); err != nil {
		return Errorf(CodeInvalidInput, "changes[%d]: %s", i, ErrorMessage(err))
	}
	return nil
}
