package fhir

import (
	"strconv"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Provenance maps one event of an aggregate's stream: which resource versions it made
// (target), when, who (the acting hospital and department, the user and role), what
// (the event type) and its link in the stream's hash chain (the previous event's hash,
// its own hash, and the previous event's Provenance as the revised entity). targets are
// c.Targets. ok is false when the event changed nothing a FHIR resource shows.
func Provenance(c ChangeRecord) (Resource, bool) {
	targets := c.Targets
	if len(targets) == 0 {
		return Resource{}, false
	}
	env := c.Envelope
	vid := strconv.FormatUint(c.Version+1, 10)
	p := r4.Provenance{Id: ptr(c.ID()),
		Meta:     &r4.Meta{VersionId: ptr("1"), LastUpdated: ptr(instant(env.OccurredAt))},
		Recorded: instant(env.OccurredAt),
		Activity: &r4.CodeableConcept{Coding: []r4.Coding{{System: ptr("http://terminology.hl7.org/CodeSystem/v3-DataOperation"),
			Code: ptr(map[bool]string{true: "CREATE", false: "UPDATE"}[c.Version == 0])}}, Text: ptr(env.Type)},
	}
	for _, t := range targets {
		p.Target = append(p.Target, r4.Reference{Reference: ptr(t + "/_history/" + vid)})
	}
	who := r4.Reference{Display: ptr("allianced")}
	if env.Actor.HospitalID != "" {
		who = orgOf(env.Actor.HospitalID, env.Actor.DepartmentID)
		if env.Actor.UserID != "" {
			who.Display = ptr(env.Actor.UserID + " (" + nonEmpty(env.Actor.Role, "user") + ")")
		}
	}
	p.Agent = []r4.ProvenanceAgent{{
		Type: ptr(code("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author")),
		Who:  who,
	}}
	chain := r4.Extension{Url: ExtHashChain}
	sub := func(url, v string) {
		if v != "" {
			chain.Extension = append(chain.Extension, r4.Extension{Url: url, ValueString: ptr(v)})
		}
	}
	sub("eventId", env.EventID.String())
	sub("stream", c.Stream)
	sub("prevHash", env.PrevHash)
	sub("hash", c.Hash)
	sub("position", strconv.FormatUint(uint64(c.Position), 10))
	p.Extension = []r4.Extension{chain}
	if c.Version > 0 {
		prev := ChangeRecord{Stream: c.Stream, Version: c.Version - 1}
		p.Entity = []r4.ProvenanceEntity{{Role: r4.ProvenanceEntityRoleRevision,
			What: r4.Reference{Reference: ptr("Provenance/" + prev.ID()), Display: ptr("the previous event of " + c.Stream + " (sha256 " + env.PrevHash + ")")}}}
	}
	var orgs []string
	if env.Actor.HospitalID != "" {
		orgs = []string{env.Actor.HospitalID}
	}
	return Resource{Type: "Provenance", ID: c.ID(), Body: p, Orgs: orgs, Updated: env.OccurredAt}, true
}
