package projections_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
	"github.com/redis/go-redis/v9"
)

// details returns the details of a coded error, or nil.
func details(err error) map[string]any {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Details
	}
	return nil
}

// farFuturePlan appends, straight to the store (no decide function checks it), a plan
// starting on 9999-12-01 and then a revision adding a step ten years later: the view
// cannot encode that step's due date (year 10009), as encoding/json writes only years
// 0-9999. It returns the revision's position.
func farFuturePlan(t *testing.T, store eventstore.Store, s *scenario, planID string) (initiated, revised eventstore.Position) {
	t.Helper()
	start := time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC)
	r := appendEvents(t, store, domain.PlanStream(planID), s.leadActor, s.t0, domain.PlanInitiated{PlanID: planID, AllianceID: s.alliance,
		ProtocolID: s.protocol, ProtocolVersion: 2, PatientRef: "pr_zzzzzzzzzzzzzzzzzzzzzzzzzz", StartDate: start,
		LeadHospitalID: s.lead, LeadDepartmentID: "haematology", Steps: planSteps(start)[:1], At: s.t0})
	initiated = r.Position
	r = appendEvents(t, store, domain.PlanStream(planID), s.leadActor, s.t0, domain.PlanRevised{PlanID: planID, Revision: 1,
		Reason: "follow-up", FromVersion: 2, ToVersion: 2, Changes: []domain.PlanStepChange{{Action: domain.PlanChangeAdd,
			StepID: "follow-up", DayOffset: 3650, Activity: "ten-year follow-up"}}, At: s.t0})
	return initiated, r.Position
}

// waitPosition waits until the projector's current generation applied pos.
func waitPosition(t *testing.T, p *projections.Projector, pos eventstore.Position) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if lag, err := p.Lag(context.Background()); err == nil && lag.Checkpoint >= pos {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	lag, err := p.Lag(context.Background())
	t.Fatalf("the views did not reach position %d: %+v %v", pos, lag, err)
}

// TestBadEventDegradesOnlyItsDocument projects an event the plan view cannot encode:
// the projector moves on, only that plan answers view_degraded (also from the read
// path that caches plans), every other view keeps following the log, and the views are
// those of a clean rebuild whatever the batch size.
func TestBadEventDegradesOnlyItsDocument(t *testing.T) {
	ctx := context.Background()
	rdb := MustRedis(t)
	for _, batch := range []int{1, 3, 1000} {
		t.Run("batch "+itoa(batch), func(t *testing.T) {
			store := MustStore(t)
			s := newScenario()
			s.run(t, store)
			prefix := MustPrefix(t, rdb)
			p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix, BatchSize: batch, LeaseTTL: time.Second})
			q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p})
			t.Cleanup(func() { _ = q.Close() })

			bad := newID()
			init, revised := farFuturePlan(t, store, s, bad)
			if batch == 1 {
				// The plan as it was before its revision, read so the fast path caches it.
				if _, err := q.Plan(ctx, bad, init); err != nil && domain.ErrorCode(err) != projections.CodeViewDegraded {
					t.Fatalf("the plan before its revision: %v", err)
				}
			}
			// Later events: one more on the degraded plan (ignored), one on another plan.
			appendEvents(t, store, domain.PlanStream(bad), s.leadActor, s.t0, domain.PlanDiscontinued{PlanID: bad, Reason: "entered in error", At: s.t0})
			done := appendEvents(t, store, domain.PlanStream(s.plan2), s.leadActor, s.t0, domain.PlanStepCompleted{PlanID: s.plan2,
				StepID: "c1d1-rituximab", HospitalID: s.lead, UserID: "nurse-sun", At: s.t0})

			waitPosition(t, p, done.Position)
			_, err := q.Plan(ctx, bad, done.Position)
			if domain.ErrorCode(err) != projections.CodeViewDegraded {
				t.Fatalf("the degraded plan: %v, want %s", err, projections.CodeViewDegraded)
			}
			if d := details(err); d["position"] != uint64(revised) || d["reason"] != projections.ReasonEncodeFailed {
				t.Fatalf("details %v, want position %d and reason %s", d, revised, projections.ReasonEncodeFailed)
			}
			other, err := q.Plan(ctx, s.plan2, done.Position)
			if err != nil || !strings.Contains(string(other.JSON), `"status":"completed"`) || other.Position != done.Position {
				t.Fatalf("another plan after the bad event: %v %s", err, other.JSON)
			}
			if _, err := q.AllianceMembers(ctx, s.alliance, 0); err != nil {
				t.Fatalf("the roster: %v", err)
			}
			lag, err := p.Lag(ctx)
			if err != nil || lag.Degraded != 1 || lag.CatchingUp || lag.Checkpoint != lag.Head {
				t.Fatalf("lag %+v %v, want one degraded document, caught up", lag, err)
			}
			list, n, err := p.Degraded(ctx, 10)
			if err != nil || n != 1 || len(list) != 1 {
				t.Fatalf("degraded %v %d %v", list, n, err)
			}
			if d := list[0]; d.Document != "plan:"+bad+"#json" || d.Position != revised || d.EventType != "PlanRevised" ||
				d.Reason != projections.ReasonEncodeFailed || !strings.Contains(d.Error, "year outside of range") {
				t.Fatalf("degradation %+v", d)
			}
			if f := p.Status().Failed; f != 1 {
				t.Fatalf("failed events %d, want 1", f)
			}
			if got, want := canonicalDump(t, rdb, prefix), cleanRebuild(t, store); got != want {
				t.Fatalf("views differ from a clean rebuild:\n%s", firstDiff(got, want))
			}
		})
	}
}

// TestMalformedDocumentDegradedUntilRebuild corrupts one roster row in Redis: the next
// event on it degrades that row only, reads of the roster (and the matrix) answer
// view_degraded while the alliance's header and plans still serve, and a rebuild,
// which projects the log into a new generation, makes the roster whole again.
func TestMalformedDocumentDegradedUntilRebuild(t *testing.T) {
	ctx := context.Background()
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	first, stop := runProjector(t, store, rdb, projections.Options{Prefix: prefix, LeaseTTL: time.Second})
	waitCaughtUp(t, first)
	stop()
	// Corrupted while no projector runs (a running one holds the rows it wrote, and
	// rightly trusts them: every write to the views moves their checkpoint).
	gen := rdb.Get(ctx, prefix+":current").Val()
	rdb.HSet(ctx, prefix+":"+gen+":alliance:"+s.alliance+":members", s.m1, "{not json")
	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix, LeaseTTL: time.Second})
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p})
	t.Cleanup(func() { _ = q.Close() })
	r := appendEvents(t, store, domain.AllianceStream(s.alliance), s.leadActor, s.t0,
		domain.AllianceMemberSuspended{AllianceID: s.alliance, HospitalID: s.m1, Reason: "audit", SuspendedAt: s.t0})
	waitPosition(t, p, r.Position)

	for name, read := range map[string]func() error{
		"roster": func() error { _, err := q.AllianceMembers(ctx, s.alliance, r.Position); return err },
		"matrix": func() error { _, err := q.AdoptionMatrix(ctx, s.alliance, r.Position); return err },
	} {
		if err := read(); domain.ErrorCode(err) != projections.CodeViewDegraded {
			t.Fatalf("%s: %v, want %s", name, err, projections.CodeViewDegraded)
		}
	}
	if _, err := q.Alliance(ctx, s.alliance, r.Position); err != nil {
		t.Fatalf("the alliance's header: %v", err)
	}
	if _, err := q.Plan(ctx, s.plan, r.Position); err != nil {
		t.Fatalf("a plan: %v", err)
	}
	list, _, _ := p.Degraded(ctx, 10)
	if len(list) != 1 || list[0].Reason != projections.ReasonDocumentMalformed || list[0].Position != r.Position {
		t.Fatalf("degraded %+v", list)
	}

	if err := projections.Rebuild(ctx, store, rdb, prefix, nil); err != nil {
		t.Fatal(err)
	}
	members, err := q.AllianceMembers(ctx, s.alliance, r.Position)
	if err != nil {
		t.Fatalf("the roster after a rebuild: %v", err)
	}
	for _, m := range members {
		if m.HospitalID == s.m1 && m.Status != domain.MemberStatusSuspended {
			t.Fatalf("member after the rebuild: %+v", m)
		}
	}
	if lag, err := p.Lag(ctx); err != nil || lag.Degraded != 0 {
		t.Fatalf("lag after the rebuild %+v %v", lag, err)
	}
}

// readUntilFound reads planID until it is found, and fails the test on any answer other
// than the plan or views_catching_up: a plan that exists is never "not found". It
// returns how many reads answered views_catching_up.
func readUntilFound(t *testing.T, q *projections.Queries, planID string) int {
	t.Helper()
	catching := 0
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, err := q.Plan(context.Background(), planID, 0)
		switch domain.ErrorCode(err) {
		case "":
			return catching
		case projections.CodeViewsCatchingUp:
			catching++
		default:
			t.Fatalf("plan %s after %d catching-up answers: %v", planID, catching, err)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("plan %s never found", planID)
	return catching
}

// TestCatchingUpAtStart starts the views of the embedded default (in memory, empty at
// every start) on a log of some thousands of events: until they caught up, a plan that
// exists answers views_catching_up, never not_found, and the lag says catching up;
// afterwards a plan that does not exist is not found.
func TestCatchingUpAtStart(t *testing.T) {
	ctx := context.Background()
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	appendLoad(t, store, s, 2000, 6, 4)
	last := newID()
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	appendEvents(t, store, domain.PlanStream(last), s.leadActor, start, domain.PlanInitiated{PlanID: last, AllianceID: s.alliance,
		ProtocolID: s.protocol, ProtocolVersion: 2, PatientRef: "pr_lastlastlastlastlastlastl", StartDate: start,
		LeadHospitalID: s.lead, LeadDepartmentID: "haematology", Steps: planSteps(start), At: start})

	rdb, stop, err := projections.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	p := projections.NewProjector(store, rdb, projections.Options{})
	q := projections.NewQueries(rdb, projections.QueryOptions{Projector: p, Timeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = q.Close() })
	if _, err := q.Plan(ctx, s.plan, 5); domain.ErrorCode(err) != projections.CodeViewsCatchingUp {
		t.Fatalf("a read-your-writes wait that runs out while catching up: %v, want %s", err, projections.CodeViewsCatchingUp)
	}
	if lag, err := p.Lag(ctx); err != nil || !lag.CatchingUp {
		t.Fatalf("lag before the projector ran: %+v %v", lag, err)
	}
	if _, err := q.Plan(ctx, s.plan, 0); domain.ErrorCode(err) != projections.CodeViewsCatchingUp {
		t.Fatalf("a plan before the projector ran: %v, want %s", err, projections.CodeViewsCatchingUp)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	readUntilFound(t, q, last)
	if lag, err := p.Lag(ctx); err != nil || lag.CatchingUp {
		t.Fatalf("lag once the last plan is found: %+v %v", lag, err)
	}
	if _, err := q.Plan(ctx, newID(), 0); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("a plan that does not exist, once caught up: %v", err)
	}
}

// unlinkPrefix deletes every key of prefix in one UNLINK, which Redis runs as one step,
// as a FLUSH or a restart without persistence would empty it (the Redis is shared:
// FLUSHALL is not an option).
func unlinkPrefix(t *testing.T, rdb *redis.Client, prefix string) {
	t.Helper()
	ctx := context.Background()
	var keys []string
	iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil || len(keys) == 0 {
		t.Fatalf("scan %s: %d keys, %v", prefix, len(keys), err)
	}
	if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestCatchingUpAfterViewsVanish empties the views under a running projector (all the
// prefix's keys, as a FLUSH would; the generation's checkpoint only; a switch to a
// fresh generation): reads of existing plans answer views_catching_up until the views
// are rebuilt, never not_found, and the projector notices without a new event.
func TestCatchingUpAfterViewsVanish(t *testing.T) {
	ctx := context.Background()
	rdb := MustRedis(t)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	appendLoad(t, store, s, 300, 6, 4)
	for _, tc := range []struct {
		name   string
		vanish func(t *testing.T, prefix, gen string)
	}{
		{"flush", func(t *testing.T, prefix, _ string) { unlinkPrefix(t, rdb, prefix) }},
		{"checkpoint", func(t *testing.T, prefix, gen string) { rdb.Del(ctx, prefix+":"+gen+":checkpoint") }},
		{"generation switch", func(t *testing.T, prefix, _ string) {
			rdb.Set(ctx, prefix+":current", "gfresh", 0)
			rdb.Publish(ctx, prefix+":generation", "gfresh")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := MustPrefix(t, rdb)
			p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix, LeaseTTL: 600 * time.Millisecond})
			waitCaughtUp(t, p)
			q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p})
			t.Cleanup(func() { _ = q.Close() })
			if _, err := q.Plan(ctx, s.plan, 0); err != nil {
				t.Fatal(err)
			}
			gen := rdb.Get(ctx, prefix+":current").Val()
			tc.vanish(t, prefix, gen)
			// Whether a missing plan exists cannot be told yet. (An existing plan may
			// still be read from what is left of the old generation.)
			if _, err := q.Plan(ctx, newID(), 0); domain.ErrorCode(err) != projections.CodeViewsCatchingUp {
				t.Fatalf("a missing plan right after the views vanished: %v, want %s", err, projections.CodeViewsCatchingUp)
			}
			if lag, err := p.Lag(ctx); err != nil || !lag.CatchingUp {
				t.Fatalf("lag right after the views vanished: %+v %v", lag, err)
			}
			readUntilFound(t, q, s.plan)
			readUntilFound(t, q, s.plan2)
			waitCaughtUp(t, p)
			if lag, err := p.Lag(ctx); err != nil || lag.CatchingUp {
				t.Fatalf("lag once rebuilt: %+v %v", lag, err)
			}
			if now := rdb.Get(ctx, prefix+":current").Val(); now == gen {
				t.Fatalf("still generation %s", gen)
			}
			if got, want := canonicalDump(t, rdb, prefix), cleanRebuild(t, store); got != want {
				t.Fatalf("views differ from a clean rebuild:\n%s", firstDiff(got, want))
			}
		})
	}
}
