package kurrentdbtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb/kurrentdbtest"
)

// MustClient starts a server and returns a real client connected to it.
func MustClient(t *testing.T) (*kurrentdbtest.Server, *esdb.Client) {
	t.Helper()
	srv, err := kurrentdbtest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	conf, err := esdb.ParseConnectionString(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

func data(typ string, n int) esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson, Data: []byte(fmt.Sprintf(`{"n":%d}`, n)), Metadata: []byte(`{"m":1}`)}
}

func mustAppend(t *testing.T, c *esdb.Client, stream string, events ...esdb.EventData) *esdb.WriteResult {
	t.Helper()
	res, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, events...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

// readAllEvents drains a read; only io.EOF ends it.
func readAllEvents(t *testing.T, rs *esdb.ReadStream, err error) ([]*esdb.RecordedEvent, error) {
	t.Helper()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev.Event)
	}
}

func describe(evs []*esdb.RecordedEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%s@%d", e.StreamID, e.EventNumber)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAppendAndReadStream(t *testing.T) {
	_, c := MustClient(t)
	ctx := context.Background()
	first := data("A", 0)
	res := mustAppend(t, c, "order-1", first, data("B", 1), data("A", 2))
	if res.NextExpectedVersion != 2 || res.CommitPosition == 0 {
		t.Fatalf("write result: got %+v, want revision 2 and a position", res)
	}

	tests := []struct {
		name  string
		opts  esdb.ReadStreamOptions
		count uint64
		want  []string
	}{
		{"forwards from start", esdb.ReadStreamOptions{}, 10, []string{"order-1@0", "order-1@1", "order-1@2"}},
		{"forwards count", esdb.ReadStreamOptions{From: esdb.Revision(1)}, 1, []string{"order-1@1"}},
		{"forwards from end", esdb.ReadStreamOptions{From: esdb.End{}}, 10, nil},
		{"backwards from end", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 2, []string{"order-1@2", "order-1@1"}},
		{"backwards from revision", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Revision(1)}, 10, []string{"order-1@1", "order-1@0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := c.ReadStream(ctx, "order-1", tc.opts, tc.count)
			evs, err := readAllEvents(t, rs, err)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(evs); !equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	rs, err := c.ReadStream(ctx, "order-1", esdb.ReadStreamOptions{}, 1)
	evs, err := readAllEvents(t, rs, err)
	if err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	if e.EventID != first.EventID || e.EventType != "A" || e.ContentType != "application/json" || string(e.UserMetadata) != `{"m":1}` ||
		e.Position.Commit == 0 || e.Position.Commit != e.Position.Prepare || time.Since(e.CreatedDate) > time.Minute {
		t.Fatalf("event fields: got %+v", e)
	}

	rs, err = c.ReadStream(ctx, "missing", esdb.ReadStreamOptions{}, 10)
	_, err = readAllEvents(t, rs, err)
	var esErr *esdb.Error
	if !errors.As(err, &esErr) || esErr.Code() != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("missing stream: got %v, want ErrorCodeResourceNotFound", err)
	}
}

func TestExpectedRevision(t *testing.T) {
	_, c := MustClient(t)
	ctx := context.Background()
	mustAppend(t, c, "s-1", data("A", 0), data("A", 1))
	tests := []struct {
		name     string
		stream   string
		expected esdb.ExpectedRevision
		ok       bool
	}{
		{"any", "s-1", esdb.Any{}, true},
		{"exact current", "s-1", esdb.Revision(2), true},
		{"exact stale", "s-1", esdb.Revision(0), false},
		{"no stream on existing", "s-1", esdb.NoStream{}, false},
		{"stream exists", "s-1", esdb.StreamExists{}, true},
		{"stream exists on missing", "s-2", esdb.StreamExists{}, false},
		{"no stream on missing", "s-3", esdb.NoStream{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.AppendToStream(ctx, tc.stream, esdb.AppendToStreamOptions{ExpectedRevision: tc.expected}, data("A", 9))
			if tc.ok && err != nil {
				t.Fatalf("got %v, want success", err)
			}
			var esErr *esdb.Error
			if !tc.ok && (!errors.As(err, &esErr) || esErr.Code() != esdb.ErrorCodeWrongExpectedVersion) {
				t.Fatalf("got %v, want ErrorCodeWrongExpectedVersion", err)
			}
		})
	}

	// Retrying the same append with the same ids and an exact revision is acknowledged.
	retry := []esdb.EventData{data("A", 10), data("A", 11)}
	r1, err := c.AppendToStream(ctx, "s-4", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, retry...)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.AppendToStream(ctx, "s-4", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, retry...)
	if err != nil || r2.CommitPosition != r1.CommitPosition {
		t.Fatalf("idempotent retry: got %+v, %v; want %+v", r2, err, r1)
	}
}

func TestReadAll(t *testing.T) {
	_, c := MustClient(t)
	ctx := context.Background()
	mustAppend(t, c, "a-1", data("A", 0), data("B", 1))
	mustAppend(t, c, "b-1", data("A", 2))

	rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{}, 100)
	all, err := readAllEvents(t, rs, err)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 || all[0].EventType != "$metadata" {
		t.Fatalf("$all: got %v, want 3 system events then 3 user events", describe(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Position.Commit <= all[i-1].Position.Commit {
			t.Fatalf("positions not increasing: %v then %v", all[i-1].Position, all[i].Position)
		}
	}
	user := all[3]

	tests := []struct {
		name string
		opts esdb.ReadAllOptions
		want []string
	}{
		{"forwards from a position includes it", esdb.ReadAllOptions{From: user.Position}, []string{"a-1@0", "a-1@1", "b-1@0"}},
		{"backwards from end", esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, []string{"b-1@0", "a-1@1", "a-1@0"}},
		{"backwards from a position excludes it", esdb.ReadAllOptions{Direction: esdb.Backwards, From: all[5].Position}, []string{"a-1@1", "a-1@0", "$settings@0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := c.ReadAll(ctx, tc.opts, 3)
			evs, err := readAllEvents(t, rs, err)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(evs); !equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// subMsgs collects a subscription's messages until it has n events and caught up.
func subMsgs(t *testing.T, sub *esdb.Subscription, n int) (events []*esdb.RecordedEvent, checkpoints int) {
	t.Helper()
	caughtUp := false
	for len(events) < n || !caughtUp {
		m := sub.Recv()
		switch {
		case m.SubscriptionDropped != nil:
			t.Fatalf("dropped after %d events: %v", len(events), m.SubscriptionDropped.Error)
		case m.EventAppeared != nil:
			events = append(events, m.EventAppeared.Event)
		case m.CheckPointReached != nil:
			checkpoints++
		case m.CaughtUp != nil:
			caughtUp = true
		}
	}
	return events, checkpoints
}

func TestSubscribeToAllFiltered(t *testing.T) {
	_, c := MustClient(t)
	for i := 0; i < 5; i++ {
		mustAppend(t, c, fmt.Sprintf("order-%d", i), data("OrderPlaced", i))
		mustAppend(t, c, fmt.Sprintf("invoice-%d", i), data("InvoiceSent", i))
	}
	tests := []struct {
		name   string
		filter *esdb.SubscriptionFilter
		want   int
	}{
		{"exclude system events", esdb.ExcludeSystemEventsFilter(), 10},
		{"stream prefix", &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"order-"}}, 5},
		{"event type regex", &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Regex: "^Invoice"}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}, Filter: tc.filter, MaxSearchWindow: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			evs, checkpoints := subMsgs(t, sub, tc.want)
			if len(evs) != tc.want {
				t.Fatalf("got %v, want %d events", describe(evs), tc.want)
			}
			for _, e := range evs {
				if e.EventType[0] == '$' {
					t.Fatalf("system event delivered: %v", e)
				}
			}
			// 13 records considered with a window of 2 and a multiplier of 1.
			if checkpoints != 6 {
				t.Fatalf("got %d checkpoints, want 6", checkpoints)
			}
		})
	}
}

func TestSubscribeLiveAndFromPosition(t *testing.T) {
	_, c := MustClient(t)
	first := mustAppend(t, c, "live-1", data("A", 0))
	mustAppend(t, c, "live-1", data("A", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// From a position: strictly after it.
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Position{Commit: first.CommitPosition, Prepare: first.PreparePosition}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	evs, _ := subMsgs(t, sub, 1)
	if got := describe(evs); !equal(got, []string{"live-1@1"}) {
		t.Fatalf("catch-up after a position: got %v", got)
	}

	// Stream subscription from a revision: strictly after it, then live.
	ssub, err := c.SubscribeToStream(ctx, "live-1", esdb.SubscribeToStreamOptions{From: esdb.Revision(0)})
	if err != nil {
		t.Fatal(err)
	}
	defer ssub.Close()
	evs, _ = subMsgs(t, ssub, 1)
	if got := describe(evs); !equal(got, []string{"live-1@1"}) {
		t.Fatalf("stream catch-up after revision 0: got %v", got)
	}
	mustAppend(t, c, "other-1", data("A", 2))
	mustAppend(t, c, "live-1", data("A", 3))
	m := ssub.Recv()
	if m.EventAppeared == nil || m.EventAppeared.Event.StreamID != "live-1" || m.EventAppeared.Event.EventNumber != 2 {
		t.Fatalf("live stream event: got %+v", m)
	}
	for _, want := range []string{"other-1@0", "live-1@2"} {
		m := sub.Recv()
		if m.EventAppeared == nil || describe([]*esdb.RecordedEvent{m.EventAppeared.Event})[0] != want {
			t.Fatalf("live $all event: got %+v, want %s", m, want)
		}
	}
}

func TestDeleteStream(t *testing.T) {
	_, c := MustClient(t)
	ctx := context.Background()
	mustAppend(t, c, "del-1", data("A", 0), data("A", 1))
	if _, err := c.DeleteStream(ctx, "del-1", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(1)}); err != nil {
		t.Fatal(err)
	}
	rs, err := c.ReadStream(ctx, "del-1", esdb.ReadStreamOptions{}, 10)
	_, err = readAllEvents(t, rs, err)
	var esErr *esdb.Error
	if !errors.As(err, &esErr) || esErr.Code() != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("read after delete: got %v, want not found", err)
	}
	// Appending again continues the revisions.
	res := mustAppend(t, c, "del-1", data("A", 2))
	if res.NextExpectedVersion != 2 {
		t.Fatalf("append after delete: got revision %d, want 2", res.NextExpectedVersion)
	}
}

func TestRestartKeepsData(t *testing.T) {
	srv, c := MustClient(t)
	mustAppend(t, c, "keep-1", data("A", 0))
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// The old client's connection broke; a new client sees the data on the same address.
	conf, _ := esdb.ParseConnectionString(srv.URL())
	conf.Logger = esdb.NoopLogging()
	c2, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	rs, err := c2.ReadStream(context.Background(), "keep-1", esdb.ReadStreamOptions{}, 10)
	evs, err := readAllEvents(t, rs, err)
	if err != nil || len(evs) != 1 {
		t.Fatalf("after restart: got %v, %v", describe(evs), err)
	}
}

func TestTombstoneStream(t *testing.T) {
	_, c := MustClient(t)
	ctx := context.Background()
	mustAppend(t, c, "tomb-1", data("A", 0))
	if _, err := c.TombstoneStream(ctx, "tomb-1", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Revision(5)}); err == nil {
		t.Fatal("tombstone with a wrong expected revision succeeded")
	}
	if _, err := c.TombstoneStream(ctx, "tomb-1", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.StreamExists{}}); err != nil {
		t.Fatal(err)
	}
	wantDeleted := func(what string, err error) {
		t.Helper()
		var esErr *esdb.Error
		if !errors.As(err, &esErr) || esErr.Code() != esdb.ErrorCodeStreamDeleted {
			t.Fatalf("%s a tombstoned stream: got %v, want ErrorCodeStreamDeleted", what, err)
		}
	}
	rs, err := c.ReadStream(ctx, "tomb-1", esdb.ReadStreamOptions{}, 10)
	_, err = readAllEvents(t, rs, err)
	wantDeleted("reading", err)
	_, err = c.AppendToStream(ctx, "tomb-1", esdb.AppendToStreamOptions{}, data("A", 1))
	wantDeleted("appending to", err)
	_, err = c.DeleteStream(ctx, "tomb-1", esdb.DeleteStreamOptions{})
	wantDeleted("deleting", err)

	// The tombstone is a system record in $all.
	rs, err = c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	evs, err := readAllEvents(t, rs, err)
	if err != nil || len(evs) != 1 || evs[0].EventType != "$streamDeleted" || evs[0].StreamID != "tomb-1" {
		t.Fatalf("last record of $all: got %v, %v; want the tombstone", describe(evs), err)
	}
}
