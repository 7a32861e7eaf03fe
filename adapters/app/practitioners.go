package app

import (
	"context"

	"github.com/medalliance/allianced/domain"
)

// RegisterPractitionerInput is the body of a practitioner's registration: the home
// hospital and department, and the professional profile (no national id, no phone).
type RegisterPractitionerInput struct {
	HospitalID   string   `json:"hospitalId"`
	DepartmentID string   `json:"departmentId"`
	Name         string   `json:"name"`
	Title        string   `json:"title"`
	Specialties  []string `json:"specialties"`
}

// RegisterPractitioner adds a practitioner to the directory under a generated id. The
// home hospital's entry is loaded for the domain's department and authority checks.
func (a *App) RegisterPractitioner(ctx context.Context, call Call, in RegisterPractitionerInput) (Outcome, error) {
	if err := validID("hospitalId", in.HospitalID); err != nil {
		return Outcome{}, err
	}
	home, err := load[domain.Hospital](ctx, a, domain.HospitalStream(in.HospitalID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "RegisterPractitioner", at)
	if err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, id, domain.PractitionerStream(id), func(p domain.Practitioner) ([]domain.Event, error) {
		return domain.DecidePractitioner(p, domain.RegisterPractitioner{PractitionerID: id, Home: home, HomeHospitalID: in.HospitalID,
			DepartmentID: in.DepartmentID, Name: in.Name, Title: in.Title, Specialties: in.Specialties, By: call.Actor, At: at})
	})
}

// UpdatePractitionerInput is a practitioner's new profile (all of it).
type UpdatePractitionerInput struct {
	PractitionerID string   `json:"-"`
	Name           string   `json:"name"`
	Title          string   `json:"title"`
	Specialties    []string `json:"specialties"`
}

// UpdatePractitioner replaces a practitioner's name, title and specialties.
func (a *App) UpdatePractitioner(ctx context.Context, call Call, in UpdatePractitionerInput) (Outcome, error) {
	return a.practitionerCmd(ctx, call, in.PractitionerID, func(at timeT) domain.PractitionerCommand {
		return domain.UpdatePractitionerProfile{PractitionerID: in.PractitionerID, Name: in.Name, Title: in.Title,
			Specialties: in.Specialties, By: call.Actor, At: at}
	})
}

// PractitionerStatusInput gives the reason for deactivating or reactivating a practitioner.
type PractitionerStatusInput struct {
	PractitionerID string `json:"-"`
	Reason         string `json:"reason"`
}

// DeactivatePractitioner stops new bookings of a practitioner (retired, left, on leave).
func (a *App) DeactivatePractitioner(ctx context.Context, call Call, in PractitionerStatusInput) (Outcome, error) {
	return a.practitionerCmd(ctx, call, in.PractitionerID, func(at timeT) domain.PractitionerCommand {
		return domain.DeactivatePractitioner{PractitionerID: in.PractitionerID, Reason: in.Reason, By: call.Actor, At: at}
	})
}

// ReactivatePractitioner allows bookings of a deactivated practitioner again.
func (a *App) ReactivatePractitioner(ctx context.Context, call Call, in PractitionerStatusInput) (Outcome, error) {
	return a.practitionerCmd(ctx, call, in.PractitionerID, func(at timeT) domain.PractitionerCommand {
		return domain.ReactivatePractitioner{PractitionerID: in.PractitionerID, Reason: in.Reason, By: call.Actor, At: at}
	})
}

func (a *App) practitionerCmd(ctx context.Context, call Call, id string, build func(timeT) domain.PractitionerCommand) (Outcome, error) {
	if err := validID("practitionerId", id); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, id, domain.PractitionerStream(id), func(p domain.Practitioner) ([]domain.Event, error) {
		return domain.DecidePractitioner(p, build(at))
	})
}
