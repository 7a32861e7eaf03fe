package httpapi

import (
	"net/http"

	"github.com/medalliance/allianced/adapters/app"
)

// referralRoutes are the commands of two-way referral (双向转诊) and reserved capacity
// (号源/床位下沉). Both a lead and a member may send (a middle tier leads its own alliance
// and is a member of a higher one); the domain checks who may do what on each referral.
func (s *Server) referralRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/referrals", op: "requestReferral", summary: "Refer a patient up (member -> a hospital leading its alliance) or down (lead -> an active member); urgency sets the acceptance and admission deadlines; a medical record number is pseudonymized, never stored.",
			roles: leadMember, body: app.RequestReferralInput{}, h: command(s, leadMember, true, nil, s.deps.App.RequestReferral)},
		{method: http.MethodPost, path: "/v1/consults/:id/referral", op: "referFromConsult", summary: "Turn a consult whose opinion advises escalation into an upward referral (requesting hospital).",
			roles: memberOnly, body: app.ReferFromConsultInput{}, h: command(s, memberOnly, true, bindID(func(in *app.ReferFromConsultInput, id string) { in.ConsultID = id }), s.deps.App.ReferFromConsult)},
		{method: http.MethodPost, path: "/v1/referrals/:id/accept", op: "acceptReferral", summary: "Accept a referral (receiving hospital); reserve or slotId books a reserved slot or bed, no_capacity when none is left.",
			roles: leadMember, body: app.AcceptReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.AcceptReferralInput, id string) { in.ReferralID = id }), s.deps.App.AcceptReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/decline", op: "declineReferral", summary: "Decline a requested referral with a reason and what to do instead (receiving hospital).",
			roles: leadMember, body: app.DeclineReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.DeclineReferralInput, id string) { in.ReferralID = id }), s.deps.App.DeclineReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/arrive", op: "recordReferralArrival", summary: "Record the patient's arrival (receiving hospital).",
			roles: leadMember, body: app.ReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.ReferralInput, id string) { in.ReferralID = id }), s.deps.App.RecordReferralArrival)},
		{method: http.MethodPost, path: "/v1/referrals/:id/admit", op: "admitReferral", summary: "Record the admission (receiving hospital).",
			roles: leadMember, body: app.ReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.ReferralInput, id string) { in.ReferralID = id }), s.deps.App.AdmitReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/complete", op: "completeReferral", summary: "Complete with the summary sent back; returnDown also refers the patient back down to the sender (receiving hospital).",
			roles: leadMember, body: app.CompleteReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.CompleteReferralInput, id string) { in.ReferralID = id }), s.deps.App.CompleteReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/cancel", op: "cancelReferral", summary: "Withdraw a referral before arrival; its reserved slot is released (sending hospital).",
			roles: leadMember, body: app.CancelReferralInput{}, h: command(s, leadMember, false, bindID(func(in *app.CancelReferralInput, id string) { in.ReferralID = id }), s.deps.App.CancelReferral)},
		{method: http.MethodPost, path: "/v1/referrals/:id/no-show", op: "recordReferralNoShow", summary: "Record that an accepted patient never came; its reserved slot is released (receiving hospital).",
			roles: leadMember, body: app.NoShowInput{}, h: command(s, leadMember, false, bindID(func(in *app.NoShowInput, id string) { in.ReferralID = id }), s.deps.App.RecordNoShow)},
		{method: http.MethodPost, path: "/v1/reserved-slots", op: "publishReservedSlots", summary: "Publish outpatient slots or beds of the caller's department reserved for an alliance's referrals.",
			roles: leadMember, body: app.PublishSlotsInput{}, h: command(s, leadMember, true, nil, s.deps.App.PublishReservedSlots)},
	}
}
