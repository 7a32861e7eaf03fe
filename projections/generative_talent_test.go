package projections_test

import (
	"context"
	"fmt"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// The talent commands of the generative walk: practitioners registered at the walk's
// hospitals, mentorships between the lead's and the members' practitioners, and
// placements both ways, with plausible and (outside the setup) extreme values.

// talentIDs are the ids the walk's talent commands created.
type talentIDs struct{ practitioners, mentorships, placements []string }

func (w *walk) talent() *talentIDs { return &w.tal }

func errMismatch(what string, view, replay any) error {
	return fmt.Errorf("the %s view shows %v, a replay of its stream %v", what, view, replay)
}

func (w *walk) registerPractitioner() error {
	h := load[domain.Hospital](w, domain.HospitalStream(w.id(w.hospitals)))
	id := w.createID(w.talent().practitioners)
	by := domain.Actor{HospitalID: h.ID, DepartmentID: "d1"}
	cmd := domain.RegisterPractitioner{PractitionerID: id, Home: h, HomeHospitalID: h.ID, DepartmentID: "d1",
		Name: w.maybe("王医生", w.text()), Title: "主治医师", Specialties: []string{"全科"}, By: by, At: w.at()}
	ok, err := handle(w, domain.PractitionerStream(id), by, cmd.At, "RegisterPractitioner",
		func(p domain.Practitioner) ([]domain.Event, error) { return domain.DecidePractitioner(p, cmd) })
	if ok {
		w.talent().practitioners = append(w.talent().practitioners, id)
	}
	return err
}

func (w *walk) practitioner() domain.Practitioner {
	return load[domain.Practitioner](w, domain.PractitionerStream(w.id(w.talent().practitioners)))
}

// reported is an instant a talent command reports: usually within the last weeks of
// the clock, sometimes zero (the command's time), sometimes any instant.
func (w *walk) reported() time.Time {
	switch w.r.Intn(4) {
	case 0:
		return time.Time{}
	case 1:
		return w.instant(w.extreme.instant)
	}
	return w.clock.Add(-time.Duration(w.r.Intn(30*24)) * time.Hour)
}

func (w *walk) startMentorship() error {
	a := w.alliance()
	mentor, apprentice := w.practitioner(), w.practitioner()
	id := w.createID(w.talent().mentorships)
	cmd := domain.StartMentorship{MentorshipID: id, Alliance: a, Programme: w.maybe("师带徒", w.text()), MentorID: mentor.ID, Mentor: mentor,
		ApprenticeID: apprentice.ID, Apprentice: apprentice, Goal: w.text(), StartedAt: w.reported(), By: lead(a), At: w.at()}
	if w.r.Intn(3) == 0 {
		cmd.PlannedEndAt = w.instant(w.extreme.instant)
	}
	ok, err := handle(w, domain.MentorshipStream(id), cmd.By, cmd.At, "StartMentorship",
		func(m domain.Mentorship) ([]domain.Event, error) { return domain.DecideMentorship(m, cmd) })
	if ok {
		w.talent().mentorships = append(w.talent().mentorships, id)
	}
	return err
}

func (w *walk) mentorshipProgress() error {
	m := load[domain.Mentorship](w, domain.MentorshipStream(w.id(w.talent().mentorships)))
	a := load[domain.Alliance](w, domain.AllianceStream(m.AllianceID))
	at := w.at()
	leadBy := domain.Actor{HospitalID: m.LeadHospitalID, DepartmentID: m.LeadDepartmentID}
	memberBy := domain.Actor{HospitalID: m.ApprenticeHospitalID, DepartmentID: "d1"}
	var cmd domain.MentorshipCommand
	by := leadBy
	switch w.r.Intn(8) {
	case 0, 1, 2:
		if w.r.Intn(2) == 0 {
			by = memberBy
		}
		cmd = domain.LogMentorshipSession{MentorshipID: m.ID, Kind: w.maybe(domain.SessionTeachingRound, "dance", ""),
			SessionAt: w.reported(), DurationMinutes: w.count() * 10, Patients: w.count(), Procedures: w.count(), Note: w.text(), By: by, At: at}
	case 3, 4:
		cmd = domain.AssessMentorship{MentorshipID: m.ID, Alliance: a, Outcome: w.pick(domain.OutcomePass, domain.OutcomeExcellent, domain.OutcomeFail, "meh"),
			Comment: w.text(), AssessedAt: w.reported(), By: leadBy, At: at}
	case 5, 6:
		cmd = domain.CompleteMentorship{MentorshipID: m.ID, Alliance: a, CompletedAt: w.reported(), By: leadBy, At: at}
	default:
		if w.r.Intn(2) == 0 {
			by = memberBy
		}
		cmd = domain.WithdrawMentorship{MentorshipID: m.ID, Alliance: a, Reason: w.text(), WithdrawnAt: w.reported(), By: by, At: at}
	}
	_, err := handle(w, domain.MentorshipStream(m.ID), by, at, "mentorship command",
		func(s domain.Mentorship) ([]domain.Event, error) { return domain.DecideMentorship(s, cmd) })
	return err
}

func (w *walk) planPlacement() error {
	a := w.alliance()
	p := w.practitioner()
	id := w.createID(w.talent().placements)
	kind := w.maybe(domain.PlacementStudy, domain.PlacementPosting, "holiday")
	host := a.LeadHospitalID
	if kind != domain.PlacementStudy || w.r.Intn(3) == 0 {
		host = w.member(a).HospitalID
	}
	start := w.clock.Add(time.Duration(w.r.Intn(60*24)-30*24) * time.Hour)
	period := domain.Window{Start: start, End: start.Add(w.duration(120 * 24 * time.Hour))}
	if !w.calm && w.extreme.window && w.r.Intn(4) == 0 {
		period = domain.Window{Start: w.instant(true), End: w.instant(true)}
	}
	cmd := domain.PlanPlacement{PlacementID: id, Alliance: a, Kind: kind, Programme: w.maybe("进修", w.text()), Cohort: w.text(),
		PractitionerID: p.ID, Practitioner: p, HostHospitalID: host, HostDepartmentID: w.maybe("d1", "d2", "nope"),
		Host: load[domain.Hospital](w, domain.HospitalStream(host)), Period: period, By: lead(a), At: w.at()}
	ok, err := handle(w, domain.PlacementStream(id), cmd.By, cmd.At, "PlanPlacement",
		func(p domain.Placement) ([]domain.Event, error) { return domain.DecidePlacement(p, cmd) })
	if ok {
		w.talent().placements = append(w.talent().placements, id)
	}
	return err
}

func (w *walk) placementProgress() error {
	p := load[domain.Placement](w, domain.PlacementStream(w.id(w.talent().placements)))
	by := domain.Actor{HospitalID: p.HostHospitalID, DepartmentID: "d1"}
	if w.r.Intn(3) == 0 {
		by.HospitalID = p.HomeHospitalID
	}
	at := w.at()
	var cmd domain.PlacementCommand
	switch p.Status {
	case domain.PlacementStatusPlanned:
		if w.r.Intn(5) == 0 {
			a := load[domain.Alliance](w, domain.AllianceStream(p.AllianceID))
			cmd = domain.CancelPlacement{PlacementID: p.ID, Alliance: a, Reason: w.text(), By: lead(a), At: at}
			break
		}
		when := p.Period.Start
		if w.r.Intn(3) == 0 {
			when = w.reported()
		}
		if at.Before(when) {
			at = when
		}
		cmd = domain.RecordPlacementArrival{PlacementID: p.ID, ArrivedAt: when, By: by, At: at}
	case domain.PlacementStatusArrived:
		when := p.Period.End
		if w.r.Intn(3) == 0 {
			when = w.reported()
		}
		if at.Before(when) {
			at = when
		}
		cmd = domain.CompletePlacement{PlacementID: p.ID, CompletedAt: when, By: by, At: at}
	default:
		if at.Before(p.UpdatedAt) {
			at = p.UpdatedAt
		}
		cmd = domain.EvaluatePlacement{PlacementID: p.ID, Outcome: w.pick(domain.OutcomePass, domain.OutcomeExcellent, "x"), Comment: w.text(),
			By: domain.Actor{HospitalID: p.HostHospitalID}, At: at}
	}
	_, err := handle(w, domain.PlacementStream(p.ID), by, at, "placement command",
		func(s domain.Placement) ([]domain.Event, error) { return domain.DecidePlacement(s, cmd) })
	return err
}

// talentReads adds the talent views of every id the walk created to checkViews.
func (w *walk) talentReads(ctx context.Context, q *projections.Queries, add func(string, bool, func() (any, error))) {
	t := w.talent()
	for _, id := range w.alliances {
		add("mentorships of alliance "+id, true, func() (any, error) { return q.AllianceMentorships(ctx, id, 0) })
		add("placements of alliance "+id, true, func() (any, error) { return q.AlliancePlacements(ctx, id, 0) })
	}
	for _, id := range w.hospitals {
		add("mentorships of hospital "+id, true, func() (any, error) { return q.HospitalMentorships(ctx, id, 0) })
		add("placements of hospital "+id, true, func() (any, error) { return q.HospitalPlacements(ctx, id, 0) })
	}
	for _, id := range t.practitioners {
		add("mentorships of practitioner "+id, true, func() (any, error) { return q.PractitionerMentorships(ctx, id, 0) })
		add("placements of practitioner "+id, true, func() (any, error) { return q.PractitionerPlacements(ctx, id, 0) })
	}
	for _, id := range t.mentorships {
		add("mentorship "+id, false, func() (any, error) {
			v, err := q.Mentorship(ctx, id, 0)
			if err == nil {
				if s := load[domain.Mentorship](w, domain.MentorshipStream(id)); v.Counts != s.Counts || v.Status != s.Status {
					return nil, errMismatch("mentorship "+id, v.Counts, s.Counts)
				}
			}
			return v, err
		})
	}
	for _, id := range t.placements {
		add("placement "+id, false, func() (any, error) {
			v, err := q.Placement(ctx, id, 0)
			if err == nil {
				if s := load[domain.Placement](w, domain.PlacementStream(id)); v.Status != s.Status {
					return nil, errMismatch("placement "+id, v.Status, s.Status)
				}
			}
			return v, err
		})
	}
}
