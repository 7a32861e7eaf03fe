package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// platformID is the hospital claim of the directory administrator and the auditor: a
// health commission's quality-control centre, not a hospital of the directory.
const platformID = "01JE2E0PATF0RM000000000000"

// world is what a journey set up: the users and the ids they work with.
type world struct {
	admin, lead, memberA, memberB, auditor user
	leadHID, aHID, bHID                    string
	allianceID, protocolID                 string
	planID, plan2ID                        string
	dispatchID, consultID                  string
	expertID                               string
}

func TestJourneyEmbedded(t *testing.T) {
	srv := startServer(t, serverOptions{})
	w := journey(t, srv)
	restartKeepsEverything(t, srv, w)

	// Offline, `allianced verify` walks the same log and finds every chain intact.
	srv.stop()
	var rep struct {
		OK     bool   `json:"ok"`
		Events uint64 `json:"events"`
		Breaks []any  `json:"breaks"`
	}
	out := runCLI(t, "verify", "--data", srv.dataDir)
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || rep.Events == 0 || len(rep.Breaks) != 0 {
		t.Errorf("allianced verify: got %s (%v), want ok with events and no breaks", out, err)
	}
}

func TestJourneyRedis(t *testing.T) {
	url, ok := redisURL()
	if !ok {
		t.Skip("no Redis answers on 127.0.0.1:6379; the Redis-backed journey needs one")
	}
	prefix := "e2e-" + newKey()
	t.Cleanup(func() { cleanRedisPrefix(t, prefix) })
	srv := startServer(t, serverOptions{Redis: url, RedisPrefix: prefix})
	w := journey(t, srv)
	if n := len(redisKeys(t, prefix)); n == 0 {
		t.Errorf("Redis has no keys under the prefix %s after the journey; want the views there", prefix)
	}
	last := restartKeepsEverything(t, srv, w)

	// The views are disposable: drop them, rebuild them offline from the log with
	// `allianced rebuild`, and the service serves the same plan again.
	before := mustJSON(t, srv.get(&w.auditor, after("/v1/plans/"+w.planID, last), nil))
	srv.stop()
	cleanRedisPrefix(t, prefix)
	runCLI(t, "rebuild", "--data", srv.dataDir, "--redis", url, "--redis-prefix", prefix)
	if n := len(redisKeys(t, prefix)); n == 0 {
		t.Fatalf("allianced rebuild wrote no keys under %s", prefix)
	}
	srv.start()
	if got := mustJSON(t, srv.get(&w.auditor, after("/v1/plans/"+w.planID, last), nil)); got != before {
		t.Errorf("plan view after a rebuild:\n got %s\nwant %s", got, before)
	}
}

// journey drives the whole life of an alliance as its three kinds of user would.
func journey(t *testing.T, s *server) world {
	var w world
	w.admin = s.token(platformID, "", "directory-admin", "admin")
	w.auditor = s.token(platformID, "", "qc-auditor", "auditor")

	// The directory administrator registers the hospitals.
	hospital := func(name, region, level string) string {
		return s.command(&w.admin, "/v1/hospitals", map[string]any{"name": name, "regionCode": region, "level": level,
			"departments": []map[string]string{{"id": "hematology", "name": "血液科"}}}, http.StatusCreated).ID
	}
	w.leadHID = hospital("上海交通大学医学院附属瑞金医院", "310101", "tertiary")
	w.aHID = hospital("安康市中心医院", "610902", "tertiary")
	w.bHID = hospital("成都市金牛区人民医院", "510106", "secondary")
	w.lead = s.token(w.leadHID, "hematology", "zhao.lead", "lead")
	w.memberA = s.token(w.aHID, "hematology", "li.ward-a", "member")
	w.memberB = s.token(w.bHID, "hematology", "wang.ward-b", "member")

	t.Run("idempotent retry", func(t *testing.T) { idempotentRetry(t, s, &w) })

	// The lead department founds the alliance and admits two members.
	w.allianceID = s.command(&w.lead, "/v1/alliances", map[string]any{"name": "瑞金医院淋巴瘤专科联盟 (e2e)",
		"specialty": "lymphoma", "kind": "specialist"}, http.StatusCreated).ID
	s.command(&w.lead, "/v1/alliances/"+w.allianceID+"/members", map[string]any{"hospitalId": w.aHID, "tier": "core"}, http.StatusOK)
	adm := s.command(&w.lead, "/v1/alliances/"+w.allianceID+"/members", map[string]any{"hospitalId": w.bHID, "tier": "member"}, http.StatusOK)
	s.refused(&w.memberA, http.MethodPost, "/v1/alliances/"+w.allianceID+"/members", map[string]any{"hospitalId": w.bHID, "tier": "member"},
		http.StatusForbidden, "forbidden")
	members := s.get(&w.lead, after("/v1/alliances/"+w.allianceID+"/members", adm.Position), nil)
	if got := len(list(members, "items")); got != 2 {
		t.Fatalf("alliance members: got %d, want 2; body %v", got, members)
	}
	for _, m := range list(members, "items") {
		if str(m, "status") != "active" {
			t.Errorf("member %s: got status %q, want active", str(m, "hospitalId"), str(m, "status"))
		}
	}

	// The lead publishes R-CHOP; both members adopt it, A with a formulary deviation.
	w.protocolID = s.command(&w.lead, "/v1/alliances/"+w.allianceID+"/protocols",
		map[string]any{"title": "R-CHOP-21", "indication": "DLBCL"}, http.StatusCreated).ID
	s.command(&w.lead, "/v1/protocols/"+w.protocolID+"/versions", map[string]any{"eligibility": "CD20+ DLBCL",
		"steps": []map[string]any{
			{"stepId": "c1-rituximab", "dayOffset": 0, "activity": "Rituximab", "drug": "rituximab", "dose": "375 mg/m2", "route": "iv"},
			{"stepId": "c1-chop", "dayOffset": 1, "activity": "CHOP", "drug": "cyclophosphamide", "dose": "750 mg/m2", "route": "iv"},
			{"stepId": "c1-cbc", "dayOffset": 10, "activity": "Blood count at nadir"},
		}}, http.StatusOK)
	s.command(&w.memberA, "/v1/protocols/"+w.protocolID+"/adoptions", map[string]any{"version": 1}, http.StatusCreated)
	s.command(&w.memberB, "/v1/protocols/"+w.protocolID+"/adoptions", map[string]any{"version": 1}, http.StatusCreated)
	dev := s.command(&w.memberA, "/v1/protocols/"+w.protocolID+"/adoptions/"+w.aHID+"/deviations", map[string]any{
		"stepId": "c1-rituximab", "kind": "drug_substitution", "substitute": "rituximab biosimilar (HLX01)",
		"description": "the originator is not on our formulary"}, http.StatusOK)
	s.refused(&w.memberB, http.MethodPost, "/v1/protocols/"+w.protocolID+"/adoptions/"+w.aHID+"/deviations", map[string]any{
		"stepId": "c1-rituximab", "kind": "drug_substitution", "substitute": "x", "description": "y"}, http.StatusForbidden, "forbidden")
	matrix := s.get(&w.lead, after("/v1/alliances/"+w.allianceID+"/adoption-matrix", dev.Position), nil)
	if !strings.Contains(mustJSON(t, matrix), "HLX01") {
		t.Errorf("adoption matrix lacks member A's declared deviation; got %s", mustJSON(t, matrix))
	}

	// The lead initiates a plan for a patient and hands it over to member A.
	const mrn = "RJ-HEM-2026-0042"
	plan := s.command(&w.lead, "/v1/plans", map[string]any{"allianceId": w.allianceID, "protocolId": w.protocolID, "version": 1,
		"medicalRecordNumber": mrn, "startDate": "2026-11-23T00:00:00Z"}, http.StatusCreated)
	w.planID = plan.ID
	s.refused(&w.lead, http.MethodPost, "/v1/plans/"+w.planID+"/handover", map[string]any{"toHospitalId": platformID},
		http.StatusUnprocessableEntity, "not_member")
	s.refused(&w.memberA, http.MethodPost, "/v1/plans/"+w.planID+"/handover", map[string]any{"toHospitalId": w.aHID},
		http.StatusForbidden, "forbidden")
	ho := s.command(&w.lead, "/v1/plans/"+w.planID+"/handover", map[string]any{"toHospitalId": w.aHID}, http.StatusOK)
	view := s.get(&w.memberA, after("/v1/plans/"+w.planID, ho.Position), nil)
	if got := str(view, "responsibleHospitalId"); got != w.aHID {
		t.Errorf("plan after handover: responsible %q, want member A %q", got, w.aHID)
	}
	if ref := str(view, "patientRef"); !strings.HasPrefix(ref, "pr_") || strings.Contains(mustJSON(t, view), mrn) {
		t.Errorf("plan view: patientRef %q must be pseudonymous and the record number must not appear", ref)
	}
	if strings.Contains(s.out.String(), mrn) {
		t.Errorf("the service logged the medical record number %q; output:\n%s", mrn, s.out.String())
	}
	if f := fileContaining(t, s.dataDir, mrn); f != "" {
		t.Errorf("the medical record number %q is stored in %s", mrn, f)
	}

	// Member A watches the plan live, records a step and reads its own write.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events := s.subscribe(ctx, &w.memberA, "/v1/plans/"+w.planID+"/stream")
	step := s.command(&w.memberA, "/v1/plans/"+w.planID+"/steps/c1-rituximab/complete",
		map[string]any{"administeredDose": "600 mg (HLX01)", "notes": "tolerated well"}, http.StatusOK)
	waitSSE(t, events, "the completed step c1-rituximab", func(doc map[string]any) bool {
		return stepStatus(doc, "c1-rituximab") == "completed"
	})
	view = s.get(&w.memberA, after("/v1/plans/"+w.planID, step.Position), nil)
	if got := stepStatus(view, "c1-rituximab"); got != "completed" {
		t.Errorf("read-your-writes: step c1-rituximab got %q at minPosition %d, want completed", got, step.Position)
	}
	if uint64(num(view, "position")) < step.Position {
		t.Errorf("read-your-writes: view position %v is before the command's %d", num(view, "position"), step.Position)
	}

	// Member B may not read member A's patient; an auditor may.
	s.refused(&w.memberB, http.MethodGet, "/v1/plans/"+w.planID, nil, http.StatusForbidden, "forbidden")
	s.get(&w.auditor, "/v1/plans/"+w.planID, nil)
	s.refused(&w.auditor, http.MethodPost, "/v1/plans/"+w.planID+"/steps/c1-chop/complete", map[string]any{}, http.StatusForbidden, "forbidden")

	// The lead revises; A reports a deviation, the lead acknowledges it; A escalates.
	stale := s.refused(&w.lead, http.MethodPost, "/v1/plans/"+w.planID+"/revisions", map[string]any{"reason": "edit based on an old read",
		"changes": []map[string]any{{"action": "cancel", "stepId": "c1-cbc"}}}, http.StatusConflict, "conflict", "If-Match", `"0"`)
	if stale.Details == nil {
		t.Errorf("a stale If-Match: the conflict should say the current version; got %+v", stale)
	}
	rev := s.command(&w.lead, "/v1/plans/"+w.planID+"/revisions", map[string]any{"reason": "move the nadir count to day 8",
		"changes": []map[string]any{{"action": "modify", "stepId": "c1-cbc", "dayOffset": 8, "activity": "Blood count (day 8)"}}}, http.StatusOK)
	devRes := s.command(&w.memberA, "/v1/plans/"+w.planID+"/deviations", map[string]any{"stepId": "c1-chop",
		"description": "cyclophosphamide reduced to 75%: ANC 1.1", "severity": "major"}, http.StatusCreated)
	if devRes.DeviationID == "" {
		t.Fatalf("deviation report: no deviationId in the response")
	}
	s.command(&w.lead, "/v1/plans/"+w.planID+"/deviations/"+devRes.DeviationID+"/acknowledge", map[string]any{"note": "agreed"}, http.StatusOK)
	s.refused(&w.memberB, http.MethodPost, "/v1/plans/"+w.planID+"/escalate", map[string]any{"reason": "x", "urgent": true},
		http.StatusForbidden, "forbidden")
	esc := s.command(&w.memberA, "/v1/plans/"+w.planID+"/escalate", map[string]any{"urgent": true,
		"reason": "fever and neutropenia: green channel back to the lead"}, http.StatusOK)
	view = s.get(&w.lead, after("/v1/plans/"+w.planID, esc.Position), nil)
	if num(view, "revision") != 1 || len(list(view, "deviations")) != 1 || num(view, "openDeviations") != 0 {
		t.Errorf("plan after revision and acknowledged deviation: revision %v, deviations %d, open %v; want 1, 1, 0",
			num(view, "revision"), len(list(view, "deviations")), num(view, "openDeviations"))
	}
	if str(view, "responsibleHospitalId") != w.leadHID || field(view, "escalations", "0", "urgent") != true {
		t.Errorf("plan after the urgent escalation: responsible %q, escalations %v; want the lead, one urgent",
			str(view, "responsibleHospitalId"), field(view, "escalations"))
	}
	if rev.Position >= esc.Position {
		t.Errorf("positions must grow: revision %d, escalation %d", rev.Position, esc.Position)
	}

	t.Run("dispatch overlap", func(t *testing.T) { dispatchOverlap(t, s, &w) })
	t.Run("emergency consult", func(t *testing.T) { emergencyConsult(t, s, &w) })
	t.Run("version withdrawn", func(t *testing.T) { versionWithdrawn(t, s, &w) })
	t.Run("membership", func(t *testing.T) { membership(t, s, &w) })
	t.Run("auditor", func(t *testing.T) { auditor(t, s, &w) })
	t.Run("metrics and openapi", func(t *testing.T) { metricsAndOpenAPI(t, s, &w) })
	return w
}

// idempotentRetry sends the same create twice with one Idempotency-Key: the same
// response, and one event in the log.
func idempotentRetry(t *testing.T, s *server, w *world) {
	key := newKey()
	body := map[string]any{"name": "宁波市北仑区第三人民医院", "regionCode": "330206", "level": "secondary",
		"departments": []map[string]string{{"id": "gastroenterology", "name": "消化内科"}}}
	first := s.request(&w.admin, http.MethodPost, "/v1/hospitals", body, "Idempotency-Key", key)
	second := s.request(&w.admin, http.MethodPost, "/v1/hospitals", body, "Idempotency-Key", key)
	if first.Status != http.StatusCreated {
		t.Fatalf("first create: got status %d, want 201; body %s", first.Status, first.Body)
	}
	if second.Status != first.Status || string(second.Body) != string(first.Body) {
		t.Errorf("retry with the same Idempotency-Key: got %d %s, want %d %s", second.Status, second.Body, first.Status, first.Body)
	}
	if second.Header.Get("ETag") != first.Header.Get("ETag") {
		t.Errorf("retry: ETag %q, want %q", second.Header.Get("ETag"), first.Header.Get("ETag"))
	}
	var res cmdResult
	if err := json.Unmarshal(first.Body, &res); err != nil {
		t.Fatalf("decode %s: %v", first.Body, err)
	}
	stream := s.get(&w.auditor, "/v1/audit/streams/hospital-"+res.ID, nil)
	if got := len(list(stream, "events")); got != 1 {
		t.Errorf("hospital stream after a retried create: got %d events, want 1", got)
	}
	// A retried step command: the same result, one event.
	third := s.request(&w.admin, http.MethodPost, "/v1/hospitals", body, "Idempotency-Key", newKey())
	if third.Status != http.StatusCreated || string(third.Body) == string(first.Body) {
		t.Errorf("a new key is a new hospital: got %d %s", third.Status, third.Body)
	}
}

// dispatchOverlap registers an expert in the lead hospital's directory and books the
// expert for two overlapping visits: the second is refused.
func dispatchOverlap(t *testing.T, s *server, w *world) {
	w.expertID = s.command(&w.lead, "/v1/practitioners", map[string]any{"hospitalId": w.leadHID, "departmentId": "hematology",
		"name": "赵维莅", "title": "主任医师", "specialties": []string{"淋巴瘤"}}, http.StatusCreated).ID
	day := time.Now().UTC().Add(48 * time.Hour).Truncate(24 * time.Hour)
	request := func(u *user, from, to time.Duration) string {
		return s.command(u, "/v1/dispatches", map[string]any{"allianceId": w.allianceID, "kind": "clinic", "specialty": "lymphoma",
			"window": map[string]any{"start": day.Add(from), "end": day.Add(to)}, "notes": "lymphoma clinic"}, http.StatusCreated).ID
	}
	w.dispatchID = request(&w.memberA, 9*time.Hour, 12*time.Hour)
	other := request(&w.memberB, 11*time.Hour, 14*time.Hour)
	assigned := s.command(&w.lead, "/v1/dispatches/"+w.dispatchID+"/assign", map[string]any{"expertId": w.expertID, "expertName": "赵维莅"}, http.StatusOK)
	e := s.refused(&w.lead, http.MethodPost, "/v1/dispatches/"+other+"/assign", map[string]any{"expertId": w.expertID},
		http.StatusConflict, "schedule_overlap")
	if field(e.Details, "clashingDispatchId") != w.dispatchID {
		t.Errorf("schedule_overlap details: got %v, want clashingDispatchId %s", e.Details, w.dispatchID)
	}
	cal := s.get(&w.lead, after("/v1/experts/"+w.expertID+"/calendar", assigned.Position), nil)
	if items := list(cal, "items"); len(items) != 1 || str(items[0], "dispatchId") != w.dispatchID {
		t.Errorf("expert calendar: got %v, want only dispatch %s", items, w.dispatchID)
	}
	// The calendar is the home hospital's, the dispatching leads' and auditors': not a member's.
	s.refused(&w.memberA, http.MethodGet, "/v1/experts/"+w.expertID+"/calendar", nil, http.StatusForbidden, "forbidden")
	d := s.get(&w.memberB, after("/v1/dispatches/"+other, assigned.Position), nil)
	if str(d, "status") != "requested" {
		t.Errorf("the refused dispatch: got status %q, want requested", str(d, "status"))
	}
}

// emergencyConsult: an emergency consult is due 30 minutes after the request.
func emergencyConsult(t *testing.T, s *server, w *world) {
	c := s.command(&w.memberA, "/v1/consults", map[string]any{"allianceId": w.allianceID, "specialty": "haematology",
		"urgency": "emergency", "question": "suspected tumour lysis after cycle 1: advise", "consentRef": "CONSENT-0042",
		"medicalRecordNumber": "AK-0042"}, http.StatusCreated)
	w.consultID = c.ID
	view := s.get(&w.memberA, after("/v1/consults/"+c.ID, c.Position), nil)
	requested, err1 := time.Parse(time.RFC3339Nano, str(view, "requestedAt"))
	deadline, err2 := time.Parse(time.RFC3339Nano, str(view, "deadline"))
	if err1 != nil || err2 != nil {
		t.Fatalf("consult view times: %v %v in %v", err1, err2, view)
	}
	if got := deadline.Sub(requested); got != 30*time.Minute {
		t.Errorf("emergency consult: deadline %v after the request, want 30m", got)
	}
	if view["crossRegion"] != true {
		t.Errorf("a consult from Ankang (6109) to Shanghai (3101) should be cross-region; got %v", view["crossRegion"])
	}
	s.refused(&w.memberB, http.MethodGet, "/v1/consults/"+c.ID, nil, http.StatusForbidden, "forbidden")
	open := s.get(&w.lead, after("/v1/alliances/"+w.allianceID+"/consults?status=open", c.Position), nil)
	if items := list(open, "items"); len(items) != 1 || str(items[0], "consultId") != c.ID {
		t.Errorf("the lead's open consults: got %v, want the emergency consult", items)
	}
	s.command(&w.lead, "/v1/consults/"+c.ID+"/accept", map[string]any{}, http.StatusOK)
	op := s.command(&w.lead, "/v1/consults/"+c.ID+"/opinion", map[string]any{"text": "hydrate, rasburicase, monitor K+ and creatinine",
		"recommendations": []string{"rasburicase 0.2 mg/kg"}, "adviseEscalation": false}, http.StatusOK)
	view = s.get(&w.memberA, after("/v1/consults/"+c.ID, op.Position), nil)
	if str(view, "status") != "answered" || view["withinDeadline"] != true {
		t.Errorf("consult after the opinion: status %q withinDeadline %v, want answered true", str(view, "status"), view["withinDeadline"])
	}
}

// versionWithdrawn: withdrawing a version flags every plan on it; a flagged plan takes
// no further dose.
func versionWithdrawn(t *testing.T, s *server, w *world) {
	p2 := s.command(&w.lead, "/v1/plans", map[string]any{"allianceId": w.allianceID, "protocolId": w.protocolID, "version": 1,
		"medicalRecordNumber": "RJ-HEM-2026-0043", "startDate": "2026-11-23T00:00:00Z"}, http.StatusCreated)
	w.plan2ID = p2.ID
	s.command(&w.lead, "/v1/plans/"+w.plan2ID+"/handover", map[string]any{"toHospitalId": w.bHID}, http.StatusOK)
	s.refused(&w.memberA, http.MethodPost, "/v1/protocols/"+w.protocolID+"/versions/1/withdraw", map[string]any{"reason": "x"},
		http.StatusForbidden, "forbidden")
	wd := s.command(&w.lead, "/v1/protocols/"+w.protocolID+"/versions/1/withdraw",
		map[string]any{"reason": "dosing table error in step c1-chop"}, http.StatusOK)
	for _, id := range []string{w.planID, w.plan2ID} {
		deadline := time.Now().Add(15 * time.Second)
		for {
			v := s.get(&w.auditor, after("/v1/plans/"+id, wd.Position), nil)
			if v["flagged"] == true {
				if str(v, "flags", "0", "kind") != "protocol_version_withdrawn" || num(v, "flags", "0", "version") != 1 {
					t.Errorf("plan %s flag: got %v, want protocol_version_withdrawn of version 1", id, field(v, "flags"))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("plan %s not flagged 15s after version 1 was withdrawn; view %v", id, v)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	s.refused(&w.memberB, http.MethodPost, "/v1/plans/"+w.plan2ID+"/steps/c1-rituximab/complete",
		map[string]any{"administeredDose": "600 mg"}, http.StatusConflict, "forbidden_transition")
	s.command(&w.memberB, "/v1/plans/"+w.plan2ID+"/steps/c1-rituximab/skip", map[string]any{"reason": "version withdrawn; awaiting revision"}, http.StatusOK)
	s.refused(&w.lead, http.MethodPost, "/v1/plans", map[string]any{"allianceId": w.allianceID, "protocolId": w.protocolID, "version": 1,
		"medicalRecordNumber": "RJ-HEM-2026-0044", "startDate": "2026-11-23T00:00:00Z"}, http.StatusConflict, "forbidden_transition")
	plans := s.get(&w.lead, after("/v1/protocols/"+w.protocolID+"/versions/1/plans", wd.Position), nil)
	if got := mustJSON(t, plans); !strings.Contains(got, w.planID) || !strings.Contains(got, w.plan2ID) {
		t.Errorf("plans on version 1: got %s, want both plans", got)
	}

	// The fix is a new version; revising the plan onto it clears the flag and treatment
	// goes on.
	s.command(&w.lead, "/v1/protocols/"+w.protocolID+"/versions", map[string]any{"eligibility": "CD20+ DLBCL",
		"changeNote": "corrected cyclophosphamide dose table",
		"steps": []map[string]any{
			{"stepId": "c1-rituximab", "dayOffset": 0, "activity": "Rituximab", "drug": "rituximab", "dose": "375 mg/m2", "route": "iv"},
			{"stepId": "c1-chop", "dayOffset": 1, "activity": "CHOP", "drug": "cyclophosphamide", "dose": "750 mg/m2 (max 2 g)", "route": "iv"},
			{"stepId": "c1-cbc-d7", "dayOffset": 7, "activity": "Blood count on day 7"},
		}}, http.StatusOK)
	// Member B holds plan 2 and still follows version 1: the move waits for its adoption.
	moveV2 := map[string]any{"reason": "move onto the corrected version 2", "version": 2}
	s.refused(&w.lead, http.MethodPost, "/v1/plans/"+w.plan2ID+"/revisions", moveV2, http.StatusConflict, "forbidden_transition")
	s.command(&w.memberB, "/v1/protocols/"+w.protocolID+"/adoptions/"+w.bHID+"/upgrade", map[string]any{"version": 2}, http.StatusOK)
	rev := s.command(&w.lead, "/v1/plans/"+w.plan2ID+"/revisions", moveV2, http.StatusOK)
	// Version 2 replaced the nadir count on day 10: that step is cancelled, not recordable.
	s.refused(&w.memberB, http.MethodPost, "/v1/plans/"+w.plan2ID+"/steps/c1-cbc/complete", map[string]any{},
		http.StatusConflict, "forbidden_transition")
	v := s.get(&w.memberB, after("/v1/plans/"+w.plan2ID, rev.Position), nil)
	if v["flagged"] != false || num(v, "protocol", "version") != 2 {
		t.Fatalf("plan 2 after the revision onto version 2: flagged %v, version %v; want false, 2", v["flagged"], num(v, "protocol", "version"))
	}
	next := str(v, "nextStep", "stepId")
	if next == "" {
		t.Fatalf("plan 2 after the revision: no next step in %v", v)
	}
	s.command(&w.memberB, "/v1/plans/"+w.plan2ID+"/steps/"+next+"/complete", map[string]any{"administeredDose": "1.2 g"}, http.StatusOK)
}

// membership: a suspended member can ask for nothing until it is reinstated; a token
// that is missing, forged or for an unknown role is refused.
func membership(t *testing.T, s *server, w *world) {
	base := "/v1/alliances/" + w.allianceID + "/members/" + w.bHID
	s.refused(&w.memberB, http.MethodPost, base+"/suspend", map[string]any{"reason": "x"}, http.StatusForbidden, "forbidden")
	susp := s.command(&w.lead, base+"/suspend", map[string]any{"reason": "quality review of the haematology ward"}, http.StatusOK)
	consult := map[string]any{"allianceId": w.allianceID, "specialty": "haematology", "urgency": "routine",
		"question": "second opinion on staging", "consentRef": "CONSENT-0051", "medicalRecordNumber": "CD-0051"}
	s.refused(&w.memberB, http.MethodPost, "/v1/consults", consult, http.StatusUnprocessableEntity, "not_member")
	roster := s.get(&w.lead, after("/v1/alliances/"+w.allianceID+"/members", susp.Position), nil)
	for _, m := range list(roster, "items") {
		if str(m, "hospitalId") == w.bHID && str(m, "status") != "suspended" {
			t.Errorf("member B after suspension: status %q, want suspended", str(m, "status"))
		}
	}
	s.command(&w.lead, base+"/reinstate", map[string]any{"reason": "review passed"}, http.StatusOK)
	s.command(&w.memberB, "/v1/consults", consult, http.StatusCreated)

	forged := w.memberB
	forged.Token = forged.Token[:len(forged.Token)-4] + "AAAA"
	s.refused(&forged, http.MethodGet, "/v1/hospitals", nil, http.StatusUnauthorized, "unauthenticated")
	s.refused(nil, http.MethodPost, "/v1/consults", consult, http.StatusUnauthorized, "unauthenticated")
}

// auditor reads the history, replays a plan as it stood after the handover, verifies the
// chains and sees who read the plan (including the refused read).
func auditor(t *testing.T, s *server, w *world) {
	stream := s.get(&w.auditor, "/v1/audit/streams/plan-"+w.planID, nil)
	var types []string
	for _, e := range list(stream, "events") {
		types = append(types, str(e, "type"))
	}
	wantPrefix := []string{"PlanInitiated", "PlanHandedOver", "PlanStepCompleted", "PlanRevised", "PlanDeviationReported",
		"PlanDeviationAcknowledged", "PlanEscalated", "PlanFlagged"}
	if strings.Join(types, ",") != strings.Join(wantPrefix, ",") {
		t.Errorf("plan history: got %v, want %v", types, wantPrefix)
	}
	events := list(stream, "events")
	if len(events) < 3 {
		t.Fatalf("plan history too short: %v", types)
	}
	if str(events[1], "envelope", "actor", "userId") != "zhao.lead" || str(events[2], "envelope", "actor", "hospitalId") != w.aHID {
		t.Errorf("envelopes must name who acted: handover by %v, step by %v", field(events[1], "envelope", "actor"), field(events[2], "envelope", "actor"))
	}
	if str(events[1], "envelope", "prevHash") == "" {
		t.Errorf("the second event's envelope has no prevHash")
	}
	asOf := str(events[1], "envelope", "occurredAt")
	replay := s.get(&w.auditor, "/v1/audit/plans/"+w.planID+"?asOf="+asOf, nil)
	if len(list(replay, "events")) != 2 || str(replay, "state", "responsibleHospitalId") != w.aHID {
		t.Errorf("plan as of the handover (%s): got %d events, responsible %q; want 2 and member A",
			asOf, len(list(replay, "events")), str(replay, "state", "responsibleHospitalId"))
	}
	verify := s.get(&w.auditor, "/v1/audit/verify", nil)
	if verify["ok"] != true || num(verify, "events") < 20 || len(list(verify, "breaks")) != 0 {
		t.Errorf("audit verify: got %v, want ok with no breaks", verify)
	}
	log := s.get(&w.auditor, "/v1/audit/events?from=0&limit=5", nil)
	if got := len(list(log, "events")); got != 5 || num(log, "next") != num(log, "events", "4", "position") {
		t.Errorf("audit events page: got %d events, next %v", got, num(log, "next"))
	}
	// The access log is written in batches: poll until the reads appear.
	var access map[string]any
	for deadline := time.Now().Add(15 * time.Second); ; {
		access = s.get(&w.auditor, "/v1/audit/access?id="+w.planID, nil)
		denied, allowed := false, false
		for _, e := range list(access, "entries") {
			who, outcome := str(e, "actor", "hospitalId"), str(e, "outcome")
			denied = denied || (who == w.bHID && outcome == "denied")
			allowed = allowed || (who == w.aHID && outcome == "allowed")
		}
		if denied && allowed {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("access log of plan %s: want member A's reads and member B's denied read; got %s", w.planID, mustJSON(t, access))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.refused(&w.memberA, http.MethodGet, "/v1/audit/verify", nil, http.StatusForbidden, "forbidden")
	s.refused(nil, http.MethodGet, "/v1/audit/verify", nil, http.StatusUnauthorized, "unauthenticated")
}

// metricsAndOpenAPI checks the operational endpoints.
func metricsAndOpenAPI(t *testing.T, s *server, w *world) {
	r := s.request(nil, http.MethodGet, "/metrics", nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "# TYPE") {
		t.Errorf("/metrics: got %d, want 200 with Prometheus text; body starts %.200s", r.Status, r.Body)
	}
	doc := s.get(nil, "/openapi.json", nil)
	if !strings.HasPrefix(str(doc, "openapi"), "3.") || field(doc, "paths", "/v1/plans/{id}") == nil {
		t.Errorf("/openapi.json: got openapi %q and no /v1/plans/{id} path", str(doc, "openapi"))
	}
	if r := s.request(nil, http.MethodGet, "/healthz", nil); r.Status != http.StatusOK {
		t.Errorf("/healthz: got %d, want 200", r.Status)
	}
}

// restartKeepsEverything stops the server with SIGTERM, starts it again on the same data
// directory and checks that everything acknowledged before is still there. It returns
// the position of its last command.
func restartKeepsEverything(t *testing.T, s *server, w world) uint64 {
	// Everything up to the log's head is compared, read with minPosition=head so the
	// views have applied it.
	verify := s.get(&w.auditor, "/v1/audit/verify", nil)
	head := uint64(num(verify, "head"))
	before := map[string]string{}
	paths := []string{"/v1/plans/" + w.planID, "/v1/plans/" + w.plan2ID, "/v1/alliances/" + w.allianceID + "/members",
		"/v1/consults/" + w.consultID, "/v1/dispatches/" + w.dispatchID}
	for _, p := range paths {
		before[p] = mustJSON(t, withoutVolatile(s.get(&w.auditor, after(p, head), nil)))
	}

	// Commands keep arriving while SIGTERM lands: every one acknowledged must survive.
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				status, body, err := s.tryPost(&w.admin, "/v1/hospitals", map[string]any{"name": fmt.Sprintf("关停测试医院 %d-%d", i, n),
					"regionCode": "510106", "level": "community", "departments": []map[string]string{{"id": "general", "name": "全科"}}})
				if err != nil || status >= 500 {
					return // the server is going away
				}
				var res cmdResult
				if status == http.StatusCreated && json.Unmarshal(body, &res) == nil {
					mu.Lock()
					acked = append(acked, res.ID)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	s.stop()
	wg.Wait()
	s.start()
	if len(acked) == 0 {
		t.Errorf("no command was acknowledged in the 300 ms before SIGTERM")
	}
	for _, id := range acked {
		if got := len(list(s.get(&w.auditor, "/v1/audit/streams/hospital-"+id, nil), "events")); got != 1 {
			t.Errorf("hospital %s was acknowledged before SIGTERM; after restart its stream has %d events, want 1", id, got)
		}
	}
	t.Logf("%d commands acknowledged around SIGTERM, all kept", len(acked))
	for _, p := range paths {
		if got := mustJSON(t, withoutVolatile(s.get(&w.auditor, after(p, head), nil))); got != before[p] {
			t.Errorf("after restart, GET %s:\n got %s\nwant %s", p, got, before[p])
		}
	}
	// The log only grows (the access log of the reads above is appended too).
	again := s.get(&w.auditor, "/v1/audit/verify", nil)
	if again["ok"] != true || num(again, "head") < num(verify, "head") || num(again, "events") < num(verify, "events") {
		t.Errorf("after restart, audit verify: got %v, want ok, head >= %v, events >= %v", again, num(verify, "head"), num(verify, "events"))
	}
	// The tokens minted before still work, and the service takes commands again.
	return s.command(&w.lead, "/v1/plans/"+w.planID+"/revisions", map[string]any{"reason": "after restart: cancel the day-8 count",
		"changes": []map[string]any{{"action": "cancel", "stepId": "c1-cbc"}}}, http.StatusOK).Position
}

// withoutVolatile drops fields computed at read time (e.g. overdue, from the clock).
func withoutVolatile(doc map[string]any) map[string]any {
	delete(doc, "overdue")
	return doc
}

// stepStatus returns the status of a step in a plan view.
func stepStatus(doc any, stepID string) string {
	for _, st := range list(doc, "steps") {
		if str(st, "stepId") == stepID {
			return str(st, "status")
		}
	}
	return ""
}

// waitSSE reads plan events until one satisfies ok, failing after 15 s.
func waitSSE(t *testing.T, events <-chan sseEvent, what string, ok func(map[string]any) bool) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, open := <-events:
			if !open {
				t.Fatalf("the plan's event stream ended before it showed %s", what)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(ev.Data), &doc); err != nil {
				t.Fatalf("SSE event %q: data is not JSON: %v: %s", ev.Event, err, ev.Data)
			}
			if ev.Event != "plan" || ev.ID == "" {
				t.Errorf("SSE event: got event %q id %q, want event plan with an id", ev.Event, ev.ID)
			}
			if ok(doc) {
				return
			}
		case <-timeout:
			t.Fatalf("the plan's event stream did not show %s within 15s", what)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return string(b)
}

// fileContaining returns the first file under dir whose bytes contain s, or "".
func fileContaining(t *testing.T, dir, s string) string {
	t.Helper()
	var found string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			found = path
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return found
}
