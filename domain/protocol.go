package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// ProtocolAggregate names the protocol aggregate in the event catalogue.
const ProtocolAggregate = "protocol"

// ProtocolStream is the stream of one protocol (诊疗规范): its drafting, every published
// version and every safety withdrawal, so a plan can always name the exact content it
// was built from.
func ProtocolStream(id string) string { return "protocol-" + id }

// Version statuses. A published version may be used by plans and adoptions; a version
// withdrawn for safety may not, and stays withdrawn (a fix is a new version).
const (
	VersionStatusPublished = "published"
	VersionStatusWithdrawn = "withdrawn"
)

// Routes of administration a protocol step may name. The set is closed so that a
// member's pharmacy system can map every value; "other" needs an explanation in Notes.
const (
	RouteOral        = "oral"
	RouteIV          = "iv" // intravenous
	RouteSC          = "sc" // subcutaneous
	RouteIM          = "im" // intramuscular
	RouteIntrathecal = "it" // intrathecal, e.g. CNS prophylaxis with methotrexate
	RouteInhaled     = "inhaled"
	RouteTopical     = "topical"
	RouteRectal      = "rectal"
	RouteSublingual  = "sublingual"
	RouteOther       = "other"
)

var routes = []string{RouteOral, RouteIV, RouteSC, RouteIM, RouteIntrathecal, RouteInhaled,
	RouteTopical, RouteRectal, RouteSublingual, RouteOther}

// Limits of the protocol aggregate. Step ids appear in URLs (/plans/{id}/steps/{stepId}),
// so they are short and use URL-safe characters only.
const (
	maxProtocolTitle = 200
	maxIndication    = 200
	maxSteps         = 200
	maxStepID        = 64
	maxActivity      = 200
	maxDrug          = 200
	maxDose          = 100
	maxNotes         = 1000
	maxEligibility   = 4000
)

// ProtocolStep is one step of a regimen: what happens on which day (counted from day 0
// of the cycle), and for a drug, which dose by which route.
type ProtocolStep struct {
	StepID    string `json:"stepId"`
	DayOffset int    `json:"dayOffset"`
	Activity  string `json:"activity"`
	Drug      string `json:"drug,omitempty"`
	Dose      string `json:"dose,omitempty"` // e.g. "375 mg/m2"
	Route     string `json:"route,omitempty"`
	Notes     string `json:"notes,omitempty"`
}

// ProtocolVersion is one published content of a protocol. Its ContentHash lets anyone
// check that a plan or an adoption uses exactly the content that was published.
type ProtocolVersion struct {
	Number          int
	Steps           []ProtocolStep
	Eligibility     string
	ContentHash     string
	ChangeNote      string
	Status          string
	PublishedAt     time.Time
	WithdrawnAt     time.Time
	WithdrawnReason string
}

// Step returns the step with that id.
func (v ProtocolVersion) Step(stepID string) (ProtocolStep, bool) {
	i := slices.IndexFunc(v.Steps, func(s ProtocolStep) bool { return s.StepID == stepID })
	if i < 0 {
		return ProtocolStep{}, false
	}
	return v.Steps[i], true
}

// Protocol is the state of one protocol of an alliance. The lead department is copied
// from the alliance at drafting (an alliance's lead never changes), so publishing and
// withdrawing need not load the alliance.
type Protocol struct {
	ID               string
	AllianceID       string
	Title            string
	Indication       string
	LeadHospitalID   string
	LeadDepartmentID string
	DraftedAt        time.Time
	Versions         []ProtocolVersion // Versions[i].Number == i+1
	Retired          bool
	RetiredAt        time.Time
	RetiredReason    string
}

// Exists reports whether the protocol has been drafted.
func (p Protocol) Exists() bool { return p.ID != "" }

// Version returns version n (numbers start at 1), whatever its status.
func (p Protocol) Version(n int) (ProtocolVersion, bool) {
	if n < 1 || n > len(p.Versions) {
		return ProtocolVersion{}, false
	}
	return p.Versions[n-1], true
}

// LatestPublished returns the highest-numbered version that is still published (not
// withdrawn). It ignores retirement; RequirePublished also checks that.
func (p Protocol) LatestPublished() (ProtocolVersion, bool) {
	for i := len(p.Versions) - 1; i >= 0; i-- {
		if p.Versions[i].Status == VersionStatusPublished {
			return p.Versions[i], true
		}
	}
	return ProtocolVersion{}, false
}

// RequirePublished returns version n when plans and adoptions may use it: the protocol
// exists and is not retired, and the version is published and not withdrawn. Otherwise
// it returns not_found or forbidden_transition with a message saying which.
func (p Protocol) RequirePublished(n int) (ProtocolVersion, error) {
	if !p.Exists() {
		return ProtocolVersion{}, Errorf(CodeNotFound, "protocol does not exist")
	}
	v, ok := p.Version(n)
	if !ok {
		return ProtocolVersion{}, Errorf(CodeNotFound, "protocol %s has no version %d (latest is %d)", p.ID, n, len(p.Versions)).
			WithDetail("protocolId", p.ID).WithDetail("version", n)
	}
	if p.Retired {
		return ProtocolVersion{}, Errorf(CodeForbiddenTransition, "protocol %s is retired (reason: %s); it can no longer be used", p.ID, p.RetiredReason).
			WithDetail("protocolId", p.ID)
	}
	if v.Status != VersionStatusPublished {
		msg := "protocol %s version %d was withdrawn for safety (reason: %s); use a later published version"
		return ProtocolVersion{}, Errorf(CodeForbiddenTransition, msg, p.ID, n, v.WithdrawnReason).
			WithDetail("protocolId", p.ID).WithDetail("version", n).WithDetail("status", v.Status)
	}
	return v, nil
}

// ProtocolContentHash is the hex SHA-256 of the canonical JSON of a version's content:
// {"steps":[...],"eligibility":"..."} with the fields in ProtocolStep's order, as
// encoding/json writes them. Anyone holding the steps can recompute it.
func ProtocolContentHash(steps []ProtocolStep, eligibility string) string {
	content := struct {
		Steps       []ProtocolStep `json:"steps"`
		Eligibility string         `json:"eligibility"`
	}{Steps: steps, Eligibility: eligibility}
	if content.Steps == nil {
		content.Steps = []ProtocolStep{}
	}
	data, _ := json.Marshal(content) // cannot fail: the content is only strings and ints
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ProtocolDrafted records a new protocol of an alliance, before any version exists.
type ProtocolDrafted struct {
	ProtocolID       string    `json:"protocolId"`
	AllianceID       string    `json:"allianceId"`
	Title            string    `json:"title"`
	Indication       string    `json:"indication"`
	LeadHospitalID   string    `json:"leadHospitalId"`
	LeadDepartmentID string    `json:"leadDepartmentId"`
	DraftedAt        time.Time `json:"draftedAt"`
}

// ProtocolVersionPublished records a new version's full content and its hash.
type ProtocolVersionPublished struct {
	ProtocolID  string         `json:"protocolId"`
	AllianceID  string         `json:"allianceId"`
	Version     int            `json:"version"`
	Steps       []ProtocolStep `json:"steps"`
	Eligibility string         `json:"eligibility"`
	ContentHash string         `json:"contentHash"`
	ChangeNote  string         `json:"changeNote,omitempty"`
	PublishedAt time.Time      `json:"publishedAt"`
}

// ProtocolVersionWithdrawn records that a version must no longer be used, for safety.
type ProtocolVersionWithdrawn struct {
	ProtocolID  string    `json:"protocolId"`
	AllianceID  string    `json:"allianceId"`
	Version     int       `json:"version"`
	Reason      string    `json:"reason"`
	WithdrawnAt time.Time `json:"withdrawnAt"`
}

// ProtocolRetired records that the protocol is no longer published or used.
type ProtocolRetired struct {
	ProtocolID string    `json:"protocolId"`
	AllianceID string    `json:"allianceId"`
	Reason     string    `json:"reason"`
	RetiredAt  time.Time `json:"retiredAt"`
}

// EventType implements Event.
func (ProtocolDrafted) EventType() string { return "ProtocolDrafted" }

// EventType implements Event.
func (ProtocolVersionPublished) EventType() string { return "ProtocolVersionPublished" }

// EventType implements Event.
func (ProtocolVersionWithdrawn) EventType() string { return "ProtocolVersionWithdrawn" }

// EventType implements Event.
func (ProtocolRetired) EventType() string { return "ProtocolRetired" }

func init() {
	Register[ProtocolDrafted](ProtocolAggregate, 1, nil)
	Register[ProtocolVersionPublished](ProtocolAggregate, 1, nil)
	Register[ProtocolVersionWithdrawn](ProtocolAggregate, 1, nil)
	Register[ProtocolRetired](ProtocolAggregate, 1, nil)
}

// Evolve folds one event into the protocol's state.
func (p Protocol) Evolve(e Event) Protocol {
	switch e := e.(type) {
	case ProtocolDrafted:
		p = Protocol{ID: e.ProtocolID, AllianceID: e.AllianceID, Title: e.Title, Indication: e.Indication,
			LeadHospitalID: e.LeadHospitalID, LeadDepartmentID: e.LeadDepartmentID, DraftedAt: e.DraftedAt}
	case ProtocolVersionPublished:
		p.Versions = append(slices.Clone(p.Versions), ProtocolVersion{Number: e.Version,
			Steps: slices.Clone(e.Steps), Eligibility: e.Eligibility, ContentHash: e.ContentHash,
			ChangeNote: e.ChangeNote, Status: VersionStatusPublished, PublishedAt: e.PublishedAt})
	case ProtocolVersionWithdrawn:
		if e.Version >= 1 && e.Version <= len(p.Versions) {
			p.Versions = slices.Clone(p.Versions)
			v := &p.Versions[e.Version-1]
			v.Status, v.WithdrawnAt, v.WithdrawnReason = VersionStatusWithdrawn, e.WithdrawnAt, e.Reason
		}
	case ProtocolRetired:
		p.Retired, p.RetiredAt, p.RetiredReason = true, e.RetiredAt, e.Reason
	}
	return p
}

// ProtocolCommand is a command handled by the protocol aggregate.
type ProtocolCommand interface{ protocolCommand() }

// DraftProtocol creates a protocol in Alliance (its state, loaded by the caller). Only
// the alliance's lead department may draft.
type DraftProtocol struct {
	ProtocolID string
	Alliance   Alliance
	Title      string // e.g. "R-CHOP 方案"
	Indication string // e.g. "弥漫大B细胞淋巴瘤 (DLBCL)"
	By         Actor
	At         time.Time
}

// PublishProtocolVersion publishes the next version (1, 2, 3 ...). Steps are in
// schedule order (day offsets never decrease); ChangeNote says what changed and is not
// part of the content hash. Only the lead department may publish.
type PublishProtocolVersion struct {
	ProtocolID  string
	Steps       []ProtocolStep
	Eligibility string
	ChangeNote  string
	By          Actor
	At          time.Time
}

// WithdrawProtocolVersion withdraws a published version for safety. It stays possible
// after retirement, because a safety finding matters as long as any plan uses the version.
type WithdrawProtocolVersion struct {
	ProtocolID string
	Version    int
	Reason     string
	By         Actor
	At         time.Time
}

// RetireProtocol ends the protocol: no more versions are published and no new plan or
// adoption may use it.
type RetireProtocol struct {
	ProtocolID string
	Reason     string
	By         Actor
	At         time.Time
}

func (DraftProtocol) protocolCommand()           {}
func (PublishProtocolVersion) protocolCommand()  {}
func (WithdrawProtocolVersion) protocolCommand() {}
func (RetireProtocol) protocolCommand()          {}

// DecideProtocol decides a protocol command against the protocol's current state.
func DecideProtocol(p Protocol, c ProtocolCommand) ([]Event, error) {
	switch c := c.(type) {
	case DraftProtocol:
		return decideDraftProtocol(p, c)
	case PublishProtocolVersion:
		return decidePublishProtocolVersion(p, c)
	case WithdrawProtocolVersion:
		if err := p.requireLeadAction(c.ProtocolID, c.By, c.At, "withdraw a version"); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxReason); err != nil {
			return nil, err
		}
		v, ok := p.Version(c.Version)
		if !ok {
			return nil, Errorf(CodeNotFound, "protocol %s has no version %d (latest is %d)", p.ID, c.Version, len(p.Versions)).
				WithDetail("version", c.Version)
		}
		if v.Status != VersionStatusPublished {
			return nil, Errorf(CodeForbiddenTransition, "protocol %s version %d is already withdrawn", p.ID, c.Version).
				WithDetail("version", c.Version).WithDetail("status", v.Status)
		}
		return []Event{ProtocolVersionWithdrawn{ProtocolID: p.ID, AllianceID: p.AllianceID, Version: c.Version,
			Reason: c.Reason, WithdrawnAt: c.At}}, nil
	case RetireProtocol:
		if err := p.requireLeadAction(c.ProtocolID, c.By, c.At, "retire it"); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxReason); err != nil {
			return nil, err
		}
		if p.Retired {
			return nil, Errorf(CodeForbiddenTransition, "protocol %s is already retired", p.ID)
		}
		return []Event{ProtocolRetired{ProtocolID: p.ID, AllianceID: p.AllianceID, Reason: c.Reason, RetiredAt: c.At}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown protocol command %T", c)
}

func decideDraftProtocol(p Protocol, c DraftProtocol) ([]Event, error) {
	if p.Exists() {
		return nil, Errorf(CodeAlreadyExists, "protocol %s already exists", c.ProtocolID)
	}
	if err := firstErr(
		ValidateID("protocolId", c.ProtocolID),
		required("title", c.Title, maxProtocolTitle),
		required("indication", c.Indication, maxIndication),
		validateCommandTime(c.At),
	); err != nil {
		return nil, err
	}
	if !c.Alliance.Exists() {
		return nil, Errorf(CodeNotFound, "the alliance of the protocol does not exist")
	}
	if !c.Alliance.IsLead(c.By.HospitalID, c.By.DepartmentID) {
		return nil, c.Alliance.leadOnly("draft protocols")
	}
	return []Event{ProtocolDrafted{ProtocolID: c.ProtocolID, AllianceID: c.Alliance.ID, Title: c.Title,
		Indication: c.Indication, LeadHospitalID: c.Alliance.LeadHospitalID,
		LeadDepartmentID: c.By.DepartmentID, DraftedAt: c.At}}, nil
}

func decidePublishProtocolVersion(p Protocol, c PublishProtocolVersion) ([]Event, error) {
	if err := p.requireLeadAction(c.ProtocolID, c.By, c.At, "publish versions"); err != nil {
		return nil, err
	}
	if err := firstErr(
		validateSteps(c.Steps),
		required("eligibility", c.Eligibility, maxEligibility),
		optional("changeNote", c.ChangeNote, maxNotes),
	); err != nil {
		return nil, err
	}
	if p.Retired {
		return nil, Errorf(CodeForbiddenTransition, "protocol %s is retired; draft a new protocol instead of publishing to it", p.ID)
	}
	hash := ProtocolContentHash(c.Steps, c.Eligibility)
	// Content withdrawn for safety never returns under a new number; going back to an
	// earlier published content (a rollback) is allowed, repeating the latest is not.
	for _, v := range p.Versions {
		if v.Status == VersionStatusWithdrawn && v.ContentHash == hash {
			return nil, Errorf(CodeForbiddenTransition, "this content is that of version %d, withdrawn for safety (reason: %s); it cannot be published again",
				v.Number, v.WithdrawnReason).WithDetail("version", v.Number).WithDetail("contentHash", hash)
		}
	}
	if n := len(p.Versions); n > 0 && p.Versions[n-1].ContentHash == hash {
		return nil, Errorf(CodeAlreadyExists, "protocol %s version %d already has exactly this content; change the steps or eligibility to publish a new version", p.ID, n).
			WithDetail("version", n).WithDetail("contentHash", hash)
	}
	return []Event{ProtocolVersionPublished{ProtocolID: p.ID, AllianceID: p.AllianceID, Version: len(p.Versions) + 1,
		Steps: slices.Clone(c.Steps), Eligibility: c.Eligibility, ContentHash: hash, ChangeNote: c.ChangeNote,
		PublishedAt: c.At}}, nil
}

// requireLeadAction runs the checks shared by the commands on an existing protocol.
func (p Protocol) requireLeadAction(protocolID string, by Actor, at time.Time, what string) error {
	if err := ValidateID("protocolId", protocolID); err != nil {
		return err
	}
	if !p.Exists() {
		return Errorf(CodeNotFound, "protocol %s does not exist", protocolID)
	}
	if err := validateCommandTime(at); err != nil {
		return err
	}
	if by.HospitalID == "" || by.DepartmentID == "" || by.HospitalID != p.LeadHospitalID || by.DepartmentID != p.LeadDepartmentID {
		return Errorf(CodeForbidden, "only the lead department of the protocol's alliance may %s", what)
	}
	return nil
}

// validateSteps checks every step and that the steps are in schedule order with
// unique ids.
func validateSteps(steps []ProtocolStep) error {
	if len(steps) == 0 {
		return Errorf(CodeInvalidInput, "a protocol version needs at least one step")
	}
	if len(steps) > maxSteps {
		return Errorf(CodeInvalidInput, "a protocol version has %d steps; the limit is %d", len(steps), maxSteps)
	}
	seen := map[string]bool{}
	for i, s := range steps {
		if err := validateStep(i, s); err != nil {
			return err
		}
		if seen[s.StepID] {
			return Errorf(CodeInvalidInput, "step id %q is used twice; step ids must be unique in a version", s.StepID)
		}
		seen[s.StepID] = true
		if i > 0 && s.DayOffset < steps[i-1].DayOffset {
			return Errorf(CodeInvalidInput, "step %q (day %d) comes after step %q (day %d); list steps in schedule order",
				s.StepID, s.DayOffset, steps[i-1].StepID, steps[i-1].DayOffset)
		}
	}
	return nil
}

func validateStep(i int, s ProtocolStep) error {
	if err := validateStepID(s.StepID); err != nil {
		return Errorf(CodeInvalidInput, "step %d: %s", i+1, ErrorMessage(err))
	}
	if err := checkDayOffset("dayOffset", s.DayOffset); err != nil {
		return Errorf(CodeInvalidInput, "step %q: %s", s.StepID, ErrorMessage(err))
	}
	err := firstErr(
		required("activity", s.Activity, maxActivity),
		optional("drug", s.Drug, maxDrug),
		optional("dose", s.Dose, maxDose),
		optional("notes", s.Notes, maxNotes),
	)
	if err == nil && s.Drug != "" {
		err = firstErr(required("dose", s.Dose, maxDose), validateRoute(s.Route))
	}
	if err == nil && s.Drug == "" && (s.Dose != "" || s.Route != "") {
		err = Errorf(CodeInvalidInput, "dose and route belong to a drug; name the drug or leave them empty")
	}
	if err != nil {
		return Errorf(CodeInvalidInput, "step %q: %s", s.StepID, ErrorMessage(err))
	}
	return nil
}

// validateStepID accepts 1 to 64 ASCII letters, digits, '-', '_' and '.', so a step id
// can appear in a URL path unescaped.
func validateStepID(id string) error {
	if id == "" {
		return Errorf(CodeInvalidInput, "stepId is required")
	}
	if len(id) > maxStepID {
		return Errorf(CodeInvalidInput, "stepId %q is longer than %d characters", truncate(id, 40), maxStepID)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return Errorf(CodeInvalidInput, "stepId %q may contain only letters, digits, '-', '_' and '.'", truncate(id, 40))
		}
	}
	return nil
}

func validateRoute(route string) error {
	if !slices.Contains(routes, route) {
		return Errorf(CodeInvalidInput, "route %q must be one of %v", truncate(route, 20), routes)
	}
	return nil
}
