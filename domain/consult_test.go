package domain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// hengkouWorld is the scenario of the consult tests, from the seeds: the county medical
// community (医共体) of 恒口示范区, led by the district central hospital's cardiology
// department. 梅子铺卫生院 (a township health centre) uploads an emergency ECG of acute
// chest pain; the lead reads it within minutes, advises escalation, and the patient is
// admitted through the green channel in under an hour. 涧池镇卫生院 lies in another
// county (cross-region); 大同镇卫生院 is suspended.
type hengkouWorld struct {
	alliance                          domain.Alliance
	centre, meizipu, jianchi, datong  domain.Hospital
	lead, leadOtherDept               domain.Actor
	meizipuBy, jianchiBy, datongBy    domain.Actor
	consultID, specialistID           string
	ecg                               domain.Attachment
	question, consentRef, patientRef  string
	requested                         domain.ConsultRequested
	accepted                          domain.ConsultAccepted
	opinion                           domain.Opinion
	opinionGiven                      domain.ConsultOpinionGiven
	requestedAt, acceptedAt, answered time.Time
}

func newHengkouWorld() hengkouWorld {
	cardio := domain.Department{ID: "cardiology", Name: "心血管内科"}
	sum := sha256.Sum256([]byte("12-lead ECG, 2026-03-02 08:00, Meizipu THC"))
	w := hengkouWorld{
		centre:        domain.Hospital{ID: id(90), Name: "恒口示范区中心医院", RegionCode: "610902", Level: domain.LevelSecondary, Departments: []domain.Department{cardio}},
		meizipu:       domain.Hospital{ID: id(92), Name: "梅子铺卫生院", RegionCode: "610902", Level: domain.LevelCommunity},
		jianchi:       domain.Hospital{ID: id(93), Name: "汉阴县涧池镇卫生院", RegionCode: "610921", Level: domain.LevelCommunity},
		datong:        domain.Hospital{ID: id(94), Name: "大同镇卫生院", RegionCode: "610902", Level: domain.LevelCommunity},
		lead:          domain.Actor{HospitalID: id(90), DepartmentID: "cardiology", UserID: "ecg-duty", Role: "lead"},
		leadOtherDept: domain.Actor{HospitalID: id(90), DepartmentID: "orthopaedics", Role: "lead"},
		meizipuBy:     domain.Actor{HospitalID: id(92), DepartmentID: "emergency", UserID: "mzp-er", Role: "member"},
		jianchiBy:     domain.Actor{HospitalID: id(93), DepartmentID: "general", Role: "member"},
		datongBy:      domain.Actor{HospitalID: id(94), DepartmentID: "general", Role: "member"},
		consultID:     id(100),
		specialistID:  id(101),
		ecg:           domain.Attachment{Name: "12导联心电图 08:00.pdf", MediaType: "application/pdf", SHA256: hex.EncodeToString(sum[:]), SizeBytes: 182311},
		question:      "男,67岁,突发胸骨后压榨样疼痛40分钟,伴大汗。心电图示 V1-V4 导联 ST 段抬高。请协助判读并指导现场处置。",
		consentRef:    "MZP-ZQTY-2026-0317",
		patientRef:    "pr_01j9zq4m8k2v6t3w5x7y9a1b3c",
		requestedAt:   t0,
		acceptedAt:    t0.Add(3 * time.Minute),
		answered:      t0.Add(12 * time.Minute),
	}
	for _, e := range []domain.Event{
		domain.AllianceFounded{AllianceID: id(91), Name: "恒口示范区紧密型县域医共体", Specialty: "心血管内科·胸痛", Kind: domain.AllianceCounty,
			LeadHospitalID: id(90), LeadHospitalName: w.centre.Name, LeadDepartmentID: "cardiology", LeadRegionCode: "610902",
			FoundedAt: t0.Add(-60 * 24 * time.Hour)},
		domain.AllianceMemberAdmitted{AllianceID: id(91), HospitalID: id(92), HospitalName: w.meizipu.Name, RegionCode: "610902",
			Tier: domain.TierCommunity, AdmittedAt: t0.Add(-59 * 24 * time.Hour)},
		domain.AllianceMemberAdmitted{AllianceID: id(91), HospitalID: id(93), HospitalName: w.jianchi.Name, RegionCode: "610921",
			Tier: domain.TierCommunity, AdmittedAt: t0.Add(-59 * 24 * time.Hour)},
		domain.AllianceMemberAdmitted{AllianceID: id(91), HospitalID: id(94), HospitalName: w.datong.Name, RegionCode: "610902",
			Tier: domain.TierCommunity, AdmittedAt: t0.Add(-59 * 24 * time.Hour)},
		domain.AllianceMemberSuspended{AllianceID: id(91), HospitalID: id(94), Reason: "信息系统未完成对接", SuspendedAt: t0.Add(-time.Hour)},
	} {
		w.alliance = w.alliance.Evolve(e)
	}
	w.requested = domain.ConsultRequested{ConsultID: w.consultID, AllianceID: id(91), RequestingHospitalID: id(92),
		LeadHospitalID: id(90), LeadDepartmentID: "cardiology", RequesterRegionCode: "610902", LeadRegionCode: "610902",
		CrossRegion: false, Specialty: "心血管内科", Urgency: domain.UrgencyEmergency, Question: w.question,
		Attachments: []domain.Attachment{w.ecg}, ConsentRef: w.consentRef, PatientRef: w.patientRef,
		RequestedAt: t0, Deadline: t0.Add(30 * time.Minute)}
	w.accepted = domain.ConsultAccepted{ConsultID: w.consultID, SpecialistID: w.specialistID, SpecialistName: "总院心内科值班主任",
		AcceptedAt: w.acceptedAt}
	w.opinion = domain.Opinion{Text: "急性前壁 ST 段抬高型心肌梗死可能性大。",
		Recommendations:  []string{"立即嚼服阿司匹林 300 mg、替格瑞洛 180 mg", "建立静脉通道,持续心电监护,备除颤仪", "启动胸痛绿色通道,立即转运总院导管室行急诊 PCI"},
		AdviseEscalation: true}
	w.opinionGiven = domain.ConsultOpinionGiven{ConsultID: w.consultID, SpecialistID: w.specialistID, SpecialistName: "总院心内科值班主任",
		Opinion: w.opinion, WithinDeadline: true, GivenAt: w.answered}
	return w
}

// request is the emergency ECG consult that produces w.requested.
func (w hengkouWorld) request() domain.RequestConsult {
	return domain.RequestConsult{ConsultID: w.consultID, Alliance: w.alliance, Requester: w.meizipu, Lead: w.centre, By: w.meizipuBy,
		Specialty: "心血管内科", Urgency: domain.UrgencyEmergency, Question: w.question, Attachments: []domain.Attachment{w.ecg},
		ConsentRef: w.consentRef, PatientRef: w.patientRef, RequestedAt: t0, Policy: domain.DefaultDeadlinePolicy()}
}

func TestDecideConsult(t *testing.T) {
	w := newHengkouWorld()
	req := func(f func(*domain.RequestConsult)) domain.RequestConsult { c := w.request(); f(&c); return c }
	withAttachment := func(f func(*domain.Attachment)) domain.RequestConsult {
		return req(func(c *domain.RequestConsult) { a := w.ecg; f(&a); c.Attachments = []domain.Attachment{a} })
	}
	routine := domain.ConsultRequested{ConsultID: w.consultID, AllianceID: id(91), RequestingHospitalID: id(93),
		LeadHospitalID: id(90), LeadDepartmentID: "cardiology", RequesterRegionCode: "610921", LeadRegionCode: "610902",
		CrossRegion: true, Specialty: "心血管内科", Urgency: domain.UrgencyRoutine, Question: "高血压合并房颤,抗凝方案请会诊",
		ConsentRef: "JC-2026-044", PatientRef: w.patientRef, RequestedAt: t0, Deadline: t0.Add(48 * time.Hour)}
	requested := []domain.Event{w.requested}
	accepted := []domain.Event{w.requested, w.accepted}
	answered := []domain.Event{w.requested, w.accepted, w.opinionGiven}
	declined := []domain.Event{w.requested, domain.ConsultDeclined{ConsultID: w.consultID, Reason: "超出专科范围", DeclinedAt: w.acceptedAt}}
	closed := append(answered[:3:3], domain.ConsultClosed{ConsultID: w.consultID, ClosedAt: t0.Add(50 * time.Minute)})
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	accept := domain.AcceptConsult{ConsultID: w.consultID, SpecialistID: w.specialistID, SpecialistName: "总院心内科值班主任", By: w.lead, At: w.acceptedAt}
	acc := func(f func(*domain.AcceptConsult)) domain.AcceptConsult { c := accept; f(&c); return c }
	give := domain.GiveOpinion{ConsultID: w.consultID, Opinion: w.opinion, By: w.lead, At: w.answered}
	gv := func(f func(*domain.GiveOpinion)) domain.GiveOpinion { c := give; f(&c); return c }
	amended := domain.Opinion{Text: w.opinion.Text + " 补充:转运途中避免使用硝酸甘油(血压 92/60 mmHg)。",
		Recommendations: w.opinion.Recommendations, AdviseEscalation: true}
	amend := domain.AmendOpinion{ConsultID: w.consultID, Opinion: amended, Reason: "收到补充血压数据", By: w.lead, At: at(20 * time.Minute)}
	amd := func(f func(*domain.AmendOpinion)) domain.AmendOpinion { c := amend; f(&c); return c }
	closeBy := func(by domain.Actor) domain.CloseConsult {
		return domain.CloseConsult{ConsultID: w.consultID, Outcome: "经绿色通道转入总院,接诊至入院不到一小时", By: by, At: at(55 * time.Minute)}
	}
	cancel := domain.CancelConsult{ConsultID: w.consultID, Reason: "患者家属要求直接转诊市级医院", By: w.meizipuBy, At: at(5 * time.Minute)}
	many := make([]domain.Attachment, 21)
	for i := range many {
		sum := sha256.Sum256([]byte{byte(i)})
		many[i] = domain.Attachment{Name: fmt.Sprintf("ECG %d.pdf", i+1), MediaType: "application/pdf", SHA256: hex.EncodeToString(sum[:]), SizeBytes: 1}
	}

	runSpecs(t, domain.DecideConsult, []spec[domain.ConsultCommand]{
		// request
		{name: "emergency ECG consult, same region, 30 minute deadline", when: w.request(), want: requested},
		{name: "routine consult across regions, 48 hour deadline", when: req(func(c *domain.RequestConsult) {
			c.Requester, c.By, c.Urgency, c.Question, c.Attachments, c.ConsentRef = w.jianchi, w.jianchiBy, domain.UrgencyRoutine, routine.Question, nil, routine.ConsentRef
		}), want: []domain.Event{routine}},
		{name: "urgent consult under a configured policy", when: req(func(c *domain.RequestConsult) {
			c.Urgency, c.Policy = domain.UrgencyUrgent, domain.DeadlinePolicy{Emergency: 20 * time.Minute, Urgent: 2 * time.Hour, Routine: 24 * time.Hour}
		}), want: []domain.Event{func() domain.Event {
			e := w.requested
			e.Urgency, e.Deadline = domain.UrgencyUrgent, t0.Add(2*time.Hour)
			return e
		}()}},
		{name: "request twice", given: requested, when: w.request(), wantCode: domain.CodeAlreadyExists},
		{name: "bad consult id", when: req(func(c *domain.RequestConsult) { c.ConsultID = "c-1" }), wantCode: domain.CodeInvalidInput},
		{name: "no specialty", when: req(func(c *domain.RequestConsult) { c.Specialty = "" }), wantCode: domain.CodeInvalidInput},
		{name: "unknown urgency", when: req(func(c *domain.RequestConsult) { c.Urgency = "asap" }), wantCode: domain.CodeInvalidInput},
		{name: "no question", when: req(func(c *domain.RequestConsult) { c.Question = "\t" }), wantCode: domain.CodeInvalidInput},
		{name: "question too long", when: req(func(c *domain.RequestConsult) { c.Question = strings.Repeat("痛", 4001) }), wantCode: domain.CodeInvalidInput},
		{name: "attachment without name", when: withAttachment(func(a *domain.Attachment) { a.Name = "" }), wantCode: domain.CodeInvalidInput},
		{name: "attachment with bad media type", when: withAttachment(func(a *domain.Attachment) { a.MediaType = "pdf" }), wantCode: domain.CodeInvalidInput},
		{name: "attachment with uppercase digest", when: withAttachment(func(a *domain.Attachment) { a.SHA256 = strings.ToUpper(a.SHA256) }), wantCode: domain.CodeInvalidInput},
		{name: "attachment with short digest", when: withAttachment(func(a *domain.Attachment) { a.SHA256 = a.SHA256[:63] }), wantCode: domain.CodeInvalidInput},
		{name: "empty attachment", when: withAttachment(func(a *domain.Attachment) { a.SizeBytes = 0 }), wantCode: domain.CodeInvalidInput},
		{name: "oversized attachment", when: withAttachment(func(a *domain.Attachment) { a.SizeBytes = 3 << 30 }), wantCode: domain.CodeInvalidInput},
		{name: "same file attached twice", when: req(func(c *domain.RequestConsult) {
			c.Attachments = []domain.Attachment{w.ecg, w.ecg}
		}), wantCode: domain.CodeInvalidInput},
		{name: "too many attachments", when: req(func(c *domain.RequestConsult) { c.Attachments = many }), wantCode: domain.CodeInvalidInput},
		{name: "no consent reference", when: req(func(c *domain.RequestConsult) { c.ConsentRef = "" }), wantCode: domain.CodeInvalidInput},
		{name: "consent reference with spaces", when: req(func(c *domain.RequestConsult) { c.ConsentRef = "MZP 2026 0317" }), wantCode: domain.CodeInvalidInput},
		{name: "consent reference too long", when: req(func(c *domain.RequestConsult) { c.ConsentRef = strings.Repeat("x", 129) }), wantCode: domain.CodeInvalidInput},
		{name: "patient name instead of a reference", when: req(func(c *domain.RequestConsult) { c.PatientRef = "张某某" }), wantCode: domain.CodeInvalidInput},
		{name: "ID-card number instead of a reference", when: req(func(c *domain.RequestConsult) { c.PatientRef = "pr_61090219580101123X" }), wantCode: domain.CodeInvalidInput},
		{name: "uppercase reference", when: req(func(c *domain.RequestConsult) { c.PatientRef = strings.ToUpper(w.patientRef) }), wantCode: domain.CodeInvalidInput},
		{name: "no request time", when: req(func(c *domain.RequestConsult) { c.RequestedAt = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "no deadline policy configured", when: req(func(c *domain.RequestConsult) { c.Policy = domain.DeadlinePolicy{} }), wantCode: domain.CodeInvalidInput},
		{name: "emergency given more time than urgent", when: req(func(c *domain.RequestConsult) {
			c.Policy = domain.DeadlinePolicy{Emergency: 5 * time.Hour, Urgent: 4 * time.Hour, Routine: 48 * time.Hour}
		}), wantCode: domain.CodeInvalidInput},
		{name: "no alliance", when: req(func(c *domain.RequestConsult) { c.Alliance = domain.Alliance{} }), wantCode: domain.CodeNotFound},
		{name: "suspended member", when: req(func(c *domain.RequestConsult) { c.By, c.Requester = w.datongBy, w.datong }), wantCode: domain.CodeNotMember},
		{name: "hospital never admitted", when: req(func(c *domain.RequestConsult) {
			c.By = domain.Actor{HospitalID: id(95), DepartmentID: "general"}
		}), wantCode: domain.CodeNotMember},
		{name: "the lead cannot consult itself", when: req(func(c *domain.RequestConsult) { c.By, c.Requester = w.lead, w.centre }), wantCode: domain.CodeNotMember},
		{name: "requesting hospital not loaded", when: req(func(c *domain.RequestConsult) { c.Requester = domain.Hospital{} }), wantCode: domain.CodeNotFound},
		{name: "requesting hospital is another hospital", when: req(func(c *domain.RequestConsult) { c.Requester = w.jianchi }), wantCode: domain.CodeInvalidInput},
		{name: "lead hospital not loaded", when: req(func(c *domain.RequestConsult) { c.Lead = domain.Hospital{} }), wantCode: domain.CodeNotFound},
		{name: "lead hospital is another hospital", when: req(func(c *domain.RequestConsult) { c.Lead = w.jianchi }), wantCode: domain.CodeInvalidInput},

		// accept
		{name: "accept naming the specialist", given: requested, when: accept, want: []domain.Event{w.accepted}},
		{name: "accept without naming a specialist", given: requested, when: acc(func(c *domain.AcceptConsult) { c.SpecialistID, c.SpecialistName = "", "" }),
			want: []domain.Event{domain.ConsultAccepted{ConsultID: w.consultID, AcceptedAt: w.acceptedAt}}},
		{name: "accept with bad specialist id", given: requested, when: acc(func(c *domain.AcceptConsult) { c.SpecialistID = "dr-wang" }), wantCode: domain.CodeInvalidInput},
		{name: "specialist id without a name", given: requested, when: acc(func(c *domain.AcceptConsult) { c.SpecialistName = "" }), wantCode: domain.CodeInvalidInput},
		{name: "specialist name too long", given: requested, when: acc(func(c *domain.AcceptConsult) {
			c.SpecialistID, c.SpecialistName = "", strings.Repeat("王", 101)
		}), wantCode: domain.CodeInvalidInput},
		{name: "accept without time", given: requested, when: acc(func(c *domain.AcceptConsult) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "accept before the request", given: requested, when: acc(func(c *domain.AcceptConsult) { c.At = t0.Add(-time.Second) }), wantCode: domain.CodeInvalidInput},
		{name: "accept with bad consult id", given: requested, when: acc(func(c *domain.AcceptConsult) { c.ConsultID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "accept unknown consult", when: accept, wantCode: domain.CodeNotFound},
		{name: "member cannot accept", given: requested, when: acc(func(c *domain.AcceptConsult) { c.By = w.meizipuBy }), wantCode: domain.CodeForbidden},
		{name: "another department cannot accept", given: requested, when: acc(func(c *domain.AcceptConsult) { c.By = w.leadOtherDept }), wantCode: domain.CodeForbidden},
		{name: "accept twice", given: accepted, when: accept, wantCode: domain.CodeForbiddenTransition},
		{name: "accept a declined consult", given: declined, when: accept, wantCode: domain.CodeForbiddenTransition},

		// decline
		{name: "decline", given: requested, when: domain.DeclineConsult{ConsultID: w.consultID, Reason: "超出专科范围", By: w.lead, At: w.acceptedAt},
			want: declined[1:]},
		{name: "decline without reason", given: requested, when: domain.DeclineConsult{ConsultID: w.consultID, By: w.lead, At: w.acceptedAt}, wantCode: domain.CodeInvalidInput},
		{name: "member cannot decline", given: requested,
			when: domain.DeclineConsult{ConsultID: w.consultID, Reason: "r", By: w.meizipuBy, At: w.acceptedAt}, wantCode: domain.CodeForbidden},
		{name: "decline after accepting", given: accepted,
			when: domain.DeclineConsult{ConsultID: w.consultID, Reason: "r", By: w.lead, At: w.answered}, wantCode: domain.CodeForbiddenTransition},

		// opinion
		{name: "opinion within the deadline", given: accepted, when: give, want: []domain.Event{w.opinionGiven}},
		{name: "opinion after the deadline", given: accepted, when: gv(func(c *domain.GiveOpinion) { c.At = at(31 * time.Minute) }),
			want: []domain.Event{func() domain.Event {
				e := w.opinionGiven
				e.WithinDeadline, e.GivenAt = false, at(31*time.Minute)
				return e
			}()}},
		{name: "opinion exactly at the deadline", given: accepted, when: gv(func(c *domain.GiveOpinion) { c.At = at(30 * time.Minute) }),
			want: []domain.Event{func() domain.Event { e := w.opinionGiven; e.GivenAt = at(30 * time.Minute); return e }()}},
		{name: "opinion dated before the acceptance", given: accepted, when: gv(func(c *domain.GiveOpinion) { c.At = at(2 * time.Minute) }), wantCode: domain.CodeInvalidInput},
		{name: "opinion before accepting", given: requested, when: give, wantCode: domain.CodeForbiddenTransition},
		{name: "second opinion", given: answered, when: give, wantCode: domain.CodeForbiddenTransition},
		{name: "opinion on a cancelled consult", given: []domain.Event{w.requested, domain.ConsultCancelled{ConsultID: w.consultID, Reason: "r", CancelledAt: t0}},
			when: give, wantCode: domain.CodeForbiddenTransition},
		{name: "opinion without text", given: accepted, when: gv(func(c *domain.GiveOpinion) { c.Opinion.Text = "" }), wantCode: domain.CodeInvalidInput},
		{name: "empty recommendation", given: accepted, when: gv(func(c *domain.GiveOpinion) { c.Opinion.Recommendations = []string{"转运", " "} }), wantCode: domain.CodeInvalidInput},
		{name: "too many recommendations", given: accepted, when: gv(func(c *domain.GiveOpinion) {
			c.Opinion.Recommendations = slices.Repeat([]string{"复查心电图"}, 21)
		}), wantCode: domain.CodeInvalidInput},
		{name: "member cannot give the opinion", given: accepted, when: gv(func(c *domain.GiveOpinion) { c.By = w.meizipuBy }), wantCode: domain.CodeForbidden},

		// amend
		{name: "amend the opinion", given: answered, when: amend, want: []domain.Event{
			domain.ConsultOpinionAmended{ConsultID: w.consultID, Opinion: amended, Reason: amend.Reason, AmendedAt: amend.At}}},
		{name: "amend without reason", given: answered, when: amd(func(c *domain.AmendOpinion) { c.Reason = "" }), wantCode: domain.CodeInvalidInput},
		{name: "amend with empty text", given: answered, when: amd(func(c *domain.AmendOpinion) { c.Opinion.Text = "" }), wantCode: domain.CodeInvalidInput},
		{name: "amend before an opinion", given: accepted, when: amend, wantCode: domain.CodeForbiddenTransition},
		{name: "amend after closing", given: closed, when: amend, wantCode: domain.CodeForbiddenTransition},
		{name: "member cannot amend", given: answered, when: amd(func(c *domain.AmendOpinion) { c.By = w.meizipuBy }), wantCode: domain.CodeForbidden},

		// close
		{name: "requester closes", given: answered, when: closeBy(w.meizipuBy), want: []domain.Event{
			domain.ConsultClosed{ConsultID: w.consultID, Outcome: closeBy(w.meizipuBy).Outcome, ClosedAt: at(55 * time.Minute)}}},
		{name: "lead closes", given: answered, when: closeBy(w.lead), want: []domain.Event{
			domain.ConsultClosed{ConsultID: w.consultID, Outcome: closeBy(w.lead).Outcome, ByLead: true, ClosedAt: at(55 * time.Minute)}}},
		{name: "close before an opinion", given: accepted, when: closeBy(w.meizipuBy), wantCode: domain.CodeForbiddenTransition},
		{name: "close twice", given: closed, when: closeBy(w.meizipuBy), wantCode: domain.CodeForbiddenTransition},
		{name: "another member cannot close", given: answered, when: closeBy(w.jianchiBy), wantCode: domain.CodeForbidden},
		{name: "outcome too long", given: answered, when: domain.CloseConsult{ConsultID: w.consultID, Outcome: strings.Repeat("院", 1001),
			By: w.meizipuBy, At: at(time.Hour)}, wantCode: domain.CodeInvalidInput},

		// cancel
		{name: "cancel a requested consult", given: requested, when: cancel, want: []domain.Event{
			domain.ConsultCancelled{ConsultID: w.consultID, Reason: cancel.Reason, CancelledAt: cancel.At}}},
		{name: "cancel an accepted consult", given: accepted, when: domain.CancelConsult{ConsultID: w.consultID, Reason: "r", By: w.meizipuBy, At: at(10 * time.Minute)},
			want: []domain.Event{domain.ConsultCancelled{ConsultID: w.consultID, Reason: "r", CancelledAt: at(10 * time.Minute)}}},
		{name: "cancel after the opinion", given: answered, when: cancel, wantCode: domain.CodeForbiddenTransition},
		{name: "cancel a declined consult", given: declined, when: cancel, wantCode: domain.CodeForbiddenTransition},
		{name: "lead cannot cancel", given: requested, when: domain.CancelConsult{ConsultID: w.consultID, Reason: "r", By: w.lead, At: at(time.Minute)}, wantCode: domain.CodeForbidden},
		{name: "cancel without reason", given: requested, when: domain.CancelConsult{ConsultID: w.consultID, By: w.meizipuBy, At: at(time.Minute)}, wantCode: domain.CodeInvalidInput},

		{name: "nil command", when: nil, wantCode: domain.CodeInvalidInput},
	})
}

func TestConsultOverdue(t *testing.T) {
	w := newHengkouWorld()
	fold := func(es ...domain.Event) domain.Consult {
		var c domain.Consult
		for _, e := range es {
			c = c.Evolve(e)
		}
		return c
	}
	deadline := w.requested.Deadline
	tests := []struct {
		name string
		c    domain.Consult
		now  time.Time
		want bool
	}{
		{"requested, before the deadline", fold(w.requested), deadline.Add(-time.Second), false},
		{"requested, at the deadline", fold(w.requested), deadline, false},
		{"requested, past the deadline", fold(w.requested), deadline.Add(time.Second), true},
		{"accepted, past the deadline", fold(w.requested, w.accepted), deadline.Add(time.Hour), true},
		{"answered late is not overdue", fold(w.requested, w.accepted, w.opinionGiven), deadline.Add(time.Hour), false},
		{"declined", fold(w.requested, domain.ConsultDeclined{ConsultID: w.consultID, Reason: "r", DeclinedAt: t0}), deadline.Add(time.Hour), false},
		{"cancelled", fold(w.requested, domain.ConsultCancelled{ConsultID: w.consultID, Reason: "r", CancelledAt: t0}), deadline.Add(time.Hour), false},
		{"no consult", domain.Consult{}, deadline.Add(time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Overdue(tc.now); got != tc.want {
				t.Errorf("Overdue(%s) with status %q = %v, want %v", tc.now.Format(time.RFC3339), tc.c.Status, got, tc.want)
			}
		})
	}
}

func TestConsultEvolve(t *testing.T) {
	w := newHengkouWorld()
	amended := domain.Opinion{Text: "修正意见", Recommendations: []string{"转运总院"}, AdviseEscalation: true}
	var c domain.Consult
	for _, e := range []domain.Event{w.requested, w.accepted, w.opinionGiven,
		domain.ConsultOpinionAmended{ConsultID: w.consultID, Opinion: amended, Reason: "补充数据", AmendedAt: t0.Add(20 * time.Minute)}} {
		c = c.Evolve(e)
	}
	if c.Status != domain.ConsultStatusAnswered || c.Amendments != 1 || c.Opinion.Text != "修正意见" ||
		!c.OpinionGivenAt.Equal(w.answered) || c.SpecialistID != w.specialistID || c.CrossRegion {
		t.Fatalf("got %+v", c)
	}
	c = c.Evolve(domain.ConsultClosed{ConsultID: w.consultID, ClosedAt: t0.Add(time.Hour)})
	if c.Status != domain.ConsultStatusClosed || c.Open() {
		t.Fatalf("after close: status %s open %v", c.Status, c.Open())
	}
}

func TestDeadlinePolicy(t *testing.T) {
	p := domain.DefaultDeadlinePolicy()
	if err := p.Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	for urgency, want := range map[string]time.Duration{
		domain.UrgencyEmergency: 30 * time.Minute, domain.UrgencyUrgent: 4 * time.Hour, domain.UrgencyRoutine: 48 * time.Hour,
	} {
		if got, err := p.For(urgency); err != nil || got != want {
			t.Errorf("For(%s) = %v, %v; want %v", urgency, got, err, want)
		}
	}
	if _, err := p.For("whenever"); domain.ErrorCode(err) != domain.CodeInvalidInput {
		t.Errorf("For(unknown) = %v, want invalid_input", err)
	}
	for name, bad := range map[string]domain.DeadlinePolicy{
		"zero":              {},
		"negative routine":  {Emergency: time.Minute, Urgent: time.Hour, Routine: -time.Hour},
		"routine > 30 days": {Emergency: time.Minute, Urgent: time.Hour, Routine: 31 * 24 * time.Hour},
		"urgent > routine":  {Emergency: time.Minute, Urgent: 72 * time.Hour, Routine: 48 * time.Hour},
	} {
		if err := bad.Validate(); domain.ErrorCode(err) != domain.CodeInvalidInput {
			t.Errorf("%s: Validate() = %v, want invalid_input", name, err)
		}
	}
}

func TestCatalogueOfDispatchExpertConsult(t *testing.T) {
	cat := domain.EventCatalogue()
	want := map[string][]string{
		domain.DispatchAggregate: {"DispatchCancelled", "DispatchCompleted", "DispatchRequested", "DispatchVisitReported",
			"ExpertAssigned", "ExpertCheckedIn", "ExpertReassigned"},
		domain.ExpertAggregate: {"ExpertBooked", "ExpertBookingReleased"},
		domain.ConsultAggregate: {"ConsultAccepted", "ConsultCancelled", "ConsultClosed", "ConsultDeclined",
			"ConsultOpinionAmended", "ConsultOpinionGiven", "ConsultRequested"},
	}
	for agg, types := range want {
		if !slices.Equal(cat[agg], types) {
			t.Errorf("aggregate %s registers %v, want %v", agg, cat[agg], types)
		}
		for _, typ := range types {
			if v, err := domain.SchemaVersion(typ); err != nil || v != 1 {
				t.Errorf("%s: schema version %d, %v; want 1", typ, v, err)
			}
		}
	}
	for stream, want := range map[string]string{
		domain.DispatchStream(id(1)): "dispatch-" + id(1),
		domain.ExpertStream(id(2)):   "expert-" + id(2),
		domain.ConsultStream(id(3)):  "consult-" + id(3),
	} {
		if stream != want {
			t.Errorf("stream %q, want %q", stream, want)
		}
	}
}
