package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// Keys of the diagnostic-centre views (影像/心电/检验/病理/超声 中心):
//
//	centre:<c>                            the centre's document: readers and roster (JSON)
//	alliance:<a>:centres                  hash: centre id -> the centre's document
//	centre:<c>:turnaround                 the centre's turnaround and critical-value figures (JSON)
//	diagnostic:<id>                       the study's document with its report (JSON)
//	centre:<c>:studies                    hash: id -> the document, for every study the centre received
//	centre:<c>:rows                       hash: id -> the study's worklist row (no report, no attachments)
//	centre:<c>:worklist                   sorted set: waiting studies by urgency, then report deadline
//	centre:<c>:reader:<r>:worklist        sorted set: the studies assigned to a reader, same order
//	centre:<c>:critical-board             sorted set: studies with a critical value still pending, by its deadline
//	hospital:<h>:diagnostics              hash: id -> the document, for every study h sent
//	hospital:<h>:critical-inbox           sorted set: h's studies with a critical value pending, by its deadline
func (k keyspace) centre(id string) string          { return k.root() + "centre:" + id }
func (k keyspace) allianceCentres(a string) string  { return k.root() + "alliance:" + a + ":centres" }
func (k keyspace) centreTurnaround(c string) string { return k.root() + "centre:" + c + ":turnaround" }
func (k keyspace) diagnostic(id string) string      { return k.root() + "diagnostic:" + id }
func (k keyspace) centreStudies(c string) string    { return k.root() + "centre:" + c + ":studies" }
func (k keyspace) centreWorklist(c string) string   { return k.root() + "centre:" + c + ":worklist" }
func (k keyspace) centreRows(c string) string       { return k.root() + "centre:" + c + ":rows" }
func (k keyspace) centreCritical(c string) string {
	return k.root() + "centre:" + c + ":critical-board"
}
func (k keyspace) hospitalDiagnostics(h string) string {
	return k.root() + "hospital:" + h + ":diagnostics"
}
func (k keyspace) criticalInbox(h string) string {
	return k.root() + "hospital:" + h + ":critical-inbox"
}
func (k keyspace) readerWorklist(c, r string) string {
	return k.root() + "centre:" + c + ":reader:" + r + ":worklist"
}

func centreRef(ks keyspace, id string) docRef         { return docRef{ks.centre(id), ""} }
func diagnosticRef(ks keyspace, id string) docRef     { return docRef{ks.diagnostic(id), ""} }
func turnaroundRef(ks keyspace, centre string) docRef { return docRef{ks.centreTurnaround(centre), ""} }

// CentreView is a centre with its readers and duty roster.
type CentreView struct {
	CentreID           string                `json:"centreId"`
	AllianceID         string                `json:"allianceId"`
	Kind               string                `json:"kind"`
	Name               string                `json:"name"`
	OperatorHospitalID string                `json:"operatorHospitalId"`
	DepartmentID       string                `json:"departmentId"`
	Readers            []domain.CentreReader `json:"readers"`
	Roster             []domain.Shift        `json:"roster"`
	Template           []string              `json:"reportTemplate"`
	OpenedAt           time.Time             `json:"openedAt"`
	Version            uint64                `json:"version"`
	Position           eventstore.Position   `json:"position"`
}

// DiagnosticView is one study as the requesting hospital and the centre see it: the
// request, where it stands, the current report version (with the versions before it)
// and its critical values. Overdue flags are computed at read time.
type DiagnosticView struct {
	RequestID          string                   `json:"requestId"`
	AllianceID         string                   `json:"allianceId"`
	CentreID           string                   `json:"centreId"`
	CentreHospitalID   string                   `json:"centreHospitalId"`
	CentreDepartmentID string                   `json:"centreDepartmentId"`
	Kind               string                   `json:"kind"`
	Modality           string                   `json:"modality"`
	ClinicalQuestion   string                   `json:"clinicalQuestion"`
	Urgency            string                   `json:"urgency"`
	PatientRef         string                   `json:"patientRef"`
	FromHospitalID     string                   `json:"fromHospitalId"`
	FromDepartmentID   string                   `json:"fromDepartmentId,omitempty"`
	Attachments        []domain.StudyAttachment `json:"attachments,omitempty"`
	Status             string                   `json:"status"`
	SubmittedAt        time.Time                `json:"submittedAt"`
	// LastSubmittedAt is the latest (re)submission: the centre's turnaround counts from it.
	LastSubmittedAt time.Time  `json:"lastSubmittedAt"`
	ReportDeadline  time.Time  `json:"reportDeadline"`
	ReaderID        string     `json:"readerId,omitempty"`
	ReaderName      string     `json:"readerName,omitempty"`
	AssignedAt      *time.Time `json:"assignedAt,omitempty"`
	// SentBack is the latest quality-control return, kept after a resubmission.
	SentBack  *SentBackView  `json:"sentBack,omitempty"`
	SendBacks int            `json:"sendBacks"`
	Report    *domain.Report `json:"report,omitempty"`
	// Versions lists every published report version, the first one first.
	Versions   []ReportVersionView    `json:"versions,omitempty"`
	ReportedAt *time.Time             `json:"reportedAt,omitempty"`
	Criticals  []domain.CriticalValue `json:"criticalValues,omitempty"`
	// TurnaroundMinutes is (latest) submission -> first report.
	TurnaroundMinutes *float64            `json:"turnaroundMinutes,omitempty"`
	WithinTarget      *bool               `json:"withinTarget,omitempty"`
	CancelledAt       *time.Time          `json:"cancelledAt,omitempty"`
	CancelReason      string              `json:"cancelReason,omitempty"`
	Overdue           bool                `json:"overdue"`
	CriticalOverdue   bool                `json:"criticalOverdue"`
	Version           uint64              `json:"version"`
	Position          eventstore.Position `json:"position"`

	// staleReaders are readers the study was assigned to before this batch's changes,
	// whose worklists the flush removes it from.
	staleReaders []string
}

// SentBackView is a quality-control return.
type SentBackView struct {
	ReasonCode string    `json:"reasonCode"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// ReportVersionView is one published version of a report: when, by whom, and why.
type ReportVersionView struct {
	Version    int       `json:"version"`
	ReaderID   string    `json:"readerId"`
	At         time.Time `json:"at"`
	Reason     string    `json:"reason,omitempty"`
	Impression string    `json:"impression"`
}

// flag sets the overdue flags at now with the domain's rules.
func (d *DiagnosticView) flag(now time.Time) {
	s := domain.Diagnostic{Status: d.Status, ReportDeadline: d.ReportDeadline}
	d.Overdue = s.Overdue(now)
	d.CriticalOverdue = false
	for _, c := range d.Criticals {
		if c.Pending() && now.After(c.AckDeadline) {
			d.CriticalOverdue = true
		}
	}
}

// pendingCriticalDeadline returns the earliest acknowledgement deadline of a pending
// critical value, and false when none is pending.
func (d *DiagnosticView) pendingCriticalDeadline() (time.Time, bool) {
	var at time.Time
	for _, c := range d.Criticals {
		if c.Pending() && (at.IsZero() || c.AckDeadline.Before(at)) {
			at = c.AckDeadline
		}
	}
	return at, !at.IsZero()
}

func (d *DiagnosticView) open() bool {
	return d.Status == domain.DiagnosticStatusSubmitted || d.Status == domain.DiagnosticStatusAssigned
}

func (d *DiagnosticView) worklistScore() float64 {
	return float64(int64(urgencyRank(d.Urgency))*rankSpan + d.ReportDeadline.UnixMilli())
}

// WorklistRow is a study as a worklist shows it: what to read, for whom, by when, and
// who reads it; the report and attachments are in the study's own document. Rows are
// kept apart so a page of a long worklist stays small to read and send.
type WorklistRow struct {
	RequestID        string     `json:"requestId"`
	Kind             string     `json:"kind"`
	Modality         string     `json:"modality"`
	ClinicalQuestion string     `json:"clinicalQuestion"`
	Urgency          string     `json:"urgency"`
	FromHospitalID   string     `json:"fromHospitalId"`
	FromDepartmentID string     `json:"fromDepartmentId,omitempty"`
	Status           string     `json:"status"`
	SubmittedAt      time.Time  `json:"submittedAt"`
	ReportDeadline   time.Time  `json:"reportDeadline"`
	ReaderID         string     `json:"readerId,omitempty"`
	ReaderName       string     `json:"readerName,omitempty"`
	AssignedAt       *time.Time `json:"assignedAt,omitempty"`
	Attachments      int        `json:"attachments"`
	SendBacks        int        `json:"sendBacks"`
	Overdue          bool       `json:"overdue"`
}

func (d *DiagnosticView) row() WorklistRow {
	return WorklistRow{RequestID: d.RequestID, Kind: d.Kind, Modality: d.Modality, ClinicalQuestion: d.ClinicalQuestion, Urgency: d.Urgency,
		FromHospitalID: d.FromHospitalID, FromDepartmentID: d.FromDepartmentID, Status: d.Status, SubmittedAt: d.LastSubmittedAt,
		ReportDeadline: d.ReportDeadline, ReaderID: d.ReaderID, ReaderName: d.ReaderName, AssignedAt: d.AssignedAt,
		Attachments: len(d.Attachments), SendBacks: d.SendBacks}
}

// flushDiagnostic writes the document, its rows in the centre's and the requesting
// hospital's lists, and keeps the worklists, the critical board and the inbox in step.
func (ks keyspace) flushDiagnostic(pipe redis.Pipeliner, ref docRef, val any) error {
	d := val.(*DiagnosticView)
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode diagnostic view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	pipe.HSet(ctx, ks.centreStudies(d.CentreID), d.RequestID, data)
	row, err := json.Marshal(d.row())
	if err != nil {
		return fmt.Errorf("encode worklist row: %w", err)
	}
	pipe.HSet(ctx, ks.centreRows(d.CentreID), d.RequestID, row)
	pipe.HSet(ctx, ks.hospitalDiagnostics(d.FromHospitalID), d.RequestID, data)
	for _, r := range d.staleReaders {
		if r != d.ReaderID || !d.open() {
			pipe.ZRem(ctx, ks.readerWorklist(d.CentreID, r), d.RequestID)
		}
	}
	if d.open() {
		pipe.ZAdd(ctx, ks.centreWorklist(d.CentreID), redis.Z{Score: d.worklistScore(), Member: d.RequestID})
		if d.ReaderID != "" {
			pipe.ZAdd(ctx, ks.readerWorklist(d.CentreID, d.ReaderID), redis.Z{Score: d.worklistScore(), Member: d.RequestID})
		}
	} else {
		pipe.ZRem(ctx, ks.centreWorklist(d.CentreID), d.RequestID)
		if d.ReaderID != "" {
			pipe.ZRem(ctx, ks.readerWorklist(d.CentreID, d.ReaderID), d.RequestID)
		}
	}
	if at, ok := d.pendingCriticalDeadline(); ok {
		z := redis.Z{Score: float64(at.UnixMilli()), Member: d.RequestID}
		pipe.ZAdd(ctx, ks.centreCritical(d.CentreID), z)
		pipe.ZAdd(ctx, ks.criticalInbox(d.FromHospitalID), z)
	} else if len(d.Criticals) > 0 {
		pipe.ZRem(ctx, ks.centreCritical(d.CentreID), d.RequestID)
		pipe.ZRem(ctx, ks.criticalInbox(d.FromHospitalID), d.RequestID)
	}
	return nil
}

// flushCentre writes the centre and its row in the alliance's list.
func (ks keyspace) flushCentre(pipe redis.Pipeliner, ref docRef, val any) error {
	c := val.(*CentreView)
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode centre view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	pipe.HSet(ctx, ks.allianceCentres(c.AllianceID), c.CentreID, data)
	return nil
}

// diagnosticNeeds lists the document an event of the centre or diagnostic aggregates
// changes first (the turnaround document is found through the study).
func diagnosticNeeds(ks keyspace, e domain.Event) []docRef {
	if id, ok := centreIDOf(e); ok {
		return []docRef{centreRef(ks, id)}
	}
	if id, ok := diagnosticIDOf(e); ok {
		return []docRef{diagnosticRef(ks, id)}
	}
	return nil
}

func centreIDOf(e domain.Event) (string, bool) {
	switch ev := e.(type) {
	case domain.CentreOpened:
		return ev.CentreID, true
	case domain.CentreReaderAdded:
		return ev.CentreID, true
	case domain.CentreReaderRemoved:
		return ev.CentreID, true
	case domain.CentreShiftScheduled:
		return ev.CentreID, true
	case domain.CentreShiftCancelled:
		return ev.CentreID, true
	}
	return "", false
}

func diagnosticIDOf(e domain.Event) (string, bool) {
	switch ev := e.(type) {
	case domain.DiagnosticSubmitted:
		return ev.RequestID, true
	case domain.DiagnosticRouted:
		return ev.RequestID, true
	case domain.DiagnosticClaimed:
		return ev.RequestID, true
	case domain.DiagnosticSentBack:
		return ev.RequestID, true
	case domain.DiagnosticResubmitted:
		return ev.RequestID, true
	case domain.DiagnosticReported:
		return ev.RequestID, true
	case domain.DiagnosticAmended:
		return ev.RequestID, true
	case domain.DiagnosticCancelled:
		return ev.RequestID, true
	case domain.CriticalValueFlagged:
		return ev.RequestID, true
	case domain.CriticalValueAcknowledged:
		return ev.RequestID, true
	case domain.CriticalValueEscalated:
		return ev.RequestID, true
	case domain.DiagnosticReferred:
		return ev.RequestID, true
	}
	return "", false
}

// isDiagnosticEvent reports whether the views of this file apply e.
func isDiagnosticEvent(e domain.Event) bool {
	_, c := centreIDOf(e)
	_, d := diagnosticIDOf(e)
	return c || d
}

func applyDiagnosticViews(b *batch, e event) error {
	if _, ok := centreIDOf(e.ev); ok {
		return applyCentre(b, e)
	}
	return applyDiagnostic(b, e)
}

func applyCentre(b *batch, e event) error {
	if ev, ok := e.ev.(domain.CentreOpened); ok {
		c := &CentreView{CentreID: ev.CentreID, AllianceID: ev.AllianceID, Kind: ev.Kind, Name: ev.Name,
			OperatorHospitalID: ev.OperatorHospitalID, DepartmentID: ev.DepartmentID, Readers: []domain.CentreReader{},
			Roster: []domain.Shift{}, Template: slices.Clone(domain.ReportTemplates[ev.Kind]), OpenedAt: ev.OpenedAt.UTC(), Version: e.ver, Position: e.pos}
		if c.Template == nil {
			c.Template = []string{}
		}
		return b.put(centreRef(b.ks, ev.CentreID), c, b.ks.flushCentre)
	}
	id, _ := centreIDOf(e.ev)
	ref := centreRef(b.ks, id)
	c, err := getDoc[CentreView](b, ref)
	if err != nil || c == nil {
		return err
	}
	// The domain's own fold keeps the roster rules (retention, removed readers) in one place.
	st := domain.Centre{ID: c.CentreID, Readers: c.Readers, Shifts: c.Roster}.Evolve(e.ev)
	c.Readers, c.Roster = st.Readers, st.Shifts
	if c.Readers == nil {
		c.Readers = []domain.CentreReader{}
	}
	if c.Roster == nil {
		c.Roster = []domain.Shift{}
	}
	c.Version, c.Position = e.ver, e.pos
	return b.put(ref, c, b.ks.flushCentre)
}

func applyDiagnostic(b *batch, e event) error {
	if ev, ok := e.ev.(domain.DiagnosticSubmitted); ok {
		d := &DiagnosticView{RequestID: ev.RequestID, AllianceID: ev.AllianceID, CentreID: ev.CentreID, CentreHospitalID: ev.CentreHospitalID,
			CentreDepartmentID: ev.CentreDepartmentID, Kind: ev.Kind, Modality: ev.Modality, ClinicalQuestion: ev.ClinicalQuestion,
			Urgency: ev.Urgency, PatientRef: ev.PatientRef, FromHospitalID: ev.FromHospitalID, FromDepartmentID: ev.FromDepartmentID,
			Attachments: slices.Clone(ev.Attachments), Status: domain.DiagnosticStatusSubmitted, SubmittedAt: ev.SubmittedAt.UTC(),
			LastSubmittedAt: ev.SubmittedAt.UTC(), ReportDeadline: ev.ReportDeadline.UTC(), Version: e.ver, Position: e.pos}
		return b.put(diagnosticRef(b.ks, ev.RequestID), d, b.ks.flushDiagnostic)
	}
	id, _ := diagnosticIDOf(e.ev)
	ref := diagnosticRef(b.ks, id)
	d, err := getDoc[DiagnosticView](b, ref)
	if err != nil || d == nil {
		return err
	}
	assign := func(reader, name string, at time.Time) {
		if d.ReaderID != "" {
			d.staleReaders = append(d.staleReaders, d.ReaderID)
		}
		d.Status, d.ReaderID, d.ReaderName, d.AssignedAt = domain.DiagnosticStatusAssigned, reader, name, timePtr(at.UTC())
	}
	switch ev := e.ev.(type) {
	case domain.DiagnosticRouted:
		assign(ev.ReaderID, ev.ReaderName, ev.RoutedAt)
	case domain.DiagnosticClaimed:
		assign(ev.ReaderID, ev.ReaderName, ev.ClaimedAt)
	case domain.DiagnosticSentBack:
		if d.ReaderID != "" {
			d.staleReaders = append(d.staleReaders, d.ReaderID)
		}
		d.Status, d.ReaderID, d.ReaderName, d.AssignedAt = domain.DiagnosticStatusSentBack, "", "", nil
		d.SentBack, d.SendBacks = &SentBackView{ReasonCode: ev.ReasonCode, Reason: ev.Reason, At: ev.SentBackAt.UTC()}, d.SendBacks+1
	case domain.DiagnosticResubmitted:
		d.Status, d.LastSubmittedAt, d.ReportDeadline = domain.DiagnosticStatusSubmitted, ev.ResubmittedAt.UTC(), ev.ReportDeadline.UTC()
		if len(ev.Attachments) > 0 {
			d.Attachments = slices.Clone(ev.Attachments)
		}
	case domain.DiagnosticReported:
		d.Status, d.ReportedAt = domain.DiagnosticStatusReported, timePtr(ev.ReportedAt.UTC())
		d.Report = &domain.Report{Version: ev.Version, ReaderID: ev.ReaderID, ReaderName: ev.ReaderName, Findings: slices.Clone(ev.Findings),
			Impression: ev.Impression, ReportedAt: ev.ReportedAt.UTC()}
		d.Versions = append(d.Versions, ReportVersionView{Version: ev.Version, ReaderID: ev.ReaderID, At: ev.ReportedAt.UTC(), Impression: ev.Impression})
		d.TurnaroundMinutes, d.WithinTarget = minutes(ev.ReportedAt.Sub(d.LastSubmittedAt)), &ev.WithinTarget
		if err := updateTurnaround(b, d.CentreID, func(t *TurnaroundView) { t.reported(d, ev) }); err != nil {
			return err
		}
	case domain.DiagnosticAmended:
		r := domain.Report{ReportedAt: ev.AmendedAt.UTC()}
		if d.Report != nil {
			r = *d.Report
		}
		r.Version, r.ReaderID, r.ReaderName, r.Findings, r.Impression, r.AmendedAt, r.Reason =
			ev.Version, ev.ReaderID, ev.ReaderName, slices.Clone(ev.Findings), ev.Impression, ev.AmendedAt.UTC(), ev.Reason
		d.Report = &r
		d.Versions = append(d.Versions, ReportVersionView{Version: ev.Version, ReaderID: ev.ReaderID, At: ev.AmendedAt.UTC(), Reason: ev.Reason, Impression: ev.Impression})
		if err := updateTurnaround(b, d.CentreID, func(t *TurnaroundView) { t.Amended++ }); err != nil {
			return err
		}
	case domain.DiagnosticCancelled:
		if d.ReaderID != "" {
			d.staleReaders = append(d.staleReaders, d.ReaderID)
		}
		d.Status, d.CancelledAt, d.CancelReason = domain.DiagnosticStatusCancelled, timePtr(ev.CancelledAt.UTC()), ev.Reason
	case domain.CriticalValueFlagged:
		d.Criticals = append(d.Criticals, domain.CriticalValue{Seq: ev.Seq, ReportVersion: ev.ReportVersion, Finding: ev.Finding,
			Status: domain.CriticalFlagged, FlaggedAt: ev.FlaggedAt.UTC(), AckDeadline: ev.AckDeadline.UTC()})
		if err := updateTurnaround(b, d.CentreID, func(t *TurnaroundView) { t.Critical.Flagged++ }); err != nil {
			return err
		}
	case domain.CriticalValueAcknowledged:
		if c := criticalOf(d, ev.Seq); c != nil {
			c.Status, c.AcknowledgedAt, c.AcknowledgedBy = domain.CriticalAcknowledged, ev.AcknowledgedAt.UTC(), ev.AcknowledgedBy
			mins := ev.AcknowledgedAt.Sub(c.FlaggedAt).Minutes()
			if err := updateTurnaround(b, d.CentreID, func(t *TurnaroundView) { t.Critical.acknowledged(mins, ev.WithinTarget) }); err != nil {
				return err
			}
		}
	case domain.CriticalValueEscalated:
		if c := criticalOf(d, ev.Seq); c != nil {
			c.Status, c.EscalatedAt, c.EscalatedTo = domain.CriticalEscalated, ev.EscalatedAt.UTC(), ev.Channel
			if err := updateTurnaround(b, d.CentreID, func(t *TurnaroundView) { t.Critical.Escalated++ }); err != nil {
				return err
			}
		}
	case domain.DiagnosticReferred:
		if c := criticalOf(d, ev.Seq); c != nil {
			c.ReferralID = ev.ReferralID
		}
	}
	d.Version, d.Position = e.ver, e.pos
	return b.put(ref, d, b.ks.flushDiagnostic)
}

func criticalOf(d *DiagnosticView, seq int) *domain.CriticalValue {
	if seq < 1 || seq > len(d.Criticals) {
		return nil
	}
	return &d.Criticals[seq-1]
}

// TurnaroundView is a centre's statistics (统计): reports per urgency with their
// turnaround against target, amendments, send-backs, and the critical values' figures.
// Kept as running sums by the projector, so reading it costs one GET.
type TurnaroundView struct {
	CentreID  string                        `json:"centreId"`
	Reported  int                           `json:"reported"`
	Amended   int                           `json:"amended"`
	ByUrgency map[string]*TurnaroundFigures `json:"byUrgency"`
	Critical  CriticalFigures               `json:"criticalValues"`
}

// TurnaroundFigures are the reports of one urgency.
type TurnaroundFigures struct {
	Reported      int     `json:"reported"`
	WithinTarget  int     `json:"withinTarget"`
	SumMinutes    float64 `json:"sumMinutes"`
	MaxMinutes    float64 `json:"maxMinutes"`
	MeanMinutes   float64 `json:"meanMinutes"`
	WithinPercent float64 `json:"withinTargetPercent"`
}

// CriticalFigures are a centre's critical values: flagged, acknowledged (within the
// time or not), escalated, and flag -> acknowledgement in minutes.
type CriticalFigures struct {
	Flagged           int     `json:"flagged"`
	Acknowledged      int     `json:"acknowledged"`
	AckWithinTarget   int     `json:"acknowledgedWithinTarget"`
	Escalated         int     `json:"escalated"`
	SumAckMinutes     float64 `json:"sumAckMinutes"`
	MaxAckMinutes     float64 `json:"maxAckMinutes"`
	MeanAckMinutes    float64 `json:"meanAckMinutes"`
	WithinTargetRatio float64 `json:"acknowledgedWithinTargetPercent"`
}

func (t *TurnaroundView) reported(d *DiagnosticView, ev domain.DiagnosticReported) {
	t.Reported++
	if t.ByUrgency == nil {
		t.ByUrgency = map[string]*TurnaroundFigures{}
	}
	f := t.ByUrgency[d.Urgency]
	if f == nil {
		f = &TurnaroundFigures{}
		t.ByUrgency[d.Urgency] = f
	}
	m := ev.ReportedAt.Sub(d.LastSubmittedAt).Minutes()
	f.Reported++
	f.SumMinutes += m
	f.MaxMinutes = max(f.MaxMinutes, m)
	if ev.WithinTarget {
		f.WithinTarget++
	}
	f.MeanMinutes, f.WithinPercent = f.SumMinutes/float64(f.Reported), 100*float64(f.WithinTarget)/float64(f.Reported)
}

func (c *CriticalFigures) acknowledged(mins float64, within bool) {
	c.Acknowledged++
	c.SumAckMinutes += mins
	c.MaxAckMinutes = max(c.MaxAckMinutes, mins)
	if within {
		c.AckWithinTarget++
	}
	c.MeanAckMinutes, c.WithinTargetRatio = c.SumAckMinutes/float64(c.Acknowledged), 100*float64(c.AckWithinTarget)/float64(c.Acknowledged)
}

func updateTurnaround(b *batch, centreID string, f func(*TurnaroundView)) error {
	ref := turnaroundRef(b.ks, centreID)
	t, err := getDoc[TurnaroundView](b, ref)
	if err != nil {
		return err
	}
	if t == nil {
		t = &TurnaroundView{CentreID: centreID, ByUrgency: map[string]*TurnaroundFigures{}}
	}
	f(t)
	return putDoc(b, ref, t)
}

// Worklist is a page of a centre's (or one reader's) waiting studies, emergency first,
// then by report deadline, with overdue flags at the read's instant and the counts of
// the whole queue, read in one round trip like the referral desk.
type Worklist struct {
	CentreID string        `json:"centreId"`
	ReaderID string        `json:"readerId,omitempty"`
	Open     int64         `json:"open"`
	Overdue  int64         `json:"overdue"`
	Studies  []WorklistRow `json:"studies"`
}

// CentreWorklist returns the first limit (1..MaxDeskPage) waiting studies of a centre.
func (q *Queries) CentreWorklist(ctx context.Context, centreID string, limit int, minPos eventstore.Position) (Worklist, error) {
	return q.worklist(ctx, centreID, "", limit, minPos)
}

// ReaderWorklist returns the first limit studies assigned to a reader of a centre.
func (q *Queries) ReaderWorklist(ctx context.Context, centreID, readerID string, limit int, minPos eventstore.Position) (Worklist, error) {
	return q.worklist(ctx, centreID, readerID, limit, minPos)
}

func (q *Queries) worklist(ctx context.Context, centreID, readerID string, limit int, minPos eventstore.Position) (Worklist, error) {
	if limit <= 0 || limit > MaxDeskPage {
		limit = 100
	}
	out := Worklist{CentreID: centreID, ReaderID: readerID}
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		queue := ks.centreWorklist(centreID)
		if readerID != "" {
			queue = ks.readerWorklist(centreID, readerID)
		}
		page := pipe.Eval(ctx, deskPageScript, []string{queue, ks.centreRows(centreID)}, limit-1)
		total := pipe.ZCard(ctx, queue)
		var overdue []*redis.IntCmd
		for rank := range 3 {
			lo := int64(rank) * rankSpan
			overdue = append(overdue, pipe.ZCount(ctx, queue, strconv.FormatInt(lo, 10), "("+strconv.FormatInt(lo+now.UnixMilli(), 10)))
		}
		return func() error {
			docs, err := pageRows(page, ks.centreRows(centreID), now)
			if err != nil {
				return err
			}
			out.Open, out.Studies = total.Val(), docs
			for _, c := range overdue {
				out.Overdue += c.Val()
			}
			return nil
		}
	})
	return out, err
}

func pageRows(page *redis.Cmd, key string, now time.Time) ([]WorklistRow, error) {
	vals, err := page.Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	out := make([]WorklistRow, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var r WorklistRow
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			return nil, fmt.Errorf("view %s is malformed: %w", key, err)
		}
		r.Overdue = domain.Diagnostic{Status: r.Status, ReportDeadline: r.ReportDeadline}.Overdue(now)
		out = append(out, r)
	}
	return out, nil
}

func pageDocs(page *redis.Cmd, key string, now time.Time) ([]DiagnosticView, error) {
	vals, err := page.Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	out := make([]DiagnosticView, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var d DiagnosticView
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			return nil, fmt.Errorf("view %s is malformed: %w", key, err)
		}
		d.flag(now)
		out = append(out, d)
	}
	return out, nil
}

// CriticalBoard is the critical values still waiting for acknowledgement, earliest
// deadline first: a hospital's inbox, or a centre's board (which shows escalations).
type CriticalBoard struct {
	Pending   int64            `json:"pending"`
	Overdue   int64            `json:"overdue"`
	Escalated int              `json:"escalated"`
	Studies   []DiagnosticView `json:"studies"`
}

// CriticalInbox returns the studies hospitalID sent whose critical values wait for it.
func (q *Queries) CriticalInbox(ctx context.Context, hospitalID string, minPos eventstore.Position) (CriticalBoard, error) {
	return q.criticalBoard(ctx, minPos, func(ks keyspace) (string, string) {
		return ks.criticalInbox(hospitalID), ks.hospitalDiagnostics(hospitalID)
	})
}

// CentreCriticalBoard returns a centre's pending critical values (escalated ones flagged).
func (q *Queries) CentreCriticalBoard(ctx context.Context, centreID string, minPos eventstore.Position) (CriticalBoard, error) {
	return q.criticalBoard(ctx, minPos, func(ks keyspace) (string, string) {
		return ks.centreCritical(centreID), ks.centreStudies(centreID)
	})
}

func (q *Queries) criticalBoard(ctx context.Context, minPos eventstore.Position, keys func(keyspace) (string, string)) (CriticalBoard, error) {
	var out CriticalBoard
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		queue, docs := keys(ks)
		page := pipe.Eval(ctx, deskPageScript, []string{queue, docs}, MaxDeskPage-1)
		total := pipe.ZCard(ctx, queue)
		overdue := pipe.ZCount(ctx, queue, "-inf", "("+strconv.FormatInt(now.UnixMilli(), 10))
		return func() error {
			list, err := pageDocs(page, docs, now)
			if err != nil {
				return err
			}
			out.Pending, out.Overdue, out.Studies = total.Val(), overdue.Val(), list
			for _, d := range list {
				for _, c := range d.Criticals {
					if c.Status == domain.CriticalEscalated {
						out.Escalated++
					}
				}
			}
			return nil
		}
	})
	return out, err
}

// Diagnostic returns one study with its report and overdue flags.
func (q *Queries) Diagnostic(ctx context.Context, id string, minPos eventstore.Position) (DiagnosticView, error) {
	var d DiagnosticView
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		get := getJSON(pipe, diagnosticRef(ks, id), &d, "diagnostic request "+id)
		return func() error {
			if err := get(); err != nil {
				return err
			}
			d.flag(now)
			return nil
		}
	})
	return d, err
}

// Diagnostic list filters of a member's studies.
const (
	StudiesPending  = "pending"  // submitted, assigned or sent back
	StudiesReported = "reported" // reported (and amended)
	StudiesAll      = "all"
)

// HospitalDiagnostics returns the studies hospitalID sent, newest first, filtered by
// status (StudiesPending, StudiesReported or StudiesAll).
func (q *Queries) HospitalDiagnostics(ctx context.Context, hospitalID, status string, minPos eventstore.Position) ([]DiagnosticView, error) {
	var out []DiagnosticView
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		cmd := pipe.HGetAll(ctx, ks.hospitalDiagnostics(hospitalID))
		return func() error {
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			all, err := decodeAll[DiagnosticView](vals, "diagnostics")
			if err != nil {
				return err
			}
			out = make([]DiagnosticView, 0, len(all))
			for _, d := range all {
				pending := d.Status == domain.DiagnosticStatusSubmitted || d.Status == domain.DiagnosticStatusAssigned || d.Status == domain.DiagnosticStatusSentBack
				if status == StudiesPending && !pending || status == StudiesReported && d.Status != domain.DiagnosticStatusReported {
					continue
				}
				d.flag(now)
				out = append(out, d)
			}
			slices.SortFunc(out, func(a, b DiagnosticView) int {
				if c := b.SubmittedAt.Compare(a.SubmittedAt); c != 0 {
					return c
				}
				return compareStrings(b.RequestID, a.RequestID)
			})
			return nil
		}
	})
	return out, err
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Centre returns a centre with its readers and roster.
func (q *Queries) Centre(ctx context.Context, id string, minPos eventstore.Position) (CentreView, error) {
	var c CentreView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		return getJSON(pipe, centreRef(ks, id), &c, "centre "+id)
	})
	return c, err
}

// AllianceCentres returns the centres of an alliance, by kind then name.
func (q *Queries) AllianceCentres(ctx context.Context, allianceID string, minPos eventstore.Position) ([]CentreView, error) {
	var out []CentreView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		cmd := pipe.HGetAll(ctx, ks.allianceCentres(allianceID))
		return func() error {
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			if out, err = decodeAll[CentreView](vals, "centres"); err != nil {
				return err
			}
			slices.SortFunc(out, func(a, b CentreView) int {
				if c := compareStrings(a.Kind, b.Kind); c != 0 {
					return c
				}
				return compareStrings(a.Name+a.CentreID, b.Name+b.CentreID)
			})
			return nil
		}
	})
	return out, err
}

// CentreTurnaround returns a centre's statistics (zero figures before its first report).
func (q *Queries) CentreTurnaround(ctx context.Context, centreID string, minPos eventstore.Position) (TurnaroundView, error) {
	t := TurnaroundView{CentreID: centreID, ByUrgency: map[string]*TurnaroundFigures{}}
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		get := getJSON(pipe, turnaroundRef(ks, centreID), &t, "turnaround")
		return func() error {
			if err := get(); err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
				return err
			}
			return nil
		}
	})
	return t, err
}
