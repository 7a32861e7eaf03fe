package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	httpapi "github.com/medalliance/allianced/adapters/http"
	"github.com/medalliance/allianced/domain"
)

// twoAlliances is the Why-4 setting: alliance A led by w.lead (haem), alliance B led by
// another hospital's department, both with member m1; expert X is registered under A.
type twoAlliances struct {
	world
	leadB, leadBTok, allianceB string
	expert                     string
	window                     string
}

func (f *fixture) twoAlliances() twoAlliances {
	f.t.Helper()
	w := twoAlliances{world: f.world(), window: `{"start":"2026-11-25T09:00:00Z","end":"2026-11-25T17:00:00Z"}`}
	w.leadB = f.mustCreate("/v1/hospitals", w.admin, `{"name":"华山医院","regionCode":"310104","level":"tertiary","departments":[{"id":"haem","name":"血液科"}]}`)
	w.leadBTok = f.token("dr-lead-b", w.leadB, "haem", httpapi.RoleLead)
	w.allianceB = f.mustCreate("/v1/alliances", w.leadBTok, `{"name":"华山血液专科联盟","specialty":"haematology","kind":"specialist"}`)
	if r := f.do(http.MethodPost, "/v1/alliances/"+w.allianceB+"/members", w.leadBTok, `{"hospitalId":"`+w.m1+`","tier":"member"}`); r.status != 200 {
		f.t.Fatalf("admit m1 to B: %d %s", r.status, r.body)
	}
	office := f.token("yiwuchu", w.lead, "medical-affairs", httpapi.RoleMember)
	w.expert = f.mustCreate("/v1/practitioners", office,
		fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"王振义","title":"主任医师","specialties":["淋巴瘤","白血病"]}`, w.lead))
	return w
}

func (f *fixture) requestDispatch(tok, alliance, window string) string {
	f.t.Helper()
	return f.mustCreate("/v1/dispatches", tok, fmt.Sprintf(`{"allianceId":%q,"kind":"clinic","specialty":"haematology","window":%s}`, alliance, window))
}

// revealsNothing fails when a refusal names the expert's home hospital, its department
// or the expert's name.
func revealsNothing(t *testing.T, what string, r reply, secrets ...string) {
	t.Helper()
	if r.status != http.StatusForbidden || r.code(t) != "forbidden" {
		t.Fatalf("%s: got %d %s, want 403 forbidden", what, r.status, r.body)
	}
	for _, s := range secrets {
		if strings.Contains(string(r.body), s) {
			t.Errorf("%s: the refusal %s reveals %q", what, r.body, s)
		}
	}
}

// TestBookingAnotherAlliancesExpert (Why 4): the lead of alliance B cannot book alliance
// A's expert (403, revealing nothing of A), so A's own booking of the same window still
// succeeds instead of failing with schedule_overlap; nor can it book an unregistered id.
func TestBookingAnotherAlliancesExpert(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.twoAlliances()
	dB := f.requestDispatch(w.m1Tok, w.allianceB, w.window)
	dA := f.requestDispatch(w.m1Tok, w.alliance, w.window)

	r := f.do(http.MethodPost, "/v1/dispatches/"+dB+"/assign", w.leadBTok, `{"expertId":"`+w.expert+`"}`)
	revealsNothing(t, "lead B assigns A's expert", r, w.lead, "王振义", "medical-affairs")
	unknown := f.do(http.MethodPost, "/v1/dispatches/"+dB+"/assign", w.leadBTok, `{"expertId":"01J0000000000000000000EXP9"}`)
	revealsNothing(t, "lead B assigns an unregistered id", unknown)
	if strings.ReplaceAll(string(unknown.body), "01J0000000000000000000EXP9", w.expert) != string(r.body) {
		t.Errorf("refusals differ between another hospital's expert (%s) and an unregistered id (%s): the difference tells them apart", r.body, unknown.body)
	}

	if r := f.do(http.MethodPost, "/v1/dispatches/"+dA+"/assign", w.leadTok, `{"expertId":"`+w.expert+`"}`); r.status != 200 {
		t.Fatalf("lead A assigns its own expert: got %d %s, want 200", r.status, r.body)
	}
	// B reassigning a dispatch of its own to A's expert is refused the same way.
	dB2 := f.requestDispatch(w.m1Tok, w.allianceB, `{"start":"2026-11-26T09:00:00Z","end":"2026-11-26T17:00:00Z"}`)
	bExpert := f.mustCreate("/v1/practitioners", w.leadBTok, fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"李医生","title":"主治医师","specialties":["血液病"]}`, w.leadB))
	if r := f.do(http.MethodPost, "/v1/dispatches/"+dB2+"/assign", w.leadBTok, `{"expertId":"`+bExpert+`"}`); r.status != 200 {
		t.Fatalf("lead B assigns its own expert: got %d %s", r.status, r.body)
	}
	r = f.do(http.MethodPost, "/v1/dispatches/"+dB2+"/reassign", w.leadBTok, `{"expertId":"`+w.expert+`","reason":"李医生 ill"}`)
	revealsNothing(t, "lead B reassigns to A's expert", r, w.lead, "王振义")
	// A's expert under the wrong name, and a deactivated expert.
	dA2 := f.requestDispatch(w.m1Tok, w.alliance, `{"start":"2026-11-27T09:00:00Z","end":"2026-11-27T17:00:00Z"}`)
	if r := f.do(http.MethodPost, "/v1/dispatches/"+dA2+"/assign", w.leadTok, `{"expertId":"`+w.expert+`","expertName":"王主任"}`); r.status != 400 || r.code(t) != "invalid_input" {
		t.Errorf("assign under a name not the directory's: got %d %s, want 400 invalid_input", r.status, r.body)
	}
	if r := f.do(http.MethodPost, "/v1/practitioners/"+w.expert+"/deactivate", w.leadTok, `{"reason":"退休"}`); r.status != 200 {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	if r := f.do(http.MethodPost, "/v1/dispatches/"+dA2+"/assign", w.leadTok, `{"expertId":"`+w.expert+`"}`); r.status != 409 || r.code(t) != "forbidden_transition" {
		t.Errorf("assign a deactivated expert: got %d %s, want 409 forbidden_transition", r.status, r.body)
	}
}

// TestExpertCalendarReaders (Why 4): the expert's calendar is read by the home hospital
// (any department), the leads that dispatch the expert and auditors; a lead of another
// hospital and a member hospital get 403, revealing nothing.
func TestExpertCalendarReaders(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.twoAlliances()
	dA := f.requestDispatch(w.m1Tok, w.alliance, w.window)
	r := f.do(http.MethodPost, "/v1/dispatches/"+dA+"/assign", w.leadTok, `{"expertId":"`+w.expert+`"}`)
	if r.status != 200 {
		t.Fatalf("assign: %d %s", r.status, r.body)
	}
	cal := "/v1/experts/" + w.expert + "/calendar?minPosition=" + posOf(t, r)
	homeOffice := f.token("yiwuchu", w.lead, "medical-affairs", httpapi.RoleMember)
	for _, tc := range []struct {
		name, tok string
		want      int
	}{
		{"the dispatching lead department", w.leadTok, 200},
		{"another department of the home hospital", homeOffice, 200},
		{"an auditor", w.auditor, 200},
		{"the lead of another alliance", w.leadBTok, 403},
		{"the member the expert visits", w.m1Tok, 403},
		{"another member", w.m2Tok, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(http.MethodGet, cal, tc.tok, "")
			if tc.want == 403 {
				revealsNothing(t, "calendar", r, dA, w.lead, w.m1, "王振义")
				return
			}
			items, _ := r.json(t)["items"].([]any)
			if r.status != 200 || len(items) != 1 || !strings.Contains(string(r.body), dA) {
				t.Fatalf("got %d %s, want 200 with dispatch %s", r.status, r.body, dA)
			}
		})
	}
	// An id nobody registered and nobody booked: 403 as well, not an empty 200.
	revealsNothing(t, "unknown expert", f.do(http.MethodGet, "/v1/experts/01J0000000000000000000EXP9/calendar", w.leadBTok, ""))
}

// TestLegacyExpertStaysReadable: events an older build recorded with a free-form expert
// id (no directory entry) still load and project: the dispatch shows the expert, the
// calendar is read by the lead that dispatches the expert and by auditors (nobody
// else), the audit trail shows the schedule, and the booking is released on cancel.
func TestLegacyExpertStaysReadable(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.twoAlliances()
	dA := f.requestDispatch(w.m1Tok, w.alliance, w.window)
	legacy := "01J0000000000000000000EXP1"
	win := domain.Window{Start: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC)}
	cmds := eventstore.NewCommands(f.store)
	lead := domain.Actor{HospitalID: w.lead, DepartmentID: "haem", UserID: "dr-lead", Role: "lead"}
	meta := domain.Meta{Actor: lead, At: f.clock.Now()}
	ctx := context.Background()
	if _, err := eventstore.Handle(ctx, cmds, domain.ExpertStream(legacy), meta, nil, func(domain.ExpertSchedule) ([]domain.Event, error) {
		return []domain.Event{domain.ExpertBooked{ExpertID: legacy, DispatchID: dA, Window: win}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := eventstore.Handle(ctx, cmds, domain.DispatchStream(dA), meta, nil, func(domain.Dispatch) ([]domain.Event, error) {
		return []domain.Event{domain.ExpertAssigned{DispatchID: dA, ExpertID: legacy, ExpertName: "赵主任", Window: win, AssignedAt: meta.At}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	at := fmt.Sprintf("?minPosition=%d", res.Position)

	if r := f.do(http.MethodGet, "/v1/dispatches/"+dA+at, w.m1Tok, ""); r.status != 200 || r.json(t)["expertId"] != legacy {
		t.Errorf("dispatch with a legacy expert: got %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		name, tok string
		want      int
	}{{"the dispatching lead", w.leadTok, 200}, {"an auditor", w.auditor, 200}, {"another lead", w.leadBTok, 403}, {"the member", w.m1Tok, 403}} {
		r := f.do(http.MethodGet, "/v1/experts/"+legacy+"/calendar"+at, tc.tok, "")
		if r.status != tc.want || (tc.want == 200 && !strings.Contains(string(r.body), dA)) {
			t.Errorf("legacy calendar read by %s: got %d %s, want %d", tc.name, r.status, r.body, tc.want)
		}
	}
	if r := f.do(http.MethodGet, "/v1/audit/streams/"+domain.ExpertStream(legacy), w.auditor, ""); r.status != 200 || !strings.Contains(string(r.body), "ExpertBooked") {
		t.Errorf("audit of the legacy schedule: got %d %s", r.status, r.body)
	}
	// The legacy expert cannot be booked again, but its booking is released on cancel.
	if r := f.do(http.MethodPost, "/v1/dispatches/"+f.requestDispatch(w.m1Tok, w.alliance, w.window)+"/assign", w.leadTok, `{"expertId":"`+legacy+`"}`); r.status != 403 {
		t.Errorf("booking a legacy expert again: got %d %s, want 403", r.status, r.body)
	}
	if r := f.do(http.MethodPost, "/v1/dispatches/"+dA+"/cancel", w.leadTok, `{"reason":"专家不再出诊"}`); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	l, err := eventstore.Load[domain.ExpertSchedule](ctx, f.store, domain.ExpertStream(legacy))
	if err != nil || len(l.State.Bookings()) != 0 {
		t.Errorf("legacy booking after cancel: %v, %v; want released", l.State.Bookings(), err)
	}
}

// TestPractitionerDirectory: registration by the home hospital or an admin only, the
// directory readable by id and by hospital, and nothing personal accepted.
func TestPractitionerDirectory(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.twoAlliances()
	body := func(hospital, name string) string {
		return fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":%q,"title":"副主任医师","specialties":["骨髓瘤"]}`, hospital, name)
	}
	if r := f.do(http.MethodPost, "/v1/practitioners", w.leadBTok, body(w.lead, "冒名医生")); r.status != 403 {
		t.Errorf("another hospital registers under A: got %d %s, want 403", r.status, r.body)
	}
	if r := f.do(http.MethodPost, "/v1/practitioners", w.auditor, body(w.lead, "审计员")); r.status != 403 {
		t.Errorf("an auditor registers: got %d %s, want 403", r.status, r.body)
	}
	if r := f.do(http.MethodPost, "/v1/practitioners", w.leadTok, body(w.lead, "张医生 13812345678")); r.status != 400 {
		t.Errorf("a phone number in the name: got %d %s, want 400", r.status, r.body)
	}
	if r := f.do(http.MethodPost, "/v1/practitioners", w.leadTok, strings.Replace(body(w.lead, "张医生"), `"title"`, `"nationalId":"310101196501012345","title"`, 1)); r.status != 400 {
		t.Errorf("a national id field: got %d %s, want 400 (unknown field)", r.status, r.body)
	}
	r := f.do(http.MethodPost, "/v1/practitioners", w.admin, body(w.lead, "侯建"))
	if r.status != 201 {
		t.Fatalf("admin registers: %d %s", r.status, r.body)
	}
	at := "?minPosition=" + posOf(t, r)
	list := f.do(http.MethodGet, "/v1/hospitals/"+w.lead+"/practitioners"+at, w.m2Tok, "")
	if items, _ := list.json(t)["items"].([]any); list.status != 200 || len(items) != 2 {
		t.Fatalf("A's practitioners: got %d %s, want 2", list.status, list.body)
	}
	one := f.do(http.MethodGet, "/v1/practitioners/"+w.expert+at, w.leadBTok, "")
	if m := one.json(t); one.status != 200 || m["hospitalId"] != w.lead || m["title"] != "主任医师" || m["active"] != true {
		t.Errorf("practitioner entry: got %d %s", one.status, one.body)
	}
	if r := f.do(http.MethodPost, "/v1/practitioners/"+w.expert+"/profile", w.leadBTok, `{"name":"王振义","title":"住院医师","specialties":["内科"]}`); r.status != 403 {
		t.Errorf("another hospital updates A's expert: got %d %s, want 403", r.status, r.body)
	}
	if r := f.do(http.MethodGet, "/v1/practitioners/01J0000000000000000000EXP9"+at, w.leadTok, ""); r.status != 404 {
		t.Errorf("unknown practitioner: got %d %s, want 404", r.status, r.body)
	}
}
