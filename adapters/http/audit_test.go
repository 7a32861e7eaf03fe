package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

const rchopSteps = `[{"stepId":"rituximab","dayOffset":0,"activity":"静脉输注","drug":"rituximab","dose":"375 mg/m2","route":"iv"},` +
	`{"stepId":"chop","dayOffset":1,"activity":"化疗","drug":"cyclophosphamide","dose":"750 mg/m2","route":"iv"}]`

// protocolAndPlan publishes R-CHOP v1, lets m1 adopt it and creates a plan handed over
// to m1; it returns the protocol and plan ids.
func (f *fixture) protocolAndPlan(w world) (string, string) {
	f.t.Helper()
	proto := f.mustCreate("/v1/alliances/"+w.alliance+"/protocols", w.leadTok, `{"title":"R-CHOP 方案","indication":"DLBCL"}`)
	if r := f.do("POST", "/v1/protocols/"+proto+"/versions", w.leadTok, `{"steps":`+rchopSteps+`,"eligibility":"CD20+"}`); r.status != 200 {
		f.t.Fatalf("publish: %d %s", r.status, r.body)
	}
	f.mustCreate("/v1/protocols/"+proto+"/adoptions", w.m1Tok, `{"version":1}`)
	plan := f.mustCreate("/v1/plans", w.leadTok, fmt.Sprintf(`{"allianceId":%q,"protocolId":%q,"version":1,"medicalRecordNumber":"ZY-2026-000731","startDate":"2026-11-24T00:00:00Z"}`, w.alliance, proto))
	f.clock.Advance(time.Hour)
	if r := f.do("POST", "/v1/plans/"+plan+"/handover", w.leadTok, fmt.Sprintf(`{"toHospitalId":%q}`, w.m1)); r.status != 200 {
		f.t.Fatalf("handover: %d %s", r.status, r.body)
	}
	return proto, plan
}

func TestAuditPlanAsOf(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	_, plan := f.protocolAndPlan(w)
	tests := []struct {
		asOf            string
		wantStatus      int
		wantExists      bool
		wantResponsible string
	}{
		{"2026-11-23T07:59:59Z", 200, false, ""},
		{"2026-11-23T08:30:00Z", 200, true, w.lead}, // initiated, not yet handed over
		{"2026-11-23T09:00:00Z", 200, true, w.m1},
		{"not-a-time", 400, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.asOf, func(t *testing.T) {
			r := f.do("GET", "/v1/audit/plans/"+plan+"?asOf="+tc.asOf, w.auditor, "")
			if r.status != tc.wantStatus {
				t.Fatalf("got %d %s", r.status, r.body)
			}
			if tc.wantStatus != 200 {
				return
			}
			var got struct {
				Exists bool `json:"exists"`
				State  *struct {
					ResponsibleHospitalID string `json:"responsibleHospitalId"`
				} `json:"state"`
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Exists != (got.State != nil) {
				t.Fatalf("exists %v with state %s, want a state exactly when the plan exists", got.Exists, r.body)
			}
			if responsible := ""; got.State != nil {
				responsible = got.State.ResponsibleHospitalID
				if got.Exists != tc.wantExists || responsible != tc.wantResponsible {
					t.Fatalf("exists %v responsible %q, want %v %q", got.Exists, responsible, tc.wantExists, tc.wantResponsible)
				}
			} else if tc.wantExists {
				t.Fatalf("no state, want the plan held by %s", tc.wantResponsible)
			}
		})
	}
	if r := f.do("GET", "/v1/audit/plans/01J00000000000000000000009", w.auditor, ""); r.status != 404 {
		t.Fatalf("unknown plan: %d", r.status)
	}
	// The MRN never reaches the log.
	r := f.do("GET", "/v1/audit/events?limit=1000", w.auditor, "")
	if r.status != 200 || strings.Contains(string(r.body), "ZY-2026-000731") || !strings.Contains(string(r.body), "PlanInitiated") {
		t.Fatalf("audit events: %d; want the plan's events without the MRN", r.status)
	}
}

// tamperStore rewrites one stored event's payload on reads, as an attacker editing the
// database would.
type tamperStore struct {
	eventstore.Store
	pos eventstore.Position
}

func (s tamperStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := s.Store.ReadAll(ctx, after, limit)
	for i := range recs {
		if recs[i].Position == s.pos {
			recs[i].Data = []byte(`{"tampered":true}`)
		}
	}
	return recs, err
}

func TestAuditVerify(t *testing.T) {
	st := mustOpenStore(t)
	f := newFixtureOn(t, st)
	w := f.world()
	var got struct {
		OK     bool
		Events int
		Breaks []struct {
			Stream  string
			Version uint64
		}
	}
	r := f.do("GET", "/v1/audit/verify", w.auditor, "")
	if err := json.Unmarshal(r.body, &got); err != nil || !got.OK || got.Events != countEvents(t, st) {
		t.Fatalf("clean log: %d %s", r.status, r.body)
	}
	// Tamper with the alliance's founding event: the admission after it breaks.
	recs, _ := st.ReadStream(context.Background(), domain.AllianceStream(w.alliance), eventstore.Forwards, 0, 1)
	f2 := newFixtureOn(t, tamperStore{st, recs[0].Position})
	r = f2.do("GET", "/v1/audit/verify", w.auditor, "")
	got.Breaks = nil
	if err := json.Unmarshal(r.body, &got); err != nil || got.OK || len(got.Breaks) != 1 ||
		got.Breaks[0].Stream != domain.AllianceStream(w.alliance) || got.Breaks[0].Version != 1 {
		t.Fatalf("tampered log: %d %s", r.status, r.body)
	}
}

// TestAuditBodiesAreCamelCase: every key of every audit response, the replayed plan's
// state and the events' envelopes and payloads included, is camelCase like the rest of
// the API (the plan's state used to come out with Go field names).
func TestAuditBodiesAreCamelCase(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	_, plan := f.protocolAndPlan(w)
	if r := f.do("POST", "/v1/plans/"+plan+"/steps/rituximab/complete", w.m1Tok, `{"administeredDose":"600 mg"}`); r.status != 200 {
		t.Fatalf("complete step: %d %s", r.status, r.body)
	}
	r := f.do("POST", "/v1/plans/"+plan+"/deviations", w.m1Tok, `{"stepId":"chop","description":"dose reduced","severity":"minor"}`)
	if r.status != 201 {
		t.Fatalf("report deviation: %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/v1/plans/"+plan+"/deviations/"+r.json(t)["deviationId"].(string)+"/acknowledge", w.leadTok, `{"note":"agreed"}`); r.status != 200 {
		t.Fatalf("acknowledge: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/v1/audit/plans/" + plan, "/v1/audit/events?limit=1000", "/v1/audit/streams/plan-" + plan,
		"/v1/audit/verify", "/v1/audit/access?date=2026-11-23"} {
		r := f.do("GET", path, w.auditor, "")
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		var body any
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		for _, key := range notCamelCase(body, "") {
			t.Errorf("GET %s: key %s is not camelCase", path, key)
		}
	}
	r = f.do("GET", "/v1/audit/plans/"+plan, w.auditor, "")
	for _, want := range []string{`"responsibleHospitalId":"` + w.m1 + `"`, `"deviations":[{"deviationId":`, `"acknowledged":true`, `"steps":[{"stepId":"rituximab"`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("the plan's audited state lacks %s: %s", want, r.body)
		}
	}
}

// notCamelCase returns the paths of the object keys in v that do not start with a
// lower-case letter or contain an underscore.
func notCamelCase(v any, at string) []string {
	var bad []string
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if k == "" || !unicode.IsLower(rune(k[0])) || strings.Contains(k, "_") {
				bad = append(bad, at+"."+k)
			}
			bad = append(bad, notCamelCase(child, at+"."+k)...)
		}
	case []any:
		for i, child := range v {
			bad = append(bad, notCamelCase(child, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return bad
}
