package app_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// movingClock is a clock that stands still until advanced.
type movingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movingClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movingClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestSlotReconcilerReleasesLeakedHolds simulates the two crashes that leave a reserved
// slot held for a referral that does not hold it, on the embedded store: a process that
// stopped after booking a slot and before recording the acceptance, and one that stopped
// after recording a cancellation and before releasing its slot. The reconciler leaves
// them alone within the grace period (an acceptance may be in flight), then releases
// exactly those two, never the slot a recorded acceptance holds, and a slot it freed is
// booked again; a reconciler started afresh (a restart) rebuilds from the log and finds
// nothing more to release.
func TestSlotReconcilerReleasesLeakedHolds(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	e := newReferralEnv(t, st)
	e.publish(t, 3)
	accept := func(id string) {
		t.Helper()
		mustOK(t)(e.app.AcceptReferral(ctx, app.Call{Actor: e.lead}, app.AcceptReferralInput{ReferralID: id, ExpectedArrival: t0.Add(time.Hour), Reserve: true}))
	}
	cmds := eventstore.NewCommands(st)
	crashAfter := func(stream string, decide func(domain.Capacity) ([]domain.Event, error)) {
		t.Helper()
		if _, err := eventstore.Handle(ctx, cmds, stream, domain.Meta{Actor: e.lead, At: t0}, nil, decide); err != nil {
			t.Fatal(err)
		}
	}
	capStream := domain.CapacityStream(e.lead.HospitalID, "desk")

	held := e.up(t, domain.UrgencyEmergency)
	accept(held) // books the first slot and records it: a hold the reconciler must keep
	inFlight := e.up(t, domain.UrgencyUrgent)
	// crash 1: the slot is booked, the acceptance never recorded
	crashAfter(capStream, func(c domain.Capacity) ([]domain.Event, error) {
		return domain.DecideCapacity(c, domain.BookReservedSlot{HospitalID: e.lead.HospitalID, DepartmentID: "desk",
			AllianceID: e.alliance, ReferralID: inFlight, Kind: domain.SlotOutpatient, At: t0})
	})
	cancelled := e.up(t, domain.UrgencyRoutine)
	accept(cancelled)
	// crash 2: the cancellation is recorded, the release never made
	if _, err := eventstore.Handle(ctx, cmds, domain.ReferralStream(cancelled), domain.Meta{Actor: e.member, At: t0}, nil,
		func(r domain.Referral) ([]domain.Event, error) {
			return domain.DecideReferral(r, domain.CancelReferral{ReferralID: cancelled, Reason: "家属要求就近治疗", By: e.member, At: t0})
		}); err != nil {
		t.Fatal(err)
	}
	holders := func() map[string]string {
		out := map[string]string{}
		for _, s := range e.capacity(t).Slots() {
			out[s.SlotID] = s.ReferralID
		}
		return out
	}
	countHeld := func() (n int) {
		for _, r := range holders() {
			if r != "" {
				n++
			}
		}
		return n
	}
	if n := countHeld(); n != 3 {
		t.Fatalf("after the crashes %d slots are held, want 3", n)
	}

	clock := &movingClock{t: t0}
	a := app.New(app.Config{Store: st, Now: clock.Now})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := app.NewSlotReconciler(a, app.SlotReconcilerOptions{Grace: 2 * time.Minute, Logger: quiet})
	if n, err := rec.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep within the grace period released %d (%v), want 0", n, err)
	}
	clock.Advance(3 * time.Minute)
	if n, err := rec.Sweep(ctx); err != nil || n != 2 {
		t.Fatalf("sweep after the grace period released %d (%v), want 2", n, err)
	}
	c := e.capacity(t)
	if s, ok := c.HeldBy(held); !ok {
		t.Fatalf("the recorded acceptance lost its slot: %+v", c.Slots())
	} else if n := countHeld(); n != 1 {
		t.Fatalf("%d slots held after reconciliation, want only %s's", n, s.SlotID)
	}
	for _, id := range []string{inFlight, cancelled} {
		if _, ok := c.HeldBy(id); ok {
			t.Errorf("referral %s still holds a slot", id)
		}
	}
	// the freed slots are bookable again
	next := e.up(t, domain.UrgencyEmergency)
	accept(next)
	clock.Advance(3 * time.Minute)
	if n, err := rec.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep with only recorded holds released %d (%v), want 0", n, err)
	}
	restarted := app.NewSlotReconciler(a, app.SlotReconcilerOptions{Grace: 2 * time.Minute, Logger: quiet})
	if n, err := restarted.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a fresh reconciler released %d (%v), want 0", n, err)
	}
	if n := countHeld(); n != 2 {
		t.Fatalf("%d slots held at the end, want 2 (%s and %s)", n, held, next)
	}
}

// TestSlotReconcilerRunSweepsAtStart: Run sweeps at once, so a restart after a crash
// frees what the crash left without waiting a period.
func TestSlotReconcilerRunSweepsAtStart(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	e := newReferralEnv(t, st)
	e.publish(t, 1)
	r := e.up(t, domain.UrgencyUrgent)
	if _, err := eventstore.Handle(ctx, eventstore.NewCommands(st), domain.CapacityStream(e.lead.HospitalID, "desk"), domain.Meta{Actor: e.lead, At: t0}, nil,
		func(c domain.Capacity) ([]domain.Event, error) {
			return domain.DecideCapacity(c, domain.BookReservedSlot{HospitalID: e.lead.HospitalID, DepartmentID: "desk",
				AllianceID: e.alliance, ReferralID: r, At: t0})
		}); err != nil {
		t.Fatal(err)
	}
	a := app.New(app.Config{Store: st, Now: func() time.Time { return t0.Add(time.Hour) }})
	rec := app.NewSlotReconciler(a, app.SlotReconcilerOptions{Every: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = rec.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := e.capacity(t).HeldBy(r); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not release the leaked hold at start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
