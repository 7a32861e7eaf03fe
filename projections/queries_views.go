package projections

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// getJSON queues a GET or HGET of a JSON document and returns its decoder.
func getJSON[T any](pipe redis.Pipeliner, ref docRef, out *T, what string) func() error {
	var cmd *redis.StringCmd
	if ref.field == "" {
		cmd = pipe.Get(context.Background(), ref.key)
	} else {
		cmd = pipe.HGet(context.Background(), ref.key, ref.field)
	}
	return func() error {
		data, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			return notFound("%s not found", what)
		}
		if err != nil {
			return unavailable(err)
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("view %s is malformed: %w", ref.key, err)
		}
		return nil
	}
}

// decodeAll decodes every value of a hash into a slice.
func decodeAll[T any](vals []string, key string) ([]T, error) {
	out := make([]T, 0, len(vals))
	for _, v := range vals {
		var t T
		if err := json.Unmarshal([]byte(v), &t); err != nil {
			return nil, fmt.Errorf("view %s is malformed: %w", key, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func hashValues(cmd *redis.MapStringStringCmd) ([]string, error) {
	m, err := cmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	vals := make([]string, 0, len(m))
	for _, v := range m {
		vals = append(vals, v)
	}
	return vals, nil
}

// Plan returns a plan's view JSON and the facts needed to authorize reading it.
//
// The common case is one round trip, an HGET of the position while this process holds
// the plan's current document, else an HMGET (see planFast); the consistent MULTI/EXEC
// read runs when the fast path cannot answer: the generation is not known, minPos is beyond
// the checkpoint known in-process (the read must wait), or the plan was not found.
func (q *Queries) Plan(ctx context.Context, planID string, minPos eventstore.Position) (PlanDoc, error) {
	if doc, ok, err := q.planFast(ctx, planID, minPos); ok || err != nil {
		return doc, err
	}
	var doc PlanDoc
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		cmd := pipe.HMGet(ctx, ks.plan(planID), planFields...)
		return func() error {
			vals, err := cmd.Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return unavailable(err)
			}
			var found bool
			var degraded string
			if doc, found, degraded = planDocOf(vals); degraded != "" {
				return degradedError(degraded)
			} else if !found {
				return notFound("plan %s not found", planID)
			}
			return nil
		}
	})
	return doc, err
}

// planFields are the fields of the plan hash that Plan reads, in planDocOf's order.
var planFields = []string{"json", "responsible", "lead", "leadDepartment", "alliance", "version", "position", "degraded", "holders"}

// planDocOf decodes an HMGET of planFields; found is false when the hash holds no JSON,
// degraded is the plan's Degradation (JSON) when it is degraded.
func planDocOf(vals []any) (doc PlanDoc, found bool, degraded string) {
	if len(vals) != len(planFields) {
		return PlanDoc{}, false, ""
	}
	str := func(i int) string {
		s, _ := vals[i].(string)
		return s
	}
	if d := str(7); d != "" {
		return PlanDoc{}, false, d
	}
	data := str(0)
	if data == "" {
		return PlanDoc{}, false, ""
	}
	v, _ := strconv.ParseUint(str(5), 10, 64)
	p, _ := strconv.ParseUint(str(6), 10, 64)
	var holders []string
	if h := str(8); h != "" {
		holders = strings.Split(h, ",")
	}
	return PlanDoc{JSON: []byte(data), Responsible: str(1), Lead: str(2), LeadDepartment: str(3), AllianceID: str(4),
		Version: v, Position: eventstore.Position(p), FormerHolders: holders}, true, ""
}

// HospitalPlans returns the plans a hospital leads or is responsible for, the one whose
// next step is due first first (plans with nothing pending last).
func (q *Queries) HospitalPlans(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]PlanSummary, error) {
	var out []PlanSummary
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		order := pipe.ZRange(ctx, ks.hospitalPlans(hospitalID), 0, -1)
		sums := pipe.HGetAll(ctx, ks.hospitalPlanSummaries(hospitalID))
		return func() error {
			ids, err := order.Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return unavailable(err)
			}
			m := sums.Val()
			out = make([]PlanSummary, 0, len(ids))
			for _, id := range ids {
				var s PlanSummary
				if err := json.Unmarshal([]byte(m[id]), &s); err != nil {
					return fmt.Errorf("plan summary %s is malformed: %w", id, err)
				}
				out = append(out, s)
			}
			return nil
		}
	})
	return out, err
}

// HospitalDispatches returns the dispatches a hospital requested or (as the lead)
// serves, by window start.
func (q *Queries) HospitalDispatches(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]DispatchView, error) {
	var out []DispatchView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		cmd := pipe.HGetAll(ctx, ks.hospitalDispatches(hospitalID))
		return func() error {
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			if out, err = decodeAll[DispatchView](vals, "dispatches"); err != nil {
				return err
			}
			slices.SortFunc(out, func(a, b DispatchView) int {
				return cmp.Or(a.Window.Start.Compare(b.Window.Start), cmp.Compare(a.DispatchID, b.DispatchID))
			})
			return nil
		}
	})
	return out, err
}

// HospitalConsults returns the consults a hospital requested (role "requested") and,
// for a lead hospital, received (role "received"), by response deadline; Overdue is
// computed with the Queries clock.
func (q *Queries) HospitalConsults(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]ConsultSummary, error) {
	var out []ConsultSummary
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		cmd := pipe.HGetAll(ctx, ks.hospitalConsults(hospitalID))
		return func() error {
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			if out, err = decodeAll[ConsultSummary](vals, "consults"); err != nil {
				return err
			}
			sortConsults(out, now)
			return nil
		}
	})
	return out, err
}

func sortConsults(list []ConsultSummary, now time.Time) {
	for i := range list {
		c := &list[i]
		c.Overdue = consultOverdue(c.Status, c.OpinionGivenAt, c.Deadline, now)
	}
	slices.SortFunc(list, func(a, b ConsultSummary) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.ConsultID, b.ConsultID))
	})
}

// Hospital returns one hospital's directory entry.
func (q *Queries) Hospital(ctx context.Context, id string, minPos eventstore.Position) (HospitalView, error) {
	var h HospitalView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		return both(readDegraded(pipe, ks, []docRef{hospitalRef(ks, id)}, nil), getJSON(pipe, hospitalRef(ks, id), &h, "hospital "+id))
	})
	return h, err
}

// Hospitals returns the hospital directory, by name.
func (q *Queries) Hospitals(ctx context.Context, minPos eventstore.Position) ([]HospitalView, error) {
	var out []HospitalView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		degraded := readDegraded(pipe, ks, nil, []string{ks.hospitals()})
		cmd := pipe.HGetAll(ctx, ks.hospitals())
		return func() error {
			if err := degraded(); err != nil {
				return err
			}
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			if out, err = decodeAll[HospitalView](vals, "hospitals"); err != nil {
				return err
			}
			slices.SortFunc(out, func(a, b HospitalView) int {
				return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.HospitalID, b.HospitalID))
			})
			return nil
		}
	})
	return out, err
}

// Alliance returns an alliance's header, including its lead.
func (q *Queries) Alliance(ctx context.Context, id string, minPos eventstore.Position) (AllianceView, error) {
	var a AllianceView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		return both(readDegraded(pipe, ks, []docRef{allianceRef(ks, id)}, nil), getJSON(pipe, allianceRef(ks, id), &a, "alliance "+id))
	})
	return a, err
}

// allianceList reads an alliance's header (for not_found) and one of its hashes.
func allianceList[T any](q *Queries, ctx context.Context, id string, minPos eventstore.Position, key func(keyspace) string,
	sortFn func(a, b T) int) ([]T, AllianceView, error) {
	var out []T
	var a AllianceView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		degraded := readDegraded(pipe, ks, []docRef{allianceRef(ks, id)}, []string{key(ks)})
		head := getJSON(pipe, allianceRef(ks, id), &a, "alliance "+id)
		cmd := pipe.HGetAll(ctx, key(ks))
		return func() error {
			if err := degraded(); err != nil {
				return err
			}
			if err := head(); err != nil {
				return err
			}
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			if out, err = decodeAll[T](vals, key(ks)); err != nil {
				return err
			}
			slices.SortFunc(out, sortFn)
			return nil
		}
	})
	return out, a, err
}

// AllianceMembers returns an alliance's roster in admission order.
func (q *Queries) AllianceMembers(ctx context.Context, allianceID string, minPos eventstore.Position) ([]MemberView, error) {
	out, _, err := allianceList(q, ctx, allianceID, minPos, func(ks keyspace) string { return ks.allianceMembers(allianceID) },
		func(a, b MemberView) int {
			return cmp.Or(a.AdmittedAt.Compare(b.AdmittedAt), cmp.Compare(a.HospitalID, b.HospitalID))
		})
	return out, err
}

// AllianceProtocols returns an alliance's protocol catalogue with every version and the
// current one, in drafting order.
func (q *Queries) AllianceProtocols(ctx context.Context, allianceID string, minPos eventstore.Position) ([]ProtocolView, error) {
	out, _, err := allianceList(q, ctx, allianceID, minPos, func(ks keyspace) string { return ks.allianceProtocols(allianceID) },
		func(a, b ProtocolView) int {
			return cmp.Or(a.DraftedAt.Compare(b.DraftedAt), cmp.Compare(a.ProtocolID, b.ProtocolID))
		})
	return out, err
}

// Adoption cell statuses.
const (
	CellNotAdopted = "not_adopted"
	CellUpToDate   = "up_to_date"
	CellBehind     = "behind"
	CellWithdrawn  = "withdrawn"
	// CellVersionWithdrawn says the member still follows a version the lead withdrew for
	// safety: it outranks behind and up to date, since it is what the lead must act on.
	CellVersionWithdrawn = "version_withdrawn"
)

// AdoptionMatrix returns, for every admitted member (any status) and every protocol of
// the alliance, the adopted version, whether it is the latest published one, and the
// declared local deviations.
func (q *Queries) AdoptionMatrix(ctx context.Context, allianceID string, minPos eventstore.Position) (AdoptionMatrix, error) {
	var mx AdoptionMatrix
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		var a AllianceView
		degraded := readDegraded(pipe, ks, []docRef{allianceRef(ks, allianceID)},
			[]string{ks.allianceMembers(allianceID), ks.allianceProtocols(allianceID), ks.allianceAdoptions(allianceID)})
		head := both(degraded, getJSON(pipe, allianceRef(ks, allianceID), &a, "alliance "+allianceID))
		members := pipe.HGetAll(ctx, ks.allianceMembers(allianceID))
		protocols := pipe.HGetAll(ctx, ks.allianceProtocols(allianceID))
		adoptions := pipe.HGetAll(ctx, ks.allianceAdoptions(allianceID))
		return func() error {
			if err := head(); err != nil {
				return err
			}
			mv, err := hashValues(members)
			if err != nil {
				return err
			}
			ms, err := decodeAll[MemberView](mv, "members")
			if err != nil {
				return err
			}
			pv, err := hashValues(protocols)
			if err != nil {
				return err
			}
			ps, err := decodeAll[ProtocolView](pv, "protocols")
			if err != nil {
				return err
			}
			slices.SortFunc(ms, func(a, b MemberView) int {
				return cmp.Or(a.AdmittedAt.Compare(b.AdmittedAt), cmp.Compare(a.HospitalID, b.HospitalID))
			})
			slices.SortFunc(ps, func(a, b ProtocolView) int {
				return cmp.Or(a.DraftedAt.Compare(b.DraftedAt), cmp.Compare(a.ProtocolID, b.ProtocolID))
			})
			adopted := adoptions.Val()
			mx = AdoptionMatrix{AllianceID: allianceID, Protocols: make([]ProtocolRef, 0, len(ps)), Rows: make([]AdoptionRow, 0, len(ms))}
			for _, p := range ps {
				mx.Protocols = append(mx.Protocols, ProtocolRef{ProtocolID: p.ProtocolID, Title: p.Title, LatestVersion: p.CurrentVersion, Retired: p.Retired})
			}
			through, via, err := throughRows(ms, adopted)
			if err != nil {
				return err
			}
			ms = append(ms, through...)
			for _, m := range ms {
				row := AdoptionRow{HospitalID: m.HospitalID, HospitalName: m.HospitalName, Tier: m.Tier, MemberStatus: m.Status,
					ViaAllianceID: via[m.HospitalID], Cells: make([]AdoptionCell, 0, len(ps))}
				for _, p := range ps {
					cell := AdoptionCell{ProtocolID: p.ProtocolID, LatestVersion: p.CurrentVersion, Status: CellNotAdopted,
						Deviations: []domain.LocalDeviation{}}
					if raw, ok := adopted[p.ProtocolID+":"+m.HospitalID]; ok {
						var ad AdoptionView
						if err := json.Unmarshal([]byte(raw), &ad); err != nil {
							return fmt.Errorf("adoption view is malformed: %w", err)
						}
						cell.AdoptedVersion, cell.Deviations = ad.Version, ad.Deviations
						switch {
						case ad.Status == domain.AdoptionStatusWithdrawn:
							cell.Status = CellWithdrawn
						case versionWithdrawn(p, ad.Version):
							cell.Status = CellVersionWithdrawn
						case ad.Version >= p.CurrentVersion:
							cell.Status = CellUpToDate
						default:
							cell.Status = CellBehind
						}
					}
					row.Cells = append(row.Cells, cell)
				}
				mx.Rows = append(mx.Rows, row)
			}
			return nil
		}
	})
	return mx, err
}

// versionWithdrawn reports whether version n of protocol p was withdrawn for safety.
func versionWithdrawn(p ProtocolView, n int) bool {
	for _, v := range p.Versions {
		if v.Version == n {
			return v.Status == domain.VersionStatusWithdrawn
		}
	}
	return false
}

// AllianceConsults returns an alliance's consults by response deadline. status "open"
// (or "") is the lead's queue: requested and accepted consults; "all" is every consult;
// any other value filters on that status. Overdue is computed from now.
func (q *Queries) AllianceConsults(ctx context.Context, allianceID, status string, now time.Time, minPos eventstore.Position) ([]ConsultSummary, error) {
	var out []ConsultSummary
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		var a AllianceView
		head := both(readDegraded(pipe, ks, []docRef{allianceRef(ks, allianceID)}, nil),
			getJSON(pipe, allianceRef(ks, allianceID), &a, "alliance "+allianceID))
		queue := pipe.ZRange(ctx, ks.allianceConsultQueue(allianceID), 0, -1)
		all := pipe.HGetAll(ctx, ks.allianceConsults(allianceID))
		return func() error {
			if err := head(); err != nil {
				return err
			}
			m := all.Val()
			var vals []string
			if status == "" || status == "open" {
				for _, id := range queue.Val() {
					if v, ok := m[id]; ok {
						vals = append(vals, v)
					}
				}
			} else {
				for _, v := range m {
					vals = append(vals, v)
				}
			}
			list, err := decodeAll[ConsultSummary](vals, "consults")
			if err != nil {
				return err
			}
			out = list[:0]
			for _, c := range list {
				if status == "" || status == "open" || status == "all" || c.Status == status {
					out = append(out, c)
				}
			}
			sortConsults(out, now)
			return nil
		}
	})
	return out, err
}

// Consult returns one consult; Overdue is computed with the Queries clock.
func (q *Queries) Consult(ctx context.Context, id string, minPos eventstore.Position) (ConsultView, error) {
	var c ConsultView
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		get := both(readDegraded(pipe, ks, []docRef{consultRef(ks, id)}, nil), getJSON(pipe, consultRef(ks, id), &c, "consult "+id))
		return func() error {
			if err := get(); err != nil {
				return err
			}
			c.Overdue = c.overdueAt(now)
			return nil
		}
	})
	return c, err
}

// Dispatch returns one expert dispatch.
func (q *Queries) Dispatch(ctx context.Context, id string, minPos eventstore.Position) (DispatchView, error) {
	var d DispatchView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		return both(readDegraded(pipe, ks, []docRef{dispatchRef(ks, id)}, nil), getJSON(pipe, dispatchRef(ks, id), &d, "dispatch "+id))
	})
	return d, err
}

// ExpertCalendar returns an expert's live bookings by start (empty for an expert with
// none).
func (q *Queries) ExpertCalendar(ctx context.Context, expertID string, minPos eventstore.Position) ([]CalendarEntry, error) {
	var out []CalendarEntry
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		degraded := readDegraded(pipe, ks, nil, []string{ks.expertCalendar(expertID)})
		cmd := pipe.HGetAll(ctx, ks.expertCalendar(expertID))
		return func() error {
			if err := degraded(); err != nil {
				return err
			}
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			if out, err = decodeAll[CalendarEntry](vals, "calendar"); err != nil {
				return err
			}
			slices.SortFunc(out, func(a, b CalendarEntry) int {
				return cmp.Or(a.Window.Start.Compare(b.Window.Start), cmp.Compare(a.DispatchID, b.DispatchID))
			})
			return nil
		}
	})
	return out, err
}

// Practitioner returns one practitioner's directory entry.
func (q *Queries) Practitioner(ctx context.Context, id string, minPos eventstore.Position) (PractitionerView, error) {
	var p PractitionerView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		return getJSON(pipe, practitionerRef(ks, id), &p, "practitioner "+id)
	})
	return p, err
}

// HospitalPractitioners returns the practitioners registered under a hospital, active
// first, then by name (empty for a hospital with none).
func (q *Queries) HospitalPractitioners(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]PractitionerView, error) {
	var out []PractitionerView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		cmd := pipe.HGetAll(ctx, ks.hospitalPractitioners(hospitalID))
		return func() error {
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			if out, err = decodeAll[PractitionerView](vals, "practitioners"); err != nil {
				return err
			}
			slices.SortFunc(out, func(a, b PractitionerView) int {
				if a.Active != b.Active {
					if a.Active {
						return -1
					}
					return 1
				}
				return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.PractitionerID, b.PractitionerID))
			})
			return nil
		}
	})
	return out, err
}

// PlansOnProtocolVersion returns the ids of the plans following one protocol version,
// sorted (e.g. to flag them when the version is withdrawn).
func (q *Queries) PlansOnProtocolVersion(ctx context.Context, protocolID string, version int, minPos eventstore.Position) ([]string, error) {
	var out []string
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		cmd := pipe.SMembers(ctx, ks.protocolVersionPlans(protocolID, version))
		return func() error {
			ids, err := cmd.Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return unavailable(err)
			}
			slices.Sort(ids)
			out = ids
			return nil
		}
	})
	return out, err
}

// both runs the decoders in order and returns the first error (a degraded check before
// the document's own decoder, so a degraded document never reads as not found).
func both(first, second func() error) func() error {
	return func() error {
		if err := first(); err != nil {
			return err
		}
		return second()
	}
}
