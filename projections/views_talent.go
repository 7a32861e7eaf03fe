package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// Keys of the talent views (师带徒, 进修, 派一送一):
//
//	mentorship:<id>                  the mentorship's document (JSON)
//	alliance:<a>:mentorships         hash: id -> document, every mentorship of the alliance
//	hospital:<h>:mentorships         hash: id -> document, for the lead (mentor's) and the apprentice's hospital
//	practitioner:<p>:mentorships     hash: id -> document, for the mentor and the apprentice
//	placement:<id>                   the placement's document (JSON)
//	alliance:<a>:placements          hash: id -> document
//	hospital:<h>:placements          hash: id -> document, for the home and the host hospital
//	practitioner:<p>:placements      hash: id -> document
//
// Every list is a hash of whole documents, written with the document in one flush, so
// a list never disagrees with the document it copies (as for referrals).
func (k keyspace) mentorship(id string) string { return k.root() + "mentorship:" + id }
func (k keyspace) placement(id string) string  { return k.root() + "placement:" + id }
func (k keyspace) talentList(owner, id, what string) string {
	return k.root() + owner + ":" + id + ":" + what
}

func mentorshipRef(ks keyspace, id string) docRef { return docRef{ks.mentorship(id), ""} }
func placementRef(ks keyspace, id string) docRef  { return docRef{ks.placement(id), ""} }

// MentorshipView is one mentorship as its parties, the alliance's leads and auditors
// see it: who teaches whom, the session counts (no patient), the latest assessment.
type MentorshipView struct {
	MentorshipID           string                         `json:"mentorshipId"`
	AllianceID             string                         `json:"allianceId"`
	Programme              string                         `json:"programme"`
	LeadHospitalID         string                         `json:"leadHospitalId"`
	LeadDepartmentID       string                         `json:"leadDepartmentId"`
	MentorID               string                         `json:"mentorId"`
	MentorName             string                         `json:"mentorName"`
	MentorDepartmentID     string                         `json:"mentorDepartmentId"`
	ApprenticeID           string                         `json:"apprenticeId"`
	ApprenticeName         string                         `json:"apprenticeName"`
	ApprenticeHospitalID   string                         `json:"apprenticeHospitalId"`
	ApprenticeDepartmentID string                         `json:"apprenticeDepartmentId"`
	Goal                   string                         `json:"goal,omitempty"`
	Status                 string                         `json:"status"`
	StartedAt              time.Time                      `json:"startedAt"`
	PlannedEndAt           *time.Time                     `json:"plannedEndAt,omitempty"`
	Counts                 domain.MentorshipSessionCounts `json:"counts"`
	LastSessionAt          *time.Time                     `json:"lastSessionAt,omitempty"`
	Assessments            int                            `json:"assessments"`
	LatestAssessment       *domain.MentorshipAssessed     `json:"latestAssessment,omitempty"`
	CompletedAt            *time.Time                     `json:"completedAt,omitempty"`
	WithdrawnAt            *time.Time                     `json:"withdrawnAt,omitempty"`
	WithdrawReason         string                         `json:"withdrawReason,omitempty"`
	Version                uint64                         `json:"version"`
	Position               eventstore.Position            `json:"position"`
}

// Readable reports whether hospitalID may read the mentorship: the mentor's (lead)
// hospital or the apprentice's.
func (m MentorshipView) Readable(hospitalID string) bool {
	return hospitalID != "" && (hospitalID == m.LeadHospitalID || hospitalID == m.ApprenticeHospitalID)
}

// PlacementView is one training placement.
type PlacementView struct {
	PlacementID       string              `json:"placementId"`
	AllianceID        string              `json:"allianceId"`
	Kind              string              `json:"kind"`
	Programme         string              `json:"programme"`
	Cohort            string              `json:"cohort,omitempty"`
	PractitionerID    string              `json:"practitionerId"`
	PractitionerName  string              `json:"practitionerName"`
	HomeHospitalID    string              `json:"homeHospitalId"`
	HomeDepartmentID  string              `json:"homeDepartmentId"`
	HostHospitalID    string              `json:"hostHospitalId"`
	HostDepartmentID  string              `json:"hostDepartmentId"`
	LeadHospitalID    string              `json:"leadHospitalId"`
	MemberHospitalID  string              `json:"memberHospitalId"`
	Period            domain.Window       `json:"period"`
	Status            string              `json:"status"`
	PlannedAt         time.Time           `json:"plannedAt"`
	ArrivedAt         *time.Time          `json:"arrivedAt,omitempty"`
	CompletedAt       *time.Time          `json:"completedAt,omitempty"`
	EvaluationOutcome string              `json:"evaluationOutcome,omitempty"`
	EvaluationComment string              `json:"evaluationComment,omitempty"`
	EvaluatedAt       *time.Time          `json:"evaluatedAt,omitempty"`
	CancelledAt       *time.Time          `json:"cancelledAt,omitempty"`
	CancelReason      string              `json:"cancelReason,omitempty"`
	Version           uint64              `json:"version"`
	Position          eventstore.Position `json:"position"`
}

// Readable reports whether hospitalID may read the placement: the home or the host.
func (p PlacementView) Readable(hospitalID string) bool {
	return hospitalID != "" && (hospitalID == p.HomeHospitalID || hospitalID == p.HostHospitalID)
}

func (ks keyspace) flushMentorship(pipe redis.Pipeliner, ref docRef, val any) error {
	m := val.(*MentorshipView)
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode mentorship view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	pipe.HSet(ctx, ks.talentList("alliance", m.AllianceID, "mentorships"), m.MentorshipID, data)
	pipe.HSet(ctx, ks.talentList("hospital", m.LeadHospitalID, "mentorships"), m.MentorshipID, data)
	pipe.HSet(ctx, ks.talentList("hospital", m.ApprenticeHospitalID, "mentorships"), m.MentorshipID, data)
	pipe.HSet(ctx, ks.talentList("practitioner", m.MentorID, "mentorships"), m.MentorshipID, data)
	pipe.HSet(ctx, ks.talentList("practitioner", m.ApprenticeID, "mentorships"), m.MentorshipID, data)
	return nil
}

func (ks keyspace) flushPlacement(pipe redis.Pipeliner, ref docRef, val any) error {
	p := val.(*PlacementView)
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode placement view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	pipe.HSet(ctx, ks.talentList("alliance", p.AllianceID, "placements"), p.PlacementID, data)
	pipe.HSet(ctx, ks.talentList("hospital", p.HomeHospitalID, "placements"), p.PlacementID, data)
	pipe.HSet(ctx, ks.talentList("hospital", p.HostHospitalID, "placements"), p.PlacementID, data)
	pipe.HSet(ctx, ks.talentList("practitioner", p.PractitionerID, "placements"), p.PlacementID, data)
	return nil
}

// talentNeeds lists the document an event of the talent aggregates changes.
func talentNeeds(ks keyspace, e domain.Event) []docRef {
	switch ev := e.(type) {
	case domain.MentorshipStarted:
		return []docRef{mentorshipRef(ks, ev.MentorshipID)}
	case domain.MentorshipSessionLogged:
		return []docRef{mentorshipRef(ks, ev.MentorshipID)}
	case domain.MentorshipAssessed:
		return []docRef{mentorshipRef(ks, ev.MentorshipID)}
	case domain.MentorshipCompleted:
		return []docRef{mentorshipRef(ks, ev.MentorshipID)}
	case domain.MentorshipWithdrawn:
		return []docRef{mentorshipRef(ks, ev.MentorshipID)}
	case domain.PlacementPlanned:
		return []docRef{placementRef(ks, ev.PlacementID)}
	case domain.PlacementArrived:
		return []docRef{placementRef(ks, ev.PlacementID)}
	case domain.PlacementCompleted:
		return []docRef{placementRef(ks, ev.PlacementID)}
	case domain.PlacementEvaluated:
		return []docRef{placementRef(ks, ev.PlacementID)}
	case domain.PlacementCancelled:
		return []docRef{placementRef(ks, ev.PlacementID)}
	}
	return nil
}

func applyMentorship(b *batch, e event) error {
	if ev, ok := e.ev.(domain.MentorshipStarted); ok {
		m := &MentorshipView{MentorshipID: ev.MentorshipID, AllianceID: ev.AllianceID, Programme: ev.Programme,
			LeadHospitalID: ev.LeadHospitalID, LeadDepartmentID: ev.LeadDepartmentID, MentorID: ev.MentorID, MentorName: ev.MentorName,
			MentorDepartmentID: ev.MentorDepartmentID, ApprenticeID: ev.ApprenticeID, ApprenticeName: ev.ApprenticeName,
			ApprenticeHospitalID: ev.ApprenticeHospitalID, ApprenticeDepartmentID: ev.ApprenticeDepartmentID, Goal: ev.Goal,
			Status: domain.MentorshipStatusActive, StartedAt: ev.StartedAt.UTC(), PlannedEndAt: timePtr(ev.PlannedEndAt.UTC()),
			Version: e.ver, Position: e.pos}
		if ev.PlannedEndAt.IsZero() {
			m.PlannedEndAt = nil
		}
		return b.put(mentorshipRef(b.ks, ev.MentorshipID), m, b.ks.flushMentorship)
	}
	ref := talentNeeds(b.ks, e.ev)[0]
	m, err := getDoc[MentorshipView](b, ref)
	if err != nil || m == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.MentorshipSessionLogged:
		// The same counting as the aggregate's, so the view equals a replay.
		var s domain.Mentorship
		s.Counts = m.Counts
		s = s.Evolve(ev)
		m.Counts, m.LastSessionAt = s.Counts, timePtr(ev.SessionAt.UTC())
	case domain.MentorshipAssessed:
		a := ev
		a.AssessedAt = a.AssessedAt.UTC()
		m.Assessments++
		m.LatestAssessment = &a
	case domain.MentorshipCompleted:
		m.Status, m.CompletedAt = domain.MentorshipStatusCompleted, timePtr(ev.CompletedAt.UTC())
	case domain.MentorshipWithdrawn:
		m.Status, m.WithdrawnAt, m.WithdrawReason = domain.MentorshipStatusWithdrawn, timePtr(ev.WithdrawnAt.UTC()), ev.Reason
	}
	m.Version, m.Position = e.ver, e.pos
	return b.put(ref, m, b.ks.flushMentorship)
}

func applyPlacement(b *batch, e event) error {
	if ev, ok := e.ev.(domain.PlacementPlanned); ok {
		p := &PlacementView{PlacementID: ev.PlacementID, AllianceID: ev.AllianceID, Kind: ev.Kind, Programme: ev.Programme,
			Cohort: ev.Cohort, PractitionerID: ev.PractitionerID, PractitionerName: ev.PractitionerName, HomeHospitalID: ev.HomeHospitalID,
			HomeDepartmentID: ev.HomeDepartmentID, HostHospitalID: ev.HostHospitalID, HostDepartmentID: ev.HostDepartmentID,
			LeadHospitalID: ev.LeadHospitalID, MemberHospitalID: ev.MemberHospitalID,
			Period: domain.Window{Start: ev.Period.Start.UTC(), End: ev.Period.End.UTC()}, Status: domain.PlacementStatusPlanned,
			PlannedAt: ev.PlannedAt.UTC(), Version: e.ver, Position: e.pos}
		return b.put(placementRef(b.ks, ev.PlacementID), p, b.ks.flushPlacement)
	}
	ref := talentNeeds(b.ks, e.ev)[0]
	p, err := getDoc[PlacementView](b, ref)
	if err != nil || p == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.PlacementArrived:
		p.Status, p.ArrivedAt = domain.PlacementStatusArrived, timePtr(ev.ArrivedAt.UTC())
	case domain.PlacementCompleted:
		p.Status, p.CompletedAt = domain.PlacementStatusCompleted, timePtr(ev.CompletedAt.UTC())
	case domain.PlacementEvaluated:
		p.EvaluationOutcome, p.EvaluationComment, p.EvaluatedAt = ev.Outcome, ev.Comment, timePtr(ev.EvaluatedAt.UTC())
	case domain.PlacementCancelled:
		p.Status, p.CancelledAt, p.CancelReason = domain.PlacementStatusCancelled, timePtr(ev.CancelledAt.UTC()), ev.Reason
	}
	p.Version, p.Position = e.ver, e.pos
	return b.put(ref, p, b.ks.flushPlacement)
}

// ProgrammeSummary counts one programme's mentorships by status.
type ProgrammeSummary struct {
	Programme string `json:"programme"`
	Active    int    `json:"active"`
	Completed int    `json:"completed"`
	Withdrawn int    `json:"withdrawn"`
	Sessions  int    `json:"sessions"`
}

// AllianceMentorships is an alliance's mentorship programmes and their pairings.
type AllianceMentorships struct {
	AllianceID  string             `json:"allianceId"`
	Programmes  []ProgrammeSummary `json:"programmes"`
	Mentorships []MentorshipView   `json:"mentorships"`
}

// CohortSummary counts one programme's (and cohort's) placements of one kind by status.
type CohortSummary struct {
	Programme string `json:"programme"`
	Cohort    string `json:"cohort,omitempty"`
	Kind      string `json:"kind"`
	Planned   int    `json:"planned"`
	Arrived   int    `json:"arrived"`
	Completed int    `json:"completed"`
	Cancelled int    `json:"cancelled"`
}

// AlliancePlacements is an alliance's placements, summed per programme and cohort.
type AlliancePlacements struct {
	AllianceID string          `json:"allianceId"`
	Cohorts    []CohortSummary `json:"cohorts"`
	Placements []PlacementView `json:"placements"`
}

// talentHash reads the documents of one talent list.
func talentHash[T any](q *Queries, ctx context.Context, minPos eventstore.Position, key func(keyspace) string) ([]T, error) {
	var out []T
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		k := key(ks)
		cmd := pipe.HGetAll(ctx, k)
		return func() error {
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			out, err = decodeAll[T](vals, k)
			return err
		}
	})
	return out, err
}

func sortMentorships(ms []MentorshipView) []MentorshipView {
	slices.SortFunc(ms, func(a, b MentorshipView) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.MentorshipID, b.MentorshipID)
	})
	return ms
}

func sortPlacements(ps []PlacementView) []PlacementView {
	slices.SortFunc(ps, func(a, b PlacementView) int {
		if c := b.Period.Start.Compare(a.Period.Start); c != 0 {
			return c
		}
		return strings.Compare(a.PlacementID, b.PlacementID)
	})
	return ps
}

// Mentorship returns one mentorship.
func (q *Queries) Mentorship(ctx context.Context, id string, minPos eventstore.Position) (MentorshipView, error) {
	var m MentorshipView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		return getJSON(pipe, mentorshipRef(ks, id), &m, "mentorship "+id)
	})
	return m, err
}

// AllianceMentorships returns an alliance's mentorships, newest first, and a summary
// per programme.
func (q *Queries) AllianceMentorships(ctx context.Context, allianceID string, minPos eventstore.Position) (AllianceMentorships, error) {
	ms, err := talentHash[MentorshipView](q, ctx, minPos, func(ks keyspace) string { return ks.talentList("alliance", allianceID, "mentorships") })
	if err != nil {
		return AllianceMentorships{}, err
	}
	out := AllianceMentorships{AllianceID: allianceID, Programmes: []ProgrammeSummary{}, Mentorships: sortMentorships(ms)}
	idx := map[string]int{}
	for _, m := range ms {
		i, ok := idx[m.Programme]
		if !ok {
			i = len(out.Programmes)
			idx[m.Programme] = i
			out.Programmes = append(out.Programmes, ProgrammeSummary{Programme: m.Programme})
		}
		s := &out.Programmes[i]
		s.Sessions += m.Counts.Sessions
		switch m.Status {
		case domain.MentorshipStatusActive:
			s.Active++
		case domain.MentorshipStatusCompleted:
			s.Completed++
		case domain.MentorshipStatusWithdrawn:
			s.Withdrawn++
		}
	}
	slices.SortFunc(out.Programmes, func(a, b ProgrammeSummary) int { return strings.Compare(a.Programme, b.Programme) })
	return out, nil
}

// HospitalMentorships returns the mentorships hospitalID takes part in (as the
// mentor's or the apprentice's hospital), newest first.
func (q *Queries) HospitalMentorships(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]MentorshipView, error) {
	ms, err := talentHash[MentorshipView](q, ctx, minPos, func(ks keyspace) string { return ks.talentList("hospital", hospitalID, "mentorships") })
	return sortMentorships(ms), err
}

// PractitionerMentorships returns the mentorships a practitioner mentors or learns in.
func (q *Queries) PractitionerMentorships(ctx context.Context, practitionerID string, minPos eventstore.Position) ([]MentorshipView, error) {
	ms, err := talentHash[MentorshipView](q, ctx, minPos, func(ks keyspace) string { return ks.talentList("practitioner", practitionerID, "mentorships") })
	return sortMentorships(ms), err
}

// Placement returns one placement.
func (q *Queries) Placement(ctx context.Context, id string, minPos eventstore.Position) (PlacementView, error) {
	var p PlacementView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		return getJSON(pipe, placementRef(ks, id), &p, "placement "+id)
	})
	return p, err
}

// AlliancePlacements returns an alliance's placements, newest period first, and a
// summary per programme, cohort and kind.
func (q *Queries) AlliancePlacements(ctx context.Context, allianceID string, minPos eventstore.Position) (AlliancePlacements, error) {
	ps, err := talentHash[PlacementView](q, ctx, minPos, func(ks keyspace) string { return ks.talentList("alliance", allianceID, "placements") })
	if err != nil {
		return AlliancePlacements{}, err
	}
	out := AlliancePlacements{AllianceID: allianceID, Cohorts: []CohortSummary{}, Placements: sortPlacements(ps)}
	idx := map[[3]string]int{}
	for _, p := range ps {
		k := [3]string{p.Programme, p.Cohort, p.Kind}
		i, ok := idx[k]
		if !ok {
			i = len(out.Cohorts)
			idx[k] = i
			out.Cohorts = append(out.Cohorts, CohortSummary{Programme: p.Programme, Cohort: p.Cohort, Kind: p.Kind})
		}
		s := &out.Cohorts[i]
		switch p.Status {
		case domain.PlacementStatusPlanned:
			s.Planned++
		case domain.PlacementStatusArrived:
			s.Arrived++
		case domain.PlacementStatusCompleted:
			s.Completed++
		case domain.PlacementStatusCancelled:
			s.Cancelled++
		}
	}
	slices.SortFunc(out.Cohorts, func(a, b CohortSummary) int {
		return strings.Compare(a.Programme+"\x00"+a.Cohort+"\x00"+a.Kind, b.Programme+"\x00"+b.Cohort+"\x00"+b.Kind)
	})
	return out, nil
}

// HospitalPlacements returns the placements hospitalID sends or hosts.
func (q *Queries) HospitalPlacements(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]PlacementView, error) {
	ps, err := talentHash[PlacementView](q, ctx, minPos, func(ks keyspace) string { return ks.talentList("hospital", hospitalID, "placements") })
	return sortPlacements(ps), err
}

// PractitionerPlacements returns a practitioner's placements.
func (q *Queries) PractitionerPlacements(ctx context.Context, practitionerID string, minPos eventstore.Position) ([]PlacementView, error) {
	ps, err := talentHash[PlacementView](q, ctx, minPos, func(ks keyspace) string { return ks.talentList("practitioner", practitionerID, "placements") })
	return sortPlacements(ps), err
}
