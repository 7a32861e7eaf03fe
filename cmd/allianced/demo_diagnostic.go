package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/domain"
)

// diagnostics loads the diagnostic-centre scenarios of the seeds: 恒口's county hospital
// reads the townships' ECGs through "心电一张网" (梅子铺's tracing shows an acute inferior
// STEMI, flagged critical, acknowledged by the township at once, and the patient
// referred up through the green channel); 松江's "five centres" (remote ECG, regional
// imaging, clinical lab, pathology, ultrasound) with the district's 20 institutions
// sending work.
func (d *demo) diagnostics(ctx context.Context) error {
	if err := d.hengkouECGCentre(ctx); err != nil {
		return err
	}
	return d.songjiangCentres(ctx)
}

// demoCentre is one centre of the demo: where it runs, who reads, and the department.
type demoCentre struct {
	key, allianceKey, operatorKey string
	dept                          domain.Department
	kind, name                    string
	readers                       []string // reader names (directory entries under the operator)
}

// openDemoCentre opens the centre (by the alliance's lead department), opens its
// department at the operator when missing, registers its readers and puts the first
// on a 72-hour duty shift from an hour ago (the others read by claiming).
func (d *demo) openDemoCentre(ctx context.Context, lead domain.Actor, c demoCentre) (string, []string, error) {
	operator := d.actor(c.operatorKey, c.dept.ID, c.key+"-office", "lead")
	if c.operatorKey != "" && d.sum.id(c.operatorKey) != lead.HospitalID {
		operator.Role = "member"
	}
	if _, err := d.run(ctx, demoAdmin, "department:"+c.operatorKey+":"+c.dept.ID, func(ctx context.Context, call app.Call) (app.Outcome, error) {
		return d.app.AddDepartment(ctx, call, app.AddDepartmentInput{HospitalID: d.sum.id(c.operatorKey), ID: c.dept.ID, Name: c.dept.Name})
	}); err != nil && domain.ErrorCode(err) != domain.CodeAlreadyExists {
		return "", nil, err
	}
	out, err := d.run(ctx, lead, "centre:"+c.key, func(ctx context.Context, call app.Call) (app.Outcome, error) {
		return d.app.OpenCentre(ctx, call, app.OpenCentreInput{AllianceID: d.sum.id(c.allianceKey), Kind: c.kind, Name: c.name,
			OperatorHospitalID: d.sum.id(c.operatorKey), DepartmentID: c.dept.ID})
	})
	if err != nil {
		return "", nil, err
	}
	centre := out.ID
	d.remember("centre:"+c.key, "centre", c.name+" ("+c.kind+")", centre)
	var readers []string
	for i, name := range c.readers {
		key := fmt.Sprintf("reader:%s:%d", c.key, i)
		p, err := d.run(ctx, operator, key, func(ctx context.Context, call app.Call) (app.Outcome, error) {
			return d.app.RegisterPractitioner(ctx, call, app.RegisterPractitionerInput{HospitalID: d.sum.id(c.operatorKey), DepartmentID: c.dept.ID,
				Name: name, Title: []string{"主任医师", "主治医师", "副主任医师"}[i%3], Specialties: []string{c.dept.Name + "诊断"}})
		})
		if err != nil {
			return "", nil, err
		}
		d.remember(key, "", name, p.ID)
		if _, err := d.run(ctx, operator, key+":add", func(ctx context.Context, call app.Call) (app.Outcome, error) {
			return d.app.AddCentreReader(ctx, call, app.CentreReaderInput{CentreID: centre, PractitionerID: p.ID})
		}); err != nil {
			return "", nil, err
		}
		readers = append(readers, p.ID)
	}
	start := d.now.Add(-time.Hour)
	if _, err := d.run(ctx, operator, "shift:"+c.key, func(ctx context.Context, call app.Call) (app.Outcome, error) {
		return d.app.ScheduleShift(ctx, call, app.ScheduleShiftInput{CentreID: centre, PractitionerID: readers[0],
			Window: domain.Window{Start: start, End: start.Add(72 * time.Hour)}})
	}); err != nil {
		return "", nil, err
	}
	return centre, readers, nil
}

func demoStudyFile(name, content string) domain.StudyAttachment {
	sum := sha256.Sum256([]byte(content))
	return domain.StudyAttachment{Attachment: domain.Attachment{Name: name, MediaType: "text/xml", SHA256: hex.EncodeToString(sum[:]), SizeBytes: 48_000},
		Link: "https://ecg.hengkou.example.cn/studies/" + hex.EncodeToString(sum[:8])}
}

func (d *demo) hengkouECGCentre(ctx context.Context) error {
	lead := d.actor("hengkou", "cardiology", "hengkou-community-office", "lead")
	centre, _, err := d.openDemoCentre(ctx, lead, demoCentre{key: "hengkou-ecg", allianceKey: "hengkou-county", operatorKey: "hengkou",
		dept: domain.Department{ID: "ecg-room", Name: "心电图室"}, kind: domain.CentreECG, name: "恒口示范区心电一张网远程心电诊断中心",
		readers: []string{"陈心怡", "刘建军"}})
	if err != nil {
		return err
	}
	ecgDesk := d.actor("hengkou", "ecg-room", "hengkou-ecg-duty", "lead")
	township := d.actor("meizipu", "general-practice", "meizipu-duty-doctor", "member")
	sub, err := d.run(ctx, township, "diagnostic:meizipu-stemi", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.SubmitDiagnostic(ctx, c, app.SubmitDiagnosticInput{CentreID: centre, Modality: "12导联静息心电图 (12-lead resting ECG)",
			ClinicalQuestion: "突发胸骨后压榨样疼痛 40 分钟, 伴大汗; 请排除急性心肌梗死", Urgency: domain.UrgencyEmergency,
			MedicalRecordNumber: "MZP-2026-0602",
			Attachments:         []domain.StudyAttachment{demoStudyFile("12导联心电图 08-12.xml", "demo ECG: Meizipu 12-lead, inferior ST elevation")}})
	})
	if err != nil {
		return err
	}
	id := sub.ID
	d.remember("diagnostic:meizipu-stemi", "study", "梅子铺卫生院急诊心电图, 恒口远程心电中心判读 (emergency, critical)", id)
	_, err = d.steps(ctx,
		demoStep{"diagnostic:meizipu-stemi:report", ecgDesk, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.ReportDiagnostic(ctx, c, app.ReportInput{RequestID: id, Findings: []domain.Finding{
				{Item: "rhythm", Value: "窦性心律"}, {Item: "rate", Value: "98", Unit: "bpm", ReferenceRange: "60-100", Flag: domain.FlagNormal},
				{Item: "st_t", Value: "II、III、aVF 导联 ST 段弓背向上抬高 0.2-0.4 mV, I、aVL 导联 ST 段压低", Flag: domain.FlagCritical},
				{Item: "qrs", Value: "III、aVF 导联可见 q 波"}},
				Impression: "急性下壁 ST 段抬高型心肌梗死 (acute inferior STEMI)",
				Critical:   &domain.CriticalInput{Finding: "急性下壁 ST 段抬高型心肌梗死: 立即启动胸痛绿色通道"}})
		}},
		demoStep{"diagnostic:meizipu-stemi:acknowledge", township, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AcknowledgeCritical(ctx, c, app.AcknowledgeCriticalInput{RequestID: id,
				Note: "值班医师已电话回复总院: 阿司匹林 300 mg、氯吡格雷 600 mg 嚼服, 建立静脉通路, 准备转运"})
		}},
	)
	if err != nil {
		return err
	}
	ref, err := d.run(ctx, township, "diagnostic:meizipu-stemi:referral", func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.ReferOnCritical(ctx, c, app.ReferOnCriticalInput{RequestID: id, ToDepartmentID: "cardiology",
			ClinicalSummary: "远程心电诊断急性下壁 STEMI; 已予双抗负荷, 心电监护下 120 转运, 请导管室准备急诊 PCI"})
	})
	if err != nil {
		return err
	}
	d.remember("referral:meizipu-stemi", "referral", "梅子铺危急值上转恒口胸痛中心 (emergency, from the ECG report)", ref.ReferralID)
	er := d.actor("hengkou", "cardiology", "hengkou-chest-pain-centre", "lead")
	_, err = d.steps(ctx,
		demoStep{"referral:meizipu-stemi:accept", er, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AcceptReferral(ctx, c, app.AcceptReferralInput{ReferralID: ref.ReferralID, DepartmentID: "cardiology",
				ExpectedArrival: d.app.Now().Add(40 * time.Minute)})
		}},
		demoStep{"referral:meizipu-stemi:admit", er, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AdmitReferral(ctx, c, app.ReferralInput{ReferralID: ref.ReferralID})
		}},
	)
	return err
}

// songjiangCentres are the district's "five centres" of the seeds, run for the 20
// institutions of 松江: the remote ECG centre at 市一南部院区 (the alliance's lead), the
// imaging, lab, pathology and ultrasound centres at 松江区中心医院, which the alliance
// designates as regional medical centre.
func (d *demo) songjiangCentres(ctx context.Context) error {
	lead := d.actor("shiyi-south", "cardiology", "shiyi-af-centre", "lead")
	centres := []demoCentre{
		{key: "sj-ecg", operatorKey: "shiyi-south", dept: domain.Department{ID: "ecg-room", Name: "心电图室"}, kind: domain.CentreECG,
			name: "松江区远程心电诊疗中心", readers: []string{"顾文静", "沈立新"}},
		{key: "sj-imaging", operatorKey: "sj-central", dept: domain.Department{ID: "radiology", Name: "放射科"}, kind: domain.CentreImaging,
			name: "松江区区域医学影像诊断中心", readers: []string{"张伟民", "陆晓燕"}},
		{key: "sj-lab", operatorKey: "sj-central", dept: domain.Department{ID: "clinical-lab", Name: "检验科"}, kind: domain.CentreLab,
			name: "松江区区域临床检验中心", readers: []string{"王海燕"}},
		{key: "sj-pathology", operatorKey: "sj-central", dept: domain.Department{ID: "pathology", Name: "病理科"}, kind: domain.CentrePathology,
			name: "松江区病理诊断中心", readers: []string{"孙志刚"}},
		{key: "sj-ultrasound", operatorKey: "sj-central", dept: domain.Department{ID: "ultrasound", Name: "超声科"}, kind: domain.CentreUltrasound,
			name: "松江区B超诊断中心", readers: []string{"吴丽华", "钱永康"}},
	}
	ids := make([]string, len(centres))
	for i := range centres {
		centres[i].allianceKey = "songjiang-af"
		id, _, err := d.openDemoCentre(ctx, lead, centres[i])
		if err != nil {
			return err
		}
		ids[i] = id
	}
	studies := []struct {
		modality, question string
		findings           []domain.Finding
		impression         string
	}{
		{"12导联静息心电图", "心悸 3 天, 既往房颤", []domain.Finding{{Item: "rhythm", Value: "心房颤动"}, {Item: "rate", Value: "112", Unit: "bpm", Flag: domain.FlagHigh}, {Item: "st_t", Value: "未见明显 ST-T 改变"}}, "心房颤动伴快速心室率"},
		{"胸部 CT 平扫", "咳嗽 2 周, 低热", []domain.Finding{{Item: "technique", Value: "胸部 CT 平扫, 层厚 1.25 mm"}, {Item: "findings", Value: "右肺下叶斑片状磨玻璃影"}}, "右肺下叶炎症, 建议抗感染治疗后复查"},
		{"糖化血红蛋白 + 血脂", "2 型糖尿病随访", []domain.Finding{{Item: "hba1c", Value: "7.9", Unit: "%", ReferenceRange: "4.0-6.0", Flag: domain.FlagHigh}, {Item: "ldl_c", Value: "3.6", Unit: "mmol/L", ReferenceRange: "<2.6", Flag: domain.FlagHigh}}, "血糖、LDL-C 控制未达标"},
		{"胃镜活检", "胃窦黏膜粗糙", []domain.Finding{{Item: "specimen", Value: "胃窦活检 2 块"}, {Item: "gross", Value: "灰白色组织 2 粒, 直径 0.2 cm"}, {Item: "microscopic", Value: "黏膜慢性炎, 腺体轻度肠化"}, {Item: "diagnosis", Value: "慢性萎缩性胃炎伴轻度肠上皮化生"}}, "慢性萎缩性胃炎伴轻度肠化, 建议 1 年后复查胃镜"},
		{"甲状腺彩超", "体检发现甲状腺结节", []domain.Finding{{Item: "findings", Value: "甲状腺右叶低回声结节 0.8 × 0.6 cm, 边界清, TI-RADS 3 类"}}, "甲状腺右叶结节 (TI-RADS 3 类), 建议 6 个月随访"},
	}
	members := songjiangMembers()
	for i, m := range members {
		k := i % len(centres)
		by := d.actor(m.Key, m.Depts[0].ID, m.Key+"-doctor", "member")
		key := fmt.Sprintf("diagnostic:%s:%s", m.Key, centres[k].key)
		s := studies[k]
		out, err := d.run(ctx, by, key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.SubmitDiagnostic(ctx, c, app.SubmitDiagnosticInput{CentreID: ids[k], Modality: s.modality, ClinicalQuestion: s.question,
				Urgency: []string{domain.UrgencyRoutine, domain.UrgencyUrgent}[i%2], MedicalRecordNumber: fmt.Sprintf("SJ-%s-%04d", m.Key, 100+i),
				Attachments: []domain.StudyAttachment{{Attachment: demoStudyFile("study.xml", key).Attachment, Link: "https://pacs.songjiang.example.cn/studies/" + fmt.Sprint(1000+i)}}})
		})
		if err != nil {
			return err
		}
		if i >= 15 {
			continue // the last five wait on the worklists
		}
		operator := d.actor(centres[k].operatorKey, centres[k].dept.ID, centres[k].key+"-office", "member")
		if _, err := d.run(ctx, operator, key+":report", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.ReportDiagnostic(ctx, c, app.ReportInput{RequestID: out.ID, Findings: s.findings, Impression: s.impression})
		}); err != nil {
			return err
		}
	}
	return nil
}
