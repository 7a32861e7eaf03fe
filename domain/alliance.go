package domain

import (
	"slices"
	"time"
)

// AllianceAggregate names the alliance aggregate in the event catalogue.
const AllianceAggregate = "alliance"

// AllianceStream is the stream of one alliance: its founding and every change to its
// membership, so an auditor can replay who was a member, in which tier, at any instant.
func AllianceStream(id string) string { return "alliance-" + id }

// Alliance kinds. The three forms of cooperation in Chinese healthcare share one model:
// a lead (one department of one hospital) and member hospitals that follow it.
const (
	AllianceSpecialist = "specialist" // 专科联盟: one specialty across hospitals, any region
	AllianceCity       = "city"       // 医联体: a city hospital group
	AllianceCounty     = "county"     // 医共体: a county medical community
)

var allianceKinds = []string{AllianceSpecialist, AllianceCity, AllianceCounty}

// Member tiers. A tier says how closely a member works with the lead; it does not change
// what a member may do, which depends only on its status.
const (
	TierCore      = "core"      // 核心成员: e.g. a regional medical centre
	TierMember    = "member"    // 成员单位
	TierCommunity = "community" // 社区/乡镇: community or township health centre
)

var memberTiers = []string{TierCore, TierMember, TierCommunity}

// Member statuses. Only an active member receives plans, adopts protocols and requests
// consults or dispatches; a suspended member may be reinstated; withdrawn ends the
// admission for good (the hospital may be admitted again as a new admission).
const (
	MemberStatusActive    = "active"
	MemberStatusSuspended = "suspended"
	MemberStatusWithdrawn = "withdrawn"
)

// Text limits of the alliance aggregate, in runes.
const (
	maxAllianceName = 200
	maxSpecialty    = 100
	maxReason       = 1000
)

// Member is one hospital's admission to an alliance.
type Member struct {
	HospitalID   string
	HospitalName string
	Tier         string
	Status       string
	RegionCode   string // copied from the hospital directory at admission
	AdmittedAt   time.Time
	// StatusReason and StatusChangedAt describe the last suspension, reinstatement or
	// withdrawal; both are empty while the member has never left the active status.
	StatusReason    string
	StatusChangedAt time.Time
}

// Active reports whether the member may currently act in the alliance.
func (m Member) Active() bool { return m.Status == MemberStatusActive }

// Alliance is the state of one alliance: its lead and its members in admission order.
//
// A hospital may lead one alliance and be a member of others at the same time (three
// tiers: a regional centre is a member of a city hospital's alliance and leads its own
// community alliance). Nothing in this aggregate forbids that: each alliance knows only
// its own lead and members, and every rule here is local to one alliance.
type Alliance struct {
	ID               string
	Name             string
	Specialty        string
	Kind             string
	LeadHospitalID   string
	LeadHospitalName string
	LeadDepartmentID string // the founding lead department
	// LeadDepartments are every department of the lead hospital that leads the alliance,
	// the founding one first (李惠利医院: 消化内科 and 胃肠外科). Each acts for its own
	// protocols, plans, experts and consult queue; any of them admits members.
	LeadDepartments []string
	LeadRegionCode  string // the lead's region, so consults can tell whether they cross one
	FoundedAt       time.Time
	Members         []Member
}

// Exists reports whether the alliance has been founded.
func (a Alliance) Exists() bool { return a.ID != "" }

// IsLead reports whether hospitalID and departmentID are one of the lead departments.
// The department must match too: an alliance is led by named departments (e.g. 血液科),
// and another department of the same hospital has no authority over it.
func (a Alliance) IsLead(hospitalID, departmentID string) bool {
	return a.IsLeadDepartment(hospitalID, departmentID)
}

// IsLeadDepartment reports whether departmentID of hospitalID leads the alliance.
// Alliances founded before several lead departments existed have only the founding
// one (LeadDepartments is filled from AllianceFounded on replay).
func (a Alliance) IsLeadDepartment(hospitalID, departmentID string) bool {
	return a.Exists() && hospitalID != "" && departmentID != "" &&
		hospitalID == a.LeadHospitalID && slices.Contains(a.LeadDepartments, departmentID)
}

// IsLeadHospital reports whether hospitalID is the lead hospital, whatever the
// department; use it where the hospital as a whole takes part (e.g. as a consult's
// answering side), and IsLead where the lead department's authority is needed.
func (a Alliance) IsLeadHospital(hospitalID string) bool {
	return a.Exists() && hospitalID != "" && hospitalID == a.LeadHospitalID
}

// Member returns the latest admission of hospitalID, whatever its status.
func (a Alliance) Member(hospitalID string) (Member, bool) {
	i := a.memberIndex(hospitalID)
	if i < 0 {
		return Member{}, false
	}
	return a.Members[i], true
}

// RequireActiveMember returns nil when hospitalID is an active member, and otherwise a
// coded error saying why not: not_found when the alliance does not exist, not_member
// naming the status (or that the hospital is the lead, or was never admitted).
func (a Alliance) RequireActiveMember(hospitalID string) error {
	if !a.Exists() {
		return Errorf(CodeNotFound, "alliance does not exist")
	}
	if a.IsLeadHospital(hospitalID) {
		return Errorf(CodeNotMember, "hospital %s is the lead hospital of alliance %s, not a member of it", hospitalID, a.ID).
			WithDetail("allianceId", a.ID).WithDetail("hospitalId", hospitalID)
	}
	m, ok := a.Member(hospitalID)
	if !ok {
		return Errorf(CodeNotMember, "hospital %s is not a member of alliance %s; the lead department must admit it first", truncate(hospitalID, 40), a.ID).
			WithDetail("allianceId", a.ID).WithDetail("hospitalId", hospitalID)
	}
	switch m.Status {
	case MemberStatusActive:
		return nil
	case MemberStatusSuspended:
		return Errorf(CodeNotMember, "hospital %s is suspended in alliance %s (reason: %s); the lead department must reinstate it first", hospitalID, a.ID, m.StatusReason).
			WithDetail("allianceId", a.ID).WithDetail("hospitalId", hospitalID).WithDetail("status", m.Status)
	default:
		return Errorf(CodeNotMember, "hospital %s has withdrawn from alliance %s (reason: %s); it must be admitted again first", hospitalID, a.ID, m.StatusReason).
			WithDetail("allianceId", a.ID).WithDetail("hospitalId", hospitalID).WithDetail("status", m.Status)
	}
}

// ActiveMembers returns the active members in admission order.
func (a Alliance) ActiveMembers() []Member {
	var out []Member
	for _, m := range a.Members {
		if m.Active() {
			out = append(out, m)
		}
	}
	return out
}

func (a Alliance) memberIndex(hospitalID string) int {
	return slices.IndexFunc(a.Members, func(m Member) bool { return m.HospitalID == hospitalID })
}

// AllianceFounded records a new alliance and its lead department.
type AllianceFounded struct {
	AllianceID       string    `json:"allianceId"`
	Name             string    `json:"name"`
	Specialty        string    `json:"specialty"`
	Kind             string    `json:"kind"`
	LeadHospitalID   string    `json:"leadHospitalId"`
	LeadHospitalName string    `json:"leadHospitalName"`
	LeadDepartmentID string    `json:"leadDepartmentId"`
	LeadRegionCode   string    `json:"leadRegionCode"`
	FoundedAt        time.Time `json:"foundedAt"`
}

// AllianceMemberAdmitted records a hospital's admission (or re-admission after a
// withdrawal) in a tier; the region is the hospital's at that time.
type AllianceMemberAdmitted struct {
	AllianceID   string    `json:"allianceId"`
	HospitalID   string    `json:"hospitalId"`
	HospitalName string    `json:"hospitalName"`
	RegionCode   string    `json:"regionCode"`
	Tier         string    `json:"tier"`
	AdmittedAt   time.Time `json:"admittedAt"`
}

// AllianceMemberSuspended records that an active member may no longer act in the
// alliance until it is reinstated.
type AllianceMemberSuspended struct {
	AllianceID  string    `json:"allianceId"`
	HospitalID  string    `json:"hospitalId"`
	Reason      string    `json:"reason"`
	SuspendedAt time.Time `json:"suspendedAt"`
}

// AllianceMemberReinstated records that a suspended member is active again.
type AllianceMemberReinstated struct {
	AllianceID   string    `json:"allianceId"`
	HospitalID   string    `json:"hospitalId"`
	Reason       string    `json:"reason"`
	ReinstatedAt time.Time `json:"reinstatedAt"`
}

// AllianceMemberWithdrawn records the end of an admission, at the member's request or
// the lead's decision; ByLead says which, for the audit trail and the member list.
type AllianceMemberWithdrawn struct {
	AllianceID  string    `json:"allianceId"`
	HospitalID  string    `json:"hospitalId"`
	Reason      string    `json:"reason"`
	ByLead      bool      `json:"byLead"`
	WithdrawnAt time.Time `json:"withdrawnAt"`
}

// EventType implements Event.
func (AllianceFounded) EventType() string { return "AllianceFounded" }

// EventType implements Event.
func (AllianceMemberAdmitted) EventType() string { return "AllianceMemberAdmitted" }

// EventType implements Event.
func (AllianceMemberSuspended) EventType() string { return "AllianceMemberSuspended" }

// EventType implements Event.
func (AllianceMemberReinstated) EventType() string { return "AllianceMemberReinstated" }

// EventType implements Event.
func (AllianceMemberWithdrawn) EventType() string { return "AllianceMemberWithdrawn" }

func init() {
	Register[AllianceFounded](AllianceAggregate, 1, nil)
	Register[AllianceMemberAdmitted](AllianceAggregate, 1, nil)
	Register[AllianceMemberSuspended](AllianceAggregate, 1, nil)
	Register[AllianceMemberReinstated](AllianceAggregate, 1, nil)
	Register[AllianceMemberWithdrawn](AllianceAggregate, 1, nil)
}

// Evolve folds one event into the alliance's state.
func (a Alliance) Evolve(e Event) Alliance {
	switch e := e.(type) {
	case AllianceFounded:
		a = Alliance{ID: e.AllianceID, Name: e.Name, Specialty: e.Specialty, Kind: e.Kind,
			LeadHospitalID: e.LeadHospitalID, LeadHospitalName: e.LeadHospitalName,
			LeadDepartmentID: e.LeadDepartmentID, LeadDepartments: []string{e.LeadDepartmentID},
			LeadRegionCode: e.LeadRegionCode, FoundedAt: e.FoundedAt}
	case AllianceLeadDepartmentAdded:
		a.LeadDepartments = append(slices.Clone(a.LeadDepartments), e.DepartmentID)
	case AllianceMemberAdmitted:
		m := Member{HospitalID: e.HospitalID, HospitalName: e.HospitalName, Tier: e.Tier,
			Status: MemberStatusActive, RegionCode: e.RegionCode, AdmittedAt: e.AdmittedAt}
		members := slices.Clone(a.Members)
		if i := a.memberIndex(e.HospitalID); i >= 0 {
			members[i] = m // a re-admission replaces the withdrawn one; the stream keeps both
		} else {
			members = append(members, m)
		}
		a.Members = members
	case AllianceMemberSuspended:
		a.Members = a.withStatus(e.HospitalID, MemberStatusSuspended, e.Reason, e.SuspendedAt)
	case AllianceMemberReinstated:
		a.Members = a.withStatus(e.HospitalID, MemberStatusActive, e.Reason, e.ReinstatedAt)
	case AllianceMemberWithdrawn:
		a.Members = a.withStatus(e.HospitalID, MemberStatusWithdrawn, e.Reason, e.WithdrawnAt)
	}
	return a
}

// withStatus returns a copy of the member list with one member's status changed, so a
// state value handed out earlier never changes under its holder.
func (a Alliance) withStatus(hospitalID, status, reason string, at time.Time) []Member {
	i := a.memberIndex(hospitalID)
	if i < 0 {
		return a.Members
	}
	members := slices.Clone(a.Members)
	members[i].Status, members[i].StatusReason, members[i].StatusChangedAt = status, reason, at
	return members
}

// AllianceCommand is a command handled by the alliance aggregate.
type AllianceCommand interface{ allianceCommand() }

// FoundAlliance founds an alliance led by one department of Lead. The lead department
// founds its own alliance, so By must be that department. Lead is the hospital's
// directory state, loaded by the caller.
type FoundAlliance struct {
	AllianceID       string
	Name             string
	Specialty        string
	Kind             string
	Lead             Hospital
	LeadDepartmentID string
	By               Actor
	At               time.Time
}

// AdmitMember admits Hospital (its directory state, loaded by the caller) in a tier.
// Only the lead department may admit.
type AdmitMember struct {
	AllianceID string
	Hospital   Hospital
	Tier       string
	By         Actor
	At         time.Time
}

// SuspendMember stops an active member from acting in the alliance, e.g. during a
// quality review. Only the lead department may suspend.
type SuspendMember struct {
	AllianceID string
	HospitalID string
	Reason     string
	By         Actor
	At         time.Time
}

// ReinstateMember makes a suspended member active again. Only the lead department may
// reinstate.
type ReinstateMember struct {
	AllianceID string
	HospitalID string
	Reason     string
	By         Actor
	At         time.Time
}

// WithdrawMember ends an admission. The lead department may remove a member, and a
// member hospital may leave on its own initiative (any of its departments acting for it).
type WithdrawMember struct {
	AllianceID string
	HospitalID string
	Reason     string
	By         Actor
	At         time.Time
}

func (FoundAlliance) allianceCommand()   {}
func (AdmitMember) allianceCommand()     {}
func (SuspendMember) allianceCommand()   {}
func (ReinstateMember) allianceCommand() {}
func (WithdrawMember) allianceCommand()  {}

// DecideAlliance decides an alliance command against the alliance's current state.
func DecideAlliance(a Alliance, c AllianceCommand) ([]Event, error) {
	switch c := c.(type) {
	case FoundAlliance:
		return decideFoundAlliance(a, c)
	case AdmitMember:
		return decideAdmitMember(a, c)
	case SuspendMember:
		m, err := a.memberForLeadAction(c.AllianceID, c.HospitalID, c.Reason, c.By, c.At)
		if err != nil {
			return nil, err
		}
		if m.Status != MemberStatusActive {
			return nil, Errorf(CodeForbiddenTransition, "hospital %s is %s in alliance %s; only an active member can be suspended", m.HospitalID, m.Status, a.ID).
				WithDetail("status", m.Status)
		}
		return []Event{AllianceMemberSuspended{AllianceID: a.ID, HospitalID: m.HospitalID, Reason: c.Reason, SuspendedAt: c.At}}, nil
	case ReinstateMember:
		m, err := a.memberForLeadAction(c.AllianceID, c.HospitalID, c.Reason, c.By, c.At)
		if err != nil {
			return nil, err
		}
		if m.Status != MemberStatusSuspended {
			return nil, Errorf(CodeForbiddenTransition, "hospital %s is %s in alliance %s; only a suspended member can be reinstated", m.HospitalID, m.Status, a.ID).
				WithDetail("status", m.Status)
		}
		return []Event{AllianceMemberReinstated{AllianceID: a.ID, HospitalID: m.HospitalID, Reason: c.Reason, ReinstatedAt: c.At}}, nil
	case WithdrawMember:
		return decideWithdrawMember(a, c)
	case AddLeadDepartment:
		return decideAddLeadDepartment(a, c)
	}
	return nil, Errorf(CodeInvalidInput, "unknown alliance command %T", c)
}

func decideFoundAlliance(a Alliance, c FoundAlliance) ([]Event, error) {
	if a.Exists() {
		return nil, Errorf(CodeAlreadyExists, "alliance %s is already founded", c.AllianceID)
	}
	if err := firstErr(
		ValidateID("allianceId", c.AllianceID),
		required("name", c.Name, maxAllianceName),
		required("specialty", c.Specialty, maxSpecialty),
		validateAllianceKind(c.Kind),
		required("leadDepartmentId", c.LeadDepartmentID, 64),
		validateCommandTime(c.At),
	); err != nil {
		return nil, err
	}
	if !c.Lead.Exists() {
		return nil, Errorf(CodeNotFound, "the lead hospital is not registered in the hospital directory; register it first")
	}
	if !c.Lead.HasDepartment(c.LeadDepartmentID) {
		return nil, Errorf(CodeInvalidInput, "hospital %s has no department %q; add the department to the hospital first", c.Lead.ID, c.LeadDepartmentID).
			WithDetail("departmentId", c.LeadDepartmentID)
	}
	if c.By.HospitalID != c.Lead.ID || c.By.DepartmentID != c.LeadDepartmentID {
		return nil, Errorf(CodeForbidden, "only the lead department itself may found its alliance")
	}
	return []Event{AllianceFounded{AllianceID: c.AllianceID, Name: c.Name, Specialty: c.Specialty, Kind: c.Kind,
		LeadHospitalID: c.Lead.ID, LeadHospitalName: c.Lead.Name, LeadDepartmentID: c.LeadDepartmentID,
		LeadRegionCode: c.Lead.RegionCode, FoundedAt: c.At}}, nil
}

func decideAdmitMember(a Alliance, c AdmitMember) ([]Event, error) {
	if err := a.requireExists(c.AllianceID); err != nil {
		return nil, err
	}
	if err := firstErr(
		validateTier(c.Tier),
		validateCommandTime(c.At),
	); err != nil {
		return nil, err
	}
	if !a.IsLead(c.By.HospitalID, c.By.DepartmentID) {
		return nil, a.leadOnly("admit members")
	}
	if !c.Hospital.Exists() {
		return nil, Errorf(CodeNotFound, "the hospital to admit is not registered in the hospital directory; register it first")
	}
	if a.IsLeadHospital(c.Hospital.ID) {
		return nil, Errorf(CodeForbiddenTransition, "hospital %s leads alliance %s and cannot also be its member", c.Hospital.ID, a.ID)
	}
	if m, ok := a.Member(c.Hospital.ID); ok && m.Status != MemberStatusWithdrawn {
		return nil, Errorf(CodeAlreadyExists, "hospital %s is already a member of alliance %s (status %s)", c.Hospital.ID, a.ID, m.Status).
			WithDetail("status", m.Status)
	}
	return []Event{AllianceMemberAdmitted{AllianceID: a.ID, HospitalID: c.Hospital.ID, HospitalName: c.Hospital.Name,
		RegionCode: c.Hospital.RegionCode, Tier: c.Tier, AdmittedAt: c.At}}, nil
}

func decideWithdrawMember(a Alliance, c WithdrawMember) ([]Event, error) {
	if err := a.requireExists(c.AllianceID); err != nil {
		return nil, err
	}
	if err := firstErr(
		ValidateID("hospitalId", c.HospitalID),
		required("reason", c.Reason, maxReason),
		validateCommandTime(c.At),
	); err != nil {
		return nil, err
	}
	byLead := a.IsLead(c.By.HospitalID, c.By.DepartmentID)
	if !byLead && c.By.HospitalID != c.HospitalID {
		return nil, Errorf(CodeForbidden, "only the alliance's lead department or the member hospital itself may withdraw a membership")
	}
	m, ok := a.Member(c.HospitalID)
	if !ok {
		return nil, Errorf(CodeNotFound, "hospital %s is not a member of alliance %s", c.HospitalID, a.ID)
	}
	if m.Status == MemberStatusWithdrawn {
		return nil, Errorf(CodeForbiddenTransition, "hospital %s has already withdrawn from alliance %s", c.HospitalID, a.ID).
			WithDetail("status", m.Status)
	}
	return []Event{AllianceMemberWithdrawn{AllianceID: a.ID, HospitalID: c.HospitalID, Reason: c.Reason,
		ByLead: byLead, WithdrawnAt: c.At}}, nil
}

// memberForLeadAction runs the checks shared by suspend and reinstate: the alliance
// exists, the input is valid, the lead department acts and the hospital was admitted.
func (a Alliance) memberForLeadAction(allianceID, hospitalID, reason string, by Actor, at time.Time) (Member, error) {
	if err := a.requireExists(allianceID); err != nil {
		return Member{}, err
	}
	if err := firstErr(
		ValidateID("hospitalId", hospitalID),
		required("reason", reason, maxReason),
		validateCommandTime(at),
	); err != nil {
		return Member{}, err
	}
	if !a.IsLead(by.HospitalID, by.DepartmentID) {
		return Member{}, a.leadOnly("change a member's status")
	}
	m, ok := a.Member(hospitalID)
	if !ok {
		return Member{}, Errorf(CodeNotFound, "hospital %s is not a member of alliance %s", hospitalID, a.ID)
	}
	return m, nil
}

func (a Alliance) requireExists(allianceID string) error {
	if err := ValidateID("allianceId", allianceID); err != nil {
		return err
	}
	if !a.Exists() {
		return Errorf(CodeNotFound, "alliance %s does not exist", allianceID)
	}
	return nil
}

// leadOnly is the error for a command only a lead department may issue.
func (a Alliance) leadOnly(what string) error {
	return Errorf(CodeForbidden, "only a lead department of the alliance may %s", what)
}

func validateAllianceKind(kind string) error {
	if !slices.Contains(allianceKinds, kind) {
		return Errorf(CodeInvalidInput, "kind %q must be one of %v", truncate(kind, 20), allianceKinds)
	}
	return nil
}

func validateTier(tier string) error {
	if !slices.Contains(memberTiers, tier) {
		return Errorf(CodeInvalidInput, "tier %q must be one of %v", truncate(tier, 20), memberTiers)
	}
	return nil
}

// validateCommandTime refuses a command without its instant: Decide reads no clock, so
// a zero time would be recorded as year 1.
func validateCommandTime(at time.Time) error {
	return checkInstant("the command's time (at)", at)
}
