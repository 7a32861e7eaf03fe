package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
)

// testReadAll checks the global log holds appends in order, and what `after` and the
// limit mean.
func (s *suite) testReadAll(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	prefix := s.streamPrefix(t)
	head0 := mustHead(t, ctx, st)
	a, b, c := s.stream(t, "a"), s.stream(t, "b"), s.stream(t, "c")
	type appended struct {
		stream string
		ev     eventstore.EventData
		ver    uint64
	}
	var want []appended
	add := func(stream string, exp eventstore.ExpectedVersion, evs []eventstore.EventData) {
		res := mustAppend(t, ctx, st, stream, exp, evs)
		for i, ev := range evs {
			want = append(want, appended{stream, ev, res.Version - uint64(len(evs)-1-i)})
		}
	}
	add(a, eventstore.NoStream(), newEvents(a, 0, 1))
	add(b, eventstore.NoStream(), newEvents(b, 0, 1))
	add(a, eventstore.Exact(0), newEvents(a, 1, 2))
	add(c, eventstore.Any(), newEvents(c, 0, 1))
	add(b, eventstore.StreamExists(), newEvents(b, 1, 1))
	head := mustHead(t, ctx, st)

	own := readLog(t, ctx, st, head0, head, prefix)
	if len(own) != len(want) {
		t.Fatalf("global log after %d holds %d of this test's events, want %d", head0, len(own), len(want))
	}
	for i, r := range own {
		sameEvent(t, r, want[i].ev, want[i].stream, want[i].ver)
	}

	// after is exclusive: reading after an event's position starts at the next one.
	for i := 0; i+1 < len(own); i++ {
		recs, err := st.ReadAll(ctx, own[i].Position, 1)
		if err != nil {
			t.Fatalf("read all after %d: %v", own[i].Position, err)
		}
		if len(recs) != 1 || recs[0].Position <= own[i].Position || recs[0].Position > own[i+1].Position {
			t.Fatalf("read all after %d limit 1 returned %d events (first at %v), want one in (%d, %d]",
				own[i].Position, len(recs), firstPos(recs), own[i].Position, own[i+1].Position)
		}
	}
	// A limit caps the page; limit 2 after head0 returns exactly 2 (there are at least 6).
	recs, err := st.ReadAll(ctx, head0, 2)
	if err != nil {
		t.Fatalf("read all limit 2: %v", err)
	}
	if len(recs) != 2 || recs[0].Position <= head0 || recs[1].Position <= recs[0].Position {
		t.Fatalf("read all after %d limit 2 returned positions %v, want 2 increasing ones after it", head0, positions(recs))
	}
	// Reading from 0 starts at the first event of the log, which has a position > 0.
	recs, err = st.ReadAll(ctx, 0, 1)
	if err != nil || len(recs) != 1 || recs[0].Position == 0 {
		t.Fatalf("read all after 0 limit 1: got %v, %v; want one event with a position > 0", positions(recs), err)
	}
	// Nothing of ours lies after the last append.
	if tail := readLog(t, ctx, st, own[len(own)-1].Position, mustHead(t, ctx, st), prefix); len(tail) != 0 {
		t.Fatalf("read after the last event found %d more of this test's events", len(tail))
	}
}

// testConcurrentOrder appends from many goroutines to many streams at once, then checks
// the global log: positions strictly increase, each stream's events appear in revision
// order, every acknowledged event is there once at its acknowledged position.
func (s *suite) testConcurrentOrder(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	prefix := s.streamPrefix(t)
	head0 := mustHead(t, ctx, st)
	const writers, appends = 16, 20
	type ack struct {
		res eventstore.AppendResult
		n   int
	}
	acks := make([][]ack, writers)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := s.stream(t, fmt.Sprintf("w%02d", w))
			exp := eventstore.NoStream()
			next := 0
			for i := range appends {
				n := 1 + (w+i)%3
				res, err := st.Append(ctx, stream, exp, newEvents(stream, next, n))
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
				acks[w] = append(acks[w], ack{res, n})
				next += n
				exp = eventstore.Exact(res.Version)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var maxPos eventstore.Position
	total := 0
	for _, as := range acks {
		for _, a := range as {
			total += a.n
			maxPos = max(maxPos, a.res.Position)
		}
	}
	own := readLog(t, ctx, st, head0, maxPos, prefix)
	if len(own) != total {
		t.Fatalf("global log holds %d of the %d acknowledged events", len(own), total)
	}
	nextRev := map[string]uint64{}
	byPos := map[eventstore.Position]eventstore.RecordedEvent{}
	for _, r := range own {
		if r.Version != nextRev[r.Stream] {
			t.Fatalf("stream %s: revision %d appears in the log where %d was due", r.Stream, r.Version, nextRev[r.Stream])
		}
		nextRev[r.Stream]++
		byPos[r.Position] = r
	}
	for w, as := range acks {
		stream := s.stream(t, fmt.Sprintf("w%02d", w))
		for _, a := range as {
			r, ok := byPos[a.res.Position]
			if !ok || r.Stream != stream || r.Version != a.res.Version {
				t.Fatalf("acknowledged %s@%d at position %d, but the log has %s@%d there", stream, a.res.Version, a.res.Position, r.Stream, r.Version)
			}
		}
	}
}

// testConcurrentAny appends with Any from many goroutines to one stream: every event
// lands once, with consecutive revisions.
func (s *suite) testConcurrentAny(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	stream := s.stream(t, "shared")
	const writers, appends = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range appends {
				if _, err := st.Append(ctx, stream, eventstore.Any(), newEvents(stream, w*1000+i*2, 2)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("append with Any: %v", err)
	}
	recs := readStreamAll(t, ctx, st, stream)
	if len(recs) != writers*appends*2 {
		t.Fatalf("stream has %d events, want %d", len(recs), writers*appends*2)
	}
	seen := map[[16]byte]bool{}
	for i, r := range recs {
		if r.Version != uint64(i) {
			t.Fatalf("event %d has revision %d", i, r.Version)
		}
		if i > 0 && r.Position <= recs[i-1].Position {
			t.Fatalf("revision %d at position %d, not after %d", i, r.Position, recs[i-1].Position)
		}
		if seen[r.ID] {
			t.Fatalf("event id %x stored twice", r.ID)
		}
		seen[r.ID] = true
	}
	// Each append's two events are adjacent: appends are atomic, never interleaved.
	for i := 0; i < len(recs); i += 2 {
		var p0, p1 payload
		mustJSON(t, recs[i].Data, &p0)
		mustJSON(t, recs[i+1].Data, &p1)
		if p1.N != p0.N+1 {
			t.Fatalf("revisions %d and %d hold events %d and %d from different appends", i, i+1, p0.N, p1.N)
		}
	}
}

// testCancellation checks every call honours a cancelled context and that an append
// under one writes nothing.
func (s *suite) testCancellation(t *testing.T) {
	st := s.open(t)
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	live := testContext(t)
	stream := s.stream(t, "cancelled")
	if _, err := st.Append(ctx, stream, eventstore.Any(), newEvents(stream, 0, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append under a cancelled context: got %v, want context.Canceled", err)
	}
	if recs := readStreamAll(t, live, st, stream); len(recs) != 0 {
		t.Fatalf("an append under a cancelled context stored %d events", len(recs))
	}
	mustAppend(t, live, st, stream, eventstore.NoStream(), newEvents(stream, 0, 1))
	if _, err := st.ReadStream(ctx, stream, eventstore.Forwards, 0, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("read stream under a cancelled context: got %v, want context.Canceled", err)
	}
	if _, err := st.ReadAll(ctx, 0, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("read all under a cancelled context: got %v, want context.Canceled", err)
	}
	if _, err := st.Head(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("head under a cancelled context: got %v, want context.Canceled", err)
	}
	err := st.Subscribe(ctx, 0, func(eventstore.SubscriptionMessage) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("subscribe under a cancelled context: got %v, want context.Canceled", err)
	}
}

// testHead checks Head moves with appends and is never behind an acknowledged append.
func (s *suite) testHead(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	h0 := mustHead(t, ctx, st)
	if h0 == 0 {
		// A fresh store: the log is empty.
		if recs, err := st.ReadAll(ctx, 0, 10); err != nil || len(recs) != 0 {
			t.Fatalf("head is 0 but read all returned %d events, %v", len(recs), err)
		}
	}
	stream := s.stream(t, "h")
	res := mustAppend(t, ctx, st, stream, eventstore.NoStream(), newEvents(stream, 0, 3))
	h1 := mustHead(t, ctx, st)
	if res.Position <= h0 || h1 < res.Position {
		t.Fatalf("head before %d, append at %d, head after %d: want before < append <= after", h0, res.Position, h1)
	}
	if h0 == 0 && h1 != res.Position {
		t.Fatalf("on a fresh store head is %d after the only append, at %d", h1, res.Position)
	}
	res2 := mustAppend(t, ctx, st, stream, eventstore.Exact(2), newEvents(stream, 3, 1))
	if h2 := mustHead(t, ctx, st); h2 < res2.Position || res2.Position <= res.Position {
		t.Fatalf("second append at %d (first at %d), head %d", res2.Position, res.Position, h2)
	}
}

func positions(recs []eventstore.RecordedEvent) []eventstore.Position {
	out := make([]eventstore.Position, len(recs))
	for i, r := range recs {
		out[i] = r.Position
	}
	return out
}

func firstPos(recs []eventstore.RecordedEvent) any {
	if len(recs) == 0 {
		return "none"
	}
	return recs[0].Position
}
