package httpapi_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/medalliance/allianced/adapters/app"
	httpapi "github.com/medalliance/allianced/adapters/http"
	"github.com/medalliance/allianced/projections"
	"github.com/redis/go-redis/v9"
)

// withViews runs the projector over the fixture's store into a miniredis, serves the
// queries from it, and records reads in an access log flushed every 10ms.
func withViews(t *testing.T) fixtureOpt {
	return func(cfg *httpapi.Config, deps *httpapi.Deps) {
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		proj := projections.NewProjector(deps.Store, rdb, projections.Options{Prefix: "t"})
		q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: "t", Projector: proj, Timeout: 5 * time.Second})
		access := app.NewAccessLog(deps.Store, app.AccessLogOptions{FlushEvery: 10 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{}, 2)
		go func() { _ = proj.Run(ctx); done <- struct{}{} }()
		go func() { _ = access.Run(ctx); done <- struct{}{} }()
		t.Cleanup(func() { cancel(); <-done; <-done; _ = q.Close() })
		deps.Queries, deps.Lag, deps.Access = q, proj, access
	}
}

func posOf(t *testing.T, r reply) string {
	t.Helper()
	return strconv.FormatFloat(r.json(t)["position"].(float64), 'f', 0, 64)
}

func TestPlanReadAuthorization(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	_, plan := f.protocolAndPlan(w)
	r := f.do("POST", "/v1/plans/"+plan+"/steps/rituximab/complete", w.m1Tok, `{"administeredDose":"600 mg"}`)
	if r.status != 200 {
		t.Fatalf("complete step: %d %s", r.status, r.body)
	}
	at := "?minPosition=" + posOf(t, r)
	otherDept := f.token("dr-cardio", w.lead, "cardio", httpapi.RoleLead)
	tests := []struct {
		name, token string
		want        int
	}{
		{"responsible member", w.m1Tok, 200},
		{"lead department", w.leadTok, 200},
		{"auditor", w.auditor, 200},
		{"another member", w.m2Tok, 403},
		{"another department of the lead hospital", otherDept, 403},
		{"no token", "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do("GET", "/v1/plans/"+plan+at, tc.token, "")
			if r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
			if tc.want == 200 && (!strings.Contains(string(r.body), plan) || r.header.Get("ETag") == "") {
				t.Fatalf("body %s etag %q", r.body, r.header.Get("ETag"))
			}
		})
	}
	lists := []struct {
		name, path, token string
		want              int
	}{
		{"own plans", "/v1/hospitals/" + w.m1 + "/plans" + at, w.m1Tok, 200},
		{"another hospital's plans", "/v1/hospitals/" + w.m1 + "/plans", w.m2Tok, 403},
		{"auditor lists plans", "/v1/hospitals/" + w.m1 + "/plans", w.auditor, 200},
		{"alliance consults: lead", "/v1/alliances/" + w.alliance + "/consults" + at, w.leadTok, 200},
		{"alliance consults: member", "/v1/alliances/" + w.alliance + "/consults", w.m1Tok, 403},
		{"directory", "/v1/hospitals" + at, w.m2Tok, 200},
		{"alliance", "/v1/alliances/" + w.alliance + at, w.m2Tok, 200},
		{"adoption matrix", "/v1/alliances/" + w.alliance + "/adoption-matrix" + at, w.leadTok, 200},
		{"unknown plan", "/v1/plans/01J00000000000000000000009" + at, w.m1Tok, 404},
		{"bad minPosition", "/v1/plans/" + plan + "?minPosition=-1", w.m1Tok, 400},
		{"bad plan id", "/v1/plans/nope", w.m1Tok, 400},
	}
	for _, tc := range lists {
		t.Run(tc.name, func(t *testing.T) {
			if r := f.do("GET", tc.path, tc.token, ""); r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
		})
	}
	if r := f.do("GET", "/v1/hospitals/"+w.m1+"/plans"+at, w.m1Tok, ""); !strings.Contains(string(r.body), plan) {
		t.Fatalf("member's list lacks the plan: %s", r.body)
	}
	// The reads are in the access log, with who, what and the outcome.
	waitUntil(t, "access log", func() bool {
		r := f.do("GET", "/v1/audit/access?date=2026-11-23&id="+plan, w.auditor, "")
		return strings.Count(string(r.body), `"outcome":"allowed"`) >= 3 && strings.Contains(string(r.body), `"outcome":"denied"`) &&
			strings.Contains(string(r.body), `"userId":"dr-m2"`)
	})
	waitUntil(t, "list reads in the access log", func() bool {
		r := f.do("GET", "/v1/audit/access?date=2026-11-23&resource=hospital-plans&userId=dr-m2", w.auditor, "")
		return strings.Contains(string(r.body), `"outcome":"denied"`)
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sseEvent is one event read from a stream.
type sseEvent struct{ id, event, data string }

func readEvents(t *testing.T, sc *bufio.Scanner, out chan<- sseEvent) {
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.id != "" || ev.event != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[6:]
		}
	}
	close(out)
}

func openStream(t *testing.T, url, token, lastID string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 16)
	go readEvents(t, bufio.NewScanner(res.Body), ch)
	return ch, func() { cancel(); _ = res.Body.Close() }
}

func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return sseEvent{}
}

func TestPlanStreamResume(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	_, plan := f.protocolAndPlan(w)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	url := srv.URL + "/v1/plans/" + plan + "/stream"

	// The current view arrives at once.
	waitUntil(t, "handover in the view", func() bool { return f.do("GET", "/v1/plans/"+plan, w.m1Tok, "").status == 200 })
	ch, stop := openStream(t, url, w.m1Tok, "")
	first := next(t, ch)
	if first.event != "plan" || !strings.Contains(first.data, plan) {
		t.Fatalf("first event %+v", first)
	}
	// A change is pushed with a greater id.
	cr := f.do("POST", "/v1/plans/"+plan+"/steps/rituximab/complete", w.m1Tok, `{"administeredDose":"600 mg"}`)
	if cr.status != 200 {
		t.Fatalf("complete: %d %s", cr.status, cr.body)
	}
	second := next(t, ch)
	for second.id != posOf(t, cr) {
		second = next(t, ch) // intermediate positions may be coalesced or repeated
	}
	stop()

	// Changes made while disconnected arrive at once on resume.
	cr = f.do("POST", "/v1/plans/"+plan+"/steps/chop/skip", w.m1Tok, `{"reason":"neutropenia"}`)
	if cr.status != 200 {
		t.Fatalf("skip: %d %s", cr.status, cr.body)
	}
	waitUntil(t, "skip in the view", func() bool {
		return f.do("GET", "/v1/plans/"+plan+"?minPosition="+posOf(t, cr), w.m1Tok, "").status == 200
	})
	ch, stop = openStream(t, url, w.m1Tok, second.id)
	resumed := next(t, ch)
	if resumed.id != posOf(t, cr) || !strings.Contains(resumed.data, "neutropenia") {
		t.Fatalf("resumed with %+v, want the view at %s", resumed, posOf(t, cr))
	}
	stop()

	// Up to date: nothing but heartbeats until the next change.
	ch, stop = openStream(t, url, w.m1Tok, resumed.id)
	defer stop()
	select {
	case ev := <-ch:
		t.Fatalf("got %+v, want no event for an up-to-date client", ev)
	case <-time.After(200 * time.Millisecond):
	}
	// Idle streams carry heartbeat comments.
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+w.m1Tok)
	req.Header.Set("Last-Event-ID", resumed.id)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() && sc.Text() != ": heartbeat" {
	}
	if sc.Text() != ": heartbeat" {
		t.Fatal("no heartbeat on an idle stream")
	}
	res.Body.Close()
	// Another member cannot open the stream.
	if r := f.do("GET", "/v1/plans/"+plan+"/stream", w.m2Tok, ""); r.status != 403 {
		t.Fatalf("another member's stream: %d", r.status)
	}
}

func TestPlanStreamEndsOnShutdown(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	_, plan := f.protocolAndPlan(w)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	waitUntil(t, "plan view", func() bool { return f.do("GET", "/v1/plans/"+plan, w.leadTok, "").status == 200 })
	ch, stop := openStream(t, srv.URL+"/v1/plans/"+plan+"/stream", w.leadTok, "")
	defer stop()
	next(t, ch)
	f.srv.Shutdown()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Shutdown")
	}
}

// TestReadsWithoutReadModels: a server wired without read models answers its reads
// 503 unavailable rather than failing inside the handler.
func TestReadsWithoutReadModels(t *testing.T) {
	f := newFixture(t)
	tok := f.token("auditor", "01HZAUDIT000000000000000000", "", "auditor")
	for _, path := range []string{"/v1/plans/01JBP000000000000000000000", "/v1/hospitals/01JBH000000000000000000000",
		"/v1/alliances/01JBA000000000000000000000/members"} {
		r := f.do("GET", path, tok, "")
		if r.status != 503 || r.code(t) != "unavailable" {
			t.Errorf("GET %s without read models: %d %s, want 503 unavailable", path, r.status, r.body)
		}
	}
}

// TestAllianceReadAuthorization checks that an alliance's views and the plans on a
// protocol version are refused to hospitals outside the alliance.
func TestAllianceReadAuthorization(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	proto, _ := f.protocolAndPlan(w)
	r := f.do("POST", "/v1/hospitals", w.admin, `{"name":"外省某医院","regionCode":"510104","level":"tertiary","departments":[{"id":"haem","name":"血液科"}]}`)
	if r.status != 201 {
		t.Fatalf("register outsider: %d %s", r.status, r.body)
	}
	outsider, _ := r.json(t)["id"].(string)
	outsiderLead := f.token("dr-out", outsider, "haem", httpapi.RoleLead)
	at := "?minPosition=" + posOf(t, r) // every read sees everything written so far
	paths := []string{"/v1/alliances/" + w.alliance, "/v1/alliances/" + w.alliance + "/members",
		"/v1/alliances/" + w.alliance + "/protocols", "/v1/alliances/" + w.alliance + "/adoption-matrix"}
	for _, path := range paths {
		for _, tc := range []struct {
			name, token string
			want        int
		}{
			{"lead", w.leadTok, 200}, {"member", w.m2Tok, 200}, {"auditor", w.auditor, 200}, {"outsider", outsiderLead, 403},
		} {
			if r := f.do("GET", path+at, tc.token, ""); r.status != tc.want {
				t.Errorf("%s as %s: got %d %s, want %d", path, tc.name, r.status, r.body, tc.want)
			}
		}
	}
	plans := "/v1/protocols/" + proto + "/versions/1/plans"
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"protocol's lead", w.leadTok, 200}, {"auditor", w.auditor, 200}, {"member", w.m1Tok, 403}, {"another alliance's lead", outsiderLead, 403},
	} {
		if r := f.do("GET", plans, tc.token, ""); r.status != tc.want {
			t.Errorf("%s as %s: got %d %s, want %d", plans, tc.name, r.status, r.body, tc.want)
		}
	}
}
