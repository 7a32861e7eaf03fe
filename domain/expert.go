package domain

import (
	"cmp"
	"slices"
)

// ExpertAggregate names the expert-schedule aggregate in the event catalogue.
const ExpertAggregate = "expert"

// ExpertStream is the stream of one expert's schedule: every booking and release.
func ExpertStream(expertID string) string { return "expert-" + expertID }

// maxBookingReason limits a release reason, in runes.
const maxBookingReason = 1000

// Booking is one window of an expert's time held for one dispatch.
type Booking struct {
	DispatchID string `json:"dispatchId"`
	Window     Window `json:"window"`
}

// ExpertSchedule is an expert's calendar of live bookings, and THE consistency boundary
// for the rule "an expert is never booked into two overlapping windows".
//
// Why its own aggregate: a dispatch aggregate sees only itself, so two dispatches
// assigning the same expert to overlapping windows would each decide "no clash" and
// both succeed. Every booking of one expert instead goes through the one stream
// expert-<expertId>, appended with the expected stream version: of two concurrent
// bookings, one appends and the other gets a version conflict, reloads the schedule
// (now holding the first booking), and is refused with schedule_overlap. The event
// store's optimistic concurrency thus serialises the bookings of each expert without
// any lock, and different experts never contend.
//
// The orchestration, performed by the service (the domain does no I/O):
//
//  1. Assign: load the dispatch and check that AssignExpert would be accepted; decide
//     BookExpert{ExpertID, DispatchID, Window: dispatch.Window} on expert-<expertId>
//     (ExpertBooked, or schedule_overlap naming the clashing dispatch); then decide
//     AssignExpert on dispatch-<id> (ExpertAssigned). If that second append fails for
//     any reason (the dispatch was cancelled or assigned meanwhile, a conflict that
//     retries could not resolve, the store is unavailable), compensate: reload the
//     dispatch and, unless it holds the booking after all (Dispatch.HoldsBooking: a
//     concurrent request assigned the same expert and reused this booking), decide
//     ReleaseBooking{Reason: "assignment failed: ..."} on the expert's schedule.
//  2. Reassign: book the new expert first, then ExpertReassigned on the dispatch; on
//     failure release the new booking (same check as 1), on success release the
//     previous expert's booking (ExpertReassigned.PreviousExpertID).
//  3. Cancel: after DispatchCancelled is stored with a non-empty ExpertID, release that
//     expert's booking for the dispatch.
//
// A crash between the two appends of step 1 or 2 leaves a booking no dispatch holds
// (the compensation never ran). Retrying the same assignment reuses it (BookExpert is
// idempotent); otherwise the service's reconciliation releases every live booking for
// which Dispatch.HoldsBooking(expertId) is false once the booking is older than a grace
// period (its envelope's occurredAt), so an assignment in flight is never undone. The
// same reconciliation reports any assigned dispatch whose expert's schedule has no
// live booking for it (only possible if a compensation raced a concurrent assignment
// of the same dispatch) and books it again, or flags it to the lead on a clash.
//
// Both BookExpert and ReleaseBooking are idempotent (booking the same dispatch for the
// same window again, or releasing a booking that is not live, decides no events), so
// the service may retry a step, or re-run a compensation after a crash, safely. A
// released dispatch may be booked again (a retried assignment after a compensation).
// A completed dispatch keeps its booking: the expert really was there in that window.
type ExpertSchedule struct {
	ExpertID string
	live     []Booking // sorted by start, then dispatch id; never mutated in place
}

// Bookings returns the live bookings in start order, for calendar views. The slice is
// a copy: changing it does not change the schedule.
func (s ExpertSchedule) Bookings() []Booking { return slices.Clone(s.live) }

// Booking returns the live booking held for dispatchID, if any.
func (s ExpertSchedule) Booking(dispatchID string) (Booking, bool) {
	i := slices.IndexFunc(s.live, func(b Booking) bool { return b.DispatchID == dispatchID })
	if i < 0 {
		return Booking{}, false
	}
	return s.live[i], true
}

// Clash returns the first live booking, other than one for exceptDispatchID, whose
// window overlaps w (half-open: touching windows do not clash).
func (s ExpertSchedule) Clash(w Window, exceptDispatchID string) (Booking, bool) {
	for _, b := range s.live {
		if b.DispatchID != exceptDispatchID && b.Window.Overlaps(w) {
			return b, true
		}
	}
	return Booking{}, false
}

// ExpertBooked records that a window of the expert's time is held for a dispatch.
type ExpertBooked struct {
	ExpertID   string `json:"expertId"`
	DispatchID string `json:"dispatchId"`
	Window     Window `json:"window"`
}

// ExpertBookingReleased records that a dispatch's booking no longer holds the expert's
// time: the dispatch was cancelled or reassigned, or its assignment failed.
type ExpertBookingReleased struct {
	ExpertID   string `json:"expertId"`
	DispatchID string `json:"dispatchId"`
	Window     Window `json:"window"`
	Reason     string `json:"reason"`
}

// EventType implements Event.
func (ExpertBooked) EventType() string { return "ExpertBooked" }

// EventType implements Event.
func (ExpertBookingReleased) EventType() string { return "ExpertBookingReleased" }

func init() {
	Register[ExpertBooked](ExpertAggregate, 1, nil)
	Register[ExpertBookingReleased](ExpertAggregate, 1, nil)
}

// Evolve folds one event into the expert's schedule.
func (s ExpertSchedule) Evolve(e Event) ExpertSchedule {
	switch e := e.(type) {
	case ExpertBooked:
		s.ExpertID = e.ExpertID
		live := slices.DeleteFunc(slices.Clone(s.live), func(b Booking) bool { return b.DispatchID == e.DispatchID })
		live = append(live, Booking{DispatchID: e.DispatchID, Window: e.Window})
		slices.SortFunc(live, func(a, b Booking) int {
			return cmp.Or(a.Window.Start.Compare(b.Window.Start), cmp.Compare(a.DispatchID, b.DispatchID))
		})
		s.live = live
	case ExpertBookingReleased:
		s.ExpertID = e.ExpertID
		s.live = slices.DeleteFunc(slices.Clone(s.live), func(b Booking) bool { return b.DispatchID == e.DispatchID })
	}
	return s
}

// ExpertCommand is a command handled by the expert-schedule aggregate.
type ExpertCommand interface{ expertCommand() }

// BookExpert holds Window of the expert's time for a dispatch. The service issues it
// (see ExpertSchedule) with the dispatch's window; the lead's authority was checked on
// the dispatch.
type BookExpert struct {
	ExpertID   string
	DispatchID string
	Window     Window
}

// ReleaseBooking frees the window held for a dispatch, with the reason (cancelled,
// reassigned, assignment failed).
type ReleaseBooking struct {
	ExpertID   string
	DispatchID string
	Reason     string
}

func (BookExpert) expertCommand()     {}
func (ReleaseBooking) expertCommand() {}

// DecideExpert decides an expert-schedule command against the expert's schedule.
func DecideExpert(s ExpertSchedule, c ExpertCommand) ([]Event, error) {
	switch c := c.(type) {
	case BookExpert:
		if err := firstErr(
			ValidateID("expertId", c.ExpertID),
			ValidateID("dispatchId", c.DispatchID),
			validateWindow(c.Window, MaxWorkstationWindow, "booking"),
			s.checkExpert(c.ExpertID),
		); err != nil {
			return nil, err
		}
		if b, ok := s.Booking(c.DispatchID); ok {
			if b.Window.Equal(c.Window) {
				return nil, nil // the same booking again: already done
			}
			return nil, Errorf(CodeAlreadyExists, "expert %s is already booked for dispatch %s in window %s; release that booking before booking another window",
				c.ExpertID, c.DispatchID, b.Window).WithDetail("window", b.Window.String())
		}
		if b, ok := s.Clash(c.Window, c.DispatchID); ok {
			return nil, Errorf(CodeScheduleOverlap, "expert %s is already booked for dispatch %s in window %s, which overlaps the requested window %s; choose another expert or window",
				c.ExpertID, b.DispatchID, b.Window, c.Window).
				WithDetail("clashingDispatchId", b.DispatchID).WithDetail("clashingWindow", b.Window.String())
		}
		return []Event{ExpertBooked{ExpertID: c.ExpertID, DispatchID: c.DispatchID, Window: c.Window}}, nil
	case ReleaseBooking:
		if err := firstErr(
			ValidateID("expertId", c.ExpertID),
			ValidateID("dispatchId", c.DispatchID),
			required("reason", c.Reason, maxBookingReason),
			s.checkExpert(c.ExpertID),
		); err != nil {
			return nil, err
		}
		b, ok := s.Booking(c.DispatchID)
		if !ok {
			return nil, nil // nothing held (never booked or already released): a retried compensation
		}
		return []Event{ExpertBookingReleased{ExpertID: c.ExpertID, DispatchID: c.DispatchID, Window: b.Window, Reason: c.Reason}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown expert command %T", c)
}

// checkExpert refuses a command naming another expert than the schedule's (a
// mis-routed command: the service loaded the wrong stream).
func (s ExpertSchedule) checkExpert(expertID string) error {
	if s.ExpertID != "" && s.ExpertID != expertID {
		return Errorf(CodeInvalidInput, "command names expert %s but this is the schedule of expert %s", expertID, s.ExpertID)
	}
	return nil
}
