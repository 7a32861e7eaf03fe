package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// demoClock is a clock that starts at a fixed instant and moves one second per reading,
// so the demo's events carry distinct, realistic times.
func demoClock(start time.Time) func() time.Time {
	var ticks atomic.Int64
	return func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Second) }
}

// openDemoApp opens an embedded store in dir and the use cases over it.
func openDemoApp(t *testing.T, dir string, start time.Time) (*app.App, *embedded.Store) {
	t.Helper()
	store, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	pseudo, err := app.NewPseudonymizer([]byte(strings.Repeat("demo-test-pseudonym-key-", 2)))
	if err != nil {
		t.Fatalf("pseudonymizer: %v", err)
	}
	return app.New(app.Config{Store: store, Now: demoClock(start), Pseudonymizer: pseudo}), store
}

func load[S eventstore.Evolver[S]](t *testing.T, store eventstore.Store, stream string) S {
	t.Helper()
	l, err := eventstore.Load[S](context.Background(), store, stream)
	if err != nil {
		t.Fatalf("load %s: %v", stream, err)
	}
	if !l.Exists {
		t.Fatalf("stream %s does not exist", stream)
	}
	return l.State
}

func TestLoadDemoTwiceAppendsNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Date(2026, 5, 17, 8, 0, 0, 0, time.UTC)
	a, store := openDemoApp(t, dir, now)

	first, err := loadDemo(ctx, a, now)
	if err != nil {
		t.Fatalf("first loadDemo: %v", err)
	}
	if first.Replayed != 0 {
		t.Errorf("first run on an empty store: got %d replayed commands, want 0", first.Replayed)
	}
	if first.Head == 0 {
		t.Fatalf("first run appended nothing")
	}

	// The second run, on a store reopened from disk, a day later.
	if err := store.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	later := now.Add(24 * time.Hour)
	a, store = openDemoApp(t, dir, later)
	defer store.Close()
	second, err := loadDemo(ctx, a, later)
	if err != nil {
		t.Fatalf("second loadDemo: %v", err)
	}
	if second.Head != first.Head {
		t.Errorf("second run: log head got %d, want %d (nothing appended)", second.Head, first.Head)
	}
	if second.Commands != first.Commands || second.Replayed != second.Commands {
		t.Errorf("second run: got %d commands, %d replayed; want %d, all replayed", second.Commands, second.Replayed, first.Commands)
	}
	for key, id := range first.IDs {
		if second.IDs[key] != id {
			t.Errorf("second run: id of %s got %q, want %q", key, second.IDs[key], id)
		}
	}

	checkDemoStreams(t, store, first)
	checkDemoViews(t, store, second)
}

// checkDemoViews projects the demo's log into views (an in-process Redis, as the
// embedded default does) and reads them as the API would.
func checkDemoViews(t *testing.T, store eventstore.Store, s demoSummary) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rdb, stop, err := projections.StartEmbedded()
	if err != nil {
		t.Fatalf("embedded redis: %v", err)
	}
	defer stop()
	proj := projections.NewProjector(store, rdb, projections.Options{Prefix: "demo-test"})
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: "demo-test", Timeout: 30 * time.Second, Projector: proj})
	defer q.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = proj.Run(runCtx)
	}()
	defer func() {
		stopRun()
		<-done
	}()

	members, err := q.AllianceMembers(ctx, s.id("lymphoma"), s.Head)
	if err != nil {
		t.Fatalf("lymphoma members view: %v", err)
	}
	if len(members) != lymphomaMemberCount {
		t.Errorf("lymphoma members view: got %d, want %d", len(members), lymphomaMemberCount)
	}
	matrix, err := q.AdoptionMatrix(ctx, s.id("hengkou-county"), s.Head)
	if err != nil {
		t.Fatalf("county adoption matrix: %v", err)
	}
	substituted := false
	for _, row := range matrix.Rows {
		for _, c := range row.Cells {
			for _, d := range c.Deviations {
				substituted = substituted || (row.HospitalID == s.id("meizipu") && d.Kind == domain.DeviationDrugSubstitution)
			}
		}
	}
	if len(matrix.Rows) != 3 || !substituted {
		t.Errorf("county adoption matrix: got %d rows, Meizipu substitution %v; want 3 rows and the substitution", len(matrix.Rows), substituted)
	}
	doc, err := q.Plan(ctx, s.id("plan:punan"), s.Head)
	if err != nil {
		t.Fatalf("Punan plan view: %v", err)
	}
	var plan projections.PlanView
	if err := json.Unmarshal(doc.JSON, &plan); err != nil {
		t.Fatalf("Punan plan view: %v", err)
	}
	if len(plan.Escalations) != 1 || !plan.Escalations[0].Urgent || plan.ResponsibleHospitalID != s.id("renji") {
		t.Errorf("Punan plan view: escalations %+v, responsible %s; want one urgent escalation back to Renji", plan.Escalations, plan.ResponsibleHospitalID)
	}
	consult, err := q.Consult(ctx, s.id("consult:ecg"), s.Head)
	if err != nil {
		t.Fatalf("ECG consult view: %v", err)
	}
	if consult.WithinDeadline == nil || !*consult.WithinDeadline || consult.Status != domain.ConsultStatusClosed {
		t.Errorf("ECG consult view: status %s, within deadline %v; want closed within the deadline", consult.Status, consult.WithinDeadline)
	}
	group, err := q.Dispatch(ctx, s.id("dispatch:hengkou-expert-group"), s.Head)
	if err != nil {
		t.Fatalf("expert group dispatch view: %v", err)
	}
	if group.Totals.PatientsSeen != 860 {
		t.Errorf("expert group dispatch view: %d patients seen, want 860", group.Totals.PatientsSeen)
	}
	cal, err := q.ExpertCalendar(ctx, s.id("practitioner:renji-workstation"), s.Head)
	if err != nil {
		t.Fatalf("名医工作站 calendar: %v", err)
	}
	if len(cal) != 1 || cal[0].DispatchID != s.id("dispatch:renji-workstation") {
		t.Errorf("名医工作站 calendar: got %+v, want the Jiading workstation", cal)
	}
	staff, err := q.HospitalPractitioners(ctx, s.id("lihuili"), s.Head)
	if err != nil || len(staff) != 2 {
		t.Fatalf("李惠利医院's practitioners: %+v, %v; want 沈建伟 and 裘丰", staff, err)
	}
	for _, p := range staff {
		if p.Name == "沈建伟" && (p.Title != "主任医师" || p.DepartmentID != "gastroenterology") {
			t.Errorf("沈建伟's entry: %+v; want 主任医师 of gastroenterology", p)
		}
	}
}

// checkDemoStreams checks what the demo's stories left in the streams.
func checkDemoStreams(t *testing.T, store eventstore.Store, s demoSummary) {
	t.Helper()
	alliances := []struct {
		key          string
		members      int
		kind, leadID string
	}{
		{"lymphoma", 144, domain.AllianceSpecialist, s.id("ruijin")},
		{"renji-city", 4, domain.AllianceCity, s.id("renji")},
		{"hengkou-county", 3, domain.AllianceCounty, s.id("hengkou")},
		{"songjiang-af", 20, domain.AllianceCity, s.id("shiyi-south")},
		{"lihuili-city", 5, domain.AllianceCity, s.id("lihuili")},
	}
	for _, tc := range alliances {
		al := load[domain.Alliance](t, store, domain.AllianceStream(s.id(tc.key)))
		if got := len(al.ActiveMembers()); got != tc.members {
			t.Errorf("alliance %s: got %d active members, want %d", tc.key, got, tc.members)
		}
		if al.Kind != tc.kind || al.LeadHospitalID != tc.leadID {
			t.Errorf("alliance %s: got kind %s lead %s, want %s %s", tc.key, al.Kind, al.LeadHospitalID, tc.kind, tc.leadID)
		}
	}
	lym := load[domain.Alliance](t, store, domain.AllianceStream(s.id("lymphoma")))
	core, regions := 0, map[string]bool{}
	for _, m := range lym.Members {
		if m.Tier == domain.TierCore {
			core++
		}
		regions[m.RegionCode[:4]] = true
	}
	if core != lymphomaCoreCount {
		t.Errorf("lymphoma alliance: got %d core members, want %d", core, lymphomaCoreCount)
	}
	for _, city := range []string{"3101", "5101", "6109", "3302"} {
		if !regions[city] {
			t.Errorf("lymphoma alliance: no member in region %sxx", city)
		}
	}

	meizipu := load[domain.Adoption](t, store, domain.AdoptionStream(s.id("hengkou-pci"), s.id("meizipu")))
	if devs := meizipu.DeviationsFor("p2y12"); len(devs) != 1 || devs[0].Kind != domain.DeviationDrugSubstitution {
		t.Errorf("Meizipu adoption: got deviations %+v on p2y12, want one drug substitution", devs)
	}

	dlbcl := load[domain.Plan](t, store, domain.PlanStream(s.id("plan:dlbcl")))
	if dlbcl.ResponsibleHospitalID() != s.id(lymphomaMembers()[0].Key) {
		t.Errorf("DLBCL plan: responsible %s, want the member it was handed to", dlbcl.ResponsibleHospitalID())
	}
	if st, ok := dlbcl.Step("c1-doxorubicin"); !ok || st.Status != domain.StepStatusCompleted {
		t.Errorf("DLBCL plan: step c1-doxorubicin got %+v, want completed", st)
	}
	if st, ok := dlbcl.Step("c2-doxorubicin"); !ok || st.Dose != "37.5 mg/m2" {
		t.Errorf("DLBCL plan: revised step c2-doxorubicin got %+v, want dose 37.5 mg/m2", st)
	}
	if len(dlbcl.Deviations) != 1 {
		t.Errorf("DLBCL plan: got %d deviations, want 1", len(dlbcl.Deviations))
	}
	if !strings.HasPrefix(dlbcl.PatientRef, "pr_") || strings.Contains(dlbcl.PatientRef, "RJ-HEM") {
		t.Errorf("DLBCL plan: patient ref %q is not pseudonymous", dlbcl.PatientRef)
	}

	punan := load[domain.Plan](t, store, domain.PlanStream(s.id("plan:punan")))
	if !punan.HeldByLead() {
		t.Errorf("Punan plan: after the green-channel escalation the lead should hold it; responsible is %s", punan.ResponsibleHospitalID())
	}

	ecg := load[domain.Consult](t, store, domain.ConsultStream(s.id("consult:ecg")))
	if ecg.Status != domain.ConsultStatusClosed || ecg.Urgency != domain.UrgencyEmergency {
		t.Errorf("ECG consult: got status %s urgency %s, want closed emergency", ecg.Status, ecg.Urgency)
	}
	if got := ecg.Deadline.Sub(ecg.RequestedAt); got != 30*time.Minute {
		t.Errorf("ECG consult: deadline %v after the request, want 30m", got)
	}
	if ecg.OpinionGivenAt.After(ecg.Deadline) || ecg.OpinionGivenAt.Sub(ecg.RequestedAt) > time.Hour {
		t.Errorf("ECG consult: answered at %v, requested %v, deadline %v: want answered within the deadline", ecg.OpinionGivenAt, ecg.RequestedAt, ecg.Deadline)
	}

	group := load[domain.Dispatch](t, store, domain.DispatchStream(s.id("dispatch:hengkou-expert-group")))
	seen := group.Totals.PatientsSeen
	if seen != 860 || group.Status != domain.DispatchStatusInProgress {
		t.Errorf("Hengkou expert group: got %d patients seen, status %s; want 860, in_progress", seen, group.Status)
	}
	ws := load[domain.Dispatch](t, store, domain.DispatchStream(s.id("dispatch:renji-workstation")))
	expert := load[domain.Practitioner](t, store, domain.PractitionerStream(ws.ExpertID))
	if ws.Kind != domain.DispatchWorkstation || ws.ExpertID != s.id("practitioner:renji-workstation") || expert.HomeHospitalID != s.id("renji") {
		t.Errorf("Renji 名医工作站: got kind %s expert %s (home %s), want a workstation with Renji's registered expert %s",
			ws.Kind, ws.ExpertID, expert.HomeHospitalID, s.id("practitioner:renji-workstation"))
	}
}

func TestDemoSummaryPrintsTokensAndCurl(t *testing.T) {
	s := demoSummary{Hospitals: 3, Members: map[string]int{"瑞金医院血液专科医联体 (淋巴瘤)": 144},
		IDs:   map[string]string{"lymphoma": "01JD0000000000000000000001", "consult:ecg": "01JD0000000000000000000002"},
		Refs:  []demoRef{{What: "alliance", Name: "瑞金医院血液专科医联体 (淋巴瘤)", ID: "01JD0000000000000000000001"}},
		Users: []demoUser{{Role: "lead", Hospital: "01JD0000000000000000000009", Department: "hematology", User: "ruijin-lymphoma-team"}}}
	var b bytes.Buffer
	s.Print(&b, "http://127.0.0.1:8080", "./data")
	out := b.String()
	for _, want := range []string{
		"144 members",
		"LEAD_RUIJIN_LYMPHOMA_TEAM=$(allianced token --data ./data --hospital 01JD0000000000000000000009 --department hematology --roles lead --user ruijin-lymphoma-team --ttl 2h)",
		"http://127.0.0.1:8080/v1/alliances/01JD0000000000000000000001/members",
		"http://127.0.0.1:8080/v1/consults/01JD0000000000000000000002",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary output lacks %q; got:\n%s", want, out)
		}
	}
}
