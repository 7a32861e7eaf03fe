package projections

import (
	"context"
	"strconv"

	"github.com/medalliance/allianced/projections/report"
	"github.com/redis/go-redis/v9"
)

// Keys of the alliance report (see package report for what is counted and how facts
// are dated):
//
//	report:e:<key>                          Derive's state of one referral, consult, dispatch, plan or catalogue (JSON)
//	report:<a>:<bucket>                     hash: "<scope>|<metric>" -> sum of the counters' facts dated in the bucket
//	report:<a>:g:<bucket>                   hash: "<scope>|<metric>" -> sum of the gauges' facts dated in the bucket
//	report:<a>:<scope>:<bucket>:<sample>    sorted set: sample id -> value (seconds) of the facts dated in the bucket
//	report:<a>:scopes                       set: the hospitals with facts in alliance a
//	report:<a>:years                        set: the years with facts in alliance a (where gauges start summing)
//
// <scope> is a hospital id or "*" (the alliance's totals); <bucket> is a day
// (d2026-11-03), month (m2026-11), quarter (q2026-4) or year (y2026). Every fact is
// added to the four buckets holding its date, in its hospital's scope and in "*", so a
// period cut at any day is the sum of a few buckets; one hash per bucket holds every
// hospital's sums, so a quarter's counters are one read whatever the members; and
// percentiles read the exact samples, by rank.
func (k keyspace) reportEntity(key string) string    { return k.root() + "report:e:" + key }
func (k keyspace) reportBase(alliance string) string { return k.root() + "report:" + alliance + ":" }
func (k keyspace) reportCounters(alliance, bucket string) string {
	return k.reportBase(alliance) + bucket
}
func (k keyspace) reportGauges(alliance, bucket string) string {
	return k.reportBase(alliance) + "g:" + bucket
}
func (k keyspace) reportSamples(alliance, scope, bucket, metric string) string {
	return k.reportBase(alliance) + scope + ":" + bucket + ":" + metric
}

// reportRanked is a bucket's hash of every scope's sample percentiles, kept by
// rankedSampleScript as samples arrive, so a whole-period read is one HMGET.
func (k keyspace) reportRanked(alliance, bucket string) string {
	return k.reportBase(alliance) + "p:" + bucket
}
func (k keyspace) reportScopes(alliance string) string {
	return k.root() + "report:" + alliance + ":scopes"
}
func (k keyspace) reportYears(alliance string) string {
	return k.root() + "report:" + alliance + ":years"
}

// reportNeeds lists the report state documents an event reads, for the batch's prefetch.
func reportNeeds(ks keyspace, e event) []docRef {
	keys := report.Needs(e.ev)
	if len(keys) == 0 {
		return nil
	}
	refs := make([]docRef, len(keys))
	for i, k := range keys {
		refs[i] = docRef{ks.reportEntity(k), ""}
	}
	return refs
}

// batchEntities keeps report.Derive's state as documents of the batch, so it commits
// with the figures and the checkpoint.
type batchEntities struct{ b *batch }

func (be batchEntities) Get(key string) ([]byte, bool, error) {
	e, err := be.b.entry(docRef{be.b.ks.reportEntity(key), ""})
	if err != nil {
		return nil, false, err
	}
	if e.degraded {
		return nil, false, nil
	}
	if raw, ok := e.val.([]byte); ok {
		return raw, true, nil
	}
	return e.raw, e.raw != nil, nil
}

// Put stores Derive's state. It is not counted among the documents the event touched:
// the state is no view a reader sees, it always encodes (flushRaw writes the bytes
// Derive made), and when another document of the event fails, the event is recorded as
// failed and degrades the views' documents only.
func (be batchEntities) Put(key string, doc []byte) error {
	n := len(be.b.touched)
	err := be.b.put(docRef{be.b.ks.reportEntity(key), ""}, doc, flushRaw)
	be.b.touched = be.b.touched[:n]
	return err
}

func flushRaw(pipe redis.Pipeliner, ref docRef, v any) error {
	pipe.Set(context.Background(), ref.key, v.([]byte), 0)
	return nil
}

// applyReport derives the event's facts and adds them to their buckets.
func applyReport(b *batch, e event) error {
	facts, err := report.Derive(batchEntities{b}, e.ev)
	if err != nil || len(facts) == 0 {
		return err
	}
	ks := b.ks
	b.op(func(pipe redis.Pipeliner) {
		ctx := context.Background()
		var ranked rankedSamples
		for _, f := range facts {
			buckets := report.BucketsOf(f.At)
			pipe.SAdd(ctx, ks.reportScopes(f.Alliance), f.Hospital)
			pipe.SAdd(ctx, ks.reportYears(f.Alliance), strconv.Itoa(f.At.Year()))
			for _, scope := range []string{f.Hospital, report.Total} {
				for _, bk := range buckets {
					switch {
					case report.IsSample(f.Metric):
						ranked.add(ks.reportSamples(f.Alliance, scope, bk, f.Metric), ks.reportRanked(f.Alliance, bk),
							scope+"|"+f.Metric, f.Value, f.SampleID)
					case report.IsGauge(f.Metric):
						pipe.HIncrBy(ctx, ks.reportGauges(f.Alliance, bk), scope+"|"+f.Metric, f.Delta)
					default:
						pipe.HIncrBy(ctx, ks.reportCounters(f.Alliance, bk), scope+"|"+f.Metric, f.Delta)
					}
				}
			}
		}
		ranked.queue(ctx, pipe)
	})
	return nil
}

// rankedSampleScript adds samples to their sorted sets and then stores each set's size
// and the values at the report's percentile ranks in its bucket's ranked hash, field
// "<scope>|<metric>" = "n v1 v2 ...". The percentiles are exact (nearest rank, as
// report.RankIndex) and kept with every write, so reading a whole month, quarter or year
// costs one HMGET however many samples it holds; only a period cut at a day ranks the
// samples at read time. One call takes all the samples of an event (a fact lands in
// two scopes and four buckets), so a batch makes few script calls.
//
// KEYS: pairs of (sorted set, ranked hash). ARGV: the number of percentiles, the
// percentiles, then per pair: score, member, field.
var rankedSampleScript = redis.NewScript(`
local np = tonumber(ARGV[1])
local pcts = {}
for i = 1, np do pcts[i] = tonumber(ARGV[1 + i]) end
local a = 2 + np
for k = 1, #KEYS, 2 do
  local z = KEYS[k]
  redis.call('ZADD', z, ARGV[a], ARGV[a + 1])
  local n = redis.call('ZCARD', z)
  local out = tostring(n)
  for _, p in ipairs(pcts) do
    local idx = math.floor((p * n + 99) / 100) - 1
    if idx < 0 then idx = 0 end
    out = out .. ' ' .. redis.call('ZRANGE', z, idx, idx, 'WITHSCORES')[2]
  end
  redis.call('HSET', KEYS[k + 1], ARGV[a + 2], out)
  a = a + 3
end
return 0`)

// rankedSamples gathers an event's samples for one rankedSampleScript call.
type rankedSamples struct {
	keys []string
	args []any
}

func (r *rankedSamples) add(samples, ranked, field string, value int64, id string) {
	r.keys = append(r.keys, samples, ranked)
	r.args = append(r.args, value, id, field)
}

// queue adds the script call to the batch's transaction. EVAL (not EVALSHA) because a
// transaction cannot fall back on NOSCRIPT; the script is short.
func (r *rankedSamples) queue(ctx context.Context, pipe redis.Pipeliner) {
	if len(r.keys) == 0 {
		return
	}
	args := make([]any, 0, 1+len(report.Percentiles)+len(r.args))
	args = append(args, len(report.Percentiles))
	for _, p := range report.Percentiles {
		args = append(args, p)
	}
	rankedSampleScript.Eval(ctx, pipe, r.keys, append(args, r.args...)...)
}
