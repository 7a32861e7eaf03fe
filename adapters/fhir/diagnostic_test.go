package fhir_test

import (
	"testing"

	"github.com/medalliance/allianced/adapters/fhir"
	"github.com/medalliance/allianced/domain"
)

// A reported study is a ServiceRequest, a Task, a DiagnosticReport (amended after an
// amendment) and a Communication per critical value (completed once acknowledged, with
// the finding as its payload).
func TestDiagnosticResources(t *testing.T) {
	const centre = "01JDCENTRE0000000000000AAA"
	d := domain.Diagnostic{ID: planID, AllianceID: "01JDA11ANCE00000000000AAAA", CentreID: centre, CentreHospitalID: lead, Kind: "ecg", Modality: "12-lead ECG",
		Urgency: "emergency", PatientRef: "pr_abc", FromHospitalID: member, Status: domain.DiagnosticStatusReported, SubmittedAt: t0,
		Report: &domain.Report{Version: 2, ReaderID: "01JDREADER0000000000000AAA", ReaderName: "张医生", Impression: "acute inferior STEMI",
			Findings: []domain.Finding{{Item: "st_t", Value: "ST elevation II, III, aVF", Flag: domain.FlagCritical}}, ReportedAt: t0, AmendedAt: t0.Add(3600e9)},
		Criticals: []domain.CriticalValue{
			{Seq: 1, Finding: "STEMI", Status: domain.CriticalAcknowledged, FlaggedAt: t0, AcknowledgedAt: t0.Add(300e9), AcknowledgedBy: "dr-li"},
			{Seq: 2, Finding: "VT", Status: domain.CriticalEscalated, FlaggedAt: t0, EscalatedAt: t0.Add(600e9)},
		}}
	a := fhir.Agg{Kind: fhir.KindDiagnostic, ID: d.ID, State: d, Updated: t0}
	got := map[string]map[string]any{}
	for _, r := range fhir.ResourcesOf(&a) {
		got[r.Type+"/"+r.ID] = jsonOf(t, r)
		if r.Access.Rule != fhir.RuleParties || r.Access.Parties[0] != member || r.Access.Parties[1] != lead {
			t.Errorf("%s/%s: access %+v, want the requesting hospital and the centre's operator", r.Type, r.ID, r.Access)
		}
	}
	for _, c := range []struct {
		key  string
		keys []any
		want any
	}{
		{"ServiceRequest/" + planID, []any{"status"}, "completed"},
		{"ServiceRequest/" + planID, []any{"category", 0, "coding", 1, "code"}, "103693007"},
		{"ServiceRequest/" + planID, []any{"performer", 0, "reference"}, "Organization/" + centre},
		{"Task/" + planID, []any{"status"}, "completed"},
		{"DiagnosticReport/" + planID, []any{"status"}, "amended"},
		{"DiagnosticReport/" + planID, []any{"conclusionCode", 0, "coding", 0, "code"}, "AA"},
		{"DiagnosticReport/" + planID, []any{"resultsInterpreter", 0, "reference"}, "Practitioner/01JDREADER0000000000000AAA"},
		{"Communication/" + planID + "-c1", []any{"status"}, "completed"},
		{"Communication/" + planID + "-c1", []any{"payload", 0, "contentString"}, "STEMI"},
		{"Communication/" + planID + "-c1", []any{"recipient", 0, "reference"}, "Organization/" + member},
		{"Communication/" + planID + "-c2", []any{"status"}, "in-progress"},
	} {
		m, ok := got[c.key]
		if !ok {
			t.Errorf("no %s among %d resources", c.key, len(got))
			continue
		}
		if v := path(m, c.keys...); v != c.want {
			t.Errorf("%s %v: got %v, want %v", c.key, c.keys, v, c.want)
		}
	}
	if p := path(got["Communication/"+planID+"-c1"], "payload", 0); len(p.(map[string]any)) != 1 {
		t.Errorf("Communication payload %v: want only contentString", p)
	}
	if got := fhir.Locate("Communication", planID+"-c2"); len(got) != 1 || got[0] != "diagnostic-"+planID {
		t.Errorf("Communication locates %v", got)
	}
}

// A mentorship is the mentor's PractitionerRole; a placement the placed
// practitioner's at the host department.
func TestTalentRoles(t *testing.T) {
	m := domain.Mentorship{ID: planID, AllianceID: "01JDA11ANCE00000000000AAAA", LeadHospitalID: lead, MentorID: "01JDMENT0R0000000000000AAA",
		MentorDepartmentID: "haematology", ApprenticeHospitalID: member, Status: domain.MentorshipStatusActive, StartedAt: t0, Programme: "导师制"}
	a := fhir.Agg{Kind: fhir.KindMentorship, ID: m.ID, State: m, Updated: t0}
	rs := fhir.ResourcesOf(&a)
	if len(rs) != 1 || rs[0].Type != "PractitionerRole" {
		t.Fatalf("mentorship: %v", rs)
	}
	r := jsonOf(t, rs[0])
	if path(r, "code", 0, "coding", 0, "code") != "mentor" || path(r, "practitioner", "reference") != "Practitioner/01JDMENT0R0000000000000AAA" ||
		path(r, "organization", "reference") != "Organization/"+lead+"-haematology" || path(r, "active") != true {
		t.Errorf("mentor role: %v", r)
	}
	p := domain.Placement{ID: planID, PractitionerID: "01JDMENT0R0000000000000AAA", HomeHospitalID: member, HostHospitalID: lead, HostDepartmentID: "haematology",
		Kind: "study", Status: domain.PlacementStatusCompleted, Period: domain.Window{Start: t0, End: t0.AddDate(0, 3, 0)}}
	a = fhir.Agg{Kind: fhir.KindPlacement, ID: p.ID, State: p, Updated: t0}
	r = jsonOf(t, fhir.ResourcesOf(&a)[0])
	if path(r, "code", 0, "coding", 0, "code") != "placement" || path(r, "active") != false || path(r, "organization", "reference") != "Organization/"+lead+"-haematology" {
		t.Errorf("placement role: %v", r)
	}
}
