package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// talentFlow drives every mentorship and placement route once with w's lead and member
// m1 (TestEveryRoute calls it) and returns the talent reads to check, each with the
// token allowed to read it and without the minPosition query.
func talentFlow(t *testing.T, f *fixture, w world, ok func(tok, path, body string) map[string]any) []struct{ tok, path string } {
	t.Helper()
	now := f.clock.Now()
	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	mentor := ok(w.leadTok, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"周主任","title":"主任医师","specialties":["淋巴瘤"]}`, w.lead))["id"].(string)
	apprentice := ok(w.m1Tok, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"陈医生","title":"主治医师","specialties":["血液内科"]}`, w.m1))["id"].(string)
	start := func() string {
		return ok(w.leadTok, "/v1/mentorships", fmt.Sprintf(`{"allianceId":%q,"programme":"一对一师带徒","mentorId":%q,"apprenticeId":%q,"startedAt":%q}`,
			w.alliance, mentor, apprentice, ts(-30*24*time.Hour)))["id"].(string)
	}
	m := "/v1/mentorships/" + start()
	ok(w.m1Tok, m+"/sessions", fmt.Sprintf(`{"kind":"teaching_round","sessionAt":%q,"durationMinutes":90,"patients":8}`, ts(-20*24*time.Hour)))
	ok(w.leadTok, m+"/sessions", `{"kind":"supervised_procedure","durationMinutes":60,"patients":1,"procedures":1}`)
	ok(w.leadTok, m+"/assessments", `{"outcome":"pass","comment":"能独立完成骨髓穿刺"}`)
	ok(w.leadTok, m+"/complete", `{}`)
	ok(w.m1Tok, "/v1/mentorships/"+start()+"/withdraw", `{"reason":"调往急诊科"}`)

	p := "/v1/placements/" + ok(w.leadTok, "/v1/placements", fmt.Sprintf(`{"allianceId":%q,"kind":"study","programme":"社区医生进修","cohort":"第一批","practitionerId":%q,"hostDepartmentId":"haem","period":{"start":%q,"end":%q}}`,
		w.alliance, apprentice, ts(-60*24*time.Hour), ts(-time.Hour)))["id"].(string)
	ok(w.m1Tok, p+"/arrive", fmt.Sprintf(`{"at":%q}`, ts(-60*24*time.Hour)))
	ok(w.leadTok, p+"/complete", fmt.Sprintf(`{"at":%q}`, ts(-2*time.Hour)))
	ok(w.leadTok, p+"/evaluate", `{"outcome":"excellent","comment":"全科思维显著提升"}`)
	posting := ok(w.leadTok, "/v1/placements", fmt.Sprintf(`{"allianceId":%q,"kind":"posting","programme":"派一送一","practitionerId":%q,"hostHospitalId":%q,"hostDepartmentId":"haem","period":{"start":%q,"end":%q}}`,
		w.alliance, mentor, w.m1, ts(7*24*time.Hour), ts(97*24*time.Hour)))["id"].(string)
	ok(w.m1Tok, "/v1/placements/"+posting+"/cancel", `{"reason":"科室人手不足"}`)
	return []struct{ tok, path string }{
		{w.m1Tok, m}, {w.leadTok, "/v1/alliances/" + w.alliance + "/mentorships"}, {w.m1Tok, "/v1/hospitals/" + w.m1 + "/mentorships"},
		{w.m1Tok, "/v1/practitioners/" + apprentice + "/mentorships"},
		{w.leadTok, p}, {w.auditor, "/v1/alliances/" + w.alliance + "/placements"}, {w.leadTok, "/v1/hospitals/" + w.lead + "/placements"},
		{w.m1Tok, "/v1/practitioners/" + mentor + "/placements"},
	}
}

// TestTalentRefusals: the refusals of the talent routes, over HTTP, each with its
// stable code, and the read rules.
func TestTalentRefusals(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	want := func(r reply, status int, code string) {
		t.Helper()
		if r.status != status || !strings.Contains(string(r.body), `"code":"`+code+`"`) {
			t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, code)
		}
	}
	create := func(tok, path, body string) string {
		t.Helper()
		r := f.do(http.MethodPost, path, tok, body)
		if r.status != 201 {
			t.Fatalf("POST %s: %d %s", path, r.status, r.body)
		}
		return r.json(t)["id"].(string)
	}
	mentor := create(w.leadTok, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"周主任","title":"主任医师","specialties":["淋巴瘤"]}`, w.lead))
	apprentice := create(w.m1Tok, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"陈医生","title":"主治医师","specialties":["血液内科"]}`, w.m1))
	body := func(mentorID, apprenticeID string) string {
		return fmt.Sprintf(`{"allianceId":%q,"programme":"师带徒","mentorId":%q,"apprenticeId":%q}`, w.alliance, mentorID, apprenticeID)
	}
	post := func(tok, path, body string) reply { return f.do(http.MethodPost, path, tok, body) }
	want(post(w.leadTok, "/v1/mentorships", body(apprentice, apprentice)), 403, "forbidden") // mentor not at the lead
	want(post(w.leadTok, "/v1/mentorships", body(mentor, mentor)), 422, "not_member")        // apprentice at the lead
	want(post(w.m1Tok, "/v1/mentorships", body(mentor, apprentice)), 403, "forbidden")       // a member cannot open one
	want(post(w.leadTok, "/v1/mentorships", `{"allianceId":"x"}`), 400, "invalid_input")     // malformed
	m := "/v1/mentorships/" + create(w.leadTok, "/v1/mentorships", body(mentor, apprentice))
	want(post(w.m2Tok, m+"/sessions", `{"kind":"teaching_round","durationMinutes":60}`), 403, "forbidden")
	want(post(w.m1Tok, m+"/sessions", `{"kind":"teaching_round","durationMinutes":-5}`), 400, "invalid_input")
	want(post(w.m1Tok, m+"/complete", `{}`), 403, "forbidden")
	want(post(w.leadTok, m+"/complete", `{}`), 409, "forbidden_transition") // no session, no assessment
	r := post(w.m1Tok, m+"/sessions", `{"kind":"joint_consult","durationMinutes":60,"patients":5}`)
	if r.status != 200 {
		t.Fatalf("session: %d %s", r.status, r.body)
	}
	post(w.leadTok, m+"/assessments", `{"outcome":"excellent","comment":"好"}`)
	r = post(w.leadTok, m+"/complete", `{}`)
	if r.status != 200 {
		t.Fatalf("complete: %d %s", r.status, r.body)
	}
	at := "?minPosition=" + posOf(t, r)
	want(post(w.m1Tok, m+"/sessions", `{"kind":"joint_consult","durationMinutes":60}`), 409, "forbidden_transition") // after completion
	want(f.do(http.MethodGet, m+at, w.m2Tok, ""), 403, "forbidden")                                                  // another member reads
	want(f.do(http.MethodGet, "/v1/alliances/"+w.alliance+"/mentorships"+at, w.m1Tok, ""), 403, "forbidden")         // a member reads the alliance's list
	want(f.do(http.MethodGet, "/v1/hospitals/"+w.m1+"/mentorships"+at, w.m2Tok, ""), 403, "forbidden")
	if r := f.do(http.MethodGet, m+at, w.auditor, ""); r.status != 200 || !strings.Contains(string(r.body), `"status":"completed"`) {
		t.Fatalf("auditor read: %d %s", r.status, r.body)
	}
	if r := f.do(http.MethodGet, "/v1/practitioners/"+apprentice+"/mentorships"+at, w.m2Tok, ""); r.status != 200 || strings.Contains(string(r.body), apprentice) {
		t.Fatalf("another member sees a practitioner's mentorships: %d %s", r.status, r.body)
	}
	want(post(w.leadTok, "/v1/placements", fmt.Sprintf(`{"allianceId":%q,"kind":"study","programme":"进修","practitionerId":%q,"hostDepartmentId":"haem","period":{"start":"2026-12-01T00:00:00Z","end":"2028-12-01T00:00:00Z"}}`,
		w.alliance, apprentice)), 400, "invalid_input") // a period over a year
	want(post(w.leadTok, "/v1/placements", fmt.Sprintf(`{"allianceId":%q,"kind":"posting","programme":"派一送一","practitionerId":%q,"hostHospitalId":%q,"hostDepartmentId":"haem","period":{"start":"2026-12-01T00:00:00Z","end":"2027-03-01T00:00:00Z"}}`,
		w.alliance, apprentice, w.m1)), 403, "forbidden") // a member's doctor is not posted by the lead
}
