package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// Document references of the views (see doc.go for the key layout).

func hospitalRef(ks keyspace, id string) docRef { return docRef{ks.hospitals(), id} }
func allianceRef(ks keyspace, id string) docRef { return docRef{ks.alliance(id), ""} }
func memberRef(ks keyspace, allianceID, hospitalID string) docRef {
	return docRef{ks.allianceMembers(allianceID), hospitalID}
}
func protocolRef(ks keyspace, allianceID, protocolID string) docRef {
	return docRef{ks.allianceProtocols(allianceID), protocolID}
}
func adoptionRef(ks keyspace, allianceID, protocolID, hospitalID string) docRef {
	return docRef{ks.allianceAdoptions(allianceID), protocolID + ":" + hospitalID}
}
func planRef(ks keyspace, id string) docRef     { return docRef{ks.plan(id), "json"} }
func dispatchRef(ks keyspace, id string) docRef { return docRef{ks.dispatch(id), ""} }
func consultRef(ks keyspace, id string) docRef  { return docRef{ks.consult(id), ""} }
func calendarRef(ks keyspace, expertID, dispatchID string) docRef {
	return docRef{ks.expertCalendar(expertID), dispatchID}
}

// needs lists the documents applying e will read, so a batch loads them all in one
// round trip. Documents found only through another document (a plan's protocol, known
// from the plan) are loaded on first use instead.
func needs(ks keyspace, e event) []docRef {
	switch ev := e.ev.(type) {
	case domain.HospitalRegistered:
		return []docRef{hospitalRef(ks, ev.HospitalID)}
	case domain.HospitalDepartmentAdded:
		return []docRef{hospitalRef(ks, ev.HospitalID)}
	case domain.AllianceFounded:
		return []docRef{allianceRef(ks, ev.AllianceID)}
	case domain.AllianceMemberAdmitted:
		return []docRef{allianceRef(ks, ev.AllianceID), memberRef(ks, ev.AllianceID, ev.HospitalID)}
	case domain.AllianceMemberSuspended:
		return []docRef{allianceRef(ks, ev.AllianceID), memberRef(ks, ev.AllianceID, ev.HospitalID)}
	case domain.AllianceMemberReinstated:
		return []docRef{allianceRef(ks, ev.AllianceID), memberRef(ks, ev.AllianceID, ev.HospitalID)}
	case domain.AllianceMemberWithdrawn:
		return []docRef{allianceRef(ks, ev.AllianceID), memberRef(ks, ev.AllianceID, ev.HospitalID)}
	case domain.ProtocolDrafted:
		return []docRef{protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.ProtocolVersionPublished:
		return []docRef{protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.ProtocolVersionWithdrawn:
		return []docRef{protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.ProtocolRetired:
		return []docRef{protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.ProtocolAdopted:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.AdoptionUpgraded:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.AdoptionDeviationDeclared:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.AdoptionDeviationRevoked:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.AdoptionWithdrawn:
		return []docRef{adoptionRef(ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID)}
	case domain.PlanInitiated:
		return []docRef{planRef(ks, ev.PlanID), protocolRef(ks, ev.AllianceID, ev.ProtocolID)}
	case domain.PlanHandedOver:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanStepCompleted:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanStepSkipped:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanRevised:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanDeviationReported:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanDeviationAcknowledged:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanEscalated:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanCompleted:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanDiscontinued:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.PlanFlagged:
		return []docRef{planRef(ks, ev.PlanID)}
	case domain.DispatchRequested:
		return []docRef{dispatchRef(ks, ev.DispatchID)}
	case domain.ExpertAssigned:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.ExpertReassigned:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.ExpertCheckedIn:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.DispatchVisitReported:
		return []docRef{dispatchRef(ks, ev.DispatchID)}
	case domain.DispatchCompleted:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.DispatchCancelled:
		refs := []docRef{dispatchRef(ks, ev.DispatchID)}
		if ev.ExpertID != "" {
			refs = append(refs, calendarRef(ks, ev.ExpertID, ev.DispatchID))
		}
		return refs
	case domain.ExpertBooked:
		return []docRef{dispatchRef(ks, ev.DispatchID), calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.ExpertBookingReleased:
		return []docRef{calendarRef(ks, ev.ExpertID, ev.DispatchID)}
	case domain.ConsultRequested:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultAccepted:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultDeclined:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultOpinionGiven:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultOpinionAmended:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultClosed:
		return []docRef{consultRef(ks, ev.ConsultID)}
	case domain.ConsultCancelled:
		return []docRef{consultRef(ks, ev.ConsultID)}
	}
	return nil
}

// applyEvent folds one event into the views. Events of no view's interest (idempotency
// claims, access-log entries) change nothing but the checkpoint.
func applyEvent(b *batch, e event) error {
	switch ev := e.ev.(type) {
	case domain.HospitalRegistered, domain.HospitalDepartmentAdded:
		return applyHospital(b, e)
	case domain.AllianceFounded, domain.AllianceMemberAdmitted, domain.AllianceMemberSuspended,
		domain.AllianceMemberReinstated, domain.AllianceMemberWithdrawn:
		return applyAlliance(b, e)
	case domain.ProtocolDrafted, domain.ProtocolVersionPublished, domain.ProtocolVersionWithdrawn, domain.ProtocolRetired:
		return applyProtocol(b, e)
	case domain.ProtocolAdopted, domain.AdoptionUpgraded, domain.AdoptionDeviationDeclared,
		domain.AdoptionDeviationRevoked, domain.AdoptionWithdrawn:
		return applyAdoption(b, e)
	case domain.PlanInitiated, domain.PlanHandedOver, domain.PlanStepCompleted, domain.PlanStepSkipped,
		domain.PlanRevised, domain.PlanDeviationReported, domain.PlanDeviationAcknowledged, domain.PlanEscalated,
		domain.PlanCompleted, domain.PlanDiscontinued, domain.PlanFlagged:
		return applyPlan(b, e)
	case domain.DispatchRequested, domain.ExpertAssigned, domain.ExpertReassigned, domain.ExpertCheckedIn,
		domain.DispatchVisitReported, domain.DispatchCompleted, domain.DispatchCancelled:
		return applyDispatch(b, e)
	case domain.ExpertBooked, domain.ExpertBookingReleased:
		return applyExpert(b, e)
	case domain.ConsultRequested, domain.ConsultAccepted, domain.ConsultDeclined, domain.ConsultOpinionGiven,
		domain.ConsultOpinionAmended, domain.ConsultClosed, domain.ConsultCancelled:
		return applyConsult(b, e)
	default:
		_ = ev
	}
	return nil
}

func applyHospital(b *batch, e event) error {
	switch ev := e.ev.(type) {
	case domain.HospitalRegistered:
		h := &HospitalView{HospitalID: ev.HospitalID, Name: ev.Name, RegionCode: ev.RegionCode, Level: ev.Level,
			Departments: append([]domain.Department{}, ev.Departments...)}
		h.Version, h.Position = e.ver, e.pos
		return putDoc(b, hospitalRef(b.ks, ev.HospitalID), h)
	case domain.HospitalDepartmentAdded:
		h, err := getDoc[HospitalView](b, hospitalRef(b.ks, ev.HospitalID))
		if err != nil || h == nil {
			return err
		}
		h.Departments = append(h.Departments, ev.Department)
		h.Version, h.Position = e.ver, e.pos
		return putDoc(b, hospitalRef(b.ks, ev.HospitalID), h)
	}
	return nil
}

func applyAlliance(b *batch, e event) error {
	if ev, ok := e.ev.(domain.AllianceFounded); ok {
		a := &AllianceView{AllianceID: ev.AllianceID, Name: ev.Name, Specialty: ev.Specialty, Kind: ev.Kind,
			Lead: LeadView{HospitalID: ev.LeadHospitalID, HospitalName: ev.LeadHospitalName,
				DepartmentID: ev.LeadDepartmentID, RegionCode: ev.LeadRegionCode},
			FoundedAt: ev.FoundedAt.UTC(), Version: e.ver, Position: e.pos}
		return putDoc(b, allianceRef(b.ks, ev.AllianceID), a)
	}
	var allianceID, hospitalID string
	switch ev := e.ev.(type) {
	case domain.AllianceMemberAdmitted:
		allianceID, hospitalID = ev.AllianceID, ev.HospitalID
	case domain.AllianceMemberSuspended:
		allianceID, hospitalID = ev.AllianceID, ev.HospitalID
	case domain.AllianceMemberReinstated:
		allianceID, hospitalID = ev.AllianceID, ev.HospitalID
	case domain.AllianceMemberWithdrawn:
		allianceID, hospitalID = ev.AllianceID, ev.HospitalID
	}
	a, err := getDoc[AllianceView](b, allianceRef(b.ks, allianceID))
	if err != nil || a == nil {
		return err
	}
	ref := memberRef(b.ks, allianceID, hospitalID)
	m, err := getDoc[MemberView](b, ref)
	if err != nil {
		return err
	}
	if m != nil {
		a.Members.add(m.Status, -1)
	}
	switch ev := e.ev.(type) {
	case domain.AllianceMemberAdmitted:
		m = &MemberView{HospitalID: ev.HospitalID, HospitalName: ev.HospitalName, Tier: ev.Tier,
			Status: domain.MemberStatusActive, RegionCode: ev.RegionCode, AdmittedAt: ev.AdmittedAt.UTC()}
	case domain.AllianceMemberSuspended:
		if m == nil {
			return nil
		}
		m.Status, m.StatusReason, m.StatusChangedAt = domain.MemberStatusSuspended, ev.Reason, timePtr(ev.SuspendedAt.UTC())
	case domain.AllianceMemberReinstated:
		if m == nil {
			return nil
		}
		m.Status, m.StatusReason, m.StatusChangedAt = domain.MemberStatusActive, ev.Reason, timePtr(ev.ReinstatedAt.UTC())
	case domain.AllianceMemberWithdrawn:
		if m == nil {
			return nil
		}
		m.Status, m.StatusReason, m.StatusChangedAt = domain.MemberStatusWithdrawn, ev.Reason, timePtr(ev.WithdrawnAt.UTC())
		m.WithdrawnByLead = ev.ByLead
	}
	m.Position = e.pos
	a.Members.add(m.Status, 1)
	a.Version, a.Position = e.ver, e.pos
	if err := putDoc(b, ref, m); err != nil {
		return err
	}
	return putDoc(b, allianceRef(b.ks, allianceID), a)
}

func (c *MemberCounts) add(status string, n int) {
	switch status {
	case domain.MemberStatusActive:
		c.Active += n
	case domain.MemberStatusSuspended:
		c.Suspended += n
	case domain.MemberStatusWithdrawn:
		c.Withdrawn += n
	}
}

func applyProtocol(b *batch, e event) error {
	var allianceID, protocolID string
	switch ev := e.ev.(type) {
	case domain.ProtocolDrafted:
		p := &ProtocolView{ProtocolID: ev.ProtocolID, AllianceID: ev.AllianceID, Title: ev.Title,
			Indication: ev.Indication, DraftedAt: ev.DraftedAt.UTC(), Versions: []ProtocolVersionView{},
			Version: e.ver, Position: e.pos}
		return putDoc(b, protocolRef(b.ks, ev.AllianceID, ev.ProtocolID), p)
	case domain.ProtocolVersionPublished:
		allianceID, protocolID = ev.AllianceID, ev.ProtocolID
	case domain.ProtocolVersionWithdrawn:
		allianceID, protocolID = ev.AllianceID, ev.ProtocolID
	case domain.ProtocolRetired:
		allianceID, protocolID = ev.AllianceID, ev.ProtocolID
	}
	ref := protocolRef(b.ks, allianceID, protocolID)
	p, err := getDoc[ProtocolView](b, ref)
	if err != nil || p == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.ProtocolVersionPublished:
		steps := append([]domain.ProtocolStep{}, ev.Steps...)
		p.Versions = append(p.Versions, ProtocolVersionView{Version: ev.Version, Status: domain.VersionStatusPublished,
			ContentHash: ev.ContentHash, ChangeNote: ev.ChangeNote, Eligibility: ev.Eligibility, Steps: steps,
			PublishedAt: ev.PublishedAt.UTC()})
	case domain.ProtocolVersionWithdrawn:
		for i := range p.Versions {
			if p.Versions[i].Version == ev.Version {
				v := &p.Versions[i]
				v.Status, v.WithdrawnAt, v.WithdrawnReason = domain.VersionStatusWithdrawn, timePtr(ev.WithdrawnAt.UTC()), ev.Reason
			}
		}
	case domain.ProtocolRetired:
		p.Retired, p.RetiredAt, p.RetiredReason = true, timePtr(ev.RetiredAt.UTC()), ev.Reason
	}
	p.CurrentVersion = 0
	for _, v := range p.Versions {
		if v.Status == domain.VersionStatusPublished && v.Version > p.CurrentVersion {
			p.CurrentVersion = v.Version
		}
	}
	p.Version, p.Position = e.ver, e.pos
	return putDoc(b, ref, p)
}

func applyAdoption(b *batch, e event) error {
	var allianceID, protocolID, hospitalID string
	switch ev := e.ev.(type) {
	case domain.ProtocolAdopted:
		a := &AdoptionView{ProtocolID: ev.ProtocolID, HospitalID: ev.HospitalID, Version: ev.Version,
			ContentHash: ev.ContentHash, Status: domain.AdoptionStatusActive, Deviations: []domain.LocalDeviation{},
			AdoptedAt: ev.AdoptedAt.UTC(), UpdatedAt: ev.AdoptedAt.UTC(), Position: e.pos}
		return putDoc(b, adoptionRef(b.ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID), a)
	case domain.AdoptionUpgraded:
		allianceID, protocolID, hospitalID = ev.AllianceID, ev.ProtocolID, ev.HospitalID
	case domain.AdoptionDeviationDeclared:
		allianceID, protocolID, hospitalID = ev.AllianceID, ev.ProtocolID, ev.HospitalID
	case domain.AdoptionDeviationRevoked:
		allianceID, protocolID, hospitalID = ev.AllianceID, ev.ProtocolID, ev.HospitalID
	case domain.AdoptionWithdrawn:
		allianceID, protocolID, hospitalID = ev.AllianceID, ev.ProtocolID, ev.HospitalID
	}
	ref := adoptionRef(b.ks, allianceID, protocolID, hospitalID)
	a, err := getDoc[AdoptionView](b, ref)
	if err != nil || a == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.AdoptionUpgraded:
		a.Version, a.ContentHash, a.Deviations, a.UpdatedAt = ev.ToVersion, ev.ContentHash, []domain.LocalDeviation{}, ev.UpgradedAt.UTC()
	case domain.AdoptionDeviationDeclared:
		a.Deviations = append(a.Deviations, ev.Deviation)
		a.UpdatedAt = ev.Deviation.DeclaredAt.UTC()
	case domain.AdoptionDeviationRevoked:
		kept := []domain.LocalDeviation{}
		for _, d := range a.Deviations {
			if d.StepID != ev.StepID || d.Kind != ev.Kind {
				kept = append(kept, d)
			}
		}
		a.Deviations, a.UpdatedAt = kept, ev.RevokedAt.UTC()
	case domain.AdoptionWithdrawn:
		a.Status, a.WithdrawnAt, a.WithdrawnReason = domain.AdoptionStatusWithdrawn, timePtr(ev.WithdrawnAt.UTC()), ev.Reason
	}
	a.Position = e.pos
	return putDoc(b, ref, a)
}

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

// flushDispatch writes the dispatch and its copies in the requesting and lead
// hospitals' dispatch lists.
func (ks keyspace) flushDispatch(pipe redis.Pipeliner, ref docRef, val any) error {
	d := val.(*DispatchView)
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode dispatch view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	pipe.HSet(ctx, ks.hospitalDispatches(d.RequestingHospitalID), d.DispatchID, data)
	if d.LeadHospitalID != d.RequestingHospitalID {
		pipe.HSet(ctx, ks.hospitalDispatches(d.LeadHospitalID), d.DispatchID, data)
	}
	return nil
}

func applyDispatch(b *batch, e event) error {
	if ev, ok := e.ev.(domain.DispatchRequested); ok {
		d := &DispatchView{DispatchID: ev.DispatchID, AllianceID: ev.AllianceID, RequestingHospitalID: ev.RequestingHospitalID,
			LeadHospitalID: ev.LeadHospitalID, LeadDepartmentID: ev.LeadDepartmentID, Kind: ev.Kind, Specialty: ev.Specialty,
			Window: utcWindow(ev.Window), Notes: ev.Notes, Status: domain.DispatchStatusRequested,
			RequestedAt: ev.RequestedAt.UTC(), Version: e.ver, Position: e.pos}
		return b.put(dispatchRef(b.ks, ev.DispatchID), d, b.ks.flushDispatch)
	}
	var dispatchID string
	switch ev := e.ev.(type) {
	case domain.ExpertAssigned:
		dispatchID = ev.DispatchID
	case domain.ExpertReassigned:
		dispatchID = ev.DispatchID
	case domain.ExpertCheckedIn:
		dispatchID = ev.DispatchID
	case domain.DispatchVisitReported:
		dispatchID = ev.DispatchID
	case domain.DispatchCompleted:
		dispatchID = ev.DispatchID
	case domain.DispatchCancelled:
		dispatchID = ev.DispatchID
	}
	ref := dispatchRef(b.ks, dispatchID)
	d, err := getDoc[DispatchView](b, ref)
	if err != nil || d == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.ExpertAssigned:
		d.Status, d.ExpertID, d.ExpertName, d.AssignedAt = domain.DispatchStatusAssigned, ev.ExpertID, ev.ExpertName, timePtr(ev.AssignedAt.UTC())
	case domain.ExpertReassigned:
		d.ExpertID, d.ExpertName, d.AssignedAt = ev.ExpertID, ev.ExpertName, timePtr(ev.ReassignedAt.UTC())
	case domain.ExpertCheckedIn:
		d.Status, d.CheckedInAt = domain.DispatchStatusInProgress, timePtr(ev.CheckedInAt.UTC())
	case domain.DispatchVisitReported:
		d.Reports++
		d.Totals.PatientsSeen += ev.Report.PatientsSeen
		d.Totals.ProceduresGuided += ev.Report.ProceduresGuided
		d.Totals.TeachingSessions += ev.Report.TeachingSessions
		d.Totals.Summary = ev.Report.Summary
	case domain.DispatchCompleted:
		d.Status, d.CompletedAt = domain.DispatchStatusCompleted, timePtr(ev.CompletedAt.UTC())
	case domain.DispatchCancelled:
		d.Status, d.CancelReason, d.CancelledByLead, d.CancelledAt = domain.DispatchStatusCancelled, ev.Reason, ev.ByLead, timePtr(ev.CancelledAt.UTC())
	}
	d.Version, d.Position = e.ver, e.pos
	// Keep the expert's calendar entry (if the booking is live) in step with the status.
	if d.ExpertID != "" {
		cref := calendarRef(b.ks, d.ExpertID, d.DispatchID)
		c, err := getDoc[CalendarEntry](b, cref)
		if err != nil {
			return err
		}
		if c != nil {
			c.DispatchStatus = d.Status
			if err := putDoc(b, cref, c); err != nil {
				return err
			}
		}
	}
	return b.put(ref, d, b.ks.flushDispatch)
}

func utcWindow(w domain.Window) domain.Window {
	return domain.Window{Start: w.Start.UTC(), End: w.End.UTC()}
}

// flushDelete removes the document at ref.
func flushDelete(pipe redis.Pipeliner, ref docRef, _ any) error {
	if ref.field == "" {
		pipe.Del(context.Background(), ref.key)
	} else {
		pipe.HDel(context.Background(), ref.key, ref.field)
	}
	return nil
}

func applyExpert(b *batch, e event) error {
	switch ev := e.ev.(type) {
	case domain.ExpertBooked:
		c := &CalendarEntry{DispatchID: ev.DispatchID, Window: utcWindow(ev.Window), Position: e.pos}
		d, err := getDoc[DispatchView](b, dispatchRef(b.ks, ev.DispatchID))
		if err != nil {
			return err
		}
		if d != nil {
			c.AllianceID, c.HospitalID, c.Kind, c.DispatchStatus = d.AllianceID, d.RequestingHospitalID, d.Kind, d.Status
		}
		return putDoc(b, calendarRef(b.ks, ev.ExpertID, ev.DispatchID), c)
	case domain.ExpertBookingReleased:
		return b.put(calendarRef(b.ks, ev.ExpertID, ev.DispatchID), nil, flushDelete)
	}
	return nil
}

// flushConsult writes the consult, its rows in both hospitals' lists and the
// alliance's list, and keeps the alliance's open queue (by deadline) in step.
func (ks keyspace) flushConsult(pipe redis.Pipeliner, ref docRef, val any) error {
	c := val.(*ConsultView)
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode consult view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	sum := c.summary("")
	for _, row := range []struct{ hospital, role string }{{c.RequestingHospitalID, "requested"}, {c.LeadHospitalID, "received"}} {
		sum.Role = row.role
		s, err := json.Marshal(sum)
		if err != nil {
			return fmt.Errorf("encode consult summary: %w", err)
		}
		pipe.HSet(ctx, ks.hospitalConsults(row.hospital), c.ConsultID, s)
	}
	sum.Role = ""
	s, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("encode consult summary: %w", err)
	}
	pipe.HSet(ctx, ks.allianceConsults(c.AllianceID), c.ConsultID, s)
	if c.open() {
		pipe.ZAdd(ctx, ks.allianceConsultQueue(c.AllianceID), redis.Z{Score: float64(c.Deadline.UnixMilli()), Member: c.ConsultID})
	} else {
		pipe.ZRem(ctx, ks.allianceConsultQueue(c.AllianceID), c.ConsultID)
	}
	return nil
}

func (c *ConsultView) open() bool {
	return c.Status == domain.ConsultStatusRequested || c.Status == domain.ConsultStatusAccepted
}

// overdueAt reports whether the consult is open without an opinion past its deadline.
func (c *ConsultView) overdueAt(now time.Time) bool {
	return c.open() && c.OpinionGivenAt == nil && now.After(c.Deadline)
}

func (c *ConsultView) summary(role string) ConsultSummary {
	return ConsultSummary{ConsultID: c.ConsultID, AllianceID: c.AllianceID, RequestingHospitalID: c.RequestingHospitalID,
		LeadHospitalID: c.LeadHospitalID, Role: role, Urgency: c.Urgency, Specialty: c.Specialty, CrossRegion: c.CrossRegion,
		Status: c.Status, RequestedAt: c.RequestedAt, Deadline: c.Deadline, OpinionGivenAt: c.OpinionGivenAt, Position: c.Position}
}

func applyConsult(b *batch, e event) error {
	if ev, ok := e.ev.(domain.ConsultRequested); ok {
		c := &ConsultView{ConsultID: ev.ConsultID, AllianceID: ev.AllianceID, RequestingHospitalID: ev.RequestingHospitalID,
			LeadHospitalID: ev.LeadHospitalID, LeadDepartmentID: ev.LeadDepartmentID, CrossRegion: ev.CrossRegion,
			Specialty: ev.Specialty, Urgency: ev.Urgency, Question: ev.Question,
			Attachments: append([]domain.Attachment(nil), ev.Attachments...), PatientRef: ev.PatientRef,
			RequestedAt: ev.RequestedAt.UTC(), Deadline: ev.Deadline.UTC(), Status: domain.ConsultStatusRequested,
			Version: e.ver, Position: e.pos}
		return b.put(consultRef(b.ks, ev.ConsultID), c, b.ks.flushConsult)
	}
	var consultID string
	switch ev := e.ev.(type) {
	case domain.ConsultAccepted:
		consultID = ev.ConsultID
	case domain.ConsultDeclined:
		consultID = ev.ConsultID
	case domain.ConsultOpinionGiven:
		consultID = ev.ConsultID
	case domain.ConsultOpinionAmended:
		consultID = ev.ConsultID
	case domain.ConsultClosed:
		consultID = ev.ConsultID
	case domain.ConsultCancelled:
		consultID = ev.ConsultID
	}
	ref := consultRef(b.ks, consultID)
	c, err := getDoc[ConsultView](b, ref)
	if err != nil || c == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.ConsultAccepted:
		c.Status, c.SpecialistID, c.SpecialistName, c.AcceptedAt = domain.ConsultStatusAccepted, ev.SpecialistID, ev.SpecialistName, timePtr(ev.AcceptedAt.UTC())
	case domain.ConsultDeclined:
		c.Status, c.DeclineReason, c.EndedAt = domain.ConsultStatusDeclined, ev.Reason, timePtr(ev.DeclinedAt.UTC())
	case domain.ConsultOpinionGiven:
		op := ev.Opinion
		within := ev.WithinDeadline
		c.Status, c.Opinion, c.OpinionGivenAt, c.WithinDeadline = domain.ConsultStatusAnswered, &op, timePtr(ev.GivenAt.UTC()), &within
		if ev.SpecialistID != "" {
			c.SpecialistID, c.SpecialistName = ev.SpecialistID, ev.SpecialistName
		}
	case domain.ConsultOpinionAmended:
		op := ev.Opinion
		c.Opinion = &op
		c.Amendments++
	case domain.ConsultClosed:
		c.Status, c.Outcome, c.ClosedAt, c.EndedAt = domain.ConsultStatusClosed, ev.Outcome, timePtr(ev.ClosedAt.UTC()), timePtr(ev.ClosedAt.UTC())
	case domain.ConsultCancelled:
		c.Status, c.CancelReason, c.EndedAt = domain.ConsultStatusCancelled, ev.Reason, timePtr(ev.CancelledAt.UTC())
	}
	c.Version, c.Position = e.ver, e.pos
	return b.put(ref, c, b.ks.flushConsult)
}
