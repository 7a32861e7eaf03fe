package projections

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// QueryOptions configures Queries.
type QueryOptions struct {
	// Prefix is the key prefix of the views (default DefaultPrefix).
	Prefix string
	// Timeout bounds a read-your-writes wait (default 2 s); when it runs out the query
	// fails with domain.CodeTimeout.
	Timeout time.Duration
	// Projector, when the projector runs in this process, wakes waiting queries as soon
	// as it commits, without a Redis round trip. Queries also follow checkpoint advances
	// over Redis pub/sub, so an API replica without a projector waits just as well.
	Projector *Projector
	// Now is the clock for the overdue flag of Consult and HospitalConsults (default
	// time.Now).
	Now func() time.Time
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

// Queries reads the views for the HTTP layer. Each read is one MULTI/EXEC round trip
// that also reads the current generation and its checkpoint, so the answer is a
// consistent snapshot of one complete generation at one checkpoint; the plan read, the
// hot one, is a single HMGET when the cached generation and checkpoint already make
// that safe (see Plan). Every method takes minPos: the read waits (bounded by the
// timeout) until the views have applied that position, for read-your-writes after a
// command.
type Queries struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu       sync.Mutex
	gen      string                         // cached current generation; "" = ask Redis
	known    map[string]eventstore.Position // highest checkpoint seen per generation
	wake     chan struct{}                  // closed and replaced on every advance
	watchers map[string]map[*planWatch]struct{}
	closed   bool

	// plans caches plan documents read by the fast path, keyed by plan id, with the
	// generation they were read from; planBytes is the size of their JSON. See planFast.
	planMu    sync.RWMutex
	plans     map[string]cachedPlan
	planBytes int

	ps     *redis.PubSub
	cancel context.CancelFunc
	done   chan struct{}
}

type planWatch struct{ ch chan eventstore.Position }

// NewQueries returns queries over rdb. It subscribes to the checkpoint and generation
// channels at once; Close releases the subscription.
func NewQueries(rdb redis.UniversalClient, opt QueryOptions) *Queries {
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 2 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queries{rdb: rdb, prefix: opt.Prefix, timeout: opt.Timeout, now: opt.Now, log: opt.Logger,
		known: map[string]eventstore.Position{}, wake: make(chan struct{}),
		watchers: map[string]map[*planWatch]struct{}{}, cancel: cancel, done: make(chan struct{}),
		plans: map[string]cachedPlan{}}
	q.ps = rdb.Subscribe(ctx, checkpointChannel(opt.Prefix), generationChannel(opt.Prefix))
	go q.listen(ctx)
	if opt.Projector != nil {
		opt.Projector.onCommit(q.advance)
	}
	return q
}

// Close stops the pub/sub subscription; open plan watches end.
func (q *Queries) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	q.cancel()
	err := q.ps.Close()
	<-q.done
	q.mu.Lock()
	for _, set := range q.watchers {
		for w := range set {
			close(w.ch)
		}
	}
	q.watchers = map[string]map[*planWatch]struct{}{}
	q.mu.Unlock()
	return err
}

// listen follows checkpoint advances, generation switches and plan changes.
func (q *Queries) listen(ctx context.Context) {
	defer close(q.done)
	planPrefix := PlanChannel(q.prefix, "")
	subscribed := false
	for {
		msg, err := q.ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// The next Receive reconnects and resubscribes; until then, trust nothing cached.
			q.setGeneration("")
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == generationChannel(q.prefix) {
				if subscribed {
					// Resubscribed after a reconnect: messages may have been missed.
					q.setGeneration("")
					go q.resync()
				}
				subscribed = true
			}
		case *redis.Message:
			switch {
			case m.Channel == checkpointChannel(q.prefix):
				gen, pos, ok := strings.Cut(m.Payload, " ")
				if n, err := strconv.ParseUint(pos, 10, 64); ok && err == nil {
					q.advance(gen, eventstore.Position(n))
				}
			case m.Channel == generationChannel(q.prefix):
				q.setGeneration(m.Payload)
			case strings.HasPrefix(m.Channel, planPrefix):
				if n, err := strconv.ParseUint(m.Payload, 10, 64); err == nil {
					q.deliver(strings.TrimPrefix(m.Channel, planPrefix), eventstore.Position(n))
				}
			}
		}
	}
}

// advance records that generation gen applied everything up to pos.
func (q *Queries) advance(gen string, pos eventstore.Position) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if pos <= q.known[gen] {
		return
	}
	q.known[gen] = pos
	close(q.wake)
	q.wake = make(chan struct{})
}

func (q *Queries) setGeneration(gen string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.gen == gen {
		return
	}
	q.gen = gen
	close(q.wake)
	q.wake = make(chan struct{})
}

// generation returns the current generation, from the cache or from Redis.
func (q *Queries) generation(ctx context.Context) (string, error) {
	q.mu.Lock()
	gen := q.gen
	q.mu.Unlock()
	if gen != "" {
		return gen, nil
	}
	gen, err := q.rdb.Get(ctx, currentKey(q.prefix)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", unavailable(err)
	}
	q.mu.Lock()
	if q.gen == "" {
		q.gen = gen
	}
	q.mu.Unlock()
	return gen, nil
}

// planFast answers Plan with one round trip in the cached current generation, when
// that needs no transaction:
//   - the generation is cached (learnt from Redis, kept current by the generation
//     channel, forgotten whenever the subscription breaks), and
//   - the checkpoint known in-process for that generation (from the in-process
//     projector's commits, the checkpoint channel, or an earlier consistent read)
//     already covers minPos. A checkpoint is learnt only after the commit that stored
//     it, and a commit changes the plan hash in the same MULTI/EXEC, so a hash read
//     afterwards reflects at least minPos.
//
// The plan's view is one hash, so one read of it is a snapshot of one commit. The
// round trip is an HMGET of the fields Plan needs, or, when this process holds the
// plan's document from the same generation, an HGET of the hash's position only: every
// change of a plan's view stamps the position of the event that made it, so an equal
// position means the cached document is the stored one, and a plan's JSON crosses the
// network once per change rather than once per read.
//
// ok is false when the transactional path must answer: no cached generation, minPos
// not covered yet (the read must wait), or no plan in the hash: the generation may
// just have been switched and the old one deleted, so only the consistent read may
// say "not found".
func (q *Queries) planFast(ctx context.Context, planID string, minPos eventstore.Position) (doc PlanDoc, ok bool, err error) {
	q.mu.Lock()
	gen := q.gen
	covered := gen != "" && q.known[gen] >= minPos
	q.mu.Unlock()
	if !covered {
		return PlanDoc{}, false, nil
	}
	key := keyspace{prefix: q.prefix, gen: gen}.plan(planID)
	q.planMu.RLock()
	c, cached := q.plans[planID]
	q.planMu.RUnlock()
	if cached && c.gen == gen {
		s, err := q.rdb.HGet(ctx, key, "position").Result()
		if errors.Is(err, redis.Nil) {
			return PlanDoc{}, false, nil
		}
		if err != nil {
			return PlanDoc{}, false, unavailable(err)
		}
		if pos, perr := strconv.ParseUint(s, 10, 64); perr == nil && eventstore.Position(pos) == c.doc.Position {
			return c.doc, true, nil
		}
	}
	vals, err := q.rdb.HMGet(ctx, key, planFields...).Result()
	if err != nil {
		return PlanDoc{}, false, unavailable(err)
	}
	doc, ok, degraded := planDocOf(vals)
	if degraded != "" {
		return PlanDoc{}, true, degradedError(degraded)
	}
	if ok {
		q.cachePlan(planID, gen, doc)
	}
	return doc, ok, nil
}

// cachedPlan is a plan document as stored in generation gen.
type cachedPlan struct {
	gen string
	doc PlanDoc
}

// planCacheBytes bounds the JSON held by the plan cache; past it the cache starts over.
const planCacheBytes = 32 << 20

func (q *Queries) cachePlan(planID, gen string, doc PlanDoc) {
	q.planMu.Lock()
	defer q.planMu.Unlock()
	if old, ok := q.plans[planID]; ok {
		if old.gen == gen && old.doc.Position > doc.Position {
			return // a slower reader must not put back an older document
		}
		q.planBytes -= len(old.doc.JSON)
	}
	if q.planBytes+len(doc.JSON) > planCacheBytes {
		clear(q.plans)
		q.planBytes = 0
	}
	q.plans[planID] = cachedPlan{gen: gen, doc: doc}
	q.planBytes += len(doc.JSON)
}

// reader queues a read's commands on pipe and returns the function that decodes them
// once the transaction ran.
type reader func(pipe redis.Pipeliner, ks keyspace) func() error

// read runs one consistent read of the current generation once it has applied minPos.
func (q *Queries) read(ctx context.Context, minPos eventstore.Position, build reader) error {
	deadline := time.Now().Add(q.timeout)
	// What the last read saw of the catch-up: a wait that runs out while the views
	// are catching up says so (503 with Retry-After) rather than timing out.
	var catching bool
	var lastCP, lastTarget eventstore.Position
	for switches := 0; ; {
		q.mu.Lock()
		wake := q.wake
		q.mu.Unlock()
		gen, err := q.generation(ctx)
		if err != nil {
			return err
		}
		{
			ks := keyspace{prefix: q.prefix, gen: gen}
			if gen == "" {
				ks.gen = "-" // no generation yet: nothing was ever projected; read empty keys
			}
			pipe := q.rdb.TxPipeline()
			cpCmd := pipe.Get(ctx, ks.checkpoint())
			targetCmd := pipe.Get(ctx, ks.catchUpTarget())
			decode := build(pipe, ks)
			curCmd := pipe.Get(ctx, currentKey(q.prefix))
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return unavailable(err)
			}
			if cur := curCmd.Val(); cur != gen {
				q.setGeneration(cur) // a rebuild switched generations: read the new one
				if switches++; switches < 5 {
					continue
				}
				return domain.Errorf(domain.CodeUnavailable, "the views are switching generations; try again")
			}
			cp, target, started := catchUpState(cpCmd, targetCmd)
			catching, lastCP, lastTarget = !started || cp < target, cp, target
			q.advance(gen, cp)
			if cp >= minPos {
				err := decode()
				if domain.ErrorCode(err) == domain.CodeNotFound && (!started || cp < target) {
					// Not built yet, perhaps: the views are still applying the log as it
					// stood when they (re)started.
					return catchingUp(cp, target)
				}
				return err
			}
		}
		if err := q.wait(ctx, gen, minPos, wake, deadline); err != nil {
			if domain.ErrorCode(err) == domain.CodeTimeout && catching {
				return catchingUp(lastCP, lastTarget)
			}
			return err
		}
	}
}

// wait blocks until the checkpoint known for gen reaches minPos (learnt from the
// in-process projector or the checkpoint channel), the current generation changes, or a
// short fallback interval passes (in case a pub/sub message was lost); the caller then
// reads again. It fails with domain.CodeTimeout once the deadline passed, or when ctx
// is done.
func (q *Queries) wait(ctx context.Context, gen string, minPos eventstore.Position, wake chan struct{}, deadline time.Time) error {
	fallback := time.NewTimer(250 * time.Millisecond)
	defer fallback.Stop()
	for {
		q.mu.Lock()
		at := q.known[gen]
		switched := q.gen != gen
		next := q.wake
		q.mu.Unlock()
		if (gen != "" && at >= minPos) || switched {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return domain.Errorf(domain.CodeTimeout, "the views have not yet applied position %d (they are at %d) after %s; retry shortly", minPos, at, q.timeout).
				WithDetail("minPosition", uint64(minPos)).WithDetail("position", uint64(at))
		}
		if wake == nil {
			wake = next
		}
		t := time.NewTimer(left)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-wake:
			if gen == "" {
				t.Stop()
				return nil // the first generation may have appeared: read again
			}
		case <-fallback.C:
			t.Stop()
			return nil
		case <-t.C:
		}
		t.Stop()
		wake = nil
	}
}

// resync learns the current generation and checkpoint again after a reconnect, then
// tells every plan watcher to re-read (a change may have been missed meanwhile).
func (q *Queries) resync() {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	err := q.read(ctx, 0, func(redis.Pipeliner, keyspace) func() error { return func() error { return nil } })
	if err != nil {
		q.log.Warn("projections: re-reading the checkpoint after a reconnect failed", "err", err)
	}
	q.nudgeWatchers()
}
