package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// referralFlow drives every referral command route once with w's lead and member m1
// (TestEveryRoute calls it) and returns the referral reads to check, each with the
// token allowed to read it and without the minPosition query.
func referralFlow(t *testing.T, f *fixture, w world, ok func(tok, path, body string) map[string]any) []struct{ tok, path string } {
	t.Helper()
	now := f.clock.Now()
	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	ok(w.leadTok, "/v1/reserved-slots", fmt.Sprintf(`{"allianceId":%q,"slots":[{"kind":"bed","window":{"start":%q,"end":%q}}]}`,
		w.alliance, ts(2*time.Hour), ts(26*time.Hour)))
	up := func(mrn string) string {
		return ok(w.m1Tok, "/v1/referrals", fmt.Sprintf(`{"allianceId":%q,"direction":"up","urgency":"emergency","reason":"主动脉夹层","clinicalSummary":"CTA: Stanford A","medicalRecordNumber":%q}`,
			w.alliance, mrn))["id"].(string)
	}
	r1 := up("PN-0042")
	ref := "/v1/referrals/" + r1
	ok(w.leadTok, ref+"/accept", fmt.Sprintf(`{"expectedArrival":%q,"reserve":true}`, ts(30*time.Minute)))
	ok(w.leadTok, ref+"/arrive", ``)
	ok(w.leadTok, ref+"/admit", ``)
	done := ok(w.leadTok, ref+"/complete", `{"summary":"术后平稳","returnDown":{"urgency":"routine","reason":"康复","clinicalSummary":"术后第 10 天"}}`)
	back := "/v1/referrals/" + done["referralId"].(string)
	ok(w.m1Tok, back+"/accept", fmt.Sprintf(`{"expectedArrival":%q}`, ts(0)))
	f.clock.Advance(time.Minute)
	ok(w.m1Tok, back+"/no-show", `{"note":"family took the patient home"}`)
	ok(w.m1Tok, "/v1/referrals/"+up("PN-0043")+"/cancel", `{"reason":"treated locally"}`)

	k := ok(w.m1Tok, "/v1/consults", fmt.Sprintf(`{"allianceId":%q,"specialty":"haematology","urgency":"emergency","question":"ECG?","consentRef":"c-1","medicalRecordNumber":"PN-0044"}`, w.alliance))["id"].(string)
	ok(w.leadTok, "/v1/consults/"+k+"/accept", `{}`)
	ok(w.leadTok, "/v1/consults/"+k+"/opinion", `{"text":"上转","adviseEscalation":true}`)
	r3 := ok(w.m1Tok, "/v1/consults/"+k+"/referral", `{"clinicalSummary":"急性下壁心梗"}`)
	ok(w.leadTok, "/v1/referrals/"+r3["id"].(string)+"/decline", `{"reason":"导管室检修","alternative":"转胸科医院"}`)

	at := "?minPosition=" + strconv.FormatFloat(r3["position"].(float64), 'f', 0, 64)
	r := f.do(http.MethodGet, ref+at, w.m1Tok, "")
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", ref, r.status, r.body)
	}
	patient := r.json(t)["patientRef"].(string)
	if strings.Contains(string(r.body), "PN-0042") {
		t.Fatal("the medical record number reached the view")
	}
	return []struct{ tok, path string }{
		{w.leadTok, "/v1/hospitals/" + w.lead + "/referral-desk"}, {w.m1Tok, "/v1/hospitals/" + w.m1 + "/referrals"},
		{w.leadTok, ref}, {w.m1Tok, "/v1/patients/" + patient + "/referrals"},
	}
}

// TestReferralRefusals: the refusals of the referral routes, over HTTP.
func TestReferralRefusals(t *testing.T) {
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
	if r := post(w.leadTok, "/v1/reserved-slots", fmt.Sprintf(`{"allianceId":%q,"slots":[{"kind":"outpatient","window":{"start":%q,"end":%q}}]}`,
		w.alliance, ts(time.Hour), ts(90*time.Minute))); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	up := func(tok, mrn string) reply {
		return post(tok, "/v1/referrals", fmt.Sprintf(`{"allianceId":%q,"direction":"up","urgency":"urgent","reason":"r","clinicalSummary":"s","medicalRecordNumber":%q}`, w.alliance, mrn))
	}
	a, b := up(w.m1Tok, "A-1"), up(w.m1Tok, "A-2")
	if a.status != 201 || b.status != 201 {
		t.Fatalf("requests: %d %d", a.status, b.status)
	}
	accept := fmt.Sprintf(`{"expectedArrival":%q,"reserve":true}`, ts(time.Hour))
	if r := post(w.leadTok, "/v1/referrals/"+a.json(t)["id"].(string)+"/accept", accept); r.status != 200 {
		t.Fatalf("first accept: %d %s", r.status, r.body)
	}
	// The one slot is taken: the second acceptance is told none is left.
	want(post(w.leadTok, "/v1/referrals/"+b.json(t)["id"].(string)+"/accept", accept), http.StatusConflict, "no_capacity")
	// The member may not accept a referral it sent.
	want(post(w.m1Tok, "/v1/referrals/"+b.json(t)["id"].(string)+"/accept", fmt.Sprintf(`{"expectedArrival":%q}`, ts(time.Hour))), http.StatusForbidden, "forbidden")
	// A referral down to a hospital outside the alliance.
	outsider := f.mustCreate("/v1/hospitals", w.admin, `{"name":"外院","regionCode":"310101","level":"secondary"}`)
	want(post(w.leadTok, "/v1/referrals", fmt.Sprintf(`{"allianceId":%q,"direction":"down","toHospitalId":%q,"urgency":"routine","reason":"康复","clinicalSummary":"s","medicalRecordNumber":"A-3"}`,
		w.alliance, outsider)), http.StatusUnprocessableEntity, "not_member")
	// A suspended member cannot send.
	if r := post(w.leadTok, "/v1/alliances/"+w.alliance+"/members/"+w.m2+"/suspend", `{"reason":"整改"}`); r.status != 200 {
		t.Fatalf("suspend: %d %s", r.status, r.body)
	}
	want(up(w.m2Tok, "B-1"), http.StatusUnprocessableEntity, "not_member")
	// A hospital that never held the patient reads no history, and sees no referral.
	r := f.do(http.MethodGet, "/v1/referrals/"+a.json(t)["id"].(string)+"?minPosition="+posOf(t, a), w.m1Tok, "")
	if r.status != 200 {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	patient := r.json(t)["patientRef"].(string)
	want(f.do(http.MethodGet, "/v1/patients/"+patient+"/referrals", w.m2Tok, ""), http.StatusNotFound, "not_found")
	want(f.do(http.MethodGet, "/v1/referrals/"+a.json(t)["id"].(string), w.m2Tok, ""), http.StatusForbidden, "forbidden")
	want(f.do(http.MethodGet, "/v1/hospitals/"+w.lead+"/referral-desk", w.m1Tok, ""), http.StatusForbidden, "forbidden")
	if r := f.do(http.MethodGet, "/v1/patients/"+patient+"/referrals", w.auditor, ""); r.status != 200 {
		t.Fatalf("auditor history: %d %s", r.status, r.body)
	}
}

// TestEscalationOpensReferral: escalating a plan with a referral opens an upward
// referral linked to the plan; a referral that would be refused refuses the escalation
// before anything is stored.
func TestEscalationOpensReferral(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	_, plan := f.protocolAndPlan(w)
	n := f.count()
	if r := f.do(http.MethodPost, "/v1/plans/"+plan+"/escalate", w.m1Tok, `{"reason":"高热","urgent":true,"referral":{"clinicalSummary":""}}`); r.status != 400 {
		t.Fatalf("escalation with an empty referral summary: %d %s", r.status, r.body)
	}
	if f.count() != n {
		t.Fatal("a refused escalation stored events")
	}
	r := f.do(http.MethodPost, "/v1/plans/"+plan+"/escalate", w.m1Tok, `{"reason":"高热","urgent":true,"referral":{"clinicalSummary":"粒缺伴发热"}}`)
	if r.status != 200 {
		t.Fatalf("escalate: %d %s", r.status, r.body)
	}
	id, _ := r.json(t)["referralId"].(string)
	if id == "" {
		t.Fatalf("no referralId in %s", r.body)
	}
	g := f.do(http.MethodGet, "/v1/referrals/"+id+"?minPosition="+posOf(t, r), w.leadTok, "")
	body := g.json(t)
	links, _ := body["links"].(map[string]any)
	if g.status != 200 || links["planId"] != plan || body["urgency"] != "emergency" || body["direction"] != "up" {
		t.Fatalf("escalation referral: %d %s", g.status, g.body)
	}
}
