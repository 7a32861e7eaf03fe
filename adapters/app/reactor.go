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
//     it); a plan that appears on a version after its withdrawal (decided on the
//     protocol's state just before the withdrawal was stored) is flagged when it appears. The flag carries an idempotency key derived from the withdrawal's event id,
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
	// withdrawn remembers every withdrawal seen, so that a plan initiated or revised
	// onto a version after its withdrawal (a command decided on the protocol's state
	// just before the withdrawal was stored) is flagged as soon as it appears.
	withdrawn map[planVersion]withdrawal
	pos       eventstore.Position
	caughtUp  bool
}

type planVersion struct {
	protocolID string
	version    int
}

type withdrawal struct {
	env    domain.Envelope
	reason string
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
	return &Reactor{app: a, opts: opts, pos: opts.From, plans: map[string]planVersion{},
		byVersion: map[planVersion]map[string]struct{}{}, withdrawn: map[planVersion]withdrawal{}}
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
		if err := r.onPlanVersion(ctx, e.PlanID, planVersion{e.ProtocolID, e.ProtocolVersion}); err != nil {
			return err
		}
	case domain.PlanRevised:
		r.mu.Lock()
		pv, ok := r.plans[e.PlanID]
		r.mu.Unlock()
		if ok && e.ToVersion != 0 && e.ToVersion != pv.version {
			if err := r.onPlanVersion(ctx, e.PlanID, planVersion{pv.protocolID, e.ToVersion}); err != nil {
				return err
			}
		}
	case domain.PlanCompleted:
		r.unindex(e.PlanID)
	case domain.PlanDiscontinued:
		r.unindex(e.PlanID)
	case domain.ProtocolVersionWithdrawn:
		pv := planVersion{e.ProtocolID, e.Version}
		r.mu.Lock()
		if _, seen := r.withdrawn[pv]; !seen {
			r.withdrawn[pv] = withdrawal{env: env, reason: e.Reason}
		}
		w := r.withdrawn[pv]
		r.mu.Unlock()
		if err := r.flag(ctx, w, pv, r.PlansOn(e.ProtocolID, e.Version)); err != nil {
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

// onPlanVersion indexes a plan on a version and flags it at once when that version was
// already withdrawn.
func (r *Reactor) onPlanVersion(ctx context.Context, planID string, pv planVersion) error {
	r.index(planID, pv)
	r.mu.Lock()
	w, withdrawn := r.withdrawn[pv]
	r.mu.Unlock()
	if !withdrawn {
		return nil
	}
	return r.flag(ctx, w, pv, []string{planID})
}

// flag issues the flag command for plans on a withdrawn version, with an idempotency key
// derived from the withdrawal's event id. A plan the domain refuses to flag (closed
// meanwhile) is logged and skipped; a store failure returns the error so the
// subscription restarts at this event.
func (r *Reactor) flag(ctx context.Context, w withdrawal, pv planVersion, planIDs []string) error {
	call := Call{Actor: reactorActor, IdempotencyKey: "flag-withdrawn:" + w.env.EventID.String(),
		CorrelationID: w.env.CorrelationID, CausationID: w.env.EventID.String()}
	for _, planID := range planIDs {
		_, err := r.app.FlagPlan(ctx, call, planID, pv.protocolID, pv.version, w.reason)
		if err == nil {
			continue
		}
		if retryable(err) {
			return err
		}
		r.opts.Logger.Warn("reactor: plan not flagged", "plan", planID, "protocol", pv.protocolID, "version", pv.version, "code", domain.ErrorCode(err))
	}
	return nil
}

func (r *Reactor) release(ctx context.Context, env domain.Envelope, expertID, dispatchID, reason string) error {
	call := Call{Actor: reactorActor, CorrelationID: env.CorrelationID, CausationID: env.EventID.String()}
	_, err := r.app.release(ctx, call, expertID, dispatchID, reason)
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
