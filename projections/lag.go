package projections

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/redis/go-redis/v9"
)

// Lag is how far the views are behind the log.
type Lag struct {
	// Events is the number of stored events not yet applied: exact up to 1,000; beyond
	// that, the difference of positions (the same on a store with dense positions).
	Events uint64 `json:"events"`
	// Seconds is how long ago the oldest unapplied event occurred (0 when caught up).
	Seconds    float64             `json:"seconds"`
	Checkpoint eventstore.Position `json:"checkpoint"`
	Head       eventstore.Position `json:"head"`
	// CatchingUp is true until the views have applied the log as it stood when they
	// (re)started (process start, Redis restarted empty or flushed, a fresh
	// generation): until then a view that is missing may merely not be built yet.
	CatchingUp bool `json:"catchingUp"`
	// Target is the position the views must reach to be caught up.
	Target eventstore.Position `json:"target"`
	// Degraded is how many view documents are degraded (see Projector.Degraded).
	Degraded uint64 `json:"degraded"`
}

const lagScan = 1000

// Lag compares the current generation's checkpoint, as stored in Redis (so a standby
// reports the active projector's lag), with the head of the log.
func (p *Projector) Lag(ctx context.Context) (Lag, error) {
	return measureLag(ctx, p.store, p.rdb, p.opt.Prefix, p.now())
}

func measureLag(ctx context.Context, store eventstore.Store, rdb redis.UniversalClient, prefix string, now time.Time) (Lag, error) {
	var l Lag
	gen, err := rdb.Get(ctx, currentKey(prefix)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return l, unavailable(err)
	}
	l.CatchingUp = true // no generation yet: nothing is projected
	if gen != "" {
		ks := keyspace{prefix: prefix, gen: gen}
		pipe := rdb.TxPipeline()
		cp := pipe.Get(ctx, ks.checkpoint())
		target := pipe.Get(ctx, ks.catchUpTarget())
		degraded := pipe.HLen(ctx, ks.degraded())
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return l, unavailable(err)
		}
		var started bool
		l.Checkpoint, l.Target, started = catchUpState(cp, target)
		l.CatchingUp = !started || l.Checkpoint < l.Target
		l.Degraded = uint64(degraded.Val())
	}
	if l.Head, err = store.Head(ctx); err != nil {
		return l, err
	}
	if l.Checkpoint >= l.Head {
		return l, nil
	}
	recs, err := store.ReadAll(ctx, l.Checkpoint, lagScan)
	if err != nil {
		return l, err
	}
	for _, r := range recs {
		if r.Position <= l.Head {
			l.Events++
		}
	}
	if len(recs) == lagScan {
		l.Events = max(l.Events, uint64(l.Head-l.Checkpoint))
	}
	if len(recs) > 0 {
		var env struct {
			OccurredAt time.Time `json:"occurredAt"`
		}
		if json.Unmarshal(recs[0].Metadata, &env) == nil && !env.OccurredAt.IsZero() {
			l.Seconds = max(0, now.Sub(env.OccurredAt).Seconds())
		}
	}
	return l, nil
}

// catchUpState reads a generation's checkpoint and catch-up target; started is false
// when the generation has no checkpoint (nobody started projecting it, or it vanished).
func catchUpState(cp, target *redis.StringCmd) (checkpoint, want eventstore.Position, started bool) {
	s, err := cp.Result()
	if err != nil {
		return 0, 0, false
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	t, _ := strconv.ParseUint(target.Val(), 10, 64)
	return eventstore.Position(n), eventstore.Position(t), true
}
