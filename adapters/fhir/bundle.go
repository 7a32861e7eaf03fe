package fhir

import (
	"strconv"
	"time"

	"github.com/medalliance/allianced/domain"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Searchset builds a searchset Bundle of one page: total is the number of matches,
// links are the page links (self, next, previous), base the absolute URL of the FHIR
// base (https://host/fhir/R4), used for fullUrl.
func Searchset(base string, page []Resource, total int, links map[string]string, now time.Time) (r4.Bundle, error) {
	b := r4.Bundle{Type: r4.BundleTypeSearchset, Total: ptr(total), Timestamp: ptr(instant(now)),
		Meta: &r4.Meta{LastUpdated: ptr(instant(now))}}
	for _, rel := range []string{"self", "first", "previous", "next"} {
		if u, ok := links[rel]; ok {
			b.Link = append(b.Link, r4.BundleLink{Relation: rel, Url: u})
		}
	}
	for _, r := range page {
		raw, err := Encode(r.Body)
		if err != nil {
			return b, err
		}
		b.Entry = append(b.Entry, r4.BundleEntry{FullUrl: ptr(base + "/" + r.Type + "/" + r.ID), Resource: raw,
			Search: &r4.BundleEntrySearch{Mode: ptr(r4.SearchEntryModeMatch)}})
	}
	return b, nil
}

// HistoryBundle builds a history Bundle, newest version first; each entry says how the
// version came about (POST for the first, PUT after) and its ETag.
func HistoryBundle(base, self string, versions []Version, now time.Time) (r4.Bundle, error) {
	b := r4.Bundle{Type: r4.BundleTypeHistory, Total: ptr(len(versions)), Timestamp: ptr(instant(now)),
		Link: []r4.BundleLink{{Relation: "self", Url: self}}}
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		raw, err := Encode(v.Resource.Body)
		if err != nil {
			return b, err
		}
		method, status := r4.HTTPVerbPUT, "200 OK"
		if i == 0 {
			method, status = r4.HTTPVerbPOST, "201 Created"
		}
		url := v.Resource.Type + "/" + v.Resource.ID
		vid := v.Agg.VersionID()
		b.Entry = append(b.Entry, r4.BundleEntry{FullUrl: ptr(base + "/" + url), Resource: raw,
			Request: &r4.BundleEntryRequest{Method: method, Url: url},
			Response: &r4.BundleEntryResponse{Status: status, Etag: ptr(`W/"` + vid + `"`), LastModified: ptr(instant(v.Agg.Updated)),
				Location: ptr(url + "/_history/" + vid)}})
	}
	return b, nil
}

// Outcome is an OperationOutcome for an error code: the issue type FHIR clients act on
// (not-found, forbidden, conflict, invalid ...) and the service's stable code beside it.
func Outcome(c domain.Code, message string) r4.OperationOutcome {
	return r4.OperationOutcome{Issue: []r4.OperationOutcomeIssue{{
		Severity:    r4.IssueSeverityError,
		Code:        issueType(c),
		Details:     &r4.CodeableConcept{Coding: []r4.Coding{{System: ptr(SysCode + "error"), Code: ptr(string(c))}}, Text: ptr(message)},
		Diagnostics: ptr(message),
	}}}
}

// Info is an informational OperationOutcome (an accepted export, say).
func Info(message string) r4.OperationOutcome {
	return r4.OperationOutcome{Issue: []r4.OperationOutcomeIssue{{Severity: r4.IssueSeverityInformation,
		Code: r4.IssueTypeInformational, Diagnostics: ptr(message)}}}
}

func issueType(c domain.Code) r4.IssueType {
	switch c {
	case domain.CodeNotFound:
		return r4.IssueTypeNotFound
	case domain.CodeForbidden:
		return r4.IssueTypeForbidden
	case domain.CodeUnauthenticated:
		return r4.IssueTypeLogin
	case domain.CodeConflict, domain.CodeAlreadyExists:
		return r4.IssueTypeConflict
	case domain.CodeForbiddenTransition, domain.CodeNotMember, domain.CodeScheduleOverlap, domain.CodeNoCapacity:
		return r4.IssueTypeBusinessRule
	case domain.CodeTimeout:
		return r4.IssueTypeTimeout
	case domain.CodeUnavailable:
		return r4.IssueTypeTransient
	case domain.CodeInternal:
		return r4.IssueTypeException
	case domain.CodeInvalidInput:
		return r4.IssueTypeInvalid
	}
	return r4.IssueTypeProcessing
}

// CapabilityStatement describes the interface: the resource types with their
// interactions and search parameters, the inbound writes, and the bulk export.
func CapabilityStatement(base string, date time.Time) r4.CapabilityStatement {
	cs := r4.CapabilityStatement{
		Url:            ptr(base + "/metadata"),
		Name:           ptr("AllianceCoordinationServer"),
		Title:          ptr("allianced FHIR R4 interface"),
		Status:         r4.PublicationStatusActive,
		Date:           instant(date),
		Publisher:      ptr("allianced"),
		Description:    ptr("The specialist alliance's facts as FHIR R4 resources, read from an immutable, hash-chained event log: every version (_history), who changed what (Provenance) and who read what (AuditEvent)."),
		Kind:           r4.CapabilityStatementKindInstance,
		Software:       &r4.CapabilityStatementSoftware{Name: "allianced"},
		Implementation: &r4.CapabilityStatementImplementation{Description: "allianced", Url: ptr(base)},
		FhirVersion:    r4.FHIRVersion4_0_1,
		Format:         []string{"application/fhir+json", "json"},
		Instantiates:   []string{"http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"},
	}
	rest := r4.CapabilityStatementRest{Mode: r4.RestfulCapabilityModeServer,
		Security:    &r4.CapabilityStatementRestSecurity{Description: ptr("Bearer JWT, the same tokens and tenancy rules as /v1: a hospital reads its own records, auditors read everything.")},
		Interaction: []r4.CapabilityStatementRestInteraction{},
		Operation: []r4.CapabilityStatementRestResourceOperation{{Name: "export", Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
			Documentation: ptr("System export for auditors; Group/{allianceId}/$export for the alliance's lead departments and auditors.")}},
	}
	for _, typ := range Types {
		var rt r4.ResourceType
		if err := rt.UnmarshalJSON([]byte(strconv.Quote(typ))); err != nil {
			continue
		}
		res := r4.CapabilityStatementRestResource{Type: rt, Versioning: ptr(r4.ResourceVersionPolicyVersioned), ReadHistory: ptr(true),
			Interaction: []r4.CapabilityStatementRestResourceInteraction{
				{Code: r4.TypeRestfulInteractionRead}, {Code: r4.TypeRestfulInteractionVread},
				{Code: r4.TypeRestfulInteractionHistoryInstance}, {Code: r4.TypeRestfulInteractionSearchType}},
		}
		switch typ {
		case "ServiceRequest":
			res.Interaction = append(res.Interaction, r4.CapabilityStatementRestResourceInteraction{Code: r4.TypeRestfulInteractionCreate,
				Documentation: ptr("Creates a referral (category referral) or a remote consult (category consult).")})
		case "Task":
			res.Interaction = append(res.Interaction,
				r4.CapabilityStatementRestResourceInteraction{Code: r4.TypeRestfulInteractionCreate, Documentation: ptr("Moves the focal request through its life cycle.")},
				r4.CapabilityStatementRestResourceInteraction{Code: r4.TypeRestfulInteractionUpdate, Documentation: ptr("Moves the focal request through its life cycle.")})
		}
		for _, p := range []struct {
			name string
			typ  r4.SearchParamType
			def  string
		}{
			{"_id", r4.SearchParamTypeToken, "http://hl7.org/fhir/SearchParameter/Resource-id"},
			{"_lastUpdated", r4.SearchParamTypeDate, "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated"},
			{"status", r4.SearchParamTypeToken, ""},
			{"patient", r4.SearchParamTypeToken, ""},
			{"organization", r4.SearchParamTypeReference, ""},
		} {
			sp := r4.CapabilityStatementRestResourceSearchParam{Name: p.name, Type: p.typ}
			if p.def != "" {
				sp.Definition = ptr(p.def)
			}
			res.SearchParam = append(res.SearchParam, sp)
		}
		for _, extra := range SearchParams[typ] {
			res.SearchParam = append(res.SearchParam, r4.CapabilityStatementRestResourceSearchParam{Name: extra, Type: r4.SearchParamTypeReference})
		}
		rest.Resource = append(rest.Resource, res)
	}
	cs.Rest = []r4.CapabilityStatementRest{rest}
	return cs
}
