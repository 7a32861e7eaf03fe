package main

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/domain"
)

// The past year of 恒口示范区's county medical community, for the alliance report. The
// seed (001) says the county hospital's expert group saw 860 patients in the township
// health centres, helped admit 100 of them and took 130 referrals up; the demo records
// such a year command by command, each at its own instant of the twelve months before
// the demo's day: 240 expert visits to the three township centres whose reports add up
// to 860 patients (100 of them admitted at the township), 130 referrals up (30 of them through the green channel, admitted
// within the hour as a rule), 36 referrals down for rehabilitation, 120 remote consults,
// 150 ECG studies read by the county's remote ECG centre (a critical value in one of ten),
// and 30 post-PCI shared plans handed to the townships with their follow-ups recorded on
// schedule or a few days late, and deviations now and then.
const (
	reportVisits        = 240
	reportPatientsSeen  = 860
	reportAdmitted      = 100
	reportReferralsUp   = 130
	reportGreenChannel  = 30
	reportReferralsDown = 36
	reportConsults      = 120
	reportPlans         = 30
	reportECGStudies    = 150
)

// runAt runs one demo command with the service's clock standing at t.
func (d *demo) runAt(ctx context.Context, t time.Time, actor domain.Actor, key string,
	cmd func(context.Context, *app.App, app.Call) (app.Outcome, error)) (app.Outcome, error) {
	a := d.app.WithClock(func() time.Time { return t })
	return d.run(ctx, actor, key, func(ctx context.Context, c app.Call) (app.Outcome, error) { return cmd(ctx, a, c) })
}

// reportYear records the county community's past year (see the constants above). The
// random choices are seeded, so a second run issues the very same commands and keys.
func (d *demo) reportYear(ctx context.Context) error {
	r := rand.New(rand.NewSource(2026))
	day0 := time.Date(d.now.Year(), d.now.Month(), d.now.Day(), 0, 0, 0, 0, time.UTC).AddDate(-1, 0, 0)
	at := func(day int, hour, minute int) time.Time {
		return day0.AddDate(0, 0, day).Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
	}
	alliance := d.sum.id("hengkou-county")
	lead := d.actor("hengkou", "cardiology", "hengkou-community-office", "lead")
	towns := []string{"meizipu", "datong", "guanmiao"}
	townActor := func(i int, user string) domain.Actor {
		return d.actor(towns[i], "general-practice", towns[i]+"-"+user, "member")
	}

	// The expert group's members, one directory entry each, so their visits never share
	// a calendar (each visit books its expert for the day); registered under the lead
	// department (心血管内科), the only one that books them.
	experts := []demoExpert{
		{key: "hengkou-cardio-wang", hospitalKey: "hengkou", department: "cardiology", name: "王建平", title: "主任医师", specialties: []string{"心血管内科"}},
		{key: "hengkou-im-li", hospitalKey: "hengkou", department: "cardiology", name: "李秀梅", title: "副主任医师", specialties: []string{"内科", "慢病管理"}},
		{key: "hengkou-er-zhang", hospitalKey: "hengkou", department: "cardiology", name: "张卫东", title: "主治医师", specialties: []string{"急诊医学", "胸痛中心"}},
	}
	expertIDs := make([]string, len(experts))
	for i, e := range experts {
		id, err := d.registerExpert(ctx, e)
		if err != nil {
			return err
		}
		expertIDs[i] = id
	}

	if err := d.heartFailureProtocol(ctx, alliance, lead, towns, at); err != nil {
		return err
	}
	if err := d.rotationYear(ctx, alliance, lead, towns, expertIDs, at); err != nil {
		return err
	}

	var jobs []func(context.Context) error
	// Visits: 240 over the year, a day each, patients adding up to 860.
	extra := r.Perm(reportVisits)[:reportPatientsSeen-3*reportVisits]
	bonus := map[int]bool{}
	for _, i := range extra {
		bonus[i] = true
	}
	admitted := map[int]bool{} // 100 of the visits admit one patient each
	for _, i := range r.Perm(reportVisits)[:reportAdmitted] {
		admitted[i] = true
	}
	for i := range reportVisits {
		day := 1 + i*362/reportVisits
		town, expert := i%3, i%len(experts)
		seen := 3
		if bonus[i] {
			seen++
		}
		rep := domain.VisitReport{PatientsSeen: seen, PatientsAdmitted: b2i(admitted[i]), ProceduresGuided: r.Intn(2), TeachingSessions: b2i(r.Intn(4) == 0),
			Summary: fmt.Sprintf("%s 坐诊查房: 接诊 %d 人次", experts[expert].name, seen)}
		lateMin := r.Intn(40)
		member := townActor(town, "office") // actors are made here: jobs run concurrently with the demo's id map
		jobs = append(jobs, func(ctx context.Context) error {
			key := fmt.Sprintf("report:visit:%03d", i)
			win := domain.Window{Start: at(day, 8, 30), End: at(day, 17, 0)}
			out, err := d.runAt(ctx, at(day-2-i%5, 10, 0), member, key, func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.RequestDispatch(ctx, c, app.RequestDispatchInput{AllianceID: alliance, Kind: domain.DispatchClinic,
					Specialty: "cardiology", Window: win, Notes: "专家下沉坐诊"})
			})
			if err != nil {
				return err
			}
			id := out.ID
			steps := []struct {
				t   time.Time
				by  domain.Actor
				sfx string
				fn  func(context.Context, *app.App, app.Call) (app.Outcome, error)
			}{
				{at(day-1, 9, 0), lead, "assign", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
					return a.AssignExpert(ctx, c, app.AssignExpertInput{DispatchID: id, ExpertID: expertIDs[expert]})
				}},
				{at(day, 8, 20+lateMin), member, "check-in", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
					return a.CheckInExpert(ctx, c, app.DispatchInput{DispatchID: id})
				}},
				{at(day, 16, 0), lead, "report", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
					return a.ReportVisit(ctx, c, app.ReportVisitInput{DispatchID: id, VisitReport: rep})
				}},
				{at(day, 16, 30), member, "complete", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
					return a.CompleteDispatch(ctx, c, app.DispatchInput{DispatchID: id})
				}},
			}
			for _, s := range steps {
				if _, err := d.runAt(ctx, s.t, s.by, key+":"+s.sfx, s.fn); err != nil {
					return err
				}
			}
			return nil
		})
	}

	// Referrals up: 130, 30 through the green channel.
	green := map[int]bool{}
	for _, i := range r.Perm(reportReferralsUp)[:reportGreenChannel] {
		green[i] = true
	}
	for i := range reportReferralsUp {
		day := 1 + i*362/reportReferralsUp
		town := r.Intn(3)
		t0 := at(day, 7+r.Intn(14), r.Intn(60))
		urgency, reason, summary := domain.UrgencyRoutine, "慢性心衰加重, 需住院调整治疗", "活动后气促两周, BNP 升高"
		accept, arrive, admit := 20+r.Intn(300), 60+r.Intn(600), 30+r.Intn(240)
		if green[i] {
			urgency, reason, summary = domain.UrgencyEmergency, "急性胸痛, 心电图 ST 段抬高 (绿色通道)", "胸痛 40 分钟, 下壁导联 ST 段抬高, 已嚼服阿司匹林 300 mg"
			accept, arrive, admit = 2+r.Intn(7), 15+r.Intn(25), 8+r.Intn(22)
		} else if r.Intn(3) == 0 {
			urgency, reason, summary = domain.UrgencyUrgent, "不稳定型心绞痛", "静息胸痛反复发作"
		}
		jobs = append(jobs, d.referralJob(i, alliance, t0, townActor(town, "gp"), lead, domain.ReferralUp, "", urgency, reason, summary, accept, arrive, admit))
	}
	// Referrals down: 36, rehabilitation after PCI back to the township.
	for i := range reportReferralsDown {
		day := 3 + i*360/reportReferralsDown
		town := i % 3
		t0 := at(day, 9+r.Intn(6), r.Intn(60))
		accept, arrive, admit := 30+r.Intn(600), 24*60+r.Intn(48*60), 20+r.Intn(120)
		jobs = append(jobs, d.referralJob(1000+i, alliance, t0, lead, townActor(town, "gp"), domain.ReferralDown, d.sum.id(towns[town]),
			domain.UrgencyRoutine, "PCI 术后稳定, 转回乡镇卫生院康复", "支架术后第 5 天, 生命体征平稳", accept, arrive, admit))
	}
	// Consults: 120, mostly urgent ECG and imaging questions.
	for i := range reportConsults {
		day := 1 + i*362/reportConsults
		town := r.Intn(3)
		t0 := at(day, 8+r.Intn(12), r.Intn(60))
		urgency := []string{domain.UrgencyEmergency, domain.UrgencyUrgent, domain.UrgencyUrgent, domain.UrgencyRoutine}[r.Intn(4)]
		budget := map[string]int{domain.UrgencyEmergency: 30, domain.UrgencyUrgent: 240, domain.UrgencyRoutine: 48 * 60}[urgency]
		answer := 3 + r.Intn(budget*9/10)
		if r.Intn(8) == 0 {
			answer = budget + 5 + r.Intn(budget/2+1) // late now and then
		}
		member := townActor(town, "duty-doctor")
		jobs = append(jobs, func(ctx context.Context) error {
			key := fmt.Sprintf("report:consult:%03d", i)
			out, err := d.runAt(ctx, t0, member, key, func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.RequestConsult(ctx, c, app.RequestConsultInput{AllianceID: alliance, Specialty: "cardiology (ECG)", Urgency: urgency,
					Question: "心电图判读: 是否需要上转?", ConsentRef: fmt.Sprintf("HK-CONSENT-%03d", i), MedicalRecordNumber: fmt.Sprintf("HK-C-%04d", i)})
			})
			if err != nil {
				return err
			}
			id := out.ID
			if _, err := d.runAt(ctx, t0.Add(time.Duration(1+answer/3)*time.Minute), lead, key+":accept", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.AcceptConsult(ctx, c, app.AcceptConsultInput{ConsultID: id, SpecialistName: "心电诊断中心值班医师"})
			}); err != nil {
				return err
			}
			_, err = d.runAt(ctx, t0.Add(time.Duration(2+answer)*time.Minute), lead, key+":opinion", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.GiveOpinion(ctx, c, app.OpinionInput{ConsultID: id, Opinion: domain.Opinion{Text: "窦性心律, 未见急性缺血改变; 乡镇卫生院随访"}})
			})
			return err
		})
	}
	// ECG studies: 150 sent by the townships to the county's remote ECG centre over the
	// year, one in ten with a critical value the township acknowledges.
	centre := d.sum.id("centre:hengkou-ecg")
	readers := []string{d.sum.id("reader:hengkou-ecg:0"), d.sum.id("reader:hengkou-ecg:1")}
	ecgDesk := d.actor("hengkou", "ecg-room", "hengkou-ecg-duty", "lead")
	for i := range reportECGStudies {
		day := 1 + i*362/reportECGStudies
		town := r.Intn(3)
		t0 := at(day, 7+r.Intn(14), r.Intn(60))
		urgency := []string{domain.UrgencyEmergency, domain.UrgencyUrgent, domain.UrgencyRoutine}[r.Intn(3)]
		read := map[string]int{domain.UrgencyEmergency: 3 + r.Intn(14), domain.UrgencyUrgent: 10 + r.Intn(60), domain.UrgencyRoutine: 30 + r.Intn(600)}[urgency]
		critical := r.Intn(10) == 0
		ackAfter := 2 + r.Intn(12)
		if r.Intn(5) == 0 {
			ackAfter = 16 + r.Intn(20) // late now and then
		}
		reader := readers[i%2]
		member := townActor(town, "duty-doctor")
		jobs = append(jobs, func(ctx context.Context) error {
			key := fmt.Sprintf("report:ecg:%03d", i)
			out, err := d.runAt(ctx, t0, member, key, func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.SubmitDiagnostic(ctx, c, app.SubmitDiagnosticInput{CentreID: centre, Modality: "12导联静息心电图 (12-lead resting ECG)",
					ClinicalQuestion: "胸闷心悸, 请判读", Urgency: urgency, MedicalRecordNumber: fmt.Sprintf("HK-ECG-%04d", i)})
			})
			if err != nil {
				return err
			}
			id := out.ID
			if _, err := d.runAt(ctx, t0.Add(time.Minute), ecgDesk, key+":claim", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.ClaimDiagnostic(ctx, c, app.AssignReaderInput{RequestID: id, ReaderID: reader})
			}); err != nil {
				return err
			}
			rate := fmt.Sprint(62 + i%30)
			rep := app.ReportInput{RequestID: id, ReaderID: reader, Findings: []domain.Finding{{Item: "rhythm", Value: "窦性心律"},
				{Item: "rate", Value: rate, Unit: "bpm", ReferenceRange: "60-100", Flag: domain.FlagNormal}, {Item: "st_t", Value: "未见明显 ST-T 改变"}},
				Impression: "窦性心律, 大致正常心电图"}
			if critical {
				rep.Findings = []domain.Finding{{Item: "rhythm", Value: "窦性心律"}, {Item: "rate", Value: rate, Unit: "bpm", ReferenceRange: "60-100", Flag: domain.FlagNormal},
					{Item: "st_t", Value: "V1-V4 导联 ST 段抬高", Flag: domain.FlagCritical}}
				rep.Impression = "急性前壁 ST 段抬高型心肌梗死"
				rep.Critical = &domain.CriticalInput{Finding: "急性前壁 STEMI: 立即启动胸痛绿色通道"}
			}
			tRep := t0.Add(time.Duration(read) * time.Minute)
			if _, err := d.runAt(ctx, tRep, ecgDesk, key+":report", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.ReportDiagnostic(ctx, c, rep)
			}); err != nil || !critical {
				return err
			}
			_, err = d.runAt(ctx, tRep.Add(time.Duration(ackAfter)*time.Minute), member, key+":acknowledge", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.AcknowledgeCritical(ctx, c, app.AcknowledgeCriticalInput{RequestID: id, Note: "已电话回复, 准备转运"})
			})
			return err
		})
	}
	pci := d.sum.id("hengkou-pci")
	// Plans: 30 post-PCI plans handed to the townships, follow-ups recorded.
	for i := range reportPlans {
		day := 2 + i*330/reportPlans
		town := i % 3
		delays := make([]int, 5)
		for k := range delays {
			delays[k] = []int{0, 0, 0, 1, 2, 4}[r.Intn(6)]
		}
		deviate := r.Intn(4) == 0
		severity := []string{domain.DeviationSeverityMinor, domain.DeviationSeverityMinor, domain.DeviationSeverityMajor}[r.Intn(3)]
		jobs = append(jobs, d.planJob(i, alliance, pci, at(day, 10, 0), lead, townActor(town, "gp"), d.sum.id(towns[town]), delays, deviate, severity))
	}
	return runJobs(ctx, 6, jobs)
}

// heartFailureProtocol is the county community's chronic heart-failure protocol over the
// year: published at its start and adopted by the three townships, revised after five
// months (version 2: a titration visit added), adopted in version 2 by Meizipu and Datong
// within weeks while Guanmiao stays on version 1, so the report's "members on the current
// protocol version" moves.
func (d *demo) heartFailureProtocol(ctx context.Context, alliance string, lead domain.Actor, towns []string, at func(day, hour, minute int) time.Time) error {
	v1 := []domain.ProtocolStep{
		{StepID: "gdmt", DayOffset: 0, Activity: "指南导向药物治疗 (GDMT): ACEI/ARNI + β 受体阻滞剂 + MRA", Drug: "sacubitril/valsartan", Dose: "50 mg bid", Route: domain.RouteOral},
		{StepID: "followup-2w", DayOffset: 14, Activity: "2 周随访: 血压, 心率, 血钾, 肌酐"},
		{StepID: "followup-3m", DayOffset: 90, Activity: "3 月随访: NT-proBNP, 心脏超声"},
	}
	v2 := append(append([]domain.ProtocolStep{}, v1[:2]...),
		domain.ProtocolStep{StepID: "titration-6w", DayOffset: 42, Activity: "6 周剂量滴定: 逐步加至目标剂量"}, v1[2])
	out, err := d.runAt(ctx, at(0, 9, 0), lead, "report:protocol:heart-failure", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
		return a.DraftProtocol(ctx, c, app.DraftProtocolInput{AllianceID: alliance, Title: "慢性心力衰竭基层规范化管理", Indication: "chronic heart failure, HFrEF, at township level"})
	})
	if err != nil {
		return err
	}
	pid := out.ID
	d.remember("hengkou-heart-failure", "protocol", "慢性心力衰竭基层规范化管理", pid)
	publish := func(day int, v int, steps []domain.ProtocolStep, note string) error {
		_, err := d.runAt(ctx, at(day, 10, 0), lead, fmt.Sprintf("report:publish:heart-failure:v%d", v), func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.PublishProtocolVersion(ctx, c, app.PublishVersionInput{ProtocolID: pid, Steps: steps, Eligibility: "LVEF ≤ 40%, NYHA II-III", ChangeNote: note})
		})
		return err
	}
	if err := publish(0, 1, v1, "首版发布 (first publication)"); err != nil {
		return err
	}
	for i, town := range towns {
		if _, err := d.runAt(ctx, at(3+4*i, 11, 0), d.actor(town, "general-practice", town+"-gp", "member"), "report:adopt:heart-failure:"+town,
			func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.AdoptProtocol(ctx, c, app.AdoptionInput{ProtocolID: pid, Version: 1})
			}); err != nil {
			return err
		}
	}
	if err := publish(150, 2, v2, "增加 6 周剂量滴定随访 (a titration visit at six weeks)"); err != nil {
		return err
	}
	for i, town := range towns[:2] {
		if _, err := d.runAt(ctx, at(165+20*i, 11, 0), d.actor(town, "general-practice", town+"-gp", "member"), "report:upgrade:heart-failure:"+town,
			func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.UpgradeAdoption(ctx, c, app.AdoptionInput{ProtocolID: pid, HospitalID: d.sum.id(town), Version: 2})
			}); err != nil {
			return err
		}
	}
	return nil
}

// rotationYear is the year's 派一送一 cohort and mentorships: for each township, a
// central-hospital doctor posted down and a township doctor studying up for six months,
// both completed; and a township GP apprenticed to each of the expert group's doctors,
// with a session every three weeks, two completed after assessment, one still running.
func (d *demo) rotationYear(ctx context.Context, alliance string, lead domain.Actor, towns, mentors []string, at func(day, hour, minute int) time.Time) error {
	for i, town := range towns {
		townBy := d.actor(town, "general-practice", town+"-gp", "member")
		down, err := d.person(ctx, "report-rotation-down-"+town, "hengkou", "internal-medicine",
			demoSurnames[(i+3)%len(demoSurnames)]+demoGiven[(i+11)%len(demoGiven)], "主治医师", "内科", false)
		if err != nil {
			return err
		}
		up, err := d.person(ctx, "report-rotation-up-"+town, town, "general-practice",
			demoSurnames[(i+17)%len(demoSurnames)]+demoGiven[(i+2)%len(demoGiven)], "住院医师", "全科医学", false)
		if err != nil {
			return err
		}
		apprentice, err := d.person(ctx, "report-apprentice-"+town, town, "general-practice",
			demoSurnames[(i+7)%len(demoSurnames)]+demoGiven[(i+5)%len(demoGiven)], "主治医师", "全科医学", false)
		if err != nil {
			return err
		}
		start := at(30+3*i, 8, 0)
		period := domain.Window{Start: start, End: start.AddDate(0, 6, 0)}
		for _, p := range []struct {
			key    string
			host   domain.Actor
			plan   app.PlanPlacementInput
			finish time.Time
		}{
			{"report:placement:down:" + town, townBy, app.PlanPlacementInput{AllianceID: alliance, Kind: domain.PlacementPosting, Programme: "恒口医共体派一送一",
				Cohort: "上一期 (the year's cohort)", PractitionerID: down, HostHospitalID: d.sum.id(town), HostDepartmentID: "general-practice", Period: period}, period.End.Add(-8 * time.Hour)},
			{"report:placement:up:" + town, lead, app.PlanPlacementInput{AllianceID: alliance, Kind: domain.PlacementStudy, Programme: "恒口医共体派一送一",
				Cohort: "上一期 (the year's cohort)", PractitionerID: up, HostDepartmentID: "cardiology", Period: period}, period.End.Add(-8 * time.Hour)},
		} {
			out, err := d.runAt(ctx, start.AddDate(0, 0, -10), lead, p.key, func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.PlanPlacement(ctx, c, p.plan)
			})
			if err != nil {
				return err
			}
			id := out.ID
			if _, err := d.runAt(ctx, start, p.host, p.key+":arrive", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.RecordPlacementArrival(ctx, c, app.PlacementStepInput{PlacementID: id, At: start})
			}); err != nil {
				return err
			}
			if _, err := d.runAt(ctx, p.finish, p.host, p.key+":complete", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.CompletePlacement(ctx, c, app.PlacementStepInput{PlacementID: id, At: p.finish})
			}); err != nil {
				return err
			}
		}
		began := at(40+10*i, 9, 0)
		key := "report:mentorship:" + town
		out, err := d.runAt(ctx, began, lead, key, func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.StartMentorship(ctx, c, app.StartMentorshipInput{AllianceID: alliance, Programme: "县乡一体化师带徒", MentorID: mentors[i%len(mentors)],
				ApprenticeID: apprentice, Goal: "独立完成胸痛患者首诊与心电图判读", StartedAt: began})
		})
		if err != nil {
			return err
		}
		id := out.ID
		for k := range 10 {
			t := began.AddDate(0, 0, 21*(k+1))
			if _, err := d.runAt(ctx, t, townBy, fmt.Sprintf("%s:session:%d", key, k+1), func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.LogMentorshipSession(ctx, c, app.LogSessionInput{MentorshipID: id, Kind: []string{domain.SessionTeachingRound, domain.SessionJointConsult}[k%2],
					SessionAt: t, DurationMinutes: 120, Patients: 3 + k%4, Note: "跟师查房 / 联合门诊"})
			}); err != nil {
				return err
			}
		}
		if i == 2 {
			continue // still running
		}
		assessed := began.AddDate(0, 0, 225)
		if _, err := d.runAt(ctx, assessed, lead, key+":assess", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.AssessMentorship(ctx, c, app.AssessInput{MentorshipID: id, Outcome: domain.OutcomePass, Comment: "能独立判读 STEMI 心电图并启动绿色通道", AssessedAt: assessed})
		}); err != nil {
			return err
		}
		done := assessed.Add(24 * time.Hour)
		if _, err := d.runAt(ctx, done, lead, key+":complete", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.CompleteMentorship(ctx, c, app.CompleteMentorshipInput{MentorshipID: id, CompletedAt: done})
		}); err != nil {
			return err
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// referralJob requests one referral at t0 and takes it through acceptance, arrival and
// admission after the given minutes.
func (d *demo) referralJob(i int, alliance string, t0 time.Time, from, to domain.Actor, dir, toHospital, urgency, reason, summary string,
	accept, arrive, admit int) func(context.Context) error {
	return func(ctx context.Context) error {
		key := fmt.Sprintf("report:referral:%04d", i)
		out, err := d.runAt(ctx, t0, from, key, func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			in := app.RequestReferralInput{AllianceID: alliance, Direction: dir, Urgency: urgency, Reason: reason, ClinicalSummary: summary,
				MedicalRecordNumber: fmt.Sprintf("HK-R-%04d", i)}
			if dir == domain.ReferralDown {
				in.ToHospitalID = toHospital
			} else {
				in.ToDepartmentID = "cardiology"
			}
			return a.RequestReferral(ctx, c, in)
		})
		if err != nil {
			return err
		}
		id := out.ID
		tAcc := t0.Add(time.Duration(accept) * time.Minute)
		tArr := tAcc.Add(time.Duration(arrive) * time.Minute)
		tAdm := tArr.Add(time.Duration(admit) * time.Minute)
		if _, err := d.runAt(ctx, tAcc, to, key+":accept", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			dept := "cardiology"
			if dir == domain.ReferralDown {
				dept = "general-practice"
			}
			return a.AcceptReferral(ctx, c, app.AcceptReferralInput{ReferralID: id, DepartmentID: dept, ExpectedArrival: tArr})
		}); err != nil {
			return err
		}
		if _, err := d.runAt(ctx, tArr, to, key+":arrive", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.RecordReferralArrival(ctx, c, app.ReferralInput{ReferralID: id})
		}); err != nil {
			return err
		}
		_, err = d.runAt(ctx, tAdm, to, key+":admit", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.AdmitReferral(ctx, c, app.ReferralInput{ReferralID: id})
		})
		return err
	}
}

// planJob starts a post-PCI plan at t0, hands it to the township and records its
// follow-ups (the steps due within the year) the given days late; the plans started
// early in the year are completed, one in four reports a deviation.
func (d *demo) planJob(i int, alliance, protocol string, t0 time.Time, lead, member domain.Actor, memberID string, delays []int, deviate bool, severity string) func(context.Context) error {
	return func(ctx context.Context) error {
		key := fmt.Sprintf("report:plan:%03d", i)
		start := time.Date(t0.Year(), t0.Month(), t0.Day(), 0, 0, 0, 0, time.UTC)
		out, err := d.runAt(ctx, t0, lead, key, func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.InitiatePlan(ctx, c, app.InitiatePlanInput{AllianceID: alliance, ProtocolID: protocol, Version: 1,
				MedicalRecordNumber: fmt.Sprintf("HK-P-%04d", i), StartDate: start})
		})
		if err != nil {
			return err
		}
		id := out.ID
		if _, err := d.runAt(ctx, t0.Add(2*time.Hour), lead, key+":handover", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.HandOverPlan(ctx, c, app.HandOverInput{PlanID: id, ToHospitalID: memberID})
		}); err != nil {
			return err
		}
		steps := []struct {
			id  string
			off int
		}{{"aspirin", 0}, {"p2y12", 0}, {"statin", 0}, {"rehab-assess", 3}, {"phase2-start", 7}, {"followup-1m", 30}, {"followup-3m", 90}, {"followup-6m", 180}}
		end := d.now.AddDate(0, 0, -1)
		last := t0.Add(2 * time.Hour)
		done := 0
		for k, s := range steps {
			late := 0
			if k >= 3 {
				late = delays[(k-3)%len(delays)]
			}
			t := start.AddDate(0, 0, s.off+late).Add(time.Duration(9+k%6) * time.Hour)
			if !t.After(last) {
				t = last.Add(30 * time.Minute)
			}
			if t.After(end) {
				break
			}
			if _, err := d.runAt(ctx, t, member, key+":step:"+s.id, func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.CompletePlanStep(ctx, c, app.StepInput{PlanID: id, StepID: s.id, Notes: "乡镇卫生院随访"})
			}); err != nil {
				return err
			}
			last, done = t, done+1
			if deviate && s.id == "followup-1m" {
				devID := fmt.Sprintf("01JDREP0RTDEV000000000%04d", i)
				if _, err := d.runAt(ctx, t.Add(time.Hour), member, key+":deviation", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
					return a.ReportPlanDeviation(ctx, c, app.DeviationInput{PlanID: id, DeviationID: devID, StepID: s.id, Severity: severity,
						Description: "LDL-C 未达标, 他汀加量未执行 (statin not up-titrated)"})
				}); err != nil {
					return err
				}
				if _, err := d.runAt(ctx, t.Add(26*time.Hour), lead, key+":deviation:ack", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
					return a.AcknowledgePlanDeviation(ctx, c, app.AcknowledgeInput{PlanID: id, DeviationID: devID, Note: "已电话指导调整他汀剂量"})
				}); err != nil {
					return err
				}
				last = t.Add(26 * time.Hour)
			}
		}
		switch {
		case done < len(steps):
			return nil
		case i%3 == 0:
			_, err = d.runAt(ctx, last.Add(24*time.Hour), lead, key+":discontinue", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
				return a.DiscontinuePlan(ctx, c, app.DiscontinueInput{PlanID: id, Reason: "患者迁居外省, 转出医共体 (moved out of the county)"})
			})
			return err
		}
		// The 12-month DAPT review is left to the county hospital's clinic: the township
		// skips it and the lead closes the plan.
		if _, err := d.runAt(ctx, last.Add(2*time.Hour), member, key+":step:dapt-review", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.SkipPlanStep(ctx, c, app.StepInput{PlanID: id, StepID: "dapt-review", Reason: "12 月 DAPT 评估转县医院心内科门诊"})
		}); err != nil {
			return err
		}
		_, err = d.runAt(ctx, last.Add(24*time.Hour), lead, key+":complete", func(ctx context.Context, a *app.App, c app.Call) (app.Outcome, error) {
			return a.CompletePlan(ctx, c, app.PlanInput{PlanID: id})
		})
		return err
	}
}

// runJobs runs jobs on n workers and returns the first error.
func runJobs(ctx context.Context, n int, jobs []func(context.Context) error) error {
	work := make(chan func(context.Context) error)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range work {
				if err := job(ctx); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	return first
}
