package e2e

import (
	"net/http"
	"testing"
)

// TestThreeTierJourney drives three tiers over HTTP against the real binary: 中山医院
// leads an alliance with 徐汇区中心医院 as a member; 徐汇 leads its own alliance of
// community health centres. A community centre adopts 中山's protocol through 徐汇's
// alliance, 中山 hands a post-operative patient's plan to 徐汇, 徐汇 hands it on to 枫林
// with a downward referral, 枫林 escalates back to 徐汇 (not to 中山) and 徐汇 on to
// 中山. The refusals: a centre outside 徐汇's alliance, a hand-on by a hospital that does
// not hold the plan, 徐汇 suspended in 中山's alliance, a centre on an unadopted version.
// 中山 reads the plan, its chain and the patient's referral history along the way.
func TestThreeTierJourney(t *testing.T) {
	s := startServer(t, serverOptions{})
	admin := s.token(platformID, "", "directory-admin", "admin")
	auditor := s.token(platformID, "", "qc-auditor", "auditor")
	surgery := map[string]string{"id": "general-surgery", "name": "普外科"}
	gp := map[string]string{"id": "general-practice", "name": "全科医学科"}
	hospital := func(name, level string, dept map[string]string) string {
		return s.command(&admin, "/v1/hospitals", map[string]any{"name": name, "regionCode": "310104", "level": level,
			"departments": []map[string]string{dept}}, http.StatusCreated).ID
	}
	zhongshan := hospital("复旦大学附属中山医院", "tertiary", surgery)
	xuhui := hospital("上海市徐汇区中心医院", "tertiary", surgery)
	fenglin := hospital("徐汇区枫林街道社区卫生服务中心", "community", gp)
	xietu := hospital("徐汇区斜土街道社区卫生服务中心", "community", gp)
	tianlin := hospital("徐汇区田林街道社区卫生服务中心", "community", gp)
	kangjian := hospital("徐汇区康健街道社区卫生服务中心", "community", gp)
	zs := s.token(zhongshan, "general-surgery", "zs-gastric-team", "lead")
	xh := s.token(xuhui, "general-surgery", "xh-general-surgery", "lead", "member")
	fl := s.token(fenglin, "general-practice", "fl-gp", "member")
	xt := s.token(xietu, "general-practice", "xt-gp", "member")
	kj := s.token(kangjian, "general-practice", "kj-gp", "member")

	top := s.command(&zs, "/v1/alliances", map[string]any{"name": "中山—徐汇医联体", "specialty": "普外科", "kind": "city"}, http.StatusCreated).ID
	s.command(&zs, "/v1/alliances/"+top+"/members", map[string]any{"hospitalId": xuhui, "tier": "core"}, http.StatusOK)
	community := s.command(&xh, "/v1/alliances", map[string]any{"name": "徐汇区中心医院社区医联体", "specialty": "全科", "kind": "city"}, http.StatusCreated).ID
	for _, h := range []string{fenglin, xietu, tianlin} {
		s.command(&xh, "/v1/alliances/"+community+"/members", map[string]any{"hospitalId": h, "tier": "community"}, http.StatusOK)
	}
	proto := s.command(&zs, "/v1/alliances/"+top+"/protocols", map[string]any{"title": "胃癌根治术后康复与随访", "indication": "胃癌根治术后"}, http.StatusCreated).ID
	pr := "/v1/protocols/" + proto
	s.command(&zs, pr+"/versions", map[string]any{"eligibility": "术后稳定期", "steps": []map[string]any{
		{"stepId": "d7-wound", "dayOffset": 7, "activity": "伤口检查与拆线"},
		{"stepId": "d14-ppi", "dayOffset": 14, "activity": "抑酸治疗", "drug": "omeprazole", "dose": "20 mg qd", "route": "oral"},
		{"stepId": "d30-review", "dayOffset": 30, "activity": "术后一月复查"}}}, http.StatusOK)

	// Adoption across the tiers: 徐汇 directly; the centres through 徐汇's alliance, only
	// the version 徐汇 follows, and only members of 徐汇's alliance.
	s.command(&xh, pr+"/adoptions", map[string]any{"version": 1}, http.StatusCreated)
	s.refused(&fl, http.MethodPost, pr+"/adoptions", map[string]any{"version": 1}, http.StatusUnprocessableEntity, "not_member")
	s.command(&fl, pr+"/adoptions", map[string]any{"version": 1, "viaAllianceId": community}, http.StatusCreated)
	s.refused(&kj, http.MethodPost, pr+"/adoptions", map[string]any{"version": 1, "viaAllianceId": community}, http.StatusUnprocessableEntity, "not_member")
	s.command(&zs, pr+"/versions", map[string]any{"eligibility": "术后稳定期", "changeNote": "PPI 疗程缩短", "steps": []map[string]any{
		{"stepId": "d7-wound", "dayOffset": 7, "activity": "伤口检查与拆线"},
		{"stepId": "d30-review", "dayOffset": 30, "activity": "术后一月复查"}}}, http.StatusOK)
	s.refused(&xt, http.MethodPost, pr+"/adoptions", map[string]any{"version": 2, "viaAllianceId": community}, http.StatusConflict, "forbidden_transition")
	s.command(&xt, pr+"/adoptions", map[string]any{"version": 1, "viaAllianceId": community}, http.StatusCreated)

	// 中山 hands the post-operative patient to 徐汇; 徐汇 hands it on to 枫林 with a referral.
	plan := s.command(&zs, "/v1/plans", map[string]any{"allianceId": top, "protocolId": proto, "version": 1,
		"medicalRecordNumber": "ZS-E2E-0815", "startDate": "2026-11-24T00:00:00Z"}, http.StatusCreated).ID
	pl := "/v1/plans/" + plan
	s.command(&zs, pl+"/handover", map[string]any{"toHospitalId": xuhui}, http.StatusOK)
	handOn := func(to string) map[string]any { return map[string]any{"toHospitalId": to, "viaAllianceId": community} }
	s.refused(&xh, http.MethodPost, pl+"/hand-on", handOn(kangjian), http.StatusUnprocessableEntity, "not_member") // not in 徐汇's alliance
	s.refused(&xh, http.MethodPost, pl+"/hand-on", handOn(tianlin), http.StatusConflict, "forbidden_transition")   // adopted no version
	s.refused(&zs, http.MethodPost, pl+"/hand-on", handOn(fenglin), http.StatusForbidden, "forbidden")             // 中山 does not hold it
	s.command(&zs, "/v1/alliances/"+top+"/members/"+xuhui+"/suspend", map[string]any{"reason": "医联体协议续签中"}, http.StatusOK)
	s.refused(&xh, http.MethodPost, pl+"/hand-on", handOn(fenglin), http.StatusUnprocessableEntity, "not_member") // suspended in 中山's alliance
	s.command(&zs, "/v1/alliances/"+top+"/members/"+xuhui+"/reinstate", map[string]any{"reason": "续签完成"}, http.StatusOK)
	r := s.request(&xh, http.MethodPost, pl+"/hand-on", map[string]any{"toHospitalId": fenglin, "viaAllianceId": community,
		"referral": map[string]any{"clinicalSummary": "胃癌根治术后第 8 天, 切口愈合中", "urgency": "routine"}})
	var on struct {
		ReferralID string `json:"referralId"`
		Position   uint64 `json:"position"`
	}
	if r.Status != http.StatusOK || jsonInto(r.Body, &on) != nil || on.ReferralID == "" {
		t.Fatalf("hand-on with a referral: %d %s", r.Status, r.Body)
	}
	s.refused(&xh, http.MethodPost, pl+"/hand-on", handOn(xietu), http.StatusForbidden, "forbidden") // 徐汇 no longer holds it
	s.refused(&xt, http.MethodPost, pl+"/hand-on", handOn(xietu), http.StatusForbidden, "forbidden") // nor ever did 斜土

	// The top lead reads the plan: the chain and who was responsible when.
	view := s.get(&zs, after(pl, on.Position), nil)
	if str(view, "responsibleHospitalId") != fenglin || str(view, "chain", "1", "hospitalId") != xuhui || str(view, "chain", "2", "allianceId") != community {
		t.Fatalf("plan after the hand-on: %v", view)
	}
	if str(view, "responsibility", "2", "how") != "hand_on" || str(view, "responsibility", "2", "byHospitalId") != xuhui || field(view, "responsibility", "1", "until") == nil {
		t.Fatalf("responsibility: %v", field(view, "responsibility"))
	}
	s.get(&xh, after(pl, on.Position), nil)
	s.refused(&xt, http.MethodGet, after(pl, on.Position), nil, http.StatusForbidden, "forbidden")
	s.command(&fl, "/v1/referrals/"+on.ReferralID+"/accept", map[string]any{"departmentId": "general-practice", "expectedArrival": "2026-12-31T08:00:00Z"}, http.StatusOK)

	// 枫林 escalates: back to 徐汇, which handed the plan on; then 徐汇 on to 中山.
	s.command(&fl, pl+"/steps/d7-wound/complete", map[string]any{"notes": "切口红肿渗液"}, http.StatusOK)
	r = s.request(&fl, http.MethodPost, pl+"/escalate", map[string]any{"reason": "切口感染伴发热", "urgent": true,
		"referral": map[string]any{"clinicalSummary": "体温 38.6℃, 切口渗液"}})
	var esc struct {
		ReferralID string `json:"referralId"`
		Position   uint64 `json:"position"`
	}
	if r.Status != http.StatusOK || jsonInto(r.Body, &esc) != nil || esc.ReferralID == "" {
		t.Fatalf("community escalation: %d %s", r.Status, r.Body)
	}
	view = s.get(&xh, after(pl, esc.Position), nil)
	if str(view, "responsibleHospitalId") != xuhui || len(list(view, "chain")) != 2 {
		t.Fatalf("after 枫林's escalation: %v", view)
	}
	if ref := s.get(&xh, after("/v1/referrals/"+esc.ReferralID, esc.Position), nil); str(ref, "toHospitalId") != xuhui || str(ref, "allianceId") != community {
		t.Fatalf("escalation referral: %v", ref)
	}
	s.get(&fl, after(pl, esc.Position), nil) // 枫林 keeps reading the history it took part in
	patient := str(view, "patientRef")
	if n := len(list(s.get(&zs, after("/v1/patients/"+patient+"/referrals", esc.Position), nil), "items")); n != 2 {
		t.Fatalf("中山 sees %d of the patient's referrals along the chain, want 2", n)
	}
	s.refused(&kj, http.MethodGet, "/v1/patients/"+patient+"/referrals", nil, http.StatusNotFound, "not_found")
	up := s.command(&xh, pl+"/escalate", map[string]any{"reason": "需再次手术清创", "urgent": true}, http.StatusOK)
	view = s.get(&zs, after(pl, up.Position), nil)
	if str(view, "responsibleHospitalId") != zhongshan || len(list(view, "responsibility")) != 5 {
		t.Fatalf("after 徐汇's escalation: %v", view)
	}

	// The audit stream names every transfer's hospitals.
	var audit struct {
		Events []struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		} `json:"events"`
	}
	s.get(&auditor, "/v1/audit/streams/plan-"+plan, &audit)
	var got []string
	for _, e := range audit.Events {
		switch e.Type {
		case "PlanHandedOver", "PlanHandedOn", "PlanEscalated":
			got = append(got, e.Type+" "+str(e.Data, "fromHospitalId")+"->"+str(e.Data, "toHospitalId"))
		}
	}
	want := []string{"PlanHandedOver " + zhongshan + "->" + xuhui, "PlanHandedOn " + xuhui + "->" + fenglin,
		"PlanEscalated " + fenglin + "->" + xuhui, "PlanEscalated " + xuhui + "->" + zhongshan}
	if len(got) != len(want) {
		t.Fatalf("audit transfers: got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("audit transfers: got %v, want %v", got, want)
		}
	}
}
