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
	// LeadDepartmentID addresses one of the alliance's lead departments (default: the
	// founding one); that department assigns its expert.
	LeadDepartmentID string `json:"leadDepartmentId,omitempty"`
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
	id, err := a.newAggregateID(ctx, &call, "RequestDispatch", at)
	if err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, id, domain.DispatchStream(id), func(d domain.Dispatch) ([]domain.Event, error) {
		return domain.DecideDispatch(d, domain.RequestDispatch{DispatchID: id, Alliance: al, By: call.Actor, Kind: in.Kind,
			Specialty: in.Specialty, Window: in.Window, Notes: in.Notes, At: at, LeadDepartmentID: in.LeadDepartmentID})
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
	// The schedule's own decide is idempotent (the same dispatch and window books
	// nothing new), so the booking carries no idempotency key of its own.
	bookMeta := Call{Actor: call.Actor, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
	// A retry of a command that already succeeded returns its first result at once
	// (or is refused: a key reused for another request, a caller without authority).
	if replay, err := a.replayed(ctx, call, in.DispatchID, stream, cmd); err != nil || replay != nil {
		if err != nil {
			return Outcome{}, err
		}
		return a.releaseReassigned(ctx, bookMeta, in.DispatchID, *replay), nil
	}
	loaded, err := eventstore.LoadCached[domain.Dispatch](ctx, a.cmds, stream)
	if err != nil {
		return Outcome{}, err
	}
	l := loaded.State
	// Check the assignment would be accepted before booking anyone (authority, status):
	// a refused assignment must not even touch the expert's schedule.
	if _, err := domain.DecideDispatch(l, cmd); err != nil {
		return Outcome{}, err
	}
	if call.IfMatch != nil && (!loaded.Exists || loaded.Version != *call.IfMatch) {
		return Outcome{}, &eventstore.WrongExpectedVersionError{Stream: stream, Expected: eventstore.Exact(*call.IfMatch),
			Actual: loaded.Version, Exists: loaded.Exists}
	}
	booked, err := handle(ctx, a, bookMeta, at, in.ExpertID, domain.ExpertStream(in.ExpertID), func(s domain.ExpertSchedule) ([]domain.Event, error) {
		return domain.DecideExpert(s, domain.BookExpert{ExpertID: in.ExpertID, DispatchID: in.DispatchID, Window: l.Window})
	})
	if err != nil {
		return Outcome{}, err
	}
	out, err := handle(ctx, a, call, at, in.DispatchID, stream, func(d domain.Dispatch) ([]domain.Event, error) {
		return domain.DecideDispatch(d, cmd)
	})
	if err != nil {
		// Compensate on a context of its own: the request's may be what failed.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), compensationTimeout)
		defer cancel()
		if _, rerr := a.release(cctx, bookMeta, in.ExpertID, in.DispatchID, "assignment failed: "+string(domain.ErrorCode(err))); rerr != nil {
			slog.Error("expert booking not released after a failed assignment; the reactor retries it",
				"dispatch", in.DispatchID, "expert", in.ExpertID, "err", rerr)
		}
		return Outcome{}, err
	}
	out.Position = max(out.Position, booked.Position)
	return a.releaseReassigned(ctx, bookMeta, in.DispatchID, out), nil
}

// releaseReassigned finishes a reassignment (out is its result, or the first result of
// a replayed one): the previous expert's booking is released, and out's position is
// moved to cover the release, so that a read of the previous expert's calendar at that
// position no longer shows the booking. A replay runs the release again (a no-op when
// it is done, whose position is then the schedule's last event), which also finishes a
// release the first request could not make.
func (a *App) releaseReassigned(ctx context.Context, call Call, dispatchID string, out Outcome) Outcome {
	for _, ev := range out.Events {
		if re, ok := ev.(domain.ExpertReassigned); ok && re.PreviousExpertID != "" && re.PreviousExpertID != re.ExpertID {
			out.Position = a.followUp(ctx, out.Position, func(ctx context.Context) (eventstore.Position, error) {
				return a.release(ctx, call, re.PreviousExpertID, dispatchID, "reassigned to another expert")
			}, "previous expert's booking not released after a reassignment; the reactor retries it",
				"dispatch", dispatchID, "expert", re.PreviousExpertID)
		}
	}
	return out
}

// followUp runs a step a command causes after its own event is stored (a booking's
// release) and returns pos moved to cover the step's events. The step runs on a
// context of its own, bounded by compensationTimeout, so a client that goes away once
// its command is stored does not cut the step short. A step that fails is logged and
// leaves pos as it was: the command is stored and answered as done, and the Reactor,
// which follows the log, makes the step later (so its event is then not covered by
// the command's position; only a failing store causes that).
func (a *App) followUp(ctx context.Context, pos eventstore.Position, step func(context.Context) (eventstore.Position, error), msg string, attrs ...any) eventstore.Position {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), compensationTimeout)
	defer cancel()
	p, err := step(cctx)
	if err != nil {
		slog.Error(msg, append(attrs, "err", err)...)
		return pos
	}
	return max(pos, p)
}

// replayed returns the first result of a command with the call's idempotency key on
// stream, or nil when there is none; it appends nothing. Like any replay it is refused
// when the key was first sent with another request, or when cmd's caller may not send
// it (cmd is decided on the dispatch as the first command found it).
func (a *App) replayed(ctx context.Context, call Call, id, stream string, cmd domain.DispatchCommand) (*Outcome, error) {
	if call.IdempotencyKey == "" {
		return nil, nil
	}
	var out *Outcome
	o, err := handle(ctx, a, call, a.Now(), id, stream, func(d domain.Dispatch) ([]domain.Event, error) {
		if _, err := domain.DecideDispatch(d, cmd); domain.DeniesAuthority(err) {
			return nil, err
		}
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
// It returns the position of the schedule's last event after it (the release, or,
// when the booking was already released, the event after which it no longer shows),
// or 0 when it left the booking alone.
func (a *App) release(ctx context.Context, call Call, expertID, dispatchID, reason string) (eventstore.Position, error) {
	d, err := load[domain.Dispatch](ctx, a, domain.DispatchStream(dispatchID))
	if err != nil {
		return 0, err
	}
	if d.ExpertID == expertID && d.Open() {
		return 0, nil
	}
	out, err := handle(ctx, a, call, a.Now(), expertID, domain.ExpertStream(expertID), func(s domain.ExpertSchedule) ([]domain.Event, error) {
		return domain.DecideExpert(s, domain.ReleaseBooking{ExpertID: expertID, DispatchID: dispatchID, Reason: reason})
	})
	return out.Position, err
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

// CancelDispatch calls a visit off and releases the assigned expert's booking; the
// outcome's position covers the release, so a read of the expert's calendar at that
// position no longer shows the booking (a replay releases again, a no-op once done,
// and covers it too). A crash between the two appends leaves the booking to the
// Reactor, which releases the booking of every cancelled dispatch it sees.
func (a *App) CancelDispatch(ctx context.Context, call Call, in CancelDispatchInput) (Outcome, error) {
	out, err := a.dispatchCmd(ctx, call, in.DispatchID, func(at timeT) domain.DispatchCommand {
		return domain.CancelDispatch{DispatchID: in.DispatchID, Reason: in.Reason, By: call.Actor, At: at}
	})
	if err != nil {
		return out, err
	}
	rc := Call{Actor: call.Actor, CorrelationID: call.CorrelationID, CausationID: call.CausationID}
	for _, ev := range out.Events {
		if c, ok := ev.(domain.DispatchCancelled); ok && c.ExpertID != "" {
			out.Position = a.followUp(ctx, out.Position, func(ctx context.Context) (eventstore.Position, error) {
				return a.release(ctx, rc, c.ExpertID, in.DispatchID, "dispatch cancelled: "+c.Reason)
			}, "expert booking not released after a cancellation; the reactor retries it", "dispatch", in.DispatchID, "expert", c.ExpertID)
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
