// Package app holds the application's use cases: one method per domain command. Each
// method gathers the facts its command needs from other aggregates' streams, builds the
// domain command with the caller's actor, the injected clock and generated ids, and runs
// it through eventstore.Handle. Every business rule stays in the domain's decide
// functions; this package only loads, orchestrates and compensates.
package app

import (
	"context"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// Config wires an App. Store is required; the others default to the wall clock, ULIDs
// and no pseudonymizer (commands that take a medical record number then fail).
type Config struct {
	Store eventstore.Store
	// Now is the clock every command's time comes from (tests pin it).
	Now func() time.Time
	// NewID generates aggregate ids (canonical ULID text).
	NewID func() string
	// Pseudonymizer turns medical record numbers into PatientRefs.
	Pseudonymizer *Pseudonymizer
	// ConsultPolicy gives consult deadlines per urgency (default domain.DefaultDeadlinePolicy).
	ConsultPolicy domain.DeadlinePolicy
	// ReferralPolicy gives referral acceptance and admission targets per urgency
	// (default domain.DefaultReferralPolicy).
	ReferralPolicy domain.ReferralPolicy
}

// App runs the use cases. It is safe for concurrent use.
type App struct {
	store  eventstore.Store
	cmds   *eventstore.Commands
	now    func() time.Time
	newID  func() string
	pseudo *Pseudonymizer
	policy domain.DeadlinePolicy
	// referralPolicy sets each referral's deadlines at its request.
	referralPolicy domain.ReferralPolicy
}

// New returns the use cases over cfg.Store.
func New(cfg Config) *App {
	a := &App{store: cfg.Store, cmds: eventstore.NewCommands(cfg.Store), now: cfg.Now, newID: cfg.NewID, pseudo: cfg.Pseudonymizer, policy: cfg.ConsultPolicy}
	a.referralPolicy = cfg.ReferralPolicy
	if a.referralPolicy == (domain.ReferralPolicy{}) {
		a.referralPolicy = domain.DefaultReferralPolicy()
	}
	if a.policy == (domain.DeadlinePolicy{}) {
		a.policy = domain.DefaultDeadlinePolicy()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.newID == nil {
		a.newID = func() string { return ulid.Make().String() }
	}
	return a
}

// Store returns the event store the use cases write to (audit reads use it too).
func (a *App) Store() eventstore.Store { return a.store }

// Now returns the current time of the injected clock, in UTC.
func (a *App) Now() time.Time { return a.now().UTC() }

// Call is what every use case receives besides its input: who is calling and the
// request's command semantics.
type Call struct {
	Actor domain.Actor
	// IdempotencyKey, when set, makes a retry return the first result and append nothing.
	IdempotencyKey string
	CorrelationID  string
	CausationID    string
	// IfMatch, when set, is the stream version the client last saw; a mismatch is a conflict.
	IfMatch *uint64
}

// Outcome is what a command did: the id of the aggregate it acted on, the stream's new
// version and the global position of its last event. Replayed says that an earlier
// command with the same idempotency key already did it (and this is its result).
type Outcome struct {
	ID       string              `json:"id"`
	Stream   string              `json:"-"`
	Version  uint64              `json:"version"`
	Position eventstore.Position `json:"position"`
	Replayed bool                `json:"-"`
	// SubID names an entity the command created inside the aggregate (a plan
	// deviation's id), empty otherwise.
	SubID string `json:"subId,omitempty"`
	// ReferralID names a referral the command opened besides its own aggregate (the
	// return referral of a completion, the referral of an escalation), empty otherwise.
	ReferralID string         `json:"referralId,omitempty"`
	Events     []domain.Event `json:"-"`
}

func outcome(id string, r eventstore.Result) Outcome {
	return Outcome{ID: id, Stream: r.Stream, Version: r.Version, Position: r.Position, Replayed: r.Replayed, Events: r.Events}
}

func (a *App) meta(call Call, at time.Time) domain.Meta {
	return domain.Meta{Actor: call.Actor, At: at, CorrelationID: call.CorrelationID,
		CausationID: call.CausationID, IdempotencyKey: call.IdempotencyKey}
}

// handle runs one command on stream with the call's meta and If-Match.
func handle[S eventstore.Evolver[S]](ctx context.Context, a *App, call Call, at time.Time, id, stream string,
	decide func(S) ([]domain.Event, error)) (Outcome, error) {
	r, err := eventstore.Handle(ctx, a.cmds, stream, a.meta(call, at), call.IfMatch, decide)
	if err != nil {
		return Outcome{}, err
	}
	return outcome(id, r), nil
}

// newAggregateID returns the id a create command should use. Without an idempotency key
// it is fresh. With one, the key is claimed first in its own stream (append with no
// stream expected), so that a retry of the same create, even concurrent, reads the claim
// and re-runs against the same id, where the aggregate stream's key check returns the
// first result instead of creating a second aggregate.
func (a *App) newAggregateID(ctx context.Context, call Call, operation string, at time.Time) (string, error) {
	fresh := a.newID()
	if call.IdempotencyKey == "" {
		return fresh, nil
	}
	cmd := domain.ClaimIdempotencyKey{HospitalID: call.Actor.HospitalID, Key: call.IdempotencyKey,
		Operation: operation, AggregateID: fresh, At: at}
	claimed := fresh
	meta := domain.Meta{Actor: call.Actor, At: at, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
	stream := domain.IdempotencyStream(call.Actor.HospitalID, call.IdempotencyKey)
	_, err := eventstore.Handle(ctx, a.cmds, stream, meta, nil, func(s domain.IdempotencyClaim) ([]domain.Event, error) {
		claimed = fresh
		if s.Exists() {
			claimed = s.AggregateID
		}
		return domain.DecideClaimIdempotencyKey(s, cmd)
	})
	if err != nil {
		return "", err
	}
	return claimed, nil
}

// load folds one aggregate's stream through the command path's state cache (reading
// only the events after the cached state); a missing stream is the zero state.
func load[S eventstore.Evolver[S]](ctx context.Context, a *App, stream string) (S, error) {
	l, err := eventstore.LoadCached[S](ctx, a.cmds, stream)
	return l.State, err
}

// validID checks a path id before it names a stream.
func validID(what, id string) error { return domain.ValidateID(what, id) }

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// timeT shortens the signatures of command builders.
type timeT = time.Time

// compensationTimeout bounds a compensating step run after its request failed.
const compensationTimeout = 10 * time.Second
