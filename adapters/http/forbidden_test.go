package httpapi_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	httpapi "github.com/medalliance/allianced/adapters/http"
)

// ulidPattern matches an id (a ULID) anywhere in a response.
var ulidPattern = regexp.MustCompile(`[0-9A-HJKMNP-TV-Z]{26}`)

// TestForbiddenRevealsNothing: a 403 tells a caller what it may not do, never whose the
// resource is: no hospital, department, alliance, plan or other id of another tenant
// appears in its message or details (they used to name the lead hospital and
// department).
func TestForbiddenRevealsNothing(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	proto, plan := f.protocolAndPlan(w)
	r := f.do("POST", "/v1/hospitals", w.admin, `{"name":"外省某医院","regionCode":"510104","level":"tertiary","departments":[{"id":"onco","name":"肿瘤科"}]}`)
	if r.status != 201 {
		t.Fatalf("register outsider: %d %s", r.status, r.body)
	}
	outsiderID, _ := r.json(t)["id"].(string)
	outsider := f.token("dr-out", outsiderID, "onco", httpapi.RoleLead)
	disp := f.mustCreate("/v1/dispatches", w.m1Tok, fmt.Sprintf(`{"allianceId":%q,"kind":"clinic","specialty":"haematology","window":{"start":"2026-12-01T09:00:00Z","end":"2026-12-01T17:00:00Z"}}`, w.alliance))
	r = f.do("POST", "/v1/consults", w.m1Tok, fmt.Sprintf(`{"allianceId":%q,"specialty":"haematology","urgency":"urgent","question":"R-CHOP or R-CHOP-14?","consentRef":"consent-1","patientRef":"pr_%s"}`, w.alliance, strings.Repeat("q", 32)))
	if r.status != 201 {
		t.Fatalf("request consult: %d %s", r.status, r.body)
	}
	consult, _ := r.json(t)["id"].(string)
	at := "?minPosition=" + posOf(t, r) // the reads see everything written so far

	tests := []struct {
		name, method, path, token, body string
	}{
		{"initiate a plan", "POST", "/v1/plans", outsider, fmt.Sprintf(`{"allianceId":%q,"protocolId":%q,"version":1,"patientRef":"pr_%s","startDate":"2026-11-24T00:00:00Z"}`, w.alliance, proto, strings.Repeat("r", 32))},
		{"revise a plan", "POST", "/v1/plans/" + plan + "/revisions", outsider, `{"reason":"r","changes":[{"action":"cancel","stepId":"chop"}]}`},
		{"record another hospital's step", "POST", "/v1/plans/" + plan + "/steps/rituximab/complete", w.m2Tok, `{"administeredDose":"600 mg"}`},
		{"report on another hospital's plan", "POST", "/v1/plans/" + plan + "/deviations", w.m2Tok, `{"description":"d","severity":"minor"}`},
		{"assign an expert", "POST", "/v1/dispatches/" + disp + "/assign", outsider, `{"expertId":"01J0000000000000000000EXP1","expertName":"王主任"}`},
		{"cancel another's dispatch", "POST", "/v1/dispatches/" + disp + "/cancel", w.m2Tok, `{"reason":"r"}`},
		{"accept a consult", "POST", "/v1/consults/" + consult + "/accept", outsider, `{}`},
		{"cancel another's consult", "POST", "/v1/consults/" + consult + "/cancel", w.m2Tok, `{"reason":"r"}`},
		{"publish a version", "POST", "/v1/protocols/" + proto + "/versions", outsider, `{"steps":` + rchopSteps + `,"eligibility":"CD20+"}`},
		{"admit a member", "POST", "/v1/alliances/" + w.alliance + "/members", outsider, fmt.Sprintf(`{"hospitalId":%q,"tier":"member"}`, outsiderID)},
		{"withdraw another member", "POST", "/v1/alliances/" + w.alliance + "/members/" + w.m1 + "/withdraw", w.m2Tok, `{"reason":"r"}`},
		{"read the alliance", "GET", "/v1/alliances/" + w.alliance + at, outsider, ""},
		{"read the plan", "GET", "/v1/plans/" + plan + at, w.m2Tok, ""},
		{"read the dispatch", "GET", "/v1/dispatches/" + disp + at, outsider, ""},
		{"read the consult", "GET", "/v1/consults/" + consult + at, outsider, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(tc.method, tc.path, tc.token, tc.body)
			if r.status != 403 {
				t.Fatalf("got %d %s, want 403", r.status, r.body)
			}
			body := string(r.body)
			if id := ulidPattern.FindString(body); id != "" {
				t.Errorf("the 403 names %s: %s", id, body)
			}
			if strings.Contains(body, "haem") || strings.Contains(body, "details") {
				t.Errorf("the 403 names a department or carries details: %s", body)
			}
		})
	}
}
