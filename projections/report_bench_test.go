package projections_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/projections"
	"github.com/medalliance/allianced/projections/report"
	"github.com/oklog/ulid/v2"
	"github.com/redis/go-redis/v9"
)

// The alliance report's read, from views built over a million events:
//
//	go test ./projections -run '^$' -bench AllianceReport -benchtime 2000x
//
// BENCH_REDIS names a Redis to use instead of 127.0.0.1:6379 (a private one, so the
// figures are the report's and not a shared server's queue):
//
//	redis-server --port 6391 --save '' --appendonly no --daemonize yes
//	BENCH_REDIS=127.0.0.1:6391 go test ./projections -run '^$' -bench AllianceReport -benchtime 2000x
//
// BENCH_REPORT_EVENTS sets the size of the generated log (default 1,000,000): the
// activity of an alliance with 144 members over three years (referrals, consults, expert
// visits, plans with steps and deviations, adoptions), projected by the projector's own
// batches (a rebuild) into the local Redis. The views are built once per process.

var reportBench struct {
	once     sync.Once
	err      error
	prefix   string
	alliance string
	events   int
	build    time.Duration
}

func benchRedisAddr() string {
	if a := os.Getenv("BENCH_REDIS"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

func reportBenchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_REPORT_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// TestMain deletes the report benchmark's views once every benchmark run is over (they
// are built once per process and shared by the benchmark's runs).
func TestMain(m *testing.M) {
	code := m.Run()
	if reportBench.prefix != "" {
		rdb := redis.NewClient(&redis.Options{Addr: benchRedisAddr()})
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, reportBench.prefix+":*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				rdb.Unlink(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			rdb.Unlink(ctx, keys...)
		}
		_ = rdb.Close()
	}
	os.Exit(code)
}

// buildReportBench generates the history and projects it into rdb under a prefix that
// TestMain deletes at the end of the process's run.
func buildReportBench(tb testing.TB, rdb *redis.Client) {
	reportBench.once.Do(func() {
		prefix := "ptest-report-" + strings.ToLower(ulid.Make().String())
		want := reportBenchEvents()
		h := newHistory(144)
		start := time.Date(2023, 10, 1, 0, 0, 0, 0, time.UTC)
		days := 3 * 365
		a := h.alliance(144, start, start.AddDate(0, 0, days))
		// Events per day of h.day at scale s: about 13 s + 3.
		scale := max(1, (want/days-3)/13)
		for d := start.AddDate(0, 0, 1); len(h.events) < want; d = d.AddDate(0, 0, 1) {
			h.day(a, d, scale)
		}
		store := newMemStore()
		if err := writeHistory(store, h.sorted()); err != nil {
			reportBench.err = err
			return
		}
		h.events = nil
		began := time.Now()
		if err := projections.Rebuild(context.Background(), store, rdb, prefix, nil); err != nil {
			reportBench.err = err
			return
		}
		reportBench.prefix, reportBench.alliance, reportBench.events, reportBench.build = prefix, a.ID, int(store.head()), time.Since(began)
	})
	if reportBench.err != nil {
		tb.Fatal(reportBench.err)
	}
}

// BenchmarkAllianceReportQuarter reads the quarter report (totals and 144 members' rows,
// exact medians and 90th percentiles) of 2026-Q2, and, as a second sub-benchmark, the
// same quarter as of 2026-05-17 (a month and 17 days summed, every sample ranked by the
// reader), and reports the latencies' p50 and p99.
func BenchmarkAllianceReportQuarter(b *testing.B) {
	rdb := MustRedis(b)
	if a := os.Getenv("BENCH_REDIS"); a != "" {
		rdb = redis.NewClient(&redis.Options{Addr: a, PoolSize: 32})
		defer rdb.Close()
		if err := rdb.Ping(context.Background()).Err(); err != nil {
			b.Fatalf("BENCH_REDIS %s: %v", a, err)
		}
	}
	buildReportBench(b, rdb)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: reportBench.prefix})
	defer q.Close()
	ctx := context.Background()
	period, _ := report.ParsePeriod("2026-Q2")
	cut, _ := report.ParseAsOf("2026-05-17")
	for _, bc := range []struct {
		name string
		q    report.Query
	}{
		{"quarter", report.Query{AllianceID: reportBench.alliance, Period: period}},
		{"quarter-as-of-a-day", report.Query{AllianceID: reportBench.alliance, Period: period, AsOf: "2026-05-17", Cut: cut}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			first, err := q.AllianceReport(ctx, bc.q, 0)
			if err != nil {
				b.Fatal(err)
			}
			if len(first.Members) < 144 || first.Total.Referrals.Up == 0 || first.Total.Referrals.GreenChannel.P90Minutes == nil {
				b.Fatalf("the quarter report has %d rows, totals %+v", len(first.Members), first.Total.Referrals)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				began := time.Now()
				if _, err := q.AllianceReport(ctx, bc.q, 0); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(began))
			}
			b.StopTimer()
			slices.Sort(lat)
			ms := func(p int) float64 { return float64(lat[(len(lat)-1)*p/100].Microseconds()) / 1000 }
			b.ReportMetric(ms(50), "p50-ms")
			b.ReportMetric(ms(99), "p99-ms")
			b.ReportMetric(float64(reportBench.events), "events")
			b.ReportMetric(reportBench.build.Seconds(), "build-s")
			b.ReportMetric(float64(len(first.Members)), "rows")
		})
	}
}
