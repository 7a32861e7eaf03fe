package app_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// faultyStore fails appends to streams with a prefix while armed.
type faultyStore struct {
	eventstore.Store
	prefix string
	armed  atomic.Bool
}

func (s *faultyStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if s.armed.Load() && strings.HasPrefix(stream, s.prefix) {
		return eventstore.AppendResult{}, &eventstore.UnavailableError{Err: errors.New("disk full")}
	}
	return s.Store.Append(ctx, stream, expected, events)
}

type env struct {
	t        *testing.T
	store    *faultyStore
	app      *app.App
	lead     domain.Actor
	member   domain.Actor
	alliance string
}

// mustOK returns a checker for a use case's results: mustOK(t)(a.X(ctx, call, in)).
func mustOK(t *testing.T) func(app.Outcome, error) app.Outcome {
	t.Helper()
	return func(o app.Outcome, err error) app.Outcome {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := &faultyStore{Store: mustOpenStore(t), prefix: "dispatch-"}
	a := app.New(app.Config{Store: st, Now: func() time.Time { return t0 }})
	ctx := context.Background()
	admin := app.Call{Actor: domain.Actor{UserID: "admin", Role: "admin"}}
	lead := mustOK(t)(a.RegisterHospital(ctx, admin, app.RegisterHospitalInput{Name: "县人民医院", RegionCode: "330102", Level: "secondary",
		Departments: []domain.Department{{ID: "cardio", Name: "心内科"}}}))
	mem := mustOK(t)(a.RegisterHospital(ctx, admin, app.RegisterHospitalInput{Name: "乡镇卫生院", RegionCode: "330102", Level: "community"}))
	e := &env{t: t, store: st, app: a,
		lead:   domain.Actor{HospitalID: lead.ID, DepartmentID: "cardio", UserID: "dr-wang", Role: "lead"},
		member: domain.Actor{HospitalID: mem.ID, UserID: "dr-li", Role: "member"}}
	e.alliance = mustOK(t)(a.FoundAlliance(ctx, app.Call{Actor: e.lead}, app.FoundAllianceInput{Name: "县域医共体", Specialty: "cardiology", Kind: "county"})).ID
	mustOK(t)(a.AdmitMember(ctx, app.Call{Actor: e.lead}, app.AdmitMemberInput{AllianceID: e.alliance, HospitalID: mem.ID, Tier: "community"}))
	return e
}

func (e *env) dispatch(start time.Time) string {
	e.t.Helper()
	return mustOK(e.t)(e.app.RequestDispatch(context.Background(), app.Call{Actor: e.member}, app.RequestDispatchInput{
		AllianceID: e.alliance, Kind: "clinic", Specialty: "cardiology", Window: domain.Window{Start: start, End: start.Add(4 * time.Hour)}})).ID
}

// expert registers a practitioner of the lead hospital's cardiology department, whom
// the alliance's lead may book, and returns the id.
func (e *env) expert() string {
	e.t.Helper()
	return mustOK(e.t)(e.app.RegisterPractitioner(context.Background(), app.Call{Actor: e.lead}, app.RegisterPractitionerInput{
		HospitalID: e.lead.HospitalID, DepartmentID: "cardio", Name: "王主任", Title: "主任医师", Specialties: []string{"心血管介入"}})).ID
}

func (e *env) schedule(expertID string) domain.ExpertSchedule {
	e.t.Helper()
	l, err := eventstore.Load[domain.ExpertSchedule](context.Background(), e.store, domain.ExpertStream(expertID))
	if err != nil {
		e.t.Fatal(err)
	}
	return l.State
}

func TestAssignExpertAcrossAggregates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	expert := e.expert()
	d1 := e.dispatch(t0.Add(24 * time.Hour))
	d2 := e.dispatch(t0.Add(26 * time.Hour)) // overlaps d1's window
	d3 := e.dispatch(t0.Add(72 * time.Hour))
	lead := app.Call{Actor: e.lead}

	mustOK(t)(e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d1, ExpertID: expert, ExpertName: "王主任"}))
	if _, ok := e.schedule(expert).Booking(d1); !ok {
		t.Fatal("assigned expert is not booked")
	}
	_, err := e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d2, ExpertID: expert, ExpertName: "王主任"})
	if domain.ErrorCode(err) != domain.CodeScheduleOverlap {
		t.Fatalf("overlapping assignment: got %v, want schedule_overlap", err)
	}
	// A member may not assign: refused before the schedule is touched.
	n := countEvents(t, e.store)
	if _, err := e.app.AssignExpert(ctx, app.Call{Actor: e.member}, app.AssignExpertInput{DispatchID: d3, ExpertID: expert, ExpertName: "王主任"}); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Fatalf("member assigning: got %v, want forbidden", err)
	}
	if countEvents(t, e.store) != n {
		t.Fatal("a refused assignment appended events")
	}

	// The dispatch append fails: the booking is released again (compensation).
	e.store.armed.Store(true)
	_, err = e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d3, ExpertID: expert, ExpertName: "王主任"})
	e.store.armed.Store(false)
	if domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Fatalf("failing dispatch append: got %v, want unavailable", err)
	}
	if _, ok := e.schedule(expert).Booking(d3); ok {
		t.Fatal("booking kept after the assignment failed")
	}
	// A retry after the failure books and assigns.
	mustOK(t)(e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d3, ExpertID: expert, ExpertName: "王主任"}))
	if _, ok := e.schedule(expert).Booking(d3); !ok {
		t.Fatal("retried assignment did not book")
	}

	// Cancelling an assigned dispatch releases the booking; the window is free again.
	mustOK(t)(e.app.CancelDispatch(ctx, lead, app.CancelDispatchInput{DispatchID: d1, Reason: "patient transferred"}))
	if _, ok := e.schedule(expert).Booking(d1); ok {
		t.Fatal("cancelled dispatch still books the expert")
	}
	mustOK(t)(e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d2, ExpertID: expert, ExpertName: "王主任"}))
}

func TestAssignExpertIdempotentRetry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	expert := e.expert()
	d := e.dispatch(t0.Add(24 * time.Hour))
	call := app.Call{Actor: e.lead, IdempotencyKey: "assign-1"}
	first := mustOK(t)(e.app.AssignExpert(ctx, call, app.AssignExpertInput{DispatchID: d, ExpertID: expert, ExpertName: "王主任"}))
	n := countEvents(t, e.store)
	second := mustOK(t)(e.app.AssignExpert(ctx, call, app.AssignExpertInput{DispatchID: d, ExpertID: expert, ExpertName: "王主任"}))
	if !second.Replayed || second.Version != first.Version || second.Position != first.Position || countEvents(t, e.store) != n {
		t.Fatalf("retry: got %+v (events +%d), want the first result %+v", second, countEvents(t, e.store)-n, first)
	}
}

func TestIdempotentCreateConcurrent(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	a := app.New(app.Config{Store: st})
	call := app.Call{Actor: domain.Actor{HospitalID: ulid.Make().String(), UserID: "admin"}, IdempotencyKey: "register-once"}
	in := app.RegisterHospitalInput{Name: "医院", RegionCode: "310101", Level: "tertiary"}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := a.RegisterHospital(ctx, call, in)
			ids[i], errs[i] = o.ID, err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("attempt %d: id %s err %v, want id %s", i, ids[i], errs[i], ids[0])
		}
	}
	if countEvents(t, st) != 2 { // the claim and the registration
		t.Fatalf("log has %d events, want 2", countEvents(t, st))
	}
	// The same key for another operation is refused, not a silent reuse.
	_, err := a.FoundAlliance(ctx, call, app.FoundAllianceInput{Name: "x", Specialty: "y", Kind: "specialist"})
	if domain.ErrorCode(err) != domain.CodeIdempotencyKeyReused {
		t.Fatalf("key reused for another operation: got %v", err)
	}
}

func TestPseudonymizer(t *testing.T) {
	if _, err := app.NewPseudonymizer([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
	p, _ := app.NewPseudonymizer([]byte(strings.Repeat("k", 32)))
	q, _ := app.NewPseudonymizer([]byte(strings.Repeat("q", 32)))
	re := regexp.MustCompile(`^pr_[0-9a-z]{26,64}$`)
	a1, err := p.PatientRef("H1", "MRN-000123")
	if err != nil || !re.MatchString(a1) || len(a1) != 35 {
		t.Fatalf("got %q, %v", a1, err)
	}
	tests := []struct {
		name       string
		p          *app.Pseudonymizer
		hid, mrn   string
		wantSame   bool
		wantErrors bool
	}{
		{"deterministic, trimmed", p, "H1", "  MRN-000123 ", true, false},
		{"another hospital", p, "H2", "MRN-000123", false, false},
		{"another MRN", p, "H1", "MRN-000124", false, false},
		{"another key", q, "H1", "MRN-000123", false, false},
		{"empty MRN", p, "H1", "  ", false, true},
		{"no hospital", p, "", "MRN-1", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.p.PatientRef(tc.hid, tc.mrn)
			if tc.wantErrors {
				if err == nil || strings.Contains(err.Error(), "MRN-1") {
					t.Fatalf("got %q, %v; want an error not naming the MRN", got, err)
				}
				return
			}
			if (got == a1) != tc.wantSame || strings.Contains(got, "000123") {
				t.Fatalf("got %q, first %q, want same=%v", got, a1, tc.wantSame)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	st := mustOpenStore(t)
	a := app.New(app.Config{Store: st})
	l := app.NewAccessLog(st, app.AccessLogOptions{FlushEvery: 20 * time.Millisecond, BatchSize: 500})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = l.Run(ctx) }()
	day := time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC)
	for i := range 1200 {
		at := day
		if i >= 1100 {
			at = day.Add(2 * time.Second) // next day
		}
		l.Record(domain.AccessEntry{Actor: domain.Actor{HospitalID: fmt.Sprintf("H%d", i%3), UserID: "u"}, Resource: "plan",
			ID: fmt.Sprintf("P%d", i), Outcome: domain.AccessAllowed, At: at})
	}
	cancel()
	l.Wait()
	if l.Written() != 1200 || l.Dropped() != 0 {
		t.Fatalf("written %d dropped %d, want 1200 and 0", l.Written(), l.Dropped())
	}
	got, err := a.AccessEntries(context.Background(), day, app.AccessFilter{HospitalID: "H1", Limit: 10000})
	if err != nil || len(got) != 367 { // i%3==1 among the first 1100
		t.Fatalf("H1 entries on the first day: got %d, %v; want 367", len(got), err)
	}
	next, _ := a.AccessEntries(context.Background(), day.Add(24*time.Hour), app.AccessFilter{})
	if len(next) != 100 {
		t.Fatalf("next day: got %d entries, want 100", len(next))
	}
	// The day stream is a hash chain like every other stream.
	recs, err := st.ReadStream(context.Background(), domain.AccessStream(day), eventstore.Forwards, 0, 100)
	if err != nil || len(recs) < 3 {
		t.Fatalf("day stream: %d events, %v; want at least 3 batches", len(recs), err)
	}
	for i := 1; i < len(recs); i++ {
		envl, _, err := eventstore.Decode(recs[i])
		if err != nil || envl.PrevHash != eventstore.ChainHash(recs[i-1].Metadata, recs[i-1].Data) || envl.StreamVersion != uint64(i) {
			t.Fatalf("event %d breaks the chain (%v)", i, err)
		}
	}
}

// TestConcurrentIdenticalAssignments: the losers of a race to assign the same expert to
// the same dispatch must not release the winner's booking in their compensation.
func TestConcurrentIdenticalAssignments(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	expert := e.expert()
	for round := range 5 {
		d := e.dispatch(t0.Add(time.Duration(24*(round+1)) * time.Hour))
		var wg sync.WaitGroup
		var ok atomic.Int32
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.app.AssignExpert(ctx, app.Call{Actor: e.lead}, app.AssignExpertInput{DispatchID: d, ExpertID: expert, ExpertName: "王主任"}); err == nil {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("round %d: %d assignments succeeded, want 1", round, ok.Load())
		}
		if _, held := e.schedule(expert).Booking(d); !held {
			t.Fatalf("round %d: the winner's booking was released by a loser's compensation", round)
		}
	}
}

func TestAccessLogCoalescesIdenticalReads(t *testing.T) {
	st := mustOpenStore(t)
	a := app.New(app.Config{Store: st})
	l := app.NewAccessLog(st, app.AccessLogOptions{FlushEvery: time.Hour})
	who := domain.Actor{HospitalID: "H1", UserID: "nurse-1", Role: "member"}
	for i := range 100 {
		l.Record(domain.AccessEntry{Actor: who, Resource: "plan", ID: "P1", Outcome: domain.AccessAllowed, At: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	l.Record(domain.AccessEntry{Actor: who, Resource: "plan", ID: "P2", Outcome: domain.AccessDenied, At: t0})
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := a.AccessEntries(context.Background(), t0, app.AccessFilter{UserID: "nurse-1"})
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d entries, %v; want 2", len(got), err)
	}
	if got[0].ID != "P1" || got[0].Reads() != 100 || !got[0].At.Equal(t0) || !got[0].LastAt.Equal(t0.Add(99*time.Millisecond)) {
		t.Fatalf("coalesced entry: %+v", got[0])
	}
	if got[1].ID != "P2" || got[1].Reads() != 1 || got[1].Outcome != domain.AccessDenied {
		t.Fatalf("second entry: %+v", got[1])
	}
	if l.Written() != 101 {
		t.Fatalf("written %d, want 101 reads", l.Written())
	}
}

// TestAssignAnotherHospitalsExpert: the lead of another hospital's alliance cannot book
// this hospital's expert, nor an unregistered id; a refused booking never touches the
// expert's schedule, so the home alliance's own booking is not blocked.
func TestAssignAnotherHospitalsExpert(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	expert := e.expert()
	admin := app.Call{Actor: domain.Actor{UserID: "admin", Role: "admin"}}
	other := mustOK(t)(e.app.RegisterHospital(ctx, admin, app.RegisterHospitalInput{Name: "市第二医院", RegionCode: "330103", Level: "tertiary",
		Departments: []domain.Department{{ID: "cardio", Name: "心内科"}}}))
	otherLead := domain.Actor{HospitalID: other.ID, DepartmentID: "cardio", UserID: "dr-zhao", Role: "lead"}
	allianceB := mustOK(t)(e.app.FoundAlliance(ctx, app.Call{Actor: otherLead}, app.FoundAllianceInput{Name: "市二院医联体", Specialty: "cardiology", Kind: "city"})).ID
	mustOK(t)(e.app.AdmitMember(ctx, app.Call{Actor: otherLead}, app.AdmitMemberInput{AllianceID: allianceB, HospitalID: e.member.HospitalID, Tier: "community"}))
	dB := mustOK(t)(e.app.RequestDispatch(ctx, app.Call{Actor: e.member}, app.RequestDispatchInput{AllianceID: allianceB, Kind: "clinic",
		Specialty: "cardiology", Window: domain.Window{Start: t0.Add(24 * time.Hour), End: t0.Add(28 * time.Hour)}})).ID

	for _, id := range []string{expert, ulid.Make().String()} {
		_, err := e.app.AssignExpert(ctx, app.Call{Actor: otherLead}, app.AssignExpertInput{DispatchID: dB, ExpertID: id})
		if domain.ErrorCode(err) != domain.CodeForbidden {
			t.Fatalf("alliance B's lead assigns expert %s: got %v, want forbidden", id, err)
		}
	}
	if b := e.schedule(expert).Bookings(); len(b) != 0 {
		t.Fatalf("a refused booking touched the schedule: %v", b)
	}
	dA := e.dispatch(t0.Add(24 * time.Hour))
	mustOK(t)(e.app.AssignExpert(ctx, app.Call{Actor: e.lead}, app.AssignExpertInput{DispatchID: dA, ExpertID: expert}))
	if d := e.schedule(expert).Bookings(); len(d) != 1 || d[0].DispatchID != dA {
		t.Fatalf("home alliance's booking: got %v, want only %s", d, dA)
	}
}
