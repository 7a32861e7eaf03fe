package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// practitionerRef is a practitioner's directory entry.
func practitionerRef(ks keyspace, id string) docRef { return docRef{ks.practitioner(id), ""} }

// flushPractitioner writes the entry and its copy in the home hospital's practitioner
// list (one document, two lookups: by id, and by hospital).
func (ks keyspace) flushPractitioner(pipe redis.Pipeliner, ref docRef, val any) error {
	p := val.(*PractitionerView)
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode practitioner view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	pipe.HSet(ctx, ks.hospitalPractitioners(p.HospitalID), p.PractitionerID, data)
	return nil
}

func applyPractitioner(b *batch, e event) error {
	if ev, ok := e.ev.(domain.PractitionerRegistered); ok {
		p := &PractitionerView{PractitionerID: ev.PractitionerID, HospitalID: ev.HomeHospitalID, DepartmentID: ev.HomeDepartmentID,
			Name: ev.Name, Title: ev.Title, Specialties: slices.Clone(ev.Specialties), Active: true,
			RegisteredAt: ev.RegisteredAt.UTC(), UpdatedAt: ev.RegisteredAt.UTC(), Version: e.ver, Position: e.pos}
		if p.Specialties == nil {
			p.Specialties = []string{}
		}
		return b.put(practitionerRef(b.ks, ev.PractitionerID), p, b.ks.flushPractitioner)
	}
	var id string
	switch ev := e.ev.(type) {
	case domain.PractitionerProfileUpdated:
		id = ev.PractitionerID
	case domain.PractitionerDeactivated:
		id = ev.PractitionerID
	case domain.PractitionerReactivated:
		id = ev.PractitionerID
	}
	ref := practitionerRef(b.ks, id)
	p, err := getDoc[PractitionerView](b, ref)
	if err != nil || p == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.PractitionerProfileUpdated:
		p.Name, p.Title, p.Specialties, p.UpdatedAt = ev.Name, ev.Title, slices.Clone(ev.Specialties), ev.UpdatedAt.UTC()
	case domain.PractitionerDeactivated:
		p.Active, p.StatusReason, p.UpdatedAt = false, ev.Reason, ev.DeactivatedAt.UTC()
	case domain.PractitionerReactivated:
		p.Active, p.StatusReason, p.UpdatedAt = true, ev.Reason, ev.ReactivatedAt.UTC()
	}
	p.Version, p.Position = e.ver, e.pos
	return b.put(ref, p, b.ks.flushPractitioner)
}
