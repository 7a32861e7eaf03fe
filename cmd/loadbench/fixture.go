package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/oklog/ulid/v2"
)

// fixture is the data a benchmark drives: a haematology alliance with one member that
// adopted a long protocol, and the plans handed over to that member.
type fixture struct {
	api                  api
	admin, lead, member  string // bearer tokens
	leadHID, memberHID   string
	allianceID, protocol string
	version              int
	steps                []string // step ids of the protocol version, in order
	mrn                  atomic.Int64
	lastPos              atomic.Uint64
	planMu               sync.Mutex
	plans                []string
	dept                 string
	bin, dataDir         string
	setupWorkers         int
}

// token mints a token for the fixture's server.
func (f *fixture) token(ctx context.Context, hospital, user string, roles ...string) (string, error) {
	return mintToken(ctx, f.bin, f.dataDir, hospital, f.dept, user, roles...)
}

// newFixture registers the hospitals, founds the alliance, admits the member, publishes
// a protocol of nSteps steps and has the member adopt it.
func newFixture(ctx context.Context, a api, bin, dataDir string, nSteps int) (*fixture, error) {
	f := &fixture{api: a, bin: bin, dataDir: dataDir, dept: "hematology", setupWorkers: 32}
	var err error
	platform := ulid.Make().String() // the directory administrator's own id
	if f.admin, err = f.token(ctx, platform, "loadbench-admin", "admin"); err != nil {
		return nil, err
	}
	depts := []map[string]string{{"id": "hematology", "name": "血液科"}}
	lead, err := a.post(ctx, f.admin, "/v1/hospitals", map[string]any{"name": "上海交通大学医学院附属瑞金医院",
		"regionCode": "310101", "level": "tertiary", "departments": depts})
	if err != nil {
		return nil, err
	}
	member, err := a.post(ctx, f.admin, "/v1/hospitals", map[string]any{"name": "安康市中心医院",
		"regionCode": "610902", "level": "tertiary", "departments": depts})
	if err != nil {
		return nil, err
	}
	f.leadHID, f.memberHID = lead.ID, member.ID
	if f.lead, err = f.token(ctx, f.leadHID, "loadbench-lead", "lead"); err != nil {
		return nil, err
	}
	if f.member, err = f.token(ctx, f.memberHID, "loadbench-member", "member"); err != nil {
		return nil, err
	}
	al, err := a.post(ctx, f.lead, "/v1/alliances", map[string]any{"name": "瑞金医院淋巴瘤专科联盟",
		"specialty": "lymphoma", "kind": "specialist"})
	if err != nil {
		return nil, err
	}
	f.allianceID = al.ID
	if _, err := a.post(ctx, f.lead, "/v1/alliances/"+f.allianceID+"/members",
		map[string]any{"hospitalId": f.memberHID, "tier": "member"}); err != nil {
		return nil, err
	}
	p, err := a.post(ctx, f.lead, "/v1/alliances/"+f.allianceID+"/protocols",
		map[string]any{"title": "R-CHOP-21 (loadbench, long course)", "indication": "DLBCL"})
	if err != nil {
		return nil, err
	}
	f.protocol = p.ID
	steps := make([]map[string]any, nSteps)
	for i := range steps {
		id := "s" + strconv.Itoa(i+1)
		f.steps = append(f.steps, id)
		steps[i] = map[string]any{"stepId": id, "dayOffset": i, "activity": "Prednisone day " + strconv.Itoa(i+1),
			"drug": "prednisone", "dose": "100 mg", "route": "oral"}
	}
	if _, err := a.post(ctx, f.lead, "/v1/protocols/"+f.protocol+"/versions",
		map[string]any{"steps": steps, "eligibility": "CD20+ DLBCL, adults"}); err != nil {
		return nil, err
	}
	f.version = 1
	r, err := a.post(ctx, f.member, "/v1/protocols/"+f.protocol+"/adoptions", map[string]any{"version": f.version})
	if err != nil {
		return nil, err
	}
	f.note(r.Position)
	return f, nil
}

// note remembers the highest position a command returned.
func (f *fixture) note(pos uint64) {
	for {
		cur := f.lastPos.Load()
		if pos <= cur || f.lastPos.CompareAndSwap(cur, pos) {
			return
		}
	}
}

// newPlan initiates one plan for a new pseudonymous patient and hands it over to the
// member; it returns the plan's id.
func (f *fixture) newPlan(ctx context.Context) (string, error) {
	mrn := "LB" + strconv.FormatInt(f.mrn.Add(1), 10)
	p, err := f.api.post(ctx, f.lead, "/v1/plans", map[string]any{"allianceId": f.allianceID, "protocolId": f.protocol,
		"version": f.version, "medicalRecordNumber": mrn, "startDate": "2026-11-23T00:00:00Z"})
	if err != nil {
		return "", err
	}
	h, err := f.api.post(ctx, f.lead, "/v1/plans/"+p.ID+"/handover", map[string]any{"toHospitalId": f.memberHID})
	if err != nil {
		return "", err
	}
	f.note(h.Position)
	f.planMu.Lock()
	f.plans = append(f.plans, p.ID)
	f.planMu.Unlock()
	return p.ID, nil
}

// addPlans creates n plans with setupWorkers concurrent clients.
func (f *fixture) addPlans(ctx context.Context, n int) error {
	var next atomic.Int64
	errs := make(chan error, f.setupWorkers)
	var wg sync.WaitGroup
	for range f.setupWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := f.newPlan(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("set up plans: %w", err)
	}
	return nil
}

// waitViews reads one plan with ?minPosition= until the views caught up with every
// command of the setup.
func (f *fixture) waitViews(ctx context.Context) error {
	if len(f.plans) == 0 {
		return nil
	}
	path := "/v1/plans/" + f.plans[len(f.plans)-1] + "?minPosition=" + strconv.FormatUint(f.lastPos.Load(), 10)
	var err error
	for range 50 {
		if err = f.api.do(ctx, f.member, http.MethodGet, path, nil, nil); err == nil {
			return nil
		}
	}
	return fmt.Errorf("views did not catch up: %w", err)
}

// completeStep records one administered step of a plan as the member.
func (f *fixture) completeStep(ctx context.Context, planID, stepID string) error {
	_, err := f.api.post(ctx, f.member, "/v1/plans/"+planID+"/steps/"+stepID+"/complete",
		map[string]any{"administeredDose": "100 mg"})
	return err
}

// readPlan reads one plan's view as the member.
func (f *fixture) readPlan(ctx context.Context, planID string) error {
	return f.api.do(ctx, f.member, http.MethodGet, "/v1/plans/"+planID, nil, nil)
}
