package projections

import (
	"github.com/medalliance/allianced/domain"
)

func applyHospital(b *batch, e event) error {
	switch ev := e.ev.(type) {
	case domain.HospitalRegistered:
		h := &HospitalView{HospitalID: ev.HospitalID, Name: ev.Name, RegionCode: ev.RegionCode, Level: ev.Level,
			Departments: append([]domain.Department{}, ev.Departments...)}
		h.Version, h.Position = e.ver, e.pos
		return putDoc(b, hospitalRef(b.ks, ev.HospitalID), h)
	case domain.HospitalDepartmentAdded:
		h, err := getDoc[HospitalView](b, hospitalRef(b.ks, ev.HospitalID))
		if err != nil || h == nil {
			return err
		}
		h.Departments = append(h.Departments, ev.Department)
		h.Version, h.Position = e.ver, e.pos
		return putDoc(b, hospitalRef(b.ks, ev.HospitalID), h)
	}
	return nil
}

func applyAlliance(b *batch, e event) error {
	if ev, ok := e.ev.(domain.AllianceFounded); ok {
		a := &AllianceView{AllianceID: ev.AllianceID, Name: ev.Name, Specialty: ev.Specialty, Kind: ev.Kind,
			Lead: LeadView{HospitalID: ev.LeadHospitalID, HospitalName: ev.LeadHospitalName,
				DepartmentID: ev.LeadDepartmentID, RegionCode: ev.LeadRegionCode}, LeadDepartments: []string{ev.LeadDepartmentID},
			FoundedAt: ev.FoundedAt.UTC(), Version: e.ver, Position: e.pos}
		return putDoc(b, allianceRef(b.ks, ev.AllianceID), a)
	}
	if ev, ok := e.ev.(domain.AllianceLeadDepartmentAdded); ok {
		a, err := getDoc[AllianceView](b, allianceRef(b.ks, ev.AllianceID))
		if err != nil || a == nil {
			return err
		}
		a.LeadDepartments = append(a.LeadDepartments, ev.DepartmentID)
		a.Version, a.Position = e.ver, e.pos
		return putDoc(b, allianceRef(b.ks, ev.AllianceID), a)
	}
	var allianceID, hospitalID string
	switch ev := e.ev.(type) {
	case domain.AllianceMemberAdmitted:
		allianceID, hospitalID = ev.AllianceID, ev.HospitalID
	case domain.AllianceMemberSuspended:
		allianceID, hospitalID = ev.AllianceID, ev.HospitalID
	case domain.AllianceMemberReinstated:
		allianceID, hospitalID = ev.AllianceID, ev.HospitalID
	case domain.AllianceMemberWithdrawn:
		allianceID, hospitalID = ev.AllianceID, ev.HospitalID
	}
	a, err := getDoc[AllianceView](b, allianceRef(b.ks, allianceID))
	if err != nil || a == nil {
		return err
	}
	ref := memberRef(b.ks, allianceID, hospitalID)
	m, err := getDoc[MemberView](b, ref)
	if err != nil {
		return err
	}
	if m != nil {
		a.Members.add(m.Status, -1)
	}
	switch ev := e.ev.(type) {
	case domain.AllianceMemberAdmitted:
		m = &MemberView{HospitalID: ev.HospitalID, HospitalName: ev.HospitalName, Tier: ev.Tier,
			Status: domain.MemberStatusActive, RegionCode: ev.RegionCode, AdmittedAt: ev.AdmittedAt.UTC()}
	case domain.AllianceMemberSuspended:
		if m == nil {
			return nil
		}
		m.Status, m.StatusReason, m.StatusChangedAt = domain.MemberStatusSuspended, ev.Reason, timePtr(ev.SuspendedAt.UTC())
	case domain.AllianceMemberReinstated:
		if m == nil {
			return nil
		}
		m.Status, m.StatusReason, m.StatusChangedAt = domain.MemberStatusActive, ev.Reason, timePtr(ev.ReinstatedAt.UTC())
	case domain.AllianceMemberWithdrawn:
		if m == nil {
			return nil
		}
		m.Status, m.StatusReason, m.StatusChangedAt = domain.MemberStatusWithdrawn, ev.Reason, timePtr(ev.WithdrawnAt.UTC())
		m.WithdrawnByLead = ev.ByLead
	}
	m.Position = e.pos
	a.Members.add(m.Status, 1)
	a.Version, a.Position = e.ver, e.pos
	if err := putDoc(b, ref, m); err != nil {
		return err
	}
	return putDoc(b, allianceRef(b.ks, allianceID), a)
}

func (c *MemberCounts) add(status string, n int) {
	switch status {
	case domain.MemberStatusActive:
		c.Active += n
	case domain.MemberStatusSuspended:
		c.Suspended += n
	case domain.MemberStatusWithdrawn:
		c.Withdrawn += n
	}
}

func applyProtocol(b *batch, e event) error {
	var allianceID, protocolID string
	switch ev := e.ev.(type) {
	case domain.ProtocolDrafted:
		p := &ProtocolView{ProtocolID: ev.ProtocolID, AllianceID: ev.AllianceID, Title: ev.Title,
			Indication: ev.Indication, DraftedAt: ev.DraftedAt.UTC(), Versions: []ProtocolVersionView{},
			Version: e.ver, Position: e.pos}
		return putDoc(b, protocolRef(b.ks, ev.AllianceID, ev.ProtocolID), p)
	case domain.ProtocolVersionPublished:
		allianceID, protocolID = ev.AllianceID, ev.ProtocolID
	case domain.ProtocolVersionWithdrawn:
		allianceID, protocolID = ev.AllianceID, ev.ProtocolID
	case domain.ProtocolRetired:
		allianceID, protocolID = ev.AllianceID, ev.ProtocolID
	}
	ref := protocolRef(b.ks, allianceID, protocolID)
	p, err := getDoc[ProtocolView](b, ref)
	if err != nil || p == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.ProtocolVersionPublished:
		steps := append([]domain.ProtocolStep{}, ev.Steps...)
		p.Versions = append(p.Versions, ProtocolVersionView{Version: ev.Version, Status: domain.VersionStatusPublished,
			ContentHash: ev.ContentHash, ChangeNote: ev.ChangeNote, Eligibility: ev.Eligibility, Steps: steps,
			PublishedAt: ev.PublishedAt.UTC()})
	case domain.ProtocolVersionWithdrawn:
		for i := range p.Versions {
			if p.Versions[i].Version == ev.Version {
				v := &p.Versions[i]
				v.Status, v.WithdrawnAt, v.WithdrawnReason = domain.VersionStatusWithdrawn, timePtr(ev.WithdrawnAt.UTC()), ev.Reason
			}
		}
	case domain.ProtocolRetired:
		p.Retired, p.RetiredAt, p.RetiredReason = true, timePtr(ev.RetiredAt.UTC()), ev.Reason
	}
	p.CurrentVersion = 0
	for _, v := range p.Versions {
		if v.Status == domain.VersionStatusPublished && v.Version > p.CurrentVersion {
			p.CurrentVersion = v.Version
		}
	}
	p.Version, p.Position = e.ver, e.pos
	return putDoc(b, ref, p)
}

func applyAdoption(b *batch, e event) error {
	var allianceID, protocolID, hospitalID string
	switch ev := e.ev.(type) {
	case domain.ProtocolAdopted:
		a := &AdoptionView{ProtocolID: ev.ProtocolID, HospitalID: ev.HospitalID, Version: ev.Version,
			ContentHash: ev.ContentHash, ViaAllianceID: ev.ViaAllianceID, Status: domain.AdoptionStatusActive, Deviations: []domain.LocalDeviation{},
			AdoptedAt: ev.AdoptedAt.UTC(), UpdatedAt: ev.AdoptedAt.UTC(), Position: e.pos}
		return putDoc(b, adoptionRef(b.ks, ev.AllianceID, ev.ProtocolID, ev.HospitalID), a)
	case domain.AdoptionUpgraded:
		allianceID, protocolID, hospitalID = ev.AllianceID, ev.ProtocolID, ev.HospitalID
	case domain.AdoptionDeviationDeclared:
		allianceID, protocolID, hospitalID = ev.AllianceID, ev.ProtocolID, ev.HospitalID
	case domain.AdoptionDeviationRevoked:
		allianceID, protocolID, hospitalID = ev.AllianceID, ev.ProtocolID, ev.HospitalID
	case domain.AdoptionWithdrawn:
		allianceID, protocolID, hospitalID = ev.AllianceID, ev.ProtocolID, ev.HospitalID
	}
	ref := adoptionRef(b.ks, allianceID, protocolID, hospitalID)
	a, err := getDoc[AdoptionView](b, ref)
	if err != nil || a == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.AdoptionUpgraded:
		a.Version, a.ContentHash, a.Deviations, a.UpdatedAt = ev.ToVersion, ev.ContentHash, []domain.LocalDeviation{}, ev.UpgradedAt.UTC()
	case domain.AdoptionDeviationDeclared:
		a.Deviations = append(a.Deviations, ev.Deviation)
		a.UpdatedAt = ev.Deviation.DeclaredAt.UTC()
	case domain.AdoptionDeviationRevoked:
		kept := []domain.LocalDeviation{}
		for _, d := range a.Deviations {
			if d.StepID != ev.StepID || d.Kind != ev.Kind {
				kept = append(kept, d)
			}
		}
		a.Deviations, a.UpdatedAt = kept, ev.RevokedAt.UTC()
	case domain.AdoptionWithdrawn:
		a.Status, a.WithdrawnAt, a.WithdrawnReason = domain.AdoptionStatusWithdrawn, timePtr(ev.WithdrawnAt.UTC()), ev.Reason
	}
	a.Position = e.pos
	return putDoc(b, ref, a)
}
