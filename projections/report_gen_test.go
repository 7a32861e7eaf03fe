package projections_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// history is a generated alliance history: the lives of referrals, consults, expert
// visits, shared plans and protocol adoptions of one or more alliances over many months,
// with a clock that only moves forward, written to a log with real envelopes and hash
// chains. It is what the report's tests and benchmark project and recompute.
type history struct {
	r      *rand.Rand
	seq    uint64
	events []genEvent
}

// genEvent is one event to append: its stream, time and actor.
type genEvent struct {
	stream string
	at     time.Time
	actor  domain.Actor
	ev     domain.Event
	order  int
}

// histAlliance is one generated alliance.
type histAlliance struct {
	ID, Lead string
	Members  []string
	Protocol string
}

func newHistory(seed int64) *history { return &history{r: rand.New(rand.NewSource(seed))} }

func (h *history) id() string {
	h.seq++
	return ulid.ULID(ulid.MustNew(h.seq, nil)).String()
}

func (h *history) add(stream string, at time.Time, by string, ev domain.Event) {
	h.events = append(h.events, genEvent{stream: stream, at: at.UTC(), actor: domain.Actor{HospitalID: by, Role: "lead"}, ev: ev, order: len(h.events)})
}

func (h *history) minutes(lo, hi int) time.Duration {
	return time.Duration(lo+h.r.Intn(hi-lo+1)) * time.Minute
}

// alliance founds an alliance with members and one protocol whose versions change
// during the history (a second version, later withdrawn), so the currency figures move.
func (h *history) alliance(members int, start, end time.Time) histAlliance {
	a := histAlliance{ID: h.id(), Lead: h.id(), Protocol: h.id()}
	h.add(domain.AllianceStream(a.ID), start, a.Lead, domain.AllianceFounded{AllianceID: a.ID, Name: "联盟", Specialty: "haematology", Kind: "specialist",
		LeadHospitalID: a.Lead, LeadDepartmentID: "haematology", FoundedAt: start})
	for i := range members {
		m := h.id()
		a.Members = append(a.Members, m)
		h.add(domain.AllianceStream(a.ID), start.Add(time.Duration(i)*time.Minute), a.Lead, domain.AllianceMemberAdmitted{AllianceID: a.ID, HospitalID: m, HospitalName: fmt.Sprintf("成员医院%d", i), Tier: "member", AdmittedAt: start})
	}
	pub := start.Add(time.Hour)
	h.add(domain.ProtocolStream(a.Protocol), pub, a.Lead, domain.ProtocolDrafted{ProtocolID: a.Protocol, AllianceID: a.ID, Title: "R-CHOP", LeadHospitalID: a.Lead, LeadDepartmentID: "haematology", DraftedAt: pub})
	h.add(domain.ProtocolStream(a.Protocol), pub, a.Lead, domain.ProtocolVersionPublished{ProtocolID: a.Protocol, AllianceID: a.ID, Version: 1, PublishedAt: pub})
	span := end.Sub(start)
	v2 := start.Add(span / 3)
	h.add(domain.ProtocolStream(a.Protocol), v2, a.Lead, domain.ProtocolVersionPublished{ProtocolID: a.Protocol, AllianceID: a.ID, Version: 2, PublishedAt: v2})
	withdrawn := start.Add(span * 3 / 4)
	h.add(domain.ProtocolStream(a.Protocol), withdrawn, a.Lead, domain.ProtocolVersionWithdrawn{ProtocolID: a.Protocol, AllianceID: a.ID, Version: 2, WithdrawnAt: withdrawn})
	for _, m := range a.Members {
		stream := domain.AdoptionStream(a.Protocol, m)
		at := pub.Add(h.minutes(60, 60*24*20))
		h.add(stream, at, m, domain.ProtocolAdopted{ProtocolID: a.Protocol, AllianceID: a.ID, HospitalID: m, Version: 1, AdoptedAt: at})
		if h.r.Intn(3) > 0 {
			up := v2.Add(h.minutes(60, 60*24*40))
			h.add(stream, up, m, domain.AdoptionUpgraded{ProtocolID: a.Protocol, AllianceID: a.ID, HospitalID: m, FromVersion: 1, ToVersion: 2, UpgradedAt: up})
		} else if h.r.Intn(4) == 0 {
			w := v2.Add(h.minutes(60, 60*24*60))
			h.add(stream, w, m, domain.AdoptionWithdrawn{ProtocolID: a.Protocol, AllianceID: a.ID, HospitalID: m, Version: 1, WithdrawnAt: w})
		}
	}
	return a
}

// day generates one day's activity of an alliance: referrals, consults, visits, plans.
func (h *history) day(a histAlliance, day time.Time, scale int) {
	member := func() string { return a.Members[h.r.Intn(len(a.Members))] }
	at := func() time.Time { return day.Add(h.minutes(0, 24*60-1)) }
	for range h.r.Intn(3 * scale) {
		h.referral(a, member(), at())
	}
	for range h.r.Intn(2 * scale) {
		h.consult(a, member(), at())
	}
	for range h.r.Intn(scale + 1) {
		h.visit(a, member(), at())
	}
	if h.r.Intn(3) == 0 {
		h.plan(a, member(), at())
	}
	if h.r.Intn(6) == 0 {
		h.mentorship(a, member(), at())
	}
	if h.r.Intn(8) == 0 {
		h.placement(a, member(), at())
	}
	for range h.r.Intn(scale + 1) {
		h.diagnostic(a, member(), at())
	}
}

// diagnostic: a study member m sends to the alliance's centre, sent back and resubmitted
// now and then, reported (within the target or late), with a critical value now and then,
// acknowledged in time, late, or escalated first.
func (h *history) diagnostic(a histAlliance, m string, at time.Time) {
	id := h.id()
	s := domain.DiagnosticStream(id)
	kind := domain.CentreKinds[h.r.Intn(len(domain.CentreKinds))]
	target := []time.Duration{30 * time.Minute, 4 * time.Hour, 24 * time.Hour}[h.r.Intn(3)]
	h.add(s, at, m, domain.DiagnosticSubmitted{RequestID: id, AllianceID: a.ID, CentreID: a.Lead, CentreHospitalID: a.Lead, Kind: kind, Urgency: domain.UrgencyUrgent,
		PatientRef: "pr_" + id, FromHospitalID: m, SubmittedAt: at, ReportDeadline: at.Add(target)})
	start := at
	if h.r.Intn(10) == 0 {
		t := at.Add(h.minutes(2, 30))
		h.add(s, t, a.Lead, domain.DiagnosticSentBack{RequestID: id, ReasonCode: "quality", Reason: "导联脱落", SentBackAt: t})
		start = t.Add(h.minutes(5, 60))
		h.add(s, start, m, domain.DiagnosticResubmitted{RequestID: id, ResubmittedAt: start, ReportDeadline: start.Add(target)})
	}
	if h.r.Intn(12) == 0 {
		t := start.Add(h.minutes(1, 20))
		h.add(s, t, m, domain.DiagnosticCancelled{RequestID: id, Reason: "患者离院", CancelledAt: t})
		return
	}
	rep := start.Add(time.Duration(float64(target) * (0.1 + 1.1*h.r.Float64())))
	h.add(s, rep, a.Lead, domain.DiagnosticReported{RequestID: id, Version: 1, Kind: kind, Impression: "报告", WithinTarget: !rep.After(start.Add(target)), ReportedAt: rep})
	if h.r.Intn(6) != 0 {
		return
	}
	h.add(s, rep, a.Lead, domain.CriticalValueFlagged{RequestID: id, Seq: 1, ReportVersion: 1, Finding: "STEMI", FromHospitalID: m, FlaggedAt: rep, AckDeadline: rep.Add(15 * time.Minute)})
	ack := rep.Add(h.minutes(1, 30))
	if ack.After(rep.Add(15 * time.Minute)) {
		h.add(s, rep.Add(15*time.Minute), a.Lead, domain.CriticalValueEscalated{RequestID: id, Seq: 1, HospitalID: m, Channel: "duty-line", AckDeadline: rep.Add(15 * time.Minute), EscalatedAt: rep.Add(15 * time.Minute)})
	}
	h.add(s, ack, m, domain.CriticalValueAcknowledged{RequestID: id, Seq: 1, AcknowledgedBy: "值班医师", WithinTarget: !ack.After(rep.Add(15 * time.Minute)), AcknowledgedAt: ack})
}

// mentorship: an apprentice of member m with sessions, completed or withdrawn (or still
// running).
func (h *history) mentorship(a histAlliance, m string, at time.Time) {
	id := h.id()
	s := domain.MentorshipStream(id)
	h.add(s, at, a.Lead, domain.MentorshipStarted{MentorshipID: id, AllianceID: a.ID, Programme: "师带徒", LeadHospitalID: a.Lead, LeadDepartmentID: "haematology",
		MentorID: h.id(), MentorName: "导师", ApprenticeID: h.id(), ApprenticeName: "学员", ApprenticeHospitalID: m, StartedAt: at})
	t := at
	n := h.r.Intn(6)
	for i := range n {
		t = t.Add(h.minutes(60*24*3, 60*24*20))
		h.add(s, t, a.Lead, domain.MentorshipSessionLogged{MentorshipID: id, AllianceID: a.ID, ApprenticeHospitalID: m, SessionNo: i + 1, Kind: domain.SessionTeachingRound, SessionAt: t, DurationMinutes: 90})
	}
	t = t.Add(h.minutes(60*24, 60*24*30))
	switch h.r.Intn(3) {
	case 0:
		h.add(s, t, a.Lead, domain.MentorshipCompleted{MentorshipID: id, AllianceID: a.ID, ApprenticeHospitalID: m, Sessions: n, CompletedAt: t})
	case 1:
		h.add(s, t, m, domain.MentorshipWithdrawn{MentorshipID: id, AllianceID: a.ID, ApprenticeHospitalID: m, Reason: "调岗", WithdrawnAt: t})
	}
}

// placement: a study placement at the lead or a posting to member m, planned, begun and
// completed, or cancelled before or after it began.
func (h *history) placement(a histAlliance, m string, at time.Time) {
	id := h.id()
	s := domain.PlacementStream(id)
	kind := []string{domain.PlacementStudy, domain.PlacementPosting}[h.r.Intn(2)]
	start := at.Add(h.minutes(60*24, 60*24*20))
	h.add(s, at, a.Lead, domain.PlacementPlanned{PlacementID: id, AllianceID: a.ID, Kind: kind, Programme: "进修", PractitionerID: h.id(), PractitionerName: "医师",
		LeadHospitalID: a.Lead, MemberHospitalID: m, Period: domain.Window{Start: start, End: start.AddDate(0, 3, 0)}, PlannedAt: at})
	if h.r.Intn(6) == 0 {
		t := at.Add(time.Hour)
		h.add(s, t, a.Lead, domain.PlacementCancelled{PlacementID: id, AllianceID: a.ID, MemberHospitalID: m, Reason: "人手不足", CancelledAt: t})
		return
	}
	h.add(s, start, a.Lead, domain.PlacementArrived{PlacementID: id, AllianceID: a.ID, MemberHospitalID: m, ArrivedAt: start})
	end := start.Add(h.minutes(60*24*30, 60*24*100))
	if h.r.Intn(8) == 0 {
		h.add(s, end, a.Lead, domain.PlacementCancelled{PlacementID: id, AllianceID: a.ID, MemberHospitalID: m, Reason: "提前返岗", CancelledAt: end})
		return
	}
	h.add(s, end, a.Lead, domain.PlacementCompleted{PlacementID: id, AllianceID: a.ID, MemberHospitalID: m, CompletedAt: end})
}

func (h *history) referral(a histAlliance, m string, at time.Time) {
	id := h.id()
	s := domain.ReferralStream(id)
	up := h.r.Intn(3) > 0
	dir, from, to := domain.ReferralUp, m, a.Lead
	if !up {
		dir, from, to = domain.ReferralDown, a.Lead, m
	}
	urgency := []string{domain.UrgencyEmergency, domain.UrgencyUrgent, domain.UrgencyRoutine, domain.UrgencyRoutine}[h.r.Intn(4)]
	admitTarget := map[string]time.Duration{domain.UrgencyEmergency: time.Hour, domain.UrgencyUrgent: 24 * time.Hour, domain.UrgencyRoutine: 14 * 24 * time.Hour}[urgency]
	h.add(s, at, from, domain.ReferralRequested{ReferralID: id, AllianceID: a.ID, Direction: dir, FromHospitalID: from, ToHospitalID: to, Urgency: urgency,
		Reason: "转诊", PatientRef: "pr_" + id, RequestedAt: at, AcceptDeadline: at.Add(admitTarget / 6), AdmitDeadline: at.Add(admitTarget)})
	switch h.r.Intn(8) {
	case 0:
		t := at.Add(h.minutes(5, 300))
		h.add(s, t, to, domain.ReferralDeclined{ReferralID: id, Reason: "无床", Alternative: "另转", DeclinedAt: t})
		return
	case 1:
		t := at.Add(h.minutes(5, 300))
		h.add(s, t, from, domain.ReferralCancelled{ReferralID: id, Reason: "家属拒绝", CancelledAt: t})
		return
	}
	acc := at.Add(h.minutes(2, 40))
	h.add(s, acc, to, domain.ReferralAccepted{ReferralID: id, DepartmentID: "haematology", ExpectedArrival: acc.Add(time.Hour), AcceptedAt: acc})
	arr := acc.Add(h.minutes(5, 60))
	h.add(s, arr, to, domain.ReferralArrived{ReferralID: id, ArrivedAt: arr})
	adm := arr.Add(h.minutes(3, 90))
	if urgency != domain.UrgencyEmergency {
		adm = arr.Add(h.minutes(30, 60*48))
	}
	h.add(s, adm, to, domain.ReferralAdmitted{ReferralID: id, AdmittedAt: adm, WithinTarget: !adm.After(at.Add(admitTarget))})
}

func (h *history) consult(a histAlliance, m string, at time.Time) {
	id := h.id()
	s := domain.ConsultStream(id)
	deadline := at.Add([]time.Duration{30 * time.Minute, 4 * time.Hour, 48 * time.Hour}[h.r.Intn(3)])
	h.add(s, at, m, domain.ConsultRequested{ConsultID: id, AllianceID: a.ID, RequestingHospitalID: m, LeadHospitalID: a.Lead, LeadDepartmentID: "haematology",
		Urgency: domain.UrgencyUrgent, Question: "?", PatientRef: "pr_" + id, RequestedAt: at, Deadline: deadline})
	if h.r.Intn(10) == 0 {
		return // still open
	}
	acc := at.Add(h.minutes(1, 30))
	h.add(s, acc, a.Lead, domain.ConsultAccepted{ConsultID: id, AcceptedAt: acc})
	given := acc.Add(h.minutes(5, 60*30))
	h.add(s, given, a.Lead, domain.ConsultOpinionGiven{ConsultID: id, Opinion: domain.Opinion{Text: "意见"}, WithinDeadline: !given.After(deadline), GivenAt: given})
}

func (h *history) visit(a histAlliance, m string, at time.Time) {
	id := h.id()
	s := domain.DispatchStream(id)
	h.add(s, at, m, domain.DispatchRequested{DispatchID: id, AllianceID: a.ID, RequestingHospitalID: m, LeadHospitalID: a.Lead, LeadDepartmentID: "haematology",
		Kind: "clinic", Specialty: "haematology", RequestedAt: at})
	if h.r.Intn(6) == 0 {
		return
	}
	ci := at.Add(h.minutes(60*24, 60*24*10))
	h.add(s, ci, a.Lead, domain.ExpertCheckedIn{DispatchID: id, CheckedInAt: ci})
	t := ci
	for range 1 + h.r.Intn(2) {
		t = t.Add(h.minutes(60, 600))
		h.add(s, t, a.Lead, domain.DispatchVisitReported{DispatchID: id, Report: domain.VisitReport{PatientsSeen: 5 + h.r.Intn(40), PatientsAdmitted: h.r.Intn(5), ProceduresGuided: h.r.Intn(4), TeachingSessions: h.r.Intn(3)}, ReportedAt: t})
	}
	t = t.Add(h.minutes(10, 120))
	h.add(s, t, a.Lead, domain.DispatchCompleted{DispatchID: id, CompletedAt: t})
}

func (h *history) plan(a histAlliance, m string, at time.Time) {
	id := h.id()
	s := domain.PlanStream(id)
	start := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	var steps []domain.PlanStep
	for i := range 6 {
		off := i * 21
		steps = append(steps, domain.PlanStep{StepID: fmt.Sprintf("c%d", i+1), DayOffset: off, DueDate: start.AddDate(0, 0, off), Activity: "infusion", Status: domain.StepStatusPending})
	}
	h.add(s, at, a.Lead, domain.PlanInitiated{PlanID: id, AllianceID: a.ID, ProtocolID: a.Protocol, ProtocolVersion: 1, PatientRef: "pr_" + id, StartDate: start,
		LeadHospitalID: a.Lead, LeadDepartmentID: "haematology", Steps: steps, At: at})
	ho := at.Add(h.minutes(10, 300))
	h.add(s, ho, a.Lead, domain.PlanHandedOver{PlanID: id, FromHospitalID: a.Lead, ToHospitalID: m, AdoptedVersion: 1, At: ho})
	holder := m
	last := ho
	if h.r.Intn(4) == 0 { // the lead moves cycle 4 a week later
		rev := ho.Add(h.minutes(60, 60*24*30))
		h.add(s, rev, a.Lead, domain.PlanRevised{PlanID: id, Revision: 1, Reason: "中性粒细胞减少", FromVersion: 1, ToVersion: 1,
			Changes: []domain.PlanStepChange{{Action: domain.PlanChangeModify, StepID: "c4", DayOffset: 70, Activity: "infusion"}}, At: rev})
		last = rev
	}
	due := map[string]int{"c1": 0, "c2": 21, "c3": 42, "c4": 63, "c5": 84, "c6": 105}
	if last != ho {
		due["c4"] = 70
	}
	stop := 2 + h.r.Intn(5)
	for i := range stop {
		step := fmt.Sprintf("c%d", i+1)
		t := start.AddDate(0, 0, due[step]).Add(h.minutes(8*60, 20*60)).Add(time.Duration(h.r.Intn(5)-1) * 24 * time.Hour)
		if !t.After(last) {
			t = last.Add(time.Hour)
		}
		if h.r.Intn(10) == 0 {
			h.add(s, t, holder, domain.PlanStepSkipped{PlanID: id, StepID: step, HospitalID: holder, Reason: "血象低", At: t})
		} else {
			h.add(s, t, holder, domain.PlanStepCompleted{PlanID: id, StepID: step, HospitalID: holder, At: t})
		}
		last = t
		if h.r.Intn(8) == 0 {
			t = t.Add(time.Hour)
			h.add(s, t, holder, domain.PlanDeviationReported{PlanID: id, DeviationID: h.id(), StepID: step, Description: "减量", Severity: []string{"minor", "minor", "major"}[h.r.Intn(3)], HospitalID: holder, At: t})
			last = t
		}
		if holder == m && h.r.Intn(15) == 0 {
			t = t.Add(time.Hour)
			h.add(s, t, holder, domain.PlanEscalated{PlanID: id, FromHospitalID: m, ToHospitalID: a.Lead, Reason: "发热", Urgent: true, At: t})
			holder, last = a.Lead, t
		}
	}
	end := last.Add(h.minutes(60, 60*24*5))
	switch {
	case stop == 6:
		h.add(s, end, a.Lead, domain.PlanCompleted{PlanID: id, At: end})
	case h.r.Intn(2) == 0:
		h.add(s, end, a.Lead, domain.PlanDiscontinued{PlanID: id, Reason: "进展", At: end})
	}
}

// sorted returns the events in time order (ties in generation order), as a real clock
// would have recorded them.
func (h *history) sorted() []genEvent {
	evs := slices.Clone(h.events)
	slices.SortStableFunc(evs, func(a, b genEvent) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.order, b.order)
	})
	return evs
}

// write appends evs to store, one event per append, with envelopes chained per stream.
func writeHistory(store *memStore, evs []genEvent) error {
	type tip struct {
		n    uint64
		hash string
	}
	tips := map[string]tip{}
	for i, g := range evs {
		typ, schema, payload, err := domain.EncodeEvent(g.ev)
		if err != nil {
			return err
		}
		t := tips[g.stream]
		id := ulid.ULID(ulid.MustNew(uint64(i+1), nil))
		env := domain.Envelope{EventID: id, Type: typ, SchemaVersion: schema, Stream: g.stream, StreamVersion: t.n, OccurredAt: g.at, Actor: g.actor, PrevHash: t.hash}
		md, err := json.Marshal(env)
		if err != nil {
			return err
		}
		expected := eventstore.NoStream()
		if t.n > 0 {
			expected = eventstore.Exact(t.n - 1)
		}
		if _, err := store.Append(context.Background(), g.stream, expected, []eventstore.EventData{{ID: id, Type: typ, Data: payload, Metadata: md}}); err != nil {
			return err
		}
		tips[g.stream] = tip{t.n + 1, eventstore.ChainHash(md, payload)}
	}
	return nil
}
