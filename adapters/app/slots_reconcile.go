package app

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// SlotReconcilerOptions tunes a SlotReconciler; zero values take the defaults.
type SlotReconcilerOptions struct {
	// Grace is how old a hold must be (by its ReservedSlotBooked's time, on the App's
	// clock) before it may be released: longer than an acceptance takes from booking to
	// recording, so an acceptance in flight is never undone (default 2 minutes).
	Grace time.Duration
	// Every is the pause between sweeps in Run (default 1 minute).
	Every  time.Duration
	Logger *slog.Logger
}

// SlotReconciler releases reserved slots that are held for a referral that does not
// hold them.
//
// Why it is needed: an acceptance books the slot on the department's capacity stream
// first and records the acceptance on the referral second (AcceptReferral); when the
// second append fails the booking is released at once, but if the process stops
// between the two appends (a crash, a kill, a lost store connection during the
// compensation) no one releases it, and a cancellation or no-show whose release did not
// run leaves the same. Such a slot would stay held forever and the receiving department
// would lose it. The reconciler follows the log for bookings and releases (it keeps only
// the slots held now, in memory, rebuilt from the log at start), and each sweep releases
// every hold older than Grace whose referral does not hold it (domain.Referral.HoldsSlot:
// its recorded acceptance names that slot and it did not end short of arrival).
//
// Several replicas may each run one: a release is decided on the capacity stream with
// its expected version and is idempotent (ReleaseReservedSlot of a referral holding
// nothing decides no event), so two sweeps never release twice.
type SlotReconciler struct {
	app  *App
	opts SlotReconcilerOptions

	mu         sync.Mutex // serialises sweeps
	pos        eventstore.Position
	held       map[slotKey]slotHold
	byReferral map[string]slotKey
}

type slotKey struct{ hospitalID, departmentID, slotID string }

type slotHold struct {
	referralID string
	bookedAt   time.Time // or the time its referral ended short of arrival
	// confirmed says a sweep found the referral holding the slot; it is not looked at
	// again unless the referral is cancelled or a no-show (whose own release may not
	// have run), so a sweep costs the unconfirmed holds, not every booking ever made.
	confirmed bool
}

// NewSlotReconciler returns a reconciler over the app's store and clock.
func NewSlotReconciler(a *App, opts SlotReconcilerOptions) *SlotReconciler {
	if opts.Grace <= 0 {
		opts.Grace = 2 * time.Minute
	}
	if opts.Every <= 0 {
		opts.Every = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &SlotReconciler{app: a, opts: opts, held: map[slotKey]slotHold{}, byReferral: map[string]slotKey{}}
}

// reconcilerActor is the actor of the reconciler's releases.
var reconcilerActor = domain.Actor{UserID: "allianced-slot-reconciler", Role: "system"}

// Run sweeps at once (a start after a crash frees what the crash left) and then every
// Every until ctx is done; a failed sweep is logged and tried again at the next tick.
// It returns ctx's error.
func (r *SlotReconciler) Run(ctx context.Context) error {
	t := time.NewTicker(r.opts.Every)
	defer t.Stop()
	for {
		if n, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
			r.opts.Logger.Error("slot reconciliation failed; trying again at the next sweep", "err", err)
		} else if n > 0 {
			r.opts.Logger.Warn("released reserved slots held for referrals that do not hold them", "released", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Sweep reads the log written since the last sweep, then releases every hold older
// than Grace (at the App's clock) whose referral does not hold it. It returns how many
// slots it released.
func (r *SlotReconciler) Sweep(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.follow(ctx); err != nil {
		return 0, err
	}
	now := r.app.Now()
	keys := make([]slotKey, 0, len(r.held))
	for k, h := range r.held {
		if !h.confirmed && now.Sub(h.bookedAt) >= r.opts.Grace {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return r.held[keys[i]].bookedAt.Before(r.held[keys[j]].bookedAt) })
	released := 0
	for _, k := range keys {
		h := r.held[k]
		ref, err := load[domain.Referral](ctx, r.app, domain.ReferralStream(h.referralID))
		if err != nil {
			return released, err
		}
		if ref.HoldsSlot(k.hospitalID, k.departmentID, k.slotID) {
			h.confirmed = true
			r.held[k] = h
			continue
		}
		out, err := handle(ctx, r.app, Call{Actor: reconcilerActor}, r.app.Now(), k.departmentID, domain.CapacityStream(k.hospitalID, k.departmentID),
			func(c domain.Capacity) ([]domain.Event, error) {
				// The capacity as stored now decides: the slot may have been released, or
				// booked again for another referral, since the log was read.
				if s, ok := c.HeldBy(h.referralID); !ok || s.SlotID != k.slotID {
					return nil, nil
				}
				return domain.DecideCapacity(c, domain.ReleaseReservedSlot{HospitalID: k.hospitalID, DepartmentID: k.departmentID,
					ReferralID: h.referralID, Reason: "reconciliation: the referral never recorded this slot", At: r.app.Now()})
			})
		if err != nil {
			return released, err
		}
		if len(out.Events) > 0 {
			released++
			r.opts.Logger.Info("released a reserved slot its referral does not hold", "hospital", k.hospitalID,
				"department", k.departmentID, "slot", k.slotID, "referral", h.referralID)
		}
		r.forget(k) // the release (or a newer booking) is read back at the next sweep
	}
	return released, nil
}

// follow applies the log after r.pos to the set of held slots.
func (r *SlotReconciler) follow(ctx context.Context) error {
	const page = 1000
	for {
		recs, err := r.app.store.ReadAll(ctx, r.pos, page)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			r.pos = rec.Position
			switch rec.Type {
			case "ReservedSlotBooked", "ReservedSlotReleased", "ReferralCancelled", "ReferralNoShow":
			default:
				continue
			}
			_, ev, err := eventstore.Decode(rec)
			if err != nil {
				r.opts.Logger.Warn("slot reconciliation: skipping an undecodable event", "stream", rec.Stream, "version", rec.Version, "err", err)
				continue
			}
			switch e := ev.(type) {
			case domain.ReservedSlotBooked:
				k := slotKey{e.HospitalID, e.DepartmentID, e.SlotID}
				r.forget(k)
				r.held[k] = slotHold{referralID: e.ReferralID, bookedAt: e.BookedAt}
				r.byReferral[e.ReferralID] = k
			case domain.ReservedSlotReleased:
				r.forget(slotKey{e.HospitalID, e.DepartmentID, e.SlotID})
			case domain.ReferralCancelled:
				r.reopen(e.ReferralID, e.CancelledAt)
			case domain.ReferralNoShow:
				r.reopen(e.ReferralID, e.RecordedAt)
			}
		}
		if len(recs) < page {
			return nil
		}
	}
}

// forget drops a hold that was released.
func (r *SlotReconciler) forget(k slotKey) {
	if h, ok := r.held[k]; ok {
		if r.byReferral[h.referralID] == k {
			delete(r.byReferral, h.referralID)
		}
		delete(r.held, k)
	}
}

// reopen makes the hold of a referral that ended short of arrival a candidate again:
// its own release normally follows at once, and is read back as a release.
func (r *SlotReconciler) reopen(referralID string, at time.Time) {
	k, ok := r.byReferral[referralID]
	if !ok {
		return
	}
	h := r.held[k]
	h.confirmed = false
	if at.After(h.bookedAt) {
		h.bookedAt = at
	}
	r.held[k] = h
}
