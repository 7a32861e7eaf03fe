package projections

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections/report"
	"github.com/redis/go-redis/v9"
)

// AllianceReport reads the alliance report of rq from the views: for every hospital
// with figures (or rq.Only) and the totals, the period's buckets up to the cut for the
// counters and samples, and every bucket from the first year with facts up to the cut
// for the gauges. It takes two reads: the scopes and years, then the buckets, in one
// transaction that checks the scopes did not change in between (else it reads again).
func (q *Queries) AllianceReport(ctx context.Context, rq report.Query, minPos eventstore.Position) (report.Report, error) {
	var scopes []string
	var firstYear int
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		sc := pipe.SMembers(ctx, ks.reportScopes(rq.AllianceID))
		yrs := pipe.SMembers(ctx, ks.reportYears(rq.AllianceID))
		return func() error {
			var err error
			scopes, firstYear, err = reportScopes(sc, yrs)
			return err
		}
	})
	if err != nil {
		return report.Report{}, err
	}
	through := rq.Through()
	flow := report.Cover(rq.Period.Start, through)
	var gauge []string
	if firstYear > 0 {
		gauge = report.Cover(time.Date(firstYear, 1, 1, 0, 0, 0, 0, time.UTC), through)
	}
	for range 3 {
		want := []string{report.Total}
		for _, h := range scopes {
			if rq.Rows(h) {
				want = append(want, h)
			}
		}
		raws := map[string]report.Raw{}
		names := map[string]string{}
		var changed bool
		err := q.read(ctx, 0, func(pipe redis.Pipeliner, ks keyspace) func() error {
			sc := pipe.SMembers(ctx, ks.reportScopes(rq.AllianceID))
			yrs := pipe.SMembers(ctx, ks.reportYears(rq.AllianceID))
			type scopeCmds struct {
				flow, gauge []*redis.MapStringStringCmd
				samples     map[string][]*redis.ZSliceCmd
			}
			cmds := make([]scopeCmds, len(want))
			for i, h := range want {
				c := scopeCmds{samples: map[string][]*redis.ZSliceCmd{}}
				for _, bk := range flow {
					c.flow = append(c.flow, pipe.HGetAll(ctx, ks.reportBucket(rq.AllianceID, h, bk)))
					for _, m := range report.SampleMetrics {
						c.samples[m] = append(c.samples[m], pipe.ZRangeWithScores(ctx, ks.reportSamples(rq.AllianceID, h, bk, m), 0, -1))
					}
				}
				for _, bk := range gauge {
					c.gauge = append(c.gauge, pipe.HGetAll(ctx, ks.reportBucket(rq.AllianceID, h, bk)))
				}
				cmds[i] = c
			}
			// The other hospitals' adoption gauges: whether each is on the current
			// versions counts in the totals.
			others := map[string][]*redis.SliceCmd{}
			for _, h := range scopes {
				if rq.Rows(h) {
					continue
				}
				for _, bk := range gauge {
					others[h] = append(others[h], pipe.HMGet(ctx, ks.reportBucket(rq.AllianceID, h, bk), report.GaugeAdoptions, report.GaugeAdoptionsCurrent))
				}
			}
			var nameCmd *redis.SliceCmd
			if len(want) > 1 {
				nameCmd = pipe.HMGet(ctx, ks.hospitals(), want[1:]...)
			}
			return func() error {
				now, fy, err := reportScopes(sc, yrs)
				if err != nil {
					return err
				}
				if fy != firstYear || !slices.Equal(now, scopes) {
					scopes, firstYear, changed = now, fy, true
					return nil
				}
				for i, h := range want {
					r := report.Raw{Counters: map[string]int64{}, Samples: map[string][]int64{}}
					if err := sumBuckets(&r, cmds[i].flow, false); err != nil {
						return err
					}
					if err := sumBuckets(&r, cmds[i].gauge, true); err != nil {
						return err
					}
					for m, zs := range cmds[i].samples {
						for _, z := range zs {
							vals, err := z.Result()
							if err != nil && !errors.Is(err, redis.Nil) {
								return unavailable(err)
							}
							for _, v := range vals {
								r.Samples[m] = append(r.Samples[m], int64(v.Score))
							}
						}
					}
					raws[h] = r
				}
				for h, cs := range others {
					r := report.Raw{Counters: map[string]int64{}}
					for _, c := range cs {
						vals, err := c.Result()
						if err != nil && !errors.Is(err, redis.Nil) {
							return unavailable(err)
						}
						for i, m := range []string{report.GaugeAdoptions, report.GaugeAdoptionsCurrent} {
							if s, ok := vals[i].(string); ok {
								n, err := strconv.ParseInt(s, 10, 64)
								if err != nil {
									return domain.Errorf(domain.CodeInternal, "report bucket field %s holds %q", m, s)
								}
								r.Counters[m] += n
							}
						}
					}
					raws[h] = r
				}
				if nameCmd != nil {
					vals, err := nameCmd.Result()
					if err != nil && !errors.Is(err, redis.Nil) {
						return unavailable(err)
					}
					for i, v := range vals {
						if s, ok := v.(string); ok {
							var hv struct {
								Name string `json:"name"`
							}
							if json.Unmarshal([]byte(s), &hv) == nil {
								names[want[i+1]] = hv.Name
							}
						}
					}
				}
				return nil
			}
		})
		if err != nil {
			return report.Report{}, err
		}
		if changed {
			if firstYear > 0 {
				gauge = report.Cover(time.Date(firstYear, 1, 1, 0, 0, 0, 0, time.UTC), through)
			}
			continue
		}
		rep := report.Assemble(rq, raws)
		for i := range rep.Members {
			rep.Members[i].Name = names[rep.Members[i].HospitalID]
		}
		return rep, nil
	}
	return report.Report{}, domain.Errorf(domain.CodeUnavailable, "the report's figures kept changing while read; try again")
}

// reportScopes decodes the scopes (sorted) and the first year with facts (0 for none).
func reportScopes(sc, yrs *redis.StringSliceCmd) ([]string, int, error) {
	scopes, err := sc.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, unavailable(err)
	}
	sort.Strings(scopes)
	years, err := yrs.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, unavailable(err)
	}
	first := 0
	for _, y := range years {
		if n, err := strconv.Atoi(y); err == nil && (first == 0 || n < first) {
			first = n
		}
	}
	return scopes, first, nil
}

// sumBuckets adds the counters (gauges false) or the gauges (gauges true) of buckets to r.
func sumBuckets(r *report.Raw, cmds []*redis.MapStringStringCmd, gauges bool) error {
	for _, c := range cmds {
		m, err := c.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return unavailable(err)
		}
		for k, v := range m {
			if report.IsGauge(k) != gauges {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return domain.Errorf(domain.CodeInternal, "report bucket field %s holds %q", k, v)
			}
			r.Counters[k] += n
		}
	}
	return nil
}
