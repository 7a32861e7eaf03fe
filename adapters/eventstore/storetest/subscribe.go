package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
)

// subscription is a running Subscribe whose own events and CaughtUp signals arrive on msgs.
type subscription struct {
	msgs   chan eventstore.SubscriptionMessage
	done   chan error
	cancel context.CancelFunc
}

// subscribe starts a subscription after `after`, forwarding this test's events (stream
// prefix) and CaughtUp messages. The handler itself checks that positions strictly
// increase over all events it sees, and fails the subscription if not. gate, when not
// nil, is called before each own event is forwarded (to simulate a slow consumer).
func subscribe(ctx context.Context, st eventstore.Store, after eventstore.Position, prefix string, gate func()) *subscription {
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{msgs: make(chan eventstore.SubscriptionMessage, 4096), done: make(chan error, 1), cancel: cancel}
	last := after
	go func() {
		sub.done <- st.Subscribe(ctx, after, func(m eventstore.SubscriptionMessage) error {
			if m.CaughtUp {
				sub.msgs <- m
				return nil
			}
			if m.Event == nil {
				return errors.New("storetest: a subscription message with neither an event nor CaughtUp")
			}
			if m.Event.Position <= last {
				return fmt.Errorf("storetest: subscription delivered position %d after %d", m.Event.Position, last)
			}
			last = m.Event.Position
			if strings.HasPrefix(m.Event.Stream, prefix) {
				if gate != nil {
					gate()
				}
				ev := *m.Event
				sub.msgs <- eventstore.SubscriptionMessage{Event: &ev}
			}
			return nil
		})
	}()
	return sub
}

// collect reads from the subscription until it has n events, returning them and how many
// events came before each CaughtUp message.
func (sub *subscription) collect(t *testing.T, n int, timeout time.Duration) (evs []eventstore.RecordedEvent, caughtUpAt []int) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for len(evs) < n {
		select {
		case m := <-sub.msgs:
			if m.CaughtUp {
				caughtUpAt = append(caughtUpAt, len(evs))
			} else {
				evs = append(evs, *m.Event)
			}
		case err := <-sub.done:
			t.Fatalf("subscription ended after %d of %d events: %v", len(evs), n, err)
		case <-timer.C:
			t.Fatalf("subscription delivered %d of %d events in %v", len(evs), n, timeout)
		}
	}
	return evs, caughtUpAt
}

// waitCaughtUp waits for the CaughtUp message, failing on any event before it.
func (sub *subscription) waitCaughtUp(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case m := <-sub.msgs:
		if !m.CaughtUp {
			t.Fatalf("got event %s@%d, want CaughtUp first", m.Event.Stream, m.Event.Version)
		}
	case err := <-sub.done:
		t.Fatalf("subscription ended before catching up: %v", err)
	case <-time.After(timeout):
		t.Fatalf("no CaughtUp within %v", timeout)
	}
}

// stop cancels the subscription and checks it returns context.Canceled, then returns any
// messages still buffered.
func (sub *subscription) stop(t *testing.T) []eventstore.SubscriptionMessage {
	t.Helper()
	sub.cancel()
	select {
	case err := <-sub.done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled subscription returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("subscription did not return within 10s of its context being cancelled")
	}
	var rest []eventstore.SubscriptionMessage
	for {
		select {
		case m := <-sub.msgs:
			rest = append(rest, m)
		default:
			return rest
		}
	}
}

// sameSequence checks a subscription delivered exactly the log's events, in order.
func sameSequence(t *testing.T, got, want []eventstore.RecordedEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("subscription delivered %d events, the log holds %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Position != w.Position || g.Stream != w.Stream || g.Version != w.Version ||
			g.Type != w.Type || string(g.Data) != string(w.Data) || string(g.Metadata) != string(w.Metadata) {
			t.Fatalf("delivery %d is %s@%d at %d, the log has %s@%d at %d", i, g.Stream, g.Version, g.Position, w.Stream, w.Version, w.Position)
		}
	}
}

// testSubscribeCatchUpLive subscribes while a writer appends: the subscription delivers
// what was stored, one CaughtUp, then live events, with no gap or duplicate at the seam.
func (s *suite) testSubscribeCatchUpLive(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	prefix := s.streamPrefix(t)
	head0 := mustHead(t, ctx, st)
	const pre = 10
	for i := 0; i < pre; i += 2 {
		stream := s.stream(t, fmt.Sprintf("pre%d", i%4))
		mustAppend(t, ctx, st, stream, eventstore.Any(), newEvents(stream, i, 2))
	}

	const appends, per = 100, 2
	var wg sync.WaitGroup
	writeErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range appends {
			stream := s.stream(t, fmt.Sprintf("live%d", i%4))
			if _, err := st.Append(ctx, stream, eventstore.Any(), newEvents(stream, i*per, per)); err != nil {
				writeErr <- err
				return
			}
		}
	}()
	sub := subscribe(ctx, st, head0, prefix, nil)
	late := subscribe(ctx, st, head0, prefix, nil) // a second subscriber sees the same sequence
	got, caughtUp := sub.collect(t, pre+appends*per, 30*time.Second)
	wg.Wait()
	close(writeErr)
	if err := <-writeErr; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if len(caughtUp) > 1 {
		t.Fatalf("CaughtUp delivered %d times", len(caughtUp))
	}
	if len(caughtUp) == 0 {
		sub.waitCaughtUp(t, 10*time.Second)
	} else if caughtUp[0] < pre {
		t.Fatalf("CaughtUp came after %d events, before the %d stored before subscribing", caughtUp[0], pre)
	}

	// One more live event after catching up.
	stream := s.stream(t, "after")
	res := mustAppend(t, ctx, st, stream, eventstore.NoStream(), newEvents(stream, 0, 1))
	tail, again := sub.collect(t, 1, 10*time.Second)
	if len(again) != 0 {
		t.Fatalf("a second CaughtUp after the subscription was live")
	}
	got = append(got, tail...)
	want := readLog(t, ctx, st, head0, res.Position, prefix)
	sameSequence(t, got, want)
	if rest := sub.stop(t); len(rest) != 0 {
		t.Fatalf("%d messages after the last event: first is CaughtUp=%v", len(rest), rest[0].CaughtUp)
	}

	got2, caughtUp2 := late.collect(t, len(want), 30*time.Second)
	sameSequence(t, got2, want)
	if len(caughtUp2) > 1 {
		t.Fatalf("second subscriber got CaughtUp %d times", len(caughtUp2))
	}
	late.stop(t)
}

// testSubscribeFromMiddle subscribes after a position inside this test's events and
// after the last one.
func (s *suite) testSubscribeFromMiddle(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	prefix := s.streamPrefix(t)
	stream := s.stream(t, "m")
	head0 := mustHead(t, ctx, st)
	mustAppend(t, ctx, st, stream, eventstore.NoStream(), newEvents(stream, 0, 4))
	res := mustAppend(t, ctx, st, stream, eventstore.Exact(3), newEvents(stream, 4, 6))
	log := readLog(t, ctx, st, head0, res.Position, prefix)

	sub := subscribe(ctx, st, log[4].Position, prefix, nil)
	got, caughtUp := sub.collect(t, 5, 10*time.Second)
	sameSequence(t, got, log[5:])
	if len(caughtUp) > 0 {
		t.Fatalf("CaughtUp before the stored events were delivered (after %d)", caughtUp[0])
	}
	sub.waitCaughtUp(t, 10*time.Second)
	sub.stop(t)

	// After the last event: only CaughtUp, then the next append live.
	sub = subscribe(ctx, st, res.Position, prefix, nil)
	sub.waitCaughtUp(t, 10*time.Second)
	more := newEvents(stream, 10, 3)
	res2 := mustAppend(t, ctx, st, stream, eventstore.Exact(9), more)
	got, _ = sub.collect(t, 3, 10*time.Second)
	sameSequence(t, got, readLog(t, ctx, st, res.Position, res2.Position, prefix))
	sub.stop(t)
}

// testSubscribeSlow blocks a live subscriber while a writer appends: appends go on, and
// once unblocked the subscriber gets every event in order.
func (s *suite) testSubscribeSlow(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	prefix := s.streamPrefix(t)
	head0 := mustHead(t, ctx, st)
	release := make(chan struct{})
	var once sync.Once
	sub := subscribe(ctx, st, head0, prefix, func() {
		once.Do(func() { <-release })
	})
	sub.waitCaughtUp(t, 10*time.Second)

	const appends, per = 100, 5
	var last eventstore.AppendResult
	start := time.Now()
	for i := range appends {
		stream := s.stream(t, fmt.Sprintf("s%d", i%3))
		last = mustAppend(t, ctx, st, stream, eventstore.Any(), newEvents(stream, i*per, per))
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("%d appends took %v while a subscriber was blocked", appends, took)
	}
	close(release)
	got, caughtUp := sub.collect(t, appends*per, 30*time.Second)
	if len(caughtUp) != 0 {
		t.Fatalf("a second CaughtUp after falling behind")
	}
	sameSequence(t, got, readLog(t, ctx, st, head0, last.Position, prefix))
	sub.stop(t)
}

// testSubscribeHandlerError checks a handler's error ends the subscription and is
// returned, and a deadline ends it with context.DeadlineExceeded.
func (s *suite) testSubscribeHandlerError(t *testing.T) {
	st := s.open(t)
	ctx := testContext(t)
	prefix := s.streamPrefix(t)
	head0 := mustHead(t, ctx, st)
	stream := s.stream(t, "e")
	mustAppend(t, ctx, st, stream, eventstore.NoStream(), newEvents(stream, 0, 3))

	stop := errors.New("storetest: handler stops")
	calls := 0
	err := st.Subscribe(ctx, head0, func(m eventstore.SubscriptionMessage) error {
		if m.Event != nil && strings.HasPrefix(m.Event.Stream, prefix) {
			calls++
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("subscribe returned %v, want the handler's error", err)
	}
	if calls != 1 {
		t.Fatalf("handler called %d times for own events after returning an error, want 1", calls)
	}

	dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = st.Subscribe(dctx, mustHead(t, ctx, st), func(eventstore.SubscriptionMessage) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("subscribe past its deadline returned %v, want context.DeadlineExceeded", err)
	}
}
