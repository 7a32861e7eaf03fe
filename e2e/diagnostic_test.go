package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

var ecgFile = []map[string]any{{"name": "12导联心电图.xml", "mediaType": "text/xml",
	"sha256": strings.Repeat("3f", 32), "sizeBytes": 48000, "link": "https://ecg.hengkou.example.cn/studies/7f3a"}}

func ecgReport(critical bool) map[string]any {
	r := map[string]any{"findings": []map[string]any{{"item": "rhythm", "value": "窦性心律"}, {"item": "rate", "value": "98", "unit": "bpm"},
		{"item": "st_t", "value": "II、III、aVF 导联 ST 段抬高 0.3 mV", "flag": map[bool]string{true: "critical", false: "abnormal"}[critical]}},
		"impression": "急性下壁 ST 段抬高型心肌梗死"}
	if critical {
		r["critical"] = map[string]any{"finding": "急性下壁 STEMI"}
	}
	return r
}

// TestDiagnosticJourney drives the remote ECG centre against the real binary, whose
// critical-value timer runs with a 2-second acknowledgement time checked every 200 ms:
// 梅子铺's STEMI read by 恒口's centre, flagged critical, acknowledged within the time and
// referred up as an emergency; a QC send-back and resubmission; an amendment; a critical
// value nobody acknowledges, escalated by the server's timer; and results recognised
// along the patient's referral chain: 大同, to which the county later refers the patient
// down, reads the report, 关庙 (same alliance, not in the chain) and an outside hospital
// are refused.
func TestDiagnosticJourney(t *testing.T) {
	s := startServer(t, serverOptions{Extra: []string{"--critical-ack", "2s", "--critical-check-every", "200ms"}})
	admin := s.token(platformID, "", "directory-admin", "admin")
	auditor := s.token(platformID, "", "qc-auditor", "auditor")
	hospital := func(name, level string, depts ...map[string]string) string {
		return s.command(&admin, "/v1/hospitals", map[string]any{"name": name, "regionCode": "610902", "level": level, "departments": depts}, http.StatusCreated).ID
	}
	cardio := map[string]string{"id": "cardiology", "name": "心血管内科"}
	ecgRoom := map[string]string{"id": "ecg-room", "name": "心电图室"}
	gp := map[string]string{"id": "general-practice", "name": "全科医学科"}
	county := hospital("安康市恒口示范区中心医院", "secondary", cardio, ecgRoom)
	meizipu := hospital("恒口示范区梅子铺镇卫生院", "community", gp)
	datong := hospital("恒口示范区大同镇卫生院", "community", gp)
	guanmiao := hospital("恒口示范区关庙镇卫生院", "community", gp)
	outsider := hospital("外县人民医院", "secondary", gp)
	lead := s.token(county, "cardiology", "hengkou-community-office", "lead")
	ecgDesk := s.token(county, "ecg-room", "hengkou-ecg-duty", "lead")
	mzp := s.token(meizipu, "general-practice", "meizipu-duty-doctor", "member")
	dt := s.token(datong, "general-practice", "datong-gp", "member")
	gm := s.token(guanmiao, "general-practice", "guanmiao-gp", "member")
	out := s.token(outsider, "general-practice", "outsider-gp", "member")
	alliance := s.command(&lead, "/v1/alliances", map[string]any{"name": "恒口示范区紧密型县域医共体", "specialty": "general", "kind": "county"}, http.StatusCreated).ID
	for _, h := range []string{meizipu, datong, guanmiao} {
		s.command(&lead, "/v1/alliances/"+alliance+"/members", map[string]any{"hospitalId": h, "tier": "community"}, http.StatusOK)
	}
	centre := s.command(&lead, "/v1/centres", map[string]any{"allianceId": alliance, "kind": "ecg", "name": "恒口心电一张网远程心电诊断中心",
		"departmentId": "ecg-room"}, http.StatusCreated).ID
	reader := s.command(&ecgDesk, "/v1/practitioners", map[string]any{"hospitalId": county, "departmentId": "ecg-room", "name": "陈心怡",
		"title": "主任医师", "specialties": []string{"心电诊断"}}, http.StatusCreated).ID
	s.command(&ecgDesk, "/v1/centres/"+centre+"/readers", map[string]any{"practitionerId": reader}, http.StatusOK)
	now := time.Now().UTC()
	s.command(&ecgDesk, "/v1/centres/"+centre+"/shifts", map[string]any{"practitionerId": reader, "window": map[string]string{
		"start": now.Add(-time.Hour).Format(time.RFC3339), "end": now.Add(12 * time.Hour).Format(time.RFC3339)}}, http.StatusCreated)
	submit := func(u *user, mrn string) cmdResult {
		return s.command(u, "/v1/diagnostics", map[string]any{"centreId": centre, "modality": "12导联静息心电图", "clinicalQuestion": "胸痛 40 分钟",
			"urgency": "emergency", "medicalRecordNumber": mrn, "attachments": ecgFile}, http.StatusCreated)
	}

	// 1. 梅子铺's ECG goes to the reader on duty, is read and flagged critical; the
	// township acknowledges at once and refers the patient up as an emergency.
	a := submit(&mzp, "MZP-E2E-0602")
	study := "/v1/diagnostics/" + a.ID
	v := s.get(&mzp, after(study, a.Position), nil)
	if str(v, "status") != "assigned" || str(v, "readerId") != reader || strings.Contains(mustJSON(t, v), "MZP-E2E-0602") {
		t.Fatalf("submitted study: %v", v)
	}
	rep := s.command(&ecgDesk, study+"/report", ecgReport(true), http.StatusOK)
	inbox := s.get(&mzp, after("/v1/hospitals/"+meizipu+"/critical-values", rep.Position), nil)
	if num(inbox, "pending") != 1 || str(inbox, "studies", "0", "requestId") != a.ID {
		t.Fatalf("梅子铺's critical inbox: %v", inbox)
	}
	s.command(&mzp, study+"/critical/acknowledge", map[string]any{"note": "已电话确认, 双抗负荷"}, http.StatusOK)
	refer := s.request(&mzp, http.MethodPost, study+"/critical/referral", map[string]any{"toDepartmentId": "cardiology", "clinicalSummary": "下壁 STEMI, 120 转运"})
	var referred struct {
		ReferralID string `json:"referralId"`
		Position   uint64 `json:"position"`
	}
	if refer.Status != http.StatusOK || jsonInto(refer.Body, &referred) != nil || referred.ReferralID == "" {
		t.Fatalf("refer on the critical value: %d %s", refer.Status, refer.Body)
	}
	r := s.get(&lead, after("/v1/referrals/"+referred.ReferralID, referred.Position), nil)
	if str(r, "urgency") != "emergency" || str(r, "links", "reportId") != a.ID || str(r, "toHospitalId") != county {
		t.Fatalf("the STEMI referral: %v", r)
	}
	v = s.get(&mzp, after(study, referred.Position), nil)
	if str(v, "criticalValues", "0", "status") != "acknowledged" || str(v, "criticalValues", "0", "referralId") != referred.ReferralID {
		t.Fatalf("critical value after acknowledgement: %v", field(v, "criticalValues"))
	}

	// 2. An amendment is a new version with its reason.
	am := s.command(&ecgDesk, study+"/amend", map[string]any{"reason": "补充右室导联 V4R ST 段抬高", "findings": ecgReport(true)["findings"],
		"impression": "急性下壁合并右室心肌梗死"}, http.StatusOK)
	v = s.get(&mzp, after(study, am.Position), nil)
	if num(v, "report", "version") != 2 || str(v, "report", "amendmentReason") == "" || len(list(v, "versions")) != 2 {
		t.Fatalf("amended report: %v", field(v, "report"))
	}

	// 3. Quality control sends an unreadable tracing back; the township resubmits.
	b := submit(&mzp, "MZP-E2E-0603")
	sb := s.command(&ecgDesk, "/v1/diagnostics/"+b.ID+"/send-back", map[string]any{"reasonCode": "unreadable", "reason": "基线漂移严重, 无法判读"}, http.StatusOK)
	s.refused(&ecgDesk, http.MethodPost, "/v1/diagnostics/"+b.ID+"/report", ecgReport(false), http.StatusConflict, "forbidden_transition")
	pending := s.get(&mzp, fmt.Sprintf("/v1/hospitals/%s/diagnostics?status=pending&minPosition=%d", meizipu, sb.Position), nil)
	if str(pending, "items", "0", "status") != "sent_back" || str(pending, "items", "0", "sentBack", "reasonCode") != "unreadable" {
		t.Fatalf("梅子铺's pending studies: %v", pending)
	}
	s.command(&mzp, "/v1/diagnostics/"+b.ID+"/resubmit", map[string]any{"note": "重新描记"}, http.StatusOK)
	rb := s.command(&ecgDesk, "/v1/diagnostics/"+b.ID+"/report", ecgReport(false), http.StatusOK)
	v = s.get(&mzp, after("/v1/diagnostics/"+b.ID, rb.Position), nil)
	if str(v, "status") != "reported" || num(v, "sendBacks") != 1 {
		t.Fatalf("resubmitted study: %v", v)
	}

	// 4. A critical value nobody acknowledges escalates by the server's own timer.
	c := submit(&mzp, "MZP-E2E-0604")
	rc := s.command(&ecgDesk, "/v1/diagnostics/"+c.ID+"/report", ecgReport(true), http.StatusOK)
	flagged := time.Now()
	var cv map[string]any
	for {
		v = s.get(&mzp, after("/v1/diagnostics/"+c.ID, rc.Position), nil)
		if str(v, "criticalValues", "0", "status") == "escalated" {
			cv = field(v, "criticalValues", "0").(map[string]any)
			break
		}
		if time.Since(flagged) > 15*time.Second {
			t.Fatalf("the critical value did not escalate: %v", field(v, "criticalValues"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	esc, _ := time.Parse(time.RFC3339Nano, cv["escalatedAt"].(string))
	dl, _ := time.Parse(time.RFC3339Nano, cv["ackDeadline"].(string))
	if !esc.After(dl) || esc.Sub(dl) > 5*time.Second || cv["escalatedTo"] != "department_head" {
		t.Fatalf("escalation: %v", cv)
	}
	board := s.get(&ecgDesk, "/v1/centres/"+centre+"/critical-values", nil)
	if num(board, "escalated") != 1 || num(board, "overdue") != 1 {
		t.Fatalf("the centre's board: %v", board)
	}
	ta := s.get(&ecgDesk, "/v1/centres/"+centre+"/turnaround", nil)
	if num(ta, "reported") != 3 || num(ta, "criticalValues", "escalated") != 1 || num(ta, "criticalValues", "acknowledgedWithinTarget") != 1 {
		t.Fatalf("turnaround: %v", ta)
	}
	audit := s.get(&auditor, "/v1/audit/streams/diagnostic-"+c.ID, nil)
	var types []string
	for _, e := range list(audit, "events") {
		types = append(types, str(e, "type"))
	}
	if got := strings.Join(types, ","); !strings.HasSuffix(got, "DiagnosticReported,CriticalValueFlagged,CriticalValueEscalated") {
		t.Fatalf("the study's history: %s", got)
	}

	// 5. Results recognised along the referral chain only.
	s.refused(&dt, http.MethodGet, study, nil, http.StatusForbidden, "forbidden")
	patient := str(s.get(&mzp, study, nil), "patientRef")
	down := s.command(&lead, "/v1/referrals", map[string]any{"allianceId": alliance, "direction": "down", "toHospitalId": datong,
		"urgency": "routine", "reason": "PCI 术后康复", "clinicalSummary": "急诊 PCI 术后第 5 天, 平稳", "patientRef": patient}, http.StatusCreated)
	got := s.get(&dt, after(study, down.Position), nil)
	if str(got, "report", "impression") == "" {
		t.Fatalf("大同 reads the report of the patient referred to it: %v", got)
	}
	s.refused(&gm, http.MethodGet, study, nil, http.StatusForbidden, "forbidden")
	e := s.refused(&out, http.MethodGet, study, nil, http.StatusForbidden, "forbidden")
	if strings.Contains(e.Message, meizipu) || strings.Contains(e.Message, county) {
		t.Fatalf("the 403 names a hospital: %+v", e)
	}
	s.get(&auditor, study, nil)
	s.refused(&gm, http.MethodGet, "/v1/centres/"+centre+"/worklist", nil, http.StatusForbidden, "forbidden")
	s.refused(&out, http.MethodPost, "/v1/diagnostics", map[string]any{"centreId": centre, "modality": "ECG", "clinicalQuestion": "q",
		"urgency": "routine", "medicalRecordNumber": "X-1", "attachments": ecgFile}, http.StatusUnprocessableEntity, "not_member")
}

// TestDiagnosticDemo checks the demo's diagnostic scenarios on the served views:
// 梅子铺's ECG read by 恒口's centre, the acute MI flagged critical, acknowledged within
// minutes and the patient referred up and admitted; 松江's five centres with the
// district's 20 institutions sending work (15 reported, 5 on the worklists).
func TestDiagnosticDemo(t *testing.T) {
	srv := startServer(t, serverOptions{Subcommand: "demo"})
	auditor := srv.token(platformID, "", "qc-auditor", "auditor")
	events := readLog(t, srv, &auditor)
	head := events[len(events)-1].Position
	type centre struct{ id, kind, operator, dept string }
	var centres []centre
	submitted := map[string]string{} // study -> sender
	var acknowledged string
	for _, e := range events {
		var p map[string]any
		if jsonInto(e.Data, &p) != nil {
			continue
		}
		switch e.Type {
		case "CentreOpened":
			centres = append(centres, centre{str(p, "centreId"), str(p, "kind"), str(p, "operatorHospitalId"), str(p, "departmentId")})
		case "DiagnosticSubmitted":
			// The report demo's year of ECG studies (demo_report.go) lies more than a day back.
			if at, err := time.Parse(time.RFC3339Nano, str(p, "submittedAt")); err == nil && at.Before(time.Now().Add(-24*time.Hour)) {
				continue
			}
			submitted[str(p, "requestId")] = str(p, "fromHospitalId")
		case "CriticalValueAcknowledged":
			if _, ok := submitted[str(p, "requestId")]; ok {
				acknowledged = str(p, "requestId")
			}
		}
	}
	if len(centres) != 6 || len(submitted) != 21 || acknowledged == "" {
		t.Fatalf("demo: %d centres, %d studies, acknowledged %q; want 6 (恒口 + 松江's five), 21, the STEMI", len(centres), len(submitted), acknowledged)
	}
	township := srv.token(submitted[acknowledged], "general-practice", "meizipu-duty-doctor", "member")
	stemi := srv.get(&township, after("/v1/diagnostics/"+acknowledged, head), nil)
	cv := field(stemi, "criticalValues", "0").(map[string]any)
	flaggedAt, _ := time.Parse(time.RFC3339Nano, cv["flaggedAt"].(string))
	ackAt, _ := time.Parse(time.RFC3339Nano, cv["acknowledgedAt"].(string))
	if str(stemi, "status") != "reported" || !strings.Contains(str(stemi, "report", "impression"), "STEMI") || cv["status"] != "acknowledged" ||
		ackAt.Sub(flaggedAt) > 10*time.Minute || cv["referralId"] == nil {
		t.Fatalf("梅子铺's ECG: %v", stemi)
	}
	ref := srv.get(&township, after("/v1/referrals/"+cv["referralId"].(string), head), nil)
	if str(ref, "status") != "admitted" || str(ref, "urgency") != "emergency" || str(ref, "links", "reportId") != acknowledged {
		t.Fatalf("the STEMI referral: %v", ref)
	}
	open, kinds := 0.0, map[string]bool{}
	for _, c := range centres[1:] {
		staff := srv.token(c.operator, c.dept, "centre-office", "member")
		w := srv.get(&staff, after("/v1/centres/"+c.id+"/worklist", head), nil)
		open += num(w, "open")
		kinds[c.kind] = true
		ta := srv.get(&staff, "/v1/centres/"+c.id+"/turnaround", nil)
		if num(ta, "reported") != 3 {
			t.Errorf("松江 %s centre reported %v studies, want 3", c.kind, num(ta, "reported"))
		}
	}
	if open != 5 || len(kinds) != 5 {
		t.Fatalf("松江's centres: %v open on the worklists, kinds %v; want 5 open across the five kinds", open, kinds)
	}
}
