package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/medalliance/allianced/adapters/eventstore"
)

// Subscribe delivers every user event after position after, then one CaughtUp, then live
// events, until ctx is done, h fails, or the server stays unreachable for longer than
// Options.ResubscribeTimeout.
//
// It uses SubscribeToAll with KurrentDB's server-side filter excluding system event
// types (and skips `$` streams itself). CaughtUp is sent once: when the server sends
// caught_up, or when the events delivered (or a checkpoint) reach the head read before
// subscribing, whichever comes first, so servers that predate caught_up work too.
//
// The client never resubscribes by itself: when the server drops the subscription (a
// restart, a network failure), Subscribe builds a new client if needed and subscribes
// again after the last delivered position, skipping anything at or before it, so no event
// is lost or repeated. Checkpoints are not used as resume points: KurrentDB may send them
// with a prepare position of 0, which is not a record boundary to resume from.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, h func(eventstore.SubscriptionMessage) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.base, cancel)
	defer stop()

	st := &subState{last: after}
	backoff := 50 * time.Millisecond
	var failingSince time.Time
	for {
		progressed, err := s.subscribeOnce(ctx, st, h)
		if err == nil {
			err = errors.New("kurrentdb: subscription ended")
		}
		if cerr := ctx.Err(); cerr != nil {
			if s.base.Err() != nil && !errors.Is(err, errClosed) {
				return errClosed
			}
			return cerr
		}
		var herr handlerError
		if errors.As(err, &herr) {
			return herr.err
		}
		if progressed {
			failingSince, backoff = time.Time{}, 50*time.Millisecond
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		} else if time.Since(failingSince) > s.opts.ResubscribeTimeout {
			var ue *eventstore.UnavailableError
			if errors.As(err, &ue) {
				return err
			}
			return &eventstore.UnavailableError{Err: fmt.Errorf("kurrentdb: subscription: %w", err)}
		}
		s.opts.Logger.Warn("kurrentdb: subscription dropped; resubscribing", "after", uint64(st.last), "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// subState is what survives a resubscription.
type subState struct {
	last     eventstore.Position // last delivered (or the start)
	head     eventstore.Position // head when first subscribed; CaughtUp is due once last reaches it
	headRead bool
	caughtUp bool
}

// handlerError marks an error returned by the subscriber's handler.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }

// subscribeOnce runs one server subscription until it drops. progressed says whether it
// was established (so a later drop starts a fresh failure window).
func (s *Store) subscribeOnce(ctx context.Context, st *subState, h func(eventstore.SubscriptionMessage) error) (bool, error) {
	if !st.headRead {
		head, err := s.Head(ctx)
		if err != nil {
			return false, err
		}
		st.head, st.headRead = head, true
	}
	sendCaughtUp := func() error {
		if st.caughtUp {
			return nil
		}
		st.caughtUp = true
		if err := h(eventstore.SubscriptionMessage{CaughtUp: true}); err != nil {
			return handlerError{err}
		}
		return nil
	}
	if st.head <= st.last {
		if err := sendCaughtUp(); err != nil {
			return false, err
		}
	}

	gen, err := s.acquire()
	if err != nil {
		return false, err
	}
	defer gen.inflight.Done()

	subCtx, cancelSub := context.WithCancel(ctx)
	defer cancelSub()
	type opened struct {
		sub *esdb.Subscription
		err error
	}
	ch := make(chan opened, 1)
	from := st.last
	// The opening goroutine may outlive this call (on a timeout or cancellation); it
	// counts as a call on gen so the client is not closed under it.
	gen.inflight.Add(1)
	go func() {
		defer gen.inflight.Done()
		sub, err := gen.client.SubscribeToAll(subCtx, esdb.SubscribeToAllOptions{
			From:               allFrom(from),
			Filter:             &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Regex: systemFilter},
			MaxSearchWindow:    32,
			CheckpointInterval: 1,
		})
		ch <- opened{sub, err}
	}()
	timer := time.NewTimer(s.opts.CallTimeout)
	var sub *esdb.Subscription
	select {
	case o := <-ch:
		timer.Stop()
		if o.err != nil {
			if ctx.Err() == nil && unavailable(o.err) {
				s.retire(gen)
				return false, &eventstore.UnavailableError{Err: fmt.Errorf("kurrentdb: subscribe: %w", o.err)}
			}
			return false, fmt.Errorf("kurrentdb: subscribe: %w", o.err)
		}
		sub = o.sub
	case <-timer.C:
		cancelSub()
		s.retire(gen)
		// The opening goroutine may still deliver a subscription; close it when it does.
		go func() {
			if o := <-ch; o.sub != nil {
				_ = o.sub.Close()
			}
		}()
		return false, &eventstore.UnavailableError{Err: fmt.Errorf("kurrentdb: subscribe: no confirmation within %s", s.opts.CallTimeout)}
	case <-ctx.Done():
		timer.Stop()
		cancelSub()
		go func() {
			if o := <-ch; o.sub != nil {
				_ = o.sub.Close()
			}
		}()
		return false, ctx.Err()
	}
	defer sub.Close()
	// Recv does not take a context: closing the subscription is what unblocks it.
	stopClose := context.AfterFunc(ctx, func() { _ = sub.Close() })
	defer stopClose()

	for {
		msg := sub.Recv()
		switch {
		case msg.SubscriptionDropped != nil:
			if ctx.Err() != nil {
				return true, ctx.Err()
			}
			s.retire(gen)
			return true, &eventstore.UnavailableError{Err: fmt.Errorf("kurrentdb: subscription dropped: %w", msg.SubscriptionDropped.Error)}
		case msg.EventAppeared != nil:
			ev := msg.EventAppeared.Event
			if ev == nil {
				continue
			}
			pos := eventstore.Position(ev.Position.Commit)
			if pos <= st.last {
				continue // already delivered before a resubscription
			}
			if isSystem(ev) {
				continue
			}
			rec := toRecorded(ev)
			if err := h(eventstore.SubscriptionMessage{Event: &rec}); err != nil {
				return true, handlerError{err}
			}
			st.last = pos
			if st.last >= st.head {
				if err := sendCaughtUp(); err != nil {
					return true, err
				}
			}
		case msg.CheckPointReached != nil:
			// A checkpoint past the head means every event up to the head was considered.
			if eventstore.Position(msg.CheckPointReached.Commit) > st.head {
				if err := sendCaughtUp(); err != nil {
					return true, err
				}
			}
		case msg.CaughtUp != nil:
			if err := sendCaughtUp(); err != nil {
				return true, err
			}
		}
	}
}
