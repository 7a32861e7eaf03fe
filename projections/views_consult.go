package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// flushConsult writes the consult, its rows in both hospitals' lists and the
// alliance's list, and keeps the alliance's open queue (by deadline) in step.
func (ks keyspace) flushConsult(pipe redis.Pipeliner, ref docRef, val any) error {
	c := val.(*ConsultView)
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode consult view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	sum := c.summary("")
	for _, row := range []struct{ hospital, role string }{{c.RequestingHospitalID, "requested"}, {c.LeadHospitalID, "received"}} {
		sum.Role = row.role
		s, err := json.Marshal(sum)
		if err != nil {
			return fmt.Errorf("encode consult summary: %w", err)
		}
		pipe.HSet(ctx, ks.hospitalConsults(row.hospital), c.ConsultID, s)
	}
	sum.Role = ""
	s, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("encode consult summary: %w", err)
	}
	pipe.HSet(ctx, ks.allianceConsults(c.AllianceID), c.ConsultID, s)
	if c.open() {
		pipe.ZAdd(ctx, ks.allianceConsultQueue(c.AllianceID), redis.Z{Score: float64(c.Deadline.UnixMilli()), Member: c.ConsultID})
	} else {
		pipe.ZRem(ctx, ks.allianceConsultQueue(c.AllianceID), c.ConsultID)
	}
	return nil
}

// open applies domain.Consult.Open: the consult still waits for an opinion.
func (c *ConsultView) open() bool { return domain.Consult{Status: c.Status}.Open() }

// overdueAt reports whether the consult is open without an opinion past its deadline.
func (c *ConsultView) overdueAt(now time.Time) bool {
	return consultOverdue(c.Status, c.OpinionGivenAt, c.Deadline, now)
}

// consultOverdue applies domain.Consult.Overdue, the one overdue rule, to what a view
// or a list row keeps of a consult.
func consultOverdue(status string, opinionGivenAt *time.Time, deadline, now time.Time) bool {
	c := domain.Consult{Status: status, Deadline: deadline}
	if opinionGivenAt != nil {
		c.OpinionGivenAt = *opinionGivenAt
	}
	return c.Overdue(now)
}

func (c *ConsultView) summary(role string) ConsultSummary {
	return ConsultSummary{ConsultID: c.ConsultID, AllianceID: c.AllianceID, RequestingHospitalID: c.RequestingHospitalID,
		LeadHospitalID: c.LeadHospitalID, LeadDepartmentID: c.LeadDepartmentID, Role: role, Urgency: c.Urgency, Specialty: c.Specialty, CrossRegion: c.CrossRegion,
		Status: c.Status, RequestedAt: c.RequestedAt, Deadline: c.Deadline, OpinionGivenAt: c.OpinionGivenAt, Position: c.Position}
}

func applyConsult(b *batch, e event) error {
	if ev, ok := e.ev.(domain.ConsultRequested); ok {
		c := &ConsultView{ConsultID: ev.ConsultID, AllianceID: ev.AllianceID, RequestingHospitalID: ev.RequestingHospitalID,
			LeadHospitalID: ev.LeadHospitalID, LeadDepartmentID: ev.LeadDepartmentID, CrossRegion: ev.CrossRegion,
			Specialty: ev.Specialty, Urgency: ev.Urgency, Question: ev.Question,
			Attachments: append([]domain.Attachment(nil), ev.Attachments...), PatientRef: ev.PatientRef,
			RequestedAt: ev.RequestedAt.UTC(), Deadline: ev.Deadline.UTC(), Status: domain.ConsultStatusRequested,
			Version: e.ver, Position: e.pos}
		return b.put(consultRef(b.ks, ev.ConsultID), c, b.ks.flushConsult)
	}
	var consultID string
	switch ev := e.ev.(type) {
	case domain.ConsultAccepted:
		consultID = ev.ConsultID
	case domain.ConsultDeclined:
		consultID = ev.ConsultID
	case domain.ConsultOpinionGiven:
		consultID = ev.ConsultID
	case domain.ConsultOpinionAmended:
		consultID = ev.ConsultID
	case domain.ConsultClosed:
		consultID = ev.ConsultID
	case domain.ConsultCancelled:
		consultID = ev.ConsultID
	}
	ref := consultRef(b.ks, consultID)
	c, err := getDoc[ConsultView](b, ref)
	if err != nil || c == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.ConsultAccepted:
		c.Status, c.SpecialistID, c.SpecialistName, c.AcceptedAt = domain.ConsultStatusAccepted, ev.SpecialistID, ev.SpecialistName, timePtr(ev.AcceptedAt.UTC())
	case domain.ConsultDeclined:
		c.Status, c.DeclineReason, c.EndedAt = domain.ConsultStatusDeclined, ev.Reason, timePtr(ev.DeclinedAt.UTC())
	case domain.ConsultOpinionGiven:
		op := ev.Opinion
		within := ev.WithinDeadline
		c.Status, c.Opinion, c.OpinionGivenAt, c.WithinDeadline = domain.ConsultStatusAnswered, &op, timePtr(ev.GivenAt.UTC()), &within
		if ev.SpecialistID != "" {
			c.SpecialistID, c.SpecialistName = ev.SpecialistID, ev.SpecialistName
		}
	case domain.ConsultOpinionAmended:
		op := ev.Opinion
		c.Opinion = &op
		c.Amendments++
	case domain.ConsultClosed:
		c.Status, c.Outcome, c.ClosedAt, c.EndedAt = domain.ConsultStatusClosed, ev.Outcome, timePtr(ev.ClosedAt.UTC()), timePtr(ev.ClosedAt.UTC())
	case domain.ConsultCancelled:
		c.Status, c.CancelReason, c.EndedAt = domain.ConsultStatusCancelled, ev.Reason, timePtr(ev.CancelledAt.UTC())
	}
	c.Version, c.Position = e.ver, e.pos
	return b.put(ref, c, b.ks.flushConsult)
}
