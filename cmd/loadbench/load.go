package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// newClient is the load generator's HTTP client: keep-alive connections for every
// concurrent client, no compression, bounded per request.
func newClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128,
			MaxConnsPerHost:     0,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// stats are the figures of one timed run.
type stats struct {
	N        int64         // successful operations
	Errors   int64         // failed operations
	Elapsed  time.Duration // wall time of the run
	lat      []time.Duration
	FirstErr string
}

// Rate is successful operations per second.
func (s stats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.N) / s.Elapsed.Seconds()
}

// Pct is the p-th percentile latency (0 < p <= 100) of successful operations.
func (s stats) Pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(float64(len(s.lat))*p/100+0.5) - 1
	i = max(0, min(i, len(s.lat)-1))
	return s.lat[i]
}

func (s stats) String() string {
	e := ""
	if s.Errors > 0 {
		e = fmt.Sprintf(", %d errors (first: %s)", s.Errors, s.FirstErr)
	}
	return fmt.Sprintf("%9.0f /s  p50 %6.2f ms  p99 %6.2f ms  (%d ops in %.1fs%s)",
		s.Rate(), ms(s.Pct(50)), ms(s.Pct(99)), s.N, s.Elapsed.Seconds(), e)
}

// merge adds the figures of another run of the same operation to s.
func (s stats) merge(o stats) stats {
	s.N += o.N
	s.Errors += o.Errors
	s.Elapsed += o.Elapsed
	if s.FirstErr == "" {
		s.FirstErr = o.FirstErr
	}
	s.lat = append(s.lat, o.lat...)
	slices.Sort(s.lat)
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// errDone, returned by an operation, ends its worker early (it has no work left).
var errDone = errors.New("no work left")

// drive runs op from workers goroutines for d and gathers the figures. op gets the
// worker's index and the count of operations that worker did so far, so a worker can
// walk its own share of the data without coordination. The run's elapsed time ends when
// the last worker stops. A non-nil gate paces the run: each operation first takes a
// token from it (the wait is not part of the operation's latency).
func drive(ctx context.Context, workers int, d time.Duration, gate <-chan struct{}, op func(ctx context.Context, worker, i int) error) stats {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type result struct {
		n, errs  int64
		lat      []time.Duration
		firstErr string
		end      time.Time
	}
	results := make([]result, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[w]
			defer func() { r.end = time.Now() }()
			r.lat = make([]time.Duration, 0, 1<<14)
			for i := 0; ctx.Err() == nil; i++ {
				if gate != nil {
					select {
					case <-gate:
					case <-ctx.Done():
						return
					}
				}
				t0 := time.Now()
				err := op(ctx, w, i)
				if ctx.Err() != nil || errors.Is(err, errDone) { // not counted
					return
				}
				if err != nil {
					r.errs++
					if r.firstErr == "" {
						r.firstErr = err.Error()
					}
					continue
				}
				r.n++
				r.lat = append(r.lat, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	var s stats
	for _, r := range results {
		s.Elapsed = max(s.Elapsed, r.end.Sub(start))
		s.N += r.n
		s.Errors += r.errs
		s.lat = append(s.lat, r.lat...)
		if s.FirstErr == "" {
			s.FirstErr = r.firstErr
		}
	}
	slices.Sort(s.lat)
	return s
}

// api is a client of one server with a bearer token.
type api struct {
	client *http.Client
	base   string
}

// httpError is a response with an unexpected status.
type httpError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// do sends a request and returns the body of a 2xx response; anything else is an
// *httpError. A nil out discards the body without decoding it.
func (a api) do(ctx context.Context, token, method, path string, body, out any, headers ...string) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return &httpError{Method: method, Path: path, Status: res.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// commandResult is the body of every successful command.
type commandResult struct {
	ID       string `json:"id"`
	Version  uint64 `json:"version"`
	Position uint64 `json:"position"`
}

// post runs a command and returns its result.
func (a api) post(ctx context.Context, token, path string, body any, headers ...string) (commandResult, error) {
	var r commandResult
	err := a.do(ctx, token, http.MethodPost, path, body, &r, headers...)
	return r, err
}
