package httpapi_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEveryRoute drives one realistic flow through every command route, then reads
// every query, and checks, from the server's own request metrics, that each route
// answered 2xx at least once: a route whose binding or wiring is broken cannot hide.
func TestEveryRoute(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	var last string // position of the last command, for read-your-writes
	ok := func(tok, path, body string) map[string]any {
		t.Helper()
		r := f.do(http.MethodPost, path, tok, body)
		if r.status != 200 && r.status != 201 {
			t.Fatalf("POST %s: got %d %s", path, r.status, r.body)
		}
		last = posOf(t, r)
		return r.json(t)
	}
	al := "/v1/alliances/" + w.alliance
	ok(w.admin, "/v1/hospitals/"+w.m2+"/departments", `{"id":"haem","name":"血液科"}`)
	ok(w.leadTok, al+"/members/"+w.m2+"/suspend", `{"reason":"quality review"}`)
	ok(w.leadTok, al+"/members/"+w.m2+"/reinstate", `{"reason":"review passed"}`)
	ok(w.admin, "/v1/hospitals/"+w.lead+"/departments", `{"id":"gi-surgery","name":"胃肠外科"}`)
	ok(w.leadTok, al+"/lead-departments", `{"departmentId":"gi-surgery"}`)

	proto := ok(w.leadTok, al+"/protocols", `{"title":"R-CHOP","indication":"DLBCL"}`)["id"].(string)
	pr := "/v1/protocols/" + proto
	three := `[{"stepId":"rituximab","dayOffset":0,"activity":"静脉输注","drug":"rituximab","dose":"375 mg/m2","route":"iv"},` +
		`{"stepId":"chop","dayOffset":1,"activity":"化疗","drug":"cyclophosphamide","dose":"750 mg/m2","route":"iv"},` +
		`{"stepId":"pred","dayOffset":1,"activity":"口服","drug":"prednisone","dose":"100 mg","route":"oral"}]`
	ok(w.leadTok, pr+"/versions", `{"steps":`+rchopSteps+`,"eligibility":"CD20+"}`)
	ok(w.leadTok, pr+"/versions", `{"steps":`+three+`,"eligibility":"CD20+","changeNote":"prednisone added"}`)
	ok(w.m1Tok, pr+"/adoptions", `{"version":1}`)
	ok(w.m1Tok, pr+"/adoptions/"+w.m1+"/upgrade", `{"version":2}`)
	ok(w.m1Tok, pr+"/adoptions/"+w.m1+"/deviations", `{"stepId":"chop","kind":"dose_adjusted","description":"local dose","substitute":"600 mg/m2"}`)
	ok(w.m1Tok, pr+"/adoptions/"+w.m1+"/deviations/revoke", `{"stepId":"chop","kind":"dose_adjusted","reason":"formulary updated"}`)
	m2Tok := f.token("dr-m2b", w.m2, "haem", "member")
	ok(m2Tok, pr+"/adoptions", `{"version":2}`)
	ok(m2Tok, pr+"/adoptions/"+w.m2+"/withdraw", `{"reason":"no haematology ward"}`)

	planBody := fmt.Sprintf(`{"allianceId":%q,"protocolId":%q,"version":2,"patientRef":"pr_%s","startDate":"2026-11-24T00:00:00Z"}`, w.alliance, proto, strings.Repeat("q", 32))
	plan := ok(w.leadTok, "/v1/plans", planBody)["id"].(string)
	pl := "/v1/plans/" + plan
	ok(w.leadTok, pl+"/handover", fmt.Sprintf(`{"toHospitalId":%q}`, w.m1))
	ok(w.m1Tok, pl+"/steps/rituximab/complete", `{"administeredDose":"600 mg"}`)
	ok(w.m1Tok, pl+"/steps/chop/skip", `{"reason":"neutropenia"}`)
	ok(w.leadTok, pl+"/revisions", `{"reason":"stop prednisone","changes":[{"action":"cancel","stepId":"pred"}]}`)
	dev := ok(w.m1Tok, pl+"/deviations", `{"stepId":"chop","description":"skipped for ANC 0.8","severity":"major"}`)["deviationId"].(string)
	ok(w.leadTok, pl+"/deviations/"+dev+"/acknowledge", `{"note":"agreed"}`)
	ok(w.m1Tok, pl+"/escalate", `{"reason":"febrile neutropenia","urgent":true}`)
	ok(w.leadTok, pl+"/complete", ``)
	other := ok(w.leadTok, "/v1/plans", strings.Replace(planBody, strings.Repeat("q", 32), strings.Repeat("r", 32), 1))["id"].(string)
	ok(w.leadTok, "/v1/plans/"+other+"/discontinue", `{"reason":"transferred out of the alliance"}`)
	ok(w.leadTok, pr+"/versions/1/withdraw", `{"reason":"superseded after a dosing error"}`)
	ok(w.leadTok, pr+"/retire", `{"reason":"replaced by R-CHOP-21"}`)

	window := `{"start":"2026-11-23T09:00:00Z","end":"2026-11-23T17:00:00Z"}`
	disp := ok(w.m1Tok, "/v1/dispatches", fmt.Sprintf(`{"allianceId":%q,"kind":"clinic","specialty":"haematology","window":%s}`, w.alliance, window))["id"].(string)
	d := "/v1/dispatches/" + disp
	exp1 := ok(w.leadTok, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"王主任","title":"主任医师","specialties":["淋巴瘤"]}`, w.lead))["id"].(string)
	exp2 := ok(w.admin, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"李主任","title":"副主任医师","specialties":["白血病"]}`, w.lead))["id"].(string)
	ok(w.leadTok, "/v1/practitioners/"+exp2+"/profile", `{"name":"李主任","title":"主任医师","specialties":["白血病","淋巴瘤"]}`)
	ok(w.leadTok, d+"/assign", `{"expertId":"`+exp1+`","expertName":"王主任"}`)
	ok(w.leadTok, d+"/reassign", `{"expertId":"`+exp2+`","reason":"王主任 on call"}`)
	ok(w.leadTok, "/v1/practitioners/"+exp1+"/deactivate", `{"reason":"retired"}`)
	ok(w.leadTok, "/v1/practitioners/"+exp1+"/reactivate", `{"reason":"re-employed part time"}`)
	f.clock.Advance(90 * time.Minute)
	ok(w.m1Tok, d+"/check-in", ``)
	ok(w.leadTok, d+"/report", `{"patientsSeen":31,"proceduresGuided":2,"teachingSessions":1,"summary":"lymphoma clinic"}`)
	ok(w.m1Tok, d+"/complete", ``)
	disp2 := ok(w.m1Tok, "/v1/dispatches", fmt.Sprintf(`{"allianceId":%q,"kind":"teaching","specialty":"haematology","window":{"start":"2026-11-30T09:00:00Z","end":"2026-11-30T12:00:00Z"}}`, w.alliance))["id"].(string)
	ok(w.m1Tok, "/v1/dispatches/"+disp2+"/cancel", `{"reason":"holiday"}`)

	consult := func() string {
		return ok(w.m1Tok, "/v1/consults", fmt.Sprintf(`{"allianceId":%q,"specialty":"haematology","urgency":"urgent","question":"CD20+ DLBCL, LDH high: R-CHOP or R-CHOP-14?","consentRef":"consent-2026-0117","medicalRecordNumber":"ZY-0099"}`, w.alliance))["id"].(string)
	}
	c1 := "/v1/consults/" + consult()
	ok(w.leadTok, c1+"/accept", `{"specialistName":"赵主任"}`)
	ok(w.leadTok, c1+"/opinion", `{"text":"R-CHOP-21 x6","recommendations":["PET-CT after cycle 4"]}`)
	ok(w.leadTok, c1+"/opinion/amend", `{"text":"R-CHOP-21 x6, G-CSF support","reason":"add growth factor"}`)
	ok(w.m1Tok, c1+"/close", `{"outcome":"treated locally"}`)
	ok(w.leadTok, "/v1/consults/"+consult()+"/decline", `{"reason":"outside the alliance's specialty"}`)
	ok(w.m1Tok, "/v1/consults/"+consult()+"/cancel", `{"reason":"patient transferred"}`)
	refReads := referralFlow(t, f, w, ok)
	refReads = append(refReads, talentFlow(t, f, w, ok)...)
	refReads = append(refReads, diagnosticFlow(t, f, w, ok)...)
	fhirFlow(t, f, w)
	ok(w.leadTok, al+"/members/"+w.m2+"/withdraw", `{"reason":"merged into another group"}`)

	// Every query, as the party allowed to read it, after the last write.
	at := "?minPosition=" + last
	reads := []struct{ tok, path string }{
		{"", "/healthz"}, {"", "/readyz"}, {"", "/openapi.json"},
		{w.m2Tok, "/v1/hospitals" + at}, {w.m2Tok, "/v1/hospitals/" + w.m1 + at},
		{w.m1Tok, "/v1/hospitals/" + w.m1 + "/plans" + at}, {w.m1Tok, "/v1/hospitals/" + w.m1 + "/dispatches" + at},
		{w.m1Tok, "/v1/hospitals/" + w.m1 + "/consults" + at},
		{w.m1Tok, al + at}, {w.m1Tok, al + "/members" + at}, {w.m1Tok, al + "/protocols" + at},
		{w.leadTok, al + "/adoption-matrix" + at}, {w.leadTok, al + "/consults?status=all&minPosition=" + last},
		{w.leadTok, pl + at}, {w.m1Tok, d + at}, {w.m1Tok, c1 + at},
		{w.leadTok, "/v1/experts/" + exp2 + "/calendar" + at}, {w.m2Tok, "/v1/practitioners/" + exp2 + at},
		{w.m2Tok, "/v1/hospitals/" + w.lead + "/practitioners" + at}, {w.leadTok, pr + "/versions/2/plans" + at},
		{w.auditor, "/v1/audit/events?from=0&limit=10"}, {w.auditor, "/v1/audit/streams/plan-" + plan},
		{w.auditor, "/v1/audit/plans/" + plan}, {w.auditor, "/v1/audit/verify"}, {w.auditor, "/v1/audit/access?date=2026-11-23"},
		{w.leadTok, "/v1/hospitals/" + w.lead + "/departments/haem/reserved-slots" + at},
	}
	reads = append(reads, struct{ tok, path string }{w.leadTok, al + "/report?period=2026-Q4&minPosition=" + last},
		struct{ tok, path string }{w.m1Tok, al + "/report.csv" + at}, struct{ tok, path string }{w.auditor, al + "/report.html?asOf=2026-11-30&minPosition=" + last})
	for _, rd := range refReads {
		reads = append(reads, struct{ tok, path string }{rd.tok, rd.path + at})
	}
	for _, rd := range reads {
		if r := f.do(http.MethodGet, rd.path, rd.tok, ""); r.status != 200 {
			t.Errorf("GET %s: got %d %s", rd.path, r.status, r.body)
		}
	}

	f.tiers() // three tiers: a plan handed on by a middle tier

	// Every route answered 2xx at least once (the SSE stream has its own tests, and
	// /metrics is this very read).
	metrics := string(f.do("GET", "/metrics", "", "").body)
	served := map[string]bool{"GET /v1/plans/:id/stream": true, "GET /metrics": true}
	for _, m := range regexp.MustCompile(`allianced_http_requests_total\{method="(GET|POST)",route="([^"]+)",status="2\d\d"\}`).FindAllStringSubmatch(metrics, -1) {
		served[m[1]+" "+m[2]] = true
	}
	for _, rt := range f.srv.Echo().Routes() {
		if (rt.Method == http.MethodPost || rt.Method == http.MethodGet) && !served[rt.Method+" "+rt.Path] {
			t.Errorf("%s %s never answered 2xx in the flow", rt.Method, rt.Path)
		}
	}
}
