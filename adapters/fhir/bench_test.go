package fhir_test

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/fhir"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// exportFold folds n plans of 12 steps, each handed over and with 4 steps recorded,
// as the bulk export does (KeepChanges), from recorded events.
func exportFold(b testing.TB, n int) *fhir.Fold {
	b.Helper()
	f := fhir.NewFold()
	f.KeepChanges = true
	pos := eventstore.Position(0)
	add := func(stream string, v uint64, ev domain.Event) {
		pos++
		typ, ver, data, err := domain.EncodeEvent(ev)
		if err != nil {
			b.Fatal(err)
		}
		e := env(stream, v, t0, typ)
		e.SchemaVersion = ver
		md, _ := json.Marshal(e)
		f.ApplyRecord(eventstore.RecordedEvent{ID: e.EventID, Stream: stream, Version: v, Position: pos, Type: typ, Data: data, Metadata: md})
	}
	var st []domain.PlanStep
	for i := range 12 {
		st = append(st, domain.PlanStep{StepID: "s" + strconv.Itoa(i), DayOffset: i, DueDate: t0.AddDate(0, 0, i), Activity: "prednisone day " + strconv.Itoa(i),
			Drug: "prednisone", Dose: "100 mg", Route: "oral", Status: domain.StepStatusPending})
	}
	for range n {
		id := ulid.Make().String()
		s := domain.PlanStream(id)
		in := initiated()
		in.PlanID, in.Steps = id, st
		add(s, 0, in)
		add(s, 1, domain.PlanHandedOver{PlanID: id, FromHospitalID: lead, ToHospitalID: member, AdoptedVersion: 1, At: t0})
		for k := range 4 {
			add(s, uint64(2+k), domain.PlanStepCompleted{PlanID: id, StepID: "s" + strconv.Itoa(k), HospitalID: member, AdministeredDose: "100 mg", At: t0.Add(time.Hour)})
		}
	}
	return f
}

// BenchmarkExport is the bulk export's work after reading the log: every CarePlan and
// Provenance of the fold written as NDJSON (reported as resources/s).
func BenchmarkExport(b *testing.B) {
	f := exportFold(b, 2000)
	dir := b.TempDir()
	b.ResetTimer()
	n := 0
	start, cpu0 := time.Now(), cpuTime()
	for b.Loop() {
		sel := fhir.Select(f, "")
		for _, typ := range []string{"CarePlan", "Provenance"} {
			c, err := fhir.WriteNDJSON(filepath.Join(dir, typ+".ndjson"), func(emit func(fhir.Lazy) error) error { return sel.EachLazy(typ, emit) })
			if err != nil {
				b.Fatal(err)
			}
			n += c
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "resources/s")
	// The machines are shared: resources per CPU-second of this process says what the
	// work costs whatever else runs.
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "resources/cpu-s")
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
