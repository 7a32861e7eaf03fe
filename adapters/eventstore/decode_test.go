package eventstore_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// sameAsStdlib decodes data into a new T with both decoders and fails unless the
// results (value, and whether there was an error) are identical.
func sameAsStdlib(t *testing.T, typ reflect.Type, data []byte) {
	t.Helper()
	want := reflect.New(typ)
	wantErr := json.Unmarshal(data, want.Interface())
	got := reflect.New(typ)
	gotErr := eventstore.UnmarshalJSON(data, got.Interface())
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%s from %q: error %v, encoding/json says %v", typ, data, gotErr, wantErr)
	}
	if wantErr != nil {
		if wantErr.Error() != gotErr.Error() {
			t.Fatalf("%s from %q: error %q, encoding/json says %q", typ, data, gotErr, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(want.Interface(), got.Interface()) {
		t.Fatalf("%s from %q:\n got %#v\nwant %#v", typ, data, got.Elem().Interface(), want.Elem().Interface())
	}
}

// decodeCases are documents in and out of the canonical shape, for the envelope and
// for events with nested structs, slices, pointers, times and integers.
var decodeCases = []struct {
	name string
	typ  reflect.Type
	data string
}{
	{"envelope canonical", reflect.TypeFor[domain.Envelope](), `{"eventId":"01JDJ8Q5VB0ZQ4W6X2N9M3K7TR","type":"PlanStepCompleted","schemaVersion":1,"stream":"plan-1","streamVersion":7,"occurredAt":"2026-11-23T08:30:00.123456789Z","actor":{"hospitalId":"h1","departmentId":"onc","userId":"u1","role":"clinician"},"correlationId":"c","prevHash":"ab"}`},
	{"envelope spaced", reflect.TypeFor[domain.Envelope](), " {\n \"type\" : \"X\" , \"actor\" : { } }\t"},
	{"envelope case-folded key", reflect.TypeFor[domain.Envelope](), `{"TYPE":"X","Stream":"s"}`},
	{"envelope unknown key", reflect.TypeFor[domain.Envelope](), `{"type":"X","extra":{"a":[1,2,{"b":"}"}]},"stream":"s"}`},
	{"envelope repeated key", reflect.TypeFor[domain.Envelope](), `{"actor":{"userId":"a"},"actor":{"role":"r"}}`},
	{"envelope escaped", reflect.TypeFor[domain.Envelope](), `{"type":"A\u00e9\"b","stream":"\ud800"}`},
	{"envelope null fields", reflect.TypeFor[domain.Envelope](), `{"type":null,"schemaVersion":null,"occurredAt":null,"eventId":null,"actor":null}`},
	{"envelope bad ulid", reflect.TypeFor[domain.Envelope](), `{"eventId":"short"}`},
	{"envelope bad time", reflect.TypeFor[domain.Envelope](), `{"occurredAt":"yesterday"}`},
	{"envelope float version", reflect.TypeFor[domain.Envelope](), `{"schemaVersion":1.0}`},
	{"envelope big version", reflect.TypeFor[domain.Envelope](), `{"schemaVersion":99999999999999999999}`},
	{"envelope negative stream version", reflect.TypeFor[domain.Envelope](), `{"streamVersion":-1}`},
	{"envelope string version", reflect.TypeFor[domain.Envelope](), `{"schemaVersion":"1"}`},
	{"envelope invalid utf8", reflect.TypeFor[domain.Envelope](), "{\"type\":\"a\xffb\"}"},
	{"envelope trailing garbage", reflect.TypeFor[domain.Envelope](), `{"type":"X"} x`},
	{"envelope truncated", reflect.TypeFor[domain.Envelope](), `{"type":"X","actor":{"role":"r"`},
	{"envelope null", reflect.TypeFor[domain.Envelope](), `null`},
	{"envelope array", reflect.TypeFor[domain.Envelope](), `[1]`},
	{"envelope empty", reflect.TypeFor[domain.Envelope](), ``},
	{"step completed", reflect.TypeFor[domain.PlanStepCompleted](), `{"planId":"p","stepId":"s","hospitalId":"h","administeredDose":"75 mg/m² 顺铂","notes":"患者耐受良好","at":"2026-11-23T08:30:00+08:00"}`},
	{"department added", reflect.TypeFor[domain.HospitalDepartmentAdded](), `{"hospitalId":"h","department":{"id":"d","name":"心血管内科"}}`},
	{"hospital registered empty slice", reflect.TypeFor[domain.HospitalRegistered](), `{"hospitalId":"h","departments":[]}`},
	{"hospital registered slice", reflect.TypeFor[domain.HospitalRegistered](), `{"hospitalId":"h","departments":[{"id":"a"},{"id":"b","name":"x"},{"id":"c"},{"id":"d"},{"id":"e"}]}`},
	{"hospital registered null slice", reflect.TypeFor[domain.HospitalRegistered](), `{"departments":null}`},
	{"plan initiated steps with records", reflect.TypeFor[domain.PlanInitiated](), `{"planId":"p","protocolVersion":3,"steps":[{"stepId":"s1","record":{"hospitalId":"h","at":"2026-01-02T03:04:05Z"}},{"stepId":"s2","record":null},{"stepId":"s3","record":{"hospitalId":"h","x":1}}],"startDate":"2026-01-01T00:00:00Z"}`},
	{"plan revised changes", reflect.TypeFor[domain.PlanRevised](), `{"planId":"p","revision":-2,"changes":[{"action":"add","dayOffset":-0,"notes":"a\u4e2db"}],"flagCleared":true}`},
	{"plan revised bad bool", reflect.TypeFor[domain.PlanRevised](), `{"flagCleared":1}`},
	{"hospital registered wrong element", reflect.TypeFor[domain.HospitalRegistered](), `{"departments":[{"id":1}]}`},
}

// TestUnmarshalJSONMatchesStdlib checks the fast decoder against encoding/json on
// canonical and unusual documents, and on every registered event's zero value and
// envelope round trip.
func TestUnmarshalJSONMatchesStdlib(t *testing.T) {
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) { sameAsStdlib(t, c.typ, []byte(c.data)) })
	}
	for _, name := range domain.EventTypes() {
		ev, err := domain.NewEventOfType(name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) { sameAsStdlib(t, reflect.TypeOf(ev), data) })
	}
	for _, r := range benchRecords(64) {
		sameAsStdlib(t, reflect.TypeFor[domain.Envelope](), r.Metadata)
		ev, err := domain.NewEventOfType(r.Type)
		if err != nil {
			t.Fatal(err)
		}
		sameAsStdlib(t, reflect.TypeOf(ev), r.Data)
	}
}

// TestDecodeAllKeepsOrder decodes a page large enough to be split over goroutines and
// checks every result against Decode of the same record, including a bad record.
func TestDecodeAllKeepsOrder(t *testing.T) {
	recs := benchRecords(3000)
	recs[1234].Data = []byte(`{"planId":`)
	got := eventstore.DecodeAll(recs)
	if len(got) != len(recs) {
		t.Fatalf("DecodeAll gave %d results for %d records", len(got), len(recs))
	}
	for i, r := range recs {
		env, ev, err := eventstore.Decode(r)
		if (err == nil) != (got[i].Err == nil) || !reflect.DeepEqual(env, got[i].Envelope) || !reflect.DeepEqual(ev, got[i].Event) {
			t.Fatalf("record %d: DecodeAll gave %+v, Decode gave %+v %v %v", i, got[i], env, ev, err)
		}
		if i == 1234 && domain.ErrorCode(got[i].Err) != domain.CodeInvalidInput {
			t.Fatalf("record %d: error %v, want invalid_input", i, got[i].Err)
		}
		if env.StreamVersion != uint64(i) || !env.OccurredAt.Equal(time.Date(2026, 11, 23, 8, 30, 0, 123456789, time.UTC).Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("record %d: envelope %+v out of order", i, env)
		}
	}
	if len(eventstore.DecodeAll(nil)) != 0 {
		t.Fatal("DecodeAll(nil) is not empty")
	}
}

// FuzzUnmarshalJSON feeds arbitrary bytes to the fast decoder for the envelope and two
// events: it must never panic and must always agree with encoding/json.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, c := range decodeCases {
		f.Add(c.data)
	}
	for _, r := range benchRecords(4) {
		f.Add(string(r.Metadata))
		f.Add(string(r.Data))
	}
	types := []reflect.Type{reflect.TypeFor[domain.Envelope](), reflect.TypeFor[domain.PlanStepCompleted](), reflect.TypeFor[domain.HospitalRegistered](), reflect.TypeFor[domain.PlanInitiated](), reflect.TypeFor[domain.PlanRevised]()}
	f.Fuzz(func(t *testing.T, data string) {
		for _, typ := range types {
			sameAsStdlib(t, typ, []byte(data))
		}
	})
}
