package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// benchReferrals measures the referral path over HTTP against the real binary
// (embedded store, every append durable): each operation is one upward referral's
// request -> accept -> admit, three commands by two parties. It prints the journeys per
// second and the latency of a whole journey and of each command.
func benchReferrals(ctx context.Context, o options, tmp string, client *http.Client) (bool, error) {
	fmt.Printf("\n== (r) referrals: request -> accept -> admit, %d clients, %v, embedded store (fsync per append)\n",
		o.clients, o.commandsFor)
	dir, err := mustDir(tmp, "referrals")
	if err != nil {
		return false, err
	}
	srv, err := startAllianced(o.bin, dir)
	if err != nil {
		return false, err
	}
	defer srv.stop()
	f, err := newFixture(ctx, api{client: client, base: srv.base}, o.bin, dir, 1)
	if err != nil {
		return false, fmt.Errorf("fixture: %w", err)
	}
	var mrn atomic.Int64
	cmdLat := make([]stats, 3)
	var latCh = make(chan [3]time.Duration, 1<<16)
	s := drive(ctx, o.clients, o.commandsFor, nil, func(ctx context.Context, _, _ int) error {
		var d [3]time.Duration
		t := time.Now()
		r, err := f.api.post(ctx, f.member, "/v1/referrals", map[string]any{"allianceId": f.allianceID, "direction": "up",
			"urgency": "emergency", "reason": "胸痛", "clinicalSummary": "ST 段抬高",
			"medicalRecordNumber": "RF" + strconv.FormatInt(mrn.Add(1), 10)})
		if err != nil {
			return err
		}
		d[0] = time.Since(t)
		t = time.Now()
		if _, err := f.api.post(ctx, f.lead, "/v1/referrals/"+r.ID+"/accept", map[string]any{
			"expectedArrival": time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
		d[1] = time.Since(t)
		t = time.Now()
		if _, err := f.api.post(ctx, f.lead, "/v1/referrals/"+r.ID+"/admit", nil); err != nil {
			return err
		}
		d[2] = time.Since(t)
		select {
		case latCh <- d:
		default:
		}
		return nil
	})
	close(latCh)
	for d := range latCh {
		for i := range d {
			cmdLat[i].lat = append(cmdLat[i].lat, d[i])
		}
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	fmt.Printf("journey (3 commands): %s\n", s)
	for i, name := range []string{"request", "accept", "admit"} {
		c := cmdLat[i].merge(stats{}) // sorts
		fmt.Printf("  %-8s p50 %6.2f ms  p99 %6.2f ms\n", name, ms(c.Pct(50)), ms(c.Pct(99)))
	}
	summary = append(summary, fmt.Sprintf("referrals: %.0f journeys/s (%.0f commands/s), journey p50 %.2f ms, p99 %.2f ms",
		s.Rate(), 3*s.Rate(), ms(s.Pct(50)), ms(s.Pct(99))))
	return bar("no failed referral commands", s.Errors == 0), nil
}
