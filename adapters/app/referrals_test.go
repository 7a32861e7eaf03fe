package app_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb"
	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb/kurrentdbtest"
	"github.com/medalliance/allianced/domain"
)

// referralEnv is 湖北省中医院's alliance: the lead's referral desk (department "desk")
// and a member township hospital, over one event store.
type referralEnv struct {
	app      *app.App
	store    eventstore.Store
	lead     domain.Actor
	member   domain.Actor
	alliance string
}

func newReferralEnv(t *testing.T, st eventstore.Store) referralEnv {
	t.Helper()
	ctx := context.Background()
	a := app.New(app.Config{Store: st, Now: func() time.Time { return t0 }})
	admin := app.Call{Actor: domain.Actor{UserID: "admin", Role: "admin"}}
	lead := mustOK(t)(a.RegisterHospital(ctx, admin, app.RegisterHospitalInput{Name: "湖北省中医院", RegionCode: "420106", Level: "tertiary",
		Departments: []domain.Department{{ID: "desk", Name: "转诊中心"}, {ID: "cardio", Name: "心内科"}}}))
	mem := mustOK(t)(a.RegisterHospital(ctx, admin, app.RegisterHospitalInput{Name: "梅子铺卫生院", RegionCode: "420106", Level: "community"}))
	e := referralEnv{app: a, store: st,
		lead:   domain.Actor{HospitalID: lead.ID, DepartmentID: "desk", UserID: "desk-nurse", Role: "lead"},
		member: domain.Actor{HospitalID: mem.ID, DepartmentID: "gp", UserID: "dr-li", Role: "member"}}
	leadCardio := domain.Actor{HospitalID: lead.ID, DepartmentID: "cardio", Role: "lead"}
	e.alliance = mustOK(t)(a.FoundAlliance(ctx, app.Call{Actor: leadCardio}, app.FoundAllianceInput{Name: "中医专科联盟", Specialty: "cardiology", Kind: "specialist"})).ID
	mustOK(t)(a.AdmitMember(ctx, app.Call{Actor: leadCardio}, app.AdmitMemberInput{AllianceID: e.alliance, HospitalID: mem.ID, Tier: "community"}))
	return e
}

func (e referralEnv) publish(t *testing.T, n int) {
	t.Helper()
	rows := make([]app.PublishSlotInputRow, n)
	for i := range rows {
		start := t0.Add(time.Duration(i+1) * time.Hour)
		rows[i] = app.PublishSlotInputRow{Kind: domain.SlotOutpatient, Window: domain.Window{Start: start, End: start.Add(30 * time.Minute)}}
	}
	mustOK(t)(e.app.PublishReservedSlots(context.Background(), app.Call{Actor: e.lead}, app.PublishSlotsInput{AllianceID: e.alliance, Slots: rows}))
}

func (e referralEnv) up(t *testing.T, urgency string) string {
	t.Helper()
	return mustOK(t)(e.app.RequestReferral(context.Background(), app.Call{Actor: e.member}, app.RequestReferralInput{
		AllianceID: e.alliance, Direction: domain.ReferralUp, ToDepartmentID: "desk", Urgency: urgency,
		Reason: "胸痛待查", ClinicalSummary: "心电图 ST 段抬高", PatientRef: "pr_" + strings.Repeat("a", 26)})).ID
}

func (e referralEnv) capacity(t *testing.T) domain.Capacity {
	t.Helper()
	l, err := eventstore.Load[domain.Capacity](context.Background(), e.store, domain.CapacityStream(e.lead.HospitalID, "desk"))
	if err != nil {
		t.Fatal(err)
	}
	return l.State
}

func TestReferralSlotsConcurrentEmbedded(t *testing.T) {
	testReferralSlotsConcurrent(t, mustOpenStore(t))
}

func TestReferralSlotsConcurrentKurrentDB(t *testing.T) {
	srv, err := kurrentdbtest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start test server: %v", err)
	}
	t.Cleanup(srv.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := kurrentdb.Open(ctx, srv.URL(), kurrentdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	testReferralSlotsConcurrent(t, st)
}

// testReferralSlotsConcurrent: 64 upward referrals accepted at once, competing for 10
// reserved slots, through two App instances (two replicas: their command queues do not
// serialise each other, so the capacity stream's expected version must). Exactly 10 get
// a slot, each slot is held once, and the other 54 are told no_capacity.
func testReferralSlotsConcurrent(t *testing.T, st eventstore.Store) {
	e := newReferralEnv(t, st)
	replica := app.New(app.Config{Store: st, Now: func() time.Time { return t0 }})
	e.publish(t, 10)
	const n = 64
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.up(t, domain.UrgencyEmergency)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := e.app
			if i%2 == 1 {
				a = replica
			}
			_, errs[i] = a.AcceptReferral(context.Background(), app.Call{Actor: e.lead}, app.AcceptReferralInput{
				ReferralID: ids[i], ExpectedArrival: t0.Add(time.Hour), Reserve: true})
		}()
	}
	wg.Wait()
	booked := 0
	for i, err := range errs {
		switch domain.ErrorCode(err) {
		case "":
			booked++
		case domain.CodeNoCapacity:
			if !strings.Contains(domain.ErrorMessage(err), "no reserved") {
				t.Errorf("referral %d: unclear refusal %q", i, domain.ErrorMessage(err))
			}
		default:
			t.Errorf("referral %d: got %v, want success or no_capacity", i, err)
		}
	}
	if booked != 10 {
		t.Fatalf("%d referrals got a slot, want 10", booked)
	}
	holders := map[string]bool{}
	for _, s := range e.capacity(t).Slots() {
		if s.ReferralID == "" || holders[s.ReferralID] {
			t.Fatalf("slot %s held by %q (free or a referral holding two)", s.SlotID, s.ReferralID)
		}
		holders[s.ReferralID] = true
	}
	// Every accepted referral names the slot it holds; refused ones stay requested.
	for i, id := range ids {
		l, err := eventstore.Load[domain.Referral](context.Background(), st, domain.ReferralStream(id))
		if err != nil {
			t.Fatal(err)
		}
		r := l.State
		if (errs[i] == nil) != (r.Status == domain.ReferralStatusAccepted) || (errs[i] == nil) != holders[id] || (r.Slot != nil) != holders[id] {
			t.Fatalf("referral %d: status %s slot %v holder %v err %v", i, r.Status, r.Slot, holders[id], errs[i])
		}
	}
}

func TestReferralJourney(t *testing.T) {
	ctx := context.Background()
	e := newReferralEnv(t, mustOpenStore(t))
	lead, member := app.Call{Actor: e.lead}, app.Call{Actor: e.member}
	e.publish(t, 1)

	// 梅子铺's chest pain goes up, is accepted onto the reserved slot and admitted.
	r1 := e.up(t, domain.UrgencyEmergency)
	mustOK(t)(e.app.AcceptReferral(ctx, lead, app.AcceptReferralInput{ReferralID: r1, ExpectedArrival: t0.Add(40 * time.Minute), Reserve: true}))
	// A second referral finds no slot left, and is told so.
	r2 := e.up(t, domain.UrgencyUrgent)
	if _, err := e.app.AcceptReferral(ctx, lead, app.AcceptReferralInput{ReferralID: r2, ExpectedArrival: t0.Add(time.Hour), Reserve: true}); domain.ErrorCode(err) != domain.CodeNoCapacity {
		t.Fatalf("second booking: got %v, want no_capacity", err)
	}
	// Cancelling the first releases its slot; the second then gets it.
	mustOK(t)(e.app.CancelReferral(ctx, member, app.CancelReferralInput{ReferralID: r1, Reason: "患者转往就近医院"}))
	if free := e.capacity(t).Free(e.alliance, "", t0); len(free) != 1 {
		t.Fatalf("after cancelling, %d free slots, want 1", len(free))
	}
	mustOK(t)(e.app.AcceptReferral(ctx, lead, app.AcceptReferralInput{ReferralID: r2, ExpectedArrival: t0.Add(time.Hour), Reserve: true}))
	mustOK(t)(e.app.RecordReferralArrival(ctx, lead, app.ReferralInput{ReferralID: r2}))
	mustOK(t)(e.app.AdmitReferral(ctx, lead, app.ReferralInput{ReferralID: r2}))
	// Completed with one command that also refers the patient back down.
	done := mustOK(t)(e.app.CompleteReferral(ctx, lead, app.CompleteReferralInput{ReferralID: r2, Summary: "PCI 术后平稳",
		ReturnDown: &app.ReturnDownInput{Urgency: domain.UrgencyRoutine, Reason: "康复", ClinicalSummary: "术后第 5 天,双抗治疗"}}))
	l, err := eventstore.Load[domain.Referral](ctx, e.store, domain.ReferralStream(done.ReferralID))
	if err != nil || l.State.Direction != domain.ReferralDown || l.State.ToHospitalID != e.member.HospitalID || l.State.Links.ReturnOfID != r2 {
		t.Fatalf("return referral: %+v, %v", l.State, err)
	}
	// A suspended member cannot send.
	mustOK(t)(e.app.SuspendMember(ctx, app.Call{Actor: domain.Actor{HospitalID: e.lead.HospitalID, DepartmentID: "cardio", Role: "lead"}},
		app.MemberStatusInput{AllianceID: e.alliance, HospitalID: e.member.HospitalID, Reason: "整改"}))
	_, err = e.app.RequestReferral(ctx, member, app.RequestReferralInput{AllianceID: e.alliance, Direction: domain.ReferralUp,
		Urgency: domain.UrgencyRoutine, Reason: "x", ClinicalSummary: "y", PatientRef: "pr_" + strings.Repeat("b", 26)})
	if domain.ErrorCode(err) != domain.CodeNotMember {
		t.Fatalf("suspended member sending: got %v, want not_member", err)
	}
}

func TestReferralFromConsult(t *testing.T) {
	ctx := context.Background()
	e := newReferralEnv(t, mustOpenStore(t))
	cardio := app.Call{Actor: domain.Actor{HospitalID: e.lead.HospitalID, DepartmentID: "cardio", Role: "lead"}}
	member := app.Call{Actor: e.member}
	k := mustOK(t)(e.app.RequestConsult(ctx, member, app.RequestConsultInput{AllianceID: e.alliance, Specialty: "cardiology",
		Urgency: domain.UrgencyEmergency, Question: "ECG?", ConsentRef: "C-1", PatientRef: "pr_" + strings.Repeat("c", 26)})).ID
	refer := func() error {
		_, err := e.app.ReferFromConsult(ctx, member, app.ReferFromConsultInput{ConsultID: k, ClinicalSummary: "急性下壁心梗"})
		return err
	}
	if err := refer(); domain.ErrorCode(err) != domain.CodeForbiddenTransition {
		t.Fatalf("consult without an opinion: got %v, want forbidden_transition", err)
	}
	mustOK(t)(e.app.AcceptConsult(ctx, cardio, app.AcceptConsultInput{ConsultID: k}))
	mustOK(t)(e.app.GiveOpinion(ctx, cardio, app.OpinionInput{ConsultID: k, Opinion: domain.Opinion{Text: "急性下壁心梗,建议绿色通道上转", AdviseEscalation: true}}))
	out, err := e.app.ReferFromConsult(ctx, member, app.ReferFromConsultInput{ConsultID: k, ClinicalSummary: "急性下壁心梗"})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := eventstore.Load[domain.Referral](ctx, e.store, domain.ReferralStream(out.ID))
	if r := l.State; r.Links.ConsultID != k || r.Urgency != domain.UrgencyEmergency || r.PatientRef != "pr_"+strings.Repeat("c", 26) ||
		r.AcceptDeadline != t0.Add(10*time.Minute) {
		t.Fatalf("referral from consult: %+v", r)
	}
}

// TestReturnReferralRefusedBeforeCompleting: a completion whose return referral would
// be refused (the sender was suspended meanwhile) stores nothing.
func TestReturnReferralRefusedBeforeCompleting(t *testing.T) {
	ctx := context.Background()
	e := newReferralEnv(t, mustOpenStore(t))
	lead := app.Call{Actor: e.lead}
	r := e.up(t, domain.UrgencyUrgent)
	mustOK(t)(e.app.AcceptReferral(ctx, lead, app.AcceptReferralInput{ReferralID: r, ExpectedArrival: t0.Add(time.Hour)}))
	mustOK(t)(e.app.AdmitReferral(ctx, lead, app.ReferralInput{ReferralID: r}))
	mustOK(t)(e.app.SuspendMember(ctx, app.Call{Actor: domain.Actor{HospitalID: e.lead.HospitalID, DepartmentID: "cardio", Role: "lead"}},
		app.MemberStatusInput{AllianceID: e.alliance, HospitalID: e.member.HospitalID, Reason: "整改"}))
	n := countEvents(t, e.store)
	_, err := e.app.CompleteReferral(ctx, lead, app.CompleteReferralInput{ReferralID: r, Summary: "好转",
		ReturnDown: &app.ReturnDownInput{Urgency: domain.UrgencyRoutine, Reason: "康复", ClinicalSummary: "s"}})
	if domain.ErrorCode(err) != domain.CodeNotMember || countEvents(t, e.store) != n {
		t.Fatalf("got %v and %d new events, want not_member and none", err, countEvents(t, e.store)-n)
	}
	// Without the return, the completion goes through.
	mustOK(t)(e.app.CompleteReferral(ctx, lead, app.CompleteReferralInput{ReferralID: r, Summary: "好转"}))
}
