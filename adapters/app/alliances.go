package app

import (
	"time"

	"context"

	"github.com/medalliance/allianced/domain"
)

// FoundAllianceInput is the body of an alliance's founding. The lead is the caller's
// hospital; LeadDepartmentID defaults to the caller's department.
type FoundAllianceInput struct {
	Name             string `json:"name"`
	Specialty        string `json:"specialty"`
	Kind             string `json:"kind"`
	LeadDepartmentID string `json:"leadDepartmentId,omitempty"`
}

// FoundAlliance founds an alliance led by the caller's department, with a generated id.
func (a *App) FoundAlliance(ctx context.Context, call Call, in FoundAllianceInput) (Outcome, error) {
	if err := validID("hospitalId", call.Actor.HospitalID); err != nil {
		return Outcome{}, err
	}
	lead, err := load[domain.Hospital](ctx, a, domain.HospitalStream(call.Actor.HospitalID))
	if err != nil {
		return Outcome{}, err
	}
	dept := in.LeadDepartmentID
	if dept == "" {
		dept = call.Actor.DepartmentID
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "FoundAlliance", at)
	if err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, id, domain.AllianceStream(id), func(s domain.Alliance) ([]domain.Event, error) {
		return domain.DecideAlliance(s, domain.FoundAlliance{AllianceID: id, Name: in.Name, Specialty: in.Specialty,
			Kind: in.Kind, Lead: lead, LeadDepartmentID: dept, By: call.Actor, At: at})
	})
}

// AdmitMemberInput is the body of a member's admission.
type AdmitMemberInput struct {
	AllianceID string `json:"-"`
	HospitalID string `json:"hospitalId"`
	Tier       string `json:"tier"`
}

// AdmitMember admits a registered hospital to an alliance.
func (a *App) AdmitMember(ctx context.Context, call Call, in AdmitMemberInput) (Outcome, error) {
	if err := firstErr(validID("allianceId", in.AllianceID), validID("hospitalId", in.HospitalID)); err != nil {
		return Outcome{}, err
	}
	h, err := load[domain.Hospital](ctx, a, domain.HospitalStream(in.HospitalID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, in.AllianceID, domain.AllianceStream(in.AllianceID), func(s domain.Alliance) ([]domain.Event, error) {
		return domain.DecideAlliance(s, domain.AdmitMember{AllianceID: in.AllianceID, Hospital: h, Tier: in.Tier, By: call.Actor, At: at})
	})
}

// MemberStatusInput is the body of a suspension, reinstatement or withdrawal.
type MemberStatusInput struct {
	AllianceID string `json:"-"`
	HospitalID string `json:"-"`
	Reason     string `json:"reason"`
}

// SuspendMember suspends an active member.
func (a *App) SuspendMember(ctx context.Context, call Call, in MemberStatusInput) (Outcome, error) {
	return a.memberStatus(ctx, call, in, func(now time.Time) domain.AllianceCommand {
		return domain.SuspendMember{AllianceID: in.AllianceID, HospitalID: in.HospitalID, Reason: in.Reason, By: call.Actor, At: now}
	})
}

// ReinstateMember makes a suspended member active again.
func (a *App) ReinstateMember(ctx context.Context, call Call, in MemberStatusInput) (Outcome, error) {
	return a.memberStatus(ctx, call, in, func(now time.Time) domain.AllianceCommand {
		return domain.ReinstateMember{AllianceID: in.AllianceID, HospitalID: in.HospitalID, Reason: in.Reason, By: call.Actor, At: now}
	})
}

// WithdrawMember ends a membership (the lead removes a member, or the member leaves).
func (a *App) WithdrawMember(ctx context.Context, call Call, in MemberStatusInput) (Outcome, error) {
	return a.memberStatus(ctx, call, in, func(now time.Time) domain.AllianceCommand {
		return domain.WithdrawMember{AllianceID: in.AllianceID, HospitalID: in.HospitalID, Reason: in.Reason, By: call.Actor, At: now}
	})
}

func (a *App) memberStatus(ctx context.Context, call Call, in MemberStatusInput,
	build func(time.Time) domain.AllianceCommand) (Outcome, error) {
	if err := firstErr(validID("allianceId", in.AllianceID), validID("hospitalId", in.HospitalID)); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, in.AllianceID, domain.AllianceStream(in.AllianceID), func(s domain.Alliance) ([]domain.Event, error) {
		return domain.DecideAlliance(s, build(at))
	})
}

// AddLeadDepartmentInput names a department of the lead hospital that leads the
// alliance alongside the existing lead departments.
type AddLeadDepartmentInput struct {
	AllianceID   string `json:"-"`
	DepartmentID string `json:"departmentId"`
}

// AddLeadDepartment makes another department of the lead hospital a lead department
// (a current lead department); the lead hospital is loaded so the department is checked.
func (a *App) AddLeadDepartment(ctx context.Context, call Call, in AddLeadDepartmentInput) (Outcome, error) {
	if err := validID("allianceId", in.AllianceID); err != nil {
		return Outcome{}, err
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(in.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	var lead domain.Hospital
	if al.Exists() {
		if lead, err = load[domain.Hospital](ctx, a, domain.HospitalStream(al.LeadHospitalID)); err != nil {
			return Outcome{}, err
		}
	}
	at := a.Now()
	return handle(ctx, a, call, at, in.AllianceID, domain.AllianceStream(in.AllianceID), func(s domain.Alliance) ([]domain.Event, error) {
		return domain.DecideAlliance(s, domain.AddLeadDepartment{AllianceID: in.AllianceID, Lead: lead, DepartmentID: in.DepartmentID,
			By: call.Actor, At: at})
	})
}
