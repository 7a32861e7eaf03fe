package eventstore_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// benchRecords returns n stored records as the service writes them: a full envelope
// (ids, time, actor, correlation, chained hash) and a plan or hospital payload.
func benchRecords(n int) []eventstore.RecordedEvent {
	recs := make([]eventstore.RecordedEvent, n)
	prev := ""
	at := time.Date(2026, 11, 23, 8, 30, 0, 123456789, time.UTC)
	for i := range recs {
		var ev domain.Event
		if i%2 == 0 {
			ev = domain.PlanStepCompleted{PlanID: ulid.Make().String(), StepID: fmt.Sprintf("step-%d", i),
				HospitalID: "01JHOSPITAL000000000000000", DepartmentID: "oncology", UserID: "u-1042",
				AdministeredDose: "75 mg/m² 顺铂", Notes: "患者耐受良好，无明显不良反应", At: at}
		} else {
			ev = domain.HospitalDepartmentAdded{HospitalID: "01JHOSPITAL000000000000000",
				Department: domain.Department{ID: fmt.Sprintf("dept-%d", i), Name: "心血管内科" + strings.Repeat("科", 60)}}
		}
		typ, schema, data, err := domain.EncodeEvent(ev)
		if err != nil {
			panic(err)
		}
		stream := "plan-" + ulid.Make().String()
		env := domain.Envelope{EventID: ulid.Make(), Type: typ, SchemaVersion: schema, Stream: stream,
			StreamVersion: uint64(i), OccurredAt: at.Add(time.Duration(i) * time.Millisecond),
			Actor:         domain.Actor{HospitalID: "01JHOSPITAL000000000000000", DepartmentID: "oncology", UserID: "u-1042", Role: "clinician"},
			CorrelationID: ulid.Make().String(), CausationID: ulid.Make().String(), PrevHash: prev}
		md, err := json.Marshal(env)
		if err != nil {
			panic(err)
		}
		prev = eventstore.ChainHash(md, data)
		recs[i] = eventstore.RecordedEvent{ID: env.EventID, Stream: stream, Version: uint64(i),
			Position: eventstore.Position(i + 1), Type: typ, Data: data, Metadata: md}
	}
	return recs
}

// BenchmarkDecode compares ways of decoding stored records side by side; one op is one
// record.
func BenchmarkDecode(b *testing.B) {
	recs := benchRecords(1024)
	cases := []struct {
		name string
		fn   func(r eventstore.RecordedEvent) error
	}{
		{"stdlib/envelope+payload", func(r eventstore.RecordedEvent) error {
			var env domain.Envelope
			if err := json.Unmarshal(r.Metadata, &env); err != nil {
				return err
			}
			_, err := domain.DecodeEvent(r.Type, env.SchemaVersion, r.Data)
			return err
		}},
		{"stdlib/envelope-only", func(r eventstore.RecordedEvent) error {
			var env domain.Envelope
			return json.Unmarshal(r.Metadata, &env)
		}},
		{"stdlib/payload-only", func(r eventstore.RecordedEvent) error {
			_, err := domain.DecodeEvent(r.Type, 1, r.Data)
			return err
		}},
		{"fast/envelope-only", func(r eventstore.RecordedEvent) error {
			var env domain.Envelope
			return eventstore.UnmarshalJSON(r.Metadata, &env)
		}},
		{"fast/payload-only", func(r eventstore.RecordedEvent) error {
			_, err := eventstore.DecodeEvent(r.Type, 1, r.Data)
			return err
		}},
		{"Decode", func(r eventstore.RecordedEvent) error {
			_, _, err := eventstore.Decode(r)
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := c.fn(recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkDecodeAll decodes pages of 2048 records with DecodeAll; one op is one record,
// so ns/op compares directly with BenchmarkDecode.
func BenchmarkDecodeAll(b *testing.B) {
	recs := benchRecords(2048)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n%len(recs) == 0 {
			for _, d := range eventstore.DecodeAll(recs) {
				if d.Err != nil {
					b.Fatal(d.Err)
				}
			}
		}
		n++
	}
}
