package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/medalliance/allianced/adapters/eventstore"

	"github.com/medalliance/allianced/domain"
)

// RequestDispatchInput is the body of a member's request for an expert visit.
type RequestDispatchInput struct {
	AllianceID string        `json:"allianceId"`
	Kind       string        `json:"kind"`
	Specialty  string        `json:"specialty"`
	Window     domain.Window `json:"window"`
	Notes      string        `json:"notes,omitempty"`
}

// RequestDispatch asks the alliance's lead for an expert visit, with a generated id.
func (a *App) RequestDispatch(ctx context.Context, call Call, in RequestDispatchInput) (Outcome, error) {
	if err := validID("allianceId", in.AllianceID); err != nil {
		return Outcome{}, err
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(in.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, call, "RequestDispatch", at)
	if err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, id, domain.DispatchStream(id), func(d domain.Dispatch) ([]domain.Event, error) {
		return domain.DecideDispatch(d, domain.RequestDispatch{DispatchID: id, Alliance: al, By: call.Actor, Kind: in.Kind,
			Specialty: in.Specialty, Window: in.Window, Notes: in.Notes, At: at})
	})
}

// AssignExpertInput names the expert for a dispatch (assign or reassign): a
// practitioner of the lead hospital's directory. ExpertName is optional; when given it
// must be the directory's name, which is what the dispatch records.
type AssignExpertInput struct {
	DispatchID string `json:"-"`
	ExpertID   string `json:"expertId"`
	ExpertName string `json:"expertName,omitempty"`
	Reason     string `json:"reason,omitempty"` // reassignment only
}

// AssignExpert books the expert's schedule for the dispatch's window, then records the
// assignment on the dispatch; if the assignment cannot be stored, the booking is
// released again (compensation), so a failed assignment never leaves the expert booked.
// The schedule stream serialises each expert's bookings: of two overlapping
// assignments one gets schedule_overlap.
func (a *App) AssignExpert(ctx context.Context, call Call, in AssignExpertInput) (Outcome, error) {
	return a.assign(ctx, call, in, false)
}

// ReassignExpert books the new expert, records the reassignment, and releases the
// previous expert's booking; a failed reassignment releases the new booking.
func (a *App) ReassignExpert(ctx context.Context, call Call, in AssignExpertInput) (Outcome, error) {
	return a.assign(ctx, call, in, true)
}

func (a *App) assign(ctx context.Context, call Call, in AssignExpertInput, reassign bool) (Outcome, error) {
	if err := firstErr(validID("dispatchId", in.DispatchID), validID("expertId", in.ExpertID)); err != nil {
		return Outcome{}, err
	}
	// The expert's directory entry is the fact the booking rule needs (zero when the id
	// is not registered: the domain refuses it like another hospital's expert).
	expert, err := load[domain.Practitioner](ctx, a, domain.PractitionerStream(in.ExpertID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	stream := domain.DispatchStream(in.DispatchID)
	var cmd domain.DispatchCommand = domain.AssignExpert{DispatchID: in.DispatchID, ExpertID: in.ExpertID, ExpertName: in.ExpertName,
		Expert: expert, By: call.Actor, At: at}
	if reassign {
		cmd = domain.ReassignExpert{DispatchID: in.DispatchID, ExpertID: in.ExpertID, ExpertName: in.ExpertName,
			Expert: expert, Reason: in.Reason, By: call.Actor, At: at}
	}
	// A retry of a command that already succeeded returns its first result at once.
	loaded, err := eventstore.LoadCached[domain.Dispatch](ctx, a.cmds, stream)
	if err != nil {
		return Outcome{}, err
	}
	l := loaded.State
	// Check the assignment would be accepted before booking anyone (authority, status):
	// a refused assignment must not even touch the expert's schedule.
	if _, err := domain.DecideDispatch(l, cmd); err != nil {
		if replay, rerr := a.replayed(ctx, call, in.DispatchID, stream); rerr == nil && replay != nil {
			return *replay, nil
		}
		return Outcome{}, err
	}
	if call.IfMatch != nil && (!loaded.Exists || loaded.Version != *call.IfMatch) {
		return Outcome{}, &eventstore.WrongExpectedVersionError{Stream: stream, Expected: eventstore.Exact(*call.IfMatch),
			Actual: loaded.Version, Exists: loaded.Exists}
	}
	// The schedule's own decide is idempotent (the same dispatch and window books
	// nothing new), so the booking carries no idempotency key of its own.
	bookMeta := Call{Actor: call.Actor, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
	if _, err := handle(ctx, a, bookMeta, at, in.ExpertID, domain.ExpertStream(in.ExpertID), func(s domain.ExpertSchedule) ([]domain.Event, error) {
		return domain.DecideExpert(s, domain.BookExpert{ExpertID: in.ExpertID, DispatchID: in.DispatchID, Window: l.Window})
	}); err != nil {
		return Outcome{}, err
	}
	out, err := handle(ctx, a, call, at, in.DispatchID, stream, func(d domain.Dispatch) ([]domain.Event, error) {
		return domain.DecideDispatch(d, cmd)
	})
	if err != nil {
		// Compensate on a context of its own: the request's may be what failed.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), compensationTimeout)
		defer cancel()
		if rerr := a.release(cctx, bookMeta, in.ExpertID, in.DispatchID, "assignment failed: "+string(domain.ErrorCode(err))); rerr != nil {
			slog.Error("expert booking not released after a failed assignment; the reactor retries it",
				"dispatch", in.DispatchID, "expert", in.ExpertID, "err", rerr)
		}
		return Outcome{}, err
	}
	for _, ev := range out.Events {
		if re, ok := ev.(domain.ExpertReassigned); ok && re.PreviousExpertID != "" && re.PreviousExpertID != in.ExpertID {
			if rerr := a.release(ctx, bookMeta, re.PreviousExpertID, in.DispatchID, "reassigned to another expert"); rerr != nil {
				slog.Error("previous expert's booking not released after a reassignment", "dispatch", in.DispatchID, "expert", re.PreviousExpertID, "err", rerr)
			}
		}
	}
	return out, nil
}

// replayed returns the first result of a command with the call's idempotency key on
// stream, or nil when there is none.
func (a *App) replayed(ctx context.Context, call Call, id, stream string) (*Outcome, error) {
	if call.IdempotencyKey == "" {
		return nil, nil
	}
	var out *Outcome
	o, err := handle(ctx, a, call, a.Now(), id, stream, func(domain.Dispatch) ([]domain.Event, error) {
		return nil, errNotReplayed
	})
	if errors.Is(err, errNotReplayed) {
		return nil, nil
	}
	if err == nil && o.Replayed {
		out = &o
	}
	return out, err
}

var errNotReplayed = errors.New("not a replay")

// release frees the expert's booking for a dispatch (idempotent in the domain), unless
// the dispatch, as stored now, is live with that very expert: then the booking is the
// one its assignment relies on (a concurrent identical assignment won, or the expert
// was reassigned back), and releasing it would let the expert be double-booked.
func (a *App) release(ctx context.Context, call Call, expertID, dispatchID, reason string) error {
	d, err := load[domain.Dispatch](ctx, a, domain.DispatchStream(dispatchID))
	if err != nil {
		return err
	}
	if d.ExpertID == expertID && d.Open() {
		return nil
	}
	_, err = handle(ctx, a, call, a.Now(), expertID, domain.ExpertStream(expertID), func(s domain.ExpertSchedule) ([]domain.Event, error) {
		return domain.DecideExpert(s, domain.ReleaseBooking{ExpertID: expertID, DispatchID: dispatchID, Reason: reason})
	})
	return err
}

// DispatchInput names a dispatch for the commands without a body of their own.
type DispatchInput struct {
	DispatchID string `json:"-"`
}

// CheckInExpert records the expert's arrival.
func (a *App) CheckInExpert(ctx context.Context, call Call, in DispatchInput) (Outcome, error) {
	return a.dispatchCmd(ctx, call, in.DispatchID, func(at timeT) domain.DispatchCommand {
		return domain.CheckInExpert{DispatchID: in.DispatchID, By: call.Actor, At: at}
	})
}

// ReportVisitInput is a visit report.
type ReportVisitInput struct {
	DispatchID string `json:"-"`
	domain.VisitReport
}

// ReportVisit files a report of the work done during the visit.
func (a *App) ReportVisit(ctx context.Context, call Call, in ReportVisitInput) (Outcome, error) {
	return a.dispatchCmd(ctx, call, in.DispatchID, func(at timeT) domain.DispatchCommand {
		return domain.ReportVisit{DispatchID: in.DispatchID, Report: in.VisitReport, By: call.Actor, At: at}
	})
}

// CompleteDispatch closes a reported visit.
func (a *App) CompleteDispatch(ctx context.Context, call Call, in DispatchInput) (Outcome, error) {
	return a.dispatchCmd(ctx, call, in.DispatchID, func(at timeT) domain.DispatchCommand {
		return domain.CompleteDispatch{DispatchID: in.DispatchID, By: call.Actor, At: at}
	})
}

// CancelDispatchInput is the reason for calling a visit off.
type CancelDispatchInput struct {
	DispatchID string `json:"-"`
	Reason     string `json:"reason"`
}

// CancelDispatch calls a visit off and releases the assigned expert's booking. A crash
// between the two leaves the booking to the Reactor, which releases the booking of
// every cancelled dispatch it sees.
func (a *App) CancelDispatch(ctx context.Context, call Call, in CancelDispatchInput) (Outcome, error) {
	out, err := a.dispatchCmd(ctx, call, in.DispatchID, func(at timeT) domain.DispatchCommand {
		return domain.CancelDispatch{DispatchID: in.DispatchID, Reason: in.Reason, By: call.Actor, At: at}
	})
	if err != nil {
		return out, err
	}
	for _, ev := range out.Events {
		if c, ok := ev.(domain.DispatchCancelled); ok && c.ExpertID != "" {
			rc := Call{Actor: call.Actor, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
			if rerr := a.release(ctx, rc, c.ExpertID, in.DispatchID, "dispatch cancelled: "+c.Reason); rerr != nil {
				slog.Error("expert booking not released after a cancellation; the reactor retries it", "dispatch", in.DispatchID, "expert", c.ExpertID, "err", rerr)
			}
		}
	}
	return out, nil
}

func (a *App) dispatchCmd(ctx context.Context, call Call, id string, build func(timeT) domain.DispatchCommand) (Outcome, error) {
	if err := validID("dispatchId", id); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, id, domain.DispatchStream(id), func(d domain.Dispatch) ([]domain.Event, error) {
		return domain.DecideDispatch(d, build(at))
	})
}
