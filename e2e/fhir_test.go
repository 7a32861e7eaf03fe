package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fhirWorld is a small alliance set up over /v1 for the FHIR journeys.
type fhirWorld struct {
	admin, lead, memberA, memberB, auditor user
	leadHID, aHID, bHID                    string
	allianceID, protocolID, planID         string
}

func fhirSetup(t *testing.T, s *server) fhirWorld {
	t.Helper()
	var w fhirWorld
	w.admin = s.token(platformID, "", "directory-admin", "admin")
	w.auditor = s.token(platformID, "", "qc-auditor", "auditor")
	hospital := func(name, region, level string) string {
		return s.command(&w.admin, "/v1/hospitals", map[string]any{"name": name, "regionCode": region, "level": level,
			"departments": []map[string]string{{"id": "hematology", "name": "血液科"}}}, http.StatusCreated).ID
	}
	w.leadHID = hospital("上海交通大学医学院附属瑞金医院", "310101", "tertiary")
	w.aHID = hospital("浦东新区浦南医院", "310115", "secondary")
	w.bHID = hospital("成都市金牛区人民医院", "510106", "secondary")
	w.lead = s.token(w.leadHID, "hematology", "zhao.lead", "lead")
	w.memberA = s.token(w.aHID, "hematology", "qian.ward-a", "member")
	w.memberB = s.token(w.bHID, "hematology", "wang.ward-b", "member")
	w.allianceID = s.command(&w.lead, "/v1/alliances", map[string]any{"name": "瑞金血液淋巴瘤专科联盟 (FHIR e2e)",
		"specialty": "haematology", "kind": "specialist"}, http.StatusCreated).ID
	for _, h := range []string{w.aHID, w.bHID} {
		s.command(&w.lead, "/v1/alliances/"+w.allianceID+"/members", map[string]any{"hospitalId": h, "tier": "member"}, http.StatusOK)
	}
	w.protocolID = s.command(&w.lead, "/v1/alliances/"+w.allianceID+"/protocols",
		map[string]any{"title": "R-CHOP 21", "indication": "弥漫大B细胞淋巴瘤"}, http.StatusCreated).ID
	s.command(&w.lead, "/v1/protocols/"+w.protocolID+"/versions", map[string]any{"eligibility": "CD20+ DLBCL, ECOG 0-2",
		"steps": []map[string]any{
			{"stepId": "rituximab", "dayOffset": 0, "activity": "infusion", "drug": "rituximab", "dose": "375 mg/m2", "route": "iv"},
			{"stepId": "chop", "dayOffset": 1, "activity": "infusion", "drug": "cyclophosphamide", "dose": "750 mg/m2", "route": "iv"},
			{"stepId": "cbc", "dayOffset": 10, "activity": "blood count at nadir"},
		}}, http.StatusOK)
	for _, m := range []*user{&w.memberA, &w.memberB} {
		s.command(m, "/v1/protocols/"+w.protocolID+"/adoptions", map[string]any{"version": 1}, http.StatusCreated)
	}
	w.planID = s.command(&w.lead, "/v1/plans", map[string]any{"allianceId": w.allianceID, "protocolId": w.protocolID, "version": 1,
		"medicalRecordNumber": "MRN-FHIR-000123", "startDate": "2026-12-01T00:00:00Z"}, http.StatusCreated).ID
	s.command(&w.lead, "/v1/plans/"+w.planID+"/handover", map[string]any{"toHospitalId": w.aHID}, http.StatusOK)
	return w
}

// fhirGet reads a FHIR resource and checks status and content type.
func fhirGet(t *testing.T, s *server, u *user, path string, want int) map[string]any {
	t.Helper()
	r := s.request(u, http.MethodGet, "/fhir/R4"+path, nil)
	if r.Status != want {
		t.Fatalf("GET /fhir/R4%s as %s: got %d, want %d; body %s", path, u.Name, r.Status, want, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Errorf("GET /fhir/R4%s: Content-Type %q, want application/fhir+json", path, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("GET /fhir/R4%s: %v", path, err)
	}
	return m
}

// TestFHIRJourney: a CarePlan's _history shows its revision; a member cannot read
// another member's CarePlan, an auditor can, and the reads appear as AuditEvents; an
// inbound ServiceRequest creates a referral visible in /v1, and a Task moves it on.
func TestFHIRJourney(t *testing.T) {
	s := startServer(t, serverOptions{})
	w := fhirSetup(t, s)

	// The lead revises the plan: _history shows the version before and after.
	s.command(&w.lead, "/v1/plans/"+w.planID+"/revisions", map[string]any{"reason": "move the nadir count to day 8",
		"changes": []map[string]any{{"action": "modify", "stepId": "cbc", "dayOffset": 8, "activity": "blood count (day 8)"}}}, http.StatusOK)
	hist := fhirGet(t, s, &w.lead, "/CarePlan/"+w.planID+"/_history", http.StatusOK)
	if str(hist, "type") != "history" {
		t.Fatalf("CarePlan _history: type %q, want a history Bundle", str(hist, "type"))
	}
	entries := list(hist, "entry")
	if len(entries) < 3 {
		t.Fatalf("CarePlan _history: %d versions, want at least initiate, handover, revision", len(entries))
	}
	activity := func(cp any, step string) string {
		for _, a := range list(cp, "activity") {
			if str(a, "id") == step {
				return str(a, "detail", "code", "text")
			}
		}
		return ""
	}
	newest, oldest := field(entries[0], "resource"), field(entries[len(entries)-1], "resource")
	if got := activity(newest, "cbc"); got != "blood count (day 8)" {
		t.Errorf("newest CarePlan version: cbc activity %q, want the revised one", got)
	}
	if got := activity(oldest, "cbc"); got != "blood count at nadir" {
		t.Errorf("first CarePlan version: cbc activity %q, want the protocol's", got)
	}
	vid := str(newest, "meta", "versionId")
	if v := fhirGet(t, s, &w.lead, "/CarePlan/"+w.planID+"/_history/1", http.StatusOK); activity(v, "cbc") != "blood count at nadir" || str(v, "meta", "versionId") != "1" {
		t.Errorf("vread of version 1: got %v", v)
	}
	cur := fhirGet(t, s, &w.memberA, "/CarePlan/"+w.planID, http.StatusOK)
	if str(cur, "meta", "versionId") != vid {
		t.Errorf("current CarePlan versionId %q, want the newest history entry's %q", str(cur, "meta", "versionId"), vid)
	}
	if ic := list(cur, "instantiatesCanonical"); len(ic) != 1 || ic[0] != "urn:medalliance:protocol:"+w.protocolID+"|1" {
		t.Errorf("CarePlan.instantiatesCanonical %v, want the protocol's version 1", ic)
	}
	prov := fhirGet(t, s, &w.auditor, "/Provenance?target=CarePlan/"+w.planID, http.StatusOK)
	revised := false
	for _, e := range list(prov, "entry") {
		if str(e, "resource", "activity", "text") == "PlanRevised" {
			revised = true
		}
	}
	if !revised {
		t.Errorf("Provenance of the CarePlan: no PlanRevised change among %d", len(list(prov, "entry")))
	}

	// Tenancy: member B never held the plan; the auditor reads everything.
	denied := fhirGet(t, s, &w.memberB, "/CarePlan/"+w.planID, http.StatusForbidden)
	if str(denied, "resourceType") != "OperationOutcome" || str(list(denied, "issue")[0], "code") != "forbidden" {
		t.Errorf("member B's read: got %v, want an OperationOutcome with issue forbidden", denied)
	}
	if strings.Contains(mustJSON(t, denied), w.aHID) {
		t.Errorf("the refusal names the responsible hospital: %v", denied)
	}
	fhirGet(t, s, &w.auditor, "/CarePlan/"+w.planID, http.StatusOK)
	search := fhirGet(t, s, &w.memberB, "/CarePlan?_id="+w.planID, http.StatusOK)
	if num(search, "total") != 0 {
		t.Errorf("member B's search finds the plan: %v", search)
	}

	// The reads are in the access log, as AuditEvents the auditor searches by entity.
	want := map[string]string{w.aHID: "0", w.bHID: "4", platformID: "0"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := map[string]string{}
		ae := fhirGet(t, s, &w.auditor, "/AuditEvent?entity=CarePlan/"+w.planID+"&_count=500", http.StatusOK)
		for _, e := range list(ae, "entry") {
			res := field(e, "resource")
			for _, a := range list(res, "agent") {
				if ref := str(a, "who", "reference"); strings.HasPrefix(ref, "Organization/") {
					hid, _, _ := strings.Cut(strings.TrimPrefix(ref, "Organization/"), "-")
					if got[hid] != "4" {
						got[hid] = str(res, "outcome")
					}
				}
			}
		}
		ok := true
		for h, o := range want {
			if got[h] != o {
				ok = false
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("AuditEvents of CarePlan/%s: got outcomes by hospital %v, want %v", w.planID, got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	fhirGet(t, s, &w.memberA, "/AuditEvent", http.StatusForbidden)

	// Inbound: member A's HIS refers a patient up with a ServiceRequest.
	sr := map[string]any{"resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": "urgent",
		"extension":  []any{map[string]any{"url": "https://medalliance.cn/fhir/StructureDefinition/alliance", "valueReference": map[string]any{"reference": "Organization/" + w.allianceID}}},
		"category":   []any{map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "3457005"}}}},
		"subject":    map[string]any{"identifier": map[string]any{"system": "urn:medalliance:mrn", "value": "MRN-FHIR-000456"}},
		"requester":  map[string]any{"reference": "Organization/" + w.aHID},
		"performer":  []any{map[string]any{"reference": "Organization/" + w.leadHID + "-hematology"}},
		"reasonCode": []any{map[string]any{"text": "relapse after cycle 3"}},
		"note":       []any{map[string]any{"text": "LDH rising; PET-CT attached in the HIS"}},
	}
	r := s.request(&w.memberA, http.MethodPost, "/fhir/R4/ServiceRequest", sr)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST ServiceRequest: %d %s", r.Status, r.Body)
	}
	var created map[string]any
	_ = json.Unmarshal(r.Body, &created)
	refID := str(created, "id")
	if loc := r.Header.Get("Location"); !strings.Contains(loc, "/fhir/R4/ServiceRequest/"+refID+"/_history/1") {
		t.Errorf("POST ServiceRequest: Location %q", loc)
	}
	if strings.Contains(string(r.Body), "MRN-FHIR-000456") {
		t.Errorf("the created ServiceRequest carries the record number: %s", r.Body)
	}
	pos, _ := strconv.ParseUint(r.Header.Get("X-Allianced-Position"), 10, 64)
	if pos == 0 {
		t.Errorf("POST ServiceRequest: no X-Allianced-Position header to read /v1 at")
	}
	v1 := s.get(&w.memberA, after("/v1/referrals/"+refID, pos), nil)
	if str(v1, "status") != "requested" || str(v1, "direction") != "up" || str(v1, "toHospitalId") != w.leadHID || str(v1, "urgency") != "urgent" {
		t.Errorf("/v1/referrals/%s after the inbound ServiceRequest: %v", refID, v1)
	}
	// The lead's HIS accepts it with a Task; /v1 shows the acceptance.
	task := map[string]any{"resourceType": "Task", "status": "accepted", "intent": "order",
		"focus": map[string]any{"reference": "ServiceRequest/" + refID}, "executionPeriod": map[string]any{"start": "2026-12-02T09:00:00Z"}}
	r = s.request(&w.lead, http.MethodPut, "/fhir/R4/Task/"+refID, task)
	if r.Status != http.StatusOK {
		t.Fatalf("PUT Task accepted: %d %s", r.Status, r.Body)
	}
	pos, _ = strconv.ParseUint(r.Header.Get("X-Allianced-Position"), 10, 64)
	if v1 := s.get(&w.lead, after("/v1/referrals/"+refID, pos), nil); str(v1, "status") != "accepted" {
		t.Errorf("/v1 referral after the Task: status %q, want accepted", str(v1, "status"))
	}
	// Member B is no party: it neither reads nor moves it.
	fhirGet(t, s, &w.memberB, "/Task/"+refID, http.StatusForbidden)
	if r := s.request(&w.memberB, http.MethodPut, "/fhir/R4/Task/"+refID, map[string]any{"resourceType": "Task", "status": "cancelled", "intent": "order",
		"focus": map[string]any{"reference": "ServiceRequest/" + refID}}); r.Status != http.StatusForbidden {
		t.Errorf("member B moving another's referral: %d %s, want 403", r.Status, r.Body)
	}
	// A study for the alliance's ECG centre: the HIS sends a diagnostic ServiceRequest,
	// /v1 shows the study at the centre, and a Task withdraws it.
	centre := s.command(&w.lead, "/v1/centres", map[string]any{"allianceId": w.allianceID, "kind": "ecg", "name": "瑞金远程心电中心",
		"departmentId": "hematology"}, http.StatusCreated).ID
	study := map[string]any{"resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": "stat",
		"category":   []any{map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "103693007"}}}},
		"code":       map[string]any{"text": "12-lead ECG"},
		"subject":    map[string]any{"identifier": map[string]any{"system": "urn:medalliance:mrn", "value": "MRN-FHIR-000789"}},
		"requester":  map[string]any{"reference": "Organization/" + w.aHID},
		"performer":  []any{map[string]any{"reference": "Organization/" + centre}},
		"reasonCode": []any{map[string]any{"text": "chest pain for 40 minutes"}},
	}
	r = s.request(&w.memberA, http.MethodPost, "/fhir/R4/ServiceRequest", study)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST diagnostic ServiceRequest: %d %s", r.Status, r.Body)
	}
	_ = json.Unmarshal(r.Body, &created)
	studyID := str(created, "id")
	if str(created, "resourceType") != "ServiceRequest" || studyID == "" {
		t.Fatalf("created study: %s", r.Body)
	}
	pos, _ = strconv.ParseUint(r.Header.Get("X-Allianced-Position"), 10, 64)
	if v1 := s.get(&w.memberA, after("/v1/diagnostics/"+studyID, pos), nil); str(v1, "status") == "" || str(v1, "centreId") != centre || str(v1, "urgency") != "emergency" {
		t.Errorf("/v1/diagnostics/%s after the inbound ServiceRequest: %v", studyID, v1)
	}
	r = s.request(&w.memberA, http.MethodPut, "/fhir/R4/Task/"+studyID, map[string]any{"resourceType": "Task", "status": "cancelled", "intent": "order",
		"focus": map[string]any{"reference": "ServiceRequest/" + studyID}, "statusReason": map[string]any{"text": "sent to the wrong centre"}})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT Task cancelled (study): %d %s", r.Status, r.Body)
	}
	pos, _ = strconv.ParseUint(r.Header.Get("X-Allianced-Position"), 10, 64)
	if v1 := s.get(&w.memberA, after("/v1/diagnostics/"+studyID, pos), nil); str(v1, "status") != "cancelled" {
		t.Errorf("/v1 study after the Task: status %q, want cancelled", str(v1, "status"))
	}

	// An invalid resource is a 4xx OperationOutcome, never a 500.
	for _, bad := range []any{
		map[string]any{"resourceType": "Patient"},
		map[string]any{"resourceType": "ServiceRequest", "status": "active", "intent": "order", "bogus": 1},
		map[string]any{"resourceType": "ServiceRequest", "status": "nonsense", "intent": "order"},
		"not an object",
	} {
		r := s.request(&w.memberA, http.MethodPost, "/fhir/R4/ServiceRequest", bad)
		var oo map[string]any
		_ = json.Unmarshal(r.Body, &oo)
		if r.Status != http.StatusBadRequest || str(oo, "resourceType") != "OperationOutcome" {
			t.Errorf("POST invalid ServiceRequest %v: %d %s, want 400 OperationOutcome", bad, r.Status, r.Body)
		}
	}
}

// fhirTypes are the resource types the demo must produce (each checked by both
// validators), besides the interface's own Bundle, CapabilityStatement and
// OperationOutcome.
var fhirTypes = []string{"Organization", "OrganizationAffiliation", "Practitioner", "PractitionerRole", "PlanDefinition",
	"CarePlan", "ServiceRequest", "Task", "Appointment", "DiagnosticReport", "Communication", "Provenance", "AuditEvent"}

// TestFHIRValidators dumps every resource the demo produces (the bulk export, plus a
// search, a history, the CapabilityStatement and an OperationOutcome) and checks them
// with the `fhir` package and @medplum/core's validateResource (e2e/fhirvalidate). It
// skips when their node_modules are not installed, unless REQUIRE_FHIR_VALIDATORS=1
// (CI), where that is a failure.
func TestFHIRValidators(t *testing.T) {
	dir, err := filepath.Abs("fhirvalidate")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@medplum", "core")); err != nil {
		if os.Getenv("REQUIRE_FHIR_VALIDATORS") == "1" {
			t.Fatalf("the FHIR validators are not installed in %s (run npm ci there); REQUIRE_FHIR_VALIDATORS=1 makes this a failure", dir)
		}
		t.Skipf("the FHIR validators are not installed: run `npm ci` in %s (CI does, with REQUIRE_FHIR_VALIDATORS=1)", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: %v", err)
	}
	s := startServer(t, serverOptions{Subcommand: "demo"})
	auditor := s.token(platformID, "", "qc-auditor", "auditor")
	// Reads first, so that the export holds AuditEvents of FHIR reads too.
	out := t.TempDir()
	save := func(name string, body []byte) string {
		p := filepath.Join(out, name)
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := []string{}
	r := s.request(nil, http.MethodGet, "/fhir/R4/metadata", nil)
	files = append(files, save("metadata.json", r.Body))
	plans := fhirGet(t, s, &auditor, "/CarePlan?_count=2", http.StatusOK)
	files = append(files, save("searchset.json", mustJSONBytes(t, plans)))
	if es := list(plans, "entry"); len(es) > 0 {
		id := str(es[0], "resource", "id")
		files = append(files, save("history.json", mustJSONBytes(t, fhirGet(t, s, &auditor, "/CarePlan/"+id+"/_history", http.StatusOK))))
	}
	files = append(files, save("outcome.json", mustJSONBytes(t, fhirGet(t, s, &auditor, "/CarePlan/01JE2E0N0SUCHP1AN000000000", http.StatusNotFound))))
	time.Sleep(600 * time.Millisecond) // the access log appends its batch every 250 ms

	kick := s.request(&auditor, http.MethodGet, "/fhir/R4/$export", nil, "Prefer", "respond-async", "Accept", "application/fhir+json")
	if kick.Status != http.StatusAccepted {
		t.Fatalf("$export: %d %s", kick.Status, kick.Body)
	}
	status := strings.TrimPrefix(kick.Header.Get("Content-Location"), s.base)
	var manifest struct {
		Output []struct {
			Type, URL string
			Count     int
		} `json:"output"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := s.request(&auditor, http.MethodGet, status, nil)
		if st.Status == http.StatusOK {
			if err := json.Unmarshal(st.Body, &manifest); err != nil {
				t.Fatalf("export manifest %s: %v", st.Body, err)
			}
			break
		}
		if st.Status != http.StatusAccepted || st.Header.Get("X-Progress") == "" {
			t.Fatalf("export status: %d (X-Progress %q) %s", st.Status, st.Header.Get("X-Progress"), st.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the export did not finish within 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	total := 0
	for _, o := range manifest.Output {
		f := s.request(&auditor, http.MethodGet, strings.TrimPrefix(o.URL, s.base), nil)
		if f.Status != http.StatusOK || !strings.HasPrefix(f.Header.Get("Content-Type"), "application/fhir+ndjson") {
			t.Fatalf("export file %s: %d %s", o.URL, f.Status, f.Header.Get("Content-Type"))
		}
		if n := strings.Count(string(f.Body), "\n"); n != o.Count {
			t.Errorf("export file %s: %d lines, manifest says %d", o.Type, n, o.Count)
		}
		total += o.Count
		files = append(files, save(o.Type+".ndjson", f.Body))
	}
	required := append([]string{"Bundle", "CapabilityStatement", "OperationOutcome"}, fhirTypes...)
	cmd := exec.Command(node, append([]string{filepath.Join(dir, "validate.js"), "--require", strings.Join(required, ",")}, files...)...)
	cmd.Dir = dir
	rep, err := cmd.Output()
	var report struct {
		Checked int            `json:"checked"`
		Counts  map[string]int `json:"counts"`
		Missing []string       `json:"missing"`
		Errors  []any          `json:"errors"`
	}
	if jerr := json.Unmarshal(rep, &report); jerr != nil {
		t.Fatalf("validator output %q: %v (run error %v)", rep, jerr, err)
	}
	t.Logf("validated %d resources (%d exported): %v", report.Checked, total, report.Counts)
	if len(report.Missing) > 0 {
		t.Errorf("the demo produces no %v", report.Missing)
	}
	for _, e := range report.Errors {
		t.Errorf("validation error: %v", e)
	}
	if err != nil && len(report.Errors) == 0 && len(report.Missing) == 0 {
		t.Errorf("validate.js failed: %v", err)
	}
}

func mustJSONBytes(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
