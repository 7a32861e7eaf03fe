package fhir_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/fhir"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

const (
	lead   = "01JDAEAD0000000000000000AA"
	member = "01JDMEMBER0000000000000AAA"
	other  = "01JD0THER00000000000000AAA"
	planID = "01JDP1AN000000000000000AAA"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// jsonOf encodes a resource body and decodes it into a generic map.
func jsonOf(t *testing.T, r fhir.Resource) map[string]any {
	t.Helper()
	b, err := json.Marshal(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func path(m any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			mm, _ := m.(map[string]any)
			m = mm[k]
		case int:
			l, _ := m.([]any)
			if k >= len(l) {
				return nil
			}
			m = l[k]
		}
	}
	return m
}

func env(stream string, v uint64, at time.Time, typ string) domain.Envelope {
	return domain.Envelope{EventID: ulid.Make(), Type: typ, Stream: stream, StreamVersion: v, OccurredAt: at,
		Actor: domain.Actor{HospitalID: lead, DepartmentID: "haematology", UserID: "dr-zhao", Role: "lead"}}
}

func planAgg(t *testing.T, evs ...domain.Event) fhir.Agg {
	t.Helper()
	a := fhir.Agg{Kind: fhir.KindPlan, ID: planID, Stream: domain.PlanStream(planID)}
	for i, ev := range evs {
		a = a.Apply(env(a.Stream, uint64(i), t0.Add(time.Duration(i)*time.Hour), ev.EventType()), ev, eventstore.Position(i+1))
	}
	return a
}

var steps = []domain.PlanStep{
	{StepID: "rituximab", DayOffset: 0, DueDate: t0, Activity: "infusion", Drug: "rituximab", Dose: "375 mg/m2", Route: "iv", Status: domain.StepStatusPending},
	{StepID: "cbc", DayOffset: 10, DueDate: t0.AddDate(0, 0, 10), Activity: "blood count", Status: domain.StepStatusPending},
}

func initiated() domain.PlanInitiated {
	return domain.PlanInitiated{PlanID: planID, AllianceID: "01JDA11ANCE00000000000AAAA", ProtocolID: "01JDPR0T0C010000000000AAAA", ProtocolVersion: 1,
		PatientRef: "pr_abc", StartDate: t0, LeadHospitalID: lead, LeadDepartmentID: "haematology", Steps: steps, At: t0}
}

// A CarePlan instantiates its protocol version, has an activity per step with its
// status, the responsible hospital as performer of what is still to do, the patient as
// an identifier, and its versionId is the stream's revision + 1.
func TestCarePlan(t *testing.T) {
	a := planAgg(t, initiated(),
		domain.PlanHandedOver{PlanID: planID, FromHospitalID: lead, ToHospitalID: member, AdoptedVersion: 1, At: t0},
		domain.PlanStepCompleted{PlanID: planID, StepID: "rituximab", HospitalID: member, AdministeredDose: "650 mg", At: t0})
	rs := fhir.ResourcesOf(&a)
	if len(rs) != 1 || rs[0].Type != "CarePlan" || rs[0].ID != planID {
		t.Fatalf("resources of a plan: got %v, want one CarePlan", rs)
	}
	cp := jsonOf(t, rs[0])
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"resourceType", cp["resourceType"], "CarePlan"},
		{"status", cp["status"], "active"},
		{"intent", cp["intent"], "plan"},
		{"versionId", path(cp, "meta", "versionId"), "3"},
		{"instantiatesCanonical", path(cp, "instantiatesCanonical", 0), "urn:medalliance:protocol:01JDPR0T0C010000000000AAAA|1"},
		{"subject", path(cp, "subject", "identifier", "value"), "pr_abc"},
		{"done step", path(cp, "activity", 0, "detail", "status"), "completed"},
		{"done step performer", path(cp, "activity", 0, "detail", "performer", 0, "reference"), "Organization/" + member},
		{"pending step", path(cp, "activity", 1, "detail", "status"), "scheduled"},
		{"pending step performer", path(cp, "activity", 1, "detail", "performer", 0, "reference"), "Organization/" + member},
		{"author", path(cp, "author", "reference"), "Organization/" + lead + "-haematology"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if rs[0].Access.Rule != fhir.RulePlan || rs[0].Access.Responsible != member || rs[0].Access.Lead != lead {
		t.Errorf("access: got %+v, want the plan rule with responsible and lead", rs[0].Access)
	}
}

// A hospital that held the plan stays among its readers after an escalation, as on /v1.
func TestPlanHolders(t *testing.T) {
	a := planAgg(t, initiated(),
		domain.PlanHandedOver{PlanID: planID, FromHospitalID: lead, ToHospitalID: member, AdoptedVersion: 1, At: t0},
		domain.PlanEscalated{PlanID: planID, FromHospitalID: member, ToHospitalID: lead, Reason: "relapse", At: t0})
	r := fhir.ResourcesOf(&a)[0]
	if r.Access.Responsible != lead || len(r.Access.Holders) != 2 || r.Access.Holders[1] != member {
		t.Errorf("after handover and escalation: responsible %s, holders %v; want the lead responsible and the member a former holder", r.Access.Responsible, r.Access.Holders)
	}
}

// Every version of a protocol maps to its PlanDefinition; a version withdrawn for
// safety is retired and marked with its reason, and the steps carry timing and dosage.
func TestPlanDefinitionWithdrawn(t *testing.T) {
	p := domain.Protocol{ID: "01JDPR0T0C010000000000AAAA", AllianceID: "01JDA11ANCE00000000000AAAA", Title: "R-CHOP 21", LeadHospitalID: lead, LeadDepartmentID: "haematology",
		Versions: []domain.ProtocolVersion{
			{Number: 1, Status: domain.VersionStatusWithdrawn, PublishedAt: t0, WithdrawnAt: t0.Add(time.Hour), WithdrawnReason: "dosing error in step 2",
				Steps: []domain.ProtocolStep{{StepID: "rituximab", DayOffset: 3, Activity: "infusion", Drug: "rituximab", Dose: "375 mg/m2", Route: "iv"}}},
			{Number: 2, Status: domain.VersionStatusPublished, PublishedAt: t0.Add(2 * time.Hour)},
		}}
	a := fhir.Agg{Kind: fhir.KindProtocol, ID: p.ID, State: p, Updated: t0}
	rs := fhir.ResourcesOf(&a)
	if len(rs) != 2 || rs[0].ID != p.ID+"-v1" || rs[1].ID != p.ID+"-v2" {
		t.Fatalf("PlanDefinitions: got %d (%v)", len(rs), rs)
	}
	v1, v2 := jsonOf(t, rs[0]), jsonOf(t, rs[1])
	if v1["status"] != "retired" || path(v1, "extension", 0, "url") != fhir.ExtWithdrawn || path(v1, "extension", 0, "valueString") != "dosing error in step 2" {
		t.Errorf("withdrawn version: status %v, extension %v; want retired and marked withdrawn for safety with the reason", v1["status"], v1["extension"])
	}
	if v2["status"] != "active" || v2["extension"] != nil {
		t.Errorf("published version: %v", v2)
	}
	if path(v1, "action", 0, "timingDuration", "value") != 3.0 || path(v1, "action", 0, "extension", 0, "valueDosage", "text") != "375 mg/m2 iv" {
		t.Errorf("action: got %v, want day 3 and the dose", path(v1, "action", 0))
	}
}

// Referral, consult and dispatch statuses map onto the FHIR life cycles.
func TestStatusMappings(t *testing.T) {
	for _, c := range []struct {
		status, sr, task string
	}{
		{domain.ReferralStatusRequested, "active", "requested"},
		{domain.ReferralStatusAccepted, "active", "accepted"},
		{domain.ReferralStatusArrived, "active", "in-progress"},
		{domain.ReferralStatusAdmitted, "active", "in-progress"},
		{domain.ReferralStatusCompleted, "completed", "completed"},
		{domain.ReferralStatusDeclined, "revoked", "rejected"},
		{domain.ReferralStatusCancelled, "revoked", "cancelled"},
		{domain.ReferralStatusNoShow, "revoked", "failed"},
	} {
		a := fhir.Agg{Kind: fhir.KindReferral, ID: planID, Updated: t0, State: domain.Referral{ID: planID, FromHospitalID: member, ToHospitalID: lead,
			Status: c.status, PatientRef: "pr_x", Urgency: "emergency", RequestedAt: t0, AcceptedAt: t0}}
		rs := fhir.ResourcesOf(&a)
		if len(rs) != 2 || rs[0].Status != c.sr || rs[1].Status != c.task {
			t.Errorf("referral %s: got %v/%v, want ServiceRequest %s and Task %s", c.status, rs[0].Status, rs[1].Status, c.sr, c.task)
		}
		if bs := path(jsonOf(t, rs[1]), "businessStatus", "coding", 0, "code"); bs != c.status {
			t.Errorf("referral %s: Task businessStatus %v", c.status, bs)
		}
		if p := path(jsonOf(t, rs[0]), "priority"); p != "stat" {
			t.Errorf("an emergency referral's priority: %v, want stat", p)
		}
	}
	for _, c := range []struct{ status, task string }{
		{domain.ConsultStatusRequested, "requested"}, {domain.ConsultStatusAccepted, "in-progress"}, {domain.ConsultStatusAnswered, "completed"},
		{domain.ConsultStatusClosed, "completed"}, {domain.ConsultStatusDeclined, "rejected"}, {domain.ConsultStatusCancelled, "cancelled"},
	} {
		a := fhir.Agg{Kind: fhir.KindConsult, ID: planID, Updated: t0, State: domain.Consult{ID: planID, RequestingHospitalID: member, LeadHospitalID: lead, Status: c.status, PatientRef: "pr_x"}}
		if rs := fhir.ResourcesOf(&a); rs[1].Status != c.task {
			t.Errorf("consult %s: Task %s, want %s", c.status, rs[1].Status, c.task)
		}
	}
	for _, c := range []struct{ status, appt string }{
		{domain.DispatchStatusRequested, "proposed"}, {domain.DispatchStatusAssigned, "booked"}, {domain.DispatchStatusInProgress, "arrived"},
		{domain.DispatchStatusCompleted, "fulfilled"}, {domain.DispatchStatusCancelled, "cancelled"},
	} {
		a := fhir.Agg{Kind: fhir.KindDispatch, ID: planID, Updated: t0, State: domain.Dispatch{ID: planID, Status: c.status, Window: domain.Window{Start: t0, End: t0.Add(time.Hour)}}}
		if rs := fhir.ResourcesOf(&a); rs[0].Status != c.appt {
			t.Errorf("dispatch %s: Appointment %s, want %s", c.status, rs[0].Status, c.appt)
		}
	}
}

// An access-log entry is an AuditEvent of a read (or search) with its outcome; a
// change is a Provenance with its link in the hash chain.
func TestAuditEventAndProvenance(t *testing.T) {
	for _, c := range []struct {
		resource, outcome, wantOutcome, wantWhat, wantSub string
	}{
		{"plan", domain.AccessAllowed, "0", "CarePlan/" + planID, "read"},
		{"CarePlan", domain.AccessDenied, "4", "CarePlan/" + planID, "read"},
		{"CarePlan?", domain.AccessAllowed, "0", "", "search-type"},
	} {
		r := fhir.AuditEvent(fhir.AuditRecord{Stream: "access-20261201", Version: 4, Index: 2,
			Entry: domain.AccessEntry{Actor: domain.Actor{HospitalID: member, UserID: "dr-qian", Role: "member"}, Resource: c.resource, ID: planID, Outcome: c.outcome, At: t0}})
		m := jsonOf(t, r)
		what, _ := path(m, "entity", 0, "what", "reference").(string)
		if r.ID != "access-20261201.4.2" || m["outcome"] != c.wantOutcome || what != c.wantWhat || path(m, "subtype", 0, "code") != c.wantSub {
			t.Errorf("%s %s: id %s outcome %v what %q subtype %v", c.resource, c.outcome, r.ID, m["outcome"], what, path(m, "subtype", 0, "code"))
		}
		if path(m, "agent", 1, "who", "reference") != "Organization/"+member {
			t.Errorf("%s: the reading hospital is not an agent: %v", c.resource, m["agent"])
		}
	}
	ch := fhir.ChangeRecord{Stream: domain.PlanStream(planID), Version: 2, Position: 9, Hash: "bbbb",
		Envelope: domain.Envelope{EventID: ulid.Make(), Type: "PlanRevised", StreamVersion: 2, OccurredAt: t0, PrevHash: "aaaa",
			Actor: domain.Actor{HospitalID: lead, DepartmentID: "haematology", UserID: "dr-zhao", Role: "lead"}},
		Targets: []string{"CarePlan/" + planID}}
	r, ok := fhir.Provenance(ch)
	if !ok {
		t.Fatal("no Provenance for a plan change")
	}
	m := jsonOf(t, r)
	ext := map[string]any{}
	for _, e := range path(m, "extension", 0, "extension").([]any) {
		ext[path(e, "url").(string)] = path(e, "valueString")
	}
	if r.ID != "plan-"+planID+".2" || path(m, "target", 0, "reference") != "CarePlan/"+planID+"/_history/3" ||
		ext["prevHash"] != "aaaa" || ext["hash"] != "bbbb" || path(m, "entity", 0, "what", "reference") != "Provenance/plan-"+planID+".1" ||
		path(m, "activity", "text") != "PlanRevised" || path(m, "agent", 0, "who", "reference") != "Organization/"+lead+"-haematology" {
		t.Errorf("Provenance: %v", m)
	}
	if _, ok := fhir.Provenance(fhir.ChangeRecord{Stream: "protocol-x", Envelope: ch.Envelope}); ok {
		t.Errorf("a change without targets makes a Provenance")
	}
}

func TestParseQuery(t *testing.T) {
	at := func(s string) time.Time { tt, _ := time.Parse(time.RFC3339, s); return tt }
	r := fhir.Resource{Type: "CarePlan", ID: planID, Status: "active", Patient: "pr_abc", Orgs: []string{lead, member}, Updated: at("2026-12-01T10:00:00Z")}
	for _, c := range []struct {
		query string
		match bool
		err   bool
	}{
		{"", true, false},
		{"_id=" + planID, true, false},
		{"_id=X,Y", false, false},
		{"patient=pr_abc", true, false},
		{"patient=" + url.QueryEscape(fhir.SysPatientRef+"|pr_abc"), true, false},
		{"patient=MRN-123", false, true},
		{"status=completed,active", true, false},
		{"status=completed", false, false},
		{"organization=Organization/" + member, true, false},
		{"organization=" + other, false, false},
		{"_lastUpdated=2026-12-01", true, false},
		{"_lastUpdated=gt2026-12-01", false, false},
		{"_lastUpdated=ge2026-12-01T10:00:00Z&_lastUpdated=lt2026-12-02", true, false},
		{"_lastUpdated=lt2026-12-01T10:00:00Z", false, false},
		{"_lastUpdated=yesterday", false, true},
		{"_count=-1", false, true},
		{"name=x", false, true},
	} {
		v, _ := url.ParseQuery(c.query)
		q, err := fhir.ParseQuery("CarePlan", v)
		if (err != nil) != c.err {
			t.Errorf("%q: error %v, want error %v", c.query, err, c.err)
			continue
		}
		if err == nil && q.Match(r) != c.match {
			t.Errorf("%q: match %v, want %v", c.query, q.Match(r), c.match)
		}
		if err != nil && domain.ErrorCode(err) != domain.CodeInvalidInput {
			t.Errorf("%q: code %s, want invalid_input", c.query, domain.ErrorCode(err))
		}
	}
}

func TestParseServiceRequest(t *testing.T) {
	alliance := `"extension":[{"url":"` + fhir.ExtAlliance + `","valueReference":{"reference":"Organization/01JDA11ANCE00000000000AAAA"}}]`
	good := `{"resourceType":"ServiceRequest","status":"active","intent":"order","priority":"stat",` + alliance + `,
		"category":[{"coding":[{"system":"http://snomed.info/sct","code":"3457005"}]}],
		"subject":{"identifier":{"system":"` + fhir.SysMRN + `","value":"MRN-1"}},
		"requester":{"reference":"Organization/` + member + `"},"performer":[{"reference":"Organization/` + lead + `-haematology"}],
		"reasonCode":[{"text":"relapse"}],"note":[{"text":"LDH rising"}]}`
	in, err := fhir.ParseServiceRequest([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if in.Category != fhir.CategoryReferral || in.Urgency != "emergency" || in.MRN != "MRN-1" || in.ToHospitalID != lead || in.ToDepartmentID != "haematology" ||
		in.RequesterHospitalID != member || in.Reason != "relapse" || in.Note != "LDH rising" || in.AllianceID != "01JDA11ANCE00000000000AAAA" {
		t.Errorf("parsed: %+v", in)
	}
	for name, bad := range map[string]string{
		"not json":        `{`,
		"other type":      `{"resourceType":"Patient"}`,
		"unknown element": strings.Replace(good, `"intent"`, `"bogus":1,"intent"`, 1),
		"bad status":      strings.Replace(good, `"status":"active"`, `"status":"nonsense"`, 1),
		"draft":           strings.Replace(good, `"status":"active"`, `"status":"draft"`, 1),
		"no category":     strings.Replace(good, `3457005`, `1`, 1),
		"no alliance":     strings.Replace(good, alliance+",", "", 1),
		"subject system":  strings.Replace(good, fhir.SysMRN, "urn:other", 1),
		"requester":       strings.Replace(good, `"Organization/`+member+`"`, `"Practitioner/x"`, 1),
		"trailing":        good + `{}`,
	} {
		if _, err := fhir.ParseServiceRequest([]byte(bad)); domain.ErrorCode(err) != domain.CodeInvalidInput {
			t.Errorf("%s: got %v, want invalid_input", name, err)
		}
	}
}

func TestParseTask(t *testing.T) {
	in, err := fhir.ParseTask([]byte(`{"resourceType":"Task","status":"in-progress","intent":"order","focus":{"reference":"ServiceRequest/` + planID + `"},
		"businessStatus":{"coding":[{"code":"admitted"}]},"owner":{"reference":"Organization/` + lead + `-haematology"},"executionPeriod":{"start":"2026-12-02T09:00:00+08:00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.RequestID != planID || in.Status != "in-progress" || in.Business != "admitted" || in.DepartmentID != "haematology" || !in.ExpectedArrival.Equal(time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("parsed: %+v", in)
	}
	for _, bad := range []string{
		`{"resourceType":"Task","status":"accepted","intent":"order"}`,
		`{"resourceType":"Task","status":"accepted","intent":"order","focus":{"reference":"CarePlan/` + planID + `"}}`,
		`{"resourceType":"Task","status":"accepted","intent":"order","focus":{"reference":"ServiceRequest/` + planID + `"},"executionPeriod":{"start":"tomorrow"}}`,
	} {
		if _, err := fhir.ParseTask([]byte(bad)); domain.ErrorCode(err) != domain.CodeInvalidInput {
			t.Errorf("%s: got %v, want invalid_input", bad, err)
		}
	}
}

func TestLocateAndIDs(t *testing.T) {
	if got := fhir.Locate("Organization", lead+"-haematology"); len(got) != 1 || got[0] != "hospital-"+lead {
		t.Errorf("department Organization: %v", got)
	}
	if got := fhir.Locate("PlanDefinition", planID+"-v3"); len(got) != 1 || got[0] != "protocol-"+planID {
		t.Errorf("PlanDefinition: %v", got)
	}
	if got := fhir.Locate("ServiceRequest", planID); len(got) != 3 {
		t.Errorf("ServiceRequest: %v, want referral, consult and diagnostic streams", got)
	}
	if got := fhir.Locate("CarePlan", "../etc"); len(got) != 0 {
		t.Errorf("a malformed id locates %v", got)
	}
	if s, v, _, ok := fhir.ParseChangeID("plan-"+planID+".7", false); !ok || s != "plan-"+planID || v != 7 {
		t.Errorf("Provenance id: %s %d %v", s, v, ok)
	}
	for _, bad := range []string{"plan-x", "idempotency-x.1", "access-20261201.1", "plan-x.-1"} {
		if _, _, _, ok := fhir.ParseChangeID(bad, false); ok {
			t.Errorf("Provenance id %q accepted", bad)
		}
	}
	if _, _, i, ok := fhir.ParseChangeID("access-20261201.3.4", true); !ok || i != 4 {
		t.Errorf("AuditEvent id not parsed")
	}
}
