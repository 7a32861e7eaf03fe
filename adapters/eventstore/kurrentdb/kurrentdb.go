// Package kurrentdb implements the event-store port over KurrentDB through
// EventStore-Client-Go v4 (github.com/EventStore/EventStore-Client-Go/v4/esdb).
//
// Mapping to the port:
//   - An event's id is our 16 id bytes used as the KurrentDB event UUID; its metadata (our
//     envelope JSON) travels as the event's custom metadata; the content type is JSON.
//   - Stream versions are KurrentDB stream revisions (0-based).
//   - eventstore.Position is the KurrentDB commit position. KurrentDB (20.6 and later)
//     writes every event of an append as its own implicitly committed record, so each event
//     has commit position == prepare position, unique and increasing in $all order; a
//     position p is given back to the server as {Commit: p, Prepare: p}. Position 0 means
//     "before the first event": reading or subscribing after 0 starts at the beginning of
//     $all. A stream read that carries no commit position (older servers send the
//     maximum uint64 there) reports Position 0.
//   - ReadAll, Subscribe and Head see user events only: records whose event type or
//     stream name starts with `$` (system events, stream metadata) are skipped.
//
// The client is fragile under failure: the first call of a client blocks in node discovery
// without honouring its context, a failed discovery closes the client for good, and a
// failed call may block forever reporting the failure to a client whose connection loop
// has ended. The Store therefore runs every call in its own goroutine bounded by the
// caller's context and a per-call timeout, answers *eventstore.UnavailableError when the
// server cannot be reached in time, and replaces the client after such a failure (the old
// one is closed once its last call has returned).
package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// Options tunes a Store. The zero value is usable.
type Options struct {
	// CallTimeout bounds every call except a subscription's lifetime (default 10 s): a
	// call the server does not finish in time fails with *eventstore.UnavailableError.
	CallTimeout time.Duration
	// ResubscribeTimeout is how long Subscribe keeps resubscribing while the server is
	// unreachable before it returns *eventstore.UnavailableError (default 1 min).
	ResubscribeTimeout time.Duration
	// Logger receives the client's log lines (default: discarded).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.CallTimeout <= 0 {
		o.CallTimeout = 10 * time.Second
	}
	if o.ResubscribeTimeout <= 0 {
		o.ResubscribeTimeout = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is the event-store port over KurrentDB. It is safe for concurrent use.
type Store struct {
	conf esdb.Configuration
	opts Options

	base   context.Context // cancelled by Close; ends subscriptions
	cancel context.CancelFunc

	mu     sync.Mutex
	cur    *generation
	closed bool
}

// generation is one esdb client and the calls running on it.
type generation struct {
	client   *esdb.Client
	inflight sync.WaitGroup
}

var _ eventstore.Store = (*Store)(nil)

// systemFilter is KurrentDB's own "exclude system events" filter: event types not
// starting with `$`.
const systemFilter = `^[^\$].*`

// Open parses url (esdb://host:port?tls=false, or any KurrentDB connection string),
// checks that the server answers within ctx and opts.CallTimeout, and returns the Store.
// An unreachable server is reported as *eventstore.UnavailableError.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, domain.Errorf(domain.CodeInvalidInput, "kurrentdb: invalid connection string: %v", err)
	}
	opts = opts.withDefaults()
	logger := opts.Logger
	conf.Logger = func(level esdb.LogLevel, format string, args ...any) {
		lvl := slog.LevelDebug
		switch level {
		case esdb.LogInfo:
			lvl = slog.LevelInfo
		case esdb.LogWarn:
			lvl = slog.LevelWarn
		case esdb.LogError:
			lvl = slog.LevelError
		}
		if logger.Enabled(context.Background(), lvl) {
			logger.Log(context.Background(), lvl, "kurrentdb client: "+fmt.Sprintf(format, args...))
		}
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Store{conf: *conf, opts: opts, base: base, cancel: cancel}
	if _, err := s.Head(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close ends subscriptions and releases the client once its calls have returned.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	gen := s.cur
	s.cur = nil
	s.mu.Unlock()
	s.cancel()
	if gen != nil {
		retireWhenIdle(gen)
	}
	return nil
}

var errClosed = domain.Errorf(domain.CodeUnavailable, "kurrentdb: store is closed")

// acquire returns the current client, building one if needed, and counts a call on it.
func (s *Store) acquire() (*generation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if s.cur == nil {
		conf := s.conf
		c, err := esdb.NewClient(&conf)
		if err != nil {
			return nil, domain.Errorf(domain.CodeInvalidInput, "kurrentdb: %v", err)
		}
		s.cur = &generation{client: c}
	}
	s.cur.inflight.Add(1)
	return s.cur, nil
}

// retire replaces gen by a fresh client for the next call, after a failure that may have
// left gen's connection loop closed or stuck.
func (s *Store) retire(gen *generation) {
	s.mu.Lock()
	current := s.cur == gen
	if current {
		s.cur = nil
	}
	s.mu.Unlock()
	if current {
		retireWhenIdle(gen)
	}
}

// retireWhenIdle closes gen's client after its last call returned: closing it earlier
// could make a call still talking to it panic on a closed channel inside the client.
func retireWhenIdle(gen *generation) {
	go func() {
		gen.inflight.Wait()
		_ = gen.client.Close()
	}()
}

type result[T any] struct {
	v   T
	err error
}

// call runs op on the current client in its own goroutine, bounded by ctx and the call
// timeout, and translates failures to reach the server into *eventstore.UnavailableError.
func call[T any](s *Store, ctx context.Context, what string, op func(ctx context.Context, c *esdb.Client) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	gen, err := s.acquire()
	if err != nil {
		return zero, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	done := make(chan result[T], 1)
	go func() {
		defer gen.inflight.Done()
		// The client panics on a read reply it does not know ("unreachable code"); turn
		// that into an error rather than a crash of the service.
		defer func() {
			if p := recover(); p != nil {
				done <- result[T]{err: domain.Errorf(domain.CodeInternal, "kurrentdb: %s: client panicked: %v", what, p)}
			}
		}()
		v, err := op(cctx, gen.client)
		done <- result[T]{v, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			return r.v, nil
		}
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		if unavailable(r.err) {
			s.retire(gen)
			return zero, &eventstore.UnavailableError{Err: fmt.Errorf("kurrentdb: %s: %w", what, r.err)}
		}
		return zero, r.err
	case <-cctx.Done():
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		s.retire(gen)
		return zero, &eventstore.UnavailableError{Err: fmt.Errorf("kurrentdb: %s: no answer within %s: %w", what, s.opts.CallTimeout, cctx.Err())}
	}
}

// unavailable reports whether err says the server could not be reached or did not answer,
// as opposed to an answer the server gave.
func unavailable(err error) bool {
	var es *esdb.Error
	if errors.As(err, &es) {
		switch es.Code() {
		case esdb.ErrorCodeConnectionClosed, esdb.ErrorUnavailable, esdb.ErrorCodeDeadlineExceeded,
			esdb.ErrorCodeNotLeader, esdb.ErrorAborted:
			return true
		}
	}
	// io.EOF outside a read's Recv means the call's stream was cut: gRPC reports a broken
	// connection to a sender that way, and the client wraps it as an unknown error.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if st, ok := status.FromError(e); ok {
			switch st.Code() {
			case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
				return true
			}
		}
	}
	return false
}

func errorCode(err error) (esdb.ErrorCode, bool) {
	var es *esdb.Error
	if errors.As(err, &es) {
		return es.Code(), true
	}
	return 0, false
}

func isSystem(ev *esdb.RecordedEvent) bool {
	return strings.HasPrefix(ev.EventType, "$") || strings.HasPrefix(ev.StreamID, "$")
}

func toRecorded(ev *esdb.RecordedEvent) eventstore.RecordedEvent {
	pos := ev.Position.Commit
	if pos == math.MaxUint64 {
		pos = 0
	}
	return eventstore.RecordedEvent{
		ID:       [16]byte(ev.EventID),
		Stream:   ev.StreamID,
		Version:  ev.EventNumber,
		Position: eventstore.Position(pos),
		Type:     ev.EventType,
		Data:     ev.Data,
		Metadata: ev.UserMetadata,
	}
}

func toExpected(e eventstore.ExpectedVersion) esdb.ExpectedRevision {
	switch {
	case e.IsNoStream():
		return esdb.NoStream{}
	case e.IsStreamExists():
		return esdb.StreamExists{}
	}
	if r, ok := e.Revision(); ok {
		return esdb.Revision(r)
	}
	return esdb.Any{}
}

// allFrom returns the $all start for "after pos": Start for 0, else the position itself.
func allFrom(pos eventstore.Position) esdb.AllPosition {
	if pos == 0 {
		return esdb.Start{}
	}
	return esdb.Position{Commit: uint64(pos), Prepare: uint64(pos)}
}

// Append writes events to stream if expected holds. A failed condition returns a
// *eventstore.WrongExpectedVersionError with the stream's actual last revision, read
// from the stream since the client's error does not carry it.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if stream == "" {
		return eventstore.AppendResult{}, domain.Errorf(domain.CodeInvalidInput, "kurrentdb: stream name is empty")
	}
	if len(events) == 0 {
		return s.emptyAppend(ctx, stream, expected)
	}
	data := make([]esdb.EventData, len(events))
	for i, e := range events {
		if e.Type == "" {
			return eventstore.AppendResult{}, domain.Errorf(domain.CodeInvalidInput, "kurrentdb: event %d has no type", i)
		}
		data[i] = esdb.EventData{
			EventID:     uuid.UUID(e.ID),
			EventType:   e.Type,
			ContentType: esdb.ContentTypeJson,
			Data:        e.Data,
			Metadata:    e.Metadata,
		}
	}
	res, err := call(s, ctx, "append", func(ctx context.Context, c *esdb.Client) (*esdb.WriteResult, error) {
		return c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: toExpected(expected)}, data...)
	})
	if err != nil {
		if code, ok := errorCode(err); ok && code == esdb.ErrorCodeWrongExpectedVersion {
			return eventstore.AppendResult{}, s.wrongVersion(ctx, stream, expected)
		}
		return eventstore.AppendResult{}, wrap("append", err)
	}
	return eventstore.AppendResult{Version: res.NextExpectedVersion, Position: eventstore.Position(res.CommitPosition)}, nil
}

// emptyAppend checks the condition of an append without events and reports the
// stream's current state, without writing.
func (s *Store) emptyAppend(ctx context.Context, stream string, expected eventstore.ExpectedVersion) (eventstore.AppendResult, error) {
	last, exists, err := s.last(ctx, stream)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if !expected.Satisfied(last.Version, exists) {
		return eventstore.AppendResult{}, &eventstore.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: last.Version, Exists: exists}
	}
	return eventstore.AppendResult{Version: last.Version, Position: last.Position}, nil
}

func (s *Store) wrongVersion(ctx context.Context, stream string, expected eventstore.ExpectedVersion) error {
	last, exists, err := s.last(ctx, stream)
	if err != nil {
		return fmt.Errorf("kurrentdb: append to %s: wrong expected version %s; reading the actual one: %w", stream, expected, err)
	}
	return &eventstore.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: last.Version, Exists: exists}
}

// last returns the stream's last event and whether the stream has one.
func (s *Store) last(ctx context.Context, stream string) (eventstore.RecordedEvent, bool, error) {
	evs, err := s.ReadStream(ctx, stream, eventstore.Backwards, eventstore.End, 1)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return eventstore.RecordedEvent{}, false, nil
	}
	if err != nil {
		return eventstore.RecordedEvent{}, false, err
	}
	if len(evs) == 0 {
		return eventstore.RecordedEvent{}, false, nil
	}
	return evs[0], true, nil
}

func wrap(what string, err error) error {
	var ue *eventstore.UnavailableError
	if errors.As(err, &ue) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if domain.ErrorCode(err) != domain.CodeInternal {
		return err
	}
	return fmt.Errorf("kurrentdb: %s: %w", what, err)
}

// notFound is the port's error for a stream with no readable event.
func notFound(stream string, cause error) error {
	return fmt.Errorf("kurrentdb: stream %s: %w (%v)", stream, eventstore.ErrStreamNotFound, cause)
}

// ReadStream returns up to limit events of stream from revision from in direction dir.
// A missing, deleted or tombstoned stream returns an error wrapping
// eventstore.ErrStreamNotFound (code not_found).
func (s *Store) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	opts := esdb.ReadStreamOptions{Direction: esdb.Forwards}
	if dir == eventstore.Backwards {
		opts.Direction = esdb.Backwards
	}
	if from == eventstore.End {
		opts.From = esdb.End{}
	} else {
		opts.From = esdb.Revision(from)
	}
	evs, err := call(s, ctx, "read stream", func(ctx context.Context, c *esdb.Client) ([]eventstore.RecordedEvent, error) {
		rs, err := c.ReadStream(ctx, stream, opts, uint64(limit))
		if err != nil {
			return nil, err
		}
		defer rs.Close()
		var out []eventstore.RecordedEvent
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			if ev.Event != nil {
				out = append(out, toRecorded(ev.Event))
			}
		}
	})
	if err != nil {
		if code, ok := errorCode(err); ok && (code == esdb.ErrorCodeResourceNotFound || code == esdb.ErrorCodeStreamDeleted) {
			return nil, notFound(stream, err)
		}
		return nil, wrap("read stream "+stream, err)
	}
	return evs, nil
}

// pageSize is how many $all records a read asks for at a time.
const pageSize = 256

// ReadAll returns up to limit user events with a position greater than after. KurrentDB
// reads forwards from a position inclusively, so the event at after is skipped here.
// after must be 0 or the position of an event: KurrentDB cannot start a read in the
// middle of a record.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	evs, err := call(s, ctx, "read $all", func(ctx context.Context, c *esdb.Client) ([]eventstore.RecordedEvent, error) {
		var out []eventstore.RecordedEvent
		from := after
		for {
			count := min(pageSize, limit-len(out)+1)
			rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: allFrom(from)}, uint64(count))
			if err != nil {
				return nil, err
			}
			got, advanced := 0, false
			for {
				ev, err := rs.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					rs.Close()
					return nil, err
				}
				got++
				if ev.Event == nil {
					continue
				}
				pos := eventstore.Position(ev.Event.Position.Commit)
				if pos <= from {
					continue
				}
				from, advanced = pos, true
				if !isSystem(ev.Event) && len(out) < limit {
					out = append(out, toRecorded(ev.Event))
				}
			}
			rs.Close()
			if len(out) >= limit || got < count || !advanced {
				return out, nil
			}
		}
	})
	if err != nil {
		return nil, wrap("read $all", err)
	}
	return evs, nil
}

// Head returns the position of the last user event in $all (0 if there is none), read
// backwards from the end past any system events (a real node writes $stats records
// every few seconds, so there may be pages of them).
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	pos, err := call(s, ctx, "read head", func(ctx context.Context, c *esdb.Client) (eventstore.Position, error) {
		var from esdb.AllPosition = esdb.End{}
		for {
			rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, pageSize)
			if err != nil {
				return 0, err
			}
			got := 0
			var lastSeen *esdb.RecordedEvent
			for {
				ev, err := rs.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					rs.Close()
					return 0, err
				}
				got++
				if ev.Event == nil {
					continue
				}
				if !isSystem(ev.Event) {
					rs.Close()
					return eventstore.Position(ev.Event.Position.Commit), nil
				}
				lastSeen = ev.Event
			}
			rs.Close()
			if got < pageSize || lastSeen == nil {
				return 0, nil
			}
			from = lastSeen.Position
		}
	})
	if err != nil {
		return 0, wrap("read head", err)
	}
	return pos, nil
}
