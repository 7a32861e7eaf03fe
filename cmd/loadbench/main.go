// Command loadbench drives the real allianced binary over loopback and prints the
// figures the service is held to:
//
//   - reads: plan-view reads (JWT checked, access audited) by 64 concurrent clients
//     against a real Redis, in alternating rounds with a bare echo handler doing one
//     go-redis GET of a 512-byte value (the baseline of ../shared/bench); it prints
//     req/s, p50 and p99 of both and the median ratio.
//   - commands: recording plan steps across 1,000 plans handed over to a member, 64
//     concurrent clients, embedded store (every append durable): commands/s and p99.
//   - soak: resident size (VmRSS) of the server sampled over a mixed load after warm-up:
//     start, end and maximum RSS and the drift.
//   - replicas (only when asked for): the plan-step commands with one and with three
//     `allianced serve` processes on one KurrentDB (the protocol test server) and one
//     Redis, alternating rounds, clients spread round robin: commands/s of both.
//
// Run it from the module: go run ./cmd/loadbench [-reads] [-commands] [-soak 5m]
// [-replicas]. With none of these flags it runs the first three (the soak for 60 s).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

// options are the command's flags.
type options struct {
	reads, commands bool
	replicas        bool
	replicaPlans    int
	referrals       bool
	fhir            bool
	fhirPlans       int
	fhirSteps       int
	diagnostics     bool
	diagOpen        int
	diagRate        int
	soak            time.Duration
	bin             string
	redisURL        string
	clients         int
	rounds          int
	round           time.Duration
	slice           time.Duration
	readPlans       int
	plans           int
	steps           int
	commandsFor     time.Duration
	keep            bool
	warmup          time.Duration
	soakRate        int
	soakData        string
}

func main() {
	var o options
	var serveBaseline, redisAddr string
	flag.BoolVar(&o.reads, "reads", false, "run the plan-view read benchmark (needs a Redis)")
	flag.BoolVar(&o.commands, "commands", false, "run the plan-step command benchmark (embedded store)")
	flag.BoolVar(&o.replicas, "replicas", false, "run the plan-step command benchmark with 1 and with 3 replicas (KurrentDB protocol test server + Redis), -rounds alternating rounds")
	flag.IntVar(&o.replicaPlans, "replica-plans", 500, "plans the replica benchmark records steps on")
	flag.BoolVar(&o.referrals, "referrals", false, "run the referral benchmark: request -> accept -> admit over HTTP (embedded store)")
	flag.BoolVar(&o.fhir, "fhir", false, "run the FHIR benchmark: CarePlan reads beside /v1 plan reads, and bulk export resources/s (embedded store)")
	flag.IntVar(&o.fhirPlans, "fhir-plans", 2000, "plans the FHIR benchmark sets up")
	flag.IntVar(&o.fhirSteps, "fhir-steps", 4, "steps recorded on each plan of the FHIR benchmark")
	flag.BoolVar(&o.diagnostics, "diagnostics", false, "run the diagnostic-centre benchmark: worklist read with -diag-open open studies, report -> member's view at -diag-rate reports a minute for -commands-for (embedded store)")
	flag.IntVar(&o.diagOpen, "diag-open", 10000, "open studies on the worklist before it is read")
	flag.IntVar(&o.diagRate, "diag-rate", 1000, "reports a minute of the report -> view measurement")
	flag.DurationVar(&o.soak, "soak", 60*time.Second, "run the memory soak for this long (0: skip)")
	flag.StringVar(&o.bin, "bin", "", "allianced binary to drive (default: go build ./cmd/allianced)")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis for the read benchmark and the soak")
	flag.IntVar(&o.clients, "c", 64, "concurrent clients of the read and command benchmarks")
	flag.IntVar(&o.rounds, "rounds", 3, "alternating rounds of the read benchmark")
	flag.DurationVar(&o.round, "round", 8*time.Second, "length of one read round (each side)")
	flag.DurationVar(&o.slice, "slice", time.Second, "within a round, alternate the two sides in slices this long, so both see the same background load (0: one slice per side)")
	flag.IntVar(&o.readPlans, "read-plans", 200, "plans the read benchmark reads")
	flag.IntVar(&o.plans, "plans", 1000, "plans the command benchmark records steps on")
	flag.IntVar(&o.steps, "steps", 60, "steps of the benchmark protocol (each plan takes this many step commands)")
	flag.DurationVar(&o.commandsFor, "commands-for", 10*time.Second, "length of the command benchmark")
	flag.DurationVar(&o.warmup, "warmup", 0, "warm-up before the soak's RSS samples (default: a tenth of -soak, 5s to 30s)")
	flag.IntVar(&o.soakRate, "soak-rate", 2000, "operations per second of the soak's mixed load (0: as fast as it goes)")
	flag.StringVar(&o.soakData, "soak-data", "grow", "the soak's writes: grow (new patients: plans created and their steps recorded) or steady (idempotent retries of recorded steps: the whole command path, no new data)")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directories (printed) instead of deleting them")
	flag.StringVar(&serveBaseline, "serve-baseline", "", "internal: serve the echo + go-redis baseline on this address")
	flag.StringVar(&redisAddr, "redis-addr", "127.0.0.1:6379", "internal: Redis address of the baseline server")
	flag.Parse()

	if serveBaseline != "" {
		if err := runBaseline(serveBaseline, redisAddr); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["reads"] && !set["commands"] && !set["soak"] && !set["replicas"] && !set["referrals"] && !set["diagnostics"] && !set["fhir"] {
		o.reads, o.commands = true, true
	}
	if !set["soak"] && (set["reads"] || set["commands"] || set["replicas"] || set["referrals"] || set["diagnostics"] || set["fhir"]) {
		o.soak = 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// runBaseline is ../shared/bench/cmd/baseline-http: GET /hello answers a small JSON
// body; GET /redis does one go-redis GET of a 512-byte value and answers it as JSON.
func runBaseline(addr, redisAddr string) error {
	type body struct {
		Value string `json:"value"`
	}
	const key = "baseline:value"
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	if err := rdb.Set(context.Background(), key, strings.Repeat("v", 512), 0).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/hello", func(c echo.Context) error { return c.JSON(http.StatusOK, body{"hello"}) })
	e.GET("/redis", func(c echo.Context) error {
		v, err := rdb.Get(c.Request().Context(), key).Result()
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, body{v})
	})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		_ = e.Close()
	}()
	if err := e.Start(addr); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// summary collects one line per benchmark, printed together at the end.
var summary []string

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("data directories kept under", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if o.bin == "" {
		fmt.Println("building ./cmd/allianced ...")
		if o.bin, err = buildBinary(tmp); err != nil {
			return err
		}
	}
	client := newClient()
	var failed []string
	if o.reads {
		ok, err := benchReads(ctx, o, tmp, client)
		if err != nil {
			return fmt.Errorf("reads: %w", err)
		}
		if !ok {
			failed = append(failed, "reads")
		}
	}
	if o.commands {
		ok, err := benchCommands(ctx, o, tmp, client)
		if err != nil {
			return fmt.Errorf("commands: %w", err)
		}
		if !ok {
			failed = append(failed, "commands")
		}
	}
	if o.replicas {
		if err := benchReplicas(ctx, o, tmp, client); err != nil {
			return fmt.Errorf("replicas: %w", err)
		}
	}
	if o.referrals {
		ok, err := benchReferrals(ctx, o, tmp, client)
		if err != nil {
			return fmt.Errorf("referrals: %w", err)
		}
		if !ok {
			failed = append(failed, "referrals")
		}
	}
	if o.fhir {
		ok, err := benchFHIR(ctx, o, tmp, client)
		if err != nil {
			return fmt.Errorf("fhir: %w", err)
		}
		if !ok {
			failed = append(failed, "fhir")
		}
	}
	if o.diagnostics {
		ok, err := benchDiagnostics(ctx, o, tmp, client)
		if err != nil {
			return fmt.Errorf("diagnostics: %w", err)
		}
		if !ok {
			failed = append(failed, "diagnostics")
		}
	}
	if o.soak > 0 {
		if err := soak(ctx, o, tmp, client); err != nil {
			return fmt.Errorf("soak: %w", err)
		}
	}
	fmt.Println("\n== summary")
	for _, l := range summary {
		fmt.Println("  " + l)
	}
	if len(failed) > 0 {
		fmt.Printf("bars missed: %s\n", strings.Join(failed, ", "))
	}
	return nil
}

// mustDir makes a subdirectory of tmp.
func mustDir(tmp, name string) (string, error) {
	dir := tmp + "/" + name
	return dir, os.MkdirAll(dir, 0o700)
}

// redisAddrOf returns host:port of a redis:// URL.
func redisAddrOf(url string) (string, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return "", err
	}
	return opt.Addr, nil
}

// deletePrefix removes every key under prefix from the Redis at url.
func deletePrefix(url, prefix string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := rdb.Del(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return rdb.Del(ctx, batch...).Err()
	}
	return nil
}

func randomSuffix() string { return fmt.Sprintf("%08x", rand.Uint32()) }

// benchReads compares plan-view reads with the baseline, alternating rounds.
func benchReads(ctx context.Context, o options, tmp string, client *http.Client) (bool, error) {
	fmt.Printf("\n== (a) plan-view reads: %d clients, %d rounds x %v per side (alternating in %v slices), real Redis\n", o.clients, o.rounds, o.round, o.slice)
	addr, err := redisAddrOf(o.redisURL)
	if err != nil {
		return false, err
	}
	prefix := "loadbench-" + randomSuffix()
	defer func() {
		if err := deletePrefix(o.redisURL, prefix); err != nil {
			fmt.Fprintf(os.Stderr, "clean Redis keys under %s: %v\n", prefix, err)
		}
	}()
	dir, err := mustDir(tmp, "reads")
	if err != nil {
		return false, err
	}
	srv, err := startAllianced(o.bin, dir, "--redis", o.redisURL, "--redis-prefix", prefix)
	if err != nil {
		return false, err
	}
	defer srv.stop()
	base, err := startBaseline(addr)
	if err != nil {
		return false, err
	}
	defer base.stop()
	f, err := newFixture(ctx, api{client: client, base: srv.base}, o.bin, dir, 12)
	if err != nil {
		return false, fmt.Errorf("fixture: %w", err)
	}
	if err := f.addPlans(ctx, o.readPlans); err != nil {
		return false, err
	}
	if err := f.waitViews(ctx); err != nil {
		return false, err
	}
	plans := slices.Clone(f.plans)
	baseAPI := api{client: client, base: base.base}
	readBaseline := func(ctx context.Context, _, _ int) error {
		return baseAPI.do(ctx, "", http.MethodGet, "/redis", nil, nil)
	}
	readPlan := func(ctx context.Context, w, i int) error {
		return f.readPlan(ctx, plans[(w*7919+i)%len(plans)])
	}
	// Warm both up (connections, caches) before measuring.
	drive(ctx, o.clients, time.Second, nil, readBaseline)
	drive(ctx, o.clients, time.Second, nil, readPlan)
	var ratios, rates []float64
	var worstP99 time.Duration
	var errs int64
	slice := o.slice
	if slice <= 0 || slice > o.round {
		slice = o.round
	}
	for r := 1; r <= o.rounds; r++ {
		var b, t stats
		for done := time.Duration(0); done < o.round; done += slice {
			b = b.merge(drive(ctx, o.clients, slice, nil, readBaseline))
			t = t.merge(drive(ctx, o.clients, slice, nil, readPlan))
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		ratio := 0.0
		if b.Rate() > 0 {
			ratio = t.Rate() / b.Rate()
		}
		ratios, rates = append(ratios, ratio), append(rates, t.Rate())
		worstP99 = max(worstP99, t.Pct(99))
		errs += t.Errors
		fmt.Printf("round %d  baseline echo+redis GET: %s\n", r, b)
		fmt.Printf("round %d  GET /v1/plans/{id}:       %s  ratio %.3f\n", r, t, ratio)
	}
	medRatio, medRate := median(ratios), median(rates)
	fmt.Printf("median: plan reads %.0f req/s, ratio to baseline %.3f, worst p99 %.2f ms\n", medRate, medRatio, ms(worstP99))
	summary = append(summary, fmt.Sprintf("reads: %.0f req/s (median of %d rounds), %.3f of the echo+redis baseline, worst p99 %.2f ms (bars: 12,000 req/s, 0.75, 10 ms)",
		medRate, o.rounds, medRatio, ms(worstP99)))
	return all(bar("reads >= 12,000 req/s", medRate >= 12000),
		bar("reads >= 75% of baseline", medRatio >= 0.75),
		bar("read p99 < 10 ms", worstP99 < 10*time.Millisecond),
		bar("no failed reads", errs == 0)), nil
}

// bar prints one bar's verdict.
func bar(name string, ok bool) bool {
	verdict := "PASS"
	if !ok {
		verdict = "MISS"
	}
	fmt.Printf("  [%s] %s\n", verdict, name)
	return ok
}

// all reports whether every bar passed (each was printed already).
func all(oks ...bool) bool { return !slices.Contains(oks, false) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchCommands records plan steps across o.plans plans; each client walks its own
// share of the plans so that no two clients write one plan's stream at once.
func benchCommands(ctx context.Context, o options, tmp string, client *http.Client) (bool, error) {
	fmt.Printf("\n== (b) commands: complete plan steps across %d plans, %d clients, %v, embedded store (fsync per append)\n",
		o.plans, o.clients, o.commandsFor)
	dir, err := mustDir(tmp, "commands")
	if err != nil {
		return false, err
	}
	srv, err := startAllianced(o.bin, dir)
	if err != nil {
		return false, err
	}
	defer srv.stop()
	f, err := newFixture(ctx, api{client: client, base: srv.base}, o.bin, dir, o.steps)
	if err != nil {
		return false, fmt.Errorf("fixture: %w", err)
	}
	t0 := time.Now()
	if err := f.addPlans(ctx, o.plans); err != nil {
		return false, err
	}
	fmt.Printf("set up %d plans (initiate + hand over) in %.1fs\n", o.plans, time.Since(t0).Seconds())
	shares := make([][]string, o.clients)
	for i, p := range f.plans {
		shares[i%o.clients] = append(shares[i%o.clients], p)
	}
	var exhausted atomic.Bool
	s := drive(ctx, o.clients, o.commandsFor, nil, func(ctx context.Context, w, i int) error {
		mine := shares[w]
		if len(mine) == 0 {
			return errDone
		}
		step := i / len(mine)
		if step >= len(f.steps) {
			exhausted.Store(true)
			return errDone
		}
		return f.completeStep(ctx, mine[i%len(mine)], f.steps[step])
	})
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	fmt.Printf("complete step: %s\n", s)
	summary = append(summary, fmt.Sprintf("commands: %.0f/s, p50 %.2f ms, p99 %.2f ms over %d plans (bars: 6,000/s, 25 ms)",
		s.Rate(), ms(s.Pct(50)), ms(s.Pct(99)), o.plans))
	if exhausted.Load() {
		fmt.Println("  note: the clients recorded every step of their plans before the time was up (the rate is over the time they ran); raise -steps for a longer run")
	}
	return all(bar("commands >= 6,000/s", s.Rate() >= 6000),
		bar("command p99 < 25 ms", s.Pct(99) < 25*time.Millisecond),
		bar("no failed commands", s.Errors == 0)), nil
}

// soak runs a mixed load (plan reads, step completions and new plans) and samples the
// server's resident size once a second after a warm-up.
func soak(ctx context.Context, o options, tmp string, client *http.Client) error {
	if o.soakData != "grow" && o.soakData != "steady" {
		return fmt.Errorf("-soak-data %q: want grow or steady", o.soakData)
	}
	dir, err := mustDir(tmp, "soak")
	if err != nil {
		return err
	}
	var extra []string
	mode := "embedded store, in-process views"
	prefix := "loadbench-soak-" + randomSuffix()
	if addr, err := redisAddrOf(o.redisURL); err == nil && redisAnswers(addr) {
		extra = []string{"--redis", o.redisURL, "--redis-prefix", prefix}
		mode = "embedded store, views in Redis"
		defer func() {
			if err := deletePrefix(o.redisURL, prefix); err != nil {
				fmt.Fprintf(os.Stderr, "clean Redis keys under %s: %v\n", prefix, err)
			}
		}()
	}
	warm := o.warmup
	if warm <= 0 {
		warm = min(30*time.Second, max(5*time.Second, o.soak/10))
	}
	rate := "as fast as it goes"
	if o.soakRate > 0 {
		rate = fmt.Sprintf("%d ops/s", o.soakRate)
	}
	fmt.Printf("\n== (c) memory soak: %v after a %v warm-up, mixed load (24 readers, 8 writers, %s, data %s), %s\n", o.soak, warm, rate, o.soakData, mode)
	srv, err := startAllianced(o.bin, dir, extra...)
	if err != nil {
		return err
	}
	defer srv.stop()
	f, err := newFixture(ctx, api{client: client, base: srv.base}, o.bin, dir, 24)
	if err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	if err := f.addPlans(ctx, 100); err != nil {
		return err
	}
	if err := f.waitViews(ctx); err != nil {
		return err
	}
	readers, writers := 24, 8
	// Readers read the plans set up before the load (a plan a writer creates becomes the
	// member's to read only once the views applied its handover).
	readable := slices.Clone(f.plans)
	type cursor struct {
		plan string
		step int
	}
	cursors := make([]cursor, writers)
	tokens := limiter(ctx, o.soakRate)
	retryKey := func(plan string) string { return "soak-" + plan }
	if o.soakData == "steady" {
		for _, p := range readable {
			if _, err := f.api.post(ctx, f.member, "/v1/plans/"+p+"/steps/"+f.steps[0]+"/complete",
				map[string]any{"administeredDose": "100 mg"}, "Idempotency-Key", retryKey(p)); err != nil {
				return err
			}
		}
	}
	mixed := func(ctx context.Context, w, i int) error {
		if w < readers {
			return f.readPlan(ctx, readable[rand.IntN(len(readable))])
		}
		if o.soakData == "steady" { // a retry: loads, recognises the key, appends nothing
			p := readable[rand.IntN(len(readable))]
			_, err := f.api.post(ctx, f.member, "/v1/plans/"+p+"/steps/"+f.steps[0]+"/complete",
				map[string]any{"administeredDose": "100 mg"}, "Idempotency-Key", retryKey(p))
			return err
		}
		c := &cursors[w-readers]
		if c.plan == "" || c.step >= len(f.steps) {
			id, err := f.newPlan(ctx)
			if err != nil {
				return err
			}
			*c = cursor{plan: id}
			return nil
		}
		err := f.completeStep(ctx, c.plan, f.steps[c.step])
		c.step++
		return err
	}
	total := warm + o.soak
	type sample struct {
		at   time.Duration
		rss  int64
		heap float64 // Go heap in use (bytes), from /metrics; -1 when not exported
	}
	heapOf := func() float64 {
		var text strings.Builder
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.base+"/metrics", nil)
		res, err := client.Do(req)
		if err != nil {
			return -1
		}
		defer res.Body.Close()
		_, _ = io.Copy(&text, res.Body)
		for _, line := range strings.Split(text.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
				var f float64
				if _, err := fmt.Sscan(v, &f); err == nil {
					return f
				}
			}
		}
		return -1
	}
	var samples []sample
	done := make(chan stats)
	go func() { done <- drive(ctx, readers+writers, total, tokens, mixed) }()
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var result stats
	for result.Elapsed == 0 {
		select {
		case result = <-done:
		case <-tick.C:
			if since := time.Since(start); since >= warm {
				if kb, err := rssKB(srv.pid()); err == nil {
					samples = append(samples, sample{since, kb, heapOf()})
				}
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Printf("mixed load: %s\n", result)
	if len(samples) < 2 {
		return fmt.Errorf("too few RSS samples (%d)", len(samples))
	}
	first, last := samples[0].rss, samples[len(samples)-1].rss
	peak := first
	for _, s := range samples {
		peak = max(peak, s.rss)
	}
	drift := 100 * float64(last-first) / float64(first)
	fmt.Printf("RSS after warm-up %.1f MiB, at end %.1f MiB, max %.1f MiB, drift %+.1f%% over %.0fs (%d samples, one a second)\n",
		mib(first), mib(last), mib(peak), drift, (samples[len(samples)-1].at - samples[0].at).Seconds(), len(samples))
	summary = append(summary, fmt.Sprintf("soak (%s): RSS %.1f -> %.1f MiB (max %.1f), drift %+.1f%% over %.0fs at %.0f ops/s",
		o.soakData, mib(first), mib(last), mib(peak), drift, (samples[len(samples)-1].at-samples[0].at).Seconds(), result.Rate()))
	fmt.Print("timeline (s: RSS MiB / Go heap in use MiB):")
	for i := 0; i < 10; i++ {
		sm := samples[i*(len(samples)-1)/9]
		fmt.Printf("  %.0f: %.0f/%.0f", sm.at.Seconds(), mib(sm.rss), sm.heap/(1<<20))
	}
	fmt.Println()
	return nil
}

// limiter returns a channel that yields perSecond tokens a second (in 10 ms batches),
// or nil for no limit.
func limiter(ctx context.Context, perSecond int) <-chan struct{} {
	if perSecond <= 0 {
		return nil
	}
	ch := make(chan struct{}, perSecond)
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		owed := 0.0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for owed += float64(perSecond) / 100; owed >= 1; owed-- {
				select {
				case ch <- struct{}{}:
				default: // the clients are behind: drop the token rather than burst later
				}
			}
		}
	}()
	return ch
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

// redisAnswers reports whether a Redis answers PING at addr.
func redisAnswers(addr string) bool {
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 500 * time.Millisecond})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return rdb.Ping(ctx).Err() == nil
}
