package eventstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// benchStreams is how many hospital streams of 50 events the command benchmarks spread over.
const benchStreams = 256

// seedHospitals writes n hospitals of events events each, one append per stream.
func seedHospitals(b *testing.B, c *eventstore.Commands, n, events int) []string {
	b.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = ulid.Make().String()
		evs := []domain.Event{domain.HospitalRegistered{HospitalID: ids[i], Name: "上海市第六人民医院", RegionCode: "310104",
			Level: domain.LevelTertiary, Departments: []domain.Department{{ID: "haem", Name: "血液科"}}}}
		for d := 1; d < events; d++ {
			evs = append(evs, domain.HospitalDepartmentAdded{HospitalID: ids[i], Department: domain.Department{ID: fmt.Sprintf("d%03d", d), Name: "科室"}})
		}
		_, err := eventstore.Handle(context.Background(), c, domain.HospitalStream(ids[i]), cacheMeta(""), nil,
			func(domain.Hospital) ([]domain.Event, error) { return evs, nil })
		if err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	return ids
}

// BenchmarkHandle runs commands through Handle on streams of 50 events, with the cache
// off (every command folds the whole stream) and on (it reads only the delta), 64
// goroutines at once:
//   - decide: the command decides nothing to append, so an op is load + decide, the
//     CPU the cache saves;
//   - append: each command adds a department with a durable append (streams grow a
//     little as the benchmark runs).
func BenchmarkHandle(b *testing.B) {
	for _, kind := range []string{"decide", "append"} {
		for _, cache := range []struct {
			name string
			size int
		}{{"cache=off", 0}, {"cache=on", eventstore.DefaultCacheStreams}} {
			b.Run(kind+"/"+cache.name, func(b *testing.B) {
				st := openStore(b)
				c := eventstore.NewCommands(st, eventstore.WithCacheSize(cache.size))
				ids := seedHospitals(b, c, benchStreams, 50)
				var n atomic.Uint64
				b.SetParallelism(32)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					ctx := context.Background()
					for pb.Next() {
						i := n.Add(1)
						id := ids[i%benchStreams]
						dept := ""
						if kind == "append" {
							dept = fmt.Sprintf("b%d", i)
						}
						_, err := eventstore.Handle(ctx, c, domain.HospitalStream(id), cacheMeta(""), nil, func(s domain.Hospital) ([]domain.Event, error) {
							if dept == "" {
								return nil, nil
							}
							return domain.DecideHospital(s, domain.AddDepartment{HospitalID: id, Department: domain.Department{ID: dept, Name: "科室"}})
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
