package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb"
	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb/kurrentdbtest"
	"github.com/redis/go-redis/v9"
)

// replicaLease is the projector lease of the replica test: short, so a takeover is
// measured in seconds, and long enough that a loaded 2-core machine renews it (every
// third of it) without losing it.
const replicaLease = 3 * time.Second

// TestReplicas runs three `allianced serve` processes on one KurrentDB (the protocol
// test server, in this process) and one real Redis, and checks what several replicas
// promise: commands spread over all three are all kept; the replica holding the
// projector lease dies by SIGKILL and another takes over within the lease; reads with
// minPosition and SSE streams work on a replica other than the one that took the
// command; one expert booked concurrently through different replicas is booked once;
// and the views equal a clean rebuild of the log.
func TestReplicas(t *testing.T) {
	redisAt, ok := redisURL()
	if !ok {
		t.Skip("no Redis answers on 127.0.0.1:6379; the replica test needs a Redis shared by the three processes")
	}
	kdb, err := kurrentdbtest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the KurrentDB protocol test server: %v", err)
	}
	t.Cleanup(kdb.Stop)
	prefix := "e2e-replicas-" + newKey()
	rebuilt := prefix + "-rebuilt"
	t.Cleanup(func() { cleanRedisPrefix(t, prefix); cleanRedisPrefix(t, rebuilt) })

	// The replicas share the log, the views and the keys (tokens minted for one are
	// valid on all; a record number gives the same patient reference on each).
	secret, pseudo := randomHex(t), randomHex(t)
	var rs []*server
	for range 3 {
		dir := t.TempDir()
		for name, key := range map[string]string{"jwt-secret": secret, "pseudonym-key": pseudo} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(key+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		rs = append(rs, startServer(t, serverOptions{DataDir: dir, Redis: redisAt, RedisPrefix: prefix,
			Extra: []string{"--kurrentdb", kdb.URL(), "--lease-ttl", replicaLease.String()}}))
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { rdb.Close() })

	w := replicaWorld(t, rs)
	doubleBooking(t, rs, w)

	// The load: every step of every plan recorded once, spread over the replicas. When a
	// third of it is acknowledged, with the second sixth queued or in flight, the lease
	// holder is killed; the rest is sent while another replica takes over.
	load := newStepLoad(w, rs)
	sseCtx, sseCancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer sseCancel()
	watched := w.plans[len(w.plans)-1]
	var streams []<-chan sseEvent
	for _, s := range rs {
		streams = append(streams, s.subscribe(sseCtx, &w.memberA, "/v1/plans/"+watched+"/stream"))
	}
	dead, tookOver := -1, make(chan struct{})
	load.run(t, len(load.jobs)/2, func() {
		load.waitAcked(len(load.jobs) / 3)
		var killedAt time.Time
		dead, killedAt = killLeader(t, rdb, prefix, rs)
		go func() {
			defer close(tookOver)
			waitTakeover(t, rdb, prefix, rs, dead, killedAt)
		}()
	})
	<-tookOver
	if dead < 0 {
		t.FailNow()
	}
	if load.acked.Load() != int64(len(load.jobs)) {
		t.Fatalf("acknowledged %d of %d step commands", load.acked.Load(), len(load.jobs))
	}
	var alive []*server
	for i, s := range rs {
		if i != dead {
			alive = append(alive, s)
		}
	}
	for i := range rs {
		if n := load.perReplica[i].Load(); n == 0 {
			t.Errorf("replica %d acknowledged no step command; want the load spread over all three", i)
		}
	}
	t.Logf("step commands acknowledged per replica: %d, %d, %d (replica %d killed)",
		load.perReplica[0].Load(), load.perReplica[1].Load(), load.perReplica[2].Load(), dead)

	// The plan streams opened before the kill on the survivors delivered the plan's
	// changes made through every replica, before and after the takeover.
	for i, events := range streams {
		if i == dead {
			continue
		}
		final := load.positions[watched]
		waitSSE(t, events, fmt.Sprintf("on replica %d, opened before the kill, position %d (every step)", i, final), func(doc map[string]any) bool {
			return uint64(num(doc, "position")) >= final
		})
	}

	// After the takeover: read-your-writes and SSE across the two survivors; then a
	// withdrawal every surviving replica's reactor reacts to.
	acrossReplicas(t, alive, w)
	withdrawVersion(t, alive, w)

	everyAcknowledgedStepLogged(t, alive[0], w, load)
	viewsEqualCleanRebuild(t, rdb, kdb.URL(), redisAt, prefix, rebuilt, alive)
}

// replicaWorld is what the replica test works on: one alliance, a protocol of many
// steps adopted by member A, and plans handed over to A.
type replicaSetup struct {
	admin, lead, memberA, auditor user
	leadHID, aHID                 string
	allianceID, protocolID        string
	steps                         []string
	plans                         []string
	lastPosition                  uint64
}

const (
	replicaPlans = 12
	replicaSteps = 24
)

func replicaWorld(t *testing.T, rs []*server) *replicaSetup {
	t.Helper()
	at := func(i int) *server { return rs[i%len(rs)] }
	w := &replicaSetup{}
	w.admin = rs[0].token(platformID, "", "directory-admin", "admin")
	w.auditor = rs[0].token(platformID, "", "qc-auditor", "auditor")
	dept := []map[string]string{{"id": "hematology", "name": "血液科"}}
	w.leadHID = at(0).command(&w.admin, "/v1/hospitals", map[string]any{"name": "瑞金医院", "regionCode": "310101", "level": "tertiary", "departments": dept}, http.StatusCreated).ID
	w.aHID = at(1).command(&w.admin, "/v1/hospitals", map[string]any{"name": "安康市中心医院", "regionCode": "610902", "level": "tertiary", "departments": dept}, http.StatusCreated).ID
	w.lead = rs[0].token(w.leadHID, "hematology", "zhao.lead", "lead")
	w.memberA = rs[0].token(w.aHID, "hematology", "li.ward-a", "member")
	w.allianceID = at(2).command(&w.lead, "/v1/alliances", map[string]any{"name": "replica alliance", "specialty": "lymphoma", "kind": "specialist"}, http.StatusCreated).ID
	at(0).command(&w.lead, "/v1/alliances/"+w.allianceID+"/members", map[string]any{"hospitalId": w.aHID, "tier": "core"}, http.StatusOK)
	w.protocolID = at(1).command(&w.lead, "/v1/alliances/"+w.allianceID+"/protocols", map[string]any{"title": "R-CHOP-21", "indication": "DLBCL"}, http.StatusCreated).ID
	var steps []map[string]any
	for i := range replicaSteps {
		id := fmt.Sprintf("s%02d", i)
		w.steps = append(w.steps, id)
		steps = append(steps, map[string]any{"stepId": id, "dayOffset": i, "activity": "visit " + id})
	}
	at(2).command(&w.lead, "/v1/protocols/"+w.protocolID+"/versions", map[string]any{"eligibility": "CD20+ DLBCL", "steps": steps}, http.StatusOK)
	at(0).command(&w.memberA, "/v1/protocols/"+w.protocolID+"/adoptions", map[string]any{"version": 1}, http.StatusCreated)
	for i := range replicaPlans {
		plan := at(i).command(&w.lead, "/v1/plans", map[string]any{"allianceId": w.allianceID, "protocolId": w.protocolID, "version": 1,
			"medicalRecordNumber": fmt.Sprintf("REPLICA-%04d", i), "startDate": "2026-11-23T00:00:00Z"}, http.StatusCreated)
		ho := at(i+1).command(&w.lead, "/v1/plans/"+plan.ID+"/handover", map[string]any{"toHospitalId": w.aHID}, http.StatusOK)
		// Read-your-writes across replicas: the handover went to one replica, the read
		// goes to the next, which never saw the command.
		view := at(i+2).get(&w.memberA, after("/v1/plans/"+plan.ID, ho.Position), nil)
		if got := str(view, "responsibleHospitalId"); got != w.aHID {
			t.Fatalf("plan %s read on replica %d at minPosition %d after a handover on replica %d: responsible %q, want %q",
				plan.ID, (i+2)%3, ho.Position, (i+1)%3, got, w.aHID)
		}
		w.plans = append(w.plans, plan.ID)
		w.lastPosition = ho.Position
	}
	return w
}

// doubleBooking books one expert into overlapping windows through the three replicas at
// once, in several rounds: each round exactly one booking wins and the others get
// schedule_overlap, and the expert's calendar (read on yet another replica) holds it.
func doubleBooking(t *testing.T, rs []*server, w *replicaSetup) {
	t.Helper()
	day := time.Now().UTC().Add(72 * time.Hour).Truncate(24 * time.Hour)
	for round := range 4 {
		// Only registered practitioners are booked: one per round, at the lead hospital.
		expert := rs[round%len(rs)].command(&w.lead, "/v1/practitioners", map[string]any{"hospitalId": w.leadHID, "departmentId": "hematology",
			"name": fmt.Sprintf("赵医生%d", round+1), "title": "主任医师", "specialties": []string{"淋巴瘤"}}, http.StatusCreated).ID
		start := day.Add(time.Duration(round) * 24 * time.Hour)
		var dispatches []string
		for i := range rs {
			window := map[string]any{"start": start.Add(time.Duration(9+i) * time.Hour), "end": start.Add(time.Duration(12+i) * time.Hour)}
			dispatches = append(dispatches, rs[i].command(&w.memberA, "/v1/dispatches", map[string]any{"allianceId": w.allianceID,
				"kind": "clinic", "specialty": "lymphoma", "window": window}, http.StatusCreated).ID)
		}
		type outcome struct {
			status int
			body   []byte
			err    error
		}
		outcomes := make([]outcome, len(rs))
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for i := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				st, body, err := rs[i].tryPost(&w.lead, "/v1/dispatches/"+dispatches[i]+"/assign", map[string]any{"expertId": expert})
				outcomes[i] = outcome{st, body, err}
			}()
		}
		close(gate)
		wg.Wait()
		winner, maxPos := -1, uint64(0)
		for i, o := range outcomes {
			switch {
			case o.err != nil:
				t.Fatalf("round %d: assign on replica %d: %v", round, i, o.err)
			case o.status == http.StatusOK:
				if winner >= 0 {
					t.Fatalf("round %d: expert %s booked twice in overlapping windows, through replicas %d and %d", round, expert, winner, i)
				}
				winner = i
				var res cmdResult
				_ = json.Unmarshal(o.body, &res)
				maxPos = max(maxPos, res.Position)
			case o.status == http.StatusConflict:
				var e errBody
				_ = json.Unmarshal(o.body, &e)
				if e.Code != "schedule_overlap" {
					t.Fatalf("round %d: assign on replica %d: got 409 %q, want schedule_overlap; body %s", round, i, e.Code, o.body)
				}
			default:
				t.Fatalf("round %d: assign on replica %d: got status %d, want 200 or 409 schedule_overlap; body %s", round, i, o.status, o.body)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no booking of expert %s won; outcomes %v", round, expert, outcomes)
		}
		cal := rs[(winner+1)%len(rs)].get(&w.lead, after("/v1/experts/"+expert+"/calendar", maxPos), nil)
		if items := list(cal, "items"); len(items) != 1 || str(items[0], "dispatchId") != dispatches[winner] {
			t.Errorf("round %d: calendar of %s read on replica %d: got %v, want only dispatch %s", round, expert, (winner+1)%len(rs), items, dispatches[winner])
		}
	}
}

// stepJob is one step command of the load, with its idempotency key: a command whose
// replica dies before it answers is sent again, with the same key, to another replica.
type stepJob struct {
	plan, step, key string
}

// stepLoad records every step of every plan, a few workers at a time, round robin
// over the replicas.
type stepLoad struct {
	w          *replicaSetup
	rs         []*server
	jobs       []stepJob
	acked      atomic.Int64
	resent     atomic.Int64
	perReplica [3]atomic.Int64
	mu         sync.Mutex
	ackedCond  *sync.Cond
	positions  map[string]uint64 // plan -> highest acknowledged position
}

func newStepLoad(w *replicaSetup, rs []*server) *stepLoad {
	l := &stepLoad{w: w, rs: rs, positions: map[string]uint64{}}
	l.ackedCond = sync.NewCond(&l.mu)
	for _, step := range w.steps {
		for _, plan := range w.plans {
			l.jobs = append(l.jobs, stepJob{plan: plan, step: step, key: newKey()})
		}
	}
	return l
}

// waitAcked blocks until n commands were acknowledged.
func (l *stepLoad) waitAcked(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.acked.Load() < int64(n) {
		l.ackedCond.Wait()
	}
}

// run sends every job, calling hook before it hands out job at; a job is done when a replica acknowledged it (200). Transport
// errors (a killed replica) and 5xx are retried on the next replica with the same
// Idempotency-Key, as a client behind a load balancer would.
func (l *stepLoad) run(t *testing.T, at int, hook func()) {
	t.Helper()
	next := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := l.send(i); err != nil {
					failed.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for i := range l.jobs {
		if i == at {
			hook()
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	t.Logf("load: %d step commands acknowledged, %d resent to another replica after a failure", l.acked.Load(), l.resent.Load())
}

func (l *stepLoad) send(i int) error {
	job := l.jobs[i]
	path := "/v1/plans/" + job.plan + "/steps/" + job.step + "/complete"
	deadline := time.Now().Add(40 * time.Second)
	var last string
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		r := (i + attempt) % len(l.rs)
		s := l.rs[r]
		st, body, err := s.tryPostKey(&l.w.memberA, path, map[string]any{"notes": "replica load"}, job.key)
		switch {
		case err == nil && st == http.StatusOK:
			var res cmdResult
			if err := json.Unmarshal(body, &res); err != nil {
				return fmt.Errorf("%s: body %s: %v", path, body, err)
			}
			l.mu.Lock()
			l.positions[job.plan] = max(l.positions[job.plan], res.Position)
			l.acked.Add(1)
			l.perReplica[r].Add(1)
			l.ackedCond.Broadcast()
			l.mu.Unlock()
			return nil
		case err == nil && st < 500:
			return fmt.Errorf("POST %s on replica %d: got status %d, want 200; body %s", path, r, st, body)
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("status %d: %s", st, body)
		}
		l.resent.Add(1)
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("POST %s: no replica acknowledged it within 40s; last: %s", path, last)
}

// tryPostKey is tryPost with an Idempotency-Key.
func (s *server) tryPostKey(u *user, path string, body any, key string) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+u.Token)
	req.Header.Set("Idempotency-Key", key)
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// leaseHolder returns the index of the replica whose process holds the projector
// lease of the current generation, and the lease's value (-1 when none holds it).
func leaseHolder(ctx context.Context, rdb *redis.Client, prefix string, rs []*server) (int, string, error) {
	gen, err := rdb.Get(ctx, prefix+":current").Result()
	if err != nil {
		return -1, "", err
	}
	val, err := rdb.Get(ctx, prefix+":lease:"+gen).Result()
	if errors.Is(err, redis.Nil) {
		return -1, "", nil
	}
	if err != nil {
		return -1, "", err
	}
	// The value is <host>-<pid>-<random>.
	parts := strings.Split(val, "-")
	if len(parts) < 3 {
		return -1, val, fmt.Errorf("lease value %q is not host-pid-token", val)
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil {
		return -1, val, fmt.Errorf("lease value %q: %v", val, err)
	}
	for i, s := range rs {
		if s.cmd.Process.Pid == pid && s.running() {
			return i, val, nil
		}
	}
	return -1, val, nil
}

// killLeader kills the replica holding the projector lease with SIGKILL; it returns
// the replica's index (-1 when it failed) and the time of the kill.
func killLeader(t *testing.T, rdb *redis.Client, prefix string, rs []*server) (int, time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leader, val, err := leaseHolder(ctx, rdb, prefix, rs)
	if err != nil || leader < 0 {
		t.Errorf("find the projector lease holder: holder %d, value %q, err %v", leader, val, err)
		return -1, time.Time{}
	}
	killedAt := time.Now()
	if err := rs[leader].cmd.Process.Kill(); err != nil {
		t.Errorf("SIGKILL replica %d: %v", leader, err)
		return -1, time.Time{}
	}
	<-rs[leader].exited
	return leader, killedAt
}

// waitTakeover measures how long the lease takes to pass from the killed replica to
// another. The bound: the dead writer renewed the lease at most a third of the lease
// before dying, so it expires at most one lease after the kill; a standby tries every
// tenth of the lease; one second more is for a loaded machine.
func waitTakeover(t *testing.T, rdb *redis.Client, prefix string, rs []*server, dead int, killedAt time.Time) {
	if dead < 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bound := replicaLease + replicaLease/10 + time.Second
	for {
		next, val, err := leaseHolder(ctx, rdb, prefix, rs)
		if err == nil && next >= 0 && next != dead {
			took := time.Since(killedAt)
			t.Logf("projector lease: replica %d killed, replica %d took over after %v (lease %v)", dead, next, took.Round(time.Millisecond), replicaLease)
			if took > bound {
				t.Errorf("projector takeover took %v, want at most %v (lease %v)", took, bound, replicaLease)
			}
			return
		}
		if ctx.Err() != nil {
			t.Errorf("no replica took the projector lease within 30s of killing replica %d (lease now %q, %v)", dead, val, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// acrossReplicas: a command on one replica, a minPosition read and an SSE event on the
// other.
func acrossReplicas(t *testing.T, alive []*server, w *replicaSetup) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, plan := range w.plans[:4] {
		from, to := alive[i%2], alive[(i+1)%2]
		events := to.subscribe(ctx, &w.memberA, "/v1/plans/"+plan+"/stream")
		res := from.command(&w.lead, "/v1/plans/"+plan+"/complete", map[string]any{}, http.StatusOK)
		waitSSE(t, events, "the plan completed on the other replica", func(doc map[string]any) bool {
			return uint64(num(doc, "position")) >= res.Position && str(doc, "status") == "completed"
		})
		view := to.get(&w.memberA, after("/v1/plans/"+plan, res.Position), nil)
		if str(view, "status") != "completed" {
			t.Errorf("plan %s read on the other replica at minPosition %d: status %q, want completed", plan, res.Position, str(view, "status"))
		}
	}
}

// withdrawVersion withdraws the protocol version the open plans are on, through one
// replica, and waits until another shows every open plan flagged. Each replica runs a
// reactor that flags the plans; everyAcknowledgedStepLogged checks each is flagged once.
func withdrawVersion(t *testing.T, alive []*server, w *replicaSetup) {
	t.Helper()
	wd := alive[0].command(&w.lead, "/v1/protocols/"+w.protocolID+"/versions/1/withdraw",
		map[string]any{"reason": "dosing table error"}, http.StatusOK)
	for _, plan := range w.plans[4:] {
		deadline := time.Now().Add(20 * time.Second)
		for {
			v := alive[1].get(&w.auditor, after("/v1/plans/"+plan, wd.Position), nil)
			if v["flagged"] == true {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("plan %s not flagged 20s after its version was withdrawn; view %v", plan, v)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// everyAcknowledgedStepLogged reads the whole log through the audit API and checks that
// every acknowledged step command is there exactly once, and nothing else was recorded;
// and that the surviving replicas' reactors, all following the withdrawal, flagged
// every open plan exactly once.
func everyAcknowledgedStepLogged(t *testing.T, s *server, w *replicaSetup, l *stepLoad) {
	t.Helper()
	seen, flags := map[string]int{}, map[string]int{}
	from := uint64(0)
	for {
		var page struct {
			Events []struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			} `json:"events"`
			Next uint64 `json:"next"`
		}
		s.get(&w.auditor, "/v1/audit/events?limit=1000&from="+strconv.FormatUint(from, 10), &page)
		for _, e := range page.Events {
			if e.Type != "PlanStepCompleted" && e.Type != "PlanFlagged" {
				continue
			}
			var d struct{ PlanID, StepID string }
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatalf("%s data %s: %v", e.Type, e.Data, err)
			}
			if e.Type == "PlanFlagged" {
				flags[d.PlanID]++
				continue
			}
			seen[d.PlanID+"/"+d.StepID]++
		}
		if len(page.Events) == 0 || page.Next <= from {
			break
		}
		from = page.Next
	}
	total := 0
	for _, n := range seen {
		total += n
	}
	if total != len(l.jobs) {
		t.Errorf("the log holds %d step completions, want exactly the %d acknowledged", total, len(l.jobs))
	}
	for _, j := range l.jobs {
		if n := seen[j.plan+"/"+j.step]; n != 1 {
			t.Errorf("acknowledged step %s of plan %s is in the log %d times, want once", j.step, j.plan, n)
		}
	}
	for _, plan := range w.plans[4:] {
		if n := flags[plan]; n != 1 {
			t.Errorf("open plan %s was flagged %d times after the withdrawal, want once", plan, n)
		}
	}
}

// viewsEqualCleanRebuild stops the replicas one by one (SIGTERM: each flushes its access
// log), lets the last one's projector catch up with the head of the log, stops it too,
// then rebuilds the views from the log into a fresh prefix with `allianced rebuild` and
// compares every key of both.
func viewsEqualCleanRebuild(t *testing.T, rdb *redis.Client, kdbURL, redisAt, prefix, rebuilt string, alive []*server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store, err := kurrentdb.Open(ctx, kdbURL, kurrentdb.Options{})
	if err != nil {
		t.Fatalf("open the log: %v", err)
	}
	defer store.Close()
	for _, s := range alive[:len(alive)-1] {
		s.stop()
	}
	last := alive[len(alive)-1]
	// Wait for the views to reach the head of the log and the log to stay still (the
	// last replica's access log flushes every 250 ms).
	var head uint64
	for stable := 0; stable < 3; {
		if ctx.Err() != nil {
			t.Fatalf("the views did not catch up with the log (head %d)", head)
		}
		h, err := store.Head(ctx)
		if err != nil {
			t.Fatalf("head of the log: %v", err)
		}
		gen := rdb.Get(ctx, prefix+":current").Val()
		cp, _ := strconv.ParseUint(rdb.Get(ctx, prefix+":"+gen+":checkpoint").Val(), 10, 64)
		if uint64(h) == head && cp >= head {
			stable++
		} else {
			stable = 0
		}
		head = uint64(h)
		time.Sleep(300 * time.Millisecond)
	}
	last.stop()
	if h, err := store.Head(ctx); err != nil || uint64(h) != head {
		t.Fatalf("the log moved while the last replica stopped: head %d, was %d (%v)", h, head, err)
	}
	runCLI(t, "rebuild", "--data", t.TempDir(), "--kurrentdb", kdbURL, "--redis", redisAt, "--redis-prefix", rebuilt)
	live, clean := viewDump(t, rdb, prefix), viewDump(t, rdb, rebuilt)
	if live != clean {
		t.Errorf("the views the replicas built differ from a clean rebuild of the same log:\n%s", firstDifference(live, clean))
	}
	if !strings.Contains(live, "plan:") {
		t.Errorf("the view dump has no plan documents; dump starts %.300s", live)
	}
}

// viewDump renders every key of prefix's current generation (generation name removed)
// in a canonical order: two dumps are equal exactly when the views hold the same data.
func viewDump(t *testing.T, rdb *redis.Client, prefix string) string {
	t.Helper()
	ctx := context.Background()
	gen, err := rdb.Get(ctx, prefix+":current").Result()
	if err != nil {
		t.Fatalf("current generation of %s: %v", prefix, err)
	}
	root := prefix + ":" + gen + ":"
	keys := redisKeys(t, root)
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		// The catch-up target records the head when a projector started on the
		// generation: run state, not view data (a rebuild has none).
		if strings.TrimPrefix(k, root) == "catchup" {
			continue
		}
		typ := rdb.Type(ctx, k).Val()
		fmt.Fprintf(&b, "%s (%s)\n", strings.TrimPrefix(k, root), typ)
		switch typ {
		case "string":
			fmt.Fprintf(&b, "  %s\n", rdb.Get(ctx, k).Val())
		case "hash":
			m := rdb.HGetAll(ctx, k).Val()
			fields := make([]string, 0, len(m))
			for f := range m {
				fields = append(fields, f)
			}
			slices.Sort(fields)
			for _, f := range fields {
				fmt.Fprintf(&b, "  %s = %s\n", f, m[f])
			}
		case "zset":
			for _, z := range rdb.ZRangeWithScores(ctx, k, 0, -1).Val() {
				fmt.Fprintf(&b, "  %v %v\n", z.Score, z.Member)
			}
		case "set":
			m := rdb.SMembers(ctx, k).Val()
			slices.Sort(m)
			fmt.Fprintf(&b, "  %v\n", m)
		case "list":
			fmt.Fprintf(&b, "  %v\n", rdb.LRange(ctx, k, 0, -1).Val())
		default:
			t.Fatalf("unexpected key type %s of %s", typ, k)
		}
	}
	return b.String()
}

// firstDifference shows the first differing line of two dumps, with its neighbours.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\n replicas: %q\n  rebuild: %q\n(replicas' lines %d..: %q)", i, gl, wl, lo, g[lo:min(len(g), i+3)])
		}
	}
	return "(no difference)"
}

func randomHex(t *testing.T) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
