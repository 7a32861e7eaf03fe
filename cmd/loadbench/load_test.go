package main

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestStatsPercentiles(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	s := stats{N: 100, Elapsed: 2 * time.Second, lat: lat}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{100, 100 * time.Millisecond},
		{0.1, time.Millisecond},
	}
	for _, tc := range tests {
		if got := s.Pct(tc.p); got != tc.want {
			t.Errorf("Pct(%v): got %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := s.Rate(); got != 50 {
		t.Errorf("Rate: got %v, want 50", got)
	}
	if got := (stats{}).Pct(99); got != 0 {
		t.Errorf("Pct of no samples: got %v, want 0", got)
	}
}

func TestStatsMerge(t *testing.T) {
	a := stats{N: 2, Errors: 1, Elapsed: time.Second, FirstErr: "a", lat: []time.Duration{3, 1}}
	b := stats{N: 1, Elapsed: time.Second, FirstErr: "b", lat: []time.Duration{2}}
	m := a.merge(b)
	if m.N != 3 || m.Errors != 1 || m.Elapsed != 2*time.Second || m.FirstErr != "a" {
		t.Errorf("merge: got %+v", m)
	}
	if !slices.Equal(m.lat, []time.Duration{1, 2, 3}) {
		t.Errorf("merge: latencies %v, want sorted 1 2 3", m.lat)
	}
}

func TestDriveCountsAndStopsWorkersWithNoWork(t *testing.T) {
	var calls atomic.Int64
	s := drive(context.Background(), 4, 5*time.Second, nil, func(_ context.Context, w, i int) error {
		calls.Add(1)
		switch {
		case i == 10:
			return errDone // every worker has ten operations
		case w == 0 && i == 0:
			return errors.New("boom")
		}
		return nil
	})
	if s.N != 39 || s.Errors != 1 || s.FirstErr != "boom" {
		t.Errorf("drive: got %d ok, %d errors (%q); want 39 ok, 1 error boom", s.N, s.Errors, s.FirstErr)
	}
	if calls.Load() != 44 {
		t.Errorf("drive: %d calls, want 44 (11 per worker)", calls.Load())
	}
	if s.Elapsed >= 5*time.Second {
		t.Errorf("drive: elapsed %v; workers with no work left should end the run early", s.Elapsed)
	}
}

func TestLimiterPacesTokens(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if limiter(ctx, 0) != nil {
		t.Errorf("limiter(0): want no limit (nil)")
	}
	tokens := limiter(ctx, 1000)
	start := time.Now()
	for range 300 {
		<-tokens
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("300 tokens at 1000/s came in %v; want about 300ms", d)
	}
}

func TestRSSOfThisProcess(t *testing.T) {
	kb, err := rssKB(os.Getpid())
	if err != nil {
		t.Skipf("no /proc on this system: %v", err)
	}
	if kb <= 0 {
		t.Errorf("VmRSS of this process: got %d KiB", kb)
	}
	if _, err := rssKB(-1); err == nil {
		t.Errorf("rssKB(-1): want an error")
	}
}
