package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLeadDepartmentsJourney drives 李惠利医院's alliance over HTTP against the real
// binary: 消化内科 founds it and makes 胃肠外科 a second lead department; 北仑三院 asks each
// department for its expert studio and each assigns its own registered expert; a consult
// addressed to 胃肠外科 is answered by 胃肠外科, and 消化内科 is refused (403) accepting,
// answering it or assigning on 胃肠外科's dispatch; each department's consult queue holds
// its own consults. 胃肠外科 publishes reserved beds; 北仑三院 sees the free ones. The
// server runs with --referral-targets, and an emergency referral up to 胃肠外科 carries
// the configured acceptance deadline.
func TestLeadDepartmentsJourney(t *testing.T) {
	s := startServer(t, serverOptions{Extra: []string{"--referral-targets", "emergency=5m/45m"}})
	admin := s.token(platformID, "", "directory-admin", "admin")
	hospital := func(name, region, level string, depts ...map[string]string) string {
		return s.command(&admin, "/v1/hospitals", map[string]any{"name": name, "regionCode": region, "level": level, "departments": depts}, http.StatusCreated).ID
	}
	gastroDept := map[string]string{"id": "gastroenterology", "name": "消化内科"}
	surgeryDept := map[string]string{"id": "gi-surgery", "name": "胃肠外科"}
	lihuili := hospital("宁波市医疗中心李惠利医院", "330212", "tertiary", gastroDept, surgeryDept)
	beilun := hospital("宁波市北仑区第三人民医院", "330206", "secondary", gastroDept, surgeryDept)
	gastro := s.token(lihuili, "gastroenterology", "dr-shen", "lead")
	surgery := s.token(lihuili, "gi-surgery", "dr-qiu", "lead")
	bl := s.token(beilun, "gi-surgery", "beilun3-office", "member")
	al := s.command(&gastro, "/v1/alliances", map[string]any{"name": "李惠利医院医联体 (党建联盟)", "specialty": "gastroenterology", "kind": "city"}, http.StatusCreated).ID
	s.command(&gastro, "/v1/alliances/"+al+"/lead-departments", map[string]any{"departmentId": "gi-surgery"}, http.StatusOK)
	s.command(&surgery, "/v1/alliances/"+al+"/members", map[string]any{"hospitalId": beilun, "tier": "member"}, http.StatusOK)
	expert := func(u *user, dept, name, title string) string {
		return s.command(u, "/v1/practitioners", map[string]any{"hospitalId": lihuili, "departmentId": dept, "name": name, "title": title,
			"specialties": []string{dept}}, http.StatusCreated).ID
	}
	shen := expert(&gastro, "gastroenterology", "沈建伟", "主任医师")
	qiu := expert(&surgery, "gi-surgery", "裘丰", "主任医师")

	start := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	year := map[string]string{"start": start.Format(time.RFC3339), "end": start.Add(365 * 24 * time.Hour).Format(time.RFC3339)}
	studio := func(dept, specialty string) string {
		body := map[string]any{"allianceId": al, "kind": "workstation", "specialty": specialty, "window": year}
		if dept != "" {
			body["leadDepartmentId"] = dept
		}
		return s.command(&bl, "/v1/dispatches", body, http.StatusCreated).ID
	}
	s.refused(&bl, http.MethodPost, "/v1/dispatches", map[string]any{"allianceId": al, "kind": "workstation", "specialty": "cardiology",
		"window": year, "leadDepartmentId": "cardiology"}, http.StatusBadRequest, "invalid_input")
	qiuStudio := studio("gi-surgery", "gastrointestinal surgery")
	s.refused(&gastro, http.MethodPost, "/v1/dispatches/"+qiuStudio+"/assign", map[string]any{"expertId": qiu}, http.StatusForbidden, "forbidden")
	assigned := s.command(&surgery, "/v1/dispatches/"+qiuStudio+"/assign", map[string]any{"expertId": qiu}, http.StatusOK)
	shenStudio := studio("", "gastroenterology (endoscopy)") // no department: the founding one, as before
	s.refused(&surgery, http.MethodPost, "/v1/dispatches/"+shenStudio+"/assign", map[string]any{"expertId": shen}, http.StatusForbidden, "forbidden")
	s.command(&gastro, "/v1/dispatches/"+shenStudio+"/assign", map[string]any{"expertId": shen}, http.StatusOK)
	d := s.get(&bl, after("/v1/dispatches/"+qiuStudio, assigned.Position), nil)
	if str(d, "leadDepartmentId") != "gi-surgery" || str(d, "expertName") != "裘丰" {
		t.Fatalf("胃肠外科's studio: %v", d)
	}
	s.get(&surgery, "/v1/experts/"+qiu+"/calendar", nil)

	consult := func(dept, question string) string {
		body := map[string]any{"allianceId": al, "specialty": dept, "urgency": "urgent", "question": question,
			"consentRef": "BL3-CONSENT-" + dept, "medicalRecordNumber": "BL3-E2E-" + dept}
		if dept != "gastroenterology" {
			body["leadDepartmentId"] = dept
		}
		return s.command(&bl, "/v1/consults", body, http.StatusCreated).ID
	}
	toSurgery := consult("gi-surgery", "乙状结肠癌根治术后第 4 周, 辅助化疗方案?")
	toGastro := consult("gastroenterology", "胃窦 0-IIc 病变, 能否行 ESD?")
	s.refused(&gastro, http.MethodPost, "/v1/consults/"+toSurgery+"/accept", map[string]any{}, http.StatusForbidden, "forbidden")
	s.command(&surgery, "/v1/consults/"+toSurgery+"/accept", map[string]any{}, http.StatusOK)
	opinion := map[string]any{"text": "CAPOX 辅助化疗 3 个月, 在北仑三院完成", "recommendations": []string{"CEA 每 3 个月"}}
	s.refused(&gastro, http.MethodPost, "/v1/consults/"+toSurgery+"/opinion", opinion, http.StatusForbidden, "forbidden")
	answered := s.command(&surgery, "/v1/consults/"+toSurgery+"/opinion", opinion, http.StatusOK)
	queue := func(u *user, query string) []string {
		var ids []string
		for _, it := range list(s.get(u, after("/v1/alliances/"+al+"/consults?status=all"+query, answered.Position), nil), "items") {
			ids = append(ids, str(it, "consultId")+"@"+str(it, "leadDepartmentId"))
		}
		return ids
	}
	if got := queue(&surgery, ""); len(got) != 1 || got[0] != toSurgery+"@gi-surgery" {
		t.Errorf("胃肠外科's queue: %v", got)
	}
	if got := queue(&gastro, ""); len(got) != 1 || got[0] != toGastro+"@gastroenterology" {
		t.Errorf("消化内科's queue: %v", got)
	}
	if got := queue(&gastro, "&department=all"); len(got) != 2 {
		t.Errorf("every queue: %v", got)
	}

	bed := start.Add(24 * time.Hour)
	pub := s.command(&surgery, "/v1/reserved-slots", map[string]any{"allianceId": al, "slots": []map[string]any{
		{"kind": "bed", "window": map[string]string{"start": bed.Format(time.RFC3339), "end": bed.Add(5 * 24 * time.Hour).Format(time.RFC3339)}}}}, http.StatusCreated)
	slots := s.get(&bl, after("/v1/hospitals/"+lihuili+"/departments/gi-surgery/reserved-slots?allianceId="+al, pub.Position), nil)
	if num(slots, "total") != 1 || str(slots, "items", "0", "status") != "free" {
		t.Fatalf("北仑三院's view of 胃肠外科's beds: %v", slots)
	}
	ref := s.command(&bl, "/v1/referrals", map[string]any{"allianceId": al, "direction": "up", "toDepartmentId": "gi-surgery", "urgency": "emergency",
		"reason": "术后吻合口瘘", "clinicalSummary": "术后第 6 天发热, 腹腔引流液浑浊", "medicalRecordNumber": "BL3-E2E-R1"}, http.StatusCreated)
	r := s.get(&bl, after("/v1/referrals/"+ref.ID, ref.Position), nil)
	requested, _ := time.Parse(time.RFC3339Nano, str(r, "requestedAt"))
	deadline, _ := time.Parse(time.RFC3339Nano, str(r, "acceptDeadline"))
	if deadline.Sub(requested) != 5*time.Minute {
		t.Fatalf("emergency acceptance target %s, want the configured 5m: %v", deadline.Sub(requested), r)
	}
}

// TestReferralTargetsRefusedAtStart: a referral policy the domain would refuse stops the
// binary at start with a message naming the flag, before it serves anything.
func TestReferralTargetsRefusedAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--referral-targets", "emergency=2h/1h")
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatal("the server started with an emergency referral admitted before it is accepted")
	}
	if err == nil || !strings.Contains(out.String(), "--referral-targets") || !strings.Contains(out.String(), "no later than it admits") {
		t.Fatalf("exit %v, output %q: want a failure naming --referral-targets", err, out.String())
	}
}
