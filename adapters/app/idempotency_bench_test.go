package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/domain"
)

// BenchmarkKeyedCommand measures a command on an existing aggregate (a department added
// to one of 64 hospitals, embedded store) without an Idempotency-Key, and with one bound
// to its request, which claims the key in its own stream first (one more append):
//
//	go test ./adapters/app/ -run '^$' -bench KeyedCommand -count 5
func BenchmarkKeyedCommand(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		b.Run(fmt.Sprintf("keyed=%v", keyed), func(b *testing.B) {
			st := mustOpenStore(b)
			pseudo, _ := app.NewPseudonymizer([]byte("pseudonym-key-for-benchmarks-0123456789"))
			a := app.New(app.Config{Store: st, Pseudonymizer: pseudo})
			ctx := context.Background()
			admin := app.Call{Actor: domain.Actor{HospitalID: "01J000000000000000000000AD", UserID: "bench", Role: "admin"}}
			ids := make([]string, 64)
			for i := range ids {
				o, err := a.RegisterHospital(ctx, admin, app.RegisterHospitalInput{Name: "医院", RegionCode: "310101", Level: domain.LevelSecondary})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = o.ID
			}
			b.ResetTimer()
			for i := range b.N {
				call := admin
				if keyed {
					call.IdempotencyKey = fmt.Sprintf("k-%d", i)
					call.Operation = "POST /v1/hospitals/:id/departments"
					call.RequestDigest = fmt.Sprintf("%064x", i)
				}
				if _, err := a.AddDepartment(ctx, call, app.AddDepartmentInput{HospitalID: ids[i%len(ids)], ID: fmt.Sprintf("d%d", i), Name: "科室"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
