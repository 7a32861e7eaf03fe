package httpapi_test

import (
	"net/http"
	"testing"

	httpapi "github.com/medalliance/allianced/adapters/http"
)

// TestSecondLeadDepartment: 李惠利医院's 胃肠外科 is refused (403) until a lead department
// adds it; then it admits members and drafts its own protocols.
func TestSecondLeadDepartment(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	al := "/v1/alliances/" + w.alliance
	if r := f.do(http.MethodPost, "/v1/hospitals/"+w.lead+"/departments", w.admin, `{"id":"gi-surgery","name":"胃肠外科"}`); r.status != 200 {
		t.Fatalf("add department: %d %s", r.status, r.body)
	}
	surgery := f.token("dr-chen", w.lead, "gi-surgery", httpapi.RoleLead)
	beilun := f.mustCreate("/v1/hospitals", w.admin, `{"name":"北仑区第三人民医院","regionCode":"330206","level":"secondary"}`)
	admit := `{"hospitalId":"` + beilun + `","tier":"member"}`
	if r := f.do(http.MethodPost, al+"/members", surgery, admit); r.status != http.StatusForbidden {
		t.Fatalf("admit before being a lead department: %d %s, want 403", r.status, r.body)
	}
	if r := f.do(http.MethodPost, al+"/lead-departments", surgery, `{"departmentId":"gi-surgery"}`); r.status != http.StatusForbidden {
		t.Fatalf("a department adding itself: %d %s, want 403", r.status, r.body)
	}
	if r := f.do(http.MethodPost, al+"/lead-departments", w.leadTok, `{"departmentId":"gi-surgery"}`); r.status != 200 {
		t.Fatalf("add lead department: %d %s", r.status, r.body)
	}
	if r := f.do(http.MethodPost, al+"/lead-departments", w.leadTok, `{"departmentId":"gi-surgery"}`); r.status != http.StatusConflict {
		t.Fatalf("added twice: %d %s, want 409", r.status, r.body)
	}
	if r := f.do(http.MethodPost, al+"/lead-departments", w.leadTok, `{"departmentId":"oncology"}`); r.status != http.StatusBadRequest {
		t.Fatalf("a department the hospital lacks: %d %s, want 400", r.status, r.body)
	}
	if r := f.do(http.MethodPost, al+"/members", surgery, admit); r.status != 200 {
		t.Fatalf("admit by the second lead department: %d %s", r.status, r.body)
	}
	f.mustCreate(al+"/protocols", surgery, `{"title":"胃癌术后辅助化疗","indication":"gastric cancer"}`)
}
