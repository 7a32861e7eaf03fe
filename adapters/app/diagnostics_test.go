package app_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// clock is a settable injected clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// diagEnv is 恒口's county community: the county hospital runs the remote ECG centre,
// 梅子铺 sends ECGs.
type diagEnv struct {
	app              *app.App
	store            eventstore.Store
	clk              *clock
	county, meizipu  domain.Actor
	alliance, centre string
	reader           string
}

func newDiagEnv(t *testing.T) diagEnv {
	t.Helper()
	ctx := context.Background()
	st := mustOpenStore(t)
	clk := &clock{now: t0}
	pseudo, err := app.NewPseudonymizer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(app.Config{Store: st, Now: clk.Now, Pseudonymizer: pseudo})
	admin := app.Call{Actor: domain.Actor{UserID: "admin", Role: "admin"}}
	county := mustOK(t)(a.RegisterHospital(ctx, admin, app.RegisterHospitalInput{Name: "恒口示范区人民医院", RegionCode: "610902", Level: "secondary",
		Departments: []domain.Department{{ID: "ecg-room", Name: "心电图室"}, {ID: "cardiology", Name: "心内科"}}}))
	mzp := mustOK(t)(a.RegisterHospital(ctx, admin, app.RegisterHospitalInput{Name: "梅子铺镇卫生院", RegionCode: "610902", Level: "community",
		Departments: []domain.Department{{ID: "gp", Name: "全科"}}}))
	e := diagEnv{app: a, store: st, clk: clk,
		county:  domain.Actor{HospitalID: county.ID, DepartmentID: "ecg-room", UserID: "ecg-office", Role: "lead"},
		meizipu: domain.Actor{HospitalID: mzp.ID, DepartmentID: "gp", UserID: "dr-li", Role: "member"}}
	e.alliance = mustOK(t)(a.FoundAlliance(ctx, app.Call{Actor: e.county}, app.FoundAllianceInput{Name: "恒口示范区医共体", Specialty: "全科", Kind: "county"})).ID
	mustOK(t)(a.AdmitMember(ctx, app.Call{Actor: e.county}, app.AdmitMemberInput{AllianceID: e.alliance, HospitalID: mzp.ID, Tier: "community"}))
	e.centre = mustOK(t)(a.OpenCentre(ctx, app.Call{Actor: e.county}, app.OpenCentreInput{AllianceID: e.alliance, Kind: domain.CentreECG,
		Name: "恒口远程心电诊断中心", DepartmentID: "ecg-room"})).ID
	e.reader = mustOK(t)(a.RegisterPractitioner(ctx, app.Call{Actor: e.county}, app.RegisterPractitionerInput{HospitalID: county.ID,
		DepartmentID: "ecg-room", Name: "王建国", Title: "主任医师", Specialties: []string{"心电诊断"}})).ID
	mustOK(t)(a.AddCentreReader(ctx, app.Call{Actor: e.county}, app.CentreReaderInput{CentreID: e.centre, PractitionerID: e.reader}))
	mustOK(t)(a.ScheduleShift(ctx, app.Call{Actor: e.county}, app.ScheduleShiftInput{CentreID: e.centre, PractitionerID: e.reader,
		Window: domain.Window{Start: t0.Add(-time.Hour), End: t0.Add(7 * time.Hour)}}))
	return e
}

func (e diagEnv) submitECG(t *testing.T) string {
	t.Helper()
	return mustOK(t)(e.app.SubmitDiagnostic(context.Background(), app.Call{Actor: e.meizipu}, app.SubmitDiagnosticInput{
		CentreID: e.centre, Modality: "12导联静息心电图", ClinicalQuestion: "胸痛2小时", Urgency: domain.UrgencyEmergency,
		MedicalRecordNumber: "MZP-2026-0042",
		Attachments: []domain.StudyAttachment{{Attachment: domain.Attachment{Name: "ecg.xml", MediaType: "text/xml", SHA256: strings.Repeat("c", 64), SizeBytes: 40_000},
			Link: "https://ecg.hengkou.example/s/1"}}})).ID
}

func (e diagEnv) reportCritical(t *testing.T, id string) {
	t.Helper()
	mustOK(t)(e.app.ReportDiagnostic(context.Background(), app.Call{Actor: e.county}, app.ReportInput{RequestID: id,
		Findings: []domain.Finding{{Item: "rhythm", Value: "窦性心律"}, {Item: "rate", Value: "96", Unit: "bpm"},
			{Item: "st_t", Value: "II、III、aVF ST 段抬高", Flag: domain.FlagCritical}},
		Impression: "急性下壁心肌梗死", Critical: &domain.CriticalInput{Finding: "急性下壁STEMI"}}))
}

func (e diagEnv) study(t *testing.T, id string) domain.Diagnostic {
	t.Helper()
	l, err := eventstore.Load[domain.Diagnostic](context.Background(), e.store, domain.DiagnosticStream(id))
	if err != nil {
		t.Fatal(err)
	}
	return l.State
}

// feed hands the escalator every event after its position, as its subscription would.
func feed(t *testing.T, st eventstore.Store, x *app.CriticalEscalator) {
	t.Helper()
	recs, err := st.ReadAll(context.Background(), x.Position(), 100_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := x.Observe(eventstore.SubscriptionMessage{Event: &r}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDiagnosticRoutedByRosterAndNoPatientIdentity(t *testing.T) {
	e := newDiagEnv(t)
	id := e.submitECG(t)
	d := e.study(t, id)
	if d.Status != domain.DiagnosticStatusAssigned || d.ReaderID != e.reader {
		t.Fatalf("got status %s reader %s, want assigned to the reader on duty %s", d.Status, d.ReaderID, e.reader)
	}
	if !strings.HasPrefix(d.PatientRef, "pr_") {
		t.Fatalf("patientRef %q is not pseudonymous", d.PatientRef)
	}
	recs, err := e.store.ReadStream(context.Background(), domain.DiagnosticStream(id), eventstore.Forwards, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if strings.Contains(string(r.Data), "MZP-2026-0042") {
			t.Fatalf("event %s holds the medical record number in clear text", r.Type)
		}
	}
}

func TestCriticalValueEscalatesOnTheInjectedClock(t *testing.T) {
	ctx := context.Background()
	e := newDiagEnv(t)
	x := app.NewCriticalEscalator(e.app, app.EscalatorOptions{})
	id := e.submitECG(t)
	e.clk.Advance(5 * time.Minute)
	e.reportCritical(t, id)
	feed(t, e.store, x)
	if x.Pending() != 1 {
		t.Fatalf("pending = %d, want 1", x.Pending())
	}
	e.clk.Advance(10 * time.Minute) // exactly at the deadline: not yet
	if n, err := x.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("tick at the deadline escalated %d (%v), want 0", n, err)
	}
	e.clk.Advance(time.Second)
	if n, err := x.Tick(ctx); err != nil || n != 1 {
		t.Fatalf("tick after the deadline escalated %d (%v), want 1", n, err)
	}
	cv, _ := e.study(t, id).Critical(1)
	if cv.Status != domain.CriticalEscalated || !cv.EscalatedAt.Equal(t0.Add(15*time.Minute+time.Second)) || cv.EscalatedTo != domain.EscalateDepartmentHead {
		t.Fatalf("got %+v, want escalated to the department head at deadline+1s", cv)
	}
	// A second timer (another replica, or a restart re-reading the log) escalates nothing more.
	y := app.NewCriticalEscalator(e.app, app.EscalatorOptions{})
	feed(t, e.store, y)
	if y.Pending() != 0 {
		t.Fatalf("a timer re-reading the log holds %d pending values, want 0", y.Pending())
	}
	// The hospital still acknowledges, late.
	mustOK(t)(e.app.AcknowledgeCritical(ctx, app.Call{Actor: e.meizipu}, app.AcknowledgeCriticalInput{RequestID: id, Note: "已处理"}))
	if cv, _ := e.study(t, id).Critical(1); cv.Status != domain.CriticalAcknowledged {
		t.Fatalf("got %s, want acknowledged", cv.Status)
	}
}

func TestCriticalValueAcknowledgedInTimeNeverEscalates(t *testing.T) {
	ctx := context.Background()
	e := newDiagEnv(t)
	x := app.NewCriticalEscalator(e.app, app.EscalatorOptions{})
	id := e.submitECG(t)
	e.reportCritical(t, id)
	e.clk.Advance(3 * time.Minute)
	mustOK(t)(e.app.AcknowledgeCritical(ctx, app.Call{Actor: e.meizipu}, app.AcknowledgeCriticalInput{RequestID: id}))
	feed(t, e.store, x)
	e.clk.Advance(time.Hour)
	if n, err := x.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("escalated %d (%v), want 0", n, err)
	}
	// The timer also tolerates an acknowledgement it has not seen yet: the domain refuses.
	id2 := e.submitECG(t)
	e.reportCritical(t, id2)
	feed(t, e.store, x)
	mustOK(t)(e.app.AcknowledgeCritical(ctx, app.Call{Actor: e.meizipu}, app.AcknowledgeCriticalInput{RequestID: id2}))
	e.clk.Advance(time.Hour)
	if n, err := x.Tick(ctx); err != nil || n != 0 || x.Pending() != 0 {
		t.Fatalf("escalated %d (%v), pending %d; want 0, 0", n, err, x.Pending())
	}
}

func TestReferOnCriticalOpensAnEmergencyReferralLinkedToTheReport(t *testing.T) {
	ctx := context.Background()
	e := newDiagEnv(t)
	id := e.submitECG(t)
	e.reportCritical(t, id)
	call := app.Call{Actor: e.meizipu, IdempotencyKey: "refer-1"}
	out := mustOK(t)(e.app.ReferOnCritical(ctx, call, app.ReferOnCriticalInput{RequestID: id, ToDepartmentID: "cardiology", ClinicalSummary: "下壁STEMI,已嚼服阿司匹林300mg"}))
	if out.ReferralID == "" {
		t.Fatal("no referral id")
	}
	r, err := eventstore.Load[domain.Referral](ctx, e.store, domain.ReferralStream(out.ReferralID))
	if err != nil {
		t.Fatal(err)
	}
	d := e.study(t, id)
	if r.State.Urgency != domain.UrgencyEmergency || r.State.Links.ReportID != id || r.State.PatientRef != d.PatientRef || r.State.ToHospitalID != e.county.HospitalID {
		t.Fatalf("referral %+v is not the emergency referral of the report's patient to the lead", r.State)
	}
	if cv, _ := d.Critical(1); cv.ReferralID != out.ReferralID {
		t.Fatalf("critical value links %q, want %q", cv.ReferralID, out.ReferralID)
	}
	again := mustOK(t)(e.app.ReferOnCritical(ctx, call, app.ReferOnCriticalInput{RequestID: id, ToDepartmentID: "cardiology", ClinicalSummary: "下壁STEMI,已嚼服阿司匹林300mg"}))
	if again.ReferralID != out.ReferralID {
		t.Fatalf("a retry opened referral %s, want the first %s", again.ReferralID, out.ReferralID)
	}
	if _, err := e.app.ReferOnCritical(ctx, app.Call{Actor: e.meizipu}, app.ReferOnCriticalInput{RequestID: id, ClinicalSummary: "x"}); domain.ErrorCode(err) != domain.CodeAlreadyExists {
		t.Fatalf("a second referral on the same value: got %v, want already_exists", err)
	}
	if _, err := e.app.ReferOnCritical(ctx, app.Call{Actor: e.county}, app.ReferOnCriticalInput{RequestID: id, ClinicalSummary: "x"}); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Fatalf("the centre referring: got %v, want forbidden", err)
	}
}

func TestCanReadDiagnostic(t *testing.T) {
	for _, tc := range []struct {
		name, who, status string
		referred          []string
		want              bool
	}{
		{"the requesting hospital", "from", domain.DiagnosticStatusSubmitted, nil, true},
		{"the centre", "centre", domain.DiagnosticStatusAssigned, nil, true},
		{"a hospital the patient was referred to, once published", "other", domain.DiagnosticStatusReported, []string{"other"}, true},
		{"not before publication", "other", domain.DiagnosticStatusAssigned, []string{"other"}, false},
		{"anyone else", "other", domain.DiagnosticStatusReported, []string{"third"}, false},
		{"no hospital", "", domain.DiagnosticStatusReported, []string{""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := app.CanReadDiagnostic(tc.who, "from", "centre", tc.status, tc.referred); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
