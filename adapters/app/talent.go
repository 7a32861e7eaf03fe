package app

import (
	"context"
	"time"

	"github.com/medalliance/allianced/domain"
)

// The talent use cases: mentorships (师带徒) and training placements (进修, 派一送一).
// The service loads what the decisions need (the alliance, the directory entries of the
// people named, the host hospital) and the domain decides who may do what.

// StartMentorshipInput pairs a mentor of the lead hospital with an apprentice of a
// member in a programme. StartedAt (optional) is when the pairing began, for records
// entered afterwards; PlannedEndAt is optional.
type StartMentorshipInput struct {
	AllianceID   string    `json:"allianceId"`
	Programme    string    `json:"programme"`
	MentorID     string    `json:"mentorId"`
	ApprenticeID string    `json:"apprenticeId"`
	Goal         string    `json:"goal,omitempty"`
	StartedAt    time.Time `json:"startedAt,omitzero"`
	PlannedEndAt time.Time `json:"plannedEndAt,omitzero"`
}

// StartMentorship opens a mentorship under a generated id (a lead department).
func (a *App) StartMentorship(ctx context.Context, call Call, in StartMentorshipInput) (Outcome, error) {
	if err := firstErr(validID("allianceId", in.AllianceID), validID("mentorId", in.MentorID), validID("apprenticeId", in.ApprenticeID)); err != nil {
		return Outcome{}, err
	}
	cmd := domain.StartMentorship{Programme: in.Programme, MentorID: in.MentorID, ApprenticeID: in.ApprenticeID,
		Goal: in.Goal, StartedAt: in.StartedAt, PlannedEndAt: in.PlannedEndAt, By: call.Actor}
	var err error
	if cmd.Alliance, err = a.existingAlliance(ctx, in.AllianceID); err != nil {
		return Outcome{}, err
	}
	if cmd.Mentor, err = load[domain.Practitioner](ctx, a, domain.PractitionerStream(in.MentorID)); err != nil {
		return Outcome{}, err
	}
	if cmd.Apprentice, err = load[domain.Practitioner](ctx, a, domain.PractitionerStream(in.ApprenticeID)); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "StartMentorship", at)
	if err != nil {
		return Outcome{}, err
	}
	cmd.MentorshipID, cmd.At = id, at
	return handle(ctx, a, call, at, id, domain.MentorshipStream(id), func(m domain.Mentorship) ([]domain.Event, error) {
		return domain.DecideMentorship(m, cmd)
	})
}

// LogSessionInput is one mentorship session; SessionAt (optional) is when it was held.
type LogSessionInput struct {
	MentorshipID    string    `json:"-"`
	Kind            string    `json:"kind"`
	SessionAt       time.Time `json:"sessionAt,omitzero"`
	DurationMinutes int       `json:"durationMinutes"`
	Patients        int       `json:"patients"`
	Procedures      int       `json:"procedures"`
	Note            string    `json:"note,omitempty"`
}

// LogMentorshipSession records a session (the mentor's or the apprentice's hospital).
func (a *App) LogMentorshipSession(ctx context.Context, call Call, in LogSessionInput) (Outcome, error) {
	return a.mentorshipCmd(ctx, call, in.MentorshipID, false, func(_ domain.Alliance, at time.Time) domain.MentorshipCommand {
		return domain.LogMentorshipSession{MentorshipID: in.MentorshipID, Kind: in.Kind, SessionAt: in.SessionAt,
			DurationMinutes: in.DurationMinutes, Patients: in.Patients, Procedures: in.Procedures, Note: in.Note, By: call.Actor, At: at}
	})
}

// AssessInput is an assessment of an apprentice.
type AssessInput struct {
	MentorshipID string    `json:"-"`
	Outcome      string    `json:"outcome"`
	Comment      string    `json:"comment"`
	AssessedAt   time.Time `json:"assessedAt,omitzero"`
}

// AssessMentorship records an assessment (a lead department).
func (a *App) AssessMentorship(ctx context.Context, call Call, in AssessInput) (Outcome, error) {
	return a.mentorshipCmd(ctx, call, in.MentorshipID, true, func(al domain.Alliance, at time.Time) domain.MentorshipCommand {
		return domain.AssessMentorship{MentorshipID: in.MentorshipID, Alliance: al, Outcome: in.Outcome, Comment: in.Comment,
			AssessedAt: in.AssessedAt, By: call.Actor, At: at}
	})
}

// CompleteMentorshipInput completes a mentorship; CompletedAt is optional.
type CompleteMentorshipInput struct {
	MentorshipID string    `json:"-"`
	CompletedAt  time.Time `json:"completedAt,omitzero"`
}

// CompleteMentorship records completion (a lead department, after a passing assessment).
func (a *App) CompleteMentorship(ctx context.Context, call Call, in CompleteMentorshipInput) (Outcome, error) {
	return a.mentorshipCmd(ctx, call, in.MentorshipID, true, func(al domain.Alliance, at time.Time) domain.MentorshipCommand {
		return domain.CompleteMentorship{MentorshipID: in.MentorshipID, Alliance: al, CompletedAt: in.CompletedAt, By: call.Actor, At: at}
	})
}

// WithdrawMentorshipInput ends a mentorship without completion.
type WithdrawMentorshipInput struct {
	MentorshipID string    `json:"-"`
	Reason       string    `json:"reason"`
	WithdrawnAt  time.Time `json:"withdrawnAt,omitzero"`
}

// WithdrawMentorship ends a mentorship (a lead department or the apprentice's hospital).
func (a *App) WithdrawMentorship(ctx context.Context, call Call, in WithdrawMentorshipInput) (Outcome, error) {
	return a.mentorshipCmd(ctx, call, in.MentorshipID, true, func(al domain.Alliance, at time.Time) domain.MentorshipCommand {
		return domain.WithdrawMentorship{MentorshipID: in.MentorshipID, Alliance: al, Reason: in.Reason, WithdrawnAt: in.WithdrawnAt, By: call.Actor, At: at}
	})
}

// mentorshipCmd runs a follow-up command; withAlliance loads the mentorship's alliance
// first, for the commands a lead department (any of several) may give.
func (a *App) mentorshipCmd(ctx context.Context, call Call, id string, withAlliance bool,
	build func(domain.Alliance, time.Time) domain.MentorshipCommand) (Outcome, error) {
	if err := validID("mentorshipId", id); err != nil {
		return Outcome{}, err
	}
	stream := domain.MentorshipStream(id)
	var al domain.Alliance
	if withAlliance {
		m, err := load[domain.Mentorship](ctx, a, stream)
		if err != nil {
			return Outcome{}, err
		}
		if m.Exists() {
			if al, err = load[domain.Alliance](ctx, a, domain.AllianceStream(m.AllianceID)); err != nil {
				return Outcome{}, err
			}
		}
	}
	at := a.Now()
	cmd := build(al, at)
	return handle(ctx, a, call, at, id, stream, func(m domain.Mentorship) ([]domain.Event, error) {
		return domain.DecideMentorship(m, cmd)
	})
}

// PlanPlacementInput plans a placement: kind "study" (进修: a member's practitioner in a
// lead department) or "posting" (派一送一: a lead practitioner at HostHospitalID, a
// member), in HostDepartmentID, for Period.
type PlanPlacementInput struct {
	AllianceID       string        `json:"allianceId"`
	Kind             string        `json:"kind"`
	Programme        string        `json:"programme"`
	Cohort           string        `json:"cohort,omitempty"`
	PractitionerID   string        `json:"practitionerId"`
	HostHospitalID   string        `json:"hostHospitalId,omitempty"`
	HostDepartmentID string        `json:"hostDepartmentId"`
	Period           domain.Window `json:"period"`
}

// PlanPlacement plans a placement under a generated id (a lead department).
func (a *App) PlanPlacement(ctx context.Context, call Call, in PlanPlacementInput) (Outcome, error) {
	if err := firstErr(validID("allianceId", in.AllianceID), validID("practitionerId", in.PractitionerID)); err != nil {
		return Outcome{}, err
	}
	cmd := domain.PlanPlacement{Kind: in.Kind, Programme: in.Programme, Cohort: in.Cohort, PractitionerID: in.PractitionerID,
		HostHospitalID: in.HostHospitalID, HostDepartmentID: in.HostDepartmentID, Period: in.Period, By: call.Actor}
	var err error
	if cmd.Alliance, err = a.existingAlliance(ctx, in.AllianceID); err != nil {
		return Outcome{}, err
	}
	if cmd.Practitioner, err = load[domain.Practitioner](ctx, a, domain.PractitionerStream(in.PractitionerID)); err != nil {
		return Outcome{}, err
	}
	host := in.HostHospitalID
	if in.Kind == domain.PlacementStudy || host == "" {
		host = cmd.Alliance.LeadHospitalID
	}
	if err := validID("hostHospitalId", host); err != nil {
		return Outcome{}, err
	}
	if cmd.Host, err = load[domain.Hospital](ctx, a, domain.HospitalStream(host)); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "PlanPlacement", at)
	if err != nil {
		return Outcome{}, err
	}
	cmd.PlacementID, cmd.At = id, at
	return handle(ctx, a, call, at, id, domain.PlacementStream(id), func(p domain.Placement) ([]domain.Event, error) {
		return domain.DecidePlacement(p, cmd)
	})
}

// PlacementStepInput is an arrival or a completion; At (optional) is when it happened.
type PlacementStepInput struct {
	PlacementID string    `json:"-"`
	At          time.Time `json:"at,omitzero"`
}

// RecordPlacementArrival records the arrival (home or host hospital).
func (a *App) RecordPlacementArrival(ctx context.Context, call Call, in PlacementStepInput) (Outcome, error) {
	return a.placementCmd(ctx, call, in.PlacementID, func(_ domain.Alliance, at time.Time) domain.PlacementCommand {
		return domain.RecordPlacementArrival{PlacementID: in.PlacementID, ArrivedAt: in.At, By: call.Actor, At: at}
	})
}

// CompletePlacement records the end of the placement (home or host hospital).
func (a *App) CompletePlacement(ctx context.Context, call Call, in PlacementStepInput) (Outcome, error) {
	return a.placementCmd(ctx, call, in.PlacementID, func(_ domain.Alliance, at time.Time) domain.PlacementCommand {
		return domain.CompletePlacement{PlacementID: in.PlacementID, CompletedAt: in.At, By: call.Actor, At: at}
	})
}

// EvaluatePlacementInput is the host's evaluation of a completed placement.
type EvaluatePlacementInput struct {
	PlacementID string    `json:"-"`
	Outcome     string    `json:"outcome"`
	Comment     string    `json:"comment"`
	EvaluatedAt time.Time `json:"evaluatedAt,omitzero"`
}

// EvaluatePlacement records the host hospital's evaluation.
func (a *App) EvaluatePlacement(ctx context.Context, call Call, in EvaluatePlacementInput) (Outcome, error) {
	return a.placementCmd(ctx, call, in.PlacementID, func(_ domain.Alliance, at time.Time) domain.PlacementCommand {
		return domain.EvaluatePlacement{PlacementID: in.PlacementID, Outcome: in.Outcome, Comment: in.Comment, EvaluatedAt: in.EvaluatedAt, By: call.Actor, At: at}
	})
}

// CancelPlacementInput calls off a planned placement.
type CancelPlacementInput struct {
	PlacementID string `json:"-"`
	Reason      string `json:"reason"`
}

// CancelPlacement calls off a planned placement (a lead department or the member side).
func (a *App) CancelPlacement(ctx context.Context, call Call, in CancelPlacementInput) (Outcome, error) {
	return a.placementCmd(ctx, call, in.PlacementID, func(al domain.Alliance, at time.Time) domain.PlacementCommand {
		return domain.CancelPlacement{PlacementID: in.PlacementID, Alliance: al, Reason: in.Reason, By: call.Actor, At: at}
	})
}

func (a *App) placementCmd(ctx context.Context, call Call, id string, build func(domain.Alliance, time.Time) domain.PlacementCommand) (Outcome, error) {
	if err := validID("placementId", id); err != nil {
		return Outcome{}, err
	}
	stream := domain.PlacementStream(id)
	p, err := load[domain.Placement](ctx, a, stream)
	if err != nil {
		return Outcome{}, err
	}
	var al domain.Alliance
	if p.Exists() {
		if al, err = load[domain.Alliance](ctx, a, domain.AllianceStream(p.AllianceID)); err != nil {
			return Outcome{}, err
		}
	}
	at := a.Now()
	cmd := build(al, at)
	return handle(ctx, a, call, at, id, stream, func(p domain.Placement) ([]domain.Event, error) {
		return domain.DecidePlacement(p, cmd)
	})
}

// existingAlliance loads an alliance, not_found when it was never founded.
func (a *App) existingAlliance(ctx context.Context, id string) (domain.Alliance, error) {
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(id))
	if err != nil {
		return al, err
	}
	if !al.Exists() {
		return al, domain.Errorf(domain.CodeNotFound, "alliance %s does not exist", id)
	}
	return al, nil
}
