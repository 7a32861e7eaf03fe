package domain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

func TestDecideProtocol(t *testing.T) {
	w := newLymphomaWorld()
	punanActor := domain.Actor{HospitalID: id(2), DepartmentID: "haematology"}
	otherDept := domain.Actor{HospitalID: id(1), DepartmentID: "cardiology"}

	draft := domain.DraftProtocol{ProtocolID: w.protocolID, Alliance: w.alliance(), Title: w.drafted.Title,
		Indication: w.drafted.Indication, By: w.lead, At: w.drafted.DraftedAt}
	withDraft := func(f func(*domain.DraftProtocol)) domain.DraftProtocol { c := draft; f(&c); return c }

	publish := domain.PublishProtocolVersion{ProtocolID: w.protocolID, Steps: rchopSteps(), Eligibility: rchopEligibility,
		ChangeNote: "首版", By: w.lead, At: w.v1.PublishedAt}
	withPublish := func(f func(*domain.PublishProtocolVersion)) domain.PublishProtocolVersion {
		c := publish
		c.Steps = rchopSteps()
		f(&c)
		return c
	}
	withStep := func(i int, f func(*domain.ProtocolStep)) domain.PublishProtocolVersion {
		return withPublish(func(c *domain.PublishProtocolVersion) { f(&c.Steps[i]) })
	}
	// Version 2 caps vincristine at 2 mg in the dose itself rather than in a note.
	v2Steps := rchopSteps()
	v2Steps[3].Dose, v2Steps[3].Notes = "1.4 mg/m2 (max 2 mg)", ""
	at2 := t0.Add(48 * time.Hour)
	publishV2 := withPublish(func(c *domain.PublishProtocolVersion) {
		c.Steps, c.ChangeNote, c.At = v2Steps, "长春新碱剂量上限写入剂量", at2
	})
	v2 := domain.ProtocolVersionPublished{ProtocolID: w.protocolID, AllianceID: w.allianceID, Version: 2, Steps: v2Steps,
		Eligibility: rchopEligibility, ContentHash: domain.ProtocolContentHash(v2Steps, rchopEligibility),
		ChangeNote: "长春新碱剂量上限写入剂量", PublishedAt: at2}
	v1Withdrawn := domain.ProtocolVersionWithdrawn{ProtocolID: w.protocolID, AllianceID: w.allianceID, Version: 1,
		Reason: "长春新碱剂量说明易致超量", WithdrawnAt: at2}
	retired := domain.ProtocolRetired{ProtocolID: w.protocolID, AllianceID: w.allianceID, Reason: "由 Pola-R-CHP 方案取代", RetiredAt: at2}
	drafted := []domain.Event{w.drafted}
	published := []domain.Event{w.drafted, w.v1}

	withdraw := domain.WithdrawProtocolVersion{ProtocolID: w.protocolID, Version: 1, Reason: v1Withdrawn.Reason, By: w.lead, At: at2}
	withWithdraw := func(f func(*domain.WithdrawProtocolVersion)) domain.WithdrawProtocolVersion {
		c := withdraw
		f(&c)
		return c
	}
	retire := domain.RetireProtocol{ProtocolID: w.protocolID, Reason: retired.Reason, By: w.lead, At: at2}
	withRetire := func(f func(*domain.RetireProtocol)) domain.RetireProtocol { c := retire; f(&c); return c }

	tooMany := make([]domain.ProtocolStep, 201)
	for i := range tooMany {
		tooMany[i] = domain.ProtocolStep{StepID: "s" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + string(rune('a'+i/26)), DayOffset: 0, Activity: "观察"}
	}

	runSpecs(t, domain.DecideProtocol, []spec[domain.ProtocolCommand]{
		{name: "draft", when: draft, want: []domain.Event{w.drafted}},
		{name: "draft twice", given: drafted, when: draft, wantCode: domain.CodeAlreadyExists},
		{name: "draft with a bad id", when: withDraft(func(c *domain.DraftProtocol) { c.ProtocolID = "R-CHOP" }), wantCode: domain.CodeInvalidInput},
		{name: "draft without a title", when: withDraft(func(c *domain.DraftProtocol) { c.Title = "" }), wantCode: domain.CodeInvalidInput},
		{name: "draft with a title too long", when: withDraft(func(c *domain.DraftProtocol) { c.Title = strings.Repeat("方", 201) }), wantCode: domain.CodeInvalidInput},
		{name: "draft without an indication", when: withDraft(func(c *domain.DraftProtocol) { c.Indication = " " }), wantCode: domain.CodeInvalidInput},
		{name: "draft without a time", when: withDraft(func(c *domain.DraftProtocol) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "draft in an unknown alliance", when: withDraft(func(c *domain.DraftProtocol) { c.Alliance = domain.Alliance{} }), wantCode: domain.CodeNotFound},
		{name: "draft by a member", when: withDraft(func(c *domain.DraftProtocol) { c.By = punanActor }), wantCode: domain.CodeForbidden},
		{name: "draft by another department of the lead hospital", when: withDraft(func(c *domain.DraftProtocol) { c.By = otherDept }), wantCode: domain.CodeForbidden},

		{name: "publish version 1", given: drafted, when: publish, want: []domain.Event{w.v1}},
		{name: "publish version 2", given: published, when: publishV2, want: []domain.Event{v2}},
		{name: "publish the latest content again", given: published, when: publish, wantCode: domain.CodeAlreadyExists},
		{name: "publish an earlier content again (rollback)", given: []domain.Event{w.drafted, w.v1, v2},
			when: withPublish(func(c *domain.PublishProtocolVersion) { c.At = at2.Add(time.Hour) }),
			want: []domain.Event{domain.ProtocolVersionPublished{ProtocolID: w.protocolID, AllianceID: w.allianceID, Version: 3,
				Steps: rchopSteps(), Eligibility: rchopEligibility, ContentHash: w.v1.ContentHash, ChangeNote: "首版", PublishedAt: at2.Add(time.Hour)}}},
		{name: "publish content withdrawn for safety", given: []domain.Event{w.drafted, w.v1, v2, v1Withdrawn}, when: publish, wantCode: domain.CodeForbiddenTransition},
		{name: "publish the latest content after it was withdrawn", given: []domain.Event{w.drafted, w.v1, v1Withdrawn}, when: publish, wantCode: domain.CodeForbiddenTransition},
		{name: "publish to an unknown protocol", when: publish, wantCode: domain.CodeNotFound},
		{name: "publish with a bad protocol id", given: drafted, when: withPublish(func(c *domain.PublishProtocolVersion) { c.ProtocolID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "publish without a time", given: drafted, when: withPublish(func(c *domain.PublishProtocolVersion) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "publish by a member", given: drafted, when: withPublish(func(c *domain.PublishProtocolVersion) { c.By = punanActor }), wantCode: domain.CodeForbidden},
		{name: "publish by another department of the lead hospital", given: drafted, when: withPublish(func(c *domain.PublishProtocolVersion) { c.By = otherDept }), wantCode: domain.CodeForbidden},
		{name: "publish to a retired protocol", given: []domain.Event{w.drafted, w.v1, retired}, when: publishV2, wantCode: domain.CodeForbiddenTransition},
		{name: "publish without steps", given: drafted, when: withPublish(func(c *domain.PublishProtocolVersion) { c.Steps = nil }), wantCode: domain.CodeInvalidInput},
		{name: "publish too many steps", given: drafted, when: withPublish(func(c *domain.PublishProtocolVersion) { c.Steps = tooMany }), wantCode: domain.CodeInvalidInput},
		{name: "step without an id", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.StepID = "" }), wantCode: domain.CodeInvalidInput},
		{name: "step id not URL-safe", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.StepID = "利妥昔单抗 d0" }), wantCode: domain.CodeInvalidInput},
		{name: "step id too long", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.StepID = strings.Repeat("r", 65) }), wantCode: domain.CodeInvalidInput},
		{name: "step id used twice", given: drafted, when: withStep(1, func(s *domain.ProtocolStep) { s.StepID = "rituximab" }), wantCode: domain.CodeInvalidInput},
		{name: "negative day offset", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.DayOffset = -1 }), wantCode: domain.CodeInvalidInput},
		{name: "day offset beyond ten years", given: drafted, when: withStep(9, func(s *domain.ProtocolStep) { s.DayOffset = 3651 }), wantCode: domain.CodeInvalidInput},
		{name: "steps out of schedule order", given: drafted, when: withStep(3, func(s *domain.ProtocolStep) { s.DayOffset = 1 }), wantCode: domain.CodeInvalidInput},
		{name: "step without an activity", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.Activity = "" }), wantCode: domain.CodeInvalidInput},
		{name: "drug without a dose", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.Dose = "" }), wantCode: domain.CodeInvalidInput},
		{name: "drug without a route", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.Route = "" }), wantCode: domain.CodeInvalidInput},
		{name: "unknown route", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.Route = "ivgtt" }), wantCode: domain.CodeInvalidInput},
		{name: "dose without a drug", given: drafted, when: withStep(9, func(s *domain.ProtocolStep) { s.Dose = "5 ml" }), wantCode: domain.CodeInvalidInput},
		{name: "route without a drug", given: drafted, when: withStep(9, func(s *domain.ProtocolStep) { s.Route = domain.RouteIV }), wantCode: domain.CodeInvalidInput},
		{name: "drug name too long", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.Drug = strings.Repeat("药", 201) }), wantCode: domain.CodeInvalidInput},
		{name: "notes too long", given: drafted, when: withStep(0, func(s *domain.ProtocolStep) { s.Notes = strings.Repeat("注", 1001) }), wantCode: domain.CodeInvalidInput},
		{name: "publish without eligibility", given: drafted, when: withPublish(func(c *domain.PublishProtocolVersion) { c.Eligibility = "" }), wantCode: domain.CodeInvalidInput},
		{name: "eligibility too long", given: drafted, when: withPublish(func(c *domain.PublishProtocolVersion) { c.Eligibility = strings.Repeat("适", 4001) }), wantCode: domain.CodeInvalidInput},
		{name: "change note too long", given: drafted, when: withPublish(func(c *domain.PublishProtocolVersion) { c.ChangeNote = strings.Repeat("变", 1001) }), wantCode: domain.CodeInvalidInput},

		{name: "withdraw a version", given: published, when: withdraw, want: []domain.Event{v1Withdrawn}},
		{name: "withdraw a version of a retired protocol", given: []domain.Event{w.drafted, w.v1, retired}, when: withdraw, want: []domain.Event{v1Withdrawn}},
		{name: "withdraw a withdrawn version", given: []domain.Event{w.drafted, w.v1, v1Withdrawn}, when: withdraw, wantCode: domain.CodeForbiddenTransition},
		{name: "withdraw version 0", given: published, when: withWithdraw(func(c *domain.WithdrawProtocolVersion) { c.Version = 0 }), wantCode: domain.CodeNotFound},
		{name: "withdraw a version not yet published", given: published, when: withWithdraw(func(c *domain.WithdrawProtocolVersion) { c.Version = 2 }), wantCode: domain.CodeNotFound},
		{name: "withdraw without a reason", given: published, when: withWithdraw(func(c *domain.WithdrawProtocolVersion) { c.Reason = "" }), wantCode: domain.CodeInvalidInput},
		{name: "withdraw without a time", given: published, when: withWithdraw(func(c *domain.WithdrawProtocolVersion) { c.At = time.Time{} }), wantCode: domain.CodeInvalidInput},
		{name: "withdraw by a member", given: published, when: withWithdraw(func(c *domain.WithdrawProtocolVersion) { c.By = punanActor }), wantCode: domain.CodeForbidden},
		{name: "withdraw in an unknown protocol", when: withdraw, wantCode: domain.CodeNotFound},

		{name: "retire", given: published, when: retire, want: []domain.Event{retired}},
		{name: "retire a protocol never published", given: drafted, when: retire, want: []domain.Event{retired}},
		{name: "retire twice", given: []domain.Event{w.drafted, w.v1, retired}, when: retire, wantCode: domain.CodeForbiddenTransition},
		{name: "retire without a reason", given: published, when: withRetire(func(c *domain.RetireProtocol) { c.Reason = " " }), wantCode: domain.CodeInvalidInput},
		{name: "retire by a member", given: published, when: withRetire(func(c *domain.RetireProtocol) { c.By = punanActor }), wantCode: domain.CodeForbidden},
		{name: "retire an unknown protocol", when: retire, wantCode: domain.CodeNotFound},
		{name: "retire with a bad protocol id", given: published, when: withRetire(func(c *domain.RetireProtocol) { c.ProtocolID = "x" }), wantCode: domain.CodeInvalidInput},
		{name: "nil command", given: published, when: nil, wantCode: domain.CodeInvalidInput},
	})
}

func TestProtocolVersions(t *testing.T) {
	w := newLymphomaWorld()
	at2 := t0.Add(48 * time.Hour)
	v2Steps := rchopSteps()[:9]
	v2 := domain.ProtocolVersionPublished{ProtocolID: w.protocolID, AllianceID: w.allianceID, Version: 2, Steps: v2Steps,
		Eligibility: rchopEligibility, ContentHash: domain.ProtocolContentHash(v2Steps, rchopEligibility), PublishedAt: at2}
	v2Withdrawn := domain.ProtocolVersionWithdrawn{ProtocolID: w.protocolID, AllianceID: w.allianceID, Version: 2, Reason: "漏列血常规复查", WithdrawnAt: at2.Add(time.Hour)}
	retired := domain.ProtocolRetired{ProtocolID: w.protocolID, AllianceID: w.allianceID, Reason: "由新方案取代", RetiredAt: at2}

	p := w.protocol(v2, v2Withdrawn)
	if v, ok := p.Version(2); !ok || v.Status != domain.VersionStatusWithdrawn || v.WithdrawnReason != "漏列血常规复查" || !v.WithdrawnAt.Equal(at2.Add(time.Hour)) {
		t.Errorf("Version(2) = %+v, %v; want withdrawn with its reason", v, ok)
	}
	if v, ok := p.Version(1); !ok || v.Number != 1 || v.Status != domain.VersionStatusPublished || len(v.Steps) != 10 || v.ContentHash != w.v1.ContentHash {
		t.Errorf("Version(1) = %+v, %v; want published version 1", v, ok)
	}
	for _, n := range []int{0, 3, -1} {
		if _, ok := p.Version(n); ok {
			t.Errorf("Version(%d) found a version that was never published", n)
		}
	}
	if v, ok := p.LatestPublished(); !ok || v.Number != 1 {
		t.Errorf("LatestPublished() = %d, %v; want version 1 (2 is withdrawn)", v.Number, ok)
	}
	if _, ok := w.protocol(domain.ProtocolVersionWithdrawn{Version: 1}).LatestPublished(); ok {
		t.Errorf("LatestPublished() found a version when all are withdrawn")
	}
	if step, ok := mustVersion(t, p, 1).Step("doxorubicin"); !ok || step.Dose != "50 mg/m2" {
		t.Errorf("Step(doxorubicin) = %+v, %v", step, ok)
	}

	for _, tc := range []struct {
		name     string
		p        domain.Protocol
		n        int
		wantCode domain.Code
		wantText string
	}{
		{"published", p, 1, "", ""},
		{"no protocol", domain.Protocol{}, 1, domain.CodeNotFound, "does not exist"},
		{"no such version", p, 3, domain.CodeNotFound, "no version 3"},
		{"withdrawn", p, 2, domain.CodeForbiddenTransition, "漏列血常规复查"},
		{"retired", w.protocol(retired), 1, domain.CodeForbiddenTransition, "retired"},
	} {
		t.Run("require published/"+tc.name, func(t *testing.T) {
			v, err := tc.p.RequirePublished(tc.n)
			if code := domain.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("RequirePublished(%d) = %v (code %q), want code %q", tc.n, err, code, tc.wantCode)
			}
			if err != nil && !strings.Contains(domain.ErrorMessage(err), tc.wantText) {
				t.Errorf("message %q does not say %q", domain.ErrorMessage(err), tc.wantText)
			}
			if err == nil && v.Number != tc.n {
				t.Errorf("got version %d, want %d", v.Number, tc.n)
			}
		})
	}

	t.Run("evolve does not change earlier states", func(t *testing.T) {
		before := w.protocol()
		_ = before.Evolve(domain.ProtocolVersionWithdrawn{Version: 1, Reason: "x"})
		if v, _ := before.Version(1); v.Status != domain.VersionStatusPublished {
			t.Errorf("withdrawing changed the earlier state: status %q", v.Status)
		}
	})
}

func mustVersion(t *testing.T, p domain.Protocol, n int) domain.ProtocolVersion {
	t.Helper()
	v, ok := p.Version(n)
	if !ok {
		t.Fatalf("protocol has no version %d", n)
	}
	return v
}

func TestProtocolContentHash(t *testing.T) {
	steps := []domain.ProtocolStep{{StepID: "rituximab", DayOffset: 0, Activity: "静脉输注", Drug: "rituximab", Dose: "375 mg/m2", Route: "iv"}}
	canonical := `{"steps":[{"stepId":"rituximab","dayOffset":0,"activity":"静脉输注","drug":"rituximab","dose":"375 mg/m2","route":"iv"}],"eligibility":"CD20+"}`
	sum := sha256.Sum256([]byte(canonical))
	if got, want := domain.ProtocolContentHash(steps, "CD20+"), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("ProtocolContentHash = %s, want the SHA-256 of %s = %s", got, canonical, want)
	}
	base := domain.ProtocolContentHash(rchopSteps(), rchopEligibility)
	changes := map[string]func(s []domain.ProtocolStep) ([]domain.ProtocolStep, string){
		"dose": func(s []domain.ProtocolStep) ([]domain.ProtocolStep, string) {
			s[0].Dose = "375mg/m2"
			return s, rchopEligibility
		},
		"notes": func(s []domain.ProtocolStep) ([]domain.ProtocolStep, string) {
			s[0].Notes = ""
			return s, rchopEligibility
		},
		"day": func(s []domain.ProtocolStep) ([]domain.ProtocolStep, string) {
			s[9].DayOffset = 11
			return s, rchopEligibility
		},
		"order": func(s []domain.ProtocolStep) ([]domain.ProtocolStep, string) {
			s[0], s[1] = s[1], s[0]
			return s, rchopEligibility
		},
		"eligibility": func(s []domain.ProtocolStep) ([]domain.ProtocolStep, string) { return s, rchopEligibility + " " },
	}
	for name, change := range changes {
		if got := domain.ProtocolContentHash(change(rchopSteps())); got == base {
			t.Errorf("changing the %s left the content hash unchanged", name)
		}
	}
	if none, empty := domain.ProtocolContentHash(nil, "e"), domain.ProtocolContentHash([]domain.ProtocolStep{}, "e"); none != empty {
		t.Errorf("nil and empty steps hash differently: %s and %s", none, empty)
	}
	if again := domain.ProtocolContentHash(rchopSteps(), rchopEligibility); again != base {
		t.Errorf("the content hash of the same content differs: %s and %s", base, again)
	}
}
