package projections_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
	"github.com/redis/go-redis/v9"
)

// cutProxy forwards TCP connections to target and can cut them all, as a network
// failure would.
type cutProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	paused bool
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			paused := p.paused
			p.mu.Unlock()
			if paused {
				_ = c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) pause(v bool) {
	p.mu.Lock()
	p.paused = v
	p.mu.Unlock()
}

// TestWatchPlanAfterReconnect cuts the queries' connection to Redis while a plan
// changes: once reconnected, the watcher is told to re-read, with a position at or
// after the change it missed.
func TestWatchPlanAfterReconnect(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	s := newScenario()
	s.run(t, store)
	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(t, p)
	proxy := startCutProxy(t, "127.0.0.1:6379")
	viaProxy := redis.NewClient(&redis.Options{Addr: proxy.ln.Addr().String(), MinRetryBackoff: 10 * time.Millisecond,
		MaxRetryBackoff: 50 * time.Millisecond})
	t.Cleanup(func() { _ = viaProxy.Close() })
	q := projections.NewQueries(viaProxy, projections.QueryOptions{Prefix: prefix})
	t.Cleanup(func() { _ = q.Close() })
	ch, stop, err := q.WatchPlan(context.Background(), s.plan2)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	time.Sleep(100 * time.Millisecond)

	proxy.pause(true)
	proxy.cut()
	res := appendEvents(t, store, domain.PlanStream(s.plan2), s.leadActor, s.t0,
		domain.PlanDeviationReported{PlanID: s.plan2, DeviationID: "missed", Description: "d", Severity: "minor", HospitalID: s.lead, At: s.t0})
	waitCaughtUp(t, p)
	time.Sleep(100 * time.Millisecond)
	proxy.pause(false)

	deadline := time.After(10 * time.Second)
	for {
		select {
		case pos := <-ch:
			if pos >= res.Position {
				doc, err := q.Plan(context.Background(), s.plan2, pos)
				if err != nil || doc.Position != res.Position {
					t.Fatalf("re-read after the nudge: position %d, %v; want %d", doc.Position, err, res.Position)
				}
				return
			}
		case <-deadline:
			t.Fatal("the watcher was not told to re-read after the reconnect")
		}
	}
}
