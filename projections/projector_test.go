package projections_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// cleanRebuild rebuilds the views of store under a fresh prefix and returns its dump.
func cleanRebuild(t *testing.T, store eventstore.Store) string {
	t.Helper()
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	if err := projections.Rebuild(context.Background(), store, rdb, prefix, nil); err != nil {
		t.Fatalf("clean rebuild: %v", err)
	}
	return canonicalDump(t, rdb, prefix)
}

// TestKillAndResume stops the projector at random points, many times, and checks that
// the views it ends with are identical to a clean rebuild's.
func TestKillAndResume(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	appendLoad(t, store, s, 300, 6, 8)
	farFuturePlan(t, store, s, newID()) // an event the views cannot apply: it degrades its plan
	appendLoad(t, store, s, 20, 4, 2)
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for i := 0; i < 12; i++ {
		p := projections.NewProjector(store, rdb, projections.Options{Prefix: prefix, BatchSize: 1 + rng.IntN(40), LeaseTTL: time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = p.Run(ctx)
		}()
		time.Sleep(time.Duration(rng.IntN(15000)) * time.Microsecond)
		cancel() // a crash as far as Redis can tell: possibly mid-transaction
		<-done
		if i == 5 {
			// Events appended while no projector runs are picked up on resume.
			appendLoad(t, store, s, 20, 4, 2)
		}
	}
	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix, BatchSize: 50})
	waitCaughtUp(t, p)
	got := canonicalDump(t, rdb, prefix)
	want := cleanRebuild(t, store)
	if got != want {
		t.Fatalf("views after kill-and-resume differ from a clean rebuild:\n%s", firstDiff(got, want))
	}
	if !strings.Contains(got, "plan:") || !strings.Contains(got, "degraded (hash)") {
		t.Fatalf("dump has no plans or no degraded document: %.200s", got)
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < min(len(al), len(bl)); i++ {
		if al[i] != bl[i] {
			return "line " + itoa(i) + ":\n got: " + al[i] + "\nwant: " + bl[i]
		}
	}
	return "lengths differ: " + itoa(len(al)) + " vs " + itoa(len(bl)) + " lines"
}

func itoa(i int) string { return strconv.Itoa(i) }

// dupStore re-delivers events: every ReadAll page starts a few events early, and the
// subscription delivers each event twice and starts early too.
type dupStore struct{ eventstore.Store }

func (d dupStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	return d.Store.ReadAll(ctx, after-min(after, 5), limit)
}

func (d dupStore) Subscribe(ctx context.Context, after eventstore.Position, h func(eventstore.SubscriptionMessage) error) error {
	return d.Store.Subscribe(ctx, after-min(after, 3), func(m eventstore.SubscriptionMessage) error {
		if m.Event != nil {
			if err := h(m); err != nil {
				return err
			}
		}
		return h(m)
	})
}

// TestDuplicateDelivery checks that events delivered again, in catch-up and live, are
// applied once.
func TestDuplicateDelivery(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	p, _ := runProjector(t, dupStore{store}, rdb, projections.Options{Prefix: prefix, BatchSize: 16})
	waitCaughtUp(t, p)
	appendLoad(t, store, s, 30, 6, 3) // live, through the doubling subscription
	waitCaughtUp(t, p)
	if got, want := canonicalDump(t, rdb, prefix), cleanRebuild(t, store); got != want {
		t.Fatalf("views with duplicate deliveries differ from a clean rebuild:\n%s", firstDiff(got, want))
	}
}

// TestReadYourWrites checks that a query waits for the position a command returned,
// with the in-process projector and across processes (pub/sub), and times out.
func TestReadYourWrites(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix})
	local := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p})
	remote := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix})
	t.Cleanup(func() { _ = local.Close(); _ = remote.Close() })
	ctx := context.Background()
	for i, q := range []*projections.Queries{local, remote, local, remote} {
		step := protocolSteps[1+i%2].StepID
		res := appendEvents(t, store, domain.PlanStream(s.plan2), s.leadActor, s.t0,
			domain.PlanStepSkipped{PlanID: s.plan2, StepID: step, HospitalID: s.lead, Reason: "test", At: s.t0})
		doc, err := q.Plan(ctx, s.plan2, res.Position)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		if doc.Position != res.Position {
			t.Errorf("query %d: plan at position %d, want %d (the write's)", i, doc.Position, res.Position)
		}
	}

	short := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Timeout: 150 * time.Millisecond})
	t.Cleanup(func() { _ = short.Close() })
	began := time.Now()
	_, err := short.Plan(ctx, s.plan2, s.head+1_000_000)
	if domain.ErrorCode(err) != domain.CodeTimeout {
		t.Fatalf("err = %v, want code timeout", err)
	}
	if d := time.Since(began); d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("timed out after %s, want about 150ms", d)
	}
}

// TestReadYourWritesWaitsForProjector starts the projector only after the query began
// waiting.
func TestReadYourWritesWaitsForProjector(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Timeout: 5 * time.Second})
	t.Cleanup(func() { _ = q.Close() })
	errc := make(chan error, 1)
	go func() {
		_, err := q.Consult(context.Background(), s.consult2, s.head)
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-errc:
		t.Fatalf("query returned before any projection: %v", err)
	default:
	}
	runProjector(t, store, rdb, projections.Options{Prefix: prefix})
	if err := <-errc; err != nil {
		t.Fatalf("query after the projector caught up: %v", err)
	}
}

// TestRebuildWhileQuerying rebuilds the views while queries run: every answer is the
// complete view, the old generation is deleted, and the live projector follows the new
// generation.
func TestRebuildWhileQuerying(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	appendLoad(t, store, s, 400, 6, 8)
	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix, LeaseTTL: time.Second})
	waitCaughtUp(t, p)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p})
	t.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()
	want, err := q.Plan(ctx, s.plan, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantPlans, err := q.HospitalPlans(ctx, s.lead, 0)
	if err != nil {
		t.Fatal(err)
	}
	oldGen := rdb.Get(ctx, prefix+":current").Val()
	before := canonicalDump(t, rdb, prefix)

	stop := readConcurrently(func() []string {
		var failures []string
		doc, err := q.Plan(ctx, s.plan, 0)
		plans, err2 := q.HospitalPlans(ctx, s.lead, 0)
		if err != nil || string(doc.JSON) != string(want.JSON) {
			failures = append(failures, "plan: "+errString(err))
		}
		if err2 != nil || len(plans) != len(wantPlans) {
			failures = append(failures, "hospital plans: "+errString(err2)+" n="+itoa(len(plans)))
		}
		return failures
	})
	var calls int
	err = projections.Rebuild(ctx, store, rdb, prefix, func(done, total uint64) {
		calls++
		if done > total {
			t.Errorf("progress %d of %d", done, total)
		}
	})
	time.Sleep(50 * time.Millisecond)
	failures, reads := stop()
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if len(failures) > 0 {
		t.Fatalf("%d of %d reads during the rebuild were wrong, first: %s", len(failures), reads, failures[0])
	}
	if calls == 0 {
		t.Error("progress was never reported")
	}
	newGen := rdb.Get(ctx, prefix+":current").Val()
	if newGen == oldGen {
		t.Fatal("the current generation did not change")
	}
	if keys := rdb.Keys(ctx, prefix+":"+oldGen+":*").Val(); len(keys) != 0 {
		t.Errorf("%d keys of the old generation remain, e.g. %s", len(keys), keys[0])
	}
	if after := canonicalDump(t, rdb, prefix); after != before {
		t.Errorf("rebuilt views differ from the ones they replaced:\n%s", firstDiff(after, before))
	}
	// The live projector moved to the new generation: a new write is readable.
	res := appendEvents(t, store, domain.PlanStream(s.plan2), s.leadActor, s.t0,
		domain.PlanStepSkipped{PlanID: s.plan2, StepID: protocolSteps[2].StepID, HospitalID: s.lead, Reason: "test", At: s.t0})
	if doc, err := q.Plan(ctx, s.plan2, res.Position); err != nil || doc.Position != res.Position {
		t.Fatalf("read-your-writes after the rebuild: %+v, %v", doc.Position, err)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestLease runs two projectors on one prefix: one writes, and the other takes over
// when the first stops.
func TestLease(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	opt := projections.Options{Prefix: prefix, LeaseTTL: 600 * time.Millisecond}
	a, stopA := runProjector(t, store, rdb, opt)
	b, stopB := runProjector(t, store, rdb, opt)
	waitCaughtUp(t, a)
	time.Sleep(300 * time.Millisecond)
	if a.Status().Leading == b.Status().Leading {
		t.Fatalf("leading: a=%v b=%v; want exactly one", a.Status().Leading, b.Status().Leading)
	}
	standby := b
	if a.Status().Leading {
		stopA()
	} else {
		standby = a
		stopB()
	}
	deadline := time.Now().Add(5 * time.Second)
	for !standby.Status().Leading && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !standby.Status().Leading {
		t.Fatal("the standby did not take over the lease")
	}
	appendLoad(t, store, s, 10, 3, 1)
	waitCaughtUp(t, standby)
}

// TestLeaseHeldElsewhere checks that a projector does not write while another holds
// the lease.
func TestLeaseHeldElsewhere(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	ctx := context.Background()
	gen := "gtest"
	rdb.Set(ctx, prefix+":current", gen, 0)
	rdb.Set(ctx, prefix+":lease:"+gen, "someone-else", 0)
	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix, LeaseTTL: 300 * time.Millisecond})
	time.Sleep(300 * time.Millisecond)
	if p.Status().Leading || rdb.Exists(ctx, prefix+":"+gen+":checkpoint").Val() != 0 {
		t.Fatal("the projector wrote while another process held the lease")
	}
	rdb.Del(ctx, prefix+":lease:"+gen)
	waitCaughtUp(t, p)
}

// TestWatchPlan checks that a plan's watchers learn the position of each change.
func TestWatchPlan(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(t, p)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix})
	t.Cleanup(func() { _ = q.Close() })
	ch, stop, err := q.WatchPlan(context.Background(), s.plan2)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let SUBSCRIBE reach Redis
	res := appendEvents(t, store, domain.PlanStream(s.plan2), s.leadActor, s.t0,
		domain.PlanDeviationReported{PlanID: s.plan2, DeviationID: "x", Description: "d", Severity: "minor", HospitalID: s.lead, At: s.t0})
	select {
	case pos := <-ch:
		if pos != res.Position {
			t.Errorf("watch delivered %d, want %d", pos, res.Position)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change delivered")
	}
	// A change to another plan is not delivered.
	appendEvents(t, store, domain.PlanStream(s.plan), s.leadActor, s.t0,
		domain.PlanDeviationReported{PlanID: s.plan, DeviationID: "y", Description: "d", Severity: "minor", HospitalID: s.lead, At: s.t0})
	select {
	case pos := <-ch:
		t.Errorf("watch of plan2 delivered %d for another plan", pos)
	case <-time.After(200 * time.Millisecond):
	}
	stop()
	if _, ok := <-ch; ok {
		t.Error("channel still open after stop")
	}
}

// TestLag checks the lag reported while the projector is stopped and after it ran.
func TestLag(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	p := projections.NewProjector(store, rdb, projections.Options{Prefix: prefix})
	lag, err := p.Lag(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if lag.Events != uint64(s.head) || lag.Head != s.head || lag.Checkpoint != 0 || lag.Seconds <= 0 {
		t.Errorf("lag before projecting = %+v; want %d events behind", lag, s.head)
	}
	p2, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(t, p2)
	if lag, err = p.Lag(context.Background()); err != nil || lag.Events != 0 || lag.Seconds != 0 || lag.Checkpoint != s.head {
		t.Errorf("lag after catching up = %+v, %v", lag, err)
	}
}

// TestEmbedded runs the scenario on the in-process Redis.
func TestEmbedded(t *testing.T) {
	rdb, stop, err := projections.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	p, _ := runProjector(t, store, rdb, projections.Options{BatchSize: 5})
	q := projections.NewQueries(rdb, projections.QueryOptions{Projector: p, Now: func() time.Time { return s.t0.Add(50 * time.Hour) }})
	t.Cleanup(func() { _ = q.Close() })
	checkScenarioViews(t, q, s)
	// A rebuild works there too, and WatchPlan and read-your-writes.
	if err := projections.Rebuild(context.Background(), store, rdb, "", nil); err != nil {
		t.Fatalf("rebuild on the embedded redis: %v", err)
	}
	checkScenarioViews(t, q, s)
}

// TestRebuildWithProgressBar checks that the progress display reports the events.
func TestRebuildWithProgressBar(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	var out bytes.Buffer
	if err := projections.RebuildWithProgressBar(context.Background(), store, rdb, prefix, &out); err != nil {
		t.Fatal(err)
	}
	if want := itoa(int(s.head)) + "/" + itoa(int(s.head)); !strings.Contains(out.String(), want) {
		t.Errorf("progress output %q does not show %s", out.String(), want)
	}
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix})
	t.Cleanup(func() { _ = q.Close() })
	if _, err := q.Plan(context.Background(), s.plan, s.head); err != nil {
		t.Errorf("plan after the rebuild: %v", err)
	}
}

// TestRebuildDeletesOrphans checks that a rebuild deletes a generation an earlier,
// crashed rebuild left behind, and keeps one whose lease is held.
func TestRebuildDeletesOrphans(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	ctx := context.Background()
	rdb.Set(ctx, prefix+":gcrashed:checkpoint", "3", 0)
	rdb.HSet(ctx, prefix+":gcrashed:hospitals", "x", "{}")
	rdb.Set(ctx, prefix+":gbusy:checkpoint", "3", 0)
	rdb.Set(ctx, prefix+":lease:gbusy", "another-rebuild", time.Minute)
	if err := projections.Rebuild(ctx, store, rdb, prefix, nil); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, prefix+":gcrashed:checkpoint", prefix+":gcrashed:hospitals").Val(); n != 0 {
		t.Errorf("%d keys of the crashed generation remain", n)
	}
	if rdb.Exists(ctx, prefix+":gbusy:checkpoint").Val() != 1 {
		t.Error("the generation of a rebuild in progress was deleted")
	}
}

// TestViewsOfAnotherLog points a projector at views built from a longer log: it starts
// over, and the views end up those of its own log.
func TestViewsOfAnotherLog(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	long := MustStore(t)
	s := newScenario()
	s.run(t, long)
	appendLoad(t, long, s, 20, 4, 2)
	if err := projections.Rebuild(context.Background(), long, rdb, prefix, nil); err != nil {
		t.Fatal(err)
	}
	short := MustStore(t)
	s2 := newScenario()
	s2.run(t, short)
	ctx := context.Background()
	old := rdb.Get(ctx, prefix+":current").Val()
	p, _ := runProjector(t, short, rdb, projections.Options{Prefix: prefix})
	deadline := time.Now().Add(5 * time.Second)
	for rdb.Get(ctx, prefix+":current").Val() == old && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	waitCaughtUp(t, p)
	if n := len(rdb.Keys(ctx, prefix+":"+old+":*").Val()); n != 0 {
		t.Errorf("%d keys of the other log's generation remain: %v", n, rdb.Keys(ctx, prefix+":"+old+":*").Val()[:3])
	}
	if got, want := canonicalDump(t, rdb, prefix), cleanRebuild(t, short); got != want {
		t.Fatalf("views differ from the short log's:\n%s", firstDiff(got, want))
	}
}
