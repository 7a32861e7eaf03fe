package app

import (
	"context"

	"github.com/medalliance/allianced/domain"
)

// AdoptionInput names an adoption: the protocol and the adopting hospital (the caller's
// hospital when empty), with the version for adopt and upgrade.
type AdoptionInput struct {
	ProtocolID string `json:"-"`
	HospitalID string `json:"-"`
	Version    int    `json:"version"`
	// ViaAllianceID adopts the protocol through a middle tier's alliance (three tiers:
	// a community centre follows 中山's protocol through 徐汇's alliance); only on adopt,
	// an upgrade goes the way the adoption was made.
	ViaAllianceID string `json:"viaAllianceId,omitempty"`
}

// adoptionFacts loads what adoption commands need: the protocol and its alliance.
func (a *App) adoptionFacts(ctx context.Context, protocolID string) (domain.Protocol, domain.Alliance, error) {
	if err := validID("protocolId", protocolID); err != nil {
		return domain.Protocol{}, domain.Alliance{}, err
	}
	p, err := load[domain.Protocol](ctx, a, domain.ProtocolStream(protocolID))
	if err != nil {
		return p, domain.Alliance{}, err
	}
	if !p.Exists() {
		return p, domain.Alliance{}, domain.Errorf(domain.CodeNotFound, "protocol %s does not exist", protocolID)
	}
	al, err := load[domain.Alliance](ctx, a, domain.AllianceStream(p.AllianceID))
	return p, al, err
}

func hospitalOf(call Call, id string) string {
	if id == "" {
		return call.Actor.HospitalID
	}
	return id
}

// AdoptProtocol makes the hospital follow a published version of a protocol.
func (a *App) AdoptProtocol(ctx context.Context, call Call, in AdoptionInput) (Outcome, error) {
	p, al, err := a.adoptionFacts(ctx, in.ProtocolID)
	if err != nil {
		return Outcome{}, err
	}
	via, viaLead, err := a.adoptionRoute(ctx, in.ProtocolID, in.ViaAllianceID)
	if err != nil {
		return Outcome{}, err
	}
	hid, at := hospitalOf(call, in.HospitalID), a.Now()
	return handle(ctx, a, call, at, hid, domain.AdoptionStream(in.ProtocolID, hid), func(s domain.Adoption) ([]domain.Event, error) {
		return domain.DecideAdoption(s, domain.AdoptProtocol{Alliance: al, Protocol: p, HospitalID: hid, Version: in.Version,
			Via: via, ViaLeadAdoption: viaLead, By: call.Actor, At: at})
	})
}

// UpgradeAdoption moves an adoption to a newer published version.
func (a *App) UpgradeAdoption(ctx context.Context, call Call, in AdoptionInput) (Outcome, error) {
	p, al, err := a.adoptionFacts(ctx, in.ProtocolID)
	if err != nil {
		return Outcome{}, err
	}
	hid, at := hospitalOf(call, in.HospitalID), a.Now()
	via, viaLead, err := a.existingRoute(ctx, in.ProtocolID, hid)
	if err != nil {
		return Outcome{}, err
	}
	return handle(ctx, a, call, at, hid, domain.AdoptionStream(in.ProtocolID, hid), func(s domain.Adoption) ([]domain.Event, error) {
		return domain.DecideAdoption(s, domain.UpgradeAdoption{Alliance: al, Protocol: p, HospitalID: hid, Version: in.Version,
			Via: via, ViaLeadAdoption: viaLead, By: call.Actor, At: at})
	})
}

// AdoptionDeviationInput declares or revokes a local deviation of an adoption.
type AdoptionDeviationInput struct {
	ProtocolID  string `json:"-"`
	HospitalID  string `json:"-"`
	StepID      string `json:"stepId"`
	Kind        string `json:"kind"`
	Description string `json:"description,omitempty"`
	Substitute  string `json:"substitute,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// DeclareAdoptionDeviation declares a local deviation (e.g. a drug not on the formulary).
func (a *App) DeclareAdoptionDeviation(ctx context.Context, call Call, in AdoptionDeviationInput) (Outcome, error) {
	p, al, err := a.adoptionFacts(ctx, in.ProtocolID)
	if err != nil {
		return Outcome{}, err
	}
	hid, at := hospitalOf(call, in.HospitalID), a.Now()
	via, viaLead, err := a.existingRoute(ctx, in.ProtocolID, hid)
	if err != nil {
		return Outcome{}, err
	}
	dev := domain.LocalDeviation{StepID: in.StepID, Kind: in.Kind, Description: in.Description, Substitute: in.Substitute}
	return handle(ctx, a, call, at, hid, domain.AdoptionStream(in.ProtocolID, hid), func(s domain.Adoption) ([]domain.Event, error) {
		return domain.DecideAdoption(s, domain.DeclareAdoptionDeviation{Alliance: al, Protocol: p, HospitalID: hid, Deviation: dev,
			Via: via, ViaLeadAdoption: viaLead, By: call.Actor, At: at})
	})
}

// RevokeAdoptionDeviation removes a declared local deviation.
func (a *App) RevokeAdoptionDeviation(ctx context.Context, call Call, in AdoptionDeviationInput) (Outcome, error) {
	if err := validID("protocolId", in.ProtocolID); err != nil {
		return Outcome{}, err
	}
	hid, at := hospitalOf(call, in.HospitalID), a.Now()
	return handle(ctx, a, call, at, hid, domain.AdoptionStream(in.ProtocolID, hid), func(s domain.Adoption) ([]domain.Event, error) {
		return domain.DecideAdoption(s, domain.RevokeAdoptionDeviation{ProtocolID: in.ProtocolID, HospitalID: hid, StepID: in.StepID,
			Kind: in.Kind, Reason: in.Reason, By: call.Actor, At: at})
	})
}

// WithdrawAdoptionInput ends an adoption.
type WithdrawAdoptionInput struct {
	ProtocolID string `json:"-"`
	HospitalID string `json:"-"`
	Reason     string `json:"reason"`
}

// WithdrawAdoption ends the hospital's adoption of a protocol.
func (a *App) WithdrawAdoption(ctx context.Context, call Call, in WithdrawAdoptionInput) (Outcome, error) {
	if err := validID("protocolId", in.ProtocolID); err != nil {
		return Outcome{}, err
	}
	hid, at := hospitalOf(call, in.HospitalID), a.Now()
	return handle(ctx, a, call, at, hid, domain.AdoptionStream(in.ProtocolID, hid), func(s domain.Adoption) ([]domain.Event, error) {
		return domain.DecideAdoption(s, domain.WithdrawAdoption{ProtocolID: in.ProtocolID, HospitalID: hid, Reason: in.Reason, By: call.Actor, At: at})
	})
}
