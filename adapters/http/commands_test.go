package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
	httpapi "github.com/medalliance/allianced/adapters/http"
	"github.com/medalliance/allianced/domain"
)

func TestStatusOfEveryCode(t *testing.T) {
	tests := []struct {
		code domain.Code
		want int
	}{
		{domain.CodeInvalidInput, 400}, {domain.CodeUnauthenticated, 401}, {domain.CodeForbidden, 403},
		{domain.CodeNotFound, 404}, {domain.CodeConflict, 409}, {domain.CodeAlreadyExists, 409},
		{domain.CodeForbiddenTransition, 409}, {domain.CodeScheduleOverlap, 409}, {domain.CodeNotMember, 422},
		{domain.CodeIdempotencyKeyReused, 422},
		{domain.CodeTimeout, 504}, {domain.CodeUnavailable, 503}, {domain.CodeInternal, 500},
		{httpapi.CodePayloadTooLarge, 413}, {httpapi.CodeMethodNotAllowed, 405}, {domain.Code("no_such_code"), 500},
	}
	for _, tc := range tests {
		if got := httpapi.StatusOf(tc.code); got != tc.want {
			t.Errorf("StatusOf(%s) = %d, want %d", tc.code, got, tc.want)
		}
	}
}

// failingStore fails every stream read with err, so any error reaches the HTTP layer.
type failingStore struct {
	eventstore.Store
	err error
}

func (s failingStore) ReadStream(context.Context, string, eventstore.Direction, uint64, int) ([]eventstore.RecordedEvent, error) {
	return nil, s.err
}

// TestErrorResponses sends one command through a store failing with each kind of error
// and checks status, code and that internal details never leak.
func TestErrorResponses(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"invalid input", domain.Errorf(domain.CodeInvalidInput, "bad"), 400, "invalid_input"},
		{"unauthenticated", domain.Errorf(domain.CodeUnauthenticated, "who"), 401, "unauthenticated"},
		{"forbidden", domain.Errorf(domain.CodeForbidden, "no"), 403, "forbidden"},
		{"not found", domain.Errorf(domain.CodeNotFound, "gone"), 404, "not_found"},
		{"conflict", domain.Errorf(domain.CodeConflict, "moved"), 409, "conflict"},
		{"already exists", domain.Errorf(domain.CodeAlreadyExists, "dup"), 409, "already_exists"},
		{"forbidden transition", domain.Errorf(domain.CodeForbiddenTransition, "state"), 409, "forbidden_transition"},
		{"schedule overlap", domain.Errorf(domain.CodeScheduleOverlap, "busy"), 409, "schedule_overlap"},
		{"not member", domain.Errorf(domain.CodeNotMember, "outsider"), 422, "not_member"},
		{"timeout code", domain.Errorf(domain.CodeTimeout, "slow"), 504, "timeout"},
		{"deadline exceeded", context.DeadlineExceeded, 504, "timeout"},
		{"unavailable", &eventstore.UnavailableError{Err: errors.New("connection refused 10.0.0.7")}, 503, "unavailable"},
		{"wrong version", &eventstore.WrongExpectedVersionError{Stream: "x", Expected: eventstore.Exact(1), Actual: 4, Exists: true}, 409, "conflict"},
		{"internal", errors.New("disk on fire at /var/secret"), 500, "internal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureOn(t, failingStore{mustOpenStore(t), tc.err})
			admin := f.token("a", "01J000000000000000000000AD", "", httpapi.RoleAdmin)
			r := f.do(http.MethodPost, "/v1/hospitals/01J00000000000000000000001/departments", admin, `{"id":"icu","name":"ICU"}`)
			if r.status != tc.wantStatus || r.code(t) != tc.wantCode {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.wantStatus, tc.wantCode)
			}
			if bytes.Contains(r.body, []byte("10.0.0.7")) || bytes.Contains(r.body, []byte("/var/secret")) {
				t.Fatalf("internal detail leaked: %s", r.body)
			}
			if tc.wantCode == "conflict" && strings.Contains(tc.name, "version") {
				d, _ := r.json(t)["details"].(map[string]any)
				if d["currentVersion"] != float64(4) {
					t.Fatalf("details = %v, want currentVersion 4", d)
				}
			}
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	big := `{"name":"` + strings.Repeat("x", 5000) + `"}`
	tests := []struct {
		name, method, path, body string
		headers                  []string
		wantStatus               int
		wantCode                 string
	}{
		{"unknown field", "POST", "/v1/alliances", `{"name":"a","specialty":"b","kind":"specialist","colour":"red"}`, nil, 400, "invalid_input"},
		{"malformed json", "POST", "/v1/alliances", `{"name":`, nil, 400, "invalid_input"},
		{"not an object", "POST", "/v1/alliances", `[1,2]`, nil, 400, "invalid_input"},
		{"wrong type", "POST", "/v1/alliances", `{"name":5}`, nil, 400, "invalid_input"},
		{"trailing data", "POST", "/v1/alliances", `{"name":"a"} {"name":"b"}`, nil, 400, "invalid_input"},
		{"oversized body", "POST", "/v1/alliances", big, nil, 413, "payload_too_large"},
		{"invalid path id", "POST", "/v1/alliances/not-a-ulid/members", `{"hospitalId":"` + w.m1 + `","tier":"member"}`, nil, 400, "invalid_input"},
		{"invalid version in path", "POST", "/v1/protocols/01J00000000000000000000002/versions/x/withdraw", `{"reason":"r"}`, nil, 400, "invalid_input"},
		{"idempotency key too long", "POST", "/v1/alliances", `{}`, []string{"Idempotency-Key", strings.Repeat("k", 201)}, 400, "invalid_input"},
		{"bad if-match", "POST", "/v1/alliances/" + w.alliance + "/members", `{}`, []string{"If-Match", "abc"}, 400, "invalid_input"},
		{"unknown route", "GET", "/v1/nowhere", ``, nil, 404, "not_found"},
		{"wrong content type", "POST", "/v1/alliances", `name=a`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 400, "invalid_input"},
	}
	before := f.count()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(tc.method, tc.path, w.leadTok, tc.body, tc.headers...)
			if r.status != tc.wantStatus || r.code(t) != tc.wantCode {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.wantStatus, tc.wantCode)
			}
		})
	}
	if got := f.count(); got != before {
		t.Fatalf("rejected requests appended %d events", got-before)
	}
}

func TestIdempotentRetry(t *testing.T) {
	f := newFixture(t)
	admin := f.token("admin", "01J000000000000000000000AD", "", httpapi.RoleAdmin)
	body := `{"name":"某县人民医院","regionCode":"330102","level":"secondary","departments":[]}`
	first := f.do(http.MethodPost, "/v1/hospitals", admin, body, "Idempotency-Key", "create-county-1")
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	n := f.count()
	second := f.do(http.MethodPost, "/v1/hospitals", admin, body, "Idempotency-Key", "create-county-1")
	if second.status != first.status || !bytes.Equal(second.body, first.body) || second.header.Get("ETag") != first.header.Get("ETag") {
		t.Fatalf("retry: got %d %s, want %d %s", second.status, second.body, first.status, first.body)
	}
	if second.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry not marked as replayed")
	}
	if got := f.count(); got != n {
		t.Fatalf("retry appended %d events", got-n)
	}
	// The hospital exists once: a different key creates a second one.
	third := f.do(http.MethodPost, "/v1/hospitals", admin, body, "Idempotency-Key", "create-county-2")
	if third.status != http.StatusCreated || third.json(t)["id"] == first.json(t)["id"] {
		t.Fatalf("another key: got %d %s", third.status, third.body)
	}
	// A command on an existing aggregate: same key twice appends one event.
	id := first.json(t)["id"].(string)
	dep := `{"id":"cardio","name":"心内科"}`
	a := f.do(http.MethodPost, "/v1/hospitals/"+id+"/departments", admin, dep, "Idempotency-Key", "dept-1")
	n = f.count()
	b := f.do(http.MethodPost, "/v1/hospitals/"+id+"/departments", admin, dep, "Idempotency-Key", "dept-1")
	if a.status != 200 || b.status != 200 || !bytes.Equal(a.body, b.body) || f.count() != n {
		t.Fatalf("department retry: %d %s / %d %s, events +%d", a.status, a.body, b.status, b.body, f.count()-n)
	}
}

func TestIfMatch(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	path := "/v1/alliances/" + w.alliance + "/members/" + w.m1 + "/suspend"
	r := f.do(http.MethodPost, path, w.leadTok, `{"reason":"quality review"}`, "If-Match", `"0"`)
	if r.status != http.StatusConflict || r.code(t) != "conflict" {
		t.Fatalf("stale If-Match: got %d %s, want 409 conflict", r.status, r.body)
	}
	d, _ := r.json(t)["details"].(map[string]any)
	if d["currentVersion"] != float64(2) {
		t.Fatalf("details = %v, want currentVersion 2 (founded, two admissions)", d)
	}
	r = f.do(http.MethodPost, path, w.leadTok, `{"reason":"quality review"}`, "If-Match", `"2"`)
	if r.status != http.StatusOK || r.header.Get("ETag") != `"3"` {
		t.Fatalf("current If-Match: got %d %s etag %s", r.status, r.body, r.header.Get("ETag"))
	}
}

func TestNotMemberIs422(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	outsider := f.mustCreate("/v1/hospitals", w.admin, `{"name":"外省医院","regionCode":"440101","level":"secondary","departments":[{"id":"haem","name":"血液科"}]}`)
	tok := f.token("dr-out", outsider, "haem", httpapi.RoleMember)
	r := f.do(http.MethodPost, "/v1/dispatches", tok, `{"allianceId":"`+w.alliance+`","kind":"clinic","specialty":"haematology","window":{"start":"2030-01-01T08:00:00Z","end":"2030-01-01T12:00:00Z"}}`)
	if r.status != 422 || r.code(t) != "not_member" {
		t.Fatalf("got %d %s, want 422 not_member", r.status, r.body)
	}
}
