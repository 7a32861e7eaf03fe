package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestCancelPositionCoversTheRelease: after POST /v1/dispatches/{id}/cancel, the
// expert's calendar read at the returned position never shows the booking, because the
// position is at or after the release the cancellation made (checked against the log
// itself, which does not depend on how fast the views are).
func TestCancelPositionCoversTheRelease(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	for i := range 4 {
		expert := f.mustCreate("/v1/practitioners", w.leadTok, fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"王主任%d","title":"主任医师","specialties":["淋巴瘤"]}`, w.lead, i))
		window := fmt.Sprintf(`{"start":"2026-12-0%dT09:00:00Z","end":"2026-12-0%dT17:00:00Z"}`, i+1, i+1)
		disp := f.mustCreate("/v1/dispatches", w.m1Tok, fmt.Sprintf(`{"allianceId":%q,"kind":"clinic","specialty":"haematology","window":%s}`, w.alliance, window))
		if r := f.do("POST", "/v1/dispatches/"+disp+"/assign", w.leadTok, `{"expertId":"`+expert+`"}`); r.status != 200 {
			t.Fatalf("assign: %d %s", r.status, r.body)
		}
		r := f.do("POST", "/v1/dispatches/"+disp+"/cancel", w.leadTok, `{"reason":"patient transferred"}`)
		if r.status != 200 {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		pos := posOf(t, r)

		// The log: the expert's last event is the release, at or before the position.
		var stream struct {
			Events []struct {
				Position uint64 `json:"position"`
				Type     string `json:"type"`
			} `json:"events"`
		}
		sr := f.do("GET", "/v1/audit/streams/expert-"+expert, w.auditor, "")
		if err := json.Unmarshal(sr.body, &stream); err != nil || len(stream.Events) == 0 {
			t.Fatalf("expert stream: %d %s", sr.status, sr.body)
		}
		last := stream.Events[len(stream.Events)-1]
		if want, _ := strconv.ParseUint(pos, 10, 64); last.Type != "ExpertBookingReleased" || last.Position > want {
			t.Fatalf("the cancellation answered position %s, but the expert's last event is %s at %d", pos, last.Type, last.Position)
		}

		// The view at that position has no booking for the dispatch.
		cr := f.do("GET", "/v1/experts/"+expert+"/calendar?minPosition="+pos, w.auditor, "")
		if cr.status != 200 || strings.Contains(string(cr.body), disp) {
			t.Fatalf("calendar at the cancellation's position: %d %s; want no booking for %s", cr.status, cr.body, disp)
		}
	}
}
