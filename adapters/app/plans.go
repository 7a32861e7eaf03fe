package app

import (
	"context"
	"time"

	"github.com/medalliance/allianced/domain"
)

// InitiatePlanInput is the body of a new treatment plan. The patient is named by
// PatientRef or by the lead hospital's medical record number (pseudonymized here,
// never stored). StartDate is day 0 of the schedule (only its date counts).
type InitiatePlanInput struct {
	AllianceID          string    `json:"allianceId"`
	ProtocolID          string    `json:"protocolId"`
	Version             int       `json:"version"`
	PatientRef          string    `json:"patientRef,omitempty"`
	MedicalRecordNumber string    `json:"medicalRecordNumber,omitempty"`
	StartDate           time.Time `json:"startDate"`
}

// InitiatePlan creates a patient's plan from a published protocol version (lead
// department), with a generated id.
func (a *App) InitiatePlan(ctx context.Context, call Call, in InitiatePlanInput) (Outcome, error) {
	if err := firstErr(validID("allianceId", in.AllianceID), validID("protocolId", in.ProtocolID)); err != nil {
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
	p, err := load[domain.Protocol](ctx, a, domain.ProtocolStream(in.ProtocolID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "InitiatePlan", at)
	if err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, id, domain.PlanStream(id), func(s domain.Plan) ([]domain.Event, error) {
		return domain.DecidePlan(s, domain.InitiatePlan{PlanID: id, Alliance: al, Protocol: p, Version: in.Version,
			PatientRef: ref, StartDate: in.StartDate, By: call.Actor, At: at})
	})
}

// HandOverInput names the member hospital that takes the patient over.
type HandOverInput struct {
	PlanID       string `json:"-"`
	ToHospitalID string `json:"toHospitalId"`
}

// HandOverPlan hands the patient down to a member (lead department); the member must
// have adopted the plan's protocol version.
func (a *App) HandOverPlan(ctx context.Context, call Call, in HandOverInput) (Outcome, error) {
	if err := firstErr(validID("planId", in.PlanID), validID("toHospitalId", in.ToHospitalID)); err != nil {
		return Outcome{}, err
	}
	plan, err := load[domain.Plan](ctx, a, domain.PlanStream(in.PlanID))
	if err != nil {
		return Outcome{}, err
	}
	if !plan.Exists() {
		return Outcome{}, domain.Errorf(domain.CodeNotFound, "plan %s does not exist", in.PlanID)
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(plan.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	adoption, err := load[domain.Adoption](ctx, a, domain.AdoptionStream(plan.ProtocolID, in.ToHospitalID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return a.planCmd(ctx, call, in.PlanID, at, domain.HandOverPlan{PlanID: in.PlanID, ToHospitalID: in.ToHospitalID,
		Alliance: al, Adoption: adoption, By: call.Actor, At: at})
}

// StepInput records one step of a plan as completed (with the dose given) or skipped.
type StepInput struct {
	PlanID           string `json:"-"`
	StepID           string `json:"-"`
	AdministeredDose string `json:"administeredDose,omitempty"`
	Notes            string `json:"notes,omitempty"`
	Reason           string `json:"reason,omitempty"`
}

// CompletePlanStep records that the responsible hospital carried out a step.
func (a *App) CompletePlanStep(ctx context.Context, call Call, in StepInput) (Outcome, error) {
	at := a.Now()
	return a.planCmd(ctx, call, in.PlanID, at, domain.CompletePlanStep{PlanID: in.PlanID, StepID: in.StepID,
		AdministeredDose: in.AdministeredDose, Notes: in.Notes, By: call.Actor, At: at})
}

// SkipPlanStep records that the responsible hospital did not carry out a step, and why.
func (a *App) SkipPlanStep(ctx context.Context, call Call, in StepInput) (Outcome, error) {
	at := a.Now()
	return a.planCmd(ctx, call, in.PlanID, at, domain.SkipPlanStep{PlanID: in.PlanID, StepID: in.StepID, Reason: in.Reason, By: call.Actor, At: at})
}

// RevisePlanInput changes pending steps and optionally moves the plan to a newer version.
type RevisePlanInput struct {
	PlanID  string                  `json:"-"`
	Reason  string                  `json:"reason"`
	Version int                     `json:"version,omitempty"`
	Changes []domain.PlanStepChange `json:"changes,omitempty"`
}

// RevisePlan revises the plan (lead department); on a move onto a newer version the
// plan's protocol (to check the version and bring its steps) and the holding member's
// adoption (which must be of that version) are loaded for the domain's rules.
func (a *App) RevisePlan(ctx context.Context, call Call, in RevisePlanInput) (Outcome, error) {
	if err := validID("planId", in.PlanID); err != nil {
		return Outcome{}, err
	}
	plan, err := load[domain.Plan](ctx, a, domain.PlanStream(in.PlanID))
	if err != nil {
		return Outcome{}, err
	}
	var proto domain.Protocol
	var adoption domain.Adoption
	if plan.Exists() && in.Version != 0 {
		if proto, err = load[domain.Protocol](ctx, a, domain.ProtocolStream(plan.ProtocolID)); err != nil {
			return Outcome{}, err
		}
		// the hospital holding the plan must have adopted the version it moves to
		if !plan.HeldByLead() {
			if adoption, err = load[domain.Adoption](ctx, a, domain.AdoptionStream(plan.ProtocolID, plan.ResponsibleHospital)); err != nil {
				return Outcome{}, err
			}
		}
	}
	at := a.Now()
	return a.planCmd(ctx, call, in.PlanID, at, domain.RevisePlan{PlanID: in.PlanID, Reason: in.Reason, Version: in.Version,
		Protocol: proto, Adoption: adoption, Changes: in.Changes, By: call.Actor, At: at})
}

// DeviationInput reports a departure from the plan; DeviationID may be chosen by the
// client (a ULID) and is generated otherwise.
type DeviationInput struct {
	PlanID      string `json:"-"`
	DeviationID string `json:"deviationId,omitempty"`
	StepID      string `json:"stepId,omitempty"`
	Description string `json:"description"`
	Severity    string `json:"severity"`
}

// ReportPlanDeviation records a deviation by the responsible hospital. The outcome's
// SubID is the deviation's id (to acknowledge it later).
func (a *App) ReportPlanDeviation(ctx context.Context, call Call, in DeviationInput) (Outcome, error) {
	if in.DeviationID == "" {
		in.DeviationID = a.newID()
	}
	at := a.Now()
	out, err := a.planCmd(ctx, call, in.PlanID, at, domain.ReportPlanDeviation{PlanID: in.PlanID, DeviationID: in.DeviationID,
		StepID: in.StepID, Description: in.Description, Severity: in.Severity, By: call.Actor, At: at})
	if err != nil {
		return out, err
	}
	out.SubID = in.DeviationID
	for _, ev := range out.Events { // a replay reports the first command's deviation id
		if r, ok := ev.(domain.PlanDeviationReported); ok {
			out.SubID = r.DeviationID
		}
	}
	return out, nil
}

// AcknowledgeInput records the lead's review of a deviation.
type AcknowledgeInput struct {
	PlanID      string `json:"-"`
	DeviationID string `json:"-"`
	Note        string `json:"note,omitempty"`
}

// AcknowledgePlanDeviation records that the lead reviewed a reported deviation.
func (a *App) AcknowledgePlanDeviation(ctx context.Context, call Call, in AcknowledgeInput) (Outcome, error) {
	at := a.Now()
	return a.planCmd(ctx, call, in.PlanID, at, domain.AcknowledgePlanDeviation{PlanID: in.PlanID, DeviationID: in.DeviationID,
		Note: in.Note, By: call.Actor, At: at})
}

// EscalateInput sends the patient back to the lead; Urgent asks for the green channel.
type EscalateInput struct {
	PlanID string `json:"-"`
	Reason string `json:"reason"`
	Urgent bool   `json:"urgent,omitempty"`
	// Referral, when set, also opens an upward referral linked to the plan, so the
	// escalation is measured (request -> acceptance -> admission) like any referral.
	Referral *EscalationReferralInput `json:"referral,omitempty"`
}

// EscalationReferralInput is what the referral adds to the escalation: a clinical
// summary, and the urgency (default emergency when Urgent, else urgent).
type EscalationReferralInput struct {
	ClinicalSummary string `json:"clinicalSummary"`
	Urgency         string `json:"urgency,omitempty"`
	ToDepartmentID  string `json:"toDepartmentId,omitempty"`
}

// EscalatePlan sends the patient back to the lead (the responsible member); with
// Referral it then opens the upward referral linked to the plan, and the outcome's
// ReferralID names it.
func (a *App) EscalatePlan(ctx context.Context, call Call, in EscalateInput) (Outcome, error) {
	// a middle tier taking the plan back gets its declared deviations back (three tiers)
	back, err := a.escalationAdoption(ctx, in.PlanID)
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	if in.Referral == nil {
		return a.planCmd(ctx, call, in.PlanID, at, domain.EscalatePlan{PlanID: in.PlanID, Reason: in.Reason, Urgent: in.Urgent, Adoption: back, By: call.Actor, At: at})
	}
	// The plan as the member held it links the referral (after the escalation the lead
	// holds it).
	plan, err := loadLinked[domain.Plan](ctx, a, "planId", in.PlanID, domain.PlanStream)
	if err != nil {
		return Outcome{}, err
	}
	ref, err := a.escalationReferral(ctx, call, plan, in)
	if err != nil {
		return Outcome{}, err
	}
	// A referral that would be refused refuses the escalation too, unless this is a
	// retry of a stored one (the plan is then held by the lead, and the retry replays).
	if plan.ResponsibleHospitalID() == call.Actor.HospitalID {
		if err := a.checkReferral(ref); err != nil {
			return Outcome{}, err
		}
	}
	out, err := a.planCmd(ctx, call, in.PlanID, at, domain.EscalatePlan{PlanID: in.PlanID, Reason: in.Reason, Urgent: in.Urgent, Adoption: back, By: call.Actor, At: at})
	if err != nil {
		return out, err
	}
	return a.referEscalation(ctx, call, out, ref)
}

// PlanInput names a plan for commands without a body of their own.
type PlanInput struct {
	PlanID string `json:"-"`
}

// CompletePlan closes a plan that ran its course (lead department).
func (a *App) CompletePlan(ctx context.Context, call Call, in PlanInput) (Outcome, error) {
	at := a.Now()
	return a.planCmd(ctx, call, in.PlanID, at, domain.CompletePlan{PlanID: in.PlanID, By: call.Actor, At: at})
}

// DiscontinueInput says why a plan stops early.
type DiscontinueInput struct {
	PlanID string `json:"-"`
	Reason string `json:"reason"`
}

// DiscontinuePlan stops a plan before it ran its course.
func (a *App) DiscontinuePlan(ctx context.Context, call Call, in DiscontinueInput) (Outcome, error) {
	at := a.Now()
	return a.planCmd(ctx, call, in.PlanID, at, domain.DiscontinuePlan{PlanID: in.PlanID, Reason: in.Reason, By: call.Actor, At: at})
}

// FlagPlan flags one plan whose protocol version was withdrawn (issued by the Reactor;
// the domain command is idempotent, and the call's key makes a re-run append nothing).
func (a *App) FlagPlan(ctx context.Context, call Call, planID, protocolID string, version int, reason string) (Outcome, error) {
	at := a.Now()
	return a.planCmd(ctx, call, planID, at, domain.FlagProtocolVersionWithdrawn{PlanID: planID, ProtocolID: protocolID,
		Version: version, Reason: reason, At: at})
}

func (a *App) planCmd(ctx context.Context, call Call, id string, at time.Time, cmd domain.PlanCommand) (Outcome, error) {
	if err := validID("planId", id); err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, id, domain.PlanStream(id), func(p domain.Plan) ([]domain.Event, error) {
		return domain.DecidePlan(p, cmd)
	})
}
