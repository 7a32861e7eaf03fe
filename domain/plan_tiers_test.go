package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// tierWorld is three tiers from the reports: 中山医院 leads an alliance in which
// 徐汇区中心医院 is a member; 徐汇 leads its own alliance of community health centres and
// takes 中山's post-operative and stable patients. 枫林 and 斜土 are active members of
// 徐汇's alliance, 长桥 is suspended there, 康健 is no member of it. 徐汇 follows 中山's
// gastric-cancer follow-up protocol version 1 directly (with a local deviation), 枫林
// follows it through 徐汇's alliance, 斜土 follows version 2, 田林 adopted nothing.
type tierWorld struct {
	zhongshan, xuhui, xuhuiOther, fenglin, xietu, kangjian, tianlin, changqiao domain.Actor
	top, community                                                             domain.Alliance
	protocol                                                                   domain.Protocol
	xuhuiAdoption, fenglinAdoption, xietuAdoption                              domain.Adoption
	xuhuiDeviation                                                             domain.LocalDeviation
	initiated                                                                  domain.PlanInitiated
	handedOver                                                                 domain.PlanHandedOver
	handedOn                                                                   domain.PlanHandedOn
	patient                                                                    string
}

func fold[S evolver[S]](events ...domain.Event) S {
	var s S
	for _, e := range events {
		s = s.Evolve(e)
	}
	return s
}

func newTierWorld() tierWorld {
	w := tierWorld{
		zhongshan:  domain.Actor{HospitalID: id(101), DepartmentID: "general-surgery", UserID: "dr-fan", Role: "lead"},
		xuhui:      domain.Actor{HospitalID: id(102), DepartmentID: "general-surgery", UserID: "dr-liu", Role: "lead"},
		xuhuiOther: domain.Actor{HospitalID: id(102), DepartmentID: "cardiology", UserID: "dr-ge", Role: "lead"},
		fenglin:    domain.Actor{HospitalID: id(103), DepartmentID: "general-practice", UserID: "gp-wang", Role: "member"},
		xietu:      domain.Actor{HospitalID: id(104), DepartmentID: "general-practice", UserID: "gp-zhou", Role: "member"},
		kangjian:   domain.Actor{HospitalID: id(107), DepartmentID: "general-practice", UserID: "gp-wu", Role: "member"},
		tianlin:    domain.Actor{HospitalID: id(105), DepartmentID: "general-practice", UserID: "gp-xu", Role: "member"},
		changqiao:  domain.Actor{HospitalID: id(106), DepartmentID: "general-practice", UserID: "gp-he", Role: "member"},
		patient:    "pr_" + "abcdefghijklmnopqrstuvwxyz",
	}
	w.top = fold[domain.Alliance](
		domain.AllianceFounded{AllianceID: id(110), Name: "中山—徐汇医联体", Specialty: "普外科", Kind: domain.AllianceCity,
			LeadHospitalID: id(101), LeadHospitalName: "复旦大学附属中山医院", LeadDepartmentID: "general-surgery", LeadRegionCode: "310104", FoundedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(110), HospitalID: id(102), HospitalName: "徐汇区中心医院", RegionCode: "310104", Tier: domain.TierCore, AdmittedAt: t0},
	)
	w.community = fold[domain.Alliance](
		domain.AllianceFounded{AllianceID: id(111), Name: "徐汇区中心医院社区医联体", Specialty: "全科", Kind: domain.AllianceCity,
			LeadHospitalID: id(102), LeadHospitalName: "徐汇区中心医院", LeadDepartmentID: "general-surgery", LeadRegionCode: "310104", FoundedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(111), HospitalID: id(103), HospitalName: "枫林街道社区卫生服务中心", RegionCode: "310104", Tier: domain.TierCommunity, AdmittedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(111), HospitalID: id(104), HospitalName: "斜土街道社区卫生服务中心", RegionCode: "310104", Tier: domain.TierCommunity, AdmittedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(111), HospitalID: id(105), HospitalName: "田林街道社区卫生服务中心", RegionCode: "310104", Tier: domain.TierCommunity, AdmittedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(111), HospitalID: id(106), HospitalName: "长桥街道社区卫生服务中心", RegionCode: "310104", Tier: domain.TierCommunity, AdmittedAt: t0},
		domain.AllianceMemberSuspended{AllianceID: id(111), HospitalID: id(106), Reason: "随访记录质控整改", SuspendedAt: t0},
	)
	v1 := []domain.ProtocolStep{
		{StepID: "d7-wound", DayOffset: 7, Activity: "伤口检查与拆线"},
		{StepID: "d14-nutrition", DayOffset: 14, Activity: "口服营养补充", Drug: "肠内营养粉", Dose: "500 kcal", Route: domain.RouteOral},
		{StepID: "d30-review", DayOffset: 30, Activity: "术后一月复查血常规与肝功能"},
	}
	v2 := append([]domain.ProtocolStep(nil), v1...)
	v2[1].Dose = "750 kcal"
	w.protocol = fold[domain.Protocol](
		domain.ProtocolDrafted{ProtocolID: id(120), AllianceID: id(110), Title: "胃癌术后康复随访", Indication: "胃癌根治术后",
			LeadHospitalID: id(101), LeadDepartmentID: "general-surgery", DraftedAt: t0},
		domain.ProtocolVersionPublished{ProtocolID: id(120), AllianceID: id(110), Version: 1, Steps: v1,
			ContentHash: domain.ProtocolContentHash(v1, ""), PublishedAt: t0},
		domain.ProtocolVersionPublished{ProtocolID: id(120), AllianceID: id(110), Version: 2, Steps: v2,
			ContentHash: domain.ProtocolContentHash(v2, ""), ChangeNote: "higher nutrition target", PublishedAt: t0.Add(time.Hour)},
	)
	pv1, _ := w.protocol.Version(1)
	pv2, _ := w.protocol.Version(2)
	w.xuhuiDeviation = domain.LocalDeviation{StepID: "d14-nutrition", Kind: domain.DeviationDrugSubstitution,
		Description: "formulary carries another brand", Substitute: "整蛋白型肠内营养剂", DeclaredAt: t0}
	w.xuhuiAdoption = fold[domain.Adoption](
		domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(102), Version: 1, ContentHash: pv1.ContentHash, AdoptedAt: t0},
		domain.AdoptionDeviationDeclared{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(102), Version: 1, Deviation: w.xuhuiDeviation})
	w.fenglinAdoption = fold[domain.Adoption](domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(103), Version: 1,
		ContentHash: pv1.ContentHash, ViaAllianceID: id(111), AdoptedAt: t0})
	w.xietuAdoption = fold[domain.Adoption](domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(104), Version: 2,
		ContentHash: pv2.ContentHash, ViaAllianceID: id(111), AdoptedAt: t0})

	steps := make([]domain.PlanStep, 0, len(v1))
	for _, s := range v1 {
		steps = append(steps, domain.PlanStep{StepID: s.StepID, DayOffset: s.DayOffset, DueDate: t0.Truncate(24*time.Hour).AddDate(0, 0, s.DayOffset),
			Activity: s.Activity, Drug: s.Drug, Dose: s.Dose, Route: s.Route, Status: domain.StepStatusPending, Version: 1})
	}
	w.initiated = domain.PlanInitiated{PlanID: id(130), AllianceID: id(110), ProtocolID: id(120), ProtocolVersion: 1, ContentHash: pv1.ContentHash,
		PatientRef: w.patient, StartDate: t0.Truncate(24 * time.Hour), LeadHospitalID: id(101), LeadDepartmentID: "general-surgery", Steps: steps, At: t0}
	w.handedOver = domain.PlanHandedOver{PlanID: id(130), FromHospitalID: id(101), ToHospitalID: id(102), AdoptedVersion: 1,
		LocalDeviations: []domain.LocalDeviation{w.xuhuiDeviation}, At: t0.Add(time.Hour)}
	w.handedOn = domain.PlanHandedOn{PlanID: id(130), FromHospitalID: id(102), ToHospitalID: id(103), ViaAllianceID: id(111),
		AdoptedVersion: 1, At: t0.Add(2 * time.Hour)}
	return w
}

func (w tierWorld) handOn(to domain.Actor, a domain.Adoption) domain.HandOnPlan {
	return domain.HandOnPlan{PlanID: id(130), ToHospitalID: to.HospitalID, Via: w.community, HeldThrough: w.top,
		Adoption: a, By: w.xuhui, At: t0.Add(2 * time.Hour)}
}

func TestDecideHandOnPlan(t *testing.T) {
	w := newTierWorld()
	decide := func(p domain.Plan, c domain.HandOnPlan) ([]domain.Event, error) { return domain.DecidePlan(p, c) }
	with := func(f func(*domain.HandOnPlan)) domain.HandOnPlan {
		c := w.handOn(w.fenglin, w.fenglinAdoption)
		f(&c)
		return c
	}
	held := []domain.Event{w.initiated, w.handedOver}
	xuhuiSuspended := fold[domain.Alliance](domain.AllianceFounded{AllianceID: id(110), LeadHospitalID: id(101), LeadDepartmentID: "general-surgery", FoundedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(110), HospitalID: id(102), Tier: domain.TierCore, AdmittedAt: t0},
		domain.AllianceMemberSuspended{AllianceID: id(110), HospitalID: id(102), Reason: "医联体协议续签中", SuspendedAt: t0})
	// 枫林 leads an alliance of its own stations, with 徐汇 admitted to it: a hand-on to 徐汇
	// would loop back up the chain.
	fenglinStations := fold[domain.Alliance](domain.AllianceFounded{AllianceID: id(112), LeadHospitalID: id(103), LeadDepartmentID: "general-practice", FoundedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(112), HospitalID: id(102), Tier: domain.TierMember, AdmittedAt: t0})
	xuhuiByFenglin := fold[domain.Adoption](domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(102), Version: 1, AdoptedAt: t0})

	runSpecs(t, decide, []spec[domain.HandOnPlan]{
		{name: "徐汇 hands 中山's post-operative patient on to 枫林, which adopted the version through 徐汇's alliance",
			given: held, when: w.handOn(w.fenglin, w.fenglinAdoption), want: []domain.Event{w.handedOn}},
		{name: "a community centre not in 徐汇's alliance", given: held, when: w.handOn(w.kangjian, domain.Adoption{}), wantCode: domain.CodeNotMember},
		{name: "a community centre suspended in 徐汇's alliance", given: held, when: w.handOn(w.changqiao, domain.Adoption{}), wantCode: domain.CodeNotMember},
		{name: "a community centre that adopted no version", given: held, when: w.handOn(w.tianlin, domain.Adoption{}), wantCode: domain.CodeForbiddenTransition},
		{name: "a community centre on another version than the plan's", given: held, when: w.handOn(w.xietu, w.xietuAdoption), wantCode: domain.CodeForbiddenTransition},
		{name: "the adoption of another hospital", given: held, when: w.handOn(w.xietu, w.fenglinAdoption), wantCode: domain.CodeInvalidInput},
		{name: "中山 does not hold the plan (it hands over, never on)", given: held,
			when: with(func(c *domain.HandOnPlan) { c.By = w.zhongshan }), wantCode: domain.CodeForbidden},
		{name: "a community centre that does not hold the plan", given: held,
			when: with(func(c *domain.HandOnPlan) { c.By = w.fenglin }), wantCode: domain.CodeForbidden},
		{name: "another department of 徐汇 that does not lead its alliance", given: held,
			when: with(func(c *domain.HandOnPlan) { c.By = w.xuhuiOther }), wantCode: domain.CodeForbidden},
		{name: "a plan the lead holds is handed over, not on", given: []domain.Event{w.initiated},
			when: with(func(c *domain.HandOnPlan) { c.By = w.zhongshan; c.Via = w.top }), wantCode: domain.CodeForbiddenTransition},
		{name: "徐汇 suspended in 中山's alliance passes nothing on", given: held,
			when: with(func(c *domain.HandOnPlan) { c.HeldThrough = xuhuiSuspended }), wantCode: domain.CodeNotMember},
		{name: "the alliance the plan is held through must be the chain's", given: held,
			when: with(func(c *domain.HandOnPlan) { c.HeldThrough = w.community }), wantCode: domain.CodeInvalidInput},
		{name: "an alliance that does not exist", given: held,
			when: with(func(c *domain.HandOnPlan) { c.Via = domain.Alliance{} }), wantCode: domain.CodeNotFound},
		{name: "a flagged plan", given: append(append([]domain.Event{}, held...), domain.PlanFlagged{PlanID: id(130), ProtocolID: id(120), Version: 1, Reason: "营养方案更正", At: t0.Add(time.Hour)}),
			when: w.handOn(w.fenglin, w.fenglinAdoption), wantCode: domain.CodeForbiddenTransition},
		{name: "already handed on: 徐汇 no longer holds it", given: append(append([]domain.Event{}, held...), w.handedOn),
			when: w.handOn(w.xietu, w.xietuAdoption), wantCode: domain.CodeForbidden},
		{name: "a hand-on back up the chain is refused (escalate instead)", given: append(append([]domain.Event{}, held...), w.handedOn),
			when: domain.HandOnPlan{PlanID: id(130), ToHospitalID: id(102), Via: fenglinStations, HeldThrough: w.community,
				Adoption: xuhuiByFenglin, By: w.fenglin, At: t0.Add(3 * time.Hour)}, wantCode: domain.CodeForbiddenTransition},
		{name: "a closed plan", given: append(append([]domain.Event{}, held...), domain.PlanDiscontinued{PlanID: id(130), Reason: "转外院", At: t0.Add(time.Hour)}),
			when: w.handOn(w.fenglin, w.fenglinAdoption), wantCode: domain.CodeForbiddenTransition},
	})
}

func TestThreeTierEscalationGoesOneLinkUp(t *testing.T) {
	w := newTierWorld()
	p := fold[domain.Plan](w.initiated, w.handedOver, w.handedOn)
	if got := p.ResponsibleHospitalID(); got != id(103) {
		t.Fatalf("responsible after the hand-on: got %s, want 枫林 %s", got, id(103))
	}
	wantChain := []domain.PlanCustody{{HospitalID: id(101), AllianceID: id(110), Since: t0}, {HospitalID: id(102), AllianceID: id(110), Since: t0.Add(time.Hour)},
		{HospitalID: id(103), AllianceID: id(111), Since: t0.Add(2 * time.Hour)}}
	if !reflect.DeepEqual(p.Chain, wantChain) {
		t.Fatalf("chain: got %+v, want %+v", p.Chain, wantChain)
	}

	// 枫林 escalates: the patient goes back to 徐汇, which handed the plan on, with 徐汇's
	// own declared deviation back on the plan.
	up1, err := domain.DecidePlan(p, domain.EscalatePlan{PlanID: id(130), Reason: "切口感染伴发热", Urgent: true, Adoption: w.xuhuiAdoption, By: w.fenglin, At: t0.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want1 := domain.PlanEscalated{PlanID: id(130), FromHospitalID: id(103), ToHospitalID: id(102), Reason: "切口感染伴发热", Urgent: true,
		LocalDeviations: []domain.LocalDeviation{w.xuhuiDeviation}, At: t0.Add(3 * time.Hour)}
	if !reflect.DeepEqual(up1, []domain.Event{want1}) {
		t.Fatalf("community escalation: got %#v, want %#v", up1, want1)
	}
	p = p.Evolve(up1[0])
	if p.ResponsibleHospitalID() != id(102) || len(p.Chain) != 2 || !reflect.DeepEqual(p.LocalDeviations, []domain.LocalDeviation{w.xuhuiDeviation}) {
		t.Fatalf("after 枫林's escalation: responsible %s, chain %+v, deviations %+v", p.ResponsibleHospitalID(), p.Chain, p.LocalDeviations)
	}
	// 徐汇 may now escalate on to 中山, the top lead.
	up2, err := domain.DecidePlan(p, domain.EscalatePlan{PlanID: id(130), Reason: "需再次手术", By: w.xuhui, At: t0.Add(4 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if e := up2[0].(domain.PlanEscalated); e.ToHospitalID != id(101) || e.FromHospitalID != id(102) || len(e.LocalDeviations) != 0 {
		t.Fatalf("middle-tier escalation: got %+v, want 徐汇 -> 中山 without deviations", e)
	}
	p = p.Evolve(up2[0])
	if !p.HeldByLead() || len(p.Chain) != 1 || p.LocalDeviations != nil {
		t.Fatalf("after 徐汇's escalation: held by lead %v, chain %+v, deviations %+v", p.HeldByLead(), p.Chain, p.LocalDeviations)
	}
	// A middle tier that no longer follows the plan's version gets the plan back without
	// deviations (the escalation itself is never blocked).
	q := fold[domain.Plan](w.initiated, w.handedOver, w.handedOn)
	got, err := domain.DecidePlan(q, domain.EscalatePlan{PlanID: id(130), Reason: "发热", Adoption: w.xietuAdoption, By: w.fenglin, At: t0.Add(3 * time.Hour)})
	if err != nil || got[0].(domain.PlanEscalated).ToHospitalID != id(102) || len(got[0].(domain.PlanEscalated).LocalDeviations) != 0 {
		t.Fatalf("escalation with a foreign adoption: got %+v, %v", got, err)
	}
	// Only the holder escalates; 徐汇 cannot pull the plan back from 枫林.
	if _, err := domain.DecidePlan(q, domain.EscalatePlan{PlanID: id(130), Reason: "x", By: w.xuhui, At: t0.Add(3 * time.Hour)}); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Fatalf("escalation by a former holder: got %v, want forbidden", err)
	}
}

func TestThreeTierRevisionNeedsTheCommunityCentresAdoption(t *testing.T) {
	w := newTierWorld()
	given := []domain.Event{w.initiated, w.handedOver, w.handedOn}
	revise := domain.RevisePlan{PlanID: id(130), Reason: "营养目标提高", Version: 2, Protocol: w.protocol, Adoption: w.fenglinAdoption, By: w.zhongshan, At: t0.Add(3 * time.Hour)}
	runSpecs(t, func(p domain.Plan, c domain.RevisePlan) ([]domain.Event, error) { return domain.DecidePlan(p, c) }, []spec[domain.RevisePlan]{
		{name: "中山 revises onto version 2 while 枫林, on version 1, holds the plan", given: given, when: revise, wantCode: domain.CodeForbiddenTransition},
		{name: "徐汇 is not the plan's lead and never revises it", given: given,
			when: func() domain.RevisePlan {
				c := revise
				c.By, c.Version = w.xuhui, 0
				c.Changes = []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d30-review"}}
				return c
			}(),
			wantCode: domain.CodeForbidden},
	})
}

func TestAdoptThroughMiddleTier(t *testing.T) {
	w := newTierWorld()
	pv1, _ := w.protocol.Version(1)
	xuhuiOnV2 := w.xuhuiAdoption.Evolve(domain.AdoptionUpgraded{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(102), FromVersion: 1, ToVersion: 2, UpgradedAt: t0.Add(2 * time.Hour)})
	adopt := func(by domain.Actor, v int) domain.AdoptProtocol {
		return domain.AdoptProtocol{Alliance: w.top, Protocol: w.protocol, HospitalID: by.HospitalID, Version: v, Via: w.community,
			ViaLeadAdoption: w.xuhuiAdoption, By: by, At: t0.Add(time.Hour)}
	}
	with := func(f func(*domain.AdoptProtocol)) domain.AdoptProtocol { c := adopt(w.fenglin, 1); f(&c); return c }
	suspended := w.top.Evolve(domain.AllianceMemberSuspended{AllianceID: id(110), HospitalID: id(102), Reason: "协议续签", SuspendedAt: t0})
	decide := func(a domain.Adoption, c domain.AdoptProtocol) ([]domain.Event, error) {
		return domain.DecideAdoption(a, c)
	}
	runSpecs(t, decide, []spec[domain.AdoptProtocol]{
		{name: "枫林 adopts 中山's version 1 through 徐汇's alliance", when: adopt(w.fenglin, 1),
			want: []domain.Event{domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(103), Version: 1,
				ContentHash: pv1.ContentHash, ViaAllianceID: id(111), AdoptedAt: t0.Add(time.Hour)}}},
		{name: "a version 徐汇 does not follow", when: adopt(w.fenglin, 2), wantCode: domain.CodeForbiddenTransition},
		{name: "a centre that is no member of 徐汇's alliance", when: adopt(w.kangjian, 1), wantCode: domain.CodeNotMember},
		{name: "a centre suspended in 徐汇's alliance", when: adopt(w.changqiao, 1), wantCode: domain.CodeNotMember},
		{name: "徐汇 suspended in 中山's alliance passes nothing on", when: with(func(c *domain.AdoptProtocol) { c.Alliance = suspended }), wantCode: domain.CodeNotMember},
		{name: "directly, without the middle tier: 枫林 is no member of 中山's alliance",
			when: with(func(c *domain.AdoptProtocol) { c.Via, c.ViaLeadAdoption = domain.Alliance{}, domain.Adoption{} }), wantCode: domain.CodeNotMember},
		{name: "through the protocol's own alliance", when: with(func(c *domain.AdoptProtocol) { c.Via = w.top }), wantCode: domain.CodeInvalidInput},
		{name: "the middle tier's adoption of another hospital", when: with(func(c *domain.AdoptProtocol) { c.ViaLeadAdoption = w.fenglinAdoption }), wantCode: domain.CodeForbiddenTransition},
		{name: "another hospital adopting for 枫林", when: with(func(c *domain.AdoptProtocol) { c.By = w.xuhui }), wantCode: domain.CodeForbidden},
	})

	upgrade := domain.UpgradeAdoption{Alliance: w.top, Protocol: w.protocol, HospitalID: id(103), Version: 2, Via: w.community,
		ViaLeadAdoption: xuhuiOnV2, By: w.fenglin, At: t0.Add(3 * time.Hour)}
	pv2, _ := w.protocol.Version(2)
	runSpecs(t, func(a domain.Adoption, c domain.UpgradeAdoption) ([]domain.Event, error) {
		return domain.DecideAdoption(a, c)
	}, []spec[domain.UpgradeAdoption]{
		{name: "枫林 upgrades through 徐汇 once 徐汇 follows version 2", given: []domain.Event{domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(103),
			Version: 1, ContentHash: pv1.ContentHash, ViaAllianceID: id(111), AdoptedAt: t0}}, when: upgrade,
			want: []domain.Event{domain.AdoptionUpgraded{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(103), FromVersion: 1, ToVersion: 2,
				ContentHash: pv2.ContentHash, UpgradedAt: t0.Add(3 * time.Hour)}}},
		{name: "before 徐汇 follows version 2", given: []domain.Event{domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(103),
			Version: 1, ViaAllianceID: id(111), AdoptedAt: t0}},
			when: func() domain.UpgradeAdoption { c := upgrade; c.ViaLeadAdoption = w.xuhuiAdoption; return c }(), wantCode: domain.CodeForbiddenTransition},
		{name: "an adoption through 徐汇 upgraded as if direct", given: []domain.Event{domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(103),
			Version: 1, ViaAllianceID: id(111), AdoptedAt: t0}},
			when: func() domain.UpgradeAdoption { c := upgrade; c.Via = domain.Alliance{}; return c }(), wantCode: domain.CodeInvalidInput},
	})

	declare := domain.DeclareAdoptionDeviation{Alliance: w.top, Protocol: w.protocol, HospitalID: id(103), Via: w.community, ViaLeadAdoption: w.xuhuiAdoption,
		Deviation: domain.LocalDeviation{StepID: "d30-review", Kind: domain.DeviationStepOmitted, Description: "社区无肝功能检测,转徐汇检验"}, By: w.fenglin, At: t0.Add(2 * time.Hour)}
	dev := declare.Deviation
	dev.DeclaredAt = declare.At
	runSpecs(t, func(a domain.Adoption, c domain.DeclareAdoptionDeviation) ([]domain.Event, error) {
		return domain.DecideAdoption(a, c)
	}, []spec[domain.DeclareAdoptionDeviation]{
		{name: "枫林 declares a deviation of its adoption through 徐汇", given: []domain.Event{domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(103),
			Version: 1, ViaAllianceID: id(111), AdoptedAt: t0}}, when: declare,
			want: []domain.Event{domain.AdoptionDeviationDeclared{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(103), Version: 1, Deviation: dev}}},
	})
}

func TestThreeTierReferralsLinkThePlan(t *testing.T) {
	w := newTierWorld()
	held := fold[domain.Plan](w.initiated, w.handedOver)
	onward := held.Evolve(w.handedOn)
	req := func(f func(*domain.RequestReferral)) domain.RequestReferral {
		c := domain.RequestReferral{ReferralID: id(140), Alliance: w.community, Direction: domain.ReferralDown, By: w.xuhui, ToHospitalID: id(103),
			Urgency: domain.UrgencyRoutine, Reason: "术后稳定期,社区随访", ClinicalSummary: "胃癌根治术后第10天", PatientRef: w.patient, Plan: &held,
			At: t0.Add(2 * time.Hour), Policy: domain.DefaultReferralPolicy()}
		f(&c)
		return c
	}
	decide := func(r domain.Referral, c domain.RequestReferral) ([]domain.Event, error) {
		return domain.DecideReferral(r, c)
	}
	suspendedFenglin := w.community.Evolve(domain.AllianceMemberSuspended{AllianceID: id(111), HospitalID: id(103), Reason: "整改", SuspendedAt: t0})
	runSpecs(t, func(r domain.Referral, c domain.RequestReferral) ([]domain.Event, error) {
		evs, err := decide(r, c)
		if err == nil && len(evs) == 1 { // the spec checks the route, not every field
			e := evs[0].(domain.ReferralRequested)
			return []domain.Event{domain.ReferralRequested{FromHospitalID: e.FromHospitalID, ToHospitalID: e.ToHospitalID, AllianceID: e.AllianceID, Links: e.Links}}, nil
		}
		return evs, err
	}, []spec[domain.RequestReferral]{
		{name: "徐汇 refers the plan it holds down to 枫林 in its own alliance", when: req(func(*domain.RequestReferral) {}),
			want: []domain.Event{domain.ReferralRequested{FromHospitalID: id(102), ToHospitalID: id(103), AllianceID: id(111), Links: domain.ReferralLinks{PlanID: id(130)}}}},
		{name: "枫林 escalates the plan up to 徐汇, not to 中山", when: req(func(c *domain.RequestReferral) {
			c.Direction, c.By, c.ToHospitalID, c.Plan, c.Urgency = domain.ReferralUp, w.fenglin, "", &onward, domain.UrgencyUrgent
		}), want: []domain.Event{domain.ReferralRequested{FromHospitalID: id(103), ToHospitalID: id(102), AllianceID: id(111), Links: domain.ReferralLinks{PlanID: id(130)}}}},
		{name: "枫林's escalation is not blocked by its suspension", when: req(func(c *domain.RequestReferral) {
			c.Direction, c.By, c.ToHospitalID, c.Plan, c.Alliance = domain.ReferralUp, w.fenglin, "", &onward, suspendedFenglin
		}), want: []domain.Event{domain.ReferralRequested{FromHospitalID: id(103), ToHospitalID: id(102), AllianceID: id(111), Links: domain.ReferralLinks{PlanID: id(130)}}}},
		{name: "a plan of an alliance the referral does not pass through", when: req(func(c *domain.RequestReferral) {
			c.By = w.xuhui
			c.Plan = &domain.Plan{ID: id(131), AllianceID: id(119), PatientRef: w.patient, ResponsibleHospital: id(101)}
		}),
			wantCode: domain.CodeInvalidInput},
	})
}

// TestHandOnStopsAtTheChainLimit: a plan is handed on at most MaxPlanChain links down.
func TestHandOnStopsAtTheChainLimit(t *testing.T) {
	w := newTierWorld()
	given := []domain.Event{w.initiated, w.handedOver}
	holder := id(102)
	for i := byte(0); len(given) < domain.MaxPlanChain; i++ { // initiated + handover = 2 links
		next := id(150 + i)
		given = append(given, domain.PlanHandedOn{PlanID: id(130), FromHospitalID: holder, ToHospitalID: next, ViaAllianceID: id(170 + i),
			AdoptedVersion: 1, At: t0.Add(time.Duration(i+2) * time.Hour)})
		holder = next
	}
	through := fold[domain.Alliance](domain.AllianceFounded{AllianceID: id(170 + byte(len(given)-3)), LeadHospitalID: id(99), LeadDepartmentID: "gp", FoundedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(170 + byte(len(given)-3)), HospitalID: holder, Tier: domain.TierCommunity, AdmittedAt: t0})
	via := fold[domain.Alliance](domain.AllianceFounded{AllianceID: id(190), LeadHospitalID: holder, LeadDepartmentID: "gp", FoundedAt: t0},
		domain.AllianceMemberAdmitted{AllianceID: id(190), HospitalID: id(191), Tier: domain.TierCommunity, AdmittedAt: t0})
	adoption := fold[domain.Adoption](domain.ProtocolAdopted{ProtocolID: id(120), AllianceID: id(110), HospitalID: id(191), Version: 1, ViaAllianceID: id(190), AdoptedAt: t0})
	cmd := domain.HandOnPlan{PlanID: id(130), ToHospitalID: id(191), Via: via, HeldThrough: through, Adoption: adoption,
		By: domain.Actor{HospitalID: holder, DepartmentID: "gp"}, At: t0.Add(24 * time.Hour)}
	runSpecs(t, func(p domain.Plan, c domain.HandOnPlan) ([]domain.Event, error) { return domain.DecidePlan(p, c) }, []spec[domain.HandOnPlan]{
		{name: "a seventh link", given: given, when: cmd, wantCode: domain.CodeForbiddenTransition},
		{name: "the sixth link is allowed", given: given[:len(given)-1],
			when: func() domain.HandOnPlan {
				c := cmd
				prev := given[len(given)-2].(domain.PlanHandedOn).ToHospitalID
				c.By.HospitalID = prev
				c.Via = fold[domain.Alliance](domain.AllianceFounded{AllianceID: id(192), LeadHospitalID: prev, LeadDepartmentID: "gp", FoundedAt: t0},
					domain.AllianceMemberAdmitted{AllianceID: id(192), HospitalID: id(191), Tier: domain.TierCommunity, AdmittedAt: t0})
				c.HeldThrough = fold[domain.Alliance](domain.AllianceFounded{AllianceID: given[len(given)-2].(domain.PlanHandedOn).ViaAllianceID, LeadHospitalID: id(99), LeadDepartmentID: "gp", FoundedAt: t0},
					domain.AllianceMemberAdmitted{AllianceID: given[len(given)-2].(domain.PlanHandedOn).ViaAllianceID, HospitalID: prev, Tier: domain.TierCommunity, AdmittedAt: t0})
				return c
			}(),
			want: []domain.Event{domain.PlanHandedOn{PlanID: id(130), FromHospitalID: given[len(given)-2].(domain.PlanHandedOn).ToHospitalID, ToHospitalID: id(191),
				ViaAllianceID: id(192), AdoptedVersion: 1, At: t0.Add(24 * time.Hour)}}},
	})
}
