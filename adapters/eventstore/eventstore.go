// Package eventstore declares the event-store port the service writes and reads through,
// and the command path that uses it (load, fold, decide, append with the expected
// version, retry on conflict). Implementations live in sub-packages: embedded (the
// single-node default, on Pebble) and kurrentdb (EventStore-Client-Go v4). Both pass the
// one contract suite in storetest.
//
// Stream versions are 0-based revisions, as in KurrentDB: the first event of a stream
// has version 0. Global positions are strictly increasing across the whole log; 0 means
// "before the first event", so reading or subscribing after 0 starts at the beginning.
package eventstore

import (
	"context"
	"fmt"

	"github.com/medalliance/allianced/domain"
)

// Position is a place in the global log. Every stored event has a position greater
// than 0, and a later event always has a greater position.
type Position uint64

// ExpectedVersion is the optimistic-concurrency condition of an append.
type ExpectedVersion struct {
	kind     expectKind
	revision uint64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

// Any appends whatever the stream's state.
func Any() ExpectedVersion { return ExpectedVersion{kind: expectAny} }

// NoStream appends only if the stream has no events.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: expectNoStream} }

// StreamExists appends only if the stream has at least one event.
func StreamExists() ExpectedVersion { return ExpectedVersion{kind: expectStreamExists} }

// Exact appends only if the stream's last event has this revision.
func Exact(revision uint64) ExpectedVersion {
	return ExpectedVersion{kind: expectExact, revision: revision}
}

// IsAny, IsNoStream, IsStreamExists and Revision let implementations inspect the condition.
func (e ExpectedVersion) IsAny() bool          { return e.kind == expectAny }
func (e ExpectedVersion) IsNoStream() bool     { return e.kind == expectNoStream }
func (e ExpectedVersion) IsStreamExists() bool { return e.kind == expectStreamExists }

// Revision returns the exact revision expected and true, or 0 and false for the other kinds.
func (e ExpectedVersion) Revision() (uint64, bool) { return e.revision, e.kind == expectExact }

// Satisfied reports whether a stream whose last revision is current (exists=false for an
// empty stream) meets the condition; implementations that check it themselves share it.
func (e ExpectedVersion) Satisfied(current uint64, exists bool) bool {
	switch e.kind {
	case expectNoStream:
		return !exists
	case expectStreamExists:
		return exists
	case expectExact:
		return exists && current == e.revision
	}
	return true
}

// String renders the condition for messages.
func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectStreamExists:
		return "stream exists"
	case expectExact:
		return fmt.Sprintf("revision %d", e.revision)
	}
	return "any"
}

// EventData is an event to append: its id (a ULID's 16 bytes, which is also the
// KurrentDB event UUID), type name, JSON payload and JSON metadata (the envelope).
type EventData struct {
	ID       [16]byte
	Type     string
	Data     []byte
	Metadata []byte
}

// RecordedEvent is an event as stored, with its place in its stream and in the log.
type RecordedEvent struct {
	ID       [16]byte
	Stream   string
	Version  uint64 // 0-based revision in its stream
	Position Position
	Type     string
	Data     []byte
	Metadata []byte
}

// AppendResult is where an append put its events: the revision and the global position
// of the last event written.
type AppendResult struct {
	Version  uint64
	Position Position
}

// Direction is the order of a stream read.
type Direction uint8

// Forwards reads from older to newer events; Backwards from newer to older.
const (
	Forwards Direction = iota
	Backwards
)

// End, used as the from-revision of a backwards read, starts at the stream's last event.
const End = ^uint64(0)

// SubscriptionMessage is one delivery of a subscription: an event, or the signal that
// the subscription has delivered everything that was in the log when it caught up.
type SubscriptionMessage struct {
	Event    *RecordedEvent
	CaughtUp bool
}

// Store is the event-store port. Implementations are safe for concurrent use.
type Store interface {
	// Append writes events to the end of stream if expected holds, atomically (all or
	// none), and returns only once they are durable. A failed condition returns a
	// *WrongExpectedVersionError.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events []EventData) (AppendResult, error)

	// ReadStream returns up to limit events of stream starting at revision from, in
	// direction dir (from = End with Backwards starts at the last event). A stream with
	// no events returns an error with code not_found.
	ReadStream(ctx context.Context, stream string, dir Direction, from uint64, limit int) ([]RecordedEvent, error)

	// ReadAll returns up to limit events of the global log with a position greater than
	// after, in order.
	ReadAll(ctx context.Context, after Position, limit int) ([]RecordedEvent, error)

	// Subscribe delivers, in order and exactly once, every event with a position greater
	// than after: first those already stored, then one CaughtUp message, then live events
	// as they are appended. It blocks until ctx is done (returning ctx.Err()), h returns
	// an error (returned as is), or the store fails.
	Subscribe(ctx context.Context, after Position, h func(SubscriptionMessage) error) error

	// Head returns the position of the last event in the log (0 for an empty log).
	Head(ctx context.Context) (Position, error)

	// Close releases the store's resources.
	Close() error
}

// WrongExpectedVersionError says an append's expected version did not hold, and what
// the stream's actual state was. It maps to the domain's conflict code.
type WrongExpectedVersionError struct {
	Stream   string
	Expected ExpectedVersion
	Actual   uint64 // last revision, meaningful when Exists
	Exists   bool
}

// Error implements error.
func (e *WrongExpectedVersionError) Error() string {
	actual := "no stream"
	if e.Exists {
		actual = fmt.Sprintf("revision %d", e.Actual)
	}
	return fmt.Sprintf("stream %s: expected %s, found %s", e.Stream, e.Expected, actual)
}

// ErrorCode maps the error to the domain's conflict code.
func (e *WrongExpectedVersionError) ErrorCode() domain.Code { return domain.CodeConflict }

// ErrStreamNotFound is returned (wrapped) by ReadStream for a stream with no events.
var ErrStreamNotFound = domain.Errorf(domain.CodeNotFound, "stream not found")

// UnavailableError wraps a failure to reach the store (a connection refused, a deadline
// exceeded talking to KurrentDB) so the service can answer 503.
type UnavailableError struct{ Err error }

// Error implements error.
func (e *UnavailableError) Error() string { return "event store unavailable: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// ErrorCode maps the error to the domain's unavailable code.
func (e *UnavailableError) ErrorCode() domain.Code { return domain.CodeUnavailable }
