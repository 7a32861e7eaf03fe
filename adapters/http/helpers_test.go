package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	httpapi "github.com/medalliance/allianced/adapters/http"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

// fixture is a server over a store, with helpers to mint tokens and send requests.
type fixture struct {
	t      *testing.T
	store  eventstore.Store
	app    *app.App
	srv    *httpapi.Server
	h      http.Handler
	access *app.AccessLog
	clock  *testClock
}

// testClock is the app's clock in tests: it stands still until advanced.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixtureOpt func(*httpapi.Config, *httpapi.Deps)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	return newFixtureOn(t, mustOpenStore(t), opts...)
}

func newFixtureOn(t *testing.T, store eventstore.Store, opts ...fixtureOpt) *fixture {
	t.Helper()
	pseudo, err := app.NewPseudonymizer([]byte("pseudonym-key-for-tests-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	a := app.New(app.Config{Store: store, Pseudonymizer: pseudo, Now: clock.Now})
	cfg := httpapi.Config{Auth: httpapi.AuthConfig{HS256Secret: testSecret}, MaxBodyBytes: 4096,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SSEHeartbeat: 50 * time.Millisecond}
	deps := httpapi.Deps{App: a, Store: store, Now: clock.Now}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	srv, err := httpapi.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return &fixture{t: t, store: store, app: a, clock: clock, srv: srv, h: srv.Handler(), access: deps.Access}
}

// token mints a valid HS256 token.
func (f *fixture) token(sub, hid, dept string, roles ...string) string {
	f.t.Helper()
	tok, err := httpapi.MintToken(testSecret, httpapi.Claims{HospitalID: hid, DepartmentID: dept, Roles: roles,
		RegisteredClaims: jwt.RegisteredClaims{Subject: sub}}, time.Hour)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (r reply) code(t *testing.T) string {
	t.Helper()
	c, _ := r.json(t)["code"].(string)
	return c
}

// do sends one request; headers are name, value pairs.
func (f *fixture) do(method, path, token, body string, headers ...string) reply {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// mustCreate posts a create command and returns the new id.
func (f *fixture) mustCreate(path, token, body string) string {
	f.t.Helper()
	r := f.do(http.MethodPost, path, token, body)
	if r.status != http.StatusCreated {
		f.t.Fatalf("POST %s: got %d %s, want 201", path, r.status, r.body)
	}
	id, _ := r.json(f.t)["id"].(string)
	return id
}

// world is a small alliance: a lead haematology department and two member hospitals.
type world struct {
	lead, m1, m2          string // hospital ids
	alliance              string
	admin, leadTok        string
	m1Tok, m2Tok, auditor string
}

func (f *fixture) world() world {
	f.t.Helper()
	var w world
	w.admin = f.token("admin-1", "01J000000000000000000000AD", "", httpapi.RoleAdmin)
	w.lead = f.mustCreate("/v1/hospitals", w.admin, `{"name":"瑞金医院","regionCode":"310101","level":"tertiary","departments":[{"id":"haem","name":"血液科"}]}`)
	w.m1 = f.mustCreate("/v1/hospitals", w.admin, `{"name":"浦东某区人民医院","regionCode":"310115","level":"secondary","departments":[{"id":"haem","name":"血液科"}]}`)
	w.m2 = f.mustCreate("/v1/hospitals", w.admin, `{"name":"某社区卫生服务中心","regionCode":"310115","level":"community","departments":[{"id":"gp","name":"全科"}]}`)
	w.leadTok = f.token("dr-lead", w.lead, "haem", httpapi.RoleLead)
	w.m1Tok = f.token("dr-m1", w.m1, "haem", httpapi.RoleMember)
	w.m2Tok = f.token("dr-m2", w.m2, "gp", httpapi.RoleMember)
	w.auditor = f.token("auditor-1", "01J000000000000000000000A0", "", httpapi.RoleAuditor)
	w.alliance = f.mustCreate("/v1/alliances", w.leadTok, `{"name":"淋巴瘤专科联盟","specialty":"haematology","kind":"specialist"}`)
	for _, m := range []string{w.m1, w.m2} {
		r := f.do(http.MethodPost, "/v1/alliances/"+w.alliance+"/members", w.leadTok, `{"hospitalId":"`+m+`","tier":"member"}`)
		if r.status != http.StatusOK {
			f.t.Fatalf("admit %s: got %d %s", m, r.status, r.body)
		}
	}
	return w
}

// count returns how many events the log holds.
func (f *fixture) count() int { return countEvents(f.t, f.store) }
