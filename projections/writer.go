package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// errGenerationChanged stops a live writer whose generation is no longer the current
// one (a rebuild switched generations): it must follow the new one.
var errGenerationChanged = errors.New("projections: the current generation changed")

// errRewound says the stored checkpoint is behind what this writer committed (someone
// deleted or reset the views): the source must restart from the stored checkpoint.
var errRewound = errors.New("projections: the stored checkpoint moved back")

// errViewsLost says the checkpoint of the generation this writer committed to vanished
// (Redis came back empty, or its keys were deleted): what is left of the generation
// cannot be trusted, so the projector starts a fresh one.
var errViewsLost = errors.New("projections: the checkpoint of the generation vanished")

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
	skipped   uint64         // events this build could not decode, logged and passed over
	failed    *atomic.Uint64 // when set, counts events the views could not apply (recorded as degraded documents)
	// warm holds the documents of the last committed batch, as committed. They are
	// still what Redis holds as long as the stored checkpoint is the one that commit
	// wrote: every write to a generation changes its checkpoint in the same EXEC. The
	// next attempt checks that in its first round trip and otherwise drops them; an
	// attempt that fails drops them too, since its views changed them in memory.
	warm map[docRef]*docEntry
}

// maxWarm bounds the documents kept between batches.
const maxWarm = 20000

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
	w.warm = nil
	return nil
}

// decoded is a run of log records decoded for the views: the events this build can
// read, and the highest position of the run (skipped records included, so the
// checkpoint moves past them).
type decoded struct {
	events  []event
	last    eventstore.Position
	skipped []eventstore.RecordedEvent
}

// decode decodes recs, on several goroutines for a large run. Catch-up calls it on the
// reading goroutine, so decoding the next page overlaps committing the current one.
func decode(recs []eventstore.RecordedEvent) decoded {
	out := make([]event, len(recs))
	ok := make([]bool, len(recs))
	workers := min(runtime.GOMAXPROCS(0), len(recs)/256+1)
	var wg sync.WaitGroup
	chunk := (len(recs) + workers - 1) / workers
	for lo := 0; lo < len(recs); lo += chunk {
		hi := min(lo+chunk, len(recs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i], ok[i] = decodeOne(&recs[i])
			}
		}()
	}
	wg.Wait()
	d := decoded{events: out[:0]}
	for i := range recs {
		d.last = max(d.last, recs[i].Position)
		if ok[i] {
			d.events = append(d.events, out[i])
		} else {
			d.skipped = append(d.skipped, recs[i])
		}
	}
	return d
}

// decodeOne decodes one record. Of the envelope the views need the schema version (to
// upcast) and, for plan revisions only, the actor; decoding the whole envelope, with
// its ids and times, costs as much as the payload, so the schema version is read with
// schemaVersionOf and the envelope decoded only when the actor is needed.
func decodeOne(rec *eventstore.RecordedEvent) (event, bool) {
	var env struct {
		SchemaVersion int          `json:"schemaVersion"`
		Actor         domain.Actor `json:"actor"`
	}
	v, found := schemaVersionOf(rec.Metadata)
	if found && rec.Type != "PlanRevised" {
		env.SchemaVersion = v
	} else if err := json.Unmarshal(rec.Metadata, &env); err != nil {
		return event{}, false
	}
	if env.SchemaVersion == 0 {
		env.SchemaVersion = 1
	}
	ev, err := eventstore.DecodeEvent(rec.Type, env.SchemaVersion, rec.Data)
	if err != nil {
		return event{}, false
	}
	return event{actor: env.Actor, ev: ev, pos: rec.Position, ver: rec.Version}, true
}

// schemaVersionKey is how encoding/json writes the envelope's schema version. Inside a
// JSON string a quote is always escaped, so this text can only be the object key; the
// envelope has no nested object with such a field.
var schemaVersionKey = []byte(`"schemaVersion":`)

// schemaVersionOf reads the envelope's schema version without decoding the envelope;
// found is false when the envelope is not in the shape encoding/json writes (then the
// caller decodes it properly).
func schemaVersionOf(md []byte) (int, bool) {
	i := bytes.Index(md, schemaVersionKey)
	if i < 0 || bytes.Count(md, schemaVersionKey) != 1 {
		return 0, false
	}
	n, j := 0, i+len(schemaVersionKey)
	for ; j < len(md) && md[j] >= '0' && md[j] <= '9' && n < 1<<20; j++ {
		n = n*10 + int(md[j]-'0')
	}
	if j == i+len(schemaVersionKey) || j >= len(md) || (md[j] != ',' && md[j] != '}') {
		return 0, false
	}
	return n, true
}

// apply applies recs (in log order, every event after w.committed that the source
// delivered next) and advances the checkpoint to the last of them, atomically.
func (w *writer) apply(ctx context.Context, recs []eventstore.RecordedEvent) error {
	if len(recs) == 0 {
		return nil
	}
	return w.applyDecoded(ctx, decode(recs))
}

// applyDecoded is apply for records already decoded.
func (w *writer) applyDecoded(ctx context.Context, d decoded) error {
	if d.last == 0 {
		return nil
	}
	for _, rec := range d.skipped {
		// An event this build cannot read (a type from a newer build, a corrupt
		// payload) cannot be projected; stopping would freeze every view, so it is
		// logged and passed over. A rebuild with a newer build picks it up.
		if rec.Position > w.committed {
			w.skipped++
			w.log.Error("projections: skipping an event this build cannot decode",
				"position", rec.Position, "type", rec.Type, "stream", rec.Stream)
		}
	}
	events, last := d.events, d.last
	watch := []any{"watch", w.ks.checkpoint()}
	if w.live {
		watch = append(watch, currentKey(w.ks.prefix))
	}
	var newCP eventstore.Position
	r := &run{failed: map[eventstore.Position]*eventFailure{}}
	for attempt := 0; ; attempt++ {
		err := w.rdb.Watch(ctx, func(tx *redis.Tx) error {
			var err error
			newCP, err = w.attempt(ctx, tx, watch, events, last, r)
			return err
		})
		var f *eventFailure
		var fe *flushError
		switch {
		case errors.Is(err, redis.TxFailedErr) && attempt < 8:
			continue // someone wrote meanwhile: read the checkpoint again and redo
		case errors.As(err, &f) && r.failed[f.pos] == nil:
			// The event is recorded as failed and the run tried again without it.
			r.failed[f.pos] = f
			attempt = 0
			continue
		case errors.As(err, &fe) && !r.careful:
			// A document did not encode at commit: try again checking each event's
			// documents as it goes, to find the event that made it so.
			r.careful = true
			continue
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
	return nil
}

// run is what the tries of one apply learnt: the events that failed (applied as
// degradations in the next try) and whether each event's documents are checked as it
// is applied (careful), after a commit found a document it could not encode.
type run struct {
	failed  map[eventstore.Position]*eventFailure
	careful bool
}

// attempt is one WATCHed try of apply; it returns the checkpoint now stored. It takes
// two round trips: WATCH with the reads of the checkpoint, the current generation and
// every document the events need, then MULTI/EXEC with the changes. (WATCH is sent in
// the first pipeline rather than through Tx.Watch, which would cost a round trip of its
// own; every path that does not reach EXEC therefore sends UNWATCH itself, so no watch
// stays on a pooled connection.) When the generation has degraded documents, one more
// round trip tells which of the loaded documents they are.
//
// An event the views cannot apply fails the try with an *eventFailure; the next try
// records it (run.failed) instead of applying it, in the same MULTI/EXEC as the other
// events and the checkpoint.
func (w *writer) attempt(ctx context.Context, tx *redis.Tx, watch []any, events []event, last eventstore.Position, r *run) (cp eventstore.Position, err error) {
	b := newBatch(ctx, tx, w.ks)
	warm := w.warm
	w.warm = nil
	if warm != nil {
		b.docs = warm // consumed: only a successful commit hands the documents back
	}
	var refs []docRef
	for _, e := range events {
		if e.pos > w.committed {
			refs = append(refs, needs(w.ks, e)...)
			refs = append(refs, reportNeeds(w.ks, e)...)
		}
	}
	pipe := tx.Pipeline()
	watchCmd := pipe.Do(ctx, watch...)
	cpCmd := pipe.Get(ctx, w.ks.checkpoint())
	var curCmd *redis.StringCmd
	if w.live {
		curCmd = pipe.Get(ctx, currentKey(w.ks.prefix))
	}
	degradedCmd := pipe.HLen(ctx, w.ks.degraded())
	loaded := b.queueLoads(pipe, refs)
	_, execErr := pipe.Exec(ctx)
	armed := watchCmd.Err() == nil
	defer func() {
		if armed {
			_ = tx.Unwatch(context.WithoutCancel(ctx)).Err()
		}
	}()
	if execErr != nil && !errors.Is(execErr, redis.Nil) {
		return 0, unavailable(execErr)
	}
	if w.live {
		if cur, _ := curCmd.Result(); cur != w.ks.gen {
			return 0, errGenerationChanged
		}
	}
	stored := eventstore.Position(0)
	if s, err := cpCmd.Result(); err == nil {
		n, perr := strconv.ParseUint(s, 10, 64)
		if perr != nil {
			return 0, fmt.Errorf("checkpoint %s holds %q, not a position", w.ks.checkpoint(), s)
		}
		stored = eventstore.Position(n)
	} else if w.live && w.committed > 0 {
		return 0, errViewsLost
	}
	b.checkDegraded = degradedCmd.Val() > 0
	if len(warm) > 0 && stored != w.committed {
		// Someone else wrote since our last commit: the warm documents may be stale.
		b.docs = map[docRef]*docEntry{}
		if err := b.storeLoads(loaded); err != nil {
			return 0, err
		}
		if err := b.prefetch(refs); err != nil {
			return 0, err
		}
	} else if err := b.storeLoads(loaded); err != nil {
		return 0, err
	}
	if b.checkDegraded {
		if err := b.loadDegraded(loaded.refs); err != nil {
			return 0, err
		}
	}
	if stored < w.committed {
		return 0, errRewound
	}
	if stored >= last {
		return stored, nil // all delivered before: a duplicate delivery
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
	// Documents of events at or below a checkpoint stored by someone else were loaded
	// for nothing; the ones still missing (found through other documents) load lazily.
	var scratch redis.Pipeliner
	if r.careful {
		scratch = w.rdb.Pipeline() // never run: the careful checks encode into it
		defer scratch.Discard()
	}
	for _, e := range todo {
		if f := r.failed[e.pos]; f != nil {
			if err := b.degrade(f); err != nil {
				return 0, err
			}
			continue
		}
		b.touched = b.touched[:0]
		err := applyOne(b, e)
		if err == nil && r.careful {
			err = b.check(scratch)
		}
		if err != nil {
			if f := failureOf(b, e, err); f != nil {
				return 0, f
			}
			return 0, fmt.Errorf("apply %s at position %d: %w", e.ev.EventType(), e.pos, err)
		}
	}
	_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
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
	if err == nil || errors.Is(err, redis.TxFailedErr) || redis.IsExecAbortError(err) {
		armed = false // EXEC ran and released the watch
	}
	if err != nil {
		if errors.Is(err, redis.TxFailedErr) {
			return 0, err
		}
		return 0, fmt.Errorf("commit views: %w", unavailable(err))
	}
	for _, f := range b.failures {
		if w.failed != nil {
			w.failed.Add(1)
		}
		names := make([]string, len(f.refs))
		for i, ref := range f.refs {
			names[i] = docName(w.ks, ref)
		}
		w.log.Error("projections: an event could not be applied; its documents are degraded until the cause is fixed and the views rebuilt",
			"generation", w.ks.gen, "position", f.pos, "type", f.typ, "reason", f.reason, "documents", names, "err", f.err)
	}
	if len(b.docs) <= maxWarm && len(b.failures) == 0 {
		for _, ref := range b.order {
			e := b.docs[ref]
			e.dirty, e.flush = false, nil
			if d, ok := e.val.(*planDoc); ok {
				d.indexed = d.view.listedUnder() // what flushPlan listed it under
			}
		}
		for _, e := range b.docs {
			if e.val != nil {
				// Decoded: the stored bytes are no longer read (and, for a document
				// this batch changed, no longer what Redis holds). Dropping them keeps
				// the warm set's memory for the plans' cached step encodings.
				e.raw = nil
			}
		}
		w.warm = b.docs
	}
	return last, nil
}
