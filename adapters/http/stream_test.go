package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	httpapi "github.com/medalliance/allianced/adapters/http"
)

// TestPlanStreamEndsAtTokenExpiry: a plan's stream delivers no longer than its token is
// valid; its last event, "expired", tells the client to reconnect with a fresh token.
func TestPlanStreamEndsAtTokenExpiry(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	_, plan := f.protocolAndPlan(w)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	waitUntil(t, "plan view", func() bool { return f.do("GET", "/v1/plans/"+plan, w.m1Tok, "").status == 200 })

	// exp has whole-second precision: this token expires one to two seconds from now.
	short, err := httpapi.MintToken(testSecret, httpapi.Claims{HospitalID: w.m1, DepartmentID: "haem", Roles: []string{httpapi.RoleMember},
		RegisteredClaims: jwt.RegisteredClaims{Subject: "dr-m1"}}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	ch, stop := openStream(t, srv.URL+"/v1/plans/"+plan+"/stream", short, "")
	defer stop()
	if first := next(t, ch); first.event != "plan" {
		t.Fatalf("first event %+v, want the plan", first)
	}
	last := next(t, ch)
	if last.event != "expired" {
		t.Fatalf("got %+v, want the expired event", last)
	}
	var body struct{ Code string }
	if err := json.Unmarshal([]byte(last.data), &body); err != nil || body.Code != "token_expired" {
		t.Fatalf("expired event data %q, want code token_expired", last.data)
	}
	if took := time.Since(opened); took > 3*time.Second {
		t.Fatalf("the stream ended %s after opening, want at the token's expiry (under 2s)", took)
	}
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("got %+v after the expired event, want the stream closed", ev)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the stream stayed open after its token expired")
	}
}
