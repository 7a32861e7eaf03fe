package domain_test

import (
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// safetyWorld extends the plan world with a protocol whose version 2 is a safety
// revision of version 1: it drops prednisone on days 3 and 4, lowers cyclophosphamide,
// gives day-0 prednisone by a different route and adds G-CSF on day 2. Version 1 is
// withdrawn. 浦南 holds the plan in some specs; its adoption is on version 1 or 2.
type safetyWorld struct {
	planWorld
	safeProtocol   domain.Protocol
	v2Safe         domain.ProtocolVersion
	punanOnV2      domain.Adoption
	punanV2Deviate domain.LocalDeviation
}

func newSafetyWorld() safetyWorld {
	w := safetyWorld{planWorld: newPlanWorld()}
	v1 := planRCHOP("")
	var v2 []domain.ProtocolStep
	for _, s := range v1 {
		switch s.StepID {
		case "d3-prednisone", "d4-prednisone":
			continue
		case "d0-cyclophosphamide":
			s.Dose = "600 mg/m2"
		case "d0-prednisone":
			s.Route = domain.RouteIV
		}
		v2 = append(v2, s)
		if s.StepID == "d2-prednisone" {
			v2 = append(v2, domain.ProtocolStep{StepID: "d2-pegfilgrastim", DayOffset: 2, Activity: "primary G-CSF prophylaxis",
				Drug: "pegfilgrastim", Dose: "6 mg", Route: domain.RouteSC})
		}
	}
	evs := []domain.Event{
		domain.ProtocolDrafted{ProtocolID: id(20), AllianceID: id(10), Title: "弥漫大B细胞淋巴瘤 R-CHOP-21", Indication: "DLBCL",
			LeadHospitalID: id(1), LeadDepartmentID: "haematology", DraftedAt: t0},
		domain.ProtocolVersionPublished{ProtocolID: id(20), AllianceID: id(10), Version: 1, Steps: v1,
			ContentHash: domain.ProtocolContentHash(v1, ""), PublishedAt: t0},
		domain.ProtocolVersionPublished{ProtocolID: id(20), AllianceID: id(10), Version: 2, Steps: v2,
			ContentHash: domain.ProtocolContentHash(v2, ""), ChangeNote: "shorter steroid course", PublishedAt: t0.Add(24 * time.Hour)},
		domain.ProtocolVersionWithdrawn{ProtocolID: id(20), AllianceID: id(10), Version: 1, Reason: "steroid course too long", WithdrawnAt: t0.Add(48 * time.Hour)},
	}
	for _, e := range evs {
		w.safeProtocol = w.safeProtocol.Evolve(e)
	}
	w.v2Safe, _ = w.safeProtocol.Version(2)
	w.punanV2Deviate = domain.LocalDeviation{StepID: "d2-pegfilgrastim", Kind: domain.DeviationDrugSubstitution,
		Description: "formulary carries filgrastim only", Substitute: "filgrastim daily", DeclaredAt: t0.Add(30 * time.Hour)}
	for _, e := range []domain.Event{
		domain.ProtocolAdopted{ProtocolID: id(20), AllianceID: id(10), HospitalID: id(2), Version: 1, ContentHash: w.v1.ContentHash, AdoptedAt: t0},
		domain.AdoptionUpgraded{ProtocolID: id(20), AllianceID: id(10), HospitalID: id(2), FromVersion: 1, ToVersion: 2,
			ContentHash: w.v2Safe.ContentHash, UpgradedAt: t0.Add(30 * time.Hour)},
		domain.AdoptionDeviationDeclared{ProtocolID: id(20), AllianceID: id(10), HospitalID: id(2), Version: 2, Deviation: w.punanV2Deviate},
	} {
		w.punanOnV2 = w.punanOnV2.Evolve(e)
	}
	return w
}

// TestDecidePlanReviseOntoVersion covers the safe move onto a newer version: the
// responsible member's adoption, the new version's steps, history kept, the lead's
// changes on top, the flag, and the member's deviations re-read.
func TestDecidePlanReviseOntoVersion(t *testing.T) {
	w := newSafetyWorld()
	at := t0.Add(50 * time.Hour)
	move := domain.RevisePlan{PlanID: id(30), Reason: "version 1 withdrawn: move to version 2", Version: 2,
		Protocol: w.safeProtocol, By: w.lead, At: at}
	with := func(f func(*domain.RevisePlan)) domain.RevisePlan { c := move; f(&c); return c }
	v2Step := func(stepID string) domain.ProtocolStep { s, _ := w.v2Safe.Step(stepID); return s }
	modify := func(stepID string) domain.PlanStepChange {
		return stepsAsChanges([]domain.ProtocolStep{v2Step(stepID)}, 2)[0]
	}
	cancel := func(stepID string) domain.PlanStepChange {
		return domain.PlanStepChange{Action: domain.PlanChangeCancel, StepID: stepID}
	}
	addGCSF := modify("d2-pegfilgrastim")
	addGCSF.Action = domain.PlanChangeAdd
	// Every pending v1 step becomes v2's (in plan order), the two dropped steps are
	// cancelled, and G-CSF is added.
	allOfV2 := []domain.PlanStepChange{modify("d0-rituximab"), modify("d0-cyclophosphamide"), modify("d0-doxorubicin"),
		modify("d0-vincristine"), modify("d0-prednisone"), modify("d1-prednisone"), modify("d2-prednisone"),
		cancel("d3-prednisone"), cancel("d4-prednisone"), addGCSF}
	moved := domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: move.Reason, FromVersion: 1, ToVersion: 2,
		ContentHash: w.v2Safe.ContentHash, VersionChanges: allOfV2, FlagCleared: true, At: at}
	notFlagged := moved
	notFlagged.FlagCleared = false

	cycloDone := planStepCompleted(w.lead, "d0-cyclophosphamide", t0.Add(4*time.Hour))
	d4Skipped := domain.PlanStepSkipped{PlanID: id(30), StepID: "d4-prednisone", HospitalID: id(1), DepartmentID: "haematology",
		UserID: "dr-zhao", Reason: "hyperglycaemia", At: t0.Add(5 * time.Hour)}
	withoutSteps := func(changes []domain.PlanStepChange, ids ...string) []domain.PlanStepChange {
		var out []domain.PlanStepChange
		for _, c := range changes {
			keep := true
			for _, id := range ids {
				keep = keep && c.StepID != id
			}
			if keep {
				out = append(out, c)
			}
		}
		return out
	}
	// the lead had halved doxorubicin (v2 left it as v1 had it) and changed
	// cyclophosphamide (v2 changed it): the first adjustment stays, the second gives way.
	doxoHalf := domain.PlanStepChange{Action: domain.PlanChangeModify, StepID: "d0-doxorubicin", Activity: "doxorubicin infusion",
		Drug: "doxorubicin", Dose: "25 mg/m2", Route: domain.RouteIV, Notes: "halved: LVEF 45%"}
	cycloLead := domain.PlanStepChange{Action: domain.PlanChangeModify, StepID: "d0-cyclophosphamide", Activity: "cyclophosphamide infusion",
		Drug: "cyclophosphamide", Dose: "700 mg/m2", Route: domain.RouteIV}
	leadAdjusted := domain.PlanRevised{PlanID: id(30), Revision: 1, Reason: "frail patient", FromVersion: 1, ToVersion: 1,
		ContentHash: w.v1.ContentHash, Changes: []domain.PlanStepChange{doxoHalf, cycloLead}, At: t0.Add(3 * time.Hour)}
	afterAdjusted := moved
	afterAdjusted.Revision, afterAdjusted.FlagCleared = 2, false
	afterAdjusted.VersionChanges = withoutSteps(allOfV2, "d0-doxorubicin")
	// the lead's own change on top of the new version's steps
	cycloOnTop := domain.PlanStepChange{Action: domain.PlanChangeModify, StepID: "d0-cyclophosphamide", Activity: "cyclophosphamide infusion",
		Drug: "cyclophosphamide", Dose: "500 mg/m2", Route: domain.RouteIV, Notes: "renal function"}
	onTop := moved
	onTop.Changes = []domain.PlanStepChange{cycloOnTop}
	// 浦南 holds the plan: its adoption must be an active one of version 2
	heldMove := with(func(c *domain.RevisePlan) { c.Adoption = w.punanOnV2 })
	heldMoved := notFlagged
	heldMoved.LocalDeviationsVersion, heldMoved.LocalDeviations = 2, []domain.LocalDeviation{w.punanV2Deviate}

	runSpecs(t, domain.DecidePlan, []spec[domain.PlanCommand]{
		{name: "move brings the new version's steps and clears the flag", given: planGiven(w.initiated, w.flagged), when: move, want: planGiven(moved)},
		{name: "move without a flag", given: planGiven(w.initiated), when: move, want: planGiven(notFlagged)},
		{name: "completed and skipped steps stay as history", given: planGiven(w.initiated, cycloDone, d4Skipped), when: move,
			want: planGiven(func() domain.PlanRevised {
				r := notFlagged
				r.VersionChanges = withoutSteps(allOfV2, "d0-cyclophosphamide", "d4-prednisone")
				return r
			}())},
		{name: "the lead's adjustment stays where the new version left the step unchanged",
			given: planGiven(w.initiated, leadAdjusted), when: move, want: planGiven(afterAdjusted)},
		{name: "the lead adds plan-specific changes on top", given: planGiven(w.initiated, w.flagged),
			when: with(func(c *domain.RevisePlan) { c.Changes = []domain.PlanStepChange{cycloOnTop} }), want: planGiven(onTop)},
		{name: "the lead's changes are checked against the new version's steps", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) {
				c.Changes = []domain.PlanStepChange{{Action: domain.PlanChangeAdd, StepID: "d2-pegfilgrastim", DayOffset: 2,
					Activity: "G-CSF", Drug: "pegfilgrastim", Dose: "6 mg", Route: domain.RouteSC}}
			}), wantCode: domain.CodeAlreadyExists},
		{name: "a step the new version removed cannot be changed on top", given: planGiven(w.initiated),
			when: with(func(c *domain.RevisePlan) {
				c.Changes = []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d4-prednisone"}}
			}), wantCode: domain.CodeForbiddenTransition},
		{name: "the lead's changes carry no version", given: planGiven(w.initiated),
			when:     with(func(c *domain.RevisePlan) { ch := cycloOnTop; ch.Version = 2; c.Changes = []domain.PlanStepChange{ch} }),
			wantCode: domain.CodeInvalidInput},
		{name: "member holding the plan adopted the new version: its deviations are re-read",
			given: planGiven(w.initiated, w.handedOver), when: heldMove, want: planGiven(heldMoved)},
		{name: "member holding the plan has not adopted the new version", given: planGiven(w.initiated, w.handedOver),
			when: with(func(c *domain.RevisePlan) { c.Adoption = w.punanAdoption }), wantCode: domain.CodeForbiddenTransition},
		{name: "member holding the plan has no adoption", given: planGiven(w.initiated, w.handedOver),
			when: move, wantCode: domain.CodeForbiddenTransition},
		{name: "member holding the plan withdrew its adoption", given: planGiven(w.initiated, w.handedOver),
			when: with(func(c *domain.RevisePlan) { c.Adoption = w.withdrawnAdoption }), wantCode: domain.CodeForbiddenTransition},
		{name: "another hospital's adoption", given: planGiven(w.initiated, w.handedOver),
			when: with(func(c *domain.RevisePlan) { c.Adoption = w.dachangAdoption }), wantCode: domain.CodeInvalidInput},
		{name: "after an escalation the lead holds the plan again and needs no adoption",
			given: planGiven(w.initiated, w.handedOver, w.escalated), when: move, want: planGiven(notFlagged)},
	})
}

// TestPlanAfterSafeMove checks the state a move leaves: the removed step cannot be
// recorded (the unsafe gap), the added one can, doses are the new version's,
// the flag is cleared and no pending step comes from the withdrawn version.
func TestPlanAfterSafeMove(t *testing.T) {
	w := newSafetyWorld()
	at := t0.Add(50 * time.Hour)
	events, err := domain.DecidePlan(planFold(w.initiated, w.flagged), domain.RevisePlan{PlanID: id(30), Reason: "move",
		Version: 2, Protocol: w.safeProtocol, By: w.lead, At: at})
	if err != nil {
		t.Fatal(err)
	}
	p := planFold(append([]domain.Event{w.initiated, w.flagged}, events...)...)
	if p.Flagged() || p.ProtocolVersion != 2 {
		t.Fatalf("flagged %v on version %d, want unflagged on 2", p.Flagged(), p.ProtocolVersion)
	}
	for _, s := range p.Steps {
		if s.Status == domain.StepStatusPending && s.Version != 2 {
			t.Errorf("pending step %s comes from version %d", s.StepID, s.Version)
		}
	}
	if s, _ := p.Step("d0-cyclophosphamide"); s.Dose != "600 mg/m2" {
		t.Errorf("cyclophosphamide dose %q, want version 2's 600 mg/m2", s.Dose)
	}
	if s, _ := p.Step("d0-prednisone"); s.Route != domain.RouteIV {
		t.Errorf("prednisone route %q, want version 2's iv", s.Route)
	}
	if s, ok := p.Step("d2-pegfilgrastim"); !ok || s.Status != domain.StepStatusPending || !s.DueDate.Equal(w.day0.AddDate(0, 0, 2)) {
		t.Errorf("added step %+v", s)
	}
	_, err = domain.DecidePlan(p, domain.CompletePlanStep{PlanID: id(30), StepID: "d4-prednisone", By: w.lead, At: at.Add(time.Hour)})
	if domain.ErrorCode(err) != domain.CodeForbiddenTransition {
		t.Errorf("recording the step version 2 removed: %v, want forbidden_transition", err)
	}
	if _, err := domain.DecidePlan(p, domain.CompletePlanStep{PlanID: id(30), StepID: "d2-pegfilgrastim", By: w.lead, At: at.Add(time.Hour)}); err != nil {
		t.Errorf("recording the step version 2 added: %v", err)
	}
}

// TestPlanFlagStaysWhileAWithdrawnStepIsPending: a revision that stays on the withdrawn
// version keeps the flag even when it cancels steps.
func TestPlanFlagStaysWhileAWithdrawnStepIsPending(t *testing.T) {
	w := newSafetyWorld()
	events, err := domain.DecidePlan(planFold(w.initiated, w.flagged), domain.RevisePlan{PlanID: id(30), Reason: "stop steroids now",
		Changes: []domain.PlanStepChange{{Action: domain.PlanChangeCancel, StepID: "d4-prednisone"}}, By: w.lead, At: t0.Add(50 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r := events[0].(domain.PlanRevised); r.FlagCleared {
		t.Fatalf("flag cleared while version 1's steps are pending: %+v", r)
	}
}
