package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
	"github.com/oklog/ulid/v2"
	"github.com/redis/go-redis/v9"
)

// MustRedis returns a client of the Redis at 127.0.0.1:6379, or skips the test when
// none answers.
func MustRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", PoolSize: 32})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		tb.Skipf("no Redis answers at 127.0.0.1:6379 (%v): start one (e.g. .ci/run does) to run the projection tests", err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// MustPrefix returns a key prefix unique to this test and deletes its keys afterwards.
func MustPrefix(tb testing.TB, rdb *redis.Client) string {
	tb.Helper()
	prefix := "ptest-" + strings.ToLower(ulid.Make().String())
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 1000)
			rdb.Unlink(ctx, keys[:n]...)
			keys = keys[n:]
		}
	})
	return prefix
}

// MustStore opens an embedded event store in a temporary directory.
func MustStore(tb testing.TB) *embedded.Store {
	tb.Helper()
	s, err := embedded.Open(tb.TempDir(), embedded.Options{})
	if err != nil {
		tb.Fatalf("open embedded store: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// appendEvents appends events to stream with envelopes, as the command path would.
func appendEvents(tb testing.TB, store eventstore.Store, stream string, actor domain.Actor, at time.Time, evs ...domain.Event) eventstore.AppendResult {
	tb.Helper()
	data := make([]eventstore.EventData, len(evs))
	for i, ev := range evs {
		typ, schema, payload, err := domain.EncodeEvent(ev)
		if err != nil {
			tb.Fatalf("encode %T: %v", ev, err)
		}
		id := ulid.Make()
		md, err := json.Marshal(domain.Envelope{EventID: id, Type: typ, SchemaVersion: schema, Stream: stream,
			OccurredAt: at.UTC(), Actor: actor})
		if err != nil {
			tb.Fatal(err)
		}
		data[i] = eventstore.EventData{ID: id, Type: typ, Data: payload, Metadata: md}
	}
	res, err := store.Append(context.Background(), stream, eventstore.Any(), data)
	if err != nil {
		tb.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

// runProjector runs a projector until the test ends and returns it.
func runProjector(tb testing.TB, store eventstore.Store, rdb redis.UniversalClient, opt projections.Options) (*projections.Projector, context.CancelFunc) {
	tb.Helper()
	p := projections.NewProjector(store, rdb, opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
	}
	tb.Cleanup(stop)
	return p, stop
}

// waitCaughtUp waits until the current generation's checkpoint reaches the log's head.
func waitCaughtUp(tb testing.TB, p *projections.Projector) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		lag, err := p.Lag(context.Background())
		if err == nil && lag.Checkpoint >= lag.Head && lag.Head > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	lag, err := p.Lag(context.Background())
	tb.Fatalf("projector did not catch up: %+v %v", lag, err)
}

// canonicalDump renders every key of the current generation of prefix, with the
// generation name replaced, in a canonical order: two dumps are equal exactly when the
// views hold the same data.
func canonicalDump(tb testing.TB, rdb *redis.Client, prefix string) string {
	tb.Helper()
	ctx := context.Background()
	gen, err := rdb.Get(ctx, prefix+":current").Result()
	if err != nil {
		tb.Fatalf("read current generation: %v", err)
	}
	root := prefix + ":" + gen + ":"
	var keys []string
	iter := rdb.Scan(ctx, 0, root+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Fatal(err)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		name := strings.TrimPrefix(k, root)
		if name == "catchup" {
			continue // when the live projector last started, not what the views hold
		}
		typ := rdb.Type(ctx, k).Val()
		fmt.Fprintf(&b, "%s (%s)\n", name, typ)
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
		default:
			tb.Fatalf("unexpected key type %s of %s", typ, k)
		}
	}
	return b.String()
}

func newID() string { return ulid.Make().String() }

// readConcurrently calls read from four goroutines, again and again, until the stop it
// returns is called; stop waits for them and returns every failure read reported and
// how many reads ran.
func readConcurrently(read func() []string) (stop func() (failures []string, reads int)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	reads := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				f := read()
				mu.Lock()
				reads++
				failures = append(failures, f...)
				mu.Unlock()
			}
		}()
	}
	return func() ([]string, int) {
		close(done)
		wg.Wait()
		return failures, reads
	}
}
