package app_test

import (
	"context"
	"sync"

	"github.com/medalliance/allianced/adapters/eventstore"
)

// memStore is a working in-memory event store for tests (until the embedded store is
// available to every test): the port's semantics, without durability.
type memStore struct {
	mu      sync.Mutex
	log     []eventstore.RecordedEvent
	streams map[string][]int
	notify  chan struct{}
}

func newMemStore() *memStore {
	return &memStore{streams: map[string][]int{}, notify: make(chan struct{})}
}

func (m *memStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx := m.streams[stream]
	cur, exists := uint64(0), len(idx) > 0
	if exists {
		cur = uint64(len(idx) - 1)
	}
	if !expected.Satisfied(cur, exists) {
		return eventstore.AppendResult{}, &eventstore.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: cur, Exists: exists}
	}
	var res eventstore.AppendResult
	for _, e := range events {
		rec := eventstore.RecordedEvent{ID: e.ID, Stream: stream, Version: uint64(len(m.streams[stream])),
			Position: eventstore.Position(len(m.log) + 1), Type: e.Type, Data: e.Data, Metadata: e.Metadata}
		m.streams[stream] = append(m.streams[stream], len(m.log))
		m.log = append(m.log, rec)
		res = eventstore.AppendResult{Version: rec.Version, Position: rec.Position}
	}
	close(m.notify)
	m.notify = make(chan struct{})
	return res, nil
}

func (m *memStore) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx := m.streams[stream]
	if len(idx) == 0 {
		return nil, eventstore.ErrStreamNotFound
	}
	var out []eventstore.RecordedEvent
	if dir == eventstore.Forwards {
		for i := from; i < uint64(len(idx)) && len(out) < limit; i++ {
			out = append(out, m.log[idx[i]])
		}
		return out, nil
	}
	start := int64(len(idx) - 1)
	if from != eventstore.End && int64(from) < start {
		start = int64(from)
	}
	for i := start; i >= 0 && len(out) < limit; i-- {
		out = append(out, m.log[idx[i]])
	}
	return out, nil
}

func (m *memStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []eventstore.RecordedEvent
	for i := int(after); i < len(m.log) && len(out) < limit; i++ {
		out = append(out, m.log[i])
	}
	return out, nil
}

func (m *memStore) Subscribe(ctx context.Context, after eventstore.Position, h func(eventstore.SubscriptionMessage) error) error {
	caughtUp := false
	for {
		m.mu.Lock()
		batch := append([]eventstore.RecordedEvent(nil), m.log[min(int(after), len(m.log)):]...)
		wait := m.notify
		m.mu.Unlock()
		for i := range batch {
			if err := h(eventstore.SubscriptionMessage{Event: &batch[i]}); err != nil {
				return err
			}
			after = batch[i].Position
		}
		if !caughtUp {
			caughtUp = true
			if err := h(eventstore.SubscriptionMessage{CaughtUp: true}); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait:
		}
	}
}

func (m *memStore) Head(ctx context.Context) (eventstore.Position, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return eventstore.Position(len(m.log)), nil
}

func (m *memStore) Close() error { return nil }

// count returns the number of events in the log.
func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.log)
}
