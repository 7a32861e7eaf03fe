package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	httpapi "github.com/medalliance/allianced/adapters/http"
)

// leadPlan publishes R-CHOP v1 in w's alliance and has the lead department create a
// plan it keeps (not handed over); it returns the plan's path and the create body.
func leadPlan(t *testing.T, f *fixture, w world, key string) (string, string, reply) {
	t.Helper()
	proto := f.mustCreate("/v1/alliances/"+w.alliance+"/protocols", w.leadTok, `{"title":"R-CHOP","indication":"DLBCL"}`)
	if r := f.do(http.MethodPost, "/v1/protocols/"+proto+"/versions", w.leadTok, `{"steps":`+rchopSteps+`,"eligibility":"CD20+"}`); r.status != http.StatusOK {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	body := fmt.Sprintf(`{"allianceId":%q,"protocolId":%q,"version":1,"patientRef":"pr_%s","startDate":"2026-11-24T00:00:00Z"}`,
		w.alliance, proto, strings.Repeat("q", 32))
	r := f.do(http.MethodPost, "/v1/plans", w.leadTok, body, "Idempotency-Key", key)
	if r.status != http.StatusCreated {
		t.Fatalf("create plan: %d %s", r.status, r.body)
	}
	return "/v1/plans/" + r.json(t)["id"].(string), body, r
}

// TestIdempotencyKeyBoundToItsRequest is issue 9's Why 3: a key sent with another
// request is refused (422 idempotency_key_reused) and that request is not carried out;
// the same request again, however its JSON is spaced or ordered, gets the first
// response.
func TestIdempotencyKeyBoundToItsRequest(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	pl, _, _ := leadPlan(t, f, w, "plan-1")

	first := f.do(http.MethodPost, pl+"/steps/rituximab/complete", w.leadTok, `{"administeredDose":"600 mg","notes":"no reaction"}`, "Idempotency-Key", "K")
	if first.status != http.StatusOK {
		t.Fatalf("complete s1: %d %s", first.status, first.body)
	}
	n := f.count()
	tests := []struct {
		name, path, body string
	}{
		{"another operation on another step", pl + "/steps/chop/skip", `{"reason":"neutropenia"}`},
		{"the same operation on another step", pl + "/steps/chop/complete", `{"administeredDose":"600 mg","notes":"no reaction"}`},
		{"the same operation and step with another body", pl + "/steps/rituximab/complete", `{"administeredDose":"700 mg","notes":"no reaction"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(http.MethodPost, tc.path, w.leadTok, tc.body, "Idempotency-Key", "K")
			if r.status != http.StatusUnprocessableEntity || r.code(t) != "idempotency_key_reused" {
				t.Fatalf("got %d %s, want 422 idempotency_key_reused", r.status, r.body)
			}
			if msg, _ := r.json(t)["message"].(string); !strings.Contains(msg, "Idempotency-Key") || !strings.Contains(msg, "new key") {
				t.Fatalf("message %q does not say what to do", msg)
			}
			if got := f.count(); got != n {
				t.Fatalf("a refused request appended %d events", got-n)
			}
		})
	}
	// The same request, spaced and ordered differently: the first response, nothing new.
	again := f.do(http.MethodPost, pl+"/steps/rituximab/complete", w.leadTok, "{ \"notes\" : \"no reaction\",\n \"administeredDose\":\"600 mg\" }", "Idempotency-Key", "K")
	if again.status != first.status || !bytes.Equal(again.body, first.body) || again.header.Get("ETag") != first.header.Get("ETag") ||
		again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("same request again: got %d %s %v, want %d %s", again.status, again.body, again.header, first.status, first.body)
	}
	if got := f.count(); got != n {
		t.Fatalf("the replay appended %d events", got-n)
	}
	// s2 was untouched by the refused skip: it is still pending and can be skipped.
	if r := f.do(http.MethodPost, pl+"/steps/chop/skip", w.leadTok, `{"reason":"neutropenia"}`, "Idempotency-Key", "K2"); r.status != http.StatusOK {
		t.Fatalf("skip s2 with a new key: %d %s, want 200 (still pending)", r.status, r.body)
	}
}

// TestIdempotentReplayChecksAuthority: a caller who could not have sent the request
// gets 403 on a replay of another's key (another department of the same hospital: keys
// are per hospital), for a create and for a command on an existing aggregate, and the
// first caller still gets its first response.
func TestIdempotentReplayChecksAuthority(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	pl, planBody, created := leadPlan(t, f, w, "plan-K")
	icu := f.token("dr-icu", w.lead, "icu", httpapi.RoleLead) // the lead hospital, not the alliance's lead department
	revision := `{"reason":"stop early","changes":[{"action":"cancel","stepId":"chop"}]}`
	revised := f.do(http.MethodPost, pl+"/revisions", w.leadTok, revision, "Idempotency-Key", "rev-K")
	if revised.status != http.StatusOK {
		t.Fatalf("revise: %d %s", revised.status, revised.body)
	}
	// An assignment (its own replay path: it books the expert before the dispatch).
	disp := f.mustCreate("/v1/dispatches", w.m1Tok, fmt.Sprintf(`{"allianceId":%q,"kind":"clinic","specialty":"haematology","window":{"start":"2026-11-23T09:00:00Z","end":"2026-11-23T17:00:00Z"}}`, w.alliance))
	expert := f.mustCreate("/v1/practitioners", w.leadTok, fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"王主任","title":"主任医师","specialties":["淋巴瘤"]}`, w.lead))
	assign := fmt.Sprintf(`{"expertId":%q}`, expert)
	assigned := f.do(http.MethodPost, "/v1/dispatches/"+disp+"/assign", w.leadTok, assign, "Idempotency-Key", "assign-K")
	if assigned.status != http.StatusOK {
		t.Fatalf("assign: %d %s", assigned.status, assigned.body)
	}
	n := f.count()
	for _, tc := range []struct {
		name, path, body, key string
		first                 reply
	}{
		{"create", "/v1/plans", planBody, "plan-K", created},
		{"command on the plan", pl + "/revisions", revision, "rev-K", revised},
		{"assignment", "/v1/dispatches/" + disp + "/assign", assign, "assign-K", assigned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(http.MethodPost, tc.path, icu, tc.body, "Idempotency-Key", tc.key)
			if r.status != http.StatusForbidden || r.code(t) != "forbidden" {
				t.Fatalf("another department replaying the key: got %d %s, want 403 forbidden", r.status, r.body)
			}
			r = f.do(http.MethodPost, tc.path, w.leadTok, tc.body, "Idempotency-Key", tc.key)
			if r.status != tc.first.status || !bytes.Equal(r.body, tc.first.body) {
				t.Fatalf("the first caller again: got %d %s, want %d %s", r.status, r.body, tc.first.status, tc.first.body)
			}
		})
	}
	if got := f.count(); got != n {
		t.Fatalf("replays appended %d events", got-n)
	}
}

// TestIdempotentCreateAnotherBody: a create sent again with the same key and another
// body is refused; it creates nothing.
func TestIdempotentCreateAnotherBody(t *testing.T) {
	f := newFixture(t)
	admin := f.token("admin", "01J000000000000000000000AD", "", httpapi.RoleAdmin)
	first := f.do(http.MethodPost, "/v1/hospitals", admin, `{"name":"某县人民医院","regionCode":"330102","level":"secondary","departments":[]}`, "Idempotency-Key", "C")
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	n := f.count()
	r := f.do(http.MethodPost, "/v1/hospitals", admin, `{"name":"另一家医院","regionCode":"330102","level":"secondary","departments":[]}`, "Idempotency-Key", "C")
	if r.status != http.StatusUnprocessableEntity || r.code(t) != "idempotency_key_reused" {
		t.Fatalf("same key, another body: got %d %s, want 422 idempotency_key_reused", r.status, r.body)
	}
	if got := f.count(); got != n {
		t.Fatalf("the refused create appended %d events", got-n)
	}
	again := f.do(http.MethodPost, "/v1/hospitals", admin, `{"departments":[],"level":"secondary","name":"某县人民医院","regionCode":"330102"}`, "Idempotency-Key", "C")
	if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) {
		t.Fatalf("the same create again: got %d %s, want %d %s", again.status, again.body, first.status, first.body)
	}
}
