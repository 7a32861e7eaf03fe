package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

func TestDecideExpert(t *testing.T) {
	w := newRenjiWorld()
	h := func(n int) time.Time { return w.ws.Start.Add(time.Duration(n) * time.Hour) }
	// The expert holds the 嘉定 workstation on Tuesday 08:00-12:00 (dispatch 70) and is
	// asked for other visits (dispatch 71, 72) around it.
	tue := domain.Window{Start: h(0), End: h(4)}
	booked := domain.ExpertBooked{ExpertID: w.expertID, DispatchID: w.dispatchID, Window: tue}
	released := domain.ExpertBookingReleased{ExpertID: w.expertID, DispatchID: w.dispatchID, Window: tue, Reason: "派出已取消"}
	book := func(dispatch string, win domain.Window) domain.BookExpert {
		return domain.BookExpert{ExpertID: w.expertID, DispatchID: dispatch, Window: win}
	}
	bookedFor := func(dispatch string, win domain.Window) []domain.Event {
		return []domain.Event{domain.ExpertBooked{ExpertID: w.expertID, DispatchID: dispatch, Window: win}}
	}
	given := []domain.Event{booked}
	release := domain.ReleaseBooking{ExpertID: w.expertID, DispatchID: w.dispatchID, Reason: "派出已取消"}

	runSpecs(t, domain.DecideExpert, []spec[domain.ExpertCommand]{
		{name: "book an empty schedule", when: book(w.dispatchID, tue), want: []domain.Event{booked}},
		{name: "book the same dispatch again is a no-op", given: given, when: book(w.dispatchID, tue), want: nil},
		{name: "same dispatch, same instants in another zone is a no-op", given: given,
			when: book(w.dispatchID, domain.Window{Start: tue.Start.In(time.FixedZone("CST", 8*3600)), End: tue.End}), want: nil},
		{name: "same dispatch, another window", given: given, when: book(w.dispatchID, domain.Window{Start: h(1), End: h(5)}), wantCode: domain.CodeAlreadyExists},
		{name: "back to back after", given: given, when: book(id(71), domain.Window{Start: h(4), End: h(8)}),
			want: bookedFor(id(71), domain.Window{Start: h(4), End: h(8)})},
		{name: "back to back before", given: given, when: book(id(71), domain.Window{Start: h(-3), End: h(0)}),
			want: bookedFor(id(71), domain.Window{Start: h(-3), End: h(0)})},
		{name: "between two bookings, touching both", given: []domain.Event{booked,
			domain.ExpertBooked{ExpertID: w.expertID, DispatchID: id(72), Window: domain.Window{Start: h(6), End: h(9)}}},
			when: book(id(71), domain.Window{Start: h(4), End: h(6)}), want: bookedFor(id(71), domain.Window{Start: h(4), End: h(6)})},
		{name: "identical window", given: given, when: book(id(71), tue), wantCode: domain.CodeScheduleOverlap},
		{name: "contained", given: given, when: book(id(71), domain.Window{Start: h(1), End: h(2)}), wantCode: domain.CodeScheduleOverlap},
		{name: "containing", given: given, when: book(id(71), domain.Window{Start: h(-24), End: h(24)}), wantCode: domain.CodeScheduleOverlap},
		{name: "overlapping the start by a minute", given: given,
			when: book(id(71), domain.Window{Start: h(-2), End: h(0).Add(time.Minute)}), wantCode: domain.CodeScheduleOverlap},
		{name: "overlapping the end", given: given, when: book(id(71), domain.Window{Start: h(3), End: h(6)}), wantCode: domain.CodeScheduleOverlap},
		{name: "clash with the second of two bookings", given: []domain.Event{booked,
			domain.ExpertBooked{ExpertID: w.expertID, DispatchID: id(72), Window: domain.Window{Start: h(48), End: h(52)}}},
			when: book(id(71), domain.Window{Start: h(50), End: h(51)}), wantCode: domain.CodeScheduleOverlap},
		{name: "a released booking frees its window", given: []domain.Event{booked, released},
			when: book(id(71), tue), want: bookedFor(id(71), tue)},
		{name: "a released dispatch can be booked again (retried assignment)", given: []domain.Event{booked, released},
			when: book(w.dispatchID, tue), want: []domain.Event{booked}},
		{name: "book with bad expert id", when: domain.BookExpert{ExpertID: "陈主任", DispatchID: w.dispatchID, Window: tue}, wantCode: domain.CodeInvalidInput},
		{name: "book with bad dispatch id", when: book("70", tue), wantCode: domain.CodeInvalidInput},
		{name: "book an empty window", when: book(w.dispatchID, domain.Window{Start: h(0), End: h(0)}), wantCode: domain.CodeInvalidInput},
		{name: "book a window without start", when: book(w.dispatchID, domain.Window{End: h(1)}), wantCode: domain.CodeInvalidInput},
		{name: "book more than a year", when: book(w.dispatchID, domain.Window{Start: h(0), End: h(0).Add(domain.MaxWorkstationWindow + time.Hour)}),
			wantCode: domain.CodeInvalidInput},
		{name: "book on another expert's schedule", given: given,
			when: domain.BookExpert{ExpertID: w.expert2, DispatchID: id(71), Window: domain.Window{Start: h(10), End: h(12)}}, wantCode: domain.CodeInvalidInput},

		{name: "release", given: given, when: release, want: []domain.Event{released}},
		{name: "release twice is a no-op", given: []domain.Event{booked, released}, when: release, want: nil},
		{name: "release a dispatch never booked is a no-op", given: given,
			when: domain.ReleaseBooking{ExpertID: w.expertID, DispatchID: id(71), Reason: "分配失败,补偿释放"}, want: nil},
		{name: "release without reason", given: given, when: domain.ReleaseBooking{ExpertID: w.expertID, DispatchID: w.dispatchID}, wantCode: domain.CodeInvalidInput},
		{name: "release with bad dispatch id", given: given, when: domain.ReleaseBooking{ExpertID: w.expertID, DispatchID: "x", Reason: "r"}, wantCode: domain.CodeInvalidInput},
		{name: "release with bad expert id", given: given, when: domain.ReleaseBooking{ExpertID: "", DispatchID: w.dispatchID, Reason: "r"}, wantCode: domain.CodeInvalidInput},
		{name: "release on another expert's schedule", given: given,
			when: domain.ReleaseBooking{ExpertID: w.expert2, DispatchID: w.dispatchID, Reason: "r"}, wantCode: domain.CodeInvalidInput},

		{name: "nil command", when: nil, wantCode: domain.CodeInvalidInput},
	})
}

// TestOverlapMessageNamesTheClash checks that the refusal tells the lead which dispatch
// and window are in the way, so it can pick another expert or window.
func TestOverlapMessageNamesTheClash(t *testing.T) {
	w := newRenjiWorld()
	var s domain.ExpertSchedule
	s = s.Evolve(domain.ExpertBooked{ExpertID: w.expertID, DispatchID: w.dispatchID, Window: w.ws})
	clinic := domain.Window{Start: w.ws.Start.Add(48 * time.Hour), End: w.ws.Start.Add(52 * time.Hour)}
	_, err := domain.DecideExpert(s, domain.BookExpert{ExpertID: w.expertID, DispatchID: id(71), Window: clinic})
	if domain.ErrorCode(err) != domain.CodeScheduleOverlap {
		t.Fatalf("got %v, want schedule_overlap", err)
	}
	for _, want := range []string{w.dispatchID, w.ws.String(), clinic.String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %q", err, want)
		}
	}
	var de *domain.Error
	if !errors.As(err, &de) || de.Details["clashingDispatchId"] != w.dispatchID {
		t.Errorf("details %v do not name the clashing dispatch %s", de.Details, w.dispatchID)
	}
}

// TestConcurrentBookingsAreSerialised replays what the command path does when two leads
// book the same expert at once: both decide on the same version of the schedule and
// both would succeed, but only one append wins; the loser reloads (now with the
// winner's booking) and decides again, and is refused.
func TestConcurrentBookingsAreSerialised(t *testing.T) {
	w := newRenjiWorld()
	var s domain.ExpertSchedule
	a := domain.BookExpert{ExpertID: w.expertID, DispatchID: id(71), Window: domain.Window{Start: t0, End: t0.Add(4 * time.Hour)}}
	b := domain.BookExpert{ExpertID: w.expertID, DispatchID: id(72), Window: domain.Window{Start: t0.Add(2 * time.Hour), End: t0.Add(6 * time.Hour)}}
	evA, errA := domain.DecideExpert(s, a)
	evB, errB := domain.DecideExpert(s, b)
	if errA != nil || errB != nil || len(evA) != 1 || len(evB) != 1 {
		t.Fatalf("on the same version both decide to book: got %v/%v, %v/%v", evA, errA, evB, errB)
	}
	// a's append wins at the expected version; b's fails with a version conflict and
	// is decided again on the reloaded stream.
	s = s.Evolve(evA[0])
	if _, err := domain.DecideExpert(s, b); domain.ErrorCode(err) != domain.CodeScheduleOverlap {
		t.Fatalf("after reload: got %v, want schedule_overlap", err)
	}
}

func TestExpertScheduleBookings(t *testing.T) {
	w := newRenjiWorld()
	day := 24 * time.Hour
	later := domain.Booking{DispatchID: id(71), Window: domain.Window{Start: t0.Add(3 * day), End: t0.Add(3*day + 4*time.Hour)}}
	earlier := domain.Booking{DispatchID: id(72), Window: domain.Window{Start: t0.Add(day), End: t0.Add(day + 4*time.Hour)}}
	gone := domain.Booking{DispatchID: id(73), Window: domain.Window{Start: t0.Add(2 * day), End: t0.Add(2*day + time.Hour)}}
	var s domain.ExpertSchedule
	for _, e := range []domain.Event{
		domain.ExpertBooked{ExpertID: w.expertID, DispatchID: later.DispatchID, Window: later.Window},
		domain.ExpertBooked{ExpertID: w.expertID, DispatchID: gone.DispatchID, Window: gone.Window},
		domain.ExpertBooked{ExpertID: w.expertID, DispatchID: earlier.DispatchID, Window: earlier.Window},
		domain.ExpertBookingReleased{ExpertID: w.expertID, DispatchID: gone.DispatchID, Window: gone.Window, Reason: "取消"},
	} {
		s = s.Evolve(e)
	}
	got := s.Bookings()
	if len(got) != 2 || got[0] != earlier || got[1] != later {
		t.Fatalf("got bookings %+v, want [%+v %+v] in start order without the released one", got, earlier, later)
	}
	got[0].DispatchID = "changed"
	if b, ok := s.Booking(earlier.DispatchID); !ok || b != earlier {
		t.Fatalf("changing the returned slice changed the schedule: %+v %v", b, ok)
	}
	if _, ok := s.Booking(gone.DispatchID); ok {
		t.Fatalf("released booking %s is still live", gone.DispatchID)
	}
	if b, ok := s.Clash(domain.Window{Start: t0.Add(day + time.Hour), End: t0.Add(day + 2*time.Hour)}, ""); !ok || b != earlier {
		t.Fatalf("Clash = %+v %v, want %+v", b, ok, earlier)
	}
	if _, ok := s.Clash(earlier.Window, earlier.DispatchID); ok {
		t.Fatal("Clash must ignore the booking of the excepted dispatch")
	}
}
