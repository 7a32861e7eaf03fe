package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections"
)

// CapacityQueries are the reserved-capacity reads; the projections' Queries implements
// them. Like ReferralQueries it is its own interface, so a read model without them
// answers 503, not 500.
type CapacityQueries interface {
	ReservedSlots(ctx context.Context, hospitalID, departmentID string, minPos eventstore.Position) ([]projections.ReservedSlotView, error)
}

var _ CapacityQueries = (*projections.Queries)(nil)

// MaxSlotPage is the largest page of a department's reserved slots.
const MaxSlotPage = 500

// ReservedSlotPage is one page of a department's reserved slots in start order. Total
// counts the slots the filter matched; NextOffset is absent on the last page.
type ReservedSlotPage struct {
	Items      []projections.ReservedSlotView `json:"items"`
	Total      int                            `json:"total"`
	NextOffset *int                           `json:"nextOffset,omitempty"`
}

// capacityQueryRoutes are the reads of reserved capacity (号源/床位下沉).
func (s *Server) capacityQueryRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/v1/hospitals/:id/departments/:dept/reserved-slots", op: "reservedSlots", resp: ReservedSlotPage{},
			summary: "A department's published reserved slots and beds in start order: the publishing department and auditors see every slot with its status (free, held: booked but no acceptance recorded, booked) and referral; the hospitals of the alliance a slot serves see its free, future slots only, without referral.",
			kind:    respJSON, query: []param{
				{"allianceId", "string", "only the slots reserved for this alliance (required unless the caller is the publishing department or an auditor)"},
				{"status", "string", "free, held, booked or all (default all; other hospitals always get free)"},
				{"limit", "integer", "rows to return, 1 to 500 (default 100)"},
				{"offset", "integer", "rows to skip (default 0; nextOffset of the previous page)"},
				minPosParam}, h: s.reservedSlots},
	}
}

func (s *Server) reservedSlots(c echo.Context, p *Claims) error {
	if err := s.requireQueries(); err != nil {
		return err
	}
	cq, ok := s.deps.Queries.(CapacityQueries)
	if !ok {
		return domain.Errorf(domain.CodeUnavailable, "the read models do not serve reserved capacity")
	}
	hospitalID, err := pathID(c, "hospitalId")
	if err != nil {
		return err
	}
	dept := c.Param("dept")
	if dept == "" || len(dept) > 64 {
		return domain.Errorf(domain.CodeInvalidInput, "the path names a department id of 1 to 64 characters")
	}
	allianceID := c.QueryParam("allianceId")
	if allianceID != "" {
		if err := domain.ValidateID("allianceId", allianceID); err != nil {
			return err
		}
	}
	status := c.QueryParam("status")
	switch status {
	case "", "all", projections.SlotStatusFree, projections.SlotStatusHeld, projections.SlotStatusBooked:
	default:
		return domain.Errorf(domain.CodeInvalidInput, "status must be free, held, booked or all")
	}
	limit, offset := 100, 0
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxSlotPage {
			return domain.Errorf(domain.CodeInvalidInput, "limit must be a number from 1 to %d", MaxSlotPage)
		}
	}
	if v := c.QueryParam("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return domain.Errorf(domain.CodeInvalidInput, "offset must be a non-negative number")
		}
	}
	mp, err := minPos(c)
	if err != nil {
		return err
	}
	resource := hospitalID + "/" + dept
	// The publishing department and auditors see everything; anyone else reads only the
	// free slots of an alliance it takes part in (the hospitals the slots serve), never
	// which referral holds a slot.
	full := readAll(p) || (p.HospitalID == hospitalID && p.DepartmentID == dept)
	if !full {
		if allianceID == "" {
			s.recordAccess(p, "reserved-slots", resource, domain.AccessDenied)
			return domain.Errorf(domain.CodeForbidden, "only the publishing department and auditors read every reserved slot; the alliance's hospitals name their alliance (allianceId)")
		}
		if err := s.activeParticipant(c.Request().Context(), p, allianceID, mp); err != nil {
			s.recordAccess(p, "reserved-slots", resource, domain.AccessDenied)
			return err
		}
		status = projections.SlotStatusFree
	}
	s.recordAccess(p, "reserved-slots", resource, domain.AccessAllowed)
	slots, err := cq.ReservedSlots(c.Request().Context(), hospitalID, dept, mp)
	if err != nil {
		return err
	}
	now := s.deps.Now()
	matched := slots[:0]
	for _, v := range slots {
		if (allianceID != "" && v.AllianceID != allianceID) || (status != "" && status != "all" && v.Status != status) {
			continue
		}
		if !full {
			if !v.Window.Start.After(now) {
				continue // no longer bookable
			}
			v.ReferralID, v.BookedAt = "", nil
		}
		matched = append(matched, v)
	}
	page := ReservedSlotPage{Total: len(matched), Items: []projections.ReservedSlotView{}}
	if offset < len(matched) {
		end := min(offset+limit, len(matched))
		page.Items = matched[offset:end]
		if end < len(matched) {
			page.NextOffset = &end
		}
	}
	return c.JSON(http.StatusOK, page)
}

// activeParticipant allows the alliance's lead hospital and its active members (the
// hospitals that may refer into the alliance's reserved capacity); a suspended or
// withdrawn member and any other hospital get the generic 403.
func (s *Server) activeParticipant(ctx context.Context, p *Claims, allianceID string, mp eventstore.Position) error {
	deny := domain.Errorf(domain.CodeForbidden, "only the publishing department, the hospitals of the alliance it serves and auditors read reserved slots")
	// The membership is read at the caller's minPosition, so a suspension the caller
	// just recorded is already in force for this read.
	al, err := s.deps.Queries.Alliance(ctx, allianceID, mp)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return deny
	}
	if err != nil {
		return err
	}
	if al.Lead.HospitalID == p.HospitalID {
		return nil
	}
	members, err := s.deps.Queries.AllianceMembers(ctx, allianceID, mp)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.HospitalID == p.HospitalID && m.Status == domain.MemberStatusActive {
			return nil
		}
	}
	return deny
}
