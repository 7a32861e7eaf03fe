package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	httpapi "github.com/medalliance/allianced/adapters/http"
)

func withBodyTimeout(d time.Duration) fixtureOpt {
	return func(cfg *httpapi.Config, _ *httpapi.Deps) { cfg.BodyReadTimeout = d }
}

// slowAppendStore takes delay for every append, or fails with the context's error if
// the request is cancelled first.
type slowAppendStore struct {
	eventstore.Store
	delay time.Duration
}

func (s slowAppendStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	select {
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	case <-time.After(s.delay):
	}
	return s.Store.Append(ctx, stream, expected, events)
}

// TestSlowBodyTimesOut: a body sent at a trickle is cut off at the body read deadline
// with 408 request_timeout and its connection closed, instead of holding the
// connection as long as the client likes.
func TestSlowBodyTimesOut(t *testing.T) {
	f := newFixture(t, withBodyTimeout(300*time.Millisecond))
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	admin := f.token("admin-1", "01J000000000000000000000AD", "", httpapi.RoleAdmin)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"瑞金医院","regionCode":"310101","level":"tertiary","departments":[{"id":"haem","name":"血液科"}]}`
	fmt.Fprintf(conn, "POST /v1/hospitals HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", admin, len(body))
	stop := make(chan struct{})
	defer close(stop)
	go func() { // one byte every 50ms: the whole body would take several seconds
		for i := 0; i < len(body); i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response within 3s to a body sent at a trickle: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("got %d, want 408", res.StatusCode)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("answered after %s, want about the 300ms deadline", took)
	}
	if !res.Close && res.Header.Get("Connection") != "close" {
		// The server must not keep the connection for another request.
		buf := make([]byte, 1)
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := res.Body.Read(buf); err == nil {
			t.Fatal("connection still open after the body timed out")
		}
	}
}

// TestBodyDeadlineEndsWithTheBody: the body deadline is lifted once the body has
// arrived, so a command that takes longer than it afterwards still completes.
func TestBodyDeadlineEndsWithTheBody(t *testing.T) {
	f := newFixtureOn(t, slowAppendStore{Store: mustOpenStore(t), delay: 600 * time.Millisecond}, withBodyTimeout(200*time.Millisecond))
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	admin := f.token("admin-1", "01J000000000000000000000AD", "", httpapi.RoleAdmin)
	req, _ := http.NewRequest("POST", srv.URL+"/v1/hospitals", strings.NewReader(`{"name":"瑞金医院","regionCode":"310101","level":"tertiary"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("a command slower than the body deadline: got %d, want 201", res.StatusCode)
	}
}

// TestMinPositionBeyondHead: a read at a position the log has not reached answers 400
// position_beyond_head at once instead of waiting for the views and timing out.
func TestMinPositionBeyondHead(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	head, err := f.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pos  uint64
		want int
	}{
		{"the head", uint64(head), 200},
		{"one past the head", uint64(head) + 1, 400},
		{"far beyond", 1 << 60, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := f.do("GET", "/v1/alliances/"+w.alliance+"?minPosition="+strconv.FormatUint(tc.pos, 10), w.leadTok, "")
			if r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
			if tc.want == 400 && r.code(t) != "position_beyond_head" {
				t.Fatalf("code %q, want position_beyond_head", r.code(t))
			}
			if took := time.Since(start); tc.want == 400 && took > time.Second {
				t.Fatalf("answered after %s, want at once", took)
			}
		})
	}
}

// headlessStore cannot tell the head of its log once headless is set (before, the
// projector reads its catch-up target from it at start); it counts the times it was asked.
type headlessStore struct {
	eventstore.Store
	headless atomic.Bool
	asked    atomic.Int64
}

func (s *headlessStore) Head(ctx context.Context) (eventstore.Position, error) {
	if !s.headless.Load() {
		return s.Store.Head(ctx)
	}
	s.asked.Add(1)
	return 0, &eventstore.UnavailableError{Err: errors.New("head unavailable")}
}

// TestMinPositionCheckNeedsNoStoreForKnownPositions: a position this server answered a
// command with is read without asking the store for its head (a read-your-writes read
// costs no extra store call), and a store that cannot say does not fail the read.
func TestMinPositionCheckNeedsNoStoreForKnownPositions(t *testing.T) {
	st := &headlessStore{Store: mustOpenStore(t)}
	f := newFixtureOn(t, st, withViews(t))
	w := f.world()
	// The projector reads its catch-up target from the head at start; under load it may
	// not have yet, and it would retry on the headless store (counted below). Wait for
	// readiness, which needs that target, before the store loses its head.
	deadline := time.Now().Add(30 * time.Second)
	for f.do("GET", "/readyz", "", "").status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the views did not become ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st.headless.Store(true)
	r := f.do("POST", "/v1/hospitals", w.admin, `{"name":"某医院","regionCode":"310101","level":"tertiary"}`)
	if r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	before := st.asked.Load()
	if got := f.do("GET", "/v1/hospitals?minPosition="+posOf(t, r), w.m1Tok, ""); got.status != 200 {
		t.Fatalf("read at the command's position: %d %s", got.status, got.body)
	}
	if n := st.asked.Load() - before; n != 0 {
		t.Fatalf("the read asked the store for its head %d times, want 0", n)
	}
}
