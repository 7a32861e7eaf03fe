package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/redis/go-redis/v9"
)

// errGenerationChanged stops a live writer whose generation is no longer the current
// one (a rebuild switched generations): it must follow the new one.
var errGenerationChanged = errors.New("projections: the current generation changed")

// errRewound says the stored checkpoint is behind what this writer committed (someone
// deleted or reset the views): the source must restart from the stored checkpoint.
var errRewound = errors.New("projections: the stored checkpoint moved back")

// writer applies runs of events to one generation of the views. Every commit is one
// MULTI/EXEC that also sets the checkpoint, under WATCH of the checkpoint (and, for the
// live writer, of the current-generation key): if anyone else wrote the generation or
// switched generations since the writer read the checkpoint, EXEC fails and nothing is
// applied. Events at or below the stored checkpoint are dropped before applying, so a
// duplicate delivery or a replay is harmless; a checkpoint behind what the writer
// expects stops it (errRewound) so that no event is ever skipped.
type writer struct {
	rdb       redis.UniversalClient
	ks        keyspace
	live      bool // check the generation is current; publish plan changes
	committed eventstore.Position
	log       *slog.Logger
	onCommit  func(gen string, pos eventstore.Position)
	skipped   uint64 // events this build could not decode, logged and passed over
}

// readCheckpoint returns the stored checkpoint of the writer's generation.
func readCheckpoint(ctx context.Context, rd redis.Cmdable, key string) (eventstore.Position, error) {
	s, err := rd.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read checkpoint: %w", unavailable(err))
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s holds %q, not a position", key, s)
	}
	return eventstore.Position(n), nil
}

// start loads the stored checkpoint as the writer's starting point.
func (w *writer) start(ctx context.Context) error {
	cp, err := readCheckpoint(ctx, w.rdb, w.ks.checkpoint())
	if err != nil {
		return err
	}
	w.committed = cp
	return nil
}

// apply applies recs (in log order, every event after w.committed that the source
// delivered next) and advances the checkpoint to the last of them, atomically.
func (w *writer) apply(ctx context.Context, recs []eventstore.RecordedEvent) error {
	if len(recs) == 0 {
		return nil
	}
	events := make([]event, 0, len(recs))
	for i := range recs {
		env, ev, err := eventstore.Decode(recs[i])
		if err != nil {
			// An event this build cannot read (a type from a newer build, a corrupt
			// payload) cannot be projected; stopping would freeze every view, so it is
			// logged and passed over. A rebuild with a newer build picks it up.
			w.skipped++
			w.log.Error("projections: skipping an event this build cannot decode",
				"position", recs[i].Position, "type", recs[i].Type, "stream", recs[i].Stream, "err", err)
			continue
		}
		events = append(events, event{env: env, ev: ev, pos: recs[i].Position, ver: recs[i].Version})
	}
	var last eventstore.Position
	for i := range recs {
		last = max(last, recs[i].Position)
	}
	watch := []string{w.ks.checkpoint()}
	if w.live {
		watch = append(watch, currentKey(w.ks.prefix))
	}
	var newCP eventstore.Position
	var changes *batch
	for attempt := 0; ; attempt++ {
		err := w.rdb.Watch(ctx, func(tx *redis.Tx) error {
			var err error
			newCP, changes, err = w.attempt(ctx, tx, events, last)
			return err
		}, watch...)
		if errors.Is(err, redis.TxFailedErr) && attempt < 8 {
			continue // someone wrote meanwhile: read the checkpoint again and redo
		}
		if err != nil {
			return err
		}
		break
	}
	if newCP > w.committed {
		w.committed = newCP
		if w.onCommit != nil {
			w.onCommit(w.ks.gen, newCP)
		}
	}
	_ = changes
	return nil
}

// attempt is one WATCHed try of apply; it returns the checkpoint now stored.
func (w *writer) attempt(ctx context.Context, tx *redis.Tx, events []event, last eventstore.Position) (eventstore.Position, *batch, error) {
	pipe := tx.Pipeline()
	cpCmd := pipe.Get(ctx, w.ks.checkpoint())
	var curCmd *redis.StringCmd
	if w.live {
		curCmd = pipe.Get(ctx, currentKey(w.ks.prefix))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, nil, unavailable(err)
	}
	if w.live {
		if cur, _ := curCmd.Result(); cur != w.ks.gen {
			return 0, nil, errGenerationChanged
		}
	}
	stored := eventstore.Position(0)
	if s, err := cpCmd.Result(); err == nil {
		n, perr := strconv.ParseUint(s, 10, 64)
		if perr != nil {
			return 0, nil, fmt.Errorf("checkpoint %s holds %q, not a position", w.ks.checkpoint(), s)
		}
		stored = eventstore.Position(n)
	}
	if stored < w.committed {
		return 0, nil, errRewound
	}
	if stored >= last {
		return stored, nil, nil // all delivered before: a duplicate delivery
	}
	// Keep each event once, in order: drop those applied before (at or below the stored
	// checkpoint) and repeats within the run.
	todo := make([]event, 0, len(events))
	seen := stored
	for _, e := range events {
		if e.pos > seen {
			todo = append(todo, e)
			seen = e.pos
		}
	}
	b := newBatch(ctx, tx, w.ks)
	var refs []docRef
	for _, e := range todo {
		refs = append(refs, needs(w.ks, e)...)
	}
	if err := b.prefetch(refs); err != nil {
		return 0, nil, err
	}
	for _, e := range todo {
		if err := applyEvent(b, e); err != nil {
			return 0, nil, fmt.Errorf("apply %s at position %d: %w", e.env.Type, e.pos, err)
		}
	}
	_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		if err := b.write(pipe); err != nil {
			return err
		}
		pipe.Set(ctx, w.ks.checkpoint(), strconv.FormatUint(uint64(last), 10), 0)
		if w.live {
			// Published inside EXEC: Redis runs the transaction as one step, so a
			// subscriber's re-read is served only after the changes are visible.
			for _, id := range b.planOrder {
				pipe.Publish(ctx, PlanChannel(w.ks.prefix, id), strconv.FormatUint(uint64(b.planChanges[id]), 10))
			}
			pipe.Publish(ctx, checkpointChannel(w.ks.prefix), w.ks.gen+" "+strconv.FormatUint(uint64(last), 10))
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, redis.TxFailedErr) {
			return 0, nil, err
		}
		return 0, nil, fmt.Errorf("commit views: %w", unavailable(err))
	}
	return last, b, nil
}
