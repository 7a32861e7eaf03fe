package projections_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// TestReservedSlotView: a published slot is free; booked for a referral it is held until
// the referral's acceptance records it (booked); released it is free again, with no
// referral.
func TestReservedSlotView(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	desk, township := newID(), newID()
	alliance := newID()
	at := refT0
	slot := domain.ReservedSlot{SlotID: newID(), AllianceID: alliance, Kind: domain.SlotBed, Window: domain.Window{Start: at.Add(time.Hour), End: at.Add(25 * time.Hour)}}
	other := domain.ReservedSlot{SlotID: newID(), AllianceID: alliance, Kind: domain.SlotOutpatient, Window: domain.Window{Start: at.Add(2 * time.Hour), End: at.Add(3 * time.Hour)}}
	capStream := domain.CapacityStream(desk, "cardio")
	actor := domain.Actor{HospitalID: desk, DepartmentID: "cardio"}
	appendEvents(t, store, capStream, actor, at, domain.ReservedSlotsPublished{HospitalID: desk, DepartmentID: "cardio", AllianceID: alliance,
		Slots: []domain.ReservedSlot{other, slot}, PublishedAt: at})
	req := requested(newID(), township, desk, domain.UrgencyEmergency, "pr_"+strings.Repeat("c", 26), at)
	appendEvents(t, store, domain.ReferralStream(req.ReferralID), domain.Actor{HospitalID: township}, at, req)
	booked := appendEvents(t, store, capStream, actor, at, domain.ReservedSlotBooked{HospitalID: desk, DepartmentID: "cardio", SlotID: slot.SlotID, ReferralID: req.ReferralID, BookedAt: at})
	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix})
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p, Timeout: 10 * time.Second})
	t.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()
	status := func(pos eventstore.Position) []string {
		t.Helper()
		list, err := q.ReservedSlots(ctx, desk, "cardio", pos)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.SlotID+":"+s.Status+":"+s.ReferralID)
		}
		return out
	}
	held := status(booked.Position)
	if want := []string{slot.SlotID + ":held:" + req.ReferralID, other.SlotID + ":free:"}; !slices.Equal(held, want) {
		t.Fatalf("after booking: %v, want %v", held, want)
	}
	acc := appendEvents(t, store, domain.ReferralStream(req.ReferralID), actor, at.Add(time.Minute), domain.ReferralAccepted{ReferralID: req.ReferralID,
		DepartmentID: "cardio", Slot: &domain.SlotRef{SlotID: slot.SlotID, Kind: slot.Kind, Window: slot.Window}, ExpectedArrival: at.Add(time.Hour), AcceptedAt: at.Add(time.Minute)})
	if got, want := status(acc.Position), []string{slot.SlotID + ":booked:" + req.ReferralID, other.SlotID + ":free:"}; !slices.Equal(got, want) {
		t.Fatalf("after the acceptance: %v, want %v", got, want)
	}
	rel := appendEvents(t, store, capStream, actor, at.Add(time.Hour), domain.ReservedSlotReleased{HospitalID: desk, DepartmentID: "cardio", SlotID: slot.SlotID,
		ReferralID: req.ReferralID, Reason: "referral cancelled", ReleasedAt: at.Add(time.Hour)})
	if got, want := status(rel.Position), []string{slot.SlotID + ":free:", other.SlotID + ":free:"}; !slices.Equal(got, want) {
		t.Fatalf("after the release: %v, want %v", got, want)
	}
}

// BenchmarkReservedSlots reads every slot of a department that published 2,000 (four
// batches of 500, a year of daily beds and outpatient slots), and reports the median
// and p99 latency of one read:
//
//	go test ./projections -run '^$' -bench ReservedSlots -benchtime 500x
func BenchmarkReservedSlots(b *testing.B) {
	rdb := MustRedis(b)
	prefix := MustPrefix(b, rdb)
	store := MustStore(b)
	desk, alliance := newID(), newID()
	const published = 2000
	for i := 0; i < published; i += 500 {
		slots := make([]domain.ReservedSlot, 500)
		for j := range slots {
			start := refT0.Add(time.Duration(i+j+1) * 4 * time.Hour)
			slots[j] = domain.ReservedSlot{SlotID: newID(), AllianceID: alliance, Kind: domain.SlotOutpatient, Window: domain.Window{Start: start, End: start.Add(30 * time.Minute)}}
		}
		appendEvents(b, store, domain.CapacityStream(desk, "referral-centre"), domain.Actor{HospitalID: desk, DepartmentID: "referral-centre"}, refT0,
			domain.ReservedSlotsPublished{HospitalID: desk, DepartmentID: "referral-centre", AllianceID: alliance, Slots: slots, PublishedAt: refT0})
	}
	p, _ := runProjector(b, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(b, p)
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p})
	b.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		began := time.Now()
		list, err := q.ReservedSlots(ctx, desk, "referral-centre", 0)
		lat = append(lat, time.Since(began))
		if err != nil || len(list) != published {
			b.Fatalf("slots: %d, err %v", len(list), err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
