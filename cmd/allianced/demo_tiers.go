package main

import (
	"context"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/domain"
)

// Three tiers, from the report on 徐汇区中心医院's new campus (seed 000): the 中山—徐汇
// 医联体 since 2016, in which 徐汇区中心医院 "承担区域医疗中心承上启下功能, 接收中山医院
// 转诊的术后及稳定期病人"; since 2023 the community health centres of the district
// (斜土, 枫林, 天平, 湖南, 长桥 ...) belong to it, in a 医联体—区域医疗中心—社区卫生中心
// architecture. Here 中山医院 leads an alliance with 徐汇 as its core member, and 徐汇
// leads its own alliance of 8 community centres. A post-operative gastric-cancer patient
// is handed down twice (中山 -> 徐汇 -> 枫林) and escalated back up to 徐汇 when the
// wound becomes infected; a stable patient is handed on to 斜土 and stays there.

// tierHospitals are the hospitals of the three tiers (registered by the tiers step).
func tierHospitals() []demoHospital {
	surgery := domain.Department{ID: "general-surgery", Name: "普外科"}
	hs := []demoHospital{
		{"zhongshan", "复旦大学附属中山医院", "310104", domain.LevelTertiary, []domain.Department{surgery, deptCardiology, deptGastro}},
		{"xuhui-central", "上海市徐汇区中心医院", "310104", domain.LevelTertiary, []domain.Department{surgery, deptRehab, deptCardiology}},
	}
	for _, c := range tierCommunityCentres {
		hs = append(hs, demoHospital{c.key, c.name, "310104", domain.LevelCommunity, []domain.Department{deptGeneral, deptRehab}})
	}
	return hs
}

// tierCommunityCentres are the 8 community health centres of 徐汇's alliance; the first
// six follow the post-operative protocol through 徐汇's alliance.
var tierCommunityCentres = []struct{ key, name string }{
	{"xh-fenglin", "徐汇区枫林街道社区卫生服务中心"},
	{"xh-xietu", "徐汇区斜土街道社区卫生服务中心"},
	{"xh-tianlin", "徐汇区田林街道社区卫生服务中心"},
	{"xh-kangjian", "徐汇区康健街道社区卫生服务中心"},
	{"xh-hunan", "徐汇区湖南街道社区卫生服务中心"},
	{"xh-tianping", "徐汇区天平街道社区卫生服务中心"},
	{"xh-hongmei", "徐汇区虹梅街道社区卫生服务中心"},
	{"xh-changqiao", "徐汇区长桥街道社区卫生服务中心"},
}

// postGastrectomySteps is 中山's follow-up after a radical gastrectomy, carried on at
// the district centre and in the community.
func postGastrectomySteps() []domain.ProtocolStep {
	return []domain.ProtocolStep{
		{StepID: "d7-wound", DayOffset: 7, Activity: "伤口检查与拆线 (wound check, stitches out)"},
		{StepID: "d10-nutrition", DayOffset: 10, Activity: "口服营养补充, 少量多餐 (oral nutritional supplement)", Drug: "肠内营养粉 (enteral nutrition powder)", Dose: "500 kcal/d", Route: domain.RouteOral},
		{StepID: "d14-ppi", DayOffset: 14, Activity: "抑酸治疗 (acid suppression)", Drug: "奥美拉唑 (omeprazole)", Dose: "20 mg qd", Route: domain.RouteOral},
		{StepID: "d30-review", DayOffset: 30, Activity: "术后一月复查血常规、肝肾功能、白蛋白 (one-month review)"},
		{StepID: "d90-ct", DayOffset: 90, Activity: "术后三月腹部增强 CT (转回徐汇或中山)"},
	}
}

// tiers loads the three-tier scenario.
func (d *demo) tiers(ctx context.Context) error {
	for _, h := range tierHospitals() {
		out, err := d.run(ctx, demoAdmin, "hospital:"+h.Key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.RegisterHospital(ctx, c, app.RegisterHospitalInput{Name: h.Name, RegionCode: h.Region, Level: h.Level, Departments: h.Depts})
		})
		if err != nil {
			return err
		}
		d.remember(h.Key, "", h.Name, out.ID)
		d.mu.Lock()
		d.sum.Hospitals++
		d.mu.Unlock()
	}
	top, err := d.found(ctx, "zhongshan-xuhui", "zhongshan", "general-surgery", "zhongshan-alliance-office",
		app.FoundAllianceInput{Name: "中山—徐汇医联体", Specialty: "普外科 (general surgery)", Kind: domain.AllianceCity},
		[]demoHospital{{Key: "xuhui-central"}}, func(int) string { return domain.TierCore })
	if err != nil {
		return err
	}
	centres := make([]demoHospital, len(tierCommunityCentres))
	for i, c := range tierCommunityCentres {
		centres[i] = demoHospital{Key: c.key}
	}
	community, err := d.found(ctx, "xuhui-community", "xuhui-central", "general-surgery", "xuhui-medical-affairs",
		app.FoundAllianceInput{Name: "徐汇区中心医院社区医联体 (区域医疗中心—社区卫生服务中心)", Specialty: "全科 (general practice)", Kind: domain.AllianceCity},
		centres, func(int) string { return domain.TierCommunity })
	if err != nil {
		return err
	}
	zs := d.actor("zhongshan", "general-surgery", "zhongshan-gastric-team", "lead")
	xh := d.actor("xuhui-central", "general-surgery", "xuhui-general-surgery", "lead")
	protocol, err := d.publish(ctx, "postgastrectomy", zs, top,
		app.DraftProtocolInput{Title: "胃癌根治术后康复与随访", Indication: "radical gastrectomy, stable after discharge"},
		postGastrectomySteps(), "胃癌根治术后, 生命体征平稳, 可经口进食, 转区域医疗中心及社区随访")
	if err != nil {
		return err
	}
	// 徐汇 follows 中山's protocol; six community centres follow it through 徐汇's alliance.
	if err := d.adopt(ctx, "postgastrectomy", "xuhui-central", "general-surgery", "xuhui-general-surgery"); err != nil {
		return err
	}
	for _, c := range tierCommunityCentres[:6] {
		if _, err := d.run(ctx, d.actor(c.key, "general-practice", c.key+"-gp", "member"), "adopt:postgastrectomy:"+c.key,
			func(ctx context.Context, call app.Call) (app.Outcome, error) {
				return d.app.AdoptProtocol(ctx, call, app.AdoptionInput{ProtocolID: protocol, Version: 1, ViaAllianceID: community})
			}); err != nil {
			return err
		}
	}
	if err := d.postOperativePatient(ctx, top, protocol, community, zs, xh); err != nil {
		return err
	}
	return d.stablePatient(ctx, top, protocol, community, zs, xh)
}

// postOperativePatient is handed down twice (中山 -> 徐汇 -> 枫林) and escalated back up
// to 徐汇, which handed the plan on, when the wound becomes infected.
func (d *demo) postOperativePatient(ctx context.Context, top, protocol, community string, zs, xh domain.Actor) error {
	fenglin := d.actor("xh-fenglin", "general-practice", "xh-fenglin-gp", "member")
	start := d.now.Truncate(24*time.Hour).AddDate(0, 0, -8)
	out, err := d.run(ctx, zs, "plan:zs-postop", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.InitiatePlan(ctx, c, app.InitiatePlanInput{AllianceID: top, ProtocolID: protocol, Version: 1,
			MedicalRecordNumber: "ZS-2026-081533", StartDate: start})
	})
	if err != nil {
		return err
	}
	plan := out.ID
	d.remember("plan:zs-postop", "plan", "中山胃癌术后患者: 中山 -> 徐汇 -> 枫林, 切口感染上转回徐汇", plan)
	outs, err := d.steps(ctx,
		demoStep{"plan:zs-postop:handover", zs, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.HandOverPlan(ctx, c, app.HandOverInput{PlanID: plan, ToHospitalID: d.sum.id("xuhui-central")})
		}},
		demoStep{"plan:zs-postop:hand-on", xh, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.HandOnPlan(ctx, c, app.HandOnInput{PlanID: plan, ToHospitalID: d.sum.id("xh-fenglin"), ViaAllianceID: community,
				Referral: &app.HandOnReferralInput{Reason: "术后稳定期, 转社区随访 (stable after surgery)", Urgency: domain.UrgencyRoutine,
					ClinicalSummary: "胃癌根治术后第 8 天, 体温正常, 半流质饮食, 切口愈合中; 第 7 天伤口检查待社区完成"}})
		}},
	)
	if err != nil {
		return err
	}
	down := outs[1].ReferralID
	d.remember("referral:zs-postop-down", "referral", "徐汇下转枫林社区 (hand-on referral)", down)
	outs, err = d.steps(ctx,
		demoStep{"referral:zs-postop-down:accept", fenglin, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AcceptReferral(ctx, c, app.AcceptReferralInput{ReferralID: down, DepartmentID: "general-practice",
				ExpectedArrival: d.app.Now().Add(24 * time.Hour)})
		}},
		demoStep{"plan:zs-postop:d7-wound", fenglin, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.CompletePlanStep(ctx, c, app.StepInput{PlanID: plan, StepID: "d7-wound", Notes: "切口下端红肿, 少量渗液"})
		}},
		demoStep{"plan:zs-postop:escalate", fenglin, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.EscalatePlan(ctx, c, app.EscalateInput{PlanID: plan, Reason: "切口感染伴发热 38.6℃ (wound infection with fever)", Urgent: true,
				Referral: &app.EscalationReferralInput{ClinicalSummary: "术后第 9 天切口红肿渗液, 体温 38.6℃, 白细胞 13.2×10⁹/L; 需清创及抗感染",
					ToDepartmentID: "general-surgery"}})
		}},
	)
	if err != nil {
		return err
	}
	up := outs[2].ReferralID
	d.remember("referral:zs-postop-up", "referral", "枫林上转徐汇 (escalation back to the middle tier)", up)
	xhDesk := d.actor("xuhui-central", "general-surgery", "xuhui-referral-desk", "lead")
	_, err = d.steps(ctx,
		demoStep{"referral:zs-postop-up:accept", xhDesk, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AcceptReferral(ctx, c, app.AcceptReferralInput{ReferralID: up, DepartmentID: "general-surgery",
				ExpectedArrival: d.app.Now().Add(2 * time.Hour)})
		}},
		demoStep{"referral:zs-postop-up:admit", xhDesk, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AdmitReferral(ctx, c, app.ReferralInput{ReferralID: up})
		}},
	)
	return err
}

// stablePatient is a second patient of 中山 handed to 徐汇 and on to 斜土, where the
// community follow-up continues.
func (d *demo) stablePatient(ctx context.Context, top, protocol, community string, zs, xh domain.Actor) error {
	xietu := d.actor("xh-xietu", "general-practice", "xh-xietu-gp", "member")
	out, err := d.run(ctx, zs, "plan:zs-stable", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.InitiatePlan(ctx, c, app.InitiatePlanInput{AllianceID: top, ProtocolID: protocol, Version: 1,
			MedicalRecordNumber: "ZS-2026-079102", StartDate: d.now.Truncate(24*time.Hour).AddDate(0, 0, -12)})
	})
	if err != nil {
		return err
	}
	plan := out.ID
	d.remember("plan:zs-stable", "plan", "中山胃癌术后稳定期患者: 中山 -> 徐汇 -> 斜土", plan)
	_, err = d.steps(ctx,
		demoStep{"plan:zs-stable:handover", zs, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.HandOverPlan(ctx, c, app.HandOverInput{PlanID: plan, ToHospitalID: d.sum.id("xuhui-central")})
		}},
		demoStep{"plan:zs-stable:d7-wound", xh, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.CompletePlanStep(ctx, c, app.StepInput{PlanID: plan, StepID: "d7-wound", Notes: "切口甲级愈合, 已拆线"})
		}},
		demoStep{"plan:zs-stable:hand-on", xh, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.HandOnPlan(ctx, c, app.HandOnInput{PlanID: plan, ToHospitalID: d.sum.id("xh-xietu"), ViaAllianceID: community})
		}},
		demoStep{"plan:zs-stable:d10-nutrition", xietu, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.CompletePlanStep(ctx, c, app.StepInput{PlanID: plan, StepID: "d10-nutrition", AdministeredDose: "500 kcal/d",
				Notes: "家庭医生随访, 体重稳定"})
		}},
	)
	return err
}
