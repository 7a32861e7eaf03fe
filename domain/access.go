package domain

import "time"

// AccessAggregate names the access-log aggregate in the event catalogue.
const AccessAggregate = "access"

// AccessStream is the daily stream of the access log, e.g. access-20261123 (UTC day).
func AccessStream(day time.Time) string { return "access-" + day.UTC().Format("20060102") }

// Access outcomes: whether the read was served, refused, or found nothing.
const (
	AccessAllowed  = "allowed"
	AccessDenied   = "denied"
	AccessNotFound = "not_found"
)

// AccessEntry is one read of a protected resource (a plan, a consult, a dispatch): who
// read which resource, when, and whether it was served. It names the resource by id
// only; no patient data is recorded. Identical reads (same actor, resource, id and
// outcome) within one batch are recorded once, with Count and the last read's time.
type AccessEntry struct {
	Actor    Actor     `json:"actor"`
	Resource string    `json:"resource"` // "plan", "plan-stream", "consult", "dispatch", "hospital-plans", "alliance-consults", ...
	ID       string    `json:"id"`
	Outcome  string    `json:"outcome"`
	At       time.Time `json:"at"`
	// Count is the number of identical reads this entry stands for (0 or 1: one read).
	Count int `json:"count,omitempty"`
	// LastAt is the time of the last of Count reads (zero for a single read).
	LastAt time.Time `json:"lastAt,omitzero"`
}

// Reads returns how many reads the entry stands for.
func (e AccessEntry) Reads() int { return max(e.Count, 1) }

// RecordsAccessed records a batch of reads, so that an auditor sees who read what.
// Batches keep the log cheap at thousands of reads per second.
type RecordsAccessed struct {
	Entries []AccessEntry `json:"entries"`
}

// EventType implements Event.
func (RecordsAccessed) EventType() string { return "RecordsAccessed" }

func init() {
	Register[RecordsAccessed](AccessAggregate, 1, nil)
}
