package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/redis/go-redis/v9"
)

// Degraded documents.
//
// Applying an event to a view can fail: a value the view cannot encode (a date past
// year 9999 that a bad command let through), a stored document that no longer decodes,
// a bug in a view. Stopping the projector for that would freeze every view of every
// tenant, so the one event is not applied and the documents it was changing are marked
// degraded instead, in the same MULTI/EXEC that advances the checkpoint past it:
//
//   - a degraded document keeps the state it had before the event; later events leave
//     it alone (to the views it reads as absent and writes to it are dropped), so it
//     never shows a state that misses an event;
//   - <prefix>:<gen>:degraded (hash: document name -> Degradation) lists them, and
//     <prefix>:<gen>:degraded-keys (hash: key -> count) lets a read of a whole key (a
//     roster, a calendar) find them in one command; a plan's own hash also carries a
//     "degraded" field, so the one-round-trip plan read sees it;
//   - queries that read a degraded document fail with CodeViewDegraded (503);
//   - a rebuild builds a new generation: once the cause is fixed (a newer build, a
//     corrupt document gone), the document is whole again.
//
// Which event fails, and which documents it degrades, depends only on the log, never on
// how events were batched: an event is tried against the state all earlier events left,
// so the views stay identical to a clean rebuild's.

// Reasons a document was degraded: stable codes, stored with it and shown to clients.
const (
	ReasonEncodeFailed      = "encode_failed"      // a value of the document cannot be encoded (e.g. a date past year 9999)
	ReasonDocumentMalformed = "document_malformed" // the stored document does not decode
	ReasonApplyFailed       = "apply_failed"       // the view refused the event
	ReasonApplyPanicked     = "apply_panicked"     // the view's code panicked on the event
)

// Degradation is what the views record of a degraded document.
type Degradation struct {
	// Document names the document: its key inside the generation, and "#field" for a
	// document that is one field of a hash.
	Document  string              `json:"document"`
	Position  eventstore.Position `json:"position"`
	EventType string              `json:"eventType"`
	Reason    string              `json:"reason"`
	Error     string              `json:"error"`
}

// docName is the name of ref in the degraded hash.
func docName(ks keyspace, ref docRef) string {
	name := strings.TrimPrefix(ref.key, ks.root())
	if ref.field != "" {
		name += "#" + ref.field
	}
	return name
}

// planOf returns the plan id of a plan document's ref.
func planOf(ks keyspace, ref docRef) (string, bool) {
	rel := strings.TrimPrefix(ref.key, ks.root())
	id, ok := strings.CutPrefix(rel, "plan:")
	return id, ok && ref.field == "json"
}

// eventFailure is an event the views could not apply, with the documents it degrades.
type eventFailure struct {
	pos    eventstore.Position
	typ    string
	refs   []docRef
	reason string
	err    error
}

func (f *eventFailure) Error() string {
	return fmt.Sprintf("apply %s at position %d: %s: %v", f.typ, f.pos, f.reason, f.err)
}

func (f *eventFailure) Unwrap() error { return f.err }

// docError is a failure of one document: it does not decode, or does not encode.
type docError struct {
	ref    docRef
	reason string
	err    error
}

func (e *docError) Error() string { return e.err.Error() }
func (e *docError) Unwrap() error { return e.err }

// panicError is a panic of a view, recovered.
type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// flushError is a document that did not encode at commit, when it is not yet known
// which event made it so.
type flushError struct{ err error }

func (e *flushError) Error() string { return "encode views: " + e.err.Error() }
func (e *flushError) Unwrap() error { return e.err }

// infrastructure reports whether err is a failure of Redis or of the run (to retry),
// rather than of the event.
func infrastructure(err error) bool {
	var re *RedisError
	return errors.As(err, &re) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, redis.TxFailedErr) || errors.Is(err, errGenerationChanged) || errors.Is(err, errRewound) ||
		errors.Is(err, errViewsLost)
}

// applyOne applies e, turning a panic of the view into an error.
func applyOne(b *batch, e event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r}
		}
	}()
	return applyEvent(b, e)
}

// failureOf describes err, returned while applying e, as the event's failure; nil when
// err is a failure of the infrastructure. The documents degraded are the one that
// failed (when known) and every document the event had changed: none of its changes
// is applied. An event that failed before touching any document degrades its primary
// document (the first that needs names).
func failureOf(b *batch, e event, err error) *eventFailure {
	if infrastructure(err) {
		return nil
	}
	f := &eventFailure{pos: e.pos, typ: e.ev.EventType(), reason: ReasonApplyFailed, err: err}
	var de *docError
	var pe *panicError
	switch {
	case errors.As(err, &de):
		f.reason = de.reason
		f.refs = append(f.refs, de.ref)
	case errors.As(err, &pe):
		f.reason = ReasonApplyPanicked
	}
	for _, r := range b.touched {
		if !slices.Contains(f.refs, r) {
			f.refs = append(f.refs, r)
		}
	}
	if len(f.refs) == 0 {
		if n := needs(b.ks, e); len(n) > 0 {
			f.refs = n[:1]
		}
	}
	return f
}

// degrade records f in the batch: its documents are marked degraded (in memory at once,
// in Redis at commit, after the documents' own writes).
func (b *batch) degrade(f *eventFailure) error {
	for _, ref := range f.refs {
		e, err := b.entry(ref)
		if err != nil {
			return err
		}
		if e.degraded {
			continue
		}
		e.degraded = true
		rec := Degradation{Document: docName(b.ks, ref), Position: f.pos, EventType: f.typ, Reason: f.reason, Error: f.err.Error()}
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(ref.key, b.ks.root())
		planID, isPlan := planOf(b.ks, ref)
		b.op(func(pipe redis.Pipeliner) {
			ctx := context.Background()
			pipe.HSet(ctx, b.ks.degraded(), rec.Document, data)
			pipe.HIncrBy(ctx, b.ks.degradedKeys(), rel, 1)
			if isPlan {
				pipe.HSet(ctx, ref.key, "degraded", data, "position", uint64(f.pos))
			}
		})
		if isPlan {
			b.planChanged(planID, f.pos)
		}
	}
	b.failures = append(b.failures, f)
	return nil
}

// check encodes every document the current event changed, as the commit will: in
// careful mode a document that cannot be encoded is blamed on the event that made it so.
func (b *batch) check(pipe redis.Pipeliner) (err error) {
	for _, ref := range b.touched {
		e := b.docs[ref]
		if e == nil || e.val == nil || e.flush == nil {
			continue
		}
		if err := safeFlush(e.flush, pipe, ref, e.val); err != nil {
			return &docError{ref: ref, reason: ReasonEncodeFailed, err: err}
		}
	}
	return nil
}

// safeFlush runs flush, turning a panic into an error.
func safeFlush(flush func(redis.Pipeliner, docRef, any) error, pipe redis.Pipeliner, ref docRef, val any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r}
		}
	}()
	return flush(pipe, ref, val)
}

// degradedError is the error of a read that needs a degraded document.
func degradedError(raw string) error {
	var d Degradation
	_ = json.Unmarshal([]byte(raw), &d)
	return domainDegraded(d)
}

// readDegraded queues the checks of a read: exact documents, and whole keys (any
// degraded document in them). It returns the function that fails with
// CodeViewDegraded when one is degraded.
func readDegraded(pipe redis.Pipeliner, ks keyspace, docs []docRef, keys []string) func() error {
	ctx := context.Background()
	var docCmd, keyCmd *redis.SliceCmd
	if len(docs) > 0 {
		names := make([]string, len(docs))
		for i, r := range docs {
			names[i] = docName(ks, r)
		}
		docCmd = pipe.HMGet(ctx, ks.degraded(), names...)
	}
	if len(keys) > 0 {
		rels := make([]string, len(keys))
		for i, k := range keys {
			rels[i] = strings.TrimPrefix(k, ks.root())
		}
		keyCmd = pipe.HMGet(ctx, ks.degradedKeys(), rels...)
	}
	return func() error {
		if docCmd != nil {
			for _, v := range docCmd.Val() {
				if s, ok := v.(string); ok {
					return degradedError(s)
				}
			}
		}
		if keyCmd != nil {
			for _, v := range keyCmd.Val() {
				if s, ok := v.(string); ok && s != "0" {
					return domainDegraded(Degradation{})
				}
			}
		}
		return nil
	}
}

// Degraded lists up to limit degraded documents of the current generation (in no
// particular order) and how many there are.
func (p *Projector) Degraded(ctx context.Context, limit int) ([]Degradation, uint64, error) {
	return listDegraded(ctx, p.rdb, p.opt.Prefix, limit)
}

func listDegraded(ctx context.Context, rdb redis.UniversalClient, prefix string, limit int) ([]Degradation, uint64, error) {
	gen, err := rdb.Get(ctx, currentKey(prefix)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, unavailable(err)
	}
	key := keyspace{prefix: prefix, gen: gen}.degraded()
	n, err := rdb.HLen(ctx, key).Result()
	if err != nil {
		return nil, 0, unavailable(err)
	}
	var out []Degradation
	if n > 0 && limit > 0 {
		vals, _, err := rdb.HScan(ctx, key, 0, "", int64(limit)).Result()
		if err != nil {
			return nil, 0, unavailable(err)
		}
		for i := 1; i < len(vals) && len(out) < limit; i += 2 {
			var d Degradation
			if json.Unmarshal([]byte(vals[i]), &d) == nil {
				out = append(out, d)
			}
		}
	}
	return out, uint64(n), nil
}
