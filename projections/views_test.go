package projections_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// TestScenarioViews projects the scripted alliance and checks every view.
func TestScenarioViews(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix, BatchSize: 7})
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p,
		Now: func() time.Time { return s.t0.Add(50 * time.Hour) }})
	t.Cleanup(func() { _ = q.Close() })
	checkScenarioViews(t, q, s)
}

func checkScenarioViews(t *testing.T, q *projections.Queries, s *scenario) {
	t.Helper()
	ctx := context.Background()
	minPos := s.head

	doc, err := q.Plan(ctx, s.plan, minPos)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if doc.Responsible != s.lead || doc.Lead != s.lead || doc.LeadDepartment != "haematology" || doc.AllianceID != s.alliance {
		t.Errorf("plan facts = %+v, want responsible and lead %s, alliance %s", doc, s.lead, s.alliance)
	}
	if doc.Version != 6 {
		t.Errorf("plan version = %d, want 6 (7 events)", doc.Version)
	}
	var pv projections.PlanView
	if err := json.Unmarshal(doc.JSON, &pv); err != nil {
		t.Fatalf("plan json: %v", err)
	}
	if pv.Position != doc.Position || pv.Version != doc.Version {
		t.Errorf("plan json position/version %d/%d differ from the hash fields %d/%d", pv.Position, pv.Version, doc.Position, doc.Version)
	}
	if pv.Protocol.Title != "DLBCL R-CHOP" || pv.Protocol.Version != 1 || pv.Protocol.ProtocolID != s.protocol {
		t.Errorf("plan protocol = %+v", pv.Protocol)
	}
	if pv.Steps[0].Status != domain.StepStatusCompleted || pv.Steps[0].Record == nil || pv.Steps[0].Record.HospitalID != s.m1 ||
		pv.Steps[0].Record.UserID != "nurse-zhao" || pv.Steps[0].Record.AdministeredDose != "700 mg" {
		t.Errorf("step 1 = %+v, record %+v; want completed by nurse-zhao at %s", pv.Steps[0], pv.Steps[0].Record, s.m1)
	}
	if got := pv.Steps[2].DayOffset; got != 49 {
		t.Errorf("revised step 3 day offset = %d, want 49", got)
	}
	if pv.NextStep == nil || pv.NextStep.StepID != "c2d1-rituximab" || pv.PendingSteps != 2 {
		t.Errorf("next step = %+v, pending %d; want c2d1-rituximab, 2", pv.NextStep, pv.PendingSteps)
	}
	if len(pv.Revisions) != 1 || pv.Revisions[0].By.UserID != "dr-wang" || pv.Revision != 1 {
		t.Errorf("revisions = %+v", pv.Revisions)
	}
	if pv.OpenDeviations != 1 || len(pv.Deviations) != 1 || pv.Deviations[0].Severity != "major" {
		t.Errorf("deviations = %+v, open %d", pv.Deviations, pv.OpenDeviations)
	}
	if !pv.Flagged || len(pv.Flags) != 1 || !pv.Flags[0].Active || pv.Flags[0].Version != 1 {
		t.Errorf("flags = %+v, flagged %v; want the withdrawn version 1 flag, active", pv.Flags, pv.Flagged)
	}
	if len(pv.Handovers) != 1 || pv.Handovers[0].ToHospitalID != s.m1 || len(pv.Escalations) != 1 || !pv.Escalations[0].Urgent {
		t.Errorf("handovers %+v, escalations %+v", pv.Handovers, pv.Escalations)
	}
	if pv.LocalDeviations != nil {
		t.Errorf("local deviations after escalation = %+v, want none", pv.LocalDeviations)
	}
	if pv.Status != domain.PlanStatusActive || pv.PatientRef != "pr_0123456789abcdefghijklmnop" {
		t.Errorf("status %q patientRef %q", pv.Status, pv.PatientRef)
	}

	// Work lists: the lead sees both plans, plan2 first (due earlier); m1 none after the escalation.
	plans, err := q.HospitalPlans(ctx, s.lead, minPos)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 || plans[0].PlanID != s.plan2 || plans[1].PlanID != s.plan || !plans[1].UrgentEscalation {
		t.Errorf("lead plans = %+v; want plan2 then plan (urgent escalation)", plans)
	}
	if plans, err := q.HospitalPlans(ctx, s.m1, minPos); err != nil || len(plans) != 0 {
		t.Errorf("m1 plans after escalation = %+v, %v; want none", plans, err)
	}

	ids, err := q.PlansOnProtocolVersion(ctx, s.protocol, 1, minPos)
	if err != nil || len(ids) != 1 || ids[0] != s.plan {
		t.Errorf("plans on v1 = %v, %v; want [%s]", ids, err, s.plan)
	}
	if ids, _ := q.PlansOnProtocolVersion(ctx, s.protocol, 2, minPos); len(ids) != 1 || ids[0] != s.plan2 {
		t.Errorf("plans on v2 = %v; want [%s]", ids, s.plan2)
	}

	h, err := q.Hospital(ctx, s.m1, minPos)
	if err != nil || h.Name != "浦东医院" || len(h.Departments) != 2 {
		t.Errorf("hospital m1 = %+v, %v", h, err)
	}
	hs, err := q.Hospitals(ctx, minPos)
	if err != nil || len(hs) != 3 {
		t.Errorf("hospitals = %d, %v; want 3", len(hs), err)
	}
	if _, err := q.Hospital(ctx, newID(), minPos); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("unknown hospital: err = %v, want not_found", err)
	}

	a, err := q.Alliance(ctx, s.alliance, minPos)
	if err != nil || a.Lead.HospitalID != s.lead || a.Lead.DepartmentID != "haematology" || a.Members != (projections.MemberCounts{Active: 1, Suspended: 1}) {
		t.Errorf("alliance = %+v, %v", a, err)
	}
	members, err := q.AllianceMembers(ctx, s.alliance, minPos)
	if err != nil || len(members) != 2 || members[0].HospitalID != s.m1 || members[1].Status != domain.MemberStatusSuspended || members[1].StatusReason != "质控整改" {
		t.Errorf("members = %+v, %v", members, err)
	}
	if _, err := q.AllianceMembers(ctx, newID(), minPos); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("members of an unknown alliance: err = %v, want not_found", err)
	}
	protocols, err := q.AllianceProtocols(ctx, s.alliance, minPos)
	if err != nil || len(protocols) != 1 || protocols[0].CurrentVersion != 2 || len(protocols[0].Versions) != 2 ||
		protocols[0].Versions[0].Status != domain.VersionStatusWithdrawn {
		t.Errorf("protocols = %+v, %v; want current version 2, version 1 withdrawn", protocols, err)
	}

	mx, err := q.AdoptionMatrix(ctx, s.alliance, minPos)
	if err != nil || len(mx.Rows) != 2 || len(mx.Protocols) != 1 {
		t.Fatalf("matrix = %+v, %v", mx, err)
	}
	if c := mx.Rows[0].Cells[0]; c.AdoptedVersion != 1 || c.LatestVersion != 2 || c.Status != projections.CellVersionWithdrawn || len(c.Deviations) != 1 {
		t.Errorf("m1 cell = %+v; want adopted 1 (withdrawn for safety), latest 2, version_withdrawn, one deviation", c)
	}
	if c := mx.Rows[1].Cells[0]; c.Status != projections.CellNotAdopted {
		t.Errorf("m2 cell = %+v; want not adopted", c)
	}

	d, err := q.Dispatch(ctx, s.dispatch, minPos)
	if err != nil || d.Status != domain.DispatchStatusInProgress || d.ExpertID != s.expert || d.Totals.PatientsSeen != 12 || d.Reports != 1 {
		t.Errorf("dispatch = %+v, %v", d, err)
	}
	for _, hid := range []string{s.m1, s.lead} {
		ds, err := q.HospitalDispatches(ctx, hid, minPos)
		if err != nil || len(ds) != 2 || ds[0].DispatchID != s.dispatch || ds[1].Status != domain.DispatchStatusCancelled {
			t.Errorf("dispatches of %s = %+v, %v", hid, ds, err)
		}
	}
	cal, err := q.ExpertCalendar(ctx, s.expert, minPos)
	if err != nil || len(cal) != 1 || cal[0].DispatchID != s.dispatch || cal[0].DispatchStatus != domain.DispatchStatusInProgress || cal[0].HospitalID != s.m1 ||
		cal[0].LeadHospitalID != s.lead || cal[0].LeadDepartmentID != "haematology" {
		t.Errorf("calendar = %+v, %v; want the live booking only, with its lead", cal, err)
	}

	// The directory: the scenario's expert is a legacy free-form id (no entry), the two
	// practitioners are registered under the lead hospital, one since retired.
	if _, err := q.Practitioner(ctx, s.expert, minPos); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("legacy expert's entry: err = %v, want not_found", err)
	}
	prac, err := q.Practitioner(ctx, s.doctor, minPos)
	if err != nil || prac.HospitalID != s.lead || prac.DepartmentID != "haematology" || prac.Title != "主任医师" || len(prac.Specialties) != 2 || !prac.Active || prac.Version != 1 {
		t.Errorf("practitioner = %+v, %v; want the updated profile, active, version 1", prac, err)
	}
	staff, err := q.HospitalPractitioners(ctx, s.lead, minPos)
	if err != nil || len(staff) != 2 || staff[0].PractitionerID != s.doctor || staff[1].Active || staff[1].StatusReason != "退休" {
		t.Errorf("lead's practitioners = %+v, %v; want the active one first, then the retired one", staff, err)
	}
	if staff, err := q.HospitalPractitioners(ctx, s.m1, minPos); err != nil || len(staff) != 0 {
		t.Errorf("m1's practitioners = %+v, %v; want none", staff, err)
	}

	open, err := q.AllianceConsults(ctx, s.alliance, "open", s.t0.Add(50*time.Hour), minPos)
	if err != nil || len(open) != 1 || open[0].ConsultID != s.consult || !open[0].Overdue {
		t.Errorf("open consults = %+v, %v; want the emergency consult, overdue", open, err)
	}
	open, _ = q.AllianceConsults(ctx, s.alliance, "open", s.t0.Add(41*time.Hour), minPos)
	if len(open) != 1 || open[0].Overdue {
		t.Errorf("open consults before the deadline = %+v; want not overdue", open)
	}
	all, err := q.AllianceConsults(ctx, s.alliance, "all", s.t0, minPos)
	if err != nil || len(all) != 2 || all[0].ConsultID != s.consult {
		t.Errorf("all consults = %+v, %v", all, err)
	}
	answered, _ := q.AllianceConsults(ctx, s.alliance, domain.ConsultStatusAnswered, s.t0, minPos)
	if len(answered) != 1 || answered[0].ConsultID != s.consult2 {
		t.Errorf("answered consults = %+v", answered)
	}
	c, err := q.Consult(ctx, s.consult2, minPos)
	if err != nil || c.Status != domain.ConsultStatusAnswered || c.Opinion == nil || c.Opinion.Text != "第四周期后复查" || c.SpecialistName != "王主任" {
		t.Errorf("consult2 = %+v, %v", c, err)
	}
	c, _ = q.Consult(ctx, s.consult, minPos)
	if !c.Overdue || !c.CrossRegion {
		t.Errorf("consult = %+v; want overdue at the queries' clock, cross-region", c)
	}
	for hid, role := range map[string]string{s.m1: "requested", s.lead: "received"} {
		cs, err := q.HospitalConsults(ctx, hid, minPos)
		if err != nil || len(cs) != 2 || cs[0].Role != role {
			t.Errorf("consults of %s = %+v, %v; want 2 with role %s", hid, cs, err, role)
		}
	}
}

// TestEveryEventProjected checks that the views project every event of the aggregates
// they show, so an event type added to the domain is not silently ignored.
func TestEveryEventProjected(t *testing.T) {
	projected := map[string]bool{}
	for _, typ := range projections.ProjectedEventTypes() {
		projected[typ] = true
	}
	shown := []string{domain.HospitalAggregate, domain.AllianceAggregate, domain.ProtocolAggregate, domain.AdoptionAggregate,
		domain.PlanAggregate, domain.DispatchAggregate, domain.ExpertAggregate, domain.ConsultAggregate, domain.PractitionerAggregate, domain.ReferralAggregate,
		domain.CentreAggregate, domain.DiagnosticAggregate}
	catalogue := domain.EventCatalogue()
	for _, agg := range shown {
		if len(catalogue[agg]) == 0 {
			t.Errorf("aggregate %s registers no events", agg)
		}
		for _, typ := range catalogue[agg] {
			if !projected[typ] {
				t.Errorf("event %s of aggregate %s is not projected", typ, agg)
			}
		}
	}
}
