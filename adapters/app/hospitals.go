package app

import (
	"context"

	"github.com/medalliance/allianced/domain"
)

// RegisterHospitalInput is the body of a hospital registration.
type RegisterHospitalInput struct {
	Name        string              `json:"name"`
	RegionCode  string              `json:"regionCode"`
	Level       string              `json:"level"`
	Departments []domain.Department `json:"departments"`
}

// RegisterHospital adds a hospital to the directory under a generated id.
func (a *App) RegisterHospital(ctx context.Context, call Call, in RegisterHospitalInput) (Outcome, error) {
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "RegisterHospital", at)
	if err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, id, domain.HospitalStream(id), func(h domain.Hospital) ([]domain.Event, error) {
		return domain.DecideHospital(h, domain.RegisterHospital{HospitalID: id, Name: in.Name, RegionCode: in.RegionCode,
			Level: in.Level, Departments: in.Departments})
	})
}

// AddDepartmentInput is the body of a new department of a hospital.
type AddDepartmentInput struct {
	HospitalID string `json:"-"`
	ID         string `json:"id"`
	Name       string `json:"name"`
}

// AddDepartment opens a department in a registered hospital.
func (a *App) AddDepartment(ctx context.Context, call Call, in AddDepartmentInput) (Outcome, error) {
	if err := validID("hospitalId", in.HospitalID); err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, a.Now(), in.HospitalID, domain.HospitalStream(in.HospitalID), func(h domain.Hospital) ([]domain.Event, error) {
		return domain.DecideHospital(h, domain.AddDepartment{HospitalID: in.HospitalID, Department: domain.Department{ID: in.ID, Name: in.Name}})
	})
}
