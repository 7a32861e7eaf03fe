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

func submitted(id, centre, centreHospital, from, urgency string, at time.Time) domain.DiagnosticSubmitted {
	t, _ := domain.DefaultDiagnosticPolicy().For(domain.CentreECG, urgency)
	return domain.DiagnosticSubmitted{RequestID: id, AllianceID: newID(), CentreID: centre, CentreHospitalID: centreHospital,
		CentreDepartmentID: "ecg-room", Kind: domain.CentreECG, Modality: "12-lead", ClinicalQuestion: "胸痛", Urgency: urgency,
		PatientRef: "pr_" + strings.Repeat("e", 26), FromHospitalID: from, SubmittedAt: at, ReportDeadline: at.Add(t)}
}

// TestDiagnosticViews projects 梅子铺's emergency ECG and a routine one to 恒口's centre:
// the worklist order and overdue counts, the reader's list, the member's pending and
// reported studies, the critical inbox and board through flag -> escalation ->
// acknowledgement, and the centre's turnaround figures.
func TestDiagnosticViews(t *testing.T) {
	rdb := MustRedis(t)
	prefix := MustPrefix(t, rdb)
	store := MustStore(t)
	centre, county, mzp, reader, reader2 := newID(), newID(), newID(), newID(), newID()
	member := domain.Actor{HospitalID: mzp}
	centreBy := domain.Actor{HospitalID: county}
	appendEvents(t, store, domain.CentreStream(centre), centreBy, refT0.Add(-time.Hour),
		domain.CentreOpened{CentreID: centre, AllianceID: newID(), Kind: domain.CentreECG, Name: "恒口远程心电诊断中心", OperatorHospitalID: county, DepartmentID: "ecg-room", OpenedAt: refT0.Add(-time.Hour)},
		domain.CentreReaderAdded{CentreID: centre, PractitionerID: reader, Name: "王建国", Title: "主任医师", AddedAt: refT0.Add(-time.Hour)})
	routine, emergency, reported := newID(), newID(), newID()
	appendEvents(t, store, domain.DiagnosticStream(routine), member, refT0, submitted(routine, centre, county, mzp, domain.UrgencyRoutine, refT0))
	appendEvents(t, store, domain.DiagnosticStream(emergency), member, refT0, submitted(emergency, centre, county, mzp, domain.UrgencyEmergency, refT0.Add(time.Minute)),
		domain.DiagnosticRouted{RequestID: emergency, ReaderID: reader, ReaderName: "王建国", RoutedAt: refT0.Add(time.Minute)})
	sub := submitted(reported, centre, county, mzp, domain.UrgencyEmergency, refT0)
	appendEvents(t, store, domain.DiagnosticStream(reported), member, refT0, sub,
		domain.DiagnosticRouted{RequestID: reported, ReaderID: reader, ReaderName: "王建国", RoutedAt: refT0},
		domain.DiagnosticRouted{RequestID: reported, ReaderID: reader2, ReaderName: "刘芳", RoutedAt: refT0.Add(time.Minute)},
		domain.DiagnosticReported{RequestID: reported, Version: 1, ReaderID: reader2, ReaderName: "刘芳", Kind: domain.CentreECG,
			Findings: []domain.Finding{{Item: "rhythm", Value: "窦性"}}, Impression: "急性下壁心梗", WithinTarget: true, ReportedAt: refT0.Add(6 * time.Minute)},
		domain.CriticalValueFlagged{RequestID: reported, Seq: 1, ReportVersion: 1, Finding: "STEMI", CentreID: centre, FromHospitalID: mzp,
			FlaggedAt: refT0.Add(6 * time.Minute), AckDeadline: refT0.Add(16 * time.Minute)})
	res := appendEvents(t, store, domain.DiagnosticStream(reported), domain.Actor{Role: "system"}, refT0,
		domain.CriticalValueEscalated{RequestID: reported, Seq: 1, HospitalID: mzp, Channel: domain.EscalateDutyLine,
			AckDeadline: refT0.Add(16 * time.Minute), EscalatedAt: refT0.Add(17 * time.Minute)})

	p, _ := runProjector(t, store, rdb, projections.Options{Prefix: prefix})
	waitCaughtUp(t, p)
	now := refT0.Add(20 * time.Minute) // the emergency ECG's 15-minute target has passed
	q := projections.NewQueries(rdb, projections.QueryOptions{Prefix: prefix, Projector: p, Now: func() time.Time { return now }})
	t.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()
	minPos := eventstore.Position(res.Position)

	wl, err := q.CentreWorklist(ctx, centre, 0, minPos)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, d := range wl.Studies {
		order = append(order, d.RequestID)
	}
	if want := []string{emergency, routine}; !slices.Equal(order, want) || wl.Open != 2 || wl.Overdue != 1 || !wl.Studies[0].Overdue || wl.Studies[1].Overdue {
		t.Fatalf("worklist %v open %d overdue %d, want %v, 2, 1 (the emergency flagged)", order, wl.Open, wl.Overdue, want)
	}
	if rl, err := q.ReaderWorklist(ctx, centre, reader, 0, 0); err != nil || len(rl.Studies) != 1 || rl.Studies[0].RequestID != emergency {
		t.Fatalf("王建国's list: %+v, %v; want only the emergency (the rerouted study left it)", rl.Studies, err)
	}
	if rl, err := q.ReaderWorklist(ctx, centre, reader2, 0, 0); err != nil || len(rl.Studies) != 0 {
		t.Fatalf("刘芳's list: %+v, %v; want empty (her study is reported)", rl.Studies, err)
	}
	pending, err := q.HospitalDiagnostics(ctx, mzp, projections.StudiesPending, 0)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending studies: %d, %v", len(pending), err)
	}
	done, err := q.HospitalDiagnostics(ctx, mzp, projections.StudiesReported, 0)
	if err != nil || len(done) != 1 || done[0].Report == nil || *done[0].TurnaroundMinutes != 6 {
		t.Fatalf("reported studies: %+v, %v", done, err)
	}
	inbox, err := q.CriticalInbox(ctx, mzp, 0)
	if err != nil || inbox.Pending != 1 || inbox.Overdue != 1 || inbox.Escalated != 1 || !inbox.Studies[0].CriticalOverdue {
		t.Fatalf("inbox: %+v, %v; want one escalated, overdue critical value", inbox, err)
	}
	board, err := q.CentreCriticalBoard(ctx, centre, 0)
	if err != nil || board.Escalated != 1 {
		t.Fatalf("board: %+v, %v", board, err)
	}

	ack := appendEvents(t, store, domain.DiagnosticStream(reported), member, refT0,
		domain.CriticalValueAcknowledged{RequestID: reported, Seq: 1, AcknowledgedBy: "dr-li", WithinTarget: false, AcknowledgedAt: refT0.Add(19 * time.Minute)})
	inbox, err = q.CriticalInbox(ctx, mzp, eventstore.Position(ack.Position))
	if err != nil || inbox.Pending != 0 || len(inbox.Studies) != 0 {
		t.Fatalf("inbox after the acknowledgement: %+v, %v", inbox, err)
	}
	ta, err := q.CentreTurnaround(ctx, centre, 0)
	if err != nil {
		t.Fatal(err)
	}
	em := ta.ByUrgency[domain.UrgencyEmergency]
	if ta.Reported != 1 || em == nil || em.MeanMinutes != 6 || em.WithinTarget != 1 ||
		ta.Critical.Flagged != 1 || ta.Critical.Escalated != 1 || ta.Critical.Acknowledged != 1 || ta.Critical.MaxAckMinutes != 13 {
		t.Fatalf("turnaround: %+v (emergency %+v)", ta, em)
	}
	c, err := q.Centre(ctx, centre, 0)
	if err != nil || len(c.Readers) != 1 || !slices.Equal(c.Template, domain.ReportTemplates[domain.CentreECG]) {
		t.Fatalf("centre: %+v, %v", c, err)
	}
}

// BenchmarkCentreWorklist reads the first page (100) of a centre's worklist holding
// 10,000 open studies, and reports the median and p99 latency of one read:
//
//	go test ./projections -run '^$' -bench CentreWorklist -benchtime 2000x
func BenchmarkCentreWorklist(b *testing.B) {
	rdb := MustRedis(b)
	prefix := MustPrefix(b, rdb)
	store := MustStore(b)
	centre, county := newID(), newID()
	urgencies := []string{domain.UrgencyEmergency, domain.UrgencyUrgent, domain.UrgencyRoutine}
	const open = 10_000
	for j := range open {
		s := submitted(newID(), centre, county, newID(), urgencies[j%3], refT0.Add(time.Duration(j)*time.Second))
		s.Attachments = []domain.StudyAttachment{{Attachment: domain.Attachment{Name: "ecg.xml", MediaType: "text/xml",
			SHA256: strings.Repeat("a", 64), SizeBytes: 40_000}, Link: "https://ecg.example/s/" + s.RequestID}}
		appendEvents(b, store, domain.DiagnosticStream(s.RequestID), domain.Actor{HospitalID: s.FromHospitalID}, s.SubmittedAt, s)
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
		w, err := q.CentreWorklist(ctx, centre, 100, 0)
		lat = append(lat, time.Since(began))
		if err != nil || w.Open != open || len(w.Studies) != 100 || w.Overdue != open {
			b.Fatalf("worklist: open %d rows %d overdue %d err %v", w.Open, len(w.Studies), w.Overdue, err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
