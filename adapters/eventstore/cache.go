package eventstore

import (
	"container/list"
	"context"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/medalliance/allianced/domain"
)

// DefaultCacheStreams is how many streams' folded states a Commands keeps by default.
const DefaultCacheStreams = 100_000

// DefaultCacheEvents bounds, by default, the events a Commands' cache stands for: each
// entry counts the events folded into its state (a state grows with its stream) plus
// those it keeps as first results of idempotency keys. At a few hundred bytes an event
// this keeps the cache to some hundreds of megabytes whatever the streams' lengths.
const DefaultCacheEvents = 2_000_000

// Option configures a Commands.
type Option func(*Commands)

// WithCacheSize bounds the folded-state cache to n streams (least recently used first
// out), with the default event bound; n <= 0 turns the cache off, so every command folds
// its whole stream again.
func WithCacheSize(n int) Option {
	return WithCacheLimits(n, DefaultCacheEvents)
}

// WithCacheLimits bounds the folded-state cache to streams streams and to events events
// (see DefaultCacheEvents), dropping least recently used streams first; a stream longer
// than the event bound is not cached. streams <= 0 or events <= 0 turns the cache off.
func WithCacheLimits(streams, events int) Option {
	return func(c *Commands) { c.cache = newStateCache(streams, events) }
}

// CacheStats counts what the folded-state cache did, for tests and metrics.
type CacheStats struct {
	Hits      uint64 // loads that started from a cached state and read only the delta
	Misses    uint64 // loads that read the whole stream
	Evictions uint64 // entries dropped to respect the bound
	Streams   int    // entries held now
	Events    int    // events the entries stand for now (see DefaultCacheEvents)
}

// CacheStats returns the cache's counters (all zero when the cache is off).
func (c *Commands) CacheStats() CacheStats {
	if c.cache == nil {
		return CacheStats{}
	}
	c.cache.mu.Lock()
	n, w := len(c.cache.entries), c.cache.weight
	c.cache.mu.Unlock()
	return CacheStats{Hits: c.cache.hits.Load(), Misses: c.cache.misses.Load(),
		Evictions: c.cache.evictions.Load(), Streams: n, Events: w}
}

// stateCache keeps, per (stream, state type), the state folded from the stream's first
// next events, with what the command path needs to continue from there: the position
// and chain hash of the last of those events, and the first result of every idempotency
// key they carry. An entry only ever holds what was read back from the store or what the
// store acknowledged at exactly the expected version, and it only moves forward, so a
// load that starts from it and reads the events after it folds the same state as a load
// of the whole stream.
//
// States are shared by every goroutine that loads the stream: Evolve must return a new
// state without writing into the old one's slices or maps (domain's aggregates copy on
// write; domain/evolve_immutability_test.go checks each).
type stateCache struct {
	max, maxWeight int

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	lru     *list.List // of *cacheEntry, most recently used at the front
	weight  int        // sum of the entries' weights

	hits, misses, evictions atomic.Uint64
}

type cacheKey struct {
	stream string
	typ    reflect.Type
}

// cacheEntry is guarded by stateCache.mu; state is never written into, only replaced.
type cacheEntry struct {
	key      cacheKey
	elem     *list.Element
	state    any    // an S
	next     uint64 // number of events folded into state (last revision + 1); > 0
	position Position
	lastHash string
	// replays maps idemKey(hospital, key) to the first result of the command that used
	// it; the *Result values are never written once stored (a later event under the same
	// key replaces the pointer).
	replays map[string]*Result
	// weight is next plus the events held in replays: what the entry stands for.
	weight int
}

// folded is one event a load or an append folded in, kept to extend a cache entry.
type folded struct {
	version  uint64
	position Position
	idem     string // idemKey of its envelope, "" without a key
	// fingerprint is the request fingerprint of its envelope ("" when unknown).
	fingerprint string
	event       domain.Event
}

func newStateCache(streams, events int) *stateCache {
	if streams <= 0 || events <= 0 {
		return nil
	}
	return &stateCache{max: streams, maxWeight: events, entries: make(map[cacheKey]*cacheEntry), lru: list.New()}
}

// idemKey joins an idempotency key with the hospital that used it: keys are per hospital.
func idemKey(hospital, key string) string {
	if key == "" {
		return ""
	}
	return hospital + "\x00" + key
}

// cached is a copy of an entry's fields taken under the lock.
type cached[S any] struct {
	state    S
	next     uint64
	position Position
	lastHash string
	replay   *Result // the first result of the looked-up key, if the entry has it
}

// get returns the entry for (stream, S), marking it recently used, and the first result
// of idem when the entry holds it.
func cacheGet[S any](c *stateCache, stream, idem string) (cached[S], bool) {
	if c == nil {
		return cached[S]{}, false
	}
	key := cacheKey{stream, reflect.TypeFor[S]()}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		c.misses.Add(1)
		return cached[S]{}, false
	}
	c.hits.Add(1)
	c.lru.MoveToFront(e.elem)
	out := cached[S]{state: e.state.(S), next: e.next, position: e.position, lastHash: e.lastHash}
	if idem != "" {
		out.replay = e.replays[idem]
	}
	return out, true
}

// put records that folding evs (revisions baseNext .. next-1 of the stream) into the
// state of its first baseNext events gave state. The entry moves forward only from a
// point it covers: a missing entry is created only from a whole-stream fold (baseNext 0),
// since its idempotency keys must be complete; an entry already at or past next, or
// short of baseNext, is left as it is.
func (c *stateCache) put(stream string, typ reflect.Type, baseNext uint64, state any, next uint64,
	position Position, lastHash string, evs []folded) {
	if c == nil || next == 0 {
		return
	}
	key := cacheKey{stream, typ}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	switch {
	case !ok && baseNext != 0:
		return
	case !ok:
		e = &cacheEntry{key: key, replays: make(map[string]*Result)}
		e.elem = c.lru.PushFront(e)
		c.entries[key] = e
	case e.next >= next || e.next < baseNext:
		return
	default:
		c.lru.MoveToFront(e.elem)
	}
	added := int(next - e.next) // events folded into the state
	for _, f := range evs {
		if f.version < e.next || f.idem == "" {
			continue
		}
		r := &Result{Stream: stream, Replayed: true}
		if prev := e.replays[f.idem]; prev != nil {
			*r = *prev
			r.Events = append(r.Events[:len(r.Events):len(r.Events)], f.event)
		} else {
			r.Events = []domain.Event{f.event}
			r.firstVersion, r.fingerprint = f.version, f.fingerprint
		}
		r.Version, r.Position = f.version, f.position
		e.replays[f.idem] = r
		added++ // and one more kept for the key's replay
	}
	e.weight += added
	c.weight += added
	e.state, e.next, e.position, e.lastHash = state, next, position, lastHash
	c.evict()
}

// evict drops least recently used entries beyond the bounds; c.mu is held.
func (c *stateCache) evict() {
	for len(c.entries) > c.max || c.weight > c.maxWeight {
		e := c.lru.Remove(c.lru.Back()).(*cacheEntry)
		delete(c.entries, e.key)
		c.weight -= e.weight
		c.evictions.Add(1)
	}
}

// drop removes (stream, typ)'s entry.
func (c *stateCache) drop(stream string, typ reflect.Type) {
	if c == nil {
		return
	}
	key := cacheKey{stream, typ}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.lru.Remove(e.elem)
		delete(c.entries, key)
		c.weight -= e.weight
	}
}

// streamQueue lets one command at a time run per stream in this process, the others
// waiting in arrival order. Commands of one replica on one stream would otherwise race:
// only one append per stream can win a round, and with cached states making each retry
// nearly free, a writer backing off after a conflict could lose to fresh arrivals round
// after round until it gave up. Writers in other processes still meet as conflicts.
type streamQueue struct {
	mu    sync.Mutex
	slots map[string]*streamSlot
}

type streamSlot struct {
	turn  chan struct{} // holds one token while a command runs; senders queue FIFO
	users int           // commands holding or waiting for the slot, guarded by mu
}

// enter waits for stream's turn (or ctx) and returns the function that gives it up.
func (q *streamQueue) enter(ctx context.Context, stream string) (leave func(), err error) {
	q.mu.Lock()
	if q.slots == nil {
		q.slots = make(map[string]*streamSlot)
	}
	s := q.slots[stream]
	if s == nil {
		s = &streamSlot{turn: make(chan struct{}, 1)}
		q.slots[stream] = s
	}
	s.users++
	q.mu.Unlock()
	release := func() {
		q.mu.Lock()
		if s.users--; s.users == 0 {
			delete(q.slots, stream)
		}
		q.mu.Unlock()
	}
	select {
	case s.turn <- struct{}{}:
		return func() { <-s.turn; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
