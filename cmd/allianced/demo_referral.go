package main

import (
	"context"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/domain"
)

// referrals loads the referral scenarios of the seeds: 浦南's aortic dissection sent up
// to 仁济's emergency department through the green channel onto a reserved bed, then
// referred back to 浦南 for rehabilitation; 梅子铺's chest pain turned from the ECG
// consult into a green-channel referral and admitted at the county hospital within the
// hour; 湖北省中医院's 24-hour referral desk with outpatient slots reserved for its
// alliance's members.
func (d *demo) referrals(ctx context.Context) error {
	if err := d.punanAorticDissection(ctx); err != nil {
		return err
	}
	if err := d.meizipuChestPain(ctx); err != nil {
		return err
	}
	return d.hubeiReferralDesk(ctx)
}

// step runs one demo command and returns its outcome.
type demoStep struct {
	key string
	by  domain.Actor
	fn  func(context.Context, app.Call) (app.Outcome, error)
}

func (d *demo) steps(ctx context.Context, steps ...demoStep) ([]app.Outcome, error) {
	outs := make([]app.Outcome, 0, len(steps))
	for _, s := range steps {
		out, err := d.run(ctx, s.by, s.key, s.fn)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	return outs, nil
}

func (d *demo) punanAorticDissection(ctx context.Context) error {
	er := d.actor("renji", "emergency", "renji-er-desk", "lead")
	punan := d.actor("punan", "emergency", "punan-er", "member")
	punanRehab := d.actor("punan", "rehabilitation", "punan-rehab", "member")
	bed := d.now.Truncate(time.Hour).Add(time.Hour)
	alliance := d.sum.id("renji-city")
	if _, err := d.run(ctx, er, "slots:renji-er", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.PublishReservedSlots(ctx, c, app.PublishSlotsInput{AllianceID: alliance, Slots: []app.PublishSlotInputRow{
			{Kind: domain.SlotBed, Window: domain.Window{Start: bed, End: bed.Add(7 * 24 * time.Hour)}},
			{Kind: domain.SlotBed, Window: domain.Window{Start: bed.Add(24 * time.Hour), End: bed.Add(8 * 24 * time.Hour)}},
		}})
	}); err != nil {
		return err
	}
	up, err := d.run(ctx, punan, "referral:punan-aorta", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.RequestReferral(ctx, c, app.RequestReferralInput{AllianceID: alliance, Direction: domain.ReferralUp,
			ToDepartmentID: "emergency", Urgency: domain.UrgencyEmergency, MedicalRecordNumber: "PN-2026-0311",
			Reason:          "腹主动脉瘤破裂, 需急诊手术 (ruptured abdominal aortic aneurysm)",
			ClinicalSummary: "突发剧烈腹痛伴休克, 床旁超声示腹主动脉瘤破裂; 已建立双静脉通路, 电话联系仁济急诊科, 绿色通道上转"})
	})
	if err != nil {
		return err
	}
	id := up.ID
	d.remember("referral:punan-aorta", "referral", "浦南医院腹主动脉瘤破裂绿色通道上转仁济 (emergency)", id)
	outs, err := d.steps(ctx,
		demoStep{"referral:punan-aorta:accept", er, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AcceptReferral(ctx, c, app.AcceptReferralInput{ReferralID: id, DepartmentID: "emergency",
				ExpectedArrival: d.app.Now().Add(30 * time.Minute), Reserve: true, Kind: domain.SlotBed})
		}},
		demoStep{"referral:punan-aorta:arrive", er, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.RecordReferralArrival(ctx, c, app.ReferralInput{ReferralID: id})
		}},
		demoStep{"referral:punan-aorta:admit", er, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AdmitReferral(ctx, c, app.ReferralInput{ReferralID: id})
		}},
		demoStep{"referral:punan-aorta:complete", er, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.CompleteReferral(ctx, c, app.CompleteReferralInput{ReferralID: id,
				Summary: "急诊腔内修复术后生命体征平稳, 转回浦南医院康复",
				ReturnDown: &app.ReturnDownInput{ToDepartmentID: "rehabilitation", Urgency: domain.UrgencyRoutine,
					Reason: "术后康复 (rehabilitation after endovascular repair)", ClinicalSummary: "术后第 7 天, 伤口愈合良好, 需控制血压及康复训练"}})
		}},
	)
	if err != nil {
		return err
	}
	back := outs[3].ReferralID
	d.remember("referral:punan-aorta-back", "referral", "仁济下转浦南康复 (return referral)", back)
	_, err = d.run(ctx, punanRehab, "referral:punan-aorta-back:accept", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.AcceptReferral(ctx, c, app.AcceptReferralInput{ReferralID: back, DepartmentID: "rehabilitation",
			ExpectedArrival: d.app.Now().Add(24 * time.Hour)})
	})
	return err
}

func (d *demo) meizipuChestPain(ctx context.Context) error {
	member := d.actor("meizipu", "general-practice", "meizipu-duty-doctor", "member")
	er := d.actor("hengkou", "emergency", "hengkou-er", "lead")
	consult := d.sum.id("consult:ecg")
	out, err := d.run(ctx, member, "referral:meizipu-chest-pain", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.ReferFromConsult(ctx, c, app.ReferFromConsultInput{ConsultID: consult,
			ClinicalSummary: "急性下壁 STEMI, 已嚼服阿司匹林 300 mg、氯吡格雷 600 mg, 救护车转运途中心电监护"})
	})
	if err != nil {
		return err
	}
	id := out.ID
	d.remember("referral:meizipu-chest-pain", "referral", "梅子铺卫生院胸痛绿色通道上转 (emergency, from the ECG consult)", id)
	_, err = d.steps(ctx,
		demoStep{"referral:meizipu-chest-pain:accept", er, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AcceptReferral(ctx, c, app.AcceptReferralInput{ReferralID: id, DepartmentID: "cardiology",
				ExpectedArrival: d.app.Now().Add(40 * time.Minute)})
		}},
		demoStep{"referral:meizipu-chest-pain:admit", er, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AdmitReferral(ctx, c, app.ReferralInput{ReferralID: id})
		}},
	)
	return err
}

// hubeiReferralDesk is 湖北省中医院's 24-hour referral line: it keeps outpatient slots
// for its alliance's members and takes their referrals onto them.
func (d *demo) hubeiReferralDesk(ctx context.Context) error {
	for _, h := range []demoHospital{
		{"hubei-tcm", "湖北省中医院", "420106", domain.LevelTertiary, []domain.Department{deptTCM, deptCardiology, {ID: "referral-centre", Name: "转诊中心"}}},
		{"hubei-county-tcm", "湖北省某县中医医院", "420117", domain.LevelSecondary, []domain.Department{deptTCM, deptInternalMed}},
	} {
		out, err := d.run(ctx, demoAdmin, "hospital:"+h.Key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.RegisterHospital(ctx, c, app.RegisterHospitalInput{Name: h.Name, RegionCode: h.Region, Level: h.Level, Departments: h.Depts})
		})
		if err != nil {
			return err
		}
		d.remember(h.Key, "", h.Name, out.ID)
	}
	d.mu.Lock()
	d.sum.Hospitals += 2
	d.mu.Unlock()
	alliance, err := d.found(ctx, "hubei-tcm-alliance", "hubei-tcm", "tcm", "hubei-tcm-office",
		app.FoundAllianceInput{Name: "湖北省中医院中医专科联盟", Specialty: "traditional Chinese medicine", Kind: domain.AllianceSpecialist},
		[]demoHospital{{Key: "hubei-county-tcm"}}, func(int) string { return domain.TierMember })
	if err != nil {
		return err
	}
	desk := d.actor("hubei-tcm", "referral-centre", "hubei-referral-desk", "lead")
	day := d.now.Truncate(24 * time.Hour).Add(24*time.Hour + 8*time.Hour)
	var rows []app.PublishSlotInputRow
	for i := range 6 {
		start := day.Add(time.Duration(i) * 30 * time.Minute)
		rows = append(rows, app.PublishSlotInputRow{Kind: domain.SlotOutpatient, Window: domain.Window{Start: start, End: start.Add(30 * time.Minute)}})
	}
	if _, err := d.run(ctx, desk, "slots:hubei-referral-centre", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.PublishReservedSlots(ctx, c, app.PublishSlotsInput{AllianceID: alliance, Slots: rows})
	}); err != nil {
		return err
	}
	member := d.actor("hubei-county-tcm", "internal-medicine", "county-tcm-doctor", "member")
	for i, p := range []struct{ mrn, urgency, reason string }{
		{"HB-0101", domain.UrgencyUrgent, "反复心悸 3 月, 需专家门诊调整中西医结合方案"},
		{"HB-0102", domain.UrgencyRoutine, "慢性胃炎中药调理效果欠佳"},
		{"HB-0103", domain.UrgencyRoutine, "类风湿关节炎活动期, 需省级专科评估"},
	} {
		key := "referral:hubei-" + p.mrn
		out, err := d.run(ctx, member, key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.RequestReferral(ctx, c, app.RequestReferralInput{AllianceID: alliance, Direction: domain.ReferralUp,
				ToDepartmentID: "referral-centre", Urgency: p.urgency, Reason: p.reason, ClinicalSummary: p.reason,
				MedicalRecordNumber: p.mrn})
		})
		if err != nil {
			return err
		}
		d.remember(key, "referral", "县中医医院上转湖北省中医院转诊中心 "+p.mrn[3:], out.ID)
		if i == 2 {
			continue // left on the desk's queue
		}
		id := out.ID
		if _, err := d.run(ctx, desk, key+":accept", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AcceptReferral(ctx, c, app.AcceptReferralInput{ReferralID: id, ExpectedArrival: day, Reserve: true})
		}); err != nil {
			return err
		}
	}
	return nil
}
