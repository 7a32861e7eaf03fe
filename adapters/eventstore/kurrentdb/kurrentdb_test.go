package kurrentdb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb"
	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb/kurrentdbtest"
	"github.com/medalliance/allianced/adapters/eventstore/storetest"
	"github.com/medalliance/allianced/domain"
)

// MustStartServer starts a test server on a free port and stops it when the test ends.
func MustStartServer(tb testing.TB) *kurrentdbtest.Server {
	tb.Helper()
	srv, err := kurrentdbtest.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatalf("start test server: %v", err)
	}
	tb.Cleanup(srv.Stop)
	return srv
}

// MustOpen opens a Store on url and closes it when the test ends.
func MustOpen(tb testing.TB, url string, opts kurrentdb.Options) *kurrentdb.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := kurrentdb.Open(ctx, url, opts)
	if err != nil {
		tb.Fatalf("open %s: %v", url, err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

func event(i int) eventstore.EventData {
	var id [16]byte
	copy(id[:], fmt.Sprintf("evt-%012d", i))
	return eventstore.EventData{
		ID:       id,
		Type:     "TestEvent",
		Data:     []byte(fmt.Sprintf(`{"n":%d}`, i)),
		Metadata: []byte(fmt.Sprintf(`{"eventId":"%d"}`, i)),
	}
}

func appendN(t *testing.T, st eventstore.Store, stream string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := st.Append(context.Background(), stream, eventstore.Any(), []eventstore.EventData{event(i)}); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// collector records what a subscription delivers.
type collector struct {
	mu       sync.Mutex
	events   []eventstore.RecordedEvent
	caughtUp int
	changed  chan struct{}
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1)} }

func (c *collector) handle(m eventstore.SubscriptionMessage) error {
	c.mu.Lock()
	if m.CaughtUp {
		c.caughtUp++
	}
	if m.Event != nil {
		c.events = append(c.events, *m.Event)
	}
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits until the collector holds n events and has caught up.
func (c *collector) waitFor(t *testing.T, n int, timeout time.Duration) []eventstore.RecordedEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		got, cu := len(c.events), c.caughtUp
		if got >= n && cu > 0 {
			out := append([]eventstore.RecordedEvent(nil), c.events...)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		select {
		case <-c.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("after %s: got %d events (caught up %d times), want %d", timeout, got, cu, n)
		}
	}
}

// checkSequence checks that events are exactly the stream's revisions 0..n-1, in order,
// with increasing positions: no gap and no duplicate.
func checkSequence(t *testing.T, events []eventstore.RecordedEvent, stream string, n int) {
	t.Helper()
	if len(events) != n {
		t.Fatalf("got %d events, want %d", len(events), n)
	}
	var prev eventstore.Position
	for i, e := range events {
		if e.Stream != stream || e.Version != uint64(i) {
			t.Fatalf("event %d: got %s@%d, want %s@%d", i, e.Stream, e.Version, stream, i)
		}
		if e.Position <= prev {
			t.Fatalf("event %d: position %d not after %d", i, e.Position, prev)
		}
		if want := event(i); e.ID != want.ID || string(e.Data) != string(want.Data) || string(e.Metadata) != string(want.Metadata) {
			t.Fatalf("event %d: got id %x data %s metadata %s, want %x %s %s", i, e.ID, e.Data, e.Metadata, want.ID, want.Data, want.Metadata)
		}
		prev = e.Position
	}
}

// countingHandler is a slog handler that remembers the messages logged.
type countingHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}

func (h *countingHandler) count(substr string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if strings.Contains(m, substr) {
			n++
		}
	}
	return n
}

func isUnavailable(err error) bool {
	var ue *eventstore.UnavailableError
	return errors.As(err, &ue) && domain.ErrorCode(err) == domain.CodeUnavailable
}

// TestContract runs the port's contract suite through the real client against the
// in-process test server, over real gRPC on a real port; each subtest gets a fresh Store.
func TestContract(t *testing.T) {
	srv := MustStartServer(t)
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return MustOpen(t, srv.URL(), kurrentdb.Options{})
	})
}

// TestContractRealServer runs the contract suite against a real KurrentDB named by
// KURRENTDB_URL (e.g. esdb://127.0.0.1:2113?tls=false), which the suite shares with
// whatever else is in it.
func TestContractRealServer(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL not set: no real KurrentDB to run the contract suite against (docker compose up kurrentdb; KURRENTDB_URL='esdb://127.0.0.1:2113?tls=false')")
	}
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return MustOpen(t, url, kurrentdb.Options{})
	})
}

// TestSystemEventsHidden checks that the seeded `$` events of a fresh node never show in
// ReadAll, Head or Subscribe, and that ReadAll(after) excludes the event at after.
func TestSystemEventsHidden(t *testing.T) {
	srv := MustStartServer(t)
	st := MustOpen(t, srv.URL(), kurrentdb.Options{})
	ctx := context.Background()

	head, err := st.Head(ctx)
	if err != nil || head != 0 {
		t.Fatalf("head of a fresh node: got %d, %v; want 0, nil", head, err)
	}
	all, err := st.ReadAll(ctx, 0, 100)
	if err != nil || len(all) != 0 {
		t.Fatalf("ReadAll of a fresh node: got %d events, %v; want none", len(all), err)
	}
	appendN(t, st, "sys-1", 0, 3)
	// A user-visible event type in a `$` stream and a `$` type in a user stream are both
	// system events.
	for _, tc := range []struct{ stream, typ string }{{"$ce-sys", "TestEvent"}, {"sys-meta", "$metadata"}} {
		e := event(99)
		e.Type = tc.typ
		if _, err := st.Append(ctx, tc.stream, eventstore.Any(), []eventstore.EventData{e}); err != nil {
			t.Fatalf("append to %s: %v", tc.stream, err)
		}
	}
	all, err = st.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	checkSequence(t, all, "sys-1", 3)
	rest, err := st.ReadAll(ctx, all[0].Position, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 2 || rest[0].Version != 1 {
		t.Fatalf("ReadAll after the first event: got %v, want revisions 1 and 2", rest)
	}
	limited, err := st.ReadAll(ctx, 0, 2)
	if err != nil || len(limited) != 2 {
		t.Fatalf("ReadAll limit 2: got %d, %v", len(limited), err)
	}
	if head, err = st.Head(ctx); err != nil || head != all[2].Position {
		t.Fatalf("head: got %d, %v; want %d (the last user event, not the system ones after it)", head, err, all[2].Position)
	}

	c := newCollector()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- st.Subscribe(sctx, 0, c.handle) }()
	checkSequence(t, c.waitFor(t, 3, 10*time.Second), "sys-1", 3)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe after cancel: got %v, want context.Canceled", err)
	}
}

// TestResubscribeAfterServerRestart stops the server under a live subscription, appends
// while it is back, and checks the subscriber resumes with no gap and no duplicate.
func TestResubscribeAfterServerRestart(t *testing.T) {
	srv := MustStartServer(t)
	logs := &countingHandler{}
	opts := kurrentdb.Options{CallTimeout: 2 * time.Second, ResubscribeTimeout: 30 * time.Second}
	st := MustOpen(t, srv.URL(), kurrentdb.Options{CallTimeout: opts.CallTimeout, ResubscribeTimeout: opts.ResubscribeTimeout, Logger: slog.New(logs)})
	appendN(t, st, "restart-1", 0, 5)

	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- st.Subscribe(ctx, 0, c.handle) }()
	c.waitFor(t, 5, 10*time.Second)

	for round := 0; round < 3; round++ {
		srv.Stop()
		time.Sleep(200 * time.Millisecond)
		if err := srv.Restart(); err != nil {
			t.Fatalf("restart: %v", err)
		}
		// Append right away: the subscriber may not be back yet and must catch up on these.
		writer := MustOpen(t, srv.URL(), opts)
		appendN(t, writer, "restart-1", 5+round*5, 5)
		// Wait for the subscriber to be live again, so the next stop hits a subscription.
		c.waitFor(t, 10+round*5, 20*time.Second)
	}
	time.Sleep(300 * time.Millisecond) // let any duplicate arrive
	c.mu.Lock()
	got := append([]eventstore.RecordedEvent(nil), c.events...)
	caughtUp := c.caughtUp
	c.mu.Unlock()
	checkSequence(t, got, "restart-1", 20)
	if caughtUp != 1 {
		t.Errorf("CaughtUp delivered %d times, want once", caughtUp)
	}
	if n := logs.count("resubscribing"); n < 3 {
		t.Errorf("the subscription resubscribed %d times, want at least 3 (one per restart)", n)
	}
	select {
	case err := <-done:
		t.Fatalf("Subscribe returned %v while the server was back", err)
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe after cancel: got %v", err)
	}
}

// TestSlowServer checks that every call honours the per-call timeout against a server that
// answers too late, fails as unavailable, and that the store recovers when it is fast again.
func TestSlowServer(t *testing.T) {
	srv := MustStartServer(t)
	const timeout = 300 * time.Millisecond
	st := MustOpen(t, srv.URL(), kurrentdb.Options{CallTimeout: timeout, ResubscribeTimeout: time.Second})
	ctx := context.Background()
	appendN(t, st, "slow-1", 0, 1)
	srv.SetDelay(3 * time.Second)

	calls := []struct {
		name string
		run  func() error
	}{
		{"Append", func() error {
			_, err := st.Append(ctx, "slow-1", eventstore.Any(), []eventstore.EventData{event(1)})
			return err
		}},
		{"ReadStream", func() error {
			_, err := st.ReadStream(ctx, "slow-1", eventstore.Forwards, 0, 10)
			return err
		}},
		{"ReadAll", func() error { _, err := st.ReadAll(ctx, 0, 10); return err }},
		{"Head", func() error { _, err := st.Head(ctx); return err }},
		{"Subscribe", func() error {
			return st.Subscribe(ctx, 0, func(eventstore.SubscriptionMessage) error { return nil })
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := tc.run()
			took := time.Since(start)
			if !isUnavailable(err) {
				t.Fatalf("got %v, want an unavailable error", err)
			}
			limit := 2 * timeout
			if tc.name == "Subscribe" {
				limit = 4 * time.Second // it retries for ResubscribeTimeout first
			}
			if took > limit {
				t.Fatalf("took %s, want at most %s", took, limit)
			}
		})
	}

	// A caller's own deadline, shorter than the call timeout, is honoured too and is the
	// caller's error, not the store's.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := st.Head(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Head with a 50ms context: got %v, want context.DeadlineExceeded", err)
	}

	srv.SetDelay(0)
	var err error
	for i := 0; i < 20; i++ {
		if _, err = st.ReadStream(ctx, "slow-1", eventstore.Forwards, 0, 10); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after the server is fast again: %v", err)
	}
}

// TestServerDown checks the errors when no server answers: at Open, and for calls after
// it went away; and that the store reconnects once it is back.
func TestServerDown(t *testing.T) {
	srv := MustStartServer(t)
	url := srv.URL()
	srv.Stop()

	start := time.Now()
	_, err := kurrentdb.Open(context.Background(), url, kurrentdb.Options{CallTimeout: 5 * time.Second})
	if !isUnavailable(err) {
		t.Fatalf("Open with the server down: got %v, want an unavailable error", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Open with the server down took %s", took)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	st := MustOpen(t, url, kurrentdb.Options{CallTimeout: 5 * time.Second})
	appendN(t, st, "down-1", 0, 1)
	srv.Stop()
	_, err = st.Append(context.Background(), "down-1", eventstore.Any(), []eventstore.EventData{event(1)})
	if !isUnavailable(err) {
		t.Fatalf("Append with the server gone: got %v, want an unavailable error", err)
	}
	if _, err = st.ReadStream(context.Background(), "down-1", eventstore.Forwards, 0, 10); !isUnavailable(err) {
		t.Fatalf("ReadStream with the server gone: got %v, want an unavailable error", err)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	appendN(t, st, "down-1", 1, 1)
	evs, err := st.ReadStream(context.Background(), "down-1", eventstore.Forwards, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	checkSequence(t, evs, "down-1", 2)
}

// TestDeletedStreamsAreNotFound checks that a soft-deleted and a tombstoned stream
// (deleted by another client) read as not found through the port.
func TestDeletedStreamsAreNotFound(t *testing.T) {
	srv := MustStartServer(t)
	st := MustOpen(t, srv.URL(), kurrentdb.Options{})
	ctx := context.Background()
	appendN(t, st, "gone-soft", 0, 2)
	appendN(t, st, "gone-hard", 0, 2)

	conf, err := esdb.ParseConnectionString(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.DeleteStream(ctx, "gone-soft", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TombstoneStream(ctx, "gone-hard", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Revision(1)}); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"gone-soft", "gone-hard"} {
		_, err := st.ReadStream(ctx, stream, eventstore.Forwards, 0, 10)
		if !errors.Is(err, eventstore.ErrStreamNotFound) || domain.ErrorCode(err) != domain.CodeNotFound {
			t.Errorf("ReadStream(%s): got %v, want not found", stream, err)
		}
	}
	// The $metadata and $streamDeleted records the deletes wrote stay out of the log.
	all, err := st.ReadAll(ctx, 0, 100)
	if err != nil || len(all) != 4 {
		t.Fatalf("ReadAll: got %d events, %v; want the 4 appended", len(all), err)
	}
}

// TestWrongExpectedVersion checks each expected-version kind against the server and that
// the error carries the actual revision.
func TestWrongExpectedVersion(t *testing.T) {
	srv := MustStartServer(t)
	st := MustOpen(t, srv.URL(), kurrentdb.Options{})
	ctx := context.Background()
	appendN(t, st, "wev-1", 0, 3) // revisions 0..2

	tests := []struct {
		name       string
		stream     string
		expected   eventstore.ExpectedVersion
		wantErr    bool
		wantExists bool
	}{
		{"no stream on an existing stream", "wev-1", eventstore.NoStream(), true, true},
		{"exact stale revision", "wev-1", eventstore.Exact(1), true, true},
		{"exact future revision", "wev-1", eventstore.Exact(7), true, true},
		{"stream exists on a missing stream", "wev-none", eventstore.StreamExists(), true, false},
		{"exact on a missing stream", "wev-none2", eventstore.Exact(0), true, false},
		{"exact current revision", "wev-1", eventstore.Exact(2), false, true},
		{"stream exists", "wev-1", eventstore.StreamExists(), false, true},
		{"any", "wev-1", eventstore.Any(), false, true},
		{"no stream on a new stream", "wev-new", eventstore.NoStream(), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := st.ReadStream(ctx, tc.stream, eventstore.Backwards, eventstore.End, 1)
			e := event(100)
			copy(e.ID[:], tc.name)
			res, err := st.Append(ctx, tc.stream, tc.expected, []eventstore.EventData{e})
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				if len(before) > 0 && res.Version != before[0].Version+1 {
					t.Fatalf("version: got %d, want %d", res.Version, before[0].Version+1)
				}
				return
			}
			var wev *eventstore.WrongExpectedVersionError
			if !errors.As(err, &wev) || domain.ErrorCode(err) != domain.CodeConflict {
				t.Fatalf("got %v, want a WrongExpectedVersionError", err)
			}
			if wev.Exists != tc.wantExists || (tc.wantExists && wev.Actual != before[0].Version) {
				t.Fatalf("got actual %d exists %v, want exists %v at %v", wev.Actual, wev.Exists, tc.wantExists, before)
			}
		})
	}
}

// BenchmarkAppend measures one-event appends through the client and gRPC to the test
// server (the adapter's own overhead plus a loopback round trip).
func BenchmarkAppend(b *testing.B) {
	srv := MustStartServer(b)
	st := MustOpen(b, srv.URL(), kurrentdb.Options{})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.Append(ctx, fmt.Sprintf("bench-%d", i%100), eventstore.Any(), []eventstore.EventData{event(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadAll measures reading the global log in pages of 500 events.
func BenchmarkReadAll(b *testing.B) {
	srv := MustStartServer(b)
	st := MustOpen(b, srv.URL(), kurrentdb.Options{})
	ctx := context.Background()
	for i := 0; i < 5000; i++ {
		if _, err := st.Append(ctx, fmt.Sprintf("bench-%d", i%100), eventstore.Any(), []eventstore.EventData{event(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var after eventstore.Position
		for {
			evs, err := st.ReadAll(ctx, after, 500)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			after = evs[len(evs)-1].Position
		}
	}
	b.ReportMetric(5000, "events/op")
}

// TestConcurrentCallsAcrossRestarts runs appends and reads from several goroutines while
// the server goes down and comes back twice: every call must end within the call timeout
// (no hang), fail only as unavailable, and the store must work again afterwards.
func TestConcurrentCallsAcrossRestarts(t *testing.T) {
	srv := MustStartServer(t)
	const timeout = time.Second
	st := MustOpen(t, srv.URL(), kurrentdb.Options{CallTimeout: timeout})
	ctx := context.Background()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var unavailableCalls atomic.Int64
	errs := make(chan error, 8)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			stream := fmt.Sprintf("churn-%d", w)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				var err error
				if i%2 == 0 {
					_, err = st.Append(ctx, stream, eventstore.Any(), []eventstore.EventData{event(w*100000 + i)})
				} else {
					_, err = st.ReadAll(ctx, 0, 50)
				}
				if took := time.Since(start); took > timeout+time.Second {
					errs <- fmt.Errorf("worker %d call %d took %s", w, i, took)
					return
				}
				if err != nil && !isUnavailable(err) {
					errs <- fmt.Errorf("worker %d call %d: %v", w, i, err)
					return
				}
				if err != nil {
					unavailableCalls.Add(1)
				}
			}
		}(w)
	}
	for round := 0; round < 2; round++ {
		time.Sleep(300 * time.Millisecond)
		srv.Stop()
		time.Sleep(300 * time.Millisecond)
		if err := srv.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if unavailableCalls.Load() == 0 {
		t.Error("no call failed while the server was down: the outage was not exercised")
	}
	var err error
	for i := 0; i < 20; i++ {
		if _, err = st.Append(ctx, "churn-after", eventstore.Any(), []eventstore.EventData{event(1)}); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after the restarts: %v", err)
	}
}

// TestSubscribeEnds checks the two ways a subscription ends without its context: the
// server stays down past ResubscribeTimeout (unavailable), or the store is closed.
func TestSubscribeEnds(t *testing.T) {
	t.Run("server down for good", func(t *testing.T) {
		srv := MustStartServer(t)
		st := MustOpen(t, srv.URL(), kurrentdb.Options{CallTimeout: 500 * time.Millisecond, ResubscribeTimeout: time.Second})
		appendN(t, st, "end-1", 0, 1)
		c := newCollector()
		done := make(chan error, 1)
		go func() { done <- st.Subscribe(context.Background(), 0, c.handle) }()
		c.waitFor(t, 1, 10*time.Second)
		srv.Stop()
		select {
		case err := <-done:
			if !isUnavailable(err) {
				t.Fatalf("got %v, want an unavailable error", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Subscribe did not return within 10s of the server going away")
		}
	})
	t.Run("store closed", func(t *testing.T) {
		srv := MustStartServer(t)
		st := MustOpen(t, srv.URL(), kurrentdb.Options{})
		c := newCollector()
		done := make(chan error, 1)
		go func() { done <- st.Subscribe(context.Background(), 0, c.handle) }()
		c.waitFor(t, 0, 10*time.Second)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if domain.ErrorCode(err) != domain.CodeUnavailable {
				t.Fatalf("got %v, want an unavailable error", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Subscribe did not return after Close")
		}
		if _, err := st.Head(context.Background()); domain.ErrorCode(err) != domain.CodeUnavailable {
			t.Fatalf("Head after Close: got %v, want an unavailable error", err)
		}
	})
}

// TestHeadAndReadAllPastManySystemEvents checks Head and ReadAll page past more system
// records than one read returns, as a real node's $stats records pile up when idle.
func TestHeadAndReadAllPastManySystemEvents(t *testing.T) {
	srv := MustStartServer(t)
	st := MustOpen(t, srv.URL(), kurrentdb.Options{})
	ctx := context.Background()
	appendN(t, st, "user-1", 0, 1)
	stats := make([]eventstore.EventData, 600)
	for i := range stats {
		stats[i] = event(1000 + i)
		stats[i].Type = "$statsCollected"
	}
	if _, err := st.Append(ctx, "$stats-127.0.0.1:2113", eventstore.Any(), stats); err != nil {
		t.Fatal(err)
	}
	all, err := st.ReadAll(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	checkSequence(t, all, "user-1", 1)
	head, err := st.Head(ctx)
	if err != nil || head != all[0].Position {
		t.Fatalf("head: got %d, %v; want %d", head, err, all[0].Position)
	}
	appendN(t, st, "user-1", 1, 1)
	rest, err := st.ReadAll(ctx, all[0].Position, 10)
	if err != nil || len(rest) != 1 || rest[0].Version != 1 {
		t.Fatalf("ReadAll past 600 system records: got %v, %v; want user-1@1", rest, err)
	}
}
