package domain

import (
	"cmp"
	"slices"
	"time"
)

// CapacityAggregate names the reserved-capacity aggregate (号源/床位下沉).
const CapacityAggregate = "capacity"

// CapacityStream is the stream of one receiving department's reserved slots and beds.
func CapacityStream(hospitalID, departmentID string) string {
	return "capacity-" + hospitalID + "-" + departmentID
}

// Slot kinds: an outpatient appointment (号源) or an inpatient bed (床位).
const (
	SlotOutpatient = "outpatient"
	SlotBed        = "bed"
)

var slotKinds = []string{SlotOutpatient, SlotBed}

// Limits of the capacity aggregate.
const (
	maxSlotsPerPublish = 500
	maxSlotWindow      = 31 * 24 * time.Hour
)

// ReservedSlot is one slot or bed a department keeps for one alliance's referrals.
// ReferralID is the referral holding it, empty while free.
type ReservedSlot struct {
	SlotID     string `json:"slotId"`
	AllianceID string `json:"allianceId"`
	Kind       string `json:"kind"`
	Window     Window `json:"window"`
	ReferralID string `json:"referralId,omitempty"`
}

// Capacity is a receiving department's reserved slots and beds, and THE consistency
// boundary for "never two referrals in one slot".
//
// Why its own aggregate: a referral sees only itself, so two acceptances would each
// find the slot free. Every booking of one department goes through the one stream
// capacity-<hospital>-<department>, appended with the expected version: of two
// concurrent bookings of the last slot one appends, the other reloads, finds none free
// and is refused with no_capacity. The service books first, records the acceptance on
// the referral, and releases the slot again when that fails (as with the expert's
// schedule); a decline, cancellation or no-show releases the slot too, and a free slot
// whose time has passed is never offered. A hold whose referral never recorded it (a
// crash between the two appends) is released by the service's reconciliation, see
// Referral.HoldsSlot.
type Capacity struct {
	HospitalID   string
	DepartmentID string
	slots        []ReservedSlot // sorted by start, then id; never mutated in place
}

// Exists reports whether the department published any slot.
func (c Capacity) Exists() bool { return c.HospitalID != "" }

// Slots returns a copy of every slot in start order.
func (c Capacity) Slots() []ReservedSlot { return slices.Clone(c.slots) }

// HeldBy returns the slot held by referralID, if any.
func (c Capacity) HeldBy(referralID string) (ReservedSlot, bool) {
	i := slices.IndexFunc(c.slots, func(s ReservedSlot) bool { return s.ReferralID == referralID })
	if i < 0 {
		return ReservedSlot{}, false
	}
	return c.slots[i], true
}

// Free returns the free slots of an alliance and kind that start after now, in start
// order ("" kind means any kind).
func (c Capacity) Free(allianceID, kind string, now time.Time) []ReservedSlot {
	var out []ReservedSlot
	for _, s := range c.slots {
		if s.ReferralID == "" && s.AllianceID == allianceID && (kind == "" || s.Kind == kind) && s.Window.Start.After(now) {
			out = append(out, s)
		}
	}
	return out
}

func (c Capacity) slotIndex(slotID string) int {
	return slices.IndexFunc(c.slots, func(s ReservedSlot) bool { return s.SlotID == slotID })
}

// ReservedSlotsPublished records slots or beds a department keeps for an alliance.
type ReservedSlotsPublished struct {
	HospitalID   string         `json:"hospitalId"`
	DepartmentID string         `json:"departmentId"`
	AllianceID   string         `json:"allianceId"`
	Slots        []ReservedSlot `json:"slots"`
	PublishedAt  time.Time      `json:"publishedAt"`
}

// ReservedSlotBooked records that a slot is held for an accepted referral.
type ReservedSlotBooked struct {
	HospitalID   string    `json:"hospitalId"`
	DepartmentID string    `json:"departmentId"`
	SlotID       string    `json:"slotId"`
	ReferralID   string    `json:"referralId"`
	BookedAt     time.Time `json:"bookedAt"`
}

// ReservedSlotReleased records that a slot is free again, and why (declined,
// cancelled, no-show, acceptance failed).
type ReservedSlotReleased struct {
	HospitalID   string    `json:"hospitalId"`
	DepartmentID string    `json:"departmentId"`
	SlotID       string    `json:"slotId"`
	ReferralID   string    `json:"referralId"`
	Reason       string    `json:"reason"`
	ReleasedAt   time.Time `json:"releasedAt"`
}

// EventType implements Event.
func (ReservedSlotsPublished) EventType() string { return "ReservedSlotsPublished" }

// EventType implements Event.
func (ReservedSlotBooked) EventType() string { return "ReservedSlotBooked" }

// EventType implements Event.
func (ReservedSlotReleased) EventType() string { return "ReservedSlotReleased" }

func init() {
	Register[ReservedSlotsPublished](CapacityAggregate, 1, nil)
	Register[ReservedSlotBooked](CapacityAggregate, 1, nil)
	Register[ReservedSlotReleased](CapacityAggregate, 1, nil)
}

// Evolve folds one event into the department's capacity.
func (c Capacity) Evolve(e Event) Capacity {
	switch e := e.(type) {
	case ReservedSlotsPublished:
		c.HospitalID, c.DepartmentID = e.HospitalID, e.DepartmentID
		slots := append(slices.Clone(c.slots), e.Slots...)
		slices.SortFunc(slots, func(a, b ReservedSlot) int {
			return cmp.Or(a.Window.Start.Compare(b.Window.Start), cmp.Compare(a.SlotID, b.SlotID))
		})
		c.slots = slots
	case ReservedSlotBooked:
		c.slots = c.withHolder(e.SlotID, e.ReferralID)
	case ReservedSlotReleased:
		c.slots = c.withHolder(e.SlotID, "")
	}
	return c
}

func (c Capacity) withHolder(slotID, referralID string) []ReservedSlot {
	slots := slices.Clone(c.slots)
	if i := c.slotIndex(slotID); i >= 0 {
		slots[i].ReferralID = referralID
	}
	return slots
}

// CapacityCommand is a command handled by the capacity aggregate.
type CapacityCommand interface{ capacityCommand() }

// PublishReservedSlots keeps slots or beds of By's department for Alliance's referrals.
// The department's hospital must lead the alliance or be an active member of it (a
// member keeps rehabilitation beds for patients referred down).
type PublishReservedSlots struct {
	Alliance Alliance
	By       Actor
	Slots    []ReservedSlot // SlotID (a ULID), Kind and Window; AllianceID is set here
	At       time.Time
}

// BookReservedSlot holds a free slot for an accepted referral: the named SlotID, or
// else the earliest free slot of Kind for the alliance. It is idempotent: a referral
// that already holds a slot books nothing new.
type BookReservedSlot struct {
	HospitalID   string
	DepartmentID string
	AllianceID   string
	ReferralID   string
	SlotID       string
	Kind         string
	At           time.Time
}

// ReleaseReservedSlot frees the slot a referral holds; idempotent.
type ReleaseReservedSlot struct {
	HospitalID   string
	DepartmentID string
	ReferralID   string
	Reason       string
	At           time.Time
}

func (PublishReservedSlots) capacityCommand() {}
func (BookReservedSlot) capacityCommand()     {}
func (ReleaseReservedSlot) capacityCommand()  {}

// DecideCapacity decides a capacity command against the department's capacity.
func DecideCapacity(c Capacity, cmd CapacityCommand) ([]Event, error) {
	switch cmd := cmd.(type) {
	case PublishReservedSlots:
		return decidePublishSlots(c, cmd)
	case BookReservedSlot:
		if err := firstErr(ValidateID("hospitalId", cmd.HospitalID), required("departmentId", cmd.DepartmentID, maxDepartmentID),
			ValidateID("referralId", cmd.ReferralID), validateInstant("at", cmd.At), c.checkOwner(cmd.HospitalID, cmd.DepartmentID)); err != nil {
			return nil, err
		}
		if cmd.Kind != "" && !slices.Contains(slotKinds, cmd.Kind) {
			return nil, Errorf(CodeInvalidInput, "kind %q must be one of %v", truncate(cmd.Kind, 20), slotKinds)
		}
		if _, ok := c.HeldBy(cmd.ReferralID); ok {
			return nil, nil // already booked: a retried acceptance
		}
		var slot ReservedSlot
		if cmd.SlotID != "" {
			i := c.slotIndex(cmd.SlotID)
			if i < 0 {
				return nil, Errorf(CodeNotFound, "department %s of hospital %s has no reserved slot %s", cmd.DepartmentID, cmd.HospitalID, truncate(cmd.SlotID, 40))
			}
			slot = c.slots[i]
			switch {
			case slot.AllianceID != cmd.AllianceID:
				return nil, Errorf(CodeForbidden, "slot %s is reserved for another alliance's referrals", slot.SlotID)
			case slot.ReferralID != "":
				return nil, Errorf(CodeNoCapacity, "slot %s is already booked by referral %s; choose another slot or accept without one", slot.SlotID, slot.ReferralID).
					WithDetail("slotId", slot.SlotID)
			case !slot.Window.Start.After(cmd.At):
				return nil, Errorf(CodeNoCapacity, "slot %s started at %s and can no longer be booked", slot.SlotID, slot.Window.Start.UTC().Format(time.RFC3339)).
					WithDetail("slotId", slot.SlotID)
			}
		} else {
			free := c.Free(cmd.AllianceID, cmd.Kind, cmd.At)
			if len(free) == 0 {
				return nil, Errorf(CodeNoCapacity, "no reserved %s is left in department %s of hospital %s for alliance %s; accept without a reserved slot, or decline and say where to go instead",
					cmp.Or(cmd.Kind, "slot or bed"), cmd.DepartmentID, cmd.HospitalID, cmd.AllianceID)
			}
			slot = free[0]
		}
		return []Event{ReservedSlotBooked{HospitalID: cmd.HospitalID, DepartmentID: cmd.DepartmentID, SlotID: slot.SlotID,
			ReferralID: cmd.ReferralID, BookedAt: cmd.At}}, nil
	case ReleaseReservedSlot:
		if err := firstErr(ValidateID("hospitalId", cmd.HospitalID), required("departmentId", cmd.DepartmentID, maxDepartmentID),
			ValidateID("referralId", cmd.ReferralID), required("reason", cmd.Reason, maxReferralReason), validateInstant("at", cmd.At),
			c.checkOwner(cmd.HospitalID, cmd.DepartmentID)); err != nil {
			return nil, err
		}
		s, ok := c.HeldBy(cmd.ReferralID)
		if !ok {
			return nil, nil // nothing held: a retried release
		}
		return []Event{ReservedSlotReleased{HospitalID: cmd.HospitalID, DepartmentID: cmd.DepartmentID, SlotID: s.SlotID,
			ReferralID: cmd.ReferralID, Reason: cmd.Reason, ReleasedAt: cmd.At}}, nil
	}
	return nil, Errorf(CodeInvalidInput, "unknown capacity command %T", cmd)
}

func decidePublishSlots(c Capacity, cmd PublishReservedSlots) ([]Event, error) {
	by := cmd.By
	if err := firstErr(ValidateID("hospitalId", by.HospitalID), required("departmentId", by.DepartmentID, maxDepartmentID),
		validateInstant("at", cmd.At), c.checkOwner(by.HospitalID, by.DepartmentID)); err != nil {
		return nil, err
	}
	al := cmd.Alliance
	if !al.Exists() {
		return nil, Errorf(CodeNotFound, "the alliance does not exist")
	}
	if !al.IsLeadHospital(by.HospitalID) {
		if err := al.RequireActiveMember(by.HospitalID); err != nil {
			return nil, err
		}
	}
	if len(cmd.Slots) == 0 || len(cmd.Slots) > maxSlotsPerPublish {
		return nil, Errorf(CodeInvalidInput, "publish between 1 and %d slots at a time; got %d", maxSlotsPerPublish, len(cmd.Slots))
	}
	seen := map[string]bool{}
	slots := make([]ReservedSlot, 0, len(cmd.Slots))
	for i, s := range cmd.Slots {
		if err := ValidateID("slotId", s.SlotID); err != nil {
			return nil, err
		}
		if seen[s.SlotID] || c.slotIndex(s.SlotID) >= 0 {
			return nil, Errorf(CodeAlreadyExists, "slot %s is listed twice or was already published", s.SlotID)
		}
		seen[s.SlotID] = true
		if !slices.Contains(slotKinds, s.Kind) {
			return nil, Errorf(CodeInvalidInput, "slot %d: kind %q must be one of %v", i+1, truncate(s.Kind, 20), slotKinds)
		}
		if err := validateWindow(s.Window, maxSlotWindow, "slot"); err != nil {
			return nil, err
		}
		if !s.Window.Start.After(cmd.At) {
			return nil, Errorf(CodeInvalidInput, "slot %d starts at %s, which has passed; publish only future slots", i+1, s.Window.Start.UTC().Format(time.RFC3339))
		}
		slots = append(slots, ReservedSlot{SlotID: s.SlotID, AllianceID: al.ID, Kind: s.Kind, Window: s.Window})
	}
	return []Event{ReservedSlotsPublished{HospitalID: by.HospitalID, DepartmentID: by.DepartmentID, AllianceID: al.ID,
		Slots: slots, PublishedAt: cmd.At}}, nil
}

// checkOwner refuses a command naming another department than the stream's (the
// service loaded the wrong stream).
func (c Capacity) checkOwner(hospitalID, departmentID string) error {
	if c.Exists() && (c.HospitalID != hospitalID || c.DepartmentID != departmentID) {
		return Errorf(CodeInvalidInput, "command names department %s of hospital %s but this is the capacity of department %s of hospital %s",
			departmentID, hospitalID, c.DepartmentID, c.HospitalID)
	}
	return nil
}
