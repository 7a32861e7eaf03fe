package domain_test

import (
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// punanWorld is 浦南医院 sending an aortic dissection up to 仁济's emergency department
// through the green channel, and 仁济 returning the patient for rehabilitation.
type punanWorld struct {
	renjiWorld
	refID     string
	patient   string
	requested domain.ReferralRequested
	accepted  domain.ReferralAccepted
	admitted  domain.ReferralAdmitted
	completed domain.ReferralCompleted
}

func newPunanWorld() punanWorld {
	w := punanWorld{renjiWorld: newRenjiWorld(), refID: id(90), patient: "pr_" + "0123456789abcdefghijklmnop"}
	w.requested = domain.ReferralRequested{ReferralID: w.refID, AllianceID: id(61), Direction: domain.ReferralUp,
		FromHospitalID: id(63), FromDepartmentID: "medical-affairs", ToHospitalID: id(60), ToDepartmentID: "emergency",
		Urgency: domain.UrgencyEmergency, Reason: "主动脉夹层破裂,需急诊手术", ClinicalSummary: "CTA 示 Stanford A 型夹层",
		PatientRef: w.patient, RequestedAt: t0, AcceptDeadline: t0.Add(10 * time.Minute), AdmitDeadline: t0.Add(time.Hour)}
	w.accepted = domain.ReferralAccepted{ReferralID: w.refID, DepartmentID: "emergency", ExpectedArrival: t0.Add(30 * time.Minute),
		WithinTarget: true, AcceptedAt: t0.Add(5 * time.Minute)}
	w.admitted = domain.ReferralAdmitted{ReferralID: w.refID, WithinTarget: true, AdmittedAt: t0.Add(40 * time.Minute)}
	w.completed = domain.ReferralCompleted{ReferralID: w.refID, Summary: "术后平稳,转回浦南康复", CompletedAt: t0.Add(10 * 24 * time.Hour)}
	return w
}

func (w punanWorld) up() domain.RequestReferral {
	return domain.RequestReferral{ReferralID: w.refID, Alliance: w.alliance, Direction: domain.ReferralUp, By: w.punan,
		ToDepartmentID: "emergency", Urgency: domain.UrgencyEmergency, Reason: w.requested.Reason,
		ClinicalSummary: w.requested.ClinicalSummary, PatientRef: w.patient, At: t0, Policy: domain.DefaultReferralPolicy()}
}

func TestDecideRequestReferral(t *testing.T) {
	w := newPunanWorld()
	with := func(f func(*domain.RequestReferral)) domain.RequestReferral { c := w.up(); f(&c); return c }
	reqWith := func(f func(*domain.ReferralRequested)) []domain.Event {
		e := w.requested
		f(&e)
		return []domain.Event{e}
	}
	down := func(c *domain.RequestReferral) {
		c.Direction, c.By, c.ToHospitalID, c.ToDepartmentID, c.Urgency = domain.ReferralDown, w.lead, id(63), "rehabilitation", domain.UrgencyRoutine
	}
	planOf := func(holder string) *domain.Plan {
		p := domain.Plan{ID: id(95), AllianceID: id(61), PatientRef: w.patient, LeadHospitalID: id(60), ResponsibleHospital: holder}
		return &p
	}
	consult := func(advise bool) *domain.Consult {
		k := domain.Consult{ID: id(96), AllianceID: id(61), RequestingHospitalID: id(63), PatientRef: w.patient,
			Status: domain.ConsultStatusAnswered, OpinionGivenAt: t0.Add(-time.Minute), Opinion: domain.Opinion{Text: "建议上转", AdviseEscalation: advise}}
		return &k
	}
	var done domain.Referral
	for _, e := range []domain.Event{w.requested, w.accepted, w.admitted, w.completed} {
		done = done.Evolve(e)
	}
	returnDown := func(c *domain.RequestReferral) { down(c); c.ReferralID = id(91); c.ReturnOf = &done }

	runSpecs(t, domain.DecideReferral, []spec[domain.ReferralCommand]{
		{name: "up to the lead through the green channel", when: w.up(), want: []domain.Event{w.requested}},
		{name: "up naming the lead explicitly", when: with(func(c *domain.RequestReferral) { c.ToHospitalID = id(60) }), want: []domain.Event{w.requested}},
		{name: "up defaults to the lead department", when: with(func(c *domain.RequestReferral) { c.ToDepartmentID = "" }),
			want: reqWith(func(e *domain.ReferralRequested) { e.ToDepartmentID = "gastroenterology" })},
		{name: "routine gets the routine targets", when: with(func(c *domain.RequestReferral) { c.Urgency = domain.UrgencyRoutine }),
			want: reqWith(func(e *domain.ReferralRequested) {
				e.Urgency, e.AcceptDeadline, e.AdmitDeadline = domain.UrgencyRoutine, t0.Add(24*time.Hour), t0.Add(14*24*time.Hour)
			})},
		{name: "up to a hospital that does not lead the alliance is refused", when: with(func(c *domain.RequestReferral) { c.ToHospitalID = id(62) }),
			wantCode: domain.CodeNotMember},
		{name: "a suspended member cannot send", when: with(func(c *domain.RequestReferral) { c.By = w.dachang }), wantCode: domain.CodeNotMember},
		{name: "a non-member cannot send", when: with(func(c *domain.RequestReferral) { c.By = w.outer }), wantCode: domain.CodeNotMember},
		{name: "a suspended member escalating its own plan is not blocked",
			when: with(func(c *domain.RequestReferral) { c.By = w.dachang; c.Plan = planOf(id(64)) }),
			want: reqWith(func(e *domain.ReferralRequested) { e.FromHospitalID = id(64); e.Links.PlanID = id(95) })},
		{name: "a suspended member with another's plan is blocked",
			when: with(func(c *domain.RequestReferral) { c.By = w.dachang; c.Plan = planOf(id(63)) }), wantCode: domain.CodeNotMember},
		{name: "a plan of another patient", when: with(func(c *domain.RequestReferral) {
			p := planOf(id(63))
			p.PatientRef = "pr_zzzzzzzzzzzzzzzzzzzzzzzzzz"
			c.Plan = p
		}), wantCode: domain.CodeInvalidInput},
		{name: "down to an active member", when: with(down), want: reqWith(func(e *domain.ReferralRequested) {
			e.Direction, e.FromHospitalID, e.FromDepartmentID, e.ToHospitalID, e.ToDepartmentID = domain.ReferralDown, id(60), "gastroenterology", id(63), "rehabilitation"
			e.Urgency, e.AcceptDeadline, e.AdmitDeadline = domain.UrgencyRoutine, t0.Add(24*time.Hour), t0.Add(14*24*time.Hour)
		})},
		{name: "down to a non-member is refused", when: with(func(c *domain.RequestReferral) { down(c); c.ToHospitalID = id(65) }), wantCode: domain.CodeNotMember},
		{name: "down to a suspended member is refused", when: with(func(c *domain.RequestReferral) { down(c); c.ToHospitalID = id(64) }), wantCode: domain.CodeNotMember},
		{name: "down by a member is forbidden", when: with(func(c *domain.RequestReferral) { down(c); c.By = w.jiading }), wantCode: domain.CodeForbidden},
		{name: "the return of a completed upward referral", when: with(returnDown), want: reqWith(func(e *domain.ReferralRequested) {
			e.ReferralID, e.Direction, e.FromHospitalID, e.FromDepartmentID, e.ToHospitalID, e.ToDepartmentID = id(91), domain.ReferralDown, id(60), "gastroenterology", id(63), "rehabilitation"
			e.Urgency, e.AcceptDeadline, e.AdmitDeadline = domain.UrgencyRoutine, t0.Add(24*time.Hour), t0.Add(14*24*time.Hour)
			e.Links.ReturnOfID = w.refID
		})},
		{name: "a return to another hospital", when: with(func(c *domain.RequestReferral) { returnDown(c); c.ToHospitalID = id(62) }), wantCode: domain.CodeInvalidInput},
		{name: "a return of an open referral", when: with(func(c *domain.RequestReferral) {
			returnDown(c)
			open := done
			open.Status = domain.ReferralStatusAdmitted
			c.ReturnOf = &open
		}), wantCode: domain.CodeForbiddenTransition},
		{name: "from a consult advising escalation", when: with(func(c *domain.RequestReferral) { c.Consult = consult(true) }),
			want: reqWith(func(e *domain.ReferralRequested) { e.Links.ConsultID = id(96) })},
		{name: "from a consult not advising escalation", when: with(func(c *domain.RequestReferral) { c.Consult = consult(false) }), wantCode: domain.CodeForbiddenTransition},
		{name: "from another hospital's consult", when: with(func(c *domain.RequestReferral) { c.By = w.jiading; c.Consult = consult(true) }), wantCode: domain.CodeInvalidInput},
		{name: "twice", given: []domain.Event{w.requested}, when: w.up(), wantCode: domain.CodeAlreadyExists},
		{name: "a record number instead of a pseudonym", when: with(func(c *domain.RequestReferral) { c.PatientRef = "MRN-123456" }), wantCode: domain.CodeInvalidInput},
		{name: "no reason", when: with(func(c *domain.RequestReferral) { c.Reason = " " }), wantCode: domain.CodeInvalidInput},
		{name: "no clinical summary", when: with(func(c *domain.RequestReferral) { c.ClinicalSummary = "" }), wantCode: domain.CodeInvalidInput},
		{name: "unknown urgency", when: with(func(c *domain.RequestReferral) { c.Urgency = "asap" }), wantCode: domain.CodeInvalidInput},
		{name: "unknown direction", when: with(func(c *domain.RequestReferral) { c.Direction = "sideways" }), wantCode: domain.CodeInvalidInput},
		{name: "bad report id", when: with(func(c *domain.RequestReferral) { c.ReportID = "r1" }), wantCode: domain.CodeInvalidInput},
		{name: "bad attachment digest", when: with(func(c *domain.RequestReferral) {
			c.Attachments = []domain.Attachment{{Name: "CTA.dcm", MediaType: "application/dicom", SHA256: "abc", SizeBytes: 10}}
		}), wantCode: domain.CodeInvalidInput},
		{name: "a policy that gives emergencies more time", when: with(func(c *domain.RequestReferral) { c.Policy.Emergency.Accept = 48 * time.Hour }),
			wantCode: domain.CodeInvalidInput},
		{name: "unknown alliance", when: with(func(c *domain.RequestReferral) { c.Alliance = domain.Alliance{} }), wantCode: domain.CodeNotFound},
	})
}

func TestDecideReferralLifeCycle(t *testing.T) {
	w := newPunanWorld()
	renji := domain.Actor{HospitalID: id(60), DepartmentID: "emergency", Role: "lead"}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	slot := &domain.SlotRef{SlotID: id(97), Kind: domain.SlotBed, Window: domain.Window{Start: at(20), End: at(20 + 24*60)}}
	accept := domain.AcceptReferral{ReferralID: w.refID, DepartmentID: "emergency", ExpectedArrival: at(30), By: renji, At: at(5)}
	req := []domain.Event{w.requested}
	acc := []domain.Event{w.requested, w.accepted}
	arrived := domain.ReferralArrived{ReferralID: w.refID, ArrivedAt: at(32)}
	adm := []domain.Event{w.requested, w.accepted, w.admitted}

	runSpecs(t, domain.DecideReferral, []spec[domain.ReferralCommand]{
		{name: "accept within 10 minutes", given: req, when: accept, want: []domain.Event{w.accepted}},
		{name: "accept late is recorded as outside the target", given: req,
			when: func() domain.AcceptReferral { c := accept; c.At = at(12); return c }(),
			want: []domain.Event{domain.ReferralAccepted{ReferralID: w.refID, DepartmentID: "emergency", ExpectedArrival: at(30), AcceptedAt: at(12)}}},
		{name: "accept with a reserved bed", given: req, when: func() domain.AcceptReferral { c := accept; c.Slot = slot; return c }(),
			want: []domain.Event{func() domain.ReferralAccepted { e := w.accepted; e.Slot = slot; return e }()}},
		{name: "accept by the sender is forbidden", given: req, when: func() domain.AcceptReferral { c := accept; c.By = w.punan; return c }(),
			wantCode: domain.CodeForbidden},
		{name: "accept without an expected arrival", given: req, when: func() domain.AcceptReferral { c := accept; c.ExpectedArrival = time.Time{}; return c }(),
			wantCode: domain.CodeInvalidInput},
		{name: "accept twice", given: acc, when: accept, wantCode: domain.CodeForbiddenTransition},
		{name: "accept an unknown referral", when: accept, wantCode: domain.CodeNotFound},
		{name: "accept before the request", given: req, when: func() domain.AcceptReferral { c := accept; c.At = at(-1); return c }(),
			wantCode: domain.CodeInvalidInput},
		{name: "decline with what to do instead", given: req,
			when: domain.DeclineReferral{ReferralID: w.refID, Reason: "无空床", Alternative: "转中山医院急诊", By: renji, At: at(3)},
			want: []domain.Event{domain.ReferralDeclined{ReferralID: w.refID, Reason: "无空床", Alternative: "转中山医院急诊", DeclinedAt: at(3)}}},
		{name: "decline without an alternative", given: req,
			when: domain.DeclineReferral{ReferralID: w.refID, Reason: "无空床", By: renji, At: at(3)}, wantCode: domain.CodeInvalidInput},
		{name: "decline an accepted referral", given: acc,
			when: domain.DeclineReferral{ReferralID: w.refID, Reason: "无空床", Alternative: "x", By: renji, At: at(6)}, wantCode: domain.CodeForbiddenTransition},
		{name: "arrival", given: acc, when: domain.RecordReferralArrival{ReferralID: w.refID, By: renji, At: at(32)}, want: []domain.Event{arrived}},
		{name: "arrival before acceptance", given: req, when: domain.RecordReferralArrival{ReferralID: w.refID, By: renji, At: at(32)},
			wantCode: domain.CodeForbiddenTransition},
		{name: "admit within the hour", given: append(acc, arrived), when: domain.AdmitReferral{ReferralID: w.refID, By: renji, At: at(40)},
			want: []domain.Event{w.admitted}},
		{name: "admit straight after acceptance", given: acc, when: domain.AdmitReferral{ReferralID: w.refID, By: renji, At: at(40)},
			want: []domain.Event{w.admitted}},
		{name: "admit late", given: acc, when: domain.AdmitReferral{ReferralID: w.refID, By: renji, At: at(61)},
			want: []domain.Event{domain.ReferralAdmitted{ReferralID: w.refID, AdmittedAt: at(61)}}},
		{name: "admit by the sender", given: acc, when: domain.AdmitReferral{ReferralID: w.refID, By: w.punan, At: at(40)}, wantCode: domain.CodeForbidden},
		{name: "complete with a summary", given: adm,
			when: domain.CompleteReferral{ReferralID: w.refID, Summary: w.completed.Summary, By: renji, At: w.completed.CompletedAt},
			want: []domain.Event{w.completed}},
		{name: "complete without a summary", given: adm, when: domain.CompleteReferral{ReferralID: w.refID, By: renji, At: at(100)},
			wantCode: domain.CodeInvalidInput},
		{name: "complete before admission", given: acc, when: domain.CompleteReferral{ReferralID: w.refID, Summary: "x", By: renji, At: at(100)},
			wantCode: domain.CodeForbiddenTransition},
		{name: "cancel by the sender", given: acc, when: domain.CancelReferral{ReferralID: w.refID, Reason: "家属要求就近", By: w.punan, At: at(7)},
			want: []domain.Event{domain.ReferralCancelled{ReferralID: w.refID, Reason: "家属要求就近", CancelledAt: at(7)}}},
		{name: "cancel by the receiver", given: acc, when: domain.CancelReferral{ReferralID: w.refID, Reason: "x", By: renji, At: at(7)},
			wantCode: domain.CodeForbidden},
		{name: "cancel after arrival", given: append(acc, arrived), when: domain.CancelReferral{ReferralID: w.refID, Reason: "x", By: w.punan, At: at(40)},
			wantCode: domain.CodeForbiddenTransition},
		{name: "no-show after the expected arrival", given: acc, when: domain.RecordNoShow{ReferralID: w.refID, By: renji, At: at(90)},
			want: []domain.Event{domain.ReferralNoShow{ReferralID: w.refID, RecordedAt: at(90)}}},
		{name: "no-show before the expected arrival", given: acc, when: domain.RecordNoShow{ReferralID: w.refID, By: renji, At: at(20)},
			wantCode: domain.CodeForbiddenTransition},
	})
}

func TestReferralMeasures(t *testing.T) {
	w := newPunanWorld()
	var r domain.Referral
	r = r.Evolve(w.requested)
	if !r.Open() || r.AcceptOverdue(t0.Add(5*time.Minute)) || !r.AcceptOverdue(t0.Add(11*time.Minute)) {
		t.Fatalf("requested: open %v, overdue at 5m %v, at 11m %v", r.Open(), r.AcceptOverdue(t0.Add(5*time.Minute)), r.AcceptOverdue(t0.Add(11*time.Minute)))
	}
	if _, ok := r.TimeToAccept(); ok {
		t.Fatal("time to accept before acceptance")
	}
	r = r.Evolve(w.accepted).Evolve(w.admitted)
	if d, _ := r.TimeToAccept(); d != 5*time.Minute {
		t.Fatalf("time to accept %s, want 5m", d)
	}
	if d, _ := r.TimeToAdmit(); d != 40*time.Minute {
		t.Fatalf("time to admit %s, want 40m", d)
	}
	if r.AdmitOverdue(t0.Add(2 * time.Hour)) {
		t.Fatal("an admitted referral is not overdue")
	}
}

func TestDecideCapacity(t *testing.T) {
	w := newRenjiWorld()
	desk := domain.Actor{HospitalID: id(60), DepartmentID: "emergency", Role: "lead"}
	win := func(h int) domain.Window {
		return domain.Window{Start: t0.Add(time.Duration(h) * time.Hour), End: t0.Add(time.Duration(h+1) * time.Hour)}
	}
	slotA := domain.ReservedSlot{SlotID: id(100), AllianceID: id(61), Kind: domain.SlotOutpatient, Window: win(2)}
	slotB := domain.ReservedSlot{SlotID: id(101), AllianceID: id(61), Kind: domain.SlotBed, Window: win(1)}
	published := domain.ReservedSlotsPublished{HospitalID: id(60), DepartmentID: "emergency", AllianceID: id(61),
		Slots: []domain.ReservedSlot{slotA, slotB}, PublishedAt: t0}
	publish := domain.PublishReservedSlots{Alliance: w.alliance, By: desk, At: t0,
		Slots: []domain.ReservedSlot{{SlotID: id(100), Kind: domain.SlotOutpatient, Window: win(2)}, {SlotID: id(101), Kind: domain.SlotBed, Window: win(1)}}}
	book := func(ref byte, slot string) domain.BookReservedSlot {
		return domain.BookReservedSlot{HospitalID: id(60), DepartmentID: "emergency", AllianceID: id(61), ReferralID: id(ref), SlotID: slot, At: t0}
	}
	booked := func(slot string, ref byte) domain.ReservedSlotBooked {
		return domain.ReservedSlotBooked{HospitalID: id(60), DepartmentID: "emergency", SlotID: slot, ReferralID: id(ref), BookedAt: t0}
	}
	given := []domain.Event{published}
	full := []domain.Event{published, booked(id(100), 90), booked(id(101), 91)}
	release := domain.ReleaseReservedSlot{HospitalID: id(60), DepartmentID: "emergency", ReferralID: id(90), Reason: "referral declined", At: t0}
	released := domain.ReservedSlotReleased{HospitalID: id(60), DepartmentID: "emergency", SlotID: id(100), ReferralID: id(90), Reason: "referral declined", ReleasedAt: t0}

	runSpecs(t, domain.DecideCapacity, []spec[domain.CapacityCommand]{
		{name: "the lead's department publishes", when: publish, want: []domain.Event{published}},
		{name: "an active member publishes rehabilitation beds", when: func() domain.PublishReservedSlots {
			c := publish
			c.By = w.punan
			c.Slots = c.Slots[1:]
			return c
		}(), want: []domain.Event{domain.ReservedSlotsPublished{HospitalID: id(63), DepartmentID: "medical-affairs", AllianceID: id(61),
			Slots: []domain.ReservedSlot{slotB}, PublishedAt: t0}}},
		{name: "a non-member cannot publish", when: func() domain.PublishReservedSlots { c := publish; c.By = w.outer; return c }(), wantCode: domain.CodeNotMember},
		{name: "a slot published twice", given: given, when: publish, wantCode: domain.CodeAlreadyExists},
		{name: "a slot in the past", when: func() domain.PublishReservedSlots {
			c := publish
			c.Slots = []domain.ReservedSlot{{SlotID: id(102), Kind: domain.SlotBed, Window: win(-1)}}
			return c
		}(), wantCode: domain.CodeInvalidInput},
		{name: "an unknown kind", when: func() domain.PublishReservedSlots {
			c := publish
			c.Slots = []domain.ReservedSlot{{SlotID: id(102), Kind: "icu", Window: win(3)}}
			return c
		}(), wantCode: domain.CodeInvalidInput},
		{name: "book the earliest free slot", given: given, when: book(90, ""), want: []domain.Event{booked(id(101), 90)}},
		{name: "book a named slot", given: given, when: book(90, id(100)), want: []domain.Event{booked(id(100), 90)}},
		{name: "book by kind", given: given, when: func() domain.BookReservedSlot { c := book(90, ""); c.Kind = domain.SlotOutpatient; return c }(),
			want: []domain.Event{booked(id(100), 90)}},
		{name: "never two referrals in one slot", given: []domain.Event{published, booked(id(100), 90)}, when: book(91, id(100)), wantCode: domain.CodeNoCapacity},
		{name: "none left", given: full, when: book(92, ""), wantCode: domain.CodeNoCapacity},
		{name: "a slot past its time is not offered", given: given, when: func() domain.BookReservedSlot {
			c := book(90, "")
			c.At = t0.Add(90 * time.Minute)
			return c
		}(), want: []domain.Event{domain.ReservedSlotBooked{HospitalID: id(60), DepartmentID: "emergency", SlotID: id(100), ReferralID: id(90), BookedAt: t0.Add(90 * time.Minute)}}},
		{name: "another alliance's slot", given: given, when: func() domain.BookReservedSlot { c := book(90, id(100)); c.AllianceID = id(62); return c }(),
			wantCode: domain.CodeForbidden},
		{name: "booking again for the same referral is a no-op", given: []domain.Event{published, booked(id(100), 90)}, when: book(90, ""), want: nil},
		{name: "release frees the slot", given: []domain.Event{published, booked(id(100), 90)}, when: release, want: []domain.Event{released}},
		{name: "a released slot can be booked again", given: []domain.Event{published, booked(id(100), 90), released}, when: book(91, id(100)),
			want: []domain.Event{booked(id(100), 91)}},
		{name: "release of nothing is a no-op", given: given, when: release, want: nil},
		{name: "release without a reason", given: given, when: func() domain.ReleaseReservedSlot { c := release; c.Reason = ""; return c }(),
			wantCode: domain.CodeInvalidInput},
		{name: "a command for another department's stream", given: given, when: func() domain.BookReservedSlot { c := book(90, ""); c.DepartmentID = "icu"; return c }(),
			wantCode: domain.CodeInvalidInput},
	})
}
