package fhir

import (
	"context"
	"sync"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// Log is the part of the event store the FHIR interface reads; eventstore.Store has it.
type Log interface {
	ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from uint64, limit int) ([]eventstore.RecordedEvent, error)
	ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error)
	Head(ctx context.Context) (eventstore.Position, error)
}

// Index is the current state of every mapped aggregate, folded from the log. It
// catches up with the log at each use (the log's head, and a read of its tail when the
// head moved), so a read or search sees every event acknowledged before it began, on
// every replica, without a projector of its own or a wait.
type Index struct {
	log  Log
	mu   sync.RWMutex
	cu   sync.Mutex // one catch-up at a time
	fold *Fold
}

// NewIndex returns an index over log; it folds the log on first use.
func NewIndex(log Log) *Index { return &Index{log: log, fold: NewFold()} }

const pageSize = 4096

// View catches the index up with the log and calls fn with the fold, which fn must
// only read, and not keep after it returns.
func (x *Index) View(ctx context.Context, fn func(f *Fold) error) error {
	head, err := x.log.Head(ctx)
	if err != nil {
		return err
	}
	x.mu.RLock()
	behind := x.fold.Position < head
	x.mu.RUnlock()
	if behind {
		if err := x.catchUp(ctx, head); err != nil {
			return err
		}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	return fn(x.fold)
}

func (x *Index) catchUp(ctx context.Context, head eventstore.Position) error {
	x.cu.Lock()
	defer x.cu.Unlock()
	for {
		x.mu.RLock()
		after := x.fold.Position
		x.mu.RUnlock()
		if after >= head {
			return nil
		}
		recs, err := x.log.ReadAll(ctx, after, pageSize)
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			dec := eventstore.DecodeAll(recs)
			x.mu.Lock()
			for i, rec := range recs {
				x.fold.ApplyDecoded(rec, dec[i].Envelope, dec[i].Event, dec[i].Err)
			}
			x.mu.Unlock()
		}
		if len(recs) == 0 {
			return nil
		}
	}
}

// readStream reads a whole stream (nil, nil when it does not exist).
func readStream(ctx context.Context, log Log, stream string) ([]eventstore.RecordedEvent, error) {
	var all []eventstore.RecordedEvent
	from := uint64(0)
	for {
		recs, err := log.ReadStream(ctx, stream, eventstore.Forwards, from, 512)
		if err != nil {
			if domain.ErrorCode(err) == domain.CodeNotFound {
				return all, nil
			}
			return nil, err
		}
		all = append(all, recs...)
		if len(recs) < 512 {
			return all, nil
		}
		from = recs[len(recs)-1].Version + 1
	}
}

// Version is one version of a resource with the aggregate it came from.
type Version struct {
	Resource Resource
	Agg      Agg
}

// History returns every version of typ/id, oldest first: the resource as it stood after
// each event of its aggregate's stream, from the first that produced it.
func History(ctx context.Context, log Log, typ, id string) ([]Version, error) {
	for _, stream := range Locate(typ, id) {
		recs, err := readStream(ctx, log, stream)
		if err != nil {
			return nil, err
		}
		kind, aggID := KindOf(stream)
		agg := Agg{Kind: kind, ID: aggID, Stream: stream}
		var out []Version
		for _, rec := range recs {
			env, ev, err := eventstore.Decode(rec)
			if err != nil {
				continue // a type this build does not know changes nothing, as in the views
			}
			agg = agg.Apply(env, ev, rec.Position)
			a := agg
			if r, ok := Find(&a, typ, id); ok {
				out = append(out, Version{Resource: r, Agg: a})
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, nil
}

// Changes returns the Provenance sources of a stream's events up to and including
// revision upTo (all with upTo = eventstore.End), and the aggregate after the last.
func Changes(ctx context.Context, log Log, stream string, upTo uint64) ([]ChangeRecord, *Agg, error) {
	recs, err := readStream(ctx, log, stream)
	if err != nil {
		return nil, nil, err
	}
	kind, aggID := KindOf(stream)
	if kind == "" || kind == KindAccess {
		return nil, nil, nil
	}
	agg := Agg{Kind: kind, ID: aggID, Stream: stream}
	var cs []ChangeRecord
	for _, rec := range recs {
		if rec.Version > upTo {
			break
		}
		env, ev, err := eventstore.Decode(rec)
		if err != nil {
			continue
		}
		agg = agg.Apply(env, ev, rec.Position)
		a := agg
		cs = append(cs, ChangeRecord{Stream: stream, Version: rec.Version, Position: rec.Position, Envelope: env,
			Hash: eventstore.ChainHash(rec.Metadata, rec.Data), Targets: Targets(&a, ev), AllianceID: AllianceOf(&a)})
	}
	return cs, &agg, nil
}

// Audits returns the access-log entries of one event of an access stream.
func Audits(ctx context.Context, log Log, stream string, version uint64) ([]AuditRecord, error) {
	recs, err := log.ReadStream(ctx, stream, eventstore.Forwards, version, 1)
	if err != nil || len(recs) == 0 || recs[0].Version != version {
		if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
			return nil, err
		}
		return nil, nil
	}
	f := NewFold()
	f.ApplyRecord(recs[0])
	return f.Audits, nil
}
