package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fhirFlow drives every /fhir/R4 route after the other flows: each resource type's
// search, read, history and vread (ids found by an auditor's search), the inbound
// ServiceRequest and Task, and a system and a group bulk export to their files.
func fhirFlow(t *testing.T, f *fixture, w world) {
	t.Helper()
	get := func(tok, path string, want int) map[string]any {
		t.Helper()
		r := f.do(http.MethodGet, path, tok, "")
		if r.status != want {
			t.Fatalf("GET %s: got %d %s, want %d", path, r.status, r.body, want)
		}
		if ct := r.header.Get("Content-Type"); want != http.StatusAccepted && !strings.HasPrefix(ct, "application/fhir+json") && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/fhir+ndjson") {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		var m map[string]any
		_ = json.Unmarshal(r.body, &m)
		return m
	}
	const base = "/fhir/R4"
	// Inbound: member 1's HIS refers a patient up; the lead's HIS accepts with a Task.
	sr := fmt.Sprintf(`{"resourceType":"ServiceRequest","status":"active","intent":"order","priority":"urgent",
		"extension":[{"url":"https://medalliance.cn/fhir/StructureDefinition/alliance","valueReference":{"reference":"Organization/%s"}}],
		"category":[{"coding":[{"system":"urn:medalliance:code:request-category","code":"referral"}]}],
		"subject":{"identifier":{"system":"urn:medalliance:mrn","value":"FHIR-MRN-1"}},
		"requester":{"reference":"Organization/%s"},"reasonCode":[{"text":"relapse"}],"note":[{"text":"LDH rising"}]}`, w.alliance, w.m1)
	r := f.do(http.MethodPost, base+"/ServiceRequest", w.m1Tok, sr, "Content-Type", "application/fhir+json")
	if r.status != http.StatusCreated {
		t.Fatalf("POST ServiceRequest: %d %s", r.status, r.body)
	}
	ref := r.json(t)["id"].(string)
	task := func(status string) string {
		return fmt.Sprintf(`{"resourceType":"Task","status":%q,"intent":"order","focus":{"reference":"ServiceRequest/%s"},"executionPeriod":{"start":"2026-12-02T09:00:00Z"}}`, status, ref)
	}
	if r := f.do(http.MethodPost, base+"/Task", w.leadTok, task("accepted")); r.status != http.StatusOK {
		t.Fatalf("POST Task accepted: %d %s", r.status, r.body)
	}
	if r := f.do(http.MethodPut, base+"/Task/"+ref, w.leadTok, task("in-progress")); r.status != http.StatusOK {
		t.Fatalf("PUT Task in-progress: %d %s", r.status, r.body)
	}
	if r := f.do(http.MethodPut, base+"/Task/"+ref, w.leadTok, task("nonsense")); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "OperationOutcome") {
		t.Errorf("PUT Task with an unknown status: %d %s, want a 400 OperationOutcome", r.status, r.body)
	}
	get(w.m2Tok, base+"/Task/"+ref, http.StatusForbidden)
	get(w.auditor, base+"/metadata", http.StatusOK)
	// Reads are in the access log: flush it so that AuditEvents exist.
	get(w.auditor, base+"/ServiceRequest/"+ref, http.StatusOK)
	if err := f.access.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"Organization", "OrganizationAffiliation", "Practitioner", "PractitionerRole", "PlanDefinition", "CarePlan",
		"ServiceRequest", "Task", "Appointment", "DiagnosticReport", "Communication", "AuditEvent"} {
		b := get(w.auditor, base+"/"+typ+"?_count=2&minPosition=0", http.StatusOK)
		entries, _ := b["entry"].([]any)
		if len(entries) == 0 {
			t.Fatalf("search %s: no entries in %v", typ, b)
		}
		res := entries[0].(map[string]any)["resource"].(map[string]any)
		id := res["id"].(string)
		vid := res["meta"].(map[string]any)["versionId"].(string)
		get(w.auditor, base+"/"+typ+"/"+id, http.StatusOK)
		h := get(w.auditor, base+"/"+typ+"/"+id+"/_history", http.StatusOK)
		if h["type"] != "history" {
			t.Errorf("%s/%s/_history: %v", typ, id, h["type"])
		}
		get(w.auditor, base+"/"+typ+"/"+id+"/_history/"+vid, http.StatusOK)
		if typ == "CarePlan" {
			p := get(w.auditor, base+"/Provenance?target=CarePlan/"+id, http.StatusOK)
			pe, _ := p["entry"].([]any)
			if len(pe) == 0 {
				t.Fatalf("Provenance of CarePlan/%s: none", id)
			}
			pid := pe[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
			get(w.auditor, base+"/Provenance/"+pid, http.StatusOK)
			get(w.auditor, base+"/Provenance/"+pid+"/_history", http.StatusOK)
			get(w.auditor, base+"/Provenance/"+pid+"/_history/1", http.StatusOK)
		}
	}
	get(w.auditor, base+"/Patient", http.StatusNotFound)
	// Bulk export: the system's as an auditor, the alliance's as its lead department.
	for _, kick := range []struct{ tok, path string }{{w.auditor, base + "/$export"}, {w.leadTok, base + "/Group/" + w.alliance + "/$export?_type=CarePlan,Provenance"}} {
		r := f.do(http.MethodGet, kick.path, kick.tok, "", "Prefer", "respond-async")
		if r.status != http.StatusAccepted {
			t.Fatalf("GET %s: %d %s", kick.path, r.status, r.body)
		}
		status := strings.TrimPrefix(r.header.Get("Content-Location"), "http://example.com")
		var manifest map[string]any
		for i := 0; ; i++ {
			s := f.do(http.MethodGet, status, kick.tok, "")
			if s.status == http.StatusOK {
				manifest = s.json(t)
				break
			}
			if s.status != http.StatusAccepted || i > 500 {
				t.Fatalf("export status %s: %d %s", status, s.status, s.body)
			}
			time.Sleep(10 * time.Millisecond)
		}
		out, _ := manifest["output"].([]any)
		if len(out) == 0 {
			t.Fatalf("export %s: no output in %v", kick.path, manifest)
		}
		for _, o := range out {
			u := strings.TrimPrefix(o.(map[string]any)["url"].(string), "http://example.com")
			if fr := f.do(http.MethodGet, u, kick.tok, ""); fr.status != http.StatusOK || len(fr.body) == 0 {
				t.Errorf("export file %s: %d", u, fr.status)
			}
		}
		if other := f.do(http.MethodGet, status, w.m1Tok, ""); other.status != http.StatusNotFound {
			t.Errorf("another user's export status: %d, want 404", other.status)
		}
		if d := f.do(http.MethodDelete, status, kick.tok, ""); d.status != http.StatusAccepted {
			t.Errorf("DELETE %s: %d", status, d.status)
		}
	}
	if r := f.do(http.MethodGet, base+"/$export", w.leadTok, ""); r.status != http.StatusForbidden {
		t.Errorf("a lead's system export: %d, want 403", r.status)
	}
	if r := f.do(http.MethodGet, base+"/Group/"+w.alliance+"/$export", w.m1Tok, ""); r.status != http.StatusForbidden {
		t.Errorf("a member's group export: %d, want 403", r.status)
	}
}
