package projections

import (
	"context"
	"sync"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// WatchPlan delivers the global position of every change to a plan's view (at least
// the latest one: a reader slower than the changes gets the newest position, which is
// all an SSE handler that re-reads the view needs). After a reconnect to Redis it
// delivers the last known checkpoint, since changes may have been missed. Call stop to
// end the watch; the channel is closed then.
func (q *Queries) WatchPlan(ctx context.Context, planID string) (<-chan eventstore.Position, func(), error) {
	w := &planWatch{ch: make(chan eventstore.Position, 1)}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, nil, domain.Errorf(domain.CodeUnavailable, "queries are closed")
	}
	set := q.watchers[planID]
	first := set == nil
	if first {
		set = map[*planWatch]struct{}{}
		q.watchers[planID] = set
	}
	set[w] = struct{}{}
	q.mu.Unlock()
	if first {
		if err := q.ps.Subscribe(ctx, PlanChannel(q.prefix, planID)); err != nil {
			q.unwatch(planID, w)
			return nil, nil, unavailable(err)
		}
	}
	var once sync.Once
	stop := func() { once.Do(func() { q.unwatch(planID, w) }) }
	return w.ch, stop, nil
}

func (q *Queries) unwatch(planID string, w *planWatch) {
	q.mu.Lock()
	set := q.watchers[planID]
	_, ok := set[w]
	if ok {
		delete(set, w)
		close(w.ch)
	}
	last := ok && len(set) == 0
	if last {
		delete(q.watchers, planID)
	}
	closed := q.closed
	q.mu.Unlock()
	if last && !closed {
		_ = q.ps.Unsubscribe(context.Background(), PlanChannel(q.prefix, planID))
	}
}

// deliver sends pos to every watcher of planID, replacing an undelivered older value.
func (q *Queries) deliver(planID string, pos eventstore.Position) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for w := range q.watchers[planID] {
		send(w.ch, pos)
	}
}

func send(ch chan eventstore.Position, pos eventstore.Position) {
	for {
		select {
		case ch <- pos:
			return
		default:
		}
		select {
		case old := <-ch:
			if old > pos {
				pos = old
			}
		default:
		}
	}
}

// nudgeWatchers tells every watcher to re-read, giving the checkpoint of the current
// generation (at or after any change it may have missed).
func (q *Queries) nudgeWatchers() {
	q.mu.Lock()
	defer q.mu.Unlock()
	var pos eventstore.Position
	if q.gen != "" {
		pos = q.known[q.gen]
	}
	for _, set := range q.watchers {
		for w := range set {
			send(w.ch, pos)
		}
	}
}
