package projections

import (
	"context"
	"encoding/json"
	"errors"
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
	if gen != "" {
		if l.Checkpoint, err = readCheckpoint(ctx, rdb, keyspace{prefix: prefix, gen: gen}.checkpoint()); err != nil {
			return l, err
		}
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
