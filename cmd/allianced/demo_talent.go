package main

import (
	"context"
	"fmt"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/domain"
)

// talent loads the demo's talent flows, with the seeds' figures: 6 township TCM
// doctors apprenticed to 6 department heads of 湖北省中医院 (拜师); 106 general
// practitioners of Songjiang's community centres in 市一's mentorship programme, 77 of
// them completed (学成结业); 仁济宝山分院 sending three groups of community GPs to
// study (进修, 上修下沉); 恒口's county hospital rotating staff with its townships
// (派一送一). Records of the past are entered with their own dates (startedAt,
// sessionAt, completedAt, arrival), as an alliance office enters its paper records.
func (d *demo) talent(ctx context.Context) error {
	for _, step := range []func(context.Context) error{d.hubeiApprentices, d.songjiangMentorships, d.baoshanStudyGroups, d.hengkouRotation} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// person registers a practitioner as its home hospital's medical affairs office and
// returns the id; list says whether the summary lists it (the 106 GPs are not listed).
func (d *demo) person(ctx context.Context, key, hospitalKey, dept, name, title, specialty string, list bool) (string, error) {
	office := d.actor(hospitalKey, "medical-affairs", hospitalKey+"-medical-affairs", "member")
	out, err := d.run(ctx, office, "practitioner:"+key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.RegisterPractitioner(ctx, c, app.RegisterPractitionerInput{HospitalID: d.sum.id(hospitalKey),
			DepartmentID: dept, Name: name, Title: title, Specialties: []string{specialty}})
	})
	if err != nil {
		return "", err
	}
	what := ""
	if list {
		what = "practitioner"
	}
	d.remember("practitioner:"+key, what, name+" ("+title+")", out.ID)
	return out.ID, nil
}

// mentorshipStory is one pairing and what happened in it.
type mentorshipStory struct {
	key, allianceKey, programme, mentorID, apprenticeID, goal string
	lead                                                      domain.Actor
	apprenticeBy                                              domain.Actor
	started                                                   time.Time
	sessions                                                  []app.LogSessionInput
	assessed                                                  *app.AssessInput
	completed                                                 time.Time
}

func (d *demo) mentorship(ctx context.Context, s mentorshipStory) error {
	out, err := d.run(ctx, s.lead, "mentorship:"+s.key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.StartMentorship(ctx, c, app.StartMentorshipInput{AllianceID: d.sum.id(s.allianceKey), Programme: s.programme,
			MentorID: s.mentorID, ApprenticeID: s.apprenticeID, Goal: s.goal, StartedAt: s.started})
	})
	if err != nil {
		return err
	}
	id := out.ID
	d.remember("mentorship:"+s.key, "", s.programme, id)
	for i, in := range s.sessions {
		in.MentorshipID = id
		if _, err := d.run(ctx, s.apprenticeBy, fmt.Sprintf("mentorship:%s:session:%d", s.key, i+1), func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.LogMentorshipSession(ctx, c, in)
		}); err != nil {
			return err
		}
	}
	if s.assessed != nil {
		a := *s.assessed
		a.MentorshipID = id
		if _, err := d.run(ctx, s.lead, "mentorship:"+s.key+":assess", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AssessMentorship(ctx, c, a)
		}); err != nil {
			return err
		}
	}
	if !s.completed.IsZero() {
		if _, err := d.run(ctx, s.lead, "mentorship:"+s.key+":complete", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.CompleteMentorship(ctx, c, app.CompleteMentorshipInput{MentorshipID: id, CompletedAt: s.completed})
		}); err != nil {
			return err
		}
	}
	return nil
}

// day returns the demo's day n days before now, at the given hour (UTC).
func (d *demo) day(n int, hour int) time.Time {
	return d.now.Truncate(24*time.Hour).AddDate(0, 0, -n).Add(time.Duration(hour) * time.Hour)
}

// hubeiApprentices: at the founding of 湖北省中医院's community alliance (社区医联体,
// 61 community centres in the seeds; six here), six community TCM doctors became
// apprentices of six department heads (拜师); they follow their mentors in consults and
// ward rounds (跟师会诊、查房).
func (d *demo) hubeiApprentices(ctx context.Context) error {
	heads := []struct{ dept, name, specialty string }{
		{"tcm", "中医内科主任", "中医内科"}, {"acupuncture", "针灸科主任", "针灸推拿"}, {"spleen-stomach", "脾胃病科主任", "脾胃病"},
		{"nephrology-tcm", "肾病科主任", "中医肾病"}, {"orthopaedics-tcm", "骨伤科主任", "中医骨伤"}, {"cardiology", "心血管病科主任", "中医心血管病"},
	}
	deptNames := map[string]string{"acupuncture": "针灸科", "spleen-stomach": "脾胃病科", "nephrology-tcm": "肾病科", "orthopaedics-tcm": "骨伤科"}
	for _, h := range heads[1:5] {
		if _, err := d.run(ctx, demoAdmin, "department:hubei-tcm:"+h.dept, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.AddDepartment(ctx, c, app.AddDepartmentInput{HospitalID: d.sum.id("hubei-tcm"), ID: h.dept, Name: deptNames[h.dept]})
		}); err != nil {
			return err
		}
	}
	centres := []demoHospital{
		{"hb-chc-luonan", "武汉市洪山区珞南街社区卫生服务中心", "420111", domain.LevelCommunity, []domain.Department{deptTCM, deptGeneral}},
		{"hb-chc-qingling", "武汉市洪山区青菱街社区卫生服务中心", "420111", domain.LevelCommunity, []domain.Department{deptTCM, deptGeneral}},
		{"hb-chc-shouyi", "武汉市武昌区首义路街社区卫生服务中心", "420106", domain.LevelCommunity, []domain.Department{deptTCM, deptGeneral}},
		{"hb-chc-hongwei", "武汉市青山区红卫路街社区卫生服务中心", "420107", domain.LevelCommunity, []domain.Department{deptTCM, deptGeneral}},
		{"hb-chc-guandong", "武汉东湖新技术开发区关东街社区卫生服务中心", "420100", domain.LevelCommunity, []domain.Department{deptTCM, deptGeneral}},
		{"hb-thc-gedian", "鄂州市葛店开发区卫生院", "420704", domain.LevelCommunity, []domain.Department{deptTCM, deptGeneral}},
	}
	if err := d.registerHospitals(ctx, centres); err != nil {
		return err
	}
	if _, err := d.found(ctx, "hubei-community", "hubei-tcm", "tcm", "hubei-tcm-office",
		app.FoundAllianceInput{Name: "湖北省中医院社区医联体", Specialty: "traditional Chinese medicine (community)", Kind: domain.AllianceCity},
		centres, func(int) string { return domain.TierCommunity }); err != nil {
		return err
	}
	lead := d.actor("hubei-tcm", "tcm", "hubei-tcm-office", "lead")
	surnames := []string{"刘", "陈", "王", "张", "李", "杨"}
	for i, h := range heads {
		mentor, err := d.person(ctx, "hubei-head-"+h.dept, "hubei-tcm", h.dept, h.name, "主任医师, 博士生导师", h.specialty, true)
		if err != nil {
			return err
		}
		c := centres[i]
		apprentice, err := d.person(ctx, "hubei-apprentice-"+c.Key, c.Key, "tcm", surnames[i]+"中医师", "主治医师", "基层中医", true)
		if err != nil {
			return err
		}
		by := d.actor(c.Key, "tcm", c.Key+"-tcm", "member")
		if err := d.mentorship(ctx, mentorshipStory{key: "hubei-" + c.Key, allianceKey: "hubei-community", programme: "湖北省中医院社区医联体师带徒 (首批 6 名, 后续 40 名)",
			mentorID: mentor, apprenticeID: apprentice, goal: "跟随导师会诊、查房, 提高理论水平和临床诊疗能力", lead: lead, apprenticeBy: by,
			started: d.day(28, 1),
			sessions: []app.LogSessionInput{
				{Kind: domain.SessionJointConsult, SessionAt: d.day(21, 1), DurationMinutes: 180, Patients: 14 + i, Note: "跟师门诊"},
				{Kind: domain.SessionTeachingRound, SessionAt: d.day(7, 2), DurationMinutes: 120, Patients: 9 + i, Note: "教学查房"},
			}}); err != nil {
			return err
		}
	}
	return nil
}

// registerHospitals registers the demo step's own hospitals.
func (d *demo) registerHospitals(ctx context.Context, hs []demoHospital) error {
	for _, h := range hs {
		out, err := d.run(ctx, demoAdmin, "hospital:"+h.Key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.RegisterHospital(ctx, c, app.RegisterHospitalInput{Name: h.Name, RegionCode: h.Region, Level: h.Level, Departments: h.Depts})
		})
		if err != nil {
			return err
		}
		d.remember(h.Key, "", h.Name, out.ID)
	}
	d.mu.Lock()
	d.sum.Hospitals += len(hs)
	d.mu.Unlock()
	return nil
}

// Seed figures of Songjiang's mentorship programme (导师制培养项目).
const (
	songjiangMentees   = 106
	songjiangCompleted = 77
	songjiangMentors   = 12
)

var demoSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "朱", "马", "胡", "郭", "何", "林", "罗", "高"}
var demoGiven = []string{"敏", "静", "伟", "芳", "磊", "洁", "勇", "婷", "军", "燕", "涛", "红"}

// songjiangMentorships: 106 GPs of intermediate title or above from Songjiang's 17
// community centres in 市一南部's mentorship programme, started about two years ago;
// 77 completed it, 29 are still learning.
func (d *demo) songjiangMentorships(ctx context.Context) error {
	lead := d.actor("shiyi-south", "cardiology", "shiyi-af-centre", "lead")
	members := songjiangMembers()[3:] // the 17 community centres
	mentors := make([]string, songjiangMentors)
	for i := range mentors {
		id, err := d.person(ctx, fmt.Sprintf("shiyi-mentor-%02d", i+1), "shiyi-south", "cardiology",
			demoSurnames[(i*7)%len(demoSurnames)]+demoGiven[(i*5)%len(demoGiven)]+"导师", "主任医师", "心血管内科", i == 0)
		if err != nil {
			return err
		}
		mentors[i] = id
	}
	for i := range songjiangMentees {
		c := members[i%len(members)]
		name := demoSurnames[i%len(demoSurnames)] + demoGiven[(i/len(demoSurnames)+i)%len(demoGiven)]
		gp, err := d.person(ctx, fmt.Sprintf("sj-gp-%03d", i+1), c.Key, "general-practice", name, "主治医师", "全科医学", false)
		if err != nil {
			return err
		}
		start := d.day(730-i%30, 1)
		s := mentorshipStory{key: fmt.Sprintf("songjiang-%03d", i+1), allianceKey: "songjiang-af", programme: "市一松江导师制培养项目 (全科医生骨干)",
			mentorID: mentors[i%songjiangMentors], apprenticeID: gp, goal: "房颤规范化管理与全科疑难病例处置", lead: lead,
			apprenticeBy: d.actor(c.Key, "general-practice", c.Key+"-gp", "member"), started: start,
			sessions: []app.LogSessionInput{
				{Kind: domain.SessionJointConsult, SessionAt: start.AddDate(0, 1, 0), DurationMinutes: 240, Patients: 18 + i%7},
				{Kind: domain.SessionTeachingRound, SessionAt: start.AddDate(0, 3, 0), DurationMinutes: 120, Patients: 6 + i%5},
				{Kind: domain.SessionSupervisedProcedure, SessionAt: start.AddDate(0, 6, 0), DurationMinutes: 90, Patients: 2, Procedures: 1 + i%3},
			}}
		if i < songjiangCompleted {
			outcome := domain.OutcomePass
			if i%5 == 0 {
				outcome = domain.OutcomeExcellent
			}
			s.assessed = &app.AssessInput{Outcome: outcome, Comment: "结业考核: 理论与临床能力达标", AssessedAt: start.AddDate(1, 0, 0)}
			s.completed = start.AddDate(1, 0, 7)
		}
		if err := d.mentorship(ctx, s); err != nil {
			return err
		}
	}
	d.remember("programme:songjiang", "programme", fmt.Sprintf("市一松江导师制培养项目: %d 名全科医生, %d 人结业", songjiangMentees, songjiangCompleted), d.sum.id("songjiang-af"))
	return nil
}

// placementStory is one placement and how far it got.
type placementStory struct {
	key     string
	plan    app.PlanPlacementInput
	arrived bool
	done    time.Time
	eval    string
	hostBy  domain.Actor
	lead    domain.Actor
}

// baoshanStudyGroups: 仁济宝山分院's specialist alliance sent three groups of its
// members' community GPs to study at the branch (社区医生进修培训计划, since January):
// the first two completed and were evaluated, the third is studying now.
func (d *demo) baoshanStudyGroups(ctx context.Context) error {
	branch := demoHospital{"renji-baoshan", "上海交通大学医学院附属仁济医院宝山分院", "310113", domain.LevelTertiary,
		[]domain.Department{deptGeneral, deptCardiology, deptEmergency}}
	centres := []demoHospital{
		{"bs-chc-dachang", "上海市宝山区大场镇社区卫生服务中心", "310113", domain.LevelCommunity, []domain.Department{deptGeneral}},
		{"bs-chc-miaohang", "上海市宝山区庙行镇社区卫生服务中心", "310113", domain.LevelCommunity, []domain.Department{deptGeneral}},
		{"bs-chc-songnan", "上海市宝山区淞南镇社区卫生服务中心", "310113", domain.LevelCommunity, []domain.Department{deptGeneral}},
		{"bs-chc-gaojing", "上海市宝山区高境镇社区卫生服务中心", "310113", domain.LevelCommunity, []domain.Department{deptGeneral}},
	}
	if err := d.registerHospitals(ctx, append([]demoHospital{branch}, centres...)); err != nil {
		return err
	}
	if _, err := d.found(ctx, "baoshan-specialist", "renji-baoshan", "general-practice", "baoshan-alliance-office",
		app.FoundAllianceInput{Name: "仁济宝山分院专科联盟", Specialty: "general practice (上修下沉)", Kind: domain.AllianceSpecialist},
		centres, func(int) string { return domain.TierCommunity }); err != nil {
		return err
	}
	lead := d.actor("renji-baoshan", "general-practice", "baoshan-alliance-office", "lead")
	groups := []struct {
		cohort    string
		start     int // days ago
		completed bool
	}{{"第一批", 300, true}, {"第二批", 180, true}, {"第三批", 40, false}}
	for g, grp := range groups {
		for j, c := range centres {
			gp, err := d.person(ctx, fmt.Sprintf("bs-gp-%d-%d", g+1, j+1), c.Key, "general-practice",
				demoSurnames[(g*4+j+3)%len(demoSurnames)]+demoGiven[(g*4+j)%len(demoGiven)], "主治医师", "全科医学", false)
			if err != nil {
				return err
			}
			start := d.day(grp.start, 0)
			s := placementStory{key: fmt.Sprintf("baoshan-%d-%d", g+1, j+1), lead: lead, hostBy: lead, arrived: true,
				plan: app.PlanPlacementInput{AllianceID: d.sum.id("baoshan-specialist"), Kind: domain.PlacementStudy,
					Programme: "仁济宝山分院社区医生进修培训计划", Cohort: grp.cohort, PractitionerID: gp, HostDepartmentID: "general-practice",
					Period: domain.Window{Start: start, End: start.AddDate(0, 3, 0)}}}
			if grp.completed {
				s.done, s.eval = start.AddDate(0, 3, 0).Add(-24*time.Hour), domain.OutcomePass
				if j == 0 {
					s.eval = domain.OutcomeExcellent
				}
			}
			if err := d.placement(ctx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// hengkouRotation: 恒口's county medical community rotates staff both ways (派一送一):
// one of the central hospital's doctors goes down to each township health centre, and
// one doctor of each township goes up to study at the central hospital.
func (d *demo) hengkouRotation(ctx context.Context) error {
	lead := d.actor("hengkou", "cardiology", "hengkou-community-office", "lead")
	towns := []string{"meizipu", "datong", "guanmiao"}
	for i, town := range towns {
		down, err := d.person(ctx, "hengkou-rotation-"+town, "hengkou", "internal-medicine",
			demoSurnames[(i+9)%len(demoSurnames)]+demoGiven[(i+4)%len(demoGiven)], "主治医师", "内科", i == 0)
		if err != nil {
			return err
		}
		up, err := d.person(ctx, town+"-rotation", town, "general-practice",
			demoSurnames[(i+13)%len(demoSurnames)]+demoGiven[(i+8)%len(demoGiven)], "住院医师", "全科医学", i == 0)
		if err != nil {
			return err
		}
		start := d.day(60, 0)
		period := domain.Window{Start: start, End: start.AddDate(0, 6, 0)}
		townBy := d.actor(town, "general-practice", town+"-gp", "member")
		if err := d.placement(ctx, placementStory{key: "hengkou-down-" + town, lead: lead, hostBy: townBy, arrived: true,
			plan: app.PlanPlacementInput{AllianceID: d.sum.id("hengkou-county"), Kind: domain.PlacementPosting,
				Programme: "恒口医共体派一送一", Cohort: "2026 上半年", PractitionerID: down, HostHospitalID: d.sum.id(town),
				HostDepartmentID: "general-practice", Period: period}}); err != nil {
			return err
		}
		if err := d.placement(ctx, placementStory{key: "hengkou-up-" + town, lead: lead, hostBy: lead, arrived: true,
			plan: app.PlanPlacementInput{AllianceID: d.sum.id("hengkou-county"), Kind: domain.PlacementStudy,
				Programme: "恒口医共体派一送一", Cohort: "2026 上半年", PractitionerID: up, HostDepartmentID: "cardiology", Period: period}}); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) placement(ctx context.Context, s placementStory) error {
	out, err := d.run(ctx, s.lead, "placement:"+s.key, func(ctx context.Context, c app.Call) (app.Outcome, error) {
		return d.app.PlanPlacement(ctx, c, s.plan)
	})
	if err != nil {
		return err
	}
	id := out.ID
	d.remember("placement:"+s.key, "", s.plan.Programme, id)
	if s.arrived {
		if _, err := d.run(ctx, s.hostBy, "placement:"+s.key+":arrive", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.RecordPlacementArrival(ctx, c, app.PlacementStepInput{PlacementID: id, At: s.plan.Period.Start})
		}); err != nil {
			return err
		}
	}
	if !s.done.IsZero() {
		if _, err := d.run(ctx, s.hostBy, "placement:"+s.key+":complete", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.CompletePlacement(ctx, c, app.PlacementStepInput{PlacementID: id, At: s.done})
		}); err != nil {
			return err
		}
		if _, err := d.run(ctx, s.hostBy, "placement:"+s.key+":evaluate", func(ctx context.Context, c app.Call) (app.Outcome, error) {
			return d.app.EvaluatePlacement(ctx, c, app.EvaluatePlacementInput{PlacementID: id, Outcome: s.eval,
				Comment: "运用全科思维处理复杂临床问题的能力明显提升", EvaluatedAt: s.done.Add(24 * time.Hour)})
		}); err != nil {
			return err
		}
	}
	return nil
}
