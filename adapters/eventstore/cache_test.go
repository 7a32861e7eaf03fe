package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// readCounter is a Store that records every ReadStream: where it started and how many
// events it returned, so tests see whether a load read the whole stream or the delta.
type readCounter struct {
	eventstore.Store
	mu    sync.Mutex
	reads []streamRead
}

type streamRead struct {
	stream   string
	from     uint64
	returned int
}

func (r *readCounter) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := r.Store.ReadStream(ctx, stream, dir, from, limit)
	r.mu.Lock()
	r.reads = append(r.reads, streamRead{stream: stream, from: from, returned: len(recs)})
	r.mu.Unlock()
	return recs, err
}

// take returns the reads recorded since the last call and forgets them.
func (r *readCounter) take() []streamRead {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reads
	r.reads = nil
	return out
}

func openStore(tb testing.TB) *readCounter {
	tb.Helper()
	s, err := embedded.Open(tb.TempDir(), embedded.Options{})
	if err != nil {
		tb.Fatalf("open embedded store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return &readCounter{Store: s}
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func cacheMeta(key string) domain.Meta {
	return domain.Meta{Actor: domain.Actor{HospitalID: "01JQ00000000000000000ADMIN", DepartmentID: "admin", UserID: "cachetest", Role: "admin"},
		At: t0, CorrelationID: ulid.Make().String(), IdempotencyKey: key}
}

// register creates hospital id in its stream and returns the stream.
func register(tb testing.TB, c *eventstore.Commands, id string) string {
	tb.Helper()
	stream := domain.HospitalStream(id)
	cmd := domain.RegisterHospital{HospitalID: id, Name: "上海市第六人民医院", RegionCode: "310104", Level: domain.LevelTertiary,
		Departments: []domain.Department{{ID: "haem", Name: "血液科"}}}
	_, err := eventstore.Handle(context.Background(), c, stream, cacheMeta(""), nil, func(s domain.Hospital) ([]domain.Event, error) {
		return domain.DecideHospital(s, cmd)
	})
	if err != nil {
		tb.Fatalf("register %s: %v", id, err)
	}
	return stream
}

// addDept runs AddDepartment on hospital id with an optional idempotency key.
func addDept(ctx context.Context, c *eventstore.Commands, id, dept, key string) (eventstore.Result, error) {
	cmd := domain.AddDepartment{HospitalID: id, Department: domain.Department{ID: dept, Name: "科室 " + dept}}
	return eventstore.Handle(ctx, c, domain.HospitalStream(id), cacheMeta(key), nil, func(s domain.Hospital) ([]domain.Event, error) {
		return domain.DecideHospital(s, cmd)
	})
}

// hospitalWithEvents registers a hospital and adds departments until its stream holds n events.
func hospitalWithEvents(tb testing.TB, c *eventstore.Commands, n int) (id, stream string) {
	tb.Helper()
	id = ulid.Make().String()
	stream = register(tb, c, id)
	for i := 1; i < n; i++ {
		if _, err := addDept(context.Background(), c, id, fmt.Sprintf("d%03d", i), ""); err != nil {
			tb.Fatalf("add department %d: %v", i, err)
		}
	}
	return id, stream
}

// mustMatchStore checks the cached load of stream through c equals an uncached fold.
func mustMatchStore(t *testing.T, st eventstore.Store, c *eventstore.Commands, stream string) eventstore.Loaded[domain.Hospital] {
	t.Helper()
	ctx := context.Background()
	want, err := eventstore.Load[domain.Hospital](ctx, st, stream)
	if err != nil {
		t.Fatalf("load %s: %v", stream, err)
	}
	got, err := eventstore.LoadCached[domain.Hospital](ctx, c, stream)
	if err != nil {
		t.Fatalf("cached load %s: %v", stream, err)
	}
	if got.Version != want.Version || got.Exists != want.Exists || got.Position != want.Position || !reflect.DeepEqual(got.State, want.State) {
		t.Fatalf("cached load of %s differs from the store:\n got v%d %+v\nwant v%d %+v", stream, got.Version, got.State, want.Version, want.State)
	}
	return got
}

func TestCacheHitReadsOnlyTheDelta(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	writer := eventstore.NewCommands(st)
	id, stream := hospitalWithEvents(t, writer, 50)

	st.take()
	if _, err := addDept(ctx, writer, id, "new", ""); err != nil {
		t.Fatal(err)
	}
	// The writer folded its own appends: one read, from revision 50, finding nothing.
	if got, want := st.take(), []streamRead{{stream, 50, 0}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("warm command read %+v, want %+v", got, want)
	}

	reader := eventstore.NewCommands(st)
	mustMatchStore(t, st, reader, stream)
	st.take()
	for i := 0; i < 3; i++ {
		if _, err := addDept(ctx, writer, id, fmt.Sprintf("late%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	st.take()
	if _, err := eventstore.LoadCached[domain.Hospital](ctx, reader, stream); err != nil {
		t.Fatal(err)
	}
	if got, want := st.take(), []streamRead{{stream, 51, 3}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reader's second load read %+v, want only the 3 new events %+v", got, want)
	}
	loaded := mustMatchStore(t, st, reader, stream)
	if n := len(loaded.State.Departments); n != 54 {
		t.Fatalf("%d departments, want 54", n)
	}
	if s := reader.CacheStats(); s.Misses != 1 || s.Streams != 1 {
		t.Fatalf("reader stats %+v: want 1 miss (the first load) and 1 stream", s)
	}
}

func TestCacheOffReadsTheWholeStream(t *testing.T) {
	st := openStore(t)
	c := eventstore.NewCommands(st, eventstore.WithCacheSize(0))
	id, stream := hospitalWithEvents(t, c, 10)
	st.take()
	if _, err := addDept(context.Background(), c, id, "new", ""); err != nil {
		t.Fatal(err)
	}
	if got, want := st.take(), []streamRead{{stream, 0, 10}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("uncached command read %+v, want %+v", got, want)
	}
	if s := c.CacheStats(); s != (eventstore.CacheStats{}) {
		t.Fatalf("stats of a disabled cache: %+v", s)
	}
}

// TestCacheTwoReplicas runs two Commands on one store, as two API replicas: each sees
// the other's appends through its delta read, and a stale cached state costs a conflict
// and a retry, never a lost or doubled event.
func TestCacheTwoReplicas(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	a, b := eventstore.NewCommands(st), eventstore.NewCommands(st)
	id, stream := hospitalWithEvents(t, a, 5)
	mustMatchStore(t, st, b, stream) // b caches revision 4

	// a appends behind b's back; b's next command decides on the new state.
	if _, err := addDept(ctx, a, id, "from-a", ""); err != nil {
		t.Fatal(err)
	}
	res, err := addDept(ctx, b, id, "from-b", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 6 {
		t.Fatalf("b appended at %d, want 6 (after a's event 5)", res.Version)
	}
	// b's department is a duplicate for a now: a must see it through the delta and refuse.
	var wrong *eventstore.WrongExpectedVersionError
	if _, err := addDept(ctx, a, id, "from-b", ""); err == nil || errors.As(err, &wrong) {
		t.Fatalf("a re-adding b's department: %v, want the domain's refusal", err)
	}
	mustMatchStore(t, st, a, stream)
	mustMatchStore(t, st, b, stream)
}

func TestCacheIdempotentReplay(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	c := eventstore.NewCommands(st, eventstore.WithCacheSize(1))
	id, stream := hospitalWithEvents(t, c, 3)
	first, err := addDept(ctx, c, id, "icu", "key-icu")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // later commands: the key is older than the cached entry
		if _, err := addDept(ctx, c, id, fmt.Sprintf("x%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		prepare  func()
		fullRead bool
	}{
		{"entry cached: no read of the key's events", func() {}, false},
		{"entry evicted: full reload finds the key", func() { register(t, c, ulid.Make().String()) }, true},
		{"another replica: full load finds the key", func() { c = eventstore.NewCommands(st) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.prepare()
			st.take()
			got, err := addDept(ctx, c, id, "icu", "key-icu")
			if err != nil {
				t.Fatal(err)
			}
			want := first
			want.Replayed = true
			if got.Version != want.Version || got.Position != want.Position || !got.Replayed || len(got.Events) != 1 {
				t.Fatalf("replay %+v, want %+v", got, want)
			}
			if ev, ok := got.Events[0].(domain.HospitalDepartmentAdded); !ok || ev.Department.ID != "icu" {
				t.Fatalf("replayed events %+v", got.Events)
			}
			// A replay checks the caller's authority on the stream as the first command
			// found it: one uncached read of the 3 events before the key's event.
			reads := st.take()
			if prefix := (streamRead{stream, 0, 3}); len(reads) == 0 || reads[len(reads)-1] != prefix {
				t.Fatalf("reads %+v, want the last to be the prefix %+v", reads, prefix)
			}
			reads = reads[:len(reads)-1]
			if full := len(reads) == 1 && reads[0].from == 0; full != tc.fullRead {
				t.Fatalf("reads %+v, full read expected: %v", reads, tc.fullRead)
			}
			if loaded := mustMatchStore(t, st, c, stream); loaded.Version != 6 {
				t.Fatalf("stream at %d after replays, want 6", loaded.Version)
			}
		})
	}
}

func TestCacheLRUBound(t *testing.T) {
	st := openStore(t)
	c := eventstore.NewCommands(st, eventstore.WithCacheSize(3))
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = ulid.Make().String()
		register(t, c, ids[i])
		if i == 1 { // keep touching ids[0] so it stays among the most recent
			continue
		}
		if _, err := eventstore.LoadCached[domain.Hospital](context.Background(), c, domain.HospitalStream(ids[0])); err != nil {
			t.Fatal(err)
		}
		if s := c.CacheStats(); s.Streams > 3 {
			t.Fatalf("%d streams cached, bound is 3", s.Streams)
		}
	}
	s := c.CacheStats()
	if s.Streams != 3 || s.Evictions != 7 {
		t.Fatalf("stats %+v: want 3 streams held, 7 evicted", s)
	}
	st.take()
	if _, err := eventstore.LoadCached[domain.Hospital](context.Background(), c, domain.HospitalStream(ids[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := eventstore.LoadCached[domain.Hospital](context.Background(), c, domain.HospitalStream(ids[5])); err != nil {
		t.Fatal(err)
	}
	reads := st.take()
	if len(reads) != 2 || reads[0].from != 1 || reads[1].from != 0 {
		t.Fatalf("reads %+v: want a delta read of the recently used stream, a full read of an evicted one", reads)
	}
}

// TestCacheConcurrent has 64 goroutines on two replicas run commands on 16 streams at
// once; run with -race. Every command must land exactly once, the cached states must
// equal the store's, and the hash chain must verify (each append chained to the tip
// the cache remembered).
func TestCacheConcurrent(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	replicas := []*eventstore.Commands{eventstore.NewCommands(st), eventstore.NewCommands(st, eventstore.WithCacheSize(8))}
	const streams, workers, perWorker = 16, 64, 6
	ids := make([]string, streams)
	for i := range ids {
		ids[i] = ulid.Make().String()
		register(t, replicas[0], ids[i])
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := replicas[w%2]
			for i := 0; i < perWorker; i++ {
				id := ids[(w+i)%streams]
				key := ""
				if i%2 == 0 {
					key = fmt.Sprintf("w%d-i%d", w, i)
				}
				res, err := addDept(ctx, c, id, fmt.Sprintf("w%d-i%d", w, i), key)
				if err == nil && key != "" { // a retry with the same key is answered, not appended
					var again eventstore.Result
					again, err = addDept(ctx, replicas[(w+1)%2], id, fmt.Sprintf("w%d-i%d", w, i), key)
					if err == nil && (!again.Replayed || again.Version != res.Version) {
						err = fmt.Errorf("retry of %s: %+v, first %+v", key, again, res)
					}
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		var wrong *eventstore.WrongExpectedVersionError
		if errors.As(err, &wrong) {
			t.Errorf("gave up on a conflict: %v", err)
			continue
		}
		t.Error(err)
	}
	total := 0
	for _, id := range ids {
		for _, c := range replicas {
			loaded := mustMatchStore(t, st, c, domain.HospitalStream(id))
			if c == replicas[0] {
				total += len(loaded.State.Departments) - 1
			}
		}
	}
	if total != workers*perWorker {
		t.Fatalf("%d departments added, want %d", total, workers*perWorker)
	}
	rep, err := eventstore.Verify(ctx, st)
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep.Breaks)
	}
}

func TestCacheEventBound(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	c := eventstore.NewCommands(st, eventstore.WithCacheLimits(100, 10))
	// 4 events, one of them keyed: the entry stands for 5.
	id, _ := hospitalWithEvents(t, c, 3)
	if _, err := addDept(ctx, c, id, "icu", "key-icu"); err != nil {
		t.Fatal(err)
	}
	if s := c.CacheStats(); s.Streams != 1 || s.Events != 5 {
		t.Fatalf("stats %+v: want 1 stream standing for 5 events", s)
	}
	other, _ := hospitalWithEvents(t, c, 4) // 5 + 4 <= 10: both stay
	if s := c.CacheStats(); s.Streams != 2 || s.Events != 9 || s.Evictions != 0 {
		t.Fatalf("stats %+v: want 2 streams, 9 events, none evicted", s)
	}
	if _, err := addDept(ctx, c, other, "x", ""); err != nil { // 10: still fits
		t.Fatal(err)
	}
	if _, err := addDept(ctx, c, other, "y", ""); err != nil { // 11: the least recent goes
		t.Fatal(err)
	}
	if s := c.CacheStats(); s.Streams != 1 || s.Events != 6 || s.Evictions != 1 {
		t.Fatalf("stats %+v: want the first stream evicted, 1 stream of 6 events left", s)
	}
	long, _ := hospitalWithEvents(t, c, 12) // longer than the bound: never cached
	st.take()
	if _, err := addDept(ctx, c, long, "z", ""); err != nil {
		t.Fatal(err)
	}
	if reads := st.take(); len(reads) != 1 || reads[0].from != 0 {
		t.Fatalf("reads %+v: a stream longer than the bound is read whole", reads)
	}
	if s := c.CacheStats(); s.Events > 10 {
		t.Fatalf("stats %+v: over the event bound", s)
	}
}
