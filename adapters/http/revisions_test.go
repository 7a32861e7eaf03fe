package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestSafePlanRevisionOverHTTP is the two unsafe gaps over HTTP: the lead may
// not move a member-held plan onto a version the member has not adopted (409), and after
// the move the step the new version removed cannot be recorded (409) while its changed
// dose is what the plan view shows. It ends with the member sending the patient back
// and still reading the plan it held, while a hospital that never held it cannot.
func TestSafePlanRevisionOverHTTP(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	proto, plan := f.protocolAndPlan(w) // v1: rituximab, chop; m1 holds the plan
	pr, pl := "/v1/protocols/"+proto, "/v1/plans/"+plan
	post := func(path, tok, body string, want int) reply {
		t.Helper()
		r := f.do(http.MethodPost, path, tok, body)
		if r.status != want {
			t.Fatalf("POST %s: got %d %s, want %d", path, r.status, r.body, want)
		}
		return r
	}
	// version 2 drops chop, changes rituximab's dose and adds a prednisone step
	v2 := `[{"stepId":"rituximab","dayOffset":0,"activity":"静脉输注","drug":"rituximab","dose":"300 mg/m2","route":"iv"},` +
		`{"stepId":"pred","dayOffset":1,"activity":"口服","drug":"prednisone","dose":"100 mg","route":"oral"}]`
	post(pr+"/versions", w.leadTok, `{"steps":`+v2+`,"eligibility":"CD20+","changeNote":"chop removed"}`, 200)

	r := post(pl+"/revisions", w.leadTok, `{"reason":"move to version 2","version":2}`, http.StatusConflict)
	if r.code(t) != "forbidden_transition" {
		t.Fatalf("revision onto an unadopted version: %s", r.body)
	}
	post(pr+"/adoptions/"+w.m1+"/upgrade", w.m1Tok, `{"version":2}`, 200)
	post(pl+"/revisions", w.leadTok, `{"reason":"move to version 2","version":2}`, 200)

	r = post(pl+"/steps/chop/complete", w.m1Tok, `{}`, http.StatusConflict)
	if r.code(t) != "forbidden_transition" {
		t.Fatalf("recording a step the new version removed: %s", r.body)
	}
	r = post(pl+"/steps/pred/complete", w.m1Tok, `{}`, 200)
	r = f.do(http.MethodGet, pl+"?minPosition="+posOf(t, r), w.m1Tok, "")
	if r.status != 200 {
		t.Fatalf("read plan: %d %s", r.status, r.body)
	}
	var view struct {
		Protocol struct{ Version int }
		Steps    []struct {
			StepID, Dose, Status string
			Version              int
		}
	}
	if err := json.Unmarshal(r.body, &view); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range view.Steps {
		got[s.StepID] = s.Status + " " + s.Dose
	}
	want := map[string]string{"rituximab": "pending 300 mg/m2", "chop": "cancelled 750 mg/m2", "pred": "completed 100 mg"}
	if view.Protocol.Version != 2 || len(got) != len(want) {
		t.Fatalf("plan view on version %d with steps %v", view.Protocol.Version, got)
	}
	for id, s := range want {
		if got[id] != s {
			t.Errorf("step %s: %q, want %q", id, got[id], s)
		}
	}

	// m1 sends the patient up; it keeps reading the plan it held, m2 never held it
	r = post(pl+"/escalate", w.m1Tok, `{"reason":"febrile neutropenia","urgent":true}`, 200)
	r = post(pl+"/revisions", w.leadTok, `{"reason":"G-CSF after the fever","changes":[{"action":"add","stepId":"gcsf","dayOffset":3,"activity":"皮下注射","drug":"pegfilgrastim","dose":"6 mg","route":"sc"}]}`, 200)
	at := "?minPosition=" + posOf(t, r)
	for _, tc := range []struct {
		name, tok string
		want      int
	}{{"former holder reads what happened after", w.m1Tok, 200}, {"a hospital that never held it", w.m2Tok, 403}} {
		if r := f.do(http.MethodGet, pl+at, tc.tok, ""); r.status != tc.want {
			t.Errorf("%s: got %d %s, want %d", tc.name, r.status, r.body, tc.want)
		}
	}
}
