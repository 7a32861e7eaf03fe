package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const ecgAttachment = `[{"name":"12导联心电图.xml","mediaType":"text/xml","sha256":"` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" +
	`","sizeBytes":48000,"link":"https://ecg.example.org/studies/7f3a"}]`

func ecgFindings(critical bool) string {
	flag := "normal"
	if critical {
		flag = "critical"
	}
	return `[{"item":"rhythm","value":"窦性心律"},{"item":"rate","value":"96","unit":"bpm"},{"item":"st_t","value":"II、III、aVF ST段抬高0.3mV","flag":"` + flag + `"}]`
}

// diagnosticFlow drives every diagnostic command route once (TestEveryRoute calls it):
// the lead runs an ECG centre in its own department, m1 sends studies. It returns the
// diagnostic reads with the token allowed to read each.
func diagnosticFlow(t *testing.T, f *fixture, w world, ok func(tok, path, body string) map[string]any) []struct{ tok, path string } {
	t.Helper()
	now := f.clock.Now()
	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	centre := ok(w.leadTok, "/v1/centres", fmt.Sprintf(`{"allianceId":%q,"kind":"ecg","name":"远程心电诊断中心","departmentId":"haem"}`, w.alliance))["id"].(string)
	ce := "/v1/centres/" + centre
	reader := func(name string) string {
		id := ok(w.leadTok, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":%q,"title":"主治医师","specialties":["心电诊断"]}`, w.lead, name))["id"].(string)
		ok(w.leadTok, ce+"/readers", `{"practitionerId":"`+id+`"}`)
		return id
	}
	r1, r2, r3 := reader("王建国"), reader("刘芳"), reader("陈晨")
	ok(w.leadTok, ce+"/readers/"+r3+"/remove", `{"reason":"调往超声中心"}`)
	shift := ok(w.leadTok, ce+"/shifts", fmt.Sprintf(`{"practitionerId":%q,"window":{"start":%q,"end":%q}}`, r1, ts(-time.Hour), ts(7*time.Hour)))["shiftId"].(string)
	submit := func(mrn string) string {
		return ok(w.m1Tok, "/v1/diagnostics", fmt.Sprintf(`{"centreId":%q,"modality":"12导联静息心电图","clinicalQuestion":"胸痛2小时","urgency":"emergency","medicalRecordNumber":%q,"attachments":%s}`,
			centre, mrn, ecgAttachment))["id"].(string)
	}
	a := "/v1/diagnostics/" + submit("ECG-001")
	ok(w.leadTok, a+"/report", `{"findings":`+ecgFindings(true)+`,"impression":"急性下壁ST段抬高型心肌梗死","critical":{"finding":"急性下壁STEMI"}}`)
	ok(w.m1Tok, a+"/critical/acknowledge", `{"note":"已电话确认"}`)
	ok(w.m1Tok, a+"/critical/referral", `{"clinicalSummary":"下壁STEMI,已嚼服阿司匹林300mg","toDepartmentId":"haem"}`)
	ok(w.leadTok, a+"/amend", `{"reason":"补充右室导联","findings":`+ecgFindings(true)+`,"impression":"急性下壁合并右室心肌梗死"}`)
	b := "/v1/diagnostics/" + submit("ECG-002")
	ok(w.leadTok, b+"/send-back", `{"reasonCode":"unreadable","reason":"基线漂移严重,无法判读"}`)
	ok(w.m1Tok, b+"/resubmit", `{"note":"重新描记","attachments":`+strings.Replace(ecgAttachment, "0123456789abcdef0123", "fedcba98765432100123", 1)+`}`)
	ok(w.leadTok, b+"/route", `{"readerId":"`+r2+`"}`)
	ok(w.m1Tok, b+"/cancel", `{"reason":"患者已转院"}`)
	ok(w.leadTok, ce+"/shifts/"+shift+"/cancel", `{"reason":"病假"}`)
	c := "/v1/diagnostics/" + submit("ECG-003")
	ok(w.leadTok, c+"/claim", `{"readerId":"`+r2+`"}`)
	return []struct{ tok, path string }{
		{w.m2Tok, "/v1/alliances/" + w.alliance + "/centres"}, {w.m2Tok, ce},
		{w.leadTok, ce + "/worklist"}, {w.leadTok, ce + "/readers/" + r2 + "/worklist"},
		{w.leadTok, ce + "/critical-values"}, {w.leadTok, ce + "/turnaround"},
		{w.m1Tok, "/v1/hospitals/" + w.m1 + "/diagnostics"}, {w.m1Tok, "/v1/hospitals/" + w.m1 + "/critical-values"},
		{w.m1Tok, a},
	}
}

// TestDiagnosticResultsRecognised: a centre run by a member the alliance designates
// (m1); m2 sends an ECG; the report is readable by m2, the centre and auditors, by the
// lead only once m2 referred the patient there, and never by a hospital outside the
// patient's referral chain. Plus the refusals of the routes.
func TestDiagnosticResultsRecognised(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	now := f.clock.Now()
	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	post := func(tok, path, body string) reply {
		t.Helper()
		return f.do(http.MethodPost, path, tok, body)
	}
	want := func(r reply, status int, code string) {
		t.Helper()
		if r.status != status || !strings.Contains(string(r.body), `"code":"`+code+`"`) {
			t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, code)
		}
	}
	mustOK := func(r reply) map[string]any {
		t.Helper()
		if r.status != 200 && r.status != 201 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		return r.json(t)
	}
	// Only a lead department opens a centre; the member designated runs it.
	want(post(w.m1Tok, "/v1/centres", fmt.Sprintf(`{"allianceId":%q,"kind":"ecg","name":"x","departmentId":"haem"}`, w.alliance)), http.StatusForbidden, "forbidden")
	want(post(w.leadTok, "/v1/centres", fmt.Sprintf(`{"allianceId":%q,"kind":"xray","name":"x","operatorHospitalId":%q,"departmentId":"haem"}`, w.alliance, w.m1)), http.StatusBadRequest, "invalid_input")
	centre := mustOK(post(w.leadTok, "/v1/centres", fmt.Sprintf(`{"allianceId":%q,"kind":"ecg","name":"区域心电中心","operatorHospitalId":%q,"departmentId":"haem"}`, w.alliance, w.m1)))["id"].(string)
	reader := mustOK(post(w.m1Tok, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"周医生","title":"主治医师","specialties":["心电诊断"]}`, w.m1)))["id"].(string)
	leadDoc := mustOK(post(w.leadTok, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"赵主任","title":"主任医师","specialties":["心电诊断"]}`, w.lead)))["id"].(string)
	want(post(w.m1Tok, "/v1/centres/"+centre+"/readers", `{"practitionerId":"`+leadDoc+`"}`), http.StatusForbidden, "forbidden")
	want(post(w.leadTok, "/v1/centres/"+centre+"/readers", `{"practitionerId":"`+reader+`"}`), http.StatusForbidden, "forbidden")
	mustOK(post(w.m1Tok, "/v1/centres/"+centre+"/readers", `{"practitionerId":"`+reader+`"}`))
	mustOK(post(w.m1Tok, "/v1/centres/"+centre+"/shifts", fmt.Sprintf(`{"practitionerId":%q,"window":{"start":%q,"end":%q}}`, reader, ts(-time.Hour), ts(8*time.Hour))))

	// Never pixel data, never a record number in clear, never a link with a query.
	body := func(extra string) string {
		return fmt.Sprintf(`{"centreId":%q,"modality":"12导联","clinicalQuestion":"胸痛","urgency":"emergency","medicalRecordNumber":"SJ-77","attachments":%s%s}`, centre, ecgAttachment, extra)
	}
	want(post(w.m2Tok, "/v1/diagnostics", body(`,"pixelData":"AAAA"`)), http.StatusBadRequest, "invalid_input")
	want(post(w.m2Tok, "/v1/diagnostics", strings.Replace(body(""), "studies/7f3a", "studies/7f3a?patient=张三", 1)), http.StatusBadRequest, "invalid_input")
	sub := post(w.m2Tok, "/v1/diagnostics", body(""))
	study := "/v1/diagnostics/" + mustOK(sub)["id"].(string)
	// The member cannot report its own study; the centre reports it.
	want(post(w.m2Tok, study+"/report", `{"findings":`+ecgFindings(false)+`,"impression":"正常心电图"}`), http.StatusForbidden, "forbidden")
	want(post(w.m1Tok, study+"/report", `{"findings":[{"item":"rhythm","value":"窦性"}],"impression":"x"}`), http.StatusBadRequest, "invalid_input")
	want(post(w.m1Tok, study+"/report", `{"findings":`+ecgFindings(true)+`,"impression":"急性前壁心梗"}`), http.StatusBadRequest, "invalid_input")
	rep := post(w.m1Tok, study+"/report", `{"findings":`+ecgFindings(true)+`,"impression":"急性前壁ST段抬高型心肌梗死","critical":{"finding":"急性前壁STEMI"}}`)
	mustOK(rep)
	want(post(w.m1Tok, study+"/critical/acknowledge", `{}`), http.StatusForbidden, "forbidden")

	at := "?minPosition=" + posOf(t, rep)
	got := mustOK(f.do(http.MethodGet, study+at, w.m2Tok, ""))
	if strings.Contains(fmt.Sprint(got), "SJ-77") || got["status"] != "reported" {
		t.Fatalf("the requesting hospital's read: %v", got)
	}
	mustOK(f.do(http.MethodGet, study+at, w.m1Tok, ""))
	mustOK(f.do(http.MethodGet, study+at, w.auditor, ""))
	// The lead is not in the patient's referral chain yet.
	want(f.do(http.MethodGet, study+at, w.leadTok, ""), http.StatusForbidden, "forbidden")
	ref := post(w.m2Tok, study+"/critical/referral", `{"clinicalSummary":"前壁STEMI,双抗已给"}`)
	refID := mustOK(ref)["referralId"].(string)
	at = "?minPosition=" + posOf(t, ref)
	if r := mustOK(f.do(http.MethodGet, "/v1/referrals/"+refID+at, w.leadTok, "")); r["urgency"] != "emergency" {
		t.Fatalf("the critical value's referral: %v", r)
	}
	mustOK(f.do(http.MethodGet, study+at, w.leadTok, ""))
	// A hospital outside the patient's referral chain is refused, without naming anyone.
	outsider := f.mustCreate("/v1/hospitals", w.admin, `{"name":"外县医院","regionCode":"320101","level":"secondary","departments":[{"id":"gp","name":"全科"}]}`)
	r := f.do(http.MethodGet, study+at, f.token("dr-x", outsider, "gp", "member"), "")
	want(r, http.StatusForbidden, "forbidden")
	if strings.Contains(string(r.body), w.m2) || strings.Contains(string(r.body), w.m1) {
		t.Fatalf("the 403 names a hospital: %s", r.body)
	}
	// Lists are the hospital's own, worklists the centre's.
	want(f.do(http.MethodGet, "/v1/hospitals/"+w.m2+"/diagnostics", w.m1Tok, ""), http.StatusForbidden, "forbidden")
	want(f.do(http.MethodGet, "/v1/hospitals/"+w.m2+"/critical-values", w.leadTok, ""), http.StatusForbidden, "forbidden")
	want(f.do(http.MethodGet, "/v1/centres/"+centre+"/worklist", w.m2Tok, ""), http.StatusForbidden, "forbidden")
	want(f.do(http.MethodGet, "/v1/centres/"+centre+"/worklist?limit=0", w.m1Tok, ""), http.StatusBadRequest, "invalid_input")
	inbox := mustOK(f.do(http.MethodGet, "/v1/hospitals/"+w.m2+"/critical-values"+at, w.m2Tok, ""))
	if inbox["pending"].(float64) != 1 {
		t.Fatalf("inbox: %v", inbox)
	}
	mustOK(post(w.m2Tok, study+"/critical/acknowledge", `{"note":"已处理"}`))
	want(post(w.m2Tok, study+"/critical/acknowledge", `{}`), http.StatusConflict, "forbidden_transition")
}
