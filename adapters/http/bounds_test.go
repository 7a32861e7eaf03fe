package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestPlanDatesOutOfBounds sends the dates of issue 9 over HTTP: a start date in the
// year 9999 used to be a 500 (its due dates could not be written as JSON) or to be
// stored and then stop the views (a revision's step ten years later); each is now a 400
// invalid_input naming the field and the bound, and nothing is appended.
func TestPlanDatesOutOfBounds(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	proto, plan := f.protocolAndPlan(w)
	tests := []struct {
		name, path, body, wantInMessage string
	}{
		{"start date on the last day of the year 9999", "/v1/plans",
			fmt.Sprintf(`{"allianceId":%q,"protocolId":%q,"version":1,"patientRef":"pr_%s","startDate":"9999-12-31T00:00:00Z"}`, w.alliance, proto, strings.Repeat("q", 32)),
			"startDate 9999-12-31T00:00:00Z is outside the accepted range"},
		{"start date in December 9999", "/v1/plans",
			fmt.Sprintf(`{"allianceId":%q,"protocolId":%q,"version":1,"patientRef":"pr_%s","startDate":"9999-12-01T00:00:00Z"}`, w.alliance, proto, strings.Repeat("q", 32)),
			"before 2200-01-01T00:00:00Z"},
		{"start date in 1899", "/v1/plans",
			fmt.Sprintf(`{"allianceId":%q,"protocolId":%q,"version":1,"patientRef":"pr_%s","startDate":"1899-12-31T00:00:00Z"}`, w.alliance, proto, strings.Repeat("q", 32)),
			"on or after 1900-01-01T00:00:00Z"},
		{"a revision adding a step past day 3650", "/v1/plans/" + plan + "/revisions",
			`{"reason":"follow-up","changes":[{"action":"add","stepId":"y10","dayOffset":3651,"activity":"review"}]}`,
			"between 0 and 3650"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.count()
			r := f.do(http.MethodPost, tc.path, w.leadTok, tc.body)
			if r.status != http.StatusBadRequest || r.code(t) != "invalid_input" {
				t.Fatalf("got %d %s, want 400 invalid_input", r.status, r.body)
			}
			if msg, _ := r.json(t)["message"].(string); !strings.Contains(msg, tc.wantInMessage) {
				t.Errorf("message %q does not say %q", msg, tc.wantInMessage)
			}
			if after := f.count(); after != before {
				t.Errorf("the log grew from %d to %d events", before, after)
			}
		})
	}
}
