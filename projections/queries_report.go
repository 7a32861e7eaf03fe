package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections/report"
	"github.com/redis/go-redis/v9"
)

// reportSamplesScript returns every sample value of a period cut at a day (the buckets
// that cover it), per scope and metric, for the reader to rank: the percentiles kept per
// bucket (rankedSampleScript) do not add up across buckets. A whole month, quarter or
// year reads its kept percentiles instead (decodeRankedSamples).
//
// ARGV: the key base ("<root>report:<alliance>:"), then counted lists: the scopes, the
// period's buckets and the sample metrics.
const reportSamplesScript = `
local base = ARGV[1]
local i = 2
local function list()
  local n = tonumber(ARGV[i]); local t = {}
  for k = 1, n do t[k] = ARGV[i + k] end
  i = i + n + 1
  return t
end
local scopes, flow, samples = list(), list(), list()
local out = {}
for _, s in ipairs(scopes) do
  local smp = {}
  for _, m in ipairs(samples) do
    local r = {}
    for _, b in ipairs(flow) do
      local z = redis.call('ZRANGE', base .. s .. ':' .. b .. ':' .. m, 0, -1, 'WITHSCORES')
      for j = 2, #z, 2 do r[#r + 1] = z[j] end
    end
    smp[#smp + 1] = r
  end
  out[#out + 1] = smp
end
return out`

// AllianceReport reads the alliance report of rq from the views: the period's bucket
// hashes up to the cut for the counters (one hash per bucket holds every hospital), every
// gauge bucket from the first year with facts up to the cut, and, for the totals and the
// hospitals with rows, the samples' percentiles (reportSamplesScript). It takes two
// reads: the scopes and years, then the sums, in one transaction that checks the scopes
// did not change in between (else it reads again).
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
	for range 3 {
		var gauge []string
		if firstYear > 0 {
			gauge = report.Cover(time.Date(firstYear, 1, 1, 0, 0, 0, 0, time.UTC), through)
		}
		want := []string{report.Total}
		for _, h := range scopes {
			if rq.Rows(h) {
				want = append(want, h)
			}
		}
		var rep report.Report
		var changed bool
		err := q.read(ctx, 0, func(pipe redis.Pipeliner, ks keyspace) func() error {
			sc := pipe.SMembers(ctx, ks.reportScopes(rq.AllianceID))
			yrs := pipe.SMembers(ctx, ks.reportYears(rq.AllianceID))
			var counters, gauges []*redis.MapStringStringCmd
			for _, bk := range flow {
				counters = append(counters, pipe.HGetAll(ctx, ks.reportCounters(rq.AllianceID, bk)))
			}
			for _, bk := range gauge {
				gauges = append(gauges, pipe.HGetAll(ctx, ks.reportGauges(rq.AllianceID, bk)))
			}
			// A whole period reads its kept percentiles (rankedSampleScript); a period
			// cut at a day ranks its buckets' samples here.
			var samples *redis.Cmd
			var ranked *redis.SliceCmd
			if len(flow) == 1 {
				ranked = pipe.HMGet(ctx, ks.reportRanked(rq.AllianceID, flow[0]), rankedFields(want)...)
			} else {
				args := []any{ks.reportBase(rq.AllianceID)}
				for _, l := range [][]string{want, flow, report.SampleMetrics} {
					args = append(args, len(l))
					for _, v := range l {
						args = append(args, v)
					}
				}
				samples = pipe.Eval(ctx, reportSamplesScript, nil, args...)
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
				raws := map[string]report.Raw{}
				if err := sumReportBuckets(raws, counters); err != nil {
					return err
				}
				if err := sumReportBuckets(raws, gauges); err != nil {
					return err
				}
				if ranked != nil {
					err = decodeRankedSamples(raws, ranked, want)
				} else {
					err = decodeReportSamples(raws, samples, want)
				}
				if err != nil {
					return err
				}
				rep = report.Assemble(rq, raws)
				names, err := hospitalNames(nameCmd, want)
				if err != nil {
					return err
				}
				for i := range rep.Members {
					rep.Members[i].Name = names[rep.Members[i].HospitalID]
				}
				return nil
			}
		})
		if err != nil {
			return report.Report{}, err
		}
		if !changed {
			return rep, nil
		}
	}
	return report.Report{}, domain.Errorf(domain.CodeUnavailable, "the report's figures kept changing while read; try again")
}

// sumReportBuckets adds the "<scope>|<metric>" sums of bucket hashes to raws.
func sumReportBuckets(raws map[string]report.Raw, cmds []*redis.MapStringStringCmd) error {
	for _, c := range cmds {
		m, err := c.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return unavailable(err)
		}
		for k, v := range m {
			scope, metric, ok := strings.Cut(k, "|")
			n, err := strconv.ParseInt(v, 10, 64)
			if !ok || err != nil {
				return domain.Errorf(domain.CodeInternal, "report bucket field %q holds %q", k, v)
			}
			r := raws[scope]
			if r.Counters == nil {
				r.Counters = map[string]int64{}
				raws[scope] = r
			}
			r.Counters[metric] += n
		}
	}
	return nil
}

// rankedFields lists the ranked hash's fields of scopes, scope by scope, metric by metric
// (report.SampleMetrics' order).
func rankedFields(scopes []string) []string {
	fields := make([]string, 0, len(scopes)*len(report.SampleMetrics))
	for _, s := range scopes {
		for _, m := range report.SampleMetrics {
			fields = append(fields, s+"|"+m)
		}
	}
	return fields
}

// decodeRankedSamples adds the ranked hash's values of scopes (rankedFields' order) to
// raws: "n v1 v2 ..." per field, one value per report.Percentiles; a missing field is a
// metric without samples.
func decodeRankedSamples(raws map[string]report.Raw, cmd *redis.SliceCmd, scopes []string) error {
	vals, err := cmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return unavailable(err)
	}
	if len(vals) != len(scopes)*len(report.SampleMetrics) {
		return domain.Errorf(domain.CodeInternal, "the report's ranked samples: %d fields for %d scopes", len(vals), len(scopes))
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // no sample of this metric in the period
		}
		scope, metric := scopes[i/len(report.SampleMetrics)], report.SampleMetrics[i%len(report.SampleMetrics)]
		parts := strings.Fields(str)
		n, err := strconv.Atoi(parts[0])
		if err != nil || n < 1 || len(parts) != 1+len(report.Percentiles) {
			return domain.Errorf(domain.CodeInternal, "the report's ranked sample %s|%s holds %q", scope, metric, str)
		}
		rk := report.Ranked{N: n, Values: map[int]int64{}}
		for k, p := range report.Percentiles {
			f, err := strconv.ParseFloat(parts[1+k], 64)
			if err != nil {
				return domain.Errorf(domain.CodeInternal, "the report's ranked sample %s|%s holds %q", scope, metric, str)
			}
			rk.Values[p] = int64(f)
		}
		r := raws[scope]
		if r.Ranked == nil {
			r.Ranked = map[string]report.Ranked{}
		}
		r.Ranked[metric] = rk
		raws[scope] = r
	}
	return nil
}

// decodeReportSamples adds reportSamplesScript's answer for scopes to raws.
func decodeReportSamples(raws map[string]report.Raw, cmd *redis.Cmd, scopes []string) error {
	v, err := cmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return unavailable(err)
	}
	bad := func(what string) error {
		return domain.Errorf(domain.CodeInternal, "the report's samples are malformed: %s", what)
	}
	entries, _ := v.([]any)
	if len(entries) != len(scopes) {
		return bad("scope count")
	}
	for i, e := range entries {
		metrics, ok := e.([]any)
		if !ok || len(metrics) != len(report.SampleMetrics) {
			return bad("metric count")
		}
		r := raws[scopes[i]]
		for j, m := range metrics {
			vals, ok := m.([]any)
			if !ok {
				return bad("sample")
			}
			metric := report.SampleMetrics[j]
			nums := make([]int64, 0, len(vals))
			for _, x := range vals {
				f, err := strconv.ParseFloat(fmt.Sprint(x), 64)
				if err != nil {
					return bad("sample value")
				}
				nums = append(nums, int64(f))
			}
			if len(nums) > 0 {
				if r.Samples == nil {
					r.Samples = map[string][]int64{}
				}
				r.Samples[metric] = nums
			}
		}
		raws[scopes[i]] = r
	}
	return nil
}

// hospitalNames reads the directory's names of ids[1:] (ids[0] is the totals' scope).
func hospitalNames(cmd *redis.SliceCmd, ids []string) (map[string]string, error) {
	names := map[string]string{}
	if cmd == nil {
		return names, nil
	}
	vals, err := cmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			var hv struct {
				Name string `json:"name"`
			}
			if json.Unmarshal([]byte(s), &hv) == nil {
				names[ids[i+1]] = hv.Name
			}
		}
	}
	return names, nil
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
