// Package fhir maps the alliance's facts (the domain's aggregates, folded from the event
// log) to HL7 FHIR R4 resources, with the resource types and their JSON from
// github.com/samply/golang-fhir-models (plain Go structs with encoding/json, generated
// from the R4 StructureDefinitions). Everything here is pure: a Fold is built from
// recorded events, and the mapping functions turn one aggregate's state into resources,
// so the HTTP adapter, the bulk export and the tests share one mapping.
package fhir

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// Aggregate kinds the FHIR interface maps, by their stream name's prefix.
const (
	KindHospital     = "hospital"
	KindAlliance     = "alliance"
	KindPractitioner = "practitioner"
	KindProtocol     = "protocol"
	KindPlan         = "plan"
	KindReferral     = "referral"
	KindConsult      = "consult"
	KindDispatch     = "dispatch"
	KindAccess       = "access"
)

// mappedKinds are the kinds whose events become resources (and Provenance).
var mappedKinds = []string{KindHospital, KindAlliance, KindPractitioner, KindProtocol, KindPlan, KindReferral, KindConsult, KindDispatch, KindCentre, KindDiagnostic, KindMentorship, KindPlacement}

// KindOf returns the aggregate kind and id of a stream name ("plan-01J..." -> plan,
// 01J...), or "" for streams the interface does not map.
func KindOf(stream string) (kind, id string) {
	k, id, ok := strings.Cut(stream, "-")
	if !ok {
		return "", ""
	}
	if k == KindAccess || slices.Contains(mappedKinds, k) {
		return k, id
	}
	return "", ""
}

// Agg is one aggregate as of some event of its stream: its folded state and the facts
// of its last event.
type Agg struct {
	Kind   string
	ID     string
	Stream string
	// State is the domain state (domain.Plan, domain.Hospital, ...) by value.
	State any
	// Version is the 0-based revision of the last event folded in; FHIR's versionId is
	// Version+1.
	Version  uint64
	Updated  time.Time
	Position eventstore.Position
	// Holders are the hospitals that were responsible for a plan before its current
	// responsible hospital (they keep reading it, as on /v1).
	Holders []string
	// Created is the time of the stream's first event.
	Created time.Time
}

// VersionID is the FHIR meta.versionId of the aggregate's resources.
func (a *Agg) VersionID() string { return strconv.FormatUint(a.Version+1, 10) }

// Apply folds one decoded event of the aggregate's stream into a copy of a (a is not
// changed, so a history keeps every version).
func (a Agg) Apply(env domain.Envelope, ev domain.Event, pos eventstore.Position) Agg {
	if a.State == nil {
		a.Created = env.OccurredAt
	}
	switch a.Kind {
	case KindHospital:
		s, _ := a.State.(domain.Hospital)
		a.State = s.Evolve(ev)
	case KindAlliance:
		s, _ := a.State.(domain.Alliance)
		a.State = s.Evolve(ev)
	case KindPractitioner:
		s, _ := a.State.(domain.Practitioner)
		a.State = s.Evolve(ev)
	case KindProtocol:
		s, _ := a.State.(domain.Protocol)
		a.State = s.Evolve(ev)
	case KindPlan:
		s, _ := a.State.(domain.Plan)
		before := s.ResponsibleHospital
		next := s.Evolve(ev)
		if before != "" && next.ResponsibleHospital != before && !slices.Contains(a.Holders, before) {
			a.Holders = append(slices.Clip(a.Holders), before)
		}
		a.State = next
	case KindReferral:
		s, _ := a.State.(domain.Referral)
		a.State = s.Evolve(ev)
	case KindConsult:
		s, _ := a.State.(domain.Consult)
		a.State = s.Evolve(ev)
	case KindDispatch:
		s, _ := a.State.(domain.Dispatch)
		a.State = s.Evolve(ev)
	case KindCentre:
		s, _ := a.State.(domain.Centre)
		a.State = s.Evolve(ev)
	case KindDiagnostic:
		s, _ := a.State.(domain.Diagnostic)
		a.State = s.Evolve(ev)
	case KindMentorship:
		s, _ := a.State.(domain.Mentorship)
		a.State = s.Evolve(ev)
	case KindPlacement:
		s, _ := a.State.(domain.Placement)
		a.State = s.Evolve(ev)
	}
	a.Version, a.Updated, a.Position = env.StreamVersion, env.OccurredAt, pos
	return a
}

// AuditRecord is one entry of the access log (who read what), with where it is in the
// log: AuditEvent/{Stream}.{Version}.{Index}.
type AuditRecord struct {
	Stream   string
	Version  uint64
	Index    int
	Position eventstore.Position
	Entry    domain.AccessEntry
}

// ID is the AuditEvent's id.
func (r AuditRecord) ID() string {
	return r.Stream + "." + strconv.FormatUint(r.Version, 10) + "." + strconv.Itoa(r.Index)
}

// ChangeRecord is one event of a mapped aggregate: the source of one Provenance.
type ChangeRecord struct {
	Stream   string
	Version  uint64
	Position eventstore.Position
	Envelope domain.Envelope
	// Hash is the event's own chain hash (what the next event's PrevHash names).
	Hash string
	// Targets are the resources the event changed ("Type/id", see Targets).
	Targets []string
	// AllianceID is the alliance of the aggregate after the event ("" for hospitals and
	// practitioners, which belong to no one alliance).
	AllianceID string
}

// ID is the Provenance's id: the stream and the event's revision.
func (c ChangeRecord) ID() string { return c.Stream + "." + strconv.FormatUint(c.Version, 10) }

// Fold is the state of every mapped aggregate after the events applied to it, in log
// order. It is not safe for concurrent use; Index guards one.
type Fold struct {
	Aggs     map[string]*Agg // by stream
	Audits   []AuditRecord
	Position eventstore.Position
	// Changes, when KeepChanges is set, lists every event of a mapped aggregate (the
	// bulk export writes one Provenance each); the live index reads them from the
	// streams instead.
	Changes     []ChangeRecord
	KeepChanges bool
	// Skipped counts events that could not be decoded (a newer build's types): they
	// change nothing here, as in the views.
	Skipped int
}

// NewFold returns an empty fold.
func NewFold() *Fold { return &Fold{Aggs: map[string]*Agg{}} }

// ApplyRecord decodes and folds one recorded event.
func (f *Fold) ApplyRecord(rec eventstore.RecordedEvent) {
	env, ev, err := eventstore.Decode(rec)
	f.ApplyDecoded(rec, env, ev, err)
}

// ApplyDecoded folds one event decoded by the caller (eventstore.DecodeAll).
func (f *Fold) ApplyDecoded(rec eventstore.RecordedEvent, env domain.Envelope, ev domain.Event, err error) {
	if rec.Position > f.Position {
		f.Position = rec.Position
	}
	kind, id := KindOf(rec.Stream)
	if kind == "" {
		return
	}
	if err != nil {
		f.Skipped++
		return
	}
	if kind == KindAccess {
		if ra, ok := ev.(domain.RecordsAccessed); ok {
			for i, e := range ra.Entries {
				f.Audits = append(f.Audits, AuditRecord{Stream: rec.Stream, Version: rec.Version, Index: i, Position: rec.Position, Entry: e})
			}
		}
		return
	}
	a := f.Aggs[rec.Stream]
	if a == nil {
		a = &Agg{Kind: kind, ID: id, Stream: rec.Stream}
		f.Aggs[rec.Stream] = a
	}
	*a = a.Apply(env, ev, rec.Position)
	if f.KeepChanges {
		f.Changes = append(f.Changes, ChangeRecord{Stream: rec.Stream, Version: rec.Version, Position: rec.Position,
			Envelope: env, Hash: eventstore.ChainHash(rec.Metadata, rec.Data), Targets: Targets(a, ev), AllianceID: AllianceOf(a)})
	}
}

// OfKind returns the aggregates of one kind, sorted by id (a stable order for paging).
func (f *Fold) OfKind(kind string) []*Agg {
	var out []*Agg
	for _, a := range f.Aggs {
		if a.Kind == kind && a.State != nil {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get returns the aggregate of a stream, or nil.
func (f *Fold) Get(kind, id string) *Agg {
	a := f.Aggs[kind+"-"+id]
	if a == nil || a.State == nil {
		return nil
	}
	return a
}

// AllianceOf returns the alliance an aggregate belongs to ("" for the directory's
// hospitals and practitioners).
func AllianceOf(a *Agg) string {
	switch s := a.State.(type) {
	case domain.Alliance:
		return s.ID
	case domain.Protocol:
		return s.AllianceID
	case domain.Plan:
		return s.AllianceID
	case domain.Referral:
		return s.AllianceID
	case domain.Consult:
		return s.AllianceID
	case domain.Dispatch:
		return s.AllianceID
	case domain.Centre:
		return s.AllianceID
	case domain.Diagnostic:
		return s.AllianceID
	case domain.Mentorship:
		return s.AllianceID
	case domain.Placement:
		return s.AllianceID
	}
	return ""
}
