package eventstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// Commands runs domain commands against aggregates stored in a Store: load the stream,
// fold it, decide, append with the expected version, and on a conflict reload and
// decide again, a bounded number of times.
type Commands struct {
	store       Store
	newID       func() ulid.ULID
	maxAttempts int
}

// NewCommands returns the command path over store. Event ids come from ulid.Make
// (monotonic within the process).
func NewCommands(store Store) *Commands {
	return &Commands{store: store, newID: ulid.Make, maxAttempts: 12}
}

// Result is what a command did: the stream's version after it and the global position
// of its last event. Replayed is true when the idempotency key matched an earlier
// command on the stream; the result and events are then those of that first command.
type Result struct {
	Stream   string
	Version  uint64
	Position Position
	Events   []domain.Event
	Replayed bool
}

// Evolver is the state side of an aggregate: the zero value is the state before its
// first event, and Evolve folds one event in.
type Evolver[S any] interface {
	Evolve(domain.Event) S
}

// Loaded is an aggregate's state as folded from its stream.
type Loaded[S any] struct {
	State   S
	Version uint64 // revision of the last event, valid when Exists
	Exists  bool
	// Position is the global position of the stream's last event.
	Position Position
	lastHash string
	replay   *Result // the first result of a command with the same idempotency key
}

// Load reads stream and folds it into S. A stream with no events loads as the zero state.
func Load[S Evolver[S]](ctx context.Context, store Store, stream string) (Loaded[S], error) {
	return load[S](ctx, store, stream, "", "")
}

const pageSize = 512

func load[S Evolver[S]](ctx context.Context, store Store, stream, idemKey, idemHospital string) (Loaded[S], error) {
	var l Loaded[S]
	from := uint64(0)
	for {
		recs, err := store.ReadStream(ctx, stream, Forwards, from, pageSize)
		if err != nil {
			if domain.ErrorCode(err) == domain.CodeNotFound {
				return l, nil
			}
			return l, fmt.Errorf("load %s: %w", stream, err)
		}
		for _, rec := range recs {
			env, ev, err := Decode(rec)
			if err != nil {
				return l, fmt.Errorf("load %s at revision %d: %w", stream, rec.Version, err)
			}
			l.State = l.State.Evolve(ev)
			l.Version, l.Exists, l.Position = rec.Version, true, rec.Position
			l.lastHash = ChainHash(rec.Metadata, rec.Data)
			if idemKey != "" && env.IdempotencyKey == idemKey && env.Actor.HospitalID == idemHospital {
				if l.replay == nil {
					l.replay = &Result{Stream: stream, Replayed: true}
				}
				l.replay.Version, l.replay.Position = rec.Version, rec.Position
				l.replay.Events = append(l.replay.Events, ev)
			}
		}
		if len(recs) < pageSize {
			return l, nil
		}
		from = recs[len(recs)-1].Version + 1
	}
}

// Handle runs one command against stream. decide sees the folded state and returns the
// events to append (none is a successful no-op). ifMatch, when not nil, is the revision
// the client last saw (HTTP If-Match): a mismatch is a conflict returned at once, with
// no retry, since the client decided on a state that is gone.
func Handle[S Evolver[S]](ctx context.Context, c *Commands, stream string, meta domain.Meta, ifMatch *uint64,
	decide func(S) ([]domain.Event, error)) (Result, error) {
	var lastErr error
	for attempt := 0; attempt < c.maxAttempts; attempt++ {
		l, err := load[S](ctx, c.store, stream, meta.IdempotencyKey, meta.Actor.HospitalID)
		if err != nil {
			return Result{}, err
		}
		if l.replay != nil {
			return *l.replay, nil
		}
		if ifMatch != nil && (!l.Exists || l.Version != *ifMatch) {
			return Result{}, &WrongExpectedVersionError{Stream: stream, Expected: Exact(*ifMatch), Actual: l.Version, Exists: l.Exists}
		}
		events, err := decide(l.State)
		if err != nil {
			return Result{}, err
		}
		if len(events) == 0 {
			return Result{Stream: stream, Version: l.Version, Position: l.Position}, nil
		}
		data, err := c.envelop(stream, meta, l.Version, l.Exists, l.lastHash, events)
		if err != nil {
			return Result{}, err
		}
		expected := NoStream()
		if l.Exists {
			expected = Exact(l.Version)
		}
		res, err := c.store.Append(ctx, stream, expected, data)
		if err == nil {
			return Result{Stream: stream, Version: res.Version, Position: res.Position, Events: events}, nil
		}
		var wrong *WrongExpectedVersionError
		if !errors.As(err, &wrong) {
			return Result{}, err
		}
		lastErr = err
		// Another command won the race: wait a random part of a growing window, so
		// writers that collided spread out instead of colliding again, and decide again
		// on the new state.
		window := time.Duration(1<<min(attempt, 6)) * 250 * time.Microsecond
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(rand.N(window)):
		}
	}
	return Result{}, fmt.Errorf("gave up after %d conflicting attempts: %w", c.maxAttempts, lastErr)
}

// envelop encodes events with their envelopes, chaining each to the previous event's hash.
func (c *Commands) envelop(stream string, meta domain.Meta, version uint64, exists bool, prevHash string, events []domain.Event) ([]EventData, error) {
	out := make([]EventData, len(events))
	next := uint64(0)
	if exists {
		next = version + 1
	}
	for i, ev := range events {
		typ, schema, payload, err := domain.EncodeEvent(ev)
		if err != nil {
			return nil, err
		}
		id := c.newID()
		env := domain.Envelope{
			EventID: id, Type: typ, SchemaVersion: schema, Stream: stream, StreamVersion: next + uint64(i),
			OccurredAt: meta.At.UTC(), Actor: meta.Actor, CorrelationID: meta.CorrelationID,
			CausationID: meta.CausationID, IdempotencyKey: meta.IdempotencyKey, PrevHash: prevHash,
		}
		md, err := json.Marshal(env)
		if err != nil {
			return nil, fmt.Errorf("encode envelope: %w", err)
		}
		out[i] = EventData{ID: id, Type: typ, Data: payload, Metadata: md}
		prevHash = ChainHash(md, payload)
	}
	return out, nil
}

// ChainHash is the tamper-evidence hash of one stored event: SHA-256 over its envelope
// and payload. Each envelope carries its predecessor's hash, so the stream is a chain.
func ChainHash(metadata, data []byte) string {
	h := sha256.New()
	var n [8]byte
	for i, l := 0, uint64(len(metadata)); i < 8; i++ {
		n[i] = byte(l >> (56 - 8*i))
	}
	h.Write(n[:])
	h.Write(metadata)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
