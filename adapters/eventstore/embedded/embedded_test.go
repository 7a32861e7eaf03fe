package embedded_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
	"github.com/medalliance/allianced/adapters/eventstore/storetest"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// mustOpen opens a store in a fresh directory and closes it when the test ends.
func mustOpen(tb testing.TB, dir string) *embedded.Store {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

func TestContractFreshStores(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return mustOpen(t, "") })
}

func TestContractSharedStore(t *testing.T) {
	shared := mustOpen(t, "")
	storetest.Run(t, func(*testing.T) eventstore.Store { return shared })
}

func TestSecondOpenFailsClearly(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir)
	s, err := embedded.Open(dir, embedded.Options{})
	if err == nil {
		s.Close()
		t.Fatalf("a second open of %s succeeded", dir)
	}
	if !errors.Is(err, embedded.ErrInUse) {
		t.Fatalf("second open: got %v, want it to wrap embedded.ErrInUse", err)
	}
	if want := "data directory " + dir + " is in use by another allianced process"; !strings.Contains(err.Error(), want) {
		t.Fatalf("second open: got %q, want it to say %q", err, want)
	}
}

// TestReopenRebuildsIndex closes a store, reopens it as is and with its index removed,
// and checks streams, the log and expected versions carry on.
func TestReopenRebuildsIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	streams := []string{"hospital-a", "hospital-ab", "plan-1"}
	for i := range 30 {
		stream := streams[i%len(streams)]
		ev := eventstore.EventData{ID: ulid.Make(), Type: "Probe", Data: []byte(fmt.Sprintf(`{"i":%d}`, i)), Metadata: []byte(`{}`)}
		if _, err := s.Append(ctx, stream, eventstore.Any(), []eventstore.EventData{ev}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func()
	}{
		{"as closed", func() {}},
		{"index removed", func() {
			if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			s, err := embedded.Open(dir, embedded.Options{})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if head, _ := s.Head(ctx); head != 30 {
				t.Fatalf("head %d after reopening, want 30", head)
			}
			for i, stream := range streams {
				recs, err := s.ReadStream(ctx, stream, eventstore.Forwards, 0, 100)
				if err != nil || len(recs) != 10 {
					t.Fatalf("%s: %d events, %v; want 10", stream, len(recs), err)
				}
				for j, r := range recs {
					if want := fmt.Sprintf(`{"i":%d}`, j*len(streams)+i); string(r.Data) != want || r.Version != uint64(j) {
						t.Fatalf("%s@%d: %s, want %s at revision %d", stream, r.Version, r.Data, want, j)
					}
				}
			}
			// The recovered head of each stream is what expected versions check against.
			ev := eventstore.EventData{ID: ulid.Make(), Type: "Probe", Data: []byte(`{}`), Metadata: []byte(`{}`)}
			var wrong *eventstore.WrongExpectedVersionError
			if _, err := s.Append(ctx, "plan-1", eventstore.Exact(8), []eventstore.EventData{ev}); !errors.As(err, &wrong) || wrong.Actual != 9 {
				t.Fatalf("append expecting a stale revision after reopening: got %v, want a conflict at 9", err)
			}
		})
	}
}

// TestAppendRejectsBadInput checks appends that do not fit the layout fail as invalid input.
func TestAppendRejectsBadInput(t *testing.T) {
	s := mustOpen(t, "")
	ctx := context.Background()
	ok := eventstore.EventData{ID: ulid.Make(), Type: "Probe", Data: []byte(`{}`)}
	cases := []struct {
		name   string
		stream string
		events []eventstore.EventData
	}{
		{"empty stream name", "", []eventstore.EventData{ok}},
		{"stream name too long", strings.Repeat("s", 1025), []eventstore.EventData{ok}},
		{"no events", "s", nil},
		{"no type", "s", []eventstore.EventData{{ID: ulid.Make()}}},
		{"type too long", "s", []eventstore.EventData{{ID: ulid.Make(), Type: strings.Repeat("t", 1025)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Append(ctx, tc.stream, eventstore.Any(), tc.events)
			if code := domain.ErrorCode(err); code != domain.CodeInvalidInput {
				t.Fatalf("got %v (code %q), want invalid_input", err, code)
			}
		})
	}
	if head, _ := s.Head(ctx); head != 0 {
		t.Fatalf("rejected appends moved the head to %d", head)
	}
	if _, err := s.ReadAll(ctx, 0, 0); domain.ErrorCode(err) != domain.CodeInvalidInput {
		t.Fatalf("read all with limit 0: got %v, want invalid_input", err)
	}
}

// TestClosedStore checks calls after Close fail with ErrClosed and subscriptions end.
func TestClosedStore(t *testing.T) {
	ctx := context.Background()
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	caughtUp := make(chan struct{})
	go func() {
		done <- s.Subscribe(ctx, 0, func(m eventstore.SubscriptionMessage) error {
			if m.CaughtUp {
				close(caughtUp)
			}
			return nil
		})
	}()
	<-caughtUp
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("subscription on close: got %v, want ErrClosed", err)
	}
	ev := eventstore.EventData{ID: ulid.Make(), Type: "Probe", Data: []byte(`{}`)}
	if _, err := s.Append(ctx, "s", eventstore.Any(), []eventstore.EventData{ev}); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("append after close: got %v, want ErrClosed", err)
	}
	if _, err := s.ReadStream(ctx, "s", eventstore.Forwards, 0, 1); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("read after close: got %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestIndexAheadOfLog recreates a crash between an index flush and the log's fsync: the
// index holds an entry (and watermark) for a position the log never made durable. Open
// drops it, and the stream it named is as if never written.
func TestIndexAheadOfLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		ev := eventstore.EventData{ID: ulid.Make(), Type: "Probe", Data: []byte(fmt.Sprintf(`{"i":%d}`, i))}
		if _, err := s.Append(ctx, "kept", eventstore.Any(), []eventstore.EventData{ev}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Write into the index what a lost append to "lost" (position 6) and to "kept"
	// (revision 5, position 7) would have left, per the documented key layout.
	idx, err := pebble.Open(filepath.Join(dir, "index"), &pebble.Options{DisableWAL: true})
	if err != nil {
		t.Fatal(err)
	}
	entry := func(stream string, rev, pos uint64) {
		k := append([]byte{'s', byte(len(stream) >> 8), byte(len(stream))}, stream...)
		k = binary.BigEndian.AppendUint64(k, rev)
		if err := idx.Set(k, binary.BigEndian.AppendUint64(nil, pos), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	entry("lost", 0, 6)
	entry("kept", 5, 7)
	if err := idx.Set([]byte("wwatermark"), binary.BigEndian.AppendUint64(nil, 7), pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if err := idx.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := idx.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, dir)
	if _, err := s.ReadStream(ctx, "lost", eventstore.Forwards, 0, 10); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("stream of a lost append: got %v, want not_found", err)
	}
	recs, err := s.ReadStream(ctx, "kept", eventstore.Backwards, eventstore.End, 10)
	if err != nil || len(recs) != 5 || recs[0].Version != 4 {
		t.Fatalf("kept: got %d events (last %v), %v; want 5 ending at revision 4", len(recs), fmtFirst(recs), err)
	}
	ev := eventstore.EventData{ID: ulid.Make(), Type: "Probe", Data: []byte(`{}`)}
	res, err := s.Append(ctx, "kept", eventstore.Exact(4), []eventstore.EventData{ev})
	if err != nil || res.Version != 5 || res.Position != 6 {
		t.Fatalf("append after recovery: got %+v, %v; want revision 5 at position 6", res, err)
	}
	if _, err := s.Append(ctx, "lost", eventstore.NoStream(), []eventstore.EventData{ev}); err != nil {
		t.Fatalf("append to the lost stream as new: %v", err)
	}
}

func fmtFirst(recs []eventstore.RecordedEvent) any {
	if len(recs) == 0 {
		return "none"
	}
	return recs[0].Version
}
