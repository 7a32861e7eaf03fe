package app

import (
	"context"

	"github.com/medalliance/allianced/domain"
)

// DraftProtocolInput is the body of a new protocol in an alliance.
type DraftProtocolInput struct {
	AllianceID string `json:"-"`
	Title      string `json:"title"`
	Indication string `json:"indication"`
}

// DraftProtocol creates a protocol in an alliance, with a generated id.
func (a *App) DraftProtocol(ctx context.Context, call Call, in DraftProtocolInput) (Outcome, error) {
	if err := validID("allianceId", in.AllianceID); err != nil {
		return Outcome{}, err
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(in.AllianceID))
	if err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	id, err := a.newAggregateID(ctx, &call, "DraftProtocol", at)
	if err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, id, domain.ProtocolStream(id), func(p domain.Protocol) ([]domain.Event, error) {
		return domain.DecideProtocol(p, domain.DraftProtocol{ProtocolID: id, Alliance: al, Title: in.Title,
			Indication: in.Indication, By: call.Actor, At: at})
	})
}

// PublishVersionInput is the body of a protocol version's publication.
type PublishVersionInput struct {
	ProtocolID  string                `json:"-"`
	Steps       []domain.ProtocolStep `json:"steps"`
	Eligibility string                `json:"eligibility"`
	ChangeNote  string                `json:"changeNote,omitempty"`
}

// PublishProtocolVersion publishes the protocol's next version.
func (a *App) PublishProtocolVersion(ctx context.Context, call Call, in PublishVersionInput) (Outcome, error) {
	if err := validID("protocolId", in.ProtocolID); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, in.ProtocolID, domain.ProtocolStream(in.ProtocolID), func(p domain.Protocol) ([]domain.Event, error) {
		return domain.DecideProtocol(p, domain.PublishProtocolVersion{ProtocolID: in.ProtocolID, Steps: in.Steps,
			Eligibility: in.Eligibility, ChangeNote: in.ChangeNote, By: call.Actor, At: at})
	})
}

// WithdrawVersionInput is the body of a protocol version's safety withdrawal.
type WithdrawVersionInput struct {
	ProtocolID string `json:"-"`
	Version    int    `json:"-"`
	Reason     string `json:"reason"`
}

// WithdrawProtocolVersion withdraws a published version; the Reactor then flags every
// plan on it. The outcome's position covers the withdrawal itself (the alliance's
// catalogue and adoption matrix show the version withdrawn at that position) but not
// the flags: each is a command of its own on its plan, issued by the Reactor after the
// withdrawal is stored, and the request does not wait for them (a version may carry
// thousands of plans, and the Reactor may run in another replica). The flags show on
// the plans' views, and their streams push them, once the Reactor has made them.
func (a *App) WithdrawProtocolVersion(ctx context.Context, call Call, in WithdrawVersionInput) (Outcome, error) {
	if err := validID("protocolId", in.ProtocolID); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, in.ProtocolID, domain.ProtocolStream(in.ProtocolID), func(p domain.Protocol) ([]domain.Event, error) {
		return domain.DecideProtocol(p, domain.WithdrawProtocolVersion{ProtocolID: in.ProtocolID, Version: in.Version,
			Reason: in.Reason, By: call.Actor, At: at})
	})
}

// RetireProtocolInput is the body of a protocol's retirement.
type RetireProtocolInput struct {
	ProtocolID string `json:"-"`
	Reason     string `json:"reason"`
}

// RetireProtocol ends a protocol: no new versions, plans or adoptions.
func (a *App) RetireProtocol(ctx context.Context, call Call, in RetireProtocolInput) (Outcome, error) {
	if err := validID("protocolId", in.ProtocolID); err != nil {
		return Outcome{}, err
	}
	at := a.Now()
	return handle(ctx, a, call, at, in.ProtocolID, domain.ProtocolStream(in.ProtocolID), func(p domain.Protocol) ([]domain.Event, error) {
		return domain.DecideProtocol(p, domain.RetireProtocol{ProtocolID: in.ProtocolID, Reason: in.Reason, By: call.Actor, At: at})
	})
}
