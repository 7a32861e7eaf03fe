package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// ReactorOptions tunes a Reactor; zero values take the defaults.
type ReactorOptions struct {
	// From is the position to follow the log after. The plan index lives in memory, so
	// the default 0 (the whole log) is what rebuilds it; a later position suits a
	// reactor whose index is not needed before it.
	From   eventstore.Position
	Logger *slog.Logger
	// RetryEvery is the pause before re-subscribing after a failure (default 1s).
	RetryEvery time.Duration
}

// Reactor follows the global log and issues the commands that follow from events in
// other aggregates:
//
//   - ProtocolVersionWithdrawn: every plan on that protocol version gets the plan
//     aggregate's flag command. Plans are found through an in-memory index planID ->
//     (protocol, version) kept from PlanInitiated and PlanRevised (closed plans leave
//     it). The flag carries an idempotency key derived from the withdrawal's event id,
//     and the domain's flag is itself idempotent, so re-following the log from 0 after
//     a restart appends nothing twice.
//   - DispatchCancelled with an expert, and ExpertReassigned: the (previous) expert's
//     booking is released, finishing a compensation the request could not (a crash
//     between the two appends). Releasing is idempotent in the domain.
type Reactor struct {
	app  *App
	opts ReactorOptions

	mu        sync.Mutex
	plans     map[string]planVersion
	byVersion map[planVersion]map[string]struct{}
	pos       eventstore.Position
	caughtUp  bool
}

type planVersion struct {
	protocolID string
	version    int
}

// reactorActor is the actor of the reactor's own commands.
var reactorActor = domain.Actor{UserID: "allianced-reactor", Role: "system"}

// NewReactor returns a reactor over the app's store and use cases. Run it in serve.
func NewReactor(a *App, opts ReactorOptions) *Reactor {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = time.Second
	}
	return &Reactor{app: a, opts: opts, pos: opts.From, plans: map[string]planVersion{}, byVersion: map[planVersion]map[string]struct{}{}}
}

// Run follows the log until ctx is done, re-subscribing after the last handled
// position when the store fails. It returns ctx's error.
func (r *Reactor) Run(ctx context.Context) error {
	for {
		err := r.app.store.Subscribe(ctx, r.Position(), r.handle)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.opts.Logger.Error("reactor: subscription ended; resubscribing", "err", err, "position", r.Position())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.opts.RetryEvery):
		}
	}
}

// Position is the global position of the last event the reactor handled.
func (r *Reactor) Position() eventstore.Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos
}

// CaughtUp reports whether the reactor has handled everything that was in the log when
// it subscribed.
func (r *Reactor) CaughtUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.caughtUp
}

// PlansOn returns the open plans the index holds on a protocol version.
func (r *Reactor) PlansOn(protocolID string, version int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id := range r.byVersion[planVersion{protocolID, version}] {
		out = append(out, id)
	}
	return out
}

func (r *Reactor) handle(m eventstore.SubscriptionMessage) error {
	if m.CaughtUp {
		r.mu.Lock()
		r.caughtUp = true
		r.mu.Unlock()
		return nil
	}
	rec := m.Event
	if rec == nil {
		return nil
	}
	env, ev, err := eventstore.Decode(*rec)
	if err != nil {
		// An event this build cannot read concerns no reaction it knows; skip it, loudly.
		r.opts.Logger.Warn("reactor: skipping an undecodable event", "stream", rec.Stream, "version", rec.Version, "err", err)
		r.advance(rec.Position)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch e := ev.(type) {
	case domain.PlanInitiated:
		r.index(e.PlanID, planVersion{e.ProtocolID, e.ProtocolVersion})
	case domain.PlanRevised:
		r.mu.Lock()
		pv, ok := r.plans[e.PlanID]
		r.mu.Unlock()
		if ok && e.ToVersion != 0 {
			r.index(e.PlanID, planVersion{pv.protocolID, e.ToVersion})
		}
	case domain.PlanCompleted:
		r.unindex(e.PlanID)
	case domain.PlanDiscontinued:
		r.unindex(e.PlanID)
	case domain.ProtocolVersionWithdrawn:
		if err := r.flagPlans(ctx, env, e); err != nil {
			return err
		}
	case domain.DispatchCancelled:
		if e.ExpertID != "" {
			if err := r.release(ctx, env, e.ExpertID, e.DispatchID, "dispatch cancelled: "+e.Reason); err != nil {
				return err
			}
		}
	case domain.ExpertReassigned:
		if e.PreviousExpertID != "" && e.PreviousExpertID != e.ExpertID {
			if err := r.release(ctx, env, e.PreviousExpertID, e.DispatchID, "reassigned to another expert"); err != nil {
				return err
			}
		}
	}
	r.advance(rec.Position)
	return nil
}

func (r *Reactor) advance(pos eventstore.Position) {
	r.mu.Lock()
	r.pos = pos
	r.mu.Unlock()
}

func (r *Reactor) index(planID string, pv planVersion) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.plans[planID]; ok {
		delete(r.byVersion[old], planID)
	}
	r.plans[planID] = pv
	if r.byVersion[pv] == nil {
		r.byVersion[pv] = map[string]struct{}{}
	}
	r.byVersion[pv][planID] = struct{}{}
}

func (r *Reactor) unindex(planID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.plans[planID]; ok {
		delete(r.byVersion[old], planID)
		delete(r.plans, planID)
	}
}

// flagPlans issues the flag for every indexed plan on the withdrawn version. A plan the
// domain refuses to flag (closed meanwhile) is logged and skipped; a store failure
// returns the error so the subscription restarts at this event.
func (r *Reactor) flagPlans(ctx context.Context, env domain.Envelope, e domain.ProtocolVersionWithdrawn) error {
	call := Call{Actor: reactorActor, IdempotencyKey: "flag-withdrawn:" + env.EventID.String(),
		CorrelationID: env.CorrelationID, CausationID: env.EventID.String()}
	for _, planID := range r.PlansOn(e.ProtocolID, e.Version) {
		_, err := r.app.FlagPlan(ctx, call, planID, e.ProtocolID, e.Version, e.Reason)
		if err == nil {
			continue
		}
		if retryable(err) {
			return err
		}
		r.opts.Logger.Warn("reactor: plan not flagged", "plan", planID, "protocol", e.ProtocolID, "version", e.Version, "code", domain.ErrorCode(err))
	}
	return nil
}

func (r *Reactor) release(ctx context.Context, env domain.Envelope, expertID, dispatchID, reason string) error {
	call := Call{Actor: reactorActor, CorrelationID: env.CorrelationID, CausationID: env.EventID.String()}
	err := r.app.release(ctx, call, expertID, dispatchID, reason)
	if err != nil && retryable(err) {
		return err
	}
	if err != nil {
		r.opts.Logger.Warn("reactor: booking not released", "expert", expertID, "dispatch", dispatchID, "code", domain.ErrorCode(err))
	}
	return nil
}

// retryable reports whether err is a failure of infrastructure (worth retrying the
// event) rather than a decision of the domain.
func retryable(err error) bool {
	switch domain.ErrorCode(err) {
	case domain.CodeUnavailable, domain.CodeTimeout, domain.CodeInternal, domain.CodeConflict:
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}
