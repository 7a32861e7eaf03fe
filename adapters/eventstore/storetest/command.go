package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// hospitalFixture is one hospital aggregate in a stream of this run.
type hospitalFixture struct {
	id     string
	stream string
}

func (s *suite) newHospital(t *testing.T) hospitalFixture {
	id := ulid.Make().String()
	return hospitalFixture{id: id, stream: s.streamPrefix(t) + domain.HospitalStream(id)}
}

func meta(hospital, key string) domain.Meta {
	return domain.Meta{
		Actor:          domain.Actor{HospitalID: hospital, DepartmentID: "admin", UserID: "storetest", Role: "admin"},
		At:             time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
		CorrelationID:  ulid.Make().String(),
		IdempotencyKey: key,
	}
}

// commandSetup opens a store for a command test and returns it with a context, a
// command handler on it, a fresh hospital and an actor hospital id.
func (s *suite) commandSetup(t *testing.T) (eventstore.Store, context.Context, *eventstore.Commands, hospitalFixture, string) {
	st := s.open(t)
	return st, testContext(t), eventstore.NewCommands(st), s.newHospital(t), ulid.Make().String()
}

// register and addDepartment run the hospital commands through eventstore.Handle.
func register(ctx context.Context, c *eventstore.Commands, h hospitalFixture, m domain.Meta) (eventstore.Result, error) {
	cmd := domain.RegisterHospital{HospitalID: h.id, Name: "上海市第一人民医院", RegionCode: "310115",
		Level: domain.LevelTertiary, Departments: []domain.Department{{ID: "haem", Name: "血液科"}}}
	return eventstore.Handle(ctx, c, h.stream, m, nil, func(s domain.Hospital) ([]domain.Event, error) {
		return domain.DecideHospital(s, cmd)
	})
}

func addDepartment(ctx context.Context, c *eventstore.Commands, h hospitalFixture, m domain.Meta, dept string, ifMatch *uint64) (eventstore.Result, error) {
	cmd := domain.AddDepartment{HospitalID: h.id, Department: domain.Department{ID: dept, Name: "科室 " + dept}}
	return eventstore.Handle(ctx, c, h.stream, m, ifMatch, func(s domain.Hospital) ([]domain.Event, error) {
		return domain.DecideHospital(s, cmd)
	})
}

// mustResult returns a function that fails t on a command error, so a call reads
// mustResult(t)(register(...)).
func mustResult(t *testing.T) func(eventstore.Result, error) eventstore.Result {
	return func(res eventstore.Result, err error) eventstore.Result {
		t.Helper()
		if err != nil {
			t.Fatalf("command: %v", err)
		}
		return res
	}
}

// testCommandIdempotent retries commands with the same idempotency key: the same actor
// hospital gets the first result back, marked Replayed, and nothing is appended; another
// hospital using the same key is a different command.
func (s *suite) testCommandIdempotent(t *testing.T) {
	st, ctx, c, h, actor := s.commandSetup(t)

	first := mustResult(t)(register(ctx, c, h, meta(actor, "key-register")))
	if first.Replayed || first.Version != 0 || len(first.Events) != 1 || first.Stream != h.stream {
		t.Fatalf("first register: got %+v, want version 0, 1 event, not replayed", first)
	}
	again := mustResult(t)(register(ctx, c, h, meta(actor, "key-register")))
	if !again.Replayed || again.Version != first.Version || again.Position != first.Position ||
		!reflect.DeepEqual(again.Events, first.Events) {
		t.Fatalf("retried register: got %+v, want the first result %+v replayed", again, first)
	}

	add := mustResult(t)(addDepartment(ctx, c, h, meta(actor, "key-add"), "cardio", nil))
	if add.Version != 1 || add.Replayed {
		t.Fatalf("add department: got %+v, want version 1", add)
	}
	// Other commands move the stream on; a retry still returns its own first result.
	mustResult(t)(addDepartment(ctx, c, h, meta(actor, "key-other"), "onco", nil))
	retry := mustResult(t)(addDepartment(ctx, c, h, meta(actor, "key-add"), "cardio", nil))
	if !retry.Replayed || retry.Version != 1 || retry.Position != add.Position || !reflect.DeepEqual(retry.Events, add.Events) {
		t.Fatalf("retried add department: got %+v, want %+v replayed", retry, add)
	}
	// The same key from another hospital is not a retry: it is decided (and appends).
	other := mustResult(t)(addDepartment(ctx, c, h, meta(ulid.Make().String(), "key-add"), "neuro", nil))
	if other.Replayed || other.Version != 3 {
		t.Fatalf("same key, other hospital: got %+v, want a new event at version 3", other)
	}
	recs := readStreamAll(t, ctx, st, h.stream)
	if len(recs) != 4 {
		t.Fatalf("stream has %d events, want 4 (register, cardio, onco, neuro)", len(recs))
	}
	loaded, err := eventstore.Load[domain.Hospital](ctx, st, h.stream)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	var depts []string
	for _, d := range loaded.State.Departments {
		depts = append(depts, d.ID)
	}
	if want := []string{"haem", "cardio", "onco", "neuro"}; !reflect.DeepEqual(depts, want) || loaded.Version != 3 {
		t.Fatalf("loaded departments %v at version %d, want %v at 3", depts, loaded.Version, want)
	}
}

// testCommandConcurrent runs commands on one stream at once: conflicts are retried and
// every command succeeds with its own version.
func (s *suite) testCommandConcurrent(t *testing.T) {
	st, ctx, c, h, actor := s.commandSetup(t)
	mustResult(t)(register(ctx, c, h, meta(actor, "")))

	// With n contenders each loses at most n-1 times (every loss is another's win), which
	// the command path's attempt bound covers.
	const n = 8
	results := make([]eventstore.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = addDepartment(ctx, c, h, meta(actor, fmt.Sprintf("key-%d", i)), fmt.Sprintf("d%d", i), nil)
		}()
	}
	wg.Wait()
	var versions []int
	for i, err := range errs {
		if err != nil {
			t.Fatalf("command %d of %d concurrent ones failed: %v", i, n, err)
		}
		versions = append(versions, int(results[i].Version))
	}
	sort.Ints(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("concurrent commands got versions %v, want 1..%d once each", versions, n)
		}
	}
	loaded, err := eventstore.Load[domain.Hospital](ctx, st, h.stream)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(loaded.State.Departments) != n+1 || loaded.Version != n {
		t.Fatalf("hospital has %d departments at version %d, want %d at %d", len(loaded.State.Departments), loaded.Version, n+1, n)
	}
}

// testCommandIfMatch checks a stale If-Match is a conflict at once, without deciding.
func (s *suite) testCommandIfMatch(t *testing.T) {
	_, ctx, c, h, actor := s.commandSetup(t)

	zero := uint64(0)
	decided := 0
	_, err := eventstore.Handle(ctx, c, h.stream, meta(actor, ""), &zero, func(domain.Hospital) ([]domain.Event, error) {
		decided++
		return nil, nil
	})
	wantConflict(t, err, h.stream, 0, false)

	mustResult(t)(register(ctx, c, h, meta(actor, "")))
	mustResult(t)(addDepartment(ctx, c, h, meta(actor, ""), "cardio", nil))
	stale := uint64(0)
	_, err = eventstore.Handle(ctx, c, h.stream, meta(actor, ""), &stale, func(domain.Hospital) ([]domain.Event, error) {
		decided++
		return nil, nil
	})
	wantConflict(t, err, h.stream, 1, true)
	if decided != 0 {
		t.Fatalf("decide ran %d times despite a stale If-Match", decided)
	}
	current := uint64(1)
	res := mustResult(t)(addDepartment(ctx, c, h, meta(actor, ""), "onco", &current))
	if res.Version != 2 {
		t.Fatalf("command with a current If-Match: version %d, want 2", res.Version)
	}
	// A no-op decision appends nothing and reports the current version.
	res = mustResult(t)(eventstore.Handle(ctx, c, h.stream, meta(actor, ""), nil, func(domain.Hospital) ([]domain.Event, error) {
		return nil, nil
	}))
	if res.Version != 2 || len(res.Events) != 0 {
		t.Fatalf("no-op command: got %+v, want version 2 and no events", res)
	}
	// A domain error passes through with its code.
	_, err = addDepartment(ctx, c, h, meta(actor, ""), "onco", nil)
	if domain.ErrorCode(err) != domain.CodeAlreadyExists {
		t.Fatalf("adding a department twice: got %v, want already_exists", err)
	}
	var wrong *eventstore.WrongExpectedVersionError
	if errors.As(err, &wrong) {
		t.Fatalf("a domain error came back as a version conflict")
	}
}

// testCommandHashChain checks every envelope carries the previous stored event's hash and
// its own place, so altering or dropping an event breaks the chain.
func (s *suite) testCommandHashChain(t *testing.T) {
	st, ctx, c, h, actor := s.commandSetup(t)
	mustResult(t)(register(ctx, c, h, meta(actor, "")))
	for i := range 5 {
		mustResult(t)(addDepartment(ctx, c, h, meta(actor, ""), fmt.Sprintf("d%d", i), nil))
	}
	recs := readStreamAll(t, ctx, st, h.stream)
	if len(recs) != 6 {
		t.Fatalf("stream has %d events, want 6", len(recs))
	}
	prev := ""
	for i, rec := range recs {
		env, ev, err := eventstore.Decode(rec)
		if err != nil {
			t.Fatalf("decode revision %d: %v", i, err)
		}
		if env.PrevHash != prev {
			t.Fatalf("revision %d has prevHash %q, want %q (the hash of revision %d)", i, env.PrevHash, prev, i-1)
		}
		if env.Stream != h.stream || env.StreamVersion != rec.Version || [16]byte(env.EventID) != rec.ID ||
			env.Type != rec.Type || env.Type != ev.EventType() || env.Actor.HospitalID != actor {
			t.Fatalf("revision %d: envelope %+v does not match the stored event (%s@%d %s id %x)", i, env, rec.Stream, rec.Version, rec.Type, rec.ID)
		}
		prev = eventstore.ChainHash(rec.Metadata, rec.Data)
	}
}

// testCommandKeyBound checks that an idempotency key stands for the request it was
// first sent with: the same request again is a replay; another request (another
// fingerprint) with the key is refused and appends nothing; an event written without a
// fingerprint (before keys were bound) still replays; and a replay runs decide on the
// stream as the first command found it, returning an error that denies the caller's
// authority instead of the first result. Each fresh Commands has an empty cache, so
// both the cached and the store path are covered.
func (s *suite) testCommandKeyBound(t *testing.T) {
	st, ctx, c, h, actor := s.commandSetup(t)
	bound := func(key, fingerprint string) domain.Meta {
		m := meta(actor, key)
		m.RequestFingerprint = fingerprint
		return m
	}
	mustResult(t)(register(ctx, c, h, bound("k-register", "f-register")))
	first := mustResult(t)(addDepartment(ctx, c, h, bound("K", "f-cardio"), "cardio", nil))
	mustResult(t)(addDepartment(ctx, c, h, meta(actor, "k-old"), "onco", nil)) // as written before fingerprints

	for _, cmds := range []*eventstore.Commands{c, eventstore.NewCommands(st)} {
		_, err := addDepartment(ctx, cmds, h, bound("K", "f-neuro"), "neuro", nil)
		if domain.ErrorCode(err) != domain.CodeIdempotencyKeyReused {
			t.Fatalf("key K sent with another request: got %v, want idempotency_key_reused", err)
		}
		for _, fp := range []string{"f-cardio", ""} { // the same request, or a caller without fingerprint
			again := mustResult(t)(addDepartment(ctx, cmds, h, bound("K", fp), "cardio", nil))
			if !again.Replayed || again.Version != first.Version || again.Position != first.Position ||
				!reflect.DeepEqual(again.Events, first.Events) {
				t.Fatalf("same request with fingerprint %q: got %+v, want %+v replayed", fp, again, first)
			}
		}
		old := mustResult(t)(addDepartment(ctx, cmds, h, bound("k-old", "f-any"), "onco", nil))
		if !old.Replayed || old.Version != 2 {
			t.Fatalf("key of an event without fingerprint: got %+v, want the replay of version 2", old)
		}

		// Another department of the same hospital replays K: decide sees the hospital
		// before the cardio department was added, and refuses the department.
		other := bound("K", "f-cardio")
		other.Actor.DepartmentID = "pharmacy"
		var seen []string
		_, err = eventstore.Handle(ctx, cmds, h.stream, other, nil, func(s domain.Hospital) ([]domain.Event, error) {
			seen = seen[:0]
			for _, d := range s.Departments {
				seen = append(seen, d.ID)
			}
			if other.Actor.DepartmentID != "admin" {
				return nil, domain.Errorf(domain.CodeForbidden, "only the admin department adds departments")
			}
			return nil, nil
		})
		if domain.ErrorCode(err) != domain.CodeForbidden {
			t.Fatalf("replay by a department without authority: got %v, want forbidden", err)
		}
		if want := []string{"haem"}; !reflect.DeepEqual(seen, want) {
			t.Fatalf("the replay's authority check decided on departments %v, want %v (the state before the first command)", seen, want)
		}
	}
	if recs := readStreamAll(t, ctx, st, h.stream); len(recs) != 3 {
		t.Fatalf("stream has %d events, want 3 (register, cardio, onco)", len(recs))
	}
}
