package main

import (
	"context"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/domain"
)

// lihuiliLeads loads 李惠利医院's two lead departments acting each for its own (seed
// 004: 消化内科's 沈建伟 and 胃肠外科's 裘丰 both moved their studios into 北仑三院): 北仑三院
// asks each department for its studio, and each assigns its own registered expert; it
// asks each department a consult, and each answers its own. gastro is 消化内科's lead
// actor (the alliance's founding department).
func (d *demo) lihuiliLeads(ctx context.Context, gastro domain.Actor) error {
	surgery := d.actor("lihuili", "gi-surgery", "lihuili-gi-surgery", "lead")
	start := d.now.Truncate(time.Hour)
	year := domain.Window{Start: start, End: start.Add(365 * 24 * time.Hour)}
	if err := d.dispatch(ctx, dispatchPlan{key: "lihuili-shen", allianceKey: "lihuili-city", memberKey: "beilun3", memberDept: "gastroenterology",
		lead: gastro, leadDept: "gastroenterology", kind: domain.DispatchWorkstation, specialty: "gastroenterology (endoscopy)", window: year,
		notes: "消化内科专家工作室: 内镜诊治与消化道早癌", expert: expertShenJianwei}); err != nil {
		return err
	}
	if err := d.dispatch(ctx, dispatchPlan{key: "lihuili-qiu", allianceKey: "lihuili-city", memberKey: "beilun3", memberDept: "gi-surgery",
		lead: surgery, leadDept: "gi-surgery", kind: domain.DispatchWorkstation, specialty: "gastrointestinal surgery", window: year,
		notes: "胃肠外科专家工作室", expert: expertQiuFeng}); err != nil {
		return err
	}
	for _, k := range []struct {
		key, dept, question, mrn, consent string
		lead                              domain.Actor
		opinion                           domain.Opinion
		name                              string
	}{
		{key: "lihuili-gastro", dept: "gastroenterology", lead: gastro, mrn: "BL3-2026-1107", consent: "BL3-CONSENT-1107",
			name:     "北仑三院 -> 消化内科: 胃窦早癌内镜下治疗评估",
			question: "胃镜见胃窦 0-IIc 型病变约 1.5 cm, 活检高级别上皮内瘤变, 能否在本院行 ESD? 请消化内科评估",
			opinion: domain.Opinion{Text: "符合 ESD 绝对适应证; 可由沈建伟主任工作室在北仑三院指导完成, 术前完善超声内镜排除黏膜下浸润。",
				Recommendations: []string{"超声内镜评估浸润深度", "ESD 术后病理评估切缘"}}},
		{key: "lihuili-surgery", dept: "gi-surgery", lead: surgery, mrn: "BL3-2026-1108", consent: "BL3-CONSENT-1108",
			name:     "北仑三院 -> 胃肠外科: 结肠癌术后随访方案",
			question: "乙状结肠癌根治术后 (pT3N1M0) 第 4 周, 辅助化疗方案及随访安排请胃肠外科指导",
			opinion: domain.Opinion{Text: "建议 CAPOX 辅助化疗 3 个月, 在北仑三院完成; 术后第 3、6 个月复查 CEA 与腹部 CT, 由裘丰工作室随访。",
				Recommendations: []string{"CAPOX x4 周期", "CEA 每 3 个月", "1 年内结肠镜复查"}}},
	} {
		member := d.actor("beilun3", k.dept, "beilun3-"+k.dept, "member")
		out, err := d.run(ctx, member, "consult:"+k.key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.RequestConsult(ctx, c, app.RequestConsultInput{AllianceID: d.sum.id("lihuili-city"), Specialty: k.dept,
				Urgency: domain.UrgencyRoutine, Question: k.question, ConsentRef: k.consent, MedicalRecordNumber: k.mrn, LeadDepartmentID: k.dept})
		})
		if err != nil {
			return err
		}
		id := out.ID
		d.remember("consult:"+k.key, "consult", k.name, id)
		if _, err := d.steps(ctx,
			demoStep{"consult:" + k.key + ":accept", k.lead, func(ctx context.Context, c app.Call) (app.Outcome, error) {
				return d.app.AcceptConsult(ctx, c, app.AcceptConsultInput{ConsultID: id})
			}},
			demoStep{"consult:" + k.key + ":opinion", k.lead, func(ctx context.Context, c app.Call) (app.Outcome, error) {
				return d.app.GiveOpinion(ctx, c, app.OpinionInput{ConsultID: id, Opinion: k.opinion})
			}},
		); err != nil {
			return err
		}
	}
	return nil
}
