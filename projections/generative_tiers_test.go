package projections_test

import (
	"github.com/medalliance/allianced/domain"
)

// Three tiers in the generative walk: a member of the first alliance leads an alliance
// of its own, whose members adopt the first alliance's protocol through it, and a plan
// is handed over to the middle tier and on to one of its members; the random part hands
// plans on, adopts through random alliances and escalates one link up.

// tierSetup builds, with plausible values, one three-tier chain (refusals are fine: the
// walk only fails on events that cannot be stored or projected).
func (w *walk) tierSetup() error {
	if len(w.plans) == 0 || len(w.alliances) == 0 {
		return nil
	}
	plan := load[domain.Plan](w, domain.PlanStream(w.plans[0]))
	top := load[domain.Alliance](w, domain.AllianceStream(plan.AllianceID))
	active := top.ActiveMembers()
	if len(active) == 0 {
		return nil
	}
	middle := load[domain.Hospital](w, domain.HospitalStream(active[0].HospitalID))
	id := w.createID(w.alliances)
	found := domain.FoundAlliance{AllianceID: id, Name: w.text(), Specialty: w.text(), Kind: domain.AllianceCity, Lead: middle,
		LeadDepartmentID: "d1", By: domain.Actor{HospitalID: middle.ID, DepartmentID: "d1"}, At: w.at()}
	if ok, err := handle(w, domain.AllianceStream(id), found.By, found.At, "FoundAlliance (middle tier) "+id,
		func(a domain.Alliance) ([]domain.Event, error) { return domain.DecideAlliance(a, found) }); err != nil || !ok {
		return err
	}
	w.alliances = append(w.alliances, id)
	var centres []string
	for range 2 {
		if err := w.registerHospital(); err != nil {
			return err
		}
		h := load[domain.Hospital](w, domain.HospitalStream(w.hospitals[len(w.hospitals)-1]))
		via := load[domain.Alliance](w, domain.AllianceStream(id))
		admit := domain.AdmitMember{AllianceID: id, Hospital: h, Tier: domain.TierCommunity, By: lead(via), At: w.at()}
		if _, err := handle(w, domain.AllianceStream(id), admit.By, admit.At, "AdmitMember (community)",
			func(s domain.Alliance) ([]domain.Event, error) { return domain.DecideAlliance(s, admit) }); err != nil {
			return err
		}
		centres = append(centres, h.ID)
	}
	proto := load[domain.Protocol](w, domain.ProtocolStream(plan.ProtocolID))
	by := domain.Actor{HospitalID: middle.ID, DepartmentID: "d1"}
	adopt := domain.AdoptProtocol{Alliance: top, Protocol: proto, HospitalID: middle.ID, Version: plan.ProtocolVersion, By: by, At: w.at()}
	if ok, err := handle(w, domain.AdoptionStream(proto.ID, middle.ID), by, adopt.At, "AdoptProtocol (middle tier)",
		func(s domain.Adoption) ([]domain.Event, error) { return domain.DecideAdoption(s, adopt) }); err != nil {
		return err
	} else if ok {
		w.adoptions = append(w.adoptions, [2]string{proto.ID, middle.ID})
	}
	for _, c := range centres {
		if err := w.adoptThrough(proto, top, load[domain.Alliance](w, domain.AllianceStream(id)), c, plan.ProtocolVersion); err != nil {
			return err
		}
	}
	at := w.at()
	ad := load[domain.Adoption](w, domain.AdoptionStream(plan.ProtocolID, middle.ID))
	if err := w.planCmd(plan, planLead(plan), at, "HandOverPlan (middle tier)", domain.HandOverPlan{PlanID: plan.ID, ToHospitalID: middle.ID,
		Alliance: top, Adoption: ad, By: planLead(plan), At: at}); err != nil {
		return err
	}
	plan = load[domain.Plan](w, domain.PlanStream(plan.ID))
	at = w.at()
	via := load[domain.Alliance](w, domain.AllianceStream(id))
	return w.planCmd(plan, by, at, "HandOnPlan (setup)", domain.HandOnPlan{PlanID: plan.ID, ToHospitalID: centres[0], Via: via,
		HeldThrough: top, Adoption: load[domain.Adoption](w, domain.AdoptionStream(plan.ProtocolID, centres[0])), By: by, At: at})
}

// adoptThrough adopts a protocol for hospital through the alliance via.
func (w *walk) adoptThrough(p domain.Protocol, al, via domain.Alliance, hospital string, version int) error {
	by := domain.Actor{HospitalID: hospital, DepartmentID: "d1"}
	cmd := domain.AdoptProtocol{Alliance: al, Protocol: p, HospitalID: hospital, Version: version, Via: via,
		ViaLeadAdoption: load[domain.Adoption](w, domain.AdoptionStream(p.ID, via.LeadHospitalID)), By: by, At: w.at()}
	ok, err := handle(w, domain.AdoptionStream(p.ID, hospital), by, cmd.At, "AdoptProtocol (through "+via.ID+")",
		func(s domain.Adoption) ([]domain.Event, error) { return domain.DecideAdoption(s, cmd) })
	if ok {
		w.adoptions = append(w.adoptions, [2]string{p.ID, hospital})
	}
	return err
}

// adoptVia adopts a random protocol through a random alliance for one of its members.
func (w *walk) adoptVia() error {
	p, al, _ := w.protocolContext()
	via := w.alliance()
	return w.adoptThrough(p, al, via, w.member(via).HospitalID, w.version(p))
}

// route returns the alliance and the middle tier's adoption an adoption was made
// through; zero for a direct one.
func (w *walk) route(ad domain.Adoption) (domain.Alliance, domain.Adoption) {
	if ad.ViaAllianceID == "" {
		return domain.Alliance{}, domain.Adoption{}
	}
	via := load[domain.Alliance](w, domain.AllianceStream(ad.ViaAllianceID))
	return via, load[domain.Adoption](w, domain.AdoptionStream(ad.ProtocolID, via.LeadHospitalID))
}

// handOn hands a random plan on from its holder through an alliance the holder leads
// (usually), to one of that alliance's members.
func (w *walk) handOn() error {
	p := w.plan()
	via := w.alliance()
	for _, id := range w.alliances {
		if a := load[domain.Alliance](w, domain.AllianceStream(id)); a.LeadHospitalID == p.ResponsibleHospital && w.r.Intn(4) != 0 {
			via = a
			break
		}
	}
	to := w.member(via).HospitalID
	by := domain.Actor{HospitalID: p.ResponsibleHospital, DepartmentID: "d1", UserID: "u-middle"}
	if w.r.Intn(8) == 0 {
		by = planLead(p)
	}
	at := w.at()
	return w.planCmd(p, by, at, "HandOnPlan", domain.HandOnPlan{PlanID: p.ID, ToHospitalID: to, Via: via,
		HeldThrough: load[domain.Alliance](w, domain.AllianceStream(p.HeldThrough())),
		Adoption:    load[domain.Adoption](w, domain.AdoptionStream(p.ProtocolID, to)), By: by, At: at})
}
