package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchDiagnostics measures a diagnostic centre over HTTP against the real binary
// (embedded store, every append durable):
//
//  1. the centre's worklist read (first page of 100, with the open and overdue counts)
//     once o.diagOpen studies wait on it;
//  2. a published report reaching the member's view: studies are submitted and
//     reported at o.diagRate a minute, and right after each report command answers,
//     the member reads its study with ?minPosition=<the report's position>. The
//     figure is that read's latency (report stored -> visible to the member); the
//     report command's own latency is printed beside it.
func benchDiagnostics(ctx context.Context, o options, tmp string, client *http.Client) (bool, error) {
	fmt.Printf("\n== (d) diagnostic centre: worklist read with %d open studies; report -> member's view at %d reports/min for %v\n",
		o.diagOpen, o.diagRate, o.commandsFor)
	dir, err := mustDir(tmp, "diagnostics")
	if err != nil {
		return false, err
	}
	// Views in the real Redis when one answers (the production setup; miniredis, the
	// embedded default, sorts a whole sorted set on every range read), else in-process.
	var extra []string
	views := "in-process views (miniredis)"
	prefix := "loadbench-diag-" + randomSuffix()
	if addr, err := redisAddrOf(o.redisURL); err == nil && redisAnswers(addr) {
		extra, views = []string{"--redis", o.redisURL, "--redis-prefix", prefix}, "views in Redis"
		defer func() {
			if err := deletePrefix(o.redisURL, prefix); err != nil {
				fmt.Printf("clean Redis keys under %s: %v\n", prefix, err)
			}
		}()
	}
	fmt.Printf("embedded store (fsync per append), %s\n", views)
	srv, err := startAllianced(o.bin, dir, extra...)
	if err != nil {
		return false, err
	}
	defer srv.stop()
	f, err := newFixture(ctx, api{client: client, base: srv.base}, o.bin, dir, 1)
	if err != nil {
		return false, fmt.Errorf("fixture: %w", err)
	}
	centre, err := f.api.post(ctx, f.lead, "/v1/centres", map[string]any{"allianceId": f.allianceID, "kind": "ecg",
		"name": "loadbench 远程心电诊断中心", "departmentId": f.dept})
	if err != nil {
		return false, err
	}
	reader, err := f.api.post(ctx, f.lead, "/v1/practitioners", map[string]any{"hospitalId": f.leadHID, "departmentId": f.dept,
		"name": "陈心怡", "title": "主任医师", "specialties": []string{"心电诊断"}})
	if err != nil {
		return false, err
	}
	if _, err := f.api.post(ctx, f.lead, "/v1/centres/"+centre.ID+"/readers", map[string]any{"practitionerId": reader.ID}); err != nil {
		return false, err
	}
	var mrn atomic.Int64
	attachment := []map[string]any{{"name": "ecg.xml", "mediaType": "text/xml", "sha256": strings.Repeat("ab", 32), "sizeBytes": 48000,
		"link": "https://ecg.example.cn/studies/1"}}
	submit := func(ctx context.Context, urgency string) (commandResult, error) {
		return f.api.post(ctx, f.member, "/v1/diagnostics", map[string]any{"centreId": centre.ID, "modality": "12导联静息心电图",
			"clinicalQuestion": "胸痛", "urgency": urgency, "medicalRecordNumber": "DX" + strconv.FormatInt(mrn.Add(1), 10), "attachments": attachment})
	}

	// 1. Fill the worklist (no reader on duty: the studies wait), then read it.
	urgencies := []string{"emergency", "urgent", "routine"}
	var last atomic.Uint64
	var filled atomic.Int64
	var wg sync.WaitGroup
	var fillErr atomic.Value
	work := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r, err := submit(ctx, urgencies[i%3])
				if err != nil {
					fillErr.Store(err)
					continue
				}
				filled.Add(1)
				for p := last.Load(); r.Position > p && !last.CompareAndSwap(p, r.Position); p = last.Load() {
				}
			}
		}()
	}
	began := time.Now()
	for i := range o.diagOpen {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if err, _ := fillErr.Load().(error); err != nil {
		return false, fmt.Errorf("filling the worklist: %w", err)
	}
	fmt.Printf("worklist filled: %d studies in %.1fs (%.0f submissions/s)\n", filled.Load(), time.Since(began).Seconds(), float64(filled.Load())/time.Since(began).Seconds())
	path := "/v1/centres/" + centre.ID + "/worklist?limit=100"
	var wl struct {
		Open    int64            `json:"open"`
		Studies []map[string]any `json:"studies"`
	}
	if err := f.api.do(ctx, f.lead, http.MethodGet, path+"&minPosition="+strconv.FormatUint(last.Load(), 10), nil, &wl); err != nil {
		return false, err
	}
	if wl.Open != filled.Load() || len(wl.Studies) != min(100, int(wl.Open)) {
		return false, fmt.Errorf("worklist: open %d, %d rows; want %d", wl.Open, len(wl.Studies), filled.Load())
	}
	reads := make([]time.Duration, 0, 2000)
	for range 2000 {
		t := time.Now()
		if err := f.api.do(ctx, f.lead, http.MethodGet, path, nil, nil); err != nil {
			return false, err
		}
		reads = append(reads, time.Since(t))
	}
	slices.Sort(reads)
	pct := func(l []time.Duration, p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[max(0, min(len(l)-1, int(float64(len(l))*p/100+0.5)-1))]
	}
	fmt.Printf("worklist read over HTTP (first 100 of %d open, 2000 reads, one client): p50 %.2f ms  p99 %.2f ms\n",
		wl.Open, ms(pct(reads, 50)), ms(pct(reads, 99)))

	// 2. Reports at a steady rate; the member reads each one at its position.
	if _, err := f.api.post(ctx, f.lead, "/v1/centres/"+centre.ID+"/shifts", map[string]any{"practitionerId": reader.ID,
		"window": map[string]string{"start": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "end": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}}); err != nil {
		return false, err
	}
	report := map[string]any{"findings": []map[string]any{{"item": "rhythm", "value": "窦性心律"}, {"item": "rate", "value": "72", "unit": "bpm"},
		{"item": "st_t", "value": "未见异常"}}, "impression": "正常心电图"}
	var mu sync.Mutex
	var visible, reportLat []time.Duration
	var errs atomic.Int64
	tick := time.NewTicker(time.Minute / time.Duration(o.diagRate))
	defer tick.Stop()
	stop := time.After(o.commandsFor)
	var ops sync.WaitGroup
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-stop:
			break loop
		case <-tick.C:
			ops.Add(1)
			go func() {
				defer ops.Done()
				s, err := submit(ctx, "emergency")
				if err != nil {
					errs.Add(1)
					return
				}
				t := time.Now()
				r, err := f.api.post(ctx, f.lead, "/v1/diagnostics/"+s.ID+"/report", report)
				if err != nil {
					errs.Add(1)
					return
				}
				cmd := time.Since(t)
				t = time.Now()
				var v struct {
					Status string `json:"status"`
				}
				if err := f.api.do(ctx, f.member, http.MethodGet, "/v1/diagnostics/"+s.ID+"?minPosition="+strconv.FormatUint(r.Position, 10), nil, &v); err != nil || v.Status != "reported" {
					errs.Add(1)
					return
				}
				seen := time.Since(t)
				mu.Lock()
				visible, reportLat = append(visible, seen), append(reportLat, cmd)
				mu.Unlock()
			}()
		}
	}
	ops.Wait()
	slices.Sort(visible)
	slices.Sort(reportLat)
	fmt.Printf("report -> member's view (minPosition read after the report command): %d reports, %d errors, p50 %.2f ms  p99 %.2f ms; report command p50 %.2f ms  p99 %.2f ms\n",
		len(visible), errs.Load(), ms(pct(visible, 50)), ms(pct(visible, 99)), ms(pct(reportLat, 50)), ms(pct(reportLat, 99)))
	summary = append(summary, fmt.Sprintf("diagnostics: worklist read p99 %.2f ms with %d open (bar 10 ms); report -> member's view p99 %.2f ms at %d/min (bar 50 ms)",
		ms(pct(reads, 99)), wl.Open, ms(pct(visible, 99)), o.diagRate))
	ok := bar("worklist read p99 under 10 ms", pct(reads, 99) < 10*time.Millisecond)
	ok = bar("report visible to the member p99 under 50 ms", pct(visible, 99) < 50*time.Millisecond) && ok
	return bar("no failed diagnostic operations", errs.Load() == 0) && ok, nil
}
