package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestTalentJourney drives mentorships (师带徒), training placements (进修, 派一送一) and
// a visit report that counts its work over HTTP against the real binary, with the
// refusals: an apprentice not at a member, a mentor not at the lead, another member
// reading, a session after completion, a member reading the alliance's lists.
func TestTalentJourney(t *testing.T) {
	s := startServer(t, serverOptions{})
	admin := s.token(platformID, "", "directory-admin", "admin")
	auditor := s.token(platformID, "", "qc-auditor", "auditor")
	tcm := map[string]string{"id": "tcm", "name": "中医科"}
	gp := map[string]string{"id": "general-practice", "name": "全科医学科"}
	hospital := func(name, level string, depts ...map[string]string) string {
		return s.command(&admin, "/v1/hospitals", map[string]any{"name": name, "regionCode": "420106", "level": level, "departments": depts}, http.StatusCreated).ID
	}
	hubei := hospital("湖北省中医院", "tertiary", tcm, gp)
	luonan := hospital("武汉市洪山区珞南街社区卫生服务中心", "community", tcm, gp)
	shouyi := hospital("武汉市武昌区首义路街社区卫生服务中心", "community", tcm, gp)
	outsider := hospital("外省某社区卫生服务中心", "community", tcm)
	lead := s.token(hubei, "tcm", "hubei-tcm-office", "lead")
	ln := s.token(luonan, "tcm", "luonan-tcm", "member")
	sy := s.token(shouyi, "tcm", "shouyi-tcm", "member")
	out := s.token(outsider, "tcm", "outsider-tcm", "member")
	alliance := s.command(&lead, "/v1/alliances", map[string]any{"name": "湖北省中医院社区医联体", "specialty": "tcm", "kind": "city"}, http.StatusCreated).ID
	for _, h := range []string{luonan, shouyi} {
		s.command(&lead, "/v1/alliances/"+alliance+"/members", map[string]any{"hospitalId": h, "tier": "community"}, http.StatusOK)
	}
	person := func(u *user, hosp, name, title string) string {
		return s.command(u, "/v1/practitioners", map[string]any{"hospitalId": hosp, "departmentId": "tcm", "name": name, "title": title, "specialties": []string{"中医"}}, http.StatusCreated).ID
	}
	mentor := person(&lead, hubei, "针灸科主任", "主任医师")
	apprentice := person(&ln, luonan, "刘中医师", "主治医师")
	foreign := person(&out, outsider, "外院医师", "主治医师")
	pair := func(mentorID, apprenticeID string) map[string]any {
		return map[string]any{"allianceId": alliance, "programme": "师带徒", "mentorId": mentorID, "apprenticeId": apprenticeID,
			"startedAt": time.Now().Add(-30 * 24 * time.Hour).UTC().Format(time.RFC3339)}
	}
	s.refused(&lead, http.MethodPost, "/v1/mentorships", pair(mentor, foreign), http.StatusUnprocessableEntity, "not_member")
	s.refused(&lead, http.MethodPost, "/v1/mentorships", pair(apprentice, apprentice), http.StatusForbidden, "forbidden")
	s.refused(&ln, http.MethodPost, "/v1/mentorships", pair(mentor, apprentice), http.StatusForbidden, "forbidden")
	m := "/v1/mentorships/" + s.command(&lead, "/v1/mentorships", pair(mentor, apprentice), http.StatusCreated).ID
	s.command(&ln, m+"/sessions", map[string]any{"kind": "joint_consult", "durationMinutes": 180, "patients": 14,
		"sessionAt": time.Now().Add(-20 * 24 * time.Hour).UTC().Format(time.RFC3339)}, http.StatusOK)
	s.command(&lead, m+"/sessions", map[string]any{"kind": "teaching_round", "durationMinutes": 120, "patients": 9}, http.StatusOK)
	s.refused(&sy, http.MethodPost, m+"/sessions", map[string]any{"kind": "teaching_round", "durationMinutes": 60}, http.StatusForbidden, "forbidden")
	s.refused(&lead, http.MethodPost, m+"/complete", map[string]any{}, http.StatusConflict, "forbidden_transition")
	s.command(&lead, m+"/assessments", map[string]any{"outcome": "excellent", "comment": "辨证准确, 针法规范"}, http.StatusOK)
	done := s.command(&lead, m+"/complete", map[string]any{}, http.StatusOK)
	s.refused(&ln, http.MethodPost, m+"/sessions", map[string]any{"kind": "joint_consult", "durationMinutes": 60}, http.StatusConflict, "forbidden_transition")

	view := s.get(&ln, after(m, done.Position), nil)
	if str(view, "status") != "completed" || num(view, "counts", "sessions") != 2 || num(view, "counts", "patients") != 23 || str(view, "latestAssessment", "outcome") != "excellent" {
		t.Fatalf("mentorship view: %v", view)
	}
	s.refused(&sy, http.MethodGet, m, nil, http.StatusForbidden, "forbidden")
	s.refused(&ln, http.MethodGet, "/v1/alliances/"+alliance+"/mentorships", nil, http.StatusForbidden, "forbidden")
	s.refused(&sy, http.MethodGet, "/v1/hospitals/"+luonan+"/mentorships", nil, http.StatusForbidden, "forbidden")
	programmes := s.get(&lead, "/v1/alliances/"+alliance+"/mentorships", nil)
	if num(programmes, "programmes", "0", "completed") != 1 || len(list(programmes, "mentorships")) != 1 {
		t.Fatalf("alliance mentorships: %v", programmes)
	}
	s.get(&auditor, m, nil)
	if len(list(s.get(&sy, "/v1/practitioners/"+apprentice+"/mentorships", nil), "items")) != 0 {
		t.Fatal("another member sees a practitioner's mentorships")
	}
	if len(list(s.get(&ln, "/v1/hospitals/"+luonan+"/mentorships", nil), "items")) != 1 {
		t.Fatal("珞南 lists its apprentice's mentorship")
	}

	// 进修: 珞南's doctor studies at 湖北省中医院 for three months; 派一送一: the mentor
	// is posted to 首义路 and the posting is called off.
	start := time.Now().Add(-80 * 24 * time.Hour).UTC().Truncate(time.Hour)
	period := map[string]string{"start": start.Format(time.RFC3339), "end": start.Add(90 * 24 * time.Hour).Format(time.RFC3339)}
	p := "/v1/placements/" + s.command(&lead, "/v1/placements", map[string]any{"allianceId": alliance, "kind": "study", "programme": "社区医生进修",
		"cohort": "第一批", "practitionerId": apprentice, "hostDepartmentId": "tcm", "period": period}, http.StatusCreated).ID
	s.command(&ln, p+"/arrive", map[string]any{"at": start.Format(time.RFC3339)}, http.StatusOK)
	s.refused(&lead, http.MethodPost, p+"/evaluate", map[string]any{"outcome": "pass", "comment": "好"}, http.StatusConflict, "forbidden_transition")
	s.command(&lead, p+"/complete", map[string]any{}, http.StatusOK)
	s.refused(&ln, http.MethodPost, p+"/evaluate", map[string]any{"outcome": "pass", "comment": "好"}, http.StatusForbidden, "forbidden")
	ev := s.command(&lead, p+"/evaluate", map[string]any{"outcome": "pass", "comment": "中医适宜技术掌握良好"}, http.StatusOK)
	s.refused(&lead, http.MethodPost, "/v1/placements", map[string]any{"allianceId": alliance, "kind": "study", "programme": "进修",
		"practitionerId": foreign, "hostDepartmentId": "tcm", "period": period}, http.StatusUnprocessableEntity, "not_member")
	posting := s.command(&lead, "/v1/placements", map[string]any{"allianceId": alliance, "kind": "posting", "programme": "派一送一",
		"practitionerId": mentor, "hostHospitalId": shouyi, "hostDepartmentId": "general-practice",
		"period": map[string]string{"start": time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339), "end": time.Now().Add(97 * 24 * time.Hour).UTC().Format(time.RFC3339)}}, http.StatusCreated)
	s.refused(&ln, http.MethodPost, "/v1/placements/"+posting.ID+"/cancel", map[string]any{"reason": "x"}, http.StatusForbidden, "forbidden")
	last := s.command(&sy, "/v1/placements/"+posting.ID+"/cancel", map[string]any{"reason": "科室人手不足"}, http.StatusOK)
	pv := s.get(&ln, after(p, ev.Position), nil)
	if str(pv, "status") != "completed" || str(pv, "evaluationOutcome") != "pass" || str(pv, "arrivedAt") == "" {
		t.Fatalf("placement view: %v", pv)
	}
	cohorts := s.get(&auditor, after("/v1/alliances/"+alliance+"/placements", last.Position), nil)
	if len(list(cohorts, "placements")) != 2 || len(list(cohorts, "cohorts")) != 2 {
		t.Fatalf("alliance placements: %v", cohorts)
	}
	s.refused(&sy, http.MethodGet, p, nil, http.StatusForbidden, "forbidden")
	s.refused(&sy, http.MethodGet, "/v1/alliances/"+alliance+"/placements", nil, http.StatusForbidden, "forbidden")

	// A visit report counts the patients seen and admitted.
	window := map[string]string{"start": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "end": time.Now().Add(7 * time.Hour).UTC().Format(time.RFC3339)}
	d := "/v1/dispatches/" + s.command(&ln, "/v1/dispatches", map[string]any{"allianceId": alliance, "kind": "clinic", "specialty": "中医", "window": window}, http.StatusCreated).ID
	s.command(&lead, d+"/assign", map[string]any{"expertId": mentor}, http.StatusOK)
	s.command(&ln, d+"/check-in", nil, http.StatusOK)
	s.refused(&lead, http.MethodPost, d+"/report", map[string]any{"patientsSeen": 5, "patientsAdmitted": 6, "summary": "x"}, http.StatusBadRequest, "invalid_input")
	rep := s.command(&lead, d+"/report", map[string]any{"patientsSeen": 43, "patientsAdmitted": 5, "proceduresGuided": 3, "teachingSessions": 1, "summary": "义诊坐诊"}, http.StatusOK)
	dv := s.get(&ln, after(d, rep.Position), nil)
	if num(dv, "totals", "patientsSeen") != 43 || num(dv, "totals", "patientsAdmitted") != 5 {
		t.Fatalf("dispatch totals: %v", dv)
	}
}
