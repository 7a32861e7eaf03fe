package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// lastEvent returns the type and global position of a stream's last event.
func lastEvent(t *testing.T, st eventstore.Store, stream string) (string, eventstore.Position) {
	t.Helper()
	recs, err := st.ReadStream(context.Background(), stream, eventstore.Backwards, eventstore.End, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("last event of %s: %v", stream, err)
	}
	return recs[0].Type, recs[0].Position
}

// TestCommandPositionCoversFollowUps checks that a command's position is at or after
// every event it caused on other streams (a booking, a release, a key's claim), so a
// read with minPosition=position of the view those events feed sees them.
func TestCommandPositionCoversFollowUps(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	lead := app.Call{Actor: e.lead}
	tests := []struct {
		name string
		// run issues the command and returns its outcome and the stream whose last
		// event (of type want) the outcome must cover.
		run  func(t *testing.T) (app.Outcome, string)
		want string
	}{
		{"assign books the expert", func(t *testing.T) (app.Outcome, string) {
			expert, d := e.expert(), e.dispatch(t0.Add(24*time.Hour))
			return mustOK(t)(e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d, ExpertID: expert, ExpertName: "王主任"})), domain.ExpertStream(expert)
		}, "ExpertBooked"},
		{"cancel releases the booking", func(t *testing.T) (app.Outcome, string) {
			expert, d := e.expert(), e.dispatch(t0.Add(48*time.Hour))
			mustOK(t)(e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d, ExpertID: expert, ExpertName: "王主任"}))
			return mustOK(t)(e.app.CancelDispatch(ctx, lead, app.CancelDispatchInput{DispatchID: d, Reason: "patient transferred"})), domain.ExpertStream(expert)
		}, "ExpertBookingReleased"},
		{"a replayed cancel covers the release", func(t *testing.T) (app.Outcome, string) {
			expert, d := e.expert(), e.dispatch(t0.Add(72*time.Hour))
			mustOK(t)(e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d, ExpertID: expert, ExpertName: "王主任"}))
			call := app.Call{Actor: e.lead, IdempotencyKey: "cancel-" + d}
			in := app.CancelDispatchInput{DispatchID: d, Reason: "patient transferred"}
			mustOK(t)(e.app.CancelDispatch(ctx, call, in))
			out := mustOK(t)(e.app.CancelDispatch(ctx, call, in))
			if !out.Replayed {
				t.Fatal("the retry was not a replay")
			}
			return out, domain.ExpertStream(expert)
		}, "ExpertBookingReleased"},
		{"reassign releases the previous expert", func(t *testing.T) (app.Outcome, string) {
			first, second, d := e.expert(), e.expert(), e.dispatch(t0.Add(96*time.Hour))
			mustOK(t)(e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d, ExpertID: first, ExpertName: "王主任"}))
			return mustOK(t)(e.app.ReassignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d, ExpertID: second, Reason: "on call"})), domain.ExpertStream(first)
		}, "ExpertBookingReleased"},
		{"a replayed reassign covers the release", func(t *testing.T) (app.Outcome, string) {
			first, second, d := e.expert(), e.expert(), e.dispatch(t0.Add(120*time.Hour))
			mustOK(t)(e.app.AssignExpert(ctx, lead, app.AssignExpertInput{DispatchID: d, ExpertID: first, ExpertName: "王主任"}))
			call := app.Call{Actor: e.lead, IdempotencyKey: "reassign-" + d}
			in := app.AssignExpertInput{DispatchID: d, ExpertID: second, Reason: "on call"}
			mustOK(t)(e.app.ReassignExpert(ctx, call, in))
			out := mustOK(t)(e.app.ReassignExpert(ctx, call, in))
			if !out.Replayed {
				t.Fatal("the retry was not a replay")
			}
			return out, domain.ExpertStream(first)
		}, "ExpertBookingReleased"},
		{"a create covers its key's claim", func(t *testing.T) (app.Outcome, string) {
			call := app.Call{Actor: e.member, IdempotencyKey: "request-visit-1"}
			out := mustOK(t)(e.app.RequestDispatch(ctx, call, app.RequestDispatchInput{AllianceID: e.alliance, Kind: "clinic",
				Specialty: "cardiology", Window: domain.Window{Start: t0.Add(200 * time.Hour), End: t0.Add(204 * time.Hour)}}))
			return out, domain.IdempotencyStream(e.member.HospitalID, call.IdempotencyKey)
		}, "IdempotencyKeyClaimed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stream := tc.run(t)
			typ, pos := lastEvent(t, e.store, stream)
			if typ != tc.want {
				t.Fatalf("last event of %s is %s, want %s", stream, typ, tc.want)
			}
			if out.Position < pos {
				t.Fatalf("the command's position %d is before the %s it caused at %d", out.Position, typ, pos)
			}
		})
	}
}
