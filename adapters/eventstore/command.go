package eventstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
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
	// cache holds folded states so a command reads only the events after them (nil
	// when turned off); see cache.go.
	cache *stateCache
	// queue runs one command per stream at a time when the cache is on.
	queue streamQueue
}

// NewCommands returns the command path over store. Event ids come from ulid.Make
// (monotonic within the process). Folded states of up to DefaultCacheStreams streams
// are cached unless an option says otherwise.
func NewCommands(store Store, opts ...Option) *Commands {
	c := &Commands{store: store, newID: ulid.Make, maxAttempts: 12, cache: newStateCache(DefaultCacheStreams, DefaultCacheEvents)}
	for _, o := range opts {
		o(c)
	}
	return c
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

	// Of a first result kept for replays: the revision of its first event and the
	// request fingerprint its envelope recorded ("" when unknown).
	firstVersion uint64
	fingerprint  string
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
	return load[S](ctx, store, nil, stream, "")
}

// LoadCached is Load through c's folded-state cache: it starts from the state c last
// saw for stream and reads only the events after it, so it is as fresh as Load.
func LoadCached[S Evolver[S]](ctx context.Context, c *Commands, stream string) (Loaded[S], error) {
	return load[S](ctx, c.store, c.cache, stream, "")
}

const pageSize = 512

// load folds stream into S, starting from cache's entry when it has one and reading only
// the events after it, then moves the entry forward. idem, when not "", is the
// idempotency key (see idemKey) whose first result the load looks for.
func load[S Evolver[S]](ctx context.Context, store Store, cache *stateCache, stream, idem string) (Loaded[S], error) {
	var l Loaded[S]
	from := uint64(0)
	if hit, ok := cacheGet[S](cache, stream, idem); ok {
		l.State, l.Exists, l.Version, l.Position, l.lastHash = hit.state, true, hit.next-1, hit.position, hit.lastHash
		if hit.replay != nil {
			r := *hit.replay
			r.Events = slices.Clip(r.Events)
			l.replay = &r
			return l, nil
		}
		from = hit.next
	}
	base := from
	var evs []folded
	for {
		recs, err := store.ReadStream(ctx, stream, Forwards, from, pageSize)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeNotFound {
				return Loaded[S]{}, fmt.Errorf("load %s: %w", stream, err)
			}
			if base == 0 {
				return Loaded[S]{}, nil
			}
			// The cache saw events the store no longer has: forget them and fold again.
			cache.drop(stream, reflect.TypeFor[S]())
			l, from, base, evs = Loaded[S]{}, 0, 0, nil
			continue
		}
		for _, rec := range recs {
			env, ev, err := Decode(rec)
			if err != nil {
				return Loaded[S]{}, fmt.Errorf("load %s at revision %d: %w", stream, rec.Version, err)
			}
			l.State = l.State.Evolve(ev)
			l.Version, l.Exists, l.Position = rec.Version, true, rec.Position
			key := idemKey(env.Actor.HospitalID, env.IdempotencyKey)
			if idem != "" && key == idem {
				if l.replay == nil {
					l.replay = &Result{Stream: stream, Replayed: true, firstVersion: rec.Version, fingerprint: env.RequestFingerprint}
				}
				l.replay.Version, l.replay.Position = rec.Version, rec.Position
				l.replay.Events = append(l.replay.Events, ev)
			}
			if cache != nil {
				evs = append(evs, folded{version: rec.Version, position: rec.Position, idem: key,
					fingerprint: env.RequestFingerprint, event: ev})
			}
		}
		if len(recs) > 0 {
			last := recs[len(recs)-1]
			l.lastHash = ChainHash(last.Metadata, last.Data)
		}
		if len(recs) < pageSize {
			break
		}
		from = recs[len(recs)-1].Version + 1
	}
	if l.Exists {
		cache.put(stream, reflect.TypeFor[S](), base, l.State, l.Version+1, l.Position, l.lastHash, evs)
	}
	return l, nil
}

// Handle runs one command against stream. decide sees the folded state and returns the
// events to append (none is a successful no-op). ifMatch, when not nil, is the revision
// the client last saw (HTTP If-Match): a mismatch is a conflict returned at once, with
// no retry, since the client decided on a state that is gone.
//
// When the stream already holds events of meta's idempotency key (from the same
// hospital), the command is a replay and its first result is returned, appending
// nothing, after two checks (see replay): the request must be the one the key was
// first sent with, and the caller must be allowed to send it.
//
// With the cache on, commands of c on one stream run one at a time, in arrival order
// (conflicts then come only from other processes); decide must not itself run a command.
func Handle[S Evolver[S]](ctx context.Context, c *Commands, stream string, meta domain.Meta, ifMatch *uint64,
	decide func(S) ([]domain.Event, error)) (Result, error) {
	if c.cache != nil {
		leave, err := c.queue.enter(ctx, stream)
		if err != nil {
			return Result{}, err
		}
		defer leave()
	}
	var lastErr error
	for attempt := 0; attempt < c.maxAttempts; attempt++ {
		l, err := load[S](ctx, c.store, c.cache, stream, idemKey(meta.Actor.HospitalID, meta.IdempotencyKey))
		if err != nil {
			return Result{}, err
		}
		if l.replay != nil {
			return replay(ctx, c.store, stream, meta, *l.replay, decide)
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
		data, tip, err := c.envelop(stream, meta, l.Version, l.Exists, l.lastHash, events)
		if err != nil {
			return Result{}, err
		}
		expected := NoStream()
		if l.Exists {
			expected = Exact(l.Version)
		}
		res, err := c.store.Append(ctx, stream, expected, data)
		if err == nil {
			remember(c, stream, l, res, tip, meta, data)
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

// replay returns first, the first result of meta's idempotency key on stream, to a
// command sent again with that key, once two checks pass:
//
//   - the request is the same: when both the first request's fingerprint and meta's are
//     known they must be equal, otherwise the key is refused as reused (422). Events
//     written before fingerprints carry none and replay as before.
//   - the caller is allowed to send it: decide runs against the stream as the first
//     command found it (the events before its first one), with this call's actor, and
//     an error that denies authority (forbidden, not a member) is returned instead of
//     the stored result. Other errors are ignored: the first command was accepted on
//     that state, and only who asks (and when) has changed.
//
// The prefix is read from the store without the cache; replays are rare.
func replay[S Evolver[S]](ctx context.Context, store Store, stream string, meta domain.Meta, first Result,
	decide func(S) ([]domain.Event, error)) (Result, error) {
	if first.fingerprint != "" && meta.RequestFingerprint != "" && first.fingerprint != meta.RequestFingerprint {
		return Result{}, domain.IdempotencyKeyReused("another request on " + stream)
	}
	before, err := loadPrefix[S](ctx, store, stream, first.firstVersion)
	if err != nil {
		return Result{}, err
	}
	if _, err := decide(before); domain.DeniesAuthority(err) {
		return Result{}, err
	}
	first.firstVersion, first.fingerprint = 0, ""
	return first, nil
}

// loadPrefix folds the first n events of stream (revisions 0 .. n-1) into S, uncached.
func loadPrefix[S Evolver[S]](ctx context.Context, store Store, stream string, n uint64) (S, error) {
	var state S
	for from := uint64(0); from < n; {
		recs, err := store.ReadStream(ctx, stream, Forwards, from, int(min(n-from, pageSize)))
		if err != nil {
			return state, fmt.Errorf("load %s before revision %d: %w", stream, n, err)
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if rec.Version >= n {
				return state, nil
			}
			_, ev, err := Decode(rec)
			if err != nil {
				return state, fmt.Errorf("load %s at revision %d: %w", stream, rec.Version, err)
			}
			state = state.Evolve(ev)
		}
		from = recs[len(recs)-1].Version + 1
	}
	return state, nil
}

// remember folds the events of a successful append into the cache entry the command
// decided on. The store put them at exactly the expected version, so they follow
// l's events; they are decoded back from the bytes written, so the cached state is the
// one a reader of the stream folds. tip is the chain hash of the last of them.
func remember[S Evolver[S]](c *Commands, stream string, l Loaded[S], res AppendResult, tip string,
	meta domain.Meta, data []EventData) {
	if c.cache == nil {
		return
	}
	base := uint64(0)
	if l.Exists {
		base = l.Version + 1
	}
	if res.Version+1 != base+uint64(len(data)) {
		return // not where the expected version put them; leave the cache to a reload
	}
	state := l.State
	key := idemKey(meta.Actor.HospitalID, meta.IdempotencyKey)
	fingerprint := ""
	if key != "" {
		fingerprint = meta.RequestFingerprint
	}
	evs := make([]folded, len(data))
	for i, d := range data {
		version, err := domain.SchemaVersion(d.Type)
		if err != nil {
			return
		}
		ev, err := DecodeEvent(d.Type, version, d.Data)
		if err != nil {
			return
		}
		state = state.Evolve(ev)
		// Only the last event's position is known; earlier events of the append lie before it.
		evs[i] = folded{version: base + uint64(i), position: res.Position, idem: key, fingerprint: fingerprint, event: ev}
	}
	c.cache.put(stream, reflect.TypeFor[S](), base, state, res.Version+1, res.Position, tip, evs)
}

// envelop encodes events with their envelopes, chaining each to the previous event's
// hash, and returns the chain hash of the last one.
func (c *Commands) envelop(stream string, meta domain.Meta, version uint64, exists bool, prevHash string, events []domain.Event) ([]EventData, string, error) {
	out := make([]EventData, len(events))
	next := uint64(0)
	if exists {
		next = version + 1
	}
	for i, ev := range events {
		typ, schema, payload, err := domain.EncodeEvent(ev)
		if err != nil {
			return nil, "", err
		}
		id := c.newID()
		env := domain.Envelope{
			EventID: id, Type: typ, SchemaVersion: schema, Stream: stream, StreamVersion: next + uint64(i),
			OccurredAt: meta.At.UTC(), Actor: meta.Actor, CorrelationID: meta.CorrelationID,
			CausationID: meta.CausationID, IdempotencyKey: meta.IdempotencyKey, PrevHash: prevHash,
		}
		if meta.IdempotencyKey != "" {
			env.RequestFingerprint = meta.RequestFingerprint
		}
		md, err := json.Marshal(env)
		if err != nil {
			return nil, "", fmt.Errorf("encode envelope: %w", err)
		}
		out[i] = EventData{ID: id, Type: typ, Data: payload, Metadata: md}
		prevHash = ChainHash(md, payload)
	}
	return out, prevHash, nil
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
