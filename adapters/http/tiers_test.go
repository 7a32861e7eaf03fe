package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	httpapi "github.com/medalliance/allianced/adapters/http"
)

// tierFixture is three tiers over HTTP: 中山 leads an alliance with 徐汇 as a member;
// 徐汇 leads its own alliance of community centres (枫林, 斜土, 田林 admitted, 康健 not).
// 徐汇 follows 中山's post-operative protocol version 1 directly, 枫林 through 徐汇's
// alliance; 中山 handed a patient's plan over to 徐汇.
type tierFixture struct {
	zs, xh, fl, xt, kj, tl            string // hospitals
	top, community, proto, plan       string
	admin, zsTok, xhTok, flTok, xtTok string
	kjTok, tlTok, auditor             string
	handOnPos, handOnReferral         string // the hand-on's position and the referral it opened
}

// tiers builds the fixture and hands the plan on from 徐汇 to 枫林 (with a downward
// referral), so every tier route answers 2xx once.
func (f *fixture) tiers() tierFixture {
	f.t.Helper()
	t := f.t
	var w tierFixture
	w.admin = f.token("admin-t", "01J000000000000000000000AD", "", httpapi.RoleAdmin)
	hosp := func(name, level, dept, deptName string) string {
		return f.mustCreate("/v1/hospitals", w.admin, fmt.Sprintf(`{"name":%q,"regionCode":"310104","level":%q,"departments":[{"id":%q,"name":%q}]}`, name, level, dept, deptName))
	}
	w.zs = hosp("复旦大学附属中山医院", "tertiary", "general-surgery", "普外科")
	w.xh = hosp("徐汇区中心医院", "tertiary", "general-surgery", "普外科")
	w.fl = hosp("枫林街道社区卫生服务中心", "community", "gp", "全科")
	w.xt = hosp("斜土街道社区卫生服务中心", "community", "gp", "全科")
	w.kj = hosp("康健街道社区卫生服务中心", "community", "gp", "全科")
	w.tl = hosp("田林街道社区卫生服务中心", "community", "gp", "全科")
	w.zsTok = f.token("dr-fan", w.zs, "general-surgery", httpapi.RoleLead)
	w.xhTok = f.token("dr-liu", w.xh, "general-surgery", httpapi.RoleLead, httpapi.RoleMember)
	w.flTok = f.token("gp-wang", w.fl, "gp", httpapi.RoleMember, httpapi.RoleLead)
	w.xtTok = f.token("gp-zhou", w.xt, "gp", httpapi.RoleMember)
	w.kjTok = f.token("gp-wu", w.kj, "gp", httpapi.RoleMember)
	w.tlTok = f.token("gp-xu", w.tl, "gp", httpapi.RoleMember)
	w.auditor = f.token("qc-1", "01J000000000000000000000A0", "", httpapi.RoleAuditor)
	post := func(path, tok, body string, want int) reply {
		t.Helper()
		r := f.do(http.MethodPost, path, tok, body)
		if r.status != want {
			t.Fatalf("POST %s: got %d %s, want %d", path, r.status, r.body, want)
		}
		return r
	}
	w.top = f.mustCreate("/v1/alliances", w.zsTok, `{"name":"中山—徐汇医联体","specialty":"普外科","kind":"city"}`)
	post("/v1/alliances/"+w.top+"/members", w.zsTok, `{"hospitalId":"`+w.xh+`","tier":"core"}`, 200)
	w.community = f.mustCreate("/v1/alliances", w.xhTok, `{"name":"徐汇区中心医院社区医联体","specialty":"全科","kind":"city"}`)
	for _, h := range []string{w.fl, w.xt, w.tl} {
		post("/v1/alliances/"+w.community+"/members", w.xhTok, `{"hospitalId":"`+h+`","tier":"community"}`, 200)
	}
	w.proto = f.mustCreate("/v1/alliances/"+w.top+"/protocols", w.zsTok, `{"title":"胃癌术后康复随访","indication":"胃癌根治术后"}`)
	steps := `[{"stepId":"d7-wound","dayOffset":7,"activity":"伤口检查与拆线"},` +
		`{"stepId":"d14-nutrition","dayOffset":14,"activity":"口服营养补充","drug":"肠内营养粉","dose":"500 kcal","route":"oral"},` +
		`{"stepId":"d30-review","dayOffset":30,"activity":"术后一月复查"}]`
	post("/v1/protocols/"+w.proto+"/versions", w.zsTok, `{"steps":`+steps+`,"eligibility":"胃癌根治术后稳定期"}`, 200)
	post("/v1/protocols/"+w.proto+"/adoptions", w.xhTok, `{"version":1}`, 201)
	post("/v1/protocols/"+w.proto+"/adoptions", w.flTok, `{"version":1,"viaAllianceId":"`+w.community+`"}`, 201)
	w.plan = f.mustCreate("/v1/plans", w.zsTok, fmt.Sprintf(`{"allianceId":%q,"protocolId":%q,"version":1,"medicalRecordNumber":"ZS-2026-0815","startDate":"2026-11-24T00:00:00Z"}`, w.top, w.proto))
	f.clock.Advance(time.Hour)
	post("/v1/plans/"+w.plan+"/handover", w.zsTok, `{"toHospitalId":"`+w.xh+`"}`, 200)
	f.clock.Advance(time.Hour)
	r := post("/v1/plans/"+w.plan+"/hand-on", w.xhTok, `{"toHospitalId":"`+w.fl+`","viaAllianceId":"`+w.community+
		`","referral":{"clinicalSummary":"胃癌根治术后第10天,切口愈合良好","urgency":"routine"}}`, 200)
	w.handOnPos = posOf(t, r)
	w.handOnReferral, _ = r.json(t)["referralId"].(string)
	if w.handOnReferral == "" {
		t.Fatalf("hand-on with a referral names no referral: %s", r.body)
	}
	return w
}

// TestThreeTiersOverHTTP is 中山 -> 徐汇 -> 枫林 over HTTP: the refusals (a centre not in
// 徐汇's alliance, a hospital that does not hold the plan, 徐汇 suspended in 中山's
// alliance, an unadopted version), the chain and who was responsible when in the plan
// view and the audit stream, reads along the chain, and escalations one link up.
func TestThreeTiersOverHTTP(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.tiers()
	pl := "/v1/plans/" + w.plan
	post := func(path, tok, body string, want int, code string) reply {
		t.Helper()
		r := f.do(http.MethodPost, path, tok, body)
		if r.status != want || (code != "" && r.code(t) != code) {
			t.Fatalf("POST %s: got %d %s, want %d %s", path, r.status, r.body, want, code)
		}
		return r
	}
	get := func(path, tok string, want int) reply {
		t.Helper()
		r := f.do(http.MethodGet, path, tok, "")
		if r.status != want {
			t.Fatalf("GET %s: got %d %s, want %d", path, r.status, r.body, want)
		}
		return r
	}

	// Adoption across tiers: through 徐汇 only the version 徐汇 follows; 康健 is no member.
	post("/v1/protocols/"+w.proto+"/versions", w.zsTok, `{"steps":[{"stepId":"d7-wound","dayOffset":7,"activity":"伤口检查"}],"eligibility":"术后","changeNote":"精简"}`, 200, "")
	post("/v1/protocols/"+w.proto+"/adoptions", w.xtTok, `{"version":2,"viaAllianceId":"`+w.community+`"}`, http.StatusConflict, "forbidden_transition")
	post("/v1/protocols/"+w.proto+"/adoptions", w.kjTok, `{"version":1,"viaAllianceId":"`+w.community+`"}`, http.StatusUnprocessableEntity, "not_member")
	post("/v1/protocols/"+w.proto+"/adoptions", w.xtTok, `{"version":1}`, http.StatusUnprocessableEntity, "not_member") // directly: no member of 中山's alliance
	adopted := post("/v1/protocols/"+w.proto+"/adoptions", w.xtTok, `{"version":1,"viaAllianceId":"`+w.community+`"}`, 201, "")

	// 中山's adoption matrix shows who follows its protocol through 徐汇's alliance.
	var mx struct {
		Rows []struct {
			HospitalID, Tier, ViaAllianceID string
			Cells                           []struct{ AdoptedVersion int }
		}
	}
	if err := json.Unmarshal(get("/v1/alliances/"+w.top+"/adoption-matrix?minPosition="+posOf(t, adopted), w.zsTok, 200).body, &mx); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, r := range mx.Rows {
		rows[r.HospitalID] = fmt.Sprintf("%s %s %d", r.Tier, r.ViaAllianceID, r.Cells[0].AdoptedVersion)
	}
	if rows[w.xh] != "core  1" || rows[w.fl] != "through "+w.community+" 1" || rows[w.xt] != "through "+w.community+" 1" || len(rows) != 3 {
		t.Fatalf("中山's adoption matrix: %v", rows)
	}

	// The plan is on 枫林's desk now; a second hand-on by 徐汇 and hand-ons by hospitals
	// that do not hold the plan are refused.
	hand := func(to string) string {
		return `{"toHospitalId":"` + to + `","viaAllianceId":"` + w.community + `"}`
	}
	post(pl+"/hand-on", w.xhTok, hand(w.xt), http.StatusForbidden, "forbidden")
	post(pl+"/hand-on", w.zsTok, hand(w.xt), http.StatusForbidden, "forbidden")

	// The plan view: the chain, who was responsible when; read along the chain.
	at := "?minPosition=" + w.handOnPos
	var view struct {
		ResponsibleHospitalID string
		Chain                 []struct{ HospitalID, AllianceID string }
		Responsibility        []struct {
			HospitalID, AllianceID, How, ByHospitalID string
			Until                                     *time.Time
		}
		HandOns []struct{ FromHospitalID, ToHospitalID, ViaAllianceID string }
	}
	if err := json.Unmarshal(get(pl+at, w.zsTok, 200).body, &view); err != nil {
		t.Fatal(err)
	}
	chain := func() []string {
		var out []string
		for _, l := range view.Chain {
			out = append(out, l.HospitalID)
		}
		return out
	}
	if view.ResponsibleHospitalID != w.fl || fmt.Sprint(chain()) != fmt.Sprint([]string{w.zs, w.xh, w.fl}) || view.Chain[2].AllianceID != w.community {
		t.Fatalf("after the hand-on: responsible %s, chain %+v", view.ResponsibleHospitalID, view.Chain)
	}
	wantHow := []string{"initiated " + w.zs, "handover " + w.xh, "hand_on " + w.fl}
	if len(view.Responsibility) != 3 || view.Responsibility[2].ByHospitalID != w.xh || view.Responsibility[2].Until != nil || view.Responsibility[1].Until == nil {
		t.Fatalf("responsibility: %+v", view.Responsibility)
	}
	for i, r := range view.Responsibility {
		if got := r.How + " " + r.HospitalID; got != wantHow[i] {
			t.Errorf("responsibility[%d]: %q, want %q", i, got, wantHow[i])
		}
	}
	for _, tc := range []struct {
		name, tok string
		want      int
	}{{"the top lead", w.zsTok, 200}, {"the middle tier that handed it on", w.xhTok, 200}, {"the holding centre", w.flTok, 200},
		{"a centre that never held it", w.xtTok, 403}, {"a centre outside the chain", w.kjTok, 403}, {"an auditor", w.auditor, 200}} {
		if r := f.do(http.MethodGet, pl+at, tc.tok, ""); r.status != tc.want {
			t.Errorf("%s reads the plan: got %d %s, want %d", tc.name, r.status, r.body, tc.want)
		}
	}
	// An auditor's replay of the plan shows the same chain.
	var asOf struct {
		State struct {
			Chain []struct{ HospitalID, AllianceID string }
		}
	}
	if err := json.Unmarshal(get("/v1/audit/plans/"+w.plan, w.auditor, 200).body, &asOf); err != nil {
		t.Fatal(err)
	}
	if len(asOf.State.Chain) != 3 || asOf.State.Chain[1].HospitalID != w.xh || asOf.State.Chain[2].AllianceID != w.community {
		t.Fatalf("audited chain: %+v", asOf.State.Chain)
	}
	// 徐汇 keeps the plan in its work list while 枫林 holds it.
	if r := get("/v1/hospitals/"+w.xh+"/plans"+at, w.xhTok, 200); !strings.Contains(string(r.body), w.plan) {
		t.Errorf("徐汇's work list lacks the plan it handed on: %s", r.body)
	}
	// The referral the hand-on opened is on 枫林's desk, sent by 徐汇 in 徐汇's alliance.
	var ref struct{ FromHospitalID, ToHospitalID, AllianceID, Direction string }
	if err := json.Unmarshal(get("/v1/referrals/"+w.handOnReferral+at, w.flTok, 200).body, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.FromHospitalID != w.xh || ref.ToHospitalID != w.fl || ref.AllianceID != w.community || ref.Direction != "down" {
		t.Fatalf("hand-on referral: %+v", ref)
	}

	// 枫林 records a step and escalates: the patient goes back to 徐汇, not to 中山.
	f.clock.Advance(time.Hour)
	post(pl+"/steps/d7-wound/complete", w.flTok, `{"notes":"切口红肿渗液"}`, 200, "")
	r := post(pl+"/escalate", w.flTok, `{"reason":"切口感染伴发热","urgent":true,"referral":{"clinicalSummary":"术后第11天体温38.6℃,切口渗液"}}`, 200, "")
	up, _ := r.json(t)["referralId"].(string)
	at = "?minPosition=" + posOf(t, r)
	var back struct{ ResponsibleHospitalID string }
	if err := json.Unmarshal(get(pl+at, w.xhTok, 200).body, &back); err != nil {
		t.Fatal(err)
	}
	if back.ResponsibleHospitalID != w.xh {
		t.Fatalf("the community centre's escalation went to %s, want 徐汇 %s", back.ResponsibleHospitalID, w.xh)
	}
	if err := json.Unmarshal(get("/v1/referrals/"+up+at, w.xhTok, 200).body, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.ToHospitalID != w.xh || ref.Direction != "up" || ref.AllianceID != w.community {
		t.Fatalf("escalation referral: %+v", ref)
	}
	// 枫林 keeps reading the plan it held; 中山 reads the patient's referral history
	// through the plan (it sent no referral itself); 康健 gets the generic not found.
	get(pl+at, w.flTok, 200)
	var plan struct{ PatientRef string }
	if err := json.Unmarshal(get(pl+at, w.zsTok, 200).body, &plan); err != nil {
		t.Fatal(err)
	}
	var hist struct{ Items []struct{ ReferralID string } }
	if err := json.Unmarshal(get("/v1/patients/"+plan.PatientRef+"/referrals"+at, w.zsTok, 200).body, &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) != 2 {
		t.Fatalf("the top lead sees %d of the patient's referrals, want 2", len(hist.Items))
	}
	get("/v1/patients/"+plan.PatientRef+"/referrals"+at, w.kjTok, 404)

	// 徐汇, suspended in 中山's alliance, passes nothing on (and may still escalate).
	post(pl+"/hand-on", w.xhTok, hand(w.tl), http.StatusConflict, "forbidden_transition") // 田林 adopted no version
	post("/v1/alliances/"+w.top+"/members/"+w.xh+"/suspend", w.zsTok, `{"reason":"医联体协议续签中"}`, 200, "")
	post(pl+"/hand-on", w.xhTok, hand(w.fl), http.StatusUnprocessableEntity, "not_member")
	post(pl+"/hand-on", w.xhTok, hand(w.kj), http.StatusUnprocessableEntity, "not_member")
	post("/v1/alliances/"+w.top+"/members/"+w.xh+"/reinstate", w.zsTok, `{"reason":"续签完成"}`, 200, "")
	post(pl+"/hand-on", w.xhTok, hand(w.kj), http.StatusUnprocessableEntity, "not_member") // not in 徐汇's alliance
	post(pl+"/hand-on", w.xhTok, hand(w.xt), 200, "")                                      // 斜土 adopted v1 through 徐汇
	post(pl+"/escalate", w.xtTok, `{"reason":"再次发热"}`, 200, "")
	r = post(pl+"/escalate", w.xhTok, `{"reason":"需再次手术","urgent":true}`, 200, "")
	at = "?minPosition=" + posOf(t, r)
	if err := json.Unmarshal(get(pl+at, w.zsTok, 200).body, &view); err != nil {
		t.Fatal(err)
	}
	if view.ResponsibleHospitalID != w.zs || len(view.Chain) != 1 || len(view.Responsibility) != 7 {
		t.Fatalf("after 徐汇's escalation: responsible %s, chain %+v, %d periods", view.ResponsibleHospitalID, view.Chain, len(view.Responsibility))
	}

	// The audit stream names each transfer's hospitals.
	var audit struct {
		Events []struct {
			Type string
			Data map[string]any
		}
	}
	if err := json.Unmarshal(get("/v1/audit/streams/plan-"+w.plan, w.auditor, 200).body, &audit); err != nil {
		t.Fatal(err)
	}
	var transfers []string
	for _, e := range audit.Events {
		switch e.Type {
		case "PlanHandedOver", "PlanHandedOn", "PlanEscalated":
			transfers = append(transfers, fmt.Sprintf("%s %v->%v", e.Type, e.Data["fromHospitalId"], e.Data["toHospitalId"]))
		}
	}
	want := []string{"PlanHandedOver " + w.zs + "->" + w.xh, "PlanHandedOn " + w.xh + "->" + w.fl, "PlanEscalated " + w.fl + "->" + w.xh,
		"PlanHandedOn " + w.xh + "->" + w.xt, "PlanEscalated " + w.xt + "->" + w.xh, "PlanEscalated " + w.xh + "->" + w.zs}
	if fmt.Sprint(transfers) != fmt.Sprint(want) {
		t.Fatalf("audit transfers:\n got %v\nwant %v", transfers, want)
	}
}
