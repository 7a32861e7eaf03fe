package report

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/medalliance/allianced/domain"
)

// Raw is one scope's sums over a period: counters (and gauges) by metric, and the sample
// values (seconds) by sample metric. A reader that can pick the values at the ranks the
// percentiles need (one sorted set per metric) gives those in Ranked instead of the whole
// sample: the same nearest-rank values, without moving every sample.
type Raw struct {
	Counters map[string]int64
	Samples  map[string][]int64
	Ranked   map[string]Ranked
}

// Ranked is a sample given by its size and its values at Percentiles.
type Ranked struct {
	N      int
	Values map[int]int64 // percentile -> value (seconds)
}

// Percentiles are the percentiles the report shows of every sample metric.
var Percentiles = []int{50, 90}

// RankIndex is the 0-based rank of the nearest-rank p-th percentile of n values.
func RankIndex(p, n int) int { return max(0, (p*n+99)/100-1) }

// percentile returns metric's p-th percentile in minutes, or nil without samples.
func (r Raw) percentile(metric string, p int) *float64 {
	if rk, ok := r.Ranked[metric]; ok && rk.N > 0 {
		v := float64(rk.Values[p]) / 60
		return &v
	}
	return Percentile(r.Samples[metric], p)
}

// Add counts one fact in r.
func (r *Raw) Add(f Fact) {
	if IsSample(f.Metric) {
		if r.Samples == nil {
			r.Samples = map[string][]int64{}
		}
		r.Samples[f.Metric] = append(r.Samples[f.Metric], f.Value)
		return
	}
	if r.Counters == nil {
		r.Counters = map[string]int64{}
	}
	r.Counters[f.Metric] += f.Delta
}

// Empty reports whether r holds no non-zero figure (such a member is left out of the
// report's rows).
func (r Raw) Empty() bool {
	for _, v := range r.Counters {
		if v != 0 {
			return false
		}
	}
	for _, v := range r.Samples {
		if len(v) > 0 {
			return false
		}
	}
	for _, v := range r.Ranked {
		if v.N > 0 {
			return false
		}
	}
	return true
}

// Figures are one scope's figures over a period.
type Figures struct {
	Referrals   ReferralFigures    `json:"referrals"`
	Consults    ConsultFigures     `json:"consults"`
	Visits      VisitFigures       `json:"visits"`
	Plans       PlanFigures        `json:"plans"`
	Adherence   AdherenceFigures   `json:"adherence"`
	Deviations  DeviationFigures   `json:"deviations"`
	Protocols   ProtocolFigures    `json:"protocols"`
	Diagnostics *DiagnosticFigures `json:"diagnostics,omitempty"`
	Talent      *TalentFigures     `json:"talent,omitempty"`
}

// ReferralFigures count referrals requested up (member -> lead) and down in the period,
// referrals admitted, and the green channel's request -> admission times.
type ReferralFigures struct {
	Up           int64        `json:"up"`
	Down         int64        `json:"down"`
	Admitted     int64        `json:"admitted"`
	GreenChannel GreenFigures `json:"greenChannel"`
}

// GreenFigures are the emergency (green-channel) referrals: requested in the period, and
// of those admitted in the period the exact median and 90th percentile (nearest rank) of
// request -> admission and the share admitted within the admission target.
type GreenFigures struct {
	Requested         int64    `json:"requested"`
	Admitted          int64    `json:"admitted"`
	WithinTarget      int64    `json:"withinTarget"`
	ShareWithinTarget *float64 `json:"shareWithinTarget"`
	MedianMinutes     *float64 `json:"medianMinutes"`
	P90Minutes        *float64 `json:"p90Minutes"`
}

// ConsultFigures count consults requested in the period, opinions given in the period,
// the share of those given by the consult's deadline, and request -> opinion times.
type ConsultFigures struct {
	Requested             int64    `json:"requested"`
	Answered              int64    `json:"answered"`
	AnsweredWithin        int64    `json:"answeredWithinDeadline"`
	ShareWithinDeadline   *float64 `json:"shareWithinDeadline"`
	MedianResponseMinutes *float64 `json:"medianResponseMinutes"`
	P90ResponseMinutes    *float64 `json:"p90ResponseMinutes"`
}

// VisitFigures count expert visits completed in the period and the work visit reports
// recorded in it.
type VisitFigures struct {
	Completed        int64 `json:"completed"`
	Reports          int64 `json:"reports"`
	PatientsSeen     int64 `json:"patientsSeen"`
	PatientsAdmitted int64 `json:"patientsAdmitted"`
	ProceduresGuided int64 `json:"proceduresGuided"`
	TeachingSessions int64 `json:"teachingSessions"`
}

// PlanFigures count shared plans started, completed and discontinued in the period, and
// the plans active at its end (or the as-of cut), by the hospital holding them.
type PlanFigures struct {
	Started      int64 `json:"started"`
	Completed    int64 `json:"completed"`
	Discontinued int64 `json:"discontinued"`
	Active       int64 `json:"active"`
}

// AdherenceFigures: of the plan steps recorded (completed or skipped) in the period, the
// share completed on schedule, within ToleranceDays of the due day.
type AdherenceFigures struct {
	ToleranceDays int      `json:"toleranceDays"`
	StepsRecorded int64    `json:"stepsRecorded"`
	StepsDone     int64    `json:"stepsCompleted"`
	OnSchedule    int64    `json:"onSchedule"`
	Share         *float64 `json:"share"`
}

// DeviationFigures count the deviations reported in the period by severity, and per 100
// steps recorded in the period.
type DeviationFigures struct {
	Total                 int64              `json:"total"`
	BySeverity            map[string]int64   `json:"bySeverity"`
	Per100Steps           *float64           `json:"per100Steps"`
	Per100StepsBySeverity map[string]float64 `json:"per100StepsBySeverity"`
}

// ProtocolFigures are the state at the period's end: adoptions of live protocols, how
// many follow the protocol's current version (its newest published, not withdrawn), the
// members with an adoption and the members whose every adoption is current.
type ProtocolFigures struct {
	Adoptions          int64 `json:"adoptions"`
	AdoptionsOnCurrent int64 `json:"adoptionsOnCurrent"`
	MembersAdopting    int64 `json:"membersAdopting"`
	MembersOnCurrent   int64 `json:"membersOnCurrent"`
}

// Severities lists the deviation severities the report always shows.
var Severities = []string{domain.DeviationSeverityMinor, domain.DeviationSeverityMajor}

func ratio(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	v := float64(n) / float64(d)
	return &v
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of the values, in
// minutes, or nil when there are none. values are sorted in place.
func Percentile(values []int64, p int) *float64 {
	if len(values) == 0 {
		return nil
	}
	slices.Sort(values)
	v := float64(values[RankIndex(p, len(values))]) / 60
	return &v
}

// Build turns a scope's sums into its figures.
func Build(r Raw) Figures {
	c := func(m string) int64 { return r.Counters[m] }
	var f Figures
	f.Referrals = ReferralFigures{Up: c(ReferralsUp), Down: c(ReferralsDown), Admitted: c(ReferralsAdmitted),
		GreenChannel: GreenFigures{Requested: c(GreenRequested), Admitted: c(GreenAdmitted), WithinTarget: c(GreenWithinTarget),
			ShareWithinTarget: ratio(c(GreenWithinTarget), c(GreenAdmitted)),
			MedianMinutes:     r.percentile(SampleGreenAdmit, 50), P90Minutes: r.percentile(SampleGreenAdmit, 90)}}
	f.Consults = ConsultFigures{Requested: c(ConsultsRequested), Answered: c(ConsultsAnswered), AnsweredWithin: c(ConsultsWithin),
		ShareWithinDeadline:   ratio(c(ConsultsWithin), c(ConsultsAnswered)),
		MedianResponseMinutes: r.percentile(SampleConsultResponse, 50), P90ResponseMinutes: r.percentile(SampleConsultResponse, 90)}
	f.Visits = VisitFigures{Completed: c(VisitsCompleted), Reports: c(VisitsReports), PatientsSeen: c(PatientsSeen),
		PatientsAdmitted: c(PatientsAdmitted), ProceduresGuided: c(ProceduresGuided), TeachingSessions: c(TeachingSessions)}
	f.Plans = PlanFigures{Started: c(PlansStarted), Completed: c(PlansCompleted), Discontinued: c(PlansDiscontinued), Active: c(GaugePlansActive)}
	f.Adherence = AdherenceFigures{ToleranceDays: ToleranceDays, StepsRecorded: c(StepsRecorded), StepsDone: c(StepsCompleted),
		OnSchedule: c(StepsOnSchedule), Share: ratio(c(StepsOnSchedule), c(StepsRecorded))}
	dev := DeviationFigures{BySeverity: map[string]int64{}, Per100StepsBySeverity: map[string]float64{}}
	sev := slices.Clone(Severities)
	for m := range r.Counters {
		if s, ok := strings.CutPrefix(m, DeviationsPrefix); ok && !slices.Contains(sev, s) {
			sev = append(sev, s)
		}
	}
	sort.Strings(sev)
	for _, s := range sev {
		n := c(DeviationsPrefix + s)
		dev.BySeverity[s] = n
		dev.Total += n
		if p := ratio(100*n, c(StepsRecorded)); p != nil {
			dev.Per100StepsBySeverity[s] = *p
		}
	}
	dev.Per100Steps = ratio(100*dev.Total, c(StepsRecorded))
	f.Deviations = dev
	f.Protocols = ProtocolFigures{Adoptions: c(GaugeAdoptions), AdoptionsOnCurrent: c(GaugeAdoptionsCurrent),
		MembersAdopting: c(GaugeMembersAdopting), MembersOnCurrent: c(GaugeMembersCurrent)}
	buildExtra(r, &f)
	return f
}

// Report is an alliance's report over one period, as of a cut.
type Report struct {
	AllianceID string `json:"allianceId"`
	Period     Period `json:"period"`
	// AsOf is the as-of date when one was asked; Through is the instant the figures run
	// to (exclusive): the period's end, or the end of the as-of day when earlier.
	AsOf    string    `json:"asOf,omitempty"`
	Through time.Time `json:"through"`
	Total   Figures   `json:"total"`
	// Members are the hospitals with figures in the period (members and the lead
	// hospital itself), by hospital id.
	Members []Row `json:"members"`
}

// Row is one hospital's figures.
type Row struct {
	HospitalID string  `json:"hospitalId"`
	Name       string  `json:"name,omitempty"`
	Figures    Figures `json:"figures"`
}

// Query says which report to make.
type Query struct {
	AllianceID string
	Period     Period
	// AsOf is the as-of date as asked ("" for none) and Cut the end of that day.
	AsOf string
	Cut  time.Time
	// Only limits the rows to one hospital ("" for every hospital).
	Only string
	// TotalsOnly leaves every hospital's row out (the alliance's totals alone).
	TotalsOnly bool
}

// Rows reports whether hospital h's row belongs in the query's report.
func (q Query) Rows(h string) bool {
	return h != Total && !q.TotalsOnly && (q.Only == "" || h == q.Only)
}

// Through is the instant the query's figures run to.
func (q Query) Through() time.Time {
	if q.AsOf != "" && q.Cut.Before(q.Period.End) {
		return q.Cut
	}
	return q.Period.End
}

// Assemble builds the report from each scope's sums (Total's included).
func Assemble(q Query, raws map[string]Raw) Report {
	rep := Report{AllianceID: q.AllianceID, Period: q.Period, AsOf: q.AsOf, Through: q.Through(), Members: []Row{}}
	setMemberCurrency(raws)
	rep.Total = Build(raws[Total])
	ids := make([]string, 0, len(raws))
	for h, r := range raws {
		if q.Rows(h) && !r.Empty() {
			ids = append(ids, h)
		}
	}
	sort.Strings(ids)
	for _, h := range ids {
		rep.Members = append(rep.Members, Row{HospitalID: h, Figures: Build(raws[h])})
	}
	return rep
}

// setMemberCurrency sets, in every scope, the members with an adoption and the members
// whose every adoption follows the current version, from each hospital's gauges at the
// report's instant (1 or 0 for a hospital, the count for Total).
func setMemberCurrency(raws map[string]Raw) {
	var adopting, current int64
	for h, r := range raws {
		if h == Total {
			continue
		}
		a, c := r.Counters[GaugeAdoptions], r.Counters[GaugeAdoptionsCurrent]
		if a <= 0 {
			continue
		}
		adopting++
		r.Counters[GaugeMembersAdopting] = 1
		if c == a {
			current++
			r.Counters[GaugeMembersCurrent] = 1
		}
	}
	t := raws[Total]
	if t.Counters == nil {
		t.Counters = map[string]int64{}
	}
	t.Counters[GaugeMembersAdopting], t.Counters[GaugeMembersCurrent] = adopting, current
	raws[Total] = t
}

// mapEntities keeps Derive's state in memory, for Recompute.
type mapEntities map[string][]byte

func (m mapEntities) Get(key string) ([]byte, bool, error) {
	v, ok := m[key]
	return v, ok, nil
}

func (m mapEntities) Put(key string, doc []byte) error {
	m[key] = doc
	return nil
}

// Facts derives every fact of the log, events in log order, with fresh state.
func Facts(events []domain.Event) ([]Fact, error) {
	ents := mapEntities{}
	var out []Fact
	for _, e := range events {
		facts, err := Derive(ents, e)
		if err != nil {
			return nil, err
		}
		out = append(out, facts...)
	}
	return out, nil
}

// Sum makes q's report from facts, summed directly (no buckets).
func Sum(facts []Fact, q Query) Report {
	raws := map[string]Raw{}
	through := q.Through()
	for _, f := range facts {
		if f.Alliance != q.AllianceID || !f.At.Before(through) {
			continue
		}
		if !IsGauge(f.Metric) && f.At.Before(q.Period.Start) {
			continue
		}
		for _, s := range []string{f.Hospital, Total} {
			r := raws[s]
			r.Add(f)
			raws[s] = r
		}
	}
	return Assemble(q, raws)
}

// Recompute makes the report from the log itself: every event in log order, derived
// with fresh state and summed without buckets. It is the reference the incremental views
// must equal.
func Recompute(events []domain.Event, q Query) (Report, error) {
	facts, err := Facts(events)
	if err != nil {
		return Report{}, err
	}
	return Sum(facts, q), nil
}
