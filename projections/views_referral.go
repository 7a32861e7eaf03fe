package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/redis/go-redis/v9"
)

// Keys of the referral views (双向转诊):
//
//	referral:<id>                         the referral's document (JSON)
//	hospital:<h>:referral-desk            sorted set: the open referrals h receives, scored by urgency then next deadline
//	hospital:<h>:referrals-received       hash: id -> the document, for every referral h receives
//	hospital:<h>:referrals-sent           hash: id -> the document, for every referral h sent
//	patient:<ref>:referrals               sorted set: a patient's referrals by request time
func (k keyspace) referral(id string) string { return k.root() + "referral:" + id }
func (k keyspace) referralDesk(h string) string {
	return k.root() + "hospital:" + h + ":referral-desk"
}
func (k keyspace) referralsReceived(h string) string {
	return k.root() + "hospital:" + h + ":referrals-received"
}
func (k keyspace) referralsSent(h string) string {
	return k.root() + "hospital:" + h + ":referrals-sent"
}
func (k keyspace) patientReferrals(ref string) string {
	return k.root() + "patient:" + ref + ":referrals"
}

func referralRef(ks keyspace, id string) docRef { return docRef{ks.referral(id), ""} }

// ReferralView is one referral as the sending and receiving hospitals see it. Overdue
// flags are computed at read time from the deadlines recorded at the request.
type ReferralView struct {
	ReferralID        string               `json:"referralId"`
	AllianceID        string               `json:"allianceId"`
	Direction         string               `json:"direction"`
	FromHospitalID    string               `json:"fromHospitalId"`
	ToHospitalID      string               `json:"toHospitalId"`
	ToDepartmentID    string               `json:"toDepartmentId,omitempty"`
	Urgency           string               `json:"urgency"`
	Reason            string               `json:"reason"`
	ClinicalSummary   string               `json:"clinicalSummary"`
	PatientRef        string               `json:"patientRef"`
	Links             domain.ReferralLinks `json:"links"`
	Attachments       []domain.Attachment  `json:"attachments,omitempty"`
	Status            string               `json:"status"`
	RequestedAt       time.Time            `json:"requestedAt"`
	AcceptDeadline    time.Time            `json:"acceptDeadline"`
	AdmitDeadline     time.Time            `json:"admitDeadline"`
	AcceptedAt        *time.Time           `json:"acceptedAt,omitempty"`
	ReceivingDeptID   string               `json:"receivingDepartmentId,omitempty"`
	Slot              *domain.SlotRef      `json:"slot,omitempty"`
	ExpectedArrival   *time.Time           `json:"expectedArrival,omitempty"`
	DeclineReason     string               `json:"declineReason,omitempty"`
	Alternative       string               `json:"alternative,omitempty"`
	ArrivedAt         *time.Time           `json:"arrivedAt,omitempty"`
	AdmittedAt        *time.Time           `json:"admittedAt,omitempty"`
	CompletionSummary string               `json:"completionSummary,omitempty"`
	EndedAt           *time.Time           `json:"endedAt,omitempty"`
	EndReason         string               `json:"endReason,omitempty"`
	// AcceptMinutes and AdmitMinutes measure request -> acceptance and request ->
	// admission once they happened.
	AcceptMinutes *float64            `json:"acceptMinutes,omitempty"`
	AdmitMinutes  *float64            `json:"admitMinutes,omitempty"`
	AcceptOverdue bool                `json:"acceptOverdue"`
	AdmitOverdue  bool                `json:"admitOverdue"`
	Version       uint64              `json:"version"`
	Position      eventstore.Position `json:"position"`
}

// domainState is what the domain's overdue and open rules need of the view.
func (r *ReferralView) domainState() domain.Referral {
	return domain.Referral{Status: r.Status, AcceptDeadline: r.AcceptDeadline, AdmitDeadline: r.AdmitDeadline}
}

// flag sets the overdue flags at now with the domain's rules.
func (r *ReferralView) flag(now time.Time) {
	s := r.domainState()
	r.AcceptOverdue, r.AdmitOverdue = s.AcceptOverdue(now), s.AdmitOverdue(now)
}

// urgencyRank orders the desk: the green channel first.
func urgencyRank(u string) int {
	switch u {
	case domain.UrgencyEmergency:
		return 0
	case domain.UrgencyUrgent:
		return 1
	}
	return 2
}

// rankSpan separates the urgencies in the desk's score: rank * rankSpan + the next
// deadline in Unix milliseconds (below 1e13 until the year 2286), exact in a float64.
const rankSpan = 10_000_000_000_000

// nextDeadline is the deadline the desk works against: acceptance while requested,
// admission afterwards.
func (r *ReferralView) nextDeadline() time.Time {
	if r.Status == domain.ReferralStatusRequested {
		return r.AcceptDeadline
	}
	return r.AdmitDeadline
}

// flushReferral writes the document, its rows in both hospitals' lists, the patient's
// history, and keeps the receiving desk's queue in step (open referrals only, until
// admission: an admitted patient has left the desk).
func (ks keyspace) flushReferral(pipe redis.Pipeliner, ref docRef, val any) error {
	r := val.(*ReferralView)
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode referral view: %w", err)
	}
	ctx := context.Background()
	pipe.Set(ctx, ref.key, data, 0)
	pipe.HSet(ctx, ks.referralsReceived(r.ToHospitalID), r.ReferralID, data)
	pipe.HSet(ctx, ks.referralsSent(r.FromHospitalID), r.ReferralID, data)
	pipe.ZAdd(ctx, ks.patientReferrals(r.PatientRef), redis.Z{Score: float64(r.RequestedAt.UnixMilli()), Member: r.ReferralID})
	switch r.Status {
	case domain.ReferralStatusRequested, domain.ReferralStatusAccepted, domain.ReferralStatusArrived:
		score := float64(int64(urgencyRank(r.Urgency))*rankSpan + r.nextDeadline().UnixMilli())
		pipe.ZAdd(ctx, ks.referralDesk(r.ToHospitalID), redis.Z{Score: score, Member: r.ReferralID})
	default:
		pipe.ZRem(ctx, ks.referralDesk(r.ToHospitalID), r.ReferralID)
	}
	return nil
}

// referralNeeds lists the document an event of the referral aggregate changes.
func referralNeeds(ks keyspace, e domain.Event) []docRef {
	if id, ok := referralIDOf(e); ok {
		return []docRef{referralRef(ks, id)}
	}
	return nil
}

// referralIDOf returns the referral an event of the referral aggregate names, and
// false for any other event.
func referralIDOf(e domain.Event) (string, bool) {
	switch ev := e.(type) {
	case domain.ReferralRequested:
		return ev.ReferralID, true
	case domain.ReferralAccepted:
		return ev.ReferralID, true
	case domain.ReferralDeclined:
		return ev.ReferralID, true
	case domain.ReferralArrived:
		return ev.ReferralID, true
	case domain.ReferralAdmitted:
		return ev.ReferralID, true
	case domain.ReferralCompleted:
		return ev.ReferralID, true
	case domain.ReferralCancelled:
		return ev.ReferralID, true
	case domain.ReferralNoShow:
		return ev.ReferralID, true
	}
	return "", false
}

func minutes(d time.Duration) *float64 {
	m := d.Minutes()
	return &m
}

func applyReferral(b *batch, e event) error {
	if ev, ok := e.ev.(domain.ReferralRequested); ok {
		r := &ReferralView{ReferralID: ev.ReferralID, AllianceID: ev.AllianceID, Direction: ev.Direction,
			FromHospitalID: ev.FromHospitalID, ToHospitalID: ev.ToHospitalID, ToDepartmentID: ev.ToDepartmentID,
			Urgency: ev.Urgency, Reason: ev.Reason, ClinicalSummary: ev.ClinicalSummary, PatientRef: ev.PatientRef,
			Links: ev.Links, Attachments: slices.Clone(ev.Attachments), Status: domain.ReferralStatusRequested,
			RequestedAt: ev.RequestedAt.UTC(), AcceptDeadline: ev.AcceptDeadline.UTC(), AdmitDeadline: ev.AdmitDeadline.UTC(),
			Version: e.ver, Position: e.pos}
		return b.put(referralRef(b.ks, ev.ReferralID), r, b.ks.flushReferral)
	}
	id, _ := referralIDOf(e.ev)
	ref := referralRef(b.ks, id)
	r, err := getDoc[ReferralView](b, ref)
	if err != nil || r == nil {
		return err
	}
	switch ev := e.ev.(type) {
	case domain.ReferralAccepted:
		r.Status, r.AcceptedAt, r.ReceivingDeptID, r.Slot = domain.ReferralStatusAccepted, timePtr(ev.AcceptedAt.UTC()), ev.DepartmentID, ev.Slot
		r.ExpectedArrival, r.AcceptMinutes = timePtr(ev.ExpectedArrival.UTC()), minutes(ev.AcceptedAt.Sub(r.RequestedAt))
		if err := markSlotBooked(b, r, ev, e.pos); err != nil {
			return err
		}
	case domain.ReferralDeclined:
		r.Status, r.DeclineReason, r.Alternative, r.EndedAt = domain.ReferralStatusDeclined, ev.Reason, ev.Alternative, timePtr(ev.DeclinedAt.UTC())
	case domain.ReferralArrived:
		r.Status, r.ArrivedAt = domain.ReferralStatusArrived, timePtr(ev.ArrivedAt.UTC())
	case domain.ReferralAdmitted:
		r.Status, r.AdmittedAt, r.AdmitMinutes = domain.ReferralStatusAdmitted, timePtr(ev.AdmittedAt.UTC()), minutes(ev.AdmittedAt.Sub(r.RequestedAt))
	case domain.ReferralCompleted:
		r.Status, r.CompletionSummary, r.EndedAt = domain.ReferralStatusCompleted, ev.Summary, timePtr(ev.CompletedAt.UTC())
	case domain.ReferralCancelled:
		r.Status, r.EndReason, r.EndedAt = domain.ReferralStatusCancelled, ev.Reason, timePtr(ev.CancelledAt.UTC())
	case domain.ReferralNoShow:
		r.Status, r.EndReason, r.EndedAt = domain.ReferralStatusNoShow, ev.Note, timePtr(ev.RecordedAt.UTC())
	}
	r.Version, r.Position = e.ver, e.pos
	return b.put(ref, r, b.ks.flushReferral)
}

// ReferralDesk is the receiving hospital's 24-hour referral desk: its open referrals
// (requested, accepted, arrived) by urgency, then by the deadline they work against,
// with overdue flags at the read's instant.
type ReferralDesk struct {
	HospitalID string         `json:"hospitalId"`
	Open       int64          `json:"open"`    // open referrals in the queue
	Overdue    int64          `json:"overdue"` // of which past the deadline they work against
	Referrals  []ReferralView `json:"referrals"`
}

// deskPageScript reads the first ARGV[1]+1 ids of the desk's queue (KEYS[1]) and their
// documents from the received hash (KEYS[2]) in one step, so the page is read in the
// same transaction as the checkpoint, in one round trip.
const deskPageScript = `local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]))
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))`

// MaxDeskPage bounds one read of the desk.
const MaxDeskPage = 500

// ReferralDesk returns the first limit (1..MaxDeskPage) open referrals hospitalID
// receives. It reads one page of the sorted queue and those documents only (one Lua
// step), and counts the overdue ones in Redis per urgency, all in the read's one
// transaction, so its cost does not grow with the queue.
func (q *Queries) ReferralDesk(ctx context.Context, hospitalID string, limit int, minPos eventstore.Position) (ReferralDesk, error) {
	if limit <= 0 || limit > MaxDeskPage {
		limit = 100
	}
	out := ReferralDesk{HospitalID: hospitalID}
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		desk := ks.referralDesk(hospitalID)
		page := pipe.Eval(ctx, deskPageScript, []string{desk, ks.referralsReceived(hospitalID)}, limit-1)
		total := pipe.ZCard(ctx, desk)
		var overdue []*redis.IntCmd
		for rank := range 3 {
			lo := int64(rank) * rankSpan
			overdue = append(overdue, pipe.ZCount(ctx, desk, strconv.FormatInt(lo, 10), "("+strconv.FormatInt(lo+now.UnixMilli(), 10)))
		}
		return func() error {
			vals, err := page.Slice()
			if err != nil && !errors.Is(err, redis.Nil) {
				return unavailable(err)
			}
			out.Open = total.Val()
			for _, c := range overdue {
				out.Overdue += c.Val()
			}
			out.Referrals = make([]ReferralView, 0, len(vals))
			for _, v := range vals {
				s, ok := v.(string)
				if !ok {
					continue
				}
				var r ReferralView
				if err := json.Unmarshal([]byte(s), &r); err != nil {
					return fmt.Errorf("view %s is malformed: %w", ks.referralsReceived(hospitalID), err)
				}
				r.flag(now)
				out.Referrals = append(out.Referrals, r)
			}
			return nil
		}
	})
	return out, err
}

// SentReferrals returns every referral hospitalID sent, newest first, with its state.
func (q *Queries) SentReferrals(ctx context.Context, hospitalID string, minPos eventstore.Position) ([]ReferralView, error) {
	var out []ReferralView
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		cmd := pipe.HGetAll(ctx, ks.referralsSent(hospitalID))
		return func() error {
			vals, err := hashValues(cmd)
			if err != nil {
				return err
			}
			if out, err = decodeAll[ReferralView](vals, "referrals"); err != nil {
				return err
			}
			for i := range out {
				out[i].flag(now)
			}
			slices.SortFunc(out, func(a, b ReferralView) int { return b.RequestedAt.Compare(a.RequestedAt) })
			return nil
		}
	})
	return out, err
}

// Referral returns one referral with its overdue flags.
func (q *Queries) Referral(ctx context.Context, id string, minPos eventstore.Position) (ReferralView, error) {
	var r ReferralView
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		get := getJSON(pipe, referralRef(ks, id), &r, "referral "+id)
		return func() error {
			if err := get(); err != nil {
				return err
			}
			r.flag(now)
			return nil
		}
	})
	return r, err
}

// PatientReferrals returns a patient's referrals (by pseudonymous reference) in
// request order. The caller checks who asks: HoldsOrHeld says whether a hospital sent
// or received any of them.
func (q *Queries) PatientReferrals(ctx context.Context, patientRef string, minPos eventstore.Position) ([]ReferralView, error) {
	var out []ReferralView
	now := q.now()
	err := q.read(ctx, minPos, func(pipe redis.Pipeliner, ks keyspace) func() error {
		ids := pipe.ZRange(ctx, ks.patientReferrals(patientRef), 0, -1)
		return func() error {
			list, err := ids.Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return unavailable(err)
			}
			out = make([]ReferralView, 0, len(list))
			if len(list) == 0 {
				return nil
			}
			keys := make([]string, len(list))
			for i, id := range list {
				keys[i] = ks.referral(id)
			}
			vals, err := q.rdb.MGet(ctx, keys...).Result()
			if err != nil {
				return unavailable(err)
			}
			for _, v := range vals {
				s, ok := v.(string)
				if !ok {
					continue
				}
				var r ReferralView
				if err := json.Unmarshal([]byte(s), &r); err != nil {
					return fmt.Errorf("referral view is malformed: %w", err)
				}
				r.flag(now)
				out = append(out, r)
			}
			return nil
		}
	})
	return out, err
}

// HoldsOrHeld reports whether hospitalID sent or received any of the referrals: the
// hospitals that hold or held the patient may read the patient's referral history.
func HoldsOrHeld(list []ReferralView, hospitalID string) bool {
	return hospitalID != "" && slices.ContainsFunc(list, func(r ReferralView) bool {
		return r.FromHospitalID == hospitalID || r.ToHospitalID == hospitalID
	})
}
