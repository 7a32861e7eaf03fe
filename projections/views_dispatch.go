package projections

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// flushDispatch writes the dispatch and its copies in the requesting and lead
// hospitals' dispatch lists.
func (ks keyspace) flushDispatch(pipe redis.Pipeliner, ref docRef, val any) error {
	d := val.(*DispatchView)
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode dispatch view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	pipe.HSet(ctx, ks.hospitalDispatches(d.RequestingHospitalID), d.DispatchID, data)
	if d.LeadHospitalID != d.RequestingHospitalID {
		pipe.HSet(ctx, ks.hospitalDispatches(d.LeadHospitalID), d.DispatchID, data)
	}
	return nil
}

func applyDispatch(b *batch, e event) error {
	if ev, ok := e.ev.(domain.DispatchRequested); ok {
		d := &DispatchView{DispatchID: ev.DispatchID, AllianceID: ev.AllianceID, RequestingHospitalID: ev.RequestingHospitalID,
			LeadHospitalID: ev.LeadHospitalID, LeadDepartmentID: ev.LeadDepartmentID, Kind: ev.Kind, Specialty: ev.Specialty,
			Window: utcWindow(ev.Window), Notes: ev.Notes, Status: domain.DispatchStatusRequested,
			RequestedAt: ev.RequestedAt.UTC(), Version: e.ver, Position: e.pos}
		return b.put(dispatchRef(b.ks, ev.DispatchID), d, b.ks.flushDispatch)
	}
	var dispatchID string
	switch ev := e.ev.(type) {
	case domain.ExpertAssigned:
		dispatchID = ev.DispatchID
	case domain.ExpertReassigned:
		dispatchID = ev.DispatchID
	case domain.ExpertCheckedIn:
		dispatchID = ev.DispatchID
	case domain.DispatchVisitReported:
		dispatchID = ev.DispatchID
	case domain.DispatchCompleted:
		dispatchID = ev.DispatchID
	case domain.DispatchCancelled:
		dispatchID = ev.DispatchID
	}
	ref := dispatchRef(b.ks, dispatchID)
	d, err := getDoc[DispatchView](b, ref)
	if err != nil || d == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.ExpertAssigned:
		d.Status, d.ExpertID, d.ExpertName, d.AssignedAt = domain.DispatchStatusAssigned, ev.ExpertID, ev.ExpertName, timePtr(ev.AssignedAt.UTC())
	case domain.ExpertReassigned:
		d.ExpertID, d.ExpertName, d.AssignedAt = ev.ExpertID, ev.ExpertName, timePtr(ev.ReassignedAt.UTC())
	case domain.ExpertCheckedIn:
		d.Status, d.CheckedInAt = domain.DispatchStatusInProgress, timePtr(ev.CheckedInAt.UTC())
	case domain.DispatchVisitReported:
		d.Reports++
		d.Totals.PatientsSeen += ev.Report.PatientsSeen
		d.Totals.PatientsAdmitted += ev.Report.PatientsAdmitted
		d.Totals.ProceduresGuided += ev.Report.ProceduresGuided
		d.Totals.TeachingSessions += ev.Report.TeachingSessions
		d.Totals.Summary = ev.Report.Summary
	case domain.DispatchCompleted:
		d.Status, d.CompletedAt = domain.DispatchStatusCompleted, timePtr(ev.CompletedAt.UTC())
	case domain.DispatchCancelled:
		d.Status, d.CancelReason, d.CancelledByLead, d.CancelledAt = domain.DispatchStatusCancelled, ev.Reason, ev.ByLead, timePtr(ev.CancelledAt.UTC())
	}
	d.Version, d.Position = e.ver, e.pos
	// Keep the expert's calendar entry (if the booking is live) in step with the status.
	if d.ExpertID != "" {
		cref := calendarRef(b.ks, d.ExpertID, d.DispatchID)
		c, err := getDoc[CalendarEntry](b, cref)
		if err != nil {
			return err
		}
		if c != nil {
			c.DispatchStatus = d.Status
			if err := putDoc(b, cref, c); err != nil {
				return err
			}
		}
	}
	return b.put(ref, d, b.ks.flushDispatch)
}

func utcWindow(w domain.Window) domain.Window {
	return domain.Window{Start: w.Start.UTC(), End: w.End.UTC()}
}

// flushDelete removes the document at ref.
func flushDelete(pipe redis.Pipeliner, ref docRef, _ any) error {
	if ref.field == "" {
		pipe.Del(context.Background(), ref.key)
	} else {
		pipe.HDel(context.Background(), ref.key, ref.field)
	}
	return nil
}

func applyExpert(b *batch, e event) error {
	switch ev := e.ev.(type) {
	case domain.ExpertBooked:
		c := &CalendarEntry{DispatchID: ev.DispatchID, Window: utcWindow(ev.Window), Position: e.pos}
		d, err := getDoc[DispatchView](b, dispatchRef(b.ks, ev.DispatchID))
		if err != nil {
			return err
		}
		if d != nil {
			c.AllianceID, c.HospitalID, c.Kind, c.DispatchStatus = d.AllianceID, d.RequestingHospitalID, d.Kind, d.Status
			c.LeadHospitalID, c.LeadDepartmentID = d.LeadHospitalID, d.LeadDepartmentID
		}
		return putDoc(b, calendarRef(b.ks, ev.ExpertID, ev.DispatchID), c)
	case domain.ExpertBookingReleased:
		return b.put(calendarRef(b.ks, ev.ExpertID, ev.DispatchID), nil, flushDelete)
	}
	return nil
}
