package domain_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// fill sets every field of v (recursively) to a non-zero value derived from seed, so a
// round trip through JSON proves each field is encoded and decoded, not just the zero value.
func fill(v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("值-" + strings.Repeat("x", seed%5+1))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(seed + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(seed + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(seed) + 0.5)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{byte(seed), 1, 2})
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), seed+i+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, seed+1)
		fill(e, seed+2)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), seed+1)
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(t0.Add(time.Duration(seed) * time.Hour)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed+i)
			}
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), seed+i)
		}
	}
}

func TestEveryEventRoundTrips(t *testing.T) {
	types := domain.EventTypes()
	if len(types) == 0 {
		t.Fatal("no event types registered")
	}
	for _, name := range types {
		t.Run(name, func(t *testing.T) {
			zero, err := domain.NewEventOfType(name)
			if err != nil {
				t.Fatal(err)
			}
			ptr := reflect.New(reflect.TypeOf(zero))
			fill(ptr.Elem(), 3)
			want := ptr.Elem().Interface().(domain.Event)
			if want.EventType() != name {
				t.Fatalf("EventType() = %q, registered as %q", want.EventType(), name)
			}
			typ, version, data, err := domain.EncodeEvent(want)
			if err != nil {
				t.Fatal(err)
			}
			if typ != name || version < 1 {
				t.Fatalf("encoded as %q v%d", typ, version)
			}
			got, err := domain.DecodeEvent(typ, version, data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip changed the event:\n got  %#v\n want %#v", got, want)
			}
		})
	}
}

func TestEveryAggregateHasEvents(t *testing.T) {
	cat := domain.EventCatalogue()
	for _, agg := range []string{domain.HospitalAggregate, domain.AllianceAggregate, domain.ProtocolAggregate,
		domain.AdoptionAggregate, domain.PlanAggregate, domain.DispatchAggregate, domain.ExpertAggregate, domain.ConsultAggregate} {
		if len(cat[agg]) == 0 {
			t.Errorf("aggregate %q registers no events", agg)
		}
	}
}

// consentNoted is a test-only event whose schema changed: version 1 had a single
// "note" field; version 2 splits it into "summary" and "source".
type consentNoted struct {
	Summary string `json:"summary"`
	Source  string `json:"source"`
}

func (consentNoted) EventType() string { return "TestConsentNoted" }

func init() {
	domain.Register[consentNoted]("test", 2, map[int]domain.Upcaster{
		1: func(old json.RawMessage) (json.RawMessage, error) {
			var v1 struct {
				Note string `json:"note"`
			}
			if err := json.Unmarshal(old, &v1); err != nil {
				return nil, err
			}
			return json.Marshal(consentNoted{Summary: v1.Note, Source: "schema-v1"})
		},
	})
}

func TestDecodeUpcastsOlderSchema(t *testing.T) {
	got, err := domain.DecodeEvent("TestConsentNoted", 1, []byte(`{"note":"written consent on file"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := consentNoted{Summary: "written consent on file", Source: "schema-v1"}
	if got != want {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		version int
		data    string
		want    string // substring of the message
	}{
		{"unknown type", "PatientTeleported", 1, `{}`, `unknown event type "PatientTeleported"`},
		{"future version", "HospitalRegistered", 9, `{}`, "schema version 9"},
		{"version zero", "HospitalRegistered", 0, `{}`, "schema version 0"},
		{"malformed json", "HospitalRegistered", 1, `{"name":`, "malformed payload"},
		{"wrong field type", "HospitalRegistered", 1, `{"name":7}`, "malformed payload"},
		{"upcaster fails", "TestConsentNoted", 1, `[]`, "upcasting from version 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := domain.DecodeEvent(tc.typ, tc.version, []byte(tc.data))
			if err == nil {
				t.Fatal("got no error")
			}
			if code := domain.ErrorCode(err); code != domain.CodeInvalidInput {
				t.Errorf("got code %q, want invalid_input", code)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeEvent feeds arbitrary type names, versions and bytes to the decoder: it must
// return an event or an error, never panic.
func FuzzDecodeEvent(f *testing.F) {
	for _, name := range domain.EventTypes() {
		f.Add(name, 1, []byte(`{}`))
	}
	f.Add("HospitalRegistered", 1, []byte(`{"hospitalId":"01J","departments":[{"id":1}]}`))
	f.Add("TestConsentNoted", 1, []byte(`{"note":null}`))
	f.Add("", -1, []byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, typ string, version int, data []byte) {
		ev, err := domain.DecodeEvent(typ, version, data)
		if err == nil && ev == nil {
			t.Fatal("nil event without an error")
		}
		if err != nil && domain.ErrorCode(err) != domain.CodeInvalidInput {
			t.Fatalf("decode error has code %q, want invalid_input: %v", domain.ErrorCode(err), err)
		}
	})
}
