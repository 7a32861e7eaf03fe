package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// RequestReferralInput is the body of a referral. The patient is named by PatientRef
// or by the sending hospital's medical record number (pseudonymized here, never
// stored). PlanID, ConsultID and ReturnOfID link what led to the referral; the service
// loads them so the domain can check they fit.
type RequestReferralInput struct {
	AllianceID          string              `json:"allianceId"`
	Direction           string              `json:"direction"`
	ToHospitalID        string              `json:"toHospitalId,omitempty"`
	ToDepartmentID      string              `json:"toDepartmentId,omitempty"`
	Urgency             string              `json:"urgency"`
	Reason              string              `json:"reason"`
	ClinicalSummary     string              `json:"clinicalSummary"`
	PatientRef          string              `json:"patientRef,omitempty"`
	MedicalRecordNumber string              `json:"medicalRecordNumber,omitempty"`
	PractitionerID      string              `json:"practitionerId,omitempty"`
	PlanID              string              `json:"planId,omitempty"`
	ConsultID           string              `json:"consultId,omitempty"`
	ReportID            string              `json:"reportId,omitempty"`
	ReturnOfID          string              `json:"returnOfId,omitempty"`
	Attachments         []domain.Attachment `json:"attachments,omitempty"`
}

// RequestReferral sends a patient up or down in an alliance, with a generated id; the
// deadlines follow the configured referral policy for the urgency.
func (a *App) RequestReferral(ctx context.Context, call Call, in RequestReferralInput) (Outcome, error) {
	if err := firstErr(validID("allianceId", in.AllianceID), validID("hospitalId", call.Actor.HospitalID)); err != nil {
		return Outcome{}, err
	}
	ref, err := a.patientRef(call.Actor.HospitalID, in.PatientRef, in.MedicalRecordNumber)
	if err != nil {
		return Outcome{}, err
	}
	cmd := domain.RequestReferral{Direction: in.Direction, By: call.Actor, ToHospitalID: in.ToHospitalID,
		ToDepartmentID: in.ToDepartmentID, Urgency: in.Urgency, Reason: in.Reason, ClinicalSummary: in.ClinicalSummary,
		PatientRef: ref, PractitionerID: in.PractitionerID, ReportID: in.ReportID, Attachments: in.Attachments, Policy: a.referralPolicy}
	if cmd.Alliance, err = load[domain.Alliance](ctx, a, domain.AllianceStream(in.AllianceID)); err != nil {
		return Outcome{}, err
	}
	if !cmd.Alliance.Exists() {
		return Outcome{}, domain.Errorf(domain.CodeNotFound, "alliance %s does not exist", in.AllianceID)
	}
	if in.PlanID != "" {
		p, err := loadLinked[domain.Plan](ctx, a, "planId", in.PlanID, domain.PlanStream)
		if err != nil {
			return Outcome{}, err
		}
		cmd.Plan = &p
	}
	if in.ConsultID != "" {
		k, err := loadLinked[domain.Consult](ctx, a, "consultId", in.ConsultID, domain.ConsultStream)
		if err != nil {
			return Outcome{}, err
		}
		cmd.Consult = &k
	}
	if in.ReturnOfID != "" {
		r, err := loadLinked[domain.Referral](ctx, a, "returnOfId", in.ReturnOfID, domain.ReferralStream)
		if err != nil {
			return Outcome{}, err
		}
		cmd.ReturnOf = &r
	}
	return a.openReferral(ctx, call, "RequestReferral", cmd)
}

// openReferral runs a RequestReferral under a generated (or idempotency-claimed) id.
func (a *App) openReferral(ctx context.Context, call Call, operation string, cmd domain.RequestReferral) (Outcome, error) {
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, operation, at)
	if err != nil {
		return Outcome{}, err
	}
	cmd.ReferralID, cmd.At = id, at
	return handle(ctx, a, call, at, id, domain.ReferralStream(id), func(r domain.Referral) ([]domain.Event, error) {
		return domain.DecideReferral(r, cmd)
	})
}

// loadLinked validates a linked id and loads its aggregate; a missing one is not_found.
func loadLinked[S eventstore.Evolver[S]](ctx context.Context, a *App, what, id string, stream func(string) string) (S, error) {
	var zero S
	if err := validID(what, id); err != nil {
		return zero, err
	}
	l, err := eventstore.LoadCached[S](ctx, a.cmds, stream(id))
	if err != nil {
		return zero, err
	}
	if !l.Exists {
		return zero, domain.Errorf(domain.CodeNotFound, "%s %s does not exist", what, id)
	}
	return l.State, nil
}

// ReferFromConsultInput turns a consult whose opinion advises escalation into an upward
// referral with one command; the patient, alliance and urgency come from the consult.
type ReferFromConsultInput struct {
	ConsultID       string `json:"-"`
	Reason          string `json:"reason,omitempty"`
	ClinicalSummary string `json:"clinicalSummary"`
	Urgency         string `json:"urgency,omitempty"`
}

// ReferFromConsult opens an upward referral linked to the consult (requesting hospital).
func (a *App) ReferFromConsult(ctx context.Context, call Call, in ReferFromConsultInput) (Outcome, error) {
	k, err := loadLinked[domain.Consult](ctx, a, "consultId", in.ConsultID, domain.ConsultStream)
	if err != nil {
		return Outcome{}, err
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(k.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	reason := in.Reason
	if reason == "" {
		reason = "remote consult " + k.ID + " advised escalation: " + k.Opinion.Text
		if r := []rune(reason); len(r) > 1000 {
			reason = string(r[:1000])
		}
	}
	urgency := in.Urgency
	if urgency == "" {
		urgency = k.Urgency
	}
	return a.openReferral(ctx, call, "ReferFromConsult", domain.RequestReferral{Alliance: al, Direction: domain.ReferralUp,
		By: call.Actor, Urgency: urgency, Reason: reason, ClinicalSummary: in.ClinicalSummary, PatientRef: k.PatientRef,
		Consult: &k, Attachments: k.Attachments, Policy: a.referralPolicy})
}

// AcceptReferralInput takes a patient on: the receiving department, the expected
// arrival, and whether to book a reserved slot or bed (Reserve, or a named SlotID;
// Kind narrows the search to outpatient slots or beds).
type AcceptReferralInput struct {
	ReferralID      string    `json:"-"`
	DepartmentID    string    `json:"departmentId,omitempty"`
	ExpectedArrival time.Time `json:"expectedArrival"`
	Reserve         bool      `json:"reserve,omitempty"`
	SlotID          string    `json:"slotId,omitempty"`
	Kind            string    `json:"kind,omitempty"`
}

// AcceptReferral records the acceptance, first booking a reserved slot when asked.
// Book, then record, then release on failure, as with an expert's schedule: the
// department's capacity stream serialises bookings, so of two acceptances competing for
// the last slot one gets it and the other is told no_capacity; if the acceptance cannot
// be stored after the booking, the slot is released again. A crash between the booking
// and the acceptance leaves the slot held; the SlotReconciler releases it after its
// grace period.
func (a *App) AcceptReferral(ctx context.Context, call Call, in AcceptReferralInput) (Outcome, error) {
	if err := validID("referralId", in.ReferralID); err != nil {
		return Outcome{}, err
	}
	stream := domain.ReferralStream(in.ReferralID)
	at := a.Now()
	cmd := domain.AcceptReferral{ReferralID: in.ReferralID, DepartmentID: in.DepartmentID, ExpectedArrival: in.ExpectedArrival, By: call.Actor, At: at}
	if !in.Reserve && in.SlotID == "" {
		return handle(ctx, a, call, at, in.ReferralID, stream, func(r domain.Referral) ([]domain.Event, error) {
			return domain.DecideReferral(r, cmd)
		})
	}
	loaded, err := eventstore.LoadCached[domain.Referral](ctx, a.cmds, stream)
	if err != nil {
		return Outcome{}, err
	}
	r := loaded.State
	dept := in.DepartmentID
	if dept == "" {
		dept = r.ToDepartmentID
	}
	// Check the acceptance would be allowed before touching the capacity (authority,
	// status), with a placeholder slot; a retry of a stored acceptance returns its result.
	probe := cmd
	probe.Slot = &domain.SlotRef{SlotID: in.ReferralID}
	if _, err := domain.DecideReferral(r, probe); err != nil {
		if replay, rerr := replayedOn[domain.Referral](ctx, a, call, in.ReferralID, stream); rerr == nil && replay != nil {
			return *replay, nil
		}
		return Outcome{}, err
	}
	if call.IfMatch != nil && (!loaded.Exists || loaded.Version != *call.IfMatch) {
		return Outcome{}, &eventstore.WrongExpectedVersionError{Stream: stream, Expected: eventstore.Exact(*call.IfMatch),
			Actual: loaded.Version, Exists: loaded.Exists}
	}
	capCall := Call{Actor: call.Actor, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
	capStream := domain.CapacityStream(r.ToHospitalID, dept)
	book := domain.BookReservedSlot{HospitalID: r.ToHospitalID, DepartmentID: dept, AllianceID: r.AllianceID,
		ReferralID: r.ID, SlotID: in.SlotID, Kind: in.Kind, At: at}
	var slot domain.ReservedSlot
	if _, err := handle(ctx, a, capCall, at, dept, capStream, func(c domain.Capacity) ([]domain.Event, error) {
		evs, err := domain.DecideCapacity(c, book)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			c = c.Evolve(e)
		}
		slot, _ = c.HeldBy(r.ID)
		return evs, nil
	}); err != nil {
		return Outcome{}, err
	}
	cmd.Slot = &domain.SlotRef{SlotID: slot.SlotID, Kind: slot.Kind, Window: slot.Window}
	out, err := handle(ctx, a, call, at, in.ReferralID, stream, func(r domain.Referral) ([]domain.Event, error) {
		return domain.DecideReferral(r, cmd)
	})
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), compensationTimeout)
		defer cancel()
		if rerr := a.releaseSlot(cctx, capCall, r.ToHospitalID, dept, r.ID, "acceptance failed: "+string(domain.ErrorCode(err))); rerr != nil {
			slog.Error("reserved slot not released after a failed acceptance", "referral", r.ID, "err", rerr)
		}
		return Outcome{}, err
	}
	return out, nil
}

// releaseSlot frees the slot a referral holds, unless the referral, as stored now, is
// accepted or further on with that very slot (a concurrent identical acceptance won).
func (a *App) releaseSlot(ctx context.Context, call Call, hospitalID, dept, referralID, reason string) error {
	r, err := load[domain.Referral](ctx, a, domain.ReferralStream(referralID))
	if err != nil {
		return err
	}
	if r.Slot != nil && r.Open() && r.Status != domain.ReferralStatusRequested && r.ReceivingDeptID == dept {
		return nil
	}
	_, err = handle(ctx, a, call, a.Now(), dept, domain.CapacityStream(hospitalID, dept), func(c domain.Capacity) ([]domain.Event, error) {
		return domain.DecideCapacity(c, domain.ReleaseReservedSlot{HospitalID: hospitalID, DepartmentID: dept, ReferralID: referralID, Reason: reason, At: a.Now()})
	})
	return err
}

// replayedOn returns the first result of a command with the call's idempotency key on
// stream, or nil when there is none.
func replayedOn[S eventstore.Evolver[S]](ctx context.Context, a *App, call Call, id, stream string) (*Outcome, error) {
	if call.IdempotencyKey == "" {
		return nil, nil
	}
	o, err := handle(ctx, a, call, a.Now(), id, stream, func(S) ([]domain.Event, error) { return nil, errNotReplayed })
	if err != nil || !o.Replayed {
		return nil, nil
	}
	return &o, nil
}

// DeclineReferralInput is the receiver's reason and what the sender should do instead.
type DeclineReferralInput struct {
	ReferralID  string `json:"-"`
	Reason      string `json:"reason"`
	Alternative string `json:"alternative"`
}

// DeclineReferral refuses a requested referral (receiving hospital).
func (a *App) DeclineReferral(ctx context.Context, call Call, in DeclineReferralInput) (Outcome, error) {
	return a.referralCmd(ctx, call, in.ReferralID, func(at timeT) domain.ReferralCommand {
		return domain.DeclineReferral{ReferralID: in.ReferralID, Reason: in.Reason, Alternative: in.Alternative, By: call.Actor, At: at}
	})
}

// ReferralInput names a referral for the commands without a body of their own.
type ReferralInput struct {
	ReferralID string `json:"-"`
}

// RecordReferralArrival records the patient's arrival (receiving hospital).
func (a *App) RecordReferralArrival(ctx context.Context, call Call, in ReferralInput) (Outcome, error) {
	return a.referralCmd(ctx, call, in.ReferralID, func(at timeT) domain.ReferralCommand {
		return domain.RecordReferralArrival{ReferralID: in.ReferralID, By: call.Actor, At: at}
	})
}

// AdmitReferral records the admission (receiving hospital).
func (a *App) AdmitReferral(ctx context.Context, call Call, in ReferralInput) (Outcome, error) {
	return a.referralCmd(ctx, call, in.ReferralID, func(at timeT) domain.ReferralCommand {
		return domain.AdmitReferral{ReferralID: in.ReferralID, By: call.Actor, At: at}
	})
}

// CompleteReferralInput is the summary sent back, and optionally a return referral
// down to the sending hospital (after an upward referral) in the same command.
type CompleteReferralInput struct {
	ReferralID string `json:"-"`
	Summary    string `json:"summary"`
	// ReturnDown, when set, refers the patient back down to the sender.
	ReturnDown *ReturnDownInput `json:"returnDown,omitempty"`
}

// ReturnDownInput is the return referral's own content.
type ReturnDownInput struct {
	ToDepartmentID  string `json:"toDepartmentId,omitempty"`
	Urgency         string `json:"urgency"`
	Reason          string `json:"reason"`
	ClinicalSummary string `json:"clinicalSummary"`
}

// CompleteReferral ends the episode with its summary (receiving hospital); with
// ReturnDown it then refers the patient back down to the sender, and the outcome's
// ReferralID names the return referral.
func (a *App) CompleteReferral(ctx context.Context, call Call, in CompleteReferralInput) (Outcome, error) {
	complete := func(at timeT) domain.ReferralCommand {
		return domain.CompleteReferral{ReferralID: in.ReferralID, Summary: in.Summary, By: call.Actor, At: at}
	}
	if in.ReturnDown == nil {
		return a.referralCmd(ctx, call, in.ReferralID, complete)
	}
	r, err := loadLinked[domain.Referral](ctx, a, "referralId", in.ReferralID, domain.ReferralStream)
	if err != nil {
		return Outcome{}, err
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(r.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	ret := domain.RequestReferral{Alliance: al, Direction: domain.ReferralDown, By: call.Actor, ToHospitalID: r.FromHospitalID,
		ToDepartmentID: in.ReturnDown.ToDepartmentID, Urgency: in.ReturnDown.Urgency, Reason: in.ReturnDown.Reason,
		ClinicalSummary: in.ReturnDown.ClinicalSummary, PatientRef: r.PatientRef, Policy: a.referralPolicy}
	// A return that would be refused (e.g. the sender was suspended meanwhile) refuses
	// the completion too, before anything is stored; a retry of a stored completion
	// skips the check and replays both.
	if r.Status == domain.ReferralStatusAdmitted {
		done := r
		done.Status = domain.ReferralStatusCompleted
		probe := ret
		probe.ReturnOf = &done
		if err := a.checkReferral(probe); err != nil {
			return Outcome{}, err
		}
	}
	out, err := a.referralCmd(ctx, call, in.ReferralID, complete)
	if err != nil {
		return out, err
	}
	if r, err = load[domain.Referral](ctx, a, domain.ReferralStream(in.ReferralID)); err != nil {
		return out, err
	}
	ret.ReturnOf = &r
	rc := Call{Actor: call.Actor, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
	if call.IdempotencyKey != "" {
		rc.IdempotencyKey = call.IdempotencyKey + "/return"
	}
	back, err := a.openReferral(ctx, rc, "ReturnReferral", ret)
	if err != nil {
		return out, err
	}
	out.ReferralID, out.Position = back.ID, max(out.Position, back.Position)
	return out, nil
}

// CancelReferralInput is the sender's reason.
type CancelReferralInput struct {
	ReferralID string `json:"-"`
	Reason     string `json:"reason"`
}

// CancelReferral withdraws a referral (sending hospital) and releases its slot.
func (a *App) CancelReferral(ctx context.Context, call Call, in CancelReferralInput) (Outcome, error) {
	return a.referralCmd(ctx, call, in.ReferralID, func(at timeT) domain.ReferralCommand {
		return domain.CancelReferral{ReferralID: in.ReferralID, Reason: in.Reason, By: call.Actor, At: at}
	})
}

// NoShowInput is an optional note on a no-show.
type NoShowInput struct {
	ReferralID string `json:"-"`
	Note       string `json:"note,omitempty"`
}

// RecordNoShow records that an accepted patient never came (receiving hospital) and
// releases the slot.
func (a *App) RecordNoShow(ctx context.Context, call Call, in NoShowInput) (Outcome, error) {
	return a.referralCmd(ctx, call, in.ReferralID, func(at timeT) domain.ReferralCommand {
		return domain.RecordNoShow{ReferralID: in.ReferralID, Note: in.Note, By: call.Actor, At: at}
	})
}

// referralCmd runs one follow-up command; when it ends the referral short of arrival
// (cancelled, no-show) it releases the reserved slot the referral held (a declined
// referral never held one: slots are booked at acceptance). A crash between the two
// appends leaves that slot held until the SlotReconciler releases it.
func (a *App) referralCmd(ctx context.Context, call Call, id string, build func(timeT) domain.ReferralCommand) (Outcome, error) {
	if err := validID("referralId", id); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	out, err := handle(ctx, a, call, at, id, domain.ReferralStream(id), func(r domain.Referral) ([]domain.Event, error) {
		return domain.DecideReferral(r, build(at))
	})
	if err != nil {
		return out, err
	}
	for _, e := range out.Events {
		var reason string
		switch e := e.(type) {
		case domain.ReferralCancelled:
			reason = "referral cancelled: " + e.Reason
		case domain.ReferralNoShow:
			reason = "patient did not come"
		default:
			continue
		}
		r, lerr := load[domain.Referral](ctx, a, domain.ReferralStream(id))
		if lerr != nil || r.Slot == nil {
			continue
		}
		rc := Call{Actor: call.Actor, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
		if rerr := a.releaseSlot(ctx, rc, r.ToHospitalID, r.ReceivingDeptID, id, truncateRunes(reason, 1000)); rerr != nil {
			slog.Error("reserved slot not released after the referral ended", "referral", id, "err", rerr)
		}
	}
	return out, nil
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// PublishSlotsInput lists slots or beds the caller's department keeps for an alliance.
type PublishSlotsInput struct {
	AllianceID string                `json:"allianceId"`
	Slots      []PublishSlotInputRow `json:"slots"`
}

// PublishSlotInputRow is one slot: its kind and window (the id is generated).
type PublishSlotInputRow struct {
	Kind   string        `json:"kind"`
	Window domain.Window `json:"window"`
}

// PublishReservedSlots publishes reserved slots or beds of the caller's department;
// the outcome's ID is the department, its stream the capacity stream.
func (a *App) PublishReservedSlots(ctx context.Context, call Call, in PublishSlotsInput) (Outcome, error) {
	if err := firstErr(validID("allianceId", in.AllianceID), validID("hospitalId", call.Actor.HospitalID)); err != nil {
		return Outcome{}, err
	}
	if call.Actor.DepartmentID == "" {
		return Outcome{}, domain.Errorf(domain.CodeInvalidInput, "the caller's token names no department; reserved slots belong to a department")
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(in.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	slots := make([]domain.ReservedSlot, len(in.Slots))
	for i, s := range in.Slots {
		slots[i] = domain.ReservedSlot{SlotID: a.newID(), Kind: s.Kind, Window: s.Window}
	}
	at := a.Now()
	return handle(ctx, a, call, at, call.Actor.DepartmentID, domain.CapacityStream(call.Actor.HospitalID, call.Actor.DepartmentID),
		func(c domain.Capacity) ([]domain.Event, error) {
			return domain.DecideCapacity(c, domain.PublishReservedSlots{Alliance: al, By: call.Actor, Slots: slots, At: at})
		})
}

// escalationReferral builds the upward referral of an escalation of plan.
func (a *App) escalationReferral(ctx context.Context, call Call, plan domain.Plan, in EscalateInput) (domain.RequestReferral, error) {
	// the alliance through which the sender holds the plan: the plan's own, or for a
	// community centre the middle tier's alliance (the escalation goes to 徐汇)
	through := plan.HeldThrough()
	if plan.ResponsibleHospitalID() != call.Actor.HospitalID && plan.LastEscalation.HospitalID == call.Actor.HospitalID {
		through = plan.LastEscalation.AllianceID // a retry: the escalation is stored
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(through))
	if err != nil {
		return domain.RequestReferral{}, err
	}
	urgency := in.Referral.Urgency
	if urgency == "" {
		urgency = domain.UrgencyUrgent
		if in.Urgent {
			urgency = domain.UrgencyEmergency
		}
	}
	return domain.RequestReferral{Alliance: al, Direction: domain.ReferralUp, By: call.Actor,
		ToDepartmentID: in.Referral.ToDepartmentID, Urgency: urgency, Reason: in.Reason,
		ClinicalSummary: in.Referral.ClinicalSummary, PatientRef: plan.PatientRef, Plan: &plan, Policy: a.referralPolicy}, nil
}

// checkReferral decides cmd against no referral, so a use case that stores something
// else first (an escalation) refuses a referral that would fail before storing anything.
func (a *App) checkReferral(cmd domain.RequestReferral) error {
	cmd.ReferralID, cmd.At = a.newID(), a.Now()
	_, err := domain.DecideReferral(domain.Referral{}, cmd)
	return err
}

// referEscalation opens the upward referral of a stored escalation and names it in the
// escalation's outcome (ReferralID). A retried escalation (same idempotency key) returns
// the referral it opened the first time.
func (a *App) referEscalation(ctx context.Context, call Call, out Outcome, cmd domain.RequestReferral) (Outcome, error) {
	return a.openLinkedReferral(ctx, call, out, "EscalationReferral", cmd)
}

// openLinkedReferral opens the referral a stored plan command asked for (an escalation,
// a hand-on) and names it in the command's outcome; a retry with the same idempotency
// key returns the referral it opened the first time.
func (a *App) openLinkedReferral(ctx context.Context, call Call, out Outcome, operation string, cmd domain.RequestReferral) (Outcome, error) {
	rc := Call{Actor: call.Actor, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
	if call.IdempotencyKey != "" {
		rc.IdempotencyKey = call.IdempotencyKey + "/referral"
	}
	ref, err := a.openReferral(ctx, rc, operation, cmd)
	if err != nil {
		return out, err
	}
	// The position is the referral's, the command's last event, so reading with it
	// finds the referral too.
	out.ReferralID, out.Position = ref.ID, max(out.Position, ref.Position)
	return out, nil
}
