package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// demoRef names one aggregate the demo made.
type demoRef struct {
	What string // e.g. "alliance", "plan"
	Name string
	ID   string
}

// demoUser is a suggested caller of the demo: who it is and the claims of its token.
type demoUser struct {
	Role, Hospital, HospitalName, Department, User, About string
}

// demoSummary is what the demo loaded: the ids to try the API with and suggested users.
type demoSummary struct {
	Hospitals int               // hospitals in the directory after the demo
	Members   map[string]int    // alliance name -> members admitted
	Refs      []demoRef         // alliances, protocols, plans, dispatches, consults
	Users     []demoUser        // suggested tokens
	IDs       map[string]string // demo key -> id (hospitals and everything in Refs)
	Commands  int               // commands issued (a second run replays them all)
	Replayed  int               // of which were recognised as already done
	Head      eventstore.Position
}

// id returns the id of a demo key ("" when unknown).
func (s demoSummary) id(key string) string { return s.IDs[key] }

// demo runs the scenario's commands through the use cases.
type demo struct {
	app *app.App
	now time.Time
	sum *demoSummary
	mu  sync.Mutex
}

// demoAdmin is the directory administrator who registers the demo's hospitals.
var demoAdmin = domain.Actor{HospitalID: demoPlatformID, UserID: "demo-admin", Role: "admin"}

// actor returns the actor of a hospital department.
func (d *demo) actor(hospitalKey, dept, user, role string) domain.Actor {
	return domain.Actor{HospitalID: d.sum.id(hospitalKey), DepartmentID: dept, UserID: user, Role: role}
}

// run issues one command with the fixed idempotency key "demo:"+key, so that a second
// run of the demo is recognised command by command and appends nothing.
func (d *demo) run(ctx context.Context, actor domain.Actor, key string,
	cmd func(context.Context, app.Call) (app.Outcome, error)) (app.Outcome, error) {
	out, err := cmd(ctx, app.Call{Actor: actor, IdempotencyKey: "demo:" + key, CorrelationID: "demo-" + strings.ReplaceAll(key, ":", "-")})
	if err != nil {
		return out, fmt.Errorf("demo step %s: %w", key, err)
	}
	d.mu.Lock()
	d.sum.Commands++
	if out.Replayed {
		d.sum.Replayed++
	}
	d.mu.Unlock()
	return out, nil
}

// remember records the id of a demo key and lists it in the summary.
func (d *demo) remember(key, what, name, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sum.IDs[key] = id
	if what != "" {
		d.sum.Refs = append(d.sum.Refs, demoRef{What: what, Name: name, ID: id})
	}
}

// loadDemo loads the demo scenario through the application's use cases, so that every
// business rule applies to it as to any client. Each command carries a fixed
// idempotency key: running it again on the same store appends nothing and returns the
// same ids. now places the dispatch windows and plan start dates.
func loadDemo(ctx context.Context, a *app.App, now time.Time) (demoSummary, error) {
	sum := demoSummary{Members: map[string]int{}, IDs: map[string]string{}}
	d := &demo{app: a, now: now.UTC(), sum: &sum}
	steps := []func(context.Context) error{
		d.hospitals,
		d.lymphomaAlliance,
		d.renjiAlliance,
		d.countyCommunity,
		d.songjiangAlliance,
		d.ningboAlliance,
		d.plans,
		d.referrals,
		d.tiers,
		d.talent,
		d.diagnostics,
		d.reportYear,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return sum, err
		}
	}
	head, err := a.Store().Head(ctx)
	if err != nil {
		return sum, err
	}
	sum.Head = head
	sum.Users = d.users()
	return sum, nil
}

// hospitals registers every hospital of the demo, eight at a time (each is its own
// stream; the directory has no ordering).
func (d *demo) hospitals(ctx context.Context) error {
	all := append(append(append([]demoHospital{}, demoNamedHospitals...), songjiangMembers()...), lymphomaMembers()...)
	work := make(chan demoHospital)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				out, err := d.run(ctx, demoAdmin, "hospital:"+h.Key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
					return d.app.RegisterHospital(ctx, c, app.RegisterHospitalInput{Name: h.Name, RegionCode: h.Region, Level: h.Level, Departments: h.Depts})
				})
				if err != nil {
					errs <- err
					return
				}
				d.remember(h.Key, "", h.Name, out.ID)
			}
		}()
	}
	var sendErr error
send:
	for _, h := range all {
		select {
		case work <- h:
		case sendErr = <-errs:
			break send
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if sendErr != nil {
		return sendErr
	}
	if err := <-errs; err != nil {
		return err
	}
	d.sum.Hospitals = len(all)
	return nil
}

// found founds an alliance led by leadKey's dept and admits members in order.
func (d *demo) found(ctx context.Context, key, leadKey, dept, user string, in app.FoundAllianceInput, members []demoHospital, tier func(i int) string) (string, error) {
	lead := d.actor(leadKey, dept, user, "lead")
	out, err := d.run(ctx, lead, "alliance:"+key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.FoundAlliance(ctx, c, in)
	})
	if err != nil {
		return "", err
	}
	id := out.ID
	d.remember(key, "alliance", in.Name, id)
	for i, m := range members {
		hid := d.sum.id(m.Key)
		if _, err := d.run(ctx, lead, "admit:"+key+":"+m.Key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AdmitMember(ctx, c, app.AdmitMemberInput{AllianceID: id, HospitalID: hid, Tier: tier(i)})
		}); err != nil {
			return "", err
		}
	}
	d.sum.Members[in.Name] = len(members)
	return id, nil
}

// publish drafts a protocol in an alliance and publishes its first version.
func (d *demo) publish(ctx context.Context, key string, lead domain.Actor, allianceID string, in app.DraftProtocolInput,
	steps []domain.ProtocolStep, eligibility string) (string, error) {
	in.AllianceID = allianceID
	out, err := d.run(ctx, lead, "protocol:"+key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.DraftProtocol(ctx, c, in)
	})
	if err != nil {
		return "", err
	}
	id := out.ID
	d.remember(key, "protocol", in.Title, id)
	_, err = d.run(ctx, lead, "publish:"+key+":v1", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.PublishProtocolVersion(ctx, c, app.PublishVersionInput{ProtocolID: id, Steps: steps, Eligibility: eligibility,
			ChangeNote: "首版发布 (first publication)"})
	})
	return id, err
}

// adopt has a member hospital adopt version 1 of a protocol.
func (d *demo) adopt(ctx context.Context, protocolKey, memberKey, dept, user string) error {
	pid := d.sum.id(protocolKey)
	_, err := d.run(ctx, d.actor(memberKey, dept, user, "member"), "adopt:"+protocolKey+":"+memberKey,
		func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AdoptProtocol(ctx, c, app.AdoptionInput{ProtocolID: pid, Version: 1})
		})
	return err
}

// lymphomaAlliance is Ruijin's haematology alliance: the lymphoma team with 144 member
// units continuing its R-CHOP regimen in their own wards.
func (d *demo) lymphomaAlliance(ctx context.Context) error {
	members := lymphomaMembers()
	_, err := d.found(ctx, "lymphoma", "ruijin", "hematology", "ruijin-lymphoma-team",
		app.FoundAllianceInput{Name: "瑞金医院血液专科医联体 (淋巴瘤)", Specialty: "haematology (lymphoma)", Kind: domain.AllianceSpecialist},
		members, func(i int) string {
			if i < lymphomaCoreCount {
				return domain.TierCore
			}
			return domain.TierMember
		})
	if err != nil {
		return err
	}
	lead := d.actor("ruijin", "hematology", "ruijin-lymphoma-team", "lead")
	if _, err := d.publish(ctx, "rchop", lead, d.sum.id("lymphoma"),
		app.DraftProtocolInput{Title: "R-CHOP-21 弥漫大B细胞淋巴瘤一线方案", Indication: "DLBCL (diffuse large B-cell lymphoma), CD20+"},
		rchopSteps(), "CD20 阳性 DLBCL, 18-80 岁, ECOG 0-2, LVEF >= 50%, HBsAg 阴性或已预防性抗病毒"); err != nil {
		return err
	}
	// The founding partners adopt the regimen in their haematology wards.
	for _, m := range members[:lymphomaCoreCount] {
		if err := d.adopt(ctx, "rchop", m.Key, "hematology", "hematology-director"); err != nil {
			return err
		}
	}
	return nil
}

// renjiAlliance is Renji Hospital's close city alliance with its four regional medical
// centres (Punan, Dachang, Jiading, Pujiang), the 名医工作站 standing at Jiading, and
// the post-PCI rehabilitation course continued at Punan.
func (d *demo) renjiAlliance(ctx context.Context) error {
	centres := []demoHospital{}
	for _, k := range []string{"punan", "dachang", "jiading", "pujiang"} {
		centres = append(centres, namedHospital(k))
	}
	if _, err := d.found(ctx, "renji-city", "renji", "cardiology", "renji-alliance-office",
		app.FoundAllianceInput{Name: "仁济医院紧密型医联体", Specialty: "cardiovascular", Kind: domain.AllianceCity},
		centres, func(int) string { return domain.TierCore }); err != nil {
		return err
	}
	lead := d.actor("renji", "cardiology", "renji-alliance-office", "lead")
	if _, err := d.publish(ctx, "renji-pci", lead, d.sum.id("renji-city"),
		app.DraftProtocolInput{Title: "PCI 术后心脏康复与二级预防", Indication: "post-PCI (coronary stent) cardiac rehabilitation"},
		postPCISteps(), "冠脉支架植入术后, 血流动力学稳定"); err != nil {
		return err
	}
	for _, k := range []string{"punan", "dachang", "jiading", "pujiang"} {
		if err := d.adopt(ctx, "renji-pci", k, "cardiology", k+"-cardiology"); err != nil {
			return err
		}
	}
	// The 名医工作站 at Jiading: a standing expert workstation for a year.
	start := d.now.Truncate(time.Hour)
	return d.dispatch(ctx, dispatchPlan{key: "renji-workstation", allianceKey: "renji-city", memberKey: "jiading", memberDept: "cardiology",
		lead: lead, kind: domain.DispatchWorkstation, specialty: "cardiology",
		window: domain.Window{Start: start, End: start.Add(365 * 24 * time.Hour)},
		notes:  "仁济医院名医工作站落户嘉定区中心医院: 名医带名科、名科带名院", expert: expertRenjiWorkstation, checkIn: true,
		report: &domain.VisitReport{PatientsSeen: 126, ProceduresGuided: 9, TeachingSessions: 4,
			Summary: "工作站首月: 专家门诊 126 人次, 指导冠脉介入 9 例, 教学查房 4 次"}})
}

// countyCommunity is the Hengkou demonstration zone's county medical community: the
// zone's central hospital leads three township health centres (115 village clinics
// work under them); an emergency ECG from Meizipu is read remotely and answered within
// the hour; the central hospital's expert group saw 860 patients at the townships.
func (d *demo) countyCommunity(ctx context.Context) error {
	towns := []demoHospital{namedHospital("meizipu"), namedHospital("datong"), namedHospital("guanmiao")}
	if _, err := d.found(ctx, "hengkou-county", "hengkou", "cardiology", "hengkou-community-office",
		app.FoundAllianceInput{Name: "恒口示范区紧密型县域医共体", Specialty: "general (county medical community)", Kind: domain.AllianceCounty},
		towns, func(int) string { return domain.TierCommunity }); err != nil {
		return err
	}
	lead := d.actor("hengkou", "cardiology", "hengkou-community-office", "lead")
	if _, err := d.publish(ctx, "hengkou-pci", lead, d.sum.id("hengkou-county"),
		app.DraftProtocolInput{Title: "PCI 术后心脏康复 (医共体版)", Indication: "post-PCI cardiac rehabilitation at township level"},
		postPCISteps(), "冠脉支架植入术后转回乡镇卫生院随访"); err != nil {
		return err
	}
	for _, t := range towns {
		if err := d.adopt(ctx, "hengkou-pci", t.Key, "general-practice", t.Key+"-gp"); err != nil {
			return err
		}
	}
	// Ticagrelor is not on the township formulary: Meizipu declares clopidogrel instead.
	pid := d.sum.id("hengkou-pci")
	if _, err := d.run(ctx, d.actor("meizipu", "general-practice", "meizipu-gp", "member"), "deviation:hengkou-pci:meizipu:p2y12",
		func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.DeclareAdoptionDeviation(ctx, c, app.AdoptionDeviationInput{ProtocolID: pid, StepID: "p2y12",
				Kind: domain.DeviationDrugSubstitution, Substitute: "clopidogrel 75 mg qd (氯吡格雷)",
				Description: "替格瑞洛不在乡镇卫生院基本药物目录; 以氯吡格雷替代 (ticagrelor is not on the township formulary)"})
		}); err != nil {
		return err
	}
	if err := d.ecgConsult(ctx, lead); err != nil {
		return err
	}
	start := d.now.Truncate(time.Hour)
	return d.dispatch(ctx, dispatchPlan{key: "hengkou-expert-group", allianceKey: "hengkou-county", memberKey: "meizipu", memberDept: "general-practice",
		lead: lead, kind: domain.DispatchWorkstation, specialty: "general medicine",
		window: domain.Window{Start: start, End: start.Add(300 * 24 * time.Hour)},
		notes:  "医共体总院专家组驻点: 请专家下来培训, 派医生上去学习", expert: expertHengkouGroup, checkIn: true,
		report: &domain.VisitReport{PatientsSeen: 860, PatientsAdmitted: 100, TeachingSessions: 24,
			Summary: "专家组协助分院接诊患者 860 余人次, 帮助收治卫生院住院患者 100 余人, 上转患者 130 余人次"}})
}

// ecgConsult is the emergency ECG consult of the Meizipu township health centre.
func (d *demo) ecgConsult(ctx context.Context, lead domain.Actor) error {
	member := d.actor("meizipu", "general-practice", "meizipu-duty-doctor", "member")
	ecg := sha256.Sum256([]byte("demo ECG: 12-lead, acute chest pain, Meizipu township health centre"))
	out, err := d.run(ctx, member, "consult:ecg-meizipu", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.RequestConsult(ctx, c, app.RequestConsultInput{AllianceID: d.sum.id("hengkou-county"), Specialty: "cardiology (ECG)",
			Urgency: domain.UrgencyEmergency, ConsentRef: "MZP-CONSENT-0517",
			Question:            "突发急性胸痛 40 分钟, 心电图见 II、III、aVF 导联 ST 段抬高, 请总院判读并指导处置",
			MedicalRecordNumber: "MZP-2026-0517",
			Attachments: []domain.Attachment{{Name: "ecg-12-lead.pdf", MediaType: "application/pdf",
				SHA256: hex.EncodeToString(ecg[:]), SizeBytes: 184320}}})
	})
	if err != nil {
		return err
	}
	id := out.ID
	d.remember("consult:ecg", "consult", "梅子铺卫生院急性胸痛心电图会诊 (emergency)", id)
	steps := []struct {
		key string
		fn  func(context.Context, app.Call) (app.Outcome, error)
		by  domain.Actor
	}{
		{"consult:ecg:accept", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AcceptConsult(ctx, c, app.AcceptConsultInput{ConsultID: id, SpecialistID: demoSpecialistHengkou, SpecialistName: "总院心电诊断值班医师"})
		}, lead},
		{"consult:ecg:opinion", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.GiveOpinion(ctx, c, app.OpinionInput{ConsultID: id, Opinion: domain.Opinion{
				Text:             "急性下壁 ST 段抬高型心肌梗死 (STEMI)。立即启动双向转诊应急预案, 开通绿色通道转总院行急诊 PCI。",
				Recommendations:  []string{"阿司匹林 300 mg 嚼服", "氯吡格雷 600 mg 负荷", "建立静脉通路, 心电监护, 转运途中持续监测"},
				AdviseEscalation: true}})
		}, lead},
		{"consult:ecg:close", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.CloseConsult(ctx, c, app.CloseConsultInput{ConsultID: id, Outcome: "从分院接诊到总院入院用时不到一小时; 急诊 PCI 后康复出院"})
		}, member},
	}
	for _, s := range steps {
		if _, err := d.run(ctx, s.by, s.key, s.fn); err != nil {
			return err
		}
	}
	return nil
}

// songjiangAlliance is Shanghai First People's Hospital's district atrial-fibrillation
// centre alliance with 20 institutions of Songjiang.
func (d *demo) songjiangAlliance(ctx context.Context) error {
	members := songjiangMembers()
	_, err := d.found(ctx, "songjiang-af", "shiyi-south", "cardiology", "shiyi-af-centre",
		app.FoundAllianceInput{Name: "松江区房颤中心联盟", Specialty: "atrial fibrillation", Kind: domain.AllianceCity},
		members, func(i int) string {
			if i < 3 {
				return domain.TierMember
			}
			return domain.TierCommunity
		})
	return err
}

// ningboAlliance is Ningbo Lihuili Hospital's alliance with the hospitals it supports
// and the two expert workstations moved into Beilun's Third People's Hospital.
func (d *demo) ningboAlliance(ctx context.Context) error {
	var members []demoHospital
	for _, k := range []string{"beilun3", "yuyao-tcm", "yuyao4", "ninghai2", "xikou"} {
		members = append(members, namedHospital(k))
	}
	if _, err := d.found(ctx, "lihuili-city", "lihuili", "gastroenterology", "lihuili-alliance-office",
		app.FoundAllianceInput{Name: "李惠利医院医联体 (党建联盟)", Specialty: "gastroenterology", Kind: domain.AllianceCity},
		members, func(int) string { return domain.TierMember }); err != nil {
		return err
	}
	lead := d.actor("lihuili", "gastroenterology", "lihuili-alliance-office", "lead")
	// 胃肠外科 leads the alliance alongside 消化内科: both moved expert studios into 北仑三院.
	if _, err := d.run(ctx, lead, "lead-department:lihuili-city:gi-surgery", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.AddLeadDepartment(ctx, c, app.AddLeadDepartmentInput{AllianceID: d.sum.id("lihuili-city"), DepartmentID: "gi-surgery"})
	}); err != nil {
		return err
	}
	return d.lihuiliLeads(ctx, lead) // each lead department's studio and consults: demo_leads.go
}

// planStory is one patient's shared treatment plan in the demo and what happens to it.
type planStory struct {
	key, name, allianceKey, protocolKey string
	lead                                domain.Actor
	mrn                                 string // the lead hospital's record number, pseudonymized by the service
	memberKey, memberDept               string
	steps                               []domain.ProtocolStep // steps the member records, with the dose given in Dose
	deviation                           *app.DeviationInput
	revision                            *app.RevisePlanInput
	escalation                          *app.EscalateInput
}

// plans runs the three patient stories: a DLBCL patient diagnosed at Ruijin who
// continues R-CHOP in a member ward (with a dose deviation and a revision); the
// Punan patient sent back to Renji through the acute aortic dissection green channel;
// the Hengkou patient whose post-PCI course continues at the Meizipu township health
// centre with clopidogrel instead of ticagrelor.
func (d *demo) plans(ctx context.Context) error {
	lymphomaMember := lymphomaMembers()[0]
	stories := []planStory{
		{key: "plan:dlbcl", name: "DLBCL 患者 R-CHOP-21 (瑞金诊断, 成员单位病房续治)", allianceKey: "lymphoma", protocolKey: "rchop",
			lead: d.actor("ruijin", "hematology", "ruijin-lymphoma-team", "lead"), mrn: "RJ-HEM-2026-0311",
			memberKey: lymphomaMember.Key, memberDept: "hematology",
			steps: []domain.ProtocolStep{{StepID: "c1-rituximab", Dose: "600 mg"}, {StepID: "c1-cyclophosphamide", Dose: "1200 mg"},
				{StepID: "c1-doxorubicin", Dose: "60 mg", Notes: "按方案减量 75%, 见偏离报告"}, {StepID: "c1-vincristine", Dose: "2 mg"},
				{StepID: "c1-prednisone", Dose: "100 mg x 5 d"}, {StepID: "c1-cbc", Notes: "ANC 0.9 x10^9/L, 予 G-CSF"}},
			deviation: &app.DeviationInput{StepID: "c1-doxorubicin", Severity: domain.DeviationSeverityMajor,
				Description: "多柔比星减量至 75% (37.5 mg/m2): 患者 78 岁, 基线 LVEF 52%"},
			revision: &app.RevisePlanInput{Reason: "第 2 周期起多柔比星维持 75% 剂量并加用 G-CSF 一级预防",
				Changes: []domain.PlanStepChange{{Action: domain.PlanChangeModify, StepID: "c2-doxorubicin", DayOffset: 22,
					Activity: "多柔比星静推 (doxorubicin, 75%)", Drug: "doxorubicin", Dose: "37.5 mg/m2", Route: domain.RouteIV,
					Notes: "老年患者减量; 监测 LVEF"}}}},
		{key: "plan:punan", name: "PCI 术后康复 (浦南医院续治; 主动脉夹层绿色通道上转)", allianceKey: "renji-city", protocolKey: "renji-pci",
			lead: d.actor("renji", "cardiology", "renji-alliance-office", "lead"), mrn: "RJ-CARD-2026-1024",
			memberKey: "punan", memberDept: "cardiology",
			steps: []domain.ProtocolStep{{StepID: "aspirin", Dose: "100 mg qd"}, {StepID: "p2y12", Dose: "90 mg bid"},
				{StepID: "statin", Dose: "20 mg qn"}, {StepID: "rehab-assess", Notes: "6MWT 420 m"}},
			escalation: &app.EscalateInput{Urgent: true, Reason: "突发剧烈腹痛, 面色苍白, 大汗淋漓; 既往胸主动脉瘤病史, " +
				"疑主动脉瘤夹层破裂: 启动急性主动脉夹层绿色通道, 半小时内送仁济医院抢救"}},
		{key: "plan:hengkou", name: "冠脉旋磨 + 药物洗脱支架术后康复 (梅子铺卫生院续治)", allianceKey: "hengkou-county", protocolKey: "hengkou-pci",
			lead: d.actor("hengkou", "cardiology", "hengkou-community-office", "lead"), mrn: "HK-CARD-2026-0420",
			memberKey: "meizipu", memberDept: "general-practice",
			steps: []domain.ProtocolStep{{StepID: "aspirin", Dose: "100 mg qd"},
				{StepID: "p2y12", Dose: "clopidogrel 75 mg qd", Notes: "按本院声明的偏离: 氯吡格雷替代替格瑞洛"},
				{StepID: "statin", Dose: "20 mg qn"}, {StepID: "rehab-assess", Notes: "6MWT 360 m"}}},
	}
	for _, s := range stories {
		if err := d.plan(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// plan initiates a plan as the lead, hands it over to the member, records the member's
// steps and then the story's deviation, revision and escalation.
func (d *demo) plan(ctx context.Context, s planStory) error {
	start := time.Date(d.now.Year(), d.now.Month(), d.now.Day(), 0, 0, 0, 0, time.UTC)
	out, err := d.run(ctx, s.lead, s.key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.InitiatePlan(ctx, c, app.InitiatePlanInput{AllianceID: d.sum.id(s.allianceKey), ProtocolID: d.sum.id(s.protocolKey),
			Version: 1, MedicalRecordNumber: s.mrn, StartDate: start})
	})
	if err != nil {
		return err
	}
	id := out.ID
	d.remember(s.key, "plan", s.name, id)
	if _, err := d.run(ctx, s.lead, s.key+":handover", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.HandOverPlan(ctx, c, app.HandOverInput{PlanID: id, ToHospitalID: d.sum.id(s.memberKey)})
	}); err != nil {
		return err
	}
	member := d.actor(s.memberKey, s.memberDept, s.memberKey+"-ward", "member")
	for _, st := range s.steps {
		if _, err := d.run(ctx, member, s.key+":step:"+st.StepID, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.CompletePlanStep(ctx, c, app.StepInput{PlanID: id, StepID: st.StepID, AdministeredDose: st.Dose, Notes: st.Notes})
		}); err != nil {
			return err
		}
	}
	if s.deviation != nil {
		in := *s.deviation
		in.PlanID = id
		dev, err := d.run(ctx, member, s.key+":deviation", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.ReportPlanDeviation(ctx, c, in)
		})
		if err != nil {
			return err
		}
		if _, err := d.run(ctx, s.lead, s.key+":deviation:ack", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AcknowledgePlanDeviation(ctx, c, app.AcknowledgeInput{PlanID: id, DeviationID: dev.SubID,
				Note: "已阅: 同意老年患者减量, 后续周期按修订执行"})
		}); err != nil {
			return err
		}
	}
	if s.revision != nil {
		in := *s.revision
		in.PlanID = id
		if _, err := d.run(ctx, s.lead, s.key+":revision-1", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.RevisePlan(ctx, c, in)
		}); err != nil {
			return err
		}
	}
	if s.escalation != nil {
		in := *s.escalation
		in.PlanID = id
		if _, err := d.run(ctx, member, s.key+":escalate", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.EscalatePlan(ctx, c, in)
		}); err != nil {
			return err
		}
	}
	return nil
}

// dispatchPlan describes one dispatch of the demo and how far it goes.
type dispatchPlan struct {
	key, allianceKey, memberKey, memberDept string
	lead                                    domain.Actor
	leadDept                                string // the lead department addressed (default: the founding one)
	kind, specialty, notes                  string
	window                                  domain.Window
	expert                                  demoExpert
	checkIn                                 bool
	report                                  *domain.VisitReport
}

// demoExpert is a practitioner the demo registers in its home hospital's directory
// before the lead books it: only the home hospital's alliances may book an expert.
type demoExpert struct {
	key, hospitalKey, department string
	name, title                  string
	specialties                  []string
}

// registerExpert registers e under its home hospital, as that hospital's medical
// affairs office, and returns the practitioner's id (the same id on a second run).
func (d *demo) registerExpert(ctx context.Context, e demoExpert) (string, error) {
	office := d.actor(e.hospitalKey, "medical-affairs", e.hospitalKey+"-medical-affairs", "member")
	out, err := d.run(ctx, office, "practitioner:"+e.key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.RegisterPractitioner(ctx, c, app.RegisterPractitionerInput{HospitalID: d.sum.id(e.hospitalKey),
			DepartmentID: e.department, Name: e.name, Title: e.title, Specialties: e.specialties})
	})
	if err != nil {
		return "", err
	}
	d.remember("practitioner:"+e.key, "expert", e.name+" ("+e.title+", "+namedHospital(e.hospitalKey).Name+")", out.ID)
	return out.ID, nil
}

// dispatch requests a dispatch as the member, registers the expert in the lead
// hospital's directory, assigns the expert as the lead and, as planned, checks the
// expert in and files the report.
func (d *demo) dispatch(ctx context.Context, p dispatchPlan) error {
	expertID, err := d.registerExpert(ctx, p.expert)
	if err != nil {
		return err
	}
	member := d.actor(p.memberKey, p.memberDept, p.memberKey+"-office", "member")
	out, err := d.run(ctx, member, "dispatch:"+p.key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.RequestDispatch(ctx, c, app.RequestDispatchInput{AllianceID: d.sum.id(p.allianceKey), Kind: p.kind,
			Specialty: p.specialty, Window: p.window, Notes: p.notes, LeadDepartmentID: p.leadDept})
	})
	if err != nil {
		return err
	}
	id := out.ID
	d.remember("dispatch:"+p.key, "dispatch", p.expert.name+" -> "+namedHospital(p.memberKey).Name, id)
	if _, err := d.run(ctx, p.lead, "dispatch:"+p.key+":assign", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.AssignExpert(ctx, c, app.AssignExpertInput{DispatchID: id, ExpertID: expertID})
	}); err != nil {
		return err
	}
	d.remember("expert:"+p.key, "", p.expert.name, expertID)
	if !p.checkIn {
		return nil
	}
	if _, err := d.run(ctx, member, "dispatch:"+p.key+":check-in", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.CheckInExpert(ctx, c, app.DispatchInput{DispatchID: id})
	}); err != nil {
		return err
	}
	if p.report == nil {
		return nil
	}
	_, err = d.run(ctx, p.lead, "dispatch:"+p.key+":report-1", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.ReportVisit(ctx, c, app.ReportVisitInput{DispatchID: id, VisitReport: *p.report})
	})
	return err
}

// namedHospital returns a hospital of the demo by key (the named ones and Songjiang's).
func namedHospital(key string) demoHospital {
	for _, h := range append(append([]demoHospital{}, demoNamedHospitals...), songjiangMembers()...) {
		if h.Key == key {
			return h
		}
	}
	return demoHospital{Key: key, Name: key}
}

// users lists suggested callers: one per role and alliance.
func (d *demo) users() []demoUser {
	firstMember := lymphomaMembers()[0]
	u := func(role, key, dept, user, about string) demoUser {
		return demoUser{Role: role, Hospital: d.sum.id(key), HospitalName: namedOrLymphoma(key), Department: dept, User: user, About: about}
	}
	return []demoUser{
		{Role: "admin", Hospital: demoPlatformID, HospitalName: "(directory administrator)", User: "demo-admin", About: "registers hospitals"},
		u("lead", "ruijin", "hematology", "ruijin-lymphoma-team", "Ruijin haematology: lymphoma alliance lead"),
		u("member", firstMember.Key, "hematology", "hematology-director", "a lymphoma member ward (adopted R-CHOP)"),
		u("lead", "renji", "cardiology", "renji-alliance-office", "Renji: city alliance lead"),
		u("member", "punan", "cardiology", "punan-cardiology", "Punan: regional centre of the Renji alliance"),
		u("member", "jiading", "cardiology", "jiading-office", "Jiading: hosts the 名医工作站"),
		u("lead", "hengkou", "cardiology", "hengkou-community-office", "Hengkou central hospital: county community lead"),
		u("member", "meizipu", "general-practice", "meizipu-gp", "Meizipu township health centre"),
		u("lead", "xuhui-central", "general-surgery", "xuhui-general-surgery", "Xuhui central hospital: member of Zhongshan's alliance, leads 8 community centres (hands plans on)"),
		u("member", "xh-fenglin", "general-practice", "xh-fenglin-gp", "Fenglin community centre: holds a plan handed on by Xuhui"),
		u("lead", "lihuili", "gi-surgery", "lihuili-gi-surgery", "Lihuili 胃肠外科: a second lead department, its own studio and consults"),
		{Role: "auditor", Hospital: demoPlatformID, HospitalName: "(quality-control centre)", User: "qc-auditor", About: "reads and verifies the history"},
	}
}

// namedOrLymphoma returns the name of any demo hospital key.
func namedOrLymphoma(key string) string {
	if h := namedHospital(key); h.Name != key {
		return h.Name
	}
	for _, h := range tierHospitals() {
		if h.Key == key {
			return h.Name
		}
	}
	for _, h := range lymphomaMembers() {
		if h.Key == key {
			return h.Name
		}
	}
	return key
}

// Print writes the summary: what was loaded, the ids, and how to mint tokens and call
// the API (base is the server's URL, dataDir the --data directory whose key signs).
func (s demoSummary) Print(w io.Writer, base, dataDir string) {
	fmt.Fprintf(w, "demo: %d hospitals, %d commands (%d already done before), log head at position %d\n",
		s.Hospitals, s.Commands, s.Replayed, s.Head)
	names := make([]string, 0, len(s.Members))
	for n := range s.Members {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %4d members  %s\n", s.Members[n], n)
	}
	for _, r := range s.Refs {
		fmt.Fprintf(w, "  %-9s %s  %s\n", r.What, r.ID, r.Name)
	}
	fmt.Fprintln(w, "\nsuggested tokens:")
	for _, u := range s.Users {
		v := strings.ToUpper(u.Role) + "_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(u.User))
		dept := ""
		if u.Department != "" {
			dept = " --department " + u.Department
		}
		fmt.Fprintf(w, "  # %s — %s\n  %s=$(allianced token --data %s --hospital %s%s --roles %s --user %s --ttl 2h)\n",
			u.HospitalName, u.About, v, dataDir, u.Hospital, dept, u.Role, u.User)
	}
	fmt.Fprintln(w, "\ntry:")
	lines := []string{
		"curl -s -H \"Authorization: Bearer $LEAD_RUIJIN_LYMPHOMA_TEAM\" " + base + "/v1/alliances/" + s.id("lymphoma") + "/members",
		"curl -s -H \"Authorization: Bearer $LEAD_RUIJIN_LYMPHOMA_TEAM\" " + base + "/v1/alliances/" + s.id("lymphoma") + "/adoption-matrix",
		"curl -s -H \"Authorization: Bearer $MEMBER_HEMATOLOGY_DIRECTOR\" " + base + "/v1/plans/" + s.id("plan:dlbcl"),
		"curl -sN -H \"Authorization: Bearer $MEMBER_HEMATOLOGY_DIRECTOR\" " + base + "/v1/plans/" + s.id("plan:dlbcl") + "/stream",
		"curl -s -H \"Authorization: Bearer $MEMBER_MEIZIPU_GP\" " + base + "/v1/consults/" + s.id("consult:ecg"),
		"curl -s -H \"Authorization: Bearer $LEAD_RENJI_ALLIANCE_OFFICE\" " + base + "/v1/plans/" + s.id("plan:punan"),
		"curl -s -H \"Authorization: Bearer $LEAD_HENGKOU_COMMUNITY_OFFICE\" " + base + "/v1/experts/" + s.id("practitioner:"+expertHengkouGroup.key) + "/calendar",
		"curl -s -H \"Authorization: Bearer $LEAD_HENGKOU_COMMUNITY_OFFICE\" " + base + "/v1/hospitals/" + s.id("lihuili") + "/practitioners",
		"curl -s -H \"Authorization: Bearer $AUDITOR_QC_AUDITOR\" " + base + "/v1/audit/streams/plan-" + s.id("plan:dlbcl"),
		"curl -s -H \"Authorization: Bearer $AUDITOR_QC_AUDITOR\" " + base + "/v1/audit/verify",
		"curl -s -H \"Authorization: Bearer $MEMBER_XH_FENGLIN_GP\" " + base + "/v1/plans/" + s.id("plan:zs-stable") + " # 403: Fenglin never held it",
		"curl -s -H \"Authorization: Bearer $LEAD_XUHUI_GENERAL_SURGERY\" " + base + "/v1/plans/" + s.id("plan:zs-postop") + " # chain and responsibility",
	}
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
}

// The demo scenario's data below is drawn from the news reports the product was made
// from (../shared/seeds): Renji Hospital's close city alliance with four regional
// medical centres and its 名医工作站 at Jiading; Ruijin Hospital's haematology alliance
// whose lymphoma team works with 144 member units; the Hengkou demonstration zone's
// county medical community (3 township health centres; an emergency ECG read remotely
// and the patient admitted within the hour; 860 patients seen by the county hospital's
// expert group); Shanghai First People's Hospital's district atrial-fibrillation alliance
// of 20 institutions in Songjiang; Ningbo Lihuili Hospital's expert workstations in
// Beilun. The binary never reads the reports at run time: the data is here.

// demoHospital is a hospital of the demo's directory.
type demoHospital struct {
	Key    string // stable key of the demo (idempotency keys and lookups)
	Name   string
	Region string // GB/T 2260 code
	Level  string
	Depts  []domain.Department
}

var (
	deptHematology  = domain.Department{ID: "hematology", Name: "血液科"}
	deptCardiology  = domain.Department{ID: "cardiology", Name: "心血管内科"}
	deptEmergency   = domain.Department{ID: "emergency", Name: "急诊科"}
	deptVascular    = domain.Department{ID: "vascular-surgery", Name: "血管外科"}
	deptRehab       = domain.Department{ID: "rehabilitation", Name: "康复医学科"}
	deptGeneral     = domain.Department{ID: "general-practice", Name: "全科医学科"}
	deptGastro      = domain.Department{ID: "gastroenterology", Name: "消化内科"}
	deptGISurgery   = domain.Department{ID: "gi-surgery", Name: "胃肠外科"}
	deptTCM         = domain.Department{ID: "tcm", Name: "中医科"}
	deptInternalMed = domain.Department{ID: "internal-medicine", Name: "内科"}
)

// The lead hospitals and the named members of the seeds.
var demoNamedHospitals = []demoHospital{
	{"ruijin", "上海交通大学医学院附属瑞金医院", "310101", domain.LevelTertiary, []domain.Department{deptHematology, deptCardiology, deptEmergency}},
	{"renji", "上海交通大学医学院附属仁济医院", "310115", domain.LevelTertiary, []domain.Department{deptCardiology, deptEmergency, deptVascular, deptHematology}},
	{"punan", "上海市浦东新区浦南医院", "310115", domain.LevelSecondary, []domain.Department{deptCardiology, deptRehab, deptTCM, deptEmergency}},
	{"dachang", "上海市宝山区大场医院", "310113", domain.LevelSecondary, []domain.Department{deptCardiology, deptRehab, deptEmergency}},
	{"jiading", "上海市嘉定区中心医院", "310114", domain.LevelTertiary, []domain.Department{deptCardiology, deptRehab, deptEmergency}},
	{"pujiang", "上海市闵行区浦江医院", "310112", domain.LevelSecondary, []domain.Department{deptCardiology, deptRehab, deptEmergency}},
	{"hengkou", "安康市恒口示范区中心医院", "610902", domain.LevelSecondary, []domain.Department{deptCardiology, deptEmergency, deptInternalMed}},
	{"meizipu", "恒口示范区梅子铺镇卫生院", "610902", domain.LevelCommunity, []domain.Department{deptGeneral, deptInternalMed}},
	{"datong", "恒口示范区大同镇卫生院", "610902", domain.LevelCommunity, []domain.Department{deptGeneral, deptInternalMed}},
	{"guanmiao", "恒口示范区关庙镇卫生院", "610902", domain.LevelCommunity, []domain.Department{deptGeneral, deptInternalMed}},
	{"shiyi-south", "上海市第一人民医院南部院区", "310117", domain.LevelTertiary, []domain.Department{deptCardiology, deptEmergency}},
	{"lihuili", "宁波市医疗中心李惠利医院", "330212", domain.LevelTertiary, []domain.Department{deptGastro, deptGISurgery, deptCardiology}},
	{"beilun3", "宁波市北仑区第三人民医院", "330206", domain.LevelSecondary, []domain.Department{deptGastro, deptGISurgery}},
	{"yuyao-tcm", "余姚市中医医院", "330281", domain.LevelSecondary, []domain.Department{deptGastro, deptTCM}},
	{"yuyao4", "余姚市第四人民医院", "330281", domain.LevelSecondary, []domain.Department{deptGastro}},
	{"ninghai2", "宁海县第二人民医院", "330226", domain.LevelSecondary, []domain.Department{deptGastro}},
	{"xikou", "宁波市奉化区溪口医院", "330213", domain.LevelSecondary, []domain.Department{deptGastro}},
}

// songjiangMembers are the 20 institutions of the district atrial-fibrillation alliance:
// three district hospitals and the 17 community health service centres of Songjiang.
func songjiangMembers() []demoHospital {
	out := []demoHospital{
		{"sj-central", "上海市松江区中心医院", "310117", domain.LevelSecondary, []domain.Department{deptCardiology, deptEmergency}},
		{"sj-sijing-hosp", "上海市松江区泗泾医院", "310117", domain.LevelSecondary, []domain.Department{deptCardiology}},
		{"sj-ledu", "上海市松江区乐都医院", "310117", domain.LevelSecondary, []domain.Department{deptCardiology}},
	}
	centres := []string{"岳阳街道", "永丰街道", "方松街道", "中山街道", "广富林街道", "九里亭街道", "泗泾镇", "佘山镇",
		"车墩镇", "新桥镇", "洞泾镇", "九亭镇", "泖港镇", "石湖荡镇", "新浜镇", "叶榭镇", "小昆山镇"}
	for i, c := range centres {
		out = append(out, demoHospital{fmt.Sprintf("sj-chc-%02d", i+1), "上海市松江区" + c + "社区卫生服务中心", "310117",
			domain.LevelCommunity, []domain.Department{deptGeneral}})
	}
	return out
}

// demoDistrict is an administrative district whose hospitals join the lymphoma alliance.
type demoDistrict struct {
	Code, City, Name string
}

// lymphomaDistricts are the districts of Shanghai, Chengdu, Ankang and Ningbo whose
// hospitals' haematology wards continue Ruijin's lymphoma regimens.
var lymphomaDistricts = []demoDistrict{
	{"310101", "上海市", "黄浦区"}, {"310104", "上海市", "徐汇区"}, {"310105", "上海市", "长宁区"}, {"310106", "上海市", "静安区"},
	{"310107", "上海市", "普陀区"}, {"310109", "上海市", "虹口区"}, {"310110", "上海市", "杨浦区"}, {"310112", "上海市", "闵行区"},
	{"310113", "上海市", "宝山区"}, {"310114", "上海市", "嘉定区"}, {"310115", "上海市", "浦东新区"}, {"310116", "上海市", "金山区"},
	{"310117", "上海市", "松江区"}, {"310118", "上海市", "青浦区"}, {"310120", "上海市", "奉贤区"}, {"310151", "上海市", "崇明区"},
	{"510104", "成都市", "锦江区"}, {"510105", "成都市", "青羊区"}, {"510106", "成都市", "金牛区"}, {"510107", "成都市", "武侯区"},
	{"510108", "成都市", "成华区"}, {"510112", "成都市", "龙泉驿区"}, {"510113", "成都市", "青白江区"}, {"510114", "成都市", "新都区"},
	{"510115", "成都市", "温江区"}, {"510116", "成都市", "双流区"}, {"510117", "成都市", "郫都区"}, {"510118", "成都市", "新津区"},
	{"510121", "成都市", "金堂县"}, {"510129", "成都市", "大邑县"}, {"510131", "成都市", "蒲江县"}, {"510181", "成都市", "都江堰市"},
	{"510182", "成都市", "彭州市"}, {"510183", "成都市", "邛崃市"}, {"510184", "成都市", "崇州市"}, {"510185", "成都市", "简阳市"},
	{"610902", "安康市", "汉滨区"}, {"610921", "安康市", "汉阴县"}, {"610922", "安康市", "石泉县"}, {"610923", "安康市", "宁陕县"},
	{"610924", "安康市", "紫阳县"}, {"610925", "安康市", "岚皋县"}, {"610926", "安康市", "平利县"}, {"610927", "安康市", "镇坪县"},
	{"610981", "安康市", "旬阳市"}, {"610929", "安康市", "白河县"},
	{"330203", "宁波市", "海曙区"}, {"330205", "宁波市", "江北区"}, {"330206", "宁波市", "北仑区"}, {"330211", "宁波市", "镇海区"},
	{"330212", "宁波市", "鄞州区"}, {"330213", "宁波市", "奉化区"}, {"330225", "宁波市", "象山县"}, {"330226", "宁波市", "宁海县"},
	{"330281", "宁波市", "余姚市"}, {"330282", "宁波市", "慈溪市"},
}

// lymphomaMemberCount is the size of the lymphoma team's network in the seeds; the
// first lymphomaCoreCount members (the 2017 founding partners) are core members.
const (
	lymphomaMemberCount = 144
	lymphomaCoreCount   = 28
)

// lymphomaMembers generates the 144 member hospitals: each district's people's
// hospital, then its hospital of traditional Chinese medicine, then its second people's
// hospital, until there are 144.
func lymphomaMembers() []demoHospital {
	kinds := []struct{ suffix, key string }{{"人民医院", "ph"}, {"中医医院", "tcm"}, {"第二人民医院", "ph2"}}
	var out []demoHospital
	for _, k := range kinds {
		for _, d := range lymphomaDistricts {
			if len(out) == lymphomaMemberCount {
				return out
			}
			out = append(out, demoHospital{Key: "lym-" + k.key + "-" + d.Code, Name: d.City + d.Name + k.suffix, Region: d.Code,
				Level: domain.LevelSecondary, Depts: []domain.Department{deptHematology, deptInternalMed}})
		}
	}
	return out
}

// rchopSteps is R-CHOP-21 for diffuse large B-cell lymphoma: six 21-day cycles, each
// with rituximab on day 0, CHOP on day 1, prednisone days 1-5 and a nadir blood count.
func rchopSteps() []domain.ProtocolStep {
	var steps []domain.ProtocolStep
	for c := 1; c <= 6; c++ {
		d := (c - 1) * 21
		p := fmt.Sprintf("c%d-", c)
		steps = append(steps,
			domain.ProtocolStep{StepID: p + "rituximab", DayOffset: d, Activity: fmt.Sprintf("第%d周期 利妥昔单抗静滴 (rituximab)", c),
				Drug: "rituximab", Dose: "375 mg/m2", Route: domain.RouteIV, Notes: "首次输注减慢速度; 输注前抗过敏预处理"},
			domain.ProtocolStep{StepID: p + "cyclophosphamide", DayOffset: d + 1, Activity: "环磷酰胺静滴 (cyclophosphamide)",
				Drug: "cyclophosphamide", Dose: "750 mg/m2", Route: domain.RouteIV},
			domain.ProtocolStep{StepID: p + "doxorubicin", DayOffset: d + 1, Activity: "多柔比星静推 (doxorubicin)",
				Drug: "doxorubicin", Dose: "50 mg/m2", Route: domain.RouteIV, Notes: "累积剂量监测; 基线 LVEF >= 50%"},
			domain.ProtocolStep{StepID: p + "vincristine", DayOffset: d + 1, Activity: "长春新碱静推 (vincristine)",
				Drug: "vincristine", Dose: "1.4 mg/m2 (max 2 mg)", Route: domain.RouteIV},
			domain.ProtocolStep{StepID: p + "prednisone", DayOffset: d + 1, Activity: "泼尼松口服 d1-5 (prednisone)",
				Drug: "prednisone", Dose: "100 mg", Route: domain.RouteOral, Notes: "连续 5 天"},
			domain.ProtocolStep{StepID: p + "cbc", DayOffset: d + 10, Activity: "血常规 (最低点复查), 必要时 G-CSF"},
		)
	}
	steps = append(steps, domain.ProtocolStep{StepID: "eot-petct", DayOffset: 5*21 + 42, Activity: "疗效评估 PET-CT (end of treatment)"})
	return steps
}

// postPCISteps is a post-PCI cardiac rehabilitation and secondary-prevention course:
// dual antiplatelet therapy for 12 months, a statin, phase II rehabilitation and
// follow-ups.
func postPCISteps() []domain.ProtocolStep {
	return []domain.ProtocolStep{
		{StepID: "aspirin", DayOffset: 0, Activity: "阿司匹林 长期口服 (aspirin)", Drug: "aspirin", Dose: "100 mg qd", Route: domain.RouteOral},
		{StepID: "p2y12", DayOffset: 0, Activity: "P2Y12 抑制剂 12 个月 (ticagrelor)", Drug: "ticagrelor", Dose: "90 mg bid", Route: domain.RouteOral},
		{StepID: "statin", DayOffset: 0, Activity: "他汀 (atorvastatin)", Drug: "atorvastatin", Dose: "20 mg qn", Route: domain.RouteOral, Notes: "LDL-C 目标 < 1.4 mmol/L"},
		{StepID: "rehab-assess", DayOffset: 3, Activity: "心肺运动评估 / 6 分钟步行试验"},
		{StepID: "phase2-start", DayOffset: 7, Activity: "二期心脏康复: 有氧运动 30 分钟, 每周 3-5 次"},
		{StepID: "followup-1m", DayOffset: 30, Activity: "1 月随访: 血脂, 肝功能, 心电图"},
		{StepID: "followup-3m", DayOffset: 90, Activity: "3 月随访: 运动耐量复评"},
		{StepID: "followup-6m", DayOffset: 180, Activity: "6 月随访: 心脏超声"},
		{StepID: "dapt-review", DayOffset: 365, Activity: "12 月 DAPT 评估: 停用 P2Y12 抑制剂或延长"},
	}
}

// The demo's experts, registered in their home hospitals' directories. The seeds name
// 沈建伟 (消化内科主任医师) and 裘丰 (胃肠外科专家) of 李惠利医院; for the Renji
// workstation and the Hengkou group they name only the team, so each team is one
// directory entry under its lead department.
var (
	expertRenjiWorkstation = demoExpert{key: "renji-workstation", hospitalKey: "renji", department: "cardiology",
		name: "仁济医院心内科名医工作站专家组", title: "主任医师 (专家组)", specialties: []string{"冠脉介入", "心脏康复"}}
	expertHengkouGroup = demoExpert{key: "hengkou-expert-group", hospitalKey: "hengkou", department: "cardiology",
		name: "恒口示范区中心医院专家组", title: "主任医师 (专家组)", specialties: []string{"心血管内科", "全科医学"}}
	expertShenJianwei = demoExpert{key: "lihuili-shen", hospitalKey: "lihuili", department: "gastroenterology",
		name: "沈建伟", title: "主任医师", specialties: []string{"消化内镜诊治", "消化道早癌"}}
	expertQiuFeng = demoExpert{key: "lihuili-qiu", hospitalKey: "lihuili", department: "gi-surgery",
		name: "裘丰", title: "胃肠外科专家", specialties: []string{"胃肠外科"}}
)

// Fixed ids of the demo (ULIDs).
const (
	demoPlatformID        = "01JD0PATF0RMADM1N000000000"
	demoSpecialistHengkou = "01JD0HENGK0VCARD10G1ST0000"
)
