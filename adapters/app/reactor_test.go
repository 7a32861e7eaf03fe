package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

var rchop = []domain.ProtocolStep{
	{StepID: "rituximab", DayOffset: 0, Activity: "静脉输注", Drug: "rituximab", Dose: "375 mg/m2", Route: "iv"},
	{StepID: "chop", DayOffset: 1, Activity: "化疗", Drug: "cyclophosphamide", Dose: "750 mg/m2", Route: "iv"},
}

// planOn initiates a plan on the protocol's version for a fresh patient.
func (e *env) planOn(protocolID string, version int, mrn string) string {
	e.t.Helper()
	return mustOK(e.t)(e.app.InitiatePlan(context.Background(), app.Call{Actor: e.lead}, app.InitiatePlanInput{
		AllianceID: e.alliance, ProtocolID: protocolID, Version: version, PatientRef: "pr_" + strings.Repeat(mrn, 32)[:32], StartDate: t0})).ID
}

func (e *env) plan(id string) (domain.Plan, uint64) {
	e.t.Helper()
	l, err := eventstore.Load[domain.Plan](context.Background(), e.store, domain.PlanStream(id))
	if err != nil {
		e.t.Fatal(err)
	}
	return l.State, l.Version
}

func runReactor(t *testing.T, a *app.App) (*app.Reactor, func()) {
	t.Helper()
	r := app.NewReactor(a, app.ReactorOptions{RetryEvery: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	return r, func() { cancel(); <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReactorFlagsPlansOnWithdrawnVersion(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	lead := app.Call{Actor: e.lead}
	proto := mustOK(t)(e.app.DraftProtocol(ctx, lead, app.DraftProtocolInput{AllianceID: e.alliance, Title: "R-CHOP 方案", Indication: "DLBCL"})).ID
	mustOK(t)(e.app.PublishProtocolVersion(ctx, lead, app.PublishVersionInput{ProtocolID: proto, Steps: rchop, Eligibility: "CD20+"}))
	mustOK(t)(e.app.PublishProtocolVersion(ctx, lead, app.PublishVersionInput{ProtocolID: proto, Steps: rchop[:1], Eligibility: "CD20+ elderly"}))
	onV1a, onV1b := e.planOn(proto, 1, "a"), e.planOn(proto, 1, "b")
	onV2 := e.planOn(proto, 2, "c")
	closed := e.planOn(proto, 1, "d")
	mustOK(t)(e.app.DiscontinuePlan(ctx, lead, app.DiscontinueInput{PlanID: closed, Reason: "transferred out"}))

	r, stop := runReactor(t, e.app)
	waitFor(t, "catch-up", r.CaughtUp)
	if got := len(r.PlansOn(proto, 1)); got != 2 {
		t.Fatalf("index holds %d open plans on v1, want 2", got)
	}
	// Live: the lead withdraws v1.
	mustOK(t)(e.app.WithdrawProtocolVersion(ctx, lead, app.WithdrawVersionInput{ProtocolID: proto, Version: 1, Reason: "cardiotoxicity signal"}))
	for _, id := range []string{onV1a, onV1b} {
		waitFor(t, "flag on "+id, func() bool { p, _ := e.plan(id); return p.Flag.Version == 1 })
	}
	head, _ := e.store.Head(ctx)
	waitFor(t, "reactor at head", func() bool { return r.Position() >= head })
	stop()
	if p, _ := e.plan(onV2); p.Flag.Version != 0 {
		t.Fatalf("plan on v2 flagged: %+v", p.Flag)
	}
	if p, _ := e.plan(closed); p.Flag.Version != 0 {
		t.Fatalf("closed plan flagged: %+v", p.Flag)
	}

	// A restarted reactor re-follows the log from 0 and appends nothing twice.
	n := countEvents(t, e.store)
	r2, stop2 := runReactor(t, e.app)
	waitFor(t, "second catch-up", r2.CaughtUp)
	head, _ = e.store.Head(ctx)
	waitFor(t, "second reactor at head", func() bool { return r2.Position() >= head })
	stop2()
	if got := countEvents(t, e.store); got != n {
		t.Fatalf("re-run appended %d events", got-n)
	}
}

func TestReactorReleasesBookingOfCancelledDispatch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	expert := e.expert()
	d := e.dispatch(t0.Add(24 * time.Hour))
	mustOK(t)(e.app.AssignExpert(ctx, app.Call{Actor: e.lead}, app.AssignExpertInput{DispatchID: d, ExpertID: expert, ExpertName: "王主任"}))
	// Simulate a crash between the cancel and its release: cancel through the domain
	// directly, leaving the booking held.
	cmds := eventstore.NewCommands(e.store)
	_, err := eventstore.Handle(ctx, cmds, domain.DispatchStream(d), domain.Meta{Actor: e.lead, At: t0}, nil, func(s domain.Dispatch) ([]domain.Event, error) {
		return domain.DecideDispatch(s, domain.CancelDispatch{DispatchID: d, Reason: "weather", By: e.lead, At: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.schedule(expert).Booking(d); !ok {
		t.Fatal("setup: booking should still be held")
	}
	r, stop := runReactor(t, e.app)
	defer stop()
	waitFor(t, "catch-up", r.CaughtUp)
	waitFor(t, "release", func() bool { _, ok := e.schedule(expert).Booking(d); return !ok })
}

// TestReactorFlagsPlanInitiatedAfterWithdrawal covers the race in which a plan is
// decided on the protocol's state just before the withdrawal but stored after it.
func TestReactorFlagsPlanInitiatedAfterWithdrawal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	lead := app.Call{Actor: e.lead}
	proto := mustOK(t)(e.app.DraftProtocol(ctx, lead, app.DraftProtocolInput{AllianceID: e.alliance, Title: "R-CHOP 方案", Indication: "DLBCL"})).ID
	mustOK(t)(e.app.PublishProtocolVersion(ctx, lead, app.PublishVersionInput{ProtocolID: proto, Steps: rchop, Eligibility: "CD20+"}))
	stale, err := eventstore.Load[domain.Protocol](ctx, e.store, domain.ProtocolStream(proto))
	if err != nil {
		t.Fatal(err)
	}
	al, err := eventstore.Load[domain.Alliance](ctx, e.store, domain.AllianceStream(e.alliance))
	if err != nil {
		t.Fatal(err)
	}
	r, stop := runReactor(t, e.app)
	defer stop()
	waitFor(t, "catch-up", r.CaughtUp)
	mustOK(t)(e.app.WithdrawProtocolVersion(ctx, lead, app.WithdrawVersionInput{ProtocolID: proto, Version: 1, Reason: "dosing error"}))
	planID := ulid.Make().String()
	_, err = eventstore.Handle(ctx, eventstore.NewCommands(e.store), domain.PlanStream(planID), domain.Meta{Actor: e.lead, At: t0}, nil,
		func(p domain.Plan) ([]domain.Event, error) {
			return domain.DecidePlan(p, domain.InitiatePlan{PlanID: planID, Alliance: al.State, Protocol: stale.State, Version: 1,
				PatientRef: "pr_" + strings.Repeat("z", 32), StartDate: t0, By: e.lead, At: t0})
		})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "late plan flagged", func() bool { p, _ := e.plan(planID); return p.Flag.Version == 1 })
}
