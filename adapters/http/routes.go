package httpapi

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/domain"
)

var (
	anyone      = []string(nil)
	adminOnly   = []string{RoleAdmin}
	leadOnly    = []string{RoleLead}
	memberOnly  = []string{RoleMember}
	leadMember  = []string{RoleLead, RoleMember}
	memberLead  = []string{RoleMember, RoleLead}
	staffOrAdmn = []string{RoleAdmin, RoleLead, RoleMember}
)

// table lists every route. Register and document from here only: the OpenAPI document
// is built from this table and a test checks it against echo's routes.
func (s *Server) table() []route {
	idParam := func(name string) func(echo.Context) string {
		return func(c echo.Context) string { return c.Param(name) }
	}
	pid := idParam("id")
	r := []route{
		{method: http.MethodGet, path: "/healthz", op: "healthz", summary: "Liveness: the process serves HTTP.", public: true, kind: respJSON, h: s.healthz},
		{method: http.MethodGet, path: "/readyz", op: "readyz", summary: "Readiness: the event store answers and the projections are within the lag threshold.", public: true, kind: respJSON, h: s.readyz},
		{method: http.MethodGet, path: "/metrics", op: "metrics", summary: "Prometheus metrics (text exposition format).", public: true, kind: respText, h: s.metricsHandler},
		{method: http.MethodGet, path: "/openapi.json", op: "openapi", summary: "This API's OpenAPI 3 document.", public: true, kind: respJSON, h: s.openapi},

		// Hospitals.
		{method: http.MethodPost, path: "/v1/hospitals", op: "registerHospital", summary: "Register a hospital in the directory (admin).",
			roles: adminOnly, body: app.RegisterHospitalInput{}, h: command(s, adminOnly, true, nil, s.deps.App.RegisterHospital)},
		{method: http.MethodPost, path: "/v1/hospitals/:id/departments", op: "addDepartment", summary: "Open a department in a hospital (admin, or the hospital itself).",
			roles: staffOrAdmn, body: app.AddDepartmentInput{}, h: command(s, staffOrAdmn, false, func(c echo.Context, in *app.AddDepartmentInput) error {
				in.HospitalID = pid(c)
				return ownHospitalUnlessAdmin(c, in.HospitalID)
			}, s.deps.App.AddDepartment)},

		// Practitioner directory (experts, readers, mentors under a home hospital and department).
		{method: http.MethodPost, path: "/v1/practitioners", op: "registerPractitioner", summary: "Register a practitioner under a home hospital and department (the home hospital's staff, or an admin); name, title and specialties only.",
			roles: staffOrAdmn, body: app.RegisterPractitionerInput{}, h: command(s, staffOrAdmn, true, nil, s.deps.App.RegisterPractitioner)},
		{method: http.MethodPost, path: "/v1/practitioners/:id/profile", op: "updatePractitioner", summary: "Replace a practitioner's name, title and specialties (the home hospital's staff, or an admin).",
			roles: staffOrAdmn, body: app.UpdatePractitionerInput{}, h: command(s, staffOrAdmn, false, bindID(func(in *app.UpdatePractitionerInput, id string) { in.PractitionerID = id }), s.deps.App.UpdatePractitioner)},
		{method: http.MethodPost, path: "/v1/practitioners/:id/deactivate", op: "deactivatePractitioner", summary: "Stop new bookings of a practitioner: retired, left, on leave (the home hospital's staff, or an admin).",
			roles: staffOrAdmn, body: app.PractitionerStatusInput{}, h: command(s, staffOrAdmn, false, bindID(func(in *app.PractitionerStatusInput, id string) { in.PractitionerID = id }), s.deps.App.DeactivatePractitioner)},
		{method: http.MethodPost, path: "/v1/practitioners/:id/reactivate", op: "reactivatePractitioner", summary: "Allow bookings of a deactivated practitioner again (the home hospital's staff, or an admin).",
			roles: staffOrAdmn, body: app.PractitionerStatusInput{}, h: command(s, staffOrAdmn, false, bindID(func(in *app.PractitionerStatusInput, id string) { in.PractitionerID = id }), s.deps.App.ReactivatePractitioner)},

		// Alliances and members.
		{method: http.MethodPost, path: "/v1/alliances", op: "foundAlliance", summary: "Found an alliance led by the caller's department.",
			roles: leadOnly, body: app.FoundAllianceInput{}, h: command(s, leadOnly, true, nil, s.deps.App.FoundAlliance)},
		{method: http.MethodPost, path: "/v1/alliances/:id/members", op: "admitMember", summary: "Admit a registered hospital as a member (lead department).",
			roles: leadOnly, body: app.AdmitMemberInput{}, h: command(s, leadOnly, false, func(c echo.Context, in *app.AdmitMemberInput) error {
				in.AllianceID = pid(c)
				return nil
			}, s.deps.App.AdmitMember)},
		{method: http.MethodPost, path: "/v1/alliances/:id/lead-departments", op: "addLeadDepartment", summary: "Make another department of the lead hospital a lead department (a lead department).",
			roles: leadOnly, body: app.AddLeadDepartmentInput{}, h: command(s, leadOnly, false, func(c echo.Context, in *app.AddLeadDepartmentInput) error {
				in.AllianceID = pid(c)
				return nil
			}, s.deps.App.AddLeadDepartment)},
		s.memberStatusRoute("suspend", "suspendMember", "Suspend an active member (lead department).", leadOnly, s.deps.App.SuspendMember),
		s.memberStatusRoute("reinstate", "reinstateMember", "Reinstate a suspended member (lead department).", leadOnly, s.deps.App.ReinstateMember),
		s.memberStatusRoute("withdraw", "withdrawMember", "End a membership (the lead department, or the member itself).", leadMember, s.deps.App.WithdrawMember),

		// Protocols.
		{method: http.MethodPost, path: "/v1/alliances/:id/protocols", op: "draftProtocol", summary: "Draft a protocol in an alliance (lead department).",
			roles: leadOnly, body: app.DraftProtocolInput{}, h: command(s, leadOnly, true, func(c echo.Context, in *app.DraftProtocolInput) error {
				in.AllianceID = pid(c)
				return nil
			}, s.deps.App.DraftProtocol)},
		{method: http.MethodPost, path: "/v1/protocols/:id/versions", op: "publishProtocolVersion", summary: "Publish the protocol's next version (lead department).",
			roles: leadOnly, body: app.PublishVersionInput{}, h: command(s, leadOnly, false, func(c echo.Context, in *app.PublishVersionInput) error {
				in.ProtocolID = pid(c)
				return nil
			}, s.deps.App.PublishProtocolVersion)},
		{method: http.MethodPost, path: "/v1/protocols/:id/versions/:v/withdraw", op: "withdrawProtocolVersion", summary: "Withdraw a published version for safety; every plan on it is flagged (lead department).",
			roles: leadOnly, body: app.WithdrawVersionInput{}, h: command(s, leadOnly, false, func(c echo.Context, in *app.WithdrawVersionInput) error {
				in.ProtocolID = pid(c)
				v, err := strconv.Atoi(c.Param("v"))
				if err != nil || v < 1 {
					return domain.Errorf(domain.CodeInvalidInput, "the version in the path must be a positive number")
				}
				in.Version = v
				return nil
			}, s.deps.App.WithdrawProtocolVersion)},
		{method: http.MethodPost, path: "/v1/protocols/:id/retire", op: "retireProtocol", summary: "Retire a protocol: no new versions, plans or adoptions (lead department).",
			roles: leadOnly, body: app.RetireProtocolInput{}, h: command(s, leadOnly, false, func(c echo.Context, in *app.RetireProtocolInput) error {
				in.ProtocolID = pid(c)
				return nil
			}, s.deps.App.RetireProtocol)},

		// Adoptions (the adopting member acts for itself).
		{method: http.MethodPost, path: "/v1/protocols/:id/adoptions", op: "adoptProtocol", summary: "Adopt a published protocol version (member hospital).",
			roles: memberOnly, body: app.AdoptionInput{}, h: command(s, memberOnly, true, func(c echo.Context, in *app.AdoptionInput) error {
				in.ProtocolID = pid(c)
				return nil
			}, s.deps.App.AdoptProtocol)},
		{method: http.MethodPost, path: "/v1/protocols/:id/adoptions/:hid/upgrade", op: "upgradeAdoption", summary: "Move an adoption to a newer published version (the member).",
			roles: memberOnly, body: app.AdoptionInput{}, h: command(s, memberOnly, false, func(c echo.Context, in *app.AdoptionInput) error {
				in.ProtocolID, in.HospitalID = pid(c), c.Param("hid")
				return ownHospital(c, in.HospitalID)
			}, s.deps.App.UpgradeAdoption)},
		{method: http.MethodPost, path: "/v1/protocols/:id/adoptions/:hid/deviations", op: "declareAdoptionDeviation", summary: "Declare a local deviation from a step (the member).",
			roles: memberOnly, body: app.AdoptionDeviationInput{}, h: command(s, memberOnly, false, func(c echo.Context, in *app.AdoptionDeviationInput) error {
				in.ProtocolID, in.HospitalID = pid(c), c.Param("hid")
				return ownHospital(c, in.HospitalID)
			}, s.deps.App.DeclareAdoptionDeviation)},
		{method: http.MethodPost, path: "/v1/protocols/:id/adoptions/:hid/deviations/revoke", op: "revokeAdoptionDeviation", summary: "Revoke a declared local deviation (the member).",
			roles: memberOnly, body: app.AdoptionDeviationInput{}, h: command(s, memberOnly, false, func(c echo.Context, in *app.AdoptionDeviationInput) error {
				in.ProtocolID, in.HospitalID = pid(c), c.Param("hid")
				return ownHospital(c, in.HospitalID)
			}, s.deps.App.RevokeAdoptionDeviation)},
		{method: http.MethodPost, path: "/v1/protocols/:id/adoptions/:hid/withdraw", op: "withdrawAdoption", summary: "Stop following a protocol (the member).",
			roles: memberOnly, body: app.WithdrawAdoptionInput{}, h: command(s, memberOnly, false, func(c echo.Context, in *app.WithdrawAdoptionInput) error {
				in.ProtocolID, in.HospitalID = pid(c), c.Param("hid")
				return ownHospital(c, in.HospitalID)
			}, s.deps.App.WithdrawAdoption)},

		// Shared treatment plans.
		{method: http.MethodPost, path: "/v1/plans", op: "initiatePlan", summary: "Create a patient's plan from a published protocol version (lead department); a medical record number is pseudonymized, never stored.",
			roles: leadOnly, body: app.InitiatePlanInput{}, h: command(s, leadOnly, true, nil, s.deps.App.InitiatePlan)},
		{method: http.MethodPost, path: "/v1/plans/:id/handover", op: "handOverPlan", summary: "Hand the patient down to a member that adopted the plan's version (lead department).",
			roles: leadOnly, body: app.HandOverInput{}, h: command(s, leadOnly, false, bindID(func(in *app.HandOverInput, id string) { in.PlanID = id }), s.deps.App.HandOverPlan)},
		{method: http.MethodPost, path: "/v1/plans/:id/revisions", op: "revisePlan", summary: "Revise pending steps or move to a newer version (lead department).",
			roles: leadOnly, body: app.RevisePlanInput{}, h: command(s, leadOnly, false, bindID(func(in *app.RevisePlanInput, id string) { in.PlanID = id }), s.deps.App.RevisePlan)},
		{method: http.MethodPost, path: "/v1/plans/:id/deviations", op: "reportPlanDeviation", summary: "Report a deviation from the plan (responsible hospital).",
			roles: memberLead, body: app.DeviationInput{}, h: command(s, memberLead, true, bindID(func(in *app.DeviationInput, id string) { in.PlanID = id }), s.deps.App.ReportPlanDeviation)},
		{method: http.MethodPost, path: "/v1/plans/:id/deviations/:did/acknowledge", op: "acknowledgePlanDeviation", summary: "Acknowledge a reported deviation (lead department).",
			roles: leadOnly, body: app.AcknowledgeInput{}, h: command(s, leadOnly, false, func(c echo.Context, in *app.AcknowledgeInput) error {
				in.PlanID, in.DeviationID = pid(c), c.Param("did")
				return nil
			}, s.deps.App.AcknowledgePlanDeviation)},
		{method: http.MethodPost, path: "/v1/plans/:id/escalate", op: "escalatePlan", summary: "Send the patient one link up the plan's chain (to the lead, or to the middle tier that handed it on); urgent asks for the green channel (responsible hospital).",
			roles: memberOnly, body: app.EscalateInput{}, h: command(s, memberOnly, false, bindID(func(in *app.EscalateInput, id string) { in.PlanID = id }), s.deps.App.EscalatePlan)},
		{method: http.MethodPost, path: "/v1/plans/:id/complete", op: "completePlan", summary: "Close a plan that ran its course (lead department).",
			roles: leadOnly, body: app.PlanInput{}, h: command(s, leadOnly, false, bindID(func(in *app.PlanInput, id string) { in.PlanID = id }), s.deps.App.CompletePlan)},
		{method: http.MethodPost, path: "/v1/plans/:id/discontinue", op: "discontinuePlan", summary: "Stop a plan before it ran its course.",
			roles: leadMember, body: app.DiscontinueInput{}, h: command(s, leadMember, false, bindID(func(in *app.DiscontinueInput, id string) { in.PlanID = id }), s.deps.App.DiscontinuePlan)},
		{method: http.MethodPost, path: "/v1/plans/:id/steps/:stepId/complete", op: "completePlanStep", summary: "Record a step as carried out, with the dose given (responsible hospital).",
			roles: memberLead, body: app.StepInput{}, h: command(s, memberLead, false, func(c echo.Context, in *app.StepInput) error {
				in.PlanID, in.StepID = pid(c), c.Param("stepId")
				return nil
			}, s.deps.App.CompletePlanStep)},
		{method: http.MethodPost, path: "/v1/plans/:id/steps/:stepId/skip", op: "skipPlanStep", summary: "Record a step as not carried out, and why (responsible hospital).",
			roles: memberLead, body: app.StepInput{}, h: command(s, memberLead, false, func(c echo.Context, in *app.StepInput) error {
				in.PlanID, in.StepID = pid(c), c.Param("stepId")
				return nil
			}, s.deps.App.SkipPlanStep)},

		// Expert dispatches.
		{method: http.MethodPost, path: "/v1/dispatches", op: "requestDispatch", summary: "Request an expert visit from the alliance's lead (member hospital).",
			roles: memberOnly, body: app.RequestDispatchInput{}, h: command(s, memberOnly, true, nil, s.deps.App.RequestDispatch)},
		{method: http.MethodPost, path: "/v1/dispatches/:id/assign", op: "assignExpert", summary: "Assign an expert, a practitioner of the lead hospital's directory: books the expert's schedule, then the dispatch (lead department).",
			roles: leadOnly, body: app.AssignExpertInput{}, h: command(s, leadOnly, false, bindID(func(in *app.AssignExpertInput, id string) { in.DispatchID = id }), s.deps.App.AssignExpert)},
		{method: http.MethodPost, path: "/v1/dispatches/:id/reassign", op: "reassignExpert", summary: "Replace the assigned expert, with another practitioner of the lead hospital's directory, before the visit (lead department).",
			roles: leadOnly, body: app.AssignExpertInput{}, h: command(s, leadOnly, false, bindID(func(in *app.AssignExpertInput, id string) { in.DispatchID = id }), s.deps.App.ReassignExpert)},
		{method: http.MethodPost, path: "/v1/dispatches/:id/check-in", op: "checkInExpert", summary: "Record the expert's arrival (lead department or requesting hospital).",
			roles: leadMember, body: app.DispatchInput{}, h: command(s, leadMember, false, bindID(func(in *app.DispatchInput, id string) { in.DispatchID = id }), s.deps.App.CheckInExpert)},
		{method: http.MethodPost, path: "/v1/dispatches/:id/report", op: "reportVisit", summary: "File a visit report (lead department).",
			roles: leadOnly, body: app.ReportVisitInput{}, h: command(s, leadOnly, false, bindID(func(in *app.ReportVisitInput, id string) { in.DispatchID = id }), s.deps.App.ReportVisit)},
		{method: http.MethodPost, path: "/v1/dispatches/:id/complete", op: "completeDispatch", summary: "Close a reported visit (lead department or requesting hospital).",
			roles: leadMember, body: app.DispatchInput{}, h: command(s, leadMember, false, bindID(func(in *app.DispatchInput, id string) { in.DispatchID = id }), s.deps.App.CompleteDispatch)},
		{method: http.MethodPost, path: "/v1/dispatches/:id/cancel", op: "cancelDispatch", summary: "Call a visit off; the expert's booking is released (lead department or requesting hospital).",
			roles: memberLead, body: app.CancelDispatchInput{}, h: command(s, memberLead, false, bindID(func(in *app.CancelDispatchInput, id string) { in.DispatchID = id }), s.deps.App.CancelDispatch)},

		// Remote consults.
		{method: http.MethodPost, path: "/v1/consults", op: "requestConsult", summary: "Ask the lead's specialists for an opinion (member hospital); a medical record number is pseudonymized, never stored.",
			roles: memberOnly, body: app.RequestConsultInput{}, h: command(s, memberOnly, true, nil, s.deps.App.RequestConsult)},
		{method: http.MethodPost, path: "/v1/consults/:id/accept", op: "acceptConsult", summary: "Take a consult on (lead department).",
			roles: leadOnly, body: app.AcceptConsultInput{}, h: command(s, leadOnly, false, bindID(func(in *app.AcceptConsultInput, id string) { in.ConsultID = id }), s.deps.App.AcceptConsult)},
		{method: http.MethodPost, path: "/v1/consults/:id/decline", op: "declineConsult", summary: "Refuse a requested consult with a reason (lead department).",
			roles: leadOnly, body: app.ConsultReasonInput{}, h: command(s, leadOnly, false, bindID(func(in *app.ConsultReasonInput, id string) { in.ConsultID = id }), s.deps.App.DeclineConsult)},
		{method: http.MethodPost, path: "/v1/consults/:id/opinion", op: "giveOpinion", summary: "Give the specialists' opinion (lead department).",
			roles: leadOnly, body: app.OpinionInput{}, h: command(s, leadOnly, false, bindID(func(in *app.OpinionInput, id string) { in.ConsultID = id }), s.deps.App.GiveOpinion)},
		{method: http.MethodPost, path: "/v1/consults/:id/opinion/amend", op: "amendOpinion", summary: "Correct a given opinion with a reason (lead department).",
			roles: leadOnly, body: app.OpinionInput{}, h: command(s, leadOnly, false, bindID(func(in *app.OpinionInput, id string) { in.ConsultID = id }), s.deps.App.AmendOpinion)},
		{method: http.MethodPost, path: "/v1/consults/:id/close", op: "closeConsult", summary: "Close an answered consult (requesting hospital or lead department).",
			roles: memberLead, body: app.CloseConsultInput{}, h: command(s, memberLead, false, bindID(func(in *app.CloseConsultInput, id string) { in.ConsultID = id }), s.deps.App.CloseConsult)},
		{method: http.MethodPost, path: "/v1/consults/:id/cancel", op: "cancelConsult", summary: "Withdraw a consult before an opinion (requesting hospital).",
			roles: memberOnly, body: app.ConsultReasonInput{}, h: command(s, memberOnly, false, bindID(func(in *app.ConsultReasonInput, id string) { in.ConsultID = id }), s.deps.App.CancelConsult)},
	}
	r = append(r, s.referralRoutes()...)
	r = append(r, s.tierRoutes()...)
	r = append(r, s.referralQueryRoutes()...)
	r = append(r, s.reportRoutes()...)
	r = append(r, s.talentRoutes()...)
	r = append(r, s.talentQueryRoutes()...)
	r = append(r, s.diagnosticRoutes()...)
	r = append(r, s.diagnosticQueryRoutes()...)
	r = append(r, s.capacityQueryRoutes()...)
	r = append(r, s.queryRoutes()...)
	r = append(r, s.auditRoutes()...)
	r = append(r, s.fhirRoutes()...)
	return r
}

func (s *Server) memberStatusRoute(action, op, summary string, roles []string, run useCase[app.MemberStatusInput]) route {
	return route{method: http.MethodPost, path: "/v1/alliances/:id/members/:hid/" + action, op: op, summary: summary,
		roles: roles, body: app.MemberStatusInput{}, h: command(s, roles, false, func(c echo.Context, in *app.MemberStatusInput) error {
			in.AllianceID, in.HospitalID = c.Param("id"), c.Param("hid")
			return nil
		}, run)}
}

// ownHospital rejects early a command for another hospital than the caller's.
func ownHospital(c echo.Context, hospitalID string) error {
	if p := principal(c); p == nil || p.HospitalID != hospitalID {
		return domain.Errorf(domain.CodeForbidden, "a hospital acts only for itself")
	}
	return nil
}

func ownHospitalUnlessAdmin(c echo.Context, hospitalID string) error {
	if p := principal(c); p != nil && p.Has(RoleAdmin) {
		return nil
	}
	return ownHospital(c, hospitalID)
}

// bindID copies the :id path parameter into the input with set.
func bindID[In any](set func(in *In, id string)) func(echo.Context, *In) error {
	return func(c echo.Context, in *In) error {
		set(in, c.Param("id"))
		return nil
	}
}
