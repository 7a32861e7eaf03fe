package projections_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// appendLoad appends plans synthetic plans to the scenario's alliance, each in one
// append of eventsPerPlan events (initiated, handed over to m1, steps completed and, as
// the step list runs out, deviations reported), from workers concurrent writers. It
// returns the number of events appended.
func appendLoad(tb testing.TB, store eventstore.Store, s *scenario, plans, eventsPerPlan, workers int) int {
	tb.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= plans {
					return
				}
				id := newID()
				day := start.AddDate(0, 0, i%90)
				evs := make([]domain.Event, 0, eventsPerPlan)
				steps := planSteps(day)
				evs = append(evs, domain.PlanInitiated{PlanID: id, AllianceID: s.alliance, ProtocolID: s.protocol, ProtocolVersion: 2,
					PatientRef: fmt.Sprintf("pr_%026d", i), StartDate: day, LeadHospitalID: s.lead, LeadDepartmentID: "haematology",
					Steps: steps, At: day})
				if eventsPerPlan > 1 {
					evs = append(evs, domain.PlanHandedOver{PlanID: id, FromHospitalID: s.lead, ToHospitalID: s.m1, AdoptedVersion: 1, At: day})
				}
				for k := 0; len(evs) < eventsPerPlan; k++ {
					if k < len(steps) {
						evs = append(evs, domain.PlanStepCompleted{PlanID: id, StepID: steps[k].StepID, HospitalID: s.m1,
							UserID: "nurse-zhao", At: steps[k].DueDate.Add(9 * time.Hour)})
					} else {
						evs = append(evs, domain.PlanDeviationReported{PlanID: id, DeviationID: fmt.Sprintf("d%d", k), Description: "delay",
							Severity: domain.DeviationSeverityMinor, HospitalID: s.m1, At: day.AddDate(0, 0, k)})
					}
				}
				appendEvents(tb, store, domain.PlanStream(id), s.m1Actor, day, evs...)
			}
		}()
	}
	wg.Wait()
	return plans * eventsPerPlan
}
