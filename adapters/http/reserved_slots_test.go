package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	httpapi "github.com/medalliance/allianced/adapters/http"
	"github.com/medalliance/allianced/domain"
)

// TestReservedSlotsRead: 湖北省中医院's referral desk publishes four outpatient slots for
// its alliance. One is booked by a recorded acceptance (booked), one is held by a
// booking whose acceptance a crash cut short (held), two are free. The desk reads every
// slot with its status and referral, page by page; an active member reads the free ones
// only, without referral; another department, a suspended member, a hospital outside
// the alliance and a member not naming its alliance get the generic 403.
func TestReservedSlotsRead(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	now := f.clock.Now()
	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	var slots []string
	for i := 1; i <= 4; i++ {
		slots = append(slots, fmt.Sprintf(`{"kind":"outpatient","window":{"start":%q,"end":%q}}`, ts(time.Duration(i)*time.Hour), ts(time.Duration(i)*time.Hour+30*time.Minute)))
	}
	if r := f.do(http.MethodPost, "/v1/reserved-slots", w.leadTok, fmt.Sprintf(`{"allianceId":%q,"slots":[%s]}`, w.alliance, strings.Join(slots, ","))); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	up := func(mrn string) string {
		return f.mustCreate("/v1/referrals", w.m1Tok, fmt.Sprintf(`{"allianceId":%q,"direction":"up","urgency":"urgent","reason":"胸痛","clinicalSummary":"ST 段压低","medicalRecordNumber":%q}`, w.alliance, mrn))
	}
	booked := up("MZP-001")
	if r := f.do(http.MethodPost, "/v1/referrals/"+booked+"/accept", w.leadTok, fmt.Sprintf(`{"expectedArrival":%q,"reserve":true}`, ts(time.Hour))); r.status != 200 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	held := up("MZP-002")
	// a crash between booking and recording the acceptance
	res, err := eventstore.Handle(context.Background(), eventstore.NewCommands(f.store), domain.CapacityStream(w.lead, "haem"),
		domain.Meta{Actor: domain.Actor{HospitalID: w.lead, DepartmentID: "haem"}, At: now}, nil,
		func(c domain.Capacity) ([]domain.Event, error) {
			return domain.DecideCapacity(c, domain.BookReservedSlot{HospitalID: w.lead, DepartmentID: "haem", AllianceID: w.alliance, ReferralID: held, At: now})
		})
	if err != nil {
		t.Fatal(err)
	}
	at := fmt.Sprintf("&minPosition=%d", res.Position)
	path := "/v1/hospitals/" + w.lead + "/departments/haem/reserved-slots?allianceId=" + w.alliance

	type row struct {
		SlotID, Status, ReferralID string
	}
	type page struct {
		Items      []row
		Total      int
		NextOffset *int
	}
	read := func(tok, query string) (page, reply) {
		t.Helper()
		r := f.do(http.MethodGet, path+query+at, tok, "")
		var p page
		if r.status == 200 {
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
		}
		return p, r
	}
	all, r := read(w.leadTok, "&status=all")
	if r.status != 200 || all.Total != 4 || len(all.Items) != 4 {
		t.Fatalf("the desk's read: %d %s", r.status, r.body)
	}
	want := []row{{all.Items[0].SlotID, "booked", booked}, {all.Items[1].SlotID, "held", held}, {all.Items[2].SlotID, "free", ""}, {all.Items[3].SlotID, "free", ""}}
	for i, got := range all.Items {
		if got != want[i] {
			t.Errorf("slot %d: got %+v, want %+v", i, got, want[i])
		}
	}
	if p, _ := read(w.leadTok, "&status=held"); p.Total != 1 || p.Items[0].ReferralID != held {
		t.Errorf("held: %+v", p)
	}
	first, _ := read(w.leadTok, "&limit=3")
	if len(first.Items) != 3 || first.NextOffset == nil || *first.NextOffset != 3 {
		t.Fatalf("first page: %+v", first)
	}
	second, _ := read(w.leadTok, fmt.Sprintf("&limit=3&offset=%d", *first.NextOffset))
	if len(second.Items) != 1 || second.NextOffset != nil || second.Items[0].SlotID != all.Items[3].SlotID {
		t.Fatalf("second page: %+v", second)
	}
	free, r := read(w.m1Tok, "&status=all")
	if r.status != 200 || free.Total != 2 || strings.Contains(string(r.body), "referralId") || strings.Contains(string(r.body), booked) {
		t.Fatalf("a member's read: %d %s, want the two free slots without referrals", r.status, r.body)
	}
	if _, r := read(w.auditor, "&status=booked"); r.status != 200 || !strings.Contains(string(r.body), booked) {
		t.Errorf("auditor: %d %s", r.status, r.body)
	}
	outsider := f.token("dr-x", f.mustCreate("/v1/hospitals", w.admin, `{"name":"外院","regionCode":"420106","level":"secondary"}`), "gp", httpapi.RoleMember)
	if r := f.do(http.MethodPost, "/v1/alliances/"+w.alliance+"/members/"+w.m2+"/suspend", w.leadTok, `{"reason":"audit"}`); r.status != 200 {
		t.Fatalf("suspend: %d %s", r.status, r.body)
	} else {
		at = "&minPosition=" + posOf(t, r)
	}
	if r := f.do(http.MethodGet, "/v1/hospitals/"+w.lead+"/departments/haem/reserved-slots?status=free"+at, w.m1Tok, ""); r.status != 403 {
		t.Errorf("a member not naming its alliance: %d %s, want 403", r.status, r.body)
	}
	otherDept := f.token("dr-cardio", w.lead, "cardio", httpapi.RoleLead)
	for _, tc := range []struct {
		name, tok, query string
		want             int
	}{
		{"a hospital outside the alliance", outsider, "", 403},
		{"a suspended member", w.m2Tok, "", 403},
		{"a bad status", w.leadTok, "&status=taken", 400},
		{"a page too large", w.leadTok, "&limit=501", 400},
		{"a negative offset", w.leadTok, "&offset=-1", 400},
		{"another department of the lead hospital (as an alliance hospital: free only)", otherDept, "", 200},
	} {
		r := f.do(http.MethodGet, path+tc.query+at, tc.tok, "")
		if r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.want)
		}
		if r.status == 403 && (strings.Contains(string(r.body), w.lead) || strings.Contains(string(r.body), "haem")) {
			t.Errorf("%s: the 403 names the department: %s", tc.name, r.body)
		}
	}
}
