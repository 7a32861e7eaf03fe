package report

import "github.com/medalliance/allianced/domain"

// Diagnostic-centre metrics: per kind (ecg, imaging, lab, pathology, ultrasound) the
// studies submitted, reported and reported within the target, and the turnaround of each
// report (from the study's last submission, when its deadline started, to the first
// report version); critical values flagged, acknowledged, acknowledged within their
// acknowledgement time, escalated.
const (
	DiagPrefix           = "diag."
	SampleDiagPrefix     = "s.diag.turnaround."
	CriticalFlagged      = "critical.flagged"
	CriticalAcknowledged = "critical.acknowledged"
	CriticalAckWithin    = "critical.acknowledgedWithinTarget"
	CriticalEscalated    = "critical.escalated"
	diagSubmittedSuffix  = ".submitted"
	diagReportedSuffix   = ".reported"
	diagWithinSuffix     = ".withinTarget"
	diagEntityKeyPrefix  = "diag:"
)

func init() {
	for _, k := range domain.CentreKinds {
		SampleMetrics = append(SampleMetrics, SampleDiagPrefix+k)
	}
}

// DiagnosticFigures are the diagnostic centres' figures of a scope (a member's are the
// studies it sent and the critical values it had to acknowledge).
type DiagnosticFigures struct {
	Kinds    []DiagnosticKind `json:"kinds"`
	Critical CriticalFigures  `json:"criticalValues"`
}

// DiagnosticKind is one kind of study: submitted and reported in the period, the share
// reported within the target, and the exact median and 90th percentile of turnaround.
type DiagnosticKind struct {
	Kind              string   `json:"kind"`
	Submitted         int64    `json:"submitted"`
	Reported          int64    `json:"reported"`
	WithinTarget      int64    `json:"reportedWithinTarget"`
	ShareWithinTarget *float64 `json:"shareWithinTarget"`
	MedianMinutes     *float64 `json:"medianTurnaroundMinutes"`
	P90Minutes        *float64 `json:"p90TurnaroundMinutes"`
}

// CriticalFigures: critical values flagged, acknowledged (and of those within the
// acknowledgement time) and escalated in the period; the share is of the acknowledgements.
type CriticalFigures struct {
	Flagged           int64    `json:"flagged"`
	Acknowledged      int64    `json:"acknowledged"`
	WithinTarget      int64    `json:"acknowledgedWithinTarget"`
	ShareWithinTarget *float64 `json:"shareWithinTarget"`
	Escalated         int64    `json:"escalated"`
}

// diagState is what a study's later facts need of its submission.
type diagState struct {
	Alliance  string `json:"a"`
	Member    string `json:"m"`
	Kind      string `json:"k"`
	Submitted int64  `json:"s"` // Unix seconds of the last (re)submission
	Reported  bool   `json:"r,omitempty"`
}

func diagNeeds(e domain.Event) []string {
	switch ev := e.(type) {
	case domain.DiagnosticSubmitted:
		return []string{diagEntityKeyPrefix + ev.RequestID}
	case domain.DiagnosticResubmitted:
		return []string{diagEntityKeyPrefix + ev.RequestID}
	case domain.DiagnosticReported:
		return []string{diagEntityKeyPrefix + ev.RequestID}
	case domain.CriticalValueFlagged:
		return []string{diagEntityKeyPrefix + ev.RequestID}
	case domain.CriticalValueAcknowledged:
		return []string{diagEntityKeyPrefix + ev.RequestID}
	case domain.CriticalValueEscalated:
		return []string{diagEntityKeyPrefix + ev.RequestID}
	}
	return nil
}

func deriveDiag(ents Entities, e domain.Event) ([]Fact, error) {
	if ev, ok := e.(domain.DiagnosticSubmitted); ok {
		st := diagState{Alliance: ev.AllianceID, Member: ev.FromHospitalID, Kind: ev.Kind, Submitted: ev.SubmittedAt.Unix()}
		return []Fact{counter(ev.AllianceID, ev.FromHospitalID, ev.SubmittedAt, DiagPrefix+ev.Kind+diagSubmittedSuffix, 1)},
			put(ents, diagEntityKeyPrefix+ev.RequestID, st)
	}
	var id string
	switch ev := e.(type) {
	case domain.DiagnosticResubmitted:
		id = ev.RequestID
	case domain.DiagnosticReported:
		id = ev.RequestID
	case domain.CriticalValueFlagged:
		id = ev.RequestID
	case domain.CriticalValueAcknowledged:
		id = ev.RequestID
	case domain.CriticalValueEscalated:
		id = ev.RequestID
	default:
		return nil, nil
	}
	key := diagEntityKeyPrefix + id
	st, err := get[diagState](ents, key)
	if err != nil || st == nil {
		return nil, err
	}
	a, h := st.Alliance, st.Member
	switch ev := e.(type) {
	case domain.DiagnosticResubmitted:
		st.Submitted = ev.ResubmittedAt.Unix()
		return nil, put(ents, key, st)
	case domain.DiagnosticReported:
		if st.Reported {
			return nil, nil
		}
		st.Reported = true
		out := []Fact{counter(a, h, ev.ReportedAt, DiagPrefix+st.Kind+diagReportedSuffix, 1),
			sample(a, h, ev.ReportedAt, SampleDiagPrefix+st.Kind, id, ev.ReportedAt.Unix()-st.Submitted)}
		if ev.WithinTarget {
			out = append(out, counter(a, h, ev.ReportedAt, DiagPrefix+st.Kind+diagWithinSuffix, 1))
		}
		return out, put(ents, key, st)
	case domain.CriticalValueFlagged:
		return []Fact{counter(a, h, ev.FlaggedAt, CriticalFlagged, 1)}, nil
	case domain.CriticalValueAcknowledged:
		out := []Fact{counter(a, h, ev.AcknowledgedAt, CriticalAcknowledged, 1)}
		if ev.WithinTarget {
			out = append(out, counter(a, h, ev.AcknowledgedAt, CriticalAckWithin, 1))
		}
		return out, nil
	case domain.CriticalValueEscalated:
		return []Fact{counter(a, h, ev.EscalatedAt, CriticalEscalated, 1)}, nil
	}
	return nil, nil
}

func buildDiag(r Raw, f *Figures) {
	c := func(m string) int64 { return r.Counters[m] }
	d := &DiagnosticFigures{Kinds: []DiagnosticKind{}}
	for _, k := range domain.CentreKinds {
		dk := DiagnosticKind{Kind: k, Submitted: c(DiagPrefix + k + diagSubmittedSuffix), Reported: c(DiagPrefix + k + diagReportedSuffix),
			WithinTarget: c(DiagPrefix + k + diagWithinSuffix)}
		dk.ShareWithinTarget = ratio(dk.WithinTarget, dk.Reported)
		dk.MedianMinutes, dk.P90Minutes = r.percentile(SampleDiagPrefix+k, 50), r.percentile(SampleDiagPrefix+k, 90)
		d.Kinds = append(d.Kinds, dk)
	}
	d.Critical = CriticalFigures{Flagged: c(CriticalFlagged), Acknowledged: c(CriticalAcknowledged), WithinTarget: c(CriticalAckWithin),
		ShareWithinTarget: ratio(c(CriticalAckWithin), c(CriticalAcknowledged)), Escalated: c(CriticalEscalated)}
	f.Diagnostics = d
}
