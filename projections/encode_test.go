package projections_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// samplePlan returns a plan view of n steps shaped like the command load's: Chinese
// activities and notes, characters encoding/json escapes, half the steps completed.
func samplePlan(n int) projections.PlanView {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	p := projections.PlanView{PlanID: "01JPLAN0000000000000000000", AllianceID: "01JALLIANCE000000000000000",
		PatientRef: "pt-7f3a9c", Lead: projections.LeadView{HospitalID: "h-1", DepartmentID: "onc"},
		Protocol:              projections.PlanProtocolRef{ProtocolID: "p-1", Version: 2, Title: "乳腺癌 AC-T <辅助> & 化疗", ContentHash: "abc123"},
		ResponsibleHospitalID: "h-1", Status: domain.PlanStatusActive, StartDate: start,
		Revisions: []projections.PlanRevisionView{}, Deviations: []projections.PlanDeviationView{},
		Flags: []projections.PlanFlagView{}, Handovers: []projections.PlanTransferView{},
		Escalations: []projections.PlanTransferView{}, InitiatedAt: start.Add(time.Hour), Version: 3, Position: 99}
	for i := range n {
		s := domain.PlanStep{StepID: fmt.Sprintf("step-%02d", i), DayOffset: i * 7, DueDate: start.AddDate(0, 0, i*7),
			Activity: "第" + fmt.Sprint(i+1) + "周期 多柔比星+环磷酰胺 静脉输注", Drug: "doxorubicin", Dose: "60 mg/m²",
			Route: "IV", Notes: "输注前评估血常规 <ANC ≥ 1.5> & 肝功能", Status: domain.StepStatusPending}
		if i%2 == 0 {
			s.Status = domain.StepStatusCompleted
			s.Record = &domain.PlanStepRecord{HospitalID: "h-2", DepartmentID: "onc", UserID: "nurse-zhao",
				At: start.AddDate(0, 0, i*7).Add(9 * time.Hour), AdministeredDose: "98 mg", Notes: "患者耐受良好"}
		}
		p.Steps = append(p.Steps, s)
	}
	return p
}

// TestPlanEncodeMatchesMarshal changes a plan view as the views do, one change after
// another on the same document (so the step cache carries over), and checks that every
// encoding is byte for byte json.Marshal's.
func TestPlanEncodeMatchesMarshal(t *testing.T) {
	at := time.Date(2026, 4, 1, 8, 30, 0, 0, time.UTC)
	steps := []struct {
		name   string
		change func(p *projections.PlanView)
	}{
		{"unchanged", func(p *projections.PlanView) {}},
		{"complete a step", func(p *projections.PlanView) {
			p.Steps[1].Status = domain.StepStatusCompleted
			p.Steps[1].Record = &domain.PlanStepRecord{HospitalID: "h-3", At: at, Notes: `"quoted" <b>`}
		}},
		{"change a record in place", func(p *projections.PlanView) { p.Steps[1].Record.AdministeredDose = "100 mg" }},
		{"change a record's time in place", func(p *projections.PlanView) { p.Steps[1].Record.At = at.Add(time.Nanosecond) }},
		{"drop a record", func(p *projections.PlanView) { p.Steps[0].Record = nil }},
		{"modify a step", func(p *projections.PlanView) {
			p.Steps[3].DayOffset, p.Steps[3].DueDate, p.Steps[3].Dose = 40, at.In(time.FixedZone("CST", 8*3600)), ""
		}},
		{"cancel a step", func(p *projections.PlanView) { p.Steps[4].Status = domain.StepStatusCancelled }},
		{"add a step", func(p *projections.PlanView) {
			p.Steps = append(p.Steps, domain.PlanStep{StepID: "extra", DueDate: at, Activity: "复查 U+2028:\u2028", Status: domain.StepStatusPending})
		}},
		{"remove the last steps", func(p *projections.PlanView) { p.Steps = p.Steps[:3] }},
		{"replace a step by another", func(p *projections.PlanView) {
			p.Steps[2] = domain.PlanStep{StepID: "other", DueDate: at, Activity: "随访", Status: domain.StepStatusSkipped,
				Record: &domain.PlanStepRecord{HospitalID: "h-1", At: at, SkipReason: "患者拒绝"}}
		}},
		{"change other fields", func(p *projections.PlanView) {
			p.Status, p.CloseReason, p.ClosedAt, p.Version = domain.PlanStatusDiscontinued, "转院 & 终止", &at, 9
			p.NextStep = &projections.NextStepView{StepID: "x", DueDate: at, Activity: "y"}
		}},
		{"empty steps", func(p *projections.PlanView) { p.Steps = []domain.PlanStep{} }},
		{"nil steps", func(p *projections.PlanView) { p.Steps = nil }},
		{"steps again", func(p *projections.PlanView) { p.Steps = samplePlan(5).Steps }},
	}
	enc := projections.NewPlanEncoder(samplePlan(12))
	for _, s := range steps {
		s.change(enc.View())
		got, err := enc.Encode()
		if err != nil {
			t.Fatalf("%s: encode: %v", s.name, err)
		}
		want, err := json.Marshal(enc.View())
		if err != nil {
			t.Fatalf("%s: marshal: %v", s.name, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: encode =\n%s\nwant\n%s", s.name, got, want)
		}
	}
}

// BenchmarkPlanEncode encodes a plan document of about 11 KB after completing one
// step, as the projector does for every plan a batch of step completions changes:
// with json.Marshal (the former encoding), and with planDoc's encoder on a document
// read from Redis (no step cached) and on one kept warm from earlier batches.
//
//	go test ./projections -run '^$' -bench PlanEncode -benchmem
func BenchmarkPlanEncode(b *testing.B) {
	base := samplePlan(40)
	data, _ := json.Marshal(&base)
	b.Logf("plan document: %d bytes", len(data))
	complete := func(p *projections.PlanView, i int) {
		s := &p.Steps[(2*i+1)%len(p.Steps)]
		s.Status = domain.StepStatusCompleted
		s.Record = &domain.PlanStepRecord{HospitalID: "h-2", UserID: "nurse-zhao", At: time.Unix(int64(1e9+i), 0).UTC()}
	}
	b.Run("json.Marshal", func(b *testing.B) {
		p := samplePlan(40)
		b.SetBytes(int64(len(data)))
		for i := 0; b.Loop(); i++ {
			complete(&p, i)
			if _, err := json.Marshal(&p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cold", func(b *testing.B) { // a document just read from Redis: nothing cached
		p := samplePlan(40)
		b.SetBytes(int64(len(data)))
		for i := 0; b.Loop(); i++ {
			complete(&p, i)
			if _, err := projections.NewPlanEncoder(p).Encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		enc := projections.NewPlanEncoder(samplePlan(40))
		if _, err := enc.Encode(); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		for i := 0; b.Loop(); i++ {
			complete(enc.View(), i)
			if _, err := enc.Encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestPlanEncodeEveryStepField fills every field of a step and of its record (found
// by reflection, so a field added to domain.PlanStep later is filled too) and checks the
// encoding against json.Marshal: the hand-written step encoder must write every field.
func TestPlanEncodeEveryStepField(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)
	var fill func(v reflect.Value, n int)
	fill = func(v reflect.Value, n int) {
		for i := range v.NumField() {
			f := v.Field(i)
			switch {
			case f.Type() == reflect.TypeOf(time.Time{}):
				f.Set(reflect.ValueOf(at.Add(time.Duration(n+i) * time.Hour)))
			case f.Kind() == reflect.String:
				f.SetString(fmt.Sprintf("%s-%d", v.Type().Field(i).Name, n))
			case f.Kind() == reflect.Int:
				f.SetInt(int64(n + i))
			case f.Kind() == reflect.Bool:
				f.SetBool(true)
			case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
				f.Set(reflect.New(f.Type().Elem()))
				fill(f.Elem(), n)
			default:
				t.Fatalf("%s.%s: fill a field of kind %s, and encode it in views_plan.go's appendStep",
					v.Type(), v.Type().Field(i).Name, f.Kind())
			}
		}
	}
	p := samplePlan(3)
	for i := range p.Steps {
		fill(reflect.ValueOf(&p.Steps[i]).Elem(), i)
	}
	got, err := projections.NewPlanEncoder(p).Encode()
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encode =\n%s\nwant\n%s", got, want)
	}
}

// FuzzPlanEncode checks that a plan's step, with any text and time, encodes byte for
// byte as json.Marshal writes it (or fails where json.Marshal fails).
//
//	go test ./projections -run '^$' -fuzz FuzzPlanEncode -fuzztime 30s
func FuzzPlanEncode(f *testing.F) {
	seeds := []struct {
		text       string
		offset     int
		unix       int64
		zone       int
		withRecord bool
	}{
		{"plain", 0, 1_700_000_000, 0, false},
		{"第1周期 <b>&\"\\ \u2028\u2029", -3, 1_700_000_000_123, 8 * 3600, true},
		{"ctl \x00\x01\b\f\n\r\t\x1f\x7f", 7, -62_135_596_800, -5 * 3600, true},
		{"bad utf-8 \xff\xfe\xc3", 1 << 40, 253_402_300_799, 3600 + 1, true},
		{"", 0, 253_402_300_800, 0, true}, // year 10000: json.Marshal fails
	}
	for _, s := range seeds {
		f.Add(s.text, s.offset, s.unix, s.zone, s.withRecord)
	}
	f.Fuzz(func(t *testing.T, text string, offset int, unix int64, zone int, withRecord bool) {
		at := time.Unix(unix, unix%1_000_000_000).In(time.FixedZone("z", zone%(100*3600)))
		p := samplePlan(2)
		p.Steps[0] = domain.PlanStep{StepID: text, DayOffset: offset, DueDate: at, Activity: text, Drug: text,
			Dose: text, Route: text, Notes: text, Status: text}
		if withRecord {
			p.Steps[0].Record = &domain.PlanStepRecord{HospitalID: text, DepartmentID: text, UserID: text, At: at,
				AdministeredDose: text, Notes: text, SkipReason: text}
		}
		want, wantErr := json.Marshal(&p)
		got, err := projections.NewPlanEncoder(p).Encode()
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("encode error %v, json.Marshal error %v", err, wantErr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("encode =\n%s\nwant\n%s", got, want)
		}
	})
}
