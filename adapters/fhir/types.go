package fhir

import (
	"strconv"
	"strings"

	"github.com/medalliance/allianced/domain"
)

// typeInfo says which aggregate kinds a resource type comes from and how its ids name
// an aggregate.
type typeInfo struct {
	kinds []string
	// aggID returns the aggregate id a resource id belongs to, for each kind (ok false:
	// not an id of that kind).
	aggID func(kind, id string) (string, bool)
}

func sameID(_ string, id string) (string, bool) { return id, domain.ValidateID("id", id) == nil }

// beforeDash is the aggregate id of ids "<ULID>-<rest>" (departments, affiliations,
// protocol versions).
func beforeDash(_ string, id string) (string, bool) {
	agg, _, ok := strings.Cut(id, "-")
	return agg, ok && domain.ValidateID("id", agg) == nil
}

var resourceTypes = map[string]typeInfo{
	"Organization": {kinds: []string{KindHospital, KindAlliance, KindCentre}, aggID: func(kind, id string) (string, bool) {
		if kind != KindHospital {
			return sameID(kind, id)
		}
		if agg, _, ok := strings.Cut(id, "-"); ok {
			return agg, domain.ValidateID("id", agg) == nil
		}
		return sameID(kind, id)
	}},
	"OrganizationAffiliation": {kinds: []string{KindAlliance}, aggID: beforeDash},
	"Practitioner":            {kinds: []string{KindPractitioner}, aggID: sameID},
	"PractitionerRole": {kinds: []string{KindPractitioner, KindMentorship, KindPlacement, KindCentre}, aggID: func(kind, id string) (string, bool) {
		if kind == KindCentre {
			return beforeDash(kind, id)
		}
		return sameID(kind, id)
	}},
	"PlanDefinition":   {kinds: []string{KindProtocol}, aggID: beforeDash},
	"CarePlan":         {kinds: []string{KindPlan}, aggID: sameID},
	"ServiceRequest":   {kinds: []string{KindReferral, KindConsult, KindDiagnostic}, aggID: sameID},
	"Task":             {kinds: []string{KindReferral, KindConsult, KindDiagnostic}, aggID: sameID},
	"DiagnosticReport": {kinds: []string{KindDiagnostic}, aggID: sameID},
	"Communication": {kinds: []string{KindDiagnostic}, aggID: func(_ string, id string) (string, bool) {
		agg, _, ok := strings.Cut(id, "-c")
		return agg, ok && domain.ValidateID("id", agg) == nil
	}},
	"Appointment": {kinds: []string{KindDispatch}, aggID: sameID},
	"AuditEvent":  {kinds: []string{KindAccess}},
	"Provenance":  {},
}

// Types lists the resource types the interface serves, in the order the export
// writes them.
var Types = []string{"Organization", "OrganizationAffiliation", "Practitioner", "PractitionerRole", "PlanDefinition",
	"CarePlan", "ServiceRequest", "Task", "Appointment", "DiagnosticReport", "Communication", "Provenance", "AuditEvent"}

// KnownType says whether typ is a resource type the interface serves.
func KnownType(typ string) bool { _, ok := resourceTypes[typ]; return ok }

// Locate returns the streams that may hold the resource typ/id (for aggregate-backed
// types; AuditEvent and Provenance are located by their id, see ParseChangeID).
func Locate(typ, id string) []string {
	ti, ok := resourceTypes[typ]
	if !ok || len(id) > 64 {
		return nil
	}
	var out []string
	for _, k := range ti.kinds {
		if k == KindAccess {
			continue
		}
		if agg, ok := ti.aggID(k, id); ok {
			out = append(out, k+"-"+agg)
		}
	}
	return out
}

// KindsOf returns the aggregate kinds a resource type is mapped from.
func KindsOf(typ string) []string { return resourceTypes[typ].kinds }

// ParseChangeID splits a Provenance id (<stream>.<version>) or an AuditEvent id
// (<stream>.<version>.<index>) into its parts; ok is false for anything else.
func ParseChangeID(id string, withIndex bool) (stream string, version uint64, index int, ok bool) {
	parts := strings.Split(id, ".")
	want := 2
	if withIndex {
		want = 3
	}
	if len(parts) != want || len(id) > 64 {
		return "", 0, 0, false
	}
	kind, _ := KindOf(parts[0])
	if kind == "" || (withIndex != (kind == KindAccess)) {
		return "", 0, 0, false
	}
	v, err := strconv.ParseUint(parts[1], 10, 63)
	if err != nil {
		return "", 0, 0, false
	}
	if withIndex {
		if index, err = strconv.Atoi(parts[2]); err != nil || index < 0 {
			return "", 0, 0, false
		}
	}
	return parts[0], v, index, true
}

// Find returns the resource typ/id among an aggregate's resources.
func Find(a *Agg, typ, id string) (Resource, bool) {
	for _, r := range ResourcesOf(a) {
		if r.Type == typ && r.ID == id {
			return r, true
		}
	}
	return Resource{}, false
}
