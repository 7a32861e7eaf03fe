package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// AccessLogOptions tunes an AccessLog; zero values take the defaults.
type AccessLogOptions struct {
	// FlushEvery is the longest time an entry waits before it is written (default 250ms).
	FlushEvery time.Duration
	// BatchSize is the number of entries that triggers an early write (default 500).
	BatchSize int
	// MaxPending bounds the entries held while the store cannot be written (default
	// 200,000); beyond it new entries are dropped and counted, so a store outage never
	// exhausts memory or blocks reads.
	MaxPending int
	Logger     *slog.Logger
}

// AccessLog records who read what (plans, consults, dispatches) for the auditors. Record
// is cheap and never blocks a request: entries are buffered and written by Run, in
// batches, as RecordsAccessed events on the daily stream access-<yyyymmdd>, each append
// durable before the entries leave the buffer. A failed write keeps the entries and is
// retried on the next tick; Close writes what is left.
type AccessLog struct {
	store eventstore.Store
	opts  AccessLogOptions

	mu      sync.Mutex
	pending []domain.AccessEntry
	spare   []domain.AccessEntry // an emptied buffer a written batch left, for the next pending
	kick    chan struct{}

	// tails caches the last revision and hash of each daily stream this process wrote,
	// so an append neither reloads the stream nor breaks its hash chain.
	tailMu sync.Mutex
	tails  map[string]tail

	written, dropped atomic.Uint64
	done             chan struct{}
	closeOnce        sync.Once
}

type tail struct {
	version uint64
	hash    string
}

// NewAccessLog returns an access log writing to store. Start Run in a goroutine.
func NewAccessLog(store eventstore.Store, opts AccessLogOptions) *AccessLog {
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 250 * time.Millisecond
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 200_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &AccessLog{store: store, opts: opts, kick: make(chan struct{}, 1), tails: map[string]tail{}, done: make(chan struct{})}
}

// Record queues one read. It never blocks on I/O and costs an append to a buffer that
// is reused from batch to batch.
func (l *AccessLog) Record(e domain.AccessEntry) {
	if l == nil {
		return
	}
	l.mu.Lock()
	if len(l.pending) >= l.opts.MaxPending {
		l.mu.Unlock()
		l.dropped.Add(1)
		return
	}
	l.pending = append(l.pending, e)
	n := len(l.pending)
	l.mu.Unlock()
	if n == l.opts.BatchSize {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Written counts the reads made durable (each read, also when coalesced with others).
func (l *AccessLog) Written() uint64 { return l.written.Load() }

// Dropped counts entries refused because MaxPending entries were waiting.
func (l *AccessLog) Dropped() uint64 { return l.dropped.Load() }

// Run writes batches until ctx is done, then writes what is left (with a short grace
// period) and returns. It returns nil on a normal shutdown.
func (l *AccessLog) Run(ctx context.Context) error {
	defer close(l.done)
	t := time.NewTicker(l.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return l.Flush(fctx)
		case <-t.C:
		case <-l.kick:
		}
		if err := l.Flush(ctx); err != nil && ctx.Err() == nil {
			l.opts.Logger.Error("access log: write failed; entries kept for the next attempt", "err", err)
		}
	}
}

// Wait blocks until Run has returned (after its final flush).
func (l *AccessLog) Wait() { <-l.done }

// Flush writes every queued entry now, in batches of at most BatchSize per append.
func (l *AccessLog) Flush(ctx context.Context) error {
	l.mu.Lock()
	batch := l.pending
	l.pending, l.spare = l.spare, nil
	l.mu.Unlock()
	whole := batch
	for len(batch) > 0 {
		n := min(len(batch), l.opts.BatchSize)
		// One append per day: a batch spanning midnight splits at the day boundary.
		day := domain.AccessStream(batch[0].At)
		for i := 1; i < n; i++ {
			if domain.AccessStream(batch[i].At) != day {
				n = i
				break
			}
		}
		if err := l.write(ctx, day, coalesce(batch[:n])); err != nil {
			l.mu.Lock()
			l.pending = append(batch, l.pending...)
			l.mu.Unlock()
			return err
		}
		l.written.Add(uint64(n))
		batch = batch[n:]
	}
	// Every entry is durable: the buffer serves the next batch (emptied, so it holds
	// no strings alive), unless a burst made it much larger than a batch.
	if cap(whole) > 0 && cap(whole) <= 4*l.opts.BatchSize {
		clear(whole)
		l.mu.Lock()
		if l.spare == nil {
			l.spare = whole[:0]
		}
		l.mu.Unlock()
	}
	return nil
}

// coalesce merges identical reads (same actor, resource, id and outcome) of a batch into
// one entry with a count and the last read's time, keeping the first read's order: a
// client polling a plan costs the log one entry per batch, not one per request.
func coalesce(entries []domain.AccessEntry) []domain.AccessEntry {
	type key struct {
		actor                 domain.Actor
		resource, id, outcome string
	}
	index := make(map[key]int, len(entries))
	out := make([]domain.AccessEntry, 0, len(entries))
	for _, e := range entries {
		k := key{e.Actor, e.Resource, e.ID, e.Outcome}
		i, seen := index[k]
		if !seen {
			index[k] = len(out)
			out = append(out, e)
			continue
		}
		m := &out[i]
		m.Count = m.Reads() + e.Reads()
		last := e.At
		if !e.LastAt.IsZero() {
			last = e.LastAt
		}
		if last.After(m.LastAt) {
			m.LastAt = last
		}
	}
	return out
}

func (l *AccessLog) write(ctx context.Context, stream string, entries []domain.AccessEntry) error {
	ev := domain.RecordsAccessed{Entries: entries}
	typ, schema, payload, err := domain.EncodeEvent(ev)
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 5; attempt++ {
		tl, exists, err := l.tail(ctx, stream)
		if err != nil {
			return err
		}
		next, expected := uint64(0), eventstore.NoStream()
		if exists {
			next, expected = tl.version+1, eventstore.Exact(tl.version)
		}
		id := ulid.Make()
		env := domain.Envelope{EventID: id, Type: typ, SchemaVersion: schema, Stream: stream, StreamVersion: next,
			OccurredAt: time.Now().UTC(), Actor: domain.Actor{UserID: "allianced", Role: "system"}, PrevHash: tl.hash}
		md, err := json.Marshal(env)
		if err != nil {
			return fmt.Errorf("encode envelope: %w", err)
		}
		res, err := l.store.Append(ctx, stream, expected, []eventstore.EventData{{ID: id, Type: typ, Data: payload, Metadata: md}})
		var wrong *eventstore.WrongExpectedVersionError
		if errors.As(err, &wrong) {
			// Another replica wrote the day's stream: forget the cached tail and re-read it.
			l.tailMu.Lock()
			delete(l.tails, stream)
			l.tailMu.Unlock()
			continue
		}
		if err != nil {
			return err
		}
		l.tailMu.Lock()
		l.tails[stream] = tail{version: res.Version, hash: eventstore.ChainHash(md, payload)}
		l.tailMu.Unlock()
		return nil
	}
	return fmt.Errorf("access log %s: gave up after repeated conflicts", stream)
}

// tail returns the cached or stored last revision and hash of stream.
func (l *AccessLog) tail(ctx context.Context, stream string) (tail, bool, error) {
	l.tailMu.Lock()
	t, ok := l.tails[stream]
	l.tailMu.Unlock()
	if ok {
		return t, true, nil
	}
	recs, err := l.store.ReadStream(ctx, stream, eventstore.Backwards, eventstore.End, 1)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return tail{}, false, nil
	}
	if err != nil {
		return tail{}, false, err
	}
	if len(recs) == 0 {
		return tail{}, false, nil
	}
	return tail{version: recs[0].Version, hash: eventstore.ChainHash(recs[0].Metadata, recs[0].Data)}, true, nil
}

// AccessFilter selects access-log entries; empty fields match everything.
type AccessFilter struct {
	HospitalID string
	UserID     string
	Resource   string
	ID         string
	Limit      int // default 1000
}

// AccessEntries reads the access log of one UTC day, oldest first, filtered.
func (a *App) AccessEntries(ctx context.Context, day time.Time, f AccessFilter) ([]domain.AccessEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	out := []domain.AccessEntry{}
	stream := domain.AccessStream(day)
	from := uint64(0)
	for {
		recs, err := a.store.ReadStream(ctx, stream, eventstore.Forwards, from, 256)
		if domain.ErrorCode(err) == domain.CodeNotFound {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			_, ev, err := eventstore.Decode(rec)
			if err != nil {
				return nil, err
			}
			ra, ok := ev.(domain.RecordsAccessed)
			if !ok {
				continue
			}
			for _, e := range ra.Entries {
				if (f.HospitalID == "" || e.Actor.HospitalID == f.HospitalID) && (f.UserID == "" || e.Actor.UserID == f.UserID) &&
					(f.Resource == "" || e.Resource == f.Resource) && (f.ID == "" || e.ID == f.ID) {
					out = append(out, e)
					if len(out) >= f.Limit {
						return out, nil
					}
				}
			}
		}
		if len(recs) < 256 {
			return out, nil
		}
		from = recs[len(recs)-1].Version + 1
	}
}
