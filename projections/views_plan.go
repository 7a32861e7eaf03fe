package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// noDue scores a plan without a pending step in a hospital's work list: after all others.
const noDue = 253402300799 // 9999-12-31T23:59:59Z

// planDoc is a plan view in the batch cache, with the hospitals whose work lists held
// it when it was loaded (so a handover removes it from the previous hospital's list).
type planDoc struct {
	view    PlanView
	indexed []string
	// steps caches the JSON of each step of view.Steps as last encoded. The steps are
	// most of a plan's document and an event changes at most a few of them, so encode
	// re-encodes only the steps that differ from their cached copy. The cache lives as
	// long as the document stays in the writer's warm set.
	steps []stepJSON
	// encoded says encode ran before on this document. The first encode of a document
	// writes its steps straight into the output and caches nothing: a rebuild loads
	// most documents from Redis, changes them once and drops them, and filling a cache
	// it never reads would cost more than it saves. A second encode means the document
	// stayed warm, so from then on the steps are cached.
	encoded bool
}

// stepJSON is one step as last encoded: a copy of the step (its record copied apart,
// since the step holds it by pointer) and the bytes encoding/json wrote for it.
type stepJSON struct {
	step   domain.PlanStep // Record set to nil; see rec
	rec    domain.PlanStepRecord
	hasRec bool
	data   []byte
}

// matches reports whether s is still the step the cached bytes encode.
func (c *stepJSON) matches(s *domain.PlanStep) bool {
	if (s.Record != nil) != c.hasRec || (s.Record != nil && *s.Record != c.rec) {
		return false
	}
	bare := *s
	bare.Record = nil
	return bare == c.step
}

// stepsKey is how encoding/json writes the steps field of a PlanView whose Steps is
// nil. Inside a JSON string a quote is always escaped, so this text can only be the
// key itself, and no field written before it has a "steps" member.
var stepsKey = []byte(`"steps":null`)

// encode returns the plan view's JSON, byte for byte what json.Marshal(&d.view)
// returns (the kill-and-resume test compares views with a clean rebuild's), at a
// fraction of the cost: the steps are written by appendStep rather than by reflection,
// and once the document is encoded a second time (it stays warm between batches) the
// steps array is spliced from the cached encoding of each step, so that only the steps
// that changed since the last encode are encoded again.
func (d *planDoc) encode() ([]byte, error) {
	p := &d.view
	rest := *p
	rest.Steps = nil
	head, err := json.Marshal(&rest)
	if err != nil {
		return nil, err
	}
	at := bytes.Index(head, stepsKey)
	if at < 0 {
		return nil, fmt.Errorf("plan view %s: no steps field in its JSON", p.PlanID)
	}
	if p.Steps == nil {
		d.steps = nil
		return head, nil
	}
	if !d.encoded {
		d.encoded = true
		size := len(head) + 2
		for i := range p.Steps {
			size += stepSizeHint(&p.Steps[i])
		}
		out := make([]byte, 0, size)
		out = append(out, head[:at+len(`"steps":`)]...)
		out = append(out, '[')
		for i := range p.Steps {
			if i > 0 {
				out = append(out, ',')
			}
			if out, err = appendStep(out, &p.Steps[i]); err != nil {
				return nil, err
			}
		}
		out = append(out, ']')
		return append(out, head[at+len(stepsKey):]...), nil
	}
	if len(d.steps) > len(p.Steps) {
		d.steps = d.steps[:len(p.Steps)]
	} else if len(d.steps) < len(p.Steps) {
		d.steps = append(make([]stepJSON, 0, len(p.Steps)), d.steps...)
		d.steps = d.steps[:len(p.Steps)]
	}
	size := len(head) - len("null") + 2
	for i := range p.Steps {
		s := &p.Steps[i]
		c := &d.steps[i]
		if c.data == nil || !c.matches(s) {
			data, err := appendStep(make([]byte, 0, stepSizeHint(s)), s)
			if err != nil {
				return nil, err
			}
			c.step, c.rec, c.hasRec, c.data = *s, domain.PlanStepRecord{}, s.Record != nil, data
			c.step.Record = nil
			if s.Record != nil {
				c.rec = *s.Record
			}
		}
		size += len(c.data) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, head[:at+len(`"steps":`)]...)
	out = append(out, '[')
	for i := range d.steps {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, d.steps[i].data...)
	}
	out = append(out, ']')
	out = append(out, head[at+len(stepsKey):]...)
	return out, nil
}

// getPlan returns the cached plan view of id, or nil when there is none.
func getPlan(b *batch, id string) (*planDoc, error) {
	ref := planRef(b.ks, id)
	e, err := b.entry(ref)
	if err != nil {
		return nil, err
	}
	if e.degraded {
		return nil, nil
	}
	if e.val != nil {
		return e.val.(*planDoc), nil
	}
	if e.raw == nil {
		return nil, nil
	}
	d := &planDoc{}
	if err := json.Unmarshal(e.raw, &d.view); err != nil {
		return nil, &docError{ref: ref, reason: ReasonDocumentMalformed, err: fmt.Errorf("plan view %s is malformed: %w", id, err)}
	}
	d.indexed = d.view.listedUnder()
	e.val = d
	return d, nil
}

// listedUnder names the hospitals whose work list shows the plan: the lead hospital,
// every middle tier of the current chain (徐汇 keeps the patient it handed on to a
// community centre in its list: an escalation comes back to it) and the responsible
// hospital.
func (p *PlanView) listedUnder() []string {
	out := []string{p.Lead.HospitalID}
	for _, l := range p.Chain {
		if !slices.Contains(out, l.HospitalID) {
			out = append(out, l.HospitalID)
		}
	}
	if p.ResponsibleHospitalID != "" && !slices.Contains(out, p.ResponsibleHospitalID) {
		out = append(out, p.ResponsibleHospitalID)
	}
	return out
}

func (p *PlanView) summary() PlanSummary {
	s := PlanSummary{PlanID: p.PlanID, AllianceID: p.AllianceID, PatientRef: p.PatientRef,
		ProtocolID: p.Protocol.ProtocolID, ProtocolVersion: p.Protocol.Version, ProtocolTitle: p.Protocol.Title,
		LeadHospitalID: p.Lead.HospitalID, ResponsibleHospitalID: p.ResponsibleHospitalID, Status: p.Status,
		NextStep: p.NextStep, PendingSteps: p.PendingSteps, OpenDeviations: p.OpenDeviations, Flagged: p.Flagged,
		Version: p.Version, Position: p.Position}
	if n := len(p.Escalations); n > 0 && p.ResponsibleHospitalID == p.Escalations[n-1].ToHospitalID {
		s.UrgentEscalation = p.Escalations[n-1].Urgent && p.Status == domain.PlanStatusActive
	}
	return s
}

// flushPlan writes the plan hash (the JSON and the authorization facts) and keeps the
// work lists of the lead and responsible hospitals in step. It leaves the document as
// it is (the careful mode of a commit calls it once more to check the encoding); the
// commit records the work lists it listed the plan under (d.indexed).
func (ks keyspace) flushPlan(pipe redis.Pipeliner, ref docRef, val any) error {
	d := val.(*planDoc)
	p := &d.view
	data, err := d.encode()
	if err != nil {
		return fmt.Errorf("encode plan view: %w", err)
	}
	sum, err := json.Marshal(p.summary())
	if err != nil {
		return fmt.Errorf("encode plan summary: %w", err)
	}
	ctx := context.Background()
	pipe.HSet(ctx, ref.key, "json", data, "responsible", p.ResponsibleHospitalID, "lead", p.Lead.HospitalID,
		"leadDepartment", p.Lead.DepartmentID, "alliance", p.AllianceID, "holders", strings.Join(p.formerHolders(), ","),
		"version", p.Version, "position", uint64(p.Position))
	now := p.listedUnder()
	for _, h := range d.indexed {
		if !slices.Contains(now, h) {
			pipe.ZRem(ctx, ks.hospitalPlans(h), p.PlanID)
			pipe.HDel(ctx, ks.hospitalPlanSummaries(h), p.PlanID)
		}
	}
	score := float64(noDue)
	if p.NextStep != nil {
		score = float64(p.NextStep.DueDate.Unix())
	}
	for _, h := range now {
		pipe.ZAdd(ctx, ks.hospitalPlans(h), redis.Z{Score: score, Member: p.PlanID})
		pipe.HSet(ctx, ks.hospitalPlanSummaries(h), p.PlanID, sum)
	}
	return nil
}

// appendStep appends to buf the JSON of s exactly as encoding/json writes it (same
// field order, omitempty, HTML-safe escaping), without its reflection: a plan's steps
// are most of its document, and a document read from Redis has none cached.
func appendStep(buf []byte, s *domain.PlanStep) ([]byte, error) {
	var err error
	buf = append(buf, `{"stepId":`...)
	buf = appendJSONString(buf, s.StepID)
	buf = append(buf, `,"dayOffset":`...)
	buf = strconv.AppendInt(buf, int64(s.DayOffset), 10)
	buf = append(buf, `,"dueDate":`...)
	if buf, err = appendJSONTime(buf, s.DueDate); err != nil {
		return nil, err
	}
	buf = append(buf, `,"activity":`...)
	buf = appendJSONString(buf, s.Activity)
	buf = appendOptString(buf, `,"drug":`, s.Drug)
	buf = appendOptString(buf, `,"dose":`, s.Dose)
	buf = appendOptString(buf, `,"route":`, s.Route)
	buf = appendOptString(buf, `,"notes":`, s.Notes)
	buf = append(buf, `,"status":`...)
	buf = appendJSONString(buf, s.Status)
	if s.Version != 0 {
		buf = append(buf, `,"version":`...)
		buf = strconv.AppendInt(buf, int64(s.Version), 10)
	}
	if r := s.Record; r != nil {
		buf = append(buf, `,"record":{"hospitalId":`...)
		buf = appendJSONString(buf, r.HospitalID)
		buf = appendOptString(buf, `,"departmentId":`, r.DepartmentID)
		buf = appendOptString(buf, `,"userId":`, r.UserID)
		buf = append(buf, `,"at":`...)
		if buf, err = appendJSONTime(buf, r.At); err != nil {
			return nil, err
		}
		buf = appendOptString(buf, `,"administeredDose":`, r.AdministeredDose)
		buf = appendOptString(buf, `,"notes":`, r.Notes)
		buf = appendOptString(buf, `,"skipReason":`, r.SkipReason)
		buf = append(buf, '}')
	}
	return append(buf, '}'), nil
}

// stepSizeHint is about the length of s's JSON when its text needs no escaping: the
// text, plus room for the keys, the numbers and the times.
func stepSizeHint(s *domain.PlanStep) int {
	n := 160 + len(s.StepID) + len(s.Activity) + len(s.Drug) + len(s.Dose) + len(s.Route) + len(s.Notes) + len(s.Status)
	if r := s.Record; r != nil {
		n += 160 + len(r.HospitalID) + len(r.DepartmentID) + len(r.UserID) + len(r.AdministeredDose) + len(r.Notes) + len(r.SkipReason)
	}
	return n
}

// appendOptString appends key and v, as an omitempty string field, unless v is empty.
func appendOptString(buf []byte, key, v string) []byte {
	if v == "" {
		return buf
	}
	return appendJSONString(append(buf, key...), v)
}

// appendJSONTime appends t as encoding/json writes a time.Time (its MarshalJSON): for
// a year in [0,9999] and a zone offset under 24 hours that is RFC 3339 with nanoseconds
// in quotes; MarshalJSON itself handles (and refuses) the rest.
func appendJSONTime(buf []byte, t time.Time) ([]byte, error) {
	if _, off := t.Zone(); off > -86400 && off < 86400 {
		if y := t.Year(); y >= 0 && y <= 9999 {
			buf = append(buf, '"')
			buf = t.AppendFormat(buf, time.RFC3339Nano)
			return append(buf, '"'), nil
		}
	}
	data, err := t.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return append(buf, data...), nil
}

// appendJSONString appends v as a JSON string exactly as encoding/json writes it (its
// appendString with HTML escaping): <, > and & as \u00XX, control characters short
// or as \u00XX, invalid UTF-8 as \ufffd, and U+2028 and U+2029 escaped.
func appendJSONString(buf []byte, v string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(v); {
		if c := v[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			buf = append(buf, v[start:i]...)
			switch c {
			case '\\', '"':
				buf = append(buf, '\\', c)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, v[start:i]...)
			buf = append(buf, `\ufffd`...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, v[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xF])
			start = i + size
		}
		i += size
	}
	buf = append(buf, v[start:]...)
	return append(buf, '"')
}

func applyPlan(b *batch, e event) error {
	if ev, ok := e.ev.(domain.PlanInitiated); ok {
		title := ""
		if pr, err := getDoc[ProtocolView](b, protocolRef(b.ks, ev.AllianceID, ev.ProtocolID)); err != nil {
			return err
		} else if pr != nil {
			title = pr.Title
		}
		steps := append([]domain.PlanStep{}, ev.Steps...)
		for i := range steps { // as domain.Plan does: a step of an older event has no version
			if steps[i].Version == 0 {
				steps[i].Version = ev.ProtocolVersion
			}
		}
		d := &planDoc{view: PlanView{PlanID: ev.PlanID, AllianceID: ev.AllianceID, PatientRef: ev.PatientRef,
			Lead:                  LeadView{HospitalID: ev.LeadHospitalID, DepartmentID: ev.LeadDepartmentID},
			Protocol:              PlanProtocolRef{ProtocolID: ev.ProtocolID, Version: ev.ProtocolVersion, Title: title, ContentHash: ev.ContentHash},
			ResponsibleHospitalID: ev.LeadHospitalID, Status: domain.PlanStatusActive, StartDate: ev.StartDate.UTC(),
			Steps: steps, Revisions: []PlanRevisionView{}, Deviations: []PlanDeviationView{}, Flags: []PlanFlagView{},
			Handovers: []PlanTransferView{}, Escalations: []PlanTransferView{}, InitiatedAt: ev.At.UTC(),
			Chain:          []PlanChainLink{{HospitalID: ev.LeadHospitalID, AllianceID: ev.AllianceID}},
			Responsibility: []PlanCustodyView{{HospitalID: ev.LeadHospitalID, AllianceID: ev.AllianceID, How: CustodyInitiated, From: ev.At.UTC()}}}}
		if old, err := getPlan(b, ev.PlanID); err != nil {
			return err
		} else if old != nil {
			d.indexed = old.indexed
		}
		finishPlan(b, d, e)
		b.op(func(pipe redis.Pipeliner) {
			pipe.SAdd(context.Background(), b.ks.protocolVersionPlans(ev.ProtocolID, ev.ProtocolVersion), ev.PlanID)
		})
		return b.put(planRef(b.ks, ev.PlanID), d, b.ks.flushPlan)
	}
	var planID string
	switch ev := e.ev.(type) {
	case domain.PlanHandedOver:
		planID = ev.PlanID
	case domain.PlanHandedOn:
		planID = ev.PlanID
	case domain.PlanStepCompleted:
		planID = ev.PlanID
	case domain.PlanStepSkipped:
		planID = ev.PlanID
	case domain.PlanRevised:
		planID = ev.PlanID
	case domain.PlanDeviationReported:
		planID = ev.PlanID
	case domain.PlanDeviationAcknowledged:
		planID = ev.PlanID
	case domain.PlanEscalated:
		planID = ev.PlanID
	case domain.PlanCompleted:
		planID = ev.PlanID
	case domain.PlanDiscontinued:
		planID = ev.PlanID
	case domain.PlanFlagged:
		planID = ev.PlanID
	}
	d, err := getPlan(b, planID)
	if err != nil || d == nil {
		return err
	}
	p := &d.view
	switch ev := e.ev.(type) {
	case domain.PlanHandedOver:
		p.ResponsibleHospitalID = ev.ToHospitalID
		p.LocalDeviations = append([]domain.LocalDeviation(nil), ev.LocalDeviations...)
		p.Handovers = append(p.Handovers, PlanTransferView{FromHospitalID: ev.FromHospitalID, ToHospitalID: ev.ToHospitalID,
			AdoptedVersion: ev.AdoptedVersion, At: ev.At.UTC()})
		p.passDown(ev.FromHospitalID, ev.ToHospitalID, p.AllianceID, CustodyHandover, ev.At.UTC())
	case domain.PlanHandedOn:
		p.ResponsibleHospitalID = ev.ToHospitalID
		p.LocalDeviations = append([]domain.LocalDeviation(nil), ev.LocalDeviations...)
		p.HandOns = append(p.HandOns, PlanTransferView{FromHospitalID: ev.FromHospitalID, ToHospitalID: ev.ToHospitalID,
			ViaAllianceID: ev.ViaAllianceID, AdoptedVersion: ev.AdoptedVersion, At: ev.At.UTC()})
		p.passDown(ev.FromHospitalID, ev.ToHospitalID, ev.ViaAllianceID, CustodyHandOn, ev.At.UTC())
	case domain.PlanStepCompleted:
		p.setStep(ev.StepID, domain.StepStatusCompleted, &domain.PlanStepRecord{HospitalID: ev.HospitalID,
			DepartmentID: ev.DepartmentID, UserID: ev.UserID, At: ev.At.UTC(), AdministeredDose: ev.AdministeredDose, Notes: ev.Notes})
	case domain.PlanStepSkipped:
		p.setStep(ev.StepID, domain.StepStatusSkipped, &domain.PlanStepRecord{HospitalID: ev.HospitalID,
			DepartmentID: ev.DepartmentID, UserID: ev.UserID, At: ev.At.UTC(), SkipReason: ev.Reason})
	case domain.PlanRevised:
		p.applyChanges(ev.VersionChanges)
		p.applyChanges(ev.Changes)
		if ev.LocalDeviationsVersion != 0 {
			p.LocalDeviations = append([]domain.LocalDeviation(nil), ev.LocalDeviations...)
		}
		p.Revision = ev.Revision
		p.Revisions = append(p.Revisions, PlanRevisionView{Revision: ev.Revision, Reason: ev.Reason,
			FromVersion: ev.FromVersion, ToVersion: ev.ToVersion, VersionChanges: ev.VersionChanges, Changes: ev.Changes, FlagCleared: ev.FlagCleared,
			By: e.actor, At: ev.At.UTC()})
		if ev.ToVersion != p.Protocol.Version {
			from, to, protocolID := p.Protocol.Version, ev.ToVersion, p.Protocol.ProtocolID
			b.op(func(pipe redis.Pipeliner) {
				ctx := context.Background()
				pipe.SRem(ctx, b.ks.protocolVersionPlans(protocolID, from), planID)
				pipe.SAdd(ctx, b.ks.protocolVersionPlans(protocolID, to), planID)
			})
		}
		p.Protocol.Version, p.Protocol.ContentHash = ev.ToVersion, ev.ContentHash
		if ev.FlagCleared {
			p.Flagged = false
			for i := range p.Flags {
				if p.Flags[i].Active {
					p.Flags[i].Active, p.Flags[i].ClearedAt = false, timePtr(ev.At.UTC())
				}
			}
		}
	case domain.PlanDeviationReported:
		p.Deviations = append(p.Deviations, PlanDeviationView{DeviationID: ev.DeviationID, StepID: ev.StepID,
			Description: ev.Description, Severity: ev.Severity, HospitalID: ev.HospitalID, ReportedAt: ev.At.UTC()})
	case domain.PlanDeviationAcknowledged:
		for i := range p.Deviations {
			if p.Deviations[i].DeviationID == ev.DeviationID {
				dv := &p.Deviations[i]
				dv.Acknowledged, dv.AckNote, dv.AcknowledgedAt = true, ev.Note, timePtr(ev.At.UTC())
			}
		}
	case domain.PlanEscalated:
		p.ResponsibleHospitalID = ev.ToHospitalID
		p.LocalDeviations = append([]domain.LocalDeviation(nil), ev.LocalDeviations...)
		if len(p.LocalDeviations) == 0 {
			p.LocalDeviations = nil
		}
		p.Escalations = append(p.Escalations, PlanTransferView{FromHospitalID: ev.FromHospitalID, ToHospitalID: ev.ToHospitalID,
			Reason: ev.Reason, Urgent: ev.Urgent, At: ev.At.UTC()})
		p.passUp(ev.FromHospitalID, ev.ToHospitalID, ev.At.UTC())
	case domain.PlanCompleted:
		p.Status, p.ClosedAt = domain.PlanStatusCompleted, timePtr(ev.At.UTC())
		p.endCustody(ev.At.UTC())
	case domain.PlanDiscontinued:
		p.Status, p.ClosedAt, p.CloseReason = domain.PlanStatusDiscontinued, timePtr(ev.At.UTC()), ev.Reason
		p.endCustody(ev.At.UTC())
	case domain.PlanFlagged:
		p.Flagged = true
		p.Flags = append(p.Flags, PlanFlagView{Kind: "protocol_version_withdrawn", ProtocolID: ev.ProtocolID,
			Version: ev.Version, Reason: ev.Reason, At: ev.At.UTC(), Active: true})
	}
	finishPlan(b, d, e)
	return b.put(planRef(b.ks, planID), d, b.ks.flushPlan)
}

// finishPlan recomputes the derived fields and stamps the event's version and position.
func finishPlan(b *batch, d *planDoc, e event) {
	p := &d.view
	steps := domain.Plan{Steps: p.Steps} // the domain's rules for the pending and next steps
	p.NextStep, p.PendingSteps, p.OpenDeviations = nil, steps.PendingSteps(), 0
	if s, ok := steps.NextDue(); ok && p.Status == domain.PlanStatusActive {
		p.NextStep = &NextStepView{StepID: s.StepID, DueDate: s.DueDate.UTC(), Activity: s.Activity}
	}
	for _, dv := range p.Deviations {
		if !dv.Acknowledged {
			p.OpenDeviations++
		}
	}
	p.Version, p.Position = e.ver, e.pos
	b.planChanged(p.PlanID, e.pos)
}

// formerHolders are the hospitals other than the lead that were responsible for the
// plan at some time (every period of responsibility, and for views from before it was recorded every
// handover's receiver and every escalation's sender), so they keep reading it.
func (p *PlanView) formerHolders() []string {
	var out []string
	for _, c := range p.Responsibility {
		// the lead hospital reads through its lead department, not as a holder (another
		// of its departments has no access)
		if c.HospitalID != p.Lead.HospitalID && !slices.Contains(out, c.HospitalID) {
			out = append(out, c.HospitalID)
		}
	}
	for _, t := range p.Handovers {
		if !slices.Contains(out, t.ToHospitalID) {
			out = append(out, t.ToHospitalID)
		}
	}
	for _, t := range p.Escalations {
		if !slices.Contains(out, t.FromHospitalID) {
			out = append(out, t.FromHospitalID)
		}
	}
	return out
}

func (p *PlanView) setStep(stepID, status string, rec *domain.PlanStepRecord) {
	for i := range p.Steps {
		if p.Steps[i].StepID == stepID {
			p.Steps[i].Status, p.Steps[i].Record = status, rec
		}
	}
}

// applyChanges applies a revision's step changes as the plan aggregate does.
func (p *PlanView) applyChanges(changes []domain.PlanStepChange) {
	for _, c := range changes {
		i := -1
		for j := range p.Steps {
			if p.Steps[j].StepID == c.StepID {
				i = j
			}
		}
		due := p.StartDate.AddDate(0, 0, c.DayOffset)
		switch {
		case c.Action == domain.PlanChangeAdd && i < 0:
			p.Steps = append(p.Steps, domain.PlanStep{StepID: c.StepID, DayOffset: c.DayOffset, DueDate: due,
				Activity: c.Activity, Drug: c.Drug, Dose: c.Dose, Route: c.Route, Notes: c.Notes, Status: domain.StepStatusPending, Version: c.Version})
		case c.Action == domain.PlanChangeModify && i >= 0:
			s := &p.Steps[i]
			s.DayOffset, s.DueDate = c.DayOffset, due
			s.Activity, s.Drug, s.Dose, s.Route, s.Notes = c.Activity, c.Drug, c.Dose, c.Route, c.Notes
			s.Version = c.Version
		case c.Action == domain.PlanChangeCancel && i >= 0:
			p.Steps[i].Status = domain.StepStatusCancelled
		}
	}
}
