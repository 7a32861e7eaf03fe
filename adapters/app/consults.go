package app

import (
	"context"

	"github.com/medalliance/allianced/domain"
)

// RequestConsultInput is the body of a consult request. The patient is named either
// by PatientRef (already pseudonymous) or by the requesting hospital's medical record
// number, which is turned into a PatientRef here and never stored or logged.
type RequestConsultInput struct {
	AllianceID          string              `json:"allianceId"`
	Specialty           string              `json:"specialty"`
	Urgency             string              `json:"urgency"`
	Question            string              `json:"question"`
	Attachments         []domain.Attachment `json:"attachments,omitempty"`
	ConsentRef          string              `json:"consentRef"`
	PatientRef          string              `json:"patientRef,omitempty"`
	MedicalRecordNumber string              `json:"medicalRecordNumber,omitempty"`
	// LeadDepartmentID addresses one of the alliance's lead departments (default: the
	// founding one).
	LeadDepartmentID string `json:"leadDepartmentId,omitempty"`
}

// patientRef resolves a PatientRef from an explicit reference or an MRN of hospitalID.
func (a *App) patientRef(hospitalID, ref, mrn string) (string, error) {
	switch {
	case ref != "" && mrn != "":
		return "", domain.Errorf(domain.CodeInvalidInput, "send either patientRef or medicalRecordNumber, not both")
	case mrn != "":
		return a.pseudo.PatientRef(hospitalID, mrn)
	}
	return ref, nil
}

// RequestConsult asks the lead's specialists for an opinion, with a generated id; the
// deadline follows the configured policy for the urgency.
func (a *App) RequestConsult(ctx context.Context, call Call, in RequestConsultInput) (Outcome, error) {
	if err := firstErr(validID("allianceId", in.AllianceID), validID("hospitalId", call.Actor.HospitalID)); err != nil {
		return Outcome{}, err
	}
	ref, err := a.patientRef(call.Actor.HospitalID, in.PatientRef, in.MedicalRecordNumber)
	if err != nil {
		return Outcome{}, err
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(in.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	if !al.Exists() {
		return Outcome{}, domain.Errorf(domain.CodeNotFound, "alliance %s does not exist", in.AllianceID)
	}
	requester, err := load[domain.Hospital](ctx, a, domain.HospitalStream(call.Actor.HospitalID))
	if err != nil {
		return Outcome{}, err
	}
	lead, err := load[domain.Hospital](ctx, a, domain.HospitalStream(al.LeadHospitalID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "RequestConsult", at)
	if err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, id, domain.ConsultStream(id), func(s domain.Consult) ([]domain.Event, error) {
		return domain.DecideConsult(s, domain.RequestConsult{ConsultID: id, Alliance: al, Requester: requester, Lead: lead,
			By: call.Actor, Specialty: in.Specialty, Urgency: in.Urgency, Question: in.Question, Attachments: in.Attachments,
			ConsentRef: in.ConsentRef, PatientRef: ref, RequestedAt: at, Policy: a.policy, LeadDepartmentID: in.LeadDepartmentID})
	})
}

// AcceptConsultInput optionally names the specialist who will answer.
type AcceptConsultInput struct {
	ConsultID      string `json:"-"`
	SpecialistID   string `json:"specialistId,omitempty"`
	SpecialistName string `json:"specialistName,omitempty"`
}

// AcceptConsult takes a requested consult on (lead department).
func (a *App) AcceptConsult(ctx context.Context, call Call, in AcceptConsultInput) (Outcome, error) {
	return a.consultCmd(ctx, call, in.ConsultID, func(at timeT) domain.ConsultCommand {
		return domain.AcceptConsult{ConsultID: in.ConsultID, SpecialistID: in.SpecialistID, SpecialistName: in.SpecialistName, By: call.Actor, At: at}
	})
}

// ConsultReasonInput carries the reason of a decline or cancellation.
type ConsultReasonInput struct {
	ConsultID string `json:"-"`
	Reason    string `json:"reason"`
}

// DeclineConsult refuses a requested consult (lead department).
func (a *App) DeclineConsult(ctx context.Context, call Call, in ConsultReasonInput) (Outcome, error) {
	return a.consultCmd(ctx, call, in.ConsultID, func(at timeT) domain.ConsultCommand {
		return domain.DeclineConsult{ConsultID: in.ConsultID, Reason: in.Reason, By: call.Actor, At: at}
	})
}

// CancelConsult withdraws a consult before an opinion (requesting hospital).
func (a *App) CancelConsult(ctx context.Context, call Call, in ConsultReasonInput) (Outcome, error) {
	return a.consultCmd(ctx, call, in.ConsultID, func(at timeT) domain.ConsultCommand {
		return domain.CancelConsult{ConsultID: in.ConsultID, Reason: in.Reason, By: call.Actor, At: at}
	})
}

// OpinionInput is the specialists' opinion, with the reason when it amends one.
type OpinionInput struct {
	ConsultID string `json:"-"`
	domain.Opinion
	Reason string `json:"reason,omitempty"`
}

// GiveOpinion records the opinion on an accepted consult (lead department).
func (a *App) GiveOpinion(ctx context.Context, call Call, in OpinionInput) (Outcome, error) {
	return a.consultCmd(ctx, call, in.ConsultID, func(at timeT) domain.ConsultCommand {
		return domain.GiveOpinion{ConsultID: in.ConsultID, Opinion: in.Opinion, By: call.Actor, At: at}
	})
}

// AmendOpinion corrects a given opinion before closing, with a reason (lead department).
func (a *App) AmendOpinion(ctx context.Context, call Call, in OpinionInput) (Outcome, error) {
	return a.consultCmd(ctx, call, in.ConsultID, func(at timeT) domain.ConsultCommand {
		return domain.AmendOpinion{ConsultID: in.ConsultID, Opinion: in.Opinion, Reason: in.Reason, By: call.Actor, At: at}
	})
}

// CloseConsultInput optionally says what happened to the patient (not identifying them).
type CloseConsultInput struct {
	ConsultID string `json:"-"`
	Outcome   string `json:"outcome,omitempty"`
}

// CloseConsult ends an answered consult.
func (a *App) CloseConsult(ctx context.Context, call Call, in CloseConsultInput) (Outcome, error) {
	return a.consultCmd(ctx, call, in.ConsultID, func(at timeT) domain.ConsultCommand {
		return domain.CloseConsult{ConsultID: in.ConsultID, Outcome: in.Outcome, By: call.Actor, At: at}
	})
}

func (a *App) consultCmd(ctx context.Context, call Call, id string, build func(timeT) domain.ConsultCommand) (Outcome, error) {
	if err := validID("consultId", id); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, id, domain.ConsultStream(id), func(s domain.Consult) ([]domain.Event, error) {
		return domain.DecideConsult(s, build(at))
	})
}
