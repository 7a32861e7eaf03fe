package domain

// HoldsSlot reports whether the referral, as it stands, is what keeps slotID of
// departmentID at hospitalID booked: its acceptance recorded that very slot, and it did
// not end short of arrival (cancelled, no-show). An admitted or completed referral keeps
// its slot: the patient really used it. A slot booked for a referral that does not hold
// it is a booking whose acceptance was never recorded (the process stopped between the
// two appends, or the compensation after a failed acceptance did not run); the
// service's reconciliation releases such slots once they are older than a grace period,
// as the expert's schedule does with Dispatch.HoldsBooking.
func (r Referral) HoldsSlot(hospitalID, departmentID, slotID string) bool {
	if !r.Exists() || r.Slot == nil || slotID == "" || r.Slot.SlotID != slotID ||
		r.ToHospitalID != hospitalID || r.ReceivingDeptID != departmentID {
		return false
	}
	switch r.Status {
	case ReferralStatusAccepted, ReferralStatusArrived, ReferralStatusAdmitted, ReferralStatusCompleted:
		return true
	}
	return false
}
