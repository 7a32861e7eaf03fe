package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// docRef names one JSON document in Redis: a string key (field empty) or one field of a
// hash.
type docRef struct{ key, field string }

// docEntry is one document of the batch cache: loaded from Redis once per batch attempt,
// decoded once, changed in place by the views, and written back once at commit.
type docEntry struct {
	loaded bool
	raw    []byte // the stored bytes; nil when the document did not exist
	val    any    // the decoded document (a pointer), nil until first used
	dirty  bool
	flush  func(pipe redis.Pipeliner, ref docRef, val any) error
	// degraded says the document is degraded (see degraded.go): the views see no
	// document and their writes to it are dropped.
	degraded bool
}

// event is one decoded event of the log with its envelope and global position.
type event struct {
	actor domain.Actor // who caused it, from the envelope
	ev    domain.Event
	pos   eventstore.Position
	ver   uint64 // stream revision
}

// batch collects the changes of a run of events to commit in one MULTI/EXEC. Views read
// documents through it (read-modify-write) and queue index updates; nothing reaches Redis
// until commit, so a failed attempt leaves Redis untouched and the batch is redone.
type batch struct {
	ctx   context.Context
	rd    redis.Cmdable // reads (the WATCHing connection)
	ks    keyspace
	docs  map[docRef]*docEntry
	order []docRef // documents in the order they first became dirty, for deterministic writes
	ops   []func(redis.Pipeliner)
	// planChanges maps each plan whose view changed to the position of its last change.
	planChanges map[string]eventstore.Position
	planOrder   []string
	// checkDegraded is set when the generation has degraded documents: every document
	// loaded is then checked against the degraded list.
	checkDegraded bool
	// touched lists the documents the event being applied changed; failures lists the
	// events recorded as failed in this batch.
	touched  []docRef
	failures []*eventFailure
}

func newBatch(ctx context.Context, rd redis.Cmdable, ks keyspace) *batch {
	return &batch{ctx: ctx, rd: rd, ks: ks, docs: map[docRef]*docEntry{}, planChanges: map[string]eventstore.Position{}}
}

// prefetch loads, in one round trip, every document not yet in the cache.
func (b *batch) prefetch(refs []docRef) error {
	pipe := b.rd.Pipeline()
	loads := b.queueLoads(pipe, refs)
	if len(loads.refs) == 0 {
		return nil
	}
	if _, err := pipe.Exec(b.ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("load view documents: %w", unavailable(err))
	}
	return b.storeLoads(loads)
}

// loads is a set of document reads queued on a pipeline.
type loads struct {
	refs     []docRef
	cmds     []*redis.StringCmd
	degraded []*redis.BoolCmd // with checkDegraded: whether each is degraded
}

// queueLoads queues on pipe a read of every document of refs not yet in the cache.
func (b *batch) queueLoads(pipe redis.Pipeliner, refs []docRef) loads {
	var l loads
	seen := map[docRef]bool{}
	for _, r := range refs {
		if _, ok := b.docs[r]; ok || seen[r] {
			continue
		}
		seen[r] = true
		l.refs = append(l.refs, r)
		if r.field == "" {
			l.cmds = append(l.cmds, pipe.Get(b.ctx, r.key))
		} else {
			l.cmds = append(l.cmds, pipe.HGet(b.ctx, r.key, r.field))
		}
		if b.checkDegraded {
			l.degraded = append(l.degraded, pipe.HExists(b.ctx, b.ks.degraded(), docName(b.ks, r)))
		}
	}
	return l
}

// storeLoads puts the documents read by queued loads into the cache.
func (b *batch) storeLoads(l loads) error {
	for i, r := range l.refs {
		raw, err := l.cmds[i].Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("load %s %s: %w", r.key, r.field, unavailable(err))
		}
		if _, ok := b.docs[r]; !ok {
			b.docs[r] = &docEntry{loaded: true, raw: raw, degraded: i < len(l.degraded) && l.degraded[i].Val()}
		}
	}
	return nil
}

// loadDegraded marks which of refs, already loaded without the check, are degraded.
func (b *batch) loadDegraded(refs []docRef) error {
	if len(refs) == 0 {
		return nil
	}
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = docName(b.ks, r)
	}
	vals, err := b.rd.HMGet(b.ctx, b.ks.degraded(), names...).Result()
	if err != nil {
		return fmt.Errorf("load the degraded documents: %w", unavailable(err))
	}
	for i, v := range vals {
		if v != nil {
			b.docs[refs[i]].degraded = true
		}
	}
	return nil
}

// entry returns the cache entry of ref, loading it from Redis when no prefetch did.
func (b *batch) entry(ref docRef) (*docEntry, error) {
	if e, ok := b.docs[ref]; ok {
		return e, nil
	}
	if err := b.prefetch([]docRef{ref}); err != nil {
		return nil, err
	}
	return b.docs[ref], nil
}

// getDoc returns the document at ref decoded as T, or nil when it does not exist or is
// degraded. The pointer stays valid for the batch: changes to it are written back after
// putDoc.
func getDoc[T any](b *batch, ref docRef) (*T, error) {
	e, err := b.entry(ref)
	if err != nil {
		return nil, err
	}
	if e.degraded {
		return nil, nil
	}
	if e.val != nil {
		return e.val.(*T), nil
	}
	if e.raw == nil {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(e.raw, v); err != nil {
		return nil, &docError{ref: ref, reason: ReasonDocumentMalformed,
			err: fmt.Errorf("view document %s %s is malformed: %w", ref.key, ref.field, err)}
	}
	e.val = v
	return v, nil
}

// putDoc stores v as the document at ref (as JSON, with SET or HSET) at commit.
func putDoc[T any](b *batch, ref docRef, v *T) error {
	return b.put(ref, v, flushJSON)
}

// put marks the document at ref changed to v, written by flush at commit; a write to a
// degraded document is dropped.
func (b *batch) put(ref docRef, v any, flush func(redis.Pipeliner, docRef, any) error) error {
	e, err := b.entry(ref)
	if err != nil {
		return err
	}
	if e.degraded {
		return nil
	}
	b.touched = append(b.touched, ref)
	e.val, e.flush = v, flush
	if v == nil {
		e.raw = nil // deleted: later reads in this batch see no document
	}
	if !e.dirty {
		e.dirty = true
		b.order = append(b.order, ref)
	}
	return nil
}

func flushJSON(pipe redis.Pipeliner, ref docRef, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode view %s: %w", ref.key, err)
	}
	ctx := context.Background()
	if ref.field == "" {
		pipe.Set(ctx, ref.key, data, 0)
	} else {
		pipe.HSet(ctx, ref.key, ref.field, data)
	}
	return nil
}

// op queues a write that needs no read (an index update).
func (b *batch) op(f func(redis.Pipeliner)) { b.ops = append(b.ops, f) }

// planChanged records that the view of plan id changed at pos.
func (b *batch) planChanged(id string, pos eventstore.Position) {
	if _, ok := b.planChanges[id]; !ok {
		b.planOrder = append(b.planOrder, id)
	}
	b.planChanges[id] = pos
}

// write queues every change of the batch on pipe: documents first, in the order they
// became dirty, then index updates in the order the views made them. A document that
// does not encode fails the write with a flushError.
func (b *batch) write(pipe redis.Pipeliner) error {
	for _, ref := range b.order {
		e := b.docs[ref]
		if err := safeFlush(e.flush, pipe, ref, e.val); err != nil {
			return &flushError{err: fmt.Errorf("%s %s: %w", ref.key, ref.field, err)}
		}
	}
	for _, f := range b.ops {
		f(pipe)
	}
	return nil
}
