package domain

import (
	"slices"
	"strings"
	"time"
)

// MentorshipAggregate names the mentorship aggregate (师带徒) in the event catalogue.
const MentorshipAggregate = "mentorship"

// MentorshipStream is the stream of one mentorship: one mentor, one apprentice.
func MentorshipStream(id string) string { return "mentorship-" + id }

// Mentorship statuses: active from the start until completed (学成结业, after a
// passing assessment) or withdrawn (either side gives up, with a reason).
const (
	MentorshipStatusActive    = "active"
	MentorshipStatusCompleted = "completed"
	MentorshipStatusWithdrawn = "withdrawn"
)

// Session kinds: what mentor and apprentice did together.
const (
	SessionTeachingRound       = "teaching_round"       // 教学查房
	SessionJointConsult        = "joint_consult"        // 跟师门诊 / 联合会诊
	SessionSupervisedProcedure = "supervised_procedure" // 带教手术 / 操作
)

var sessionKinds = []string{SessionTeachingRound, SessionJointConsult, SessionSupervisedProcedure}

// Limits of a mentorship.
const (
	// MaxMentorshipSessions bounds the sessions of one mentorship: a session a working
	// day for years.
	MaxMentorshipSessions = 2000
	// MaxMentorshipAssessments bounds its assessments (quarterly for a decade).
	MaxMentorshipAssessments = 40
	// MaxSessionMinutes bounds one session's duration (a long operating day).
	MaxSessionMinutes = 12 * 60
	// MaxMentorshipSpan bounds the planned span from start to planned end.
	MaxMentorshipSpan = 5 * 366 * 24 * time.Hour
)

// MentorshipSessionCounts are the running totals of a mentorship's sessions.
type MentorshipSessionCounts struct {
	Sessions            int `json:"sessions"`
	Minutes             int `json:"minutes"`
	TeachingRounds      int `json:"teachingRounds"`
	JointConsults       int `json:"jointConsults"`
	SupervisedProcedure int `json:"supervisedProcedures"`
	Patients            int `json:"patients"`
	Procedures          int `json:"procedures"`
}

func (c *MentorshipSessionCounts) add(e MentorshipSessionLogged) {
	c.Sessions++
	c.Minutes += e.DurationMinutes
	c.Patients += e.Patients
	c.Procedures += e.Procedures
	switch e.Kind {
	case SessionTeachingRound:
		c.TeachingRounds++
	case SessionJointConsult:
		c.JointConsults++
	case SessionSupervisedProcedure:
		c.SupervisedProcedure++
	}
}

// Mentorship is the state of one 师带徒 pairing within an alliance's programme: a
// mentor of the lead hospital teaches an apprentice of a member hospital. It names
// people by their directory ids and records counts of work, never a patient.
type Mentorship struct {
	ID                     string
	AllianceID             string
	Programme              string
	LeadHospitalID         string
	LeadDepartmentID       string // the lead department that opened it
	MentorID               string
	MentorName             string
	MentorDepartmentID     string
	ApprenticeID           string
	ApprenticeName         string
	ApprenticeHospitalID   string
	ApprenticeDepartmentID string
	Goal                   string
	Status                 string
	StartedAt              time.Time
	PlannedEndAt           time.Time
	Counts                 MentorshipSessionCounts
	LastSessionAt          time.Time
	Assessments            []MentorshipAssessed
	CompletedAt            time.Time
	WithdrawnAt            time.Time
	WithdrawReason         string
	// UpdatedAt is the latest instant recorded: later records may not predate it.
	UpdatedAt time.Time
}

// Exists reports whether the mentorship was started.
func (m Mentorship) Exists() bool { return m.ID != "" }

// LatestAssessment returns the latest assessment, and false when there is none.
func (m Mentorship) LatestAssessment() (MentorshipAssessed, bool) {
	if len(m.Assessments) == 0 {
		return MentorshipAssessed{}, false
	}
	return m.Assessments[len(m.Assessments)-1], true
}

// IsParty reports whether hospitalID is the mentor's (lead) or the apprentice's hospital.
func (m Mentorship) IsParty(hospitalID string) bool {
	return hospitalID != "" && (hospitalID == m.LeadHospitalID || hospitalID == m.ApprenticeHospitalID)
}

// MentorshipStarted records a pairing: the programme, the mentor at the lead hospital,
// the apprentice at a member, and when it started.
type MentorshipStarted struct {
	MentorshipID           string    `json:"mentorshipId"`
	AllianceID             string    `json:"allianceId"`
	Programme              string    `json:"programme"`
	LeadHospitalID         string    `json:"leadHospitalId"`
	LeadDepartmentID       string    `json:"leadDepartmentId"`
	MentorID               string    `json:"mentorId"`
	MentorName             string    `json:"mentorName"`
	MentorDepartmentID     string    `json:"mentorDepartmentId"`
	ApprenticeID           string    `json:"apprenticeId"`
	ApprenticeName         string    `json:"apprenticeName"`
	ApprenticeHospitalID   string    `json:"apprenticeHospitalId"`
	ApprenticeDepartmentID string    `json:"apprenticeDepartmentId"`
	Goal                   string    `json:"goal,omitempty"`
	StartedAt              time.Time `json:"startedAt"`
	PlannedEndAt           time.Time `json:"plannedEndAt,omitzero"`
}

// MentorshipSessionLogged records one session: its kind, when it was held, how long it
// lasted and how many patients and procedures it involved (counts, no identity).
type MentorshipSessionLogged struct {
	MentorshipID         string    `json:"mentorshipId"`
	AllianceID           string    `json:"allianceId"`
	ApprenticeHospitalID string    `json:"apprenticeHospitalId"`
	SessionNo            int       `json:"sessionNo"` // 1-based, in logging order
	Kind                 string    `json:"kind"`
	SessionAt            time.Time `json:"sessionAt"`
	DurationMinutes      int       `json:"durationMinutes"`
	Patients             int       `json:"patients"`
	Procedures           int       `json:"procedures"`
	Note                 string    `json:"note,omitempty"`
	LoggedByHospitalID   string    `json:"loggedByHospitalId"`
}

// MentorshipAssessed records an assessment of the apprentice by the lead.
type MentorshipAssessed struct {
	MentorshipID         string    `json:"mentorshipId"`
	AllianceID           string    `json:"allianceId"`
	ApprenticeHospitalID string    `json:"apprenticeHospitalId"`
	Outcome              string    `json:"outcome"`
	Comment              string    `json:"comment"`
	AssessedAt           time.Time `json:"assessedAt"`
}

// MentorshipCompleted records that the apprentice completed (学成结业). Sessions is the
// number of sessions logged, for readers that keep no running count.
type MentorshipCompleted struct {
	MentorshipID         string    `json:"mentorshipId"`
	AllianceID           string    `json:"allianceId"`
	ApprenticeHospitalID string    `json:"apprenticeHospitalId"`
	Sessions             int       `json:"sessions"`
	CompletedAt          time.Time `json:"completedAt"`
}

// MentorshipWithdrawn records that the mentorship ended without completion. ByLead says
// which side ended it (the lead department, or the apprentice's hospital).
type MentorshipWithdrawn struct {
	MentorshipID         string    `json:"mentorshipId"`
	AllianceID           string    `json:"allianceId"`
	ApprenticeHospitalID string    `json:"apprenticeHospitalId"`
	Reason               string    `json:"reason"`
	ByLead               bool      `json:"byLead"`
	WithdrawnAt          time.Time `json:"withdrawnAt"`
}

// EventType implements Event.
func (MentorshipStarted) EventType() string { return "MentorshipStarted" }

// EventType implements Event.
func (MentorshipSessionLogged) EventType() string { return "MentorshipSessionLogged" }

// EventType implements Event.
func (MentorshipAssessed) EventType() string { return "MentorshipAssessed" }

// EventType implements Event.
func (MentorshipCompleted) EventType() string { return "MentorshipCompleted" }

// EventType implements Event.
func (MentorshipWithdrawn) EventType() string { return "MentorshipWithdrawn" }

func init() {
	Register[MentorshipStarted](MentorshipAggregate, 1, nil)
	Register[MentorshipSessionLogged](MentorshipAggregate, 1, nil)
	Register[MentorshipAssessed](MentorshipAggregate, 1, nil)
	Register[MentorshipCompleted](MentorshipAggregate, 1, nil)
	Register[MentorshipWithdrawn](MentorshipAggregate, 1, nil)
}

// Evolve folds one event into the mentorship's state.
func (m Mentorship) Evolve(e Event) Mentorship {
	switch e := e.(type) {
	case MentorshipStarted:
		m = Mentorship{ID: e.MentorshipID, AllianceID: e.AllianceID, Programme: e.Programme,
			LeadHospitalID: e.LeadHospitalID, LeadDepartmentID: e.LeadDepartmentID, MentorID: e.MentorID,
			MentorName: e.MentorName, MentorDepartmentID: e.MentorDepartmentID, ApprenticeID: e.ApprenticeID,
			ApprenticeName: e.ApprenticeName, ApprenticeHospitalID: e.ApprenticeHospitalID,
			ApprenticeDepartmentID: e.ApprenticeDepartmentID, Goal: e.Goal, Status: MentorshipStatusActive,
			StartedAt: e.StartedAt, PlannedEndAt: e.PlannedEndAt, UpdatedAt: e.StartedAt}
	case MentorshipSessionLogged:
		m.Counts.add(e)
		m.LastSessionAt, m.UpdatedAt = e.SessionAt, later(m.UpdatedAt, e.SessionAt)
	case MentorshipAssessed:
		m.Assessments = append(slices.Clip(m.Assessments), e)
		m.UpdatedAt = later(m.UpdatedAt, e.AssessedAt)
	case MentorshipCompleted:
		m.Status, m.CompletedAt, m.UpdatedAt = MentorshipStatusCompleted, e.CompletedAt, later(m.UpdatedAt, e.CompletedAt)
	case MentorshipWithdrawn:
		m.Status, m.WithdrawnAt, m.WithdrawReason = MentorshipStatusWithdrawn, e.WithdrawnAt, e.Reason
		m.UpdatedAt = later(m.UpdatedAt, e.WithdrawnAt)
	}
	return m
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// MentorshipCommand is a command handled by the mentorship aggregate.
type MentorshipCommand interface{ mentorshipCommand() }

// StartMentorship pairs a mentor with an apprentice in a programme of Alliance. By must
// be one of the alliance's lead departments (programmes are the lead's); Mentor must be
// an active practitioner of the lead hospital and Apprentice an active practitioner of
// an active member (both loaded by the caller from the directory; zero when the id is
// not registered). StartedAt is when the pairing began (拜师), At when by default;
// PlannedEndAt, optional, when it should end.
type StartMentorship struct {
	MentorshipID string
	Alliance     Alliance
	Programme    string
	MentorID     string
	Mentor       Practitioner
	ApprenticeID string
	Apprentice   Practitioner
	Goal         string
	StartedAt    time.Time
	PlannedEndAt time.Time
	By           Actor
	At           time.Time
}

// LogMentorshipSession records a session. The mentor's hospital or the apprentice's
// hospital logs it (any of their departments: the mentor's office or the apprentice's
// centre keeps the logbook), while the mentorship is active, dated at or after the
// mentorship's latest instant.
type LogMentorshipSession struct {
	MentorshipID    string
	Kind            string
	SessionAt       time.Time
	DurationMinutes int
	Patients        int
	Procedures      int
	Note            string
	By              Actor
	At              time.Time
}

// AssessMentorship records an assessment. Only a lead department of the alliance
// (Alliance, loaded by the caller) assesses, while the mentorship is active.
type AssessMentorship struct {
	MentorshipID string
	Alliance     Alliance
	Outcome      string
	Comment      string
	AssessedAt   time.Time
	By           Actor
	At           time.Time
}

// CompleteMentorship records completion (学成结业). Only a lead department completes,
// and only after at least one session and when the latest assessment passed.
type CompleteMentorship struct {
	MentorshipID string
	Alliance     Alliance
	CompletedAt  time.Time
	By           Actor
	At           time.Time
}

// WithdrawMentorship ends an active mentorship without completion, with a reason. A
// lead department or the apprentice's hospital may withdraw.
type WithdrawMentorship struct {
	MentorshipID string
	Alliance     Alliance
	Reason       string
	WithdrawnAt  time.Time
	By           Actor
	At           time.Time
}

func (StartMentorship) mentorshipCommand()      {}
func (LogMentorshipSession) mentorshipCommand() {}
func (AssessMentorship) mentorshipCommand()     {}
func (CompleteMentorship) mentorshipCommand()   {}
func (WithdrawMentorship) mentorshipCommand()   {}

// DecideMentorship decides a mentorship command against the mentorship's state.
func DecideMentorship(m Mentorship, c MentorshipCommand) ([]Event, error) {
	switch c := c.(type) {
	case StartMentorship:
		return decideStartMentorship(m, c)
	case LogMentorshipSession:
		if err := m.check(c.MentorshipID); err != nil {
			return nil, err
		}
		if !m.IsParty(c.By.HospitalID) {
			return nil, Errorf(CodeForbidden, "only the mentor's or the apprentice's hospital may log a mentorship session")
		}
		if err := m.requireActive("log a session of"); err != nil {
			return nil, err
		}
		at, err := reportedInstant("sessionAt", c.SessionAt, c.At, m.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(sessionKinds, c.Kind) {
			return nil, Errorf(CodeInvalidInput, "kind %q must be one of %v", truncate(c.Kind, 30), sessionKinds)
		}
		if c.DurationMinutes < 1 || c.DurationMinutes > MaxSessionMinutes {
			return nil, Errorf(CodeInvalidInput, "durationMinutes is %d; it must be between 1 and %d", c.DurationMinutes, MaxSessionMinutes)
		}
		if err := firstErr(talentCount("patients", c.Patients), talentCount("procedures", c.Procedures),
			talentNote("note", c.Note, false), checkCount("the mentorship's sessions", m.Counts.Sessions, 1, MaxMentorshipSessions)); err != nil {
			return nil, err
		}
		return []Event{MentorshipSessionLogged{MentorshipID: m.ID, AllianceID: m.AllianceID, ApprenticeHospitalID: m.ApprenticeHospitalID,
			SessionNo: m.Counts.Sessions + 1, Kind: c.Kind, SessionAt: at, DurationMinutes: c.DurationMinutes,
			Patients: c.Patients, Procedures: c.Procedures, Note: c.Note, LoggedByHospitalID: c.By.HospitalID}}, nil
	case AssessMentorship:
		if err := firstErr(m.check(c.MentorshipID), m.requireLead(c.Alliance, c.By, "assess an apprentice"),
			m.requireActive("assess")); err != nil {
			return nil, err
		}
		at, err := reportedInstant("assessedAt", c.AssessedAt, c.At, m.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if err := firstErr(validateOutcome(c.Outcome), talentNote("comment", c.Comment, true),
			checkCount("the mentorship's assessments", len(m.Assessments), 1, MaxMentorshipAssessments)); err != nil {
			return nil, err
		}
		return []Event{MentorshipAssessed{MentorshipID: m.ID, AllianceID: m.AllianceID, ApprenticeHospitalID: m.ApprenticeHospitalID,
			Outcome: c.Outcome, Comment: c.Comment, AssessedAt: at}}, nil
	case CompleteMentorship:
		if err := firstErr(m.check(c.MentorshipID), m.requireLead(c.Alliance, c.By, "complete a mentorship"),
			m.requireActive("complete")); err != nil {
			return nil, err
		}
		at, err := reportedInstant("completedAt", c.CompletedAt, c.At, m.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if m.Counts.Sessions == 0 {
			return nil, Errorf(CodeForbiddenTransition, "mentorship %s has no session logged; an apprentice completes after working with the mentor", m.ID)
		}
		if a, ok := m.LatestAssessment(); !ok || !Passing(a.Outcome) {
			return nil, Errorf(CodeForbiddenTransition, "mentorship %s needs a passing latest assessment (excellent or pass) before completion", m.ID)
		}
		return []Event{MentorshipCompleted{MentorshipID: m.ID, AllianceID: m.AllianceID, ApprenticeHospitalID: m.ApprenticeHospitalID,
			Sessions: m.Counts.Sessions, CompletedAt: at}}, nil
	case WithdrawMentorship:
		if err := m.check(c.MentorshipID); err != nil {
			return nil, err
		}
		byLead := m.isLead(c.Alliance, c.By)
		if !byLead && (c.By.HospitalID == "" || c.By.HospitalID != m.ApprenticeHospitalID) {
			return nil, Errorf(CodeForbidden, "only a lead department of the alliance or the apprentice's hospital may withdraw a mentorship")
		}
		if err := m.requireActive("withdraw"); err != nil {
			return nil, err
		}
		at, err := reportedInstant("withdrawnAt", c.WithdrawnAt, c.At, m.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxReason); err != nil {
			return nil, err
		}
		return []Event{MentorshipWithdrawn{MentorshipID: m.ID, AllianceID: m.AllianceID, ApprenticeHospitalID: m.ApprenticeHospitalID,
			Reason: c.Reason, ByLead: byLead, WithdrawnAt: at}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown mentorship command %T", c)
}

func decideStartMentorship(m Mentorship, c StartMentorship) ([]Event, error) {
	if err := firstErr(ValidateID("mentorshipId", c.MentorshipID), validateInstant("at", c.At)); err != nil {
		return nil, err
	}
	if m.Exists() {
		return nil, Errorf(CodeAlreadyExists, "mentorship %s was already started", c.MentorshipID)
	}
	if !c.Alliance.Exists() {
		return nil, Errorf(CodeNotFound, "the alliance does not exist")
	}
	if !c.Alliance.IsLeadDepartment(c.By.HospitalID, c.By.DepartmentID) {
		return nil, c.Alliance.leadOnly("start a mentorship")
	}
	if err := firstErr(required("programme", c.Programme, maxProgrammeName), noIdentityNumber("programme", c.Programme),
		ValidateID("mentorId", c.MentorID), ValidateID("apprenticeId", c.ApprenticeID), talentNote("goal", c.Goal, false)); err != nil {
		return nil, err
	}
	start, err := reportedInstant("startedAt", c.StartedAt, c.At, time.Time{})
	if err != nil {
		return nil, err
	}
	if !c.PlannedEndAt.IsZero() {
		if err := checkInstant("plannedEndAt", c.PlannedEndAt); err != nil {
			return nil, err
		}
		if !c.PlannedEndAt.After(start) || c.PlannedEndAt.Sub(start) > MaxMentorshipSpan {
			return nil, Errorf(CodeInvalidInput, "plannedEndAt %s must be after startedAt %s and at most %d days later",
				formatInstant(c.PlannedEndAt), formatInstant(start), int(MaxMentorshipSpan/(24*time.Hour)))
		}
	}
	if err := requireLeadPractitioner(c.Alliance, c.Mentor, c.MentorID, "mentor"); err != nil {
		return nil, err
	}
	if err := requireMemberPractitioner(c.Alliance, c.Apprentice, c.ApprenticeID, "apprentice"); err != nil {
		return nil, err
	}
	return []Event{MentorshipStarted{MentorshipID: c.MentorshipID, AllianceID: c.Alliance.ID, Programme: strings.TrimSpace(c.Programme),
		LeadHospitalID: c.Alliance.LeadHospitalID, LeadDepartmentID: c.By.DepartmentID, MentorID: c.Mentor.ID,
		MentorName: c.Mentor.Name, MentorDepartmentID: c.Mentor.HomeDepartmentID, ApprenticeID: c.Apprentice.ID,
		ApprenticeName: c.Apprentice.Name, ApprenticeHospitalID: c.Apprentice.HomeHospitalID,
		ApprenticeDepartmentID: c.Apprentice.HomeDepartmentID, Goal: c.Goal, StartedAt: start, PlannedEndAt: c.PlannedEndAt}}, nil
}

// check runs the checks every follow-up command shares: a valid id naming this mentorship.
func (m Mentorship) check(id string) error {
	if err := ValidateID("mentorshipId", id); err != nil {
		return err
	}
	if !m.Exists() || m.ID != id {
		return Errorf(CodeNotFound, "mentorship %s does not exist", id)
	}
	return nil
}

func (m Mentorship) requireActive(what string) error {
	if m.Status != MentorshipStatusActive {
		return Errorf(CodeForbiddenTransition, "cannot %s mentorship %s: it is %s", what, m.ID, m.Status).WithDetail("status", m.Status)
	}
	return nil
}

// isLead reports whether by is a lead department of the mentorship's alliance (a is the
// alliance's current state, loaded by the caller; the founding department counts even
// when a was not loaded, so a zero Alliance never widens authority).
func (m Mentorship) isLead(a Alliance, by Actor) bool {
	if by.HospitalID == "" || by.HospitalID != m.LeadHospitalID {
		return false
	}
	if a.ID == m.AllianceID && a.IsLeadDepartment(by.HospitalID, by.DepartmentID) {
		return true
	}
	return by.DepartmentID != "" && by.DepartmentID == m.LeadDepartmentID
}

func (m Mentorship) requireLead(a Alliance, by Actor, what string) error {
	if !m.isLead(a, by) {
		return Errorf(CodeForbidden, "only a lead department of the alliance may %s", what)
	}
	return nil
}
