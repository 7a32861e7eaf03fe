package projections

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// noDue scores a plan without a pending step in a hospital's work list: after all others.
const noDue = 253402300799 // 9999-12-31T23:59:59Z

// planDoc is a plan view in the batch cache, with the hospitals whose work lists held
// it when it was loaded (so a handover removes it from the previous hospital's list).
type planDoc struct {
	view    PlanView
	indexed []string
}

// getPlan returns the cached plan view of id, or nil when there is none.
func getPlan(b *batch, id string) (*planDoc, error) {
	ref := planRef(b.ks, id)
	e, err := b.entry(ref)
	if err != nil {
		return nil, err
	}
	if e.val != nil {
		return e.val.(*planDoc), nil
	}
	if e.raw == nil {
		return nil, nil
	}
	d := &planDoc{}
	if err := json.Unmarshal(e.raw, &d.view); err != nil {
		return nil, fmt.Errorf("plan view %s is malformed: %w", id, err)
	}
	d.indexed = d.view.listedUnder()
	e.val = d
	return d, nil
}

// listedUnder names the hospitals whose work list shows the plan: the lead hospital
// and the responsible hospital.
func (p *PlanView) listedUnder() []string {
	if p.ResponsibleHospitalID == "" || p.ResponsibleHospitalID == p.Lead.HospitalID {
		return []string{p.Lead.HospitalID}
	}
	return []string{p.Lead.HospitalID, p.ResponsibleHospitalID}
}

func (p *PlanView) summary() PlanSummary {
	s := PlanSummary{PlanID: p.PlanID, AllianceID: p.AllianceID, PatientRef: p.PatientRef,
		ProtocolID: p.Protocol.ProtocolID, ProtocolVersion: p.Protocol.Version, ProtocolTitle: p.Protocol.Title,
		LeadHospitalID: p.Lead.HospitalID, ResponsibleHospitalID: p.ResponsibleHospitalID, Status: p.Status,
		NextStep: p.NextStep, PendingSteps: p.PendingSteps, OpenDeviations: p.OpenDeviations, Flagged: p.Flagged,
		Version: p.Version, Position: p.Position}
	if n := len(p.Escalations); n > 0 && p.ResponsibleHospitalID == p.Lead.HospitalID {
		s.UrgentEscalation = p.Escalations[n-1].Urgent && p.Status == domain.PlanStatusActive
	}
	return s
}

// flushPlan writes the plan hash (the JSON and the authorization facts) and keeps the
// work lists of the lead and responsible hospitals in step.
func (ks keyspace) flushPlan(pipe redis.Pipeliner, ref docRef, val any) error {
	d := val.(*planDoc)
	p := &d.view
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode plan view: %w", err)
	}
	sum, err := json.Marshal(p.summary())
	if err != nil {
		return fmt.Errorf("encode plan summary: %w", err)
	}
	ctx := context.Background()
	pipe.HSet(ctx, ref.key, "json", data, "responsible", p.ResponsibleHospitalID, "lead", p.Lead.HospitalID,
		"leadDepartment", p.Lead.DepartmentID, "alliance", p.AllianceID,
		"version", p.Version, "position", uint64(p.Position))
	now := p.listedUnder()
	for _, h := range d.indexed {
		if !contains(now, h) {
			pipe.ZRem(ctx, ks.hospitalPlans(h), p.PlanID)
			pipe.HDel(ctx, ks.hospitalPlanSummaries(h), p.PlanID)
		}
	}
	score := float64(noDue)
	if p.NextStep != nil {
		score = float64(p.NextStep.DueDate.Unix())
	}
	for _, h := range now {
		pipe.ZAdd(ctx, ks.hospitalPlans(h), redis.Z{Score: score, Member: p.PlanID})
		pipe.HSet(ctx, ks.hospitalPlanSummaries(h), p.PlanID, sum)
	}
	d.indexed = now
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func applyPlan(b *batch, e event) error {
	if ev, ok := e.ev.(domain.PlanInitiated); ok {
		title := ""
		if pr, err := getDoc[ProtocolView](b, protocolRef(b.ks, ev.AllianceID, ev.ProtocolID)); err != nil {
			return err
		} else if pr != nil {
			title = pr.Title
		}
		steps := append([]domain.PlanStep{}, ev.Steps...)
		d := &planDoc{view: PlanView{PlanID: ev.PlanID, AllianceID: ev.AllianceID, PatientRef: ev.PatientRef,
			Lead:                  LeadView{HospitalID: ev.LeadHospitalID, DepartmentID: ev.LeadDepartmentID},
			Protocol:              PlanProtocolRef{ProtocolID: ev.ProtocolID, Version: ev.ProtocolVersion, Title: title, ContentHash: ev.ContentHash},
			ResponsibleHospitalID: ev.LeadHospitalID, Status: domain.PlanStatusActive, StartDate: ev.StartDate.UTC(),
			Steps: steps, Revisions: []PlanRevisionView{}, Deviations: []PlanDeviationView{}, Flags: []PlanFlagView{},
			Handovers: []PlanTransferView{}, Escalations: []PlanTransferView{}, InitiatedAt: ev.At.UTC()}}
		if old, err := getPlan(b, ev.PlanID); err != nil {
			return err
		} else if old != nil {
			d.indexed = old.indexed
		}
		finishPlan(b, d, e)
		b.op(func(pipe redis.Pipeliner) {
			pipe.SAdd(context.Background(), b.ks.protocolVersionPlans(ev.ProtocolID, ev.ProtocolVersion), ev.PlanID)
		})
		return b.put(planRef(b.ks, ev.PlanID), d, b.ks.flushPlan)
	}
	var planID string
	switch ev := e.ev.(type) {
	case domain.PlanHandedOver:
		planID = ev.PlanID
	case domain.PlanStepCompleted:
		planID = ev.PlanID
	case domain.PlanStepSkipped:
		planID = ev.PlanID
	case domain.PlanRevised:
		planID = ev.PlanID
	case domain.PlanDeviationReported:
		planID = ev.PlanID
	case domain.PlanDeviationAcknowledged:
		planID = ev.PlanID
	case domain.PlanEscalated:
		planID = ev.PlanID
	case domain.PlanCompleted:
		planID = ev.PlanID
	case domain.PlanDiscontinued:
		planID = ev.PlanID
	case domain.PlanFlagged:
		planID = ev.PlanID
	}
	d, err := getPlan(b, planID)
	if err != nil || d == nil {
		return err
	}
	p := &d.view
	switch ev := e.ev.(type) {
	case domain.PlanHandedOver:
		p.ResponsibleHospitalID = ev.ToHospitalID
		p.LocalDeviations = append([]domain.LocalDeviation(nil), ev.LocalDeviations...)
		p.Handovers = append(p.Handovers, PlanTransferView{FromHospitalID: ev.FromHospitalID, ToHospitalID: ev.ToHospitalID,
			AdoptedVersion: ev.AdoptedVersion, At: ev.At.UTC()})
	case domain.PlanStepCompleted:
		p.setStep(ev.StepID, domain.StepStatusCompleted, &domain.PlanStepRecord{HospitalID: ev.HospitalID,
			DepartmentID: ev.DepartmentID, UserID: ev.UserID, At: ev.At.UTC(), AdministeredDose: ev.AdministeredDose, Notes: ev.Notes})
	case domain.PlanStepSkipped:
		p.setStep(ev.StepID, domain.StepStatusSkipped, &domain.PlanStepRecord{HospitalID: ev.HospitalID,
			DepartmentID: ev.DepartmentID, UserID: ev.UserID, At: ev.At.UTC(), SkipReason: ev.Reason})
	case domain.PlanRevised:
		p.applyChanges(ev.Changes)
		p.Revision = ev.Revision
		p.Revisions = append(p.Revisions, PlanRevisionView{Revision: ev.Revision, Reason: ev.Reason,
			FromVersion: ev.FromVersion, ToVersion: ev.ToVersion, Changes: ev.Changes, FlagCleared: ev.FlagCleared,
			By: e.actor, At: ev.At.UTC()})
		if ev.ToVersion != p.Protocol.Version {
			from, to, protocolID := p.Protocol.Version, ev.ToVersion, p.Protocol.ProtocolID
			b.op(func(pipe redis.Pipeliner) {
				ctx := context.Background()
				pipe.SRem(ctx, b.ks.protocolVersionPlans(protocolID, from), planID)
				pipe.SAdd(ctx, b.ks.protocolVersionPlans(protocolID, to), planID)
			})
		}
		p.Protocol.Version, p.Protocol.ContentHash = ev.ToVersion, ev.ContentHash
		if ev.FlagCleared {
			p.Flagged = false
			for i := range p.Flags {
				if p.Flags[i].Active {
					p.Flags[i].Active, p.Flags[i].ClearedAt = false, timePtr(ev.At.UTC())
				}
			}
		}
	case domain.PlanDeviationReported:
		p.Deviations = append(p.Deviations, PlanDeviationView{DeviationID: ev.DeviationID, StepID: ev.StepID,
			Description: ev.Description, Severity: ev.Severity, HospitalID: ev.HospitalID, ReportedAt: ev.At.UTC()})
	case domain.PlanDeviationAcknowledged:
		for i := range p.Deviations {
			if p.Deviations[i].DeviationID == ev.DeviationID {
				dv := &p.Deviations[i]
				dv.Acknowledged, dv.AckNote, dv.AcknowledgedAt = true, ev.Note, timePtr(ev.At.UTC())
			}
		}
	case domain.PlanEscalated:
		p.ResponsibleHospitalID = ev.ToHospitalID
		p.LocalDeviations = nil
		p.Escalations = append(p.Escalations, PlanTransferView{FromHospitalID: ev.FromHospitalID, ToHospitalID: ev.ToHospitalID,
			Reason: ev.Reason, Urgent: ev.Urgent, At: ev.At.UTC()})
	case domain.PlanCompleted:
		p.Status, p.ClosedAt = domain.PlanStatusCompleted, timePtr(ev.At.UTC())
	case domain.PlanDiscontinued:
		p.Status, p.ClosedAt, p.CloseReason = domain.PlanStatusDiscontinued, timePtr(ev.At.UTC()), ev.Reason
	case domain.PlanFlagged:
		p.Flagged = true
		p.Flags = append(p.Flags, PlanFlagView{Kind: "protocol_version_withdrawn", ProtocolID: ev.ProtocolID,
			Version: ev.Version, Reason: ev.Reason, At: ev.At.UTC(), Active: true})
	}
	finishPlan(b, d, e)
	return b.put(planRef(b.ks, planID), d, b.ks.flushPlan)
}

// finishPlan recomputes the derived fields and stamps the event's version and position.
func finishPlan(b *batch, d *planDoc, e event) {
	p := &d.view
	p.NextStep, p.PendingSteps, p.OpenDeviations = nil, 0, 0
	for _, s := range p.Steps {
		if s.Status != domain.StepStatusPending {
			continue
		}
		p.PendingSteps++
		if p.Status == domain.PlanStatusActive && (p.NextStep == nil || s.DueDate.Before(p.NextStep.DueDate)) {
			p.NextStep = &NextStepView{StepID: s.StepID, DueDate: s.DueDate.UTC(), Activity: s.Activity}
		}
	}
	for _, dv := range p.Deviations {
		if !dv.Acknowledged {
			p.OpenDeviations++
		}
	}
	p.Version, p.Position = e.ver, e.pos
	b.planChanged(p.PlanID, e.pos)
}

func (p *PlanView) setStep(stepID, status string, rec *domain.PlanStepRecord) {
	for i := range p.Steps {
		if p.Steps[i].StepID == stepID {
			p.Steps[i].Status, p.Steps[i].Record = status, rec
		}
	}
}

// applyChanges applies a revision's step changes as the plan aggregate does.
func (p *PlanView) applyChanges(changes []domain.PlanStepChange) {
	for _, c := range changes {
		i := -1
		for j := range p.Steps {
			if p.Steps[j].StepID == c.StepID {
				i = j
			}
		}
		due := p.StartDate.AddDate(0, 0, c.DayOffset)
		switch {
		case c.Action == domain.PlanChangeAdd && i < 0:
			p.Steps = append(p.Steps, domain.PlanStep{StepID: c.StepID, DayOffset: c.DayOffset, DueDate: due,
				Activity: c.Activity, Drug: c.Drug, Dose: c.Dose, Route: c.Route, Notes: c.Notes, Status: domain.StepStatusPending})
		case c.Action == domain.PlanChangeModify && i >= 0:
			s := &p.Steps[i]
			s.DayOffset, s.DueDate = c.DayOffset, due
			s.Activity, s.Drug, s.Dose, s.Route, s.Notes = c.Activity, c.Drug, c.Dose, c.Route, c.Notes
		case c.Action == domain.PlanChangeCancel && i >= 0:
			p.Steps[i].Status = domain.StepStatusCancelled
		}
	}
}
