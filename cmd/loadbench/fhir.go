package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchFHIR measures the FHIR R4 interface against the real binary (embedded store,
// in-process views): (1) a CarePlan read over FHIR beside GET /v1/plans/{id} of the same
// plans, alternating in slices within each round, comparing the medians (p50) of their
// latencies (bar: the FHIR read within 2x); (2) bulk export of everything
// (GET /fhir/R4/$export, status polling, every NDJSON file downloaded): resources per
// second from kick-off to the last byte (bar: 20,000/s).
func benchFHIR(ctx context.Context, o options, tmp string, client *http.Client) (bool, error) {
	fmt.Printf("\n== (f) FHIR: CarePlan reads beside /v1 plan reads (%d clients, %d rounds x %v per side), bulk export of %d plans with %d recorded steps each\n",
		o.clients, o.rounds, o.round, o.fhirPlans, o.fhirSteps)
	dir, err := mustDir(tmp, "fhir")
	if err != nil {
		return false, err
	}
	srv, err := startAllianced(o.bin, dir)
	if err != nil {
		return false, err
	}
	defer srv.stop()
	f, err := newFixture(ctx, api{client: client, base: srv.base}, o.bin, dir, 12)
	if err != nil {
		return false, fmt.Errorf("fixture: %w", err)
	}
	if err := f.addPlans(ctx, o.fhirPlans); err != nil {
		return false, err
	}
	// Record steps so the log (and the export's Provenance) has the history of real plans.
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, f.setupWorkers)
	for range f.setupWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(f.plans)*o.fhirSteps) {
					return
				}
				if err := f.completeStep(ctx, f.plans[i/int64(o.fhirSteps)], f.steps[i%int64(o.fhirSteps)]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return false, fmt.Errorf("record steps: %w", err)
	}
	if err := f.waitViews(ctx); err != nil {
		return false, err
	}
	plans := slices.Clone(f.plans)
	readV1 := func(ctx context.Context, w, i int) error {
		return f.api.do(ctx, f.member, http.MethodGet, "/v1/plans/"+plans[(w*7919+i)%len(plans)], nil, nil)
	}
	readFHIR := func(ctx context.Context, w, i int) error {
		return f.api.do(ctx, f.member, http.MethodGet, "/fhir/R4/CarePlan/"+plans[(w*7919+i)%len(plans)], nil, nil)
	}
	drive(ctx, o.clients, time.Second, nil, readV1)
	drive(ctx, o.clients, time.Second, nil, readFHIR)
	slice := o.slice
	if slice <= 0 || slice > o.round {
		slice = o.round
	}
	var ratios []float64
	var errsN int64
	for r := 1; r <= o.rounds; r++ {
		var v, h stats
		for done := time.Duration(0); done < o.round; done += slice {
			v = v.merge(drive(ctx, o.clients, slice, nil, readV1))
			h = h.merge(drive(ctx, o.clients, slice, nil, readFHIR))
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		ratio := float64(h.Pct(50)) / float64(max(v.Pct(50), 1))
		ratios = append(ratios, ratio)
		errsN += v.Errors + h.Errors
		fmt.Printf("round %d  GET /v1/plans/{id}:          %s\n", r, v)
		fmt.Printf("round %d  GET /fhir/R4/CarePlan/{id}:  %s  p50 ratio %.2f\n", r, h, ratio)
	}
	medRatio := median(ratios)
	fmt.Printf("median p50 ratio FHIR/v1: %.2f\n", medRatio)

	auditor, err := f.token(ctx, f.leadHID, "loadbench-auditor", "auditor")
	if err != nil {
		return false, err
	}
	var rates, perCPU []float64
	total := 0
	for r := 1; r <= o.rounds; r++ {
		c0, cerr := cpuSeconds(srv.pid())
		n, d, err := exportOnce(ctx, f.api, auditor)
		if err != nil {
			return false, fmt.Errorf("export: %w", err)
		}
		c1, cerr1 := cpuSeconds(srv.pid())
		total = n
		rate := float64(n) / d.Seconds()
		rates = append(rates, rate)
		cpuNote := ""
		if cerr == nil && cerr1 == nil && c1 > c0 {
			perCPU = append(perCPU, float64(n)/(c1-c0))
			cpuNote = fmt.Sprintf(" (server CPU %.2f s: %.0f resources per CPU-second)", c1-c0, float64(n)/(c1-c0))
		}
		fmt.Printf("export %d: %d resources in %v: %.0f resources/s%s\n", r, n, d.Round(time.Millisecond), rate, cpuNote)
	}
	medRate := median(rates)
	if len(perCPU) > 0 {
		fmt.Printf("median: %.0f resources/s, %.0f resources per server CPU-second (load average now %s)\n", medRate, median(perCPU), loadAvg())
	}
	summary = append(summary, fmt.Sprintf("fhir: CarePlan read p50 %.2fx GET /v1/plans/{id} (median of %d rounds; bar 2x); bulk export %.0f resources/s, %.0f per server CPU-second (median of %d, %d resources; bar 20,000/s)",
		medRatio, o.rounds, medRate, median(perCPU), o.rounds, total))
	return all(bar("FHIR CarePlan read within 2x of /v1 (p50)", medRatio <= 2),
		bar("bulk export >= 20,000 resources/s", medRate >= 20000),
		bar("no failed reads", errsN == 0)), nil
}

// exportOnce runs one system export as an auditor and downloads every file; it returns
// the resources exported and the time from kick-off to the last byte.
func exportOnce(ctx context.Context, a api, token string) (int, time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/fhir/R4/$export", nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Prefer", "respond-async")
	res, err := a.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return 0, 0, fmt.Errorf("kick-off: status %d", res.StatusCode)
	}
	status := strings.TrimPrefix(res.Header.Get("Content-Location"), a.base)
	var manifest struct {
		Output []struct {
			URL   string `json:"url"`
			Count int    `json:"count"`
		} `json:"output"`
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+status, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := a.client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		if res.StatusCode == http.StatusOK {
			err = json.NewDecoder(res.Body).Decode(&manifest)
			res.Body.Close()
			if err != nil {
				return 0, 0, err
			}
			break
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			return 0, 0, fmt.Errorf("export status: %d", res.StatusCode)
		}
		time.Sleep(10 * time.Millisecond) // still running (X-Progress says how far)
	}
	n := 0
	for _, o := range manifest.Output {
		if err := a.do(ctx, token, http.MethodGet, strings.TrimPrefix(o.URL, a.base), nil, nil); err != nil {
			return 0, 0, err
		}
		n += o.Count
	}
	d := time.Since(start)
	_ = a.do(ctx, token, http.MethodDelete, status, nil, nil)
	return n, d, nil
}

// cpuSeconds reads a process's user and system CPU time from /proc/<pid>/stat (clock
// ticks of 1/100 s, as on Linux).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its ')' are fixed.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return (ut + st) / 100, nil
}

// loadAvg is the first field of /proc/loadavg ("?" when unreadable).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
