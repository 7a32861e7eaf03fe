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
	// DiagnosticPolicy gives report turnaround targets per centre kind and urgency and
	// the critical-value acknowledgement time (default domain.DefaultDiagnosticPolicy).
	DiagnosticPolicy domain.DiagnosticPolicy
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
	// diagPolicy sets each study's report deadline and each critical value's
	// acknowledgement deadline.
	diagPolicy domain.DiagnosticPolicy
}

// New returns the use cases over cfg.Store.
func New(cfg Config) *App {
	a := &App{store: cfg.Store, cmds: eventstore.NewCommands(cfg.Store), now: cfg.Now, newID: cfg.NewID, pseudo: cfg.Pseudonymizer, policy: cfg.ConsultPolicy}
	a.referralPolicy = cfg.ReferralPolicy
	if a.referralPolicy == (domain.ReferralPolicy{}) {
		a.referralPolicy = domain.DefaultReferralPolicy()
	}
	a.diagPolicy = cfg.DiagnosticPolicy
	if a.diagPolicy == (domain.DiagnosticPolicy{}) {
		a.diagPolicy = domain.DefaultDiagnosticPolicy()
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
	// Operation and RequestDigest bind IdempotencyKey to the request it came with (see
	// bindKey): the operation's name and a digest of operation, target and canonical
	// body. The HTTP edge sets both; internal callers (the reactor, the demo), whose
	// keys are derived per command, leave them empty and keep per-stream replays.
	Operation     string
	RequestDigest string
	CorrelationID string
	CausationID   string
	// IfMatch, when set, is the stream version the client last saw; a mismatch is a conflict.
	IfMatch *uint64

	// keyBound is set once the key's claim was checked for this call (create commands
	// claim it with the new id in newAggregateID).
	keyBound bool
}

// Outcome is what a command did: the id of the aggregate it acted on, the stream's new
// version and a global position. Replayed says that an earlier command with the same
// idempotency key already did it (and this is its result).
//
// Position covers every event the command caused on every stream it wrote, not only
// its own aggregate's: an idempotency key's claim (appended before the aggregate's
// events), an expert's booking (before the dispatch's), and the releases a
// cancellation or reassignment makes after its own event (the use case moves Position
// past them). So a read with ?minPosition=Position of any view those events touch (the
// dispatch, the expert's calendar) sees all of them. Two things are not covered, by
// design: the Reactor's reactions, which are commands of their own that the request
// does not wait for (the plans it flags after a version's withdrawal: there can be
// thousands, and the reactor may run in another replica), and a follow-up that failed
// on an unavailable store (logged; the Reactor makes it later).
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
	ReferralID string `json:"referralId,omitempty"`
	// ShiftID names the duty shift a ScheduleShift added to a centre's roster.
	ShiftID string         `json:"shiftId,omitempty"`
	Events  []domain.Event `json:"-"`
}

func outcome(id string, r eventstore.Result) Outcome {
	return Outcome{ID: id, Stream: r.Stream, Version: r.Version, Position: r.Position, Replayed: r.Replayed, Events: r.Events}
}

func (a *App) meta(call Call, at time.Time) domain.Meta {
	return domain.Meta{Actor: call.Actor, At: at, CorrelationID: call.CorrelationID,
		CausationID: call.CausationID, IdempotencyKey: call.IdempotencyKey, RequestFingerprint: a.fingerprint(call)}
}

// fingerprint is what events and claims record of the call's request: the request
// digest keyed with the pseudonymization key, so that a body naming a medical record
// number cannot be matched against hashes of guessed numbers. Without a pseudonymizer
// no command naming a medical record number is accepted, and the digest is kept as is.
// "" when the call did not bind its key to a request.
func (a *App) fingerprint(call Call) string {
	if call.IdempotencyKey == "" || call.RequestDigest == "" {
		return ""
	}
	if a.pseudo == nil {
		return call.RequestDigest
	}
	return a.pseudo.keyed("idempotency-request", call.RequestDigest)
}

// handle runs one command on stream with the call's meta and If-Match. A key bound to
// its request is claimed first (see bindKey) for the aggregate id.
func handle[S eventstore.Evolver[S]](ctx context.Context, a *App, call Call, at time.Time, id, stream string,
	decide func(S) ([]domain.Event, error)) (Outcome, error) {
	if call.IdempotencyKey != "" && call.RequestDigest != "" && !call.keyBound {
		if _, err := a.bindKey(ctx, call, call.Operation, id, at); err != nil {
			return Outcome{}, err
		}
	}
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
// first result instead of creating a second aggregate. The claim is stored before the
// aggregate's first event, so the create's position covers it; it also binds the key to
// the request, so call is marked as bound.
func (a *App) newAggregateID(ctx context.Context, call *Call, operation string, at time.Time) (string, error) {
	fresh := a.newID()
	if call.IdempotencyKey == "" {
		return fresh, nil
	}
	call.keyBound = true
	return a.bindKey(ctx, *call, operation, fresh, at)
}

// bindKey claims the call's idempotency key, in the stream of the (hospital, key) pair,
// for the request: its operation, the aggregate it acts on (for a create, the fresh id
// it would create) and its fingerprint. It returns the aggregate id of the claim: id
// itself on the first use, the first request's id on a retry. A key already claimed
// for another request is refused with idempotency_key_reused (see
// domain.DecideClaimIdempotencyKey), so one key never stands for two requests, on any
// stream. The key's scope is the caller's hospital; claims are events, kept as long as
// the log.
func (a *App) bindKey(ctx context.Context, call Call, operation, id string, at time.Time) (string, error) {
	if operation == "" {
		operation = "command"
	}
	cmd := domain.ClaimIdempotencyKey{HospitalID: call.Actor.HospitalID, Key: call.IdempotencyKey,
		Operation: operation, AggregateID: id, Fingerprint: a.fingerprint(call), At: at}
	fresh, claimed := id, id
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
