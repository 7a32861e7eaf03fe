package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
)

// testExpectedVersion checks every expected-version kind against a missing stream and a
// stream with two events (last revision 1).
func (s *suite) testExpectedVersion(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	cases := []struct {
		name        string
		existing    int // events in the stream before the append
		expected    eventstore.ExpectedVersion
		wantOK      bool
		wantVersion uint64 // last revision after a successful append of 2 events
	}{
		{"any on missing", 0, eventstore.Any(), true, 1},
		{"any on existing", 2, eventstore.Any(), true, 3},
		{"no stream on missing", 0, eventstore.NoStream(), true, 1},
		{"no stream on existing", 2, eventstore.NoStream(), false, 0},
		{"stream exists on missing", 0, eventstore.StreamExists(), false, 0},
		{"stream exists on existing", 2, eventstore.StreamExists(), true, 3},
		{"exact on missing", 0, eventstore.Exact(0), false, 0},
		{"exact current", 2, eventstore.Exact(1), true, 3},
		{"exact stale", 2, eventstore.Exact(0), false, 0},
		{"exact ahead", 2, eventstore.Exact(7), false, 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := s.stream(t, "ev"+string(rune('a'+i)))
			if tc.existing > 0 {
				mustAppend(t, ctx, st, stream, eventstore.NoStream(), newEvents(stream, 0, tc.existing))
			}
			before := readStreamAll(t, ctx, st, stream)
			evs := newEvents(stream, tc.existing, 2)
			res, err := st.Append(ctx, stream, tc.expected, evs)
			if !tc.wantOK {
				wantConflict(t, err, stream, uint64(tc.existing)-1, tc.existing > 0)
				if after := readStreamAll(t, ctx, st, stream); len(after) != len(before) {
					t.Fatalf("a failed append changed the stream: %d events before, %d after", len(before), len(after))
				}
				return
			}
			if err != nil {
				t.Fatalf("append expecting %s: %v", tc.expected, err)
			}
			if res.Version != tc.wantVersion {
				t.Fatalf("append result version %d, want %d", res.Version, tc.wantVersion)
			}
			recs := readStreamAll(t, ctx, st, stream)
			if len(recs) != tc.existing+2 {
				t.Fatalf("stream has %d events, want %d", len(recs), tc.existing+2)
			}
			last := recs[len(recs)-1]
			if res.Position != last.Position {
				t.Fatalf("append result position %d, but the last event is at %d", res.Position, last.Position)
			}
			sameEvent(t, recs[tc.existing], evs[0], stream, uint64(tc.existing))
			sameEvent(t, last, evs[1], stream, tc.wantVersion)
		})
	}
}

// testOneWinner races appends with the same exact expected version: exactly one wins,
// the others get conflicts naming the winner's revision.
func (s *suite) testOneWinner(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	stream := s.stream(t, "race")
	mustAppend(t, ctx, st, stream, eventstore.NoStream(), newEvents(stream, 0, 1))
	const racers = 8
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.Append(ctx, stream, eventstore.Exact(0), newEvents(stream, 1+i*2, 2))
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantConflict(t, err, stream, 2, true)
	}
	if wins != 1 {
		t.Fatalf("%d of %d appends expecting revision 0 succeeded, want exactly 1", wins, racers)
	}
	if recs := readStreamAll(t, ctx, st, stream); len(recs) != 3 {
		t.Fatalf("stream has %d events, want 3 (1 + the winner's 2)", len(recs))
	}
}

// testAtomicAppend checks a multi-event append is written whole, in order, with
// consecutive revisions and increasing positions, and a failed one leaves nothing.
func (s *suite) testAtomicAppend(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	stream := s.stream(t, "multi")
	evs := newEvents(stream, 0, 5)
	res := mustAppend(t, ctx, st, stream, eventstore.NoStream(), evs)
	if res.Version != 4 {
		t.Fatalf("append of 5 events to a new stream returned version %d, want 4", res.Version)
	}
	recs := readStreamAll(t, ctx, st, stream)
	if len(recs) != 5 {
		t.Fatalf("stream has %d events, want 5", len(recs))
	}
	for i, r := range recs {
		sameEvent(t, r, evs[i], stream, uint64(i))
		if i > 0 && r.Position <= recs[i-1].Position {
			t.Fatalf("positions within one append do not increase: %d then %d", recs[i-1].Position, r.Position)
		}
	}
	if res.Position != recs[4].Position {
		t.Fatalf("append result position %d, last event at %d", res.Position, recs[4].Position)
	}

	_, err := st.Append(ctx, stream, eventstore.Exact(2), newEvents(stream, 5, 3))
	wantConflict(t, err, stream, 4, true)
	if got := readStreamAll(t, ctx, st, stream); len(got) != 5 {
		t.Fatalf("a rejected 3-event append left %d events, want 5", len(got))
	}

	more := newEvents(stream, 5, 3)
	res = mustAppend(t, ctx, st, stream, eventstore.Exact(4), more)
	if res.Version != 7 {
		t.Fatalf("second append returned version %d, want 7", res.Version)
	}
	recs = readStreamAll(t, ctx, st, stream)
	for i, r := range recs[5:] {
		sameEvent(t, r, more[i], stream, uint64(5+i))
	}
}

// testReadStream reads a 10-event stream in every direction, from several revisions,
// with several limits.
func (s *suite) testReadStream(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	stream := s.stream(t, "ten")
	evs := newEvents(stream, 0, 10)
	mustAppend(t, ctx, st, stream, eventstore.NoStream(), evs[:4])
	mustAppend(t, ctx, st, stream, eventstore.Exact(3), evs[4:])
	cases := []struct {
		name  string
		dir   eventstore.Direction
		from  uint64
		limit int
		want  []uint64
	}{
		{"forwards from start", eventstore.Forwards, 0, 100, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"forwards from a revision with a limit", eventstore.Forwards, 3, 4, []uint64{3, 4, 5, 6}},
		{"forwards limit 1", eventstore.Forwards, 0, 1, []uint64{0}},
		{"forwards from the last", eventstore.Forwards, 9, 5, []uint64{9}},
		{"forwards just beyond the end", eventstore.Forwards, 10, 5, nil},
		{"forwards far beyond the end", eventstore.Forwards, 1000, 5, nil},
		{"backwards from end", eventstore.Backwards, eventstore.End, 100, []uint64{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"backwards from end limit 1", eventstore.Backwards, eventstore.End, 1, []uint64{9}},
		{"backwards from a revision", eventstore.Backwards, 5, 3, []uint64{5, 4, 3}},
		{"backwards to the start", eventstore.Backwards, 2, 10, []uint64{2, 1, 0}},
		{"backwards from the first", eventstore.Backwards, 0, 10, []uint64{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := st.ReadStream(ctx, stream, tc.dir, tc.from, tc.limit)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(recs) != len(tc.want) {
				t.Fatalf("got revisions %s, want %v", fmtVersions(recs), tc.want)
			}
			for i, r := range recs {
				if r.Version != tc.want[i] {
					t.Fatalf("got revisions %s, want %v", fmtVersions(recs), tc.want)
				}
				sameEvent(t, r, evs[r.Version], stream, r.Version)
				if i > 0 {
					if tc.dir == eventstore.Forwards && r.Position <= recs[i-1].Position ||
						tc.dir == eventstore.Backwards && r.Position >= recs[i-1].Position {
						t.Fatalf("positions out of order for the direction: %d then %d", recs[i-1].Position, r.Position)
					}
				}
			}
		})
	}
}

// testReadStreamMissing checks a stream with no events reads as not_found, both ways.
func (s *suite) testReadStreamMissing(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	stream := s.stream(t, "never-written")
	for _, dir := range []struct {
		name string
		dir  eventstore.Direction
		from uint64
	}{{"forwards", eventstore.Forwards, 0}, {"backwards", eventstore.Backwards, eventstore.End}} {
		recs, err := st.ReadStream(ctx, stream, dir.dir, dir.from, 10)
		if err == nil {
			t.Fatalf("%s read of a missing stream returned %d events and no error, want not_found", dir.name, len(recs))
		}
		if code := codeOf(err); code != "not_found" {
			t.Fatalf("%s read of a missing stream: got %v (code %q), want code not_found", dir.name, err, code)
		}
		if !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Fatalf("%s read of a missing stream: got %v, want it to wrap eventstore.ErrStreamNotFound", dir.name, err)
		}
	}
	// A stream whose name is a prefix of an existing one is still missing.
	mustAppend(t, ctx, st, stream+"x", eventstore.NoStream(), newEvents(stream+"x", 0, 1))
	if _, err := st.ReadStream(ctx, stream, eventstore.Forwards, 0, 10); codeOf(err) != "not_found" {
		t.Fatalf("read of %s next to %sx: got %v, want not_found", stream, stream, err)
	}
}
