package projections

import (
	"strconv"
	"strings"
)

// keyspace builds every Redis key and channel name of one key prefix; gen-scoped keys
// carry the generation name after the prefix. The layout is documented in doc.go.
type keyspace struct {
	prefix string
	gen    string
}

func (k keyspace) root() string { return k.prefix + ":" + k.gen + ":" }

// Keys outside any generation.

func currentKey(prefix string) string        { return prefix + ":current" }
func generationChannel(prefix string) string { return prefix + ":generation" }
func checkpointChannel(prefix string) string { return prefix + ":checkpoints" }
func leaseKey(prefix, gen string) string     { return prefix + ":lease:" + gen }

// PlanChannel is the pub/sub channel that carries the global position of every applied
// change to one plan's view, published when the change commits.
func PlanChannel(prefix, planID string) string { return prefix + ":plan-changes:" + planID }

// Keys inside a generation.

func (k keyspace) checkpoint() string { return k.root() + "checkpoint" }

// catchUpTarget holds the head of the log when the projector (re)started on the
// generation: until the checkpoint reaches it, "not found" cannot be trusted.
func (k keyspace) catchUpTarget() string { return k.root() + "catchup" }

// degraded and degradedKeys list the degraded documents (see degraded.go).
func (k keyspace) degraded() string     { return k.root() + "degraded" }
func (k keyspace) degradedKeys() string { return k.root() + "degraded-keys" }

func (k keyspace) hospitals() string { return k.root() + "hospitals" }
func (k keyspace) plan(id string) string {
	return k.root() + "plan:" + id
}
func (k keyspace) hospitalPlans(h string) string { return k.root() + "hospital:" + h + ":plans" }
func (k keyspace) hospitalPlanSummaries(h string) string {
	return k.root() + "hospital:" + h + ":plan-summaries"
}
func (k keyspace) hospitalDispatches(h string) string {
	return k.root() + "hospital:" + h + ":dispatches"
}
func (k keyspace) hospitalConsults(h string) string { return k.root() + "hospital:" + h + ":consults" }
func (k keyspace) alliance(id string) string        { return k.root() + "alliance:" + id }
func (k keyspace) allianceMembers(id string) string { return k.root() + "alliance:" + id + ":members" }
func (k keyspace) allianceProtocols(id string) string {
	return k.root() + "alliance:" + id + ":protocols"
}
func (k keyspace) allianceAdoptions(id string) string {
	return k.root() + "alliance:" + id + ":adoptions"
}
func (k keyspace) allianceConsultQueue(id string) string {
	return k.root() + "alliance:" + id + ":consult-queue"
}
func (k keyspace) allianceConsults(id string) string {
	return k.root() + "alliance:" + id + ":consults"
}
func (k keyspace) dispatch(id string) string       { return k.root() + "dispatch:" + id }
func (k keyspace) consult(id string) string        { return k.root() + "consult:" + id }
func (k keyspace) expertCalendar(id string) string { return k.root() + "expert:" + id + ":calendar" }
func (k keyspace) practitioner(id string) string   { return k.root() + "practitioner:" + id }
func (k keyspace) hospitalPractitioners(h string) string {
	return k.root() + "hospital:" + h + ":practitioners"
}
func (k keyspace) protocolVersionPlans(protocolID string, version int) string {
	return k.root() + "protocol:" + protocolID + ":v" + strconv.Itoa(version) + ":plans"
}

// genPattern matches every key of one generation, for SCAN during cleanup. Glob
// metacharacters in the prefix are escaped so a prefix never matches other prefixes.
func genPattern(prefix, gen string) string {
	return globEscape(prefix+":"+gen) + ":*"
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
