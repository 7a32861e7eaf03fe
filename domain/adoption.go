package domain

import (
	"slices"
	"time"
)

// AdoptionAggregate names the adoption aggregate in the event catalogue.
const AdoptionAggregate = "adoption"

// AdoptionStream is the stream of one member hospital's adoption of one protocol. One
// stream per (protocol, hospital) pair means two members never contend for one stream,
// and the adoption matrix of an alliance is a projection over these streams.
func AdoptionStream(protocolID, hospitalID string) string {
	return "adoption-" + protocolID + "-" + hospitalID
}

// Adoption statuses. A withdrawn adoption accepts no command but a new AdoptProtocol:
// re-adoption is allowed (e.g. after the member was suspended and reinstated) and starts
// afresh, with no deviations, at whichever published version the member names.
const (
	AdoptionStatusActive    = "active"
	AdoptionStatusWithdrawn = "withdrawn"
)

// Kinds of local deviation a member may declare against a step of the adopted version.
// Substitute carries the local replacement: the drug, the dose or the route.
const (
	DeviationDrugSubstitution = "drug_substitution" // Substitute: the local drug (not on the formulary otherwise)
	DeviationDoseAdjusted     = "dose_adjusted"     // Substitute: the local dose
	DeviationRouteChanged     = "route_changed"     // Substitute: the local route (one of the routes)
	DeviationStepOmitted      = "step_omitted"      // Substitute: empty; Description says why
)

var deviationKinds = []string{DeviationDrugSubstitution, DeviationDoseAdjusted, DeviationRouteChanged, DeviationStepOmitted}

// LocalDeviation is a member's declared, standing difference from one step of the
// protocol version it adopted, e.g. a drug that is not on its formulary.
type LocalDeviation struct {
	StepID      string    `json:"stepId"`
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	Substitute  string    `json:"substitute,omitempty"`
	DeclaredAt  time.Time `json:"declaredAt"`
}

// Adoption is the state of one member hospital following one protocol.
type Adoption struct {
	ProtocolID  string
	AllianceID  string
	HospitalID  string
	Version     int    // the adopted protocol version
	ContentHash string // the adopted version's content hash, for plans to check against
	// ViaAllianceID is the alliance through which a hospital of a lower tier follows the
	// protocol (a community centre follows 中山's protocol through 徐汇's alliance); empty
	// for an active member of the protocol's alliance adopting directly.
	ViaAllianceID string
	Deviations    []LocalDeviation
	Status        string
	AdoptedAt     time.Time // when the current adoption began; a re-adoption resets it
	UpdatedAt     time.Time // the last adoption, upgrade or deviation change
	// WithdrawnAt and WithdrawnReason describe the withdrawal while Status is withdrawn.
	WithdrawnAt     time.Time
	WithdrawnReason string
}

// Exists reports whether the hospital ever adopted the protocol.
func (a Adoption) Exists() bool { return a.ProtocolID != "" }

// Active reports whether the hospital currently follows the protocol.
func (a Adoption) Active() bool { return a.Status == AdoptionStatusActive }

// DeviationsFor returns the declared deviations for one step, in declaration order.
func (a Adoption) DeviationsFor(stepID string) []LocalDeviation {
	var out []LocalDeviation
	for _, d := range a.Deviations {
		if d.StepID == stepID {
			out = append(out, d)
		}
	}
	return out
}

// ProtocolAdopted records that a member hospital follows a published version.
type ProtocolAdopted struct {
	ProtocolID  string `json:"protocolId"`
	AllianceID  string `json:"allianceId"`
	HospitalID  string `json:"hospitalId"`
	Version     int    `json:"version"`
	ContentHash string `json:"contentHash"`
	// ViaAllianceID names the middle tier's alliance for an adoption through it (see
	// AdoptProtocol); empty for a direct adoption, and in every event from before.
	ViaAllianceID string    `json:"viaAllianceId,omitempty"`
	AdoptedAt     time.Time `json:"adoptedAt"`
}

// AdoptionUpgraded records a move to a newer version. The deviations declared against
// the old version are cleared (and listed here): each was a judgement about one
// version's step, so the member declares again against the new content.
type AdoptionUpgraded struct {
	ProtocolID        string           `json:"protocolId"`
	AllianceID        string           `json:"allianceId"`
	HospitalID        string           `json:"hospitalId"`
	FromVersion       int              `json:"fromVersion"`
	ToVersion         int              `json:"toVersion"`
	ContentHash       string           `json:"contentHash"`
	ClearedDeviations []LocalDeviation `json:"clearedDeviations,omitempty"`
	UpgradedAt        time.Time        `json:"upgradedAt"`
}

// AdoptionDeviationDeclared records a standing local deviation from the adopted version.
type AdoptionDeviationDeclared struct {
	ProtocolID string         `json:"protocolId"`
	AllianceID string         `json:"allianceId"`
	HospitalID string         `json:"hospitalId"`
	Version    int            `json:"version"`
	Deviation  LocalDeviation `json:"deviation"`
}

// AdoptionDeviationRevoked records that the member follows a step as published again,
// e.g. once the drug is on its formulary.
type AdoptionDeviationRevoked struct {
	ProtocolID string    `json:"protocolId"`
	AllianceID string    `json:"allianceId"`
	HospitalID string    `json:"hospitalId"`
	Version    int       `json:"version"`
	StepID     string    `json:"stepId"`
	Kind       string    `json:"kind"`
	Reason     string    `json:"reason"`
	RevokedAt  time.Time `json:"revokedAt"`
}

// AdoptionWithdrawn records that the member no longer follows the protocol.
type AdoptionWithdrawn struct {
	ProtocolID  string    `json:"protocolId"`
	AllianceID  string    `json:"allianceId"`
	HospitalID  string    `json:"hospitalId"`
	Version     int       `json:"version"`
	Reason      string    `json:"reason"`
	WithdrawnAt time.Time `json:"withdrawnAt"`
}

// EventType implements Event.
func (ProtocolAdopted) EventType() string { return "ProtocolAdopted" }

// EventType implements Event.
func (AdoptionUpgraded) EventType() string { return "AdoptionUpgraded" }

// EventType implements Event.
func (AdoptionDeviationDeclared) EventType() string { return "AdoptionDeviationDeclared" }

// EventType implements Event.
func (AdoptionDeviationRevoked) EventType() string { return "AdoptionDeviationRevoked" }

// EventType implements Event.
func (AdoptionWithdrawn) EventType() string { return "AdoptionWithdrawn" }

func init() {
	Register[ProtocolAdopted](AdoptionAggregate, 1, nil)
	Register[AdoptionUpgraded](AdoptionAggregate, 1, nil)
	Register[AdoptionDeviationDeclared](AdoptionAggregate, 1, nil)
	Register[AdoptionDeviationRevoked](AdoptionAggregate, 1, nil)
	Register[AdoptionWithdrawn](AdoptionAggregate, 1, nil)
}

// Evolve folds one event into the adoption's state.
func (a Adoption) Evolve(e Event) Adoption {
	switch e := e.(type) {
	case ProtocolAdopted:
		a = Adoption{ProtocolID: e.ProtocolID, AllianceID: e.AllianceID, HospitalID: e.HospitalID,
			Version: e.Version, ContentHash: e.ContentHash, ViaAllianceID: e.ViaAllianceID, Status: AdoptionStatusActive,
			AdoptedAt: e.AdoptedAt, UpdatedAt: e.AdoptedAt}
	case AdoptionUpgraded:
		a.Version, a.ContentHash, a.Deviations, a.UpdatedAt = e.ToVersion, e.ContentHash, nil, e.UpgradedAt
	case AdoptionDeviationDeclared:
		a.Deviations = append(slices.Clone(a.Deviations), e.Deviation)
		a.UpdatedAt = e.Deviation.DeclaredAt
	case AdoptionDeviationRevoked:
		a.Deviations = slices.DeleteFunc(slices.Clone(a.Deviations), func(d LocalDeviation) bool {
			return d.StepID == e.StepID && d.Kind == e.Kind
		})
		a.UpdatedAt = e.RevokedAt
	case AdoptionWithdrawn:
		a.Status, a.WithdrawnAt, a.WithdrawnReason = AdoptionStatusWithdrawn, e.WithdrawnAt, e.Reason
	}
	return a
}

// AdoptionCommand is a command handled by the adoption aggregate.
type AdoptionCommand interface{ adoptionCommand() }

// AdoptProtocol makes HospitalID follow a published Version of Protocol. Alliance and
// Protocol are their aggregates' states, loaded by the caller; the hospital must be an
// active member and act for itself (By.HospitalID == HospitalID).
//
// With Via (three tiers) the hospital adopts the protocol through a middle tier's
// alliance instead: it is an active member of Via, Via's lead hospital is an active
// member of the protocol's alliance, and ViaLeadAdoption (the middle tier's own
// adoption, loaded by the caller) is an active adoption of the same version. The
// community centre follows the top lead's protocol itself, one protocol and version
// along the chain, so a withdrawal or a revision reaches every tier; the middle tier
// vouches for it by following that version, and never re-publishes a copy.
type AdoptProtocol struct {
	Alliance        Alliance
	Protocol        Protocol
	HospitalID      string
	Version         int
	Via             Alliance
	ViaLeadAdoption Adoption
	By              Actor
	At              time.Time
}

// UpgradeAdoption moves an active adoption to a newer published version; a downgrade or
// the same version is refused (withdraw and re-adopt to go back deliberately). An
// adoption through a middle tier (Adoption.ViaAllianceID) upgrades through it: Via and
// ViaLeadAdoption as for AdoptProtocol, the middle tier following the new version first.
type UpgradeAdoption struct {
	Alliance        Alliance
	Protocol        Protocol
	HospitalID      string
	Version         int
	Via             Alliance
	ViaLeadAdoption Adoption
	By              Actor
	At              time.Time
}

// DeclareAdoptionDeviation declares a local deviation from a step of the adopted
// version. Deviation.DeclaredAt is set from At. For an adoption through a middle tier,
// Via and ViaLeadAdoption as for AdoptProtocol.
type DeclareAdoptionDeviation struct {
	Alliance        Alliance
	Protocol        Protocol
	HospitalID      string
	Deviation       LocalDeviation
	Via             Alliance
	ViaLeadAdoption Adoption
	By              Actor
	At              time.Time
}

// RevokeAdoptionDeviation removes a declared deviation. It brings the member back to
// the protocol, so it needs neither the alliance nor the protocol state.
type RevokeAdoptionDeviation struct {
	ProtocolID string
	HospitalID string
	StepID     string
	Kind       string
	Reason     string
	By         Actor
	At         time.Time
}

// WithdrawAdoption ends the adoption. It is allowed whatever the hospital's membership
// status, because stopping to follow a protocol must never be blocked.
type WithdrawAdoption struct {
	ProtocolID string
	HospitalID string
	Reason     string
	By         Actor
	At         time.Time
}

func (AdoptProtocol) adoptionCommand()            {}
func (UpgradeAdoption) adoptionCommand()          {}
func (DeclareAdoptionDeviation) adoptionCommand() {}
func (RevokeAdoptionDeviation) adoptionCommand()  {}
func (WithdrawAdoption) adoptionCommand()         {}

// DecideAdoption decides an adoption command against the adoption's current state.
func DecideAdoption(a Adoption, c AdoptionCommand) ([]Event, error) {
	switch c := c.(type) {
	case AdoptProtocol:
		if err := requireAdopterAction(c.Alliance, c.Via, c.Protocol, c.HospitalID, c.By, c.At); err != nil {
			return nil, err
		}
		if a.Active() {
			return nil, Errorf(CodeAlreadyExists, "hospital %s already follows protocol %s version %d; upgrade the adoption instead",
				c.HospitalID, c.Protocol.ID, a.Version).WithDetail("version", a.Version)
		}
		v, err := c.Protocol.RequirePublished(c.Version)
		if err != nil {
			return nil, err
		}
		if err := requireViaLeadFollows(c.Via, c.ViaLeadAdoption, c.Protocol.ID, v.Number); err != nil {
			return nil, err
		}
		return []Event{ProtocolAdopted{ProtocolID: c.Protocol.ID, AllianceID: c.Alliance.ID, HospitalID: c.HospitalID,
			Version: v.Number, ContentHash: v.ContentHash, ViaAllianceID: c.Via.ID, AdoptedAt: c.At}}, nil
	case UpgradeAdoption:
		if err := a.requireRoute(c.Via); err != nil {
			return nil, err
		}
		if err := requireAdopterAction(c.Alliance, c.Via, c.Protocol, c.HospitalID, c.By, c.At); err != nil {
			return nil, err
		}
		if err := a.requireActive(c.Protocol.ID, c.HospitalID); err != nil {
			return nil, err
		}
		if err := requireViaLeadFollows(c.Via, c.ViaLeadAdoption, c.Protocol.ID, c.Version); err != nil {
			return nil, err
		}
		if c.Version <= a.Version {
			return nil, Errorf(CodeForbiddenTransition, "hospital %s follows version %d of protocol %s; an upgrade must name a later version, not %d",
				c.HospitalID, a.Version, c.Protocol.ID, c.Version).WithDetail("version", a.Version)
		}
		v, err := c.Protocol.RequirePublished(c.Version)
		if err != nil {
			return nil, err
		}
		return []Event{AdoptionUpgraded{ProtocolID: a.ProtocolID, AllianceID: a.AllianceID, HospitalID: a.HospitalID,
			FromVersion: a.Version, ToVersion: v.Number, ContentHash: v.ContentHash,
			ClearedDeviations: slices.Clone(a.Deviations), UpgradedAt: c.At}}, nil
	case DeclareAdoptionDeviation:
		return decideDeclareDeviation(a, c)
	case RevokeAdoptionDeviation:
		if err := requireOwnAdoption(c.ProtocolID, c.HospitalID, c.By, c.At); err != nil {
			return nil, err
		}
		if err := firstErr(validateStepID(c.StepID), validateDeviationKind(c.Kind), required("reason", c.Reason, maxReason)); err != nil {
			return nil, err
		}
		if err := a.requireActive(c.ProtocolID, c.HospitalID); err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(a.Deviations, func(d LocalDeviation) bool { return d.StepID == c.StepID && d.Kind == c.Kind }) {
			return nil, Errorf(CodeNotFound, "hospital %s declared no %s deviation for step %q", c.HospitalID, c.Kind, c.StepID)
		}
		return []Event{AdoptionDeviationRevoked{ProtocolID: a.ProtocolID, AllianceID: a.AllianceID, HospitalID: a.HospitalID,
			Version: a.Version, StepID: c.StepID, Kind: c.Kind, Reason: c.Reason, RevokedAt: c.At}}, nil
	case WithdrawAdoption:
		if err := requireOwnAdoption(c.ProtocolID, c.HospitalID, c.By, c.At); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxReason); err != nil {
			return nil, err
		}
		if err := a.requireActive(c.ProtocolID, c.HospitalID); err != nil {
			return nil, err
		}
		return []Event{AdoptionWithdrawn{ProtocolID: a.ProtocolID, AllianceID: a.AllianceID, HospitalID: a.HospitalID,
			Version: a.Version, Reason: c.Reason, WithdrawnAt: c.At}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown adoption command %T", c)
}

func decideDeclareDeviation(a Adoption, c DeclareAdoptionDeviation) ([]Event, error) {
	if err := a.requireRoute(c.Via); err != nil {
		return nil, err
	}
	if err := requireAdopterAction(c.Alliance, c.Via, c.Protocol, c.HospitalID, c.By, c.At); err != nil {
		return nil, err
	}
	d := c.Deviation
	d.DeclaredAt = c.At
	if err := validateDeviation(d); err != nil {
		return nil, err
	}
	if err := a.requireActive(c.Protocol.ID, c.HospitalID); err != nil {
		return nil, err
	}
	v, ok := c.Protocol.Version(a.Version)
	if !ok {
		return nil, Errorf(CodeNotFound, "protocol %s has no version %d; load the protocol's current state", c.Protocol.ID, a.Version)
	}
	step, ok := v.Step(d.StepID)
	if !ok {
		return nil, Errorf(CodeInvalidInput, "version %d of protocol %s has no step %q; a deviation must name a step of the adopted version",
			a.Version, c.Protocol.ID, d.StepID).WithDetail("stepId", d.StepID)
	}
	if d.Kind != DeviationStepOmitted && step.Drug == "" {
		return nil, Errorf(CodeInvalidInput, "step %q gives no drug, so a %s deviation does not apply; only step_omitted does", d.StepID, d.Kind)
	}
	if same := sameAsStep(step, d); same != "" {
		return nil, Errorf(CodeInvalidInput, "step %q already gives %s %q; a %s deviation must name something different",
			d.StepID, same, d.Substitute, d.Kind)
	}
	for _, old := range a.DeviationsFor(d.StepID) {
		if old.Kind == d.Kind {
			return nil, Errorf(CodeAlreadyExists, "a %s deviation for step %q is already declared; revoke it first to change it", d.Kind, d.StepID)
		}
		if old.Kind == DeviationStepOmitted || d.Kind == DeviationStepOmitted {
			return nil, Errorf(CodeForbiddenTransition, "step %q already has a %s deviation; an omitted step cannot also be changed (revoke the other deviation first)",
				d.StepID, old.Kind)
		}
	}
	return []Event{AdoptionDeviationDeclared{ProtocolID: a.ProtocolID, AllianceID: a.AllianceID, HospitalID: a.HospitalID,
		Version: a.Version, Deviation: d}}, nil
}

// requireMemberAction runs the checks shared by the commands that need the hospital to
// be an active member: valid input, the hospital acting for itself, a protocol of this
// alliance, and active membership.
func requireMemberAction(al Alliance, p Protocol, hospitalID string, by Actor, at time.Time) error {
	if !p.Exists() {
		return Errorf(CodeNotFound, "the protocol does not exist; check the protocol id")
	}
	if err := requireOwnAdoption(p.ID, hospitalID, by, at); err != nil {
		return err
	}
	if !al.Exists() {
		return Errorf(CodeNotFound, "alliance %s of protocol %s does not exist", p.AllianceID, p.ID)
	}
	if p.AllianceID != al.ID {
		return Errorf(CodeInvalidInput, "protocol %s belongs to alliance %s, not to alliance %s", p.ID, p.AllianceID, al.ID)
	}
	return al.RequireActiveMember(hospitalID)
}

// requireOwnAdoption checks the ids and the time, and that the member hospital acts on
// its own adoption: no other hospital, the lead included, may adopt for it.
func requireOwnAdoption(protocolID, hospitalID string, by Actor, at time.Time) error {
	if err := firstErr(
		ValidateID("protocolId", protocolID),
		ValidateID("hospitalId", hospitalID),
		validateCommandTime(at),
	); err != nil {
		return err
	}
	if by.HospitalID != hospitalID {
		return Errorf(CodeForbidden, "only the adopting hospital itself may act on its adoption of a protocol")
	}
	return nil
}

func (a Adoption) requireActive(protocolID, hospitalID string) error {
	if !a.Exists() {
		return Errorf(CodeNotFound, "hospital %s has not adopted protocol %s", hospitalID, protocolID)
	}
	if !a.Active() {
		return Errorf(CodeForbiddenTransition, "hospital %s withdrew its adoption of protocol %s (reason: %s); adopt it again first",
			hospitalID, protocolID, a.WithdrawnReason).WithDetail("status", a.Status)
	}
	return nil
}

func validateDeviation(d LocalDeviation) error {
	if err := firstErr(
		validateStepID(d.StepID),
		validateDeviationKind(d.Kind),
		required("description", d.Description, maxNotes),
	); err != nil {
		return err
	}
	switch d.Kind {
	case DeviationStepOmitted:
		if d.Substitute != "" {
			return Errorf(CodeInvalidInput, "a step_omitted deviation has no substitute; explain it in the description")
		}
	case DeviationRouteChanged:
		return validateRoute(d.Substitute)
	case DeviationDoseAdjusted:
		return required("substitute (the local dose)", d.Substitute, maxDose)
	default:
		return required("substitute (the local drug)", d.Substitute, maxDrug)
	}
	return nil
}

// sameAsStep names the step's field when a deviation's substitute merely repeats it (a
// "substitution" by the same drug, dose or route is no deviation), and is "" otherwise.
func sameAsStep(step ProtocolStep, d LocalDeviation) string {
	switch {
	case d.Kind == DeviationDrugSubstitution && d.Substitute == step.Drug:
		return "drug"
	case d.Kind == DeviationDoseAdjusted && d.Substitute == step.Dose:
		return "dose"
	case d.Kind == DeviationRouteChanged && d.Substitute == step.Route:
		return "route"
	}
	return ""
}

func validateDeviationKind(kind string) error {
	if !slices.Contains(deviationKinds, kind) {
		return Errorf(CodeInvalidInput, "deviation kind %q must be one of %v", truncate(kind, 30), deviationKinds)
	}
	return nil
}

// requireAdopterAction is requireMemberAction for a direct adoption, and for one through
// a middle tier (via exists): the hospital an active member of via, and via's lead
// hospital an active member of the protocol's alliance.
func requireAdopterAction(al, via Alliance, p Protocol, hospitalID string, by Actor, at time.Time) error {
	if !via.Exists() {
		return requireMemberAction(al, p, hospitalID, by, at)
	}
	if !p.Exists() {
		return Errorf(CodeNotFound, "the protocol does not exist; check the protocol id")
	}
	if err := requireOwnAdoption(p.ID, hospitalID, by, at); err != nil {
		return err
	}
	if !al.Exists() || p.AllianceID != al.ID {
		return Errorf(CodeNotFound, "alliance %s of protocol %s does not exist", p.AllianceID, p.ID)
	}
	if via.ID == al.ID {
		return Errorf(CodeInvalidInput, "viaAllianceId names the protocol's own alliance; a member of it adopts directly")
	}
	if err := via.RequireActiveMember(hospitalID); err != nil {
		return err
	}
	if err := al.RequireActiveMember(via.LeadHospitalID); err != nil {
		return Errorf(CodeNotMember, "alliance %s's lead hospital %s is not an active member of alliance %s, whose protocol this is; it passes none of that alliance's protocols on",
			via.ID, via.LeadHospitalID, al.ID).WithDetail("allianceId", al.ID).WithDetail("hospitalId", via.LeadHospitalID)
	}
	return nil
}

// requireViaLeadFollows checks that the middle tier itself follows version v: a
// hospital passes on only the version it follows.
func requireViaLeadFollows(via Alliance, lead Adoption, protocolID string, v int) error {
	if !via.Exists() {
		return nil
	}
	if lead.HospitalID != via.LeadHospitalID || lead.ProtocolID != protocolID || !lead.Active() || lead.Version != v {
		adopted := 0
		if lead.Active() && lead.HospitalID == via.LeadHospitalID {
			adopted = lead.Version
		}
		return Errorf(CodeForbiddenTransition, "alliance %s's lead hospital %s does not follow version %d of protocol %s (its active adoption: %d); it must adopt that version before its members can adopt it through alliance %s",
			via.ID, via.LeadHospitalID, v, protocolID, adopted, via.ID).WithDetail("adoptedVersion", adopted).WithDetail("requestedVersion", v)
	}
	return nil
}

// requireRoute checks that a command on an existing adoption comes the way it was made:
// through the same middle tier's alliance, or directly.
func (a Adoption) requireRoute(via Alliance) error {
	if a.Exists() && a.ViaAllianceID != via.ID {
		if a.ViaAllianceID == "" {
			return Errorf(CodeInvalidInput, "hospital %s adopted protocol %s directly, not through alliance %s", a.HospitalID, a.ProtocolID, truncate(via.ID, 40))
		}
		return Errorf(CodeInvalidInput, "hospital %s adopted protocol %s through alliance %s; load that alliance", a.HospitalID, a.ProtocolID, a.ViaAllianceID)
	}
	return nil
}
