package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// ConsultAggregate names the remote-consult aggregate (远程会诊) in the event catalogue.
const ConsultAggregate = "consult"

// ConsultStream is the stream of one remote consult.
func ConsultStream(id string) string { return "consult-" + id }

// Consult urgencies. The urgency sets the response deadline through a DeadlinePolicy.
const (
	UrgencyRoutine   = "routine"
	UrgencyUrgent    = "urgent"
	UrgencyEmergency = "emergency"
)

var consultUrgencies = []string{UrgencyRoutine, UrgencyUrgent, UrgencyEmergency}

// Consult statuses. requested -> accepted -> answered -> closed is the normal path; the
// lead may decline a requested consult, and the requester may cancel before an opinion.
const (
	ConsultStatusRequested = "requested" // waiting for the lead to accept or decline
	ConsultStatusAccepted  = "accepted"  // the lead took it on; the opinion is due by the deadline
	ConsultStatusAnswered  = "answered"  // an opinion was given (and possibly amended)
	ConsultStatusDeclined  = "declined"  // the lead declined, with a reason
	ConsultStatusClosed    = "closed"    // finished after the opinion
	ConsultStatusCancelled = "cancelled" // withdrawn by the requester before an opinion
)

// Limits of the consult aggregate.
const (
	maxQuestion          = 4000
	maxOpinion           = 8000
	maxRecommendations   = 20
	maxRecommendation    = 1000
	maxAttachments       = 20
	maxAttachmentName    = 200
	maxMediaType         = 100
	maxAttachmentBytes   = 2 << 30 // 2 GiB: an imaging series, far above an ECG
	maxConsentRef        = 128
	maxConsultOutcome    = 1000
	maxDeadlineAllowance = 30 * 24 * time.Hour
)

// mediaTypePattern accepts a bare media type such as application/pdf or image/dicom+jpeg.
var mediaTypePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$`)

// DeadlinePolicy says how long the lead has to give an opinion, per urgency. It is
// configuration passed on each request (the domain reads none), and the deadline it
// yields is recorded on ConsultRequested, so later policy changes never move the
// deadline of a consult already asked.
type DeadlinePolicy struct {
	Emergency time.Duration
	Urgent    time.Duration
	Routine   time.Duration
}

// DefaultDeadlinePolicy is the policy used unless configured otherwise: an emergency
// (e.g. a township health centre's ECG of acute chest pain, which in the seeds was read,
// answered and the patient admitted to the county hospital in under an hour) within 30
// minutes, urgent within 4 hours, routine within 48 hours.
func DefaultDeadlinePolicy() DeadlinePolicy {
	return DeadlinePolicy{Emergency: 30 * time.Minute, Urgent: 4 * time.Hour, Routine: 48 * time.Hour}
}

// Validate checks that every allowance is positive, at most 30 days, and that more
// urgent consults never get more time than less urgent ones.
func (p DeadlinePolicy) Validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{UrgencyEmergency, p.Emergency}, {UrgencyUrgent, p.Urgent}, {UrgencyRoutine, p.Routine}} {
		if f.d <= 0 || f.d > maxDeadlineAllowance {
			return Errorf(CodeInvalidInput, "the consult deadline policy gives %s consults %s; it must be more than 0 and at most 30 days (check the server's consult deadline configuration)", f.name, f.d)
		}
	}
	if p.Emergency > p.Urgent || p.Urgent > p.Routine {
		return Errorf(CodeInvalidInput, "the consult deadline policy must give emergency <= urgent <= routine, got %s, %s, %s (check the server's consult deadline configuration)",
			p.Emergency, p.Urgent, p.Routine)
	}
	return nil
}

// For returns the allowance for an urgency.
func (p DeadlinePolicy) For(urgency string) (time.Duration, error) {
	switch urgency {
	case UrgencyEmergency:
		return p.Emergency, nil
	case UrgencyUrgent:
		return p.Urgent, nil
	case UrgencyRoutine:
		return p.Routine, nil
	}
	return 0, Errorf(CodeInvalidInput, "urgency %q must be one of %v", truncate(urgency, 20), consultUrgencies)
}

// Attachment describes a file that goes with the consult (an ECG tracing, a CT series,
// a lab report). The file itself is held by the requesting hospital's systems; the event
// records only its digest, so the lead can verify it received exactly that file. Name
// must not identify the patient (e.g. "ECG 12-lead 08:12.pdf", not the patient's name).
type Attachment struct {
	Name      string `json:"name"`
	MediaType string `json:"mediaType"`
	SHA256    string `json:"sha256"` // 64 lowercase hex digits
	SizeBytes int64  `json:"sizeBytes"`
}

// Opinion is the lead specialists' answer. It is advisory: the requesting hospital
// keeps treatment authority and responsibility for its patient, and decides what to do
// with the recommendations. AdviseEscalation says the specialists advise sending the
// patient up to the lead (e.g. through the chest-pain green channel).
type Opinion struct {
	Text             string   `json:"text"`
	Recommendations  []string `json:"recommendations,omitempty"`
	AdviseEscalation bool     `json:"adviseEscalation"`
}

// Consult is the state of one remote consult: a member hospital asks the lead
// department's specialists for an opinion on one patient.
//
// Privacy: the patient appears only as PatientRef (pseudonymous); ConsentRef points to
// the written consent the requesting hospital holds. Free text (question, opinion) must
// describe the clinical picture without names, ID numbers or contact details.
//
// One opinion, then amendments: the first opinion is recorded as given, and any later
// correction is a separate amendment with its reason, so the audit trail keeps what the
// requesting hospital was told first and when it changed. Amendments are possible until
// the consult is closed.
type Consult struct {
	ID                   string
	AllianceID           string
	RequestingHospitalID string
	LeadHospitalID       string
	LeadDepartmentID     string
	RequesterRegionCode  string
	LeadRegionCode       string
	CrossRegion          bool
	Specialty            string
	Urgency              string
	Question             string
	Attachments          []Attachment
	ConsentRef           string
	PatientRef           string
	RequestedAt          time.Time
	Deadline             time.Time
	Status               string
	SpecialistID         string
	SpecialistName       string
	AcceptedAt           time.Time
	DeclineReason        string
	DeclinedAt           time.Time
	Opinion              Opinion // the current opinion (the latest amendment, if any)
	OpinionGivenAt       time.Time
	Amendments           int
	Outcome              string
	ClosedAt             time.Time
	CancelReason         string
	CancelledAt          time.Time
	// UpdatedAt is the time of the latest event; a command dated before it is refused,
	// so the record never says an opinion came before the acceptance.
	UpdatedAt time.Time
}

// Exists reports whether the consult has been requested.
func (c Consult) Exists() bool { return c.ID != "" }

// Open reports whether the consult still waits for an opinion: requested or accepted.
func (c Consult) Open() bool {
	return c.Status == ConsultStatusRequested || c.Status == ConsultStatusAccepted
}

// Overdue reports whether the consult is open, has no opinion and its deadline passed
// at now; views use it to flag consults the lead must answer first.
func (c Consult) Overdue(now time.Time) bool {
	return c.Open() && c.OpinionGivenAt.IsZero() && now.After(c.Deadline)
}

// ConsultRequested records a member's request for an opinion, with the deadline the
// policy gave it and whether it crosses a region (the two hospitals' region codes differ).
type ConsultRequested struct {
	ConsultID            string       `json:"consultId"`
	AllianceID           string       `json:"allianceId"`
	RequestingHospitalID string       `json:"requestingHospitalId"`
	LeadHospitalID       string       `json:"leadHospitalId"`
	LeadDepartmentID     string       `json:"leadDepartmentId"`
	RequesterRegionCode  string       `json:"requesterRegionCode"`
	LeadRegionCode       string       `json:"leadRegionCode"`
	CrossRegion          bool         `json:"crossRegion"`
	Specialty            string       `json:"specialty"`
	Urgency              string       `json:"urgency"`
	Question             string       `json:"question"`
	Attachments          []Attachment `json:"attachments,omitempty"`
	ConsentRef           string       `json:"consentRef"`
	PatientRef           string       `json:"patientRef"`
	RequestedAt          time.Time    `json:"requestedAt"`
	Deadline             time.Time    `json:"deadline"`
}

// ConsultAccepted records that the lead department took the consult on, optionally
// naming the specialist who will answer.
type ConsultAccepted struct {
	ConsultID      string    `json:"consultId"`
	SpecialistID   string    `json:"specialistId,omitempty"`
	SpecialistName string    `json:"specialistName,omitempty"`
	AcceptedAt     time.Time `json:"acceptedAt"`
}

// ConsultDeclined records that the lead department will not answer, and why (e.g.
// outside the specialty: ask the cardiology alliance).
type ConsultDeclined struct {
	ConsultID  string    `json:"consultId"`
	Reason     string    `json:"reason"`
	DeclinedAt time.Time `json:"declinedAt"`
}

// ConsultOpinionGiven records the specialists' (advisory) opinion. WithinDeadline says
// whether it came by the deadline, for the alliance's response-time figures.
type ConsultOpinionGiven struct {
	ConsultID      string    `json:"consultId"`
	SpecialistID   string    `json:"specialistId,omitempty"`
	SpecialistName string    `json:"specialistName,omitempty"`
	Opinion        Opinion   `json:"opinion"`
	WithinDeadline bool      `json:"withinDeadline"`
	GivenAt        time.Time `json:"givenAt"`
}

// ConsultOpinionAmended records a correction of the opinion, with its reason; the
// original opinion stays in the stream.
type ConsultOpinionAmended struct {
	ConsultID string    `json:"consultId"`
	Opinion   Opinion   `json:"opinion"`
	Reason    string    `json:"reason"`
	AmendedAt time.Time `json:"amendedAt"`
}

// ConsultClosed records the end of a consult after its opinion, optionally with what
// happened (e.g. "admitted to the county hospital's cardiology ward via green channel").
type ConsultClosed struct {
	ConsultID string    `json:"consultId"`
	Outcome   string    `json:"outcome,omitempty"`
	ByLead    bool      `json:"byLead"`
	ClosedAt  time.Time `json:"closedAt"`
}

// ConsultCancelled records that the requester withdrew the consult before an opinion.
type ConsultCancelled struct {
	ConsultID   string    `json:"consultId"`
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelledAt"`
}

// EventType implements Event.
func (ConsultRequested) EventType() string { return "ConsultRequested" }

// EventType implements Event.
func (ConsultAccepted) EventType() string { return "ConsultAccepted" }

// EventType implements Event.
func (ConsultDeclined) EventType() string { return "ConsultDeclined" }

// EventType implements Event.
func (ConsultOpinionGiven) EventType() string { return "ConsultOpinionGiven" }

// EventType implements Event.
func (ConsultOpinionAmended) EventType() string { return "ConsultOpinionAmended" }

// EventType implements Event.
func (ConsultClosed) EventType() string { return "ConsultClosed" }

// EventType implements Event.
func (ConsultCancelled) EventType() string { return "ConsultCancelled" }

func init() {
	Register[ConsultRequested](ConsultAggregate, 1, nil)
	Register[ConsultAccepted](ConsultAggregate, 1, nil)
	Register[ConsultDeclined](ConsultAggregate, 1, nil)
	Register[ConsultOpinionGiven](ConsultAggregate, 1, nil)
	Register[ConsultOpinionAmended](ConsultAggregate, 1, nil)
	Register[ConsultClosed](ConsultAggregate, 1, nil)
	Register[ConsultCancelled](ConsultAggregate, 1, nil)
}

// Evolve folds one event into the consult's state.
func (c Consult) Evolve(e Event) Consult {
	switch e := e.(type) {
	case ConsultRequested:
		c = Consult{ID: e.ConsultID, AllianceID: e.AllianceID, RequestingHospitalID: e.RequestingHospitalID,
			LeadHospitalID: e.LeadHospitalID, LeadDepartmentID: e.LeadDepartmentID,
			RequesterRegionCode: e.RequesterRegionCode, LeadRegionCode: e.LeadRegionCode, CrossRegion: e.CrossRegion,
			Specialty: e.Specialty, Urgency: e.Urgency, Question: e.Question, Attachments: slices.Clone(e.Attachments),
			ConsentRef: e.ConsentRef, PatientRef: e.PatientRef, RequestedAt: e.RequestedAt, Deadline: e.Deadline,
			Status: ConsultStatusRequested, UpdatedAt: e.RequestedAt}
	case ConsultAccepted:
		c.Status, c.SpecialistID, c.SpecialistName, c.AcceptedAt = ConsultStatusAccepted, e.SpecialistID, e.SpecialistName, e.AcceptedAt
		c.UpdatedAt = e.AcceptedAt
	case ConsultDeclined:
		c.Status, c.DeclineReason, c.DeclinedAt, c.UpdatedAt = ConsultStatusDeclined, e.Reason, e.DeclinedAt, e.DeclinedAt
	case ConsultOpinionGiven:
		c.Status, c.Opinion, c.OpinionGivenAt, c.UpdatedAt = ConsultStatusAnswered, cloneOpinion(e.Opinion), e.GivenAt, e.GivenAt
	case ConsultOpinionAmended:
		c.Opinion = cloneOpinion(e.Opinion)
		c.Amendments++
		c.UpdatedAt = e.AmendedAt
	case ConsultClosed:
		c.Status, c.Outcome, c.ClosedAt, c.UpdatedAt = ConsultStatusClosed, e.Outcome, e.ClosedAt, e.ClosedAt
	case ConsultCancelled:
		c.Status, c.CancelReason, c.CancelledAt, c.UpdatedAt = ConsultStatusCancelled, e.Reason, e.CancelledAt, e.CancelledAt
	}
	return c
}

func cloneOpinion(o Opinion) Opinion {
	o.Recommendations = slices.Clone(o.Recommendations)
	return o
}

// ConsultCommand is a command handled by the consult aggregate.
type ConsultCommand interface{ consultCommand() }

// RequestConsult asks the lead department's specialists for an opinion. Alliance,
// Requester and Lead are states loaded by the caller: the alliance (membership, lead
// department), the requesting hospital and the lead hospital (for their region codes).
// By acts for the requesting hospital, which must be an active member. Policy gives the
// deadline for the urgency (the server passes its configured or the default policy).
type RequestConsult struct {
	ConsultID   string
	Alliance    Alliance
	Requester   Hospital
	Lead        Hospital
	By          Actor
	Specialty   string
	Urgency     string
	Question    string
	Attachments []Attachment
	ConsentRef  string // reference to the written consent held by the requesting hospital
	PatientRef  string // pseudonymous, ^pr_[0-9a-z]{26,64}$
	RequestedAt time.Time
	Policy      DeadlinePolicy
	// LeadDepartmentID addresses the consult to one of the alliance's lead departments
	// (李惠利医院: 消化内科 or 胃肠外科); empty means the founding lead department. Only the
	// department addressed accepts, declines and answers it.
	LeadDepartmentID string
}

// AcceptConsult takes a requested consult on. Only the lead department may accept;
// SpecialistID (a ULID) and SpecialistName optionally name who will answer.
type AcceptConsult struct {
	ConsultID      string
	SpecialistID   string
	SpecialistName string
	By             Actor
	At             time.Time
}

// DeclineConsult refuses a requested consult with a reason. Only the lead department may
// decline, and only before accepting: once accepted, an opinion is owed.
type DeclineConsult struct {
	ConsultID string
	Reason    string
	By        Actor
	At        time.Time
}

// GiveOpinion records the specialists' opinion on an accepted consult. Only the lead
// department gives it, once; corrections go through AmendOpinion.
type GiveOpinion struct {
	ConsultID string
	Opinion   Opinion
	By        Actor
	At        time.Time
}

// AmendOpinion corrects a given opinion before the consult is closed, with a reason.
// Only the lead department may amend.
type AmendOpinion struct {
	ConsultID string
	Opinion   Opinion
	Reason    string
	By        Actor
	At        time.Time
}

// CloseConsult ends an answered consult. The requesting hospital or the lead department
// may close it; Outcome optionally says what happened to the patient, without
// identifying them.
type CloseConsult struct {
	ConsultID string
	Outcome   string
	By        Actor
	At        time.Time
}

// CancelConsult withdraws a consult before an opinion was given. Only the requesting
// hospital may cancel (e.g. the patient was transferred before the answer came).
type CancelConsult struct {
	ConsultID string
	Reason    string
	By        Actor
	At        time.Time
}

func (RequestConsult) consultCommand() {}
func (AcceptConsult) consultCommand()  {}
func (DeclineConsult) consultCommand() {}
func (GiveOpinion) consultCommand()    {}
func (AmendOpinion) consultCommand()   {}
func (CloseConsult) consultCommand()   {}
func (CancelConsult) consultCommand()  {}

// DecideConsult decides a consult command against the consult's current state.
func DecideConsult(s Consult, c ConsultCommand) ([]Event, error) {
	switch c := c.(type) {
	case RequestConsult:
		return decideRequestConsult(s, c)
	case AcceptConsult:
		if err := s.check(c.ConsultID, c.At, "accept", ConsultStatusRequested); err != nil {
			return nil, err
		}
		if err := s.requireLead(c.By, "accept"); err != nil {
			return nil, err
		}
		if c.SpecialistID != "" {
			if err := firstErr(ValidateID("specialistId", c.SpecialistID), required("specialistName", c.SpecialistName, maxPersonName)); err != nil {
				return nil, err
			}
		} else if err := optional("specialistName", c.SpecialistName, maxPersonName); err != nil {
			return nil, err
		}
		return []Event{ConsultAccepted{ConsultID: s.ID, SpecialistID: c.SpecialistID, SpecialistName: c.SpecialistName, AcceptedAt: c.At}}, nil
	case DeclineConsult:
		if err := s.check(c.ConsultID, c.At, "decline", ConsultStatusRequested); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxReason); err != nil {
			return nil, err
		}
		if err := s.requireLead(c.By, "decline"); err != nil {
			return nil, err
		}
		return []Event{ConsultDeclined{ConsultID: s.ID, Reason: c.Reason, DeclinedAt: c.At}}, nil
	case GiveOpinion:
		if err := s.check(c.ConsultID, c.At, "give an opinion on", ConsultStatusAccepted); err != nil {
			return nil, err
		}
		if err := validateOpinion(c.Opinion); err != nil {
			return nil, err
		}
		if err := s.requireLead(c.By, "give an opinion on"); err != nil {
			return nil, err
		}
		return []Event{ConsultOpinionGiven{ConsultID: s.ID, SpecialistID: s.SpecialistID, SpecialistName: s.SpecialistName,
			Opinion: cloneOpinion(c.Opinion), WithinDeadline: !c.At.After(s.Deadline), GivenAt: c.At}}, nil
	case AmendOpinion:
		if err := s.check(c.ConsultID, c.At, "amend the opinion of", ConsultStatusAnswered); err != nil {
			return nil, err
		}
		if err := firstErr(validateOpinion(c.Opinion), required("reason", c.Reason, maxReason)); err != nil {
			return nil, err
		}
		if err := s.requireLead(c.By, "amend the opinion of"); err != nil {
			return nil, err
		}
		return []Event{ConsultOpinionAmended{ConsultID: s.ID, Opinion: cloneOpinion(c.Opinion), Reason: c.Reason, AmendedAt: c.At}}, nil
	case CloseConsult:
		if err := s.check(c.ConsultID, c.At, "close", ConsultStatusAnswered); err != nil {
			return nil, err
		}
		if err := optional("outcome", c.Outcome, maxConsultOutcome); err != nil {
			return nil, err
		}
		byLead := s.isLead(c.By)
		if !byLead && !s.isRequester(c.By) {
			return nil, Errorf(CodeForbidden, "only the requesting hospital or the alliance's lead department may close a consult")
		}
		return []Event{ConsultClosed{ConsultID: s.ID, Outcome: c.Outcome, ByLead: byLead, ClosedAt: c.At}}, nil
	case CancelConsult:
		if err := s.check(c.ConsultID, c.At, "cancel", ConsultStatusRequested, ConsultStatusAccepted); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxReason); err != nil {
			return nil, err
		}
		if !s.isRequester(c.By) {
			return nil, Errorf(CodeForbidden, "only the requesting hospital may cancel a consult; the lead declines instead")
		}
		return []Event{ConsultCancelled{ConsultID: s.ID, Reason: c.Reason, CancelledAt: c.At}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown consult command %T", c)
}

func decideRequestConsult(s Consult, c RequestConsult) ([]Event, error) {
	if s.Exists() {
		return nil, Errorf(CodeAlreadyExists, "consult %s was already requested", c.ConsultID)
	}
	if err := firstErr(
		ValidateID("consultId", c.ConsultID),
		required("specialty", c.Specialty, maxSpecialty),
		validateUrgency(c.Urgency),
		required("question", c.Question, maxQuestion),
		validateAttachments(c.Attachments),
		validateConsentRef(c.ConsentRef),
		validatePatientRef(c.PatientRef),
		validateInstant("requestedAt", c.RequestedAt),
		c.Policy.Validate(),
	); err != nil {
		return nil, err
	}
	if !c.Alliance.Exists() {
		return nil, Errorf(CodeNotFound, "the alliance does not exist")
	}
	if err := c.Alliance.RequireActiveMember(c.By.HospitalID); err != nil {
		return nil, err
	}
	// Requester and Lead are loaded by the caller; a missing entry is a directory gap, a
	// different hospital is a wiring mistake that would record the wrong regions.
	if !c.Requester.Exists() {
		return nil, Errorf(CodeNotFound, "requesting hospital %s is not in the hospital directory; register it first", c.By.HospitalID)
	}
	if c.Requester.ID != c.By.HospitalID {
		return nil, Errorf(CodeInvalidInput, "the requester's directory entry is hospital %s but hospital %s is acting", c.Requester.ID, c.By.HospitalID)
	}
	if !c.Lead.Exists() {
		return nil, Errorf(CodeNotFound, "lead hospital %s of alliance %s is not in the hospital directory", c.Alliance.LeadHospitalID, c.Alliance.ID)
	}
	if c.Lead.ID != c.Alliance.LeadHospitalID {
		return nil, Errorf(CodeInvalidInput, "the lead's directory entry is hospital %s but alliance %s is led by hospital %s", c.Lead.ID, c.Alliance.ID, c.Alliance.LeadHospitalID)
	}
	leadDept, err := c.Alliance.AddressedLead(c.LeadDepartmentID)
	if err != nil {
		return nil, err
	}
	allowance, err := c.Policy.For(c.Urgency)
	if err != nil {
		return nil, err
	}
	if err := checkDerived("deadline", c.RequestedAt.Add(allowance), "requestedAt plus the "+c.Urgency+" allowance of "+allowance.String()); err != nil {
		return nil, err
	}
	return []Event{ConsultRequested{ConsultID: c.ConsultID, AllianceID: c.Alliance.ID,
		RequestingHospitalID: c.Requester.ID, LeadHospitalID: c.Lead.ID, LeadDepartmentID: leadDept,
		RequesterRegionCode: c.Requester.RegionCode, LeadRegionCode: c.Lead.RegionCode,
		CrossRegion: c.Requester.RegionCode != c.Lead.RegionCode,
		Specialty:   c.Specialty, Urgency: c.Urgency, Question: c.Question, Attachments: slices.Clone(c.Attachments),
		ConsentRef: c.ConsentRef, PatientRef: c.PatientRef, RequestedAt: c.RequestedAt,
		Deadline: c.RequestedAt.Add(allowance)}}, nil
}

// check runs the checks every follow-up command shares: a valid id naming this consult,
// the command's time (not before the latest event), and a status from allowed.
func (s Consult) check(consultID string, at time.Time, what string, allowed ...string) error {
	return checkFollowUp(followUp{idField: "consultId", missing: "consult", noun: "consult", exists: s.Exists(),
		id: s.ID, status: s.Status, updated: s.UpdatedAt}, consultID, at, what, allowed)
}

func (s Consult) isLead(by Actor) bool {
	return by.HospitalID != "" && by.HospitalID == s.LeadHospitalID && by.DepartmentID == s.LeadDepartmentID
}

func (s Consult) isRequester(by Actor) bool {
	return by.HospitalID != "" && by.HospitalID == s.RequestingHospitalID
}

func (s Consult) requireLead(by Actor, what string) error {
	if !s.isLead(by) {
		return Errorf(CodeForbidden, "only the lead department the consult is addressed to may %s it", what)
	}
	return nil
}

func validateUrgency(u string) error {
	if !slices.Contains(consultUrgencies, u) {
		return Errorf(CodeInvalidInput, "urgency %q must be one of %v", truncate(u, 20), consultUrgencies)
	}
	return nil
}

func validateAttachments(as []Attachment) error {
	if len(as) > maxAttachments {
		return Errorf(CodeInvalidInput, "a consult may carry at most %d attachments; got %d", maxAttachments, len(as))
	}
	seen := map[string]bool{}
	for i, a := range as {
		if err := firstErr(required(fmt.Sprintf("attachment %d name", i+1), a.Name, maxAttachmentName),
			required(fmt.Sprintf("attachment %d mediaType", i+1), a.MediaType, maxMediaType)); err != nil {
			return err
		}
		if !mediaTypePattern.MatchString(a.MediaType) {
			return Errorf(CodeInvalidInput, "attachment %d (%q): mediaType %q is not a media type such as application/pdf", i+1, truncate(a.Name, 40), truncate(a.MediaType, 40))
		}
		if !isLowerHex(a.SHA256, 64) {
			return Errorf(CodeInvalidInput, "attachment %d (%q): sha256 must be the file's SHA-256 as 64 lowercase hex digits", i+1, truncate(a.Name, 40))
		}
		if a.SizeBytes <= 0 || a.SizeBytes > maxAttachmentBytes {
			return Errorf(CodeInvalidInput, "attachment %d (%q): sizeBytes %d must be between 1 and %d", i+1, truncate(a.Name, 40), a.SizeBytes, int64(maxAttachmentBytes))
		}
		if seen[a.SHA256] {
			return Errorf(CodeInvalidInput, "attachment %d (%q) is the same file as an earlier attachment (same sha256)", i+1, truncate(a.Name, 40))
		}
		seen[a.SHA256] = true
	}
	return nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// validateConsentRef accepts an opaque reference (the requesting hospital's own consent
// form number): required, at most 128 characters, no spaces or control characters.
func validateConsentRef(ref string) error {
	if ref == "" {
		return Errorf(CodeInvalidInput, "consentRef is required: reference the patient's written consent held by the requesting hospital")
	}
	if n := len([]rune(ref)); n > maxConsentRef {
		return Errorf(CodeInvalidInput, "consentRef is %d characters long; the limit is %d", n, maxConsentRef)
	}
	if strings.IndexFunc(ref, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return Errorf(CodeInvalidInput, "consentRef must not contain spaces or control characters")
	}
	return nil
}

// validateConsultPatientRef accepts only the pseudonymous form, so a patient's name or ID-card
// number can never be stored by mistake; the value is not echoed in the message.
func validateOpinion(o Opinion) error {
	if err := required("opinion text", o.Text, maxOpinion); err != nil {
		return err
	}
	if len(o.Recommendations) > maxRecommendations {
		return Errorf(CodeInvalidInput, "an opinion may list at most %d recommendations; got %d", maxRecommendations, len(o.Recommendations))
	}
	for i, r := range o.Recommendations {
		if err := required(fmt.Sprintf("recommendation %d", i+1), r, maxRecommendation); err != nil {
			return err
		}
	}
	return nil
}
