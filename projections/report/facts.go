// Package report turns the event log into the alliance's performance and quality
// figures (the alliance report the office sends to the health commission).
//
// It is pure: it imports only the domain. Both the projector, which keeps the figures
// incrementally in Redis, and the recompute that tests and auditors run over the log use
// the same two steps of this package, so the two cannot drift apart:
//
//  1. Derive turns one event into facts: a counter or gauge delta, or one sample of a
//     duration (request -> admission, request -> opinion), each dated and attributed to
//     an alliance and a hospital. It keeps what it must remember between events (a
//     referral's request instant, a plan's due dates) in Entities, a small key/value
//     state the caller stores (Redis documents in the projector, a map in Recompute).
//  2. Build turns the sums and samples of a scope over a period into Figures.
//
// A fact is dated by the business instant its event records (the command's time, e.g.
// ReferralAdmitted.AdmittedAt, which the service takes from its clock when the command
// is recorded, so it equals the envelope's OccurredAt for live commands). Periods
// (month, quarter, year, UTC) and "as of" cuts select facts by that instant: the report
// as of day D counts the facts dated before the end of D, which are exactly the facts
// of the log cut at the end of D (events dated later are left out).
package report

import (
	"encoding/json"
	"time"

	"github.com/medalliance/allianced/domain"
)

// Total is the scope of the alliance's totals; every fact counts in its hospital's scope
// and in Total.
const Total = "*"

// Metric names. Counters sum the facts dated in the period; gauges (prefix "g.") sum
// every fact dated before the period's end (or the as-of cut), so they read as the state
// at that instant; samples (prefix "s.") keep one value per fact for exact percentiles.
const (
	ReferralsUp           = "referrals.up"
	ReferralsDown         = "referrals.down"
	ReferralsAdmitted     = "referrals.admitted"
	GreenRequested        = "green.requested"
	GreenAdmitted         = "green.admitted"
	GreenWithinTarget     = "green.withinTarget"
	ConsultsRequested     = "consults.requested"
	ConsultsAnswered      = "consults.answered"
	ConsultsWithin        = "consults.withinDeadline"
	VisitsCompleted       = "visits.completed"
	VisitsReports         = "visits.reports"
	PatientsSeen          = "visits.patientsSeen"
	ProceduresGuided      = "visits.procedures"
	TeachingSessions      = "visits.teaching"
	PlansStarted          = "plans.started"
	PlansCompleted        = "plans.completed"
	PlansDiscontinued     = "plans.discontinued"
	StepsRecorded         = "steps.recorded"
	StepsCompleted        = "steps.completed"
	StepsOnSchedule       = "steps.onSchedule"
	DeviationsPrefix      = "deviations."
	GaugePlansActive      = "g.plans.active"
	GaugeAdoptions        = "g.adoptions"
	GaugeAdoptionsCurrent = "g.adoptions.current"
	GaugeMembersAdopting  = "g.members.adopting"
	GaugeMembersCurrent   = "g.members.current"
	SampleGreenAdmit      = "s.green.admit"
	SampleConsultResponse = "s.consult.response"
)

// SampleMetrics lists the sample metrics, in a fixed order.
var SampleMetrics = []string{SampleGreenAdmit, SampleConsultResponse}

// IsGauge reports whether metric is a gauge (summed from the beginning of time).
func IsGauge(metric string) bool { return len(metric) > 2 && metric[:2] == "g." }

// IsSample reports whether metric is a sample metric.
func IsSample(metric string) bool { return len(metric) > 2 && metric[:2] == "s." }

// ToleranceDays is the stated adherence tolerance: a step counts as done on schedule when
// it was completed on a calendar day (UTC) at most this many days before or after its
// due day. A skipped step is recorded but never on schedule.
const ToleranceDays = 1

// Fact is one contribution to the figures: Delta to a counter or gauge, or, for a sample
// metric, one Value (seconds) identified by SampleID (unique per metric).
type Fact struct {
	Alliance string
	Hospital string
	At       time.Time
	Metric   string
	Delta    int64
	SampleID string
	Value    int64
}

// Entities is where Derive keeps what it remembers between events, one JSON document
// per key. Get reports false when the key holds nothing.
type Entities interface {
	Get(key string) ([]byte, bool, error)
	Put(key string, doc []byte) error
}

// Needs lists the entity keys Derive reads for e, so a caller can load them in one round
// trip before deriving (Derive reads keys outside this list on its own when an event
// changes the currency of many adoptions).
func Needs(e domain.Event) []string {
	switch ev := e.(type) {
	case domain.ReferralRequested:
		return []string{"referral:" + ev.ReferralID}
	case domain.ReferralAdmitted:
		return []string{"referral:" + ev.ReferralID}
	case domain.ConsultRequested:
		return []string{"consult:" + ev.ConsultID}
	case domain.ConsultOpinionGiven:
		return []string{"consult:" + ev.ConsultID}
	case domain.DispatchRequested:
		return []string{"dispatch:" + ev.DispatchID}
	case domain.DispatchVisitReported:
		return []string{"dispatch:" + ev.DispatchID}
	case domain.DispatchCompleted:
		return []string{"dispatch:" + ev.DispatchID}
	case domain.PlanInitiated:
		return []string{"plan:" + ev.PlanID}
	case domain.PlanHandedOver:
		return []string{"plan:" + ev.PlanID}
	case domain.PlanEscalated:
		return []string{"plan:" + ev.PlanID}
	case domain.PlanStepCompleted:
		return []string{"plan:" + ev.PlanID}
	case domain.PlanStepSkipped:
		return []string{"plan:" + ev.PlanID}
	case domain.PlanRevised:
		return []string{"plan:" + ev.PlanID}
	case domain.PlanDeviationReported:
		return []string{"plan:" + ev.PlanID}
	case domain.PlanCompleted:
		return []string{"plan:" + ev.PlanID}
	case domain.PlanDiscontinued:
		return []string{"plan:" + ev.PlanID}
	case domain.ProtocolVersionPublished:
		return []string{"protocols:" + ev.AllianceID}
	case domain.ProtocolVersionWithdrawn:
		return []string{"protocols:" + ev.AllianceID}
	case domain.ProtocolRetired:
		return []string{"protocols:" + ev.AllianceID}
	case domain.ProtocolAdopted:
		return []string{"protocols:" + ev.AllianceID}
	case domain.AdoptionUpgraded:
		return []string{"protocols:" + ev.AllianceID}
	case domain.AdoptionWithdrawn:
		return []string{"protocols:" + ev.AllianceID}
	}
	return extraNeeds(e)
}

// referralState is what a referral's later facts need of its request.
type referralState struct {
	Alliance      string `json:"a"`
	Member        string `json:"m"`
	Urgency       string `json:"u"`
	RequestedAt   int64  `json:"r"` // Unix seconds: state never fails to encode, whatever an event's instant
	AdmitDeadline int64  `json:"d"`
}

// consultState is what the opinion's facts need of the request.
type consultState struct {
	Alliance    string `json:"a"`
	Member      string `json:"m"`
	RequestedAt int64  `json:"r"`
}

// dispatchState names the alliance and the visited member of a dispatch.
type dispatchState struct {
	Alliance string `json:"a"`
	Member   string `json:"m"`
}

// planState is the little of a plan the figures need: who holds it, whether it is
// closed, and each step's due day (kept in step with revisions by the domain's Evolve).
type planState struct {
	Alliance    string           `json:"a"`
	Lead        string           `json:"l"`
	Responsible string           `json:"h"`
	Closed      bool             `json:"c,omitempty"`
	StartDate   int64            `json:"s"`
	Due         map[string]int64 `json:"d"` // step -> due day, Unix seconds
}

func get[T any](ents Entities, key string) (*T, error) {
	raw, ok, err := ents.Get(key)
	if err != nil || !ok {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, domain.Errorf(domain.CodeInternal, "report state %s is malformed: %v", key, err)
	}
	return v, nil
}

func put(ents Entities, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return ents.Put(key, raw)
}

// counter, gauge and sample build facts.
func counter(alliance, hospital string, at time.Time, metric string, delta int64) Fact {
	return Fact{Alliance: alliance, Hospital: hospital, At: at.UTC(), Metric: metric, Delta: delta}
}

func sample(alliance, hospital string, at time.Time, metric, id string, seconds int64) Fact {
	return Fact{Alliance: alliance, Hospital: hospital, At: at.UTC(), Metric: metric, SampleID: id, Value: seconds}
}

// Samples are whole seconds (differences of Unix seconds), so sums and percentiles stay
// exact in Redis' doubles.

// Derive returns the facts event e contributes, updating ents. Events of no figure's
// interest return nil.
func Derive(ents Entities, e domain.Event) ([]Fact, error) {
	switch ev := e.(type) {
	case domain.ReferralRequested:
		member := ev.FromHospitalID
		metric := ReferralsUp
		if ev.Direction == domain.ReferralDown {
			member, metric = ev.ToHospitalID, ReferralsDown
		}
		st := referralState{Alliance: ev.AllianceID, Member: member, Urgency: ev.Urgency, RequestedAt: ev.RequestedAt.Unix(), AdmitDeadline: ev.AdmitDeadline.Unix()}
		if err := put(ents, "referral:"+ev.ReferralID, st); err != nil {
			return nil, err
		}
		out := []Fact{counter(ev.AllianceID, member, ev.RequestedAt, metric, 1)}
		if ev.Urgency == domain.UrgencyEmergency {
			out = append(out, counter(ev.AllianceID, member, ev.RequestedAt, GreenRequested, 1))
		}
		return out, nil
	case domain.ReferralAdmitted:
		st, err := get[referralState](ents, "referral:"+ev.ReferralID)
		if err != nil || st == nil {
			return nil, err
		}
		out := []Fact{counter(st.Alliance, st.Member, ev.AdmittedAt, ReferralsAdmitted, 1)}
		if st.Urgency == domain.UrgencyEmergency {
			out = append(out, counter(st.Alliance, st.Member, ev.AdmittedAt, GreenAdmitted, 1),
				sample(st.Alliance, st.Member, ev.AdmittedAt, SampleGreenAdmit, ev.ReferralID, ev.AdmittedAt.Unix()-st.RequestedAt))
			if ev.AdmittedAt.Unix() <= st.AdmitDeadline {
				out = append(out, counter(st.Alliance, st.Member, ev.AdmittedAt, GreenWithinTarget, 1))
			}
		}
		return out, nil
	case domain.ConsultRequested:
		st := consultState{Alliance: ev.AllianceID, Member: ev.RequestingHospitalID, RequestedAt: ev.RequestedAt.Unix()}
		if err := put(ents, "consult:"+ev.ConsultID, st); err != nil {
			return nil, err
		}
		return []Fact{counter(ev.AllianceID, ev.RequestingHospitalID, ev.RequestedAt, ConsultsRequested, 1)}, nil
	case domain.ConsultOpinionGiven:
		st, err := get[consultState](ents, "consult:"+ev.ConsultID)
		if err != nil || st == nil {
			return nil, err
		}
		out := []Fact{counter(st.Alliance, st.Member, ev.GivenAt, ConsultsAnswered, 1),
			sample(st.Alliance, st.Member, ev.GivenAt, SampleConsultResponse, ev.ConsultID, ev.GivenAt.Unix()-st.RequestedAt)}
		if ev.WithinDeadline {
			out = append(out, counter(st.Alliance, st.Member, ev.GivenAt, ConsultsWithin, 1))
		}
		return out, nil
	case domain.DispatchRequested:
		return nil, put(ents, "dispatch:"+ev.DispatchID, dispatchState{Alliance: ev.AllianceID, Member: ev.RequestingHospitalID})
	case domain.DispatchVisitReported:
		st, err := get[dispatchState](ents, "dispatch:"+ev.DispatchID)
		if err != nil || st == nil {
			return nil, err
		}
		return visitFacts(st, ev), nil
	case domain.DispatchCompleted:
		st, err := get[dispatchState](ents, "dispatch:"+ev.DispatchID)
		if err != nil || st == nil {
			return nil, err
		}
		return []Fact{counter(st.Alliance, st.Member, ev.CompletedAt, VisitsCompleted, 1)}, nil
	case domain.PlanInitiated, domain.PlanHandedOver, domain.PlanEscalated, domain.PlanStepCompleted,
		domain.PlanStepSkipped, domain.PlanRevised, domain.PlanDeviationReported, domain.PlanCompleted, domain.PlanDiscontinued:
		return derivePlan(ents, e)
	case domain.ProtocolVersionPublished, domain.ProtocolVersionWithdrawn, domain.ProtocolRetired,
		domain.ProtocolAdopted, domain.AdoptionUpgraded, domain.AdoptionWithdrawn:
		return deriveProtocols(ents, e)
	}
	return deriveExtra(ents, e)
}

// visitFacts counts the work a visit report records.
func visitFacts(st *dispatchState, ev domain.DispatchVisitReported) []Fact {
	at := ev.ReportedAt
	out := []Fact{counter(st.Alliance, st.Member, at, VisitsReports, 1)}
	add := func(metric string, n int) {
		if n != 0 {
			out = append(out, counter(st.Alliance, st.Member, at, metric, int64(n)))
		}
	}
	add(PatientsSeen, ev.Report.PatientsSeen)
	add(ProceduresGuided, ev.Report.ProceduresGuided)
	add(TeachingSessions, ev.Report.TeachingSessions)
	return append(out, visitExtraFacts(st, ev)...)
}

// dayOf is the calendar day (UTC midnight) of t.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// onSchedule reports whether a step due on due and done at done is within ToleranceDays.
func onSchedule(due, done time.Time) bool {
	diff := dayOf(done).Sub(dayOf(due))
	if diff < 0 {
		diff = -diff
	}
	return diff <= ToleranceDays*24*time.Hour
}

func derivePlan(ents Entities, e domain.Event) ([]Fact, error) {
	if ev, ok := e.(domain.PlanInitiated); ok {
		st := planState{Alliance: ev.AllianceID, Lead: ev.LeadHospitalID, Responsible: ev.LeadHospitalID,
			StartDate: ev.StartDate.Unix(), Due: map[string]int64{}}
		for _, s := range ev.Steps {
			st.Due[s.StepID] = s.DueDate.Unix()
		}
		if err := put(ents, "plan:"+ev.PlanID, st); err != nil {
			return nil, err
		}
		return []Fact{counter(ev.AllianceID, ev.LeadHospitalID, ev.At, PlansStarted, 1),
			counter(ev.AllianceID, ev.LeadHospitalID, ev.At, GaugePlansActive, 1)}, nil
	}
	id := planIDOf(e)
	st, err := get[planState](ents, "plan:"+id)
	if err != nil || st == nil {
		return nil, err
	}
	var out []Fact
	switch ev := e.(type) {
	case domain.PlanHandedOver:
		out = moveActive(st, ev.ToHospitalID, ev.At)
	case domain.PlanEscalated:
		out = moveActive(st, ev.ToHospitalID, ev.At)
	case domain.PlanStepCompleted:
		out = []Fact{counter(st.Alliance, ev.HospitalID, ev.At, StepsRecorded, 1), counter(st.Alliance, ev.HospitalID, ev.At, StepsCompleted, 1)}
		if due, ok := st.Due[ev.StepID]; ok && onSchedule(time.Unix(due, 0), ev.At) {
			out = append(out, counter(st.Alliance, ev.HospitalID, ev.At, StepsOnSchedule, 1))
		}
		return out, nil // nothing of the state changed
	case domain.PlanStepSkipped:
		return []Fact{counter(st.Alliance, ev.HospitalID, ev.At, StepsRecorded, 1)}, nil
	case domain.PlanDeviationReported:
		return []Fact{counter(st.Alliance, ev.HospitalID, ev.At, DeviationsPrefix+ev.Severity, 1)}, nil
	case domain.PlanRevised:
		// The domain's own Evolve places the revised steps on the calendar.
		p := domain.Plan{StartDate: time.Unix(st.StartDate, 0).UTC()}
		for stepID, due := range st.Due {
			p.Steps = append(p.Steps, domain.PlanStep{StepID: stepID, DueDate: time.Unix(due, 0).UTC(), Status: domain.StepStatusPending})
		}
		p = p.Evolve(ev)
		st.Due = map[string]int64{}
		for _, s := range p.Steps {
			if s.Status != domain.StepStatusCancelled {
				st.Due[s.StepID] = s.DueDate.Unix()
			}
		}
	case domain.PlanCompleted:
		if st.Closed {
			return nil, nil
		}
		st.Closed = true
		out = []Fact{counter(st.Alliance, st.Responsible, ev.At, PlansCompleted, 1), counter(st.Alliance, st.Responsible, ev.At, GaugePlansActive, -1)}
	case domain.PlanDiscontinued:
		if st.Closed {
			return nil, nil
		}
		st.Closed = true
		out = []Fact{counter(st.Alliance, st.Responsible, ev.At, PlansDiscontinued, 1), counter(st.Alliance, st.Responsible, ev.At, GaugePlansActive, -1)}
	}
	return out, put(ents, "plan:"+id, st)
}

// moveActive moves an open plan's "active" count to its new holder.
func moveActive(st *planState, to string, at time.Time) []Fact {
	from := st.Responsible
	st.Responsible = to
	if st.Closed || from == to {
		return nil
	}
	return []Fact{counter(st.Alliance, from, at, GaugePlansActive, -1), counter(st.Alliance, to, at, GaugePlansActive, 1)}
}

func planIDOf(e domain.Event) string {
	switch ev := e.(type) {
	case domain.PlanHandedOver:
		return ev.PlanID
	case domain.PlanEscalated:
		return ev.PlanID
	case domain.PlanStepCompleted:
		return ev.PlanID
	case domain.PlanStepSkipped:
		return ev.PlanID
	case domain.PlanRevised:
		return ev.PlanID
	case domain.PlanDeviationReported:
		return ev.PlanID
	case domain.PlanCompleted:
		return ev.PlanID
	case domain.PlanDiscontinued:
		return ev.PlanID
	}
	return ""
}
