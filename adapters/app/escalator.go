package app

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// EscalatorOptions tunes a CriticalEscalator; zero values take the defaults.
type EscalatorOptions struct {
	// Every is how often the timer looks for critical values past their acknowledgement
	// time (default 5s). A value escalates at most this long after its deadline.
	Every  time.Duration
	Logger *slog.Logger
	// RetryEvery is the pause before re-subscribing after a failure (default 1s).
	RetryEvery time.Duration
}

// CriticalEscalator is the timer of critical values (危急值): it follows the log to keep
// the pending values (flagged, not acknowledged, not escalated) with their deadlines in
// memory, and on every tick escalates those whose deadline passed by the app's injected
// clock. Deadlines never depend on the wall clock: tests call Tick after moving their
// clock. Escalating is idempotent (a key derived from the value, and the domain refuses
// a second escalation), so replicas each running a timer, or a restart that re-reads
// the log, escalate a value once.
type CriticalEscalator struct {
	app  *App
	opts EscalatorOptions

	mu      sync.Mutex
	pending map[criticalKey]time.Time
	pos     eventstore.Position
}

type criticalKey struct {
	requestID string
	seq       int
}

// NewCriticalEscalator returns a timer over the app's store and use cases.
func NewCriticalEscalator(a *App, opts EscalatorOptions) *CriticalEscalator {
	if opts.Every <= 0 {
		opts.Every = 5 * time.Second
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &CriticalEscalator{app: a, opts: opts, pending: map[criticalKey]time.Time{}}
}

// Run follows the log and ticks every opts.Every until ctx is done.
func (x *CriticalEscalator) Run(ctx context.Context) error {
	go x.follow(ctx)
	t := time.NewTicker(x.opts.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if _, err := x.Tick(ctx); err != nil && ctx.Err() == nil {
				x.opts.Logger.Warn("escalator: tick failed; next tick retries", "err", err)
			}
		}
	}
}

func (x *CriticalEscalator) follow(ctx context.Context) {
	for {
		err := x.app.store.Subscribe(ctx, x.Position(), x.Observe)
		if ctx.Err() != nil {
			return
		}
		x.opts.Logger.Error("escalator: subscription ended; resubscribing", "err", err, "position", x.Position())
		select {
		case <-ctx.Done():
			return
		case <-time.After(x.opts.RetryEvery):
		}
	}
}

// Position is the global position of the last event the escalator observed.
func (x *CriticalEscalator) Position() eventstore.Position {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.pos
}

// Observe keeps the pending critical values in step with one message of the log.
func (x *CriticalEscalator) Observe(m eventstore.SubscriptionMessage) error {
	if m.Event == nil {
		return nil
	}
	_, ev, err := eventstore.Decode(*m.Event)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pos = m.Event.Position
	if err != nil {
		return nil
	}
	switch e := ev.(type) {
	case domain.CriticalValueFlagged:
		x.pending[criticalKey{e.RequestID, e.Seq}] = e.AckDeadline
	case domain.CriticalValueAcknowledged:
		delete(x.pending, criticalKey{e.RequestID, e.Seq})
	case domain.CriticalValueEscalated:
		delete(x.pending, criticalKey{e.RequestID, e.Seq})
	}
	return nil
}

// Pending returns how many critical values wait for acknowledgement and not yet escalated.
func (x *CriticalEscalator) Pending() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.pending)
}

// Tick escalates every pending value whose deadline is before the app's clock, earliest
// first, and returns how many it escalated. A value the domain refuses (acknowledged
// meanwhile) leaves the index; a store failure stops the tick and returns the error, the
// value stays pending for the next tick.
func (x *CriticalEscalator) Tick(ctx context.Context) (int, error) {
	now := x.app.Now()
	x.mu.Lock()
	type due struct {
		k  criticalKey
		at time.Time
	}
	var list []due
	for k, at := range x.pending {
		if now.After(at) {
			list = append(list, due{k, at})
		}
	}
	x.mu.Unlock()
	slices.SortFunc(list, func(a, b due) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.k.requestID, b.k.requestID), cmp.Compare(a.k.seq, b.k.seq))
	})
	n := 0
	for _, d := range list {
		out, err := x.app.EscalateCritical(ctx, d.k.requestID, d.k.seq)
		if err != nil && retryable(err) {
			return n, err
		}
		x.mu.Lock()
		delete(x.pending, d.k)
		x.mu.Unlock()
		if err != nil {
			x.opts.Logger.Info("escalator: critical value not escalated", "request", d.k.requestID, "seq", d.k.seq, "code", domain.ErrorCode(err))
			continue
		}
		if !out.Replayed {
			n++
			x.opts.Logger.Warn("critical value escalated: not acknowledged in time", "request", d.k.requestID, "seq", d.k.seq, "deadline", d.at)
		}
	}
	return n, nil
}
