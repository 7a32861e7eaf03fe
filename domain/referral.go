package domain

import (
	"slices"
	"time"
)

// ReferralAggregate names the referral aggregate (双向转诊) in the event catalogue.
const ReferralAggregate = "referral"

// ReferralStream is the stream of one referral.
func ReferralStream(id string) string { return "referral-" + id }

// Referral directions. Up sends a patient from a member to a hospital that leads an
// alliance the member belongs to (its lead, or a higher tier); down sends a patient from
// a lead to one of its active members (rehabilitation, stable chronic care).
const (
	ReferralUp   = "up"
	ReferralDown = "down"
)

var referralDirections = []string{ReferralUp, ReferralDown}

// Referral statuses. requested -> accepted -> (arrived ->) admitted -> completed is the
// normal path; the receiver may decline a requested referral or record a no-show of an
// accepted one; the sender may cancel before the patient arrives.
const (
	ReferralStatusRequested = "requested"
	ReferralStatusAccepted  = "accepted"
	ReferralStatusDeclined  = "declined"
	ReferralStatusArrived   = "arrived"
	ReferralStatusAdmitted  = "admitted"
	ReferralStatusCompleted = "completed"
	ReferralStatusCancelled = "cancelled"
	ReferralStatusNoShow    = "no_show"
)

// Limits of the referral aggregate, in runes.
const (
	maxReferralReason  = 1000
	maxClinicalSummary = 8000
	maxDepartmentID    = 64
)

// ReferralTarget is how long the receiver has, from the request, to accept a referral
// and to admit the patient.
type ReferralTarget struct {
	Accept time.Duration `json:"accept"`
	Admit  time.Duration `json:"admit"`
}

// ReferralPolicy gives the targets per urgency. Like the consult DeadlinePolicy it is
// configuration passed on each request, and the deadlines it yields are recorded on
// ReferralRequested, so a later policy change never moves a referral already sent.
type ReferralPolicy struct {
	Emergency ReferralTarget
	Urgent    ReferralTarget
	Routine   ReferralTarget
}

// DefaultReferralPolicy is the policy used unless configured otherwise: the green
// channel (emergency) accepted within 10 minutes and admitted within an hour (梅子铺's
// chest pain reached the county hospital's ward in under an hour), urgent within 1 and
// 24 hours, routine within 24 hours and 14 days.
func DefaultReferralPolicy() ReferralPolicy {
	return ReferralPolicy{
		Emergency: ReferralTarget{Accept: 10 * time.Minute, Admit: time.Hour},
		Urgent:    ReferralTarget{Accept: time.Hour, Admit: 24 * time.Hour},
		Routine:   ReferralTarget{Accept: 24 * time.Hour, Admit: 14 * 24 * time.Hour},
	}
}

// Validate checks that every target is positive, at most 30 days, that acceptance comes
// no later than admission, and that more urgent referrals never get more time.
func (p ReferralPolicy) Validate() error {
	for _, f := range []struct {
		name string
		t    ReferralTarget
	}{{UrgencyEmergency, p.Emergency}, {UrgencyUrgent, p.Urgent}, {UrgencyRoutine, p.Routine}} {
		for _, d := range []time.Duration{f.t.Accept, f.t.Admit} {
			if d <= 0 || d > maxDeadlineAllowance {
				return Errorf(CodeInvalidInput, "the referral policy gives %s referrals %s; every target must be more than 0 and at most 30 days (check the server's referral configuration)", f.name, d)
			}
		}
		if f.t.Accept > f.t.Admit {
			return Errorf(CodeInvalidInput, "the referral policy must accept %s referrals no later than it admits them, got %s and %s", f.name, f.t.Accept, f.t.Admit)
		}
	}
	if p.Emergency.Accept > p.Urgent.Accept || p.Urgent.Accept > p.Routine.Accept ||
		p.Emergency.Admit > p.Urgent.Admit || p.Urgent.Admit > p.Routine.Admit {
		return Errorf(CodeInvalidInput, "the referral policy must give emergency <= urgent <= routine for acceptance and admission")
	}
	return nil
}

// For returns the target for an urgency.
func (p ReferralPolicy) For(urgency string) (ReferralTarget, error) {
	switch urgency {
	case UrgencyEmergency:
		return p.Emergency, nil
	case UrgencyUrgent:
		return p.Urgent, nil
	case UrgencyRoutine:
		return p.Routine, nil
	}
	return ReferralTarget{}, Errorf(CodeInvalidInput, "urgency %q must be one of %v", truncate(urgency, 20), consultUrgencies)
}

// ReferralLinks ties a referral to what led to it; every id is optional.
type ReferralLinks struct {
	PlanID     string `json:"planId,omitempty"`
	ConsultID  string `json:"consultId,omitempty"`
	ReportID   string `json:"reportId,omitempty"`
	ReturnOfID string `json:"returnOfId,omitempty"` // the upward referral this one returns the patient from
}

// SlotRef names the reserved slot or bed an accepted referral holds (see Capacity).
type SlotRef struct {
	SlotID string `json:"slotId"`
	Kind   string `json:"kind"`
	Window Window `json:"window"`
}

// Referral is the state of one referral (双向转诊): a patient sent from one hospital of
// an alliance to another, with or without a plan. Its instants measure request ->
// acceptance -> admission against the deadlines its urgency set at the request.
type Referral struct {
	ID                string
	AllianceID        string
	Direction         string
	FromHospitalID    string
	FromDepartmentID  string
	ToHospitalID      string
	ToDepartmentID    string
	Urgency           string
	Reason            string
	ClinicalSummary   string
	PatientRef        string
	PractitionerID    string
	Links             ReferralLinks
	Attachments       []Attachment
	Status            string
	RequestedAt       time.Time
	AcceptDeadline    time.Time
	AdmitDeadline     time.Time
	AcceptedAt        time.Time
	ReceivingDeptID   string
	Slot              *SlotRef
	ExpectedArrival   time.Time
	DeclinedAt        time.Time
	DeclineReason     string
	Alternative       string
	ArrivedAt         time.Time
	AdmittedAt        time.Time
	CompletedAt       time.Time
	CompletionSummary string
	CancelledAt       time.Time
	CancelReason      string
	NoShowAt          time.Time
	UpdatedAt         time.Time
}

// Exists reports whether the referral was requested.
func (r Referral) Exists() bool { return r.ID != "" }

// Open reports whether the referral still waits for the receiver: requested, accepted,
// arrived or admitted.
func (r Referral) Open() bool {
	switch r.Status {
	case ReferralStatusRequested, ReferralStatusAccepted, ReferralStatusArrived, ReferralStatusAdmitted:
		return true
	}
	return false
}

// AcceptOverdue reports whether the referral waits for acceptance past its deadline.
func (r Referral) AcceptOverdue(now time.Time) bool {
	return r.Status == ReferralStatusRequested && now.After(r.AcceptDeadline)
}

// AdmitOverdue reports whether the patient is not admitted yet past the admission deadline.
func (r Referral) AdmitOverdue(now time.Time) bool {
	return (r.Status == ReferralStatusRequested || r.Status == ReferralStatusAccepted || r.Status == ReferralStatusArrived) &&
		now.After(r.AdmitDeadline)
}

// TimeToAccept returns request -> acceptance, and false before acceptance.
func (r Referral) TimeToAccept() (time.Duration, bool) {
	if r.AcceptedAt.IsZero() {
		return 0, false
	}
	return r.AcceptedAt.Sub(r.RequestedAt), true
}

// TimeToAdmit returns request -> admission, and false before admission.
func (r Referral) TimeToAdmit() (time.Duration, bool) {
	if r.AdmittedAt.IsZero() {
		return 0, false
	}
	return r.AdmittedAt.Sub(r.RequestedAt), true
}

// ReferralRequested records a referral with the deadlines its urgency gave it.
type ReferralRequested struct {
	ReferralID       string        `json:"referralId"`
	AllianceID       string        `json:"allianceId"`
	Direction        string        `json:"direction"`
	FromHospitalID   string        `json:"fromHospitalId"`
	FromDepartmentID string        `json:"fromDepartmentId,omitempty"`
	ToHospitalID     string        `json:"toHospitalId"`
	ToDepartmentID   string        `json:"toDepartmentId,omitempty"`
	Urgency          string        `json:"urgency"`
	Reason           string        `json:"reason"`
	ClinicalSummary  string        `json:"clinicalSummary"`
	PatientRef       string        `json:"patientRef"`
	PractitionerID   string        `json:"practitionerId,omitempty"`
	Links            ReferralLinks `json:"links"`
	Attachments      []Attachment  `json:"attachments,omitempty"`
	RequestedAt      time.Time     `json:"requestedAt"`
	AcceptDeadline   time.Time     `json:"acceptDeadline"`
	AdmitDeadline    time.Time     `json:"admitDeadline"`
}

// ReferralAccepted records that the receiver takes the patient, in which department,
// with which reserved slot or bed (if any) and when it expects the patient.
type ReferralAccepted struct {
	ReferralID      string    `json:"referralId"`
	DepartmentID    string    `json:"departmentId"`
	Slot            *SlotRef  `json:"slot,omitempty"`
	ExpectedArrival time.Time `json:"expectedArrival"`
	WithinTarget    bool      `json:"withinTarget"`
	AcceptedAt      time.Time `json:"acceptedAt"`
}

// ReferralDeclined records that the receiver will not take the patient, why, and what
// the sender should do instead.
type ReferralDeclined struct {
	ReferralID  string    `json:"referralId"`
	Reason      string    `json:"reason"`
	Alternative string    `json:"alternative"`
	DeclinedAt  time.Time `json:"declinedAt"`
}

// ReferralArrived records the patient's arrival at the receiving hospital.
type ReferralArrived struct {
	ReferralID string    `json:"referralId"`
	ArrivedAt  time.Time `json:"arrivedAt"`
}

// ReferralAdmitted records the patient's admission (or outpatient reception).
type ReferralAdmitted struct {
	ReferralID   string    `json:"referralId"`
	WithinTarget bool      `json:"withinTarget"`
	AdmittedAt   time.Time `json:"admittedAt"`
}

// ReferralCompleted records the end of the episode with the summary sent back to the
// sending hospital.
type ReferralCompleted struct {
	ReferralID  string    `json:"referralId"`
	Summary     string    `json:"summary"`
	CompletedAt time.Time `json:"completedAt"`
}

// ReferralCancelled records that the sender withdrew the referral.
type ReferralCancelled struct {
	ReferralID  string    `json:"referralId"`
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelledAt"`
}

// ReferralNoShow records that an accepted patient never came.
type ReferralNoShow struct {
	ReferralID string    `json:"referralId"`
	Note       string    `json:"note,omitempty"`
	RecordedAt time.Time `json:"recordedAt"`
}

// EventType implements Event.
func (ReferralRequested) EventType() string { return "ReferralRequested" }

// EventType implements Event.
func (ReferralAccepted) EventType() string { return "ReferralAccepted" }

// EventType implements Event.
func (ReferralDeclined) EventType() string { return "ReferralDeclined" }

// EventType implements Event.
func (ReferralArrived) EventType() string { return "ReferralArrived" }

// EventType implements Event.
func (ReferralAdmitted) EventType() string { return "ReferralAdmitted" }

// EventType implements Event.
func (ReferralCompleted) EventType() string { return "ReferralCompleted" }

// EventType implements Event.
func (ReferralCancelled) EventType() string { return "ReferralCancelled" }

// EventType implements Event.
func (ReferralNoShow) EventType() string { return "ReferralNoShow" }

func init() {
	Register[ReferralRequested](ReferralAggregate, 1, nil)
	Register[ReferralAccepted](ReferralAggregate, 1, nil)
	Register[ReferralDeclined](ReferralAggregate, 1, nil)
	Register[ReferralArrived](ReferralAggregate, 1, nil)
	Register[ReferralAdmitted](ReferralAggregate, 1, nil)
	Register[ReferralCompleted](ReferralAggregate, 1, nil)
	Register[ReferralCancelled](ReferralAggregate, 1, nil)
	Register[ReferralNoShow](ReferralAggregate, 1, nil)
}

// Evolve folds one event into the referral's state.
func (r Referral) Evolve(e Event) Referral {
	switch e := e.(type) {
	case ReferralRequested:
		r = Referral{ID: e.ReferralID, AllianceID: e.AllianceID, Direction: e.Direction,
			FromHospitalID: e.FromHospitalID, FromDepartmentID: e.FromDepartmentID,
			ToHospitalID: e.ToHospitalID, ToDepartmentID: e.ToDepartmentID, Urgency: e.Urgency,
			Reason: e.Reason, ClinicalSummary: e.ClinicalSummary, PatientRef: e.PatientRef,
			PractitionerID: e.PractitionerID, Links: e.Links, Attachments: slices.Clone(e.Attachments),
			Status: ReferralStatusRequested, RequestedAt: e.RequestedAt, AcceptDeadline: e.AcceptDeadline,
			AdmitDeadline: e.AdmitDeadline, UpdatedAt: e.RequestedAt}
	case ReferralAccepted:
		r.Status, r.AcceptedAt, r.ReceivingDeptID, r.ExpectedArrival = ReferralStatusAccepted, e.AcceptedAt, e.DepartmentID, e.ExpectedArrival
		if e.Slot != nil {
			s := *e.Slot
			r.Slot = &s
		}
		r.UpdatedAt = e.AcceptedAt
	case ReferralDeclined:
		r.Status, r.DeclinedAt, r.DeclineReason, r.Alternative, r.UpdatedAt = ReferralStatusDeclined, e.DeclinedAt, e.Reason, e.Alternative, e.DeclinedAt
	case ReferralArrived:
		r.Status, r.ArrivedAt, r.UpdatedAt = ReferralStatusArrived, e.ArrivedAt, e.ArrivedAt
	case ReferralAdmitted:
		r.Status, r.AdmittedAt, r.UpdatedAt = ReferralStatusAdmitted, e.AdmittedAt, e.AdmittedAt
		if r.ArrivedAt.IsZero() {
			r.ArrivedAt = e.AdmittedAt
		}
	case ReferralCompleted:
		r.Status, r.CompletedAt, r.CompletionSummary, r.UpdatedAt = ReferralStatusCompleted, e.CompletedAt, e.Summary, e.CompletedAt
	case ReferralCancelled:
		r.Status, r.CancelledAt, r.CancelReason, r.UpdatedAt = ReferralStatusCancelled, e.CancelledAt, e.Reason, e.CancelledAt
	case ReferralNoShow:
		r.Status, r.NoShowAt, r.UpdatedAt = ReferralStatusNoShow, e.RecordedAt, e.RecordedAt
	}
	return r
}

// ReferralCommand is a command handled by the referral aggregate.
type ReferralCommand interface{ referralCommand() }

// RequestReferral sends a patient to another hospital of Alliance (loaded by the
// caller).
//
//   - Up: By's hospital must be an active member of Alliance, and the receiver is the
//     alliance's lead hospital (ToHospitalID, when given, must be it). With three tiers a
//     township refers up to 徐汇 through 徐汇's community alliance, and 徐汇 refers up to
//     中山 through 中山's alliance: the higher tier is always the lead of an alliance the
//     sender is an active member of. One exception: a referral linked to a plan the sender
//     holds (an escalation) is never blocked by a suspension, like EscalatePlan.
//   - Down: By's hospital must be the alliance's lead hospital and ToHospitalID an active
//     member.
//
// Plan, Consult and ReturnOf are optional facts the caller loaded for the links: a plan
// must be of this alliance and patient; a consult must be the sender's, of this patient,
// with an opinion that advises escalation; ReturnOf must be a completed upward referral
// that brought this patient to the sender, and this referral must send it back down.
type RequestReferral struct {
	ReferralID      string
	Alliance        Alliance
	Direction       string
	By              Actor
	ToHospitalID    string
	ToDepartmentID  string
	Urgency         string
	Reason          string
	ClinicalSummary string
	PatientRef      string
	PractitionerID  string
	Plan            *Plan
	Consult         *Consult
	ReturnOf        *Referral
	ReportID        string
	Attachments     []Attachment
	At              time.Time
	Policy          ReferralPolicy
}

// AcceptReferral takes the patient on. Only the receiving hospital accepts; Slot is the
// reserved slot or bed the service booked for this referral (nil when none is used).
type AcceptReferral struct {
	ReferralID      string
	DepartmentID    string
	Slot            *SlotRef
	ExpectedArrival time.Time
	By              Actor
	At              time.Time
}

// DeclineReferral refuses a requested referral, saying what to do instead.
type DeclineReferral struct {
	ReferralID  string
	Reason      string
	Alternative string
	By          Actor
	At          time.Time
}

// RecordReferralArrival records the patient's arrival (receiver).
type RecordReferralArrival struct {
	ReferralID string
	By         Actor
	At         time.Time
}

// AdmitReferral records the admission (receiver), after acceptance or arrival.
type AdmitReferral struct {
	ReferralID string
	By         Actor
	At         time.Time
}

// CompleteReferral ends the episode with the summary sent back (receiver).
type CompleteReferral struct {
	ReferralID string
	Summary    string
	By         Actor
	At         time.Time
}

// CancelReferral withdraws a referral before the patient arrives (sender).
type CancelReferral struct {
	ReferralID string
	Reason     string
	By         Actor
	At         time.Time
}

// RecordNoShow records that an accepted patient never came (receiver).
type RecordNoShow struct {
	ReferralID string
	Note       string
	By         Actor
	At         time.Time
}

func (RequestReferral) referralCommand()       {}
func (AcceptReferral) referralCommand()        {}
func (DeclineReferral) referralCommand()       {}
func (RecordReferralArrival) referralCommand() {}
func (AdmitReferral) referralCommand()         {}
func (CompleteReferral) referralCommand()      {}
func (CancelReferral) referralCommand()        {}
func (RecordNoShow) referralCommand()          {}

// DecideReferral decides a referral command against the referral's current state.
func DecideReferral(r Referral, c ReferralCommand) ([]Event, error) {
	switch c := c.(type) {
	case RequestReferral:
		return decideRequestReferral(r, c)
	case AcceptReferral:
		if err := r.check(c.ReferralID, c.At, "accept", ReferralStatusRequested); err != nil {
			return nil, err
		}
		if err := r.receiverOnly(c.By, "accept"); err != nil {
			return nil, err
		}
		dept := c.DepartmentID
		if dept == "" {
			dept = cmpOr(r.ToDepartmentID, c.By.DepartmentID)
		}
		if err := required("departmentId", dept, maxDepartmentID); err != nil {
			return nil, err
		}
		if c.ExpectedArrival.IsZero() || c.ExpectedArrival.Before(r.RequestedAt) {
			return nil, Errorf(CodeInvalidInput, "expectedArrival is required and may not be before the request (%s)", r.RequestedAt.UTC().Format(time.RFC3339))
		}
		var slot *SlotRef
		if c.Slot != nil {
			if err := ValidateID("slotId", c.Slot.SlotID); err != nil {
				return nil, err
			}
			s := *c.Slot
			slot = &s
		}
		return []Event{ReferralAccepted{ReferralID: r.ID, DepartmentID: dept, Slot: slot, ExpectedArrival: c.ExpectedArrival,
			WithinTarget: !c.At.After(r.AcceptDeadline), AcceptedAt: c.At}}, nil
	case DeclineReferral:
		if err := r.check(c.ReferralID, c.At, "decline", ReferralStatusRequested); err != nil {
			return nil, err
		}
		if err := firstErr(required("reason", c.Reason, maxReferralReason), required("alternative", c.Alternative, maxReferralReason)); err != nil {
			return nil, err
		}
		if err := r.receiverOnly(c.By, "decline"); err != nil {
			return nil, err
		}
		return []Event{ReferralDeclined{ReferralID: r.ID, Reason: c.Reason, Alternative: c.Alternative, DeclinedAt: c.At}}, nil
	case RecordReferralArrival:
		if err := r.check(c.ReferralID, c.At, "record the arrival of", ReferralStatusAccepted); err != nil {
			return nil, err
		}
		if err := r.receiverOnly(c.By, "record the arrival of"); err != nil {
			return nil, err
		}
		return []Event{ReferralArrived{ReferralID: r.ID, ArrivedAt: c.At}}, nil
	case AdmitReferral:
		if err := r.check(c.ReferralID, c.At, "admit", ReferralStatusAccepted, ReferralStatusArrived); err != nil {
			return nil, err
		}
		if err := r.receiverOnly(c.By, "admit"); err != nil {
			return nil, err
		}
		return []Event{ReferralAdmitted{ReferralID: r.ID, WithinTarget: !c.At.After(r.AdmitDeadline), AdmittedAt: c.At}}, nil
	case CompleteReferral:
		if err := r.check(c.ReferralID, c.At, "complete", ReferralStatusAdmitted); err != nil {
			return nil, err
		}
		if err := required("summary", c.Summary, maxClinicalSummary); err != nil {
			return nil, err
		}
		if err := r.receiverOnly(c.By, "complete"); err != nil {
			return nil, err
		}
		return []Event{ReferralCompleted{ReferralID: r.ID, Summary: c.Summary, CompletedAt: c.At}}, nil
	case CancelReferral:
		if err := r.check(c.ReferralID, c.At, "cancel", ReferralStatusRequested, ReferralStatusAccepted); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxReferralReason); err != nil {
			return nil, err
		}
		if c.By.HospitalID == "" || c.By.HospitalID != r.FromHospitalID {
			return nil, Errorf(CodeForbidden, "only the sending hospital %s may cancel referral %s; the receiver declines instead", r.FromHospitalID, r.ID)
		}
		return []Event{ReferralCancelled{ReferralID: r.ID, Reason: c.Reason, CancelledAt: c.At}}, nil
	case RecordNoShow:
		if err := r.check(c.ReferralID, c.At, "record a no-show of", ReferralStatusAccepted); err != nil {
			return nil, err
		}
		if err := optional("note", c.Note, maxReferralReason); err != nil {
			return nil, err
		}
		if err := r.receiverOnly(c.By, "record a no-show of"); err != nil {
			return nil, err
		}
		if !c.At.After(r.ExpectedArrival) {
			return nil, Errorf(CodeForbiddenTransition, "the patient of referral %s is expected at %s; a no-show can be recorded only after that",
				r.ID, r.ExpectedArrival.UTC().Format(time.RFC3339))
		}
		return []Event{ReferralNoShow{ReferralID: r.ID, Note: c.Note, RecordedAt: c.At}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown referral command %T", c)
}

func decideRequestReferral(r Referral, c RequestReferral) ([]Event, error) {
	if r.Exists() {
		return nil, Errorf(CodeAlreadyExists, "referral %s was already requested", c.ReferralID)
	}
	if err := firstErr(
		ValidateID("referralId", c.ReferralID),
		validateDirection(c.Direction),
		validateUrgency(c.Urgency),
		required("reason", c.Reason, maxReferralReason),
		required("clinicalSummary", c.ClinicalSummary, maxClinicalSummary),
		validatePatientRef(c.PatientRef),
		optional("toDepartmentId", c.ToDepartmentID, maxDepartmentID),
		validateAttachments(c.Attachments),
		validateInstant("requestedAt", c.At),
		c.Policy.Validate(),
	); err != nil {
		return nil, err
	}
	for _, f := range []struct{ what, id string }{{"practitionerId", c.PractitionerID}, {"reportId", c.ReportID}} {
		if f.id != "" {
			if err := ValidateID(f.what, f.id); err != nil {
				return nil, err
			}
		}
	}
	al := c.Alliance
	if !al.Exists() {
		return nil, Errorf(CodeNotFound, "the alliance does not exist")
	}
	from := c.By.HospitalID
	links := ReferralLinks{ReportID: c.ReportID}
	if c.Plan != nil {
		if err := checkPlanLink(*c.Plan, al, c.PatientRef); err != nil {
			return nil, err
		}
		links.PlanID = c.Plan.ID
	}
	var to, toDept string
	switch c.Direction {
	case ReferralUp:
		// An escalation of a plan the sender holds is never blocked by a suspension.
		// With three tiers the escalation goes one link up the plan's chain (a community
		// centre to 徐汇, through 徐汇's alliance).
		escalation := c.Plan != nil && c.Plan.ResponsibleHospital == from && c.Plan.EscalationTarget() == al.LeadHospitalID
		if !escalation {
			if err := al.RequireActiveMember(from); err != nil {
				return nil, err
			}
		}
		if c.ToHospitalID != "" && c.ToHospitalID != al.LeadHospitalID {
			return nil, Errorf(CodeNotMember, "an upward referral in alliance %s goes to its lead hospital %s, not to hospital %s; refer through an alliance that hospital leads",
				al.ID, al.LeadHospitalID, truncate(c.ToHospitalID, 40)).WithDetail("allianceId", al.ID).WithDetail("hospitalId", c.ToHospitalID)
		}
		to, toDept = al.LeadHospitalID, cmpOr(c.ToDepartmentID, al.LeadDepartmentID)
	case ReferralDown:
		if !al.IsLeadHospital(from) {
			return nil, Errorf(CodeForbidden, "only the lead hospital %s of alliance %s refers patients down to its members", al.LeadHospitalID, al.ID)
		}
		if err := ValidateID("toHospitalId", c.ToHospitalID); err != nil {
			return nil, err
		}
		if err := al.RequireActiveMember(c.ToHospitalID); err != nil {
			return nil, err
		}
		to, toDept = c.ToHospitalID, c.ToDepartmentID
	}
	if c.Consult != nil {
		k := *c.Consult
		if k.AllianceID != al.ID || k.RequestingHospitalID != from || k.PatientRef != c.PatientRef || c.Direction != ReferralUp {
			return nil, Errorf(CodeInvalidInput, "consult %s is not this sender's consult on this patient in alliance %s; only the requesting hospital turns its own consult into an upward referral", k.ID, al.ID)
		}
		if k.OpinionGivenAt.IsZero() || !k.Opinion.AdviseEscalation {
			return nil, Errorf(CodeForbiddenTransition, "consult %s has no opinion advising escalation; refer the patient without the consult link, or ask the lead to amend its opinion", k.ID)
		}
		links.ConsultID = k.ID
	}
	if c.ReturnOf != nil {
		o := *c.ReturnOf
		if o.Direction != ReferralUp || o.Status != ReferralStatusCompleted {
			return nil, Errorf(CodeForbiddenTransition, "referral %s is %s %s; only a completed upward referral is returned down", o.ID, o.Direction, o.Status)
		}
		if c.Direction != ReferralDown || o.ToHospitalID != from || o.FromHospitalID != to || o.PatientRef != c.PatientRef || o.AllianceID != al.ID {
			return nil, Errorf(CodeInvalidInput, "a return referral goes down from %s back to %s for the same patient in alliance %s", o.ToHospitalID, o.FromHospitalID, o.AllianceID)
		}
		links.ReturnOfID = o.ID
	}
	target, err := c.Policy.For(c.Urgency)
	if err != nil {
		return nil, err
	}
	return []Event{ReferralRequested{ReferralID: c.ReferralID, AllianceID: al.ID, Direction: c.Direction,
		FromHospitalID: from, FromDepartmentID: c.By.DepartmentID, ToHospitalID: to, ToDepartmentID: toDept,
		Urgency: c.Urgency, Reason: c.Reason, ClinicalSummary: c.ClinicalSummary, PatientRef: c.PatientRef,
		PractitionerID: c.PractitionerID, Links: links, Attachments: slices.Clone(c.Attachments),
		RequestedAt: c.At, AcceptDeadline: c.At.Add(target.Accept), AdmitDeadline: c.At.Add(target.Admit)}}, nil
}

func checkPlanLink(p Plan, al Alliance, patientRef string) error {
	if !p.Exists() {
		return Errorf(CodeNotFound, "the linked plan does not exist")
	}
	// A middle tier's own alliance may link the plan too: 徐汇 refers down to a community
	// centre the plan it holds (or held through that alliance), and the centre escalates
	// it up to 徐汇.
	through := p.ThroughAlliance(al.ID) || p.ResponsibleHospital == al.LeadHospitalID
	if !through || p.PatientRef != patientRef {
		return Errorf(CodeInvalidInput, "plan %s belongs to another alliance or patient than this referral", p.ID)
	}
	return nil
}

// check runs the checks every follow-up command shares: a valid id naming this
// referral, the command's time (not before the latest event), and a status from allowed.
func (r Referral) check(referralID string, at time.Time, what string, allowed ...string) error {
	return checkFollowUp(followUp{idField: "referralId", missing: "referral", noun: "referral", exists: r.Exists(),
		id: r.ID, status: r.Status, updated: r.UpdatedAt}, referralID, at, what, allowed)
}

// receiverOnly lets any department of the receiving hospital act: the referral desk
// (转诊中心) of a hospital works across departments, and the receiving department is
// chosen at acceptance.
func (r Referral) receiverOnly(by Actor, what string) error {
	if by.HospitalID == "" || by.HospitalID != r.ToHospitalID {
		return Errorf(CodeForbidden, "only the receiving hospital %s may %s referral %s", r.ToHospitalID, what, r.ID)
	}
	return nil
}

func validateDirection(d string) error {
	if !slices.Contains(referralDirections, d) {
		return Errorf(CodeInvalidInput, "direction %q must be one of %v", truncate(d, 20), referralDirections)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
