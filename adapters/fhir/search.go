package fhir

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medalliance/allianced/domain"
)

// Query is a parsed type-level search. Every parameter given must match (AND); the
// values of one parameter separated by commas are alternatives (OR).
type Query struct {
	IDs      []string
	Patients []string
	Statuses []string
	Orgs     []string
	Updated  []DateCond
	// Target (Provenance) and Entity (AuditEvent) name a resource as Type/id.
	Target string
	Entity string
	Count  int
	Offset int
}

// DateCond is one _lastUpdated condition: a FHIR prefix and the range its value
// covers at the precision it was written with.
type DateCond struct {
	Prefix string
	Lo, Hi time.Time
}

// Paging bounds.
const (
	DefaultCount = 50
	MaxCount     = 500
	maxOffset    = 1_000_000
)

// SearchParams lists the search parameters of each type (beyond the common ones).
var SearchParams = map[string][]string{
	"Provenance": {"target"},
	"AuditEvent": {"entity"},
}

// commonParams are accepted on every type.
var commonParams = []string{"_id", "patient", "status", "organization", "_lastUpdated", "_count", "_offset", "_format", "minPosition"}

// ParseQuery reads a search of typ from its query string; an unknown parameter or a
// malformed value is invalid_input (the client learns its search was not understood,
// rather than getting everything).
func ParseQuery(typ string, v url.Values) (Query, error) {
	q := Query{Count: DefaultCount}
	for name, vals := range v {
		if !slices.Contains(commonParams, name) && !slices.Contains(SearchParams[typ], name) {
			return q, domain.Errorf(domain.CodeInvalidInput, "unknown search parameter %q for %s", truncate(name, 40), typ)
		}
		for _, val := range vals {
			if len(val) > 512 {
				return q, domain.Errorf(domain.CodeInvalidInput, "the value of %s is too long", name)
			}
			list := splitList(val)
			switch name {
			case "_id":
				q.IDs = append(q.IDs, list...)
			case "patient":
				for _, p := range list {
					p = strings.TrimPrefix(p, SysPatientRef+"|")
					p = strings.TrimPrefix(p, "Patient/")
					if !strings.HasPrefix(p, "pr_") {
						return q, domain.Errorf(domain.CodeInvalidInput, "patient is a pseudonymous patient reference (pr_..., optionally %s|pr_...), never a record number", SysPatientRef)
					}
					q.Patients = append(q.Patients, p)
				}
			case "status":
				q.Statuses = append(q.Statuses, list...)
			case "organization":
				for _, o := range list {
					q.Orgs = append(q.Orgs, strings.TrimPrefix(o, "Organization/"))
				}
			case "_lastUpdated":
				c, err := parseDateCond(val)
				if err != nil {
					return q, err
				}
				q.Updated = append(q.Updated, c)
			case "_count":
				n, err := strconv.Atoi(val)
				if err != nil || n < 0 {
					return q, domain.Errorf(domain.CodeInvalidInput, "_count must be a non-negative number")
				}
				q.Count = min(n, MaxCount)
			case "_offset":
				n, err := strconv.Atoi(val)
				if err != nil || n < 0 || n > maxOffset {
					return q, domain.Errorf(domain.CodeInvalidInput, "_offset must be a number from 0 to %d", maxOffset)
				}
				q.Offset = n
			case "target":
				q.Target = val
			case "entity":
				q.Entity = val
			case "minPosition":
				// As on /v1; a search always reads at the log's head, which is past any
				// position a command returned.
				if _, err := strconv.ParseUint(val, 10, 64); err != nil {
					return q, domain.Errorf(domain.CodeInvalidInput, "minPosition must be a non-negative integer")
				}
			case "_format":
				if f := strings.ToLower(val); f != "json" && !strings.Contains(f, "json") {
					return q, domain.Errorf(domain.CodeInvalidInput, "only JSON is served (_format=json)")
				}
			}
		}
	}
	return q, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseDateCond reads "[prefix]date" with a date of any FHIR precision.
func parseDateCond(v string) (DateCond, error) {
	c := DateCond{Prefix: "eq"}
	if len(v) >= 2 {
		switch p := v[:2]; p {
		case "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb":
			c.Prefix, v = p, v[2:]
		}
	}
	bad := domain.Errorf(domain.CodeInvalidInput, "_lastUpdated must be a FHIR date or dateTime with an optional prefix (eq, ne, gt, lt, ge, le, sa, eb)")
	layouts := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{time.RFC3339, func(t time.Time) time.Time { return t.Add(time.Second) }},
	}
	for _, l := range layouts {
		if t, err := time.Parse(l.layout, v); err == nil {
			c.Lo, c.Hi = t.UTC(), l.next(t).UTC()
			return c, nil
		}
	}
	return c, bad
}

// matches reports whether t satisfies the condition.
func (c DateCond) matches(t time.Time) bool {
	switch c.Prefix {
	case "ne":
		return t.Before(c.Lo) || !t.Before(c.Hi)
	case "gt", "sa":
		return !t.Before(c.Hi)
	case "ge":
		return !t.Before(c.Lo)
	case "lt", "eb":
		return t.Before(c.Lo)
	case "le":
		return t.Before(c.Hi)
	}
	return !t.Before(c.Lo) && t.Before(c.Hi)
}

// Match reports whether a resource satisfies every condition of the query (paging
// aside; Target and Entity are applied by the caller, who reads their sources).
func (q Query) Match(r Resource) bool {
	if len(q.IDs) > 0 && !slices.Contains(q.IDs, r.ID) {
		return false
	}
	if len(q.Patients) > 0 && (r.Patient == "" || !slices.Contains(q.Patients, r.Patient)) {
		return false
	}
	if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, r.Status) {
		return false
	}
	if len(q.Orgs) > 0 && !slices.ContainsFunc(q.Orgs, func(o string) bool { return slices.Contains(r.Orgs, o) }) {
		return false
	}
	for _, c := range q.Updated {
		if !c.matches(r.Updated) {
			return false
		}
	}
	return true
}
