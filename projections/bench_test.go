package projections_test

import (
	"context"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// The benchmarks report the figures the projections must meet:
//
//	go test ./projections -run '^$' -bench . -benchtime 1x
//
// BENCH_EVENTS sets the size of the rebuilt log (default 200,000).

func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

// BenchmarkRebuild rebuilds the views of a synthetic log of plan and step events from
// the embedded store into the local Redis, as the rebuild subcommand does
// (RebuildWithProgressBar), and reports events per second.
func BenchmarkRebuild(b *testing.B) {
	rdb := MustRedis(b)
	prefix := MustPrefix(b, rdb)
	store := MustStore(b)
	s := newScenario()
	s.run(b, store)
	n := appendLoad(b, store, s, benchEvents()/10, 10, 64)
	head, _ := store.Head(context.Background())
	b.ResetTimer()
	var elapsed, cpu time.Duration
	for i := 0; i < b.N; i++ {
		began, cpuBefore := time.Now(), processCPU()
		if err := projections.RebuildWithProgressBar(context.Background(), store, rdb, prefix, io.Discard); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(began)
		cpu += processCPU() - cpuBefore
	}
	b.ReportMetric(float64(head)*float64(b.N)/elapsed.Seconds(), "events/s")
	// CPU time of this process per event (decoding, applying, encoding the commands):
	// a figure that does not depend on what else the machine is running.
	b.ReportMetric(float64(cpu.Microseconds())/float64(head)/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(n), "plan-events")
}

// processCPU returns the user and system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLiveLag appends single events at 5,000 per second for a few seconds and
// measures, for each, the time from the append's acknowledgement until a
// read-your-writes query (Queries.Plan with the returned position) answers.
func BenchmarkLiveLag(b *testing.B) {
	rdb := MustRedis(b)
	prefix := MustPrefix(b, rdb)
	store := MustStore(b)
	s := newScenario()
	s.run(b, store)
	p, _ := runProjector(b, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(b, p)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p, Timeout: 5 * time.Second})
	b.Cleanup(func() { _ = q.Close() })
	const rate, seconds, workers = 5000, 4, 64
	total := rate * seconds
	b.ResetTimer()
	for iter := 0; iter < b.N; iter++ {
		jobs := make(chan int, total)
		lat := make([]time.Duration, 0, total)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var planID string
				k := 0
				for range jobs {
					var ev domain.Event
					if k%20 == 0 {
						planID = newID()
						ev = domain.PlanInitiated{PlanID: planID, AllianceID: s.alliance, ProtocolID: s.protocol, ProtocolVersion: 2,
							PatientRef: "pr_0123456789abcdefghijklmnop", StartDate: s.t0, LeadHospitalID: s.lead,
							LeadDepartmentID: "haematology", Steps: planSteps(s.t0), At: s.t0}
					} else {
						ev = domain.PlanDeviationReported{PlanID: planID, DeviationID: "d" + strconv.Itoa(k), Description: "delay",
							Severity: domain.DeviationSeverityMinor, HospitalID: s.lead, At: s.t0}
					}
					k++
					res := appendEvents(b, store, domain.PlanStream(planID), s.leadActor, s.t0, ev)
					acked := time.Now()
					if _, err := q.Plan(context.Background(), planID, res.Position); err != nil {
						b.Error(err)
						return
					}
					d := time.Since(acked)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		start := time.Now()
		for i := 0; i < total; i++ {
			if wait := time.Until(start.Add(time.Duration(i) * time.Second / rate)); wait > 0 {
				time.Sleep(wait)
			}
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		achieved := float64(total) / time.Since(start).Seconds()
		slices.Sort(lat)
		b.ReportMetric(achieved, "appended/s")
		b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	}
}

// BenchmarkPlanRead reads one plan view through Queries.Plan and reports percentiles.
func BenchmarkPlanRead(b *testing.B) {
	rdb := MustRedis(b)
	prefix := MustPrefix(b, rdb)
	store := MustStore(b)
	s := newScenario()
	s.run(b, store)
	p, _ := runProjector(b, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(b, p)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p})
	b.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()
	const reads = 20000
	lat := make([]time.Duration, reads)
	b.ResetTimer()
	for iter := 0; iter < b.N; iter++ {
		for i := range lat {
			began := time.Now()
			if _, err := q.Plan(ctx, s.plan, s.head); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(began)
		}
		slices.Sort(lat)
		b.ReportMetric(us(lat[len(lat)/2]), "p50-µs")
		b.ReportMetric(us(lat[len(lat)*99/100]), "p99-µs")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
