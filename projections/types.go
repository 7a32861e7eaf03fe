package projections

import (
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// The view documents. They are stored as JSON in Redis and returned by Queries as they
// are, so their JSON field names are the HTTP API's (camelCase). Every document records
// the global position (and, for aggregate documents, the stream version) of the last
// event applied to it, so a client can tell how fresh it is.

// HospitalView is a hospital's directory entry.
type HospitalView struct {
	HospitalID  string              `json:"hospitalId"`
	Name        string              `json:"name"`
	RegionCode  string              `json:"regionCode"`
	Level       string              `json:"level"`
	Departments []domain.Department `json:"departments"`
	Version     uint64              `json:"version"`
	Position    eventstore.Position `json:"position"`
}

// LeadView names an alliance's lead: one department of one hospital.
type LeadView struct {
	HospitalID   string `json:"hospitalId"`
	HospitalName string `json:"hospitalName,omitempty"`
	DepartmentID string `json:"departmentId"`
	RegionCode   string `json:"regionCode,omitempty"`
}

// MemberCounts counts an alliance's admissions by status.
type MemberCounts struct {
	Active    int `json:"active"`
	Suspended int `json:"suspended"`
	Withdrawn int `json:"withdrawn"`
}

// AllianceView is an alliance's header: who leads it and how many members it has.
type AllianceView struct {
	AllianceID string   `json:"allianceId"`
	Name       string   `json:"name"`
	Specialty  string   `json:"specialty"`
	Kind       string   `json:"kind"`
	Lead       LeadView `json:"lead"`
	// LeadDepartments are every department leading the alliance, the founding one first.
	LeadDepartments []string            `json:"leadDepartments,omitempty"`
	FoundedAt       time.Time           `json:"foundedAt"`
	Members         MemberCounts        `json:"members"`
	Version         uint64              `json:"version"`
	Position        eventstore.Position `json:"position"`
}

// MemberView is one hospital's admission to an alliance (the roster's row).
type MemberView struct {
	HospitalID      string              `json:"hospitalId"`
	HospitalName    string              `json:"hospitalName"`
	Tier            string              `json:"tier"`
	Status          string              `json:"status"`
	RegionCode      string              `json:"regionCode"`
	AdmittedAt      time.Time           `json:"admittedAt"`
	StatusReason    string              `json:"statusReason,omitempty"`
	StatusChangedAt *time.Time          `json:"statusChangedAt,omitempty"`
	WithdrawnByLead bool                `json:"withdrawnByLead,omitempty"`
	Position        eventstore.Position `json:"position"`
}

// ProtocolVersionView is one published version of a protocol, with its content.
type ProtocolVersionView struct {
	Version         int                   `json:"version"`
	Status          string                `json:"status"`
	ContentHash     string                `json:"contentHash"`
	ChangeNote      string                `json:"changeNote,omitempty"`
	Eligibility     string                `json:"eligibility,omitempty"`
	Steps           []domain.ProtocolStep `json:"steps"`
	PublishedAt     time.Time             `json:"publishedAt"`
	WithdrawnAt     *time.Time            `json:"withdrawnAt,omitempty"`
	WithdrawnReason string                `json:"withdrawnReason,omitempty"`
}

// ProtocolView is one protocol of an alliance's catalogue. CurrentVersion is the
// highest version still published (0 when none is).
type ProtocolView struct {
	ProtocolID     string                `json:"protocolId"`
	AllianceID     string                `json:"allianceId"`
	Title          string                `json:"title"`
	Indication     string                `json:"indication"`
	DraftedAt      time.Time             `json:"draftedAt"`
	CurrentVersion int                   `json:"currentVersion"`
	Versions       []ProtocolVersionView `json:"versions"`
	Retired        bool                  `json:"retired"`
	RetiredAt      *time.Time            `json:"retiredAt,omitempty"`
	RetiredReason  string                `json:"retiredReason,omitempty"`
	Version        uint64                `json:"version"`
	Position       eventstore.Position   `json:"position"`
}

// AdoptionView is one member's adoption of one protocol.
type AdoptionView struct {
	ProtocolID  string `json:"protocolId"`
	HospitalID  string `json:"hospitalId"`
	Version     int    `json:"version"`
	ContentHash string `json:"contentHash"`
	// ViaAllianceID is the middle tier's alliance of an adoption through it.
	ViaAllianceID   string                  `json:"viaAllianceId,omitempty"`
	Status          string                  `json:"status"`
	Deviations      []domain.LocalDeviation `json:"deviations"`
	AdoptedAt       time.Time               `json:"adoptedAt"`
	UpdatedAt       time.Time               `json:"updatedAt"`
	WithdrawnAt     *time.Time              `json:"withdrawnAt,omitempty"`
	WithdrawnReason string                  `json:"withdrawnReason,omitempty"`
	Position        eventstore.Position     `json:"position"`
}

// PlanProtocolRef is the protocol version a plan follows.
type PlanProtocolRef struct {
	ProtocolID  string `json:"protocolId"`
	Version     int    `json:"version"`
	Title       string `json:"title"`
	ContentHash string `json:"contentHash"`
}

// PlanRevisionView is one numbered revision of a plan.
type PlanRevisionView struct {
	Revision    int    `json:"revision"`
	Reason      string `json:"reason"`
	FromVersion int    `json:"fromVersion"`
	ToVersion   int    `json:"toVersion"`
	// VersionChanges are the step changes the move onto ToVersion brought; Changes the
	// lead's own changes on top.
	VersionChanges []domain.PlanStepChange `json:"versionChanges,omitempty"`
	Changes        []domain.PlanStepChange `json:"changes,omitempty"`
	FlagCleared    bool                    `json:"flagCleared,omitempty"`
	By             domain.Actor            `json:"by"`
	At             time.Time               `json:"at"`
}

// PlanDeviationView is a deviation the responsible hospital reported.
type PlanDeviationView struct {
	DeviationID    string     `json:"deviationId"`
	StepID         string     `json:"stepId,omitempty"`
	Description    string     `json:"description"`
	Severity       string     `json:"severity"`
	HospitalID     string     `json:"hospitalId"`
	ReportedAt     time.Time  `json:"reportedAt"`
	Acknowledged   bool       `json:"acknowledged"`
	AckNote        string     `json:"ackNote,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt,omitempty"`
}

// PlanFlagView is a flag raised on a plan: its protocol version was withdrawn. Active
// until a revision onto a published version clears it.
type PlanFlagView struct {
	Kind       string     `json:"kind"` // "protocol_version_withdrawn"
	ProtocolID string     `json:"protocolId"`
	Version    int        `json:"version"`
	Reason     string     `json:"reason"`
	At         time.Time  `json:"at"`
	Active     bool       `json:"active"`
	ClearedAt  *time.Time `json:"clearedAt,omitempty"`
}

// PlanTransferView is a handover (down to a member), a hand-on (down from a middle tier
// to a member of its own alliance, ViaAllianceID) or an escalation (one link up).
type PlanTransferView struct {
	FromHospitalID string    `json:"fromHospitalId"`
	ToHospitalID   string    `json:"toHospitalId"`
	ViaAllianceID  string    `json:"viaAllianceId,omitempty"`
	AdoptedVersion int       `json:"adoptedVersion,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	Urgent         bool      `json:"urgent,omitempty"`
	At             time.Time `json:"at"`
}

// PlanChainLink is one link of a plan's current chain of responsibility: a hospital
// and the alliance through which it holds the plan.
type PlanChainLink struct {
	HospitalID string `json:"hospitalId"`
	AllianceID string `json:"allianceId"`
}

// How a period of responsibility for a plan began.
const (
	CustodyInitiated  = "initiated"
	CustodyHandover   = "handover"
	CustodyHandOn     = "hand_on"
	CustodyEscalation = "escalation"
)

// PlanCustodyView is one period in which one hospital was responsible for the plan:
// through which alliance, how it began, who passed the patient (ByHospitalID, empty
// for the initiation), from when and until when (nil while it lasts; the plan's close
// ends the last period).
type PlanCustodyView struct {
	HospitalID   string     `json:"hospitalId"`
	AllianceID   string     `json:"allianceId"`
	How          string     `json:"how"`
	ByHospitalID string     `json:"byHospitalId,omitempty"`
	From         time.Time  `json:"from"`
	Until        *time.Time `json:"until,omitempty"`
}

// NextStepView is the pending step due first.
type NextStepView struct {
	StepID   string    `json:"stepId"`
	DueDate  time.Time `json:"dueDate"`
	Activity string    `json:"activity"`
}

// PlanView is one patient's shared treatment plan as the HTTP API returns it.
type PlanView struct {
	PlanID                string                  `json:"planId"`
	AllianceID            string                  `json:"allianceId"`
	PatientRef            string                  `json:"patientRef"`
	Lead                  LeadView                `json:"lead"`
	Protocol              PlanProtocolRef         `json:"protocol"`
	ResponsibleHospitalID string                  `json:"responsibleHospitalId"`
	Status                string                  `json:"status"`
	StartDate             time.Time               `json:"startDate"`
	Steps                 []domain.PlanStep       `json:"steps"`
	NextStep              *NextStepView           `json:"nextStep,omitempty"`
	PendingSteps          int                     `json:"pendingSteps"`
	LocalDeviations       []domain.LocalDeviation `json:"localDeviations,omitempty"`
	Revision              int                     `json:"revision"`
	Revisions             []PlanRevisionView      `json:"revisions"`
	Deviations            []PlanDeviationView     `json:"deviations"`
	OpenDeviations        int                     `json:"openDeviations"`
	Flagged               bool                    `json:"flagged"`
	Flags                 []PlanFlagView          `json:"flags"`
	Handovers             []PlanTransferView      `json:"handovers"`
	Escalations           []PlanTransferView      `json:"escalations"`
	// HandOns are the plan's hand-ons by a middle tier (three tiers).
	HandOns []PlanTransferView `json:"handOns,omitempty"`
	// Chain is the current line of responsibility, lead first, the responsible
	// hospital last (中山, 徐汇, 枫林): an escalation goes to the link above the last.
	Chain []PlanChainLink `json:"chain,omitempty"`
	// Responsibility is who was responsible when: every period of the plan, in order,
	// with how it began and who passed the patient on.
	Responsibility []PlanCustodyView   `json:"responsibility,omitempty"`
	InitiatedAt    time.Time           `json:"initiatedAt"`
	ClosedAt       *time.Time          `json:"closedAt,omitempty"`
	CloseReason    string              `json:"closeReason,omitempty"`
	Version        uint64              `json:"version"`
	Position       eventstore.Position `json:"position"`
}

// PlanSummary is a plan's row in a hospital's work list.
type PlanSummary struct {
	PlanID                string              `json:"planId"`
	AllianceID            string              `json:"allianceId"`
	PatientRef            string              `json:"patientRef"`
	ProtocolID            string              `json:"protocolId"`
	ProtocolVersion       int                 `json:"protocolVersion"`
	ProtocolTitle         string              `json:"protocolTitle"`
	LeadHospitalID        string              `json:"leadHospitalId"`
	ResponsibleHospitalID string              `json:"responsibleHospitalId"`
	Status                string              `json:"status"`
	NextStep              *NextStepView       `json:"nextStep,omitempty"`
	PendingSteps          int                 `json:"pendingSteps"`
	OpenDeviations        int                 `json:"openDeviations"`
	Flagged               bool                `json:"flagged"`
	UrgentEscalation      bool                `json:"urgentEscalation,omitempty"`
	Version               uint64              `json:"version"`
	Position              eventstore.Position `json:"position"`
}

// PlanDoc is what Queries.Plan returns: the plan view's JSON, to send as it is, and the
// facts the HTTP layer needs to decide whether the caller may read it. JSON may be
// shared with other reads of the same plan (Queries caches it): read it, never modify it.
type PlanDoc struct {
	JSON           []byte
	Responsible    string
	Lead           string
	LeadDepartment string
	AllianceID     string
	Version        uint64
	Position       eventstore.Position
	// FormerHolders are the hospitals that were responsible for the plan before (a
	// hospital that held a plan keeps reading its whole history).
	FormerHolders []string
}

// DispatchView is one expert dispatch.
type DispatchView struct {
	DispatchID           string              `json:"dispatchId"`
	AllianceID           string              `json:"allianceId"`
	RequestingHospitalID string              `json:"requestingHospitalId"`
	LeadHospitalID       string              `json:"leadHospitalId"`
	LeadDepartmentID     string              `json:"leadDepartmentId"`
	Kind                 string              `json:"kind"`
	Specialty            string              `json:"specialty"`
	Window               domain.Window       `json:"window"`
	Notes                string              `json:"notes,omitempty"`
	Status               string              `json:"status"`
	ExpertID             string              `json:"expertId,omitempty"`
	ExpertName           string              `json:"expertName,omitempty"`
	RequestedAt          time.Time           `json:"requestedAt"`
	AssignedAt           *time.Time          `json:"assignedAt,omitempty"`
	CheckedInAt          *time.Time          `json:"checkedInAt,omitempty"`
	Reports              int                 `json:"reports"`
	Totals               domain.VisitReport  `json:"totals"`
	CompletedAt          *time.Time          `json:"completedAt,omitempty"`
	CancelReason         string              `json:"cancelReason,omitempty"`
	CancelledByLead      bool                `json:"cancelledByLead,omitempty"`
	CancelledAt          *time.Time          `json:"cancelledAt,omitempty"`
	Version              uint64              `json:"version"`
	Position             eventstore.Position `json:"position"`
}

// CalendarEntry is one live booking of an expert's time. LeadHospitalID and
// LeadDepartmentID name the lead that dispatches the expert (empty in entries projected
// before they were recorded; a rebuild fills them).
type CalendarEntry struct {
	DispatchID       string              `json:"dispatchId"`
	Window           domain.Window       `json:"window"`
	AllianceID       string              `json:"allianceId,omitempty"`
	HospitalID       string              `json:"hospitalId,omitempty"`
	LeadHospitalID   string              `json:"leadHospitalId,omitempty"`
	LeadDepartmentID string              `json:"leadDepartmentId,omitempty"`
	Kind             string              `json:"kind,omitempty"`
	DispatchStatus   string              `json:"dispatchStatus,omitempty"`
	Position         eventstore.Position `json:"position"`
}

// PractitionerView is a practitioner's directory entry: home hospital and department,
// name, professional title and specialties, and whether the practitioner may be booked.
type PractitionerView struct {
	PractitionerID string              `json:"practitionerId"`
	HospitalID     string              `json:"hospitalId"`
	DepartmentID   string              `json:"departmentId"`
	Name           string              `json:"name"`
	Title          string              `json:"title"`
	Specialties    []string            `json:"specialties"`
	Active         bool                `json:"active"`
	StatusReason   string              `json:"statusReason,omitempty"`
	RegisteredAt   time.Time           `json:"registeredAt"`
	UpdatedAt      time.Time           `json:"updatedAt"`
	Version        uint64              `json:"version"`
	Position       eventstore.Position `json:"position"`
}

// ConsultView is one remote consult.
type ConsultView struct {
	ConsultID            string              `json:"consultId"`
	AllianceID           string              `json:"allianceId"`
	RequestingHospitalID string              `json:"requestingHospitalId"`
	LeadHospitalID       string              `json:"leadHospitalId"`
	LeadDepartmentID     string              `json:"leadDepartmentId"`
	CrossRegion          bool                `json:"crossRegion"`
	Specialty            string              `json:"specialty"`
	Urgency              string              `json:"urgency"`
	Question             string              `json:"question"`
	Attachments          []domain.Attachment `json:"attachments,omitempty"`
	PatientRef           string              `json:"patientRef"`
	RequestedAt          time.Time           `json:"requestedAt"`
	Deadline             time.Time           `json:"deadline"`
	Status               string              `json:"status"`
	SpecialistID         string              `json:"specialistId,omitempty"`
	SpecialistName       string              `json:"specialistName,omitempty"`
	AcceptedAt           *time.Time          `json:"acceptedAt,omitempty"`
	DeclineReason        string              `json:"declineReason,omitempty"`
	Opinion              *domain.Opinion     `json:"opinion,omitempty"`
	OpinionGivenAt       *time.Time          `json:"opinionGivenAt,omitempty"`
	WithinDeadline       *bool               `json:"withinDeadline,omitempty"`
	Amendments           int                 `json:"amendments"`
	Outcome              string              `json:"outcome,omitempty"`
	ClosedAt             *time.Time          `json:"closedAt,omitempty"`
	CancelReason         string              `json:"cancelReason,omitempty"`
	EndedAt              *time.Time          `json:"endedAt,omitempty"`
	// Overdue is computed when read, from Deadline and the reader's clock.
	Overdue  bool                `json:"overdue"`
	Version  uint64              `json:"version"`
	Position eventstore.Position `json:"position"`
}

// ConsultSummary is a consult's row in a hospital's or an alliance's list. Role says,
// in a hospital's list, whether the hospital requested the consult or received it (as
// the lead).
type ConsultSummary struct {
	ConsultID            string `json:"consultId"`
	AllianceID           string `json:"allianceId"`
	RequestingHospitalID string `json:"requestingHospitalId"`
	LeadHospitalID       string `json:"leadHospitalId"`
	// LeadDepartmentID is the lead department the consult is addressed to: its queue.
	LeadDepartmentID string              `json:"leadDepartmentId,omitempty"`
	Role             string              `json:"role,omitempty"`
	Urgency          string              `json:"urgency"`
	Specialty        string              `json:"specialty"`
	CrossRegion      bool                `json:"crossRegion"`
	Status           string              `json:"status"`
	RequestedAt      time.Time           `json:"requestedAt"`
	Deadline         time.Time           `json:"deadline"`
	OpinionGivenAt   *time.Time          `json:"opinionGivenAt,omitempty"`
	Overdue          bool                `json:"overdue"`
	Position         eventstore.Position `json:"position"`
}

// AdoptionCell is one member x protocol cell of the adoption matrix.
type AdoptionCell struct {
	ProtocolID     string                  `json:"protocolId"`
	AdoptedVersion int                     `json:"adoptedVersion"` // 0: not adopted
	LatestVersion  int                     `json:"latestVersion"`  // the protocol's current published version
	Status         string                  `json:"status"`         // not_adopted, up_to_date, behind, version_withdrawn, withdrawn
	Deviations     []domain.LocalDeviation `json:"deviations"`
}

// AdoptionRow is one member's row of the adoption matrix.
type AdoptionRow struct {
	HospitalID   string `json:"hospitalId"`
	HospitalName string `json:"hospitalName"`
	Tier         string `json:"tier"`
	MemberStatus string `json:"memberStatus"`
	// ViaAllianceID names the middle tier's alliance of a hospital that is no member
	// but follows the alliance's protocols through it (three tiers: a community centre
	// of 徐汇's alliance in 中山's matrix); such rows come after the members'.
	ViaAllianceID string         `json:"viaAllianceId,omitempty"`
	Cells         []AdoptionCell `json:"cells"`
}

// AdoptionMatrix is an alliance's members against its protocols.
type AdoptionMatrix struct {
	AllianceID string        `json:"allianceId"`
	Protocols  []ProtocolRef `json:"protocols"`
	Rows       []AdoptionRow `json:"rows"`
}

// ProtocolRef is a protocol column of the adoption matrix.
type ProtocolRef struct {
	ProtocolID    string `json:"protocolId"`
	Title         string `json:"title"`
	LatestVersion int    `json:"latestVersion"`
	Retired       bool   `json:"retired"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
