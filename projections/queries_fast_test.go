package projections_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
	"github.com/redis/go-redis/v9"
)

// commandCounter is a go-redis hook counting what a client sends: single commands by
// name, and pipelines (a MULTI/EXEC read is one pipeline).
type commandCounter struct {
	mu        sync.Mutex
	single    map[string]int
	pipelines int
}

func (h *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.single[cmd.Name()]++
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.pipelines++
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

// take returns the counts since the last take and resets them.
func (h *commandCounter) take() (single map[string]int, pipelines int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	single, pipelines = h.single, h.pipelines
	h.single, h.pipelines = map[string]int{}, 0
	return single, pipelines
}

// countingQueries returns queries over their own client of the local Redis, whose
// commands are counted, with no in-process projector: they learn generations and
// checkpoints only from Redis.
func countingQueries(t *testing.T, prefix string, timeout time.Duration) (*projections.Queries, *commandCounter) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	h := &commandCounter{single: map[string]int{}}
	rdb.AddHook(h)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Timeout: timeout})
	t.Cleanup(func() {
		_ = q.Close()
		_ = rdb.Close()
	})
	return q, h
}

// projectScenario projects the scenario into prefix and stops the projector, so that
// the test alone changes the views afterwards.
func projectScenario(t *testing.T, rdb *redis.Client, prefix string) *scenario {
	t.Helper()
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	p, stop := runProjector(t, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(t, p)
	stop()
	return s
}

// switchGenerationSilently switches the views to a new generation as a rebuild does
// (the new generation complete, then the current key pointed at it, then the old one
// deleted), but without publishing the switch: queries that cached the old generation
// find its keys gone, as when the switch message has not reached them yet.
func switchGenerationSilently(t *testing.T, rdb *redis.Client, prefix string) (oldGen, newGen string) {
	t.Helper()
	ctx := context.Background()
	oldGen = rdb.Get(ctx, prefix+":current").Val()
	newGen = "g" + strings.ToLower(newID())
	iter := rdb.Scan(ctx, 0, prefix+":"+oldGen+":*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil || len(keys) == 0 {
		t.Fatalf("scan generation %s: %d keys, %v", oldGen, len(keys), err)
	}
	for _, k := range keys {
		to := prefix + ":" + newGen + ":" + strings.TrimPrefix(k, prefix+":"+oldGen+":")
		if err := rdb.Copy(ctx, k, to, 0, false).Err(); err != nil {
			t.Fatalf("copy %s: %v", k, err)
		}
	}
	if err := rdb.Set(ctx, prefix+":current", newGen, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	return oldGen, newGen
}

// TestPlanFastPath: once the generation is known, a plan read whose minPosition is
// covered is one round trip (HMGET, or HGET of the position once the document is
// cached); a read that must wait, a plan that is not there, and a plan
// whose cached generation was switched and deleted all go through the consistent
// transaction and answer correctly.
func TestPlanFastPath(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	s := projectScenario(t, rdb, prefix)
	ctx := context.Background()
	q, h := countingQueries(t, prefix, 200*time.Millisecond)

	want, err := q.Plan(ctx, s.plan, s.head) // learns the generation and its checkpoint
	if err != nil {
		t.Fatal(err)
	}
	if want.Position == 0 || len(want.JSON) == 0 || want.Responsible == "" || want.Lead != s.lead || want.AllianceID != s.alliance {
		t.Fatalf("first read: %+v", want)
	}
	h.take()

	t.Run("covered reads are one round trip", func(t *testing.T) {
		for _, minPos := range []uint64{0, uint64(s.head), uint64(want.Position)} {
			doc, err := q.Plan(ctx, s.plan, eventstore.Position(minPos))
			if err != nil {
				t.Fatalf("minPos %d: %v", minPos, err)
			}
			if string(doc.JSON) != string(want.JSON) || doc.Version != want.Version || doc.Position != want.Position ||
				doc.Responsible != want.Responsible || doc.LeadDepartment != want.LeadDepartment {
				t.Fatalf("minPos %d: got %+v, want %+v", minPos, doc, want)
			}
		}
		single, pipes := h.take()
		if single["hmget"] != 1 || single["hget"] != 2 || pipes != 0 || len(single) != 2 {
			t.Errorf("sent %v and %d pipelines, want one HMGET (the document), then 2 HGETs (its position)", single, pipes)
		}
	})

	t.Run("a changed plan is read again", func(t *testing.T) {
		gen := rdb.Get(ctx, prefix+":current").Val()
		key := prefix + ":" + gen + ":plan:" + s.plan
		changed := `{"changed":true}`
		if err := rdb.HSet(ctx, key, "json", changed, "position", uint64(want.Position)+1).Err(); err != nil {
			t.Fatal(err)
		}
		doc, err := q.Plan(ctx, s.plan, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(doc.JSON) != changed || doc.Position != want.Position+1 {
			t.Fatalf("after the change: %s at %d, want %s at %d", doc.JSON, doc.Position, changed, want.Position+1)
		}
		if err := rdb.HSet(ctx, key, "json", want.JSON, "position", uint64(want.Position)).Err(); err != nil {
			t.Fatal(err)
		}
		if doc, err := q.Plan(ctx, s.plan, 0); err != nil || string(doc.JSON) != string(want.JSON) {
			t.Fatalf("after the change back: %s, %v", doc.JSON, err)
		}
		h.take()
	})

	t.Run("not found is re-checked by the transaction", func(t *testing.T) {
		_, err := q.Plan(ctx, newID(), 0)
		if domain.ErrorCode(err) != domain.CodeNotFound {
			t.Fatalf("err = %v, want not_found", err)
		}
		single, pipes := h.take()
		if single["hmget"] != 1 || pipes != 1 {
			t.Errorf("sent %v and %d pipelines, want one HMGET then one transaction", single, pipes)
		}
	})

	t.Run("a position beyond the known checkpoint waits", func(t *testing.T) {
		// No projector runs: the views never reach the position, so a fast answer
		// would be a stale one.
		_, err := q.Plan(ctx, s.plan, s.head+1)
		if domain.ErrorCode(err) != domain.CodeTimeout {
			t.Fatalf("err = %v, want timeout", err)
		}
		if single, _ := h.take(); single["hmget"] != 0 {
			t.Errorf("sent %v: an HMGET answered a read the views had not reached", single)
		}
	})

	t.Run("a switched and deleted generation falls back", func(t *testing.T) {
		_, newGen := switchGenerationSilently(t, rdb, prefix)
		doc, err := q.Plan(ctx, s.plan, 0)
		if err != nil {
			t.Fatalf("read after the switch: %v (a deleted old generation must not answer not_found)", err)
		}
		if string(doc.JSON) != string(want.JSON) {
			t.Fatalf("read after the switch differs:\n%s\nwant\n%s", doc.JSON, want.JSON)
		}
		single, pipes := h.take()
		if single["hget"] != 1 || pipes < 1 {
			t.Errorf("sent %v and %d pipelines, want one HGET (of the cached document's position) then the transaction", single, pipes)
		}
		// The transaction learnt the new generation: the next reads are fast again,
		// the first fetching the document from the new generation.
		for range 2 {
			if doc, err := q.Plan(ctx, s.plan, 0); err != nil || string(doc.JSON) != string(want.JSON) {
				t.Fatalf("read after the switch: %v", err)
			}
		}
		if single, pipes := h.take(); single["hmget"] != 1 || single["hget"] != 1 || pipes != 0 {
			t.Errorf("reads after the switch to %s sent %v and %d pipelines, want one HMGET, then one HGET", newGen, single, pipes)
		}
	})
}

// TestPlanFastPathDuringSwitches reads a plan concurrently while its generation is
// switched (silently, deleting the old one) again and again: every read answers the
// plan, never not_found.
func TestPlanFastPathDuringSwitches(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	s := projectScenario(t, rdb, prefix)
	ctx := context.Background()
	q, _ := countingQueries(t, prefix, time.Second)
	want, err := q.Plan(ctx, s.plan, 0)
	if err != nil {
		t.Fatal(err)
	}
	stop := readConcurrently(func() []string {
		if doc, err := q.Plan(ctx, s.plan, 0); err != nil || string(doc.JSON) != string(want.JSON) {
			return []string{errString(err)}
		}
		return nil
	})
	for i := 0; i < 20; i++ {
		switchGenerationSilently(t, rdb, prefix)
		time.Sleep(5 * time.Millisecond)
	}
	failures, reads := stop()
	if len(failures) > 0 {
		t.Fatalf("%d of %d reads during the switches were wrong, first: %s", len(failures), reads, failures[0])
	}
	if reads == 0 {
		t.Fatal("no read ran")
	}
}
