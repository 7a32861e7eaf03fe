// Package storetest is the one contract test suite of the event-store port. Every
// implementation of eventstore.Store runs it from its own tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) eventstore.Store { return mustOpen(t) })
//	}
//
// The suite writes only to streams under a prefix unique to the run and looks only at its
// own events in the global log, so it also works against a shared, non-empty server (a
// real KurrentDB named by KURRENTDB_URL). It never assumes positions are consecutive.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// EventType is the type name of the events the suite appends directly (not through the
// command path); stores must keep it and the payload bytes verbatim.
const EventType = "StoretestEvent"

// testTimeout bounds every subtest, so a store that hangs fails instead of stalling CI.
const testTimeout = 60 * time.Second

// Run runs the contract suite. open returns a store for one subtest: a fresh one, or a
// shared one (the suite does not close a store it did not get fresh; open should register
// t.Cleanup to close what it opens).
func Run(t *testing.T, open func(t *testing.T) eventstore.Store) {
	s := &suite{open: open, prefix: "storetest" + strings.ToLower(ulid.Make().String()) + "-"}
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"ExpectedVersion", s.testExpectedVersion},
		{"ExpectedVersionOneWinner", s.testOneWinner},
		{"AtomicMultiEventAppend", s.testAtomicAppend},
		{"ReadStream", s.testReadStream},
		{"ReadStreamMissing", s.testReadStreamMissing},
		{"ReadAll", s.testReadAll},
		{"GlobalOrderUnderConcurrentAppends", s.testConcurrentOrder},
		{"ConcurrentAnyAppendsToOneStream", s.testConcurrentAny},
		{"SubscribeCatchUpThenLive", s.testSubscribeCatchUpLive},
		{"SubscribeFromMiddle", s.testSubscribeFromMiddle},
		{"SubscribeSlowSubscriber", s.testSubscribeSlow},
		{"SubscribeHandlerError", s.testSubscribeHandlerError},
		{"Cancellation", s.testCancellation},
		{"Head", s.testHead},
		{"CommandIdempotentRetry", s.testCommandIdempotent},
		{"CommandIdempotencyKeyBoundToRequest", s.testCommandKeyBound},
		{"CommandConcurrentOnOneStream", s.testCommandConcurrent},
		{"CommandIfMatch", s.testCommandIfMatch},
		{"CommandHashChain", s.testCommandHashChain},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

type suite struct {
	open   func(t *testing.T) eventstore.Store
	prefix string
}

// stream returns a stream name unique to this run, subtest and name.
func (s *suite) stream(t *testing.T, name string) string {
	return s.streamPrefix(t) + name
}

// streamPrefix is the prefix of every stream of one subtest, used to pick the subtest's
// own events out of the global log.
func (s *suite) streamPrefix(t *testing.T) string {
	sub := t.Name()
	if i := strings.LastIndexByte(sub, '/'); i >= 0 {
		sub = sub[i+1:]
	}
	return s.prefix + strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(sub)) + "-"
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// payload is the JSON data of a suite event; N numbers events within a test.
type payload struct {
	Stream string `json:"stream"`
	N      int    `json:"n"`
}

// newEvent returns an event with a fresh ULID id and JSON data and metadata naming it.
func newEvent(stream string, n int) eventstore.EventData {
	id := ulid.Make()
	data, _ := json.Marshal(payload{Stream: stream, N: n})
	md, _ := json.Marshal(map[string]string{"eventId": id.String(), "suite": "storetest"})
	return eventstore.EventData{ID: id, Type: EventType, Data: data, Metadata: md}
}

func newEvents(stream string, first, n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = newEvent(stream, first+i)
	}
	return out
}

// mustAppend appends events and fails the test on an error.
func mustAppend(t *testing.T, ctx context.Context, st eventstore.Store, stream string, exp eventstore.ExpectedVersion, evs []eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := st.Append(ctx, stream, exp, evs)
	if err != nil {
		t.Fatalf("append %d events to %s (expected %s): %v", len(evs), stream, exp, err)
	}
	return res
}

// mustHead returns the store's head position.
func mustHead(t *testing.T, ctx context.Context, st eventstore.Store) eventstore.Position {
	t.Helper()
	h, err := st.Head(ctx)
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

// readStreamAll reads a whole stream forwards, page by page.
func readStreamAll(t *testing.T, ctx context.Context, st eventstore.Store, stream string) []eventstore.RecordedEvent {
	t.Helper()
	var out []eventstore.RecordedEvent
	from := uint64(0)
	for {
		recs, err := st.ReadStream(ctx, stream, eventstore.Forwards, from, 100)
		if err != nil {
			if domain.ErrorCode(err) == domain.CodeNotFound && len(out) == 0 {
				return nil
			}
			t.Fatalf("read %s from %d: %v", stream, from, err)
		}
		out = append(out, recs...)
		if len(recs) < 100 {
			return out
		}
		from = recs[len(recs)-1].Version + 1
	}
}

// readLog reads the global log after `after` up to and including position until, checks
// that positions strictly increase, and returns the events whose stream has prefix.
func readLog(t *testing.T, ctx context.Context, st eventstore.Store, after, until eventstore.Position, prefix string) []eventstore.RecordedEvent {
	t.Helper()
	var own []eventstore.RecordedEvent
	last := after
	for last < until {
		recs, err := st.ReadAll(ctx, last, 500)
		if err != nil {
			t.Fatalf("read all after %d: %v", last, err)
		}
		if len(recs) == 0 {
			t.Fatalf("read all after %d returned nothing, but events up to %d were acknowledged", last, until)
		}
		if len(recs) > 500 {
			t.Fatalf("read all with limit 500 returned %d events", len(recs))
		}
		for _, r := range recs {
			if r.Position <= last {
				t.Fatalf("global log goes back: position %d after %d", r.Position, last)
			}
			last = r.Position
			if r.Position > until {
				break
			}
			if strings.HasPrefix(r.Stream, prefix) {
				own = append(own, r)
			}
		}
	}
	return own
}

// sameEvent checks that a recorded event carries exactly what was appended.
func sameEvent(t *testing.T, got eventstore.RecordedEvent, want eventstore.EventData, stream string, version uint64) {
	t.Helper()
	if got.ID != want.ID || got.Type != want.Type || string(got.Data) != string(want.Data) ||
		string(got.Metadata) != string(want.Metadata) || got.Stream != stream || got.Version != version {
		t.Fatalf("recorded event differs from the appended one:\n got  id=%x type=%q stream=%s v=%d data=%s md=%s\n want id=%x type=%q stream=%s v=%d data=%s md=%s",
			got.ID, got.Type, got.Stream, got.Version, got.Data, got.Metadata,
			want.ID, want.Type, stream, version, want.Data, want.Metadata)
	}
	if got.Position == 0 {
		t.Fatalf("event %s@%d has position 0; stored events have positions > 0", stream, version)
	}
}

// wantConflict checks err is a wrong-expected-version error with the given actual state.
func wantConflict(t *testing.T, err error, stream string, actual uint64, exists bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a wrong-expected-version conflict")
	}
	var wrong *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wrong) {
		t.Fatalf("got %T %v, want a *eventstore.WrongExpectedVersionError", err, err)
	}
	if code := domain.ErrorCode(err); code != domain.CodeConflict {
		t.Fatalf("got code %q, want %q", code, domain.CodeConflict)
	}
	if wrong.Stream != stream {
		t.Fatalf("conflict names stream %q, want %q", wrong.Stream, stream)
	}
	if wrong.Exists != exists || (exists && wrong.Actual != actual) {
		t.Fatalf("conflict says actual=%d exists=%v, want actual=%d exists=%v", wrong.Actual, wrong.Exists, actual, exists)
	}
}

func fmtVersions(recs []eventstore.RecordedEvent) string {
	var b strings.Builder
	for i, r := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", r.Version)
	}
	return "[" + b.String() + "]"
}

// codeOf returns the domain error code of err as a string.
func codeOf(err error) string { return string(domain.ErrorCode(err)) }

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}
