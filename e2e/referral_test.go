package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestReferralJourney drives two-way referral over HTTP against the real binary: a
// township's green-channel referral up onto the lead's last reserved bed, the slot
// booked twice (refused: none left), admission within the targets, the completion
// that refers the patient back down, and the refusals: a referral to a non-member, a
// suspended member sending, a hospital that never held the patient reading its history.
func TestReferralJourney(t *testing.T) {
	s := startServer(t, serverOptions{})
	admin := s.token(platformID, "", "directory-admin", "admin")
	auditor := s.token(platformID, "", "qc-auditor", "auditor")
	hospital := func(name, level string, depts ...map[string]string) string {
		return s.command(&admin, "/v1/hospitals", map[string]any{"name": name, "regionCode": "310115", "level": level, "departments": depts}, http.StatusCreated).ID
	}
	er := map[string]string{"id": "emergency", "name": "急诊科"}
	rehab := map[string]string{"id": "rehabilitation", "name": "康复医学科"}
	renji := hospital("上海交通大学医学院附属仁济医院", "tertiary", er)
	punan := hospital("上海市浦东新区浦南医院", "secondary", er, rehab)
	dachang := hospital("上海市宝山区大场医院", "secondary", er)
	outsider := hospital("外省某医院", "secondary", er)
	lead := s.token(renji, "emergency", "renji-er", "lead")
	pn := s.token(punan, "emergency", "punan-er", "member")
	pnRehab := s.token(punan, "rehabilitation", "punan-rehab", "member")
	dc := s.token(dachang, "emergency", "dachang-er", "member")
	alliance := s.command(&lead, "/v1/alliances", map[string]any{"name": "仁济医院紧密型医联体", "specialty": "emergency", "kind": "city"}, http.StatusCreated).ID
	for _, h := range []string{punan, dachang} {
		s.command(&lead, "/v1/alliances/"+alliance+"/members", map[string]any{"hospitalId": h, "tier": "core"}, http.StatusOK)
	}
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Minute)
	s.command(&lead, "/v1/reserved-slots", map[string]any{"allianceId": alliance, "slots": []map[string]any{
		{"kind": "bed", "window": map[string]string{"start": start.Format(time.RFC3339), "end": start.Add(72 * time.Hour).Format(time.RFC3339)}}}}, http.StatusCreated)

	up := func(u *user, mrn string) cmdResult {
		return s.command(u, "/v1/referrals", map[string]any{"allianceId": alliance, "direction": "up", "urgency": "emergency",
			"reason": "腹主动脉瘤破裂", "clinicalSummary": "休克, 床旁超声示瘤体破裂", "medicalRecordNumber": mrn}, http.StatusCreated)
	}
	r1, r2 := up(&pn, "PN-E2E-1"), up(&dc, "DC-E2E-1")
	arrival := map[string]any{"expectedArrival": time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339), "reserve": true, "kind": "bed"}
	s.command(&lead, "/v1/referrals/"+r1.ID+"/accept", arrival, http.StatusOK)
	s.refused(&lead, http.MethodPost, "/v1/referrals/"+r2.ID+"/accept", arrival, http.StatusConflict, "no_capacity")
	s.command(&lead, "/v1/referrals/"+r1.ID+"/arrive", nil, http.StatusOK)
	s.command(&lead, "/v1/referrals/"+r1.ID+"/admit", nil, http.StatusOK)
	done := s.request(&lead, http.MethodPost, "/v1/referrals/"+r1.ID+"/complete", map[string]any{"summary": "腔内修复术后平稳",
		"returnDown": map[string]any{"toDepartmentId": "rehabilitation", "urgency": "routine", "reason": "康复", "clinicalSummary": "术后第 7 天"}})
	var back struct {
		ReferralID string `json:"referralId"`
		Position   uint64 `json:"position"`
	}
	if done.Status != http.StatusOK || jsonInto(done.Body, &back) != nil || back.ReferralID == "" {
		t.Fatalf("complete with a return: %d %s", done.Status, done.Body)
	}
	s.command(&pnRehab, "/v1/referrals/"+back.ReferralID+"/accept", map[string]any{"expectedArrival": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}, http.StatusOK)

	view := s.get(&pn, after("/v1/referrals/"+r1.ID, back.Position), nil)
	if str(view, "status") != "completed" || num(view, "admitMinutes") < 0 || num(view, "admitMinutes") > 60 || str(view, "slot", "kind") != "bed" {
		t.Fatalf("referral view: %v", view)
	}
	desk := s.get(&lead, "/v1/hospitals/"+renji+"/referral-desk", nil)
	if num(desk, "open") != 1 || str(desk, "referrals", "0", "referralId") != r2.ID {
		t.Fatalf("desk: %v", desk)
	}
	patient := str(view, "patientRef")
	if len(list(s.get(&pnRehab, "/v1/patients/"+patient+"/referrals", nil), "items")) != 2 {
		t.Fatal("浦南 sees the patient's two referrals")
	}
	s.get(&auditor, "/v1/patients/"+patient+"/referrals", nil)
	s.refused(&dc, http.MethodGet, "/v1/patients/"+patient+"/referrals", nil, http.StatusNotFound, "not_found")

	s.refused(&lead, http.MethodPost, "/v1/referrals", map[string]any{"allianceId": alliance, "direction": "down", "toHospitalId": outsider,
		"urgency": "routine", "reason": "康复", "clinicalSummary": "s", "medicalRecordNumber": "RJ-1"}, http.StatusUnprocessableEntity, "not_member")
	s.command(&lead, "/v1/alliances/"+alliance+"/members/"+dachang+"/suspend", map[string]any{"reason": "质控整改"}, http.StatusOK)
	s.refused(&dc, http.MethodPost, "/v1/referrals", map[string]any{"allianceId": alliance, "direction": "up", "urgency": "urgent",
		"reason": "r", "clinicalSummary": "s", "medicalRecordNumber": "DC-E2E-2"}, http.StatusUnprocessableEntity, "not_member")
}

func jsonInto(b []byte, v any) error { return json.Unmarshal(b, v) }
