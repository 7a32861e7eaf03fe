package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	httpapi "github.com/medalliance/allianced/adapters/http"
)

// TestLeadDepartmentsOwnQueues is 李惠利医院's alliance with 消化内科 and 胃肠外科 both
// leading: 北仑三院 addresses a dispatch and a consult to 胃肠外科, which assigns its own
// registered expert and answers; 消化内科 is refused on both, and each department's
// consult queue shows its own consults.
func TestLeadDepartmentsOwnQueues(t *testing.T) {
	f := newFixture(t, withViews(t))
	admin := f.token("admin-1", "01J000000000000000000000AD", "", httpapi.RoleAdmin)
	lihuili := f.mustCreate("/v1/hospitals", admin, `{"name":"宁波市医疗中心李惠利医院","regionCode":"330212","level":"tertiary","departments":[{"id":"gastroenterology","name":"消化内科"},{"id":"gi-surgery","name":"胃肠外科"}]}`)
	beilun := f.mustCreate("/v1/hospitals", admin, `{"name":"宁波市北仑区第三人民医院","regionCode":"330206","level":"secondary","departments":[{"id":"gi-surgery","name":"胃肠外科"}]}`)
	gastro := f.token("dr-shen", lihuili, "gastroenterology", httpapi.RoleLead)
	surgery := f.token("dr-qiu", lihuili, "gi-surgery", httpapi.RoleLead)
	member := f.token("beilun-office", beilun, "gi-surgery", httpapi.RoleMember)
	auditor := f.token("auditor-1", "01J000000000000000000000A0", "", httpapi.RoleAuditor)
	al := f.mustCreate("/v1/alliances", gastro, `{"name":"李惠利医院医联体","specialty":"gastroenterology","kind":"city"}`)
	for _, r := range []reply{
		f.do(http.MethodPost, "/v1/alliances/"+al+"/lead-departments", gastro, `{"departmentId":"gi-surgery"}`),
		f.do(http.MethodPost, "/v1/alliances/"+al+"/members", surgery, `{"hospitalId":"`+beilun+`","tier":"member"}`),
	} {
		if r.status != 200 {
			t.Fatalf("setup: %d %s", r.status, r.body)
		}
	}
	qiu := f.mustCreate("/v1/practitioners", surgery, fmt.Sprintf(`{"hospitalId":%q,"departmentId":"gi-surgery","name":"邱峰","title":"主任医师","specialties":["胃肠外科"]}`, lihuili))

	window := `{"start":"2026-12-01T08:00:00Z","end":"2027-11-30T17:00:00Z"}`
	dispatch := func(dept string) reply {
		body := fmt.Sprintf(`{"allianceId":%q,"kind":"workstation","specialty":"gastrointestinal surgery","window":%s%s}`, al, window, dept)
		return f.do(http.MethodPost, "/v1/dispatches", member, body)
	}
	if r := dispatch(`,"leadDepartmentId":"cardiology"`); r.status != 400 || r.code(t) != "invalid_input" {
		t.Fatalf("dispatch to a department that does not lead: %d %s, want 400 invalid_input", r.status, r.body)
	}
	r := dispatch(`,"leadDepartmentId":"gi-surgery"`)
	if r.status != 201 {
		t.Fatalf("dispatch to 胃肠外科: %d %s", r.status, r.body)
	}
	disp := r.json(t)["id"].(string)
	assign := `{"expertId":"` + qiu + `"}`
	if r := f.do(http.MethodPost, "/v1/dispatches/"+disp+"/assign", gastro, assign); r.status != 403 {
		t.Fatalf("消化内科 assigning on 胃肠外科's dispatch: %d %s, want 403", r.status, r.body)
	}
	if r := f.do(http.MethodPost, "/v1/dispatches/"+disp+"/assign", surgery, assign); r.status != 200 {
		t.Fatalf("胃肠外科 assigning its own expert: %d %s", r.status, r.body)
	}
	// without leadDepartmentId a dispatch goes to the founding department, as before
	old := dispatch("")
	if old.status != 201 {
		t.Fatalf("dispatch without a department: %d %s", old.status, old.body)
	}
	oldID := old.json(t)["id"].(string)
	if r := f.do(http.MethodPost, "/v1/dispatches/"+oldID+"/assign", surgery, assign); r.status != 403 {
		t.Fatalf("胃肠外科 assigning on the founding department's dispatch: %d %s, want 403", r.status, r.body)
	}
	// each department dispatches its own experts: 消化内科 cannot send 胃肠外科's 邱峰
	if r := f.do(http.MethodPost, "/v1/dispatches/"+oldID+"/assign", gastro, assign); r.status != 403 {
		t.Fatalf("消化内科 assigning 胃肠外科's expert: %d %s, want 403", r.status, r.body)
	}

	consult := func(dept, question string) string {
		return f.mustCreate("/v1/consults", member, fmt.Sprintf(`{"allianceId":%q,"specialty":"gastrointestinal surgery","urgency":"urgent","question":%q,"consentRef":"BL3-2026-0042","patientRef":"pr_%s"%s}`,
			al, question, strings.Repeat("b", 32), dept))
	}
	toSurgery := consult(`,"leadDepartmentId":"gi-surgery"`, "胃癌术后吻合口瘘可疑，是否需上转？")
	toGastro := consult("", "反复黑便，胃镜未见出血灶，下一步？")
	if r := f.do(http.MethodPost, "/v1/consults/"+toSurgery+"/accept", gastro, `{}`); r.status != 403 {
		t.Fatalf("消化内科 accepting 胃肠外科's consult: %d %s, want 403", r.status, r.body)
	}
	if r := f.do(http.MethodPost, "/v1/consults/"+toSurgery+"/accept", surgery, `{}`); r.status != 200 {
		t.Fatalf("胃肠外科 accepting its consult: %d %s", r.status, r.body)
	}
	opinion := `{"text":"建议上转行腹部增强CT，必要时再次探查","adviseEscalation":true}`
	if r := f.do(http.MethodPost, "/v1/consults/"+toSurgery+"/opinion", gastro, opinion); r.status != 403 {
		t.Fatalf("消化内科 answering 胃肠外科's consult: %d %s, want 403", r.status, r.body)
	}
	r = f.do(http.MethodPost, "/v1/consults/"+toSurgery+"/opinion", surgery, opinion)
	if r.status != 200 {
		t.Fatalf("胃肠外科 answering its consult: %d %s", r.status, r.body)
	}
	at := "&minPosition=" + posOf(t, r)

	queue := func(tok, query string) []string {
		t.Helper()
		r := f.do(http.MethodGet, "/v1/alliances/"+al+"/consults?status=all"+query+at, tok, "")
		if r.status != 200 {
			t.Fatalf("queue %s: %d %s", query, r.status, r.body)
		}
		var ids []string
		for _, it := range r.json(t)["items"].([]any) {
			row := it.(map[string]any)
			ids = append(ids, row["consultId"].(string)+"@"+row["leadDepartmentId"].(string))
		}
		return ids
	}
	for _, tc := range []struct {
		name, tok, query string
		want             []string
	}{
		{"胃肠外科's own queue", surgery, "", []string{toSurgery + "@gi-surgery"}},
		{"消化内科's own queue", gastro, "", []string{toGastro + "@gastroenterology"}},
		{"消化内科 asks for every queue", gastro, "&department=all", []string{toSurgery + "@gi-surgery", toGastro + "@gastroenterology"}},
		{"an auditor names one", auditor, "&department=gi-surgery", []string{toSurgery + "@gi-surgery"}},
	} {
		got := queue(tc.tok, tc.query)
		if strings.Join(sorted(got), ",") != strings.Join(sorted(tc.want), ",") {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if r := f.do(http.MethodGet, "/v1/alliances/"+al+"/consults?department=cardiology", gastro, ""); r.status != 400 {
		t.Errorf("queue of a department that does not lead: %d %s, want 400", r.status, r.body)
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
