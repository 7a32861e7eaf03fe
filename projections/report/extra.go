package report

import (
	"time"

	"github.com/medalliance/allianced/domain"
)

// The figures of the talent aggregates (mentorships 师带徒, placements 进修 / 派一送一)
// and of the diagnostic centres join here: their facts, their figures, and the patients
// a visit report says were admitted.

// Talent metrics.
const (
	PatientsAdmitted       = "visits.patientsAdmitted"
	MentorshipsStarted     = "talent.mentorships.started"
	MentorshipsCompleted   = "talent.mentorships.completed"
	MentorshipsWithdrawn   = "talent.mentorships.withdrawn"
	MentoringSessions      = "talent.mentorships.sessions"
	GaugeMentorshipsActive = "g.talent.mentorships.active"
	PlacementsStudyArrived = "talent.placements.study.arrived"
	PlacementsPostArrived  = "talent.placements.posting.arrived"
	PlacementsCompleted    = "talent.placements.completed"
	PlacementsCancelled    = "talent.placements.cancelled"
	GaugePlacementsActive  = "g.talent.placements.active"
)

// TalentFigures are the talent flows: mentorships started, completed and withdrawn in
// the period and active at its end, sessions logged; placements begun (a study
// placement at the lead, 进修, or a lead practitioner posted to a member, 派一送一) and
// completed in the period, and those under way at its end. A member's scope is the
// apprentice's or the placement's member hospital.
type TalentFigures struct {
	MentorshipsStarted   int64 `json:"mentorshipsStarted"`
	MentorshipsActive    int64 `json:"mentorshipsActive"`
	MentorshipsCompleted int64 `json:"mentorshipsCompleted"`
	MentorshipsWithdrawn int64 `json:"mentorshipsWithdrawn"`
	MentoringSessions    int64 `json:"mentoringSessions"`
	StudyPlacements      int64 `json:"studyPlacementsBegun"`
	Postings             int64 `json:"postingsBegun"`
	PlacementsCompleted  int64 `json:"placementsCompleted"`
	PlacementsCancelled  int64 `json:"placementsCancelled"`
	PlacementsActive     int64 `json:"placementsUnderWay"`
}

// mentorshipState says whether a mentorship still counts as active.
type mentorshipState struct {
	Closed bool `json:"c,omitempty"`
}

// placementState remembers a placement's kind and whether it is under way.
type placementState struct {
	Kind    string `json:"k"`
	Arrived bool   `json:"a,omitempty"`
	Closed  bool   `json:"c,omitempty"`
}

func extraNeeds(e domain.Event) []string {
	switch ev := e.(type) {
	case domain.MentorshipStarted:
		return []string{"mentorship:" + ev.MentorshipID}
	case domain.MentorshipCompleted:
		return []string{"mentorship:" + ev.MentorshipID}
	case domain.MentorshipWithdrawn:
		return []string{"mentorship:" + ev.MentorshipID}
	case domain.PlacementPlanned:
		return []string{"placement:" + ev.PlacementID}
	case domain.PlacementArrived:
		return []string{"placement:" + ev.PlacementID}
	case domain.PlacementCompleted:
		return []string{"placement:" + ev.PlacementID}
	case domain.PlacementCancelled:
		return []string{"placement:" + ev.PlacementID}
	}
	return diagNeeds(e)
}

func deriveExtra(ents Entities, e domain.Event) ([]Fact, error) {
	switch ev := e.(type) {
	case domain.MentorshipStarted:
		h := ev.ApprenticeHospitalID
		return []Fact{counter(ev.AllianceID, h, ev.StartedAt, MentorshipsStarted, 1), counter(ev.AllianceID, h, ev.StartedAt, GaugeMentorshipsActive, 1)},
			put(ents, "mentorship:"+ev.MentorshipID, mentorshipState{})
	case domain.MentorshipSessionLogged:
		return []Fact{counter(ev.AllianceID, ev.ApprenticeHospitalID, ev.SessionAt, MentoringSessions, 1)}, nil
	case domain.MentorshipCompleted:
		return closeMentorship(ents, ev.MentorshipID, ev.AllianceID, ev.ApprenticeHospitalID, ev.CompletedAt, MentorshipsCompleted)
	case domain.MentorshipWithdrawn:
		return closeMentorship(ents, ev.MentorshipID, ev.AllianceID, ev.ApprenticeHospitalID, ev.WithdrawnAt, MentorshipsWithdrawn)
	case domain.PlacementPlanned:
		return nil, put(ents, "placement:"+ev.PlacementID, placementState{Kind: ev.Kind})
	case domain.PlacementArrived:
		st, err := get[placementState](ents, "placement:"+ev.PlacementID)
		if err != nil || st == nil || st.Arrived || st.Closed {
			return nil, err
		}
		st.Arrived = true
		metric := PlacementsStudyArrived
		if st.Kind == domain.PlacementPosting {
			metric = PlacementsPostArrived
		}
		return []Fact{counter(ev.AllianceID, ev.MemberHospitalID, ev.ArrivedAt, metric, 1),
			counter(ev.AllianceID, ev.MemberHospitalID, ev.ArrivedAt, GaugePlacementsActive, 1)}, put(ents, "placement:"+ev.PlacementID, st)
	case domain.PlacementCompleted:
		return closePlacement(ents, ev.PlacementID, ev.AllianceID, ev.MemberHospitalID, ev.CompletedAt, PlacementsCompleted)
	case domain.PlacementCancelled:
		return closePlacement(ents, ev.PlacementID, ev.AllianceID, ev.MemberHospitalID, ev.CancelledAt, PlacementsCancelled)
	}
	return deriveDiag(ents, e)
}

func closeMentorship(ents Entities, id, alliance, h string, at time.Time, metric string) ([]Fact, error) {
	st, err := get[mentorshipState](ents, "mentorship:"+id)
	if err != nil || st == nil || st.Closed {
		return nil, err
	}
	st.Closed = true
	return []Fact{counter(alliance, h, at, metric, 1), counter(alliance, h, at, GaugeMentorshipsActive, -1)}, put(ents, "mentorship:"+id, st)
}

func closePlacement(ents Entities, id, alliance, h string, at time.Time, metric string) ([]Fact, error) {
	st, err := get[placementState](ents, "placement:"+id)
	if err != nil || st == nil || st.Closed {
		return nil, err
	}
	out := []Fact{counter(alliance, h, at, metric, 1)}
	if st.Arrived {
		out = append(out, counter(alliance, h, at, GaugePlacementsActive, -1))
	}
	st.Closed = true
	return out, put(ents, "placement:"+id, st)
}

func visitExtraFacts(st *dispatchState, ev domain.DispatchVisitReported) []Fact {
	if ev.Report.PatientsAdmitted == 0 {
		return nil
	}
	return []Fact{counter(st.Alliance, st.Member, ev.ReportedAt, PatientsAdmitted, int64(ev.Report.PatientsAdmitted))}
}

func buildExtra(r Raw, f *Figures) {
	c := func(m string) int64 { return r.Counters[m] }
	f.Talent = &TalentFigures{MentorshipsStarted: c(MentorshipsStarted), MentorshipsActive: c(GaugeMentorshipsActive),
		MentorshipsCompleted: c(MentorshipsCompleted), MentorshipsWithdrawn: c(MentorshipsWithdrawn), MentoringSessions: c(MentoringSessions),
		StudyPlacements: c(PlacementsStudyArrived), Postings: c(PlacementsPostArrived), PlacementsCompleted: c(PlacementsCompleted),
		PlacementsCancelled: c(PlacementsCancelled), PlacementsActive: c(GaugePlacementsActive)}
	buildDiag(r, f)
}
