package domain

import (
	"slices"
	"time"
)

// DispatchAggregate names the expert-dispatch aggregate (专家下沉) in the event catalogue.
const DispatchAggregate = "dispatch"

// DispatchStream is the stream of one expert dispatch: the member's request, the lead's
// assignment of an expert, the expert's check-in, visit reports and the outcome.
func DispatchStream(id string) string { return "dispatch-" + id }

// Dispatch kinds: what the expert goes to the member hospital to do.
const (
	DispatchClinic          = "clinic"           // 门诊: the expert holds a clinic session
	DispatchWardRound       = "ward_round"       // 查房: the expert joins the ward round
	DispatchSurgeryGuidance = "surgery_guidance" // 手术指导: the expert guides an operation on site
	DispatchTeaching        = "teaching"         // 带教: lectures and bedside teaching
	DispatchWorkstation     = "workstation"      // 名医工作站: a standing expert workstation at the member
)

var dispatchKinds = []string{DispatchClinic, DispatchWardRound, DispatchSurgeryGuidance, DispatchTeaching, DispatchWorkstation}

// Dispatch statuses. requested -> assigned -> in_progress -> completed is the normal
// path; cancelled is reachable from every status before completed.
const (
	DispatchStatusRequested  = "requested"   // a member asked for a visit; no expert yet
	DispatchStatusAssigned   = "assigned"    // the lead assigned an expert (booked on the expert's schedule)
	DispatchStatusInProgress = "in_progress" // the expert checked in at the member hospital
	DispatchStatusCompleted  = "completed"   // the visit is over and reported
	DispatchStatusCancelled  = "cancelled"   // called off before completion
)

// Limits of a dispatch window. A single visit (clinic, ward round, surgery guidance,
// teaching) lasts hours or days; a standing workstation runs for months, so it may span
// up to a year. Longer windows are refused because they would block the expert's
// calendar indefinitely: a workstation that continues is requested again for next year.
const (
	MaxVisitWindow       = 14 * 24 * time.Hour
	MaxWorkstationWindow = 366 * 24 * time.Hour
	// CheckInEarly is how long before the window starts an expert may check in (arriving
	// the evening before a morning clinic is normal); check-in after the window has ended
	// is refused, the visit is then cancelled or requested again.
	CheckInEarly = 12 * time.Hour
	// maxVisitCount bounds each count in a visit report: far above any real report (a
	// whole county programme in the seeds counted 860 patients in months), low enough to
	// catch a mistyped figure.
	maxVisitCount = 100000
)

// Text limits of the dispatch aggregate, in runes.
const (
	maxDispatchNotes   = 2000
	maxDispatchSummary = 4000
	maxPersonName      = 100
)

// Window is a half-open interval of time [Start, End): a window ending at 12:00 and one
// starting at 12:00 do not overlap, so an expert can be booked back to back.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Duration is the length of the window.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// Overlaps reports whether the two half-open windows share any instant.
func (w Window) Overlaps(o Window) bool { return w.Start.Before(o.End) && o.Start.Before(w.End) }

// Equal reports whether both windows start and end at the same instants (whatever
// their time zones).
func (w Window) Equal(o Window) bool { return w.Start.Equal(o.Start) && w.End.Equal(o.End) }

// String formats the window for error messages in RFC 3339, UTC.
func (w Window) String() string {
	return w.Start.UTC().Format(time.RFC3339) + "/" + w.End.UTC().Format(time.RFC3339)
}

// validateWindow checks that the window has both ends, ends after it starts and is no
// longer than max.
func validateWindow(w Window, max time.Duration, kind string) error {
	if w.Start.IsZero() || w.End.IsZero() {
		return Errorf(CodeInvalidInput, "window needs both start and end")
	}
	if err := firstErr(checkInstant("window start", w.Start), checkInstant("window end", w.End)); err != nil {
		return err
	}
	if !w.End.After(w.Start) {
		return Errorf(CodeInvalidInput, "window end %s must be after its start %s",
			w.End.UTC().Format(time.RFC3339), w.Start.UTC().Format(time.RFC3339))
	}
	if w.Duration() > max {
		return Errorf(CodeInvalidInput, "a %s window may last at most %d days; %s lasts %s",
			kind, int(max/(24*time.Hour)), w, w.Duration()).
			WithDetail("maxDays", int(max/(24*time.Hour)))
	}
	return nil
}

// VisitReport is what an expert reports about a visit: the work done at the member
// hospital, counted so the alliance can show what dispatching achieved (e.g. "860
// patients seen by the county hospital's expert group"). A standing workstation reports
// periodically; the dispatch keeps the running totals. Counts only: a visit report
// never names a patient. PatientsAdmitted (收治) was added later: a report stored before
// it decodes with 0, which is what such a report counted.
type VisitReport struct {
	PatientsSeen     int    `json:"patientsSeen"`
	PatientsAdmitted int    `json:"patientsAdmitted,omitempty"`
	ProceduresGuided int    `json:"proceduresGuided"`
	TeachingSessions int    `json:"teachingSessions"`
	Summary          string `json:"summary"`
}

// Dispatch is the state of one expert dispatch.
//
// The lead department recorded at request time (the one the request was addressed to)
// decides every later step: the lead hospital does not change and a lead department is
// never removed, so the dispatch does not need the alliance reloaded for each command. Membership is checked once, at request; suspending a member later does not
// void its dispatches, the lead cancels the ones it no longer wants to serve.
type Dispatch struct {
	ID                   string
	AllianceID           string
	RequestingHospitalID string
	LeadHospitalID       string
	LeadDepartmentID     string
	Kind                 string
	Specialty            string
	Window               Window
	Notes                string
	RequestedAt          time.Time
	Status               string
	ExpertID             string
	ExpertName           string
	AssignedAt           time.Time
	CheckedInAt          time.Time
	Reports              int         // number of visit reports filed
	Totals               VisitReport // running totals of all reports (Summary is the latest)
	CompletedAt          time.Time
	CancelReason         string
	CancelledAt          time.Time
	// UpdatedAt is the time of the latest event. A command dated before it is refused:
	// within one dispatch, time never runs backwards (a report before the check-in, a
	// completion before the report would make the record contradict itself).
	UpdatedAt time.Time
}

// Exists reports whether the dispatch has been requested.
func (d Dispatch) Exists() bool { return d.ID != "" }

// Open reports whether the dispatch can still change: neither completed nor cancelled.
func (d Dispatch) Open() bool {
	return d.Exists() && d.Status != DispatchStatusCompleted && d.Status != DispatchStatusCancelled
}

// HoldsBooking reports whether the dispatch, as it stands, needs expertID's booking:
// the expert is assigned and the dispatch is not cancelled (a completed visit keeps its
// booking). The service's reconciliation releases a live booking whose dispatch does not
// hold it, see ExpertSchedule.
func (d Dispatch) HoldsBooking(expertID string) bool {
	return d.Exists() && expertID != "" && d.ExpertID == expertID && d.Status != DispatchStatusCancelled
}

// DispatchRequested records a member hospital's request for an expert visit.
type DispatchRequested struct {
	DispatchID           string    `json:"dispatchId"`
	AllianceID           string    `json:"allianceId"`
	RequestingHospitalID string    `json:"requestingHospitalId"`
	LeadHospitalID       string    `json:"leadHospitalId"`
	LeadDepartmentID     string    `json:"leadDepartmentId"`
	Kind                 string    `json:"kind"`
	Specialty            string    `json:"specialty"`
	Window               Window    `json:"window"`
	Notes                string    `json:"notes,omitempty"`
	RequestedAt          time.Time `json:"requestedAt"`
}

// ExpertAssigned records the lead's choice of expert. It is appended only after the
// expert's schedule accepted the booking (ExpertBooked), see ExpertSchedule.
type ExpertAssigned struct {
	DispatchID string    `json:"dispatchId"`
	ExpertID   string    `json:"expertId"`
	ExpertName string    `json:"expertName"`
	Window     Window    `json:"window"`
	AssignedAt time.Time `json:"assignedAt"`
}

// ExpertReassigned records that another expert replaces the assigned one before the
// visit started (e.g. the first fell ill). The previous expert's booking is released by
// the service once this event is stored.
type ExpertReassigned struct {
	DispatchID         string    `json:"dispatchId"`
	PreviousExpertID   string    `json:"previousExpertId"`
	PreviousExpertName string    `json:"previousExpertName"`
	ExpertID           string    `json:"expertId"`
	ExpertName         string    `json:"expertName"`
	Window             Window    `json:"window"`
	Reason             string    `json:"reason"`
	ReassignedAt       time.Time `json:"reassignedAt"`
}

// ExpertCheckedIn records the expert's arrival at the member hospital.
type ExpertCheckedIn struct {
	DispatchID  string    `json:"dispatchId"`
	ExpertID    string    `json:"expertId"`
	CheckedInAt time.Time `json:"checkedInAt"`
}

// DispatchVisitReported records one report of the work done during the visit.
type DispatchVisitReported struct {
	DispatchID string      `json:"dispatchId"`
	ExpertID   string      `json:"expertId"`
	Report     VisitReport `json:"report"`
	ReportedAt time.Time   `json:"reportedAt"`
}

// DispatchCompleted records the end of the visit.
type DispatchCompleted struct {
	DispatchID  string    `json:"dispatchId"`
	ExpertID    string    `json:"expertId"`
	CompletedAt time.Time `json:"completedAt"`
}

// DispatchCancelled records that the visit was called off. ExpertID names the expert
// whose booking the service must release (empty when none was assigned yet); ByLead
// says which side cancelled, for the member's and the lead's dispatch lists.
type DispatchCancelled struct {
	DispatchID  string    `json:"dispatchId"`
	ExpertID    string    `json:"expertId,omitempty"`
	Reason      string    `json:"reason"`
	ByLead      bool      `json:"byLead"`
	CancelledAt time.Time `json:"cancelledAt"`
}

// EventType implements Event.
func (DispatchRequested) EventType() string { return "DispatchRequested" }

// EventType implements Event.
func (ExpertAssigned) EventType() string { return "ExpertAssigned" }

// EventType implements Event.
func (ExpertReassigned) EventType() string { return "ExpertReassigned" }

// EventType implements Event.
func (ExpertCheckedIn) EventType() string { return "ExpertCheckedIn" }

// EventType implements Event.
func (DispatchVisitReported) EventType() string { return "DispatchVisitReported" }

// EventType implements Event.
func (DispatchCompleted) EventType() string { return "DispatchCompleted" }

// EventType implements Event.
func (DispatchCancelled) EventType() string { return "DispatchCancelled" }

func init() {
	Register[DispatchRequested](DispatchAggregate, 1, nil)
	Register[ExpertAssigned](DispatchAggregate, 1, nil)
	Register[ExpertReassigned](DispatchAggregate, 1, nil)
	Register[ExpertCheckedIn](DispatchAggregate, 1, nil)
	Register[DispatchVisitReported](DispatchAggregate, 1, nil)
	Register[DispatchCompleted](DispatchAggregate, 1, nil)
	Register[DispatchCancelled](DispatchAggregate, 1, nil)
}

// Evolve folds one event into the dispatch's state.
func (d Dispatch) Evolve(e Event) Dispatch {
	switch e := e.(type) {
	case DispatchRequested:
		d = Dispatch{ID: e.DispatchID, AllianceID: e.AllianceID, RequestingHospitalID: e.RequestingHospitalID,
			LeadHospitalID: e.LeadHospitalID, LeadDepartmentID: e.LeadDepartmentID, Kind: e.Kind,
			Specialty: e.Specialty, Window: e.Window, Notes: e.Notes, RequestedAt: e.RequestedAt,
			Status: DispatchStatusRequested, UpdatedAt: e.RequestedAt}
	case ExpertAssigned:
		d.Status, d.ExpertID, d.ExpertName, d.AssignedAt = DispatchStatusAssigned, e.ExpertID, e.ExpertName, e.AssignedAt
		d.UpdatedAt = e.AssignedAt
	case ExpertReassigned:
		d.ExpertID, d.ExpertName, d.AssignedAt, d.UpdatedAt = e.ExpertID, e.ExpertName, e.ReassignedAt, e.ReassignedAt
	case ExpertCheckedIn:
		d.Status, d.CheckedInAt, d.UpdatedAt = DispatchStatusInProgress, e.CheckedInAt, e.CheckedInAt
	case DispatchVisitReported:
		d.UpdatedAt = e.ReportedAt
		d.Reports++
		d.Totals.PatientsSeen += e.Report.PatientsSeen
		d.Totals.PatientsAdmitted += e.Report.PatientsAdmitted
		d.Totals.ProceduresGuided += e.Report.ProceduresGuided
		d.Totals.TeachingSessions += e.Report.TeachingSessions
		d.Totals.Summary = e.Report.Summary
	case DispatchCompleted:
		d.Status, d.CompletedAt, d.UpdatedAt = DispatchStatusCompleted, e.CompletedAt, e.CompletedAt
	case DispatchCancelled:
		d.Status, d.CancelReason, d.CancelledAt, d.UpdatedAt = DispatchStatusCancelled, e.Reason, e.CancelledAt, e.CancelledAt
	}
	return d
}

// DispatchCommand is a command handled by the dispatch aggregate.
type DispatchCommand interface{ dispatchCommand() }

// RequestDispatch asks the alliance's lead department for an expert visit. Alliance is
// the alliance's state, loaded by the caller; By must act for the requesting hospital,
// which must be an active member. At is when the request is made; the window must not
// have ended by then.
type RequestDispatch struct {
	DispatchID string
	Alliance   Alliance
	By         Actor
	Kind       string
	Specialty  string
	Window     Window
	Notes      string
	At         time.Time
	// LeadDepartmentID addresses the request to one of the alliance's lead departments
	// (李惠利医院's 胃肠外科 for its own expert studio); empty means the founding lead
	// department. Only the department addressed assigns, reassigns and reports.
	LeadDepartmentID string
}

// AssignExpert names the expert who will go. Only the lead department may assign, and
// only to a requested dispatch without an expert, an active practitioner of the lead
// hospital's directory (Practitioner.RequireBookableBy). Expert is the practitioner's
// state loaded by the caller (zero when ExpertID is not registered); the name recorded
// is the directory's. The service books the expert's schedule (BookExpert) before it
// issues this command; see ExpertSchedule.
type AssignExpert struct {
	DispatchID string
	ExpertID   string
	ExpertName string
	Expert     Practitioner
	By         Actor
	At         time.Time
}

// ReassignExpert replaces the assigned expert with another before the visit started.
// It is the only way to change the expert: an explicit event keeps the audit trail
// honest (who was replaced, why), where cancel-and-request-again would lose the link
// between the two dispatches. The service books the new expert first and releases the
// previous expert's booking after this command's event is stored. The new expert must
// be bookable as for AssignExpert.
type ReassignExpert struct {
	DispatchID string
	ExpertID   string
	ExpertName string
	Expert     Practitioner
	Reason     string
	By         Actor
	At         time.Time
}

// CheckInExpert records the expert's arrival. The lead department (the expert acts
// under its identity) or the requesting hospital (its staff receive the expert) may
// record it, from CheckInEarly before the window starts until the window ends.
type CheckInExpert struct {
	DispatchID string
	By         Actor
	At         time.Time
}

// ReportVisit files a report of the work done. Only the lead department (the expert)
// reports, after check-in; a standing workstation may report many times.
type ReportVisit struct {
	DispatchID string
	Report     VisitReport
	By         Actor
	At         time.Time
}

// CompleteDispatch closes a visit that was checked in and reported at least once, so a
// completed dispatch always has figures. The lead department or the requesting
// hospital may complete it.
type CompleteDispatch struct {
	DispatchID string
	By         Actor
	At         time.Time
}

// CancelDispatch calls the visit off before completion, with a reason. The requesting
// hospital or the lead department may cancel. If an expert was assigned, the service
// releases the booking after the event is stored (DispatchCancelled.ExpertID).
type CancelDispatch struct {
	DispatchID string
	Reason     string
	By         Actor
	At         time.Time
}

func (RequestDispatch) dispatchCommand()  {}
func (AssignExpert) dispatchCommand()     {}
func (ReassignExpert) dispatchCommand()   {}
func (CheckInExpert) dispatchCommand()    {}
func (ReportVisit) dispatchCommand()      {}
func (CompleteDispatch) dispatchCommand() {}
func (CancelDispatch) dispatchCommand()   {}

// DecideDispatch decides a dispatch command against the dispatch's current state.
func DecideDispatch(d Dispatch, c DispatchCommand) ([]Event, error) {
	switch c := c.(type) {
	case RequestDispatch:
		return decideRequestDispatch(d, c)
	case AssignExpert:
		if err := d.check(c.DispatchID, c.At, "assign an expert to", DispatchStatusRequested); err != nil {
			return nil, err
		}
		if err := firstErr(ValidateID("expertId", c.ExpertID), optional("expertName", c.ExpertName, maxPersonName)); err != nil {
			return nil, err
		}
		if err := d.requireLead(c.By, "assign an expert"); err != nil {
			return nil, err
		}
		name, err := d.bookable(c.Expert, c.ExpertID, c.ExpertName)
		if err != nil {
			return nil, err
		}
		return []Event{ExpertAssigned{DispatchID: d.ID, ExpertID: c.ExpertID, ExpertName: name,
			Window: d.Window, AssignedAt: c.At}}, nil
	case ReassignExpert:
		if err := d.check(c.DispatchID, c.At, "reassign the expert of", DispatchStatusAssigned); err != nil {
			return nil, err
		}
		if err := firstErr(ValidateID("expertId", c.ExpertID), optional("expertName", c.ExpertName, maxPersonName),
			required("reason", c.Reason, maxReason)); err != nil {
			return nil, err
		}
		if err := d.requireLead(c.By, "reassign the expert"); err != nil {
			return nil, err
		}
		if c.ExpertID == d.ExpertID {
			return nil, Errorf(CodeInvalidInput, "expert %s is already assigned to dispatch %s; name a different expert", c.ExpertID, d.ID)
		}
		name, err := d.bookable(c.Expert, c.ExpertID, c.ExpertName)
		if err != nil {
			return nil, err
		}
		return []Event{ExpertReassigned{DispatchID: d.ID, PreviousExpertID: d.ExpertID, PreviousExpertName: d.ExpertName,
			ExpertID: c.ExpertID, ExpertName: name, Window: d.Window, Reason: c.Reason, ReassignedAt: c.At}}, nil
	case CheckInExpert:
		if err := d.check(c.DispatchID, c.At, "check in the expert of", DispatchStatusAssigned); err != nil {
			return nil, err
		}
		if err := d.requireParty(c.By, "check in the expert"); err != nil {
			return nil, err
		}
		if earliest := d.Window.Start.Add(-CheckInEarly); c.At.Before(earliest) || !c.At.Before(d.Window.End) {
			return nil, Errorf(CodeInvalidInput, "check-in at %s is outside the dispatch window %s (check-in opens %s before the start)",
				c.At.UTC().Format(time.RFC3339), d.Window, CheckInEarly).WithDetail("window", d.Window.String())
		}
		return []Event{ExpertCheckedIn{DispatchID: d.ID, ExpertID: d.ExpertID, CheckedInAt: c.At}}, nil
	case ReportVisit:
		if err := d.check(c.DispatchID, c.At, "report on", DispatchStatusInProgress); err != nil {
			return nil, err
		}
		if err := validateVisitReport(c.Report); err != nil {
			return nil, err
		}
		if !d.isLead(c.By) {
			return nil, Errorf(CodeForbidden, "only the expert, acting for the alliance's lead department, may report on a dispatch")
		}
		return []Event{DispatchVisitReported{DispatchID: d.ID, ExpertID: d.ExpertID, Report: c.Report, ReportedAt: c.At}}, nil
	case CompleteDispatch:
		if err := d.check(c.DispatchID, c.At, "complete", DispatchStatusInProgress); err != nil {
			return nil, err
		}
		if err := d.requireParty(c.By, "complete the dispatch"); err != nil {
			return nil, err
		}
		if d.Reports == 0 {
			return nil, Errorf(CodeForbiddenTransition, "dispatch %s has no visit report yet; the expert must report before it is completed", d.ID)
		}
		return []Event{DispatchCompleted{DispatchID: d.ID, ExpertID: d.ExpertID, CompletedAt: c.At}}, nil
	case CancelDispatch:
		if err := d.check(c.DispatchID, c.At, "cancel", DispatchStatusRequested, DispatchStatusAssigned, DispatchStatusInProgress); err != nil {
			return nil, err
		}
		if err := required("reason", c.Reason, maxReason); err != nil {
			return nil, err
		}
		if err := d.requireParty(c.By, "cancel the dispatch"); err != nil {
			return nil, err
		}
		return []Event{DispatchCancelled{DispatchID: d.ID, ExpertID: d.ExpertID, Reason: c.Reason,
			ByLead: d.isLead(c.By), CancelledAt: c.At}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown dispatch command %T", c)
}

func decideRequestDispatch(d Dispatch, c RequestDispatch) ([]Event, error) {
	if d.Exists() {
		return nil, Errorf(CodeAlreadyExists, "dispatch %s was already requested", c.DispatchID)
	}
	if err := firstErr(
		ValidateID("dispatchId", c.DispatchID),
		validateDispatchKind(c.Kind),
		required("specialty", c.Specialty, maxSpecialty),
		optional("notes", c.Notes, maxDispatchNotes),
		validateInstant("at", c.At),
	); err != nil {
		return nil, err
	}
	max := MaxVisitWindow
	if c.Kind == DispatchWorkstation {
		max = MaxWorkstationWindow
	}
	if err := validateWindow(c.Window, max, c.Kind); err != nil {
		return nil, err
	}
	if !c.Window.End.After(c.At) {
		return nil, Errorf(CodeInvalidInput, "window %s has already ended at the time of the request (%s)",
			c.Window, c.At.UTC().Format(time.RFC3339))
	}
	if !c.Alliance.Exists() {
		return nil, Errorf(CodeNotFound, "the alliance does not exist")
	}
	if err := c.Alliance.RequireActiveMember(c.By.HospitalID); err != nil {
		return nil, err
	}
	leadDept, err := c.Alliance.AddressedLead(c.LeadDepartmentID)
	if err != nil {
		return nil, err
	}
	return []Event{DispatchRequested{DispatchID: c.DispatchID, AllianceID: c.Alliance.ID,
		RequestingHospitalID: c.By.HospitalID, LeadHospitalID: c.Alliance.LeadHospitalID,
		LeadDepartmentID: leadDept, Kind: c.Kind, Specialty: c.Specialty,
		Window: c.Window, Notes: c.Notes, RequestedAt: c.At}}, nil
}

// check runs the checks every follow-up command shares: a valid id naming this
// dispatch, the command's time (not before the latest event), and a status from allowed.
func (d Dispatch) check(dispatchID string, at time.Time, what string, allowed ...string) error {
	return checkFollowUp(followUp{idField: "dispatchId", missing: "dispatch", noun: "dispatch", exists: d.Exists(),
		id: d.ID, status: d.Status, updated: d.UpdatedAt}, dispatchID, at, what, allowed)
}

func (d Dispatch) isLead(by Actor) bool {
	return by.HospitalID != "" && by.HospitalID == d.LeadHospitalID && by.DepartmentID == d.LeadDepartmentID
}

func (d Dispatch) requireLead(by Actor, what string) error {
	if !d.isLead(by) {
		return Errorf(CodeForbidden, "only the lead department the dispatch is addressed to may %s for it", what)
	}
	return nil
}

// bookable applies the expert booking rule to this dispatch's lead hospital and returns
// the name to record (see Practitioner.RequireBookableBy and BookingName).
func (d Dispatch) bookable(expert Practitioner, expertID, givenName string) (string, error) {
	if err := expert.RequireBookableBy(expertID, d.LeadHospitalID, d.LeadDepartmentID); err != nil {
		return "", err
	}
	return expert.BookingName(givenName)
}

// requireParty accepts the lead department or any department of the requesting hospital.
func (d Dispatch) requireParty(by Actor, what string) error {
	if !d.isLead(by) && (by.HospitalID == "" || by.HospitalID != d.RequestingHospitalID) {
		return Errorf(CodeForbidden, "only the requesting hospital or the alliance's lead department may %s", what)
	}
	return nil
}

func validateDispatchKind(kind string) error {
	if !slices.Contains(dispatchKinds, kind) {
		return Errorf(CodeInvalidInput, "kind %q must be one of %v", truncate(kind, 30), dispatchKinds)
	}
	return nil
}

func validateVisitReport(r VisitReport) error {
	for _, f := range []struct {
		name string
		n    int
	}{{"patientsSeen", r.PatientsSeen}, {"patientsAdmitted", r.PatientsAdmitted}, {"proceduresGuided", r.ProceduresGuided}, {"teachingSessions", r.TeachingSessions}} {
		if f.n < 0 || f.n > maxVisitCount {
			return Errorf(CodeInvalidInput, "%s is %d; it must be between 0 and %d", f.name, f.n, maxVisitCount)
		}
	}
	if r.PatientsAdmitted > r.PatientsSeen {
		return Errorf(CodeInvalidInput, "patientsAdmitted (%d) cannot exceed patientsSeen (%d): an admitted patient was seen", r.PatientsAdmitted, r.PatientsSeen)
	}
	return required("summary", r.Summary, maxDispatchSummary)
}

// validateInstant refuses a missing time: Decide reads no clock, so a zero time would be
// recorded as the year 1.
func validateInstant(what string, t time.Time) error {
	return checkInstant(what+" (the command's time)", t)
}
