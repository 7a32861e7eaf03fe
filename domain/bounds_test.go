package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// TestBounds runs commands of every aggregate with an instant, offset, window, duration,
// list or text just inside and just outside its bound: inside is accepted, outside is
// invalid_input with a message naming the field and the bound.
func TestBounds(t *testing.T) {
	pw := newPlanWorld()
	rw := newRenjiWorld()
	hw := newHengkouWorld()
	lw := newLymphomaWorld()

	earliest := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	latest := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	year9999 := time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC)
	west := time.FixedZone("-05", -5*3600)
	badZone := time.FixedZone("+30", 30*3600)
	day := 24 * time.Hour

	initiate := func(start time.Time) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			c := pw.initiate
			c.StartDate = start
			return domain.DecidePlan(domain.Plan{}, c)
		}
	}
	// A plan whose protocol has a step on day 3650, for the due-date bound at initiation.
	longProtocol := pw.protocol.Evolve(domain.ProtocolVersionPublished{ProtocolID: id(20), AllianceID: id(10), Version: 3,
		Steps: []domain.ProtocolStep{{StepID: "y10-review", DayOffset: 3650, Activity: "ten-year review"}}, PublishedAt: t0})
	initiateLong := func(start time.Time) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			c := pw.initiate
			c.Protocol, c.Version, c.StartDate = longProtocol, 3, start
			return domain.DecidePlan(domain.Plan{}, c)
		}
	}
	planAt := func(start time.Time) domain.Plan {
		ev := pw.initiated
		ev.StartDate = start
		return domain.Plan{}.Evolve(ev)
	}
	revise := func(start time.Time, dayOffset int) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			return domain.DecidePlan(planAt(start), domain.RevisePlan{PlanID: id(30), Reason: "add a follow-up",
				Changes: []domain.PlanStepChange{{Action: domain.PlanChangeAdd, StepID: "follow-up", DayOffset: dayOffset, Activity: "PET-CT"}},
				By:      pw.lead, At: t0})
		}
	}
	planCmdAt := func(at time.Time) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			return domain.DecidePlan(planAt(pw.day0), domain.SkipPlanStep{PlanID: id(30), StepID: "d0-rituximab", Reason: "refused", By: pw.lead, At: at})
		}
	}
	dispatchWindow := func(w domain.Window, kind string) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			c := rw.request()
			c.Window, c.Kind = w, kind
			return domain.DecideDispatch(domain.Dispatch{}, c)
		}
	}
	book := func(w domain.Window) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			return domain.DecideExpert(domain.ExpertSchedule{}, domain.BookExpert{ExpertID: rw.expertID, DispatchID: rw.dispatchID, Window: w})
		}
	}
	consultAt := func(at time.Time) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			c := hw.request()
			c.RequestedAt = at
			return domain.DecideConsult(domain.Consult{}, c)
		}
	}
	adoptAt := func(at time.Time) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			return domain.DecideAdoption(domain.Adoption{}, domain.AdoptProtocol{Alliance: lw.alliance(), Protocol: lw.protocol(),
				HospitalID: lw.punan.ID, Version: 1, By: domain.Actor{HospitalID: lw.punan.ID, DepartmentID: "haematology"}, At: at})
		}
	}
	admitAt := func(at time.Time) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			return domain.DecideAlliance(lw.alliance(), domain.AdmitMember{AllianceID: lw.allianceID, Hospital: lw.shuyuan,
				Tier: domain.TierMember, By: lw.lead, At: at})
		}
	}
	claimAt := func(at time.Time) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			return domain.DecideClaimIdempotencyKey(domain.IdempotencyClaim{}, domain.ClaimIdempotencyKey{HospitalID: id(1), Key: "k1",
				Operation: "InitiatePlan", AggregateID: id(30), At: at})
		}
	}
	publishOffset := func(n int) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			return domain.DecideProtocol(lw.protocol(), domain.PublishProtocolVersion{ProtocolID: lw.protocolID,
				Steps: []domain.ProtocolStep{{StepID: "s1", DayOffset: n, Activity: "review"}}, Eligibility: "adults", By: lw.lead, At: t0})
		}
	}
	departments := func(n int) []domain.Department {
		ds := make([]domain.Department, n)
		for i := range ds {
			ds[i] = domain.Department{ID: "d" + itoa3(i), Name: "department"}
		}
		return ds
	}
	register := func(n int) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			return domain.DecideHospital(domain.Hospital{}, domain.RegisterHospital{HospitalID: id(90), Name: "县医院", RegionCode: "610902",
				Level: domain.LevelSecondary, Departments: departments(n)})
		}
	}
	deviations := func(n int) domain.Plan {
		p := planAt(pw.day0)
		for i := range n {
			var u [16]byte
			u[0], u[14], u[15] = 2, byte(i>>8), byte(i)
			p = p.Evolve(domain.PlanDeviationReported{PlanID: id(30), DeviationID: ulidOf(u), Description: "late", Severity: "minor", HospitalID: id(1), At: t0})
		}
		return p
	}
	report := func(p domain.Plan) func() ([]domain.Event, error) {
		return func() ([]domain.Event, error) {
			return domain.DecidePlan(p, domain.ReportPlanDeviation{PlanID: id(30), DeviationID: id(99), Description: "late", Severity: "minor", By: pw.lead, At: t0})
		}
	}

	tests := []struct {
		name   string
		decide func() ([]domain.Event, error)
		want   []string // fragments of the invalid_input message; nil: accepted
	}{
		{"plan startDate on the earliest day", initiate(earliest), nil},
		{"plan whose last step (day 4) falls on the last day", initiate(latest.Add(-4*day - time.Nanosecond)), nil},
		{"plan whose last step (day 4) falls in 2200", initiate(latest.Add(-4*day + time.Hour)), []string{"d4-prednisone", "due date", "plus dayOffset 4"}},
		{"plan startDate before 1900", initiate(earliest.Add(-time.Second)), []string{"startDate", "1900-01-01T00:00:00Z", "2200-01-01T00:00:00Z"}},
		{"plan startDate in 2200", initiate(latest), []string{"startDate", "2200-01-01"}},
		{"plan startDate 9999-12-31 (the 500 of issue 9)", initiate(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)), []string{"startDate", "9999-12-31"}},
		{"plan startDate in the year 1", initiate(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), []string{"startDate"}},
		{"plan startDate with an offset JSON cannot write", initiate(time.Date(2026, 3, 2, 0, 0, 0, 0, badZone)), []string{"startDate", "offset", "23:59"}},
		{"plan step on day 3650 from a start in 2189", initiateLong(time.Date(2189, 1, 1, 0, 0, 0, 0, time.UTC)), nil},
		{"plan step on day 3650 from a start in 2199", initiateLong(time.Date(2199, 6, 1, 0, 0, 0, 0, time.UTC)),
			[]string{"y10-review", "due date", "2209-", "startDate 2199-06-01 plus dayOffset 3650", "2200-01-01"}},
		{"revision adds a step on day 3650", revise(pw.day0, 3650), nil},
		{"revision adds a step past day 3650", revise(pw.day0, 3651), []string{"dayOffset 3651", "between 0 and 3650"}},
		{"revision adds a negative day", revise(pw.day0, -1), []string{"dayOffset -1", "between 0 and 3650"}},
		{"revision adds day 3650 to a plan started 9999-12-01 (issue 9, Why 1)", revise(year9999, 3650), []string{"due date", "plus dayOffset 3650"}},
		{"revision adds day 3650 to a plan started in 2195", revise(time.Date(2195, 1, 1, 0, 0, 0, 0, time.UTC), 3650),
			[]string{"changes[0]", "follow-up", "due date", "2204-"}},
		{"plan command at 2199-12-31", planCmdAt(time.Date(2199, 12, 31, 12, 0, 0, 0, time.UTC)), nil},
		{"plan command in the year 9999, west of UTC", planCmdAt(time.Date(9999, 12, 31, 22, 0, 0, 0, west)), []string{"command's time", "10000-01-01T03:00:00Z"}},
		{"plan command at the zero time", planCmdAt(time.Time{}), []string{"command's time", "required"}},
		{"protocol step on day 3650", publishOffset(3650), nil},
		{"protocol step on day 3651", publishOffset(3651), []string{"dayOffset 3651", "3650"}},
		{"dispatch window near 2200", dispatchWindow(domain.Window{Start: time.Date(2199, 12, 30, 0, 0, 0, 0, time.UTC), End: time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC)}, domain.DispatchClinic), nil},
		{"dispatch window ending in 2200", dispatchWindow(domain.Window{Start: time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC), End: latest.Add(time.Hour)}, domain.DispatchClinic),
			[]string{"window end", "2200-01-01"}},
		{"dispatch window starting in 1899", dispatchWindow(domain.Window{Start: earliest.Add(-time.Hour), End: earliest.Add(time.Hour)}, domain.DispatchClinic),
			[]string{"window start", "1900-01-01"}},
		{"workstation window in the year 9999", dispatchWindow(domain.Window{Start: year9999, End: year9999.Add(366 * day)}, domain.DispatchWorkstation),
			[]string{"window start", "9999-12-01"}},
		{"visit window of 15 days", dispatchWindow(domain.Window{Start: t0, End: t0.Add(15 * day)}, domain.DispatchClinic), []string{"at most 14 days"}},
		{"booking past 2200", book(domain.Window{Start: time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC), End: latest.Add(24 * time.Hour)}), []string{"window end"}},
		{"booking with an offset JSON cannot write", book(domain.Window{Start: t0.In(badZone), End: t0.Add(time.Hour)}), []string{"window start", "offset"}},
		{"consult requested in 2199", consultAt(time.Date(2199, 11, 1, 0, 0, 0, 0, time.UTC)), nil},
		{"consult whose deadline falls in 2200", consultAt(latest.Add(-time.Minute)), []string{"deadline", "requestedAt plus the emergency allowance of 30m0s"}},
		{"consult requested in the year 1", consultAt(time.Date(1, 1, 1, 1, 0, 0, 0, time.UTC)), []string{"requestedAt", "0001-01-01T01:00:00Z", "1900-01-01"}},
		{"adoption in the year 10000", adoptAt(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), []string{"command's time"}},
		{"admission in 1899", admitAt(time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)), []string{"command's time", "1900-01-01"}},
		{"idempotency claim in the year 9999", claimAt(year9999), []string{"claim's time"}},
		{"hospital with 200 departments", register(200), nil},
		{"hospital with 201 departments", register(201), []string{"departments", "201", "limit is 200"}},
		{"plan with 999 deviations takes one more", report(deviations(999)), nil},
		{"plan with 1000 deviations", report(deviations(1000)), []string{"deviations", "1001", "limit is 1000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := tc.decide()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want it accepted", err)
				}
				if len(evs) == 0 {
					t.Fatal("accepted without events")
				}
				return
			}
			if code := domain.ErrorCode(err); code != domain.CodeInvalidInput {
				t.Fatalf("got %v (code %q), want invalid_input", err, code)
			}
			for _, frag := range tc.want {
				if !strings.Contains(domain.ErrorMessage(err), frag) {
					t.Errorf("message %q does not mention %q", domain.ErrorMessage(err), frag)
				}
			}
		})
	}
}

// TestBoundsOnPlanSteps checks the limit of steps one plan holds, its schedule and every
// step its revisions add.
func TestBoundsOnPlanSteps(t *testing.T) {
	w := newPlanWorld()
	p := domain.Plan{}.Evolve(w.initiated)
	add := func(from, n int) []domain.PlanStepChange {
		var out []domain.PlanStepChange
		for i := from; i < from+n; i++ {
			out = append(out, domain.PlanStepChange{Action: domain.PlanChangeAdd, StepID: "extra-" + itoa3(i), DayOffset: 30, Activity: "review"})
		}
		return out
	}
	revision := func(p domain.Plan, changes []domain.PlanStepChange) ([]domain.Event, error) {
		return domain.DecidePlan(p, domain.RevisePlan{PlanID: id(30), Reason: "more follow-up", Changes: changes, By: w.lead, At: t0})
	}
	for len(p.Steps)+200 <= domain.MaxPlanSteps {
		evs, err := revision(p, add(len(p.Steps), 200))
		if err != nil {
			t.Fatalf("at %d steps: %v", len(p.Steps), err)
		}
		p = p.Evolve(evs[0])
	}
	room := domain.MaxPlanSteps - len(p.Steps)
	if _, err := revision(p, add(len(p.Steps), room+1)); domain.ErrorCode(err) != domain.CodeInvalidInput ||
		!strings.Contains(domain.ErrorMessage(err), "limit is 1000") {
		t.Fatalf("one step past the limit: got %v, want invalid_input naming the limit", err)
	}
	if _, err := revision(p, add(len(p.Steps), room)); err != nil {
		t.Fatalf("up to the limit: %v", err)
	}
}

// TestBoundsOnText refuses text that is not UTF-8, which JSON would silently change.
func TestBoundsOnText(t *testing.T) {
	w := newPlanWorld()
	p := domain.Plan{}.Evolve(w.initiated)
	_, err := domain.DecidePlan(p, domain.SkipPlanStep{PlanID: id(30), StepID: "d0-rituximab", Reason: "bad \xff bytes", By: w.lead, At: t0})
	if domain.ErrorCode(err) != domain.CodeInvalidInput || !strings.Contains(domain.ErrorMessage(err), "reason is not valid UTF-8") {
		t.Fatalf("got %v, want invalid_input naming the field", err)
	}
	_, err = domain.DecidePlan(p, domain.SkipPlanStep{PlanID: id(30), StepID: "d0-rituximab", Reason: "患者拒绝 👩‍⚕️", By: w.lead, At: t0})
	if err != nil {
		t.Fatalf("unicode text: %v", err)
	}
}

func itoa3(i int) string {
	return string([]byte{byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}

func ulidOf(u [16]byte) string { return ulid.ULID(u).String() }
