// Command benchstore measures the embedded event store against raw Pebble in one run, so
// the figures share the machine's state: durable appends from many writers (group
// commit), contended commands through eventstore.Handle, batched appends, reading and
// decoding the global log, and live subscription latency. The raw baseline and the store
// take turns in short rounds (-rounds), so a noisy neighbour hurts both alike; ratios are
// the median of the rounds'. With -compare, bbolt's db.Batch (the other embedded storage
// library in go.mod) runs in the same rounds under the same 64-writer load.
//
// Events are real domain events (HospitalDepartmentAdded in a full envelope, hash-chained,
// about -size bytes). In the append phases they are encoded before timing, as the raw
// baseline's values are; the Handle phase encodes, loads and decodes as the service does.
//
//	go run ./cmd/benchstore             # about 45 s
//	go run ./cmd/benchstore -compare    # about 50 s
//	go run ./cmd/benchstore -d 2s -phases distinct,batch
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
)

func main() {
	dur := flag.Duration("d", 4*time.Second, "duration of each timed phase")
	writers := flag.Int("c", 64, "concurrent writers")
	size := flag.Int("size", 500, "approximate bytes per event (envelope + payload) and per raw record")
	streams := flag.Int("streams", 16, "streams the contended phase's writers share")
	batch := flag.Int("batch", 100, "events per append in the batched phase")
	streamLen := flag.Int("streamlen", 50, "events after which the contended phase moves to fresh streams (aggregate size)")
	compare := flag.Bool("compare", false, "also run bbolt db.Batch with the same writers, in the same rounds")
	dirFlag := flag.String("dir", "", "scratch directory (default: a new temporary one, removed after)")
	readN := flag.Int("readn", 500_000, "events the read phase first appends when it finds the log empty (e.g. -phases read alone)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the embedded phases to this file")
	phaseList := flag.String("phases", "distinct,contended,batch,read,live", "phases to run, comma-separated")
	rounds := flag.Int("rounds", 3, "rounds in which the raw baseline and the store take turns")
	flag.Parse()
	phases := map[string]bool{}
	for _, p := range strings.Split(*phaseList, ",") {
		phases[strings.TrimSpace(p)] = true
	}

	dir := *dirFlag
	if dir == "" {
		d, err := os.MkdirTemp("", "benchstore-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("benchstore: %d writers, ~%d-byte events, %v per phase, GOMAXPROCS=%d, %s\n",
		*writers, *size, *dur, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))

	st, err := embedded.Open(filepath.Join(dir, "store"), embedded.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	slice := *dur / time.Duration(*rounds)
	if phases["distinct"] {
		// Raw Pebble, the embedded store (and bbolt) take turns in short rounds, so a
		// noisy neighbour hurts them alike; the ratio is the median of the rounds'.
		raw, closeRaw := newRawPebble(filepath.Join(dir, "raw"), *writers, *size)
		emb := newDistinct(ctx, st, *writers, *size, *dur)
		var bolt func(time.Duration) result
		if *compare {
			var closeBolt func()
			bolt, closeBolt = newBoltBatch(filepath.Join(dir, "bolt.db"), *writers, *size)
			defer closeBolt()
		}
		var rawAll, embAll, boltAll result
		var ratios, boltRatios []float64
		for r := range *rounds {
			rr, er := raw(slice), emb(slice)
			rawAll, embAll = rawAll.add(rr), embAll.add(er)
			ratios = append(ratios, er.rate()/rr.rate())
			line := fmt.Sprintf("    round %d: raw %.0f/s, embedded %.0f/s, ratio %.2f", r+1, rr.rate(), er.rate(), er.rate()/rr.rate())
			if bolt != nil {
				br := bolt(slice)
				boltAll = boltAll.add(br)
				boltRatios = append(boltRatios, er.rate()/br.rate())
				line += fmt.Sprintf(", bbolt %.0f/s", br.rate())
			}
			fmt.Println(line)
		}
		closeRaw()
		rawAll.print("raw pebble Set+Sync")
		embAll.print(fmt.Sprintf("embedded, %d writers, 1 event/app.", *writers))
		fmt.Printf("    ratio to raw pebble (median of rounds): %.2f  (bars: >= 50000 events/s, >= 0.50 of raw, p99 < 10ms)\n", median(ratios))
		if bolt != nil {
			boltAll.print("bbolt db.Batch")
			fmt.Printf("    embedded/bbolt (median of rounds): %.2f\n", median(boltRatios))
		}
	}
	if phases["contended"] {
		cmds, gaveUp, conflicts, attempts, cmdLat := contended(ctx, st, *writers, *streams, *streamLen, *dur)
		fmt.Printf("%-34s commands=%d rate=%.0f/s p50=%v p99=%v conflicts=%d of %d appends (%.1f%%) gave-up=%d\n",
			fmt.Sprintf("embedded, Handle, %d streams", *streams), cmds, float64(cmds)/dur.Seconds(),
			pct(cmdLat, 0.50), pct(cmdLat, 0.99), conflicts, attempts, 100*float64(conflicts)/float64(max(attempts, 1)), gaveUp)
	}
	if phases["batch"] {
		raw, closeRaw := newRawPebbleBatches(filepath.Join(dir, "rawbatch"), *batch, *size)
		emb := newBatches(ctx, st, *batch, *size, *dur)
		var rawAll, embAll result
		for r := range *rounds {
			rr, er := raw(slice), emb(slice)
			rawAll, embAll = rawAll.add(rr), embAll.add(er)
			fmt.Printf("    round %d: raw %.0f/s, embedded %.0f/s\n", r+1, rr.rate(), er.rate())
		}
		closeRaw()
		fmt.Printf("%-34s events=%d rate=%.0f/s p50=%v p99=%v per batch\n",
			fmt.Sprintf("raw pebble, 1 writer, %d/batch", *batch), rawAll.n, rawAll.rate(), pct(rawAll.lat, 0.50), pct(rawAll.lat, 0.99))
		fmt.Printf("%-34s events=%d rate=%.0f/s p50=%v p99=%v per append  (bar: >= 100000 events/s)\n",
			fmt.Sprintf("embedded, 1 writer, %d/append", *batch), embAll.n, embAll.rate(), pct(embAll.lat, 0.50), pct(embAll.lat, 0.99))
	}
	if phases["read"] {
		if err := fillLog(ctx, st, *readN, *size); err != nil {
			log.Fatal(err)
		}
		cpu0 := processCPU()
		n, took, err := readDecode(ctx, st, *dur, false)
		if err != nil {
			log.Fatal(err)
		}
		cpu1 := processCPU()
		fmt.Printf("%-34s events=%d rate=%.0f/s cpu=%.2fµs/event\n", "embedded, ReadAll only", n, float64(n)/took.Seconds(),
			float64((cpu1-cpu0).Microseconds())/float64(max(n, 1)))
		n, took, err = readDecode(ctx, st, *dur, true)
		if err != nil {
			log.Fatal(err)
		}
		cpu2 := processCPU()
		perEvent := float64((cpu2 - cpu1).Microseconds()) / float64(max(n, 1))
		fmt.Printf("%-34s events=%d rate=%.0f/s cpu=%.2fµs/event (%d cores' worth: %.0f/s)  (bar: >= 500000 events/s)\n",
			"embedded, ReadAll + Decode", n, float64(n)/took.Seconds(), perEvent, runtime.GOMAXPROCS(0), float64(runtime.GOMAXPROCS(0))*1e6/perEvent)
	}
	if phases["live"] {
		live := liveLatency(ctx, st, 8, *size, *dur)
		fmt.Printf("%-34s events=%d p50=%v p99=%v max=%v  (bar: p99 < 5ms)\n", "embedded, live delivery after ack",
			len(live), pct(live, 0.50), pct(live, 0.99), pct(live, 1))
	}
}

// result is a timed phase: operations done and their latencies.
type result struct {
	n   int
	lat []time.Duration
	dur time.Duration
}

func (r result) rate() float64 { return float64(r.n) / r.dur.Seconds() }

// add merges two timed runs of the same kind.
func (r result) add(o result) result {
	return result{n: r.n + o.n, lat: append(r.lat, o.lat...), dur: r.dur + o.dur}
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs) == 0 {
		return 0
	}
	return xs[len(xs)/2]
}

func (r result) print(name string) {
	fmt.Printf("%-34s events=%d rate=%.0f/s p50=%v p99=%v\n", name, r.n, r.rate(), pct(r.lat, 0.50), pct(r.lat, 0.99))
}

// pct returns the p-quantile of lat, sorting it in place.
func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[int(p*float64(len(lat)-1))].Round(time.Microsecond)
}

// runWriters runs w goroutines calling op until d passes, collecting latencies; op
// returns how many events it wrote.
func runWriters(w int, d time.Duration, op func(g, i int) int) result {
	lat := make([][]time.Duration, w)
	counts := make([]int, w)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for g := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				counts[g] += op(g, i)
				lat[g] = append(lat[g], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	r := result{dur: time.Since(start)}
	for g := range w {
		r.n += counts[g]
		r.lat = append(r.lat, lat[g]...)
	}
	return r
}

// newRawPebble is the baseline of /work/shared/bench/cmd/baseline-pebble: Set with Sync
// from w goroutines on default options. It returns a function running it for d.
func newRawPebble(dir string, w, size int) (func(d time.Duration) result, func()) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
	if err != nil {
		log.Fatal(err)
	}
	var seq atomic.Uint64
	value := make([]byte, size)
	return func(d time.Duration) result {
		return runWriters(w, d, func(int, int) int {
			key := binary.BigEndian.AppendUint64(nil, seq.Add(1))
			if err := db.Set(key, value, pebble.Sync); err != nil {
				log.Fatal(err)
			}
			return 1
		})
	}, func() { db.Close() }
}

// newRawPebbleBatches is the baseline of the batched phase: one goroutine committing
// batches of n records with Sync.
func newRawPebbleBatches(dir string, n, size int) (func(d time.Duration) result, func()) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
	if err != nil {
		log.Fatal(err)
	}
	value := make([]byte, size)
	var seq uint64
	return func(d time.Duration) result {
		return runWriters(1, d, func(int, int) int {
			b := db.NewBatch()
			for range n {
				seq++
				_ = b.Set(binary.BigEndian.AppendUint64(nil, seq), value, nil)
			}
			if err := b.Commit(pebble.Sync); err != nil {
				log.Fatal(err)
			}
			b.Close()
			return n
		})
	}, func() { db.Close() }
}

type quiet struct{}

func (quiet) Infof(string, ...any)              {}
func (quiet) Errorf(format string, args ...any) { log.Printf(format, args...) }
func (quiet) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }

// eventBuilder makes realistic events: a HospitalDepartmentAdded payload in a full
// envelope chained to the previous event's hash, padded to about size bytes.
type eventBuilder struct {
	hospital string
	stream   string
	version  uint64 // revision of the next event
	prevHash string
	pad      string
}

func newBuilder(stream string, size int) *eventBuilder {
	b := &eventBuilder{hospital: ulid.Make().String(), stream: stream}
	probe := b.next(0)
	if n := size - len(probe.Data) - len(probe.Metadata); n > 0 {
		b.pad = strings.Repeat("科", n/3)
	}
	b.version, b.prevHash = 0, ""
	return b
}

func (b *eventBuilder) next(i int) eventstore.EventData {
	ev := domain.HospitalDepartmentAdded{HospitalID: b.hospital,
		Department: domain.Department{ID: fmt.Sprintf("dept-%d", i), Name: "心血管内科" + b.pad}}
	typ, schema, payload, err := domain.EncodeEvent(ev)
	if err != nil {
		log.Fatal(err)
	}
	id := ulid.Make()
	env := domain.Envelope{EventID: id, Type: typ, SchemaVersion: schema, Stream: b.stream, StreamVersion: b.version,
		OccurredAt: time.Now().UTC(), Actor: domain.Actor{HospitalID: b.hospital, DepartmentID: "cardio", UserID: "u-bench", Role: "admin"},
		CorrelationID: ulid.Make().String(), PrevHash: b.prevHash}
	md, err := json.Marshal(env)
	if err != nil {
		log.Fatal(err)
	}
	b.version++
	b.prevHash = eventstore.ChainHash(md, payload)
	return eventstore.EventData{ID: id, Type: typ, Data: payload, Metadata: md}
}

// prebuild encodes n events of b's stream ahead of a timed phase, so the phase measures
// the store as the raw Pebble baseline does (its values are made before timing too);
// the command-path phase includes encoding.
func prebuild(b *eventBuilder, n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = b.next(i)
	}
	return out
}

// prebuildAll fills pools[g] with n events of builders[g], in parallel.
func prebuildAll(builders []*eventBuilder, n int) [][]eventstore.EventData {
	pools := make([][]eventstore.EventData, len(builders))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for g, b := range builders {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			pools[g] = prebuild(b, n)
			<-sem
		}()
	}
	wg.Wait()
	return pools
}

// newDistinct has w writers each append one event at a time to its own stream; the
// returned function runs them for d, carrying on where the last run stopped. A writer
// that runs out of prebuilt events encodes more as it goes.
func newDistinct(ctx context.Context, st eventstore.Store, w, size int, total time.Duration) func(time.Duration) result {
	builders := make([]*eventBuilder, w)
	for g := range builders {
		builders[g] = newBuilder(fmt.Sprintf("bench-distinct-%s-%d", ulid.Make(), g), size)
	}
	pools := prebuildAll(builders, int(total.Seconds()*100_000)/w+1)
	next := make([]int, w)
	return func(d time.Duration) result {
		return runWriters(w, d, func(g, _ int) int {
			i := next[g]
			next[g]++
			var ev eventstore.EventData
			if i < len(pools[g]) {
				ev = pools[g][i]
			} else {
				ev = builders[g].next(i)
			}
			exp := eventstore.NoStream()
			if i > 0 {
				exp = eventstore.Exact(uint64(i - 1))
			}
			if _, err := st.Append(ctx, builders[g].stream, exp, []eventstore.EventData{ev}); err != nil {
				log.Fatal(err)
			}
			return 1
		})
	}
}

// countingStore counts appends and their version conflicts.
type countingStore struct {
	eventstore.Store
	appends, conflicts atomic.Int64
}

func (c *countingStore) Append(ctx context.Context, stream string, exp eventstore.ExpectedVersion, evs []eventstore.EventData) (eventstore.AppendResult, error) {
	c.appends.Add(1)
	res, err := c.Store.Append(ctx, stream, exp, evs)
	var wrong *eventstore.WrongExpectedVersionError
	if errors.As(err, &wrong) {
		c.conflicts.Add(1)
	}
	return res, err
}

// contended has w writers run hospital commands through eventstore.Handle on k streams
// at a time. A stream moves on to a fresh one after streamLen events, so loads stay the
// size of a real aggregate's stream while the writers keep colliding.
func contended(ctx context.Context, st eventstore.Store, w, k, streamLen int, d time.Duration) (cmds int, gaveUp, conflicts, appends int64, lat []time.Duration) {
	cs := &countingStore{Store: st}
	var gaveUpN atomic.Int64
	c := eventstore.NewCommands(cs)
	run := ulid.Make().String()
	slotCount := make([]atomic.Int64, k)
	hospitals := sync.Map{} // stream -> hospital id
	r := runWriters(w, d, func(g, i int) int {
		slot := g % k
		gen := slotCount[slot].Load() / int64(streamLen)
		stream := fmt.Sprintf("bench-contended-%s-%d-%d", run, slot, gen)
		hid, _ := hospitals.LoadOrStore(stream, ulid.Make().String())
		meta := domain.Meta{Actor: domain.Actor{HospitalID: hid.(string), Role: "admin"}, At: time.Now(),
			IdempotencyKey: fmt.Sprintf("k-%d-%d", g, i)}
		_, err := eventstore.Handle(ctx, c, stream, meta, nil, func(h domain.Hospital) ([]domain.Event, error) {
			if !h.Exists() {
				return domain.DecideHospital(h, domain.RegisterHospital{HospitalID: hid.(string), Name: "市第一人民医院",
					RegionCode: "310115", Level: domain.LevelTertiary})
			}
			return domain.DecideHospital(h, domain.AddDepartment{HospitalID: h.ID,
				Department: domain.Department{ID: fmt.Sprintf("d-%d-%d", g, i), Name: "血液科"}})
		})
		var wrong *eventstore.WrongExpectedVersionError
		switch {
		case errors.As(err, &wrong):
			// Handle gave up after its bounded retries: counted, not fatal.
			gaveUpN.Add(1)
			return 0
		case err != nil:
			log.Fatalf("contended command: %v", err)
		}
		slotCount[slot].Add(1)
		return 1
	})
	return r.n, gaveUpN.Load(), cs.conflicts.Load(), cs.appends.Load(), r.lat
}

// newBatches has one writer append n events per append, from events prebuilt on
// several streams in parallel; the returned function runs it for d, carrying on.
func newBatches(ctx context.Context, st eventstore.Store, n, size int, total time.Duration) func(time.Duration) result {
	const streams = 16
	builders := make([]*eventBuilder, streams)
	for k := range builders {
		builders[k] = newBuilder(fmt.Sprintf("bench-batch-%s-%d", ulid.Make(), k), size)
	}
	perStream := (int(total.Seconds()*150_000)/streams/n + 1) * n
	pools := prebuildAll(builders, perStream)
	next := 0
	return func(d time.Duration) result {
		return runWriters(1, d, func(int, int) int {
			// Appends go round-robin over the streams: append i is stream i%streams's
			// (i/streams)-th run of n events.
			i := next
			next++
			k, j := i%streams, i/streams
			var evs []eventstore.EventData
			if (j+1)*n <= len(pools[k]) {
				evs = pools[k][j*n : (j+1)*n]
			} else {
				evs = make([]eventstore.EventData, n)
				for e := range evs {
					evs[e] = builders[k].next(0)
				}
			}
			exp := eventstore.NoStream()
			if j > 0 {
				exp = eventstore.Exact(uint64(j*n - 1))
			}
			if _, err := st.Append(ctx, builders[k].stream, exp, evs); err != nil {
				log.Fatal(err)
			}
			return n
		})
	}
}

// fillLog appends n events, in appends of 1000 over 16 streams, when the log is empty,
// so the read phase has a log to read when it runs without the append phases.
func fillLog(ctx context.Context, st eventstore.Store, n, size int) error {
	head, err := st.Head(ctx)
	if err != nil || head > 0 || n <= 0 {
		return err
	}
	const streams, per = 16, 1000
	builders := make([]*eventBuilder, streams)
	for k := range builders {
		builders[k] = newBuilder(fmt.Sprintf("bench-read-%s-%d", ulid.Make(), k), size)
	}
	pools := prebuildAll(builders, (n/streams/per+1)*per)
	for done, j := 0, 0; done < n; j++ {
		for k := 0; k < streams && done < n; k++ {
			exp := eventstore.NoStream()
			if j > 0 {
				exp = eventstore.Exact(uint64(j*per - 1))
			}
			if _, err := st.Append(ctx, builders[k].stream, exp, pools[k][j*per:(j+1)*per]); err != nil {
				return err
			}
			done += per
		}
	}
	return nil
}

// processCPU returns the user and system CPU time the process has used so far: on a
// machine shared with other work, CPU per event says what a rate alone cannot.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readDecode reads the global log from the start, until the end or d passes; with
// decode set it decodes every page with eventstore.DecodeAll (spread over GOMAXPROCS,
// results in log order) while the next page is read, as a bulk consumer of the log does.
func readDecode(ctx context.Context, st eventstore.Store, d time.Duration, decode bool) (int, time.Duration, error) {
	const page = 2048
	pages := make(chan []eventstore.RecordedEvent, 2)
	done := make(chan error, 1)
	var n int
	go func() {
		var first error
		for recs := range pages {
			if decode {
				for _, r := range eventstore.DecodeAll(recs) {
					if r.Err != nil && first == nil {
						first = r.Err
					}
				}
			}
			n += len(recs)
		}
		done <- first
	}()
	start := time.Now()
	after := eventstore.Position(0)
	for time.Since(start) < d {
		recs, err := st.ReadAll(ctx, after, page)
		if err != nil {
			close(pages)
			<-done
			return 0, 0, err
		}
		if len(recs) == 0 {
			break
		}
		pages <- recs
		after = recs[len(recs)-1].Position
	}
	close(pages)
	if err := <-done; err != nil {
		return 0, 0, err
	}
	return n, time.Since(start), nil
}

// liveLatency subscribes at the head and has w writers append for d; it returns, for
// every event, the time from its append's acknowledgement to its delivery.
func liveLatency(ctx context.Context, st eventstore.Store, w, size int, d time.Duration) []time.Duration {
	head, err := st.Head(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[eventstore.Position]time.Time{}
	delivered := map[eventstore.Position]time.Time{}
	sctx, cancel := context.WithCancel(ctx)
	caughtUp := make(chan struct{})
	subDone := make(chan error, 1)
	go func() {
		subDone <- st.Subscribe(sctx, head, func(m eventstore.SubscriptionMessage) error {
			now := time.Now()
			if m.CaughtUp {
				close(caughtUp)
				return nil
			}
			mu.Lock()
			delivered[m.Event.Position] = now
			mu.Unlock()
			return nil
		})
	}()
	<-caughtUp
	builders := make([]*eventBuilder, w)
	for g := range builders {
		builders[g] = newBuilder(fmt.Sprintf("bench-live-%s-%d", ulid.Make(), g), size)
	}
	last := runWriters(w, d, func(g, i int) int {
		b := builders[g]
		res, err := st.Append(ctx, b.stream, eventstore.Any(), []eventstore.EventData{b.next(i)})
		now := time.Now()
		if err != nil {
			log.Fatal(err)
		}
		mu.Lock()
		acked[res.Position] = now
		mu.Unlock()
		// Pace each writer so the subscriber sees a steady stream, not a flood.
		time.Sleep(time.Millisecond)
		return 1
	})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(delivered)
		mu.Unlock()
		if n >= last.n {
			break
		}
	}
	cancel()
	<-subDone
	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, len(acked))
	for pos, a := range acked {
		dl, ok := delivered[pos]
		if !ok {
			log.Fatalf("event at %d acknowledged but never delivered", pos)
		}
		lat = append(lat, max(dl.Sub(a), 0))
	}
	return lat
}

// newBoltBatch has w writers each Put one record through bbolt's db.Batch, which groups
// concurrent calls into one fsynced transaction; the returned function runs it for d.
func newBoltBatch(path string, w, size int) (func(time.Duration) result, func()) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		log.Fatal(err)
	}
	bucket := []byte("log")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		log.Fatal(err)
	}
	var seq atomic.Uint64
	value := make([]byte, size)
	return func(d time.Duration) result {
		return runWriters(w, d, func(int, int) int {
			key := binary.BigEndian.AppendUint64(nil, seq.Add(1))
			if err := db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, value) }); err != nil {
				log.Fatal(err)
			}
			return 1
		})
	}, func() { db.Close() }
}
