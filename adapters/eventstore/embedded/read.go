package embedded

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// subscribeBatch is how many events a subscription reads from the log per round.
const subscribeBatch = 512

// use runs fn with the database, unless the store is closed.
func (s *Store) use(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return fn()
}

func checkLimit(limit int) error {
	if limit <= 0 {
		return domain.Errorf(domain.CodeInvalidInput, "read limit must be positive, got %d", limit)
	}
	return nil
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	if len(stream) > maxStreamLen || stream == "" {
		return nil, fmt.Errorf("stream %q: %w", stream, eventstore.ErrStreamNotFound)
	}
	var out []eventstore.RecordedEvent
	err := s.use(ctx, func() error {
		// Pebble makes a batch visible before its fsync; reads show only what has been
		// acknowledged.
		durable := s.durable.Load()
		prefix := streamPrefix(nil, stream)
		lower := binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), 0)
		upper := append(binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), ^uint64(0)), 0)
		idx, err := s.index.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return err
		}
		defer idx.Close()
		logIt, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte{prefixLog}, UpperBound: []byte{prefixLog + 1}})
		if err != nil {
			return err
		}
		defer logIt.Close()

		var dec decoder
		var valid bool
		if dir == eventstore.Forwards {
			valid = idx.SeekGE(indexKey(nil, stream, from))
		} else if from == eventstore.End {
			valid = idx.Last()
		} else {
			valid = idx.SeekLT(indexKey(nil, stream, from+1))
		}
		for ; valid && len(out) < limit; valid = step(idx, dir) {
			pos := binary.BigEndian.Uint64(idx.Value())
			if pos > durable {
				if dir == eventstore.Forwards {
					break
				}
				continue
			}
			if !logIt.SeekGE(logKey(pos)) || binary.BigEndian.Uint64(logIt.Key()[1:]) != pos {
				return corrupt(pos, "indexed from stream "+stream+" but missing from the log")
			}
			rec, err := dec.decode(pos, logIt.Value())
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		if err := idx.Error(); err != nil {
			return err
		}
		if len(out) == 0 && (!idx.First() || binary.BigEndian.Uint64(idx.Value()) > durable) {
			if err := idx.Error(); err != nil {
				return err
			}
			return fmt.Errorf("stream %s: %w", stream, eventstore.ErrStreamNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func step(it *pebble.Iterator, dir eventstore.Direction) bool {
	if dir == eventstore.Forwards {
		return it.Next()
	}
	return it.Prev()
}

// ReadAll implements eventstore.Store. It reads only acknowledged events.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	return s.readLog(ctx, uint64(after), s.durable.Load(), limit, nil)
}

// readLog appends to out the events with positions in (after, until], at most limit.
func (s *Store) readLog(ctx context.Context, after, until uint64, limit int, out []eventstore.RecordedEvent) ([]eventstore.RecordedEvent, error) {
	if after >= until {
		return out, ctx.Err()
	}
	if out == nil {
		out = make([]eventstore.RecordedEvent, 0, min(uint64(limit), until-after))
	}
	err := s.use(ctx, func() error {
		it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: logKey(after + 1), UpperBound: logKey(until + 1)})
		if err != nil {
			return err
		}
		defer it.Close()
		var dec decoder
		n := 0
		for valid := it.First(); valid && n < limit; valid = it.Next() {
			rec, err := dec.decode(binary.BigEndian.Uint64(it.Key()[1:]), it.Value())
			if err != nil {
				return err
			}
			out = append(out, rec)
			n++
		}
		return it.Error()
	})
	return out, err
}

// Subscribe implements eventstore.Store: catch up from the log, CaughtUp once, then
// follow the writer's commit broadcast, always reading from the last delivered position.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, h func(eventstore.SubscriptionMessage) error) error {
	last := uint64(after)
	caughtUp := false
	var buf []eventstore.RecordedEvent
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Load the broadcast channel before the head: a commit after this load closes
		// this channel, so no commit is missed.
		wake := *s.notify.Load()
		head := s.durable.Load()
		if last < head {
			var err error
			buf, err = s.readLog(ctx, last, head, subscribeBatch, buf[:0])
			if err != nil {
				return err
			}
			for i := range buf {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := h(eventstore.SubscriptionMessage{Event: &buf[i]}); err != nil {
					return err
				}
				last = uint64(buf[i].Position)
			}
			// A delivered event may be kept by the handler: do not reuse the buffer.
			buf = nil
			continue
		}
		if !caughtUp {
			caughtUp = true
			if err := h(eventstore.SubscriptionMessage{CaughtUp: true}); err != nil {
				return err
			}
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return ErrClosed
		}
	}
}
