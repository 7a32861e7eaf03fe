package projections

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// Keys of the reserved-capacity views (号源/床位下沉):
//
//	capacity:<h>:<dept>:slots      hash: slot id -> the slot's document, for every slot dept of h published
func (k keyspace) capacitySlots(hospitalID, departmentID string) string {
	return k.root() + "capacity:" + hospitalID + ":" + departmentID + ":slots"
}

func slotRef(ks keyspace, hospitalID, departmentID, slotID string) docRef {
	return docRef{ks.capacitySlots(hospitalID, departmentID), slotID}
}

// Reserved slot statuses in the views. "held" and "booked" tell apart a slot booked
// for a referral whose acceptance is recorded with it (booked) from one whose
// acceptance is not (held: an acceptance in flight, or one a crash cut short, which the
// slot reconciler releases after its grace period).
const (
	SlotStatusFree   = "free"
	SlotStatusHeld   = "held"
	SlotStatusBooked = "booked"
)

// ReservedSlotView is one reserved slot or bed as its department publishes it.
// ReferralID and BookedAt are shown to the publishing department and auditors only.
type ReservedSlotView struct {
	SlotID       string              `json:"slotId"`
	HospitalID   string              `json:"hospitalId"`
	DepartmentID string              `json:"departmentId"`
	AllianceID   string              `json:"allianceId"`
	Kind         string              `json:"kind"`
	Window       domain.Window       `json:"window"`
	Status       string              `json:"status"`
	ReferralID   string              `json:"referralId,omitempty"`
	BookedAt     *time.Time          `json:"bookedAt,omitempty"`
	PublishedAt  time.Time           `json:"publishedAt"`
	Position     eventstore.Position `json:"position"`
}

// capacityNeeds lists the documents an event of the capacity aggregate changes.
func capacityNeeds(ks keyspace, e domain.Event) []docRef {
	switch ev := e.(type) {
	case domain.ReservedSlotsPublished:
		refs := make([]docRef, len(ev.Slots))
		for i, s := range ev.Slots {
			refs[i] = slotRef(ks, ev.HospitalID, ev.DepartmentID, s.SlotID)
		}
		return refs
	case domain.ReservedSlotBooked:
		return []docRef{slotRef(ks, ev.HospitalID, ev.DepartmentID, ev.SlotID)}
	case domain.ReservedSlotReleased:
		return []docRef{slotRef(ks, ev.HospitalID, ev.DepartmentID, ev.SlotID)}
	}
	return nil
}

func applyCapacity(b *batch, e event) error {
	switch ev := e.ev.(type) {
	case domain.ReservedSlotsPublished:
		for _, s := range ev.Slots {
			v := &ReservedSlotView{SlotID: s.SlotID, HospitalID: ev.HospitalID, DepartmentID: ev.DepartmentID, AllianceID: ev.AllianceID,
				Kind: s.Kind, Window: utcWindow(s.Window), Status: SlotStatusFree, PublishedAt: ev.PublishedAt.UTC(), Position: e.pos}
			if err := putDoc(b, slotRef(b.ks, ev.HospitalID, ev.DepartmentID, s.SlotID), v); err != nil {
				return err
			}
		}
		return nil
	case domain.ReservedSlotBooked:
		ref := slotRef(b.ks, ev.HospitalID, ev.DepartmentID, ev.SlotID)
		v, err := getDoc[ReservedSlotView](b, ref)
		if err != nil || v == nil {
			return err
		}
		v.Status, v.ReferralID, v.BookedAt, v.Position = SlotStatusHeld, ev.ReferralID, timePtr(ev.BookedAt.UTC()), e.pos
		return putDoc(b, ref, v)
	case domain.ReservedSlotReleased:
		ref := slotRef(b.ks, ev.HospitalID, ev.DepartmentID, ev.SlotID)
		v, err := getDoc[ReservedSlotView](b, ref)
		if err != nil || v == nil {
			return err
		}
		v.Status, v.ReferralID, v.BookedAt, v.Position = SlotStatusFree, "", nil, e.pos
		return putDoc(b, ref, v)
	}
	return nil
}

// markSlotBooked turns the slot an acceptance recorded from held into booked. The slot
// is found through the referral (its receiving hospital), so it is loaded on first use.
func markSlotBooked(b *batch, r *ReferralView, ev domain.ReferralAccepted, pos eventstore.Position) error {
	if ev.Slot == nil {
		return nil
	}
	ref := slotRef(b.ks, r.ToHospitalID, ev.DepartmentID, ev.Slot.SlotID)
	v, err := getDoc[ReservedSlotView](b, ref)
	if err != nil || v == nil || v.ReferralID != r.ReferralID {
		return err
	}
	v.Status, v.Position = SlotStatusBooked, pos
	return putDoc(b, ref, v)
}

// ReservedSlots returns every slot a department published, in start order.
func (q *Queries) ReservedSlots(ctx context.Context, hospitalID, departmentID string, minPos eventstore.Position) ([]ReservedSlotView, error) {
	var out []ReservedSlotView
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		key := ks.capacitySlots(hospitalID, departmentID)
		degraded := readDegraded(pipe, ks, nil, []string{key})
		cmd := pipe.HGetAll(ctx, key)
		return func() error {
			if err := degraded(); err != nil {
				return err
			}
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			if out, err = decodeAll[ReservedSlotView](vals, "reserved slots"); err != nil {
				return err
			}
			slices.SortFunc(out, func(a, b ReservedSlotView) int {
				return cmp.Or(a.Window.Start.Compare(b.Window.Start), cmp.Compare(a.SlotID, b.SlotID))
			})
			return nil
		}
	})
	return out, err
}
